"""The sweep runner: its overhead against a plain loop, and its speed-up from 1 to 2 workers.

Targets (issue 3): overhead under 10%; speed-up from 1 to 2 workers at least 1.8.
The work is sponsorship_vs_peer (six presets, 12 members, 104 weeks) at a given
number of replications. "Plain loop" runs the same models one after another in this
process with no store; the runner adds seeds, the SQLite store, per-step rows and the
manifest. Speed-up uses the same runner with 1 and 2 worker processes (process start
included; the workers are forked from the runner, which has imported the model).
Run: `make bench` or `.venv/bin/python benchmarks/bench_runner.py`.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

from sim.experiments import expand, load_experiment, run, run_trust_model

EXPERIMENT = Path(__file__).resolve().parent.parent / "experiments" / "sponsorship_vs_peer.toml"


def plain_loop(replications: int) -> float:
    """Seconds to run the experiment's models in a plain loop (no runner, no store)."""
    exp = load_experiment(EXPERIMENT)
    specs = expand(exp, range(replications))
    started = time.perf_counter()
    for spec in specs:
        run_trust_model(spec.scenario, spec.seed, exp.keep_steps)
    return time.perf_counter() - started


def runner(replications: int, workers: int) -> float:
    """Seconds for `run()` on the same experiment into a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        run(
            EXPERIMENT,
            out=Path(tmp) / "out",
            workers=workers,
            replications=replications,
            progress=False,
        )
        return time.perf_counter() - started


def main(replications: int = 200, rounds: int = 2) -> str:
    """Return a Markdown report.

    The three ways are run in turns, `rounds` times, and each keeps its best time: on a
    shared machine the speed drifts, and turns keep the drift out of the ratios.
    """
    run_trust_model(load_experiment(EXPERIMENT).scenarios[0], 0, 1)  # warm-up (numba)
    n = 6 * replications
    best = {"loop": math.inf, "one": math.inf, "two": math.inf}
    for _ in range(rounds):
        best["loop"] = min(best["loop"], plain_loop(replications))
        best["one"] = min(best["one"], runner(replications, 1))
        best["two"] = min(best["two"], runner(replications, 2))
    loop, one, two = best["loop"], best["one"], best["two"]
    return (
        "\n".join(
            [
                "## Sweep runner (sponsorship_vs_peer)",
                "",
                f"{n} runs ({replications} replications of 6 scenarios, every step kept), "
                f"{os.cpu_count()} cores; best of {rounds} turns of each.",
                "",
                "| measure | value | target |",
                "|---|---|---|",
                f"| plain loop | {loop:.1f} s ({n / loop:.0f} runs/s) | |",
                f"| runner, 1 worker | {one:.1f} s ({n / one:.0f} runs/s) | |",
                f"| runner overhead over the plain loop | {100 * (one / loop - 1):+.0f}% | < 10% |",
                f"| runner, 2 workers | {two:.1f} s ({n / two:.0f} runs/s) | |",
                f"| speed-up from 1 to 2 workers | {one / two:.2f}x | >= 1.8x |",
            ]
        )
        + "\n"
    )


if __name__ == "__main__":
    print(main())
