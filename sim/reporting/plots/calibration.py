"""Figures of a calibration: posterior marginals and pairs, ABC generations, checks, contrast."""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.methods.statistics import weighted_quantile
from sim.reporting.plots.style import OKABE_ITO, legend_outside, short_label


def _prior_range(prior: Any) -> tuple[float, float]:
    return float(prior.min), float(prior.max)


def posterior_marginals(
    particles: pd.DataFrame, priors: dict[str, Any], truth: dict[str, float] | None = None
) -> Figure:
    """Each parameter's weighted posterior over its prior's range, one panel each.

    particles: the last generation (a "weight" column and one per parameter); priors:
    name -> an object with min, max and scale (sim.methods.calibration.Prior). The shaded band
    is the 95% credible interval, the dotted line the prior's density, the dashed
    line the true value when known (a parameter recovery).
    """
    names = list(priors)
    cols = min(len(names), 3)
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 2.8 * rows), layout="constrained", squeeze=False
    )
    w = particles["weight"].to_numpy(float)
    for ax, name in zip(axes.ravel(), names, strict=False):
        prior = priors[name]
        lo, hi = _prior_range(prior)
        v = particles[name].to_numpy(float)
        log = getattr(prior, "scale", "linear") == "log"
        bins = np.geomspace(lo, hi, 31) if log else np.linspace(lo, hi, 31)
        ax.hist(
            v, bins=bins, weights=w, density=True, color=OKABE_ITO[0], alpha=0.75, label="posterior"
        )
        low, high = weighted_quantile(v, w, [0.025, 0.975])
        ax.axvspan(low, high, color=OKABE_ITO[4], alpha=0.18, lw=0, label="95% credible")
        density = 1 / (hi - lo) if not log else None
        if density is not None:
            ax.axhline(density, color="#555555", ls=":", lw=1.2, label="prior")
        else:
            x = np.geomspace(lo, hi, 100)
            ax.plot(x, 1 / (x * math.log(hi / lo)), color="#555555", ls=":", lw=1.2, label="prior")
        if truth and name in truth:
            ax.axvline(truth[name], color=OKABE_ITO[5], ls="--", lw=1.6, label="true value")
        if log:
            ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_xlabel(name.replace("_", " "))
        ax.set_ylabel("density")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7, frameon=True, loc="upper right")
    fig.suptitle(f"Posterior of {len(names)} parameters ({len(particles)} particles)", fontsize=11)
    return fig


