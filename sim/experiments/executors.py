"""Where an experiment's runs execute: a local process pool or a Dask cluster, in batches.

A batch holds about BATCH_WORK runs' worth of work, so that a worker's results come back
often enough to be stored as they finish and small runs do not pay a round trip each.
The pool's workers are forked with the kernels loaded and die with their parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as futures_completed
from typing import Any

from sim.experiments.adapters import RunFn, run_parameters, run_trust_model
from sim.experiments.expansion import count_of
from sim.experiments.spec import RunSpec
from sim.experiments.store import (
    RunResult,
)
from sim.model.scenario import ScenarioError


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


def batches(specs: Sequence[RunSpec], workers: int) -> Iterator[list[RunSpec]]:
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


class Backend:
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
            wait_for_workers(self.client)
        if self.client is not None and warm_up is not None:
            self.client.run(warm_up)  # each Dask worker loads the compiled kernels once, now
        if self.client is None and workers > 1:
            self.pool = start_pool(workers, warm_up)

    def map(
        self, batches: list[list[RunSpec]], keep: int, run_fn: RunFn
    ) -> Iterator[list[RunResult]]:
        """Run the batches, yielding each batch's results as it finishes (in any order)."""
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
        """Stop the pool's workers, and the Dask client if this backend opened it."""
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


def wait_for_workers(client: Any) -> None:
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
    Backend), and the executor starts its own thread only after them. Forking a
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
