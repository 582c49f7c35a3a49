"""Matplotlib figures drawn from result tables (never from a live model): the public face.

This package's one job is to be the figures' public face: report.py, the workshop, the
CLI and the tests call `from sim.reporting import plots; plots.plot_run(...)`, and
this module imports the public figure functions from the modules that draw them, one
per kind of figure (runs, comparisons, sweeps, sensitivity, validation, calibration;
style holds the palette, labels and shared helpers), and lists them in __all__.

Every function takes tables and an optional Axes and returns the figure; the caller
saves it. Colours come from a colour-blind-safe palette (Okabe and Ito 2008).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files, not windows: this runs on servers and in CI

from sim.reporting.plots.across import across_differences
from sim.reporting.plots.calibration import (
    abc_generations,
    posterior_contrast,
    posterior_marginals,
    posterior_pairs,
    predictive_check,
)
from sim.reporting.plots.comparisons import distributions, forest, survival, time_series
from sim.reporting.plots.discovery import discovery_box, discovery_tradeoff
from sim.reporting.plots.runs import animation, network, plot_run, team_layout
from sim.reporting.plots.sensitivity import sensitivity_bars
from sim.reporting.plots.style import (
    OKABE_ITO,
    SIZES,
    label,
    outcome_labels,
    scenario_colours,
    short_label,
)
from sim.reporting.plots.sweeps import (
    by_parameter,
    paired_by_factor,
    partial_dependence,
    sweep_heatmap,
    winner_map,
)
from sim.reporting.plots.validation import stylized_facts

__all__ = [
    "OKABE_ITO",
    "SIZES",
    "abc_generations",
    "across_differences",
    "animation",
    "by_parameter",
    "discovery_box",
    "discovery_tradeoff",
    "distributions",
    "forest",
    "label",
    "network",
    "outcome_labels",
    "paired_by_factor",
    "partial_dependence",
    "plot_run",
    "posterior_contrast",
    "posterior_marginals",
    "posterior_pairs",
    "predictive_check",
    "scenario_colours",
    "sensitivity_bars",
    "short_label",
    "stylized_facts",
    "survival",
    "sweep_heatmap",
    "team_layout",
    "time_series",
    "winner_map",
]
