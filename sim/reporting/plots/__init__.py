"""Matplotlib figures drawn from result tables (never from a live model).

Every function takes tables and an optional Axes and returns the figure; the caller
saves it. Colours come from a colour-blind-safe palette (Okabe and Ito 2008).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files, not windows: this runs on servers and in CI

import itertools
import math
import textwrap
import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import animation as mpl_animation
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.methods.analysis import TOO_FEW, censored_times, p_text, verdict
from sim.methods.statistics import weighted_quantile
from sim.model import measures as registry
from sim.model.measures import Measure, smoothed

plt.rcParams["figure.max_open_warning"] = 0  # a report holds dozens of figures at once

__all__ = [
    "OKABE_ITO",
    "SIZES",
    "abc_generations",
    "animation",
    "by_parameter",
    "distributions",
    "forest",
    "label",
    "network",
    "paired_by_factor",
    "partial_dependence",
    "plot_run",
    "posterior_contrast",
    "posterior_marginals",
    "posterior_pairs",
    "predictive_check",
    "scenario_colours",
    "sensitivity_bars",
    "short_label",
    "stylized_facts",
    "sweep_heatmap",
    "time_series",
    "winner_map",
]

OKABE_ITO = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)

# A run's figure: the measures of each panel (Measure.panel) in the registry's order.
SKILL_COLOURS = ("#D55E00", "#000000")  # the learning panel's lines, in order
SMOOTHED_COLOUR = "#777777"  # a smoothed line (dashed): a rate, not a level
# The animation draws the workshop's measures (Measure.workshop), in these colours.
ANIMATION_COLOURS = ("#0072B2", "#CC79A7", "#D55E00", "#777777")


def _panel(panel: str) -> list[Measure]:
    return [m for m in registry.registered() if m.panel == panel]


def plot_run(steps: pd.DataFrame, title: str, axes: tuple[Axes, Axes] | None = None) -> Figure:
    """Trust and skill over time for one run, from its per-step table.

    Args:
        steps: the run's per-step table (columns "step" and the measures).
        title: the figure's title (scenario and seed).
        axes: two Axes to draw into (trust, skill); a new figure when None.

    Returns:
        The figure.
    """
    if axes is None:
        fig, (ax_t, ax_s) = plt.subplots(1, 2, figsize=(10, 4.4), sharex=True, layout="constrained")
    else:
        ax_t, ax_s = axes
        fig = ax_t.figure  # type: ignore[assignment]
    colours = itertools.cycle(OKABE_ITO)
    same = steps["mean_trust"].equals(steps["within_team_trust"])
    for m in _panel("trust"):
        colour = next(colours)
        if m.name == "mean_trust" and same:
            continue  # one team: all contacts are the team, one line says it
        if m.name in steps and steps[m.name].notna().any():
            line = m.line or m.chart_label
            ax_t.plot(steps["step"], steps[m.name], label=line, color=colour, lw=1.8)
    weeks = steps["step"] >= 1  # week 0 is the initial state: nobody has asked yet
    skill_colours = itertools.cycle(SKILL_COLOURS)
    for m in _panel("learning"):
        line = m.line or m.chart_label
        if m.smooth:
            shown = smoothed(m.name, steps[m.name], steps["step"])[weeks.to_numpy()]
            kind = {"color": SMOOTHED_COLOUR, "lw": 1.2, "ls": "--"}
            ax_s.plot(steps["step"][weeks], shown, label=line, **kind)
        else:
            ax_s.plot(steps["step"], steps[m.name], label=line, color=next(skill_colours), lw=1.8)
    for ax, name in ((ax_t, "trust (0-1)"), (ax_s, "skill, share (0-1)")):
        ax.set_xlabel("week")
        ax.set_ylabel(name)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        # Below the axes, so the legend never covers a line.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=8, frameon=False)
    ax_t.set_title("Trust")
    ax_s.set_title("Learning")
    fig.suptitle(title)
    return fig


# Figure sizes in inches: a slide (16:9) and a paper column.
SIZES = {"slide": (8.0, 4.5), "column": (3.5, 2.8)}

# Scenario colours, in order: Okabe-Ito without its yellow, which is too pale for lines.
SCENARIO_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")

# Labels of the outcomes that are not a measure's (the measures': sim.model.measures).
OTHER_LABELS = {
    "time_to_competence": ("weeks to competence", "weeks"),
    "disintegrated": ("teams disintegrated", "share of runs"),
    # March (1991), sim.reference.march1991
    "code_knowledge": ("code knowledge", "-1 to 1"),
    "individual_knowledge": ("individuals' knowledge", "-1 to 1"),
}


def outcome_labels() -> dict[str, tuple[str, str]]:
    """Each outcome's name and unit in figures: the measures' (registry), then the others."""
    return {**{m.name: (m.label, m.unit) for m in registry.registered()}, **OTHER_LABELS}


def __getattr__(name: str) -> dict[str, tuple[str, str]]:
    """OUTCOME_LABELS: `outcome_labels()`, read from the measures' registry when asked."""
    if name == "OUTCOME_LABELS":
        return outcome_labels()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def label(outcome: str) -> str:
    """An axis label with its unit, e.g. "mean skill (0-1)"; run means say so."""
    base = outcome.removesuffix("_avg")
    name, unit = outcome_labels().get(base, (base.replace("_", " "), ""))
    if outcome.endswith("_avg"):
        name = f"{name}, run mean"
    return f"{name} ({unit})" if unit else name


def short_label(outcome: str) -> str:
    """An outcome's name without its unit, e.g. "mean skill, run mean"."""
    return label(outcome).split(" (")[0]


def scenario_colours(names: Sequence[str]) -> dict[str, str]:
    """One colour per scenario, in the experiment's order, the same in every figure."""
    return {n: SCENARIO_PALETTE[i % len(SCENARIO_PALETTE)] for i, n in enumerate(names)}


