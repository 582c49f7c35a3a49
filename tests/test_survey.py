"""Simulated surveys (sim/model/survey.py): the statistics by hand, the measurement model's
direction, and surveys that observe a run without changing it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import simulate
from sim.model.scenario import Scenario, ScenarioError, preset, scenario_from_dict
from sim.model.survey import (
    INSTRUMENTS,
    PSYCHOLOGICAL_SAFETY,
    answers,
    cronbach_alpha,
    icc,
    realized_loading,
    rwg_j,
    scored,
    statistics,
)


def test_cronbach_alpha_by_hand() -> None:
    # item variances 1 and 7/3, variance of the sums 19/3: alpha = 2 (1 - (10/3) / (19/3))
    items = np.array([[1, 2], [2, 3], [3, 5]], dtype=float)
    assert cronbach_alpha(items) == pytest.approx(18 / 19)
    assert np.isnan(cronbach_alpha(items[:1]))  # one respondent


def test_rwg_j_by_hand() -> None:
    # mean item variance 0.5 against (5^2 - 1) / 12 = 2: ratio 1/4; J = 2 gives 1.5 / 1.75
    group = np.array([[3, 4], [4, 4], [5, 4]], dtype=float)
    assert rwg_j(group, points=5) == pytest.approx(6 / 7)
    assert rwg_j(np.array([[4, 4], [4, 4]], dtype=float), points=5) == 1.0  # full agreement
    assert rwg_j(np.array([[1, 1], [5, 5]], dtype=float), points=5) == 0.0  # beyond uniform


def test_icc_by_hand() -> None:
    # MSB = 3 (1.5^2 + 1.5^2) = 13.5, MSW = 4 / 4 = 1, k = 3
    scores = np.array([1, 2, 3, 4, 5, 6], dtype=float)
    groups = np.array([0, 0, 0, 1, 1, 1])
    icc1, icc2 = icc(scores, groups)
    assert icc1 == pytest.approx(12.5 / 15.5)
    assert icc2 == pytest.approx(12.5 / 13.5)
    assert all(np.isnan(v) for v in icc(scores, np.zeros(6, dtype=np.int64)))  # one group


def test_realized_loading_by_hand() -> None:
    # item 1 is the latent itself (r = 1), item 2 its mirror (r = -1), item 3 constant
    latent = np.array([0.2, 0.4, 0.9])
    items = np.array([[1, 3, 4], [2, 2, 4], [3, 1, 4]], dtype=float)
    items[:, 0] = [1, 2, 4.5]  # proportional to the latent: r = 1 exactly
    items[:, 1] = [5, 4, 1.5]
    assert realized_loading(items, latent) == pytest.approx(0.0)  # (1 + -1) / 2
    assert realized_loading(items[:, :1], latent) == pytest.approx(1.0)
    assert np.isnan(realized_loading(items, np.full(3, 0.5)))  # the latent does not vary


def test_survey_loading_is_a_loading_on_the_probit_scale() -> None:
    """survey_loading is the items' correlation with the latent only where the latent spans
    the probit scale; among people who differ little, the realized loading is far lower,
    as lambda s / sqrt(lambda^2 s^2 + 1 - lambda^2) says (docs/ODD.md, "Simulated surveys")."""
    from scipy.special import ndtr, ndtri

    rng = np.random.default_rng(3)
    spanning = ndtr(rng.standard_normal(8000))  # z = probit(latent) has sd 1
    narrow = np.clip(rng.normal(0.5, 0.1, 8000), 0.0, 1.0)  # the model's spread
    s = ndtri(np.clip(narrow, 0.01, 0.99)).std()
    for loading in (0.5, 0.7, 0.9):
        wide = scored(
            answers(PSYCHOLOGICAL_SAFETY, spanning, loading, 0.0, rng), PSYCHOLOGICAL_SAFETY
        )
        # cutting y* into 7 points costs a few percent of the correlation
        assert realized_loading(wide.astype(float), spanning) == pytest.approx(loading, rel=0.08)
        few = scored(answers(PSYCHOLOGICAL_SAFETY, narrow, loading, 0.0, rng), PSYCHOLOGICAL_SAFETY)
        expected = loading * s / np.sqrt(loading**2 * s**2 + 1 - loading**2)
        got = realized_loading(few.astype(float), narrow)
        assert got == pytest.approx(expected, rel=0.1)
        assert got < loading / 1.8  # far from the nominal value


def test_reverse_keyed_items_are_answered_low_and_scored_high() -> None:
    rng = np.random.default_rng(1)
    raw = answers(PSYCHOLOGICAL_SAFETY, np.full(400, 0.9), 0.9, 0.0, rng)
    reverse = PSYCHOLOGICAL_SAFETY.reverse
    assert list(np.flatnonzero(reverse) + 1) == [1, 3, 5]  # Edmondson's negatively worded
    assert raw[:, reverse].mean() < 2.5 < 5.5 < raw[:, ~reverse].mean()
    assert scored(raw, PSYCHOLOGICAL_SAFETY).mean() > 5.5
    assert raw.min() >= 1
    assert raw.max() <= 7


@pytest.mark.parametrize("name", list(INSTRUMENTS))
def test_higher_latent_answers_higher(name: str) -> None:
    instrument = INSTRUMENTS[name]
    means = []
    for latent in (0.2, 0.5, 0.8):
        raw = answers(instrument, np.full(300, latent), 0.7, 0.0, np.random.default_rng(2))
        means.append(scored(raw, instrument).mean())
    assert means[0] < means[1] < means[2]
    middle = (instrument.points + 1) / 2  # a latent of 0.5 answers around the middle
    assert means[1] == pytest.approx(middle, abs=0.15)
    # a positive bias raises every raw answer, whatever the item's keying (acquiescence)
    plain = answers(instrument, np.full(300, 0.5), 0.7, 0.0, np.random.default_rng(2))
    biased = answers(instrument, np.full(300, 0.5), 0.7, 1.0, np.random.default_rng(2))
    assert (biased >= plain).all()
    assert biased.mean() > plain.mean() + 0.5


SURVEYS = [
    {"instrument": "psychological_safety", "at": [0, 20, 40]},
    {"instrument": "trust_in_coach", "at": [40]},
    {"instrument": "trust_in_manager", "at": 20},
]


def test_a_survey_observes_the_run_without_changing_it() -> None:
    base = preset("top_down_internal", members=40, levels=2, steps=40, turnover_rate=0.05)
    surveyed = base.with_(surveys=SURVEYS)
    run, plain = simulate(surveyed, 7), simulate(base, 7)
    assert np.array_equal(run.table, plain.table, equal_nan=True)
    assert run.summary == pytest.approx(plain.summary, nan_ok=True)
    assert plain.survey is None
    table = run.survey
    assert table is not None
    assert sorted({(w, i) for w, i in zip(table["week"], table["instrument"], strict=True)}) == [
        (0, "psychological_safety"),
        (20, "psychological_safety"),
        (20, "trust_in_manager"),
        (40, "psychological_safety"),
        (40, "trust_in_coach"),
    ]
    # every front-line member answers every item of psychological safety
    wave = table[(table["week"] == 0) & (table["instrument"] == "psychological_safety")]
    assert len(wave) == 40 * 7
    # the coach does not rate themself
    coach_wave = table[table["instrument"] == "trust_in_coach"]
    assert coach_wave["respondent"].nunique() < 40
    # the same seed gives the same answers; a wave's answers do not depend on the others
    assert run.survey.equals(simulate(surveyed, 7).survey)
    alone = simulate(base.with_(surveys=[{"instrument": "psychological_safety", "at": [40]}]), 7)
    last = table[(table["week"] == 40) & (table["instrument"] == "psychological_safety")]
    assert alone.survey is not None
    assert last.reset_index(drop=True).equals(alone.survey)
    assert not run.survey.equals(simulate(surveyed, 8).survey)


def test_teams_that_trust_more_answer_higher() -> None:
    """Psychological safety follows trust: a trusting team's scale mean is higher."""
    at = [{"instrument": "psychological_safety", "at": [0]}]
    low = simulate(Scenario(initial_trust_scale=0.3, members=60, steps=1, surveys=at), 3)
    high = simulate(Scenario(initial_trust_scale=0.9, members=60, steps=1, surveys=at), 3)
    assert low.survey is not None
    assert high.survey is not None
    assert statistics(high.survey)["scale_mean"][0] > statistics(low.survey)["scale_mean"][0]
    assert high.survey["latent"].mean() > low.survey["latent"].mean()


