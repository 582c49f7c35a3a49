"""The `trustsim` command line: a thin front over scenarios, the model and the plots.

Bad input (a scenario file, an option) ends with one clear line per problem on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import math
import os
import sqlite3
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sim.model.scenario import (
    PRESETS,
    Scenario,
    ScenarioError,
    describe_file,
    load_scenario,
    parse_toml,
    preset,
    read_toml,
)

if TYPE_CHECKING:
    from sim.experiments import Experiment
    from sim.model.fast import Run

__all__ = ["main"]

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = PACKAGE_ROOT / "scenarios"
RESULTS_DIR = Path("results")
# The formats a report's or plot's figures can be saved in.
FIGURE_FORMATS = ("png", "svg", "pdf")
# Why a report is not drawn again.
UNCHANGED = "results, experiment and code unchanged"

SUMMARY_ROWS = (
    ("mean_trust", "mean trust"),
    ("within_team_trust", "within-team trust"),
    ("trust_in_managers", "trust in managers"),
    ("trust_in_coach", "trust in the coach"),
    ("cross_team_trust", "cross-team trust"),
    ("mean_skill", "mean skill"),
    ("skill_p10", "skill, weakest tenth"),
    ("skill_gini", "skill Gini"),
    ("silence_rate_avg", "silence rate (run mean)"),
    ("help_success_rate_avg", "help success (run mean)"),
    ("fragmentation", "bonded groups per team"),
    ("largest_component_share", "largest group's share"),
    ("time_to_competence", "weeks to competence"),
    ("disintegrated", "a team disintegrated"),
)


class UsageError(Exception):
    """A problem with what the user typed: reported as one line, exit code 2."""


def _fail(lines: Sequence[str]) -> int:
    for line in dict.fromkeys(lines):  # the same problem found twice is said once
        print(f"error: {line}", file=sys.stderr)
    return 2


def resolve_scenario(name: str, overrides: dict[str, Any] | None = None) -> Scenario:
    """A scenario from a file path, a file in scenarios/, or a preset name."""
    base = _base_scenario(name)
    if not overrides:
        return base
    try:
        return base.with_(**overrides)
    except ScenarioError as err:  # the mistake is on the command line, not in the file
        raise ScenarioError(
            [line.replace("<keywords>", "command line (--set/--steps)") for line in err.lines]
        ) from None


def _base_scenario(name: str) -> Scenario:
    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        return load_scenario(path)
    library = SCENARIO_DIR / f"{name}.toml"
    if library.exists():
        return load_scenario(library)
    if name in PRESETS:
        return preset(name)
    known = sorted({p.stem for p in SCENARIO_DIR.glob("*.toml")} | set(PRESETS))
    raise ScenarioError(
        [
            f"{name}: no such scenario file, library scenario or preset; try one of: "
            + ", ".join(known)
        ]
    )


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """`--set key=value` pairs, values read as TOML (0.3, true, "internal")."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: expected KEY=VALUE, for example trust_gain=0.1")
        try:
            value = parse_toml(f"v = {raw.strip()}", "--set")["v"]
        except ScenarioError:
            value = raw.strip()  # a bare word: let validation say what is allowed
        out[key.strip()] = value
    return out


def _format(value: Any) -> str:
    if value is None:
        return "never"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def summary_table(columns: dict[str, dict[str, Any]]) -> str:
    """Run summaries side by side, one column per run, as plain text."""
    names = list(columns)
    width = max(len(label) for _, label in SUMMARY_ROWS) + 2
    colw = max(12, *(len(n) + 2 for n in names))
    lines = [" " * width + "".join(n.rjust(colw) for n in names)]
    for key, label in SUMMARY_ROWS:
        cells = "".join(_format(columns[n].get(key)).rjust(colw) for n in names)
        lines.append(label.ljust(width) + cells)
    return "\n".join(lines)


def run_one(scenario: Scenario, seed: int, progress: bool, team_table: bool | None = None) -> Run:
    """Run one scenario to its horizon on the fast path, with a progress bar on long runs."""
    from tqdm import tqdm

    from sim.model.fast import simulate
    from sim.model.structure import level_sizes

    show = progress and sys.stderr.isatty()
    # A large organization shows its bar at once (its run takes a second or more); a
    # team's run is over before a bar would be worth drawing.
    people = scenario.members + sum(
        level_sizes(scenario.members, scenario.levels, scenario.team_size, scenario.span)
    )
    large = people >= 1000
    delay = 0.0 if large else 1.0
    with tqdm(total=scenario.steps, unit="week", disable=not show, delay=delay, leave=False) as bar:
        return simulate(
            scenario,
            seed,
            team_table=team_table,
            on_week=(lambda week, _: bar.update(week > 0)) if show and large else None,
        )


def _check_seed(seed: int) -> None:
    if seed < 0:
        raise UsageError(f"--seed {seed}: must be 0 or more")


