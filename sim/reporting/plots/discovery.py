"""The figures of a scenario discovery: PRIM's peeling trajectory and the box's limits.

Both draw what sim.methods.discovery.discover found, in the manner of the EMA
Workbench's `show_tradeoff` and box inspection (Kwakkel 2017).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from sim.methods.discovery import Discovery, percent
from sim.reporting.plots.style import OKABE_ITO, figure_and_axes, finish, legend_outside

# Colours by the number of parameters a box restricts: grey for none, then Okabe-Ito.
RESTRICTED_COLOURS = ("#999999", *OKABE_ITO[:6], OKABE_ITO[7])
PHASE_MARKERS = {"start": "o", "peel": "o", "paste": "s", "release": "D"}
PHASE_WORDS = {"paste": "pasting", "release": "limits released"}


def discovery_tradeoff(
    found: Discovery, ax: Axes | None = None, size: str = "slide", claim: str = ""
) -> Figure:
    """PRIM's peeling trajectory: each box's coverage against its density, the reported one ringed.

    A point per step from all the worlds (coverage 100%, density the claim's overall
    share) to the smallest box; its colour says how many parameters the box restricts,
    squares are pasting steps, and a diamond, joined by a dotted line to the box chosen,
    is that box with its weak limits released. The dashed line is the minimum coverage
    a reported box keeps.
    """
    fig, ax = figure_and_axes(ax, size)
    small = 6 if size == "column" else 8
    t = found.trajectory
    path = t[t["phase"] != "release"]
    ax.plot(path["coverage"], path["density"], color="#BBBBBB", lw=0.8, zorder=1)
    for _, released in t[t["phase"] == "release"].iterrows():  # from the box it released
        chosen = t.loc[found.selected]
        ax.plot(
            [chosen["coverage"], released["coverage"]],
            [chosen["density"], released["density"]],
            color="#555555",
            lw=0.8,
            ls=":",
            zorder=1,
        )
    counts = t["restricted"].to_numpy()
    for count in sorted(set(counts)):
        colour = RESTRICTED_COLOURS[min(count, len(RESTRICTED_COLOURS) - 1)]
        for phase, marker in PHASE_MARKERS.items():
            rows = t[(t["restricted"] == count) & (t["phase"] == phase)]
            if rows.empty:
                continue
            label = str(count) if count else "none"
            ax.scatter(
                rows["coverage"],
                rows["density"],
                s=10 if size == "column" else 22,
                marker=marker,
                color=colour,
                edgecolor="white",
                linewidth=0.4,
                zorder=2,
                label=label if phase in ("start", "peel") else None,
            )
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    for phase in sorted(set(t["phase"]) & set(PHASE_WORDS)):
        unique[PHASE_WORDS[phase]] = Line2D(
            [],
            [],
            ls="",
            marker=PHASE_MARKERS[phase],
            ms=3 if size == "column" else 5,
            color="#555555",
            label=PHASE_WORDS[phase],
        )
    box = found.box
    ax.scatter(
        [box.coverage],
        [box.density],
        s=60 if size == "column" else 160,
        facecolor="none",
        edgecolor="black",
        lw=1.2,
        zorder=3,
    )
    ring = Line2D([], [], ls="", marker="o", ms=8, mfc="none", mec="black", label="reported box")
    unique["reported box"] = ring
    ax.axvline(found.min_coverage, color="#555555", ls="--", lw=1)
    ax.text(
        found.min_coverage,
        0.02,
        f" minimum coverage {percent(found.min_coverage)}",
        transform=ax.get_xaxis_transform(),
        fontsize=small,
        color="#555555",
        ha="left" if found.min_coverage < 0.75 else "right",
    )
    ax.annotate(  # below right of the ring: the trajectory runs above and left of it
        f"reported box:\ncoverage {percent(box.coverage)},\ndensity {percent(box.density)}",
        (box.coverage, box.density),
        xytext=(8, -8),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=small,
    )
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlim(max(0.0, min(t["coverage"].min(), found.min_coverage) - 0.05), 1.02)
    ax.set_ylim(max(0.0, t["density"].min() - 0.05), min(1.02, t["density"].max() + 0.08))
    ax.set_xlabel("coverage: of the worlds where the claim holds, the share inside the box")
    ax.set_ylabel("density: of the box's worlds,\nthe share where the claim holds")
    ax.grid(alpha=0.3)
    title = (
        f"PRIM's boxes, from all {found.worlds} worlds (the claim holds in "
        f"{percent(found.share)}) to the smallest"
    )
    finish(ax, f"{claim}\n{title}" if claim else title, size)
    legend_outside(
        ax, size, handles=list(unique.values()), labels=list(unique), title="parameters restricted"
    )
    legend = ax.get_legend()
    if legend is not None:
        legend.get_title().set_fontsize(small)
    return fig


def discovery_box(
    found: Discovery,
    names: Mapping[str, str] | None = None,
    ax: Axes | None = None,
    size: str = "slide",
    claim: str = "",
) -> Figure:
    """The reported box's limits over each restricted parameter's range across the worlds.

    A row per restricted parameter: the grey bar is its range over all worlds (its
    minimum at the left, its maximum at the right), the coloured bar the box, with the
    limits written above it; on the right, each restricted side's quasi-p value
    (Bryant & Lempert 2010: small when the limit selects for the claim). `names` gives
    words for parameters, `claim` a first line for the title (what the claim is).
    """
    fig, ax = figure_and_axes(ax, size)
    box, names = found.box, names or {}
    small = 6 if size == "column" else 8
    limits = box.limits
    title = (
        f"The box: {percent(box.mass)} of the worlds, the claim holds in "
        f"{percent(box.density)} of them (coverage {percent(box.coverage)})"
    )
    title = f"{claim}\n{title}" if claim else title
    if limits.empty:
        ax.text(
            0.5,
            0.5,
            f"No box: no limits keep {percent(found.min_coverage)} of the worlds where the "
            "claim holds\nand raise its share beyond chance.",
            ha="center",
            va="center",
            fontsize=small + 1,
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        finish(ax, title, size)
        return fig
    rows = np.arange(len(limits))[::-1]  # the first parameter on top
    for y, (_, row) in zip(rows, limits.iterrows(), strict=True):
        span = row["range_max"] - row["range_min"]
        low = (row["lower"] - row["range_min"]) / span
        high = (row["upper"] - row["range_min"]) / span
        ax.barh(y, 1.0, height=0.36, color="#E5E5E5", edgecolor="#999999", lw=0.6)
        ax.barh(y, high - low, left=low, height=0.36, color=OKABE_ITO[0])
        grey: dict[str, Any] = {"fontsize": small, "color": "#666666", "va": "top"}
        ax.text(0.0, y - 0.24, f"{row['range_min']:.3g}", ha="left", **grey)
        ax.text(1.0, y - 0.24, f"{row['range_max']:.3g}", ha="right", **grey)
        bold: dict[str, Any] = {"fontsize": small + 1, "fontweight": "bold", "va": "bottom"}
        if row["lower"] > row["range_min"]:
            ax.text(low, y + 0.22, _written(row["written_lower"]), ha="center", **bold)
        if row["upper"] < row["range_max"]:
            ax.text(high, y + 0.22, _written(row["written_upper"]), ha="center", **bold)
    ticks = [
        f"{names.get(str(n), str(n)).replace('_', ' ')}\n{_quasi_p(row)}"
        for n, row in limits.iterrows()
    ]
    ax.set_yticks(rows, ticks, fontsize=small + 1)
    ax.set_xticks([])
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.7, len(limits) - 0.3)
    ax.tick_params(axis="y", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("grey: each parameter's range over the worlds; blue: the box's limits")
    finish(ax, title, size)
    return fig


def _written(value: float) -> str:
    """A limit as the sentence writes it (already rounded to the digits that matter)."""
    return np.format_float_positional(value, trim="-")


def _quasi_p(row: pd.Series) -> str:
    """The quasi-p values of a parameter's restricted sides, e.g. "quasi-p: lower <0.001"."""
    parts = []
    for side in ("lower", "upper"):
        qp = row[f"qp_{side}"]
        if not np.isnan(qp):
            parts.append(f"{side} {'<0.001' if qp < 0.001 else f'{qp:.3f}'}")
    return "quasi-p: " + ", ".join(parts)
