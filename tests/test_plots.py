"""Figures checked by their data: what each plot draws equals the table it was given.

Each figure function gets small synthetic tables with values chosen here, and the
test reads back what matplotlib holds (line data, band vertices, scatter offsets,
image arrays, patch colours) and compares it with the same statistics computed
independently (numpy and scipy), not only with what sim.methods.analysis returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from figure_checks import misfits
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection, PolyCollection
from matplotlib.colors import same_color, to_rgb
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from scipy import stats

from sim.methods import analysis
from sim.model.scenario import preset
from sim.model.snapshots import record_run
from sim.reporting import plots

SCENARIOS = ("alpha", "beta")
REPS = 5
STEPS = 6


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


# Synthetic tables -------------------------------------------------------------------


def _value(s: int, r: int, t: int) -> float:
    """A known value per scenario, replication and step, with spread across replications."""
    return 0.2 + 0.15 * s + 0.04 * t + 0.013 * r * r + 0.01 * ((r + t) % 3)


@pytest.fixture
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """steps and runs: 2 scenarios x 5 replications x 6 steps."""
    runs, rows = [], []
    for s, name in enumerate(SCENARIOS):
        for r in range(REPS):
            run_id = f"{name}-{r}"
            runs.append({"run_id": run_id, "scenario": name, "point": 0, "replication": r})
            for t in range(STEPS):
                rows.append({"run_id": run_id, "step": t, "mean_skill": _value(s, r, t)})
    return pd.DataFrame(rows), pd.DataFrame(runs)


def _expected(s: int, t: int) -> tuple[float, float, float]:
    """Mean and 95% t-CI across replications, computed here without sim.methods.analysis."""
    v = np.array([_value(s, r, t) for r in range(REPS)])
    half = stats.t.ppf(0.975, REPS - 1) * v.std(ddof=1) / math.sqrt(REPS)
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def _colours(names: tuple[str, ...] | list[str] = SCENARIOS) -> dict[str, str]:
    return plots.scenario_colours(list(names))


def _legend_labels(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def _fig_bbox(artist_extent, fig: Figure):
    return artist_extent.transformed(fig.transFigure.inverted())


# scenario_colours and label -----------------------------------------------------------


def test_scenario_colours_are_distinct_stable_and_colour_blind_safe() -> None:
    names = [f"s{i}" for i in range(6)]  # the largest experiment has six scenarios
    colours = plots.scenario_colours(names)
    assert list(colours) == names
    assert len({c.lower() for c in colours.values()}) == 6
    assert all(c in plots.OKABE_ITO for c in colours.values())
    assert "#F0E442" not in colours.values()  # the pale yellow is unreadable as a line
    assert plots.scenario_colours(names) == colours  # the same in every figure
    assert plots.scenario_colours(names[:2]) == dict(list(colours.items())[:2])


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("mean_skill", "mean skill (0-1)"),
        ("trust_in_coach", "trust in the coach (0-1)"),
        ("silence_rate_avg", "silence rate, run mean (share of needs)"),
        ("fragmentation", "bonded groups per team (count)"),
        ("time_to_competence", "weeks to competence (weeks)"),
    ],
)
def test_label_names_the_outcome_with_its_unit(outcome: str, expected: str) -> None:
    assert plots.label(outcome) == expected


# time_series --------------------------------------------------------------------------


def _series(tables: tuple[pd.DataFrame, pd.DataFrame], size: str = "slide") -> Figure:
    steps, runs = tables
    over = analysis.over_time(steps, runs, "mean_skill")
    return plots.time_series(over, "mean_skill", _colours(), size=size)


def test_time_series_line_is_the_mean_per_step(tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    steps, runs = tables
    over = analysis.over_time(steps, runs, "mean_skill")
    ax = plots.time_series(over, "mean_skill", _colours()).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == set(SCENARIOS)
    for s, name in enumerate(SCENARIOS):
        x, y = lines[name].get_xdata(), lines[name].get_ydata()
        np.testing.assert_array_equal(x, np.arange(STEPS))
        want = [_expected(s, t)[0] for t in range(STEPS)]
        np.testing.assert_allclose(y, want, rtol=0, atol=1e-12)
        mine = over[over["scenario"] == name].sort_values("step")["mean"]
        np.testing.assert_allclose(y, mine, rtol=0, atol=1e-12)


def _band_by_colour(ax: Axes) -> dict[tuple[float, float, float], PolyCollection]:
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    return {tuple(np.round(c.get_facecolor()[0][:3], 6)): c for c in bands}


def test_time_series_band_is_the_t_confidence_interval(
    tables: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    ax = _series(tables).axes[0]
    bands = _band_by_colour(ax)
    assert len(bands) == len(SCENARIOS)
    for s, name in enumerate(SCENARIOS):
        band = bands[tuple(np.round(to_rgb(_colours()[name]), 6))]
        vertices = np.concatenate([p.vertices for p in band.get_paths()])
        for t in range(STEPS):
            ys = vertices[np.isclose(vertices[:, 0], t), 1]
            _, low, high = _expected(s, t)
            assert ys.min() == pytest.approx(low, abs=1e-12), (name, t)
            assert ys.max() == pytest.approx(high, abs=1e-12), (name, t)
            assert low < _expected(s, t)[0] < high


def test_time_series_each_scenario_has_its_colour(
    tables: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    ax = _series(tables).axes[0]
    colours = _colours()
    for line in ax.get_lines():
        assert same_color(line.get_color(), colours[line.get_label()])
    for name in SCENARIOS:  # the band of each scenario in its line's colour, lighter
        band = _band_by_colour(ax)[tuple(np.round(to_rgb(colours[name]), 6))]
        assert band.get_facecolor()[0][3] < 0.5
    handles = ax.get_legend().legend_handles
    for handle, text in zip(handles, ax.get_legend().get_texts(), strict=True):
        assert same_color(handle.get_color(), colours[text.get_text()])


@pytest.mark.parametrize("size", ["slide", "column"])
def test_time_series_labels_title_and_legend_outside(
    tables: tuple[pd.DataFrame, pd.DataFrame], size: str
) -> None:
    fig = _series(tables, size)
    ax = fig.axes[0]
    assert tuple(fig.get_size_inches()) == pytest.approx(plots.SIZES[size])
    assert ax.get_xlabel() == "week"
    assert ax.get_ylabel() == "mean skill (0-1)"
    assert f"n = {REPS}" in ax.get_title()
    assert _legend_labels(ax) == list(SCENARIOS)
    fig.canvas.draw()
    legend = _fig_bbox(ax.get_legend().get_window_extent(), fig)
    axes = _fig_bbox(ax.get_window_extent(), fig)
    assert not legend.overlaps(axes), "the legend covers the data"
    assert legend.x0 >= axes.x1
    assert legend.x0 >= 0, "the legend is cut off by the figure edge"
    assert legend.x1 <= 1.0 + 1e-6, "the legend is cut off by the figure edge"


def _six_scenarios() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """The names of sponsorship_vs_peer, with over-time, final and paired tables."""
    names = [
        "no_coaching",
        "top_down_internal",
        "top_down_external",
        "manager_sponsored",
        "peer_led",
        "hybrid",
    ]
    over = pd.DataFrame(
        [
            {"scenario": n, "point": 0, "step": t, "mean": 0.4 + 0.01 * i + 0.002 * t}
            | {"ci_low": 0.35 + 0.01 * i, "ci_high": 0.45 + 0.01 * i, "n": 30}
            for i, n in enumerate(names)
            for t in range(105)
        ]
    )
    finals = pd.DataFrame(
        [
            {"scenario": n, "replication": r, "mean_skill": 0.4 + 0.01 * i + 0.003 * r}
            for i, n in enumerate(names)
            for r in range(30)
        ]
    )
    pairs = pd.DataFrame(
        [
            {"outcome": "mean_skill", "point": 0, "a": n, "b": "top_down_internal", "n": 30}
            | {"mean_diff": -0.01 * i, "ci_low": -0.01 * i - 0.004}
            | {"ci_high": -0.01 * i + 0.004, "a12": 0.5 - 0.05 * i, "p_holm": 0.01 * i}
            for i, n in enumerate(names)
            if n != "top_down_internal"
        ]
    )
    return over, finals, pairs, plots.scenario_colours(names)


def test_time_series_of_identical_scenarios_shows_every_line() -> None:
    # manager_sponsored and top_down_internal often give the same numbers: each of six
    # identical lines must differ from every other in dashes, and each later one be
    # thinner, so that the one beneath shows at its edges.
    over, _, _, colours = _six_scenarios()
    same = over.assign(mean=over["step"] * 0.002)
    lines = plots.time_series(same, "mean_skill", colours).axes[0].get_lines()
    assert [line.get_label() for line in lines] == list(colours)
    dashes = [str(line.get_linestyle()) + str(line._dash_pattern) for line in lines]
    assert len(set(dashes)) == len(lines)
    widths = [line.get_linewidth() for line in lines]
    assert widths == sorted(widths, reverse=True)
    assert len(set(widths)) == len(widths)


@pytest.mark.parametrize("size", ["slide", "column"])
@pytest.mark.parametrize("kind", ["time_series", "distributions", "forest"])
def test_figures_fit_their_size_with_six_scenarios(size: str, kind: str) -> None:
    """Titles and labels inside the figure, and room left for the data (issue 4: sizes
    that fit a paper column and a slide)."""
    over, finals, pairs, colours = _six_scenarios()
    if kind == "time_series":
        fig = plots.time_series(over, "mean_skill", colours, size=size)
    elif kind == "distributions":
        fig = plots.distributions(finals, "mean_skill", colours, size=size)
    else:
        fig = plots.forest(pairs, "mean_skill", colours, size=size)
    assert tuple(fig.get_size_inches()) == pytest.approx(plots.SIZES[size])
    assert not misfits(fig), misfits(fig)


def test_time_series_skips_a_scenario_without_data_and_counts_n_over_the_others(
    tables: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """trust_in_coach has no value where there is no coach (no_coaching, peer_led)."""
    steps, runs = tables
    extra = pd.DataFrame(
        [{"run_id": f"gamma-{r}", "scenario": "gamma", "point": 0} for r in range(REPS)]
    )
    blank = pd.DataFrame(
        [
            {"run_id": f"gamma-{r}", "step": t, "mean_skill": math.nan}
            for r in range(REPS)
            for t in range(STEPS)
        ]
    )
    over = analysis.over_time(
        pd.concat([steps, blank], ignore_index=True), pd.concat([runs, extra]), "mean_skill"
    )
    colours = _colours([*SCENARIOS, "gamma"])
    ax = plots.time_series(over, "mean_skill", colours).axes[0]
    assert {line.get_label() for line in ax.get_lines()} == set(SCENARIOS)
    assert "gamma" not in _legend_labels(ax)
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
    # Every drawn scenario has 5 runs per step: the title must not say "n = 0".
    assert f"n = {REPS} runs" in ax.get_title(), ax.get_title()


# distributions ------------------------------------------------------------------------


@pytest.fixture
def finals() -> pd.DataFrame:
    """One row per run: alpha 5 runs, beta 4 runs, gamma 6 runs (different n)."""
    values = {
        "alpha": [0.31, 0.35, 0.4, 0.42, 0.5],
        "beta": [0.6, 0.62, 0.7, 0.71],
        "gamma": [0.1, 0.15, 0.2, 0.22, 0.3, 0.33],
    }
    return pd.DataFrame(
        [
            {"scenario": s, "replication": r, "mean_skill": v}
            for s, vs in values.items()
            for r, v in enumerate(vs)
        ]
    )


def _boxes(ax: Axes) -> list:
    """The box outlines (closed five-point lines) drawn by boxplot, left to right."""
    boxes = [line for line in ax.get_lines() if len(line.get_xdata()) == 5]
    return sorted(boxes, key=lambda line: float(min(line.get_xdata())))


def test_distributions_one_box_and_every_run_per_scenario(finals: pd.DataFrame) -> None:
    names = ["alpha", "beta", "gamma"]
    colours = _colours(names)
    ax = plots.distributions(finals, "mean_skill", colours).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    boxes = _boxes(ax)
    assert len(boxes) == len(names)
    medians = sorted(
        (line for line in ax.get_lines() if same_color(line.get_color(), "black")),
        key=lambda line: float(np.mean(line.get_xdata())),
    )
    assert len(medians) == len(names)
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in points) == len(finals)
    for i, name in enumerate(names):
        v = finals.loc[finals["scenario"] == name, "mean_skill"].to_numpy()
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        box_x = boxes[i].get_xdata()
        assert (min(box_x) + max(box_x)) / 2 == pytest.approx(i)
        assert sorted(set(boxes[i].get_ydata())) == pytest.approx([q1, q3])
        assert medians[i].get_ydata()[0] == pytest.approx(med)
        mine = [c for c in points if same_color(c.get_facecolor()[0][:3], colours[name])]
        assert len(mine) == 1, name
        offsets = np.asarray(mine[0].get_offsets())
        assert len(offsets) == len(v)
        np.testing.assert_allclose(np.sort(offsets[:, 1]), np.sort(v))
        assert np.all(np.abs(offsets[:, 0] - i) < 0.3), "each run sits on its scenario's box"


def test_distributions_labels_unit_and_n(finals: pd.DataFrame) -> None:
    ax = plots.distributions(finals, "mean_skill", _colours(["alpha", "beta", "gamma"])).axes[0]
    assert ax.get_ylabel() == "mean skill (0-1)"
    assert "(" in ax.get_ylabel()
    assert ax.get_ylabel().endswith(")")
    assert ax.get_xlabel()
    assert "n = 4" in ax.get_title()  # the smallest scenario


def test_distributions_n_ignores_a_scenario_without_values(finals: pd.DataFrame) -> None:
    blank = pd.DataFrame(
        [{"scenario": "delta", "replication": r, "mean_skill": math.nan} for r in range(3)]
    )
    data = pd.concat([finals, blank], ignore_index=True)
    colours = _colours(["alpha", "beta", "gamma", "delta"])
    ax = plots.distributions(data, "mean_skill", colours).axes[0]
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in points) == len(finals)
    # The runs shown number at least 4 per scenario; "n = 0" misreads as "no data".
    assert "n = 0" not in ax.get_title(), ax.get_title()
    assert "n = 4" in ax.get_title(), ax.get_title()


# forest -------------------------------------------------------------------------------


@pytest.fixture
def pairs() -> pd.DataFrame:
    rows = [
        ("alpha", "ref", 10, -0.04, -0.06, -0.02, 0.31, 0.012),
        ("beta", "ref", 10, 0.01, -0.005, 0.03, 0.58, 0.4),  # not significant
        ("gamma", "ref", 0, math.nan, math.nan, math.nan, math.nan, math.nan),  # no pairs
        ("delta", "ref", 9, 0.2, 0.15, 0.26, 0.93, 0.0002),
    ]
    columns = ["a", "b", "n", "mean_diff", "ci_low", "ci_high", "a12", "p_holm"]
    frame = pd.DataFrame(rows, columns=columns)
    other = frame.assign(outcome="within_team_trust", mean_diff=9.0)  # another outcome
    return pd.concat([frame.assign(outcome="mean_skill", point=0), other.assign(point=0)])


def test_forest_one_row_per_pair_with_point_ci_and_a12(pairs: pd.DataFrame) -> None:
    names = ["ref", "alpha", "beta", "gamma", "delta"]
    colours = _colours(names)
    ax = plots.forest(pairs, "mean_skill", colours).axes[0]
    rows = pairs[(pairs["outcome"] == "mean_skill") & (pairs["n"] > 0)]
    ticks = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
    assert set(ticks) == {f"{a} - ref" for a in rows["a"]}
    dots = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    bars = [
        line
        for line in ax.get_lines()
        if len(line.get_ydata()) == 2 and line.get_ydata()[0] == line.get_ydata()[1]
    ]
    assert len(dots) == len(bars) == len(rows)
    texts = {round(t.get_position()[1], 6): t.get_text() for t in ax.texts}
    for _, r in rows.iterrows():
        y = ticks[f"{r['a']} - ref"]
        (dot,) = [d for d in dots if d.get_ydata()[0] == y]
        (bar,) = [b for b in bars if b.get_ydata()[0] == y]
        assert dot.get_xdata()[0] == pytest.approx(r["mean_diff"])
        assert sorted(bar.get_xdata()) == pytest.approx([r["ci_low"], r["ci_high"]])
        assert same_color(dot.get_color(), colours[r["a"]])
        assert same_color(bar.get_color(), colours[r["a"]])
        assert texts[round(float(y), 6)].startswith(f"A12 = {r['a12']:.2f}, p ")
        # filled where the difference is significant (Holm p < 0.05), open where not
        assert same_color(dot.get_markerfacecolor(), colours[r["a"]]) == (r["p_holm"] < 0.05)
    assert len(ax.texts) == len(rows)
    assert set(texts.values()) == {
        "A12 = 0.31, p = 0.012",
        "A12 = 0.58, p = 0.400",
        "A12 = 0.93, p < 0.001",
    }
    assert "filled: p < 0.05" in ax.get_title()
    assert "n = 9" in ax.get_title()
    assert ax.get_xlabel()
    assert ax.get_ylabel()
    assert "(0-1)" in ax.get_xlabel()


def test_forest_a12_texts_stay_inside_the_figure(pairs: pd.DataFrame) -> None:
    fig = plots.forest(pairs, "mean_skill", _colours(["ref", "alpha", "beta", "gamma", "delta"]))
    fig.canvas.draw()
    for text in fig.axes[0].texts:
        box = _fig_bbox(text.get_window_extent(), fig)
        assert box.x0 >= 0, text.get_text()
        assert box.x1 <= 1.0 + 1e-6, text.get_text()


# by_parameter -------------------------------------------------------------------------


@pytest.fixture
def by_levels() -> tuple[pd.DataFrame, pd.DataFrame]:
    """results and runs over levels 1-3: alpha and beta with values, gamma all NaN."""
    results, runs = [], []
    for s, name in enumerate(("alpha", "beta", "gamma")):
        for level in (1, 2, 3):
            for r in range(4):
                run_id = f"{name}-{level}-{r}"
                v = math.nan if name == "gamma" else 0.3 + 0.1 * s - 0.05 * level + 0.02 * r
                results.append({"run_id": run_id, "scenario": name, "trust_in_coach": v})
                runs.append({"run_id": run_id, "levels": level})
    return pd.DataFrame(results), pd.DataFrame(runs)


def test_by_parameter_errorbars_are_the_means_and_cis(
    by_levels: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    results, runs = by_levels
    table = analysis.by_parameter(results, runs, "levels", "trust_in_coach")
    colours = _colours(["alpha", "beta", "gamma"])
    ax = plots.by_parameter(table, "levels", "trust_in_coach", colours).axes[0]
    containers = {c.get_label(): c for c in ax.containers if isinstance(c, ErrorbarContainer)}
    assert set(containers) == {"alpha", "beta"}, "gamma has no data: nothing drawn"
    assert _legend_labels(ax) == ["alpha", "beta"]
    for name, container in containers.items():
        line, _, (bars,) = container.lines
        assert same_color(line.get_color(), colours[name])
        d = results[results["scenario"] == name].merge(runs, on="run_id")
        for level, (x, y) in zip((1, 2, 3), line.get_xydata(), strict=True):
            v = d.loc[d["levels"] == level, "trust_in_coach"].to_numpy()
            half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
            assert y == pytest.approx(v.mean())
            assert abs(x - level) < 0.1, "offset a little, never onto another value"
            seg = [s for s in bars.get_segments() if abs(s[0][0] - x) < 1e-9]
            assert len(seg) == 1
            assert sorted(seg[0][:, 1]) == pytest.approx([v.mean() - half, v.mean() + half])
    assert "n = 4" in ax.get_title()
    assert ax.get_xlabel() == "levels"
    assert ax.get_ylabel() == "trust in the coach (0-1)"


# sweep_heatmap and winner_map ----------------------------------------------------------


def test_sweep_heatmap_image_is_the_grid_of_means() -> None:
    xs, ys = [0.2, 0.6, 1.0], [0.3, 0.7]
    rows = [
        {"trust_scale": x, "propensity": y, "mean": 0.1 + i + 10 * j, "n": 5}
        for j, y in enumerate(ys)
        for i, x in enumerate(xs)
    ]
    means = pd.DataFrame(rows).sample(frac=1.0, random_state=3)  # order must not matter
    fig = plots.sweep_heatmap(means, "trust_scale", "propensity", "mean_skill", "alpha")
    ax = fig.axes[0]
    (image,) = ax.get_images()
    want = np.array([[0.1 + i + 10 * j for i in range(3)] for j in range(2)])
    np.testing.assert_allclose(np.asarray(image.get_array()), want)
    assert image.origin == "lower"
    texts = {
        (round(t.get_position()[0]), round(t.get_position()[1])): t.get_text() for t in ax.texts
    }
    assert texts == {(i, j): f"{want[j, i]:.2f}" for j in range(2) for i in range(3)}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.2", "0.6", "1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.3", "0.7"]
    assert ax.get_xlabel() == "trust scale"
    assert ax.get_ylabel() == "propensity"
    assert "alpha" in ax.get_title()
    assert "n = 5" in ax.get_title()
    colourbar = [a for a in fig.axes if a is not ax]
    assert len(colourbar) == 1
    assert colourbar[0].get_ylabel() == "mean skill (0-1)"


def test_sweep_heatmap_leaves_a_missing_cell_blank() -> None:
    means = pd.DataFrame(
        [
            {"x": 1, "y": 1, "mean": 0.5, "n": 3},
            {"x": 2, "y": 1, "mean": 0.6, "n": 3},
            {"x": 1, "y": 2, "mean": 0.7, "n": 3},
        ]
    )
    ax = plots.sweep_heatmap(means, "x", "y", "mean_skill", "alpha").axes[0]
    grid = np.asarray(ax.get_images()[0].get_array(), dtype=float)
    assert math.isnan(grid[1, 1])
    assert len(ax.texts) == 3


def test_winner_map_colours_winners_and_hatches_the_unclear() -> None:
    names = ["alpha", "beta"]
    colours = _colours(names)
    cases = {  # (x, y): (mean_diff, p_holm, expected)
        (0.2, 0.3): (0.05, 0.001, "alpha"),
        (0.6, 0.3): (-0.04, 0.01, "beta"),
        (1.0, 0.3): (0.03, 0.2, None),
        (0.2, 0.7): (-0.02, 0.05, None),  # p = 0.05 is not below 0.05
        (0.6, 0.7): (0.02, 0.049, "alpha"),
        (1.0, 0.7): (math.nan, math.nan, None),  # no paired runs
    }
    rows = [
        {
            "outcome": "mean_skill",
            "a": "alpha",
            "b": "beta",
            "point": k,
            "n": 8,
            "mean_diff": d,
            "p_holm": p,
            "ms": x,
            "tp": y,
        }
        for k, ((x, y), (d, p, _)) in enumerate(cases.items())
    ]
    other = [dict(r, outcome="within_team_trust", p_holm=1e-9, mean_diff=1.0) for r in rows]
    ax = plots.winner_map(pd.DataFrame(rows + other), "ms", "tp", "mean_skill", colours).axes[0]
    cells = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(cells) == len(cases)
    xs, ys = [0.2, 0.6, 1.0], [0.3, 0.7]
    for (x, y), (_, _, winner) in cases.items():
        at = (xs.index(x) - 0.5, ys.index(y) - 0.5)
        (cell,) = [c for c in cells if np.allclose(c.get_xy(), at)]
        if winner is None:
            assert same_color(cell.get_facecolor(), "#DDDDDD"), (x, y)
            assert cell.get_hatch(), (x, y)
        else:
            assert same_color(cell.get_facecolor(), colours[winner]), (x, y)
            assert not cell.get_hatch(), (x, y)
    assert _legend_labels(ax) == ["alpha higher", "beta higher", "no clear difference"]
    handles = ax.get_legend().legend_handles
    assert same_color(handles[0].get_facecolor(), colours["alpha"])
    assert same_color(handles[1].get_facecolor(), colours["beta"])
    assert handles[2].get_hatch()
    assert "n = 8" in ax.get_title()
    assert ax.get_xlabel() == "ms"
    assert ax.get_ylabel() == "tp"


# network ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snapshot() -> tuple[pd.DataFrame, pd.DataFrame, int, int]:
    """A tiny run's network at weeks 0, 2 and 4, with the live model's counts."""
    from sim.model.trust_model import TrustModel

    scenario = preset("top_down_internal", steps=4)
    nodes, edges, _ = record_run(scenario, 3, at_steps=(0, 2, 4))
    model = TrustModel(scenario, rng=3)
    people = model.org.n_people
    contact_pairs = int((model.net.src < model.net.dst).sum())
    return nodes, edges, people, contact_pairs


def test_a_network_title_naming_its_sweep_point_fits_at_column_size(
    snapshot: tuple[pd.DataFrame, pd.DataFrame, int, int],
) -> None:
    nodes, edges, _, _ = snapshot
    title = (
        "top_down_internal: median run on mean_skill (levels=4, management_trust_scale=0.3, "
        "span=2, team_size=6)"
    )
    for size in ("slide", "column"):
        fig = plots.network(nodes, edges, title, size=size)
        assert fig.get_suptitle().replace("\n", " ") == title  # all of it, wrapped
        assert misfits(fig) == []


def _network_axes(fig: Figure) -> list[Axes]:
    return [ax for ax in fig.axes if ax.get_title().startswith("week")]


def test_network_one_panel_per_snapshot_with_every_person_and_contact(
    snapshot: tuple[pd.DataFrame, pd.DataFrame, int, int],
) -> None:
    nodes, edges, people, contact_pairs = snapshot
    fig = plots.network(nodes, edges, "top_down_internal, seed 3")
    panels = _network_axes(fig)
    assert [ax.get_title() for ax in panels] == ["week 0", "week 2", "week 4"]
    for ax, step in zip(panels, (0, 2, 4), strict=True):
        assert not ax.axison
        dots = [c for c in ax.collections if isinstance(c, PathCollection)]
        drawn = np.concatenate([np.asarray(c.get_array()) for c in dots])
        assert len(drawn) == people
        at = nodes[nodes["step"] == step]
        np.testing.assert_allclose(np.sort(drawn), np.sort(at["skill"].to_numpy()))
        (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        assert len(lines.get_segments()) == contact_pairs
        here = edges[edges["step"] == step]
        assert len(here) == contact_pairs
        # Drawn from least to most trusted: wider and darker as trust grows.
        widths = np.asarray(lines.get_linewidth(), dtype=float)
        assert len(widths) == contact_pairs
        assert np.all(np.diff(widths) >= -1e-12)
        assert widths[-1] > widths[0] or np.ptp(here["trust"]) == 0
        lightness = np.asarray(lines.get_edgecolor())[:, :3].sum(axis=1)
        assert np.all(np.diff(lightness) <= 1e-9)
    assert fig._suptitle is not None
    assert "seed 3" in fig._suptitle.get_text()


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("top_down_external", {}),
        ("peer_led", {}),
        ("hybrid", {}),
        ("top_down_internal", {"members": 48, "levels": 3}),
    ],
)
def test_network_draws_every_person_of_other_structures(
    name: str, overrides: dict[str, int]
) -> None:
    nodes, edges, _ = record_run(preset(name, steps=2, **overrides), 1, at_steps=(0, 2))
    pos = plots.team_layout(nodes)
    assert set(pos) == set(nodes["node"])
    fig = plots.network(nodes, edges, name)
    for ax in _network_axes(fig):
        dots = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert sum(len(c.get_offsets()) for c in dots) == nodes["node"].nunique()


# plot_run -----------------------------------------------------------------------------


def test_plot_run_lines_are_the_run_measures() -> None:
    from sim.model.trust_model import TrustModel

    model = TrustModel(preset("top_down_internal", steps=5), rng=2)
    while model.running:
        model.step()
    steps = model.datacollector.get_model_vars_dataframe()
    fig = plots.plot_run(steps, "one run")
    ax_t, ax_s = fig.axes[:2]
    lines = {line.get_label(): line for line in ax_s.get_lines()}
    np.testing.assert_allclose(lines["mean skill"].get_ydata(), steps["mean_skill"])
    trust = {line.get_label(): line for line in ax_t.get_lines()}
    np.testing.assert_allclose(trust["within team"].get_ydata(), steps["within_team_trust"])
    for ax in (ax_t, ax_s):
        assert ax.get_xlabel() == "week"
        assert "(0-1)" in ax.get_ylabel()


def test_survival_curve_is_the_hand_computed_kaplan_meier() -> None:
    """Times 2, 4, 4 and one never (censored at 10): S = 1, 3/4 from week 2, 1/4 from week 4."""
    results = pd.DataFrame({"scenario": ["a"] * 4, "time_to_competence": [2.0, 4.0, np.nan, 4.0]})
    fig = plots.survival(results, "time_to_competence", 10, {"a": "#0072B2"})
    line = fig.axes[0].lines[0]
    y = dict(zip(line.get_xdata(), line.get_ydata(), strict=True))
    assert [y[w] for w in (0, 1, 2, 3, 4, 9, 10)] == pytest.approx(
        [1, 1, 0.75, 0.75, 0.25, 0.25, 0.25]
    )
    assert "1 of 4 never" in line.get_label()
    plt.close(fig)
