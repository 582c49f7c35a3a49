"""Evidence on coaching as targets (targets/coaching.toml): its two statistic kinds of
sim/methods/targets.py, smd and team_survey_correlation, each against a computation of
its own on tables made by hand, their errors one clear line, and the shipped file."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiments import load_experiment
from sim.methods.targets import (
    Target,
    load_targets,
    model_values,
    standardized_difference,
    team_survey_correlation,
)
from sim.model.scenario import ScenarioError
from sim.model.scenario_files import load_scenario
from tests.helpers_cli import ROOT

SOURCE = {"population": "p", "source": "s", "se": 0.1}


def smd_target(**keys: object) -> Target:
    fields = {"name": "d", "statistic": "smd", "outcome": "mean_skill", "control": "none",
              "value": 0.3, **SOURCE, **keys}  # fmt: skip
    return Target(**fields)  # type: ignore[arg-type]


def member_tables(seed: int = 3) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Three replications of a control arm and two coached scenarios, members by hand."""
    rng = np.random.default_rng(seed)
    runs, members = [], []
    for rep in range(3):
        for scenario, shift, n in (("none", 0.0, 9), ("inside", 0.05, 8), ("outside", 0.02, 10)):
            run_id = f"{scenario}/r{rep}"
            runs.append({"run_id": run_id, "scenario": scenario, "point": 0, "replication": rep})
            skill = rng.normal(0.5 + shift, 0.08, n)
            coach = np.zeros(n, dtype=bool)
            if scenario == "inside":
                skill[0], coach[0] = 0.99, True  # the internal coach: no coachee
            members += [
                {"run_id": run_id, "skill": s, "is_coach": c}
                for s, c in zip(skill, coach, strict=True)
            ]
    results = pd.DataFrame(runs)
    table = pd.DataFrame(members)
    return {"results": results, "members": table}, table


def delta_by_hand(table: pd.DataFrame, results: pd.DataFrame, treated: set[str]) -> list[float]:
    """Per replication: every treated member pooled against every control member."""
    rows = table[~table["is_coach"]].merge(results, on="run_id")
    out = []
    for _, rep in rows.groupby("replication"):
        t = rep.loc[rep["scenario"].isin(treated), "skill"].to_numpy()
        c = rep.loc[rep["scenario"] == "none", "skill"].to_numpy()
        within = ((t - t.mean()) ** 2).sum() + ((c - c.mean()) ** 2).sum()
        out.append((t.mean() - c.mean()) / math.sqrt(within / (len(t) + len(c))))
    return out


def test_smd_over_members_is_the_per_replication_effect_size_averaged() -> None:
    tables, table = member_tables()
    results = tables["results"]
    for keys, treated in (({}, {"inside", "outside"}), ({"scenario": "outside"}, {"outside"})):
        by_hand = delta_by_hand(table, results, treated)
        target = smd_target(outcome="skill", **keys)
        value, se, runs = model_values(target, tables)
        assert value == pytest.approx(np.mean(by_hand), rel=1e-12)
        assert se == pytest.approx(stats.sem(by_hand), rel=1e-12)
        assert runs == 3 * (1 + len(treated))
    # the internal coach (skill 0.99) is no coachee: left out, unless not marked as coach
    unmarked = table.assign(is_coach=False)
    value = model_values(smd_target(outcome="skill"), {**tables, "members": unmarked})[0]
    assert value == pytest.approx(np.mean(delta_by_hand(unmarked, results, {"inside", "outside"})))
    assert value != pytest.approx(model_values(smd_target(outcome="skill"), tables)[0])


def gini(x: np.ndarray) -> float:
    """Gini coefficient as the mean absolute difference over all pairs, over twice the mean."""
    return float(np.abs(x[:, None] - x[None, :]).mean() / (2 * x.mean()))


