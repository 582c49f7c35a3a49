"""Comparisons across plausible worlds: a results folder's pairs run at drawn parameter values.

`trustsim compare` gives each pair of scenarios a paired difference at one parameter
point, the scenarios' own values. Here the same pairs are run at many worlds, each
a set of values of the parameters a calibration estimated: drawn by weight from its
posterior (a `trustsim calibrate` folder: the last generation of posterior.csv), or
from the priors of an experiment file's [calibration] section. In every world both
scenarios of a pair run the same R seeds (common random numbers), and each world
has seeds of its own, so the worlds' noise is independent and the spread over worlds
splits into parameter uncertainty and run-to-run noise (sim.methods.across).

Randomness: world w's values come from SeedSequence(seed, spawn_key=(ACROSS, 0, w))
and its replication r from the 63-bit seed of (ACROSS, 1, w, r), seed being the
results' experiment seed; S1's bootstrap from (ACROSS, 2). A world depends only on
its number, so more worlds or pairs extend what was run.

The runs go on the fast path through the runners' backend (every core) into a
results store of their own, RESULTS/across/<kind>-<name>-<digest>/, the digest
taken of what decides the runs (the source's content, the seed, the scenarios, the
defined outcomes, the measures): a run is stored as its batch finishes, so a killed
comparison run again runs only what is missing, and another source, or a changed
posterior, goes to another folder and loses nothing.

About 680 lines because its stages (where worlds come from, what the results compare
and how, the runs, the smallest effects of interest, the section of compare.md) share
one setup and read best in order; the statistics are sim.methods.across's, the
figure sim.reporting.plots.across's.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.experiments.adapters import kind
from sim.experiments.candidates import candidate_values, scenario_changes
from sim.experiments.compare import ResultsTables, experiment_file, load_results
from sim.experiments.defined import Defined, parse_definitions, with_definitions
from sim.experiments.executors import Backend, batches
from sim.experiments.expansion import count_of, spawn_seed
from sim.experiments.folders import FolderLock, git_commit
from sim.experiments.runner import Progress, check_columns, worker_count
from sim.experiments.spec import RunSpec
from sim.experiments.store import ResultsStore, scenario_of_run
from sim.methods import across as stats
from sim.methods.analysis import CENSORED_OUTCOMES, paired_differences, restricted, scenario_pairs
from sim.methods.calibration import RATIO, Prior
from sim.model import measures
from sim.model.scenario import Scenario, ScenarioError, did_you_mean, parameters

__all__ = [
    "ACROSS",
    "ACROSS_SECTION",
    "PAIRS",
    "WORLDS",
    "Across",
    "WorldSource",
    "compare_across",
    "default_smallest_effect",
    "load_source",
    "worlds_table",
]

# The section "Across plausible worlds" of the last comparison, for the report.
ACROSS_SECTION = "across.md"

ACROSS = 4  # spawn key of these streams under the experiment's seed (calibration: 1 to 3)
WORLDS, PAIRS = 200, 10  # the defaults: worlds drawn, paired replications per world
FOLDER = "across"  # under the results folder: one store per source
# Columns of posterior.csv that are not parameters (sim.experiments.abc writes it).
POSTERIOR_COLUMNS = ("generation", "particle", "weight", "distance")
# The default smallest effect of interest by the outcome's kind (docs/ODD.md section 8).
ON_UNIT_SCALE = 0.01  # a measure from 0 to 1: one hundredth of its scale
ON_COUNT = 0.1  # a count or a rate per week (bonded groups per team, asks a week)
IN_WEEKS = 2.0  # a "first week that ..." outcome: two weeks
SHARE_OF_RUNS = 0.05  # a true-or-false outcome (disintegrated): 5 points of the share

Say = Callable[[Literal["note"], str], None]  # a note to print (pipeline._Log)


@dataclass(frozen=True)
class WorldSource:
    """Where worlds come from: a calibration's posterior, or an experiment's priors."""

    kind: Literal["posterior", "prior"]
    path: Path
    words: str  # e.g. "the posterior of results/calibrate_field (generation 5, 200 particles)"
    parameters: tuple[str, ...]
    digest: str  # of what the draws come from
    particles: pd.DataFrame | None = None  # the posterior: its last generation
    priors: Mapping[str, Prior] = field(default_factory=dict)

    def draw(self, n: int, seed: int) -> pd.DataFrame:
        """Worlds 0 to n - 1: world, then each parameter's value as the runs take it.

        World w's values come from its own stream (module docstring), so the first
        worlds are the same whatever n; integer parameters are rounded
        (sim.experiments.candidates.candidate_values, as a calibration's candidates).
        """
        rows = []
        if self.particles is not None:
            w = self.particles["weight"].to_numpy(float)
            values = self.particles[list(self.parameters)].to_numpy(float)
            cdf = np.cumsum(w / w.sum())
        for world in range(n):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(ACROSS, 0, world)))
            if self.particles is not None:
                pick = min(int(np.searchsorted(cdf, rng.random(), side="right")), len(cdf) - 1)
                drawn = dict(zip(self.parameters, values[pick].tolist(), strict=True))
            else:
                drawn = {
                    name: _prior_value(self.priors[name], rng.random()) for name in self.parameters
                }
            ratio = {RATIO: drawn.pop(RATIO)} if RATIO in drawn else {}
            rows.append({"world": world, **candidate_values(drawn), **ratio})
        return pd.DataFrame(rows, columns=["world", *self.parameters])


def _prior_value(prior: Prior, u: float) -> float:
    """The prior's quantile at u: uniform, or uniform in the logarithm."""
    if prior.scale == "log":
        low, high = math.log(prior.min), math.log(prior.max)
        return math.exp(low + u * (high - low))
    return prior.min + u * (prior.max - prior.min)


def load_source(source: str | Path) -> WorldSource:
    """A calibration folder's posterior, or an experiment file's [calibration] priors.

    Raises:
        ScenarioError: no such path, a folder that holds no calibration (or no posterior
            yet), a posterior without particles, or an experiment file without priors.
    """
    path = Path(source)
    if path.is_dir():
        return _posterior(path)
    if path.is_file():
        return _prior(path)
    raise ScenarioError(
        [
            f"--across {source}: no such file or folder; give a calibration folder (from "
            "`trustsim calibrate`) or an experiment file with a [calibration] section"
        ]
    )


def _posterior(folder: Path) -> WorldSource:
    table = folder / "posterior.csv"
    if not table.exists():
        why = (
            "its calibration has not finished (no posterior.csv yet; `trustsim calibrate "
            "... --resume` finishes it)"
            if (folder / "calibration.json").exists()
            else "not a calibration folder (no posterior.csv; `trustsim calibrate` writes one)"
        )
        raise ScenarioError([f"--across {folder}: {why}"])
    raw = table.read_bytes()
    try:
        particles = pd.read_csv(table)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{table}: is not a posterior table ({exc})"]) from None
    missing = [c for c in ("generation", "weight") if c not in particles.columns]
    if missing:
        raise ScenarioError(
            [
                f"{table}: has no column {missing[0]!r}: not a posterior that trustsim "
                "calibrate wrote"
            ]
        )
    names = _calibrated(folder) or tuple(
        c
        for c in particles.columns
        if c not in POSTERIOR_COLUMNS and not c.startswith("stat_") and "." not in c
    )
    missing = [n for n in names if n not in particles.columns]
    if missing:
        raise ScenarioError([f"{table}: has no column {missing[0]!r}, a calibrated parameter"])
    last = particles[particles["generation"] == particles["generation"].max()]
    weights = pd.to_numeric(last["weight"], errors="coerce").to_numpy(float)
    if last.empty or not names:
        raise ScenarioError([f"{table}: holds no particles to draw worlds from"])
    if not (np.isfinite(weights).all() and (weights >= 0).all() and weights.sum() > 0):
        raise ScenarioError(
            [
                f"{table}: weight: the last generation's weights must be numbers of 0 or "
                "more, not all 0"
            ]
        )
    for name in names:
        values = pd.to_numeric(last[name], errors="coerce")
        if values.isna().any():
            raise ScenarioError(
                [f"{table}: {name}: every particle of the last generation needs a number"]
            )
    generation = int(last["generation"].iloc[0])
    return WorldSource(
        "posterior",
        folder,
        f"the posterior of {folder} (generation {generation}, {count_of(len(last), 'particle')}, "
        "drawn by weight)",
        names,
        hashlib.sha256(raw).hexdigest(),
        particles=last.reset_index(drop=True),
    )


def _calibrated(folder: Path) -> tuple[str, ...]:
    """The parameters the calibration estimated, as its calibration.json names them."""
    try:
        priors = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))["priors"]
    except (OSError, ValueError, KeyError, TypeError):
        return ()
    return tuple(priors) if isinstance(priors, dict) else ()


