"""Interaction contrasts and the power floor, on tables with a known answer."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from sim.methods import analysis, statistics
from sim.methods.comparison import Comparison
from sim.methods.contrasts import factor_values, interactions


def _factorial(n: int = 30, effect: float = 0.1, noise: float = 0.02) -> pd.DataFrame:
    """A and B at the points of x in {1, 2} by y in {0, 1}: A - B = effect where x=2, y=1."""
    rng = np.random.default_rng(7)
    rows = []
    points = [(1, 0), (2, 0), (1, 1), (2, 1)]
    for r in range(n):
        base = rng.normal(0.5, 0.1)  # shared by the pair (the seed's draw)
        for point, (x, y) in enumerate(points):
            swept = json.dumps({"x": x, "y": y})
            gap = effect if (x, y) == (2, 1) else 0.0
            for name, value in (("A", base + gap), ("B", base)):
                rows.append(
                    {
                        "scenario": name,
                        "point": point,
                        "replication": r,
                        "swept": swept,
                        "skill": value + rng.normal(0, noise),
                    }
                )
    return pd.DataFrame(rows)


def test_an_interaction_built_into_the_table_is_found_with_its_sign_and_ci() -> None:
    table = interactions(_factorial(), ["skill"])
    along_x = table[table["factor"] == "x"].set_index("at")
    built, none = along_x.loc["y=1"], along_x.loc["y=0"]
    assert built["ci_low"] < 0.1 < built["ci_high"]
    assert built["ci_low"] > 0.05
    assert built["p_holm"] < 0.001
    assert "the difference rises" in built["sentence"]
    assert none["ci_low"] < 0 < none["ci_high"]
    assert "no clear change" in none["sentence"]
    # Along y the same interaction shows where x=2, not where x=1.
    along_y = table[table["factor"] == "y"].set_index("at")
    assert along_y.loc["x=2", "contrast"] == pytest.approx(0.1, abs=0.02)
    assert abs(along_y.loc["x=1", "contrast"]) < 0.02
    assert len(table) == 4  # 2 factors x 2 strata, one pair
    # The contrast is the difference of the two paired differences, seed by seed.
    data = _factorial()
    d = {
        p: analysis.paired_differences(data[data["point"] == p], "A", "B", "skill")["diff"]
        for p in range(4)
    }
    assert built["contrast"] == pytest.approx((d[3].to_numpy() - d[2].to_numpy()).mean())


def test_a_reversed_pair_reverses_the_contrast() -> None:
    data = _factorial()
    ab = interactions(data, ["skill"], reference="B").set_index(["factor", "at"])
    ba = interactions(data, ["skill"], reference="A").set_index(["factor", "at"])
    assert ab["contrast"].to_numpy() == pytest.approx(-ba["contrast"].to_numpy())


def test_a_sampled_design_or_a_single_point_has_no_contrasts() -> None:
    data = _factorial()
    data["swept"] = [json.dumps({"x": 1 + p / 10, "y": p}) for p in data["point"]]
    assert interactions(data, ["skill"]).empty  # every point has its own values
    one = _factorial().assign(point=0, swept="{}")
    assert factor_values(one).empty
    assert interactions(one.drop_duplicates(["scenario", "replication"]), ["skill"]).empty


def test_three_replications_are_flagged_too_few_to_tell() -> None:
    assert statistics.p_floor(3, 1) == pytest.approx(0.25)  # Wilcoxon's smallest p, n = 3
    assert statistics.p_floor(10, 12) == pytest.approx(12 / 512)
    assert statistics.replications_for_floor(1) == 6  # 2 / 2**5 = 0.0625, 2 / 2**6 < 0.05
    assert statistics.replications_for_floor(60) == 12
    few = _factorial(n=3, effect=0.5)
    pairs = analysis.compare(few, ["skill"])
    assert set(pairs.apply(analysis.verdict, axis=1)) == {analysis.TOO_FEW}
    assert "cannot go below 1" in pairs["sentence"].iloc[0]
    assert analysis.TOO_FEW in analysis.tally(pairs).columns
    table = interactions(few, ["skill"])
    assert table["sentence"].str.contains("too few pairs to tell").all()
    many = analysis.compare(_factorial(n=30, effect=0.5), ["skill"])
    assert analysis.TOO_FEW not in set(many.apply(analysis.verdict, axis=1))


def test_the_paired_figure_draws_each_line_from_its_own_points() -> None:
    import itertools

    from sim.reporting import plots

    rows = []
    for point, (x, y, z) in enumerate(itertools.product([1, 2, 3], [0.3, 1.0], ["a", "b"])):
        diff = x * 0.01 + (0.05 if y == 1.0 else 0.0) + (0.1 if z == "b" else 0.0)
        rows.append(
            {
                "point": point,
                "a": "A",
                "b": "B",
                "outcome": "skill",
                "n": 10,
                "mean_diff": diff,
                "ci_low": diff - 0.01,
                "ci_high": diff + 0.01,
                "x": x,
                "y": y,
                "z": z,
            }
        )
    table = pd.DataFrame(rows)
    for size in ("slide", "column"):
        fig = plots.paired_by_factor(table, ["x", "y", "z"], "skill", size=size)
        axes = fig.axes
        assert [ax.get_title() for ax in axes] == ["z = a (n = 10 pairs)", "z = b (n = 10 pairs)"]
        for ax, z in zip(axes, ["a", "b"], strict=True):
            lines = [ln for ln in ax.get_lines() if ln.get_label().startswith("y = ")]
            assert [ln.get_label() for ln in lines] == ["y = 0.3", "y = 1"]
            for ln, y in zip(lines, [0.3, 1.0], strict=True):
                want = table[(table["z"] == z) & (table["y"] == y)].sort_values("x")
                assert list(ln.get_xdata()) == [1.0, 2.0, 3.0]
                assert list(ln.get_ydata()) == pytest.approx(want["mean_diff"].tolist())
        assert "A minus B against x" in fig.get_suptitle().replace("\n", " ")


def test_logrank_compares_the_curves_with_the_never_counted() -> None:
    from scipy import stats

    a = [10.0, 20.0, 30.0, np.nan, np.nan]  # two never got there by week 52
    b = [5.0, 6.0, 7.0, 8.0, 9.0]
    results = pd.DataFrame(
        {
            "scenario": ["slow"] * 5 + ["fast"] * 5,
            "point": 0,
            "replication": list(range(5)) * 2,
            "swept": "{}",
            "time_to_competence": a + b,
        }
    )
    (line,) = analysis.logrank_sentences(results, ["time_to_competence"], 52)
    want = stats.logrank(
        stats.CensoredData(uncensored=[10, 20, 30], right=[52, 52]),
        stats.CensoredData(uncensored=b),
    ).pvalue
    assert line.startswith("slow vs fast, time_to_competence: log-rank ")
    assert analysis.p_text(float(want)) in line
    assert "3 of 5 and 5 of 5 runs got there by week 52" in line
    assert analysis.logrank_sentences(results, ["mean_skill"], 52) == []  # not censored
    never = results.assign(time_to_competence=np.nan)
    assert analysis.logrank_sentences(never, ["time_to_competence"], 52) == [
        "slow vs fast, time_to_competence: no test, no run of either got there by week 52"
    ]


def test_compare_md_has_the_sections_its_data_calls_for() -> None:
    def markdown(data: pd.DataFrame) -> str:
        return Comparison.of(data, ["skill"], reference=None, steps=0).markdown()

    grid = markdown(_factorial())
    assert "## Paired differences" in grid
    assert "## Interactions" in grid
    assert "## Per sweep point" not in grid
    sampled = _factorial()
    sampled["swept"] = [json.dumps({"x": 1 + p / 10, "y": p}) for p in sampled["point"]]
    text = markdown(sampled)  # pairs, but no contrasts: still no table per point
    assert "## Paired differences" in text
    assert "## Interactions" not in text
    assert "## Per sweep point" not in text
    alone = markdown(_factorial()[lambda d: d["scenario"] == "A"])
    assert "## Per sweep point" in alone
    assert "## Paired differences" not in alone


def _linear(n: int = 40, seed_sd: float = 0.05) -> pd.DataFrame:
    """A - B = 0.1 - 0.01 x' + 0.02 y' - 0.05 x'y' + a seed's offset + noise (x', y' centred)."""
    rng = np.random.default_rng(3)
    xs, ys = [1, 2, 3, 4], [0.3, 0.6, 1.0]
    xm, ym = np.mean(xs), np.mean(ys)
    rows = []
    for r in range(n):
        offset = rng.normal(0, seed_sd)  # the same at every point: the runs of a seed
        for point, (x, y) in enumerate(itertools.product(xs, ys)):
            gap = 0.1 - 0.01 * (x - xm) + 0.02 * (y - ym) - 0.05 * (x - xm) * (y - ym)
            base = rng.normal(0.5, 0.1)
            swept = json.dumps({"x": x, "y": y})
            for name, value in (("A", base + gap + offset), ("B", base)):
                rows.append(
                    {
                        "scenario": name,
                        "point": point,
                        "replication": r,
                        "swept": swept,
                        "skill": value + rng.normal(0, 0.01),
                    }
                )
    return pd.DataFrame(rows)


