"""An experiment's results folder read back as tables, and its comparison written beside it.

`load_results` reads the store and manifest (runs sorted, so that every statistic is
the same whatever order the workers returned them in); `write_comparison` computes
the statistics (sim.methods.analysis) and writes compare.csv (tidy) and compare.md.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.defined import parse_definitions
from sim.experiments.store import ResultsStore, read_manifest
from sim.methods import analysis
from sim.methods.comparison import Comparison
from sim.methods.sensitivity import (
    Sensitivity,
    SensitivityResults,
    analyze,
    design,
    noise,
    ranking_sentences,
)
from sim.methods.validation import Fact, Validation, check_facts, findings, verdict_table
from sim.model import measures
from sim.model.scenario import ScenarioError, did_you_mean, parameters

__all__ = [
    "ResultsTables",
    "analysed",
    "experiment_file",
    "load_results",
    "read_manifest",
    "sensitivity_results",
    "tables_of",
    "write_comparison",
    "write_sensitivity",
    "write_validation",
]


@dataclass
class ResultsTables:
    """Everything a results folder holds, as tables and the manifest."""

    folder: Path
    runs: pd.DataFrame  # every run, done or failed, with every parameter
    results: pd.DataFrame  # done runs with their summaries, sorted
    steps: pd.DataFrame  # kept per-step rows
    manifest: dict[str, Any]
    outcomes: tuple[str, ...]
    reference: str | None
    store_digest: str = ""  # ResultsStore.digest, taken before the tables were read
    teams: pd.DataFrame = field(default_factory=pd.DataFrame)  # teams at the last week
    _comparison: Comparison | None = field(default=None, repr=False)

    @property
    def scenarios(self) -> list[str]:
        """Scenario names in the experiment's order."""
        return list(dict.fromkeys(self.results["scenario"]))


def load_results(
    folder: str | Path, outcomes: tuple[str, ...] | None = None, reference: str | None = None
) -> ResultsTables:
    """Read a results folder. Outcomes and reference default to the experiment file's.

    Raises:
        ScenarioError: no store, no finished run, or an unknown outcome or reference.
    """
    folder = Path(folder)
    if not ResultsStore.exists(folder):
        raise ScenarioError([f"{folder}: no results store here (results.sqlite)"])
    # First: a run written while the tables are read makes the tables newer than the
    # digest, never older (a report recorded with it is then drawn again, not kept).
    digest = ResultsStore.digest(folder)
    store = ResultsStore(folder, readonly=True)
    try:
        results = store.results()
        runs = store.table("runs")
        steps = store.table("steps")
        teams = store.table("teams")
    finally:
        store.close()
    if results.empty:
        raise ScenarioError([f"{folder}: the store holds no finished runs yet"])
    meta = read_manifest(folder)
    names = meta.get("scenarios")
    order = {name: i for i, name in enumerate(names if isinstance(names, list) else [])}
    results = results.assign(_order=results["scenario"].map(order).fillna(len(order)))
    results = results.sort_values(["_order", "scenario", "point", "replication"]).drop(
        columns="_order"
    )
    results = results.reset_index(drop=True)
    chosen, ref = analysed(meta, outcomes, reference)
    unknown = [o for o in chosen if o not in results.columns]
    if unknown:
        known = [c for c in store_outcomes(results) if c not in unknown]
        raise ScenarioError(
            [
                f"{folder}: --outcome {o!r} is not an outcome of these results"
                + (did_you_mean(o, known) or f"; they have: {', '.join(known)}")
                for o in unknown
            ]
        )
    if ref is not None and ref not in set(results["scenario"]):
        if ref in order:  # one of the experiment's scenarios, with no finished run yet
            again = f"{meta.get('command', 'trustsim sweep')} --out {folder} --resume"
            raise ScenarioError(
                [
                    f"{folder}: reference {ref!r} has no finished run yet (an interrupted "
                    f"sweep? `{again}` runs the rest)"
                ]
            )
        names = ", ".join(map(repr, order or sorted(set(results["scenario"]))))
        raise ScenarioError(
            [f"{folder}: --reference {ref!r} is not one of the scenarios: {names}"]
            if reference is not None
            else [f"{folder}: reference {ref!r} is not one of the scenarios: {names}"]
        )
    return ResultsTables(folder, runs, results, steps, meta, chosen, ref, digest, teams)