def _prior(path: Path) -> WorldSource:
    from sim.experiments.experiment_file import load_experiment

    exp = load_experiment(path)  # the experiment file's own checks of its priors
    if exp.calibration is None:
        raise ScenarioError(
            [
                f"--across {path}: has no [calibration] section, whose priors the worlds are "
                "drawn from; give an experiment file with one, or a calibration folder"
            ]
        )
    priors = dict(exp.calibration.parameters)
    if exp.calibration.trust_loss_ratio is not None:  # trust_loss follows it in each world
        priors[RATIO] = exp.calibration.trust_loss_ratio
    text = json.dumps({n: p.model_dump() for n, p in priors.items()}, sort_keys=True)
    words = ", ".join(f"{n} {p.words()}" for n, p in priors.items())
    return WorldSource(
        "prior",
        path,
        f"the priors of {path} ({words})",
        tuple(priors),
        hashlib.sha256(text.encode()).hexdigest(),
        priors=priors,
    )


@dataclass(frozen=True)
class _Setup:
    """What the results folder compares: its scenarios as run, pairs, outcomes, seed."""

    tables: ResultsTables
    scenarios: dict[str, Scenario]
    pairs: list[tuple[str, str]]
    outcomes: tuple[str, ...]
    censored: tuple[str, ...]
    steps: int
    seed: int
    defined: dict[str, Defined]


