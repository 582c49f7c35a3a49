"""Calibration (sim/experiments/abc.py, sim/methods/calibration.py): its settings' errors,
a parameter recovery at a tiny budget with trust_loss_ratio and held-out targets, failed
patterns, what the report says (each sentence against its numbers), simulation-based
calibration on a small model, and a resume after kill -9 (on a Dask cluster) that gives
the posterior of a calibration that ran through."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_cli import in_process as cli

from sim.cli import main
from sim.experiments import load_experiment
from sim.methods.calibration import (
    Prior,
    asymmetry_sentence,
    asymmetry_share,
    contrast_sentences,
    contrast_summary,
    coverage,
    coverage_sentences,
    failed_sentences,
    measurement_sentences,
    measurement_summary,
    posterior_summary,
    predictive_check,
    reach,
    recovery_table,
)
from sim.model.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = """# One team of 12 with a sponsored internal coach, surveyed at week 20.
preset = "top_down_internal"

[[surveys]]
instrument = "psychological_safety"
at = [20]
"""
EXPERIMENT = """# Can a calibration find the values that made its own targets?
scenarios = ["surveyed.toml"]
replications = 3
seed = 11
steps = 20
keep_steps = 0
outcomes = ["mean_skill", "within_team_trust"]

[calibration]
population = 30
generations = 3
predictive = 8
contrast = ["top_down_internal", "peer_led"]
check = "held.toml"
trust_loss_ratio = { min = 1.0, max = 3.0 }

[calibration.parameters]
learning_rate = { min = 0.05, max = 0.6 }
survey_bias = { min = -1.0, max = 1.0 }
"""
HELD = """[[targets]]
name = "safety_rwg"
statistic = "survey_rwg"
instrument = "psychological_safety"
week = 20
value = 0.8
se = 0.05
plausible = [0.6, 1.0]
stylized = true
population = "teams"
source = "stylized fact: members agree"

[[targets]]
name = "trust_mean"
statistic = "outcome_mean"
outcome = "within_team_trust"
value = 0.5
se = 0.2
population = "teams"
source = "a guess so wide that no prediction can miss it"
"""
TARGETS = """[[targets]]
name = "skill"
statistic = "outcome_mean"
outcome = "mean_skill"
value = 0.5
se = 0.02
population = "made by the model"
source = "trustsim calibrate --recover"

