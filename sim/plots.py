"""Matplotlib figures drawn from result tables (never from a live model).

Every function takes tables and an optional Axes and returns the figure; the caller
saves it. Colours come from a colour-blind-safe palette (Okabe and Ito 2008).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files, not windows: this runs on servers and in CI

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["OKABE_ITO", "plot_run"]

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

TRUST_LINES = {
    "mean_trust": "all contacts",
    "within_team_trust": "within team",
    "trust_in_managers": "in managers",
    "trust_in_coach": "in the coach",
    "cross_team_trust": "across teams",
}
SKILL_LINES = {"mean_skill": "mean skill", "skill_p10": "weakest tenth (p10)"}


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
    colours = iter(OKABE_ITO)
    same = steps["mean_trust"].equals(steps["within_team_trust"])
    for col, label in TRUST_LINES.items():
        colour = next(colours)
        if col == "mean_trust" and same:
            continue  # one team: all contacts are the team, one line says it
        if col in steps and steps[col].notna().any():
            ax_t.plot(steps["step"], steps[col], label=label, color=colour, lw=1.8)
    for (col, label), colour in zip(SKILL_LINES.items(), ("#D55E00", "#000000"), strict=True):
        ax_s.plot(steps["step"], steps[col], label=label, color=colour, lw=1.8)
    weeks = steps[steps["step"] >= 1]  # week 0 is the initial state: nobody has asked yet
    ax_s.plot(
        weeks["step"],
        weeks["silence_rate"].rolling(8, min_periods=1).mean(),
        label="silence rate (8-week mean)",
        color="#777777",
        lw=1.2,
        ls="--",
    )
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
