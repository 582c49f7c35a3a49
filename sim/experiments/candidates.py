"""A calibration's candidates: each run on the fast path, cached, and sampled in seeded order.

A candidate (a parameter set, and trust_loss_ratio when the calibration sets trust_loss
from trust_gain) runs every scenario of the experiment for its replications and is
scored by the targets' statistics (`statistics_at`), beside which it reports what its
surveys' items measure (their realized loading and alpha per wave). pyabc draws
candidates from numpy's global random state, so the sampler made by `sampler_class`
seeds that state, and the candidate's runs, from the experiment's seed, the generation
and the candidate's index (SeedSequence spawn keys), and keeps the first `population`
accepted candidates in index order, as pyabc's own single-core sampler would. Finished
candidates of a generation in progress are kept in candidates.sqlite (`CandidateCache`),
so a kill loses only the candidates in flight.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import sqlite3
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.executors import (
    as_finished,
    connect,
    run_batch,
    start_pool,
    wait_for_workers,
)
from sim.experiments.expansion import replication_seed, spawn_seed
from sim.experiments.runner import Progress, results_tables
from sim.experiments.spec import Experiment, RunSpec
from sim.methods.calibration import RATIO
from sim.methods.targets import Target, model_values
from sim.model.scenario import Scenario, ScenarioError, parameters
from sim.model.survey import statistics as survey_statistics

# Spawn keys of the calibration's random streams under the experiment's seed (a
# replication's seed uses the one-element key (r,), so these never meet it).
CANDIDATES, PREDICTIVE, RECOVERY, PRIOR_SAMPLE, TRUTHS = 1, 2, 3, 4, 5


def needs_teams(targets: Sequence[Target]) -> bool:
    """Whether a target is computed from the runs' teams."""
    return any(t.statistic in ("team_correlation", "team_survey_correlation") for t in targets)


def candidate_values(values: dict[str, float]) -> dict[str, float | int]:
    """A candidate's values as the Scenario takes them (integer parameters rounded)."""
    fields = parameters()
    return {k: round(v) if fields[k].annotation is int else float(v) for k, v in values.items()}


def scenario_changes(values: dict[str, Any], scenario: Scenario) -> dict[str, float | int]:
    """What a candidate changes in a scenario: its parameters, and trust_loss from the ratio.

    With trust_loss_ratio among the values, trust_loss = ratio x trust_gain (the
    candidate's, or else the scenario's own), capped at 1 (the calibration's checks
    keep the priors below it).
    """
    changes = candidate_values({k: v for k, v in values.items() if k != RATIO})
    if RATIO in values:
        gain = float(changes.get("trust_gain", scenario.trust_gain))
        changes["trust_loss"] = min(float(values[RATIO]) * gain, 1.0)
    return changes


def loss_gain_ratio(values: dict[str, Any], scenarios: Sequence[Scenario]) -> float:
    """trust_loss / trust_gain at a candidate, the smallest over the experiment's scenarios.

    Only scenarios with the asymmetric rule count (the beta rule uses neither rate):
    NaN when none does; inf where trust_gain is 0.
    """
    ratios = []
    for scenario in scenarios:
        if scenario.trust_rule != "asymmetric":
            continue
        changes = scenario_changes(values, scenario)
        gain = float(changes.get("trust_gain", scenario.trust_gain))
        loss = float(changes.get("trust_loss", scenario.trust_loss))
        ratios.append(loss / gain if gain > 0 else math.inf)
    return min(ratios) if ratios else math.nan


def _specs(exp: Experiment, scenarios: Sequence[Scenario], values: dict[str, Any], seed: int):
    steps = {"steps": exp.steps} if exp.steps else {}
    reps = exp.replications.count or 1
    out = []
    for scenario in scenarios:
        changes = {**scenario_changes(values, scenario), **steps}
        sc = scenario.with_(**changes)
        for r in range(reps):
            out.append(
                RunSpec(
                    run_id=f"{scenario.name}/r{r}",
                    scenario=sc,
                    point=0,
                    replication=r,
                    seed=replication_seed(seed, r),
                    swept=tuple(sorted(changes.items())),
                )
            )
    return out


