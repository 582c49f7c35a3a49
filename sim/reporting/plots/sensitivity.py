"""The figure of a sensitivity analysis: each parameter's Sobol indices or Morris effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.reporting.plots.style import OKABE_ITO, figure_and_axes, finish, short_label


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
    fig, ax = figure_and_axes(ax, size)
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
    finish(ax, title, size)
    # Inside, bottom right: the least influential parameters are drawn there.
    ax.legend(loc="lower right", frameon=True, fontsize=5.5 if size == "column" else 8)
    return fig
