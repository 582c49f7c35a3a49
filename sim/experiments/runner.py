"""Running an experiment: batches of runs on a process pool or a Dask cluster.

The same run specs give the same results whatever the backend or the number of
workers: every run's randomness comes from its own seed. The parent process is the
only writer of the results store, and writes each run as its batch comes back.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import fcntl
import functools
import hashlib
import json
import math
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as futures_completed
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.experiments.adapters import RunFn, run_parameters, run_trust_model
from sim.experiments.spec import (
    Experiment,
    RunSpec,
    ci_half_width,
    count_of,
    expand,
    load_experiment,
    size_problem,
)
from sim.experiments.store import (
    HELD,
    LOCK_NAME,
    ResultsStore,
    RunResult,
    check_store,
    read_manifest,
)
from sim.model.scenario import ScenarioError

__all__ = ["RunReport", "run", "run_batch", "run_trust_model"]


def run_batch(
    specs: Sequence[RunSpec],
    keep_steps: int,
    run_fn: RunFn = run_trust_model,
    described: dict[int, tuple[str, dict[str, Any]]] | None = None,
) -> list[RunResult]:
    """Run a batch in this process; a run that raises is returned as failed, with its traceback.

    `described` keeps each setup's digest and parameters (its replications share them)
    across calls; by default, within the batch.
    """
    out = []
    described = {} if described is None else described
    for spec in specs:
        started = time.perf_counter()
        key = id(spec.scenario)
        if key not in described:
            described[key] = (spec.scenario.digest(), run_parameters(spec.scenario))
        digest, params = described[key]
        result: RunResult = {
            "run_id": spec.run_id,
            "scenario": spec.scenario.name,
            "scenario_hash": digest,
            "point": spec.point,
            "swept": dict(spec.swept),
            "replication": spec.replication,
            "seed": spec.seed,
            "parameters": params,
        }
        try:
            made = run_fn(spec.scenario, spec.seed, keep_steps)
        except Exception:
            result.update(status="failed", error=traceback.format_exc(), summary=None, steps=None)
        else:
            result.update(status="done", error=None, summary=made[0], steps=made[1])
            if len(made) > 2 and made[2] is not None:  # the teams at the last week
                result["teams"] = made[2]
            if len(made) > 3 and made[3] is not None:  # the answers of its surveys
                result["survey"] = made[3]
        result["wall_time"] = time.perf_counter() - started
        out.append(result)
    return out


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


BATCH_WORK = 64.0  # a batch's work at most, in runs of 12 members for 104 weeks (~0.1 s)


def _work(spec: RunSpec) -> float:
    """A run's work, in runs of 12 members for 104 weeks (about 1.5 ms on the fast path).

    Members times weeks: a rough measure, but the right order of magnitude. A model
    without members and weeks counts as 4 (its batches hold 16 runs, as they did).
    """
    members, steps = getattr(spec.scenario, "members", None), getattr(spec.scenario, "steps", None)
    if not isinstance(members, int) or not isinstance(steps, int):
        return 4.0
    return members * steps / (12 * 104)


def _batches(specs: Sequence[RunSpec], workers: int) -> Iterator[list[RunSpec]]:
    """Batches that shrink as the work runs out (guided scheduling).

    A batch is a quarter of each worker's share of the runs left, and at most
    BATCH_WORK of work: short runs go in batches of up to 64 (a batch costs the runner
    a commit and a round trip to a worker), a long run goes alone (a kill loses at most
    the batches in flight), and the last batches are single runs, so at the end no
    worker waits long for another. Workers take batches in this order.
    """
    start = 0
    while start < len(specs):
        left = len(specs) - start
        size = max(1, math.ceil(left / (max(workers, 1) * 4)))
        end, work = start + 1, _work(specs[start])
        while end < start + size and work + _work(specs[end]) <= BATCH_WORK:
            work += _work(specs[end])
            end += 1
        yield list(specs[start:end])
        start = end


def start_pool(workers: int, warm_up: Callable[[], None] | None) -> ProcessPoolExecutor:
    """A process pool of `workers`, every worker started now, the kernels warm in each.

    Forked workers inherit what the parent compiled (warm_up runs here first); spawned
    ones run warm_up as they start.
    """
    ctx = _pool_context()
    forked = ctx.get_start_method() == "fork"
    if forked and warm_up is not None:
        warm_up()  # forked workers inherit the compiled kernels: nothing to load there
    pool = ProcessPoolExecutor(
        workers,
        mp_context=ctx,
        initializer=_start_worker,
        initargs=(os.getpid() if forked else 0, None if forked else warm_up),
    )
    # Start every worker now, before the executor starts its own thread. The process
    # has native threads (OpenBLAS, jemalloc), which Python warns about at a fork;
    # those libraries make themselves safe to fork (pthread_atfork).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "This process .* is multi-threaded")
        for fut in [pool.submit(int) for _ in range(workers)]:
            fut.result()
    return pool


def as_finished(
    client: Any, pool: ProcessPoolExecutor | None, fn: Callable[..., Any], jobs: Sequence[Any]
) -> Iterator[Any]:
    """fn(*job) for every job, on a Dask client or else a process pool, as each finishes.

    Jobs not yet finished are cancelled when the caller stops reading (or is interrupted).
    Both wait through `as_completed`, whose cost grows with the jobs (waiting again for
    the first of those left, each time one finishes, costs the jobs squared: 2 s of the
    runner's time for 4,000 batches).
    """
    finishing: Callable[[list[Any]], Iterator[Any]]
    if client is not None:
        from distributed import as_completed

        finishing = as_completed
        futures = [client.submit(fn, *job, pure=False) for job in jobs]
    else:
        assert pool is not None
        finishing = futures_completed
        futures = [pool.submit(fn, *job) for job in jobs]
    try:
        for fut in finishing(futures):
            yield fut.result()
    finally:
        for fut in futures:
            fut.cancel()


class _Backend:
    """Runs batches and yields results as they come back."""

    def __init__(
        self,
        workers: int,
        scheduler: str | None,
        client: Any,
        warm_up: Callable[[], None] | None = None,
        asked: int | None = None,
    ) -> None:
        self.workers = workers
        self.client = client
        self.own_client = False
        self.pool: ProcessPoolExecutor | None = None
        if client is None and scheduler:
            self.client = connect(scheduler)
            self.own_client = True
        self.warm_up = warm_up
        self.started = False
        self.asked = asked  # --workers as given (None: every core)
        self.notes: list[str] = []

    def _start(self, runs: int) -> None:
        """Ready the workers, once, when there is something to run.

        A resumed sweep with nothing left to run starts no worker and loads no kernel.
        """
        if self.started:
            return
        self.started = True
        if self.client is None and runs < self.workers:  # a worker per run at most
            if self.asked is not None:
                self.notes.append(
                    f"--workers {self.asked}: {count_of(runs, 'run')} to do; started "
                    f"{count_of(max(runs, 1), 'worker')}"
                )
            self.workers = max(runs, 1)
        workers, warm_up = self.workers, self.warm_up
        if self.client is not None:
            _wait_for_workers(self.client)
        if self.client is not None and warm_up is not None:
            self.client.run(warm_up)  # each Dask worker loads the compiled kernels once, now
        if self.client is None and workers > 1:
            self.pool = start_pool(workers, warm_up)

    def map(
        self, batches: list[list[RunSpec]], keep: int, run_fn: RunFn
    ) -> Iterator[list[RunResult]]:
        if not batches:
            return
        self._start(sum(len(b) for b in batches))
        if self.client is not None or self.pool is not None:
            jobs = [(b, keep, run_fn) for b in batches]
            yield from as_finished(self.client, self.pool, run_batch, jobs)
        else:
            # In this process: store what is done every BATCH_WORK of work or half a
            # second, so that short runs are stored in batches and a kill loses little
            # of long ones.
            described: dict[int, tuple[str, dict[str, Any]]] = {}
            done: list[RunResult] = []
            since, work = time.perf_counter(), 0.0
            for spec in (s for b in batches for s in b):
                done += run_batch([spec], keep, run_fn, described)
                work += _work(spec)
                if work >= BATCH_WORK or time.perf_counter() - since >= 0.5:
                    yield done
                    done, since, work = [], time.perf_counter(), 0.0
            if done:
                yield done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        if self.own_client and self.client is not None:
            self.client.close()


def connect(scheduler: str) -> Any:
    """A Dask client of the scheduler at that address.

    Raises:
        ScenarioError: not an address, or nothing answers there.
    """
    from distributed import Client

    try:
        return Client(scheduler, timeout="10s")
    except ValueError as exc:  # not an address
        raise ScenarioError(
            [
                f"--scheduler {scheduler}: not a scheduler address ({exc}); give one "
                "like tcp://host:8786"
            ]
        ) from None
    except OSError as exc:
        raise ScenarioError([f"--scheduler {scheduler}: cannot connect: {exc}"]) from None


WORKER_WAIT = 10.0  # seconds before a sweep says that its Dask scheduler has no worker


def _wait_for_workers(client: Any) -> None:
    """Wait for a Dask worker; after WORKER_WAIT seconds without one, say so and wait on.

    Batch-queue workers (dask-jobqueue) may take minutes to start, so this does not
    give up; it says why nothing runs, and Ctrl-C stops the sweep.
    """
    if client.scheduler_info().get("workers"):
        return
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except TimeoutError:
        address = client.scheduler.address
        print(
            f"note: the Dask scheduler at {address} has no worker after {WORKER_WAIT:g} s; "
            f"waiting for one (start one with `dask worker {address}`; Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )
        client.wait_for_workers(1)


def _start_worker(parent: int, warm_up: Callable[[], None] | None) -> None:
    """In a new worker: end with the runner; load the compiled kernels if not forked warm."""
    _die_with_parent(parent)
    if warm_up is not None:
        warm_up()


def _die_with_parent(parent: int) -> None:
    """In a worker: end when the runner ends, even by kill -9 (Linux; elsewhere a no-op).

    A forked worker holds both ends of its task pipe, so it would never see the runner
    go and would wait forever. Linux sends it SIGKILL when its parent dies instead.
    `parent` is the runner's pid when the worker was forked from it (else 0).
    """
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if parent and os.getppid() != parent:
        os._exit(1)  # the runner died before the line above took effect


def _pool_context() -> Any:
    """Worker processes that start with the model already imported.

    On Linux, from a process with no other thread (the command line), they are forked
    from this process once it has imported the model: a worker is ready in
    milliseconds. The workers start before anything here starts a thread (see
    _Backend), and the executor starts its own thread only after them. Forking a
    process that has threads (a notebook's kernel, a test runner) can deadlock, so
    there, and on other systems, "forkserver" forks them from a server that imports
    the model once (about 1.5 s), or "spawn" imports it in every worker.
    """
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["sim.experiments.runner", "sim.model.fast"])
        return ctx
    return multiprocessing.get_context("spawn")


@functools.cache
def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in ("trustsim", "mesa", "numpy", "scipy", "pandas", "numba", "pydantic", "distributed"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[lib] = metadata.version(lib)
    return out


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent.parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except OSError:
        return None
    commit = done.stdout.strip()
    if done.returncode != 0 or not commit:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout.strip()
    return commit + ("-dirty" if dirty else "")


def _plan(exp: Experiment) -> dict[str, Any]:
    """What decides which runs exist and what each computes: resuming needs the same plan.

    A run's id is its scenario's name, its point's number and its replication, and its
    seed comes from the experiment's seed and the replication. So the plan holds, for
    each scenario and point, the digest of the setup its runs use (the point and the
    horizon applied), with the seed and the kept steps. Not in it: the replication
    count (resuming with more extends a sweep), the order of the scenarios, and what
    only the analysis reads (outcomes, reference, the question, the sensitivity
    outcomes and resamples, the validation section).
    """
    plan: dict[str, Any] = {
        "model": exp.model,
        "seed": exp.seed,
        "setups": {
            s.run_id.removesuffix("/r0"): s.scenario.digest() for s in expand(exp, range(1))
        },
    }
    if exp.kind.measures:  # a model that keeps no steps runs the same whatever keep_steps
        plan["keep_steps"] = exp.keep_steps
    if exp.keep_teams:
        plan["keep_teams"] = True
    if exp.define:  # what a run computes besides the model's own outcomes
        plan["define"] = {n: d.model_dump(by_alias=True) for n, d in exp.define.items()}
    return plan


def _plan_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in the plan changed such that stored runs would differ from fresh ones.

    New scenarios or points only add runs, so they are no change.
    """
    unset = {"keep_teams": False}  # in a plan only when set (plans before it lack it)
    changed = [
        f"{key} {old.get(key, unset.get(key))} before, {new.get(key, unset.get(key))} now"
        for key in ("model", "seed", "keep_steps", "keep_teams", "define")
        if old.get(key, unset.get(key)) != new.get(key, unset.get(key))
    ]
    gone: dict[str, int] = {}
    other: dict[str, int] = {}
    for setup, digest in (old.get("setups") or {}).items():
        scenario = setup.rsplit("/p", 1)[0]
        if setup not in new["setups"]:
            gone[scenario] = gone.get(scenario, 0) + 1
        elif new["setups"][setup] != digest:
            other[scenario] = other.get(scenario, 0) + 1
    changed += [
        f"scenario {name} is not run at {n} of its stored points" for name, n in gone.items()
    ]
    changed += [
        f"scenario {name} runs with other parameters at {n} of its stored points"
        for name, n in other.items()
    ]
    return changed


def _command(exp: Experiment, overrides: dict[str, int | None]) -> str:
    """The command line that runs this experiment again (the store's folder aside)."""
    verb = "sensitivity" if exp.sensitivity is not None else "sweep"
    flags = "".join(f" --{k} {v}" for k, v in overrides.items() if v is not None)
    return f"trustsim {verb} {exp.path or '<experiment built in Python>'}{flags}"


def _write_manifest(
    folder: Path,
    exp: Experiment,
    plan: dict[str, Any],
    overrides: dict[str, int | None],
    started: str,
    ended: str | None,
    report: RunReport | None,
    commit: str | None,
) -> None:
    manifest = {
        "experiment": exp.name,
        "model": exp.model,
        "question": exp.question,
        "scenarios": [s.name for s in exp.scenarios],
        "experiment_file": exp.path,
        "experiment_sha256": exp.text_hash(),
        "experiment_text": Path(exp.path).read_text(encoding="utf-8") if exp.path else None,
        "plan": plan,
        "plan_hash": hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest(),
        "overrides": overrides,  # from the command line, over the file
        "command": _command(exp, overrides),
        "seed": exp.seed,
        "outcomes": list(exp.outcomes),  # as resolved: a file may leave them to the model
        "git_commit": commit,
        "versions": _versions(),
        "platform": platform.platform(),
        "started": started,
        "ended": ended,
        "runs_done": report.done if report else None,
        "runs_failed": report.failed if report else None,
    }
    tmp = folder / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(folder / "manifest.json")


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
    plan = _plan(exp)
    commit = _git_commit()  # once: the code that runs this sweep does not change under it
    asked = workers
    workers, capped = _workers(workers, client, scheduler)
    model = exp.kind
    warm = model.warm_up if run_fn is None else None
    if ResultsStore.exists(folder):  # a damaged store is refused before even the lock file
        check_store(folder)
        read_manifest(folder)
    lock = _FolderLock(folder, _command(exp, overrides))
    report = RunReport(folder=folder, notes=[*lock.notes, *capped])
    backend: _Backend | None = None
    store: ResultsStore | None = None
    try:
        report.notes.extend(_check_resume(folder, plan, exp, overrides, resume, commit))
        # A failed connection stores nothing.
        backend = _Backend(workers, scheduler, client, warm, asked=asked)
        store = ResultsStore(folder, model.measures, model.summary_keys, model.parameter_names())
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        _write_manifest(folder, exp, plan, overrides, started, None, None, commit)
        show = sys.stderr.isatty() if progress is None else progress
        clock = time.perf_counter()
        try:
            _execute(exp, store, backend, report, show, run_fn or model.run)
            report.notes.extend(backend.notes)
            report.notes.extend(_beyond_replications(exp, store))
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            report.seconds = time.perf_counter() - clock
            ended = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            _write_manifest(folder, exp, plan, overrides, started, ended, report, commit)
    finally:
        # Whatever ended the sweep (a full disk, a lost scheduler), no worker, thread or
        # lock outlives it.
        if backend is not None:
            backend.close()
        if store is not None:
            store.close()
        lock.release(keep_folder=store is not None)
    return report


def _workers(workers: int | None, client: Any, scheduler: str | None) -> tuple[int, list[str]]:
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


def _lock_holder(text: str) -> dict[str, Any]:
    """Who wrote a lock file (pid, host, command, started); {} when it is not ours."""
    try:
        holder = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return holder if isinstance(holder, dict) else {}


class _FolderLock:
    """One sweep at a time writes a results folder (fcntl.flock on its .lock file).

    The kernel lets the lock go when its process ends, however it ends, so a lock file
    left by a killed sweep still names it but locks nothing: the next sweep takes it
    over and says so. A clean end empties the file.
    """

    def __init__(self, folder: Path, command: str) -> None:
        self.folder = folder
        self.created = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / LOCK_NAME
        self.file = self.path.open("a+", encoding="utf-8")
        self.file.seek(0)
        before = self.file.read().strip()
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            holder = _lock_holder(before)
            who = (
                f"`{holder.get('command')}` (pid {holder.get('pid')} on "
                f"{holder.get('host')}, started {holder.get('started')})"
                if holder
                else "another sweep"
            )
            raise ScenarioError(
                [
                    f"{folder}: {who} is writing these results now; wait for it to end, "
                    "or choose another --out"
                ]
            ) from None
        self.notes = []
        if before:
            holder = _lock_holder(before)
            self.notes.append(
                f"{folder}: the sweep that wrote here before (pid {holder.get('pid')}, "
                f"started {holder.get('started')}) was stopped without ending; its lock "
                "was left behind, and this sweep took it over"
            )
        mine = {
            "pid": os.getpid(),
            "host": platform.node(),
            "command": command,
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self.file.seek(0)
        self.file.truncate()
        self.file.write(json.dumps(mine) + "\n")
        self.file.flush()
        HELD.add(folder.resolve())

    def release(self, keep_folder: bool = True) -> None:
        """Let the folder go (and remove it when this sweep made it and wrote nothing)."""
        HELD.discard(self.folder.resolve())
        self.file.seek(0)
        self.file.truncate()
        self.file.close()  # closing the file releases the lock
        if (
            not keep_folder
            and self.created
            and [p.name for p in self.folder.iterdir()] == [LOCK_NAME]
        ):
            self.path.unlink()
            self.folder.rmdir()


def results_folder(exp: Experiment, out: str | Path | None = None) -> Path:
    """Where a sweep stores its results: `out`, or results/<experiment name>."""
    return Path(out) if out is not None else Path("results") / exp.name


def _check_resume(
    folder: Path,
    plan: dict[str, Any],
    exp: Experiment,
    overrides: dict[str, int | None],
    resume: bool,
    commit: str | None,
) -> list[str]:
    """Refuse to add to a store whose runs this experiment would not compute; return notes.

    Raises:
        ScenarioError: the folder holds results and resume is off, or the runs differ.
    """
    if not ResultsStore.exists(folder):
        return []
    if not resume:
        raise ScenarioError(
            [
                f"{folder}: already holds results; add --resume to run only what "
                "is missing, or choose another --out"
            ]
        )
    manifest = read_manifest(folder)  # run() has checked the store and it before the lock
    old = manifest.get("plan")
    if old is None and manifest:
        raise ScenarioError(
            [
                f"{folder}: cannot resume: manifest.json holds no record of how these results "
                "were run (edited, or not written by trustsim); use another --out"
            ]
        )
    if old is None:
        if not ResultsStore.stored_runs(folder):
            return []  # killed before its first run: nothing to mix with
        raise ScenarioError(
            [
                f"{folder}: cannot resume: manifest.json, which records how these results "
                "were run, is missing; use another --out"
            ]
        )
    if "setups" not in old and "experiment_hash" not in old:
        raise ScenarioError(
            [
                f"{folder}: cannot resume: written by a trustsim of 2026-11-29 whose record "
                "of the runs cannot be checked; use another --out"
            ]
        )
    notes = []
    if manifest.get("git_commit") != commit:
        notes.append(
            f"these results were started at commit {manifest.get('git_commit')}; this sweep "
            f"ran at {commit}: the store holds runs of both"
        )
    if "setups" not in old:  # written before 2026-11-29: the plan held the file's hash
        same = (
            old.get("experiment_hash") == exp.text_hash()
            and old.get("scenarios") == [s.digest() for s in exp.scenarios]
            and old.get("steps_override") == overrides["steps"]
            and old.get("samples_override") == overrides["samples"]
        )
        before = {"steps": old.get("steps_override"), "samples": old.get("samples_override")}
        changed = [] if same else ["the experiment file or the options"]
    else:
        before = manifest.get("overrides") or {}
        changed = _plan_changes(old, plan)
    if changed:
        used = "".join(
            f" --{k} {before[k]}" for k in ("steps", "samples") if before.get(k) is not None
        )
        hint = f"; they were run with{used}" if used else ""
        raise ScenarioError(
            [
                f"{folder}: cannot resume: these results were run differently "
                f"({'; '.join(changed)}{hint}); use another --out"
            ]
        )
    earlier = before.get("replications")
    if earlier is not None and earlier != overrides["replications"]:
        r = overrides["replications"]
        now = f"--replications {r}" if r is not None else "the file's replications"
        notes.append(f"the earlier sweep here ran --replications {earlier}; this one ran {now}")
    return notes


def _beyond_replications(exp: Experiment, store: ResultsStore) -> list[str]:
    """A note when the store holds more replications than this experiment asks for."""
    reps = exp.replications
    top = reps.count if reps.count is not None else reps.max
    more = store.done_from_replication(top)
    if not more:
        return []
    return [
        f"the store also holds {more} runs beyond this experiment's {top} replications "
        "(from an earlier sweep); the comparison and the report use every stored run"
    ]


class _Bar(tqdm):
    """A progress bar that starts no monitor thread.

    tqdm's monitor thread would outlive the sweep, and the next sweep in the same
    process (a script, a benchmark) could then not fork its workers (see _pool_context).
    """

    monitor_interval = 0


def _execute(
    exp: Experiment,
    store: ResultsStore,
    backend: _Backend,
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
    with _Bar(total=0, unit="run", disable=not show, dynamic_ncols=True) as bar:
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
                list(_batches(todo, backend.workers)), exp.keep_steps, run_fn
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
            needed = _more_replications(exp, store)
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


def _more_replications(exp: Experiment, store: ResultsStore) -> dict[tuple[str, int], int]:
    """Adaptive replications: cells whose CI half-width is still above the target get more."""
    reps = exp.replications
    assert reps.until is not None
    assert reps.half_width is not None
    results = store.results()
    out = {}
    for (scenario, point), cell in results.groupby(["scenario", "point"]):
        values = cell[reps.until].astype(float).to_numpy()
        hw = ci_half_width(values)
        if hw <= reps.half_width or np.isnan(values).all():
            continue  # narrow enough, or no value at all (more runs cannot give one)
        n = len(values)
        # n grows like (hw / target)^2; at least 50% more per round, at most max.
        want = n * (hw / reps.half_width) ** 2 if math.isfinite(hw) else 2 * n
        new = int(min(reps.max, max(math.ceil(want), math.ceil(1.5 * n))))
        if new > n:
            out[(str(scenario), int(str(point)))] = new
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
