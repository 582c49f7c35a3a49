"""Outcomes defined in an experiment file ([define.NAME]): values, runs, errors, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers_cli import trustsim

from sim.experiments import load_experiment, run
from sim.experiments.adapters import run_trust_model
from sim.experiments.compare import comparison, load_results
from sim.experiments.defined import Defined, DefinedRun
from sim.model.fast import simulate
from sim.model.measures import MEASURES
from sim.model.scenario import ScenarioError, preset


def _table(values: list[float]) -> np.ndarray:
    """Weeks 0.. with mean_skill = values (the other measures 0)."""
    table = np.zeros((len(values), 1 + len(MEASURES)))
    table[:, 0] = np.arange(len(values))
    table[:, 1 + MEASURES.index("mean_skill")] = values
    return table


def _value(**kw: object) -> float:
    return Defined.model_validate({"measure": "mean_skill", **kw}).value(
        _table([0.1, 0.3, 0.2, 0.6, 0.5])
    )


def test_each_stat_on_a_table_worked_by_hand() -> None:
    assert _value(stat="at", at=3) == pytest.approx(0.6)
    assert np.isnan(_value(stat="at", at=9))  # a week the run does not have
    assert _value(stat="min") == pytest.approx(0.2)  # weeks 1 to the end: week 0 is not in
    assert _value(stat="max", **{"from": 0, "to": 2}) == pytest.approx(0.3)
    assert _value(stat="mean", **{"from": 2, "to": 4}) == pytest.approx((0.2 + 0.6 + 0.5) / 3)
    # Trapezoids over weeks 1-4: (0.3+0.2)/2 + (0.2+0.6)/2 + (0.6+0.5)/2 = 1.2
    assert _value(stat="area") == pytest.approx(1.2)
    assert _value(stat="first", threshold=0.5) == 3
    assert _value(stat="first", threshold=0.1, below=True) == 0  # week 0 counts
    assert np.isnan(_value(stat="first", threshold=0.9))  # never: censored


def test_a_defined_run_computes_from_every_week_and_keeps_what_was_asked() -> None:
    scenario = preset("peer_led", steps=30)
    defs = (
        ("low", Defined(measure="within_team_trust", stat="min")),
        ("at_10", Defined(measure="mean_skill", stat="at", at=10)),
    )
    summary, rows = DefinedRun(run_trust_model, defs)(scenario, 7, 4)
    full = simulate(scenario, 7, keep_steps=True)
    kept = simulate(scenario, 7, keep_steps=4)
    np.testing.assert_array_equal(rows, kept.table)  # the kept weeks, as without definitions
    assert summary["low"] == full.steps["within_team_trust"].iloc[1:].min()
    assert summary["at_10"] == full.steps["mean_skill"].iloc[10]
    rest = {k: v for k, v in summary.items() if k not in ("low", "at_10")}
    assert rest.keys() == full.summary.keys()
    for key, value in full.summary.items():  # the model's own outcomes, unchanged
        assert rest[key] == value or (np.isnan(rest[key]) and np.isnan(value)), key


EXP = """scenarios = ["top_down_internal", "peer_led"]
replications = 6
seed = 2
steps = 40
keep_steps = 0
outcomes = ["skill_20", "weeks_to_trust"]

[define.skill_20]
measure = "mean_skill"
stat = "at"
at = 20

[define.weeks_to_trust]
measure = "within_team_trust"
stat = "first"
threshold = 0.55
"""


def test_defined_outcomes_are_stored_compared_and_censored(tmp_path: Path) -> None:
    path = tmp_path / "defined.toml"
    path.write_text(EXP, encoding="utf-8")
    out = tmp_path / "out"
    report = run(path, out=out, workers=1, progress=False)
    assert report.done == 12
    tables = load_results(out)
    values = tables.results.set_index(["scenario", "replication"])
    again = simulate(preset("peer_led", steps=40), int(tables.runs["seed"].iloc[0]))
    first = values.loc[("peer_led", 0)]
    assert first["skill_20"] == again.steps["mean_skill"].iloc[20]
    comp = comparison(tables)
    said = " ".join(comp.sentences())
    assert "skill_20 (mean_skill at week 20)" in said
    assert "weeks_to_trust (the first week within_team_trust reaches 0.55, restricted mean" in said
    assert "weeks_to_trust" in comp.censored_outcomes
    never = values["weeks_to_trust"].isna().groupby(level="scenario").sum()
    for name, count in never.items():
        assert f"{name} {count} of 6" in comp.censored
    # Restricted: a run that never got there counts as week 40 in the means.
    mean = comp.desc.set_index(["scenario", "outcome"]).loc[("peer_led", "weeks_to_trust")]
    assert mean["mean"] == pytest.approx(values.loc["peer_led", "weeks_to_trust"].fillna(40).mean())


def test_a_changed_definition_cannot_resume_the_store(tmp_path: Path) -> None:
    path = tmp_path / "defined.toml"
    path.write_text(EXP.replace("replications = 6", "replications = 1"), encoding="utf-8")
    out = tmp_path / "out"
    run(path, out=out, workers=1, progress=False)
    path.write_text(
        EXP.replace("replications = 6", "replications = 1").replace("at = 20", "at = 30"),
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match="cannot resume: these results were run differently"):
        run(path, out=out, workers=1, progress=False, resume=True)


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('measure = "mean_skil"\nstat = "min"', 'is not a measure (did you mean "mean_skill"?)'),
        ('measure = "mean_skill"\nstat = "median"', "is not allowed: one of at, min, max"),
        ('measure = "mean_skill"\nstat = "at"', 'at = WEEK goes with stat = "at"'),
        ('measure = "mean_skill"\nstat = "at"\nat = 80', "reads week 80, after the last week (40)"),
        ('measure = "mean_skill"\nstat = "first"', 'threshold goes with stat = "first"'),
        ('measure = "mean_skill"\nstat = "min"\nwhen = 3', "define.x.when is not a definition key"),
    ],
)
def test_a_bad_definition_is_one_clear_line(tmp_path: Path, table: str, said: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'scenarios = ["peer_led"]\nreplications = 2\nsteps = 40\noutcomes = ["x"]\n'
        f"[define.x]\n{table}\n",
        encoding="utf-8",
    )
    result = trustsim("validate", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert said in lines[0]
    assert lines[0].startswith(f"error: {path}: define.x")


def test_a_definition_may_not_take_a_models_outcome_name(tmp_path: Path) -> None:
    path = tmp_path / "clash.toml"
    path.write_text(
        'scenarios = ["peer_led"]\nreplications = 2\noutcomes = ["mean_skill"]\n'
        '[define.mean_skill]\nmeasure = "mean_skill"\nstat = "max"\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match="mean_skill is already one of the model's outcomes"):
        load_experiment(path)
