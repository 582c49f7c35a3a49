"""Calibration: which parameter values make the model's runs look like the field's?

`calibrate` estimates an experiment's `[calibration]` parameters against a targets
file by approximate Bayesian computation: ABC-SMC (pyabc), whose history is an SQLite
file beside the results, with the priors of the section, and a distance that is the
Euclidean norm of each fitted target's difference divided by its SE (its discrepancy
added in quadrature, where the targets file gives one). A candidate (a parameter set)
runs every scenario of the experiment for its replications on the fast path, and its
statistics are computed from those runs exactly as `trustsim compare --targets`
computes them from a sweep (sim.methods.targets.model_values).

With `trust_loss_ratio` in the section, the ratio is calibrated too and every
candidate has trust_loss = ratio x trust_gain: the model's premise that trust falls
faster than it grows (fact 2 of docs/validation.md) holds in every particle when the
ratio's prior starts at 1. Without it, the report measures the share of the posterior
where the premise holds.

Before the first generation, a sample of the prior (as many candidates as a generation
has particles, prior_sample.csv) says which targets the model can reach at all: a
target that no candidate reaches within 2 of its SEs is a failed pattern, said so in
the report and kept out of the distance, since a misfit no parameter can close would
only pull the others wherever the noise favours; a target whose file gives it a
`discrepancy` stays in, weighed by the widened SE. The same sample's median distance
is generation 0's threshold.

Runs reproduce: candidates are drawn and run in seeded order (sim.experiments.candidates),
so the posterior is the same with any number of workers, locally or on a Dask cluster,
and every generation starts from the history on disk, so a calibration killed at any
moment and resumed gives the same posterior as one that ran through.

After the last generation come a posterior predictive check (fresh runs at posterior
draws against every target, and against a second file of held-out targets the fit
never saw), the optional contrast of two scenarios across the posterior, and the
tables that sim.methods.calibration reads and sim.reporting.calibration draws.
`simulation_based_calibration` repeats a parameter recovery at truths drawn from the
prior and counts how often the credible intervals hold them.

Over 600 lines because a calibration's stages (the checks of its input, the prior
sample, the generations, the tables after them, and the recoveries of simulation-based
calibration) share its plan, its folder and its pool of workers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
import platform
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.experiments.candidates import (
    PREDICTIVE,
    PRIOR_SAMPLE,
    RECOVERY,
    TRUTHS,
    CandidateCache,
    CandidatePool,
    Simulator,
    candidate_runs,
    loss_gain_ratio,
    ordered,
    sampler_class,
    statistics_at,
)
from sim.experiments.expansion import count_of, spawn_seed
from sim.experiments.folders import FolderLock, results_folder
from sim.experiments.runner import worker_count
from sim.experiments.spec import Experiment
from sim.methods.calibration import Calibration, Prior
from sim.methods.targets import Target, load_held_out, plausible_range
from sim.model.scenario import Scenario, ScenarioError

__all__ = ["CalibrationReport", "Distance", "calibrate", "simulation_based_calibration"]

HISTORY = "abc.sqlite"
CACHE = "candidates.sqlite"
PLAN = "calibration.json"
PRIOR = "prior_sample.csv"
# The parts of a calibration's plan that change its posterior: a resume must match them.
PLAN_KEYS = {
    "experiment_sha256": "the experiment file",
    "targets_sha256": "the targets file",
    "truth": "the --recover values",
    "population": "the population (--population)",
    "seed": "the seed",
    "priors": "the priors",
}
MEASURED = ("realized_loading.", "alpha.")  # what a candidate reports of its surveys


@dataclass
class CalibrationReport:
    """What a calibration did, and where its tables are."""

    folder: Path
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False


class Distance:
    """The distance to the fitted targets: the Euclidean norm of their weighted differences.

    weights: 1 / SE of each fitted target (its discrepancy included). The statistics of
    other targets (failed patterns) and of the surveys are carried, not weighed; a NaN
    in a fitted one gives NaN, which no threshold accepts.
    """

    def __init__(self, weights: dict[str, float]) -> None:
        self.weights = dict(weights)

    def __call__(self, x: dict[str, float], x_0: dict[str, float]) -> float:
        """The distance between a candidate's statistics x and the observed ones x_0."""
        return math.sqrt(sum(((x[k] - x_0[k]) * w) ** 2 for k, w in self.weights.items()))


# 1. The input, checked before anything runs ------------------------------------------------


