"""Which figures an experiment's report draws, from its tables, each with what to look for.

Without a sweep: each outcome over time, its distribution and the paired differences;
a sweep: the outcome by parameter, over a grid, or by factor; and the sensitivity
indices, the stylized facts and the median runs' networks when there are some.
sim.reporting.report writes them into the report; sim.reporting.plots draws them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd
from matplotlib.colors import Normalize

from sim.methods import analysis
from sim.methods.comparison import Comparison
from sim.methods.sensitivity import SensitivityResults
from sim.methods.validation import Fact
from sim.reporting import plots
from sim.reporting.document import FigureEntry

__all__ = ["MAX_PAIR_FIGURES", "NetworkTables", "build_figures", "median_run", "swept_parameters"]

# scenario -> (nodes, edges, title) of its median run
NetworkTables = dict[str, tuple[pd.DataFrame, pd.DataFrame, str]]


def swept_parameters(runs: pd.DataFrame) -> list[str]:
    """Parameters that take more than one value across the sweep points, in file order."""
    names: list[str] = []
    for swept in runs["swept"].dropna().unique():
        for key in json.loads(swept):
            if key not in names:
                names.append(key)
    return [n for n in names if n in runs and runs[n].nunique() > 1]


def _base(outcome: str) -> str:
    return outcome.removesuffix("_avg")


def build_figures(
    runs: pd.DataFrame,
    results: pd.DataFrame,
    steps: pd.DataFrame,
    comp: Comparison,
    networks: NetworkTables | None = None,
    outcomes: Sequence[str] | None = None,
    size: str = "slide",
    sensitivity: SensitivityResults | None = None,
    facts: Sequence[Fact] | None = None,
) -> list[FigureEntry]:
    """Every figure of an experiment, from its tables.

    Without a sweep: time series, distributions and paired differences per outcome. A
    one-parameter sweep: the outcome against the parameter. A two-parameter sweep: a
    heatmap per scenario and a map of which regime wins. And, when given, the trust
    network of each scenario's median run, the sensitivity indices (instead of the
    per-outcome figures) and the stylized facts (likewise).
    """
    outcomes = list(outcomes or comp.outcomes)
    raw_results = results
    results = analysis.restricted(results, outcomes, comp.steps, comp.censored_outcomes)
    names = list(dict.fromkeys(results["scenario"]))
    colours = plots.scenario_colours(names)
    swept = swept_parameters(runs)
    points = runs.drop_duplicates("point")
    grid = (
        len(swept) == 2 and len(points) == points[swept[0]].nunique() * points[swept[1]].nunique()
    )
    entries: list[FigureEntry] = []
    done_runs = runs[runs["status"] == "done"]
    # A sensitivity design samples its points to estimate indices: its figures are the
    # indices (pooling thousands of points into distributions would say little). In a
    # validation experiment the scenarios play different parts: its figure is the facts.
    for outcome in outcomes if sensitivity is None and not facts else ():
        first = len(entries)  # this outcome's figures start here
        nice = plots.short_label(outcome)
        # A scenario where the outcome does not apply gets no figure, line or cell for it.
        absent = set(analysis.not_applicable(results, outcome))
        shown = [n for n in names if n not in absent]
        if not shown:
            continue
        o_results = results[~results["scenario"].isin(absent)]
        o_runs = done_runs[~done_runs["scenario"].isin(absent)]
        o_comp = dataclasses.replace(
            comp, pairs=comp.pairs[~(comp.pairs["a"].isin(absent) | comp.pairs["b"].isin(absent))]
        )
        if not swept and not steps.empty and _base(outcome) in steps:
            over = analysis.over_time(steps, o_runs, _base(outcome))
            entries.append(
                FigureEntry(
                    f"time_{_base(outcome)}",
                    f"{nice.removesuffix(', run mean')} week by week: the mean over runs per "
                    "scenario, with its 95% confidence band. Look for where the lines part and "
                    "whether the bands overlap.",
                    partial(plots.time_series, over, _base(outcome), colours, size=size),
                )
            )
        if outcome in comp.censored_outcomes and not swept and comp.steps > 0:
            entries.append(
                FigureEntry(
                    f"survival_{outcome}",
                    f"{nice}: the share of runs not there yet, week by week (Kaplan-Meier, 95% "
                    f"CI); a run that never got there is censored at week {comp.steps}. Look "
                    "for the curve that falls first, and at how many never got there.",
                    partial(
                        plots.survival,
                        raw_results[raw_results["scenario"].isin(shown)],
                        outcome,
                        comp.steps,
                        colours,
                        size=size,
                    ),
                )
            )
        if len(swept) == 1:
            table = analysis.by_parameter(o_results, o_runs, swept[0], outcome)
            entries.append(
                FigureEntry(
                    f"by_{swept[0]}_{outcome}",
                    f"{nice} against {swept[0]}, one line per scenario (mean and 95% CI). Look at "
                    "how the gap between the lines changes along the axis.",
                    partial(plots.by_parameter, table, swept[0], outcome, colours, size=size),
                )
            )
        elif grid:  # a full two-parameter grid (a sampled design is shown as distributions)
            entries.extend(
                _two_parameter(o_results, o_runs, o_comp, swept, outcome, shown, colours, size)
            )
        else:
            entries.append(
                FigureEntry(
                    f"distribution_{outcome}",
                    f"{nice} of every run, per scenario (box: quartiles and median). Look at the "
                    "overlap: a difference in means can hide a wide spread.",
                    partial(plots.distributions, o_results, outcome, colours, size=size),
                )
            )
            pairs = o_comp.pairs[o_comp.pairs["outcome"] == outcome]
            if swept and not _is_grid(runs, swept):
                # A sampled design (LHS, Sobol): a forest would list every sampled point;
                # each parameter's average effect says more.
                tables = {
                    p: analysis.partial_dependence(o_results, o_runs, p, outcome) for p in swept
                }
                entries.append(
                    FigureEntry(
                        f"partial_{outcome}",
                        f"{nice} against each sampled parameter, one line per scenario: the "
                        "mean over the runs in each eighth of the parameter's values (the "
                        "other parameters vary within it), with its 95% CI. Look at the "
                        "parameters whose lines rise or fall, and where the scenarios' lines "
                        "part.",
                        partial(plots.partial_dependence, tables, outcome, colours, size=size),
                    )
                )
            elif (pairs["n"] > 0).any():
                entries.append(
                    FigureEntry(
                        f"differences_{outcome}",
                        f"Paired differences in {nice} (same seeds), with 95% CIs, A12 and "
                        "Holm's p. A filled dot is a difference beyond noise (p < 0.05); an "
                        "open one is not.",
                        partial(
                            plots.forest, pairs, outcome, colours, size=size, points=comp.points
                        ),
                    )
                )
        if swept and len(swept) <= 3 and _is_grid(runs, swept):
            entries.extend(_paired_by_factor(o_comp, runs, swept, outcome, size))
        if outcome in comp.censored_outcomes and comp.steps > 0:
            # Means of a censored outcome are restricted means: each figure says so.
            note = (
                f" A run that never got there counts as week {comp.steps} (restricted means "
                f"up to week {comp.steps})."
            )
            entries[first:] = [
                e
                if e.name.startswith("survival_")
                else dataclasses.replace(e, caption=e.caption + note)
                for e in entries[first:]
            ]
    entries.extend(_sensitivity_figures(sensitivity, size))
    if facts:
        entries.append(
            FigureEntry(
                "stylized_facts",
                "The four stylized facts, one panel each, with the model's verdict in the "
                "panel's title: (1) trust against help-seeking and skill across teams, (2) weeks "
                "to fall and to recover around a breach, (3) the endorsement's effect against "
                "trust in the sponsor, (4) the effect by number of levels (95% CIs).",
                partial(plots.stylized_facts, facts, size=size),
            )
        )
    for scenario, (nodes, edges, title) in (networks or {}).items():
        weeks = sorted(nodes["step"].unique())
        entries.append(
            FigureEntry(
                f"network_{scenario}",
                f"The trust network of {scenario}'s median run at weeks "
                f"{', '.join(str(w) for w in weeks)}. Look for teams whose ties thin out "
                "(fragmentation)"
                + (" and for the coach's ties." if (nodes["role"] == "coach").any() else "."),
                partial(plots.network, nodes, edges, title, size=size),
            )
        )
    return entries


def _sensitivity_figures(res: SensitivityResults | None, size: str) -> list[FigureEntry]:
    if res is None or res.indices.empty:
        return []
    several = res.indices["scenario"].nunique() > 1
    entries = []
    for (scenario, outcome), rows in res.indices.groupby(["scenario", "outcome"], sort=False):
        name = f"sensitivity_{outcome}" + (f"_{scenario}" if several else "")
        if res.method == "sobol":
            caption = (
                f"Sobol indices of {plots.short_label(str(outcome))}"
                + (f" ({scenario})" if several else "")
                + ": the share of its variance each parameter causes alone (S1) and with its "
                "interactions (ST), with 95% CIs. Look for the longest bars: a parameter whose "
                "ST CI reaches zero hardly matters."
            )
        else:
            caption = (
                f"Morris screening of {plots.short_label(str(outcome))}"
                + (f" ({scenario})" if several else "")
                + ": the mean absolute effect of moving each parameter across its range "
                "(mu*, with 95% CIs) and the spread of those effects (sigma). Look for the "
                "longest mu* bars; where sigma is longer than mu*, the effect depends on "
                "where the other parameters are (non-linear, or interacting)."
            )
        draw = partial(plots.sensitivity_bars, rows, str(outcome), res.replications, size=size)
        entries.append(FigureEntry(name, caption, draw))
    return entries


def _two_parameter(
    results: pd.DataFrame,
    runs: pd.DataFrame,
    comp: Comparison,
    swept: list[str],
    outcome: str,
    names: list[str],
    colours: dict[str, str],
    size: str,
) -> list[FigureEntry]:
    x, y = swept
    data = results[["run_id", "scenario", "point", outcome]].merge(
        runs[["run_id", x, y]], on="run_id"
    )
    means = (
        data.groupby(["scenario", x, y], sort=False)[outcome]
        .agg(mean="mean", n="count")
        .reset_index()
    )
    norm = Normalize(float(means["mean"].min()), float(means["mean"].max()))
    nice = plots.short_label(outcome)
    entries = [
        FigureEntry(
            f"heatmap_{outcome}_{name}",
            f"{nice} of {name} over the grid of {x} and {y} (mean over runs; the same colour "
            "scale for every scenario). Look at the direction in which it changes fastest.",
            partial(
                plots.sweep_heatmap,
                means[means["scenario"] == name],
                x,
                y,
                outcome,
                name,
                size=size,
                norm=norm,
            ),
        )
        for name in names
    ]
    if len(names) == 1:
        entries.append(_lines_by_second_parameter(results, runs, swept, outcome, size))
    if len(names) >= 2:
        pairs = comp.pairs[(comp.pairs["outcome"] == outcome)]
        a, b = pairs["a"].iloc[0], pairs["b"].iloc[0]
        pairs = pairs[(pairs["a"] == a) & (pairs["b"] == b)]
        point_values = runs.drop_duplicates("point").set_index("point")[[x, y]]
        pairs = pairs.join(point_values, on="point")
        entries.append(
            FigureEntry(
                f"winner_{outcome}",
                f"Where {a} or {b} gives the higher {nice}: the winner's colour, hatched grey "
                "where the paired difference is not significant (Holm-adjusted p >= 0.05); the "
                "number is the mean difference.",
                partial(plots.winner_map, pairs, x, y, outcome, colours, size=size),
            )
        )
    return entries


MAX_PAIR_FIGURES = 6  # pairs drawn against the factors; compare.csv holds them all


def _is_grid(runs: pd.DataFrame, swept: Sequence[str]) -> bool:
    """True when the sweep points are every combination of the swept values (factorial)."""
    points = runs.drop_duplicates("point")
    return len(points) == int(np.prod([points[p].nunique() for p in swept]))


def _paired_by_factor(
    comp: Comparison, runs: pd.DataFrame, swept: Sequence[str], outcome: str, size: str
) -> list[FigureEntry]:
    """Each pair's paired difference against the factors of a factorial sweep (up to three).

    The factor with the most values goes on the x axis, the next gives the lines, a
    third the panels.
    """
    pairs = comp.pairs[(comp.pairs["outcome"] == outcome) & (comp.pairs["n"] > 0)]
    couples = list(dict.fromkeys(zip(pairs["a"], pairs["b"], strict=True)))
    if not couples or len(couples) > MAX_PAIR_FIGURES:
        return []
    order = sorted(swept, key=lambda p: -runs[p].nunique())
    values = runs.drop_duplicates("point").set_index("point")[order]
    nice = plots.short_label(outcome)
    lines = f", one line per {order[1]}" if len(order) > 1 else ""
    panels = f", a panel per {order[2]}" if len(order) > 2 else ""
    entries = []
    for a, b in couples:
        table = pairs[(pairs["a"] == a) & (pairs["b"] == b)].join(values, on="point")
        entries.append(
            FigureEntry(
                f"paired_{outcome}_{a}_vs_{b}",
                f"{a} minus {b} in {nice}, paired by seed, against {order[0]}{lines}{panels} "
                "(mean and 95% CI). Where the dashed zero line is inside a band, the two do "
                "not differ there; lines that part or cross say the difference depends on "
                "the second factor (an interaction; its contrasts are in the text).",
                partial(plots.paired_by_factor, table, order, outcome, size=size),
            )
        )
    return entries


def _lines_by_second_parameter(
    results: pd.DataFrame, runs: pd.DataFrame, swept: list[str], outcome: str, size: str
) -> FigureEntry:
    """One scenario over a grid: the outcome against one parameter, a line per other value.

    The parameter with more values goes on the x axis (March's Figure 1 is drawn so).
    """
    x, y = sorted(swept, key=lambda p: -runs[p].nunique())
    values = runs.set_index("run_id")[y]
    lines = results.assign(scenario=[f"{y} = {values[r]:g}" for r in results["run_id"]])
    table = analysis.by_parameter(lines, runs, x, outcome)
    order = [f"{y} = {v:g}" for v in sorted(runs[y].unique())]
    nice = plots.short_label(outcome)
    (name,) = results["scenario"].unique()  # the one scenario shown (it may be one of several)
    return FigureEntry(
        f"lines_{outcome}",
        f"{nice} of {name} against {x}, one line per value of {y} (mean and 95% CI). Look at "
        f"how the effect of {x} changes with {y}.",
        partial(
            plots.by_parameter,
            table,
            x,
            outcome,
            plots.scenario_colours(order),
            size=size,
            of=str(name),
        ),
    )


def median_run(results: pd.DataFrame, scenario: str, outcome: str) -> str | None:
    """The run id of a scenario's median run on an outcome (the lower median)."""
    rows = results[results["scenario"] == scenario].dropna(subset=[outcome])
    if rows.empty:
        return None
    ordered = rows.sort_values([outcome, "replication"], kind="stable")
    return str(ordered["run_id"].iloc[(len(ordered) - 1) // 2])
