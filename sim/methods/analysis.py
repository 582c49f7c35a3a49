"""Statistics on result tables: scenarios described, pairs compared under common random numbers.

Works on tables alone (never imports the model). The input is one row per run with
columns scenario, point, replication and the outcomes; replication r of every
scenario shares its seed, so differences are paired by (point, replication).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.methods.statistics import (
    a12,
    bootstrap_ci,
    cohens_d,
    holm,
    mean_ci,
    p_floor,
    wilcoxon_p,
)
from sim.model.measures import RUN_OUTCOME_ENTRIES

__all__ = [
    "compare",
    "describe",
    "p_text",
    "paired_differences",
    "sentence",
    "to_markdown",
    "verdict",
]


def scenario_pairs(scenarios: Sequence[str], reference: str | None = None) -> list[tuple[str, str]]:
    """The pairs compared: each scenario against `reference`, or every pair, in order."""
    if reference is not None:
        return [(s, reference) for s in scenarios if s != reference]
    return list(itertools.combinations(scenarios, 2))


def describe(
    results: pd.DataFrame, outcomes: Sequence[str], by: Sequence[str] = ("scenario",)
) -> pd.DataFrame:
    """Per outcome and group: mean, sd, 95% bootstrap CI, n."""
    rows = []
    for keys, group in results.groupby(list(by), sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        for outcome in outcomes:
            v = group[outcome].astype(float).to_numpy()
            v = v[~np.isnan(v)]
            low, high = bootstrap_ci(v)
            rows.append(
                {
                    **dict(zip(by, keys, strict=True)),
                    "outcome": outcome,
                    "mean": float(v.mean()) if len(v) else math.nan,
                    "sd": float(v.std(ddof=1)) if len(v) > 1 else math.nan,
                    "ci_low": low,
                    "ci_high": high,
                    "n": len(v),
                }
            )
    return pd.DataFrame(rows)


def paired_differences(results: pd.DataFrame, a: str, b: str, outcome: str) -> pd.DataFrame:
    """Rows of A and B paired by (point, replication): their values and A - B."""
    keys = ["point", "replication"]
    left = results.loc[results["scenario"] == a, [*keys, outcome]]
    right = results.loc[results["scenario"] == b, [*keys, outcome]]
    both = left.merge(right, on=keys, suffixes=("_a", "_b")).dropna()
    both["diff"] = both[f"{outcome}_a"].astype(float) - both[f"{outcome}_b"].astype(float)
    return both


def compare(
    results: pd.DataFrame,
    outcomes: Sequence[str],
    reference: str | None = None,
    labels: dict[str, str] | None = None,
    point_labels: dict[int, str] | None = None,
) -> pd.DataFrame:
    """Every pair of scenarios (or each against `reference`), per outcome, paired by seed.

    With several sweep points, pairs are compared at each point. Columns: point,
    outcome, a, b, n, mean_diff (A - B), ci_low, ci_high, p_wilcoxon, p_holm (Holm
    across all pairs and points of that outcome), a12 (P(A > B)), cohens_d, sentence.
    `labels` names outcomes in the sentences (e.g. "mean_skill at week 104");
    `point_labels` names sweep points (e.g. "levels=3").
    """
    pairs = scenario_pairs(list(dict.fromkeys(results["scenario"])), reference)
    points = sorted(results["point"].unique()) if "point" in results else [0]
    rows = []
    for outcome in outcomes:
        block: list[dict[str, Any]] = []
        for point in points:
            at = results[results["point"] == point] if "point" in results else results
            for a, b in pairs:
                paired = paired_differences(at, a, b, outcome)
                diff = paired["diff"].to_numpy()
                va, vb = paired[f"{outcome}_a"].to_numpy(), paired[f"{outcome}_b"].to_numpy()
                low, high = bootstrap_ci(diff)
                block.append(
                    {
                        "point": int(point),
                        "outcome": outcome,
                        "a": a,
                        "b": b,
                        "n": len(diff),
                        "mean_diff": float(diff.mean()) if len(diff) else math.nan,
                        "ci_low": low,
                        "ci_high": high,
                        "p_wilcoxon": wilcoxon_p(diff),
                        "a12": a12(va, vb),
                        "cohens_d": cohens_d(va, vb),
                    }
                )
        for row, adj in zip(block, holm([r["p_wilcoxon"] for r in block]), strict=True):
            row["p_holm"] = adj
            row["p_floor"] = p_floor(int(row["n"]), len(block))
            label = (labels or {}).get(outcome, outcome)
            where = (point_labels or {}).get(int(row["point"]))  # type: ignore[call-overload]
            row["sentence"] = sentence(row, f"{label} at {where}" if where else label)
        rows.extend(block)
    columns = [
        "point",
        "outcome",
        "a",
        "b",
        "n",
        "mean_diff",
        "ci_low",
        "ci_high",
        "p_wilcoxon",
        "a12",
        "cohens_d",
        "p_holm",
        "p_floor",
        "sentence",
    ]
    return pd.DataFrame(rows, columns=columns)  # the columns even with one scenario (no pairs)


TOO_FEW = "too few runs to tell"


def verdict(row: dict[str, object] | pd.Series) -> str:
    """The verdict of a comparison row: higher, lower, or no clear difference (Holm p < 0.05).

    A comparison whose p cannot go below 0.05 at all (too few pairs for its family,
    see p_floor) is "too few runs to tell", not "no clear difference".
    """
    p, diff = float(row["p_holm"]), float(row["mean_diff"])  # type: ignore[arg-type]
    if float(row.get("p_floor", math.nan)) >= 0.05:  # type: ignore[arg-type]
        return TOO_FEW
    if math.isnan(p) or math.isnan(diff) or p >= 0.05:
        return "no clear difference"
    return "higher" if diff > 0 else "lower"


def p_text(p: float) -> str:
    """A p-value as written beside a result: "p = 0.012", "p < 0.001", "p = n/a"."""
    if math.isnan(p):
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def signed(x: float) -> str:
    """A difference with its sign: "+0.031", "-0.0004", "n/a"."""
    if math.isnan(x):
        return "n/a"
    return f"{x:+.3f}" if abs(x) >= 0.001 or x == 0 else f"{x:+.2g}"


def sentence(row: dict[str, object], label: str | None = None) -> str:
    """One plain sentence for a comparison row.

    For example "peer_led vs top_down_internal, mean_skill at week 104: -0.040
    [-0.060, -0.020], A12 = 0.31, p = 0.002 (Holm): lower" (p < 0.001 below that).
    """
    label = label or str(row["outcome"])
    diff, low, high = (float(row[k]) for k in ("mean_diff", "ci_low", "ci_high"))  # type: ignore[arg-type]
    p, a = float(row["p_holm"]), float(row["a12"])  # type: ignore[arg-type]
    if math.isnan(diff):
        return f"{row['a']} vs {row['b']}, {label}: no paired runs"
    said = verdict(row)
    if said == TOO_FEW:
        floor = float(row["p_floor"])  # type: ignore[arg-type]
        said += f" (with {row['n']} pairs, p after Holm cannot go below {floor:.2g})"
    return (
        f"{row['a']} vs {row['b']}, {label}: {signed(diff)} [{signed(low)}, {signed(high)}], "
        f"A12 = {a:.2f}, {p_text(p)} (Holm): {said}"
    )


def to_markdown(frame: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """A DataFrame as a Markdown table without extra dependencies."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):  # a row keeps each column's type
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append("n/a" if math.isnan(v) else format(v, floatfmt))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# "First week that ..." outcomes: a run that never gets there by the horizon is censored
# there (every run has the same horizon, so the censoring is administrative).
CENSORED_OUTCOMES = tuple(o.name for o in RUN_OUTCOME_ENTRIES if o.censored)


