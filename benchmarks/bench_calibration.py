"""Calibration: a 5-parameter recovery to 5 targets with 12-member teams, timed.

Target (issue 16): a 4-parameter calibration to 5 targets with 12-member teams finishes
in under 15 minutes on 2 cores. The calibration is experiments/calibrate_field.toml
(eight teams of 12, six runs a candidate, 200 particles; 10 generations here) against the
three field targets of targets/field.toml and two more (the survey's scale mean and
mean skill), made by the model itself at known values (`--recover`, trust_loss_ratio
among them, as the file calibrates it), so the same run is a parameter recovery:
whether each true value lies in its 95% credible interval (docs/validation.md tests
the calibration by simulation-based calibration, benchmarks/bench_sbc.py, instead).
Run: `make bench` or `.venv/bin/python benchmarks/bench_calibration.py [OUT]`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim.cli import main as trustsim

ROOT = Path(__file__).resolve().parent.parent
TRUTH = {
    "trust_gain": 0.12,
    "learning_rate": 0.2,
    "propensity_sd": 0.25,
    "survey_loading": 0.8,
    "trust_loss_ratio": 2.0,
}
GENERATIONS = 10
MORE = """
[[targets]]
name = "psych_safety_mean"
statistic = "survey_mean"
instrument = "psychological_safety"
week = 104
value = 4.0
se = 0.2
population = "made by the model (--recover)"
source = "the model itself"

[[targets]]
name = "mean_skill"
statistic = "outcome_mean"
outcome = "mean_skill"
value = 0.6
se = 0.02
population = "made by the model (--recover)"
source = "the model itself"
"""


def main(out: Path | None = None) -> str:
    """Run the recovery into `out` (a temporary folder by default); its Markdown section."""
    work = Path(tempfile.mkdtemp(prefix="bench_calibration_"))
    out = out or work / "out"
    targets = work / "five.toml"
    field = (ROOT / "targets" / "field.toml").read_text(encoding="utf-8")
    targets.write_text(field + MORE, encoding="utf-8")
    recover = [a for k, v in TRUTH.items() for a in ("--recover", f"{k}={v}")]
    began = time.perf_counter()
    code = trustsim(
        ["calibrate", str(ROOT / "experiments" / "calibrate_field.toml"), "--targets",
         str(targets), *recover, "--generations", str(GENERATIONS), "--out", str(out)]
    )  # fmt: skip
    seconds = time.perf_counter() - began
    if code != 0:
        raise SystemExit(f"the calibration failed (exit {code})")
    generations = pd.read_csv(out / "generations.csv")
    prior = json.loads((out / "calibration.json").read_text(encoding="utf-8"))["prior_sample"]
    candidates = int(generations["evaluations"].sum()) + prior["candidates"]
    md = (out / "calibration.md").read_text(encoding="utf-8")
    recovery = md.split("## Parameter recovery", 1)[1].split("## ", 1)[0].strip()
    return "\n".join(
        [
            "## Calibration: 4 parameters, 5 targets, 12-member teams (issue 16)",
            "",
            "`.venv/bin/python benchmarks/bench_calibration.py`: "
            "experiments/calibrate_field.toml (8 teams of 12, 6 runs a candidate, 200 "
            f"particles, {GENERATIONS} generations) against 5 targets made by the model at known "
            "values.",
            "",
            f"- whole command (targets made, ABC-SMC, predictive check, contrast, report): "
            f"{seconds / 60:.1f} min on 2 cores (target: under 15 min)",
            f"- {candidates:,} candidates ({prior['candidates']} from the prior for the first "
            f"threshold, then {len(generations)} generations), "
            f"{candidates / (generations['seconds'].sum() + prior['seconds']):.0f} "
            "candidates a second",
            "",
            recovery,
            "",
        ]
    )


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
