"""An experiment's report, from its tables and figures: report.md and a self-contained report.html.

The report says what was asked (the experiment file's header), what was run (the
scenarios and the parameters in which they differ, n), what came out (the comparison
table and its sentences), shows every figure with a line on what to look for, and
ends with the manifest. It reads tables only (never a model).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from sim.methods import analysis, comparison
from sim.methods.comparison import Comparison
from sim.methods.contrasts import REGRESSION, regression_tables
from sim.methods.sensitivity import SensitivityResults
from sim.methods.validation import Fact, findings, verdict_table
from sim.model.scenario import parameters
from sim.reporting.document import Report, save_figures
from sim.reporting.report_figures import (
    MAX_PAIR_FIGURES,
    NetworkTables,
    build_figures,
    swept_parameters,
)

__all__ = ["ReportFiles", "build_report"]


class ReportFiles(NamedTuple):
    """The files build_report wrote."""

    md: Path
    html: Path
    figures: list[Path]


def structure_changes(runs: pd.DataFrame, swept: Sequence[str]) -> str:
    """What the organization's make-up does across the sweep besides the swept factors.

    More levels of hierarchy over the same members also split them into more, smaller
    teams, each with its own coach: a sweep of levels changes those too. Said in one
    sentence ("" when the make-up stays the same, or the runs are not the trust model's).
    """
    from sim.model.structure import build_organization

    needed = {"members", "levels", "coach", "point"}
    if not swept or not needed <= set(runs.columns):
        return ""
    rows = []
    for _, run in runs.drop_duplicates("point").sort_values("point").iterrows():
        members, levels = int(run["members"]), int(run["levels"])
        if members > 200_000:
            return ""
        shape = [
            None if k not in run or pd.isna(run[k]) else int(run[k]) for k in ("team_size", "span")
        ]
        org = build_organization(members, levels, run["coach"] == "external", *shape)
        sizes = org.team_sizes()
        lo, hi = int(sizes.min()), int(sizes.max())
        rows.append(
            {
                "where": ", ".join(f"{p} = {run[p]}" for p in swept),
                "members": str(members),
                "team size": str(lo) if lo == hi else f"{lo}-{hi}",
                "front-line teams": str(org.n_teams),
                "managers": str(org.n_managers),
                "coaches": str(org.n_teams if run["coach"] != "none" else 0),
            }
        )
    table = pd.DataFrame(rows)
    changing = [c for c in table.columns if c != "where" and table[c].nunique() > 1]
    changing = [c for c in changing if c not in swept]
    if not changing:
        return ""
    listed = table if len(table) <= 8 else table.iloc[:8]
    parts = [
        f"{c}: "
        + ", ".join(f"{v} ({w})" for v, w in zip(listed[c], listed["where"], strict=True))
        + (", ..." if len(table) > 8 else "")
        for c in changing
    ]
    return (
        f"Besides {', '.join(swept)}, the organization changes across the sweep, so an "
        "effect of the swept factor includes these (a confound to keep in mind): "
        + "; ".join(parts)
        + "."
    )


def _differing_parameters(
    runs: pd.DataFrame, names: list[str], skip: Sequence[str]
) -> pd.DataFrame:
    """The parameters in which the scenarios differ (sweep parameters left out)."""
    first = runs.drop_duplicates("scenario").set_index("scenario")
    params = [p for p in [*parameters(), "events"] if p in first.columns and p not in skip]
    differing = [p for p in params if first[p].astype(str).nunique() > 1]
    shown = first.loc[[n for n in names if n in first.index], differing].astype(object)
    for p in differing:
        if p in parameters() and parameters()[p].annotation is bool:
            shown[p] = shown[p].map(lambda v: "true" if bool(v) else "false")
    table = shown.astype(str).T
    table.insert(0, "parameter", table.index)
    return table.reset_index(drop=True)


def build_report(
    runs: pd.DataFrame,
    results: pd.DataFrame,
    steps: pd.DataFrame,
    manifest: dict[str, Any],
    comp: Comparison,
    folder: Path,
    networks: NetworkTables | None = None,
    formats: Sequence[str] = ("png",),
    sensitivity: SensitivityResults | None = None,
    facts: Sequence[Fact] | None = None,
    across: str | None = None,
) -> ReportFiles:
    """Write figures/, report.md and report.html into the results folder.

    Each figure is saved once in each format: PNG always (report.html embeds it, and
    report.md links it), and those of `formats` besides. `across` is the section
    "Across plausible worlds" a `compare --across` wrote (its figures are in figures/).

    Returns:
        The paths of report.md, report.html and the figure files.
    """
    folder = Path(folder)
    figure_dir = folder / "figures"
    entries = build_figures(
        runs, results, steps, comp, networks, sensitivity=sensitivity, facts=facts
    )
    figures = save_figures(entries, figure_dir, list(dict.fromkeys(("png", *formats))))

    names = list(dict.fromkeys(results["scenario"]))
    swept = swept_parameters(runs)
    rep = Report(f"{manifest.get('experiment', folder.name)}: report")
    rep.add("h2", "The question")
    rep.add("p", manifest.get("question") or "(The experiment file has no header comment.)")
    rep.add("h2", "What was run")
    reps = results.groupby(["scenario", "point"]).size()
    count = (
        f"{int(reps.min())}"
        if reps.min() == reps.max()
        else f"{int(reps.min())} to {int(reps.max())}"
    )
    rep.add(
        "p",
        (
            f"{len(names)} scenario{'s' if len(names) != 1 else ''}, "
            f"{results['point'].nunique()} parameter point(s), "
            f"{count} replications each ({len(results)} runs "
            f"finished, {comp.failed} failed)"
            + (f", {comp.steps} weeks per run" if comp.steps else "")
            + ". Replication r uses the same seed in every scenario and point (common random "
            "numbers), so differences are paired: the same draws under another setting."
        ),
    )
    differing = _differing_parameters(runs, names, swept)
    if len(differing):
        rep.add(
            "p",
            "Parameters in which the scenarios differ (all others are equal; see "
            "docs/ODD.md for their meaning):",
        )
        rep.add("table", differing)
    if swept:
        values = "; ".join(_swept_values(runs[p]) for p in swept)
        kind = "Sampled" if sensitivity is not None else "Swept"
        rep.add("p", f"{kind}, for every scenario: {values}.")
        confound = structure_changes(runs, swept)
        if confound:
            rep.add("p", confound)
    if sensitivity is not None:
        _sensitivity_section(rep, sensitivity)
    if facts:
        _facts_section(rep, facts)
    rep.add("h2", "Results")
    rep.add("p", comp.summary_line() + " " + comparison.METHODS)
    rep.add("p", comp.n_line())
    rep.add("table", analysis.wide(comp.desc))
    if comp.results["scenario"].nunique() == 1 and 0 < len(comp.points) <= 60:
        rep.add("p", "At each sweep point (mean [95% CI] over its runs):")
        rep.add("table", comp.per_point())
    sentences = comp.sentences()
    if facts:
        # The scenarios play different parts in the facts; their pairs answer no question.
        rep.add(
            "p",
            f"The scenarios play different parts in the facts above, so their "
            f"{len(sentences)} pairwise comparisons are not listed here (they are in "
            "compare.md and compare.csv).",
        )
    else:
        if comp.points:
            rep.add("p", "At how many sweep points each scenario of a pair is higher or lower:")
            rep.add("table", analysis.tally(comp.pairs))
        _sentences(rep, comp.pairs[comp.pairs["n"] > 0], "comparisons with a clear difference")
    power = comp.power_sentence(comp.half_width)
    if power and not facts:
        rep.add("p", power)
    if len(comp.interactions) and not facts:
        rep.add("p", comparison.INTERACTIONS)
        _sentences(rep, comp.interactions, "contrasts with a clear change")
    if len(comp.regression) and not facts:
        tables = regression_tables(comp.regression)
        listed = tables[: MAX_PAIR_FIGURES * len(comp.outcomes)]
        more = f" (the first {len(listed)} of {len(tables)}; all are in compare.md)"
        rep.add("p", REGRESSION + (more if len(listed) < len(tables) else ""))
        for heading, table in listed:
            rep.add("p", heading + ":")
            rep.add("table", table)
    if comp.not_applicable_sentence():
        rep.add("p", comp.not_applicable_sentence())
    if comp.censored:
        rep.add("p", comp.censored)
    if comp.logrank:
        shown = comp.logrank[:40]
        more = (
            f" (the first {len(shown)} of {len(comp.logrank)}; all are in compare.md)"
            if len(shown) < len(comp.logrank)
            else ""
        )
        rep.add("p", comparison.LOGRANK.removesuffix(":") + more + ":")
        rep.add("ul", shown)
    if comp.teams:
        rep.add("p", comparison.ACROSS_TEAMS)
        rep.add("ul", comp.teams)
    if comp.missing_otherwise():
        rep.add(
            "p",
            "Not compared where a scenario has no value (failed or unfinished runs): "
            f"{', '.join(comp.missing_otherwise())}.",
        )
    if across:
        _across_section(rep, across, figure_dir)
    rep.add("h2", "Figures")
    for entry in entries:
        rep.add("figure", (entry.name, entry.caption))
    rep.add("h2", "How to reproduce")
    keys = (
        "command",
        "experiment_file",
        "experiment_sha256",
        "seed",
        "git_commit",
        "started",
        "ended",
        "platform",
    )
    rep.add(
        "ul",
        [f"{k}: {manifest.get(k)}" for k in keys if manifest.get(k) is not None]
        + [f"versions: {', '.join(f'{k} {v}' for k, v in manifest.get('versions', {}).items())}"],
    )
    if manifest.get("experiment_text"):
        rep.add("pre", str(manifest["experiment_text"]).rstrip())
    md_path, html_path = folder / "report.md", folder / "report.html"
    md_path.write_text(rep.markdown(), encoding="utf-8")
    html_path.write_text(rep.html(figure_dir), encoding="utf-8")
    return ReportFiles(md_path, html_path, figures)


def _across_section(rep: Report, section: str, figure_dir: Path) -> None:
    """compare.md's "Across plausible worlds" in the report: its words, then its figures."""
    rep.add("h2", "Across plausible worlds")
    body = section.split("\n", 1)[1] if section.startswith("## ") else section
    for block in (b.strip() for b in body.split("\n\n")):
        if not block:
            continue
        if block.startswith("## "):  # the map's own section (--map)
            rep.add("h2", block.removeprefix("## ").splitlines()[0])
            continue
        lines = block.splitlines()
        items = [line[2:] for line in lines if line.startswith("- ")]
        if len(items) == len(lines):
            rep.add("ul", items)
        else:
            rep.add("p", " ".join(lines))
    for path in sorted(figure_dir.glob("across_*.png")):
        outcome = path.stem.removeprefix("across_")
        rep.add(
            "figure",
            (path.stem, f"{outcome}: the expected paired difference in each plausible world"),
        )
    for path in sorted(figure_dir.glob("map_*_box.png")):  # --map: where each claim holds
        rep.add("figure", (path.stem, "where in the worlds the claim holds: PRIM's box"))


def _sentences(rep: Report, rows: pd.DataFrame, clear: str, most: int = 40) -> None:
    """Every row's sentence, or beyond `most` rows only those with Holm's p < 0.05."""
    if len(rows) <= most:
        rep.add("ul", rows["sentence"].tolist())
        return
    shown = rows[rows["p_holm"] < 0.05]
    rep.add("p", f"The {len(shown)} of {len(rows)} {clear} (all are in compare.csv):")
    rep.add("ul", shown["sentence"].tolist())


def _swept_values(column: pd.Series) -> str:
    """A swept parameter's values; a sampled one's range (thousands of values say little)."""
    values = sorted(column.unique())
    if len(values) > 12:
        return f"{column.name} from {values[0]:g} to {values[-1]:g} ({len(values)} values)"
    return f"{column.name} = {', '.join(f'{v:g}' for v in values)}"


def _facts_section(rep: Report, facts: Sequence[Fact]) -> None:
    """Validation: each stylized fact, its source, and whether the model shows it."""
    rep.add("h2", "Validation: stylized facts")
    rep.add(
        "p",
        "Patterns that field studies report, checked under the model's default parameters. "
        "A fact the model does not show is a finding about the model, reported as such.",
    )
    rep.add("table", verdict_table(facts))
    rep.add("ul", findings(facts))


def _sensitivity_section(rep: Report, res: SensitivityResults) -> None:
    """Which parameters matter, in plain words first, then the numbers."""
    rep.add("h2", "Sensitivity: which parameters matter")
    rep.add("ul", res.sentences + res.notes or ["No outcome could be analysed."])
    rep.add("p", res.method_line())
    for heading, tables in res.index_tables():
        for intro, table in tables:
            rep.add("p", intro or f"{heading}, most influential first:")
            rep.add("table", table)
    rep.add("p", "How the noise was handled. " + res.noise_line())
    if not res.noise.empty:
        rep.add("table", res.noise)
