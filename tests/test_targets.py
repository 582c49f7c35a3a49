"""Field targets (sim/methods/targets.py): a bad targets file is one line per problem, and each
statistic is computed from the runs the way its label says."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.methods.targets import check, load_targets, model_values
from sim.model.scenario import ScenarioError
from tests.helpers_cli import ROOT

GOOD = """[[targets]]
name = "r"
statistic = "team_correlation"
x = "within_team_trust"
y = "mean_skill"
value = 0.3
se = 0.05
population = "teams"
source = "a paper"
"""


def test_the_shipped_targets_file_loads_with_its_sources() -> None:
    trust, alpha, icc1 = load_targets(ROOT / "targets" / "field.toml")
    assert (trust.statistic, trust.value) == ("team_correlation", 0.30)
    assert "De Jong, Dirks & Gillespie (2016)" in trust.source
    assert (alpha.statistic, alpha.value) == ("survey_alpha", 0.84)
    assert (icc1.statistic, icc1.value) == ("survey_icc1", 0.195)
    for target in (alpha, icc1):
        assert "Ramalho & Porto (2021)" in target.source
        assert target.instrument == "psychological_safety"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("statistic = \"team_correlation\"", 'statistic = "team_corelation"'),
         'statistic = "team_corelation" is not allowed: one of'),
        (('source = "a paper"\n', ""), "source is missing: where the value comes from"),
        (("value = 0.3", "value = 1.5"), "value = 1.5 is impossible for team_correlation"),
        (("se = 0.05", "sd = 0.05"), "unknown key 'sd'"),
        (("se = 0.05\n", ""), "give its uncertainty as se = ... or ci = [low, high]"),
        (("se = 0.05", "ci = [0.4, 0.5]"), "ci = [0.4, 0.5] does not contain value = 0.3"),
        (('x = "within_team_trust"\n', ""), "statistic = 'team_correlation' needs x"),
        (("se = 0.05", "se = -1.0"), "se = -1.0: input should be greater than 0"),
    ],
    ids=["statistic typo", "no source", "impossible r", "typo key", "no uncertainty",
         "ci without value", "incomplete", "negative se"],
)  # fmt: skip
def test_a_bad_target_is_one_line(change: tuple[str, str], message: str, tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_targets(path)
    (line,) = err.value.lines
    assert line.startswith(f"{path}: targets[0] (r): "), line
    assert message in line, line


def test_a_ci_gives_the_standard_error(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(GOOD.replace("se = 0.05", "ci = [0.2, 0.4]"), encoding="utf-8")
    (target,) = load_targets(path)
    assert target.uncertainty == pytest.approx(0.2 / 3.92)


def _tables() -> dict[str, pd.DataFrame]:
    """Two runs by hand: their teams, their summaries and one respondent's answers."""
    results = pd.DataFrame(
        {"run_id": ["a/p0/r0", "a/p0/r1"], "scenario": ["a", "a"], "mean_skill": [0.4, 0.6]}
    )
    teams = pd.DataFrame(
        {
            "run_id": ["a/p0/r0"] * 3 + ["a/p0/r1"] * 3,
            "team": [0, 1, 2] * 2,
            "within_team_trust": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            "mean_skill": [0.3, 0.2, 0.1, 0.6, 0.5, 0.4],
        }
    )
    return {"results": results, "teams": teams, "survey": pd.DataFrame()}


def test_each_statistic_is_what_its_name_says() -> None:
    tables = _tables()
    path_free = {"population": "p", "source": "s", "se": 0.1}
    from sim.methods.targets import Target

    mean = Target(name="m", statistic="outcome_mean", outcome="mean_skill", value=0.5, **path_free)
    value, se, runs = model_values(mean, tables)
    assert (value, runs) == (pytest.approx(0.5), 2)
    assert se == pytest.approx(np.std([0.4, 0.6], ddof=1) / math.sqrt(2))
    corr = Target(
        name="r", statistic="team_correlation", x="within_team_trust", y="mean_skill",
        value=0.3, **path_free,
    )  # fmt: skip
    value, _, runs = model_values(corr, tables)
    pooled = tables["teams"]
    assert value == pytest.approx(
        np.corrcoef(pooled["within_team_trust"], pooled["mean_skill"])[0, 1]
    )
    assert runs == 2
    verdicts = check([mean, corr], tables)
    assert list(verdicts["target"]) == ["m", "r"]
    assert verdicts["verdict"][0] == "reached (within 2 SE)"
    survey = Target(
        name="s", statistic="survey_mean", instrument="psychological_safety", week=4,
        value=5.0, **path_free,
    )  # fmt: skip
    with pytest.raises(ScenarioError, match="no psychological_safety survey at week 4"):
        model_values(survey, tables)


