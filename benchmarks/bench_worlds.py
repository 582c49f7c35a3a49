"""The plausible worlds, timed: the calibration to all the evidence, then the regimes across it.

Target (issue 30): the field calibration with the new targets, its predictive check and
the across-worlds comparison of the six regimes, in under 30 minutes on 2 cores. The
calibration is experiments/plausible_worlds.toml (13 parameters: core, team-level,
coaching and trust_loss_ratio; 300 particles, 4 generations, nine runs a candidate)
against targets/plausible.toml (field and coaching targets), with the held-out check of
targets/held_out.toml; then the demo's six regimes (experiments/sponsorship_vs_peer.toml)
across 200 of its worlds with 10 paired runs each, and the map (`--map`).
Measured on 2 shared cores (load 2 to 4), 2026-12-07: the calibration 1,177 s (3,481
candidates), the comparison across worlds 36 s (12,000 runs): 20.2 minutes in all.
Run: `make bench` or `.venv/bin/python benchmarks/bench_worlds.py [OUT]`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.experiments import pipeline  # noqa: E402


def main(out: Path | None = None) -> str:
    """Calibrate, sweep the demo, compare it across the posterior; its Markdown section."""
    out = out or Path(tempfile.mkdtemp(prefix="bench_worlds_"))
    began = time.perf_counter()
    pipeline.calibrate(
        ROOT / "experiments" / "plausible_worlds.toml",
        ROOT / "targets" / "plausible.toml",
        out=out / "plausible_worlds",
        progress=False,
    )
    calibrated = time.perf_counter() - began
    pipeline.sweep(
        ROOT / "experiments" / "sponsorship_vs_peer.toml", out=out / "demo", report=False,
        progress=False,
    )  # fmt: skip
    began = time.perf_counter()
    pipeline.compare(out / "demo", across=out / "plausible_worlds", map_worlds=True, progress=False)
    across = time.perf_counter() - began
    total = (calibrated + across) / 60
    return "\n".join(
        [
            "## Plausible worlds: calibration and the six regimes across it",
            "",
            "`trustsim calibrate experiments/plausible_worlds.toml --targets "
            "targets/plausible.toml`, then `trustsim compare DEMO --across CALIBRATION --map`",
            "",
            f"- calibration (13 parameters, 5 targets, held-out check): {calibrated:.0f} s",
            f"- the six regimes across 200 worlds, 10 pairs each, and the map: {across:.0f} s",
            f"- in all: {total:.1f} minutes (target: under 30 on 2 cores)",
            "",
        ]
    )


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
