"""Calibration: which parameter values make the model's runs look like the field's?

`calibrate` estimates an experiment's `[calibration]` parameters against a targets
file by approximate Bayesian computation: ABC-SMC (pyabc), whose history is an SQLite
file beside the results, with the priors of the section, and a distance that is the
Euclidean norm of each target's difference divided by its SE. A candidate (a parameter
set) runs every scenario of the experiment for its replications on the fast path, and
its statistics are computed from those runs exactly as `trustsim compare --targets`
computes them from a sweep (sim.methods.targets.model_values).

Runs reproduce: candidates are drawn and run in seeded order (sim.experiments.candidates),
so the posterior is the same with any number of workers, locally or on a Dask cluster,
and every generation starts from the history on disk, so a calibration killed at any
moment and resumed gives the same posterior as one that ran through.

After the last generation come a posterior predictive check (fresh runs at posterior
draws against every target), the optional contrast of two scenarios across the
posterior, and the tables that sim.methods.calibration reads and sim.reporting.calibration draws.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import platform
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.candidates import (
    PREDICTIVE,
    RECOVERY,
    CandidateCache,
    CandidatePool,
    Simulator,
    candidate_runs,
    ordered,
    sampler_class,
    statistics_at,
)
from sim.experiments.expansion import count_of, spawn_seed
from sim.experiments.folders import FolderLock, results_folder
from sim.experiments.runner import worker_count
from sim.experiments.spec import Experiment
from sim.methods.calibration import Calibration
from sim.methods.targets import Target
from sim.model.scenario import Scenario, ScenarioError

__all__ = ["CalibrationReport", "calibrate"]

HISTORY = "abc.sqlite"
CACHE = "candidates.sqlite"
PLAN = "calibration.json"
# The parts of a calibration's plan that change its posterior: a resume must match them.
PLAN_KEYS = {
    "experiment_sha256": "the experiment file",
    "targets_sha256": "the targets file",
    "truth": "the --recover values",
    "population": "the population (--population)",
    "seed": "the seed",
    "priors": "the priors",
}


@dataclass
class CalibrationReport:
    """What a calibration did, and where its tables are."""

    folder: Path
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False


def _plan(
    exp: Experiment,
    cal: Calibration,
    targets_path: Path,
    targets: Sequence[Target],
    truth: dict[str, float] | None,
    command: str,
) -> dict[str, Any]:
    scenarios = [s.name for s in exp.scenarios]
    reps = exp.replications.count or 1
    return {
        "experiment": exp.name,
        "question": exp.question,
        "experiment_file": exp.path,
        "experiment_sha256": exp.text_hash(),
        "experiment_text": Path(exp.path).read_text(encoding="utf-8") if exp.path else "",
        "targets_file": str(targets_path),
        "targets_sha256": hashlib.sha256(targets_path.read_bytes()).hexdigest(),
        "truth": truth,
        "population": cal.population,
        "generations": cal.generations,
        "seed": exp.seed,
        "priors": {n: p.model_dump() for n, p in cal.parameters.items()},
        "predictive": cal.predictive,
        "contrast": [s.name for s in cal.contrast] if cal.contrast else None,
        "runs_per_candidate": len(scenarios) * reps,
        "scenarios": f"{', '.join(scenarios)} x {count_of(reps, 'replication')}",
        "sources": {t.name: t.source for t in targets},
        "command": command,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
    }


def _check_targets(exp: Experiment, targets: Sequence[Target], source: str) -> list[str]:
    """Problems a calibration would meet only after its first candidate, said before it."""
    problems = []
    names = [s.name for s in exp.scenarios]
    keys = exp.kind.summary_keys
    for t in targets:
        where = f"{source}: target {t.name}"
        if t.scenario is not None and t.scenario not in names:
            problems.append(
                f"{where}: scenario = {t.scenario!r} is not one of the experiment's "
                f"scenarios {names}"
            )
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


def _recovery_targets(
    exp: Experiment, targets: Sequence[Target], truth: dict[str, float], pool: CandidatePool
) -> list[Target]:
    """The targets' statistics made by the model at the true values (fresh seeds)."""
    seed = spawn_seed(exp.seed, RECOVERY)
    [stats] = list(pool.map(statistics_at, [(exp, targets, truth, seed, True)]))
    out = []
    for t in targets:
        value, se = stats[t.name]
        if math.isnan(value):
            raise ScenarioError([f"target {t.name}: the model gives no value at the true values"])
        se = se if math.isfinite(se) and se > 0 else t.uncertainty
        where = ", ".join(f"{k} = {v:g}" for k, v in truth.items())
        out.append(
            t.model_copy(
                update={
                    "value": value,
                    "se": se,
                    "ci": None,
                    "source": f"the model itself at {where} (seed {exp.seed})",
                }
            )
        )
    return out


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
                "a": float(np.nanmean(va)),
                "b": float(np.nanmean(vb)),
                "difference": float(np.nanmean(va - vb)),
            }
        )
    return rows


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


