"""Do this checkout's runs equal an earlier commit's, to the last bit? (a regression check)

Runs a fixed set of cases (every scenario file, large ones at 300 members; every
preset under both trust rules at 1 and 3 levels with turnover and skill decay; three
seeds each) with the TrustModel of a checkout of an earlier commit, in a separate
process, and compares its per-step tables, summaries and team tables with this
checkout's `simulate` and stepped `TrustModel`, exactly. Use it before and after
changing the compiled week or the set-up: the numbers must not move unless the model
is meant to change.

    git worktree add /tmp/before 754025f
    .venv/bin/python benchmarks/same_as_commit.py /tmp/before

Prints the differing cases and "N of M cases differ"; exit code 1 when any does.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEEDS = (0, 1, 7)


def cases(root: Path) -> list[tuple[str, Any]]:
    """The cases, as (label, Scenario), built with the `sim` of `root`."""
    try:
        from sim.model.scenario import PRESETS, Scenario
        from sim.model.scenario_files import load_scenario
    except ImportError:  # a checkout from before sim/ had folders
        from sim.scenario import PRESETS, Scenario, load_scenario  # type: ignore[no-redef]

    out = []
    for path in sorted((root / "scenarios").glob("*.toml")):
        scenario = load_scenario(path)
        out.append(
            (path.name, scenario.with_(members=300) if scenario.members > 2000 else scenario)
        )
    for name, switches in PRESETS.items():
        for rule in ("asymmetric", "beta"):
            for levels in (1, 3):
                scenario = Scenario(
                    **switches,
                    trust_rule=rule,
                    levels=levels,
                    members=23,
                    turnover_rate=0.02,
                    steps=40,
                    skill_decay=0.01,
                )
                out.append((f"{name}-{rule}-{levels}", scenario))
    return out


def record(root: Path, out: Path) -> None:
    """In the earlier checkout's process: every case's tables and summary, pickled."""
    try:
        from sim.model.trust_model import TrustModel
    except ImportError:  # a checkout from before sim/ had folders
        from sim.model import TrustModel  # type: ignore[no-redef]

    runs = {}
    for label, scenario in cases(root):
        for seed in SEEDS:
            model = TrustModel(scenario, rng=seed)
            while model.running:
                model.step()
            teams = model.datacollector.get_table_dataframe("teams") if model.team_table else None
            runs[(label, seed)] = (
                model.datacollector.get_model_vars_dataframe(),
                model.summary(),
                teams,
            )
    out.write_bytes(pickle.dumps(runs))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def compare(before: Path) -> int:
    """Record the earlier commit's runs, compare them with this checkout's; count differences."""
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from sim.model.fast import simulate
    from sim.model.trust_model import TrustModel

    with tempfile.TemporaryDirectory() as tmp:
        pickled = Path(tmp) / "before.pkl"
        subprocess.run(
            [sys.executable, __file__, "--record", str(before), str(pickled)],
            check=True,
            cwd=before,
        )
        runs = pickle.loads(pickled.read_bytes())
    differ = 0
    for label, scenario in cases(ROOT):
        for seed in SEEDS:
            steps, summary, teams = runs[(label, seed)]
            model = TrustModel(scenario, rng=seed)
            while model.running:
                model.step()
            fast = simulate(scenario, seed, team_table=None)
            sides = (
                ("TrustModel", model.datacollector.get_model_vars_dataframe(), model.summary()),
                ("simulate", fast.steps, fast.summary),
            )
            problems = []
            for side, frame, summ in sides:
                try:
                    pd.testing.assert_frame_equal(frame, steps, check_exact=True)
                except AssertionError:
                    problems.append(f"{side}: per-step table")
                if list(summ) != list(summary) or not all(
                    _same(summ[k], v) for k, v in summary.items()
                ):
                    problems.append(f"{side}: summary")
            if teams is not None:
                for side, frame in (
                    ("TrustModel", model.datacollector.get_table_dataframe("teams")),
                    ("simulate", fast.teams),
                ):
                    try:
                        pd.testing.assert_frame_equal(frame, teams, check_exact=True)
                    except AssertionError:
                        problems.append(f"{side}: team table")
            if problems:
                differ += 1
                print(f"{label}, seed {seed}: {'; '.join(problems)}")
    total = len(runs)
    print(f"{differ} of {total} cases differ from {before}")
    return differ


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--record":
        sys.path.insert(0, sys.argv[2])
        record(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) == 2:
        sys.exit(1 if compare(Path(sys.argv[1]).resolve()) else 0)
    else:
        print("usage: same_as_commit.py CHECKOUT_OF_AN_EARLIER_COMMIT", file=sys.stderr)
        sys.exit(2)
