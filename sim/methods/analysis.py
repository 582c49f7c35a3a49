"""Statistics on result tables: CIs, paired tests under common random numbers, effect sizes.

Works on tables alone (never imports the model). The input is one row per run with
columns scenario, point, replication and the outcomes; replication r of every
scenario shares its seed, so differences are paired by (point, replication).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Comparison",
    "a12",
    "bootstrap_ci",
    "cohens_d",
    "compare",
    "describe",
    "holm",
    "p_text",
    "paired_differences",
    "sentence",
    "to_markdown",
    "verdict",
    "weighted_quantile",
]

CONFIDENCE = 0.95
RESAMPLES = 2000
# Above this many values the percentile bootstrap is used: BCa's jackknife costs n^2
# (4 s at 10,000 runs), and its skew correction vanishes for a mean of so many values.
BCA_MAX = 2000


def bootstrap_ci(values: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap CI of the mean (BCa, scipy.stats.bootstrap); a point when values agree.

    Percentile intervals above BCA_MAX values, or where BCa fails on an odd sample.
    """
    from scipy import stats  # imported here: scipy.stats takes 0.5 s to import

    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return math.nan, math.nan
    if np.ptp(v) == 0:
        return float(v[0]), float(v[0])  # all runs agree: the CI is that value
    if len(v) == 1:
        return math.nan, math.nan
    methods = ("BCa", "percentile") if len(v) <= BCA_MAX else ("percentile",)
    for method in methods:  # BCa can fail on odd samples: fall back
        res = stats.bootstrap(
            (v,),
            np.mean,
            confidence_level=CONFIDENCE,
            n_resamples=RESAMPLES,
            method=method,
            rng=np.random.default_rng(seed),
        )
        low, high = res.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            break
    return float(low), float(high)


def a12(a: np.ndarray, b: np.ndarray) -> float:
    """Vargha-Delaney A12: the probability that a run of A beats a run of B (ties count half).

    0.5 = no effect; 0.56, 0.64, 0.71 mark small, medium, large effects (Vargha and
    Delaney 2000).
    """
    from scipy import stats  # imported here: scipy.stats takes 0.5 s to import

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


def p_floor(n: int, m: int) -> float:
    """The smallest p a family of m paired comparisons of n pairs each can reach after Holm.

    The exact two-sided Wilcoxon signed-rank p of n pairs is at least 2 / 2**n (every
    difference of one sign); Holm multiplies the smallest p of a family by m.
    """
    if n < 1 or m < 1:
        return math.nan
    return min(1.0, m * 2.0 ** (1 - n))


def replications_for_floor(m: int, alpha: float = 0.05) -> int:
    """The fewest pairs with which one of m comparisons can reach p < alpha after Holm."""
    n = 1
    while p_floor(n, max(m, 1)) >= alpha:
        n += 1
    return n


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