def _particles(history: Any, names: Sequence[str], targets: Sequence[Target]) -> pd.DataFrame:
    """Every generation's particles: generation, weight, distance, parameters, statistics."""
    rows = []
    for t in range(history.max_t + 1):
        for k, p in enumerate(history.get_population(t).particles):
            rows.append(
                {
                    "generation": t,
                    "particle": k,
                    "weight": p.weight,
                    "distance": p.distance,
                    **{n: float(p.parameter[n]) for n in names},
                    **{f"stat_{tg.name}": float(p.sum_stat[tg.name]) for tg in targets},
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
) -> CalibrationReport:
    """Calibrate the experiment's [calibration] parameters to the targets (module docstring).

    `progress`: a bar per generation (default: when stderr is a terminal); a line
    after each generation in any case. `truth` makes it a parameter recovery: the
    targets' statistics are made by the model at those values first
    (recovery_targets.toml), then calibrated back.

    Raises:
        ScenarioError: no [calibration] section, targets the runs cannot give, a folder
            holding another calibration, a resume whose plan changed.
    """
    source = str(targets_path)
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
    problems = _check_targets(exp, targets, source)
    if truth is not None:
        missing = [n for n in cal.parameters if n not in truth]
        extra = [n for n in truth if n not in cal.parameters]
        problems += [f"--recover: give a true value of {n} (it is estimated)" for n in missing]
        problems += [
            f"--recover {n}: not one of the estimated parameters {list(cal.parameters)}"
            for n in extra
        ]
        for n, v in truth.items():
            p = cal.parameters.get(n)
            if p is not None and not p.min <= v <= p.max:
                problems.append(f"--recover {n}={v:g}: outside its prior ({p.words()})")
    if problems:
        raise ScenarioError(problems)
    folder = results_folder(exp, out)
    lock = FolderLock(folder, command or f"trustsim calibrate {exp.path}")
    report = CalibrationReport(folder, notes=list(lock.notes))
    pool: CandidatePool | None = None
    cache: CandidateCache | None = None
    try:
        plan = _plan(exp, cal, Path(targets_path), targets, truth, command)
        plan_path = folder / PLAN
        history_path = folder / HISTORY
        if history_path.exists():
            if not resume:
                raise ScenarioError(
                    [
                        f"{folder}: holds a calibration already ({HISTORY}); --resume "
                        "continues it, or choose another --out"
                    ]
                )
            old = json.loads(plan_path.read_text(encoding="utf-8")) if plan_path.exists() else {}
            changed = [words for k, words in PLAN_KEYS.items() if old.get(k) != plan[k]]
            if changed:
                raise ScenarioError(
                    [
                        f"{folder}: cannot resume: {', '.join(changed)} changed since this "
                        "calibration began; choose another --out to start a new one"
                    ]
                )
            plan["started"] = old.get("started", plan["started"])
        n_workers, notes = worker_count(workers, None, scheduler)
        report.notes += notes
        from sim.experiments.adapters import warm_trust_model

        pool = CandidatePool(n_workers, scheduler, warm_trust_model)
        if truth is not None:
            targets = _recovery_targets(exp, targets, truth, pool)
            _write_targets(folder / "recovery_targets.toml", targets)
            plan["recovery_note"] = (
                ", ".join(f"{k} = {v:g}" for k, v in truth.items())
                + f", from {plan['runs_per_candidate']} runs with fresh seeds; "
                "recovery_targets.toml"
            )
            plan["sources"] = {t.name: t.source for t in targets}
        plan_path.write_text(json.dumps(plan, indent=2) + "\n", encoding="utf-8")
        cache = CandidateCache(folder / CACHE)
        show = sys.stderr.isatty() if progress is None else progress
        _run_abc(exp, cal, targets, folder, pool, cache, plan, report, show)
        _after(exp, cal, targets, folder, pool, plan, report)
        plan_path.write_text(json.dumps(plan, indent=2) + "\n", encoding="utf-8")
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        if cache is not None:
            cache.close()
        if pool is not None:
            pool.close()
        lock.release()
    return report


def _abc_smc(exp: Experiment, cal: Calibration, targets: Sequence[Target], sampler: Any) -> Any:
    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)  # our own lines say what it does
    prior = pyabc.Distribution(
        **{
            n: pyabc.RV("uniform", p.min, p.max - p.min)
            if p.scale == "linear"
            else pyabc.RV("loguniform", p.min, p.max)
            for n, p in cal.parameters.items()
        }
    )
    distance = pyabc.PNormDistance(p=2, fixed_weights={t.name: 1 / t.uncertainty for t in targets})
    return pyabc.ABCSMC(
        Simulator(exp, targets),
        prior,
        distance,
        population_size=cal.population,
        eps=pyabc.MedianEpsilon(),
        sampler=sampler,
    )