def test_the_regression_recovers_main_effects_and_the_interaction_with_seed_clusters() -> None:
    from sim.methods.contrasts import regression

    table = regression(_linear(), ["skill"]).set_index("term")
    truth = {"Intercept": 0.1, "x": -0.01, "y": 0.02, "x:y": -0.05}
    assert list(table.index) == list(truth)
    for term, value in truth.items():
        assert table.loc[term, "ci_low"] < value < table.loc[term, "ci_high"], term
    assert table.loc["x:y", "p"] < 0.001
    assert (table["seeds"] == 40).all()
    assert (table["n"] == 40 * 12).all()
    # The seed's offset moves every point of a replication alike: clustered by seed, the
    # intercept's standard error is about that offset's sd over sqrt(40 seeds).
    assert table.loc["Intercept", "se"] == pytest.approx(0.05 / np.sqrt(40), rel=0.35)


def test_no_regression_with_one_factor() -> None:
    from sim.methods.contrasts import regression

    one = _linear()
    one["swept"] = [json.dumps({"x": json.loads(s)["x"]}) for s in one["swept"]]
    one["point"] = one["swept"].map({s: i for i, s in enumerate(sorted(set(one["swept"])))})
    one = one.drop_duplicates(["scenario", "point", "replication"])
    assert regression(one, ["skill"]).empty