def _setup(tables: ResultsTables) -> _Setup:
    """The scenarios of a results folder as its runs used them, and how it compares them.

    Raises:
        ScenarioError: results of another model, of a sweep, or with fewer than two scenarios.
    """
    folder, meta = tables.folder, tables.manifest
    if meta.get("model", "trust") != "trust":
        raise ScenarioError(
            [f"{folder}: holds runs of model {meta.get('model')!r}; --across runs the trust model"]
        )
    points = sorted(set(tables.results["point"]))
    if points != [0]:
        raise ScenarioError(
            [
                f"{folder}: its scenarios were swept over {count_of(len(points), 'point')}; "
                "--across compares them at one point each: give the results of an experiment "
                "without [sweep] or [sensitivity]"
            ]
        )
    names = tables.scenarios
    pairs = scenario_pairs(names, tables.reference)
    if not pairs:
        raise ScenarioError([f"{folder}: holds one scenario, so no pair to compare across worlds"])
    runs = tables.runs[(tables.runs["status"] == "done") & (tables.runs["point"] == 0)]
    scenarios = {name: scenario_of_run(runs[runs["scenario"] == name].iloc[0]) for name in names}
    raw = experiment_file(meta)
    defined = parse_definitions(raw.get("define"), str(folder / "manifest.json"))
    censored = (*CENSORED_OUTCOMES, *(n for n, d in defined.items() if d.censored))
    return _Setup(
        tables,
        scenarios,
        pairs,
        tables.outcomes,
        censored,
        max(s.steps for s in scenarios.values()),
        int(meta.get("seed", raw.get("seed", 0))),
        defined,
    )


