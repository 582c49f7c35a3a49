"""What the workshop hands out of its played sides: the player's data, the CSV, the picture.

The browser's player gets everything it draws once per change, as JSON (`page_data`);
the data behind the charts downloads as a tidy CSV table (`csv_text`), and the picture
for a slide as a PNG (`picture_png`). Both sides keep their colour and dash everywhere
(`SIDE_COLOURS`, `SIDE_DASHES`).
"""

from __future__ import annotations

import csv
import io
import math
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.reporting.plots import OKABE_ITO
from sim.workshop.play import Played, measures_shown
from sim.workshop.sentences import event_words

__all__ = [
    "SIDE_COLOURS",
    "SIDE_DASHES",
    "csv_text",
    "page_data",
    "picture_png",
]

SIDE_COLOURS = (OKABE_ITO[0], OKABE_ITO[5])  # blue and vermilion: safe for colour-blindness
SIDE_DASHES = ("solid", "dash")  # the second cue beside colour


def csv_text(played: Sequence[Played], week: int | None = None) -> str:
    """The data behind the charts, one row per side and week (a tidy table)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["side", "scenario", "seed", "week", "series", *list(measures_shown())])
    for p in played:
        last = p.weeks if week is None else min(week, p.weeks)
        for series, data in (
            ("watched run", p.lines),
            ("median of runs", p.middle),
            ("10th percentile", p.low),
            ("90th percentile", p.high),
        ):
            for w in range(last + 1):
                writer.writerow(
                    [p.title, p.scenario.name, p.seed, w, series]
                    + [_csv_number(data[k][w]) for k in measures_shown()]
                )
    return out.getvalue()


def _csv_number(v: float) -> str:
    return "" if math.isnan(v) else f"{v:.6g}"


def _series(values: NDArray[np.float64]) -> list[float | None]:
    """A chart line for JSON: NaN (a week where the measure does not apply) is a gap."""
    return [None if math.isnan(v) else round(float(v), 4) for v in values]


def page_data(played: Sequence[Played], previous: Sequence[Played] | None = None) -> dict[str, Any]:
    """Everything the browser draws, once per change (JSON-ready).

    The player moves its week cursor over this without asking the server again.
    """
    sides = []
    for i, p in enumerate(played):
        before = previous[i] if previous and i < len(previous) else None
        sides.append(
            {
                "title": p.title,
                "name": p.scenario.name,
                "colour": SIDE_COLOURS[i],
                "dash": SIDE_DASHES[i],
                "run": {k: _series(v) for k, v in p.lines.items()},
                "low": {k: _series(v) for k, v in p.low.items()},
                "high": {k: _series(v) for k, v in p.high.items()},
                "previous": (
                    {k: _series(v) for k, v in before.lines.items()} if before is not None else None
                ),
                "network": {
                    "kind": p.network.kind,
                    "caption": p.network.caption,
                    "x": p.network.x,
                    "y": p.network.y,
                    "shape": p.network.shape,
                    "edges": p.network.edges,
                    "skill": p.network.skill,
                    "trust": p.network.trust,
                    "ring": p.network.ring,
                },
            }
        )
    weeks = max(p.weeks for p in played)
    marks = sorted(
        {(e.at, event_words(e).split(": ", 1)[1]) for p in played for e in p.scenario.events}
    )
    key = "|".join(f"{p.scenario.digest()}:{p.seed}" for p in played)
    if previous:
        key += "|before:" + "|".join(f"{p.scenario.digest()}:{p.seed}" for p in previous)
    return {
        "key": key,
        "weeks": weeks,
        "measures": [{"key": k, "label": v} for k, v in measures_shown().items()],
        "sides": sides,
        "events": [{"week": w, "label": label} for w, label in marks if w <= weeks],
        "replications": len(played[0].finals[next(iter(measures_shown()))]),
    }


def picture_png(played: Sequence[Played], week: int, dpi: int = 150) -> bytes:
    """The picture for a slide: each side's network and the four charts at `week`.

    The week, the sides' names, the legend and the band's meaning are in the picture.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    week = max(0, min(week, played[0].weeks))
    fig = Figure(figsize=(16, 9), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 3, width_ratios=[1.1, 1, 1])
    nets = grid[:, 0].subgridspec(len(played), 1)
    cmap = matplotlib.colormaps["YlGnBu"]
    for i, p in enumerate(played):
        ax = fig.add_subplot(nets[i])
        net = p.network
        x, y = np.array(net.x), np.array(net.y)
        trust = np.array(net.trust[min(week, len(net.trust) - 1)]) if net.trust else np.zeros(0)
        if len(net.edges):
            segments = [[(x[a], y[a]), (x[b], y[b])] for a, b in net.edges]
            ax.add_collection(
                LineCollection(
                    segments,
                    linewidths=0.3 + 7 * (np.clip(trust - 0.3, 0, None) / 0.7) ** 2,
                    colors="#3a3a3a",
                    alpha=0.75,
                )
            )
        skill = np.array(net.skill[min(week, len(net.skill) - 1)])
        markers = {"circle": "o", "star": "*", "square": "s", "diamond": "D"}
        for shape, marker in markers.items():
            on = np.array([s == shape for s in net.shape], dtype=bool)
            if on.any():
                ax.scatter(
                    x[on],
                    y[on],
                    c=skill[on],
                    cmap=cmap,
                    vmin=0.3,
                    vmax=0.8,
                    marker=marker,
                    s=420 if shape == "star" else 220,
                    edgecolors="black",
                    zorder=3,
                )
        title = textwrap.fill(p.title, 38)
        ax.set_title(title, color=SIDE_COLOURS[i], fontsize=13, fontweight="bold", loc="left")
        ax.text(0, -0.02, net.caption, transform=ax.transAxes, fontsize=10, va="top")
        ax.set_aspect("equal")
        ax.margins(0.12)
        ax.set_axis_off()
    weeks = np.arange(week + 1)
    events = sorted({e.at for p in played for e in p.scenario.events if e.at <= p.weeks})
    for k, (key, label) in enumerate(measures_shown().items()):
        ax = fig.add_subplot(grid[k // 2, 1 + k % 2])
        for i, p in enumerate(played):
            colour = SIDE_COLOURS[i]
            ax.fill_between(
                weeks,
                p.low[key][: week + 1],
                p.high[key][: week + 1],
                color=colour,
                alpha=0.2,
                linewidth=0,
            )
            ax.plot(weeks, p.lines[key][: week + 1], color=colour, lw=3, ls="-" if i == 0 else "--")
        for at in events:
            ax.axvline(at, color="#444", ls=":", lw=1.5)
        ax.set_title(label, fontsize=16, loc="left")
        ax.set_xlim(0, played[0].weeks)
        ax.set_ylim(0, 1)
        ax.set_xlabel("week", fontsize=13)
        ax.tick_params(labelsize=13)
        ax.grid(alpha=0.3)
    handles: list[Any] = [
        Line2D([], [], color=SIDE_COLOURS[i], lw=3, ls="-" if i == 0 else "--", label=p.title)
        for i, p in enumerate(played)
    ]
    handles.append(
        Patch(
            color="#888888",
            alpha=0.35,
            label=f"band: 8 of 10 of {len(played[0].finals['mean_skill'])} runs",
        )
    )
    if events:
        handles.append(Line2D([], [], color="#444", ls=":", lw=1.5, label="an event"))
    fig.legend(handles=handles, loc="outside lower center", fontsize=13, ncols=2)
    fig.suptitle(
        f"Trust in teams, week {week} of {played[0].weeks}", fontsize=20, x=0.01, ha="left"
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