def _check_targets(exp: Experiment, targets: Sequence[Target], source: str) -> list[str]:
    """Problems a calibration would meet only after its first candidate, said before it."""
    problems = []
    names = [s.name for s in exp.scenarios]
    keys = exp.kind.summary_keys
    for t in targets:
        where = f"{source}: target {t.name}"
        for key in ("scenario", "control"):
            if getattr(t, key) is not None and getattr(t, key) not in names:
                problems.append(
                    f"{where}: {key} = {getattr(t, key)!r} is not one of the experiment's "
                    f"scenarios {names}"
                )
        if problems and problems[-1].startswith(where):
            continue
        if t.statistic == "outcome_mean" and t.outcome not in keys:
            problems.append(f"{where}: outcome = {t.outcome!r} is not a run outcome")
        if t.statistic.startswith("survey"):
            weeks = [t.week] + ([t.from_week] if t.statistic == "survey_change" else [])
            read = [s for s in exp.scenarios if t.scenario in (None, s.name)]
            for s in read:
                given = {
                    w
                    for v in getattr(s, "surveys", ())
                    if v.instrument == t.instrument
                    for w in v.at
                }
                missing = [w for w in weeks if w not in given]
                if missing:
                    problems.append(
                        f"{where}: scenario {s.name!r} gives no {t.instrument} survey at week "
                        f"{', '.join(map(str, missing))} (add it to the scenario's [[surveys]])"
                    )
    return problems


def _check_ratio(exp: Experiment, cal: Calibration) -> list[str]:
    """trust_loss_ratio x a scenario's own trust_gain must stay a possible trust_loss."""
    ratio = cal.trust_loss_ratio
    if ratio is None or "trust_gain" in cal.parameters:
        return []  # with trust_gain estimated, the section's own check held it
    return [
        f"{exp.path or exp.name}: calibration.trust_loss_ratio = {ratio.words()}: with scenario "
        f"{s.name!r}'s trust_gain {s.trust_gain:g} it makes trust_loss up to "
        f"{ratio.max * s.trust_gain:g}, above its maximum 1: lower the ratio's max to "
        f"{1 / s.trust_gain:.3g}"
        for s in exp.scenarios
        if isinstance(s, Scenario) and ratio.max * s.trust_gain > 1
    ]


def _held_out(
    exp: Experiment, cal: Calibration, targets: Sequence[Target], source: str, path: Any
) -> tuple[Path | None, list[Target]]:
    """The held-out targets: `path` (a command's flag) or the section's `check`."""
    if path is None and cal.check is None:
        return None, []
    if path is None:
        path = Path(exp.path).parent / str(cal.check) if exp.path else Path(str(cal.check))
    path = Path(os.path.normpath(path))
    held = load_held_out(path, list(targets), source)
    problems = _check_targets(exp, held, str(path))
    if problems:
        raise ScenarioError(problems)
    return path, held


def _plan(
    exp: Experiment,
    cal: Calibration,
    targets_path: Path,
    targets: Sequence[Target],
    truth: dict[str, float] | None,
    held_out: Path | None,
    command: str,
) -> dict[str, Any]:
    scenarios = [s.name for s in exp.scenarios]
    reps = exp.replications.count or 1
    fixed = {
        k: getattr(exp.scenarios[0], k)
        for k in ("survey_loading", "trust_gain", "trust_loss")
        if isinstance(exp.scenarios[0], Scenario) and k not in cal.priors()
    }
    return {
        "experiment": exp.name,
        "question": exp.question,
        "experiment_file": exp.path,
        "experiment_sha256": exp.text_hash(),
        "experiment_text": Path(exp.path).read_text(encoding="utf-8") if exp.path else "",
        "targets_file": str(targets_path),
        "targets_sha256": hashlib.sha256(targets_path.read_bytes()).hexdigest(),
        "held_out_file": str(held_out) if held_out is not None else None,
        "truth": truth,
        "population": cal.population,
        "generations": cal.generations,
        "seed": exp.seed,
        "priors": {n: p.model_dump() for n, p in cal.priors().items()},
        "fixed": fixed,  # in the experiment's first scenario, for the report's words
        "predictive": cal.predictive,
        "contrast": [s.name for s in cal.contrast] if cal.contrast else None,
        "runs_per_candidate": len(scenarios) * reps,
        "scenarios": f"{', '.join(scenarios)} x {count_of(reps, 'replication')}",
        "sources": {t.name: t.source for t in targets},
        "command": command,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
    }