LINE_STYLES: tuple[Any, ...] = (
    "-",
    (0, (5, 2)),
    (0, (1, 1.5)),
    (0, (6, 2, 1, 2)),
    (0, (10, 3)),
    (0, (6, 2, 1, 2, 1, 2)),
)


def line_style(name: str, colours: dict[str, str]) -> tuple[Any, float]:
    """A dash pattern and a width per scenario, by its place in the colours.

    Later scenarios are drawn thinner, so a line over an identical one leaves the one
    beneath showing at its edges; the dashes part the lines in grey print.
    """
    i = list(colours).index(name) if name in colours else 0
    return LINE_STYLES[i % len(LINE_STYLES)], max(1.0, 2.6 - 0.3 * i)


def _axes(ax: Axes | None, size: str) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, new = plt.subplots(figsize=SIZES[size], layout="constrained")
    return fig, new


def _legend_outside(ax: Axes, size: str = "slide", **kwargs: object) -> None:
    """Legend to the right of the axes, so it never covers data (smaller in a column)."""
    if not ax.get_legend_handles_labels()[0] and "handles" not in kwargs:
        return
    fontsize = 5.5 if size == "column" else 8
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=fontsize, **kwargs
    )


def _wrap(text: str, width: int) -> str:
    """Wrap each line of a text to `width` characters; its own line breaks stay."""
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def _finish(ax: Axes, title: str, size: str) -> None:
    """Title and text sizes that fit the figure: smaller and wrapped in a paper column."""
    if size == "column":
        ax.set_title(_wrap(title, 40), fontsize=7)
        ax.set_xlabel(textwrap.fill(ax.get_xlabel(), 44), fontsize=6.5)
        ax.set_ylabel(textwrap.fill(ax.get_ylabel(), 34), fontsize=6.5)
        ax.tick_params(labelsize=5.5)
    else:
        ax.set_title(_wrap(title, 80), fontsize=10)  # long scenario names wrap


def time_series(
    over: pd.DataFrame,
    outcome: str,
    colours: dict[str, str],
    ax: Axes | None = None,
    size: str = "slide",
) -> Figure:
    """Mean across replications per scenario, with its 95% confidence band, over weeks.

    Args:
        over: analysis.over_time's table for one point (scenario, step, mean, ci_low,
            ci_high, n).
        outcome: the measure's name (for labels).
        colours: scenario -> colour.
        ax: Axes to draw into; a new figure when None.
        size: "slide" or "column" for a new figure.
    """
    fig, ax = _axes(ax, size)
    for scenario, data in over.groupby("scenario", sort=False):
        if data["mean"].notna().sum() == 0:
            continue
        c = colours[str(scenario)]
        ax.fill_between(data["step"], data["ci_low"], data["ci_high"], color=c, alpha=0.2, lw=0)
        ls, lw = line_style(str(scenario), colours)
        ax.plot(data["step"], data["mean"], color=c, lw=lw, ls=ls, label=str(scenario))
    ax.set_xlabel("week")
    ax.set_ylabel(label(outcome))
    counts = over[over["mean"].notna()].groupby("scenario")["n"].max()
    n = int(counts.min()) if len(counts) else 0  # over the scenarios drawn
    _finish(ax, f"{short_label(outcome)}: mean and 95% CI, n = {n} runs each", size)
    ax.grid(alpha=0.3)
    _legend_outside(ax, size)
    return fig


def survival(
    results: pd.DataFrame,
    outcome: str,
    horizon: int,
    colours: dict[str, str],
    ax: Axes | None = None,
    size: str = "slide",
) -> Figure:
    """Kaplan-Meier curves of a "first week that" outcome: the share of runs not there yet.

    `results` holds the raw outcome (NaN: never got there by `horizon`, censored there);
    the band is the 95% CI (scipy.stats.ecdf, Greenwood).
    """
    from scipy import stats  # imported here: scipy.stats takes 0.5 s to import

    fig, ax = _axes(ax, size)
    for scenario, rows in results.groupby("scenario", sort=False):
        if len(rows) == 0:
            continue
        sf = stats.ecdf(censored_times(rows[outcome], horizon)).sf
        with warnings.catch_warnings():  # undefined where the curve is at 1 or 0: not drawn
            warnings.filterwarnings("ignore", "The confidence interval is undefined")
            ci = sf.confidence_interval(0.95)
        weeks = np.arange(horizon + 1)
        c = colours[str(scenario)]
        ls, lw = line_style(str(scenario), colours)
        ax.fill_between(
            weeks,
            ci.low.evaluate(weeks),
            ci.high.evaluate(weeks),
            step="post",
            color=c,
            alpha=0.18,
            lw=0,
        )
        never = int(rows[outcome].isna().sum())
        ax.step(
            weeks,
            sf.evaluate(weeks),
            where="post",
            color=c,
            lw=lw,
            ls=ls,
            label=f"{scenario} ({never} of {len(rows)} never)",
        )
    ax.set_xlim(0, horizon)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("week")
    ax.set_ylabel("share of runs not there yet")
    _finish(ax, f"{short_label(outcome)}: Kaplan-Meier, 95% CI (censored at week {horizon})", size)
    ax.grid(alpha=0.3)
    _legend_outside(ax, size)
    return fig


def distributions(
    results: pd.DataFrame,
    outcome: str,
    colours: dict[str, str],
    ax: Axes | None = None,
    size: str = "slide",
) -> Figure:
    """Final outcome per scenario: a box per scenario with every run as a point."""
    fig, ax = _axes(ax, size)
    values = {
        s: results.loc[results["scenario"] == s, outcome].astype(float).dropna().to_numpy()
        for s in colours
        if s in set(results["scenario"])
    }
    names = [s for s, v in values.items() if len(v)]  # e.g. no trust in a coach without one
    rng = np.random.default_rng(0)  # jitter only; the same picture every time
    data = []
    for i, name in enumerate(names):
        v = values[name]
        data.append(v)
        ax.scatter(
            i + rng.uniform(-0.18, 0.18, len(v)),
            v,
            s=8,
            color=colours[name],
            alpha=0.6,
            lw=0,
            zorder=3,
        )
    ax.boxplot(
        data,
        positions=range(len(names)),
        widths=0.55,
        showfliers=False,
        medianprops={"color": "black"},
        boxprops={"color": "#555555"},
        whiskerprops={"color": "#555555"},
        capprops={"color": "#555555"},
    )
    ax.set_xticks(range(len(names)), names, rotation=25, ha="right", fontsize=8)
    ax.set_xlabel("scenario")
    ax.set_ylabel(label(outcome))
    n = min((len(v) for v in data), default=0)
    _finish(ax, f"{short_label(outcome)} per run (n = {n} runs each)", size)
    ax.grid(alpha=0.3, axis="y")
    return fig