def store_outcomes(results: pd.DataFrame) -> list[str]:
    """The run outcomes a results table holds (its columns beside the run's keys)."""
    keys = {"run_id", "scenario", "point", "swept", "replication", "seed"}
    return [c for c in results.columns if c not in keys]


def analysed(
    meta: dict[str, Any], outcomes: tuple[str, ...] | None = None, reference: str | None = None
) -> tuple[tuple[str, ...], str | None]:
    """The outcomes and reference analysed: those asked, else the experiment file's."""
    settings = _experiment_settings(meta)
    chosen = tuple(
        outcomes
        or settings.get("outcomes")
        or meta.get("outcomes")
        or measures.default_outcomes()  # a store from before the manifest named them
    )
    return chosen, reference or settings.get("reference")


def tables_of(
    source: str | Path | ResultsTables,
    outcomes: tuple[str, ...] | None = None,
    reference: str | None = None,
) -> ResultsTables:
    """A results folder's tables: read from the folder, or as already read (read once).

    Tables already read keep their own outcomes and reference.
    """
    if isinstance(source, ResultsTables):
        return source
    return load_results(source, outcomes, reference)


def write_comparison(
    folder: str | Path | ResultsTables,
    outcomes: tuple[str, ...] | None = None,
    reference: str | None = None,
) -> str:
    """Compare the scenarios of a results folder; write compare.csv and compare.md.

    `folder` may be its tables, already read (then with their own outcomes and reference).

    Returns:
        The Markdown text (also written to compare.md).
    """
    tables = tables_of(folder, outcomes, reference)
    comp = comparison(tables)
    comp.tidy().to_csv(tables.folder / "compare.csv", index=False)
    text = comp.markdown()
    (tables.folder / "compare.md").write_text(text, encoding="utf-8")
    return text


def comparison(tables: ResultsTables) -> Comparison:
    """The statistics of a results folder's tables (computed once for compare.md and the report)."""
    if tables._comparison is None:
        tables._comparison = _compare(tables)
    return tables._comparison


def _compare(tables: ResultsTables) -> Comparison:
    settings = experiment_file(tables.manifest)
    defined = parse_definitions(settings.get("define"), str(tables.folder / "manifest.json"))
    reps = settings.get("replications")
    target = reps.get("half_width") if isinstance(reps, dict) else None
    return Comparison.of(
        tables.results,
        tables.outcomes,
        reference=tables.reference,
        # weeks of the trust model (another model's steps is a most, its outcomes the last)
        steps=int(tables.runs["steps"].max())
        if "steps" in tables.runs and settings.get("model", "trust") == "trust"
        else 0,
        failed=int((tables.runs["status"] == "failed").sum()),
        title=str(tables.manifest.get("experiment", tables.folder.name)),
        question=str(tables.manifest.get("question") or ""),
        defined={name: d.label() for name, d in defined.items()},
        teams=tables.teams,
        half_width=float(target) if isinstance(target, int | float) else None,
        censored_outcomes=(
            *analysis.CENSORED_OUTCOMES,
            *(name for name, d in defined.items() if d.censored),
        ),
    )


def experiment_file(meta: dict[str, Any]) -> dict[str, Any]:
    """The experiment file the results were run from (its text is in the manifest)."""
    text = meta.get("experiment_text")
    return tomllib.loads(text) if isinstance(text, str) else {}


def _experiment_settings(meta: dict[str, Any]) -> dict[str, Any]:
    """The outcomes and reference the experiment file set (read from its text)."""
    raw = experiment_file(meta)
    return {k: raw[k] for k in ("outcomes", "reference") if k in raw}


def _sensitivity_spec(tables: ResultsTables) -> tuple[Sensitivity, int] | None:
    """The [sensitivity] section the results were run with (samples override applied)."""
    raw = experiment_file(tables.manifest)
    if "sensitivity" not in raw:
        return None
    sens = Sensitivity.model_validate(raw["sensitivity"])
    override = (tables.manifest.get("overrides") or {}).get("samples")
    if override is None:  # manifests written before 2026-11-29
        override = (tables.manifest.get("plan") or {}).get("samples_override")
    if override is not None:
        sens = sens.model_copy(update={"samples": int(override)})
    return sens, int(tables.manifest.get("seed", raw.get("seed", 0)))