def wilcoxon_p(diff: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of paired differences (1 when all are 0)."""
    if len(diff) < 2 or np.all(diff == 0):
        return 1.0 if len(diff) else math.nan
    from scipy import stats  # imported here: scipy.stats takes 0.5 s to import

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


def mean_ci(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and its 95% t-interval (fast: used for bands over many steps)."""
    from scipy import stats  # imported here: scipy.stats takes 0.5 s to import

    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return m, m - half, m + half


# "First week that ..." outcomes: a run that never gets there by the horizon is censored
# there (every run has the same horizon, so the censoring is administrative).
CENSORED_OUTCOMES = ("time_to_competence",)


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


METHODS = (
    "95% CIs are bootstrap (BCa; percentile above 2,000 runs); differences are paired by "
    "seed (common random numbers); p-values are Wilcoxon signed-rank with Holm's correction "
    "across the pairs (and points) of each outcome; A12 is the probability that a run of "
    "the first scenario scores higher than a run of the second (0.5: no difference; 0.56, "
    "0.64, 0.71: small, medium, large)."
)


INTERACTIONS = (
    "How each pair's paired difference changes along a factor, the other factors held "
    "where stated: the change from the factor's lowest level to another (a difference of "
    "differences, paired by seed), with a 95% bootstrap CI over the seeds and Wilcoxon's "
    "p with Holm's correction across the contrasts of each outcome."
)


ACROSS_TEAMS = (
    "Teams at the last week, pooled over the runs of each scenario at each point: the "
    "correlation of a team's within-team trust with its members' mean skill (Pearson r), "
    "with a 95% CI from resampling whole runs (a run's teams share its draws)."
)


def across_teams(teams: pd.DataFrame, results: pd.DataFrame, resamples: int = 1000) -> list[str]:
    """Per scenario: does a team's trust go with its learning? r over its runs' teams.

    `teams` is the store's teams table (run_id, team, within_team_trust, ..., mean_skill);
    only done runs count. The CI resamples runs, not teams: teams of one run are not
    independent draws.
    """
    if teams.empty:
        return []
    data = teams.merge(results[["run_id", "scenario", "point"]], on="run_id").dropna(
        subset=["within_team_trust", "mean_skill"]
    )
    labels = point_labels(results)
    rng = np.random.default_rng(0)
    out = []
    for (scenario, point), rows in data.groupby(["scenario", "point"], sort=False):
        label = labels.get(int(str(point)))
        name = f"{scenario} at {label}" if label else str(scenario)
        columns = ["within_team_trust", "mean_skill"]
        by_run = [g[columns].to_numpy() for _, g in rows.groupby("run_id")]
        pooled = np.concatenate(by_run)
        if len(pooled) < 3 or pooled.std(axis=0).min() == 0:
            out.append(f"{name}: too few teams or no spread to correlate ({len(pooled)} teams)")
            continue
        r = float(np.corrcoef(pooled.T)[0, 1])
        draws = []
        for _ in range(resamples):
            sample = np.concatenate([by_run[i] for i in rng.integers(0, len(by_run), len(by_run))])
            if sample.std(axis=0).min() > 0:
                draws.append(np.corrcoef(sample.T)[0, 1])
        low, high = np.percentile(draws, [2.5, 97.5]) if draws else (math.nan, math.nan)
        out.append(
            f"{name}: r = {r:.2f} [{low:.2f}, {high:.2f}] between a team's within-team "
            f"trust and its members' mean skill ({len(pooled)} teams in {len(by_run)} runs)"
        )
    return out


LOGRANK = (
    "The Kaplan-Meier curves of each pair compared by a log-rank test (scipy.stats.logrank; "
    "it takes the two samples as independent, which paired seeds are not, so it is "
    "conservative; no Holm correction):"
)


@dataclass
class Comparison:
    """An experiment's statistics: per scenario (desc) and per pair (pairs)."""

    title: str
    question: str
    results: pd.DataFrame
    outcomes: tuple[str, ...]
    steps: int
    failed: int
    desc: pd.DataFrame
    pairs: pd.DataFrame
    points: dict[int, str]
    censored: str = ""  # how many runs never reached a "first week that" outcome
    interactions: pd.DataFrame = field(default_factory=pd.DataFrame)
    logrank: list[str] = field(default_factory=list)  # censored outcomes' curves, per pair
    regression: pd.DataFrame = field(default_factory=pd.DataFrame)  # factors on the pairs
    censored_outcomes: tuple[str, ...] = CENSORED_OUTCOMES  # "first week that" outcomes
    teams: list[str] = field(default_factory=list)  # across teams: trust against learning
    half_width: float | None = None  # the experiment's target 95% CI half-width, if any

    @classmethod
    def of(
        cls,
        results: pd.DataFrame,
        outcomes: Sequence[str],
        *,
        reference: str | None,
        steps: int,
        failed: int = 0,
        title: str = "",
        question: str = "",
        defined: dict[str, str] | None = None,
        censored_outcomes: Sequence[str] = CENSORED_OUTCOMES,
        teams: pd.DataFrame | None = None,
        half_width: float | None = None,
    ) -> Comparison:
        """Describe every scenario and compare the pairs (sweep points kept apart).

        `defined` gives the words of outcomes the experiment file defines, and
        `censored_outcomes` every "first week that" outcome (the model's and those);
        `teams` the runs' teams at the last week, when the sweep kept them.
        """
        cens = tuple(censored_outcomes)
        labels = {o: outcome_label(o, steps, defined, cens) for o in outcomes}
        censored = censored_sentence(results, outcomes, steps, cens)
        logrank = logrank_sentences(results, outcomes, steps, reference, cens)
        results = restricted(results, outcomes, steps, cens)
        points = point_labels(results)
        desc = describe(results, outcomes)
        pairs = compare(results, outcomes, reference=reference, labels=labels, point_labels=points)
        from sim.methods.contrasts import interactions, regression  # they build on this module

        return cls(
            title,
            question,
            results,
            tuple(outcomes),
            steps,
            failed,
            desc,
            pairs,
            points,
            censored,
            interactions(results, outcomes, reference=reference, labels=labels),
            logrank,
            regression(results, outcomes, reference=reference),
            cens,
            across_teams(teams, results) if teams is not None else [],
            half_width,
        )

    def tidy(self) -> pd.DataFrame:
        """One table: a row per scenario statistic and per pair."""
        parts = [self.desc.assign(kind="scenario"), self.pairs.assign(kind="pair")]
        if len(self.interactions):
            parts.append(self.interactions.assign(kind="interaction"))
        if len(self.regression):
            parts.append(self.regression.assign(kind="regression"))
        return pd.concat(parts, ignore_index=True)

    def summary_line(self) -> str:
        """How many runs, scenarios, points; what was measured when."""
        sweep = f", {len(self.points)} sweep points" if self.points else ""
        when = f"; outcomes at week {self.steps} unless marked as run means" if self.steps else ""
        n_scenarios = self.results["scenario"].nunique()
        return (
            f"{len(self.results)} finished runs ({self.failed} failed), "
            f"{n_scenarios} scenario{'s' if n_scenarios != 1 else ''}{sweep}{when}."
        )

    def n_line(self) -> str:
        """Runs per scenario."""
        counts = self.results.groupby("scenario", sort=False).size()
        return (
            "Mean [95% CI] over runs"
            + (" (sweep points pooled)" if self.points else "")
            + ("; runs per scenario: " + ", ".join(f"{s} {n}" for s, n in counts.items()) + ".")
        )

    def per_point(self) -> pd.DataFrame:
        """Mean [95% CI] of each outcome at each sweep point (rows: scenario, point)."""
        labelled = self.results.assign(
            scenario=[
                f"{s}: {self.points.get(int(p), p)}"
                for s, p in zip(self.results["scenario"], self.results["point"], strict=True)
            ]
        )
        return wide(describe(labelled, self.outcomes))

    def sentences(self) -> list[str]:
        """The plain sentences of every comparison with data."""
        return self.pairs.loc[self.pairs["n"] > 0, "sentence"].tolist()

    def missing(self) -> list[str]:
        """Outcomes some scenario has no value for (e.g. trust_in_coach without a coach)."""
        return sorted(set(self.pairs.loc[self.pairs["n"] == 0, "outcome"]))

    def power_sentence(self, target: float | None = None) -> str:
        """What the design can show: the smallest p after Holm, the CIs' width ("" if no pairs).

        With a `target` 95% CI half-width (the experiment's replications.half_width),
        also the replications every paired difference's CI needs to reach it, from the
        widths seen here (they narrow like 1/sqrt(n)).
        """
        compared = self.pairs[self.pairs["n"] > 0]
        if compared.empty:
            return ""
        n = int(compared["n"].min())
        family = int(compared.groupby("outcome").size().max())
        floor = p_floor(n, family)
        half = float(((compared["ci_high"] - compared["ci_low"]) / 2).median())
        can = (
            f"so no comparison can be told apart: {replications_for_floor(family)} "
            "replications or more can"
            if floor >= 0.05
            else "low enough to show a difference"
        )
        return (
            f"Power: with {n} pairs per comparison and {family} comparison"
            f"{'s' if family != 1 else ''} per outcome, the "
            f"smallest p any comparison can reach after Holm's correction is {floor:.2g}, "
            f"{can}. The paired differences' 95% CIs are +/-{half:.3g} wide (median); they "
            f"narrow like 1/sqrt(n): halving them takes about {4 * n} replications."
            + (self._replications_for(target, compared) if target else "")
        )

    @staticmethod
    def _replications_for(target: float, compared: pd.DataFrame) -> str:
        """The replications for every paired difference's CI to reach +/-target."""
        halves = (compared["ci_high"] - compared["ci_low"]) / 2
        need = np.ceil(compared["n"] * (halves / target) ** 2)
        widest = compared.iloc[int(np.argmax(halves.to_numpy()))]
        return (
            f" For a half-width of {target:g} on every paired difference: about "
            f"{int(need.max())} replications (the widest now: {widest['a']} vs {widest['b']}, "
            f"{widest['outcome']}, +/-{halves.max():.3g} with {int(widest['n'])} pairs)."
        )

    def not_applicable_sentence(self) -> str:
        """Where each outcome does not apply, in one sentence ("" if it applies everywhere)."""
        return not_applicable_sentence(self.results, self.outcomes)

    def missing_otherwise(self) -> list[str]:
        """Outcomes missing for some scenario for another reason than not applying there."""
        return [o for o in self.missing() if not not_applicable(self.results, o)]

    def markdown(self) -> str:
        """The comparison as Markdown (compare.md, and what sweep prints)."""
        lines = [f"# {self.title}: comparison", ""]
        if self.question:
            lines += [self.question, ""]
        lines += [
            self.summary_line(),
            METHODS,
            "",
            "## Per scenario",
            "",
            self.n_line(),
            "",
            to_markdown(wide(self.desc)),
        ]
        if self.points and len(self.pairs):
            lines += ["## Where each wins", "", to_markdown(tally(self.pairs)), ""]
        if len(self.pairs):
            lines += ["## Paired differences", "", *(f"- {s}" for s in self.sentences()), ""]
        elif 0 < len(self.points) <= 60:  # one scenario over a sweep: point by point
            lines += ["## Per sweep point", "", to_markdown(self.per_point()), ""]
        power = self.power_sentence(self.half_width)
        if power:
            lines += [power, ""]
        if len(self.interactions):
            lines += ["## Interactions", "", INTERACTIONS, ""]
            lines += [f"- {s}" for s in self.interactions["sentence"]] + [""]
        if len(self.regression):
            from sim.methods.contrasts import REGRESSION, regression_tables

            lines += ["## Regression", "", REGRESSION, ""]
            for heading, table in regression_tables(self.regression):
                lines += [heading, "", to_markdown(table), ""]
        if self.not_applicable_sentence():
            lines += [self.not_applicable_sentence(), ""]
        if self.censored:
            lines += [self.censored, ""]
        if self.logrank:
            lines += [LOGRANK, "", *(f"- {s}" for s in self.logrank), ""]
        if self.teams:
            lines += ["## Across teams", "", ACROSS_TEAMS, "", *(f"- {s}" for s in self.teams), ""]
        if self.missing_otherwise():
            lines += [
                "Not compared where a scenario has no value (failed or unfinished runs): "
                f"{', '.join(self.missing_otherwise())}.",
                "",
            ]
        return "\n".join(lines)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample (the inverse of its weighted ECDF, midpoints)."""
    order = np.argsort(values, kind="stable")
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cum, v)