def _prepare(
    exp: Experiment,
    targets: Sequence[Target],
    source: str,
    population: int | None,
    generations: int | None,
    truth: dict[str, float] | None,
    held_out: Any,
) -> tuple[Calibration, Path | None, list[Target]]:
    """The section with the command's overrides, and the held-out targets; every problem.

    Raises:
        ScenarioError: no [calibration] section, targets the runs cannot give, --recover
            values that do not fit the priors, a held-out file that is not one.
    """
    cal = exp.calibration
    if cal is None:
        raise ScenarioError(
            [
                f"{exp.path or exp.name}: has no [calibration] section: add one naming the "
                'parameters to estimate (see docs/validation.md, "Grounding")'
            ]
        )
    if exp.replications.count is None:
        raise ScenarioError([f"{exp.path}: replications: a calibration needs a fixed count"])
    overrides: dict[str, int] = {}
    if population is not None:
        overrides["population"] = population
    if generations is not None:
        overrides["generations"] = generations
    if overrides:
        cal = cal.model_copy(update=overrides)
    problems = _check_targets(exp, targets, source) + _check_ratio(exp, cal)
    priors = cal.priors()
    if truth is not None:
        missing = [n for n in priors if n not in truth]
        extra = [n for n in truth if n not in priors]
        problems += [f"--recover: give a true value of {n} (it is estimated)" for n in missing]
        problems += [
            f"--recover {n}: not one of the estimated parameters {list(priors)}" for n in extra
        ]
        for n, v in truth.items():
            p = priors.get(n)
            if p is not None and not p.min <= v <= p.max:
                problems.append(f"--recover {n}={v:g}: outside its prior ({p.words()})")
    if problems:
        raise ScenarioError(problems)
    path, held = _held_out(exp, cal, targets, source, held_out)
    return cal, path, held


def _refuse_changed(folder: Path, plan: dict[str, Any], resume: bool) -> None:
    """A folder holding a calibration is continued only with resume, and the same plan.

    Raises:
        ScenarioError: a history without resume, or a plan that changed.
    """
    if not (folder / HISTORY).exists():
        return
    if not resume:
        raise ScenarioError(
            [
                f"{folder}: holds a calibration already ({HISTORY}); --resume "
                "continues it, or choose another --out"
            ]
        )
    path = folder / PLAN
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    changed = [words for k, words in PLAN_KEYS.items() if old.get(k) != plan[k]]
    if changed:
        raise ScenarioError(
            [
                f"{folder}: cannot resume: {', '.join(changed)} changed since this "
                "calibration began; choose another --out to start a new one"
            ]
        )
    for key in ("started", "prior_sample"):  # kept from the calibration's beginning
        if key in old:
            plan[key] = old[key]


# 2. The calibration ----------------------------------------------------------------------


def calibrate(
    exp: Experiment,
    targets_path: str | Path,
    targets: Sequence[Target],
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    population: int | None = None,
    generations: int | None = None,
    truth: dict[str, float] | None = None,
    progress: bool | None = None,
    command: str = "",
    held_out: str | Path | None = None,
) -> CalibrationReport:
    """Calibrate the experiment's [calibration] parameters to the targets (module docstring).

    `progress`: a bar per generation (default: when stderr is a terminal); a line
    after each generation in any case. `truth` makes it a parameter recovery: the
    targets' statistics are made by the model at those values first
    (recovery_targets.toml), then calibrated back. `held_out`: a targets file of
    patterns the predictive check tests and the fit does not use (default: the
    section's `check`, relative to the experiment file).

    Raises:
        ScenarioError: no [calibration] section, targets the runs cannot give, a folder
            holding another calibration, a resume whose plan changed, no target that
            any candidate of the prior reaches.
    """
    source = str(targets_path)
    cal, held_path, held = _prepare(exp, targets, source, population, generations, truth, held_out)
    folder = results_folder(exp, out)
    lock = FolderLock(folder, command or f"trustsim calibrate {exp.path}")
    report = CalibrationReport(folder, notes=list(lock.notes))
    pool: CandidatePool | None = None
    try:
        plan = _plan(exp, cal, Path(targets_path), targets, truth, held_path, command)
        _refuse_changed(folder, plan, resume)
        n_workers, notes = worker_count(workers, None, scheduler)
        report.notes += notes
        from sim.experiments.adapters import warm_trust_model

        pool = CandidatePool(n_workers, scheduler, warm_trust_model)
        _calibrate(exp, cal, targets, held, folder, pool, plan, report, truth, progress)
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        if pool is not None:
            pool.close()
        lock.release()
    return report


