"""Figures of one run: its measures week by week, its trust network, and both animated."""

from __future__ import annotations

import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import animation as mpl_animation
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.model import measures as registry
from sim.model.measures import Measure, smoothed
from sim.model.structure import COACH, MANAGER, MEMBER, ROLE_NAMES
from sim.reporting.plots.style import OKABE_ITO, SIZES, wrap

# How each role is drawn in a network: its marker and its area (points^2).
ROLE_MARKERS = {MEMBER: ("o", 60), COACH: ("*", 260), MANAGER: ("s", 70)}

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
    shapes = {ROLE_NAMES[code]: style for code, style in ROLE_MARKERS.items()}
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
            for r, (m, _) in ((ROLE_NAMES[c], ROLE_MARKERS[c]) for c in ROLE_MARKERS)
        ],
        loc="lower center",
        ncol=3,
        frameon=False,
        fontsize=8,
    )
    fig.suptitle(wrap(title, int(width * 11)), fontsize=11)  # about 11 characters an inch
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