def forest(
    pairs: pd.DataFrame,
    outcome: str,
    colours: dict[str, str],
    ax: Axes | None = None,
    size: str = "slide",
    points: dict[int, str] | None = None,
) -> Figure:
    """Paired mean differences (A - B) with 95% CIs; A12 and Holm's p written beside each.

    A filled dot: the difference is significant (Holm-adjusted p < 0.05); an open one:
    it is not. `pairs` holds analysis.compare's rows; with rows of several sweep
    points, each row is labelled with its point's values (`points`, as
    analysis.point_labels gives them).
    """
    fig, ax = _axes(ax, size)
    rows = pairs[(pairs["outcome"] == outcome) & (pairs["n"] > 0)].reset_index(drop=True)
    ys = np.arange(len(rows))[::-1]
    # A12 is written inside the axes, in a margin kept free of data on the right.
    low = min(0.0, float(rows["ci_low"].min())) if len(rows) else -1.0
    high = max(0.0, float(rows["ci_high"].max())) if len(rows) else 1.0
    span = (high - low) or 1.0
    small = size == "column"
    for y, (_, r) in zip(ys, rows.iterrows(), strict=True):
        c = colours.get(str(r["a"]), "black")
        shown = verdict(r) in ("higher", "lower")
        ax.plot([r["ci_low"], r["ci_high"]], [y, y], color=c, lw=2)
        ax.plot(
            r["mean_diff"],
            y,
            "o",
            color=c,
            mfc=c if shown else "white",
            mew=1.5,
            ms=4 if small else 6,
        )
        ax.text(
            high + 0.06 * span,
            y,
            f"A12 = {r['a12']:.2f}, {p_text(float(r['p_holm']))}",
            va="center",
            fontsize=6 if small else 8,
        )
    ax.set_xlim(low - 0.05 * span, high + (0.9 if small else 0.6) * span)
    ax.axvline(0, color="#555555", lw=1, ls="--")
    # In a column there is no room for "A - B" labels: name B once, in the axis label.
    short = small and len(rows) > 0 and rows["b"].nunique() == 1
    ticks = [str(r["a"]) if short else f"{r['a']} - {r['b']}" for _, r in rows.iterrows()]
    if points and rows["point"].nunique() > 1:  # which point each row is
        ticks = [f"{t}\n{points.get(int(p), p)}" for t, p in zip(ticks, rows["point"], strict=True)]
    ax.set_yticks(ys, ticks, fontsize=5.5 if small else 8)
    ax.set_xlabel(f"paired difference in {label(outcome)}")
    ax.set_ylabel(f"scenario minus {rows['b'].iloc[0]}" if short else "scenario A - scenario B")
    n = int(rows["n"].min()) if len(rows) else 0
    nice = short_label(outcome)
    _finish(
        ax,
        f"{nice}: paired differences, 95% CI (n = {n} pairs)\nfilled: p < 0.05 (Wilcoxon, Holm)",
        size,
    )
    ax.grid(alpha=0.3, axis="x")
    return fig


def by_parameter(
    table: pd.DataFrame,
    parameter: str,
    outcome: str,
    colours: dict[str, str],
    ax: Axes | None = None,
    size: str = "slide",
    of: str | None = None,
) -> Figure:
    """Outcome against one swept parameter, with 95% CI bars, one line per scenario.

    `table` is analysis.by_parameter's table; `of` names the one scenario whose lines
    stand for values of another parameter.
    """
    fig, ax = _axes(ax, size)
    names = list(dict.fromkeys(table.loc[table["n"] > 0, "scenario"]))  # those with data
    offsets = np.linspace(-0.02, 0.02, len(names)) if len(names) > 1 else [0.0]
    span = float(table["value"].max() - table["value"].min()) or 1.0
    for off, name in zip(offsets, names, strict=True):
        d = table[(table["scenario"] == name) & (table["n"] > 0)]
        if d.empty:
            continue  # e.g. trust in the coach where there is no coach
        x = d["value"].astype(float) + off * span  # side by side, bars do not overlap
        ax.errorbar(
            x,
            d["mean"],
            yerr=[d["mean"] - d["ci_low"], d["ci_high"] - d["mean"]],
            color=colours[name],
            marker="o",
            ms=4,
            lw=1.6,
            capsize=3,
            label=name,
        )
    values = sorted(table["value"].unique())
    if len(values) <= 8:
        ax.set_xticks(values)
    ax.set_xlabel(parameter.replace("_", " "))
    ax.set_ylabel(label(outcome))
    counted = table.loc[table["n"] > 0, "n"]
    n = int(counted.min()) if len(counted) else 0
    _finish(
        ax,
        f"{short_label(outcome)}{f' of {of}' if of else ''} by {parameter} "
        f"(mean, 95% CI, n = {n} runs each)",
        size,
    )
    ax.grid(alpha=0.3)
    _legend_outside(ax, size)
    return fig


