"""Running an experiment into its results store: what is left to run, run, stored.

`run` expands the experiment into run specs, keeps what a resume may keep
(sim.experiments.folders), hands the rest to a backend (sim.experiments.executors: a
process pool or a Dask cluster) and writes each batch to the store as it comes back.
The same run specs give the same results whatever the backend or the number of
workers: every run's randomness comes from its own seed. The parent process is the
only writer of the results store.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.experiments.adapters import RunFn, run_trust_model
from sim.experiments.executors import Backend, batches, run_batch
from sim.experiments.expansion import ci_half_width, expand, size_problem
from sim.experiments.experiment_file import load_experiment
from sim.experiments.folders import (
    FolderLock,
    beyond_replications,
    check_resume,
    command_line,
    git_commit,
    more_replications,
    plan_of,
    results_folder,
    write_manifest,
)
from sim.experiments.spec import Experiment
from sim.experiments.store import (
    ResultsStore,
    RunResult,
    check_store,
    read_manifest,
)
from sim.model.scenario import ScenarioError

__all__ = ["RunReport", "run", "run_batch", "run_trust_model"]


def results_tables(results: Sequence[RunResult]) -> dict[str, pd.DataFrame]:
    """Done runs as the tables a results store gives, without a store.

    "results": one row per run (run_id, scenario, point, replication, seed and its
    summary); "teams" and "survey" when the runs kept them.
    """
    from sim.experiments.adapters import TEAM_OUTCOMES

    done = [r for r in results if r["status"] == "done"]
    rows = [
        {"run_id": r["run_id"], "scenario": r["scenario"], "point": r["point"],
         "replication": r["replication"], "seed": r["seed"], **(r["summary"] or {})}
        for r in done
    ]  # fmt: skip
    tables = {"results": pd.DataFrame(rows)}
    kept = [(r["run_id"], np.asarray(r["teams"], np.float64)) for r in done if "teams" in r]
    if kept:
        teams = pd.DataFrame(np.concatenate([k for _, k in kept]), columns=["team", *TEAM_OUTCOMES])
        teams.insert(0, "run_id", np.repeat([i for i, _ in kept], [len(k) for _, k in kept]))
        tables["teams"] = teams
    answers = [r["survey"].assign(run_id=r["run_id"]) for r in done if "survey" in r]
    if answers:
        tables["survey"] = pd.concat(answers, ignore_index=True)
    return tables


@dataclass
class RunReport:
    """What a sweep did, and its tidy tables."""

    folder: Path
    done: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    _tables: dict[str, pd.DataFrame] | None = field(default=None, repr=False)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tidy tables "runs", "summaries" and "steps", read from the store when asked."""
        if self._tables is None:
            self._tables = tidy_results(self.folder)
        return self._tables

    def line(self, name: str, after: tuple[str, float] | None = None) -> str:
        """The final line a user reads: what was run, and what its time covers.

        The seconds are those of running the runs and storing them (starting the
        workers aside); `after` names what was done after them (the statistics, the
        report) and gives its seconds.
        """
        state = "interrupted: " if self.interrupted else ""
        then = f"; {after[0]} took {after[1]:.1f} s" if after else ""
        if not self.done and not self.failed:
            ran = f"{self.skipped} runs already stored, none run" if self.skipped else "none run"
            return f"{name}: {state}{ran}{then} ({self.folder})"
        extra = f", {self.skipped} already stored" if self.skipped else ""
        if then:
            then += " more"
        return (
            f"{name}: {state}{self.done} runs done, {self.failed} failed{extra}, "
            f"in {self.seconds:.1f} s running and storing them{then} ({self.folder})"
        )


