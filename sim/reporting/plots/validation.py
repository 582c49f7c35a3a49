"""The figure of a validation: the stylized facts, one panel each, with the model's verdict."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from sim.reporting.plots.style import OKABE_ITO, SIZES


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