def candidate_runs(
    exp: Experiment, scenarios: Sequence[Scenario], values: dict[str, Any], seed: int, teams: bool
) -> dict[str, pd.DataFrame]:
    """The tables of one candidate's runs (every scenario, its replications)."""
    kind = (exp.model_copy(update={"keep_teams": True}) if teams else exp).kind
    results = run_batch(_specs(exp, scenarios, values, seed), 0, kind.run)
    failed = [r for r in results if r["status"] != "done"]
    if failed:
        last = str(failed[0]["error"]).strip().splitlines()[-1]
        where = ", ".join(f"{k} = {v:.4g}" for k, v in values.items())
        raise RuntimeError(f"run {failed[0]['run_id']} at {where} failed: {last}")
    return results_tables(results)


def statistics_at(
    exp: Experiment,
    targets: Sequence[Target],
    values: dict[str, Any],
    seed: int,
    with_se: bool = False,
) -> dict[str, tuple[float, float]]:
    """Each target's statistic (and its SE over runs) from fresh runs at these values.

    Beside the targets, what the runs' surveys measure: for every wave given,
    realized_loading.INSTRUMENT.WEEK and alpha.INSTRUMENT.WEEK, their means over runs
    (with no SE).
    """
    scenarios = [s for s in exp.scenarios if isinstance(s, Scenario)]
    tables = candidate_runs(exp, scenarios, values, seed, needs_teams(targets))
    out = {}
    for t in targets:
        value, se, _ = model_values(t, tables, with_se=with_se)
        out[t.name] = (value, se)
    out.update({k: (v, math.nan) for k, v in measurement(tables).items()})
    return out


