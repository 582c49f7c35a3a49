"""The measures' registry (sim.model.measures): one declaration each, read by everyone.

A throwaway measure registered here reaches every consumer: the per-step tables of
`simulate` and of TrustModel's DataCollector (equal), the summaries, the results store,
experiments' default outcomes, figure labels, the workshop's charts and the ODD's
table. The compiled row's layout and the kernels' parameter layout come from named
declarations; no list of measure names stands anywhere else under sim/.
"""

from __future__ import annotations

import importlib.util
import math
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_names import name_lists

from sim import TrustModel, simulate
from sim.experiments.compare import analysed
from sim.experiments.experiment_file import load_experiment
from sim.experiments.store import ResultsStore
from sim.model import kernels, measures, structure
from sim.model.fast import columns
from sim.model.measures import COMPILED, Measure
from sim.model.scenario import Scenario, parameters, preset
from sim.model.state import week_parameters
from sim.reporting import plots
from sim.workshop import exports, play
from sim.workshop.room import debrief
from sim.workshop.room.game import Room

ROOT = Path(__file__).resolve().parent.parent
SIM = ROOT / "sim"

# The throwaway: the gap between mean skill and the weakest tenth's, from the row.
GAP = Measure(
    "skill_gap",
    "skill gap",
    "0-1",
    0.0,
    1.0,
    "mean_skill minus skill_p10",
    missing="never, in this test",
    outcome=4,
    workshop="Gap in skill",
    debrief=5,
    derive=lambda c: c["mean_skill"] - c["skill_p10"],
)
SMALL = Scenario(members=8, steps=6, coach="internal", sponsor="top")


@pytest.fixture
def gap() -> Iterator[Measure]:
    """The throwaway measure registered for one test, and the registry as it was after."""
    before = measures.names()
    measures.register(GAP)
    try:
        yield GAP
    finally:
        measures.unregister(GAP.name)
    assert measures.names() == before


def test_a_derived_measure_is_in_both_per_step_tables_and_they_agree(gap: Measure) -> None:
    run = simulate(SMALL, 3)
    steps = run.steps
    assert list(steps.columns) == ["step", *measures.names()]
    assert steps.columns[-1] == "skill_gap"
    np.testing.assert_array_equal(steps["skill_gap"], steps["mean_skill"] - steps["skill_p10"])
    model = TrustModel(SMALL, rng=3)
    while model.running:
        model.step()
    collected = model.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(collected, steps)
    assert run.summary["skill_gap"] == steps["skill_gap"].iloc[-1]
    assert run.summary["skill_gap_avg"] == pytest.approx(steps["skill_gap"].iloc[1:].mean())
    summary = model.summary()
    assert set(summary) == set(run.summary) == set(measures.summary_keys())
    for key, value in run.summary.items():
        assert summary[key] == value or (math.isnan(summary[key]) and math.isnan(value)), key


def test_a_derived_measure_reaches_store_outcomes_and_labels(gap: Measure, tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "results")
    assert "skill_gap" in store.measures
    assert {"skill_gap", "skill_gap_avg"} <= set(store.summary_keys)
    store.db.close()
    assert measures.default_outcomes()[-1] == "skill_gap"
    assert analysed({})[0] == measures.default_outcomes()
    scenario = tmp_path / "team.toml"
    scenario.write_text('name = "team"\nmembers = 8\n', encoding="utf-8")
    experiment = tmp_path / "no_outcomes.toml"
    experiment.write_text('scenarios = ["team.toml"]\nreplications = 2\n', encoding="utf-8")
    assert load_experiment(experiment).outcomes == measures.default_outcomes()
    assert plots.label("skill_gap") == "skill gap (0-1)"
    assert plots.label("skill_gap_avg") == "skill gap, run mean (0-1)"
    assert plots.outcome_labels()["skill_gap"] == ("skill gap", "0-1")
    assert measures.label_of("skill_gap_avg") == "skill gap, run mean"
    assert "| `skill_gap` | mean_skill minus skill_p10 | 0-1 | 0 to 1 |" in measures.measure_table()


