"""Scale: agent-steps per second and peak memory, the fast path against the reference.

Organizations of 12, 120, 1,200, 10,000 and 100,000 members with 1 to 4 levels
(top_down_internal, 104 weeks, the per-step table and summary included), on the fast
path (`sim.simulate`), stepping TrustModel (the Mesa model, the same compiled week),
and with the per-agent reference (`benchmarks/reference_model.py`, not at 100,000).
Each measurement runs in a fresh process, so that its peak memory (the process's
maximum resident set, interpreter and libraries included) is its own. With
`--before DIR` (a checkout of an earlier commit), that commit's TrustModel is timed
too, in the same run. Targets (issues 7 and 12): the fast path at least 20 times the
reference at 1,200 members, no slower at 12; 10,000 members at 4 levels at least 1.5
times faster than the commit before issue 12; 100,000 members at 3 levels in under
15 s and 1.5 GB. Run: `make bench`, or `.venv/bin/python benchmarks/bench_scale.py
[--before DIR]`.
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
SIZES = ((12, 1), (120, 2), (1200, 3), (10_000, 4), (100_000, 3))
STEPS = 104
REFERENCE_UP_TO = 10_000  # the reference takes a minute at 10,000 members


def measure(
    side: str, members: int, levels: int, repeats: int, before: str = ""
) -> dict[str, float]:
    """In this process: the best of `repeats` runs (after a warm-up for the compiled sides).

    side: "fast" (sim.simulate), "model" (stepping TrustModel), "reference", or
    "before" (stepping TrustModel of the checkout at `before`).
    """
    sys.path.insert(0, before if side == "before" else str(ROOT))
    from sim import TrustModel, preset

    scenario = preset("top_down_internal", members=members, levels=levels, steps=STEPS)

    def once(seed: int) -> tuple[float, int]:
        started = time.perf_counter()
        if side == "fast":
            from sim import simulate

            run = simulate(scenario, seed)
            run.steps  # noqa: B018  (the per-step DataFrame, as a user gets it)
            people = run.n_people
        elif side in ("model", "before"):
            model = TrustModel(scenario, rng=seed)
            while model.running:
                model.step()
            model.datacollector.get_model_vars_dataframe()
            model.summary()
            people = model.org.n_people
        else:
            from benchmarks.reference_model import ReferenceModel

            ref = ReferenceModel(scenario, rng=seed).run()
            ref.summary()
            people = len(ref.agents)
        return time.perf_counter() - started, people

    if side == "fast":  # load the compiled kernels before timing
        from sim import simulate

        simulate(preset("top_down_internal", members=6, levels=2, steps=2), 0)
    elif side != "reference":
        TrustModel(preset("top_down_internal"), rng=0).step()
    before_rss = _reset_peak()
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
        "model_mb": peak - before_rss,
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


def in_fresh_process(
    side: str, members: int, levels: int, repeats: int, before: str = ""
) -> dict[str, float]:
    """`measure` in a new interpreter: the peak memory is this configuration's alone."""
    done = subprocess.run(
        [sys.executable, __file__, "--one", side, str(members), str(levels), str(repeats), before],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=3600,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(m: dict[str, float] | None) -> str:
    if m is None:
        return "| - | - | - "
    return (
        f"| {m['seconds']:.3f} s | {m['rate']:,.0f} | {m['peak_mb']:,.0f} MB "
        f"(+{m['model_mb']:,.0f}) "
    )


def main(before: str = "") -> str:
    """Every size, every side; a Markdown report."""
    lines = [
        "## Scale: the fast path against stepping TrustModel and the per-agent reference",
        "",
        f"top_down_internal, {STEPS} weeks, the per-step table and summary included; best of 3 "
        "runs (1 at 100,000 members, and for the reference at 10,000). Peak memory: the "
        "measuring process's largest resident set while the runs ran (Python, numpy, numba "
        "and Mesa included); in brackets, what the runs added to what the process held "
        "before them. Columns: time, agent-steps/s, peak memory for each side."
        + (f" 'Before': TrustModel at the checkout {before}." if before else ""),
        "",
        "| members, levels | people | fast path | | | stepping TrustModel | | "
        + ("| before | | " if before else "")
        + "| reference | | | fast / stepped | "
        + ("fast / before | " if before else "")
        + "fast / reference |",
        "|---|---|---|---|---|---|---|---|"
        + ("---|---|---|" if before else "")
        + "---|---|---|---|"
        + ("---|" if before else "")
        + "---|",
    ]
    for members, levels in SIZES:
        repeats = 1 if members >= 100_000 else 3
        fast = in_fresh_process("fast", members, levels, repeats)
        model = in_fresh_process("model", members, levels, repeats)
        old = in_fresh_process("before", members, levels, repeats, before) if before else None
        ref = None
        if members <= REFERENCE_UP_TO:
            ref = in_fresh_process("reference", members, levels, 1 if members >= 10_000 else 3)
        row = f"| {members:,}, {levels} | {int(fast['people']):,} "
        row += _cell(fast) + _cell(model) + (_cell(old) if before else "") + _cell(ref)
        row += f"| {model['seconds'] / fast['seconds']:.1f}x "
        if before:
            assert old is not None
            row += f"| {old['seconds'] / fast['seconds']:.2f}x "
        row += f"| {ref['seconds'] / fast['seconds']:.1f}x |" if ref else "| - |"
        lines.append(row)
    lines += [
        "",
        "Targets: fast / reference >= 20 at 1,200 members and >= 1 at 12; 10,000 members at "
        "4 levels >= 1.5x faster than before issue 12 (fast / before); 100,000 members at 3 "
        "levels in under 15 s and 1.5 GB.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) >= 6 and sys.argv[1] == "--one":
        side, members, levels, repeats = sys.argv[2], *map(int, sys.argv[3:6])
        before_dir = sys.argv[6] if len(sys.argv) > 6 else ""
        print(json.dumps(measure(side, members, levels, repeats, before_dir)))
    else:
        args = sys.argv[1:]
        print(main(args[args.index("--before") + 1] if "--before" in args else ""))