def _calibrate(
    exp: Experiment,
    cal: Calibration,
    targets: Sequence[Target],
    held: Sequence[Target],
    folder: Path,
    pool: CandidatePool,
    plan: dict[str, Any],
    report: CalibrationReport,
    truth: dict[str, float] | None,
    progress: bool | None,
    recovery_se: Literal["runs", "targets"] = "runs",
    checks: bool = True,
) -> None:
    """A calibration in a folder that is its own (locked), on a pool that is running."""
    plan_path = folder / PLAN
    if truth is not None:
        targets = _recovery_targets(exp, targets, truth, pool, recovery_se)
        _write_targets(folder / "recovery_targets.toml", targets)
        plan["recovery_note"] = (
            ", ".join(f"{k} = {v:g}" for k, v in truth.items())
            + f", from {plan['runs_per_candidate']} runs with fresh seeds; "
            + ("SEs over those runs; " if recovery_se == "runs" else "the targets file's own SEs; ")
            + "recovery_targets.toml"
        )
        plan["sources"] = {t.name: t.source for t in targets}
    prior = _prior_sample(exp, cal, targets, folder, pool, plan)
    weights, epsilon = _distance(targets, prior, plan)
    plan_path.write_text(json.dumps(plan, indent=2) + "\n", encoding="utf-8")
    cache = CandidateCache(folder / CACHE)
    try:
        show = sys.stderr.isatty() if progress is None else progress
        _run_abc(exp, cal, targets, weights, epsilon, folder, pool, cache, plan, report, show)
    finally:
        cache.close()
    _after(exp, cal, targets, held, folder, pool, plan, report, checks)
    plan_path.write_text(json.dumps(plan, indent=2) + "\n", encoding="utf-8")


def _recovery_targets(
    exp: Experiment,
    targets: Sequence[Target],
    truth: dict[str, float],
    pool: CandidatePool,
    se_from: Literal["runs", "targets"] = "runs",
) -> list[Target]:
    """The targets' statistics made by the model at the true values (fresh seeds).

    se_from "runs": each target's SE becomes its SE over those runs; "targets": the
    targets keep their own (the distance of the calibration being tested).
    """
    seed = spawn_seed(exp.seed, RECOVERY)
    [stats] = list(pool.map(statistics_at, [(exp, targets, truth, seed, True)]))
    out = []
    where = ", ".join(f"{k} = {v:g}" for k, v in truth.items())
    for t in targets:
        value, se = stats[t.name]
        if math.isnan(value):
            raise ScenarioError([f"target {t.name}: the model gives no value at the true values"])
        update: dict[str, Any] = {
            "value": value,
            "source": f"the model itself at {where} (seed {exp.seed})",
        }
        if se_from == "runs":
            update |= {"se": se if math.isfinite(se) and se > 0 else t.uncertainty, "ci": None}
        out.append(t.model_copy(update=update))
    return out


def _write_targets(path: Path, targets: Sequence[Target]) -> None:
    """A targets file (TOML) of these targets."""
    lines = ["# Targets made by the model itself (trustsim calibrate --recover).", ""]
    for t in targets:
        lines.append("[[targets]]")
        for key, value in t.model_dump(exclude_none=True).items():
            lines.append(
                f"{key} = {json.dumps(list(value) if isinstance(value, tuple) else value)}"
            )
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    tomllib.loads(path.read_text(encoding="utf-8"))  # it must read back


def _draw(priors: dict[str, Prior], rng: np.random.Generator) -> dict[str, float]:
    """One draw of every prior (uniform, or uniform in the log)."""
    out = {}
    for name, p in priors.items():
        u = rng.random()
        if p.scale == "log":
            out[name] = float(math.exp(math.log(p.min) + u * (math.log(p.max) - math.log(p.min))))
        else:
            out[name] = float(p.min + u * (p.max - p.min))
    return out


def _prior_sample(
    exp: Experiment,
    cal: Calibration,
    targets: Sequence[Target],
    folder: Path,
    pool: CandidatePool,
    plan: dict[str, Any],
) -> pd.DataFrame:
    """`population` candidates drawn from the prior, run and scored (prior_sample.csv).

    Drawn from SeedSequence(seed, spawn_key = (4,)), candidate k's runs from the seed of
    (4, k); kept on disk, so a resume reads it instead of running it again.
    """
    path = folder / PRIOR
    if path.exists() and (folder / HISTORY).exists():
        return pd.read_csv(path)
    began = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence(exp.seed, spawn_key=(PRIOR_SAMPLE,)))
    draws = [_draw(cal.priors(), rng) for _ in range(cal.population)]
    jobs = [(exp, targets, d, spawn_seed(exp.seed, PRIOR_SAMPLE, k)) for k, d in enumerate(draws)]
    print(
        f"sampling the prior: {count_of(len(jobs), 'candidate')}, to see which targets the "
        "model can reach and to set generation 0's threshold",
        file=sys.stderr,
        flush=True,
    )
    scenarios = [s for s in exp.scenarios if isinstance(s, Scenario)]
    rows = []
    for k, stats in enumerate(ordered(pool, statistics_at, jobs)):
        rows.append(
            {
                "candidate": k,
                **draws[k],
                "loss_gain_ratio": loss_gain_ratio(draws[k], scenarios),
                **{f"stat_{t.name}": stats[t.name][0] for t in targets},
                **{key: v for key, (v, _) in stats.items() if key.startswith(MEASURED)},
            }
        )
    table = pd.DataFrame(rows)
    table.to_csv(path, index=False)
    plan["prior_sample"] = {"candidates": len(table), "seconds": time.perf_counter() - began}
    return table


