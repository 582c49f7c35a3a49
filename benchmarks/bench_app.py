"""Workshop app: how long one week takes to step and draw at 48 people.

Target (issue 5): under 200 ms per week with 48 people. Measures sim.workshop's
step plus the PNG the page shows (80 dpi), alone and with a second scenario side by
side. Run: `make bench` or `.venv/bin/python benchmarks/bench_app.py`.
"""

from __future__ import annotations

import statistics
import time

from sim.workshop import Workshop, library


def main(weeks: int = 30) -> str:
    """Return a Markdown report."""
    lib = library()
    one = lib["top_down_internal"][0].with_(members=48, levels=2)
    two = lib["peer_led"][0].with_(members=48, levels=2)
    lines = [
        "## Workshop app: a week stepped and drawn, 48 people",
        "",
        "| view | median | 90th percentile | target |",
        "|---|---|---|---|",
    ]
    for label, compare in (("one scenario", None), ("two side by side", two)):
        shop = Workshop(one, compare, seed=1)
        shop.png(dpi=80)  # first picture builds the figure
        times = []
        for _ in range(weeks):
            started = time.perf_counter()
            shop.step()
            shop.png(dpi=80)
            times.append(time.perf_counter() - started)
        times.sort()
        lines.append(
            f"| {label} | {statistics.median(times) * 1000:.0f} ms | "
            f"{times[int(0.9 * len(times))] * 1000:.0f} ms | < 200 ms |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
