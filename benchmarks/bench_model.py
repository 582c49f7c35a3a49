"""Model speed: a 12-member, 104-week run of each preset, on the fast path and stepped.

Targets (issue 12): a run with its per-step table and summary on the fast path
(`sim.simulate`) at least 8 times faster than stepping TrustModel with its
DataCollector, measured in this process, the two interleaved; at least 300 runs a
second on one core. Both sides build the organization, run 104 weeks, and return the
per-step table (a DataFrame) and the summary; both give the same numbers
(tests/test_fast.py). The two ways are interleaved in blocks of runs; alternated run
by run, each fast run follows a stepped one, whose model has just filled the caches
and left garbage to collect, and costs about 1.5 times what it costs in a row of runs
(as in a sweep): both are reported.
Run: `make bench` or `.venv/bin/python benchmarks/bench_model.py`.
"""

from __future__ import annotations

import platform
import statistics
import time

from sim import PRESETS, TrustModel, preset, simulate


def fast_run(name: str, seed: int) -> float:
    """Seconds for one run on the fast path: its per-step DataFrame and summary."""
    started = time.perf_counter()
    run = simulate(preset(name), seed)
    run.steps  # noqa: B018  (the DataFrame a user gets, built on demand)
    return time.perf_counter() - started


def stepped_run(name: str, seed: int) -> float:
    """Seconds for one run stepping TrustModel: its DataCollector's DataFrame and summary."""
    started = time.perf_counter()
    model = TrustModel(preset(name), rng=seed)
    while model.running:
        model.step()
    model.datacollector.get_model_vars_dataframe()
    model.summary()
    return time.perf_counter() - started


def main(rounds: int = 8, fast_block: int = 10, stepped_block: int = 2) -> str:
    """Run the benchmarks; return a Markdown report.

    Per preset, `rounds` rounds of a block of fast runs then a block of stepped runs
    (each block some 20 ms: interleaved, so drift hits both alike, and each way in the
    steady state of its own row of runs, as in a sweep); the ratio of a round's mean
    times, median over rounds. Besides, the runs alternated one by one (each fast run
    then starts with caches the stepped model filled).
    """
    fast_run("hybrid", 0)  # warm-up: loads the compiled kernels
    stepped_run("hybrid", 0)
    lines = [
        "## Model speed: one run on the fast path against stepping TrustModel",
        "",
        f"Python {platform.python_version()}, {platform.machine()}; 12 members, 104 weeks, "
        f"the per-step table (a DataFrame) and the summary. {rounds} rounds per preset of "
        f"{fast_block} fast runs then {stepped_block} stepped runs (interleaved blocks); times "
        "are medians of the rounds' means per run, the speed-up the median of the rounds' "
        "ratios. 'One by one': the two ways alternated run by run, the median of the pairs' "
        "ratios.",
        "",
        "| preset | fast path | runs/s on one core | stepping TrustModel | speed-up | one by one |",
        "|---|---|---|---|---|---|",
    ]
    all_fast, all_ratios, all_single = [], [], []
    for name in PRESETS:
        fast, stepped, single = [], [], []
        seed = 0
        for _ in range(rounds):
            fast.append(statistics.fmean(fast_run(name, seed + k) for k in range(fast_block)))
            stepped.append(
                statistics.fmean(stepped_run(name, seed + k) for k in range(stepped_block))
            )
            single.append(stepped_run(name, seed) / fast_run(name, seed))
            seed += fast_block
        ratios = [s / f for f, s in zip(fast, stepped, strict=True)]
        all_fast += fast
        all_ratios += ratios
        all_single += single
        f_ms, s_ms = statistics.median(fast) * 1000, statistics.median(stepped) * 1000
        lines.append(
            f"| {name} | {f_ms:.2f} ms | {1000 / f_ms:.0f} | {s_ms:.1f} ms | "
            f"{statistics.median(ratios):.1f}x | {statistics.median(single):.1f}x |"
        )
    lines += [
        f"| **all presets** | {statistics.median(all_fast) * 1000:.2f} ms | "
        f"{1 / statistics.median(all_fast):.0f} | | "
        f"**{statistics.median(all_ratios):.1f}x** (rounds: {min(all_ratios):.1f}.."
        f"{max(all_ratios):.1f}) | {statistics.median(all_single):.1f}x |",
        "",
        "Targets: speed-up >= 8x; >= 300 runs/s on one core.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
