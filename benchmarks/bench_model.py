"""Model speed: a 12-member, 104-step run of each preset, data collection included.

Target (issue 2): under 30 ms per run. Larger organizations are in bench_scale.py.
Run: `make bench` or `.venv/bin/python benchmarks/bench_model.py`. Timings are medians
of repeated runs after one warm-up run (numba compiles on first use).
"""

from __future__ import annotations

import platform
import statistics
import time

from sim import PRESETS, TrustModel, preset


def time_run(name: str, seed: int, **params: object) -> tuple[float, int]:
    """Seconds for one full run (build, every step, data collection) and people stepped."""
    started = time.perf_counter()
    model = TrustModel(preset(name, **params), rng=seed)
    while model.running:
        model.step()
    model.summary()
    return time.perf_counter() - started, model.org.n_people


def main(repeats: int = 15) -> str:
    """Run the benchmarks; return a Markdown report."""
    time_run("hybrid", 0)  # warm-up: loads the compiled kernels
    lines = [
        "## Model speed",
        "",
        f"Python {platform.python_version()}, {platform.machine()}; median of {repeats} runs.",
        "",
        "| run | median time | target |",
        "|---|---|---|",
    ]
    for name in PRESETS:
        times = [time_run(name, seed)[0] for seed in range(repeats)]
        median_ms = statistics.median(times) * 1000
        lines.append(f"| {name}, 12 members, 104 weeks | {median_ms:.1f} ms | < 30 ms |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