def _check(source: WorldSource, setup: _Setup) -> None:
    """Every parameter of the worlds must be a number the scenarios share.

    Raises:
        ScenarioError: a parameter the scenarios do not have, one that is not a number,
            or one the scenarios set differently (a world would erase that difference).
    """
    known = parameters()
    problems = []
    for name in source.parameters:
        if name == RATIO:  # trust_loss = ratio x trust_gain in every world (as calibrated)
            name = "trust_loss"
        if name not in known:
            problems.append(
                f"--across {source.path}: parameter {name!r} of the {source.kind} is not a "
                f"parameter of the scenarios in {setup.tables.folder}{did_you_mean(name, known)}"
            )
            continue
        if known[name].annotation not in (int, float):
            problems.append(
                f"--across {source.path}: parameter {name!r} is not a number; only numbers vary "
                "across worlds"
            )
            continue
        values = {s: getattr(sc, name) for s, sc in setup.scenarios.items()}
        if len(set(values.values())) > 1:
            listed = ", ".join(f"{s} {v}" for s, v in values.items())
            problems.append(
                f"--across {source.path}: parameter {name!r} differs between the scenarios "
                f"({listed}): a world sets it to one value in all of them and would erase "
                "that difference; leave it out of the worlds"
            )
    if problems:
        raise ScenarioError(problems)


def default_smallest_effect(outcome: str, defined: Mapping[str, Defined], steps: int) -> float:
    """The smallest effect of interest of an outcome, unless one is given.

    A measure from 0 to 1 (or its run mean): 0.01; another measure (a count, a rate
    per week): 0.1; a "first week that" outcome: 2 weeks; a true-or-false outcome
    (the share of runs): 0.05. A defined outcome takes its measure's, and an area
    under a measure its measure's times the weeks it covers.
    """
    if outcome in defined:
        d = defined[outcome]
        if d.stat == "first":
            return IN_WEEKS
        per_week = _measure_default(d.measure)
        if d.stat == "area":
            start = d.start if d.start is not None else 1
            end = d.end if d.end is not None else steps
            return per_week * max(end - start, 1)
        return per_week
    if outcome in CENSORED_OUTCOMES:
        return IN_WEEKS
    if outcome in {o.name for o in measures.RUN_OUTCOME_ENTRIES if o.flag}:
        return SHARE_OF_RUNS
    return _measure_default(outcome.removesuffix("_avg"))


def _measure_default(name: str) -> float:
    try:
        m = measures.get(name)
    except KeyError:
        return ON_UNIT_SCALE
    return ON_UNIT_SCALE if (m.low, m.high) == (0, 1) else ON_COUNT


def _smallest_effects(given: float | Mapping[str, float] | None, setup: _Setup) -> dict[str, float]:
    """Each outcome's smallest effect of interest: given (by name, or "*" for the rest) or default.

    Raises:
        ScenarioError: a name that is not an outcome compared here, or a negative value.
    """
    named = {"*": float(given)} if isinstance(given, int | float) else dict(given or {})
    problems = [
        f"--smallest-effect {name}={value}: must be 0 or more"
        for name, value in named.items()
        if not (isinstance(value, int | float) and value >= 0)
    ]
    problems += [
        f"--smallest-effect {name}=...: {name!r} is not an outcome compared here "
        f"({', '.join(setup.outcomes)}){did_you_mean(name, setup.outcomes)}"
        for name in named
        if name != "*" and name not in setup.outcomes
    ]
    if problems:
        raise ScenarioError(problems)
    return {
        o: float(
            named.get(o, named.get("*", default_smallest_effect(o, setup.defined, setup.steps)))
        )
        for o in setup.outcomes
    }