def test_smd_from_run_summaries_spreads_mean_skill_by_its_gini() -> None:
    """Without members' values: each run's sd is that of a normal with the run's Gini."""
    rng = np.random.default_rng(11)
    rows, exact = [], []
    for rep in range(4):
        arms = {}
        for scenario, mean in (("none", 0.55), ("coached", 0.58)):
            skill = rng.normal(mean, 0.06, 1500)
            arms[scenario] = skill
            rows.append(
                {"run_id": f"{scenario}/r{rep}", "scenario": scenario, "point": 0,
                 "replication": rep, "mean_skill": skill.mean(), "skill_gini": gini(skill)}
            )  # fmt: skip
        t, c = arms["coached"], arms["none"]
        exact.append((t.mean() - c.mean()) / math.sqrt((t.var() + c.var()) / 2))
    results = pd.DataFrame(rows)
    value, se, runs = model_values(smd_target(), {"results": results})
    # by hand, with the normal's sd from the Gini: G * mean * sqrt(pi)
    sd = results["skill_gini"] * results["mean_skill"] * math.sqrt(math.pi)
    by_rep = results.assign(var=sd**2).groupby(["replication", "scenario"])[["mean_skill", "var"]]
    wide = by_rep.first().unstack("scenario")
    by_hand = (wide["mean_skill"]["coached"] - wide["mean_skill"]["none"]) / np.sqrt(
        (wide["var"]["coached"] + wide["var"]["none"]) / 2
    )
    assert value == pytest.approx(by_hand.mean(), rel=1e-12)
    assert se == pytest.approx(stats.sem(by_hand), rel=1e-12)
    assert runs == 8
    # and, skills being normal, it is the members' own effect size within 2%
    assert value == pytest.approx(np.mean(exact), rel=0.02)


def survey_tables() -> dict[str, pd.DataFrame]:
    """Two coached runs of three teams with a trust_in_coach wave at week 8, and a run
    without a coach (no such survey: it adds no team)."""
    rng = np.random.default_rng(5)
    results = pd.DataFrame(
        {"run_id": ["c/r0", "c/r1", "n/r0"], "scenario": ["c", "c", "n"], "replication": [0, 1, 0]}
    )
    answers, teams = [], []
    for run_id in ("c/r0", "c/r1", "n/r0"):
        for team in range(3):
            skill = rng.uniform(0.3, 0.7)
            teams.append(
                {
                    "run_id": run_id,
                    "team": float(team),
                    "mean_skill": skill,
                    "within_team_trust": 0.5,
                }
            )
            if run_id.startswith("n"):
                continue
            for respondent in range(team * 4, team * 4 + 4):
                for item in range(1, 5):
                    answers.append({"run_id": run_id, "week": 8, "instrument": "trust_in_coach",
                                    "team": team, "respondent": respondent, "item": item,
                                    "answer": int(rng.integers(1, 6)), "latent": 0.5})  # fmt: skip
    return {"results": results, "teams": pd.DataFrame(teams), "survey": pd.DataFrame(answers)}


def survey_target(**keys: object) -> Target:
    fields = {"name": "r", "statistic": "team_survey_correlation", "instrument": "trust_in_coach",
              "week": 8, "y": "mean_skill", "value": 0.4, **SOURCE, **keys}  # fmt: skip
    return Target(**fields)  # type: ignore[arg-type]


def test_team_survey_correlation_is_pearsons_r_of_scored_team_means() -> None:
    tables = survey_tables()
    survey = tables["survey"]
    # trust_in_coach: five points, items 1 and 3 reverse-keyed (docs/ODD.md)
    score = survey["answer"].where(~survey["item"].isin([1, 3]), 6 - survey["answer"])
    person = survey.assign(score=score).groupby(["run_id", "team", "respondent"])["score"].mean()
    team = person.groupby(level=["run_id", "team"]).mean().rename("score").reset_index()
    merged = team.merge(tables["teams"].astype({"team": int}), on=["run_id", "team"])
    value, se, runs = model_values(survey_target(), tables)
    assert value == pytest.approx(stats.pearsonr(merged["score"], merged["mean_skill"])[0])
    assert runs == 2  # the run without the survey adds no team
    assert 0 < se < 1
    assert team_survey_correlation(survey_target(), tables, with_se=False)[1] != se
    # only the runs of its scenario
    alone = model_values(survey_target(scenario="c"), tables)
    assert alone[0] == pytest.approx(value)