def paired_by_factor(
    pairs: pd.DataFrame,
    factors: Sequence[str],
    outcome: str,
    size: str = "slide",
) -> Figure:
    """One pair's paired difference (A - B) against a factor, a line per level of a second.

    `pairs` holds analysis.compare's rows for one pair and outcome, with a column per
    factor giving each point's value; factors[0] goes on the x axis, factors[1] (if
    any) gives the lines (95% CI bands), factors[2] (if any) the panels side by side.
    A line that is flat at any height is no interaction; lines that part are one.
    """
    x = factors[0]
    line, panel = ([*factors[1:], None, None])[:2]
    panels = sorted(pairs[panel].unique()) if panel else [None]
    width, height = SIZES[size]
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(width * (1 + 0.45 * (len(panels) - 1)), height),
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    levels = sorted(pairs[line].unique()) if line else [None]
    shades = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(levels)))
    small = size == "column"
    for ax, value in zip(axes[0], panels, strict=True):
        here = pairs if panel is None else pairs[pairs[panel] == value]
        for colour, level in zip(shades, levels, strict=True):
            d = (here if line is None else here[here[line] == level]).sort_values(x)
            d = d[d["n"] > 0]
            if d.empty:
                continue
            xs = d[x].astype(float)
            ax.fill_between(xs, d["ci_low"], d["ci_high"], color=colour, alpha=0.18, lw=0)
            ax.plot(
                xs,
                d["mean_diff"],
                marker="o",
                ms=3 if small else 5,
                color=colour,
                lw=1.6,
                label=f"{line} = {level:g}" if isinstance(level, float) else f"{line} = {level}",
            )
        ax.axhline(0, color="#555555", lw=1, ls="--")
        values = sorted(pairs[x].unique())
        if len(values) <= 8:
            ax.set_xticks([float(v) for v in values])
        ax.set_xlabel(str(x).replace("_", " "))
        ax.grid(alpha=0.3)
    a, b = str(pairs["a"].iloc[0]), str(pairs["b"].iloc[0])
    counted = pairs.loc[pairs["n"] > 0, "n"]
    n = int(counted.min()) if len(counted) else 0
    title = (
        f"{short_label(outcome)}: {a} minus {b} against {x}, paired by seed "
        f"(mean, 95% CI, n = {n} pairs per point)"
    )
    for i, (ax, value) in enumerate(zip(axes[0], panels, strict=True)):
        ax.set_ylabel(f"{a} - {b}\n{label(outcome)}" if i == 0 and not small else f"{a} - {b}")
        if panel is None:
            _finish(ax, title, size)
            continue
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        ax.set_title(f"{panel} = {shown} (n = {n} pairs)", fontsize=7 if small else 9)
        if small:
            ax.tick_params(labelsize=5.5)
            ax.xaxis.label.set_fontsize(6.5)
            ax.yaxis.label.set_fontsize(6.5)
    if panel is not None:
        fig.suptitle(_wrap(title, 48 if small else 90), fontsize=7 if small else 10)
    if line is not None:
        _legend_outside(axes[0][-1], size)
    return fig


