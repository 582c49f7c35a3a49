"""Statistics on result tables: CIs, paired tests under common random numbers, effect sizes.

Works on tables alone (never imports the model). The input is one row per run with
columns scenario, point, replication and the outcomes; replication r of every
scenario shares its seed, so differences are paired by (point, replication).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "a12",
    "bootstrap_ci",
    "cohens_d",
    "compare",
    "describe",
    "holm",
    "paired_differences",
    "sentence",
    "to_markdown",
    "verdict",
]

CONFIDENCE = 0.95
RESAMPLES = 2000


def bootstrap_ci(values: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap CI of the mean (BCa, scipy.stats.bootstrap); a point when values agree."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return math.nan, math.nan
    if len(v) == 1 or np.ptp(v) == 0:
        return float(v[0]) if np.ptp(v) == 0 else math.nan, float(v[0]) if np.ptp(
            v
        ) == 0 else math.nan
    res = stats.bootstrap(
        (v,),
        np.mean,
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="BCa",
        rng=np.random.default_rng(seed),
    )
    low, high = res.confidence_interval
    if not (np.isfinite(low) and np.isfinite(high)):  # BCa can fail on odd samples
        res = stats.bootstrap(
            (v,),
            np.mean,
            confidence_level=CONFIDENCE,
            n_resamples=RESAMPLES,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        low, high = res.confidence_interval
    return float(low), float(high)


def a12(a: np.ndarray, b: np.ndarray) -> float:
    """Vargha-Delaney A12: the probability that a run of A beats a run of B (ties count half).

    0.5 = no effect; 0.56, 0.64, 0.71 mark small, medium, large effects (Vargha and
    Delaney 2000).
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        return math.nan
    ranks = stats.rankdata(np.concatenate([a, b]))
    r1 = ranks[: len(a)].sum()
    return float((r1 / len(a) - (len(a) + 1) / 2) / len(b))


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's d: difference of means over the pooled sd (0 when both are constant and equal)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2 or len(b) < 2:
        return math.nan
    pooled = math.sqrt(
        ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    )
    diff = a.mean() - b.mean()
    if pooled == 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return float(diff / pooled)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and does not count)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok])]
    m = len(order)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        out[idx] = running
    return out.tolist()


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


def _wilcoxon(diff: np.ndarray) -> float:
    if len(diff) < 2 or np.all(diff == 0):
        return 1.0 if len(diff) else math.nan
    return float(stats.wilcoxon(diff, zero_method="wilcox").pvalue)


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
    scenarios = list(dict.fromkeys(results["scenario"]))
    if reference is not None:
        pairs = [(s, reference) for s in scenarios if s != reference]
    else:
        pairs = list(itertools.combinations(scenarios, 2))
    points = sorted(results["point"].unique()) if "point" in results else [0]
    rows = []
    for outcome in outcomes:
        block = []
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
                        "p_wilcoxon": _wilcoxon(diff),
                        "a12": a12(va, vb),
                        "cohens_d": cohens_d(va, vb),
                    }
                )
        for row, adj in zip(block, holm([r["p_wilcoxon"] for r in block]), strict=True):
            row["p_holm"] = adj
            label = (labels or {}).get(outcome, outcome)
            where = (point_labels or {}).get(int(row["point"]))  # type: ignore[call-overload]
            row["sentence"] = sentence(row, f"{label} at {where}" if where else label)
        rows.extend(block)
    return pd.DataFrame(rows)


def verdict(row: dict[str, object] | pd.Series) -> str:
    """The verdict of a comparison row: higher, lower, or no clear difference (Holm p < 0.05)."""
    p, diff = float(row["p_holm"]), float(row["mean_diff"])  # type: ignore[arg-type]
    if math.isnan(p) or math.isnan(diff) or p >= 0.05:
        return "no clear difference"
    return "higher" if diff > 0 else "lower"


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:+.3f}" if abs(x) >= 0.001 or x == 0 else f"{x:+.2g}"


def sentence(row: dict[str, object], label: str | None = None) -> str:
    """One plain sentence for a comparison row.

    For example "peer_led vs top_down_internal, mean_skill at week 104: -0.040
    [-0.060, -0.020], A12 = 0.31, p = 0.002 (Holm): lower".
    """
    label = label or str(row["outcome"])
    diff, low, high = (float(row[k]) for k in ("mean_diff", "ci_low", "ci_high"))  # type: ignore[arg-type]
    p, a = float(row["p_holm"]), float(row["a12"])  # type: ignore[arg-type]
    if math.isnan(diff):
        return f"{row['a']} vs {row['b']}, {label}: no paired runs"
    return (
        f"{row['a']} vs {row['b']}, {label}: {_fmt(diff)} [{_fmt(low)}, {_fmt(high)}], "
        f"A12 = {a:.2f}, p = {p:.3g} (Holm): {verdict(row)}"
    )


def to_markdown(frame: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """A DataFrame as a Markdown table without extra dependencies."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, float):
                cells.append("n/a" if math.isnan(v) else format(v, floatfmt))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
