"""The figure of a comparison across plausible worlds: each pair's expected difference per world."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.methods.across import INTERVAL
from sim.reporting.plots.style import OKABE_ITO, label, legend_outside, short_label


def across_differences(
    table: pd.DataFrame, summary: pd.DataFrame, outcome: str, ax: Axes | None = None
) -> Figure:
    """Per pair, the worlds' expected differences A - B in one outcome, one row each.

    table: one row per pair, outcome and world (mean_diff); summary: one row per pair
    and outcome (median, low90, high90, one_point, smallest_effect), as
    sim.experiments.across writes them. A dot is a world; the black bar holds the
    central 90% of worlds, the white dot on it is their median, the red diamond the
    difference at the experiment's own values; the grey band is +/- the smallest
    effect of interest, inside which a world is undecided.
    """
    rows = summary[summary["outcome"] == outcome].reset_index(drop=True)
    if ax is None:
        import matplotlib.pyplot as plt

        height = max(2.6, 1.2 + 0.6 * len(rows))
        fig, ax = plt.subplots(figsize=(8.0, height), layout="constrained")
    else:
        fig = ax.figure  # type: ignore[assignment]
    sesoi = float(rows["smallest_effect"].iloc[0]) if len(rows) else 0.0
    ax.axvspan(-sesoi, sesoi, color="#bbbbbb", alpha=0.35, lw=0)
    ax.axvline(0, color="#555555", lw=1, ls="--")
    ys = np.arange(len(rows))[::-1]
    jitter = np.random.default_rng(0)  # a fixed spread of the dots, the same in every drawing
    for y, r in zip(ys, rows.to_dict("records"), strict=True):
        mine = table[
            (table["outcome"] == outcome) & (table["a"] == r["a"]) & (table["b"] == r["b"])
        ]
        d = mine["mean_diff"].dropna().to_numpy(float)
        # the worlds above the pair's line, their summary on it
        spread = y + jitter.uniform(0.08, 0.38, len(d))
        ax.scatter(d, spread, s=9, color=OKABE_ITO[0], alpha=0.5, lw=0)
        line = y - 0.1
        ax.plot([r["low90"], r["high90"]], [line] * 2, color="black", lw=3, solid_capstyle="butt")
        ax.plot(r["median"], line, "o", color="black", mfc="white", mew=1.5, ms=7)
        if not np.isnan(r["one_point"]):
            ax.plot(r["one_point"], line, "D", color=OKABE_ITO[5], ms=6, mec="white", mew=0.8)
    ax.set_yticks(ys, [f"{a} - {b}" for a, b in zip(rows["a"], rows["b"], strict=True)], fontsize=8)
    ax.set_ylim(-0.5, len(rows) - 0.4)
    ax.locator_params(axis="x", nbins=6)  # a difference's ticks are long: fewer of them
    ax.set_xlabel(f"expected paired difference in {label(outcome)}, per world")
    worlds = int(rows["worlds"].max()) if len(rows) else 0
    pairs = int(rows["pairs"].min()) if len(rows) else 0
    ax.set_title(
        f"{short_label(outcome)}: across {worlds} plausible worlds ({pairs} paired runs each)",
        fontsize=10,
    )
    handles = [
        Line2D([], [], marker="o", ls="", color=OKABE_ITO[0], alpha=0.6, ms=4, label="a world"),
        Line2D([], [], color="black", lw=3, label=f"central {INTERVAL:.0%} of worlds"),
        Line2D([], [], marker="o", ls="", color="black", mfc="white", ms=7, label="median"),
        Line2D(
            [],
            [],
            marker="D",
            ls="",
            color=OKABE_ITO[5],
            ms=6,
            label="at the experiment's\nown values",
        ),
        Patch(
            color="#bbbbbb",
            alpha=0.6,
            label=f"within +/-{sesoi:g}: smaller\nthan the smallest\neffect of interest",
        ),
    ]
    legend_outside(ax, handles=handles)
    ax.grid(alpha=0.3, axis="x")
    return fig