def run(
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
    progress: bool | None = None,
    run_fn: RunFn | None = None,
) -> RunReport:
    """Run an experiment into its results store and return its tidy tables.

    Args:
        experiment: an experiment file, or a loaded Experiment.
        out: the results folder (default results/<experiment name>).
        workers: local worker processes (default: every core).
        scheduler: a Dask scheduler address, e.g. tcp://host:8786.
        client: a distributed.Client to use instead of a local pool.
        resume: continue a store that already holds runs; only missing runs are run.
        replications: override the file's replications with a fixed count.
        steps: override every scenario's horizon.
        samples: override the sensitivity section's sample size.
        progress: show a progress bar (default: when stderr is a terminal).
        run_fn: the function that runs one model (default: the experiment's model kind's).

    Returns:
        A RunReport with counts; its tables "runs", "summaries", "steps" are read from
        the store when first asked for (a big sweep's steps can be millions of rows).

    Raises:
        ScenarioError: a bad experiment file, or a store that cannot be resumed.
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    if replications is not None:
        exp = exp.model_copy(
            update={
                "replications": exp.replications.model_copy(
                    update={"count": replications, "until": None}
                )
            }
        )
    if steps is not None:
        if exp.kind.setup is not None:
            raise ScenarioError([f"--steps {steps}: only the trust model has a horizon in weeks"])
        for scenario in exp.scenarios:
            try:
                scenario.with_(steps=steps)
            except ScenarioError as err:
                raise ScenarioError(
                    [line.replace("<keywords>: ", "--steps: ") for line in err.lines]
                ) from None
        late = [(n, d.last_week()) for n, d in exp.define.items()]
        late = [(n, w) for n, w in late if w is not None and w > steps]
        if late:
            name, week = late[0]
            raise ScenarioError(
                [
                    f"--steps {steps}: define.{name} of {exp.path or exp.name} reads week "
                    f"{week}, after the last week; run at least {week} weeks"
                ]
            )
        design = exp.sweep or exp.sensitivity
        if design is not None and "steps" in design.parameters:
            raise ScenarioError(
                [f"--steps {steps}: {exp.path or exp.name} varies steps; one would hide the other"]
            )
        exp = exp.model_copy(update={"steps": steps})
    if samples is not None:
        if exp.sensitivity is None:
            raise ScenarioError(
                [f"--samples {samples}: {exp.path or exp.name} has no [sensitivity] section"]
            )
        exp = exp.model_copy(
            update={"sensitivity": exp.sensitivity.model_copy(update={"samples": samples})}
        )
    overrides = {"replications": replications, "steps": steps, "samples": samples}
    if any(v is not None for v in overrides.values()):
        flags = " ".join(f"--{k} {v}" for k, v in overrides.items() if v is not None)
        too_big = size_problem(exp, f"{exp.path or exp.name} with {flags}")
        if too_big:
            raise ScenarioError([too_big])
    folder = results_folder(exp, out)
    plan = plan_of(exp)
    commit = git_commit()  # once: the code that runs this sweep does not change under it
    asked = workers
    workers, capped = worker_count(workers, client, scheduler)
    model = exp.kind
    warm = model.warm_up if run_fn is None else None
    if ResultsStore.exists(folder):  # a damaged store is refused before even the lock file
        check_store(folder)
        read_manifest(folder)
    lock = FolderLock(folder, command_line(exp, overrides))
    report = RunReport(folder=folder, notes=[*lock.notes, *capped])
    backend: Backend | None = None
    store: ResultsStore | None = None
    try:
        report.notes.extend(check_resume(folder, plan, exp, overrides, resume, commit))
        # A failed connection stores nothing.
        backend = Backend(workers, scheduler, client, warm, asked=asked)
        store = ResultsStore(folder, model.measures, model.summary_keys, model.parameter_names())
        check_columns(folder, store, model.measures, model.summary_keys)
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        write_manifest(folder, exp, plan, overrides, started, None, None, commit)
        show = sys.stderr.isatty() if progress is None else progress
        clock = time.perf_counter()
        try:
            _execute(exp, store, backend, report, show, run_fn or model.run)
            report.notes.extend(backend.notes)
            report.notes.extend(beyond_replications(exp, store))
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            report.seconds = time.perf_counter() - clock
            ended = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            write_manifest(
                folder, exp, plan, overrides, started, ended, (report.done, report.failed), commit
            )
    finally:
        # Whatever ended the sweep (a full disk, a lost scheduler), no worker, thread or
        # lock outlives it.
        if backend is not None:
            backend.close()
        if store is not None:
            store.close()
        lock.release(keep_folder=store is not None)
    return report


def check_columns(
    folder: Path, store: ResultsStore, measures: Sequence[str], summary_keys: Sequence[str]
) -> None:
    """Refuse to add runs to a store whose runs recorded other measures than these.

    A store keeps the columns it was made with; runs of a model that now records a
    measure more (or one fewer) would not fit, and a resume that kept the old runs
    would mix runs with and without it. Said in one line, before anything is written.

    Raises:
        ScenarioError: the stored runs' measures or summary differ from the model's.
    """
    for what, stored, now in (
        ("measures", store.measures, measures),
        ("summary values", store.summary_keys, summary_keys),
    ):
        if list(stored) != list(now):
            new = [m for m in now if m not in stored]
            gone = [m for m in stored if m not in now]
            change = "; ".join(
                part
                for part in (
                    f"new: {', '.join(new)}" if new else "",
                    f"no longer recorded: {', '.join(gone)}" if gone else "",
                    "" if new or gone else "in another order",
                )
                if part
            )
            raise ScenarioError(
                [
                    f"{folder}: its runs were stored with other {what} than this trustsim "
                    f"records ({change}), so none can be added to them: sweep into a new "
                    "folder (--out)"
                ]
            )


def worker_count(workers: int | None, client: Any, scheduler: str | None) -> tuple[int, list[str]]:
    """Local worker processes: every core by default, never more than the cores (a note)."""
    if client is not None or scheduler:
        return workers or 1, []
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = cores or multiprocessing.cpu_count()
    if workers is None:
        return cores, []
    if workers > cores:
        return cores, [f"--workers {workers}: this machine has {cores} cores; ran {cores} workers"]
    return workers, []


class Progress(tqdm):
    """A progress bar that starts no monitor thread.

    tqdm's monitor thread would outlive the sweep, and the next sweep in the same
    process (a script, a benchmark) could then not fork its workers (see _pool_context).
    """

    monitor_interval = 0


def _execute(
    exp: Experiment,
    store: ResultsStore,
    backend: Backend,
    report: RunReport,
    show: bool,
    run_fn: RunFn,
) -> None:
    """Run what is missing, round by round when replications are adaptive."""
    reps = exp.replications
    stored = store.finished()
    already = {run_id for run_id, status in stored.items() if status == "done"}
    skipped: set[str] = set()
    tried: set[str] = set()
    target = reps.count if reps.count is not None else reps.min
    with Progress(total=0, unit="run", disable=not show, dynamic_ncols=True) as bar:
        needed: dict[tuple[str, int], int] | None = None
        while True:
            specs = expand(exp, range(target))
            if needed is not None:
                specs = [
                    s for s in specs if s.replication < needed.get((s.scenario.name, s.point), 0)
                ]
            # A run that failed in this sweep is not retried in a later adaptive round
            # (--resume retries it).
            todo = [s for s in specs if stored.get(s.run_id) != "done" and s.run_id not in tried]
            if needed is not None and not todo:
                return  # only runs that failed this sweep are missing: nothing left to try
            tried.update(s.run_id for s in todo)
            skipped.update(s.run_id for s in specs if s.run_id in already)
            report.skipped = len(skipped)
            bar.total += len(todo)
            bar.refresh()
            for results in backend.map(
                list(batches(todo, backend.workers)), exp.keep_steps, run_fn
            ):
                store.write_many(results)  # one transaction per batch
                for result in results:
                    stored[result["run_id"]] = result["status"]
                    if result["status"] == "done":
                        report.done += 1
                    else:
                        report.failed += 1
                bar.update(len(results))
            if reps.count is not None:
                return
            needed = more_replications(exp, store)
            if not needed:
                report.notes.extend(_unmet_targets(exp, store))
                return
            target = max(needed.values())


def _unmet_targets(exp: Experiment, store: ResultsStore) -> list[str]:
    """Cells that reached the maximum count with their CI still wider than the target."""
    reps = exp.replications
    assert reps.until is not None
    assert reps.half_width is not None
    out = []
    for (scenario, point), cell in store.results().groupby(["scenario", "point"]):
        values = cell[reps.until].astype(float).to_numpy()
        if np.isnan(values).all():
            out.append(
                f"{scenario} (point {point}): {reps.until} has no value in its {len(cell)} runs "
                "(it does not apply there), so more runs could not narrow it: stopped"
            )
            continue
        hw = ci_half_width(values)
        if hw > reps.half_width:
            out.append(
                f"{scenario} (point {point}): {reps.until} 95% CI half-width {hw:.4g} is still "
                f"above the target {reps.half_width:g} after the maximum {len(cell)} runs"
            )
    return out


def tidy_results(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The tables of a results folder as DataFrames ("teams", "survey" when it has them)."""
    store = ResultsStore(Path(folder), readonly=True)
    try:
        tables = {name: store.table(name) for name in ("runs", "summaries", "steps")}
        for name in ("teams", "survey"):  # when the sweep kept teams or gave surveys
            table = store.table(name)
            if len(table):
                tables[name] = table
        return tables
    finally:
        store.close()