def test_statistics_columns_and_ranges() -> None:
    run = simulate(preset("hybrid", members=48, levels=2, steps=10, surveys=SURVEYS[:1]), 4)
    assert run.survey is not None
    stats = statistics(run.survey)
    assert list(stats["week"]) == [0]
    row = stats.iloc[0]
    assert row["respondents"] == 48
    assert row["teams"] > 1
    assert 1 <= row["scale_mean"] <= 7
    assert 0 <= row["rwg_j"] <= 1
    # the realized loading is the items' mean correlation with the recorded latent
    from sim.model.survey import PSYCHOLOGICAL_SAFETY as PS

    wide = run.survey.pivot(index="respondent", columns="item", values="answer")
    latent = run.survey.groupby("respondent")["latent"].first().loc[wide.index]
    items = scored(wide.to_numpy(), PS).astype(float)
    by_hand = np.mean([np.corrcoef(items[:, k], latent)[0, 1] for k in range(items.shape[1])])
    assert row["realized_loading"] == pytest.approx(by_hand)
    assert 0 < row["realized_loading"] < 0.7  # below the nominal survey_loading (0.7)
    without = statistics(run.survey.drop(columns="latent"))
    assert np.isnan(without["realized_loading"][0])


@pytest.mark.parametrize(
    ("surveys", "message"),
    [
        ([{"instrument": "safety", "at": [0]}], 'surveys[0].instrument = "safety" is not allowed'),
        ([{"instrument": "trust_in_coach", "at": [-1]}], "surveys[0].at = -1 is not allowed"),
        ([{"instrument": "trust_in_coach"}], "surveys[0].at is missing"),
        ([{"instrument": "trust_in_coach", "at": 2, "when": 1}], "surveys[0].when = 1 is not"),
    ],
)
def test_a_bad_survey_is_one_line(surveys: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict({"surveys": surveys}, source="s.toml")
    (line,) = err.value.lines
    assert line.startswith(f"s.toml: {message}"), line


def test_run_writes_the_answers_and_their_statistics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "surveyed.toml"
    scenario.write_text(
        'preset = "top_down_internal"\nmembers = 24\nlevels = 2\nsteps = 12\n'
        '[[surveys]]\ninstrument = "psychological_safety"\nat = [0, 12, 30]\n',
        encoding="utf-8",
    )
    from sim.cli import main

    assert main(["run", str(scenario), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert "psychological_safety survey at week 30 is after the last week (12)" in err
    assert "survey.csv, survey_stats.csv" in out
    import pandas as pd

    answers_ = pd.read_csv(tmp_path / "out" / "survey.csv")
    stats = pd.read_csv(tmp_path / "out" / "survey_stats.csv")
    assert sorted(answers_["week"].unique()) == [0, 12]
    assert list(stats["week"]) == [0, 12]
    assert set(answers_["answer"]) <= set(range(1, 8))


def test_a_sweep_stores_the_answers_and_export_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Surveys in a sweep: one row per run, wave, respondent and item, resumed without twins."""
    import pandas as pd

    (tmp_path / "surveyed.toml").write_text(
        'preset = "top_down_internal"\nmembers = 12\nsteps = 8\n'
        '[[surveys]]\ninstrument = "psychological_safety"\nat = [0, 8]\n',
        encoding="utf-8",
    )
    (tmp_path / "exp.toml").write_text(
        'scenarios = ["surveyed.toml", "no_coaching"]\nreplications = 2\nsteps = 8\n'
        'outcomes = ["mean_skill"]\n',
        encoding="utf-8",
    )
    from sim.cli import main

    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the second only resumes: nothing is stored twice
        assert main(["sweep", "exp.toml", "--out", "out", "--resume", "--no-report"]) == 0
    assert main(["export", "out", "--format", "csv"]) == 0
    table = pd.read_csv(tmp_path / "out" / "export" / "survey.csv")
    assert len(table) == 2 * 2 * 12 * 7  # runs x waves x respondents x items
    assert set(table["run_id"].str.split("/").str[0]) == {"surveyed"}  # no_coaching gives none
    # the stored answers are the run's own: the same as simulating it alone
    from sim.experiments import load_experiment
    from sim.experiments.expansion import expand

    spec = next(s for s in expand(load_experiment(tmp_path / "exp.toml"), range(2)))
    alone = simulate(spec.scenario, spec.seed).survey
    assert alone is not None
    mine = table[table["run_id"] == spec.run_id].drop(columns="run_id").reset_index(drop=True)
    assert mine["answer"].tolist() == alone["answer"].tolist()
    assert mine["latent"].to_numpy() == pytest.approx(alone["latent"].to_numpy())


def test_trust_model_gives_the_same_answers_as_the_fast_path() -> None:
    """One implementation: a Mesa user stepping TrustModel gets simulate's answers."""
    from sim import TrustModel

    given = [*SURVEYS[:1], {"instrument": "trust_in_coach", "at": [3, 6]}]
    scenario = preset("hybrid", members=24, levels=2, steps=6, surveys=given)
    model = TrustModel(scenario, rng=11)
    assert model.survey is not None  # week 0 is given when the model is built
    assert set(model.survey["week"]) == {0}
    while model.running:
        model.step()
    fast = simulate(scenario, 11).survey
    assert fast is not None
    assert model.survey is not None
    assert model.survey.equals(fast)
