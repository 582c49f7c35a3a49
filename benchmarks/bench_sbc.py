"""Simulation-based calibration of the field calibration: do its intervals hold the truth?

A parameter recovery at one truth says little: its one realization may land anywhere in
the posterior. Simulation-based calibration (Talts et al. 2018, here by coverage) draws
TRUTHS parameter sets from the calibration's own priors (experiments/calibrate_field.toml:
trust_gain, learning_rate, propensity_sd, survey_loading and trust_loss_ratio), makes the
three field targets of targets/field.toml at each one (the model's runs with fresh seeds,
the targets keeping their own SEs, so the distance is the field calibration's), calibrates
back, and counts how often the 50% and 95% credible intervals hold the truth. A calibrated
posterior holds it about half and 95% of the time; ABC's, whose threshold stays above 0,
is wider than the true posterior and may hold it more often (conservative); fewer would
be an overconfident posterior, which a report must not trust.

The ABC budget is smaller than the field calibration's (POPULATION particles, GENERATIONS
generations; the organization, its runs and targets are the same), to keep the whole
under 30 minutes on 2 free cores: about 30 x 700 candidates at about 16 candidates a
second. Measured: 20,956 candidates in 41.9 min on 2 cores shared with other jobs
(load average about 5), so about 22 min on 2 free ones. Each truth's calibration is
kept in OUT/truthNN, so a killed benchmark, run again with the same OUT, goes on where
it stopped.
Run: `make bench` or `.venv/bin/python benchmarks/bench_sbc.py [OUT] [--truths N]
[--population N] [--generations N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim.experiments import load_experiment
from sim.experiments.abc import simulation_based_calibration
from sim.methods.analysis import to_markdown
from sim.methods.calibration import coverage_sentences
from sim.methods.targets import load_targets

ROOT = Path(__file__).resolve().parent.parent
TRUTHS = 30
POPULATION = 60
GENERATIONS = 4


def main(
    out: Path | None = None,
    truths: int = TRUTHS,
    population: int = POPULATION,
    generations: int = GENERATIONS,
) -> str:
    """Run the simulation-based calibration into `out` (a temporary folder by default).

    Returns:
        Its Markdown section: the command, the time, the coverage table and its sentences.
    """
    out = out or Path(tempfile.mkdtemp(prefix="bench_sbc_"))
    exp = load_experiment(ROOT / "experiments" / "calibrate_field.toml")
    targets_path = ROOT / "targets" / "field.toml"
    began = time.perf_counter()
    _, table = simulation_based_calibration(
        exp, targets_path, load_targets(targets_path), truths=truths, out=out,
        population=population, generations=generations,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    candidates = 0
    for folder in sorted(out.glob("truth*")):
        plan = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
        generations_done = pd.read_csv(folder / "generations.csv")
        candidates += (
            int(generations_done["evaluations"].sum()) + plan["prior_sample"]["candidates"]
        )
    shown = table[["parameter", "truths", "covered50", "low50_expected", "high50_expected",
                   "covered95", "low95_expected", "high95_expected"]]  # fmt: skip
    return "\n".join(
        [
            "## Simulation-based calibration of the field calibration",
            "",
            f"`.venv/bin/python benchmarks/bench_sbc.py --truths {truths} --population "
            f"{population} --generations {generations}`: experiments/calibrate_field.toml "
            f"(8 teams of 12, 6 runs a candidate) against targets/field.toml made by the model "
            f"at {truths} truths drawn from the priors, {population} particles, "
            f"{generations} generations each.",
            "",
            f"- {seconds / 60:.1f} min this time on {os.cpu_count()} cores; {candidates:,} "
            "candidates in all (a truth already calibrated in the folder is read, not run)",
            f"- recoveries in {out}/sbc.csv, coverage in {out}/sbc_coverage.csv",
            "",
            to_markdown(shown),
            "",
            *[f"- {s}" for s in coverage_sentences(table)],
            "",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="where the recoveries go")
    parser.add_argument("--truths", type=int, default=TRUTHS)
    parser.add_argument("--population", type=int, default=POPULATION)
    parser.add_argument("--generations", type=int, default=GENERATIONS)
    args = parser.parse_args()
    print(main(args.out, args.truths, args.population, args.generations))
    sys.stdout.flush()