def test_partial_dependence_bins_the_runs_and_the_figure_draws_each_bin() -> None:
    from sim.reporting import plots

    rng = np.random.default_rng(5)
    x = np.repeat(rng.uniform(0, 1, 40), 2)  # 40 sampled points, A and B at each
    runs = pd.DataFrame({"run_id": [f"r{i}" for i in range(80)], "x": x})
    results = pd.DataFrame(
        {
            "run_id": runs["run_id"],
            "scenario": ["A", "B"] * 40,
            "skill": 2 * x + rng.normal(0, 0.01, 80),
        }
    )
    table = analysis.partial_dependence(results, runs, "x", "skill", bins=4)
    for name in ("A", "B"):
        mine = table[table["scenario"] == name]
        assert len(mine) == 4
        assert (mine["n"] == 10).all()  # 80 runs, 4 bins of equal count, half each
    # Each bin stands at its runs' mean x, and its mean follows y = 2x.
    bins = pd.qcut(runs["x"], 4)
    centres = sorted(runs.groupby(bins, observed=True)["x"].mean())
    assert sorted(table["value"].unique()) == pytest.approx(centres)
    assert table["mean"].to_numpy() == pytest.approx(2 * table["value"].to_numpy(), abs=0.15)
    fig = plots.partial_dependence({"x": table}, "skill", {"A": "#0072B2", "B": "#E69F00"})
    (ax,) = fig.axes
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    want = table[table["scenario"] == "A"].sort_values("value")
    assert list(lines["A"].get_ydata()) == pytest.approx(want["mean"].tolist())
    assert ax.get_title() == "n = 10 runs per bin"


def test_the_replications_for_a_target_half_width_follow_the_widest_ci() -> None:
    comp = Comparison.of(_factorial(n=20), ["skill"], reference=None, steps=0)
    pairs = comp.pairs
    halves = (pairs["ci_high"] - pairs["ci_low"]) / 2
    target = float(halves.max()) / 2  # half the widest: four times the pairs
    said = comp.power_sentence(target)
    need = int(np.ceil((20 * (halves / target) ** 2).max()))
    assert need == 80
    assert f"For a half-width of {target:g} on every paired difference: about 80 replications" in (
        said
    )
    assert "For a half-width" not in comp.power_sentence()  # no target, no such line
