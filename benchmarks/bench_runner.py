"""The sweep runner: runs a second, overhead against a plain loop, speed-up from 1 to 2 workers.

Targets (issues 3 and 12): overhead under 10% of the fast path's own time; speed-up
from 1 to 2 workers at least 1.8; at least 6 times the runs a second of stepping
TrustModel in the same runner ("stepped": the run as it was before the fast path,
a Mesa model stepped with its DataCollector, with the same 2 workers and store).
The work is sponsorship_vs_peer (six presets, 12 members, 104 weeks) at 300
replications (1,800 runs, about 2 s on one core: at 600 runs, half a second with two
workers, the sweep's fixed costs, forking the workers and closing the store, would be
a tenth of what is timed). "Plain loop" runs the same models one after another in this
process with no store; the runner adds seeds, the SQLite store, per-step rows and the
manifest. Speed-up uses the same runner with 1 and 2 worker processes (process start
included; the workers are forked from the runner, which has imported the model).
"Two plain loops side by side" runs the same models in two processes at once, with
nothing else, for a fixed time: from their summed rate, the speed-up this machine
allows at all (two virtual cores of a shared host may be slower together than apart),
against which to read the runner's. "Handing back batches" times the runner's waiting
for the batches of a long sweep (trivial jobs on 2 workers): its cost per batch should
not grow with the number of batches.
Run: `make bench` or `.venv/bin/python benchmarks/bench_runner.py`.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sim.experiments import expand, load_experiment, run, run_trust_model
from sim.experiments.adapters import Rows
from sim.experiments.executors import as_finished, start_pool
from sim.model.measures import MEASURES
from sim.model.scenario import Scenario
from sim.model.trust_model import TrustModel

EXPERIMENT = Path(__file__).resolve().parent.parent / "experiments" / "sponsorship_vs_peer.toml"


def plain_loop(replications: int) -> float:
    """Seconds to run the experiment's models in a plain loop (no runner, no store)."""
    exp = load_experiment(EXPERIMENT)
    specs = expand(exp, range(replications))
    started = time.perf_counter()
    for spec in specs:
        run_trust_model(spec.scenario, spec.seed, exp.keep_steps)
    return time.perf_counter() - started


def _loop_until(replications: int, seconds: float, rates: Any, child: int) -> None:
    """In a child: run the plain loop's models, round and round, for `seconds`; report the rate.

    The runs are taken in a shuffled order, so that the part a child gets through in its
    time has the whole experiment's mix of scenarios (they differ in cost).
    """
    exp = load_experiment(EXPERIMENT)
    specs = expand(exp, range(replications))
    random.Random(child).shuffle(specs)
    started = time.perf_counter()
    done = 0
    while time.perf_counter() - started < seconds:
        spec = specs[done % len(specs)]
        run_trust_model(spec.scenario, spec.seed, exp.keep_steps)
        done += 1
    rates.put(done / (time.perf_counter() - started))


def side_by_side(replications: int, seconds: float = 5.0) -> float:
    """Seconds two plain loops side by side would take for the runs, from their summed rates.

    Two forked processes each run the models for the same time, so neither waits for
    the other at the end (splitting the runs in halves would time the slower half).
    """
    ctx = multiprocessing.get_context("fork")
    rates = ctx.Queue()
    loops = [
        ctx.Process(target=_loop_until, args=(replications, seconds, rates, child))
        for child in range(2)
    ]
    for loop in loops:
        loop.start()
    total = rates.get() + rates.get()
    for loop in loops:
        loop.join()
    return 6 * replications / total


def stepped_trust_model(
    scenario: Scenario, seed: int, keep_steps: int
) -> tuple[dict[str, Any], Rows]:
    """A run as the runner made it before the fast path: TrustModel stepped, its DataCollector."""
    model = TrustModel(scenario, rng=seed, team_table=False)
    while model.running:
        model.step()
    data = model.datacollector.model_vars
    last = len(data["step"]) - 1
    rows = [
        (step, *(data[m][i] for m in MEASURES))
        for i, step in enumerate(data["step"])
        if keep_steps > 0 and (step % keep_steps == 0 or i == last)
    ]
    return model.summary(), rows