def _plan(source: WorldSource, setup: _Setup) -> dict[str, Any]:
    """What decides the runs of a world; its digest names the store they go to."""
    run_kind = with_definitions(kind("trust"), setup.defined)
    return {
        "source": str(source.path),
        "kind": source.kind,
        "source_sha256": source.digest,
        "parameters": list(source.parameters),
        "seed": setup.seed,
        "scenarios": {n: s.digest() for n, s in setup.scenarios.items()},
        "define": {n: d.model_dump(by_alias=True) for n, d in setup.defined.items()},
        "measures": list(run_kind.measures),
        "summary_keys": list(run_kind.summary_keys),
    }


def _store_folder(results: Path, source: WorldSource, plan: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:8]
    name = source.path.resolve().name if source.kind == "posterior" else source.path.stem
    return results / FOLDER / f"{source.kind}-{name}-{digest}"


@dataclass
class Across:
    """What a comparison across worlds ran and found."""

    folder: Path  # the results folder
    store: Path  # its across store
    source: WorldSource
    worlds: pd.DataFrame  # world, then the parameters' values
    table: pd.DataFrame  # per pair, outcome and world: parameters, mean_diff, se
    summary: pd.DataFrame  # per pair and outcome (sim.methods.across.summarize)
    section: str = ""  # the Markdown section compare.md gets
    written: list[Path] = field(default_factory=list)
    ran: int = 0
    stored: int = 0  # runs found stored already
    failed: int = 0
    seconds: float = 0.0


def _run(
    setup: _Setup,
    source: WorldSource,
    worlds: pd.DataFrame,
    pairs: int,
    workers: int | None,
    progress: bool | None,
    say: Say,
) -> tuple[Path, pd.DataFrame, dict[str, Any]]:
    """Run what is missing of every scenario at every world; the done runs of those asked."""
    plan = _plan(source, setup)
    store_folder = _store_folder(setup.tables.folder, source, plan)
    specs: list[RunSpec] = []
    for record in worlds.to_dict("records"):
        w = int(record["world"])
        row = {str(k): v for k, v in record.items() if k != "world"}
        seeds = [spawn_seed(setup.seed, ACROSS, 1, w, r) for r in range(pairs)]
        for name, base in setup.scenarios.items():
            try:
                sc = base.with_(**scenario_changes(row, base))
            except ScenarioError as err:
                where = ", ".join(f"{k} = {v:g}" for k, v in row.items())
                raise ScenarioError(
                    [f"world {w} ({where}): {line.split(': ', 1)[-1]}" for line in err.lines]
                ) from None
            specs += [
                RunSpec(f"{name}/w{w}/r{r}", sc, w, r, seeds[r], tuple(sorted(row.items())))
                for r in range(pairs)
            ]
    run_kind = with_definitions(kind("trust"), setup.defined)
    commit = git_commit()
    lock = FolderLock(
        store_folder, f"trustsim compare {setup.tables.folder} --across {source.path}"
    )
    for note in lock.notes:
        say("note", note)
    backend: Backend | None = None
    store: ResultsStore | None = None
    counts = {"ran": 0, "stored": 0, "failed": 0, "seconds": 0.0}
    try:
        plan_file = store_folder / "plan.json"
        if plan_file.exists():
            before = json.loads(plan_file.read_text(encoding="utf-8")).get("commit")
            if before != commit:
                say(
                    "note",
                    f"{store_folder}: its stored runs were made at commit {before}; the runs "
                    f"added now at {commit}: it holds runs of both",
                )
        else:
            plan_file.write_text(json.dumps({**plan, "commit": commit}, indent=2) + "\n", "utf-8")
        store = ResultsStore(
            store_folder, run_kind.measures, run_kind.summary_keys, kind("trust").parameter_names()
        )
        check_columns(store_folder, store, run_kind.measures, run_kind.summary_keys)
        done = store.finished()
        todo = [s for s in specs if done.get(s.run_id) != "done"]
        counts["stored"] = len(specs) - len(todo)
        n_workers, capped = worker_count(workers, None, None)
        for note in capped:
            say("note", note)
        backend = Backend(n_workers, None, None, run_kind.warm_up, asked=workers)
        show = sys.stderr.isatty() if progress is None else progress
        began = time.perf_counter()
        with Progress(total=len(todo), unit="run", disable=not show, dynamic_ncols=True) as bar:
            for results in backend.map(list(batches(todo, backend.workers)), 0, run_kind.run):
                store.write_many(results)
                counts["ran"] += len(results)
                counts["failed"] += sum(r["status"] != "done" for r in results)
                bar.update(len(results))
        counts["seconds"] = time.perf_counter() - began
        for note in backend.notes:
            say("note", note)
        runs = store.results()
    finally:
        if backend is not None:
            backend.close()
        if store is not None:
            store.close()
        lock.release()
    asked = runs["point"].lt(len(worlds)) & runs["replication"].lt(pairs)
    runs = runs[asked].rename(columns={"point": "world"})
    return store_folder, runs, counts