@pytest.mark.parametrize(
    ("keys", "change", "message"),
    [
        ({"control": "nobody"}, None, "no run of control scenario 'nobody'"),
        ({"scenario": "none"}, None, "scenario and control are both 'none'"),
        ({"scenario": "elsewhere"}, None, "no run of 'elsewhere'"),
        ({}, "one_replication_each", "no replication has runs of both arms"),
        ({"outcome": "trust"}, None, "outcome 'trust' is not a column of the members table"),
        ({"outcome": "within_team_trust"}, "no_members",
         "needs each member's value (a members table)"),
        ({}, "no_replication", "no replication column to pair them by"),
    ],
    ids=["no control", "control is scenario", "no treated", "unpaired", "unknown column",
         "no members", "no replication"],
)  # fmt: skip
def test_smd_errors_say_what_is_missing(keys: dict, change: str | None, message: str) -> None:
    tables, _ = member_tables()
    if change == "one_replication_each":
        results = tables["results"]
        keep = (results["scenario"] == "none") & (results["replication"] == 0)
        keep |= (results["scenario"] != "none") & (results["replication"] > 0)
        tables["results"] = results[keep]
    elif change == "no_members":
        tables = {"results": tables["results"].assign(mean_skill=0.5, skill_gini=0.1)}
    elif change == "no_replication":
        tables["results"] = tables["results"].drop(columns="replication")
    with pytest.raises(ScenarioError) as err:
        standardized_difference(smd_target(**{"outcome": "skill", **keys}), tables)
    (line,) = err.value.lines
    assert line.startswith("target d: "), line
    assert message in line, line


@pytest.mark.parametrize(
    ("keys", "change", "message"),
    [
        ({}, "no_teams", "the sweep kept no teams (set keep_teams = true)"),
        ({"week": 4}, None, "no trust_in_coach survey at week 4 in these runs"),
        ({}, "later_wave", "the teams table holds the last week, and these runs' last survey "
                           "wave is week 9"),
        ({"scenario": "c"}, "one_run", "fewer than 3 teams to correlate"),
    ],
    ids=["no teams", "no such wave", "not the last wave", "too few teams"],
)  # fmt: skip
def test_team_survey_correlation_errors_say_what_is_missing(
    keys: dict, change: str | None, message: str
) -> None:
    tables = survey_tables()
    if change == "no_teams":
        tables["teams"] = pd.DataFrame()
    elif change == "later_wave":
        later = tables["survey"].assign(week=9, instrument="psychological_safety")
        tables["survey"] = pd.concat([tables["survey"], later])
    elif change == "one_run":
        tables["teams"] = tables["teams"][tables["teams"]["team"] < 2]
        tables["results"] = tables["results"][tables["results"]["run_id"] == "c/r0"]
    with pytest.raises(ScenarioError) as err:
        team_survey_correlation(survey_target(**keys), tables)
    (line,) = err.value.lines
    assert line.startswith("target r: "), line
    assert message in line, line