[[targets]]
name = "safety_mean"
statistic = "survey_mean"
instrument = "psychological_safety"
week = 20
value = 4.0
se = 0.2
population = "made by the model"
source = "trustsim calibrate --recover"
"""
TRUTH = {"learning_rate": 0.3, "survey_bias": 0.4, "trust_loss_ratio": 2.0}
RECOVER = [arg for k, v in TRUTH.items() for arg in ("--recover", f"{k}={v}")]


def _files(folder: Path, experiment: str = EXPERIMENT, targets: str = TARGETS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "surveyed.toml").write_text(SCENARIO, encoding="utf-8")
    (folder / "cal.toml").write_text(experiment, encoding="utf-8")
    (folder / "targets.toml").write_text(targets, encoding="utf-8")
    (folder / "held.toml").write_text(HELD, encoding="utf-8")
    return folder


# 1. The [calibration] section and the command's input: one clear line each -----------

BAD_SECTIONS = [
    ('parameters = "trust_gain"', 'calibration.parameters = "trust_gain" is not allowed: a list'),
    ("parameters = { trust_gian = { min = 0.1, max = 0.2 } }", 'did you mean "trust_gain"'),
    ('parameters = ["coach"]', "coach is not a number"),
    ("parameters = { trust_gain = { min = 0.5, max = 0.1 } }", "min = 0.5 must be below max"),
    ("parameters = { trust_gain = { min = 0.0, max = 2.0 } }", "trust_gain goes from 0.0 to 1.0"),
    (
        'parameters = { trust_gain = { min = 0.0, max = 0.5, scale = "log" } }',
        'scale = "log" needs min above 0',
    ),
    ('parameters = ["trust_gain", "trust_gain"]', "'trust_gain' is listed twice"),
    ('parameters = ["trust_gain"]\npopulation = 5', "calibration.population = 5 is not allowed"),
    ('parameters = ["trust_gain"]\npopulaton = 50', 'did you mean "population"'),
    ('parameters = ["trust_gain"]\ncontrast = ["peer_led"]', "calibration.contrast = "),
    ('parameters = ["trust_gain"]\ncontrast = ["no_such", "peer_led"]', "calibration.contrast[0]"),
    (
        'parameters = ["trust_loss"]\ntrust_loss_ratio = { min = 1, max = 2 }',
        "calibration.trust_loss_ratio = {'min': 1, 'max': 2}: it sets trust_loss = ratio x "
        "trust_gain, and calibration.parameters estimates trust_loss too",
    ),
    (
        "parameters = { trust_gain = { min = 0.1, max = 0.4 } }\n"
        "trust_loss_ratio = { min = 1, max = 4 }",
        "with trust_gain up to 0.4 it makes trust_loss up to 1.6, above its maximum 1: lower "
        "the ratio's max to 2.5 or trust_gain's",
    ),
    (
        'parameters = ["trust_gain"]\ntrust_loss_ratio = { min = 3, max = 1 }',
        "calibration.trust_loss_ratio = {'min': 3, 'max': 1}: min = 3.0 must be below max",
    ),
    (
        'parameters = ["trust_gain"]\ncheck = ""',
        'calibration.check = "" is not allowed: a targets file of held-out patterns',
    ),
]


@pytest.mark.parametrize(("section", "words"), BAD_SECTIONS, ids=[w for _, w in BAD_SECTIONS])
def test_a_bad_calibration_section_is_one_clear_line(
    tmp_path: Path, section: str, words: str
) -> None:
    path = tmp_path / "e.toml"
    path.write_text(f'scenarios = ["peer_led"]\n[calibration]\n{section}\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    assert len(err.value.lines) == 1, err.value.lines
    assert words in err.value.lines[0]
    assert str(path) in err.value.lines[0]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("[sweep]\nparameters = { trust_gain = [0.1, 0.2] }", "both [calibration] and [sweep]"),
        ("[parameters]\ntrust_gain = 0.1", "parameters.trust_gain is also estimated"),
        ('[replications]\nuntil = "mean_skill"\nhalf_width = 0.1', "needs a fixed count"),
    ],
)
def test_a_calibration_does_not_mix_with_what_would_hide_it(
    tmp_path: Path, extra: str, words: str
) -> None:
    path = tmp_path / "e.toml"
    path.write_text(
        f'scenarios = ["peer_led"]\n{extra}\n[calibration]\nparameters = ["trust_gain"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    assert any(words in line for line in err.value.lines), err.value.lines


def test_a_list_of_names_takes_each_ones_range_as_its_prior(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    text = 'scenarios = ["peer_led"]\n[calibration]\nparameters = ["trust_gain", "survey_bias"]\n'
    path.write_text(text, encoding="utf-8")
    cal = load_experiment(path).calibration
    assert cal is not None
    assert cal.parameters["trust_gain"] == Prior(min=0.0, max=1.0)
    assert cal.parameters["survey_bias"] == Prior(min=-2.0, max=2.0)


def test_bad_command_input_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _files(tmp_path)
    exp, targets = str(d / "cal.toml"), str(d / "targets.toml")
    late = TARGETS.replace("week = 20", "week = 30")
    (d / "late.toml").write_text(late, encoding="utf-8")
    cases = [
        (["experiments/sponsorship_vs_peer.toml", "--targets", targets], "no [calibration]"),
        (
            [exp, "--targets", targets, "--recover", "learning_rate=0.3", "--recover",
             "trust_loss_ratio=2"],
            "true value of survey_bias",
        ),
        (
            [exp, "--targets", targets, *RECOVER, "--recover", "trust_gain=0.1"],
            "--recover trust_gain",
        ),
        (
            [
                exp,
                "--targets",
                targets,
                "--recover",
                "learning_rate=0.9",
                "--recover",
                "survey_bias=0",
                "--recover",
                "trust_loss_ratio=2",
            ],
            "outside its prior (uniform on [0.05, 0.6])",
        ),
        (
            [exp, "--targets", targets, "--recover", "learning_rate=high"],
            "a true value is a number",
        ),
        ([exp, "--targets", str(d / "late.toml")], "no psychological_safety survey at week 30"),
        ([exp, "--targets", targets, "--population", "5"], "--population 5: must be 10 or more"),
        ([exp, "--targets", str(d / "missing.toml")], "missing.toml"),
        (
            [exp, "--targets", targets, "--recover", "learning_rate=0.3", "--recover",
             "survey_bias=0"],
            "--recover: give a true value of trust_loss_ratio (it is estimated)",
        ),
        ([str(d / "heldless.toml"), "--targets", targets], "nowhere.toml: file not found"),
        ([str(d / "twice.toml"), "--targets", targets],
         "held_twice.toml: target skill: a fitted target of "),
        ([str(d / "lossy.toml"), "--targets", targets], "with scenario 'surveyed''s trust_gain"),
    ]  # fmt: skip
    (d / "heldless.toml").write_text(
        EXPERIMENT.replace('check = "held.toml"', 'check = "nowhere.toml"'), encoding="utf-8"
    )
    skill_again = TARGETS.split("\n\n")[0] + "\n"  # the first fitted target, again
    (d / "held_twice.toml").write_text(skill_again, encoding="utf-8")
    (d / "twice.toml").write_text(
        EXPERIMENT.replace('check = "held.toml"', 'check = "held_twice.toml"'), encoding="utf-8"
    )
    # the scenario's own trust_gain (0.08) times a ratio up to 20 is above 1
    (d / "lossy.toml").write_text(
        EXPERIMENT.replace("max = 3.0 }", "max = 20.0 }"), encoding="utf-8"
    )
    for args, words in cases:
        code, _, err = cli(capsys, "calibrate", *args, "--out", str(d / "out"))
        lines = err.strip().splitlines()
        assert code == 2, (args, err)
        assert len(lines) == 1, (args, err)
        assert words in lines[0], (args, err)
        assert "Traceback" not in err
        assert not (d / "out").exists(), args


# 2. A parameter recovery, and what its report says --------------------------------------


@pytest.fixture(scope="module")
def recovered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A parameter recovery at a tiny budget, run through (2 workers)."""
    d = _files(tmp_path_factory.mktemp("recovery"))
    code = main(
        [
            "calibrate",
            str(d / "cal.toml"),
            "--targets",
            str(d / "targets.toml"),
            *RECOVER,
            "--out",
            str(d / "out"),
            "--workers",
            "2",
        ]
    )
    assert code == 0
    return d / "out"