def partial_dependence(
    tables: dict[str, pd.DataFrame],
    outcome: str,
    colours: dict[str, str],
    size: str = "slide",
) -> Figure:
    """A sampled design's outcome against each sampled parameter, a panel each.

    `tables` maps each parameter to analysis.partial_dependence's table: per scenario,
    the mean (95% CI band) over the runs in each bin of the parameter's values, the
    other parameters varying within the bin.
    """
    names = list(tables)
    cols = 1 if size == "column" else min(len(names), 3)  # a paper column: one above another
    rows_n = math.ceil(len(names) / cols)
    width, height = SIZES[size]
    fig, axes = plt.subplots(
        rows_n,
        cols,
        figsize=(width, height * (0.8 + 0.55 * (rows_n - 1))),
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    small = size == "column"
    n = 0
    for ax, parameter in zip(axes.flat, names, strict=False):
        table = tables[parameter]
        for scenario in dict.fromkeys(table.loc[table["n"] > 0, "scenario"]):
            d = table[(table["scenario"] == scenario) & (table["n"] > 0)]
            c = colours.get(str(scenario), "black")
            ls, lw = line_style(str(scenario), colours)
            ax.fill_between(d["value"], d["ci_low"], d["ci_high"], color=c, alpha=0.15, lw=0)
            ax.plot(
                d["value"],
                d["mean"],
                color=c,
                ls=ls,
                lw=lw,
                marker="o",
                ms=2.5,
                label=str(scenario),
            )
        counted = table.loc[table["n"] > 0, "n"]
        n = int(counted.min()) if len(counted) else n
        ax.set_xlabel(parameter.replace("_", " "), fontsize=6.5 if small else 9)
        ax.set_title(f"n = {n} runs per bin", fontsize=6 if small else 8.5)
        ax.tick_params(labelsize=5.5 if small else 8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(label(outcome), fontsize=6.5 if small else 9)
    fig.suptitle(
        _wrap(
            f"{short_label(outcome)}: the average effect of each sampled parameter "
            "(mean over the runs in each bin of its values, the others varying; 95% CI)",
            48 if small else 90,
        ),
        fontsize=7 if small else 10,
    )
    _legend_outside(axes[0][-1] if len(names) >= cols else axes[0][len(names) - 1], size)
    return fig


def _grid(frame: pd.DataFrame, x: str, y: str, value: str) -> tuple[list, list, np.ndarray]:
    xs = sorted(frame[x].unique())
    ys = sorted(frame[y].unique())
    grid = np.full((len(ys), len(xs)), np.nan)
    for _, r in frame.iterrows():
        grid[ys.index(r[y]), xs.index(r[x])] = r[value]
    return xs, ys, grid


def sweep_heatmap(
    means: pd.DataFrame,
    x: str,
    y: str,
    outcome: str,
    scenario: str,
    ax: Axes | None = None,
    size: str = "slide",
    norm: Normalize | None = None,
) -> Figure:
    """One scenario's mean outcome over a two-parameter grid, each cell annotated.

    `means` has one row per point with columns x, y, "mean" and "n"; `norm` shares one
    colour scale between the heatmaps of several scenarios.
    """
    fig, ax = _axes(ax, size)
    xs, ys, grid = _grid(means, x, y, "mean")
    image = ax.imshow(grid, origin="lower", cmap="viridis", aspect="auto", norm=norm)
    for (i, j), v in np.ndenumerate(grid):
        if not math.isnan(v):
            shade = image.cmap(image.norm(v))
            text_colour = "black" if sum(shade[:3]) > 1.6 else "white"
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color=text_colour)
    ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    n = int(means["n"].min()) if "n" in means and len(means) else 0
    _finish(ax, f"{scenario}: {short_label(outcome)} (n = {n} runs per cell)", size)
    bar = fig.colorbar(image, ax=ax, label=label(outcome))
    if size == "column":
        bar.ax.yaxis.label.set_fontsize(7)
        bar.ax.tick_params(labelsize=6)
    return fig


def winner_map(
    pairs: pd.DataFrame,
    x: str,
    y: str,
    outcome: str,
    colours: dict[str, str],
    ax: Axes | None = None,
    size: str = "slide",
) -> Figure:
    """Which regime wins at each grid point of a two-parameter sweep.

    Each cell takes the winner's colour, or hatched grey where the paired difference is
    not significant (Holm-adjusted p >= 0.05), with the difference written in. `pairs`
    holds analysis.compare's rows for one pair of scenarios, with columns x and y giving
    each point's parameter values.
    """
    fig, ax = _axes(ax, size)
    rows = pairs[pairs["outcome"] == outcome]
    a, b = str(rows["a"].iloc[0]), str(rows["b"].iloc[0])
    xs = sorted(rows[x].unique())
    ys = sorted(rows[y].unique())
    verdicts = []
    for _, r in rows.iterrows():
        i, j = ys.index(r[y]), xs.index(r[x])
        v = verdict(r)
        verdicts.append(v)
        colour = {"higher": colours[a], "lower": colours[b]}.get(v, "#DDDDDD")
        unclear = v not in ("higher", "lower")  # no clear difference, or too few runs
        ax.add_patch(
            plt.Rectangle(
                (j - 0.5, i - 0.5),
                1,
                1,
                facecolor=colour,
                hatch="/" if unclear else None,
                edgecolor="#BBBBBB" if unclear else "white",  # the hatch takes this colour
                lw=1,
            )
        )
        ax.text(
            j,
            i,
            f"{r['mean_diff']:+.3f}",
            ha="center",
            va="center",
            fontsize=7,
            color="black" if unclear else "white",
            bbox={"facecolor": "#DDDDDD", "edgecolor": "none", "pad": 1} if unclear else None,
        )
    ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_ylim(-0.5, len(ys) - 0.5)
    ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    n = int(rows["n"].min()) if len(rows) else 0
    _finish(ax, f"Higher {short_label(outcome)}: {a} or {b}? (n = {n} pairs per cell)", size)
    _legend_outside(
        ax,
        size,
        handles=[
            Patch(color=colours[a], label=f"{a} higher"),
            Patch(color=colours[b], label=f"{b} higher"),
            Patch(
                facecolor="#DDDDDD",
                edgecolor="#BBBBBB",
                hatch="/",
                label=TOO_FEW if set(verdicts) == {TOO_FEW} else "no clear difference",
            ),
        ],
    )
    return fig


def team_layout(nodes: pd.DataFrame) -> dict[int, tuple[float, float]]:
    """Positions that keep teams apart.

    Each team sits on its own circle with its front-line manager in the middle; the
    managers above the front line sit in rows on top.
    """
    first = nodes[nodes["step"] == nodes["step"].min()]
    teams = sorted(t for t in first["team"].unique() if t >= 0)
    cols = max(1, math.ceil(math.sqrt(len(teams))))
    pos: dict[int, tuple[float, float]] = {}
    for k, t in enumerate(teams):
        cx, cy = 3.0 * (k % cols), -3.0 * (k // cols)
        members = first[(first["team"] == t) & (first["role"] != "manager")]
        managers = first[(first["team"] == t) & (first["role"] == "manager")]
        for m, node in enumerate(members["node"]):
            angle = 2 * math.pi * m / max(len(members), 1)
            pos[int(node)] = (cx + math.cos(angle), cy + math.sin(angle))
        for node in managers["node"]:
            pos[int(node)] = (cx, cy)
    upper = first[first["team"] < 0].sort_values(["level", "node"])
    width = 3.0 * (cols - 1)
    for level, group in upper.groupby("level"):
        xs = np.linspace(0, width, len(group) + 2)[1:-1] if len(group) > 1 else [width / 2]
        for xpos, node in zip(xs, group["node"], strict=True):
            pos[int(node)] = (float(xpos), 2.0 + 1.5 * (upper["level"].max() - level + 1))
    return pos


def _draw_network(
    ax: Axes, nodes: pd.DataFrame, edges: pd.DataFrame, pos: dict[int, tuple[float, float]]
) -> None:
    """Edges as one LineCollection (fast enough to redraw live), nodes as scatter by role."""
    ordered = edges.sort_values("trust")  # trusted ties drawn last, on top
    xy = np.array(
        [[pos[int(a)], pos[int(b)]] for a, b in zip(ordered["src"], ordered["dst"], strict=True)]
    )
    trust = ordered["trust"].to_numpy()
    if len(xy):
        ax.add_collection(
            LineCollection(
                list(xy), linewidths=0.3 + 3.0 * trust**2, colors=plt.cm.Blues(trust), zorder=1
            )
        )
    shapes = {"member": ("o", 60), "coach": ("*", 260), "manager": ("s", 70)}
    for role, (shape, area) in shapes.items():
        sub = nodes[nodes["role"] == role]
        if sub.empty:
            continue
        pts = np.array([pos[int(n)] for n in sub["node"]])
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            c=sub["skill"].to_numpy(),
            cmap="YlOrBr",
            vmin=0.0,
            vmax=1.0,
            marker=shape,
            s=area,
            edgecolors="black",
            linewidths=0.6,
            zorder=2,
        )
    ax.autoscale_view()
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_axis_off()


def network(
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    title: str,
    size: str = "slide",
) -> Figure:
    """The trust network at each snapshot step, side by side (start, middle, end).

    Nodes are coloured by mean skill (circles: members, star: coach, squares:
    managers); edges by mutual trust, darker and wider where trust is higher; teams
    are laid out apart.
    """
    steps = sorted(nodes["step"].unique())
    width = SIZES[size][0] if size == "slide" else 7.0
    fig, axes = plt.subplots(
        1,
        len(steps),
        figsize=(width, width / len(steps) + 0.9),
        layout="constrained",
        squeeze=False,
    )
    pos = team_layout(nodes)
    for ax, step in zip(axes[0], steps, strict=True):
        _draw_network(ax, nodes[nodes["step"] == step], edges[edges["step"] == step], pos)
        ax.set_title(f"week {step}", fontsize=10)
    skill_bar = plt.cm.ScalarMappable(norm=Normalize(0, 1), cmap=plt.cm.YlOrBr)
    trust_bar = plt.cm.ScalarMappable(norm=Normalize(0, 1), cmap=plt.cm.Blues)
    fig.colorbar(skill_bar, ax=axes[0].tolist(), label="skill (0-1)", shrink=0.7, pad=0.01)
    fig.colorbar(trust_bar, ax=axes[0].tolist(), label="mutual trust (0-1)", shrink=0.7, pad=0.01)
    fig.legend(
        handles=[
            Line2D([], [], marker=m, ls="", color="grey", mec="black", label=r)
            for r, m in (("member", "o"), ("coach", "*"), ("manager", "s"))
        ],
        loc="lower center",
        ncol=3,
        frameon=False,
        fontsize=8,
    )
    fig.suptitle(_wrap(title, int(width * 11)), fontsize=11)  # about 11 characters an inch
    return fig


def animation(
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    measures: pd.DataFrame,
    title: str,
    every: int = 1,
) -> mpl_animation.FuncAnimation:
    """One run as an animated trust network with its trust and skill over time beside it.

    The caller saves it (e.g. `.save(path, writer="pillow", fps=8)`).
    """
    steps = sorted(nodes["step"].unique())[::every]
    fig, (ax_net, ax_line) = plt.subplots(
        1, 2, figsize=(10, 4.6), layout="constrained", gridspec_kw={"width_ratios": [1.3, 1]}
    )
    pos = team_layout(nodes)
    shown = [m for m in registry.registered() if m.workshop]
    colours = itertools.cycle(ANIMATION_COLOURS)
    lines = {m.name: (m.chart_label, next(colours)) for m in shown}
    measures = measures.copy()
    for m in shown:  # as the charts show it (silence as its 8-week mean from week 1)
        if m.name in measures:
            measures[m.name] = smoothed(m.name, measures[m.name], measures["step"])
    ax_line.set_xlim(0, int(measures["step"].max()))
    ax_line.set_ylim(0, 1)
    ax_line.set_xlabel("week")
    ax_line.set_ylabel("trust, skill, share (0-1)")
    ax_line.grid(alpha=0.3)
    artists = {}
    for col, (name, colour) in lines.items():
        if col in measures and measures[col].notna().any():
            (artists[col],) = ax_line.plot([], [], color=colour, lw=1.8, label=name)
    ax_line.legend(loc="upper left", bbox_to_anchor=(0.0, -0.14), ncol=2, frameon=False, fontsize=8)
    fig.suptitle(title, fontsize=11)

    def draw(step: int) -> list:
        ax_net.clear()
        _draw_network(ax_net, nodes[nodes["step"] == step], edges[edges["step"] == step], pos)
        ax_net.set_title(f"week {step}", fontsize=10)
        upto = measures[measures["step"] <= step]
        for col, artist in artists.items():
            artist.set_data(upto["step"], upto[col])
        return list(artists.values())

    return mpl_animation.FuncAnimation(fig, draw, frames=steps, blit=False)


def sensitivity_bars(
    indices: pd.DataFrame,
    outcome: str,
    replications: int,
    ax: Axes | None = None,
    size: str = "slide",
) -> Figure:
    """One outcome's sensitivity indices, two bars per parameter, most influential on top.

    Sobol: first-order (S1) and total (ST) index, with 95% CIs. Morris: mu* (mean
    absolute elementary effect, 95% CI) and sigma (the spread of the effects); sigma
    above mu* means the effect is non-linear or interacts with other parameters.
    `indices` is sim.methods.sensitivity.analyze's table for one scenario and outcome;
    `replications` the runs averaged at each point.
    """
    n = f"(n = {replications} runs per point)"
    fig, ax = _axes(ax, size)
    if str(indices["method"].iloc[0]) == "sobol":
        bars = (("S1", "first-order S1 (alone)"), ("ST", "total ST (with interactions)"))
        rank = "ST"
        xlabel = "Sobol index: share of the outcome's variance (95% CI)"
        title = f"What drives {short_label(outcome)}: Sobol indices {n}"
    else:
        bars = (("mu_star", "mu*: mean absolute effect"), ("sigma", "sigma: spread of the effects"))
        rank = "mu_star"
        xlabel = f"effect on {short_label(outcome)} of moving a parameter across its range"
        title = f"What drives {short_label(outcome)}: Morris screening {n}"
    order = list(indices[indices["index"] == rank].sort_values("value")["parameter"])
    y = np.arange(len(order))
    colours = (OKABE_ITO[5], OKABE_ITO[0])
    for offset, (index, name), colour in zip((0.2, -0.2), bars, colours, strict=True):
        rows = indices[indices["index"] == index].set_index("parameter").loc[order]
        has_ci = bool(rows["ci_low"].notna().any())
        ax.barh(
            y + offset,
            rows["value"],
            height=0.38,
            color=colour,
            label=name + (" (95% CI)" if has_ci and index == "mu_star" else ""),
            xerr=[rows["value"] - rows["ci_low"], rows["ci_high"] - rows["value"]]
            if has_ci
            else None,
            error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#333333"},
        )
    ax.set_yticks(y, [p.replace("_", " ") for p in order])
    ax.axvline(0, color="#777777", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("parameter (most influential on top)")
    ax.grid(alpha=0.3, axis="x")
    _finish(ax, title, size)
    # Inside, bottom right: the least influential parameters are drawn there.
    ax.legend(loc="lower right", frameon=True, fontsize=5.5 if size == "column" else 8)
    return fig


def _fact_n(fact: Any) -> str:
    """What a fact's panel counts, e.g. "150 teams"."""
    d = fact.data
    if fact.number == 1:
        return f"{len(d['trust'])} teams"
    if fact.number == 2:
        return f"{len(d['fall'])} runs"
    if fact.number == 3:
        return f"{len(d['x'])} pairs"
    counts = d["table"]["n"]
    return f"{int(counts.min())} pairs per level"


def stylized_facts(facts: Sequence[Any], size: str = "slide") -> Figure:
    """The four stylized facts (sim.methods.validation.check_facts), one panel each.

    1: within-team trust against help-seeking and skill, a point per team; 2: weeks to
    fall after a breach against weeks to recover; 3: the endorsement's effect against
    trust in the sponsor, with the least-squares line; 4: the effect by number of levels,
    with 95% CIs. Each panel's title gives the verdict.
    """
    width, height = SIZES[size]
    fig, axes = plt.subplots(
        2, 2, figsize=(width, height * (1.6 if size == "slide" else 2.2)), layout="constrained"
    )
    small = 6 if size == "column" else 8
    by_number = {f.number: f for f in facts}
    for ax, number in zip(axes.flat, (1, 2, 3, 4), strict=True):
        fact = by_number.get(number)
        ax.tick_params(labelsize=small)
        if fact is None or fact.shown is None:
            ax.text(0.5, 0.5, "not checked", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        d = fact.data
        if number == 1:
            for key, colour, name in (
                ("voice", OKABE_ITO[0], f"needs voiced (r = {d['r_voice']:.2f})"),
                (
                    "skill",
                    OKABE_ITO[1],
                    f"skill, week {d.get('horizon', 104)} (r = {d['r_skill']:.2f})",
                ),
            ):
                ax.scatter(d["trust"], d[key], s=6, color=colour, alpha=0.6, label=name)
            ax.set_xlabel("within-team trust, run mean (0-1)", fontsize=small)
            ax.set_ylabel("share / skill (0-1)", fontsize=small)
            ax.legend(fontsize=small - 1, loc="best", frameon=True)
        elif number == 2:
            ax.boxplot([d["fall"], d["recovery"]], tick_labels=["fall", "recover"], widths=0.5)
            ax.set_ylabel("weeks", fontsize=small)
            ax.set_xlabel(f"around the breach at week {d['at']}", fontsize=small)
        elif number == 3:
            x = np.asarray(d["x"], float)
            ax.scatter(x, d["y"], s=6, color=OKABE_ITO[2], alpha=0.6)
            grid = np.linspace(0, float(x.max()), 20)
            ax.plot(
                grid,
                d["intercept"] + d["slope"] * grid,
                color="#333333",
                lw=1,
                label="least squares",
            )
            ax.set_xlim(left=0)
            ax.set_xlabel("trust in the sponsor, week 0 (0-1)", fontsize=small)
            ax.set_ylabel("effect on trust in coach", fontsize=small)
            ax.legend(fontsize=small - 1, loc="upper left", frameon=True)
        else:
            t = d["table"]
            ax.errorbar(
                t["levels"],
                t["effect"],
                yerr=[t["effect"] - t["ci_low"], t["ci_high"] - t["effect"]],
                marker="o",
                color=OKABE_ITO[3],
                capsize=3,
            )
            ax.set_xticks(list(t["levels"]))
            ax.set_xlabel("levels of hierarchy", fontsize=small)
            ax.set_ylabel("effect on trust in coach", fontsize=small)
        ax.grid(alpha=0.3)
        title = f"Fact {number}: {fact.verdict} (n = {_fact_n(fact)})"
        ax.set_title(textwrap.fill(title, 28) if size == "column" else title, fontsize=small + 1)
    fig.suptitle("Stylized facts: does the model show them?", fontsize=small + 2)
    return fig


def _prior_range(prior: Any) -> tuple[float, float]:
    return float(prior.min), float(prior.max)


def posterior_marginals(
    particles: pd.DataFrame, priors: dict[str, Any], truth: dict[str, float] | None = None
) -> Figure:
    """Each parameter's weighted posterior over its prior's range, one panel each.

    particles: the last generation (a "weight" column and one per parameter); priors:
    name -> an object with min, max and scale (sim.methods.calibration.Prior). The shaded band
    is the 95% credible interval, the dotted line the prior's density, the dashed
    line the true value when known (a parameter recovery).
    """
    names = list(priors)
    cols = min(len(names), 3)
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 2.8 * rows), layout="constrained", squeeze=False
    )
    w = particles["weight"].to_numpy(float)
    for ax, name in zip(axes.ravel(), names, strict=False):
        prior = priors[name]
        lo, hi = _prior_range(prior)
        v = particles[name].to_numpy(float)
        log = getattr(prior, "scale", "linear") == "log"
        bins = np.geomspace(lo, hi, 31) if log else np.linspace(lo, hi, 31)
        ax.hist(
            v, bins=bins, weights=w, density=True, color=OKABE_ITO[0], alpha=0.75, label="posterior"
        )
        low, high = weighted_quantile(v, w, [0.025, 0.975])
        ax.axvspan(low, high, color=OKABE_ITO[4], alpha=0.18, lw=0, label="95% credible")
        density = 1 / (hi - lo) if not log else None
        if density is not None:
            ax.axhline(density, color="#555555", ls=":", lw=1.2, label="prior")
        else:
            x = np.geomspace(lo, hi, 100)
            ax.plot(x, 1 / (x * math.log(hi / lo)), color="#555555", ls=":", lw=1.2, label="prior")
        if truth and name in truth:
            ax.axvline(truth[name], color=OKABE_ITO[5], ls="--", lw=1.6, label="true value")
        if log:
            ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_xlabel(name.replace("_", " "))
        ax.set_ylabel("density")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7, frameon=True, loc="upper right")
    fig.suptitle(f"Posterior of {len(names)} parameters ({len(particles)} particles)", fontsize=11)
    return fig


