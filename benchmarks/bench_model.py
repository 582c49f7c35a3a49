"""Model speed: a 12-member, 104-step run of each preset (data collection included), and
agent-steps per second for a 1,200-member, 3-level organization.

Targets (issue 2): under 30 ms per 12-member run; over 200,000 agent-steps per second.
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
    big = [time_run("top_down_internal", seed, members=1200, levels=3) for seed in range(3)]
    secs = statistics.median(t for t, _ in big)
    people = big[0][1]
    rate = people * 104 / secs
    lines.append(
        f"| top_down_internal, 1,200 members, 3 levels ({people} people), 104 weeks | "
        f"{secs:.2f} s = {rate:,.0f} agent-steps/s | > 200,000 agent-steps/s |"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