def _distance(
    targets: Sequence[Target], prior: pd.DataFrame, plan: dict[str, Any]
) -> tuple[dict[str, float], float]:
    """The fitted targets' weights and generation 0's threshold, from the prior sample.

    A target no candidate reaches within 2 of its own SEs (a failed pattern) is left out,
    unless it has a discrepancy; every fitted target is weighed by 1 / its SE with the
    discrepancy added in quadrature. The threshold is the median distance of the prior
    sample's candidates.

    Raises:
        ScenarioError: no target left to fit.
    """
    from sim.methods.calibration import reach

    observed = pd.DataFrame(
        {
            "target": [t.name for t in targets],
            "value": [t.value for t in targets],
            "se": [t.uncertainty for t in targets],
        }
    )
    reached = reach(prior, observed).set_index("target")["reached"]
    fitted = [t for t in targets if reached[t.name] > 0 or t.discrepancy is not None]
    if not fitted:
        raise ScenarioError(
            [
                f"no target is reached by any of the {len(prior)} candidates drawn from the "
                "prior (within 2 SE), and none has a discrepancy: nothing to calibrate to "
                "(see prior_sample.csv)"
            ]
        )
    weights = {t.name: 1 / t.tolerance for t in fitted}
    stats = prior[[f"stat_{name}" for name in weights]].to_numpy(float)
    observed_fitted = np.array([t.value for t in fitted])
    distances = np.sqrt(
        ((stats - observed_fitted) ** 2 * np.array(list(weights.values())) ** 2).sum(axis=1)
    )
    finite = distances[np.isfinite(distances)]
    if not len(finite):
        raise ScenarioError(
            [
                "no candidate drawn from the prior gives a value of every fitted target "
                f"({', '.join(weights)}): see prior_sample.csv"
            ]
        )
    epsilon = float(np.median(finite))
    plan["distance"] = {
        t.name: {
            "fitted": t.name in weights,
            "se": t.tolerance if t.name in weights else t.uncertainty,
            "discrepancy": t.discrepancy,
            "reached_by_prior": int(reached[t.name]),
        }
        for t in targets
    }
    plan["initial_epsilon"] = epsilon
    return weights, epsilon


def _abc_smc(
    exp: Experiment,
    cal: Calibration,
    targets: Sequence[Target],
    weights: dict[str, float],
    epsilon: float | None,
    sampler: Any,
) -> Any:
    """The ABC-SMC of pyabc; epsilon: the first threshold (None: the last generation's median)."""
    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)  # our own lines say what it does
    prior = pyabc.Distribution(
        **{
            n: pyabc.RV("uniform", p.min, p.max - p.min)
            if p.scale == "linear"
            else pyabc.RV("loguniform", p.min, p.max)
            for n, p in cal.priors().items()
        }
    )
    return pyabc.ABCSMC(
        Simulator(exp, targets),
        prior,
        Distance(weights),
        population_size=cal.population,
        eps=pyabc.MedianEpsilon(initial_epsilon="from_sample" if epsilon is None else epsilon),
        sampler=sampler,
    )