def cmd_run(args: argparse.Namespace) -> int:
    """`trustsim run`: one scenario, its tables, a plot and a summary."""
    _check_seed(args.seed)
    overrides = parse_sets(args.set)
    if args.steps is not None:
        overrides["steps"] = args.steps
    scenario = resolve_scenario(args.scenario, overrides)
    for line in _late_events([scenario]):
        print(f"warning: {args.scenario}: {line}", file=sys.stderr)
    out = Path(args.out) if args.out else RESULTS_DIR / "runs" / f"{scenario.name}-seed{args.seed}"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder: {exc.strerror}") from None
    started = time.perf_counter()
    teams = {"auto": None, "on": True, "off": False}[args.teams]
    run = run_one(scenario, args.seed, progress=True, team_table=teams)
    elapsed = time.perf_counter() - started

    from sim.reporting.plots import plot_run

    steps = run.steps
    summary = run.summary
    steps.to_csv(out / "steps.csv", index=False)
    team_rows = run.teams
    if team_rows is not None:
        team_rows.to_csv(out / "teams.csv", index=False)
    record = {
        "scenario": scenario.name,
        "scenario_hash": scenario.digest(),
        "seed": args.seed,
        "parameters": scenario.model_dump(mode="json", exclude={"name", "description"}),
        "summary": summary,
    }
    (out / "summary.json").write_text(
        json.dumps(_no_nan(record), indent=2, default=_json_default, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    fig = plot_run(steps, f"{scenario.name} (seed {args.seed}, {scenario.members} members)")
    fig.savefig(out / "trust_skill.png", dpi=150)
    print(
        f"{scenario.name}: {scenario.steps} weeks, {run.n_people} people, "
        f"seed {args.seed}, {elapsed:.2f} s"
    )
    print(summary_table({scenario.name: summary}))
    tables = "steps.csv, teams.csv" if team_rows is not None else "steps.csv"
    if run.survey is not None:
        from sim.model.survey import statistics

        run.survey.to_csv(out / "survey.csv", index=False)
        stats = statistics(run.survey)
        stats.to_csv(out / "survey_stats.csv", index=False)
        print(
            "\nsurveys (scale mean on its points; alpha; mean rwg(j) over teams; ICC(1), ICC(2)):"
        )
        print(stats.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        tables += ", survey.csv, survey_stats.csv"
    print(f"wrote {out}/{tables}, summary.json, trust_skill.png")
    return 0


def _no_nan(value: Any) -> Any:
    """NaN (a measure with nothing to measure) as JSON null: strict JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def cmd_validate(args: argparse.Namespace) -> int:
    """`trustsim validate`: check files, report every error."""
    bad = 0
    for name in args.files:
        try:
            if _is_experiment(Path(name)):
                from sim.experiments import expand, load_experiment

                exp = load_experiment(name)
                reps = exp.replications
                runs = len(expand(exp, range(reps.count or reps.min)))
                what = f"{runs} runs" if reps.count else f"adaptive, at least {runs} runs"
                power = _power_warning(exp, None)
                for line in _late_events(exp.scenarios, exp.steps) + ([power] if power else []):
                    print(f"warning: {line}", file=sys.stderr)
                print(f"ok: {name} (experiment: {what})")
                continue
            for line in _late_events([load_scenario(name)]):
                print(f"warning: {name}: {line}", file=sys.stderr)
        except ScenarioError as err:
            bad += 1
            for line in err.lines:
                print(f"error: {line}", file=sys.stderr)
        else:
            print(f"ok: {name}")
    return 2 if bad else 0


def _late_events(scenarios: Sequence[Scenario | Any], horizon: int | None = None) -> list[str]:
    """Events after the last week (the horizon given, or each scenario's own): they never happen."""
    out = []
    for sc in scenarios:
        last = horizon if horizon is not None else getattr(sc, "steps", None)
        for ev in sc.events if isinstance(sc, Scenario) else ():
            if last is not None and ev.at > last:
                out.append(
                    f"{sc.name}: its {ev.type} event at week {ev.at} is after the last week "
                    f"({last}), so it never happens"
                )
        for ev in sc.events if isinstance(sc, Scenario) else ():
            idle = (
                "it has no coach"
                if ev.type == "breach" and ev.role == "coach" and sc.coach == "none"
                else "it has no sponsor"
                if ev.type in ("sponsor_withdraws", "sponsor_returns") and sc.sponsor == "none"
                else ""
            )
            if idle:
                out.append(f"{sc.name}: its {ev.type} event at week {ev.at} does nothing: {idle}")
        for survey in sc.surveys if isinstance(sc, Scenario) else ():
            late = [w for w in survey.at if last is not None and w > last]
            if late:
                out.append(
                    f"{sc.name}: its {survey.instrument} survey at week "
                    f"{', '.join(map(str, late))} is after the last week ({last}), so it is "
                    "never given"
                )
    return out


def _is_experiment(path: Path) -> bool:
    """An experiment file names scenarios or a model (a scenario file sets parameters)."""
    try:
        raw = read_toml(path, str(path))
    except ScenarioError:
        return False  # load_scenario says what is wrong with it
    return any(key in raw for key in ("scenarios", "model", "sweep", "sensitivity"))


def cmd_scenarios(args: argparse.Namespace) -> int:
    """`trustsim scenarios`: the library, each with its comment line."""
    folder = Path(args.dir) if args.dir else SCENARIO_DIR
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise UsageError(f"{folder}: no scenario files (*.toml) here")
    width = max(len(f.stem) for f in files) + 2
    for f in files:
        first = describe_file(f).split(". ")[0].rstrip(".")
        print(f"{f.stem.ljust(width)}{first}.")
    return 0


def cmd_parameters(args: argparse.Namespace) -> int:
    """`trustsim parameters`: every parameter with default, range, unit and meaning."""
    from sim.model.scenario import parameter_table

    print(parameter_table(), end="")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """`trustsim sweep`: run an experiment into its results store, then compare."""
    return _run_experiment(args, sensitivity=False)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """`trustsim sensitivity`: run an experiment's sensitivity design, then its indices."""
    return _run_experiment(args, sensitivity=True)


def _run_experiment(args: argparse.Namespace, sensitivity: bool) -> int:
    from sim.experiments import load_experiment, run
    from sim.experiments.runner import results_folder

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be 1 or more")
    samples = getattr(args, "samples", None)
    for flag, value in (("--replications", args.replications), ("--steps", args.steps)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} {value}: must be 1 or more")
    if samples is not None and samples < 2:
        raise UsageError(f"--samples {samples}: must be 2 or more")
    exp = load_experiment(args.experiment)
    sens = exp.sensitivity
    n = samples or (sens.samples if sens else 0)
    if sens is not None and sens.method == "sobol" and n & (n - 1):
        print(
            f"warning: samples = {n} is not a power of 2: Sobol's sequence balances best at "
            f"2^k (e.g. {1 << (n.bit_length() - 1)} or {1 << n.bit_length()})",
            file=sys.stderr,
        )
    if sensitivity and exp.sensitivity is None:
        raise ScenarioError(
            [
                f"{args.experiment}: has no [sensitivity] section: add one (method, samples, "
                "parameters with ranges), or run it with `trustsim sweep`"
            ]
        )
    for line in _late_events(exp.scenarios, args.steps or exp.steps):
        print(f"warning: {line}", file=sys.stderr)
    if exp.calibration is not None:
        print(
            f"note: {args.experiment} has a [calibration] section, which a sweep leaves "
            "aside: it runs the scenarios at their own values (`trustsim calibrate "
            f"{args.experiment} --targets FILE` estimates {', '.join(exp.calibration.parameters)})",
            file=sys.stderr,
        )
    # Before a fresh sweep starts; beside the notes after one that resumes (a refused
    # resume says only why).
    power = _power_warning(exp, args.replications)
    fresh = not results_folder(exp, args.out).exists()
    if power and fresh:
        print(f"warning: {power}", file=sys.stderr)
    report = run(
        exp,
        out=args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        replications=args.replications,
        steps=args.steps,
        samples=samples,
    )
    after = None
    if report.done or report.skipped:
        began = time.perf_counter()
        try:
            done = _write_results(
                args, exp, report.folder, draw=not args.no_report and not report.interrupted
            )
        except ScenarioError as err:
            if not report.interrupted:
                raise
            # Too little was stored to compare (the reference has no run yet): say so,
            # then how to go on.
            for line in err.lines:
                print(f"note: {line}", file=sys.stderr)
            done = None
        after = (done, time.perf_counter() - began) if done else None
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if power and not fresh:
        print(f"warning: {power}", file=sys.stderr)
    print(report.line(exp.name, after))
    if report.interrupted:
        print(
            "interrupted: the runs above are stored; run again with --resume to finish",
            file=sys.stderr,
        )
        return 130
    return 1 if report.failed else 0


def _power_warning(exp: Experiment, replications: int | None) -> str:
    """A warning when no paired comparison of the design can reach p < 0.05 after Holm.

    Each outcome's comparisons are one family: every pair of scenarios (or each against
    the reference) at every sweep point. A sensitivity design is read by its indices.
    """
    from sim.experiments import expand
    from sim.methods.analysis import p_floor, replications_for_floor, scenario_pairs

    if exp.sensitivity is not None or exp.validation is not None:
        return ""
    pairs = scenario_pairs([s.name for s in exp.scenarios], exp.reference)
    if not pairs:
        return ""
    family = len(pairs) * (len(expand(exp, range(1))) // len(exp.scenarios))
    reps = exp.replications
    n = replications or (reps.count if reps.count is not None else reps.min)
    floor = p_floor(n, family)
    if floor < 0.05:
        return ""
    need = replications_for_floor(family)
    return (
        f"{exp.path or exp.name}: with {n} replications no paired difference can reach "
        f"p < 0.05 after Holm's correction across the {family} comparisons of each outcome "
        f"(the smallest possible p is {floor:.2g}); {need} replications or more can"
    )


def _analysis_files(exp: Experiment) -> tuple[str, ...]:
    """The files a sweep writes beside its store before the report; it prints the first."""
    if exp.sensitivity is not None:
        return ("sensitivity.md", "sensitivity.csv", "compare.md", "compare.csv")
    if exp.validation is not None:  # the facts are the point; pairs go to compare.md
        return ("validation.md", "compare.md", "compare.csv")
    return ("compare.md", "compare.csv")


def _write_results(
    args: argparse.Namespace, exp: Experiment, folder: Path, draw: bool
) -> str | None:
    """Print a sweep's results; write them and (if `draw`) the report beside the store.

    When the report and those files are up to date (the store, the experiment, the
    options and the code as when they were written), they are printed as written.

    Returns:
        What was computed, in words for the final line (None when nothing was).
    """
    from sim.experiments import freshness
    from sim.experiments.compare import (
        load_results,
        write_comparison,
        write_sensitivity,
        write_validation,
    )

    files = _analysis_files(exp)
    fresh = draw and freshness.up_to_date(folder, args.formats or (), also=files)
    if fresh:
        text = (folder / files[0]).read_text(encoding="utf-8")
    else:
        tables = load_results(folder)  # read once for every file written below
        text = write_comparison(tables)
        if exp.sensitivity is not None:
            text = write_sensitivity(tables)
        elif exp.validation is not None:
            text = write_validation(tables) or ""
    print(text)
    if exp.sensitivity is None and exp.validation is not None:
        print(f"every pair of scenarios compared: {folder / 'compare.md'}")
    if fresh:
        print(f"report up to date ({UNCHANGED}): {folder / 'report.html'}")
        return None
    if not draw:
        return "the statistics"
    from sim.experiments.draw import write_report

    md, html = write_report(
        tables, formats=args.formats or (), written_with=[folder / f for f in files]
    )
    print(f"report: {html} (and {md.name}, figures/)")
    return "the statistics and the report"


def cmd_compare(args: argparse.Namespace) -> int:
    """`trustsim compare`: statistics of a results folder."""
    from sim.experiments.compare import write_comparison

    if args.targets is not None:
        return _compare_targets(Path(args.results), Path(args.targets))
    outcomes = tuple(dict.fromkeys(args.outcome)) if args.outcome else None  # each once
    if outcomes is None and args.reference is None:
        print(write_comparison(args.results))
    else:
        # A custom view is written beside them as compare_view.csv and .md: compare.md
        # and compare.csv stay the experiment's own, as the report shows them.
        from sim.experiments.compare import comparison, load_results

        comp = comparison(load_results(args.results, outcomes, args.reference))
        folder = Path(args.results)
        comp.tidy().to_csv(folder / "compare_view.csv", index=False)
        (folder / "compare_view.md").write_text(comp.markdown() + "\n", encoding="utf-8")
        print(comp.markdown())
        print(f"wrote {folder / 'compare_view.csv'} and compare_view.md (this view)")
    return 0


def _compare_targets(folder: Path, path: Path) -> int:
    """`trustsim compare RESULTS --targets FILE`: the model against each field target."""
    from sim.experiments.store import ResultsStore
    from sim.methods.targets import check, load_targets

    targets = load_targets(path)  # a bad file is refused before the store is read
    if not ResultsStore.exists(folder):
        raise UsageError(f"{folder}: no results store here (results.sqlite)")
    store = ResultsStore(folder, readonly=True)
    try:
        tables = {name: store.table(name) for name in ("teams", "survey")}
        tables["results"] = store.results()
    finally:
        store.close()
    table = check(targets, tables)
    lines = [
        f"# {folder.name}: the model against {path.name}",
        "",
        "| target | observed (SE) | model (SE over runs) | runs | z | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        lines.append(
            f"| {row.target} | {row.observed:.3g} ({row.observed_se:.2g}) | "
            f"{row.model:.3g} ({row.model_se:.2g}) | {row.runs} | {row.z:+.1f} | {row.verdict} |"
        )
    sources = {t.name: t.source for t in targets}
    lines += ["", "Sources:", *(f"- {name}: {src}" for name, src in sources.items())]
    text = "\n".join(lines) + "\n"
    table.to_csv(folder / "targets.csv", index=False)
    (folder / "targets.md").write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"wrote {folder / 'targets.md'} and targets.csv")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """`trustsim calibrate`: estimate parameters against field targets (ABC-SMC)."""
    from sim.experiments import load_experiment
    from sim.experiments.abc import calibrate
    from sim.methods.targets import load_targets

    for flag, value, least in (
        ("--workers", args.workers, 1),
        ("--population", args.population, 10),
        ("--generations", args.generations, 1),
    ):
        if value is not None and value < least:
            raise UsageError(f"{flag} {value}: must be {least} or more")
    truth = None
    if args.recover:
        truth = {}
        for key, value in parse_sets(args.recover).items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise UsageError(f"--recover {key}={value}: a true value is a number")
            truth[key] = float(value)
    targets = load_targets(args.targets)
    exp = load_experiment(args.experiment)
    command = "trustsim calibrate " + " ".join(
        sys.argv[2:] if sys.argv[1:2] == ["calibrate"] else []
    )
    rep = calibrate(
        exp,
        args.targets,
        targets,
        out=args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        population=args.population,
        generations=args.generations,
        truth=truth,
        command=command.strip(),
    )
    for note in rep.notes:
        print(f"note: {note}", file=sys.stderr)
    if rep.interrupted:
        print(
            "interrupted: the finished generations and candidates are stored; run again with "
            "--resume to go on",
            file=sys.stderr,
        )
        return 130
    for line in rep.lines:
        print(line)
    if not args.no_report:
        from sim.methods.calibration import write_calibration_report

        html = write_calibration_report(rep.folder, formats=args.formats or ())
        print(f"report: {html} (and calibration.md, figures/)")
    print(f"tables: {rep.folder}/posterior.csv, posterior_summary.csv, predictive_check.csv")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """`trustsim report`: report.md, report.html and figures of a results folder."""
    from sim.experiments import freshness

    folder = Path(args.results)
    if not args.force and freshness.up_to_date(folder, args.formats or ()):
        print(f"report up to date ({UNCHANGED}): {folder / 'report.html'} (--force draws it again)")
        return 0
    from sim.experiments.draw import write_report

    md, html = write_report(folder, formats=args.formats or ())
    print(f"wrote {html}, {md} and {md.parent / 'figures'}/")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """`trustsim plot`: redraw the figures of a results folder."""
    from sim.experiments.draw import redraw_figures

    outcomes = tuple(args.outcome) if args.outcome else None
    written = redraw_figures(args.results, outcomes, formats=(args.format,), size=args.size)
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_animate(args: argparse.Namespace) -> int:
    """`trustsim animate`: one run as an animated trust network, for slides."""
    from sim.model.snapshots import record_run
    from sim.reporting.plots import animation

    out = Path(args.out)
    if out.suffix.lower() != ".gif":
        raise UsageError(f"--out {out}: must end in .gif")
    if args.every < 1:
        raise UsageError(f"--every {args.every}: must be 1 or more")
    if args.fps < 1:
        raise UsageError(f"--fps {args.fps}: must be 1 or more")
    _check_seed(args.seed)
    overrides = {"steps": args.steps} if args.steps is not None else {}
    scenario = resolve_scenario(args.scenario, overrides)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder: {exc.strerror}") from None
    nodes, edges, measures = record_run(scenario, args.seed)
    anim = animation(
        nodes, edges, measures, f"{scenario.name} (seed {args.seed})", every=args.every
    )
    anim.save(out, writer="pillow", fps=args.fps, dpi=80)
    print(f"wrote {out} ({len(nodes['step'].unique()[:: args.every])} frames)")
    return 0


def _listen_address(host: str, port: int) -> Any:
    """The address the server will bind, checked: a name of this machine, a free port."""
    import socket

    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: must be from 1 to 65535")
    try:
        family, *_, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(
            f"--host {host}: not a name or address of this machine "
            f"({getattr(exc, 'strerror', None) or exc}); give one such as 127.0.0.1"
        ) from None
    with socket.socket(family) as probe:
        # As the server binds: a port left in TIME_WAIT by a server just stopped is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                hint = "another program listens there; choose another --port"
            else:
                hint = f"--host {host} is not an address of this machine"
            raise UsageError(
                f"--port {port} on {host}: cannot listen there ({exc.strerror}): {hint}"
            ) from None
    return address


def cmd_app(args: argparse.Namespace) -> int:
    """`trustsim app`: start the workshop web app and print its address."""
    if args.room:
        return cmd_room_serve(args)
    if args.lan:
        args.host = "0.0.0.0"
    address = _listen_address(args.host, args.port)
    if ipaddress.ip_address(address[0]).is_loopback:
        reach = "only this machine can open it"
    else:
        where = (
            "every network interface of this machine"
            if ipaddress.ip_address(address[0]).is_unspecified
            else args.host
        )
        reach = (
            f"listening on {where}, beyond this machine: anyone who can reach it on port "
            f"{args.port} can open it and change what it shows; --host 127.0.0.1 keeps it "
            "to this machine"
        )
    print(
        f"trustsim workshop app: open http://{args.host}:{args.port} in a browser; "
        f"{reach} (Ctrl-C stops it)",
        flush=True,
    )
    command = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "sim.workshop.app",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--production",
        "--no-open",
        "--log-level",
        "warning",
        "--no-check-version",  # Solara would ask pypi.org for its newest version
    ]
    # The charts are drawn in the browser by plotly.js, served from the plotly package
    # (no CDN: a workshop room may have no internet).
    import plotly

    scripts = Path(plotly.__file__).resolve().parent / "package_data"
    os.environ["SOLARA_ASSETS_EXTRA_LOCATIONS"] = str(scripts)
    # The server replaces this process, so Ctrl-C and kill reach it directly.
    # Nothing is fetched from outside while the app runs: no telemetry, and an asset
    # missing from Solara's bundled cache fails instead of coming from a CDN.
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SOLARA_ASSETS_CDN"] = "http://127.0.0.1:9/no-cdn/"
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # it covered the charts
    os.execv(sys.executable, command)
    return 0  # not reached


def lan_address() -> str:
    """This machine's address on the local network (no packet is sent to find it).

    127.0.0.1 when it has none (no route beyond this machine).
    """
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 1))  # a route lookup only: UDP sends nothing here
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def cmd_room_serve(args: argparse.Namespace) -> int:
    """`trustsim app --room`: a room that phones join, and the facilitator's screen."""
    import secrets

    from sim.workshop.room.game import MAX_SEATS, Room, RoomError
    from sim.workshop.story import plain_name

    host = "0.0.0.0" if args.lan else args.host
    ip = ipaddress.ip_address(_listen_address(host, args.port)[0])
    if not (ip.is_loopback or ip.is_unspecified):
        raise UsageError(
            f"--host {args.host}: a room listens on 127.0.0.1, or with --lan on every "
            "interface (the facilitator's screen opens at 127.0.0.1 on this machine)"
        )
    if args.weeks is not None and not 1 <= args.weeks <= 104:
        raise UsageError(f"--weeks {args.weeks}: from 1 to 104")
    for flag in ("ask_seconds", "answer_seconds"):
        value = getattr(args, flag)
        if not 5 <= value <= 600:
            raise UsageError(f"--{flag.replace('_', '-')} {value:g}: from 5 to 600 seconds")
    _check_seed(args.seed)
    scenario = resolve_scenario(args.scenario, {})
    weeks = args.weeks if args.weeks is not None else min(scenario.steps, 20)
    scenario = scenario.with_(steps=weeks)
    title = plain_name(Path(args.scenario).stem, scenario)
    try:
        room = Room(
            scenario,
            args.seed,
            seats=args.seats,
            ask_seconds=args.ask_seconds,
            answer_seconds=args.answer_seconds,
            title=title,
        )
    except RoomError as exc:
        raise UsageError(f"--seats {args.seats}: {exc}") from None
    key = secrets.token_urlsafe(18)
    shown = lan_address() if ip.is_unspecified else host
    join = f"http://{shown}:{args.port}/join?code={room.code}"
    save = Path(args.out) / f"room-{time.strftime('%Y%m%d-%H%M')}-{room.code}.json"
    if ip.is_loopback:
        reach = (
            f"listening on {host} only: phones cannot reach it (this machine only). To let "
            "phones on this network join, start it with --lan."
        )
    else:
        reach = (
            f"listening on {'every network interface' if ip.is_unspecified else host}, port "
            f"{args.port}: anyone on this network who has the room code can take a seat "
            f"(at most {room.max_seats}); the facilitator's screen opens only on this machine."
        )
    print(
        f"trustsim workshop room {room.code}: {title}, {weeks} weeks, seed {args.seed}, "
        f"{room.max_seats} seats (at most {MAX_SEATS})\n"
        f"  {reach}\n"
        f"  facilitator (open on this machine): http://127.0.0.1:{args.port}/host?key={key}\n"
        f"  phones join at: {join}\n"
        f"  the session is saved to {save} after every week (Ctrl-C stops the room)",
        flush=True,
    )
    from sim.workshop.room.server import RoomServer, serve

    serve(RoomServer(room, key, join, save), host, args.port)
    return 0


def cmd_room_replay(args: argparse.Namespace) -> int:
    """`trustsim room replay SESSION`: run a recorded room again, beside its twin."""
    from sim.workshop.room.game import RoomError, load_session, replay

    path = Path(args.session)
    try:
        rep = replay(load_session(path), str(path))
    except RoomError as exc:
        raise UsageError(str(exc)) from None
    weeks = rep.weeks
    verdict = (
        "identical to the room's run, every measure of every week"
        if rep.identical
        else "DIFFERENT from the room's recorded run"
    )
    print(
        f"{path}: replayed {weeks} week{'s' * (weeks != 1)} from seed "
        f"{rep.session['seed']}: {verdict}"
    )
    from sim.model.fast import COLUMNS

    for name in ("within_team_trust", "trust_in_coach", "mean_skill", "silence_rate"):
        c = COLUMNS.index(name)
        a, b = rep.replay.table[weeks, c], rep.twin.table[weeks, c]
        print(f"  {name:<18} week {weeks}: room {a:.3f}  fully simulated {b:.3f}  ({a - b:+.3f})")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        table = rep.replay.steps.iloc[: weeks + 1]
        twin = rep.twin.steps.iloc[: weeks + 1]
        table.to_csv(out / "replay_steps.csv", index=False)
        twin.to_csv(out / "simulated_steps.csv", index=False)
        print(f"  wrote {out / 'replay_steps.csv'} and {out / 'simulated_steps.csv'}")
    return 0 if rep.identical else 1


def cmd_export(args: argparse.Namespace) -> int:
    """`trustsim export`: the tables as Parquet or CSV files."""
    from sim.experiments import tidy_results
    from sim.experiments.store import ResultsStore

    folder = Path(args.results)
    if not ResultsStore.exists(folder):
        raise UsageError(f"{folder}: no results store here (results.sqlite)")
    tables = tidy_results(folder)  # read (and checked) before anything is written
    out = Path(args.out) if args.out else folder / "export"
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        target = out / f"{name}.{args.format}"
        if args.format == "parquet":
            table.to_parquet(target, index=False)
        else:
            table.to_csv(target, index=False)
        print(f"wrote {target} ({len(table)} rows)")
    return 0


def _experiment_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every command that runs an experiment's sweep or design."""
    _running_arguments(
        parser,
        "an experiment file (TOML)",
        "send the runs to a Dask scheduler, e.g. tcp://host:8786",
        "continue an interrupted run: run only what is missing",
    )
    parser.add_argument(
        "--replications",
        type=int,
        default=None,
        help="replications per scenario and point, overriding the file",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="weeks per run, overriding the file and the scenarios",
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="skip report.md/report.html (the results are still printed)",
    )
    _format_argument(parser)


def _running_arguments(
    parser: argparse.ArgumentParser, experiment: str, scheduler: str, resume: str
) -> None:
    """The experiment file and where and how its work runs: workers, Dask, resume, --out."""
    parser.add_argument("experiment", metavar="EXPERIMENT", help=experiment)
    parser.add_argument(
        "--workers", type=int, default=None, help="local worker processes (default: every core)"
    )
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS", help=scheduler)
    parser.add_argument("--resume", action="store_true", help=resume)
    parser.add_argument(
        "--out", default=None, help="results folder (default results/EXPERIMENT_NAME)"
    )


def _format_argument(parser: argparse.ArgumentParser) -> None:
    """The report's figure formats: PNG always, SVG or PDF when asked."""
    parser.add_argument(
        "--format",
        action="append",
        dest="formats",
        choices=FIGURE_FORMATS,
        default=None,
        help="also save the report's figures in this format (repeatable); PNG is always "
        "saved, as report.html embeds it",
    )


class _Parser(argparse.ArgumentParser):
    """argparse, its mistakes said in one line (exit 2) instead of a usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with help on every command and option."""
    parser = _Parser(
        prog="trustsim",
        description="Simulate how trust between colleagues decides whether they learn "
        "from each other, under different coaching regimes.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run one scenario and write its tables and plot",
        description="Run one scenario; write steps.csv (one row per week), "
        "summary.json (run results and parameters) and trust_skill.png.",
    )
    run.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="a scenario file, a name from scenarios/ (see `trustsim scenarios`), or a preset name",
    )
    run.add_argument(
        "--seed",
        type=int,
        default=1,
        help="random seed; the same seed gives the same run (default 1)",
    )
    run.add_argument(
        "--steps", type=int, default=None, help="weeks to run, overriding the scenario's `steps`"
    )
    run.add_argument(
        "--out", default=None, help="output folder (default results/runs/SCENARIO-seedN)"
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter, e.g. --set gossip_rate=0.2 (repeatable)",
    )
    run.add_argument(
        "--teams",
        choices=("auto", "on", "off"),
        default="auto",
        help="also write teams.csv, one row per team and week: auto = up to 50 teams "
        "(per-step data of a large organization stays one row per week)",
    )
    run.set_defaults(func=cmd_run)

    val = sub.add_parser(
        "validate",
        help="check scenario and experiment files and report every error",
        description="Check scenario and experiment files (an experiment file names "
        "scenarios or a model); print every problem, one line each, and for an experiment "
        "how many runs it holds. Exit code 2 if any file has a problem.",
    )
    val.add_argument(
        "files", nargs="+", metavar="FILE", help="scenario or experiment files to check"
    )
    val.set_defaults(func=cmd_validate)

    lib = sub.add_parser(
        "scenarios",
        help="list the scenario library",
        description="List the scenario files with the first line of each one's description.",
    )
    lib.add_argument("--dir", default=None, help="folder to list (default: scenarios/)")
    lib.set_defaults(func=cmd_scenarios)

    par = sub.add_parser(
        "parameters",
        help="print every parameter (Markdown table)",
        description="Print every model parameter with its default, range, unit and meaning.",
    )
    par.set_defaults(func=cmd_parameters)

    sweep = sub.add_parser(
        "sweep",
        help="run an experiment (replicated comparisons, sweeps) and compare",
        description="Run every run of an experiment file on all cores (or a Dask cluster), "
        "store each as it finishes in RESULTS/results.sqlite, then print the comparison. "
        "Exit code 1 when some runs failed, 2 on bad input.",
    )
    _experiment_arguments(sweep)
    sweep.set_defaults(func=cmd_sweep)

    cal = sub.add_parser(
        "calibrate",
        help="estimate parameters against field targets (ABC-SMC, pyabc)",
        description="Estimate the parameters of an experiment's [calibration] section "
        "against a targets file by approximate Bayesian computation (ABC-SMC): the "
        "posterior (samples, credible intervals, figures), a posterior predictive check "
        "against every target, and calibration.html. Reproduces from the experiment's "
        "seed with any number of workers; a killed calibration goes on with --resume.",
    )
    _running_arguments(
        cal,
        "an experiment file with [calibration]",
        "run the candidates on a Dask scheduler, e.g. tcp://host:8786",
        "continue a calibration that was stopped",
    )
    cal.add_argument(
        "--targets", required=True, metavar="FILE", help="the field targets (TOML, [[targets]])"
    )
    cal.add_argument(
        "--recover",
        action="append",
        metavar="NAME=VALUE",
        default=None,
        help="parameter recovery: make the targets' statistics with the model at these true "
        "values (one per estimated parameter, repeatable), then calibrate back",
    )
    cal.add_argument(
        "--population", type=int, default=None, help="particles per generation, overriding the file"
    )
    cal.add_argument(
        "--generations", type=int, default=None, help="generations at most, overriding the file"
    )
    cal.add_argument(
        "--no-report", action="store_true", help="skip calibration.md/calibration.html"
    )
    _format_argument(cal)
    cal.set_defaults(func=cmd_calibrate)

    sens = sub.add_parser(
        "sensitivity",
        help="global sensitivity analysis (Sobol or Morris) of an experiment",
        description="Run the [sensitivity] design of an experiment file (SALib's Sobol or "
        "Morris sample, every point replicated) on all cores or a Dask cluster, store each run, "
        "then print the indices with 95% CIs and write sensitivity.csv, sensitivity.md and "
        "the report. Exit code 1 when some runs failed, 2 on bad input.",
    )
    _experiment_arguments(sens)
    sens.add_argument(
        "--samples",
        type=int,
        default=None,
        help="the base sample size (Sobol N, Morris trajectories), overriding the file: "
        "for quick tries",
    )
    sens.set_defaults(func=cmd_sensitivity)

    rep = sub.add_parser(
        "report",
        help="write report.md, report.html and figures for a results folder",
        description="Write report.md and a self-contained report.html (figures embedded) "
        "beside the store: the question, what was run, the statistics, every figure.",
    )
    rep.add_argument("results", metavar="RESULTS_DIR", help="a folder written by sweep")
    _format_argument(rep)
    rep.add_argument(
        "--force",
        action="store_true",
        help="draw the report even when it is up to date (the results, the experiment, "
        "the formats and the code as when it was drawn)",
    )
    rep.set_defaults(func=cmd_report)

    plot = sub.add_parser(
        "plot",
        help="redraw the figures of a results folder",
        description="Redraw the figures of a results folder into RESULTS_DIR/figures/.",
    )
    plot.add_argument("results", metavar="RESULTS_DIR", help="a folder written by sweep")
    plot.add_argument(
        "--outcome",
        action="append",
        default=None,
        metavar="NAME",
        help="an outcome to draw (repeatable; default: the experiment's)",
    )
    plot.add_argument(
        "--format", choices=FIGURE_FORMATS, default="png", help="file format (default png)"
    )
    plot.add_argument(
        "--size",
        choices=("slide", "column"),
        default="slide",
        help="slide (8 x 4.5 in) or paper column (3.5 x 2.8 in)",
    )
    plot.set_defaults(func=cmd_plot)

    app = sub.add_parser(
        "app",
        help="start the workshop web app (for trainers)",
        description="Start the workshop web app: a guided story in chapters (each asks "
        "the room, plays the run, reveals the answer from 50 runs), then a sandbox with "
        "two scenarios side by side, sliders, events, uploads and exports.",
    )
    app.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    app.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    app.add_argument(
        "--lan",
        action="store_true",
        help="listen on the local network (every interface), so that phones can join",
    )
    room = app.add_argument_group(
        "workshop room (--room): participants join from their phones and play team members"
    )
    room.add_argument("--room", action="store_true", help="start a room instead of the app")
    room.add_argument(
        "--scenario",
        default="top_down_internal",
        help="the scenario played: a library name or a file (default top_down_internal)",
    )
    room.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    room.add_argument(
        "--weeks", type=int, help="weeks played (default: 20, or fewer if the scenario has)"
    )
    room.add_argument("--seats", type=int, help="seats (default: every plain member, at most 60)")
    room.add_argument(
        "--ask-seconds", type=float, default=30.0, help="time to choose whom to ask (default 30)"
    )
    room.add_argument(
        "--answer-seconds", type=float, default=20.0, help="time to answer requests (default 20)"
    )
    room.add_argument(
        "--out", default="results/room", help="folder for the session files (default results/room)"
    )
    app.set_defaults(func=cmd_app)

    roomcmd = sub.add_parser(
        "room",
        help="workshop room sessions: replay one",
        description="A recorded workshop room session (saved by `trustsim app --room`).",
    )
    roomsub = roomcmd.add_subparsers(dest="room_command", required=True)
    rep = roomsub.add_parser(
        "replay",
        help="run a recorded session again and compare it with the fully simulated run",
        description="Replay a session file: the same seed, scenario, events and choices "
        "on the fast path. Says whether the replay equals the room's recorded run, and "
        "sets it beside the same team fully simulated from the same seed.",
    )
    rep.add_argument("session", help="the session file (JSON)")
    rep.add_argument("--out", help="folder for the two per-week tables (CSV)")
    rep.set_defaults(func=cmd_room_replay)

    anim = sub.add_parser(
        "animate",
        help="one run as an animated trust network (GIF)",
        description="Run a scenario and render it as an animated GIF: the "
        "trust network week by week, with trust and skill beside it.",
    )
    anim.add_argument(
        "scenario", metavar="SCENARIO", help="a scenario file, library name or preset"
    )
    anim.add_argument("--out", required=True, metavar="FILE.gif", help="the GIF to write")
    anim.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    anim.add_argument(
        "--steps", type=int, default=None, help="weeks to run (default: the scenario's)"
    )
    anim.add_argument("--every", type=int, default=2, help="draw every k-th week (default 2)")
    anim.add_argument("--fps", type=int, default=8, help="frames per second (default 8)")
    anim.set_defaults(func=cmd_animate)

    comp = sub.add_parser(
        "compare",
        help="statistics of a results folder",
        description="Per outcome and scenario: mean, sd, 95% bootstrap CI, n; per pair of "
        "scenarios: paired difference with CI, Wilcoxon p (Holm), A12, Cohen's d. Writes "
        "compare.csv and compare.md beside the store; with --outcome or --reference, "
        "compare_view.csv and compare_view.md (the experiment's own files stay as the "
        "report shows them).",
    )
    comp.add_argument("results", metavar="RESULTS_DIR", help="a folder written by sweep")
    comp.add_argument(
        "--outcome",
        action="append",
        default=None,
        metavar="NAME",
        help="an outcome to compare (repeatable; default: the experiment's)",
    )
    comp.add_argument("--reference", default=None, help="compare every scenario with this one only")
    comp.add_argument(
        "--targets",
        default=None,
        metavar="FILE",
        help="field targets (TOML): each observed statistic against the same statistic "
        "computed from these runs; writes targets.md and targets.csv",
    )
    comp.set_defaults(func=cmd_compare)

    exp = sub.add_parser(
        "export",
        help="write the result tables as Parquet or CSV",
        description="Write the runs, summaries and steps tables of a results "
        "folder for other tools.",
    )
    exp.add_argument("results", metavar="RESULTS_DIR", help="a folder written by sweep")
    exp.add_argument(
        "--format",
        choices=("parquet", "csv"),
        default="parquet",
        help="file format (default parquet)",
    )
    exp.add_argument("--out", default=None, help="output folder (default RESULTS_DIR/export)")
    exp.set_defaults(func=cmd_export)

    return parser