def _run_abc(
    exp: Experiment,
    cal: Calibration,
    targets: Sequence[Target],
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
        _abc_smc(exp, cal, targets, sampler).new(db, x0)
    began = time.perf_counter()
    print(
        f"calibrating {len(cal.parameters)} parameters ({', '.join(cal.parameters)}) to "
        f"{count_of(len(targets), 'target')}: {cal.population} particles a generation, at "
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
        abc = _abc_smc(exp, cal, targets, sampler)
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


def _after(
    exp: Experiment,
    cal: Calibration,
    targets: Sequence[Target],
    folder: Path,
    pool: CandidatePool,
    plan: dict[str, Any],
    report: CalibrationReport,
) -> None:
    """The posterior's tables, its predictive check, and the contrast across it."""
    import pyabc

    from sim.methods.calibration import (
        contrast_summary,
        final_population,
        posterior_summary,
        predictive_check,
    )

    history = pyabc.History(f"sqlite:///{(folder / HISTORY).resolve()}", _id=1)
    if history.max_t < 0:
        raise ScenarioError([f"{folder}: the calibration has no generation yet"])
    names = list(cal.parameters)
    particles = _particles(history, names, targets)
    particles.to_csv(folder / "posterior.csv", index=False)
    _generations(history).to_csv(folder / "generations.csv", index=False)
    # pyabc's first threshold is the median distance of a sample of the prior (t = -1)
    pops = history.get_all_populations()
    prior = pops[pops["t"] < 0]
    plan["prior_sample"] = {
        "candidates": int(prior["samples"].sum()),
        "seconds": float(prior["wall_time"].sum()),
    }
    summary = posterior_summary(particles, cal.parameters)
    summary.to_csv(folder / "posterior_summary.csv", index=False)
    last = final_population(particles)
    rng = np.random.default_rng(np.random.SeedSequence(exp.seed, spawn_key=(PREDICTIVE,)))
    w = last["weight"].to_numpy(float)
    picks = rng.choice(len(last), size=cal.predictive, p=w / w.sum())
    draws = [{n: float(last.iloc[j][n]) for n in names} for j in picks]
    seeds = [spawn_seed(exp.seed, PREDICTIVE, k) for k in range(cal.predictive)]
    jobs = [(exp, targets, d, s) for d, s in zip(draws, seeds, strict=True)]
    rows = []
    for k, stats in enumerate(ordered(pool, statistics_at, jobs)):
        for t in targets:
            rows.append({"draw": k, **draws[k], "target": t.name, "value": stats[t.name][0]})
    predictive = pd.DataFrame(rows)
    predictive.to_csv(folder / "predictive.csv", index=False)
    observed = pd.DataFrame(
        {
            "target": [t.name for t in targets],
            "value": [t.value for t in targets],
            "se": [t.uncertainty for t in targets],
        }
    )
    check = predictive_check(predictive, observed, seed=exp.seed)
    check.to_csv(folder / "predictive_check.csv", index=False)
    reached = check["verdict"].str.startswith("reached")
    report.lines.append(
        "posterior: "
        + ", ".join(
            f"{r['parameter']} {r['median']:.3g} [{r['low95']:.3g}, {r['high95']:.3g}]"
            for r in summary.to_dict("records")
        )
    )
    report.lines.append(
        f"predictive check ({cal.predictive} posterior draws): {int(reached.sum())} of "
        f"{len(check)} targets reached"
        + ("; not reached: " + ", ".join(check.loc[~reached, "target"]) if (~reached).any() else "")
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
        table = contrast_summary(contrast, names)
        for r in table.itertuples(index=False):
            report.lines.append(
                f"{a} against {b} on {r.outcome}: higher at {r.a_higher:.0%} of posterior draws "
                f"(median difference {r.median:+.3g})"
            )