def posterior_pairs(
    particles: pd.DataFrame, priors: dict[str, Any], truth: dict[str, float] | None = None
) -> Figure:
    """Every pair of parameters in the posterior (dots sized by weight), marginals beside."""
    names = list(priors)
    d = len(names)
    fig, axes = plt.subplots(
        d, d, figsize=(2.3 * d + 0.6, 2.3 * d + 0.4), layout="constrained", squeeze=False
    )
    w = particles["weight"].to_numpy(float)
    size = 4 + 60 * w / w.max()
    for i, yname in enumerate(names):
        for j, xname in enumerate(names):
            ax = axes[i, j]
            xlo, xhi = _prior_range(priors[xname])
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(
                    particles[xname],
                    bins=20,
                    range=(xlo, xhi),
                    weights=w,
                    color=OKABE_ITO[0],
                    alpha=0.75,
                )
                ax.set_yticks([])
            else:
                ax.scatter(
                    particles[xname], particles[yname], s=size, color=OKABE_ITO[0], alpha=0.45, lw=0
                )
                ax.set_ylim(*_prior_range(priors[yname]))
                if truth and xname in truth and yname in truth:
                    ax.plot(truth[xname], truth[yname], marker="x", color=OKABE_ITO[5], ms=9, mew=2)
            if truth and xname in truth and i == j:
                ax.axvline(truth[xname], color=OKABE_ITO[5], ls="--", lw=1.4)
            ax.set_xlim(xlo, xhi)
            ax.tick_params(labelsize=6.5)
            if i == d - 1:
                ax.set_xlabel(xname.replace("_", " "), fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(yname.replace("_", " "), fontsize=8)
    fig.suptitle("Posterior pairs" + (" (x: the true values)" if truth else ""), fontsize=11)
    return fig


def abc_generations(generations: pd.DataFrame) -> Figure:
    """The distance threshold and the acceptance rate by ABC-SMC generation."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    g = generations["generation"]
    left.plot(g, generations["epsilon"], marker="o", color=OKABE_ITO[0])
    left.set_yscale("log")
    left.set_xlabel("generation")
    left.set_ylabel("distance threshold (targets' SEs)")
    left.set_title("Threshold by generation", fontsize=10)
    right.plot(g, 100 * generations["acceptance_rate"], marker="o", color=OKABE_ITO[1])
    right.set_ylim(0, 105)
    right.set_xlabel("generation")
    right.set_ylabel("candidates accepted (%)")
    right.set_title("Acceptance by generation", fontsize=10)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.set_xticks(list(g))
    return fig


def predictive_check(draws: pd.DataFrame, check: pd.DataFrame) -> Figure:
    """Each target's statistic at posterior draws, in the target's SEs from its observed value.

    draws: draw, target, value; check: sim.methods.calibration.predictive_check's table. The
    band is within 2 SE of the observed value; the colour is the check's verdict (the
    observed value inside or outside the 95% predictive interval), not the band.
    """
    targets = list(check["target"])
    fig, ax = plt.subplots(figsize=(8.5, 1.0 + 0.75 * len(targets)), layout="constrained")
    rng = np.random.default_rng(0)
    for k, row in enumerate(check.to_dict("records")):
        values = draws.loc[draws["target"] == row["target"], "value"].to_numpy(float)
        z = (values - float(row["observed"])) / float(row["observed_se"])
        reached = str(row["verdict"]).startswith("reached")
        ax.scatter(
            z,
            k + rng.uniform(-0.18, 0.18, len(z)),
            s=12,
            alpha=0.6,
            lw=0,
            color=OKABE_ITO[2] if reached else OKABE_ITO[5],
        )
        if len(z) and np.isfinite(z).any():
            ax.plot(np.nanmedian(z), k, marker="|", ms=18, mew=2.5, color="#222222")
    ax.axvspan(-2, 2, color="#999999", alpha=0.2, lw=0, label="within 2 SE of observed")
    ax.axvline(0, color="#333333", lw=1)
    ax.set_yticks(range(len(targets)), [t.replace("_", " ") for t in targets])
    ax.invert_yaxis()
    ax.set_xlabel("model minus observed, in the target's SEs (dots: posterior draws; bar: median)")
    ax.grid(alpha=0.3, axis="x")
    handles = [
        Patch(color="#999999", alpha=0.4, label="within 2 SE of observed"),
        Line2D([], [], marker="o", ls="", color=OKABE_ITO[2], label="target reached"),
        Line2D([], [], marker="o", ls="", color=OKABE_ITO[5], label="not reached"),
    ]
    _legend_outside(ax, handles=handles)
    ax.set_title("Posterior predictive check: can the model reach each target?", fontsize=10)
    return fig


def posterior_contrast(contrast: pd.DataFrame, a: str, b: str) -> Figure:
    """The difference a - b in each outcome at every posterior draw, one panel per outcome."""
    outcomes = list(dict.fromkeys(contrast["outcome"]))
    fig, axes = plt.subplots(
        1, len(outcomes), figsize=(3.8 * len(outcomes), 3.2), layout="constrained", squeeze=False
    )
    for ax, outcome in zip(axes.ravel(), outcomes, strict=True):
        d = contrast.loc[contrast["outcome"] == outcome, "difference"].to_numpy(float)
        d = d[~np.isnan(d)]
        ax.hist(d, bins=20, color=OKABE_ITO[0], alpha=0.75)
        ax.axvline(0, color="#333333", lw=1.2)
        share = float(np.mean(d > 0)) if len(d) else math.nan
        ax.set_title(f"{short_label(outcome)}: {a} higher at {share:.0%}", fontsize=9)
        ax.set_xlabel(f"{a} minus {b}")
        ax.set_ylabel("posterior draws")
        ax.grid(alpha=0.3)
    return fig