def _cli(monkeypatch: pytest.MonkeyPatch, folder: Path, *args: str) -> int:
    """`trustsim ARGS` in `folder`, in this process (the command line's own entry point)."""
    from sim.cli import main

    monkeypatch.chdir(folder)
    return main(list(args))


def test_compare_with_targets_on_a_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Surveys and teams of a real sweep: the survey mean is the mean of its runs' own."""
    (tmp_path / "s.toml").write_text(
        'preset = "top_down_internal"\nmembers = 24\nlevels = 2\nsteps = 6\n'
        '[[surveys]]\ninstrument = "psychological_safety"\nat = [0, 6]\n',
        encoding="utf-8",
    )
    (tmp_path / "exp.toml").write_text(
        'scenarios = ["s.toml"]\nreplications = 3\nsteps = 6\nkeep_teams = true\n',
        encoding="utf-8",
    )
    assert _cli(monkeypatch, tmp_path, "sweep", "exp.toml", "--out", "out", "--no-report") == 0
    (tmp_path / "t.toml").write_text(
        GOOD + '\n[[targets]]\nname = "ps"\nstatistic = "survey_change"\ninstrument = '
        '"psychological_safety"\nweek = 6\nfrom_week = 0\nvalue = 0.0\nse = 0.2\n'
        'population = "p"\nsource = "s"\n',
        encoding="utf-8",
    )
    assert _cli(monkeypatch, tmp_path, "compare", "out", "--targets", "t.toml") == 0
    table = pd.read_csv(tmp_path / "out" / "targets.csv")
    assert list(table["target"]) == ["r", "ps"]
    assert (table["runs"] == 3).all()
    from sim import simulate
    from sim.experiments import expand, load_experiment
    from sim.model.survey import statistics

    changes = []
    for spec in expand(load_experiment(tmp_path / "exp.toml"), range(3)):
        stats = statistics(simulate(spec.scenario, spec.seed).survey).set_index("week")
        changes.append(stats["scale_mean"][6] - stats["scale_mean"][0])
    assert table["model"][1] == pytest.approx(np.mean(changes))
    assert "| ps |" in (tmp_path / "out" / "targets.md").read_text(encoding="utf-8")
    capsys.readouterr()
    assert _cli(monkeypatch, tmp_path, "compare", "out", "--targets", "missing.toml") == 2
    assert capsys.readouterr().err.strip() == "error: missing.toml: file not found"


# Held-out targets and the keys a calibration reads ---------------------------------------