def restricted(
    results: pd.DataFrame,
    outcomes: Sequence[str],
    steps: int,
    censored: Sequence[str] = CENSORED_OUTCOMES,
) -> pd.DataFrame:
    """Censored outcomes as restricted times: a run that never got there counts as `steps`.

    The mean of min(T, horizon) is the restricted mean time up to the horizon, which a
    Kaplan-Meier curve gives too; because every run is censored at the same horizon, it
    is observed for every run, so paired differences and their tests stay valid. A mean
    over only the runs that got there would be biased against the slower scenario.
    """
    todo = [o for o in outcomes if o in censored and o in results]
    if not todo or steps <= 0:
        return results
    return results.assign(**{o: results[o].astype(float).fillna(float(steps)) for o in todo})


def censored_sentence(
    results: pd.DataFrame,
    outcomes: Sequence[str],
    steps: int,
    censored: Sequence[str] = CENSORED_OUTCOMES,
) -> str:
    """How many runs of each scenario never got there, for every censored outcome."""
    parts = []
    for outcome in outcomes:
        if outcome not in censored or outcome not in results or steps <= 0:
            continue
        counts = results.groupby("scenario", sort=False)[outcome].agg(
            never=lambda v: int(v.isna().sum()), n="size"
        )
        listed = ", ".join(f"{s} {int(r.never)} of {int(r.n)}" for s, r in counts.iterrows())
        parts.append(
            f"{outcome}: runs that never got there by week {steps} (each counted as {steps}, "
            f"so the means are restricted means up to week {steps}): {listed}"
        )
    return "; ".join(parts) + "." if parts else ""


