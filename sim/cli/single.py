"""The commands on one scenario: run, validate, scenarios, parameters.

`trustsim run` runs one scenario on the fast path and writes its tables, a plot and a
summary; `validate` checks scenario and experiment files; `scenarios` lists the
library; `parameters` prints every parameter.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.cli.parser import (
    RESULTS_DIR,
    SCENARIO_DIR,
    UsageError,
    check_seed,
    parse_sets,
    resolve_scenario,
)
from sim.experiments.pipeline import late_events, power_warning
from sim.model import measures
from sim.model.scenario import Scenario, ScenarioError
from sim.model.scenario_files import describe_file, load_scenario, read_toml

if TYPE_CHECKING:
    from sim.model.fast import Run

__all__ = [
    "cmd_parameters",
    "cmd_run",
    "cmd_scenarios",
    "cmd_validate",
    "run_one",
    "summary_rows",
    "summary_table",
]


def summary_rows() -> list[tuple[str, str]]:
    """The summary table's rows: each measure but the counts, then the run outcomes.

    A measure's row shows its final value, or its run mean where it is compared by that
    (`Measure.key`), under the label the figures use (sim.model.measures).
    """
    kept = [m for m in measures.registered() if not m.integer]
    outcomes = [(o.name, o.label) for o in measures.RUN_OUTCOME_ENTRIES]
    return [*((m.key, measures.label_of(m.key)) for m in kept), *outcomes]


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
    rows = summary_rows()
    width = max(len(label) for _, label in rows) + 2
    colw = max(12, *(len(n) + 2 for n in names))
    lines = [" " * width + "".join(n.rjust(colw) for n in names)]
    for key, label in rows:
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


def cmd_run(args: argparse.Namespace) -> int:
    """`trustsim run`: one scenario, its tables, a plot and a summary."""
    check_seed(args.seed)
    overrides = parse_sets(args.set)
    if args.steps is not None:
        overrides["steps"] = args.steps
    scenario = resolve_scenario(args.scenario, overrides)
    for line in late_events([scenario]):
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
                power = power_warning(exp, None)
                for line in late_events(exp.scenarios, exp.steps) + ([power] if power else []):
                    print(f"warning: {line}", file=sys.stderr)
                print(f"ok: {name} (experiment: {what})")
                continue
            for line in late_events([load_scenario(name)]):
                print(f"warning: {name}: {line}", file=sys.stderr)
        except ScenarioError as err:
            bad += 1
            for line in err.lines:
                print(f"error: {line}", file=sys.stderr)
        else:
            print(f"ok: {name}")
    return 2 if bad else 0


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