def test_the_shipped_held_out_file_loads_and_holds_nothing_the_fit_uses() -> None:
    from sim.methods.targets import load_held_out, plausible_range

    fitted = load_targets(ROOT / "targets" / "field.toml")
    held = load_held_out(ROOT / "targets" / "held_out.toml", fitted, "targets/field.toml")
    assert [t.statistic for t in held] == ["survey_rwg", "survey_icc2", "survey_mean"]
    for t in held:
        # each is a stylized fact whose source gives its basis, with a range to judge by
        assert t.stylized
        assert t.source.startswith("stylized fact")
        low, high = plausible_range(t)
        assert low <= t.value <= high
        assert t.plausible is not None  # narrower than every value it could take


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("se = 0.05", "se = 0.05\nplausible = [0.4, 0.6]"),
         "plausible = [0.4, 0.6] is not a range [low, high] holding value = 0.3"),
        (("se = 0.05", "se = 0.05\ndiscrepancy = -0.1"),
         "discrepancy = -0.1: input should be greater than or equal to 0"),
        (("se = 0.05", 'se = 0.05\nstylized = "yes"'), 'stylized = "yes": input should be'),
    ],
    ids=["plausible without value", "negative discrepancy", "stylized not a bool"],
)  # fmt: skip
def test_a_bad_calibration_key_is_one_line(
    change: tuple[str, str], message: str, tmp_path: Path
) -> None:
    path = tmp_path / "t.toml"
    path.write_text(GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_targets(path)
    (line,) = err.value.lines
    assert line.startswith(f"{path}: targets[0] (r): "), line
    assert message in line, line


def test_discrepancy_widens_what_a_calibration_weighs_and_ranges_default_to_the_possible(
    tmp_path: Path,
) -> None:
    from sim.methods.targets import Target, plausible_range

    path = tmp_path / "t.toml"
    path.write_text(GOOD.replace("se = 0.05", "se = 0.03\ndiscrepancy = 0.04"), encoding="utf-8")
    (target,) = load_targets(path)
    assert target.uncertainty == 0.03  # what compare --targets uses: the measurement's SE
    assert target.tolerance == pytest.approx(0.05)  # a calibration: sqrt(0.03^2 + 0.04^2)
    assert plausible_range(target) == (-1.0, 1.0)
    common = {"population": "p", "source": "s", "se": 0.1, "week": 1, "value": 3.0}
    mean = Target(name="m", statistic="survey_mean", instrument="trust_in_coach", **common)
    assert plausible_range(mean) == (1.0, 5.0)  # the instrument's 5 points
    change = Target(name="c", statistic="survey_change", instrument="psychological_safety",
                    from_week=0, **common)  # fmt: skip
    assert plausible_range(change) == (-6.0, 6.0)
    skill = Target(name="k", statistic="outcome_mean", outcome="mean_skill_avg", value=0.5,
                   population="p", source="s", se=0.1)  # fmt: skip
    assert plausible_range(skill) == (0.0, 1.0)
    asks = Target(name="a", statistic="outcome_mean", outcome="asks", value=5.0,
                  population="p", source="s", se=0.1)  # fmt: skip
    assert plausible_range(asks) == (0.0, math.inf)


def test_a_held_out_target_must_be_another_statistic(tmp_path: Path) -> None:
    from sim.methods.targets import load_held_out

    (tmp_path / "fit.toml").write_text(GOOD, encoding="utf-8")
    fitted = load_targets(tmp_path / "fit.toml")
    same_name = GOOD.replace('x = "within_team_trust"', 'x = "components"')
    same_statistic = GOOD.replace('name = "r"', 'name = "r2"').replace("0.3", "0.2")
    other = GOOD.replace('name = "r"', 'name = "r3"').replace(
        'y = "mean_skill"', 'y = "components"'
    )
    for text, words in (
        (same_name, "target r: a fitted target of fit.toml has this name"),
        (same_statistic, "target r2: computes the statistic that fit.toml's r fits"),
    ):
        (tmp_path / "held.toml").write_text(text, encoding="utf-8")
        with pytest.raises(ScenarioError) as err:
            load_held_out(tmp_path / "held.toml", fitted, "fit.toml")
        (line,) = err.value.lines
        assert line == f"{tmp_path / 'held.toml'}: {words}" + line.split(words, 1)[1], line
    (tmp_path / "held.toml").write_text(other, encoding="utf-8")
    assert [t.name for t in load_held_out(tmp_path / "held.toml", fitted, "fit.toml")] == ["r3"]


def test_icc2_is_the_reliability_of_the_team_means_in_each_run() -> None:
    from sim import simulate
    from sim.methods.targets import Target
    from sim.model.scenario import preset
    from sim.model.survey import statistics

    scenario = preset("no_coaching", members=36, team_size=12, levels=2, steps=4,
                      surveys=[{"instrument": "psychological_safety", "at": [4]}])  # fmt: skip
    surveys, icc2 = [], []
    for seed in (1, 2):
        survey = simulate(scenario, seed).survey
        assert survey is not None
        surveys.append(survey.assign(run_id=f"s/r{seed}"))
        icc2.append(statistics(survey)["icc2"][0])
    tables = {
        "results": pd.DataFrame({"run_id": ["s/r1", "s/r2"], "scenario": ["s", "s"]}),
        "survey": pd.concat(surveys, ignore_index=True),
    }
    target = Target(name="i", statistic="survey_icc2", instrument="psychological_safety",
                    week=4, value=0.7, se=0.1, population="p", source="s")  # fmt: skip
    value, se, runs = model_values(target, tables)
    assert value == pytest.approx(np.mean(icc2))
    assert runs == 2
    assert se == pytest.approx(np.std(icc2, ddof=1) / math.sqrt(2))