def censored_times(values: pd.Series, steps: int) -> Any:
    """A censored outcome's values as scipy's CensoredData: NaN is "not there by `steps`"."""
    from scipy import stats

    v = values.astype(float).to_numpy()
    return stats.CensoredData(
        uncensored=v[~np.isnan(v)], right=np.full(int(np.isnan(v).sum()), steps)
    )


def logrank_sentences(
    results: pd.DataFrame,
    outcomes: Sequence[str],
    steps: int,
    reference: str | None = None,
    censored: Sequence[str] = CENSORED_OUTCOMES,
) -> list[str]:
    """A log-rank test of every pair's curves, per censored outcome and sweep point.

    `results` are the runs as stored (NaN: never got there). The test treats the two
    samples as independent; paired by seed they are positively correlated, which makes
    it conservative. The paired statistics above test the restricted means.
    """
    from scipy import stats

    out = []
    pairs = scenario_pairs(list(dict.fromkeys(results["scenario"])), reference)
    labels = point_labels(results)
    for outcome in outcomes:
        if outcome not in censored or outcome not in results or steps <= 0:
            continue
        for point, at in results.groupby("point", sort=True):
            label = labels.get(int(str(point)))
            where = f" at {label}" if label else ""
            for a, b in pairs:
                va = at.loc[at["scenario"] == a, outcome]
                vb = at.loc[at["scenario"] == b, outcome]
                if va.empty or vb.empty:
                    continue  # a scenario without runs here (failed): said elsewhere
                if va.notna().sum() + vb.notna().sum() == 0:
                    out.append(
                        f"{a} vs {b}, {outcome}{where}: no test, no run of either got there "
                        f"by week {steps}"
                    )
                    continue
                p = float(
                    stats.logrank(censored_times(va, steps), censored_times(vb, steps)).pvalue
                )
                out.append(
                    f"{a} vs {b}, {outcome}{where}: log-rank {p_text(p)} "
                    f"({int(va.notna().sum())} of {len(va)} and {int(vb.notna().sum())} of "
                    f"{len(vb)} runs got there by week {steps})"
                )
    return out


def not_applicable(results: pd.DataFrame, outcome: str) -> list[str]:
    """Scenarios for which an outcome does not apply: no run of theirs has a value.

    trust_in_coach has no value without a coach; a scenario with some values and some
    gaps (failed runs) is not one of these.
    """
    if outcome not in results:
        return []
    has = results.groupby("scenario", sort=False)[outcome].apply(lambda v: v.notna().any())
    return [str(s) for s, any_value in has.items() if not any_value]


def not_applicable_sentence(results: pd.DataFrame, outcomes: Sequence[str]) -> str:
    """One sentence: where each outcome does not apply (so it has no figure, cell or row)."""
    parts = []
    for outcome in outcomes:
        where = not_applicable(results, outcome)
        if where:
            parts.append(f"{outcome} does not apply to {', '.join(where)}")
    if not parts:
        return ""
    return (
        "; ".join(parts)
        + " (none of their runs has a value, e.g. trust in a coach where there is none), "
        "so no figure, cell or comparison shows it for them."
    )


