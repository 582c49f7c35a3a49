"""The pipeline's last step: a results folder's report, its figures, the median runs' networks.

sim.experiments.pipeline calls it only when something is to be drawn: it imports
matplotlib. This is where the tables meet the model once more: the trust network of
each scenario's median run is recorded by re-running that run from its stored
parameters and seed (runs reproduce exactly), then drawn from tables like every other
figure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from sim.experiments import freshness
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
from sim.model.snapshots import record_run
from sim.reporting import document, report, report_figures

__all__ = ["draw_report", "median_networks", "redraw_figures", "write_report"]


def median_networks(tables: ResultsTables, max_scenarios: int = 6) -> report_figures.NetworkTables:
    """Network snapshots (start, middle, end) of each scenario's median run."""
    out: report_figures.NetworkTables = {}
    if tables.manifest.get("model", "trust") != "trust":
        return out  # networks are the trust model's
    if "sensitivity" in experiment_file(tables.manifest):
        return out  # a sampled design: its median run sits at a random point
    for scenario in tables.scenarios[:max_scenarios]:
        # The median on the first outcome that applies here (trust_in_coach does not
        # apply without a coach: that scenario's network is drawn on the next outcome).
        found = (
            (outcome, report_figures.median_run(tables.results, scenario, outcome))
            for outcome in tables.outcomes
        )
        outcome, run_id = next(((o, r) for o, r in found if r is not None), ("", None))
        if run_id is None:
            continue
        row = tables.runs[tables.runs["run_id"] == run_id].iloc[0]
        sc = scenario_of_run(row)
        recording = record_run(sc, int(row["seed"]), at_steps=(0, sc.steps // 2, sc.steps))
        nodes, edges = recording.nodes, recording.edges
        swept = json.loads(row["swept"]) if isinstance(row["swept"], str) else {}
        where = ", ".join(f"{k}={v}" for k, v in sorted(swept.items()))
        title = f"{scenario}: median run on {outcome}" + (f" ({where})" if where else "")
        out[scenario] = (nodes, edges, title)
    return out


def write_report(
    folder: str | Path | ResultsTables,
    outcomes: tuple[str, ...] | None = None,
    formats: Sequence[str] = ("png",),
    written_with: Sequence[Path] = (),
) -> tuple[Path, Path]:
    """Write report.md, report.html and figures/ beside the store, and their record.

    `folder` may be its tables, already read (then with their own outcomes). The
    figures are PNG files (report.html embeds them), and also SVG or PDF when `formats`
    names them. Files an earlier report here wrote and this one does not (a figure it
    no longer draws, a format no longer asked) are removed. The record
    (freshness.RECORD) lists the report's files and `written_with`: files just written
    from the same tables (compare.md), which a sweep with nothing to run prints again.
    """
    written = draw_report(folder, outcomes, formats, written_with)
    return written.md, written.html


def draw_report(
    folder: str | Path | ResultsTables,
    outcomes: tuple[str, ...] | None = None,
    formats: Sequence[str] = ("png",),
    written_with: Sequence[Path] = (),
) -> report.ReportFiles:
    """write_report, returning every file written: report.md, report.html, the figures."""
    tables = tables_of(folder, outcomes)
    inputs = freshness.report_inputs(tables, formats)
    earlier = freshness.read_record(tables.folder)
    earlier_files = _earlier_files(tables.folder, earlier)
    freshness.forget(tables.folder)  # until the new report is complete
    comp = comparison(tables)
    written = report.build_report(
        tables.runs,
        tables.results,
        tables.steps,
        tables.manifest,
        comp,
        tables.folder,
        networks=median_networks(tables),
        formats=freshness.figure_formats(formats),
        sensitivity=sensitivity_results(tables),
        facts=validation_results(tables),
        across=_across_section(tables.folder),
    )
    for path in earlier_files - set(written.figures):
        path.unlink(missing_ok=True)
    freshness.record(
        tables.folder, inputs, [written.md, written.html, *written.figures, *written_with], earlier
    )
    return written


def _across_section(folder: Path) -> str | None:
    """The last `compare --across` section of the folder (None when there is none)."""
    from sim.experiments.across import ACROSS_SECTION

    path = folder / ACROSS_SECTION
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _earlier_files(folder: Path, earlier: freshness.Record | None) -> set[Path]:
    """The figure files the report last drawn here wrote.

    As its record lists them; a report drawn before records were kept wrote each figure
    its report.md links as PNG and SVG. Figures from `trustsim plot` and files of the
    user's are not among them, so they stay.
    """
    figures = folder / "figures"
    if earlier is not None:
        listed = earlier.get("files")
        names = listed if isinstance(listed, dict) else {}
        return {folder / name for name in names if (folder / name).parent == figures}
    md = folder / "report.md"
    if not md.exists():
        return set()
    linked = document.linked_figures(md.read_text(encoding="utf-8"))
    return {figures / f"{name}.{fmt}" for name in linked for fmt in ("png", "svg")}


def redraw_figures(
    folder: str | Path,
    outcomes: tuple[str, ...] | None = None,
    formats: Sequence[str] = ("png",),
    size: str = "slide",
) -> list[Path]:
    """Redraw the figures of a results folder into figures/; return the files written."""
    tables = load_results(folder, outcomes)
    comp = comparison(tables)
    entries = report_figures.build_figures(
        tables.runs,
        tables.results,
        tables.steps,
        comp,
        median_networks(tables),
        size=size,
        sensitivity=sensitivity_results(tables),
        facts=validation_results(tables),
    )
    return document.save_figures(entries, tables.folder / "figures", formats)