def measurement(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """The runs' surveys' realized loading and alpha per wave, each a mean over runs."""
    survey = tables.get("survey", pd.DataFrame())
    if survey.empty:
        return {}
    if "survey_stats" not in tables:  # the targets' own cache of the same statistics
        tables["survey_stats"] = survey_statistics(survey)
    stats = tables["survey_stats"]
    out = {}
    for (instrument, week), wave in stats.groupby(["instrument", "week"], sort=True):
        for column in ("realized_loading", "alpha"):
            values = wave[column].to_numpy(float)
            values = values[~np.isnan(values)]
            out[f"{column}.{instrument}.{week}"] = float(values.mean()) if len(values) else math.nan
    return out


class Simulator:
    """pyabc's model: a candidate's target statistics (its seed set by the sampler)."""

    def __init__(self, exp: Experiment, targets: Sequence[Target]) -> None:
        self.exp, self.targets = exp, list(targets)

    def __call__(self, pars: dict[str, float]) -> dict[str, float]:
        """The targets' statistics at these parameter values (pyabc's model call)."""
        stats = statistics_at(self.exp, self.targets, dict(pars), _CANDIDATE[0])
        return {name: value for name, (value, _) in stats.items()}


_CANDIDATE = [0]  # the seed of the candidate being simulated in this process
_LOADED: dict[str, Callable[[], Any]] = {}


def _evaluate(payload: bytes, seed: int, t: int, indices: Sequence[int]) -> list[tuple[int, Any]]:
    """Candidates `indices` of generation t: each seeded from (seed, t, index) alone.

    Returns (index, particle) pairs, or (index, "error text") for a candidate that raised.
    """
    import cloudpickle

    key = hashlib.sha256(payload).hexdigest()
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = cloudpickle.loads(payload)
    simulate_one = _LOADED[key]
    out: list[tuple[int, Any]] = []
    for i in indices:
        # pyabc draws from numpy's global state (scipy.stats without random_state)
        state = np.random.SeedSequence(seed, spawn_key=(CANDIDATES, t + 1, i, 0))
        np.random.seed(state.generate_state(4))  # noqa: NPY002 (pyabc reads this state)
        _CANDIDATE[0] = spawn_seed(seed, CANDIDATES, t + 1, i, 1)
        try:
            out.append((i, simulate_one()))
        except Exception as exc:
            out.append((i, f"{type(exc).__name__}: {exc}" if str(exc) else traceback.format_exc()))
    return out


class CandidatePool:
    """Where candidates run: this process, a local process pool, or a Dask cluster."""

    def __init__(self, workers: int, scheduler: str | None, warm_up: Callable[[], None]) -> None:
        self.workers = workers
        self.client = connect(scheduler) if scheduler else None
        self.pool: ProcessPoolExecutor | None = None
        if self.client is not None:
            wait_for_workers(self.client)
            self.client.run(warm_up)
            self.workers = max(len(self.client.scheduler_info().get("workers", {})), 1)
            return
        warm_up()  # candidates in this process, and forked workers, use the kernels
        if workers > 1:
            self.pool = start_pool(workers, warm_up)

    def map(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        """fn(*job) for every job, yielded as each finishes (in this process: in order)."""
        if self.client is not None or self.pool is not None:
            yield from as_finished(self.client, self.pool, fn, jobs)
        else:
            for job in jobs:
                yield fn(*job)

    def close(self) -> None:
        """Stop the pool's workers, and the Dask client if it opened it."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        if self.client is not None:
            self.client.close()


class CandidateCache:
    """Finished candidates of the generation in progress, so that a kill loses few."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS candidates (t INTEGER, i INTEGER, particle BLOB, "
            "PRIMARY KEY (t, i))"
        )
        self.db.commit()

    def load(self, t: int) -> dict[int, Any]:
        """Generation t's finished candidates, by index."""
        rows = self.db.execute("SELECT i, particle FROM candidates WHERE t = ?", (t,))
        return {int(i): pickle.loads(blob) for i, blob in rows}

    def save(self, t: int, particles: Sequence[tuple[int, Any]]) -> None:
        """Keep generation t's finished candidates (index, particle)."""
        self.db.executemany(
            "INSERT OR REPLACE INTO candidates VALUES (?, ?, ?)",
            [(t, i, pickle.dumps(p)) for i, p in particles],
        )
        self.db.commit()

    def forget_before(self, t: int) -> None:
        """Drop the candidates of generations before t (their history is in pyabc's)."""
        self.db.execute("DELETE FROM candidates WHERE t < ?", (t,))
        self.db.commit()

    def close(self) -> None:
        """Close the cache's database."""
        self.db.close()


def sampler_class() -> type:
    """The seeded sampler, a subclass of pyabc's Sampler (imported only when calibrating)."""
    from pyabc.sampler import Sampler

    class SeededSampler(Sampler):
        """Candidates evaluated in index order, each from its own seed (module docstring)."""

        def __init__(
            self, pool: CandidatePool, cache: CandidateCache, seed: int, progress: bool
        ) -> None:
            super().__init__()
            self.pool, self.cache, self.seed, self.progress = pool, cache, seed, progress
            self.rate = 0.5  # the last acceptance rate: how many candidates a round starts

        def sample_until_n_accepted(
            self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None
        ):
            import cloudpickle

            payload = cloudpickle.dumps(simulate_one)
            done = self.cache.load(t)
            sample = self._create_empty_sample()
            taken = accepted = 0
            what = "sampling the prior" if t < 0 else f"generation {t}"
            bar = Progress(
                total=n,
                desc=what,
                unit="particle",
                leave=False,
                dynamic_ncols=True,
                disable=not self.progress,
            )
            try:
                while accepted < n and taken < max_eval:
                    rate = accepted / taken if taken else self.rate
                    want = math.ceil((n - accepted) / max(rate, 0.02) * 1.1) + self.pool.workers
                    want = int(min(want, max_eval - taken, 20 * n))
                    todo = [i for i in range(taken, taken + want) if i not in done]
                    size = max(1, min(16, math.ceil(len(todo) / (4 * self.pool.workers))))
                    jobs = [
                        (payload, self.seed, t, todo[k : k + size])
                        for k in range(0, len(todo), size)
                    ]
                    for batch in self.pool.map(_evaluate, jobs):
                        errors = [p for _, p in batch if isinstance(p, str)]
                        if errors:
                            raise ScenarioError([f"a candidate failed: {errors[0]}"])
                        self.cache.save(t, batch)
                        done.update(batch)
                        while taken in done and accepted < n and taken < max_eval:
                            particle = done.pop(taken)
                            sample.append(particle)
                            taken += 1
                            if particle.accepted:
                                accepted += 1
                                bar.update(1)
                        if accepted >= n:
                            break
                    if not jobs:
                        break
            finally:
                bar.close()
            self.nr_evaluations_ = taken
            self.rate = accepted / taken if taken else self.rate
            if accepted < n:
                sample.ok = False
            return sample

    return SeededSampler


def ordered(
    pool: CandidatePool, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]]
) -> list[Any]:
    """fn(*job) for every job, in the jobs' order (they finish in any)."""
    tagged = [(k, fn, job) for k, job in enumerate(jobs)]
    out: dict[int, Any] = dict(pool.map(_tagged, tagged))
    return [out[k] for k in range(len(jobs))]


def _tagged(k: int, fn: Callable[..., Any], job: tuple[Any, ...]) -> tuple[int, Any]:
    return k, fn(*job)