def runner(replications: int, workers: int, run_fn: Any = None) -> float:
    """Seconds for `run()` on the same experiment into a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        run(
            EXPERIMENT,
            out=Path(tmp) / "out",
            workers=workers,
            replications=replications,
            progress=False,
            run_fn=run_fn,
        )
        return time.perf_counter() - started


def handing_back(batches: int) -> float:
    """Seconds for the runner to hand back `batches` trivial batches from 2 workers."""
    pool = start_pool(2, None)
    try:
        started = time.perf_counter()
        for _ in as_finished(None, pool, abs, [(i,) for i in range(batches)]):
            pass
        return time.perf_counter() - started
    finally:
        pool.shutdown()


def stolen() -> float:
    """CPU seconds the host has taken from this virtual machine so far (Linux "steal")."""
    try:
        fields = Path("/proc/stat").read_text(encoding="utf-8").split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return math.nan


def main(replications: int = 300, rounds: int = 5) -> str:
    """Return a Markdown report.

    The ways are run in turns, `rounds` times, in alternating order. On a shared
    machine the speed drifts from minute to minute, so every ratio is taken within a
    turn (the runs a few seconds apart) and the report gives the median over turns and
    their range; times are medians. Stepping TrustModel runs a fifth of the
    replications (it is slower), and is compared by runs a second.
    """
    run_trust_model(load_experiment(EXPERIMENT).scenarios[0], 0, 1)  # warm-up (numba)
    n = 6 * replications
    few = max(1, replications // 5)
    ways = {
        "loop": lambda: plain_loop(replications),
        "pair": lambda: side_by_side(replications),
        "one": lambda: runner(replications, 1),
        "two": lambda: runner(replications, 2),
        "stepped": lambda: runner(few, 2, stepped_trust_model),
    }
    counts = {way: (6 * few if way == "stepped" else n) for way in ways}
    times: dict[str, list[float]] = {way: [] for way in ways}
    steal, wall = stolen(), time.perf_counter()
    for turn in range(rounds):
        for way in list(ways)[:: 1 if turn % 2 == 0 else -1]:
            times[way].append(ways[way]())
    steal_share = (stolen() - steal) / (2 * (time.perf_counter() - wall))
    t = {way: statistics.median(values) for way, values in times.items()}

    def ratio(a: str, b: str) -> tuple[float, float, float]:
        """Per turn: runs a second of b over those of a."""
        per_turn = [
            (counts[b] / y) / (counts[a] / x) for x, y in zip(times[a], times[b], strict=True)
        ]
        return statistics.median(per_turn), min(per_turn), max(per_turn)

    few_batches, many_batches = 500, 4000
    per_batch = {
        n: 1e3 * min(handing_back(n) for _ in range(3)) / n for n in (few_batches, many_batches)
    }
    overhead, speedup = ratio("loop", "one"), ratio("one", "two")
    allowed, faster = ratio("loop", "pair"), ratio("stepped", "two")

    def spread(r: tuple[float, float, float]) -> str:
        return f"{r[0]:.2f}x (turns: {r[1]:.2f}..{r[2]:.2f})"

    def cost(r: float) -> str:  # the runner's time over the loop's, from their rates
        return f"{100 * (1 / r - 1):+.0f}%"

    def took(way: str) -> str:
        return f"{t[way]:.2f} s for {counts[way]} runs ({counts[way] / t[way]:.0f} runs/s)"

    return (
        "\n".join(
            [
                "## Sweep runner (sponsorship_vs_peer)",
                "",
                f"{n} runs ({replications} replications of 6 scenarios, every step kept), "
                f"{os.cpu_count()} cores; {rounds} turns of each way, ratios taken within a "
                "turn, medians over the turns. The host took "
                f"{100 * steal_share:.0f}% of this machine's CPU time while they ran (steal).",
                "",
                "| measure | value | target |",
                "|---|---|---|",
                f"| plain loop on the fast path (no runner, no store) | {took('loop')} | |",
                f"| runner, 1 worker | {took('one')} | |",
                f"| runner overhead over the plain loop | {cost(overhead[0])} "
                f"(turns: {cost(overhead[2])}..{cost(overhead[1])}) | < 10% |",
                f"| runner, 2 workers | {took('two')} | |",
                f"| speed-up from 1 to 2 workers | {spread(speedup)} | >= 1.8x |",
                f"| two plain loops side by side | {took('pair')} | |",
                "| speed-up this machine allows (plain loop / side by side) "
                f"| {spread(allowed)} | |",
                f"| runner, 2 workers, stepping TrustModel | {took('stepped')} | |",
                f"| runs a second, fast path against stepping TrustModel (2 workers) "
                f"| {spread(faster)} | >= 6x |",
                f"| handing back batches: ms per batch at {few_batches:,} and at "
                f"{many_batches:,} batches | {per_batch[few_batches]:.3f} and "
                f"{per_batch[many_batches]:.3f} | no growth |",
            ]
        )
        + "\n"
    )


if __name__ == "__main__":
    print(main())