def _read(folder: Path) -> tuple[pd.DataFrame, dict[str, Prior], pd.DataFrame, str]:
    """A calibration folder's particles, priors, posterior summary and report."""
    particles = pd.read_csv(folder / "posterior.csv")
    plan = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
    priors = {n: Prior.model_validate(p) for n, p in plan["priors"].items()}
    summary = posterior_summary(particles, priors)
    return particles, priors, summary, (folder / "calibration.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_posterior_closes_in_on_the_true_values(recovered: Path) -> None:
    """One truth and one realization: each truth lies within 3 posterior sds of its median
    (whether the intervals cover truths as often as they claim is for the simulation-based
    calibration below, over many truths)."""
    particles, _, summary, md = _read(recovered)
    table = recovery_table(summary, TRUTH).set_index("parameter")
    summary = summary.set_index("parameter")
    for name, true in TRUTH.items():
        assert abs(summary.loc[name, "median"] - true) < 3 * summary.loc[name, "sd"], summary
    # Both targets carry information (a posterior no narrower than its prior would have
    # shrinkage 0); trust_loss_ratio, which the two targets barely touch, stays wide.
    assert summary.loc["survey_bias", "shrinkage"] > 0.15, summary
    assert summary.loc["learning_rate", "shrinkage"] > 0.15, summary
    assert summary.loc["trust_loss_ratio", "shrinkage"] < 0.5, summary
    assert sorted(particles["generation"].unique()) == [0, 1, 2]
    assert (particles.groupby("generation").size() == 30).all()
    weights = particles.groupby("generation")["weight"].sum()
    assert np.allclose(weights, 1.0)
    made = (recovered / "recovery_targets.toml").read_text(encoding="utf-8")
    assert "the model itself at learning_rate = 0.3, survey_bias = 0.4" in made
    covered = int(table["covered"].sum())
    assert f"{covered} of 3 true values lie inside their 95% credible intervals" in md


def test_every_particle_loses_trust_faster_than_it_gains_it(recovered: Path) -> None:
    """trust_loss_ratio sets trust_loss = ratio x trust_gain (the scenario's 0.08 here) for
    every candidate, so fact 2 holds in all the posterior, and the report says so."""
    particles, priors, _, md = _read(recovered)
    expected = particles["trust_loss_ratio"]  # trust_gain is the scenario's own
    assert np.allclose(particles["loss_gain_ratio"], expected)
    assert (particles["loss_gain_ratio"] >= 1).all()
    share = asymmetry_share(particles)
    assert share == 1.0
    sentence, warn = asymmetry_sentence(share, priors["trust_loss_ratio"])
    assert not warn
    assert "holds at 100% of the posterior (by construction" in sentence
    assert "uniform on [1, 3]" in sentence
    assert sentence in md
    prior = pd.read_csv(recovered / "prior_sample.csv")
    assert (prior["loss_gain_ratio"] >= 1).all()  # the prior sample too


def test_a_candidate_runs_with_the_trust_loss_its_ratio_sets(tmp_path: Path) -> None:
    from sim.experiments.candidates import loss_gain_ratio, scenario_changes, statistics_at
    from sim.methods.targets import load_targets
    from sim.model.scenario import preset

    scenario = preset("peer_led")
    assert scenario_changes({"trust_loss_ratio": 2.5, "trust_gain": 0.1}, scenario) == {
        "trust_gain": 0.1,
        "trust_loss": pytest.approx(0.25),
    }
    # without trust_gain among the values, the scenario's own (0.08)
    assert scenario_changes({"trust_loss_ratio": 3.0}, scenario)["trust_loss"] == pytest.approx(
        0.24
    )
    assert loss_gain_ratio({"trust_gain": 0.2}, [scenario]) == pytest.approx(0.16 / 0.2)
    assert math.isnan(loss_gain_ratio({"trust_gain": 0.2}, [preset("peer_led", trust_rule="beta")]))
    d = _files(tmp_path)
    exp = load_experiment(d / "cal.toml")
    (target,) = load_targets(d / "held.toml")[1:]  # within-team trust
    low, high = (
        statistics_at(
            exp, [target], {"learning_rate": 0.3, "survey_bias": 0.0, "trust_loss_ratio": r}, 5
        )
        for r in (1.0, 3.0)
    )
    # the same seeds, a trust_loss three times larger: trust ends lower
    assert high["trust_mean"][0] < low["trust_mean"][0]


def test_the_report_says_what_it_compares(recovered: Path) -> None:
    md = (recovered / "calibration.md").read_text(encoding="utf-8")
    for words in (
        "## Failed patterns",
        "None failed.",
        "## Posterior",
        "## Fact 2 inside the posterior",
        "## What the survey's items measure",
        "## Parameter recovery",
        "## Posterior predictive check",
        "**Fitted targets**",
        "**Held-out targets (not fitted)**",
        "held.toml) were never part of the fit, so they test it",
        "top_down_internal against peer_led inside the posterior",
        "learning_rate",
        "survey_bias",
        "skill",
        "safety_mean",
    ):
        assert words in md, words
    check = pd.read_csv(recovered / "predictive_check.csv")
    assert list(check["target"]) == ["skill", "safety_mean", "safety_rwg", "trust_mean"]
    assert list(check["role"]) == ["fitted", "fitted", "held out", "held out"]
    # A check of targets the model made itself: both are reached.
    assert check["verdict"][:2].str.startswith("reached").all(), check
    for name in (
        "posterior_marginals",
        "posterior_pairs",
        "abc_generations",
        "predictive_check",
        "posterior_contrast",
    ):
        assert (recovered / "figures" / f"{name}.png").stat().st_size > 10_000, name
    html = (recovered / "calibration.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64") == 5


def test_a_held_out_check_says_when_it_could_not_fail(recovered: Path) -> None:
    """trust_mean's SE (0.2) makes its predictive interval cover most of [0, 1]: the
    verdict says reaching it could hardly fail, with the numbers of the table."""
    check = pd.read_csv(recovered / "predictive_check.csv").set_index("target")
    row = check.loc["trust_mean"]
    assert (row["plausible_low"], row["plausible_high"]) == (0.0, 1.0)  # the measure's range
    covers = (min(row["high95"], 1.0) - max(row["low95"], 0.0)) / 1.0
    assert row["covers"] == pytest.approx(covers)
    assert covers >= 0.5
    assert row["verdict"].startswith("reached, but this check could hardly fail")
    assert f"covers {covers:.0%} of the plausible range [0, 1]" in row["verdict"]
    assert f"[{row['low95']:.3g}, {row['high95']:.3g}]" in row["verdict"]
    md = (recovered / "calibration.md").read_text(encoding="utf-8")
    assert f"trust_mean: {row['verdict'].split(', but ', 1)[1]}." in md


def test_the_report_gives_the_loading_the_items_actually_have(recovered: Path) -> None:
    particles, _, _, md = _read(recovered)
    table = measurement_summary(particles, 0.7)
    (row,) = table.to_dict("records")
    last = particles[particles["generation"] == 2]
    values = last["realized_loading.psychological_safety.20"].to_numpy(float)
    from sim.methods.statistics import weighted_quantile

    median = weighted_quantile(values, last["weight"].to_numpy(float), [0.5])[0]
    assert row["realized_loading"] == pytest.approx(median)
    assert row["realized_loading"] < 0.7 / 1.5  # far below the nominal loading
    (sentence,) = measurement_sentences(table)
    assert f"is {row['realized_loading']:.2f} (95% of the posterior" in sentence
    assert "survey_loading, the loading on the probit scale of a latent that spans it, is 0.70" in (
        sentence
    )
    assert sentence in md
    written = pd.read_csv(recovered / "measurement.csv")
    assert written["realized_loading"][0] == pytest.approx(row["realized_loading"])


def test_the_contrast_runs_the_two_scenarios_it_names(recovered: Path) -> None:
    contrast = pd.read_csv(recovered / "contrast.csv")
    draws = pd.read_csv(recovered / "predictive.csv")
    assert set(contrast["outcome"]) == {"mean_skill", "within_team_trust"}
    assert contrast["draw"].nunique() == 8 == draws["draw"].nunique()
    # Two different regimes at the same values and seeds: their runs differ.
    assert (contrast["a"] != contrast["b"]).all()
    # At each draw, the contrast ran the posterior values the predictive check ran.
    names = ["learning_rate", "survey_bias", "trust_loss_ratio"]
    first = contrast.groupby("draw")[names].first()
    same = draws.groupby("draw")[names].first()
    pd.testing.assert_frame_equal(first, same)
    md = (recovered / "calibration.md").read_text(encoding="utf-8")
    assert "survey_bias changes only what a survey records, never a run" in md


def test_the_predictive_check_says_plainly_what_is_not_reached() -> None:
    draws = pd.DataFrame(
        {
            "draw": [0, 1, 2, 0, 1, 2],
            "target": ["a"] * 3 + ["b"] * 3,
            "value": [0.80, 0.82, 0.78, 0.30, 0.31, 0.29],
        }
    )
    observed = pd.DataFrame({"target": ["a", "b"], "value": [0.30, 0.30], "se": [0.05, 0.05]})
    check = predictive_check(draws, observed).set_index("target")
    assert check.loc["a", "verdict"].startswith("not reached: the model is higher at 100%")
    assert check.loc["b", "verdict"].startswith("reached (inside")
    # With a plausible range the interval holds whole, the check cannot fail.
    observed["plausible_low"], observed["plausible_high"] = 0.25, 0.35
    check = predictive_check(draws, observed).set_index("target")
    assert check.loc["b", "covers"] == 1.0
    assert check.loc["b", "verdict"].startswith(
        "reached, but this check cannot fail: the 95% predictive interval"
    )
    assert "holds the whole plausible range [0.25, 0.35]" in check.loc["b", "verdict"]


def test_a_contrast_is_never_put_down_to_what_only_observes() -> None:
    """The difference follows propensity_sd; survey_loading rides a ridge with it (so its
    plain correlation with the difference is strong) but cannot change a run: the sentence
    names propensity_sd, by its partial correlation, and says why survey_loading is not."""
    rng = np.random.default_rng(4)
    sd = rng.uniform(0.02, 0.4, 200)
    loading = 1.0 - sd + rng.normal(0, 0.03, 200)  # the ridge
    gain = rng.uniform(0.02, 0.3, 200)  # unrelated to the difference
    difference = 0.05 - 0.2 * sd + rng.normal(0, 0.01, 200)
    contrast = pd.DataFrame(
        {"draw": range(200), "propensity_sd": sd, "survey_loading": loading,
         "trust_gain": gain, "outcome": "mean_skill", "difference": difference}
    )  # fmt: skip
    names = ["propensity_sd", "survey_loading", "trust_gain"]
    table = contrast_summary(contrast, names)
    row = table.iloc[0]
    assert row["rho_survey_loading"] > 0.6  # the ridge's correlation, which is no effect
    assert "partial_survey_loading" not in table
    assert row["partial_propensity_sd"] < -0.6
    assert abs(row["partial_trust_gain"]) < 0.3
    first, why = contrast_sentences(table, "a", "b", names)
    assert (
        f"lower propensity_sd (partial Spearman rho {row['partial_propensity_sd']:+.2f})" in first
    )
    assert "survey_loading" not in first
    assert "trust_gain" not in first
    assert f"a is higher than b at {row['a_higher']:.0%} of posterior draws" in first
    assert why.startswith("survey_loading changes only what a survey records, never a run")


def test_coverage_counts_and_judges_against_the_binomial() -> None:
    # 20 truths: the 50% interval holds 10, the 95% interval all 20 of one parameter, and
    # only 12 of the other (far below the 17 to 20 a calibrated posterior gives).
    rows = []
    for k in range(20):
        rows.append({"parameter": "a", "true": 0.5, "low50": 0.4 if k < 10 else 0.6,
                     "high50": 0.7, "low95": 0.0, "high95": 1.0})  # fmt: skip
        rows.append({"parameter": "b", "true": 0.5, "low50": 0.4, "high50": 0.6,
                     "low95": 0.0 if k < 12 else 0.55, "high95": 1.0})  # fmt: skip
    table = coverage(pd.DataFrame(rows)).set_index("parameter")
    assert table.loc["a", ["covered50", "covered95"]].tolist() == [10, 20]
    assert table.loc["b", ["covered50", "covered95"]].tolist() == [20, 12]
    assert table.loc["a", "low95_expected"] == 17
    assert table.loc["a", "high95_expected"] == 20
    # With few particles an interval's ends are estimated too far in: the expected count
    # allows for it (30 particles each: 0.95 x 30 / 31 a truth).
    from scipy.stats import binom

    few = coverage(pd.DataFrame(rows).assign(ess=30.0)).set_index("parameter")
    p = 0.95 * 30 / 31
    assert few.loc["a", "low95_expected"] == binom.ppf(0.025, 20, p) < 17
    assert few.loc["a", "high95_expected"] == binom.ppf(0.975, 20, p)
    a, b = coverage_sentences(table.reset_index())
    assert a.startswith("a: the 50% interval holds the truth in 10 of 20 recoveries (as a ")
    assert "the 95% interval in 20 (as a calibrated posterior would, given its particles; 17 " in a
    assert "in 20 of 20 recoveries (more than expected" in b
    assert "the 95% interval in 12 (too few: the posterior is overconfident" in b


def test_an_interval_from_n_draws_holds_another_draw_c_n_over_n_plus_1_of_the_time() -> None:
    """What coverage's expected counts rest on (posterior_summary's weighted quantiles)."""
    from sim.methods.statistics import weighted_quantile

    rng = np.random.default_rng(8)
    for n in (30, 60):
        held = [0, 0]
        for _ in range(4000):
            draws, other = rng.random(n), rng.random()
            lo, lo50, hi50, hi = weighted_quantile(draws, np.ones(n), [0.025, 0.25, 0.75, 0.975])
            held[0] += lo50 <= other <= hi50
            held[1] += lo <= other <= hi
        assert held[0] / 4000 == pytest.approx(0.5 * n / (n + 1), abs=0.025)
        assert held[1] / 4000 == pytest.approx(0.95 * n / (n + 1), abs=0.012)


# 3. Failed patterns: a target no prior draw reaches ---------------------------------------

UNREACHABLE = (
    TARGETS.replace("value = 0.5\n", "value = 0.47\n").replace("se = 0.02", "se = 0.01")
    + """
[[targets]]
name = "alpha_high"
statistic = "survey_alpha"
instrument = "psychological_safety"
week = 20
value = 0.95
se = 0.01
population = "teams of another world"
source = "a test: alpha this high needs people who differ more than these"

[[targets]]
name = "alpha_known_gap"
statistic = "survey_alpha"
instrument = "psychological_safety"
week = 12
value = 0.9
se = 0.01
discrepancy = 0.3
population = "teams of another world"
source = "a test: the same gap, declared"
"""
)
FIELD_LIKE = (
    EXPERIMENT.replace("population = 30", "population = 20")
    .replace("generations = 3", "generations = 2")
    .replace("predictive = 8", "predictive = 4")
    .replace('contrast = ["top_down_internal", "peer_led"]\n', "")
    .replace('check = "held.toml"\n', "")
    .replace("trust_loss_ratio = { min = 1.0, max = 3.0 }\n", "")
    .replace("survey_bias = { min = -1.0, max = 1.0 }", "trust_gain = { min = 0.02, max = 0.3 }")
)


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A calibration to two targets no prior draw reaches, one with a discrepancy."""
    d = _files(tmp_path_factory.mktemp("failing"), FIELD_LIKE, UNREACHABLE)
    (d / "surveyed.toml").write_text(SCENARIO.replace("at = [20]", "at = [12, 20]"), "utf-8")
    import contextlib
    import io

    err = io.StringIO()  # what the command says, on stdout and stderr
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(err):
        code = main(["calibrate", str(d / "cal.toml"), "--targets", str(d / "targets.toml"),
                     "--out", str(d / "out"), "--workers", "1"])  # fmt: skip
    assert code == 0, err.getvalue()
    return d / "out", err.getvalue()


def test_a_target_no_prior_draw_reaches_is_a_failed_pattern(failing: tuple[Path, str]) -> None:
    out, err = failing
    plan = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    distance = plan["distance"]
    assert distance["skill"]["fitted"]
    assert not distance["alpha_high"]["fitted"]  # out of the distance
    assert distance["alpha_known_gap"]["fitted"]  # in, weighed by sqrt(0.01^2 + 0.3^2)
    assert distance["alpha_known_gap"]["se"] == pytest.approx(math.hypot(0.01, 0.3))
    prior = pd.read_csv(out / "prior_sample.csv")
    assert len(prior) == 20
    assert (np.abs(prior["stat_alpha_high"] - 0.95) > 0.02).all()
    # The distance is the fitted targets' alone: the particles' distances say so.
    particles = pd.read_csv(out / "posterior.csv")
    last = particles[particles["generation"] == 1]
    by_hand = np.sqrt(
        ((last["stat_skill"] - 0.47) / 0.01) ** 2
        + ((last["stat_safety_mean"] - 4.0) / 0.2) ** 2
        + ((last["stat_alpha_known_gap"] - 0.9) / math.hypot(0.01, 0.3)) ** 2
    )
    assert np.allclose(last["distance"], by_hand)
    # The sentences quote reach.csv's numbers, and the command prints them.
    reach_table = pd.read_csv(out / "reach.csv").set_index("target")
    closest = reach_table.loc["alpha_high", "closest_prior"]
    nearest = prior["stat_alpha_high"].to_numpy()[
        np.argmin(np.abs(prior["stat_alpha_high"] - 0.95))
    ]
    assert closest == pytest.approx(nearest)
    md = (out / "calibration.md").read_text(encoding="utf-8")
    words = (
        "the model cannot reach alpha_high (0.95; within 2 SE, 0.93 to 0.97) at any of 20 prior "
        f"draws: closest {closest:.3g}"
    )
    assert words in md
    assert words in err
    assert "kept out of the distance." in md
    assert "alpha_known_gap" in md
    assert "weighed with its discrepancy 0.3 (SE 0.3)." in md
    assert "(alpha_high left out: no prior draw reaches it)" in err
    assert "the Euclidean norm of the differences of the 3 fitted targets (skill, " in md
    assert "safety_mean, alpha_known_gap), each divided by its SE" in md
    assert "Before the first generation, 20 candidates drawn from the prior" in md
    assert "2 failed:" in md
    check = pd.read_csv(out / "predictive_check.csv").set_index("target")
    assert "predictive check (4 posterior draws), failed targets: 0 of 1 reached; not " in err
    assert "reached: alpha_high" in err
    assert check.loc["alpha_high", "role"] == "failed"
    assert check.loc["alpha_high", "verdict"].startswith("not reached: the model is lower")


def test_fact_2_is_measured_and_warned_about_when_the_calibration_does_not_hold_it(
    failing: tuple[Path, str],
) -> None:
    out, err = failing
    particles = pd.read_csv(out / "posterior.csv")
    share = asymmetry_share(particles)
    last = particles[particles["generation"] == 1]
    by_hand = last.loc[last["trust_gain"] <= 0.16, "weight"].sum() / last["weight"].sum()
    assert share == pytest.approx(by_hand)
    assert 0 < share < 1  # trust_gain's prior reaches 0.3, above the fixed trust_loss 0.16
    sentence, warn = asymmetry_sentence(share, None)
    assert warn
    percent = f"{share:.1%}".replace(".0%", "%")
    assert f"holds at {percent} of the posterior (measured" in sentence
    assert sentence in (out / "calibration.md").read_text(encoding="utf-8")
    warning = sentence.split("Warning: ", 1)[1]
    assert f"note: fact 2 fails: {warning}" in err


def test_fact_2_does_not_apply_without_the_asymmetric_rule() -> None:
    particles = pd.DataFrame(
        {"generation": [0, 0], "weight": [0.5, 0.5], "loss_gain_ratio": [np.nan, np.nan]}
    )
    share = asymmetry_share(particles)
    assert math.isnan(share)
    sentence, warn = asymmetry_sentence(share, None)
    assert not warn
    assert sentence == (
        "Fact 2 (trust falls faster than it grows: trust_loss at least trust_gain) does not "
        "apply: no scenario uses the asymmetric rule."
    )
    # A ratio whose prior starts below 1 lets it fail, and the sentence says so.
    particles["loss_gain_ratio"] = [0.8, 1.5]
    sentence, warn = asymmetry_sentence(asymmetry_share(particles), Prior(min=0.5, max=2))
    assert warn
    assert "holds at 50% of the posterior (measured: the prior of trust_loss_ratio, " in sentence
    assert "Warning: at 50% of the posterior trust grows faster than it falls" in sentence


def test_reach_and_failed_sentences_by_hand() -> None:
    stats = pd.DataFrame({"stat_a": [0.1, 0.2, np.nan], "stat_b": [0.5, 0.9, 0.6]})
    observed = pd.DataFrame({"target": ["a", "b"], "value": [0.5, 0.62], "se": [0.05, 0.02]})
    table = reach(stats, observed).set_index("target")
    assert table.loc["a", ["candidates", "reached", "closest"]].tolist() == [2, 0, 0.2]
    assert table.loc["b", ["candidates", "reached", "closest"]].tolist() == [3, 1, 0.6]
    later = reach(pd.DataFrame({"stat_a": [0.45], "stat_b": [0.6]}), observed)
    (sentence,) = failed_sentences(table.reset_index(), later, {})
    assert sentence == (
        "the model cannot reach a (0.5; within 2 SE, 0.4 to 0.6) at any of 2 prior draws: "
        "closest 0.2; 1 of the later particles reach it (closest 0.45); kept out of the distance."
    )


# 5. Resume: kill -9 mid-generation, go on, and get the posterior of a run through ---------


@pytest.mark.slow
def test_a_killed_calibration_resumes_to_the_same_posterior(
    recovered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _files(tmp_path)
    out = d / "out"
    args = [
        "calibrate",
        str(d / "cal.toml"),
        "--targets",
        str(d / "targets.toml"),
        *RECOVER,
        "--out",
        str(out),
        "--no-report",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args, "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    cached = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(out / "candidates.sqlite", timeout=0.1) as db:
                cached = db.execute("SELECT count(*) FROM candidates WHERE t = 1").fetchone()[0]
        except sqlite3.Error:
            cached = 0
        if cached >= 3:
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert cached >= 3, "the calibration ended before generation 1 had begun"
    with sqlite3.connect(out / "abc.sqlite") as db:
        done = db.execute("SELECT max(t) FROM populations").fetchone()[0]
    assert done == 0, "killed in generation 1: only generation 0 is stored"
    # Resumed here on a Dask cluster of two workers: the posterior of the calibration that
    # ran through on a process pool.
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        code, _, err = cli(capsys, *args, "--resume", "--scheduler", cluster.scheduler_address)
    assert code == 0, err
    assert "was stopped without ending" in err
    assert "on 2 workers" in err
    for table in ("posterior.csv", "predictive.csv", "contrast.csv"):
        assert (out / table).read_bytes() == (recovered / table).read_bytes(), table
    code, _, err = cli(capsys, *args)
    assert code == 2
    assert "holds a calibration already" in err
    # A resume that would change what the posterior means is refused.
    (d / "targets.toml").write_text(TARGETS.replace("se = 0.2", "se = 0.3"), encoding="utf-8")
    code, _, err = cli(capsys, *args, "--resume")
    assert code == 2
    assert "cannot resume: the targets file changed" in err


# 4. Simulation-based calibration on a small model -----------------------------------------

SBC_EXPERIMENT = """# Do the credible intervals hold the truths as often as they claim?
scenarios = ["surveyed.toml"]
replications = 2
seed = 5
steps = 10
keep_steps = 0
outcomes = ["mean_skill"]

[calibration]
population = 20
generations = 2

[calibration.parameters]
learning_rate = { min = 0.05, max = 0.6 }
survey_bias = { min = -1.0, max = 1.0 }
"""


@pytest.mark.slow
def test_simulation_based_calibration_covers_its_truths(tmp_path: Path) -> None:
    """Six truths drawn from the prior, each made into targets and calibrated back: the 95%
    intervals hold most truths, the 50% intervals at least one (loosely: six truths make a
    coarse count; benchmarks/bench_sbc.py runs 30 on the field model)."""
    from sim.experiments.abc import simulation_based_calibration
    from sim.methods.targets import load_targets

    d = _files(tmp_path, SBC_EXPERIMENT, TARGETS.replace("week = 20", "week = 10"))
    (d / "surveyed.toml").write_text(SCENARIO.replace("at = [20]", "at = [10]"), "utf-8")
    exp = load_experiment(d / "cal.toml")
    recoveries, table = simulation_based_calibration(
        exp, d / "targets.toml", load_targets(d / "targets.toml"), truths=6,
        out=d / "sbc", workers=1,
    )  # fmt: skip
    assert len(recoveries) == 12
    truths = recoveries.pivot(index="truth", columns="parameter", values="true")
    assert truths["learning_rate"].nunique() == 6  # six different truths from the prior
    assert truths["learning_rate"].between(0.05, 0.6).all()
    table = table.set_index("parameter")
    assert (table["truths"] == 6).all()
    assert (table["covered95"] >= 4).all(), table
    assert (table["covered50"] >= 1).all(), table
    # what sbc_coverage.csv says is counted from sbc.csv
    inside = (recoveries["low95"] <= recoveries["true"]) & (
        recoveries["true"] <= recoveries["high95"]
    )
    assert inside.groupby(recoveries["parameter"]).sum().to_dict() == table["covered95"].to_dict()
    # a truth's recovery was made at that truth, with the targets' own SEs
    made = (d / "sbc" / "truth00" / "recovery_targets.toml").read_text(encoding="utf-8")
    assert f"learning_rate = {truths['learning_rate'][0]:g}" in made
    assert "se = 0.02" in made
    # run again, it reads what is there instead of calibrating again
    again, _ = simulation_based_calibration(
        exp, d / "targets.toml", load_targets(d / "targets.toml"), truths=6,
        out=d / "sbc", workers=1,
    )  # fmt: skip
    pd.testing.assert_frame_equal(again, recoveries)


def test_the_check_flag_replaces_the_sections_held_out_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--check FILE` names the held-out targets; a missing or clashing one is one line."""
    folder = _files(tmp_path / "f")
    code, _, err = cli(
        capsys, "calibrate", str(folder / "cal.toml"), "--targets", str(folder / "targets.toml"),
        "--check", str(folder / "nowhere.toml"), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "nowhere.toml" in err, err
    assert not (tmp_path / "out").exists()
    # a held-out file that repeats a fitted target is refused before anything runs
    (folder / "same.toml").write_text(TARGETS, encoding="utf-8")
    code, _, err = cli(
        capsys, "calibrate", str(folder / "cal.toml"), "--targets", str(folder / "targets.toml"),
        "--check", str(folder / "same.toml"), "--out", str(tmp_path / "out2"),
    )  # fmt: skip
    assert code == 2, err
    assert "Traceback" not in err, err
    assert not (tmp_path / "out2").exists()


@pytest.mark.slow
def test_the_check_flag_is_the_held_out_file_the_calibration_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _files(tmp_path / "f")
    (folder / "other.toml").write_text(HELD.replace("safety_rwg", "agreement"), encoding="utf-8")
    code, _out, err = cli(
        capsys, "calibrate", str(folder / "cal.toml"), "--targets", str(folder / "targets.toml"),
        "--check", str(folder / "other.toml"), "--out", str(tmp_path / "out"),
        "--population", "10", "--generations", "1", "--workers", "1", "--no-report",
    )  # fmt: skip
    assert code == 0, err
    meta = json.loads((tmp_path / "out" / "calibration.json").read_text())
    assert Path(meta["held_out_file"]).name == "other.toml"
    check = pd.read_csv(tmp_path / "out" / "predictive_check.csv")
    assert "agreement" in set(check["target"])
    assert "safety_rwg" not in set(check["target"])
