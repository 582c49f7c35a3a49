"""What every figure shares: the palette, sizes, outcome labels and the axes' finish.

Colours come from a colour-blind-safe palette (Okabe and Ito 2008); a scenario keeps its
colour and dash pattern in every figure.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.model import measures as registry

plt.rcParams["figure.max_open_warning"] = 0  # a report holds dozens of figures at once


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


# Figure sizes in inches: a slide (16:9) and a paper column.
SIZES = {"slide": (8.0, 4.5), "column": (3.5, 2.8)}

# Scenario colours, in order: Okabe-Ito without its yellow, which is too pale for lines.
SCENARIO_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")

# Labels of the outcomes of other models (ours: the measures' registry, sim.model.measures).
OTHER_LABELS = {
    # March (1991), sim.reference.march1991
    "code_knowledge": ("code knowledge", "-1 to 1"),
    "individual_knowledge": ("individuals' knowledge", "-1 to 1"),
}


def outcome_labels() -> dict[str, tuple[str, str]]:
    """Each outcome's name and unit in figures: the measures' (registry), then the others."""
    return {
        **{m.name: (m.label, m.unit) for m in registry.registered()},
        **{o.name: (o.label, o.unit) for o in registry.RUN_OUTCOME_ENTRIES},
        **OTHER_LABELS,
    }


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


def figure_and_axes(ax: Axes | None, size: str) -> tuple[Figure, Axes]:
    """The figure of `ax`, or a new figure of the size named ("slide", "column"), and its axes."""
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, new = plt.subplots(figsize=SIZES[size], layout="constrained")
    return fig, new


def legend_outside(ax: Axes, size: str = "slide", **kwargs: object) -> None:
    """Legend to the right of the axes, so it never covers data (smaller in a column)."""
    if not ax.get_legend_handles_labels()[0] and "handles" not in kwargs:
        return
    fontsize = 5.5 if size == "column" else 8
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=fontsize, **kwargs
    )


def wrap(text: str, width: int) -> str:
    """Wrap each line of a text to `width` characters; its own line breaks stay."""
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def finish(ax: Axes, title: str, size: str) -> None:
    """Title and text sizes that fit the figure: smaller and wrapped in a paper column."""
    if size == "column":
        ax.set_title(wrap(title, 40), fontsize=7)
        ax.set_xlabel(textwrap.fill(ax.get_xlabel(), 44), fontsize=6.5)
        ax.set_ylabel(textwrap.fill(ax.get_ylabel(), 34), fontsize=6.5)
        ax.tick_params(labelsize=5.5)
    else:
        ax.set_title(wrap(title, 80), fontsize=10)  # long scenario names wrap