def over_time(steps: pd.DataFrame, runs: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Per scenario, point and step: mean of an outcome across runs, its 95% t-CI, and n.

    `steps` is the store's per-step table; `runs` gives each run's scenario and point.
    """
    data = steps[["run_id", "step", outcome]].merge(
        runs[["run_id", "scenario", "point"]], on="run_id"
    )
    grouped = data.groupby(["scenario", "point", "step"], sort=False)[outcome]
    rows = []
    for (scenario, point, step), values in grouped:
        m, low, high = mean_ci(values.to_numpy())
        rows.append(
            {
                "scenario": scenario,
                "point": point,
                "step": step,
                "mean": m,
                "ci_low": low,
                "ci_high": high,
                "n": int(values.notna().sum()),
            }
        )
    return pd.DataFrame(rows)


def by_parameter(
    results: pd.DataFrame, runs: pd.DataFrame, parameter: str, outcome: str
) -> pd.DataFrame:
    """Per scenario and value of a swept parameter: mean outcome, its 95% t-CI, and n.

    The parameter's values are the column "value" (a parameter may be named like a
    statistic: the Boltzmann model's n, March's n).
    """
    data = results[["run_id", "scenario", outcome]].merge(
        runs[["run_id", parameter]].rename(columns={parameter: "value"}), on="run_id"
    )
    rows = []
    for (scenario, value), group in data.groupby(["scenario", "value"], sort=False):
        m, low, high = mean_ci(group[outcome].to_numpy())
        rows.append(
            {
                "scenario": scenario,
                "value": value,
                "mean": m,
                "ci_low": low,
                "ci_high": high,
                "n": int(group[outcome].notna().sum()),
            }
        )
    return pd.DataFrame(rows).sort_values(["value"], kind="stable").reset_index(drop=True)


def partial_dependence(
    results: pd.DataFrame, runs: pd.DataFrame, parameter: str, outcome: str, bins: int = 8
) -> pd.DataFrame:
    """A sampled parameter's average effect: by_parameter over bins of its values.

    The runs are cut into `bins` bins of equal count by the parameter's value (the
    other sampled parameters vary within each bin, so a bin's mean averages over them:
    a partial dependence); each bin stands at the mean value of its runs.
    """
    values = runs.set_index("run_id")[parameter].astype(float)
    groups = pd.qcut(values, q=min(bins, values.nunique()), duplicates="drop")
    centre = values.groupby(groups, observed=True).transform("mean")
    return by_parameter(
        results, runs.assign(**{parameter: runs["run_id"].map(centre)}), parameter, outcome
    )


def outcome_label(
    outcome: str,
    steps: int,
    defined: dict[str, str] | None = None,
    censored: Sequence[str] = CENSORED_OUTCOMES,
) -> str:
    """How an outcome reads in a sentence: "mean_skill at week 104", or a run mean.

    steps = 0: a model without weeks (the outcome is the run's result). `defined`
    gives the words of outcomes an experiment file defines ("mean_skill at week 52").
    """
    if steps == 0:
        return outcome
    if defined and outcome in defined:
        restricted_to = f", restricted mean up to week {steps}" if outcome in censored else ""
        return f"{outcome} ({defined[outcome]}{restricted_to})"
    if outcome.endswith("_avg"):
        return f"{outcome.removesuffix('_avg')} (mean over weeks 1-{steps})"
    if outcome in censored:
        return f"{outcome} (restricted mean up to week {steps})"
    return f"{outcome} at week {steps}"


def point_labels(results: pd.DataFrame) -> dict[int, str]:
    """Each sweep point's values as text, e.g. "levels=3, members=48" (empty without a sweep)."""
    if results["point"].nunique() <= 1:
        return {}
    out = {}
    for point, swept in results.groupby("point")["swept"].first().items():
        values = json.loads(swept) if isinstance(swept, str) else {}
        out[int(str(point))] = ", ".join(f"{k}={v}" for k, v in sorted(values.items()))
    return out


def tally(pairs: pd.DataFrame) -> pd.DataFrame:
    """For each pair and outcome: at how many sweep points A is higher, lower, or no different."""
    compared = pairs[pairs["n"] > 0]  # outcomes a scenario lacks are not "no difference"
    frame = compared.assign(verdict=compared.apply(verdict, axis=1))
    table = (
        frame.groupby(["outcome", "a", "b", "verdict"], sort=False)
        .size()
        .unstack("verdict", fill_value=0)
        .reset_index()
    )
    for col in ("higher", "lower", "no clear difference"):
        if col not in table:
            table[col] = 0
    kept = ["higher", "lower", "no clear difference", *([TOO_FEW] if TOO_FEW in table else [])]
    table = table[["outcome", "a", "b", *kept]]
    table.columns = ["outcome", "a", "b", "points a higher", "points a lower", *kept[2:]]
    return table


def wide(desc: pd.DataFrame) -> pd.DataFrame:
    """Scenarios as rows, outcomes as columns, each cell "mean [low, high]"."""
    cell = desc.apply(
        lambda r: (
            "-" if r["n"] == 0 else f"{r['mean']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        ),
        axis=1,
    )
    table = desc.assign(cell=cell).pivot(index="scenario", columns="outcome", values="cell")
    table = table.loc[list(dict.fromkeys(desc["scenario"])), list(dict.fromkeys(desc["outcome"]))]
    return table.reset_index().rename_axis(columns=None)
