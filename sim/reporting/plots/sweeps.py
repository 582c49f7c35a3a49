"""Figures of a sweep: an outcome by one parameter, by the factors, over a two-parameter grid.

Also a sampled design's partial dependence, and which regime wins at each grid point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.methods.analysis import TOO_FEW, verdict
from sim.reporting.plots.style import (
    SIZES,
    figure_and_axes,
    finish,
    label,
    legend_outside,
    line_style,
    short_label,
    wrap,
)


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
    fig, ax = figure_and_axes(ax, size)
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
    finish(
        ax,
        f"{short_label(outcome)}{f' of {of}' if of else ''} by {parameter} "
        f"(mean, 95% CI, n = {n} runs each)",
        size,
    )
    ax.grid(alpha=0.3)
    legend_outside(ax, size)
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
            finish(ax, title, size)
            continue
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        ax.set_title(f"{panel} = {shown} (n = {n} pairs)", fontsize=7 if small else 9)
        if small:
            ax.tick_params(labelsize=5.5)
            ax.xaxis.label.set_fontsize(6.5)
            ax.yaxis.label.set_fontsize(6.5)
    if panel is not None:
        fig.suptitle(wrap(title, 48 if small else 90), fontsize=7 if small else 10)
    if line is not None:
        legend_outside(axes[0][-1], size)
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
        wrap(
            f"{short_label(outcome)}: the average effect of each sampled parameter "
            "(mean over the runs in each bin of its values, the others varying; 95% CI)",
            48 if small else 90,
        ),
        fontsize=7 if small else 10,
    )
    legend_outside(axes[0][-1] if len(names) >= cols else axes[0][len(names) - 1], size)
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
    fig, ax = figure_and_axes(ax, size)
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
    finish(ax, f"{scenario}: {short_label(outcome)} (n = {n} runs per cell)", size)
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
    fig, ax = figure_and_axes(ax, size)
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
    finish(ax, f"Higher {short_label(outcome)}: {a} or {b}? (n = {n} pairs per cell)", size)
    legend_outside(
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