def _run_abc(
    exp: Experiment,
    cal: Calibration,
    targets: Sequence[Target],
    weights: dict[str, float],
    epsilon: float,
    folder: Path,
    pool: CandidatePool,
    cache: CandidateCache,
    plan: dict[str, Any],
    report: CalibrationReport,
    progress: bool,
) -> None:
    """Generations until a stopping rule holds; each starts from the history on disk."""
    import pyabc

    db = f"sqlite:///{(folder / HISTORY).resolve()}"
    sampler = sampler_class()(pool, cache, exp.seed, progress)
    if not (folder / HISTORY).exists():
        x0 = {t.name: t.value for t in targets}
        _abc_smc(exp, cal, targets, weights, epsilon, sampler).new(db, x0)
    began = time.perf_counter()
    left_out = [t.name for t in targets if t.name not in weights]
    print(
        f"calibrating {len(cal.priors())} parameters ({', '.join(cal.priors())}) to "
        f"{count_of(len(weights), 'target')}"
        + (f" ({', '.join(left_out)} left out: no prior draw reaches it)" if left_out else "")
        + f": {cal.population} particles a generation, at "
        f"most {count_of(cal.generations, 'generation')}; a candidate is "
        f"{count_of(plan['runs_per_candidate'], 'run')} ({plan['scenarios']}) on "
        f"{count_of(pool.workers, 'worker')}",
        file=sys.stderr,
        flush=True,
    )
    while True:
        history = pyabc.History(db, _id=1)
        done = history.max_t + 1
        gens = _generations(history) if done else None
        stop = ""
        if done >= cal.generations:
            stop = f"{count_of(done, 'generation')} (the most asked for)"
        elif gens is not None and gens["acceptance_rate"].iloc[-1] < cal.min_acceptance:
            rate = gens["acceptance_rate"].iloc[-1]
            stop = (
                f"generation {done - 1} accepted {rate:.1%} of its candidates, below "
                f"min_acceptance = {cal.min_acceptance:g}"
            )
        elif gens is not None and gens["epsilon"].iloc[-1] <= cal.epsilon:
            stop = f"the threshold reached epsilon = {cal.epsilon:g}"
        if stop:
            break
        started = time.perf_counter()
        # Generation 0's threshold is the prior sample's; each later one the median of
        # the generation before ("from_sample" reads it from the history).
        abc = _abc_smc(exp, cal, targets, weights, epsilon if done == 0 else None, sampler)
        abc.load(db, 1)
        abc.run(max_nr_populations=1, min_acceptance_rate=cal.min_acceptance)
        after = pyabc.History(db, _id=1)
        if after.max_t + 1 == done:
            stop = (
                f"generation {done} found too few candidates within its threshold (fewer "
                f"than min_acceptance = {cal.min_acceptance:g} of those tried)"
            )
            break
        row = _generations(after).iloc[-1]
        cache.forget_before(int(row["generation"]) + 1)
        print(
            f"generation {int(row['generation'])}: threshold {row['epsilon']:.3g}, "
            f"{int(row['particles'])} of {int(row['evaluations']):,} candidates accepted "
            f"({row['acceptance_rate']:.0%}), {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    plan["stopped"] = stop
    report.lines.append(
        f"stopped after {stop} ({time.perf_counter() - began:.1f} s this time)"
        if done
        else f"stopped: {stop}"
    )


# 3. The tables after the last generation ---------------------------------------------------


def _particles(
    history: Any, names: Sequence[str], targets: Sequence[Target], scenarios: Sequence[Scenario]
) -> pd.DataFrame:
    """Every generation's particles, one row each.

    Generation, weight, distance, parameters, the ratio trust_loss / trust_gain they
    make (loss_gain_ratio), the targets' statistics and what the surveys measured.
    """
    rows = []
    for t in range(history.max_t + 1):
        for k, p in enumerate(history.get_population(t).particles):
            values = {n: float(p.parameter[n]) for n in names}
            rows.append(
                {
                    "generation": t,
                    "particle": k,
                    "weight": p.weight,
                    "distance": p.distance,
                    **values,
                    "loss_gain_ratio": loss_gain_ratio(values, scenarios),
                    **{f"stat_{tg.name}": float(p.sum_stat[tg.name]) for tg in targets},
                    **{
                        key: float(v)
                        for key, v in sorted(p.sum_stat.items())
                        if key.startswith(MEASURED)
                    },
                }
            )
    return pd.DataFrame(rows)  # pyabc's weights: normalized within each generation


def _generations(history: Any) -> pd.DataFrame:
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].sort_values("t")
    ess = []
    for t in pops["t"]:
        w = history.get_weighted_distances(t=int(t))["w"].to_numpy(float)
        ess.append(float(w.sum() ** 2 / (w**2).sum()))
    return pd.DataFrame(
        {
            "generation": pops["t"].astype(int).to_numpy(),
            "epsilon": pops["epsilon"].to_numpy(float),
            "particles": pops["particles"].astype(int).to_numpy(),
            "evaluations": pops["samples"].astype(int).to_numpy(),
            "acceptance_rate": (pops["particles"] / pops["samples"]).to_numpy(float),
            "ess": ess,
            "seconds": pops["wall_time"].to_numpy(float),
        }
    )


def _mean(values: np.ndarray) -> float:
    """The mean of the values that exist (NaN, without a warning, when none does)."""
    found = values[~np.isnan(values)]
    return float(found.mean()) if len(found) else math.nan


def _contrast_job(
    exp: Experiment, pair: tuple[Scenario, Scenario], values: dict[str, Any], seed: int, k: int
) -> list[dict[str, Any]]:
    """Scenario a against b at one posterior draw: mean paired differences per outcome."""
    a, b = (candidate_runs(exp, [s], values, seed, False)["results"] for s in pair)
    rows = []
    for outcome in exp.outcomes:
        va, vb = a[outcome].to_numpy(float), b[outcome].to_numpy(float)
        rows.append(
            {
                "draw": k,
                **values,
                "outcome": outcome,
                "a": _mean(va),
                "b": _mean(vb),
                "difference": _mean(va - vb),  # NaN where a scenario has no value (no coach)
            }
        )
    return rows


