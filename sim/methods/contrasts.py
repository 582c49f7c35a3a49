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

from sim.methods import analysis, statistics

__all__ = ["REGRESSION", "factor_values", "interactions", "regression", "regression_tables"]

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
                        ci_low, ci_high = statistics.bootstrap_ci(dd)
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
                                "p_wilcoxon": statistics.wilcoxon_p(dd),
                            }
                        )
        adjusted = statistics.holm([float(r["p_wilcoxon"]) for r in block])  # type: ignore[arg-type]
        for row, p in zip(block, adjusted, strict=True):
            row["p_holm"] = p
            row["p_floor"] = statistics.p_floor(int(row["n"]), len(block))  # type: ignore[call-overload]
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


REGRESSION = (
    "A regression of each pair's paired difference on the swept factors (ordinary least "
    "squares; numeric factors centred on their mean, so the intercept is the difference at "
    "the factors' mean values and a main effect the slope there; main effects and two-way "
    "interactions), with standard errors "
    "clustered by seed: a replication's runs share their seed at every point, so they are "
    "not independent. p-values are not corrected for the number of terms."
)

REGRESSION_COLUMNS = [
    "outcome",
    "a",
    "b",
    "term",
    "coef",
    "se",
    "ci_low",
    "ci_high",
    "p",
    "n",
    "seeds",
    "r2",
]


def regression(
    results: pd.DataFrame, outcomes: Sequence[str], reference: str | None = None
) -> pd.DataFrame:
    """Main effects and two-way interactions of the factors on every pair's paired difference.

    For a sweep of two factors or more (a factorial grid or a sampled design), one OLS
    per pair and outcome of A - B at each point and replication on the factors, with
    seed-clustered standard errors (statsmodels). Empty with fewer than two factors
    or too few points to fit the terms.
    """
    factors = factor_values(results)
    pairs = analysis.scenario_pairs(list(dict.fromkeys(results["scenario"])), reference)
    rows: list[dict[str, object]] = []
    if factors.shape[1] < 2 or not pairs:
        return pd.DataFrame(rows, columns=REGRESSION_COLUMNS)
    numeric = [f for f in factors.columns if pd.api.types.is_numeric_dtype(factors[f])]
    centred = factors.assign(**{f: factors[f] - factors[f].mean() for f in numeric})
    terms = [f if f in numeric else f"C({f})" for f in factors.columns]
    formula = f"diff ~ ({' + '.join(terms)})**2"
    import statsmodels.formula.api as smf  # imported here: it takes about a second

    for outcome in outcomes:
        for a, b in pairs:
            paired = analysis.paired_differences(results, a, b, outcome)
            data = paired.join(centred, on="point")
            if data["point"].nunique() <= len(terms) * (len(terms) + 1) // 2 + 1:
                continue  # not enough points for the terms (or the outcome does not apply)
            if not data["diff"].var() > 0:
                continue  # the same difference everywhere (often 0): nothing to explain
            fit = smf.ols(formula, data=data).fit(
                cov_type="cluster", cov_kwds={"groups": data["replication"].to_numpy()}
            )
            ci = fit.conf_int(0.05)
            for term in fit.params.index:
                rows.append(
                    {
                        "outcome": outcome,
                        "a": a,
                        "b": b,
                        "term": term,
                        "coef": float(fit.params[term]),
                        "se": float(fit.bse[term]),
                        "ci_low": float(ci.loc[term, 0]),
                        "ci_high": float(ci.loc[term, 1]),
                        "p": float(fit.pvalues[term]),
                        "n": int(fit.nobs),
                        "seeds": int(data["replication"].nunique()),
                        "r2": float(fit.rsquared),
                    }
                )
    return pd.DataFrame(rows, columns=REGRESSION_COLUMNS)


def regression_tables(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Per pair and outcome: a heading and its terms as "coef [low, high]" with p."""
    out = []
    for (outcome, a, b), rows in table.groupby(["outcome", "a", "b"], sort=False):
        first = rows.iloc[0]
        heading = (
            f"{a} - {b}, {outcome} (n = {first['n']} pairs from {first['seeds']} seeds, "
            f"R2 = {first['r2']:.2f})"
        )
        shown = pd.DataFrame(
            {
                "term": rows["term"],
                "coefficient [95% CI]": [
                    f"{analysis.signed(c)} [{analysis.signed(lo)}, {analysis.signed(hi)}]"
                    for c, lo, hi in zip(rows["coef"], rows["ci_low"], rows["ci_high"], strict=True)
                ],
                "se": [f"{v:.3g}" for v in rows["se"]],
                "p": [analysis.p_text(v).removeprefix("p ").removeprefix("= ") for v in rows["p"]],
            }
        )
        out.append((heading, shown))
    return out