def sensitivity_results(tables: ResultsTables) -> SensitivityResults | None:
    """Sensitivity indices of every scenario and outcome (None without a [sensitivity])."""
    found = _sensitivity_spec(tables)
    if found is None:
        return None
    sens, seed = found
    outcomes = list(sens.outcomes or tables.outcomes)
    parts, noise_rows, sentences, notes = [], [], [], []
    n_points = len(design(sens, seed))
    reps = tables.results.groupby(["scenario", "point"]).size()
    for scenario, rows in tables.results.groupby("scenario", sort=False):
        for outcome in outcomes:
            table = analyze(sens, seed, rows, outcome)
            if table is None:
                notes.append(
                    f"{outcome} ({scenario}): not analysed: some of the {n_points} points have "
                    "no value (failed or unfinished runs, or an outcome that is undefined there)"
                )
                continue
            parts.append(table.assign(scenario=scenario))
            share = noise(rows, outcome)
            noise_rows.append({"scenario": scenario, "outcome": outcome, **share})
            prefix = f"{scenario}: " if tables.results["scenario"].nunique() > 1 else ""
            sentences += [
                prefix + s for s in ranking_sentences(table, outcome, noise_share=share["in_means"])
            ]
    columns = ["scenario", "outcome", "parameter", "index", "value", "ci_low", "ci_high", "method"]
    indices = (
        pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)
    )
    noise_table = pd.DataFrame(noise_rows)
    if not noise_table.empty:
        noise_table["replications"] = noise_table["replications"].astype(int)
        high = noise_table[noise_table["in_means"] > 0.2]
        for _, r in high.iterrows():
            notes.append(
                f"{r['outcome']} ({r['scenario']}): {r['in_means']:.0%} of the variance of the "
                "point means is still noise; treat its indices with care or add replications"
            )
    return SensitivityResults(
        sens.method,
        sens.samples,
        int(reps.min()) if len(reps) else 0,
        n_points,
        indices,
        noise_table,
        sentences,
        notes,
    )


def write_sensitivity(folder: str | Path | ResultsTables) -> str:
    """Write sensitivity.csv (tidy indices) and sensitivity.md; return the Markdown.

    Raises:
        ScenarioError: the results were not run from a [sensitivity] section.
    """
    tables = tables_of(folder)
    res = sensitivity_results(tables)
    if res is None:
        raise ScenarioError([f"{tables.folder}: these results have no [sensitivity] section"])
    res.indices.to_csv(tables.folder / "sensitivity.csv", index=False)
    text = res.markdown()
    (tables.folder / "sensitivity.md").write_text(text, encoding="utf-8")
    return text


def validation_results(tables: ResultsTables) -> list[Fact] | None:
    """The stylized facts of an experiment with a [validation] section (else None)."""
    raw = experiment_file(tables.manifest)
    if "validation" not in raw:
        return None
    config = Validation.model_validate(raw["validation"])
    fields = parameters()
    swept = raw.get("sweep", {}).get("parameters", {})
    default = {name: float(fields[name].default) for name in swept if name in fields}
    breach_week = None
    rows = tables.runs[tables.runs["scenario"] == config.breach]
    if len(rows):
        events = json.loads(rows["events"].iloc[0] or "[]")
        weeks = [e["at"] for e in events if e["type"] == "breach"]
        breach_week = int(weeks[0]) if weeks else None
    return check_facts(config, tables.results, tables.runs, tables.steps, default, breach_week)


def facts_markdown(facts: list[Fact]) -> str:
    """The stylized facts as Markdown: a verdict table, then each finding."""
    lines = ["# Stylized facts", "", analysis.to_markdown(verdict_table(facts)), ""]
    lines += [f"- {line}" for line in findings(facts)]
    return "\n".join(lines) + "\n"


def write_validation(folder: str | Path | ResultsTables) -> str | None:
    """Write validation.md for results with a [validation] section; return its text."""
    tables = tables_of(folder)
    facts = validation_results(tables)
    if facts is None:
        return None
    text = facts_markdown(facts)
    (tables.folder / "validation.md").write_text(text, encoding="utf-8")
    return text