def posterior_pairs(
    particles: pd.DataFrame, priors: dict[str, Any], truth: dict[str, float] | None = None
) -> Figure:
    """Every pair of parameters in the posterior (dots sized by weight), marginals beside."""
    names = list(priors)
    d = len(names)
    fig, axes = plt.subplots(
        d, d, figsize=(2.3 * d + 0.6, 2.3 * d + 0.4), layout="constrained", squeeze=False
    )
    w = particles["weight"].to_numpy(float)
    size = 4 + 60 * w / w.max()
    for i, yname in enumerate(names):
        for j, xname in enumerate(names):
            ax = axes[i, j]
            xlo, xhi = _prior_range(priors[xname])
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(
                    particles[xname],
                    bins=20,
                    range=(xlo, xhi),
                    weights=w,
                    color=OKABE_ITO[0],
                    alpha=0.75,
                )
                ax.set_yticks([])
            else:
                ax.scatter(
                    particles[xname], particles[yname], s=size, color=OKABE_ITO[0], alpha=0.45, lw=0
                )
                ax.set_ylim(*_prior_range(priors[yname]))
                if truth and xname in truth and yname in truth:
                    ax.plot(truth[xname], truth[yname], marker="x", color=OKABE_ITO[5], ms=9, mew=2)
            if truth and xname in truth and i == j:
                ax.axvline(truth[xname], color=OKABE_ITO[5], ls="--", lw=1.4)
            ax.set_xlim(xlo, xhi)
            ax.tick_params(labelsize=6.5)
            if i == d - 1:
                ax.set_xlabel(xname.replace("_", " "), fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(yname.replace("_", " "), fontsize=8)
    fig.suptitle("Posterior pairs" + (" (x: the true values)" if truth else ""), fontsize=11)
    return fig


def abc_generations(generations: pd.DataFrame) -> Figure:
    """The distance threshold and the acceptance rate by ABC-SMC generation."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    g = generations["generation"]
    left.plot(g, generations["epsilon"], marker="o", color=OKABE_ITO[0])
    left.set_yscale("log")
    left.set_xlabel("generation")
    left.set_ylabel("distance threshold (targets' SEs)")
    left.set_title("Threshold by generation", fontsize=10)
    right.plot(g, 100 * generations["acceptance_rate"], marker="o", color=OKABE_ITO[1])
    right.set_ylim(0, 105)
    right.set_xlabel("generation")
    right.set_ylabel("candidates accepted (%)")
    right.set_title("Acceptance by generation", fontsize=10)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.set_xticks(list(g))
    return fig


def predictive_check(draws: pd.DataFrame, check: pd.DataFrame) -> Figure:
    """Each target's statistic at posterior draws, in the target's SEs from its observed value.

    draws: draw, target, value; check: sim.methods.calibration.predictive_check's table. The
    band is within 2 SE of the observed value; the colour is the check's verdict (the
    observed value inside or outside the 95% predictive interval), not the band.
    """
    targets = list(check["target"])
    fig, ax = plt.subplots(figsize=(8.5, 1.0 + 0.75 * len(targets)), layout="constrained")
    rng = np.random.default_rng(0)
    for k, row in enumerate(check.to_dict("records")):
        values = draws.loc[draws["target"] == row["target"], "value"].to_numpy(float)
        z = (values - float(row["observed"])) / float(row["observed_se"])
        reached = str(row["verdict"]).startswith("reached")
        ax.scatter(
            z,
            k + rng.uniform(-0.18, 0.18, len(z)),
            s=12,
            alpha=0.6,
            lw=0,
            color=OKABE_ITO[2] if reached else OKABE_ITO[5],
        )
        if len(z) and np.isfinite(z).any():
            ax.plot(np.nanmedian(z), k, marker="|", ms=18, mew=2.5, color="#222222")
    ax.axvspan(-2, 2, color="#999999", alpha=0.2, lw=0, label="within 2 SE of observed")
    ax.axvline(0, color="#333333", lw=1)
    ax.set_yticks(range(len(targets)), [t.replace("_", " ") for t in targets])
    ax.invert_yaxis()
    ax.set_xlabel("model minus observed, in the target's SEs (dots: posterior draws; bar: median)")
    ax.grid(alpha=0.3, axis="x")
    handles = [
        Patch(color="#999999", alpha=0.4, label="within 2 SE of observed"),
        Line2D([], [], marker="o", ls="", color=OKABE_ITO[2], label="target reached"),
        Line2D([], [], marker="o", ls="", color=OKABE_ITO[5], label="not reached"),
    ]
    legend_outside(ax, handles=handles)
    ax.set_title("Posterior predictive check: can the model reach each target?", fontsize=10)
    return fig


def posterior_contrast(contrast: pd.DataFrame, a: str, b: str) -> Figure:
    """The difference a - b in each outcome at every posterior draw, one panel per outcome."""
    outcomes = list(dict.fromkeys(contrast["outcome"]))
    fig, axes = plt.subplots(
        1, len(outcomes), figsize=(3.8 * len(outcomes), 3.2), layout="constrained", squeeze=False
    )
    for ax, outcome in zip(axes.ravel(), outcomes, strict=True):
        d = contrast.loc[contrast["outcome"] == outcome, "difference"].to_numpy(float)
        d = d[~np.isnan(d)]
        ax.hist(d, bins=20, color=OKABE_ITO[0], alpha=0.75)
        ax.axvline(0, color="#333333", lw=1.2)
        share = float(np.mean(d > 0)) if len(d) else math.nan
        ax.set_title(f"{short_label(outcome)}: {a} higher at {share:.0%}", fontsize=9)
        ax.set_xlabel(f"{a} minus {b}")
        ax.set_ylabel("posterior draws")
        ax.grid(alpha=0.3)
    return fig
