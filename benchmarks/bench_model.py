"""Model speed: a 12-member, 104-week run of each preset, on the fast path and stepped.

Targets (issue 12): a run with its per-step table and summary on the fast path
(`sim.simulate`) at least 8 times faster than stepping TrustModel with its
DataCollector, measured in this process, the two interleaved; at least 300 runs a
second on one core. Both sides build the organization, run 104 weeks, and return the
per-step table (a DataFrame) and the summary; both give the same numbers
(tests/test_fast.py). Interleaved, each fast run follows a stepped one, whose model
has just filled the caches and left garbage to collect: a fast run costs about 1.5
times what it costs in a sweep's row of runs.
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


def main(repeats: int = 15) -> str:
    """Run the benchmarks; return a Markdown report."""
    fast_run("hybrid", 0)  # warm-up: loads the compiled kernels
    stepped_run("hybrid", 0)
    lines = [
        "## Model speed: one run on the fast path against stepping TrustModel",
        "",
        f"Python {platform.python_version()}, {platform.machine()}; 12 members, 104 weeks, "
        f"the per-step table (a DataFrame) and the summary; {repeats} pairs per preset, the "
        "two ways interleaved (seed by seed), medians; the ratio is the median of the pairs' "
        "ratios.",
        "",
        "| preset | fast path | runs/s on one core | stepping TrustModel | fast path speed-up |",
        "|---|---|---|---|---|",
    ]
    all_fast, all_ratios = [], []
    for name in PRESETS:
        fast, stepped = [], []
        for seed in range(repeats):
            fast.append(fast_run(name, seed))
            stepped.append(stepped_run(name, seed))
        ratios = [s / f for f, s in zip(fast, stepped, strict=True)]
        all_fast += fast
        all_ratios += ratios
        f_ms, s_ms = statistics.median(fast) * 1000, statistics.median(stepped) * 1000
        lines.append(
            f"| {name} | {f_ms:.2f} ms | {1000 / f_ms:.0f} | {s_ms:.1f} ms | "
            f"{statistics.median(ratios):.1f}x |"
        )
    lines += [
        f"| **all presets** | {statistics.median(all_fast) * 1000:.2f} ms | "
        f"{1 / statistics.median(all_fast):.0f} | | "
        f"**{statistics.median(all_ratios):.1f}x** (pairs: {min(all_ratios):.1f}.."
        f"{max(all_ratios):.1f}) |",
        "",
        "Targets: speed-up >= 8x; >= 300 runs/s on one core.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
