"""Figures comparing scenarios: over time, Kaplan-Meier curves, distributions, forest plots."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.methods.analysis import censored_times, p_text, verdict
from sim.reporting.plots.style import (
    figure_and_axes,
    finish,
    label,
    legend_outside,
    line_style,
    short_label,
)


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
    fig, ax = figure_and_axes(ax, size)
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
    finish(ax, f"{short_label(outcome)}: mean and 95% CI, n = {n} runs each", size)
    ax.grid(alpha=0.3)
    legend_outside(ax, size)
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

    fig, ax = figure_and_axes(ax, size)
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
    finish(ax, f"{short_label(outcome)}: Kaplan-Meier, 95% CI (censored at week {horizon})", size)
    ax.grid(alpha=0.3)
    legend_outside(ax, size)
    return fig


def distributions(
    results: pd.DataFrame,
    outcome: str,
    colours: dict[str, str],
    ax: Axes | None = None,
    size: str = "slide",
) -> Figure:
    """Final outcome per scenario: a box per scenario with every run as a point."""
    fig, ax = figure_and_axes(ax, size)
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
    finish(ax, f"{short_label(outcome)} per run (n = {n} runs each)", size)
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
    fig, ax = figure_and_axes(ax, size)
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
    finish(
        ax,
        f"{nice}: paired differences, 95% CI (n = {n} pairs)\nfilled: p < 0.05 (Wilcoxon, Holm)",
        size,
    )
    ax.grid(alpha=0.3, axis="x")
    return fig