def _warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A library's warning (scipy, SALib) as one `warning:` line, not two with its source."""
    text = " ".join(str(message).split())
    print(
        f"warning: {text} ({category.__name__} from {Path(filename).parent.name})", file=sys.stderr
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `trustsim` console script."""
    args = build_parser().parse_args(argv)
    for flag in ("out", "results"):
        if getattr(args, flag, None) == "":
            return _fail([f"--{flag} '': give a folder's name (an empty one means this folder)"])
    try:
        with warnings.catch_warnings():  # restores Python's own when the command ends
            warnings.showwarning = _warning
            return int(args.func(args))
    except ScenarioError as err:
        return _fail(err.lines)
    except UsageError as err:
        return _fail([str(err)])
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:  # a folder that is a file, a full disk, no permission
        folder = getattr(args, "out", None) or getattr(args, "results", None)
        where = f"{exc.filename or folder}: " if exc.filename or folder else ""
        if exc.errno in (errno.EEXIST, errno.ENOTDIR):
            return _fail([f"{where}is a file, not a folder: give a folder's name"])
        return _fail([f"{where}{exc.strerror or exc}"])
    except sqlite3.Error as exc:  # a store damaged past what check_store sees, a full disk
        folder = getattr(args, "results", None) or getattr(args, "out", None) or "results"
        return _fail([f"{folder}/results.sqlite: {exc}; what was stored before stays stored"])
