"""Run every benchmark and write benchmarks/RESULTS.md (`make bench`).

The report starts with the machine and the library versions, because speed numbers
mean nothing without them; then the model's speed, scale against the per-agent
reference, the sweep runner, and the workshop app. Numbers come from one run on
whatever else the machine is doing: compare ratios within a run, not across runs.
With TRUSTSIM_BEFORE=DIR (a checkout of an earlier commit, e.g. made with `git
worktree add /tmp/before <commit>`), the scale table times that commit's model too.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_app  # noqa: E402
import bench_calibration  # noqa: E402
import bench_model  # noqa: E402
import bench_room  # noqa: E402
import bench_runner  # noqa: E402
import bench_sbc  # noqa: E402
import bench_scale  # noqa: E402
import bench_worlds  # noqa: E402


def machine() -> str:
    """The machine, Python and library versions, and the load when the run started."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(Path("/proc/meminfo").read_text(encoding="utf-8").split()[1])
        memory = f"{mem_kb / 1024**2:.0f} GB"
    except (OSError, ValueError, IndexError):
        memory = "unknown memory"
    libs = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("mesa", "numpy", "numba", "scipy", "pandas", "matplotlib", "SALib")
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"Written by `make bench` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
            "",
            f"- machine: {cpu}, {os.cpu_count()} cores, {memory}; {platform.platform()}",
            f"- Python {platform.python_version()}; {libs}",
            f"- load average when the run started: {load:.2f} (a shared machine: other jobs "
            "slow every number here, ratios within one run are the fair comparison)",
            "",
        ]
    )


def main() -> str:
    """Every benchmark, as one Markdown report."""
    parts = [machine()]
    before = os.environ.get("TRUSTSIM_BEFORE", "")  # a checkout of an earlier commit
    for bench in (
        bench_model,
        bench_scale,
        bench_runner,
        bench_app,
        bench_room,
        bench_calibration,
        bench_worlds,  # about 20 minutes on 2 cores
        bench_sbc,  # the longest: about 30 minutes on 2 cores
    ):
        parts.append(bench_scale.main(before) if bench is bench_scale else bench.main())
        print(parts[-1], flush=True)
    return "\n".join(parts)


if __name__ == "__main__":
    text = main()
    (HERE / "RESULTS.md").write_text(text, encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")
