"""Scale: agent-steps per second and peak memory, fast model against the reference.

Organizations of 12, 120, 1,200 and 10,000 members with 1, 2, 3 and 4 levels
(top_down_internal, 104 weeks, data collection included), once with the fast model
(`sim.model.TrustModel`) and once with the per-agent reference
(`benchmarks/reference_model.py`). Each measurement runs in a fresh process, so that
its peak memory (the process's maximum resident set, interpreter and libraries
included) is its own. Targets (issue 7): the fast model at least 20 times the
reference at 1,200 members, no slower at 12; 10,000 members in under a minute and
2 GB. Run: `make bench`, or `.venv/bin/python benchmarks/bench_scale.py`.
"""

from __future__ import annotations

import contextlib
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = ((12, 1), (120, 2), (1200, 3), (10_000, 4))
STEPS = 104


def measure(side: str, members: int, levels: int, repeats: int) -> dict[str, float]:
    """In this process: the best of `repeats` runs (after a warm-up for the fast model)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.reference_model import ReferenceModel
    from sim import TrustModel, preset

    scenario = preset("top_down_internal", members=members, levels=levels, steps=STEPS)

    def once(seed: int) -> tuple[float, int]:
        started = time.perf_counter()
        if side == "fast":
            model = TrustModel(scenario, rng=seed)
            while model.running:
                model.step()
            model.summary()
            people = model.org.n_people
        else:
            ref = ReferenceModel(scenario, rng=seed).run()
            ref.summary()
            people = len(ref.agents)
        return time.perf_counter() - started, people

    if side == "fast":
        TrustModel(preset("top_down_internal"), rng=0).step()  # compile or load the kernels
    before = _reset_peak()
    times = []
    people = 0
    for seed in range(repeats):
        seconds, people = once(seed)
        times.append(seconds)
    best = min(times)
    peak = _peak_mb()
    return {
        "seconds": best,
        "people": people,
        "rate": people * STEPS / best,
        "peak_mb": peak,
        "model_mb": peak - before,
    }


def _status_mb(field: str) -> float:
    """A memory line of /proc/self/status in MB (NaN where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def _reset_peak() -> float:
    """Forget the peak so far (imports, compiling): Linux resets it on "5" in clear_refs.

    Returns the resident memory now, the baseline the runs start from.
    """
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5", encoding="utf-8")
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    """Peak resident memory since the reset (the process's lifetime peak elsewhere)."""
    peak = _status_mb("VmHWM")
    if math.isnan(peak):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB
    return peak


def in_fresh_process(side: str, members: int, levels: int, repeats: int) -> dict[str, float]:
    """`measure` in a new interpreter: the peak memory is this configuration's alone."""
    done = subprocess.run(
        [sys.executable, __file__, "--one", side, str(members), str(levels), str(repeats)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=3600,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> str:
    """Every size, both implementations; a Markdown report."""
    lines = [
        "## Scale: fast model against the per-agent reference",
        "",
        f"top_down_internal, {STEPS} weeks, data collection included; best of 3 runs (1 for "
        "the reference at 10,000 members). Peak memory: the measuring process's largest "
        "resident set while the runs ran (Python, numpy, numba and Mesa included); in "
        "brackets, what the runs added to what the process held before them.",
        "",
        "| members, levels | people | fast: time | fast: agent-steps/s | fast: peak memory "
        "| reference: time | reference: agent-steps/s | reference: peak memory "
        "| fast / reference |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for members, levels in SIZES:
        fast = in_fresh_process("fast", members, levels, 3)
        ref = in_fresh_process("reference", members, levels, 1 if members >= 10_000 else 3)
        lines.append(
            f"| {members:,}, {levels} | {int(fast['people']):,} | {fast['seconds']:.3f} s | "
            f"{fast['rate']:,.0f} | {fast['peak_mb']:,.0f} MB (+{fast['model_mb']:,.0f}) | "
            f"{ref['seconds']:.3f} s | {ref['rate']:,.0f} | {ref['peak_mb']:,.0f} MB "
            f"(+{ref['model_mb']:,.0f}) | {ref['seconds'] / fast['seconds']:.1f}x |"
        )
    lines += [
        "",
        "Targets: fast / reference >= 20 at 1,200 members and >= 1 at 12; 10,000 members "
        "in under 60 s and 2 GB (fast model).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--one":
        side, members, levels, repeats = sys.argv[2], *map(int, sys.argv[3:6])
        print(json.dumps(measure(side, members, levels, repeats)))
    else:
        print(main())
