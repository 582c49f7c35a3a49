"""The run -> compare -> report pipeline as a library: what the experiment commands do.

`sweep` runs an experiment into its results store, compares its scenarios and draws
its report, writing the files `trustsim sweep` writes; `sensitivity` does the same for
an experiment's [sensitivity] design; `compare` and `report` work on a results folder;
`calibrate` estimates a [calibration] section's parameters against field targets;
`across` compares a results folder's pairs across plausible worlds (compare's --across).
Each prints nothing and returns a small result: the files written, the tables a user
reads, and the messages the command line prints (`echo` receives each as it comes).
Bad input raises ScenarioError (a file) or PipelineError (an argument), one line each.

The stages are the runner (runs into the store), compare (the statistics) and draw
(the report); this module strings them together as the commands do, says what they
did, and leaves a report that is up to date (freshness) as it is. What draws
(matplotlib) and what runs is imported only when needed, so that a sweep with nothing
left to do stays quick. About 810 lines: six entry points and their results, each
argument documented once, and the messages the commands print.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sim.model.events import does_nothing
from sim.model.scenario import Scenario, ScenarioError

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiments.across import Across
    from sim.experiments.compare import ResultsTables
    from sim.experiments.runner import RunReport
    from sim.experiments.spec import Experiment
    from sim.experiments.structural import StructuralResult
    from sim.methods.comparison import Comparison

__all__ = [
    "UNCHANGED",
    "CalibrateResult",
    "CompareResult",
    "Message",
    "PipelineError",
    "ReportResult",
    "SweepResult",
    "across",
    "calibrate",
    "compare",
    "late_events",
    "power_warning",
    "report",
    "sensitivity",
    "structural",
    "sweep",
]

# Why a report is not drawn again.
UNCHANGED = "results, experiment and code unchanged"


class PipelineError(ValueError):
    """A bad argument or results folder, said in one line (the CLI's exit code 2)."""


@dataclass(frozen=True)
class Message:
    """One thing the command line prints: `text` on stdout, or `kind: text` on stderr."""

    kind: Literal["out", "warning", "note", "interrupted"]
    text: str

    @property
    def to_stderr(self) -> bool:
        """Whether the command line prints it on stderr (all but the results)."""
        return self.kind != "out"

    def __str__(self) -> str:
        return self.text if self.kind == "out" else f"{self.kind}: {self.text}"


Echo = Callable[[Message], None]


@dataclass
class _Log:
    """The messages of one call, each passed on to `echo` as it is said."""

    echo: Echo | None
    messages: list[Message] = field(default_factory=list)

    def __call__(self, kind: Literal["out", "warning", "note", "interrupted"], text: str) -> None:
        message = Message(kind, text)
        self.messages.append(message)
        if self.echo is not None:
            self.echo(message)


@dataclass
class SweepResult:
    """What `sweep` (or `sensitivity`) did: its runs, the files it wrote, what a user reads."""

    folder: Path
    runs: RunReport
    text: str = ""  # the results as printed: compare.md (or sensitivity.md, validation.md)
    written: list[Path] = field(default_factory=list)
    report: Path | None = None  # report.html, drawn now or up to date
    messages: list[Message] = field(default_factory=list)
    _tables: ResultsTables | None = field(default=None, repr=False)

    @property
    def comparison(self) -> Comparison:
        """The statistics compare.md shows (read from the store when they were not computed)."""
        from sim.experiments.compare import comparison, load_results

        if self._tables is None:
            self._tables = load_results(self.folder)
        return comparison(self._tables)

    @property
    def exit_code(self) -> int:
        """The command's exit code: 130 interrupted, 1 when some runs failed, else 0."""
        return 130 if self.runs.interrupted else 1 if self.runs.failed else 0


@dataclass
class CompareResult:
    """What `compare` wrote and printed: the comparison, or the model against its targets."""

    folder: Path
    text: str
    written: list[Path]
    comparison: Comparison | None = None
    targets: pd.DataFrame | None = None  # with `targets`: one row per target
    messages: list[Message] = field(default_factory=list)
    across: Across | None = None  # with `across`: the per-world table and its summary


@dataclass
class ReportResult:
    """The report of a results folder, and whether it was drawn (not up to date)."""

    folder: Path
    md: Path
    html: Path
    drawn: bool
    written: list[Path] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


@dataclass
class CalibrateResult:
    """What `calibrate` did: the posterior's summary lines and where its files are."""

    folder: Path
    lines: list[str]
    interrupted: bool = False
    report: Path | None = None  # calibration.html
    messages: list[Message] = field(default_factory=list)

    @property
    def tables(self) -> list[Path]:
        """The posterior samples, their summary and the posterior predictive check."""
        names = ("posterior.csv", "posterior_summary.csv", "predictive_check.csv")
        return [self.folder / name for name in names]

    @property
    def exit_code(self) -> int:
        """The command's exit code: 130 interrupted, else 0."""
        return 130 if self.interrupted else 0


def _experiment(experiment: str | Path | Experiment) -> tuple[Experiment, str]:
    """The experiment, and its name as messages give it (the path as the user wrote it)."""
    from sim.experiments.experiment_file import load_experiment

    if isinstance(experiment, str | Path):
        return load_experiment(experiment), str(experiment)
    return experiment, experiment.path or experiment.name


def _at_least(*checks: tuple[str, int | None, int]) -> None:
    for flag, value, least in checks:
        if value is not None and value < least:
            raise PipelineError(f"{flag} {value}: must be {least} or more")


def sweep(
    experiment: str | Path | Experiment,
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    resume: bool = False,
    replications: int | None = None,
    steps: int | None = None,
    report: bool = True,
    formats: Sequence[str] = (),
    progress: bool | None = None,
    echo: Echo | None = None,
    across: str | Path | None = None,
    worlds: int | None = None,
    pairs: int | None = None,
    map_worlds: bool = False,
) -> SweepResult:
    """Run an experiment into its store, then compare its scenarios and draw its report.

    As `trustsim sweep`: the same files beside the store (compare.csv and compare.md,
    or sensitivity.* or validation.md first; report.md, report.html, figures/) and
    the same messages. A report up to date is not drawn again.

    Args:
        experiment: an experiment file, or a loaded Experiment.
        out: the results folder (default results/<experiment name>).
        workers: local worker processes (default: every core).
        scheduler: a Dask scheduler address, e.g. tcp://host:8786.
        client: a distributed.Client to use instead of a local pool.
        resume: continue a store that already holds runs; only missing runs are run.
        replications: replications per scenario and point, overriding the file.
        steps: weeks per run, overriding the file and the scenarios.
        report: draw report.md and report.html (the statistics are written anyway).
        formats: also save the report's figures as "svg" or "pdf" (PNG always).
        progress: show a progress bar (default: when stderr is a terminal).
        echo: receives each message as it is said (the CLI prints them).
        across: then compare every pair across plausible worlds drawn from this
            calibration folder or experiment file's [calibration] (as `compare
            --across`); the report shows them.
        worlds: worlds drawn, with `across` (default 200).
        pairs: paired replications per world, with `across` (default 10).
        map_worlds: with `across`, also where each scenario of a pair wins (scenario
            discovery, as `compare --map`).

    Raises:
        ScenarioError: a bad experiment file, or a store that cannot be resumed.
        PipelineError: a bad argument.
    """
    if across is None and (worlds is not None or pairs is not None or map_worlds):
        raise PipelineError(
            "--worlds, --pairs and --map go with --across (the worlds to compare across)"
        )
    if across is not None:  # a bad source is refused before anything runs
        from sim.experiments.across import load_source

        load_source(across)
    result = _run(
        experiment,
        False,
        {"out": out, "workers": workers, "scheduler": scheduler, "client": client},
        resume=resume,
        replications=replications,
        steps=steps,
        samples=None,
        draw=report,
        formats=formats,
        progress=progress,
        say=_Log(echo),
    )
    if (
        across is not None
        and not result.runs.interrupted
        and (result.runs.done or result.runs.skipped)
    ):
        found = compare(
            result.folder,
            across=across,
            worlds=worlds,
            pairs=pairs,
            progress=progress,
            echo=echo,
            map_worlds=map_worlds,
        )
        result.messages += found.messages
        result.written += found.written
    return result


def sensitivity(
    experiment: str | Path | Experiment,
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    resume: bool = False,
    replications: int | None = None,
    steps: int | None = None,
    samples: int | None = None,
    report: bool = True,
    formats: Sequence[str] = (),
    progress: bool | None = None,
    echo: Echo | None = None,
) -> SweepResult:
    """Run an experiment's [sensitivity] design, then its indices and its report.

    As `trustsim sensitivity`; the arguments are `sweep`'s, and `samples` overrides
    the base sample size (Sobol N, Morris trajectories).
    """
    return _run(
        experiment,
        True,
        {"out": out, "workers": workers, "scheduler": scheduler, "client": client},
        resume=resume,
        replications=replications,
        steps=steps,
        samples=samples,
        draw=report,
        formats=formats,
        progress=progress,
        say=_Log(echo),
    )


def _run(
    experiment: str | Path | Experiment,
    design: bool,
    where: dict[str, Any],
    *,
    resume: bool,
    replications: int | None,
    steps: int | None,
    samples: int | None,
    draw: bool,
    formats: Sequence[str],
    progress: bool | None,
    say: _Log,
) -> SweepResult:
    """`sweep`, or `sensitivity` when `design`; `where` says where the runs run."""
    from sim.experiments.runner import results_folder, run

    _at_least(("--workers", where["workers"], 1))
    _at_least(("--replications", replications, 1), ("--steps", steps, 1))
    _at_least(("--samples", samples, 2))
    exp, name = _experiment(experiment)
    sens = exp.sensitivity
    n = samples or (sens.samples if sens else 0)
    if sens is not None and sens.method == "sobol" and n & (n - 1):
        say(
            "warning",
            f"samples = {n} is not a power of 2: Sobol's sequence balances best at "
            f"2^k (e.g. {1 << (n.bit_length() - 1)} or {1 << n.bit_length()})",
        )
    if design and exp.sensitivity is None:
        raise ScenarioError(
            [
                f"{name}: has no [sensitivity] section: add one (method, samples, "
                "parameters with ranges), or run it with `trustsim sweep`"
            ]
        )
    for line in late_events(exp.scenarios, steps or exp.steps):
        say("warning", line)
    if exp.calibration is not None:
        say(
            "note",
            f"{name} has a [calibration] section, which a sweep leaves "
            "aside: it runs the scenarios at their own values (`trustsim calibrate "
            f"{name} --targets FILE` estimates {', '.join(exp.calibration.parameters)})",
        )
    # Before a fresh sweep starts; beside the notes after one that resumes (a refused
    # resume says only why).
    power = power_warning(exp, replications)
    fresh = not results_folder(exp, where["out"]).exists()
    if power and fresh:
        say("warning", power)
    runs = run(
        exp,
        **where,
        resume=resume,
        replications=replications,
        steps=steps,
        samples=samples,
        progress=progress,
    )
    result = SweepResult(runs.folder, runs, messages=say.messages)
    after = None
    if runs.done or runs.skipped:
        began = time.perf_counter()
        try:
            done = _write_results(result, say, exp, formats, draw and not runs.interrupted)
        except ScenarioError as err:
            if not runs.interrupted:
                raise
            # Too little was stored to compare (the reference has no run yet): say so,
            # then how to go on.
            for line in err.lines:
                say("note", line)
            done = None
        after = (done, time.perf_counter() - began) if done else None
    for note in runs.notes:
        say("note", note)
    if power and not fresh:
        say("warning", power)
    say("out", runs.line(exp.name, after))
    if runs.interrupted:
        say("interrupted", "the runs above are stored; run again with --resume to finish")
    return result


def late_events(scenarios: Sequence[Scenario | Any], horizon: int | None = None) -> list[str]:
    """Events that never happen or do nothing, and surveys never given: one warning each.

    An event or survey after the last week (the horizon given, or each scenario's own)
    never happens; an event whose type says it does nothing in that scenario
    (sim.model.events.does_nothing) is named with the reason.
    """
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
            idle = does_nothing(ev, sc)
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


def power_warning(exp: Experiment, replications: int | None) -> str:
    """A warning when no paired comparison of the design can reach p < 0.05 after Holm.

    Each outcome's comparisons are one family: every pair of scenarios (or each against
    the reference) at every sweep point. A sensitivity design is read by its indices,
    and a calibration by its distance to targets: neither compares pairs.
    """
    from sim.experiments.expansion import expand
    from sim.methods.analysis import scenario_pairs
    from sim.methods.statistics import p_floor, replications_for_floor

    if exp.sensitivity is not None or exp.validation is not None or exp.calibration is not None:
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
    result: SweepResult, say: _Log, exp: Experiment, formats: Sequence[str], draw: bool
) -> str | None:
    """Say a sweep's results; write them and (if `draw`) the report beside the store.

    When the report and those files are up to date (the store, the experiment, the
    options and the code as when they were written), they are said as written.

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

    folder = result.folder
    files = [folder / name for name in _analysis_files(exp)]
    fresh = draw and freshness.up_to_date(folder, formats, also=[f.name for f in files])
    if fresh:
        text = files[0].read_text(encoding="utf-8")
    else:
        tables = load_results(folder)  # read once for every file written below
        text = write_comparison(tables)
        if exp.sensitivity is not None:
            text = write_sensitivity(tables)
        elif exp.validation is not None:
            text = write_validation(tables) or ""
        result._tables = tables
        result.written += files
    result.text = text
    say("out", text)
    if exp.sensitivity is None and exp.validation is not None:
        say("out", f"every pair of scenarios compared: {folder / 'compare.md'}")
    if fresh:
        result.report = folder / "report.html"
        say("out", f"report up to date ({UNCHANGED}): {result.report}")
        return None
    if not draw:
        return "the statistics"
    from sim.experiments.draw import draw_report

    md, result.report, figures = draw_report(tables, None, formats, files)
    result.written += [md, result.report, *figures]
    say("out", f"report: {result.report} (and {md.name}, figures/)")
    return "the statistics and the report"


def compare(
    results: str | Path,
    *,
    outcomes: Sequence[str] | None = None,
    reference: str | None = None,
    targets: str | Path | None = None,
    across: str | Path | None = None,
    worlds: int | None = None,
    pairs: int | None = None,
    smallest_effect: float | Mapping[str, float] | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    echo: Echo | None = None,
    map_worlds: bool = False,
) -> CompareResult:
    """The statistics of a results folder, as `trustsim compare`.

    The experiment's own comparison goes to compare.csv and compare.md; with
    `outcomes` or `reference`, a view of them to compare_view.csv and compare_view.md
    (the experiment's files stay as the report shows them). With `targets` (a TOML
    file of field targets), each observed statistic against the same statistic of
    these runs, in targets.md and targets.csv. With `across` (a calibration folder,
    or an experiment file with a [calibration] section), every pair also across
    plausible worlds (see `across`), in a section of compare.md (or compare_view.md);
    with `map_worlds` as well, where in those worlds each scenario of a pair wins
    (scenario discovery: map.csv, figures/map_*, a section after it).

    Raises:
        ScenarioError: no finished runs, an unknown outcome or reference, a bad targets
            file or `across` source.
        PipelineError: no results store in the folder (with `targets`), a bad argument.
    """
    from sim.experiments.compare import comparison, load_results, write_comparison

    say = _Log(echo)
    folder = Path(results)
    if targets is not None and across is not None:
        raise PipelineError("--targets and --across: give one of them at a time")
    if across is None:
        flags = {
            "--worlds": worlds,
            "--pairs": pairs,
            "--smallest-effect": smallest_effect,
            "--workers": workers,
            "--map": map_worlds or None,
        }
        given = [flag for flag, value in flags.items() if value is not None]
        if given:
            raise PipelineError(f"{given[0]} goes with --across (the worlds to compare across)")
    if targets is not None:
        return _compare_targets(folder, Path(targets), say)
    chosen = tuple(dict.fromkeys(outcomes)) if outcomes else None  # each once
    view = chosen is not None or reference is not None
    tables = load_results(folder, chosen, reference)
    found = None
    if across is not None:
        found = _across(tables, across, worlds, pairs, smallest_effect, workers, progress, say)
        if map_worlds:
            from sim.experiments.across import ACROSS_SECTION
            from sim.experiments.worldmap import map_worlds as mapped

            drawn = mapped(found)
            found.section = found.section.removesuffix("\n") + "\n\n" + drawn.section
            (folder / ACROSS_SECTION).write_text(found.section, encoding="utf-8")
            found.written += drawn.written
    if not view:
        text = write_comparison(tables)
        written = [folder / "compare.csv", folder / "compare.md"]
    else:
        comp = comparison(tables)
        written = [folder / "compare_view.csv", folder / "compare_view.md"]
        comp.tidy().to_csv(written[0], index=False)
        text = comp.markdown()
        written[1].write_text(text + "\n", encoding="utf-8")
    if found is None:
        say("out", text)
        if view:
            say("out", f"wrote {written[0]} and compare_view.md (this view)")
        return CompareResult(folder, text, written, comparison(tables), messages=say.messages)
    text = text.removesuffix("\n") + "\n\n" + found.section
    written[1].write_text(text, encoding="utf-8")
    written += found.written
    say("out", found.section.removesuffix("\n"))
    say("out", _across_line(found, written[1]))
    if (folder / "report.html").exists():  # the report shows the worlds too: draw it again
        from sim.experiments.draw import write_report

        _, html = write_report(folder)
        say("out", f"report: {html} (with the worlds)")
    return CompareResult(
        folder, text, written, comparison(tables), messages=say.messages, across=found
    )


def across(
    results: str | Path,
    source: str | Path,
    *,
    worlds: int | None = None,
    pairs: int | None = None,
    outcomes: Sequence[str] | None = None,
    reference: str | None = None,
    smallest_effect: float | Mapping[str, float] | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    echo: Echo | None = None,
) -> CompareResult:
    """Every pair of a results folder compared across plausible worlds (`compare --across`).

    Worlds are parameter values drawn from `source`: a calibration folder (its
    posterior, by weight) or an experiment file with a [calibration] section (its
    priors). At each world both scenarios of a pair run the same `pairs` seeds on the
    fast path (every core; what a killed comparison stored is not run again), and per
    pair and outcome the result gives the median expected difference over worlds, its
    90% interval, the share of worlds each scenario wins by more than the smallest
    effect of interest, how much of the spread is run-to-run noise, and which
    parameters decide it. Writes across.csv, across_summary.csv, figures/across_*.png
    and a section of compare.md; `result.across.table` is the per-world table.

    Args:
        results: a results folder of `trustsim sweep` (an experiment without a sweep).
        source: a calibration folder, or an experiment file with [calibration].
        worlds: worlds drawn (default 200).
        pairs: paired replications per world (default 10).
        outcomes: the outcomes compared (default: the experiment's).
        reference: compare every scenario with this one only (default: the experiment's).
        smallest_effect: one number for every outcome, or by name ("*": the others);
            default per outcome (docs/ODD.md, "Comparisons across plausible worlds").
        workers: local worker processes (default: every core).
        progress: a progress bar (default: when stderr is a terminal).
        echo: receives each message as it is said (the CLI prints them).

    Raises:
        ScenarioError: bad results or source, before anything is written.
        PipelineError: a bad argument.
    """
    return compare(
        results,
        outcomes=outcomes,
        reference=reference,
        across=source,
        worlds=worlds,
        pairs=pairs,
        smallest_effect=smallest_effect,
        workers=workers,
        progress=progress,
        echo=echo,
    )


def structural(
    experiment: str | Path | Experiment,
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    replications: int | None = None,
    steps: int | None = None,
    progress: bool | None = None,
    echo: Echo | None = None,
) -> StructuralResult:
    """The experiment's comparison rerun under every alternative structural rule.

    As `trustsim structural`: the scenarios as given ("defaults"), then with each other
    trust, choice, voice and success rule (docs/ODD.md 7.8, 7.9, 7.12, 7.13), each a
    sweep of its own in RESULTS/variants/ (same seeds; a rerun runs only what is
    missing); structural.csv and structural.md say which conclusions survive every
    rule.

    Raises:
        ScenarioError: a bad experiment file, or one with a sweep or design.
        PipelineError: a bad argument.
    """
    from sim.experiments.structural import structural as rerun

    _at_least(("--workers", workers, 1), ("--replications", replications, 1))
    _at_least(("--steps", steps, 1))
    exp, _ = _experiment(experiment)
    say = _Log(echo)
    result = rerun(
        exp,
        sweep,
        out=out,
        workers=workers,
        scheduler=scheduler,
        replications=replications,
        steps=steps,
        progress=progress,
        echo=None,  # each variant's own messages stay in its folder's files
    )
    for line in result.lines:
        say("out", line)
    if result.failed:
        say("warning", f"{result.failed} runs failed (see each variant's results.sqlite)")
    say("out", f"wrote structural.md and structural.csv in {result.folder}")
    return result


def _across(
    tables: ResultsTables,
    source: str | Path,
    worlds: int | None,
    pairs: int | None,
    smallest_effect: float | Mapping[str, float] | None,
    workers: int | None,
    progress: bool | None,
    say: _Log,
) -> Across:
    """The comparison across worlds of a results folder's tables (its files written)."""
    from sim.experiments.across import PAIRS, WORLDS, compare_across

    _at_least(("--worlds", worlds, 2), ("--pairs", pairs, 2), ("--workers", workers, 1))
    return compare_across(
        tables,
        source,
        worlds=worlds or WORLDS,
        pairs=pairs or PAIRS,
        smallest_effect=smallest_effect,
        workers=workers,
        progress=progress,
        say=say,
    )


def _across_line(found: Across, md: Path) -> str:
    """The last line of a comparison across worlds: what ran, and what was written."""
    ran = f"{found.ran:,} runs done in {found.seconds:.1f} s" if found.ran else "no run needed"
    kept = f", {found.stored:,} already stored" if found.stored else ""
    failed = f", {found.failed:,} failed" if found.failed else ""
    return (
        f"across: {ran}{failed}{kept} ({found.store}); wrote {md.name}, across.csv, "
        f"across_summary.csv and figures/across_*.png in {found.folder}"
    )


def _compare_targets(folder: Path, path: Path, say: _Log) -> CompareResult:
    """The model against each field target: targets.md and targets.csv."""
    from sim.experiments.store import ResultsStore
    from sim.methods.targets import check, load_targets

    targets = load_targets(path)  # a bad file is refused before the store is read
    if not ResultsStore.exists(folder):
        raise PipelineError(f"{folder}: no results store here (results.sqlite)")
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
    written = [folder / "targets.csv", folder / "targets.md"]
    table.to_csv(written[0], index=False)
    written[1].write_text(text, encoding="utf-8")
    say("out", text.removesuffix("\n"))
    say("out", f"wrote {written[1]} and targets.csv")
    return CompareResult(folder, text, written, targets=table, messages=say.messages)


def report(
    results: str | Path,
    *,
    formats: Sequence[str] = (),
    force: bool = False,
    echo: Echo | None = None,
) -> ReportResult:
    """Write report.md, report.html and figures/ of a results folder, as `trustsim report`.

    Not drawn again when up to date (the results, the experiment, the formats and the
    code as when it was drawn), unless `force`.

    Raises:
        ScenarioError: no results store, or no finished run.
    """
    from sim.experiments import freshness

    say = _Log(echo)
    folder = Path(results)
    md, html = folder / "report.md", folder / "report.html"
    if not force and freshness.up_to_date(folder, formats):
        say("out", f"report up to date ({UNCHANGED}): {html} (--force draws it again)")
        return ReportResult(folder, md, html, drawn=False, messages=say.messages)
    from sim.experiments.draw import draw_report

    md, html, figures = draw_report(folder, None, formats)
    say("out", f"wrote {html}, {md} and {md.parent / 'figures'}/")
    written = [md, html, *figures]
    return ReportResult(folder, md, html, drawn=True, written=written, messages=say.messages)


def calibrate(
    experiment: str | Path | Experiment,
    targets: str | Path,
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    population: int | None = None,
    generations: int | None = None,
    recover: Mapping[str, Any] | None = None,
    report: bool = True,
    formats: Sequence[str] = (),
    progress: bool | None = None,
    command: str = "",
    echo: Echo | None = None,
    check: str | Path | None = None,
) -> CalibrateResult:
    """Estimate an experiment's [calibration] parameters against field targets (ABC-SMC).

    As `trustsim calibrate`: the posterior and its predictive check beside the store,
    and (if `report`) calibration.md and calibration.html.

    Args:
        experiment: an experiment file with a [calibration] section, or a loaded one.
        targets: the field targets (TOML, [[targets]]).
        out: the results folder (default results/<experiment name>).
        workers: local worker processes (default: every core).
        scheduler: a Dask scheduler address, e.g. tcp://host:8786.
        resume: continue a calibration that was stopped.
        population: particles per generation, overriding the file.
        generations: generations at most, overriding the file.
        recover: parameter recovery: the true value of each estimated parameter; the
            targets' statistics are made by the model there, then calibrated back.
        report: write calibration.md and calibration.html.
        formats: also save the report's figures as "svg" or "pdf" (PNG always).
        progress: a bar per generation (default: when stderr is a terminal).
        command: the command line recorded with the calibration.
        echo: receives each message as it is said (the CLI prints them).
        check: held-out targets (TOML) the predictive check tests and the fit never
            uses, instead of the [calibration] section's `check`.

    Raises:
        ScenarioError: a bad experiment or targets file, or a store that cannot go on.
        PipelineError: a bad argument.
    """
    from sim.experiments.abc import calibrate as run_abc
    from sim.methods.targets import load_targets

    say = _Log(echo)
    _at_least(
        ("--workers", workers, 1),
        ("--population", population, 10),
        ("--generations", generations, 1),
    )
    truth = None
    if recover:
        truth = {}
        for key, value in recover.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise PipelineError(f"--recover {key}={value}: a true value is a number")
            truth[key] = float(value)
    loaded = load_targets(targets)
    exp, _ = _experiment(experiment)
    rep = run_abc(
        exp,
        targets,
        loaded,
        out=out,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        population=population,
        generations=generations,
        truth=truth,
        progress=progress,
        command=command,
        held_out=check,
    )
    result = CalibrateResult(rep.folder, rep.lines, rep.interrupted, messages=say.messages)
    for note in rep.notes:
        say("note", note)
    if rep.interrupted:
        say(
            "interrupted",
            "the finished generations and candidates are stored; run again with --resume to go on",
        )
        return result
    for line in rep.lines:
        say("out", line)
    if report:
        from sim.reporting.calibration import write_calibration_report

        result.report = write_calibration_report(rep.folder, formats=formats)
        say("out", f"report: {result.report} (and calibration.md, figures/)")
    say("out", f"tables: {rep.folder}/posterior.csv, posterior_summary.csv, predictive_check.csv")
    return result