def _observed(targets: Sequence[Target], held: Sequence[Target], fitted: Any) -> pd.DataFrame:
    """Every checked target: its value, the SE it is weighed by, its role, its range."""
    rows = []
    for t, role in [(t, "fitted" if t.name in fitted else "failed") for t in targets] + [
        (t, "held out") for t in held
    ]:
        low, high = plausible_range(t)
        rows.append(
            {
                "target": t.name,
                "value": t.value,
                "se": t.tolerance,
                "role": role,
                "plausible_low": low,
                "plausible_high": high,
            }
        )
    return pd.DataFrame(rows)


def _after(
    exp: Experiment,
    cal: Calibration,
    targets: Sequence[Target],
    held: Sequence[Target],
    folder: Path,
    pool: CandidatePool,
    plan: dict[str, Any],
    report: CalibrationReport,
    checks: bool = True,
) -> None:
    """The posterior's tables, what it reaches, its predictive check and the contrast."""
    import pyabc

    from sim.methods.calibration import (
        asymmetry_sentence,
        asymmetry_share,
        contrast_summary,
        failed_sentences,
        final_population,
        measurement_sentences,
        measurement_summary,
        posterior_summary,
        predictive_check,
        reach,
    )

    history = pyabc.History(f"sqlite:///{(folder / HISTORY).resolve()}", _id=1)
    if history.max_t < 0:
        raise ScenarioError([f"{folder}: the calibration has no generation yet"])
    priors = cal.priors()
    names = list(priors)
    scenarios = [s for s in exp.scenarios if isinstance(s, Scenario)]
    particles = _particles(history, names, targets, scenarios)
    particles.to_csv(folder / "posterior.csv", index=False)
    _generations(history).to_csv(folder / "generations.csv", index=False)
    summary = posterior_summary(particles, priors)
    summary.to_csv(folder / "posterior_summary.csv", index=False)
    report.lines.append(
        "posterior: "
        + ", ".join(
            f"{r['parameter']} {r['median']:.3g} [{r['low95']:.3g}, {r['high95']:.3g}]"
            for r in summary.to_dict("records")
        )
    )
    # Failed patterns: what the prior sample and every generation reach.
    observed_own = pd.DataFrame(
        {
            "target": [t.name for t in targets],
            "value": [t.value for t in targets],
            "se": [t.uncertainty for t in targets],
        }
    )
    prior_reach = reach(pd.read_csv(folder / PRIOR), observed_own)
    later_reach = reach(particles, observed_own)
    fitted = {n for n, d in plan["distance"].items() if d["fitted"]}
    treatment = {
        t.name: (
            f"weighed with its discrepancy {t.discrepancy:g} (SE {t.tolerance:.3g})"
            if t.discrepancy is not None
            else "kept out of the distance"
        )
        for t in targets
    }
    table = prior_reach.merge(
        later_reach[["target", "candidates", "reached", "closest"]],
        on="target",
        suffixes=("_prior", "_particles"),
    )
    table.insert(1, "fitted", [n in fitted for n in table["target"]])
    table.to_csv(folder / "reach.csv", index=False)
    report.lines += [
        f"failed pattern: {s}" for s in failed_sentences(prior_reach, later_reach, treatment)
    ]
    text, warn = asymmetry_sentence(asymmetry_share(particles), cal.trust_loss_ratio)
    report.lines.append(text)
    if warn:  # said again beside the command's other notes, where it is seen
        report.notes.append(
            "fact 2 " + text[text.index("Warning: ") :].replace("Warning: ", "fails: ")
        )
    measured = measurement_summary(particles, plan.get("fixed", {}).get("survey_loading"))
    if not measured.empty:
        measured.to_csv(folder / "measurement.csv", index=False)
        report.lines += measurement_sentences(measured)
    if not checks:
        return
    last = final_population(particles)
    rng = np.random.default_rng(np.random.SeedSequence(exp.seed, spawn_key=(PREDICTIVE,)))
    w = last["weight"].to_numpy(float)
    picks = rng.choice(len(last), size=cal.predictive, p=w / w.sum())
    draws = [{n: float(last.iloc[j][n]) for n in names} for j in picks]
    seeds = [spawn_seed(exp.seed, PREDICTIVE, k) for k in range(cal.predictive)]
    checked = [*targets, *held]
    jobs = [(exp, checked, d, s) for d, s in zip(draws, seeds, strict=True)]
    rows = []
    for k, stats in enumerate(ordered(pool, statistics_at, jobs)):
        for t in checked:
            rows.append({"draw": k, **draws[k], "target": t.name, "value": stats[t.name][0]})
    predictive = pd.DataFrame(rows)
    predictive.to_csv(folder / "predictive.csv", index=False)
    check = predictive_check(predictive, _observed(targets, held, fitted), seed=exp.seed)
    check.to_csv(folder / "predictive_check.csv", index=False)
    for role in ("fitted", "failed", "held out"):
        part = check[check["role"] == role]
        if part.empty:
            continue
        reached = part["verdict"].str.startswith("reached")
        hardly = part["verdict"].str.contains("fail:")
        report.lines.append(
            f"predictive check ({cal.predictive} posterior draws), "
            f"{role.replace(' ', '-')} targets: {int(reached.sum())} of {len(part)} reached"
            + (
                f" ({', '.join(part.loc[hardly, 'target'])}: a check that could hardly fail)"
                if hardly.any()
                else ""
            )
            + (
                "; not reached: " + ", ".join(part.loc[~reached, "target"])
                if (~reached).any()
                else ""
            )
        )
    if cal.contrast is not None:
        a, b = (s.name for s in cal.contrast)
        jobs2 = [
            (exp, cal.contrast, d, s, k) for k, (d, s) in enumerate(zip(draws, seeds, strict=True))
        ]
        contrast = pd.DataFrame(
            [row for rows_k in ordered(pool, _contrast_job, jobs2) for row in rows_k]
        )
        contrast.to_csv(folder / "contrast.csv", index=False)
        for r in contrast_summary(contrast, names).itertuples(index=False):
            report.lines.append(
                f"{a} against {b} on {r.outcome}: higher at {r.a_higher:.0%} of posterior draws "
                f"(median difference {r.median:+.3g})"
            )