def worlds_table(
    results: str | Path | ResultsTables,
    source: str | Path | WorldSource,
    *,
    worlds: int = WORLDS,
    pairs: int = PAIRS,
    outcomes: Sequence[str] | None = None,
    reference: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """The per-world table: each pair's expected difference at every world, with its values.

    One row per pair, outcome and world: a, b, outcome, world, each parameter's value
    there, n (paired runs), mean_diff (the mean of a - b over them) and se (its
    standard error). Runs what is not stored yet (see the module docstring); the
    table for scenario discovery or a model of the difference on the parameters.

    Raises:
        ScenarioError: bad results, source or arguments (one line each).
    """
    return compare_across(
        results,
        source,
        worlds=worlds,
        pairs=pairs,
        outcomes=outcomes,
        reference=reference,
        workers=workers,
        progress=progress,
        write=False,
    ).table


def compare_across(
    results: str | Path | ResultsTables,
    source: str | Path | WorldSource,
    *,
    worlds: int = WORLDS,
    pairs: int = PAIRS,
    outcomes: Sequence[str] | None = None,
    reference: str | None = None,
    smallest_effect: float | Mapping[str, float] | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    write: bool = True,
    say: Say | None = None,
) -> Across:
    """Every pair of a results folder at `worlds` worlds of `source`, `pairs` runs each.

    With `write`, across.csv (the per-world table), across_summary.csv and a figure
    per outcome (figures/across_OUTCOME.png) go into the results folder; the
    Markdown section for compare.md is returned in `section`.

    Args:
        results: a results folder (of `trustsim sweep`), or its tables already read.
        source: a calibration folder, or an experiment file with a [calibration] section.
        worlds: worlds drawn (2 or more).
        pairs: paired replications per world (2 or more).
        outcomes: the outcomes compared (default: the experiment's).
        reference: compare every scenario with this one only (default: the experiment's).
        smallest_effect: the smallest effect of interest: one number for every outcome,
            or by outcome name ("*" for those not named); default per outcome
            (`default_smallest_effect`).
        workers: local worker processes (default: every core).
        progress: a progress bar (default: when stderr is a terminal).
        write: write the files (False: only return the tables).
        say: receives notes as ("note", text).

    Raises:
        ScenarioError: bad results, source or arguments, before anything is written.
    """
    tell: Say = say or (lambda kind_, text: None)
    for flag, value in (("--worlds", worlds), ("--pairs", pairs)):
        if not isinstance(value, int) or value < 2:
            raise ScenarioError(
                [f"{flag} {value}: must be 2 or more (a spread over worlds needs two of each)"]
            )
    chosen = tuple(dict.fromkeys(outcomes)) if outcomes else None
    tables = (
        results if isinstance(results, ResultsTables) else load_results(results, chosen, reference)
    )
    setup = _setup(tables)
    src = source if isinstance(source, WorldSource) else load_source(source)
    _check(src, setup)
    smallest = _smallest_effects(smallest_effect, setup)
    drawn = src.draw(worlds, setup.seed)
    store, runs, counts = _run(setup, src, drawn, pairs, workers, progress, tell)
    if counts["failed"]:
        tell(
            "note",
            f"{counts['failed']} runs failed (their pairs are left out; their errors are in "
            f"{store}/results.sqlite); run again to try them again",
        )
    runs = restricted(runs, setup.outcomes, setup.steps, setup.censored)
    diffs = stats.world_differences(runs, setup.pairs, setup.outcomes)
    table = diffs.merge(drawn, on="world")
    table = table[["a", "b", "outcome", "world", *src.parameters, "n", "mean_diff", "se"]]
    summary = stats.summarize(
        table, src.parameters, smallest, _one_point(setup), spawn_seed(setup.seed, ACROSS, 2)
    )
    result = Across(tables.folder, store, src, drawn, table, summary, **counts)
    result.section = _section(summary, src, setup, pairs, smallest)
    if write:
        _write(result, setup)
    return result


def _one_point(setup: _Setup) -> dict[tuple[str, str, str], float]:
    """Each pair's mean paired difference in the results themselves (the one-point answer)."""
    results = restricted(setup.tables.results, setup.outcomes, setup.steps, setup.censored)
    out = {}
    for outcome in setup.outcomes:
        for a, b in setup.pairs:
            diff = paired_differences(results, a, b, outcome)["diff"]
            if len(diff):
                out[(a, b, outcome)] = float(diff.mean())
    return out


def _section(
    summary: pd.DataFrame,
    source: WorldSource,
    setup: _Setup,
    pairs: int,
    smallest: Mapping[str, float],
) -> str:
    """compare.md's section "Across plausible worlds": how it was made, then a paragraph each."""
    worlds = int(summary["worlds"].max()) if len(summary) else 0
    effects = ", ".join(f"{o} {v:g}" for o, v in smallest.items())
    lines = [
        "## Across plausible worlds",
        "",
        f"Each pair at {count_of(worlds, 'world')} drawn from {source.words}: in every world "
        f"both scenarios ran the same {pairs} seeds (a world's expected difference is the mean "
        "of its paired differences), each world with seeds of its own. Smallest effects of "
        f"interest: {effects}. Run-to-run noise is the mean squared standard error of the "
        "worlds' means, the parameters' share what the spread over worlds has beyond it; "
        "S1 is the first-order index of a parameter from this sample (SALib's delta "
        "estimator, 95% bootstrap interval over worlds), named as deciding when its lower "
        f"bound is above {stats.DECIDES:g}.",
        "",
        *(f"- {s}" for s in stats.sentences(summary, source.parameters)),
    ]
    compared = {(r.a, r.b, r.outcome) for r in summary.itertuples()}
    missing = [
        f"{o} ({a} vs {b})"
        for o in setup.outcomes
        for a, b in setup.pairs
        if (a, b, o) not in compared
    ]
    if missing:
        lines += ["", f"Not compared (no value in a scenario of the pair): {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def _write(result: Across, setup: _Setup) -> None:
    """across.csv, across_summary.csv and a figure per outcome, in the results folder."""
    import matplotlib.pyplot as plt

    from sim.reporting import plots

    folder = result.folder
    # The section as compare.md shows it, kept for the report (which draws it too).
    (folder / ACROSS_SECTION).write_text(result.section, encoding="utf-8")
    result.table.to_csv(folder / "across.csv", index=False)
    result.summary.to_csv(folder / "across_summary.csv", index=False)
    result.written += [folder / "across.csv", folder / "across_summary.csv"]
    figures = folder / "figures"
    figures.mkdir(exist_ok=True)
    for outcome in dict.fromkeys(result.summary["outcome"]):
        fig = plots.across_differences(result.table, result.summary, outcome)
        path = figures / f"across_{outcome}.png"
        fig.savefig(path, dpi=150)
        plt.close(fig)
        result.written.append(path)
