"""The report of a results folder: statistics, figures, and the median runs' networks.

This is where the tables meet the model once more: the trust network of each
scenario's median run is recorded by re-running that run from its stored parameters
and seed (runs reproduce exactly), then drawn from tables like every other figure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from sim import report
from sim.experiments.compare import (
    ResultsTables,
    comparison,
    experiment_file,
    load_results,
    sensitivity_results,
    tables_of,
    validation_results,
)
from sim.experiments.store import scenario_of_run
from sim.snapshots import record_run

__all__ = ["median_networks", "redraw_figures", "write_report"]


def median_networks(tables: ResultsTables, max_scenarios: int = 6) -> report.NetworkTables:
    """Network snapshots (start, middle, end) of each scenario's median run."""
    out: report.NetworkTables = {}
    if tables.manifest.get("model", "trust") != "trust":
        return out  # networks are the trust model's
    if "sensitivity" in experiment_file(tables.manifest):
        return out  # a sampled design: its median run sits at a random point
    outcome = tables.outcomes[0]
    for scenario in tables.scenarios[:max_scenarios]:
        run_id = report.median_run(tables.results, scenario, outcome)
        if run_id is None:
            continue
        row = tables.runs[tables.runs["run_id"] == run_id].iloc[0]
        sc = scenario_of_run(row)
        nodes, edges, _ = record_run(sc, int(row["seed"]), at_steps=(0, sc.steps // 2, sc.steps))
        swept = json.loads(row["swept"]) if isinstance(row["swept"], str) else {}
        where = ", ".join(f"{k}={v}" for k, v in sorted(swept.items()))
        title = f"{scenario}: median run on {outcome}" + (f" ({where})" if where else "")
        out[scenario] = (nodes, edges, title)
    return out


def write_report(
    folder: str | Path | ResultsTables,
    outcomes: tuple[str, ...] | None = None,
    formats: Sequence[str] = ("png",),
) -> tuple[Path, Path]:
    """Write report.md, report.html and figures/ beside the store.

    `folder` may be its tables, already read (then with their own outcomes). The
    figures are PNG files (report.html embeds them), and also SVG or PDF when `formats`
    names them.
    """
    tables = tables_of(folder, outcomes)
    comp = comparison(tables)
    return report.build_report(
        tables.runs,
        tables.results,
        tables.steps,
        tables.manifest,
        comp,
        tables.folder,
        networks=median_networks(tables),
        formats=formats,
        sensitivity=sensitivity_results(tables),
        facts=validation_results(tables),
    )


def redraw_figures(
    folder: str | Path,
    outcomes: tuple[str, ...] | None = None,
    formats: Sequence[str] = ("png",),
    size: str = "slide",
) -> list[Path]:
    """Redraw the figures of a results folder into figures/; return the files written."""
    tables = load_results(folder, outcomes)
    comp = comparison(tables)
    entries = report.build_figures(
        tables.runs,
        tables.results,
        tables.steps,
        comp,
        median_networks(tables),
        size=size,
        sensitivity=sensitivity_results(tables),
        facts=validation_results(tables),
    )
    return report.save_figures(entries, tables.folder / "figures", formats)
