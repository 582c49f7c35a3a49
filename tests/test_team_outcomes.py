"""Team-level outcomes in sweeps (keep_teams): each run's teams at the last week, stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers_cli import trustsim

from sim.experiments import run
from sim.experiments.compare import comparison, load_results
from sim.experiments.store import ResultsStore
from sim.model.fast import simulate
from sim.model.scenario import ScenarioError, preset

EXP = """# Does a team's trust go with its learning, across teams?
scenarios = ["top_down_internal", "peer_led"]
replications = 4
seed = 5
steps = 30
keep_steps = 0
keep_teams = true
outcomes = ["mean_skill"]
[parameters]
members = 48
levels = 3
"""


def test_the_last_weeks_teams_add_up_to_the_runs_measures() -> None:
    scenario = preset("peer_led", steps=20, members=48, levels=3)
    r = simulate(scenario, 11, team_table=True)
    last = r.last_teams
    assert last is not None
    assert len(last) == r.n_teams == 12
    teams = r.teams
    assert teams is not None
    at_end = teams[teams["step"] == 20].reset_index(drop=True)
    for column in ("within_team_trust", "components", "largest_component_share"):
        assert last[column].tolist() == at_end[column].tolist()
    sizes = np.bincount(front_line_teams(scenario), minlength=r.n_teams)
    weighted = float((last["mean_skill"] * sizes).sum() / sizes.sum())
    assert weighted == pytest.approx(r.summary["mean_skill"], rel=1e-12)


def front_line_teams(scenario: object) -> np.ndarray:
    """Each front-line member's team (the people the run's mean_skill is over)."""
    from sim.model.structure import build_organization

    org = build_organization(scenario.members, scenario.levels, False)  # type: ignore[attr-defined]
    return org.team[: org.n_members]


def test_a_sweep_keeps_the_teams_of_every_run_and_correlates_them(tmp_path: Path) -> None:
    path = tmp_path / "teams.toml"
    path.write_text(EXP, encoding="utf-8")
    out = tmp_path / "out"
    report = run(path, out=out, workers=1, progress=False)
    assert report.done == 8
    store = ResultsStore(out)
    try:
        teams = store.table("teams")
        runs = store.table("runs").set_index("run_id")
    finally:
        store.close()
    assert teams.groupby("run_id").size().tolist() == [12] * 8
    one = "peer_led/p0/r2"
    again = simulate(
        preset("peer_led", steps=30, members=48, levels=3),
        int(runs.loc[one, "seed"]),
        team_table=True,
    ).last_teams
    assert again is not None
    stored = teams[teams["run_id"] == one].sort_values("team")
    assert stored["mean_skill"].tolist() == again["mean_skill"].tolist()
    comp = comparison(load_results(out))
    (peer,) = [s for s in comp.teams if s.startswith("peer_led:")]
    mine = teams[teams["run_id"].str.startswith("peer_led/")]
    r = np.corrcoef(mine["within_team_trust"], mine["mean_skill"])[0, 1]
    assert peer.startswith(f"peer_led: r = {r:.2f} [")
    assert "(48 teams in 4 runs)" in peer
    exported = trustsim("export", str(out), "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    assert (out / "export" / "teams.csv").read_text().count("\n") == 8 * 12 + 1


def test_keep_teams_changes_the_plan_and_needs_the_trust_model(tmp_path: Path) -> None:
    path = tmp_path / "teams.toml"
    path.write_text(EXP.replace("replications = 4", "replications = 1"), encoding="utf-8")
    out = tmp_path / "out"
    run(path, out=out, workers=1, progress=False)
    path.write_text(path.read_text().replace("keep_teams = true", "keep_teams = false"))
    with pytest.raises(ScenarioError, match="keep_teams True before, False now"):
        run(path, out=out, workers=1, progress=False, resume=True)
    other = tmp_path / "ishigami.toml"
    other.write_text('model = "ishigami"\nreplications = 2\nkeep_teams = true\n')
    result = trustsim("validate", str(other))
    assert result.returncode == 2
    assert "keep_teams = true: only the trust model has teams" in result.stderr
