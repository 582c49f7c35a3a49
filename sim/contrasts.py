"""Contrasts for factorial sweeps: how a paired difference changes along a factor.

A sweep point sets one value of each swept factor. For a pair of scenarios A and B,
replication r has the paired difference d(p, r) = A - B at every point p, from the
same seed (common random numbers). Along a factor F, with the other factors held at
one combination of their values (a stratum), the interaction contrast between F's
lowest level and another level h is

    DD(r) = d(point with F = h, r) - d(point with F = lowest, r),

a difference of differences paired by seed: its mean, a 95% bootstrap CI over the
replications (resampling seeds, so the pairing is kept) and a Wilcoxon signed-rank
p, Holm-corrected across every contrast of the outcome. A contrast near 0 says the
pair's difference does not depend on F there; docs/ODD.md (section 7) has the design.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pandas as pd

from sim import analysis

__all__ = ["factor_values", "interactions"]

COLUMNS = [
    "outcome",
    "a",
    "b",
    "factor",
    "level_low",
    "level_high",
    "at",
    "n",
    "diff_low",
    "diff_high",
    "contrast",
    "ci_low",
    "ci_high",
    "p_wilcoxon",
    "p_holm",
    "p_floor",
    "sentence",
]


def factor_values(results: pd.DataFrame) -> pd.DataFrame:
    """One row per sweep point (index: point), a column per factor that varies."""
    if "swept" not in results or results["point"].nunique() <= 1:
        return pd.DataFrame(index=pd.Index(sorted(results["point"].unique()), name="point"))
    first = results.groupby("point")["swept"].first()
    table = pd.DataFrame(
        [json.loads(s) if isinstance(s, str) else {} for s in first], index=first.index
    )
    varying = [c for c in table.columns if table[c].astype(str).nunique() > 1]
    return table[varying].sort_index()


def interactions(
    results: pd.DataFrame,
    outcomes: Sequence[str],
    reference: str | None = None,
    labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Every interaction contrast of every pair, outcome and factor (see the module's text).

    `results` holds one row per run (scenario, point, replication, swept, outcomes), the
    outcomes as the statistics count them (a censored outcome restricted to the
    horizon). Pairs are those of analysis.compare (each against `reference`, or all).
    A factor is compared only within strata that hold at least two of its levels, so a
    sampled design (LHS, Sobol), whose values do not repeat, has none.
    """
    factors = factor_values(results)
    pairs = analysis.scenario_pairs(list(dict.fromkeys(results["scenario"])), reference)
    rows: list[dict[str, object]] = []
    if factors.empty or not pairs:
        return pd.DataFrame(rows, columns=COLUMNS)
    for outcome in outcomes:
        block: list[dict[str, object]] = []
        for a, b in pairs:
            paired = analysis.paired_differences(results, a, b, outcome)
            if paired.empty:
                continue  # the outcome does not apply to a or b
            diff = paired.set_index(["point", "replication"])["diff"]
            for factor in factors.columns:
                others = [f for f in factors.columns if f != factor]
                strata = factors.groupby(others, sort=False) if others else [((), factors)]
                for key, stratum in strata:
                    key = key if isinstance(key, tuple) else (key,)
                    # values written as analysis.point_labels writes them, as in the pair sentences
                    at = ", ".join(f"{f}={v}" for f, v in zip(others, key, strict=True))
                    levels = stratum.sort_values(factor)
                    if levels[factor].nunique() < 2 or len(levels) != levels[factor].nunique():
                        continue  # one level here, or several points per level (not a grid)
                    base_point, base_level = levels.index[0], levels[factor].iloc[0]
                    low = diff.xs(base_point, level="point")
                    for point, level in zip(levels.index[1:], levels[factor].iloc[1:], strict=True):
                        high = diff.xs(point, level="point")
                        both = pd.concat([low, high], axis=1, keys=["low", "high"]).dropna()
                        dd = (both["high"] - both["low"]).to_numpy()
                        ci_low, ci_high = analysis.bootstrap_ci(dd)
                        block.append(
                            {
                                "outcome": outcome,
                                "a": a,
                                "b": b,
                                "factor": factor,
                                "level_low": str(base_level),
                                "level_high": str(level),
                                "at": at,
                                "n": len(dd),
                                "diff_low": float(both["low"].mean()) if len(dd) else math.nan,
                                "diff_high": float(both["high"].mean()) if len(dd) else math.nan,
                                "contrast": float(dd.mean()) if len(dd) else math.nan,
                                "ci_low": ci_low,
                                "ci_high": ci_high,
                                "p_wilcoxon": analysis.wilcoxon_p(dd),
                            }
                        )
        adjusted = analysis.holm([float(r["p_wilcoxon"]) for r in block])  # type: ignore[arg-type]
        for row, p in zip(block, adjusted, strict=True):
            row["p_holm"] = p
            row["p_floor"] = analysis.p_floor(int(row["n"]), len(block))  # type: ignore[call-overload]
            row["sentence"] = _sentence(row, (labels or {}).get(outcome, outcome))
        rows.extend(block)
    return pd.DataFrame(rows, columns=COLUMNS)


def _sentence(row: dict[str, object], label: str) -> str:
    """E.g. "top_down_internal - peer_led, mean_skill at week 104: from levels=1 to ..."."""
    fmt = analysis.signed
    factor, contrast = row["factor"], float(row["contrast"])  # type: ignore[arg-type]
    where = f", at {row['at']}" if row["at"] else ""
    text = (
        f"{row['a']} - {row['b']}, {label}: from {factor}={row['level_low']} to "
        f"{factor}={row['level_high']}{where}, the difference goes from "
        f"{fmt(float(row['diff_low']))} to {fmt(float(row['diff_high']))} "  # type: ignore[arg-type]
        f"(change {fmt(contrast)} [{fmt(float(row['ci_low']))}, "  # type: ignore[arg-type]
        f"{fmt(float(row['ci_high']))}], "  # type: ignore[arg-type]
        f"{analysis.p_text(float(row['p_holm']))}, n = {row['n']} pairs)"  # type: ignore[arg-type]
    )
    floor = float(row["p_floor"])  # type: ignore[arg-type]
    if floor >= 0.05:
        return text + (
            f": too few pairs to tell (p after Holm cannot go below {floor:.2g} with "
            f"{row['n']} pairs)"
        )
    p = float(row["p_holm"])  # type: ignore[arg-type]
    if math.isnan(p) or p >= 0.05:
        return text + ": no clear change"
    return text + (": the difference rises" if contrast > 0 else ": the difference falls")
