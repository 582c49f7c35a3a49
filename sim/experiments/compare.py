"""The comparison of an experiment's scenarios, written beside its results store.

Reads the store, computes the statistics (sim.analysis), writes compare.csv (tidy:
one row per statistic) and compare.md, and returns the text a user reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sim import analysis
from sim.experiments.store import ResultsStore
from sim.scenario import ScenarioError

__all__ = ["write_comparison"]

DEFAULT_OUTCOMES = ("mean_skill", "within_team_trust", "silence_rate")


def _manifest(folder: Path) -> dict[str, object]:
    path = folder / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def write_comparison(
    folder: str | Path,
    outcomes: tuple[str, ...] | None = None,
    reference: str | None = None,
) -> str:
    """Compare the scenarios of a results folder; write compare.csv and compare.md.

    Outcomes and reference default to the experiment file's (from the manifest).

    Returns:
        The Markdown text (also written to compare.md).

    Raises:
        ScenarioError: the folder holds no results.
    """
    folder = Path(folder)
    if not ResultsStore.exists(folder):
        raise ScenarioError([f"{folder}: no results store here (results.sqlite)"])
    store = ResultsStore(folder)
    try:
        results = store.results()
        runs = store.table("runs")
    finally:
        store.close()
    if results.empty:
        raise ScenarioError([f"{folder}: the store holds no finished runs yet"])
    meta = _manifest(folder)
    # Runs arrive in any order from the workers: sort them so that every statistic,
    # bootstrap CIs included, is the same whatever the backend.
    names = meta.get("scenarios")
    order = {name: i for i, name in enumerate(names if isinstance(names, list) else [])}
    results = results.assign(_order=results["scenario"].map(order).fillna(len(order)))
    results = results.sort_values(["_order", "scenario", "point", "replication"]).drop(
        columns="_order"
    )
    settings = _experiment_settings(meta)
    outcomes = outcomes or settings.get("outcomes") or DEFAULT_OUTCOMES  # type: ignore[assignment]
    reference = reference or settings.get("reference")  # type: ignore[assignment]
    assert outcomes is not None
    unknown = [o for o in outcomes if o not in results.columns]
    if unknown:
        raise ScenarioError([f"{folder}: unknown outcome(s) {unknown}"])
    steps = int(runs["steps"].max())
    labels = {
        o: f"{o.removesuffix('_avg')} (mean over weeks 1-{steps})"
        if o.endswith("_avg")
        else f"{o} at week {steps}"
        for o in outcomes
    }
    point_labels = _point_labels(results)
    desc = analysis.describe(results, outcomes)
    pairs = analysis.compare(
        results, outcomes, reference=reference, labels=labels, point_labels=point_labels
    )
    tidy = pd.concat([desc.assign(kind="scenario"), pairs.assign(kind="pair")], ignore_index=True)
    tidy.to_csv(folder / "compare.csv", index=False)
    failed = int((runs["status"] == "failed").sum())
    lines = [f"# {meta.get('experiment', folder.name)}: comparison", ""]
    if meta.get("question"):
        lines += [str(meta["question"]), ""]
    lines += [
        f"{len(results)} finished runs ({failed} failed), "
        f"{results['scenario'].nunique()} scenarios"
        + (
            f", {len(point_labels)} sweep points (pooled in the first table)"
            if point_labels
            else ""
        )
        + f"; outcomes at week {steps}. 95% CIs are bootstrap (BCa); differences are "
        "paired by seed (common random numbers); p-values are Wilcoxon signed-rank with "
        "Holm's correction across the pairs (and points) of each outcome; A12 is the "
        "probability that a run of the first scenario scores higher than a run of the second.",
        "",
        "## Per scenario",
        "",
        "Mean [95% CI] over runs; n runs per scenario: "
        + ", ".join(f"{s} {n}" for s, n in desc.groupby("scenario", sort=False)["n"].max().items())
        + ".",
        "",
        _wide(desc),
    ]
    if point_labels:
        lines += ["## Where each wins", "", _tally(pairs), ""]
    shown = pairs[pairs["n"] > 0]
    lines += ["## Paired differences", "", *(f"- {s}" for s in shown["sentence"]), ""]
    missing = sorted(set(pairs.loc[pairs["n"] == 0, "outcome"]))
    if missing:
        lines += [f"Not compared where a scenario has no value: {', '.join(missing)}.", ""]
    text = "\n".join(lines)
    (folder / "compare.md").write_text(text, encoding="utf-8")
    return text


def _experiment_settings(meta: dict[str, object]) -> dict[str, object]:
    """The outcomes and reference the experiment file set (read from its text)."""
    import tomllib

    text = meta.get("experiment_text")
    if not isinstance(text, str):
        return {}
    raw = tomllib.loads(text)
    out: dict[str, object] = {}
    if "outcomes" in raw:
        out["outcomes"] = tuple(raw["outcomes"])
    if "reference" in raw:
        out["reference"] = raw["reference"]
    return out


def _point_labels(results: pd.DataFrame) -> dict[int, str]:
    """Each sweep point's values as text, e.g. "levels=3, members=48" (empty without a sweep)."""
    if results["point"].nunique() <= 1:
        return {}
    out = {}
    for point, swept in results.groupby("point")["swept"].first().items():
        values = json.loads(swept) if isinstance(swept, str) else {}
        out[int(str(point))] = ", ".join(f"{k}={v}" for k, v in sorted(values.items()))
    return out


def _tally(pairs: pd.DataFrame) -> str:
    """For each pair and outcome: at how many points A is higher, lower, or no different."""
    frame = pairs.assign(verdict=pairs.apply(analysis.verdict, axis=1))
    table = (
        frame.groupby(["outcome", "a", "b", "verdict"], sort=False)
        .size()
        .unstack("verdict", fill_value=0)
        .reset_index()
    )
    for col in ("higher", "lower", "no clear difference"):
        if col not in table:
            table[col] = 0
    table = table[["outcome", "a", "b", "higher", "lower", "no clear difference"]]
    table.columns = [
        "outcome",
        "a",
        "b",
        "points a higher",
        "points a lower",
        "no clear difference",
    ]
    return analysis.to_markdown(table)


def _wide(desc: pd.DataFrame) -> str:
    """Scenarios as rows, outcomes as columns, each cell "mean [low, high]"."""
    cell = desc.apply(
        lambda r: (
            "-" if r["n"] == 0 else f"{r['mean']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        ),
        axis=1,
    )
    wide = desc.assign(cell=cell).pivot(index="scenario", columns="outcome", values="cell")
    wide = wide.loc[list(dict.fromkeys(desc["scenario"])), list(dict.fromkeys(desc["outcome"]))]
    return analysis.to_markdown(wide.reset_index())