GOOD = """[[targets]]
name = "d"
statistic = "smd"
outcome = "mean_skill"
control = "field_teams"
value = 0.28
se = 0.12
population = "coachees"
source = "a meta-analysis"
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('control = "field_teams"\n', ""), "statistic = 'smd' needs control"),
        (("control =", "contrl ="), "unknown key 'contrl'"),
        (('statistic = "smd"', 'statistic = "team_survey_correlation"'),
         "statistic = 'team_survey_correlation' needs instrument, y, week"),
        (('statistic = "smd"\noutcome = "mean_skill"\ncontrol = "field_teams"\nvalue = 0.28',
          'statistic = "team_survey_correlation"\ninstrument = "trust_in_coach"\n'
          'y = "mean_skill"\nweek = 104\nvalue = 1.2'),
         "value = 1.2 is impossible for team_survey_correlation (from -1.0 to 1.0)"),
    ],
    ids=["no control", "typo", "incomplete", "impossible r"],
)  # fmt: skip
def test_a_bad_evidence_target_is_one_line(
    change: tuple[str, str], message: str, tmp_path: Path
) -> None:
    path = tmp_path / "t.toml"
    path.write_text(GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_targets(path)
    (line,) = err.value.lines
    assert line.startswith(f"{path}: targets[0] (d): "), line
    assert message in line, line


def test_the_coaching_targets_load_with_sources_and_name_the_experiments_scenarios() -> None:
    skill, alliance = load_targets(ROOT / "targets" / "coaching.toml")
    assert (skill.statistic, skill.value, skill.uncertainty) == ("smd", 0.28, 0.12)
    assert "Jones, Woods & Guillaume (2016)" in skill.source
    assert (alliance.statistic, alliance.value, alliance.instrument) == (
        "team_survey_correlation", 0.41, "trust_in_coach"
    )  # fmt: skip
    assert "Graßmann, Schölmerich & Schermuly (2020)" in alliance.source
    text = (ROOT / "targets" / "coaching.toml").read_text(encoding="utf-8")
    assert "skill-based δ = 0.28" in text  # the sentences quoted
    assert "r =.41" in text
    exp = load_experiment(ROOT / "experiments" / "calibrate_evidence.toml")
    names = {s.name: s for s in exp.scenarios}
    assert names[skill.control].coach == "none"
    coached = [s for s in exp.scenarios if s.name != skill.control]
    assert {s.coach for s in coached} == {"internal", "external"}
    for s in coached:  # every coached arm is asked about its coach at the target's week
        assert any(v.instrument == "trust_in_coach" and alliance.week in v.at for v in s.surveys)
        assert s.steps == exp.steps == alliance.week  # the teams table's last week
    field = load_scenario(ROOT / "scenarios" / "field_teams.toml")
    assert all(s.members == field.members and s.levels == field.levels for s in coached)
    # and the calibration reads field.toml and coaching.toml together from one file
    both = tomllib.loads(
        (ROOT / "targets" / "field.toml").read_text(encoding="utf-8")
        + (ROOT / "targets" / "coaching.toml").read_text(encoding="utf-8")
    )
    assert len(both["targets"]) == 5


def test_compare_a_sweep_with_coaching_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real sweep of a control and a coached arm: compare --targets gives both statistics,
    the effect size from the stored runs' own mean_skill and skill_gini."""
    from sim.cli import main

    shape = "members = 24\nteam_size = 6\nlevels = 2\nsteps = 6\n"
    (tmp_path / "none.toml").write_text(f'preset = "no_coaching"\n{shape}', encoding="utf-8")
    (tmp_path / "coached.toml").write_text(
        f'preset = "top_down_internal"\n{shape}'
        '[[surveys]]\ninstrument = "trust_in_coach"\nat = [6]\n',
        encoding="utf-8",
    )
    (tmp_path / "exp.toml").write_text(
        'scenarios = ["none.toml", "coached.toml"]\nreplications = 3\nsteps = 6\n'
        "keep_teams = true\n",
        encoding="utf-8",
    )
    (tmp_path / "t.toml").write_text(
        GOOD.replace("field_teams", "none")
        + '\n[[targets]]\nname = "a"\nstatistic = "team_survey_correlation"\n'
        'instrument = "trust_in_coach"\nweek = 6\ny = "mean_skill"\nvalue = 0.41\nse = 0.08\n'
        'population = "p"\nsource = "s"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "exp.toml", "--out", "out", "--no-report"]) == 0
    assert main(["compare", "out", "--targets", "t.toml"]) == 0
    table = pd.read_csv(tmp_path / "out" / "targets.csv").set_index("target")
    assert list(table.index) == ["d", "a"]
    assert table.loc["d", "runs"] == 6
    assert table.loc["a", "runs"] == 3
    assert np.isfinite(table[["model", "model_se"]].to_numpy()).all()
    from sim.experiments.store import ResultsStore

    store = ResultsStore(tmp_path / "out", readonly=True)
    runs = store.results().set_index(["replication", "scenario"])
    store.close()
    sd = runs["skill_gini"] * runs["mean_skill"] * math.sqrt(math.pi)
    d = [
        (runs.loc[(r, "coached"), "mean_skill"] - runs.loc[(r, "none"), "mean_skill"])
        / math.sqrt((sd[(r, "coached")] ** 2 + sd[(r, "none")] ** 2) / 2)
        for r in range(3)
    ]
    assert table.loc["d", "model"] == pytest.approx(np.mean(d))


def test_a_targets_file_can_include_others_without_copying_a_target(tmp_path: Path) -> None:
    from sim.methods.targets import load_targets
    from sim.model.scenario import ScenarioError

    both = load_targets(ROOT / "targets" / "plausible.toml")
    field = load_targets(ROOT / "targets" / "field.toml")
    coaching = load_targets(ROOT / "targets" / "coaching.toml")
    assert [t.name for t in both] == [t.name for t in field + coaching]
    (tmp_path / "a.toml").write_text('include = ["b.toml"]\n')
    (tmp_path / "b.toml").write_text('include = ["a.toml"]\n')
    with pytest.raises(ScenarioError, match="cycle"):
        load_targets(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text("include = 3\n")
    with pytest.raises(ScenarioError, match="allowed a list of file names"):
        load_targets(tmp_path / "c.toml")
    (tmp_path / "d.toml").write_text(
        f'include = ["{ROOT / "targets" / "field.toml"}", "{ROOT / "targets" / "field.toml"}"]\n'
    )
    with pytest.raises(ScenarioError, match="two targets are named"):
        load_targets(tmp_path / "d.toml")