def test_a_derived_measure_reaches_the_cli_summary(
    gap: Measure, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from sim import cli
    from sim.cli.single import summary_rows

    assert ("skill_gap", "skill gap") in summary_rows()
    assert summary_rows()[-2:] == [
        ("time_to_competence", "weeks to competence"),
        ("disintegrated", "a team disintegrated"),
    ]
    out = tmp_path / "run"
    args = ["run", "top_down_internal", "--steps", "4", "--seed", "1", "--out", str(out)]
    assert cli.main(args) == 0
    assert "skill_gap" in (out / "steps.csv").read_text(encoding="utf-8").splitlines()[0]
    row = next(line for line in capsys.readouterr().out.splitlines() if "skill gap" in line)
    run = simulate(preset("top_down_internal", steps=4), 1)
    assert row.split()[-1] == f"{run.summary['skill_gap']:.3f}"


def test_a_derived_measure_reaches_the_workshop_charts(gap: Measure) -> None:
    assert play.measures_shown()["skill_gap"] == "Gap in skill"
    assert debrief.debriefed()[-1] == "skill_gap"
    room = Room(SMALL, 1)  # its table has the new measure's column, filled each week
    room.start()
    while room.phase != "results":
        room.next()
    assert room.table.shape[1] == len(columns())
    assert not np.isnan(room.table[room.week, columns().index("skill_gap")])
    played = play.play(play.Side("team", SMALL), 1, replications=3)
    shown = exports.page_data([played])["measures"]
    assert {"key": "skill_gap", "label": "Gap in skill"} in shown
    line = played.lines["skill_gap"]
    np.testing.assert_array_equal(
        line, played.lines["mean_skill"] - simulate(SMALL, 1).steps["skill_p10"].to_numpy()
    )


def test_register_refuses_a_taken_name_or_a_measure_the_kernel_would_have_to_compute() -> None:
    with pytest.raises(ValueError, match="already registered"):
        measures.register(COMPILED[0])
    with pytest.raises(ValueError, match="derive"):
        measures.register(Measure("new", "new", "0-1", 0.0, 1.0, "a new compiled one"))
    with pytest.raises(ValueError, match="stays"):
        measures.unregister("mean_skill")
    assert measures.names() == tuple(m.name for m in (*COMPILED, *measures.DERIVED))
    assert all(m.derive is None for m in COMPILED)
    assert all(m.derive is not None for m in measures.DERIVED)


def test_the_kernel_writes_each_compiled_measure_at_its_registry_place() -> None:
    places = {name[2:].lower(): getattr(kernels, name) for name in dir(kernels)}
    for c, m in enumerate(COMPILED):
        assert places[m.name] == c, m.name
    constants = [name for name in dir(kernels) if name.startswith("M_")]
    assert len(constants) == len(COMPILED)
    # Each value at its place: a coach's trust is NaN where there is none, and a count
    # is a whole number, whatever the order of the row.
    run = simulate(SMALL.with_(coach="none", sponsor="none"), 5)
    row = run.table[-1, 1:]
    assert math.isnan(row[kernels.M_TRUST_IN_COACH])
    assert row[kernels.M_NEEDS] == run.summary["needs"] == int(row[kernels.M_NEEDS])
    assert row[kernels.M_MEAN_SKILL] == run.summary["mean_skill"]


def test_silence_is_charted_as_its_8_week_mean_from_week_1() -> None:
    steps = np.arange(12)
    values = np.linspace(0.0, 1.0, 12)
    shown = measures.smoothed("silence_rate", values, steps)
    assert shown[0] == values[0]
    expected = pd.Series(values[1:]).rolling(8, min_periods=1).mean().to_numpy()
    np.testing.assert_array_equal(shown[1:], expected)
    np.testing.assert_array_equal(measures.smoothed("mean_skill", values, steps), values)
    assert measures.get("silence_rate").chart_label == "silence rate (8-week mean)"
    assert play.measures_shown()["silence_rate"] == "Needs kept silent (8-week mean)"


def test_default_outcomes_and_the_shipped_experiments() -> None:
    """silence_rate_avg (compare.py's old default): the shipped files all name theirs."""
    assert measures.default_outcomes() == ("mean_skill", "within_team_trust", "silence_rate_avg")
    for path in sorted((ROOT / "experiments").glob("*.toml")):
        assert "outcomes" in tomllib.loads(path.read_text(encoding="utf-8")), path.name


def test_the_odd_table_is_generated_from_the_registry() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "docs" / "gen_tables.py")
    assert spec is not None
    assert spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    assert gen.render(odd) == odd, "stale: run .venv/bin/python docs/gen_tables.py"
    for m in measures.registered():
        assert f"| `{m.name}` | {m.definition} | {m.unit} | {m.range_text}" in odd, m.name