# 4. Simulation-based calibration: recoveries at truths drawn from the prior ----------------


def simulation_based_calibration(
    exp: Experiment,
    targets_path: str | Path,
    targets: Sequence[Target],
    truths: int = 30,
    out: str | Path | None = None,
    workers: int | None = None,
    population: int | None = None,
    generations: int | None = None,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parameter recoveries at `truths` values drawn from the prior; their intervals' coverage.

    Truth k is a draw of the priors (SeedSequence(seed, spawn_key = (5,))) and its own
    calibration runs under the seed of (5, k): the targets' statistics made by the model
    there, with the targets' own SEs (so the distance is the calibration's own), then
    calibrated back, without predictive check or contrast, into out/truthNN. A truth
    already calibrated in `out` is read, not run again. A posterior whose 50% and 95%
    intervals hold the truth about half and 95% of the time is calibrated; more is a
    conservative one (as ABC's, whose threshold stays above 0, tends to be).

    Returns:
        recoveries (truth, parameter, true, median, low50, high50, low95, high95, and
        ess: the effective sample size of the last generation, whose particles the
        intervals come from), written to out/sbc.csv, and their coverage
        (sim.methods.calibration.coverage), out/sbc_coverage.csv.

    Raises:
        ScenarioError: as calibrate.
    """
    from sim.experiments.adapters import warm_trust_model
    from sim.methods.calibration import coverage

    source = str(targets_path)
    cal, _, _ = _prepare(exp, targets, source, population, generations, None, None)
    folder = results_folder(exp, out)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence(exp.seed, spawn_key=(TRUTHS,)))
    draws = [_draw(cal.priors(), rng) for _ in range(truths)]
    n_workers, _ = worker_count(workers, None, None)
    pool = CandidatePool(n_workers, None, warm_trust_model)
    rows = []
    try:
        for k, truth in enumerate(draws):
            sub = exp.model_copy(update={"seed": spawn_seed(exp.seed, TRUTHS, k)})
            here = folder / f"truth{k:02d}"
            if not (here / "posterior_summary.csv").exists():
                lock = FolderLock(here, f"simulation-based calibration, truth {k}")
                try:
                    plan = _plan(sub, cal, Path(targets_path), targets, truth, None, "")
                    _refuse_changed(here, plan, resume=True)
                    report = CalibrationReport(here)
                    print(
                        f"truth {k + 1} of {truths}: "
                        + ", ".join(f"{n} = {v:.3g}" for n, v in truth.items()),
                        file=sys.stderr,
                        flush=True,
                    )
                    _calibrate(
                        sub, cal, targets, [], here, pool, plan, report, truth, progress,
                        recovery_se="targets", checks=False,
                    )  # fmt: skip
                finally:
                    lock.release()
            summary = pd.read_csv(here / "posterior_summary.csv")
            ess = float(pd.read_csv(here / "generations.csv")["ess"].iloc[-1])
            for r in summary.to_dict("records"):
                rows.append(
                    {
                        "truth": k,
                        "parameter": r["parameter"],
                        "true": truth[r["parameter"]],
                        **{c: r[c] for c in ("median", "low50", "high50", "low95", "high95")},
                        "ess": ess,
                    }
                )
    finally:
        pool.close()
    recoveries = pd.DataFrame(rows)
    recoveries.to_csv(folder / "sbc.csv", index=False)
    table = coverage(recoveries)
    table.to_csv(folder / "sbc_coverage.csv", index=False)
    return recoveries, table
