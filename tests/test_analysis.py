"""sim.methods.analysis on data with a known answer: effect sizes, Holm, bootstrap CIs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.methods import analysis
from sim.methods.statistics import a12, bootstrap_ci, cohens_d, holm

# A12 -----------------------------------------------------------------------------


def test_a12_of_identical_samples_is_one_half() -> None:
    x = np.random.default_rng(1).normal(size=40)
    assert a12(x, x) == pytest.approx(0.5)
    assert a12(np.ones(5), np.ones(7)) == pytest.approx(0.5)  # all ties count half


def test_a12_of_fully_separated_samples_is_one_or_zero() -> None:
    low = np.array([0.1, 0.2, 0.3, 0.4])
    high = np.array([1.1, 1.5, 2.0])
    assert a12(high, low) == pytest.approx(1.0)
    assert a12(low, high) == pytest.approx(0.0)


def test_a12_equals_the_pairwise_definition() -> None:
    rng = np.random.default_rng(2)
    a = np.round(rng.normal(0.3, 1.0, 23), 1)  # rounded: some ties
    b = np.round(rng.normal(0.0, 1.0, 31), 1)
    wins = (a[:, None] > b[None, :]).sum() + 0.5 * (a[:, None] == b[None, :]).sum()
    assert a12(a, b) == pytest.approx(wins / (len(a) * len(b)))
    assert a12(a, b) + a12(b, a) == pytest.approx(1.0)


def test_a12_ignores_nan() -> None:
    assert a12(np.array([2.0, np.nan]), np.array([1.0])) == pytest.approx(1.0)
    assert math.isnan(a12(np.array([np.nan]), np.array([1.0])))


# Cohen's d -----------------------------------------------------------------------


def test_cohens_d_hand_computed() -> None:
    # means 2 and 3, both variances 1: d = -1 exactly
    assert cohens_d(np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0])) == pytest.approx(-1.0)


def test_cohens_d_of_a_known_shift_is_close_to_shift_over_sd() -> None:
    rng = np.random.default_rng(3)
    sd, shift = 2.0, 1.0
    a = rng.normal(10.0 + shift, sd, 4000)
    b = rng.normal(10.0, sd, 4000)
    # standard error of d is about sqrt(2 / n) = 0.022
    assert cohens_d(a, b) == pytest.approx(shift / sd, abs=0.07)
    assert cohens_d(b, a) == pytest.approx(-shift / sd, abs=0.07)


def test_cohens_d_of_constant_samples() -> None:
    assert cohens_d(np.ones(4), np.ones(4)) == 0.0
    assert cohens_d(np.full(4, 2.0), np.ones(4)) == math.inf


# Holm ------------------------------------------------------------------------------


def test_holm_against_a_hand_computed_example() -> None:
    # sorted: 0.005*4 = 0.02; 0.01*3 = 0.03; 0.03*2 = 0.06; 0.04*1 = 0.04 -> max(0.06, 0.04)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_skips_nan() -> None:
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    out = holm([0.01, math.nan, 0.04])  # m = 2: 0.01*2 = 0.02, 0.04*1 -> 0.04
    assert out[0] == pytest.approx(0.02)
    assert math.isnan(out[1])
    assert out[2] == pytest.approx(0.04)
    assert holm([]) == []
    assert holm([0.2]) == pytest.approx([0.2])


# bootstrap CI ----------------------------------------------------------------------


def test_bootstrap_ci_covers_the_true_mean_of_a_normal_sample() -> None:
    x = np.random.default_rng(4).normal(5.0, 1.0, 200)
    low, high = bootstrap_ci(x)
    assert low < 5.0 < high
    assert low < x.mean() < high


def test_bootstrap_ci_coverage_is_near_95_percent() -> None:
    covered = 0
    trials = 40
    for seed in range(trials):
        x = np.random.default_rng(100 + seed).normal(-2.0, 3.0, 60)
        low, high = bootstrap_ci(x, seed=seed)
        covered += low < -2.0 < high
    # expected 38 of 40; fewer than 33 would be very unlikely (P < 0.01)
    assert covered >= 33, covered


def test_bootstrap_ci_width_shrinks_with_n() -> None:
    rng = np.random.default_rng(5)
    widths = {}
    for n in (25, 100, 400):
        low, high = bootstrap_ci(rng.normal(0.0, 1.0, n))
        widths[n] = high - low
    assert widths[25] > widths[100] > widths[400]
    # the width goes like 1 / sqrt(n): about 4x from 25 to 400
    assert 2.5 < widths[25] / widths[400] < 6.5
    # and is close to 2 * 1.96 * sd / sqrt(n)
    assert widths[400] == pytest.approx(2 * 1.96 / math.sqrt(400), rel=0.25)


def test_bootstrap_ci_of_a_constant_sample_is_a_point() -> None:
    assert bootstrap_ci(np.full(10, 0.25)) == (0.25, 0.25)
    low, high = bootstrap_ci(np.array([]))
    assert math.isnan(low)
    assert math.isnan(high)


# describe and compare ------------------------------------------------------------


def paired_results(shift: float, noise: float, n: int = 50, seed: int = 6) -> pd.DataFrame:
    """Two scenarios paired by replication: a = b + shift + noise."""
    rng = np.random.default_rng(seed)
    b = rng.normal(0.5, 0.1, n)
    a = b + shift + rng.normal(0.0, noise, n) if noise else b + shift
    rows = [
        {"scenario": name, "point": 0, "replication": r, "mean_skill": float(v)}
        for name, values in (("coached", a), ("plain", b))
        for r, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_describe_gives_mean_sd_ci_and_n() -> None:
    results = paired_results(shift=0.1, noise=0.01)
    desc = analysis.describe(results, ["mean_skill"]).set_index("scenario")
    for name in ("coached", "plain"):
        values = results.loc[results["scenario"] == name, "mean_skill"]
        row = desc.loc[name]
        assert row["n"] == 50
        assert row["mean"] == pytest.approx(values.mean())
        assert row["sd"] == pytest.approx(values.std(ddof=1))
        assert row["ci_low"] < row["mean"] < row["ci_high"]


def test_compare_detects_a_known_shift() -> None:
    results = paired_results(shift=0.1, noise=0.01)
    pairs = analysis.compare(results, ["mean_skill"])
    assert len(pairs) == 1
    row = pairs.iloc[0]
    assert (row["a"], row["b"], row["n"]) == ("coached", "plain", 50)
    assert row["mean_diff"] == pytest.approx(0.1, abs=0.005)
    assert 0 < row["ci_low"] < 0.1 < row["ci_high"]
    assert row["p_holm"] < 0.05
    assert row["a12"] > 0.5
    assert row["cohens_d"] > 0
    assert "higher" in row["sentence"]
    assert row["sentence"].startswith("coached vs plain, mean_skill")


def test_compare_says_lower_when_the_shift_is_negative() -> None:
    pairs = analysis.compare(paired_results(shift=-0.1, noise=0.01), ["mean_skill"])
    row = pairs.iloc[0]
    assert row["ci_high"] < 0
    assert row["p_holm"] < 0.05
    assert row["sentence"].endswith("lower")


def test_compare_on_identical_data_says_no_clear_difference() -> None:
    pairs = analysis.compare(paired_results(shift=0.0, noise=0.0), ["mean_skill"])
    row = pairs.iloc[0]
    assert row["mean_diff"] == 0.0
    assert row["ci_low"] <= 0.0 <= row["ci_high"]
    assert row["p_holm"] >= 0.05
    assert row["a12"] == pytest.approx(0.5)
    assert "no clear difference" in row["sentence"]


def test_compare_pairs_by_replication_not_by_row_order() -> None:
    results = paired_results(shift=0.1, noise=0.0)
    shuffled = results.sample(frac=1.0, random_state=0).reset_index(drop=True)
    row = analysis.compare(shuffled, ["mean_skill"]).iloc[0]
    sign = 1.0 if row["a"] == "coached" else -1.0  # the pair may come out either way round
    assert sign * row["mean_diff"] == pytest.approx(0.1)
    assert row["ci_low"] == pytest.approx(row["ci_high"])  # every paired difference is equal


def test_compare_with_reference_and_holm_across_pairs() -> None:
    rng = np.random.default_rng(7)
    base = rng.normal(0.5, 0.1, 30)
    rows = []
    for name, shift in (("ref", 0.0), ("up", 0.2), ("same", 0.0)):
        values = base + shift + (rng.normal(0, 0.01, 30) if name != "ref" else 0.0)
        rows += [
            {"scenario": name, "point": 0, "replication": r, "mean_skill": float(v)}
            for r, v in enumerate(values)
        ]
    pairs = analysis.compare(pd.DataFrame(rows), ["mean_skill"], reference="ref")
    assert set(zip(pairs["a"], pairs["b"], strict=True)) == {("up", "ref"), ("same", "ref")}
    assert pairs["p_holm"].tolist() == pytest.approx(holm(pairs["p_wilcoxon"].tolist()))
    verdicts = dict(zip(pairs["a"], pairs.apply(analysis.verdict, axis=1), strict=True))
    assert verdicts == {"up": "higher", "same": "no clear difference"}


def test_an_outcome_does_not_apply_only_where_no_run_has_a_value() -> None:
    from sim.methods.analysis import not_applicable, not_applicable_sentence

    results = pd.DataFrame(
        {
            "scenario": ["a", "a", "b", "b", "c", "c"],
            "trust_in_coach": [0.5, 0.6, np.nan, np.nan, 0.4, np.nan],  # c: one failed run
            "mean_skill": [0.5, 0.6, 0.4, 0.5, 0.4, 0.3],
        }
    )
    assert not_applicable(results, "trust_in_coach") == ["b"]
    assert not_applicable(results, "mean_skill") == []
    assert not_applicable(results, "not_an_outcome") == []
    sentence = not_applicable_sentence(results, ["mean_skill", "trust_in_coach"])
    assert sentence.startswith("trust_in_coach does not apply to b (")
    assert not_applicable_sentence(results, ["mean_skill"]) == ""


def test_time_to_competence_counts_runs_that_never_got_there_at_the_horizon() -> None:
    """Never a mean over the runs that finished: that favours the slow scenario's lucky runs."""
    from sim.methods.comparison import Comparison

    results = pd.DataFrame(
        {
            "scenario": ["fast"] * 4 + ["slow"] * 4,
            "point": 0,
            "replication": [0, 1, 2, 3] * 2,
            "time_to_competence": [10, 12, 14, 16, 20, np.nan, np.nan, 30],
        }
    )
    comp = Comparison.of(results, ["time_to_competence"], reference="fast", steps=104)
    slow = comp.desc[comp.desc["scenario"] == "slow"].iloc[0]
    assert slow["n"] == 4
    assert slow["mean"] == pytest.approx((20 + 104 + 104 + 30) / 4)  # not (20 + 30) / 2
    (pair,) = comp.pairs.itertuples()
    assert pair.n == 4
    assert pair.mean_diff == pytest.approx((20 - 10 + 104 - 12 + 104 - 14 + 30 - 16) / 4)
    assert "restricted mean up to week 104" in pair.sentence
    assert "at week 104" not in pair.sentence.replace("up to week 104", "")
    assert "slow 2 of 4" in comp.censored
    assert "fast 0 of 4" in comp.censored
    assert comp.censored in comp.markdown()