def test_role_codes_and_parameter_layout_are_declared_once() -> None:
    assert kernels.MANAGER is structure.MANAGER
    assert structure.ROLE_NAMES == {0: "member", 1: "manager", 2: "coach"}
    assert (structure.MEMBER, structure.MANAGER, structure.COACH) == (0, 1, 2)
    assert (kernels.N_FLOAT_PARAMS, kernels.N_INT_PARAMS) == (22, 10)
    assert set(kernels.FLOAT_PARAMS) <= set(parameters())
    p = Scenario(trust_gain=0.11, bond_threshold=0.45, sponsor_start=9, coach="internal")
    f, i = week_parameters(p, 12, 13)
    assert f[kernels.F_TRUST_GAIN] == 0.11
    assert f[kernels.F_BOND_THRESHOLD] == 0.45
    assert f[kernels.F_SELECTIVITY] == p.trust_selectivity
    assert (i[kernels.I_SPONSOR_START], i[kernels.I_HAS_COACH]) == (9, 1)
    assert (i[kernels.I_MEMBERS], i[kernels.I_STAFF]) == (12, 13)
    q = Scenario(voice_rule="general", success_rule="weakest", team_climate=0.2)
    f, i = week_parameters(q, 12, 13)
    assert f[kernels.F_TEAM_CLIMATE] == 0.2
    assert (i[kernels.I_CHOICE_RULE], i[kernels.I_VOICE_RULE]) == (0, kernels.GENERAL)
    assert i[kernels.I_SUCCESS_RULE] == kernels.WEAKEST
    assert kernels.N_SERVE_PARAMS == kernels.F_GOSSIP_WEIGHT + 1 == 11


# Collections of two or more measure names that are not a list of measures, by file.
NOT_LISTS = {
    # the week's counters (the state), three of which the measures report
    ("sim/model/kernels.py", ("needs", "asks", "breaches")),
    # a room's tallies of what its participants did
    ("sim/workshop/room/core.py", ("needs", "asks")),
    # a statistic's inputs: a team's trust against its skill; trust in coach and managers
    ("sim/methods/comparison.py", ("within_team_trust", "mean_skill")),
    ("sim/methods/validation.py", ("trust_in_coach", "trust_in_managers")),
    # the story's chapters, each naming the one measure its question is about
    ("sim/workshop/story.py", ("mean_skill", "trust_in_coach", "within_team_trust")),
}


def measure_lists(folder: Path = SIM) -> set[tuple[str, tuple[str, ...]]]:
    """Each place under `folder` (not the registry) naming 2 measures or run outcomes or more."""
    names = {*measures.names(), *(f"{m}_avg" for m in measures.names()), *measures.RUN_OUTCOMES}
    return name_lists(folder, names, skip={SIM / "model" / "measures.py"})


def test_no_list_of_measure_names_stands_outside_the_registry() -> None:
    found = measure_lists()
    stray = sorted(found - NOT_LISTS)
    assert not stray, f"lists of measure names outside sim/model/measures.py: {stray}"
    assert found >= NOT_LISTS, "an allowed collection is gone: remove it from NOT_LISTS"


def test_the_scan_finds_lists_of_measure_names(tmp_path: Path) -> None:
    (tmp_path / "front").mkdir()
    (tmp_path / "front" / "charts.py").write_text(
        'SHOWN = {"mean_skill": "Skill", "silence_rate_avg": "Silence"}\n'
        'ONE = ("mean_skill", "step")\n'
        'def f():\n    return ["trust_in_coach", "breaches"]\n'
        'ROWS = [("skill_p10", "weakest"), ("skill_gini", "Gini")]\n'
        'BY_LABEL = {"Trust": "mean_trust", "Ties": "fragmentation"}\n'
        'def g(k):\n    if k == "needs":\n        return 1\n'
        '    elif k == "asks":\n        return 2\n'
        'ENDS = ("time_to_competence", "disintegrated")\n'
        '"""a docstring naming mean_skill and skill_p10 is not a list"""\n',
        encoding="utf-8",
    )
    assert measure_lists(tmp_path / "front") == {
        ("front/charts.py", ("mean_skill", "silence_rate_avg")),
        ("front/charts.py", ("trust_in_coach", "breaches")),
        ("front/charts.py", ("skill_p10", "skill_gini")),
        ("front/charts.py", ("mean_trust", "fragmentation")),
        ("front/charts.py", ("needs", "asks")),
        ("front/charts.py", ("time_to_competence", "disintegrated")),
    }
