"""A pair of scenarios compared across plausible worlds: tables in, tables and sentences out.

A world is one set of parameter values, drawn from a calibration's posterior or from
priors (sim.experiments.across draws and runs them). In each world both scenarios
run the same R seeds, so the world's expected paired difference is the mean of R
paired differences, with its within-world standard error se = sd / sqrt(R). Over
the worlds this module gives, per pair and outcome:

- the median expected difference and its central 90% interval over worlds;
- the share of worlds where each scenario is higher by more than a smallest effect
  of interest (SESOI), and the share within +/- the SESOI (undecided);
- how much of the spread over worlds is parameter uncertainty and how much run-to-run
  noise: var(means) = parameter variance + mean(se^2), so the parameter variance is
  var(means) - mean(se^2) (0 when noise explains it all) and the noise share is
  mean(se^2) / var(means), at most 1;
- which parameters decide it: each parameter's first-order index S1 from the given
  sample (the estimator of SALib's delta analyzer, Plischke, Borgonovo & Smith 2013:
  the variance of the class means over equal-frequency classes of the parameter,
  over the variance of the expected differences), with a bootstrap 95% interval over
  worlds, and the Spearman correlation of the expected difference with it.

Reads tables only, never a model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.methods.analysis import signed

__all__ = [
    "DECIDES",
    "INTERVAL",
    "classes",
    "first_order",
    "first_order_interval",
    "noise_split",
    "sentences",
    "summarize",
    "world_differences",
]

INTERVAL = 0.90  # the central share of worlds the interval holds
RESAMPLES = 200  # bootstrap resamples of the worlds for S1's interval
DECIDES = 0.05  # a parameter decides a difference when its S1's lower 95% bound is above


def world_differences(
    runs: pd.DataFrame, pairs: Sequence[tuple[str, str]], outcomes: Sequence[str]
) -> pd.DataFrame:
    """Each world's expected paired difference A - B per pair and outcome, and its SE.

    runs: one row per run with world, scenario, replication and the outcomes; the
    two runs of a replication in a world share their seed. Pairs with a missing value
    on either side are left out. Returns one row per pair, outcome and world: a, b,
    outcome, world, n (pairs), mean_diff, se (sd of the n differences / sqrt(n); NaN
    below 2 pairs). A pair and outcome with no value in any world gives no rows.
    """
    keys = ["world", "replication"]
    worlds = np.sort(runs["world"].unique())
    parts = []
    for outcome in outcomes:
        for a, b in pairs:
            left = runs.loc[runs["scenario"] == a, [*keys, outcome]]
            right = runs.loc[runs["scenario"] == b, [*keys, outcome]]
            both = left.merge(right, on=keys, suffixes=("_a", "_b")).dropna()
            if both.empty:
                continue
            diff = both[f"{outcome}_a"].astype(float) - both[f"{outcome}_b"].astype(float)
            stats = diff.groupby(both["world"]).agg(["size", "mean", "std"]).reindex(worlds)
            n = stats["size"].fillna(0).astype(int).to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                se = stats["std"].to_numpy(float) / np.sqrt(n)
            parts.append(
                pd.DataFrame(
                    {
                        "a": a,
                        "b": b,
                        "outcome": outcome,
                        "world": worlds,
                        "n": n,
                        "mean_diff": stats["mean"].to_numpy(float),
                        "se": np.where(n >= 2, se, math.nan),
                    }
                )
            )
    columns = ["a", "b", "outcome", "world", "n", "mean_diff", "se"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def classes(n: int) -> int:
    """The equal-frequency classes of a sample of n, as SALib's delta analyzer makes them.

    M = min(ceil(n^e), 48) with e = 2 / (7 + tanh((1500 - n) / 500)) (Plischke,
    Borgonovo & Smith 2013): 4 classes for 200 worlds, 2 for 10.
    """
    e = 2.0 / (7.0 + math.tanh((1500.0 - n) / 500.0))
    return round(min(math.ceil(n**e), 48))


def first_order(x: np.ndarray, y: np.ndarray) -> float:
    """First-order index S1 of x for y from a given sample (SALib delta's estimator).

    The sample is split into `classes(n)` classes of equal size by the rank of x
    (ties by order, as SALib's ordinal ranks do); S1 is the variance of the class
    means of y, each weighted by its size, over the variance of y. 0 when y is constant.
    """
    y = np.asarray(y, float)
    x = np.asarray(x, float)
    if np.ptp(y) == 0:
        return 0.0
    n = len(y)
    edges = np.linspace(0, n, classes(n) + 1)
    rank = np.empty(n)
    rank[np.argsort(x, kind="stable")] = np.arange(1, n + 1)
    # class j holds the ranks in (edges[j], edges[j + 1]], as SALib's classes do
    group = np.searchsorted(edges, rank, side="left") - 1
    size = np.bincount(group, minlength=len(edges) - 1)
    total = np.bincount(group, weights=y, minlength=len(edges) - 1)
    kept = size > 0
    between = float(np.sum(size[kept] / n * (total[kept] / size[kept] - y.mean()) ** 2))
    return float(between / y.var())


def first_order_interval(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, resamples: int = RESAMPLES
) -> tuple[float, float]:
    """A percentile bootstrap 95% interval of S1, resampling the worlds."""
    n = len(y)
    draws = [first_order(x[i], y[i]) for i in rng.integers(0, n, (resamples, n))]
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


def noise_split(means: np.ndarray, se: np.ndarray) -> dict[str, float]:
    """The spread of the worlds' expected differences split into parameters and noise.

    var_means is the variance over worlds (ddof 1); noise_var the mean of se^2, what
    run-to-run noise alone would give; parameter_var = var_means - noise_var, at
    least 0; noise_share = noise_var / var_means, at most 1, and NaN when nothing
    varies at all (two scenarios that run alike give 0 in every pair).
    """
    keep = ~np.isnan(means) & ~np.isnan(se)
    m, s = means[keep], se[keep]
    if len(m) < 2:
        return dict.fromkeys(("var_means", "noise_var", "parameter_var", "noise_share"), math.nan)
    var = float(m.var(ddof=1))
    noise = float(np.mean(s**2))
    if var == 0 and noise == 0:  # every pair of every world gives the same difference
        return {"var_means": 0.0, "noise_var": 0.0, "parameter_var": 0.0, "noise_share": math.nan}
    share = 1.0 if var <= noise else noise / var
    return {
        "var_means": var,
        "noise_var": noise,
        "parameter_var": max(var - noise, 0.0),
        "noise_share": share,
    }


def summarize(
    table: pd.DataFrame,
    parameters: Sequence[str],
    smallest: Mapping[str, float],
    one_point: Mapping[tuple[str, str, str], float] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Per pair and outcome: the distribution over worlds, who wins, noise, importance.

    table: `world_differences`'s rows with each world's parameter values beside them;
    smallest: the SESOI of each outcome; one_point: the paired difference at the
    experiment's own values, by (a, b, outcome), quoted beside. Columns: a, b,
    outcome, worlds, pairs (the fewest in a world), smallest_effect, one_point,
    median, low90, high90, a_higher, b_higher, undecided, var_means, noise_var,
    parameter_var, noise_share, decides (a parameter, or ""), and per parameter
    s1_P, s1_low_P, s1_high_P, rho_P.
    """
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    tail = (1 - INTERVAL) / 2
    rows = []
    for (a, b, outcome), group in table.groupby(["a", "b", "outcome"], sort=False):
        group = group[~group["mean_diff"].isna()]
        if group.empty:
            continue
        d = group["mean_diff"].to_numpy(float)
        sesoi = float(smallest[str(outcome)])
        row: dict[str, Any] = {
            "a": a,
            "b": b,
            "outcome": outcome,
            "worlds": len(d),
            "pairs": int(group["n"].min()),
            "smallest_effect": sesoi,
            "one_point": (one_point or {}).get((str(a), str(b), str(outcome)), math.nan),
            "median": float(np.median(d)),
            "low90": float(np.quantile(d, tail)),
            "high90": float(np.quantile(d, 1 - tail)),
            "a_higher": float(np.mean(d > sesoi)),
            "b_higher": float(np.mean(d < -sesoi)),
            "undecided": float(np.mean(np.abs(d) <= sesoi)),
            **noise_split(d, group["se"].to_numpy(float)),
        }
        for name in parameters:
            x = group[name].to_numpy(float)
            flat = np.ptp(x) == 0 or np.ptp(d) == 0
            row[f"s1_{name}"] = math.nan if flat else first_order(x, d)
            low, high = (math.nan, math.nan) if flat else first_order_interval(x, d, rng)
            row[f"s1_low_{name}"], row[f"s1_high_{name}"] = low, high
            row[f"rho_{name}"] = math.nan if flat else float(spearmanr(x, d).statistic)
        row["decides"] = _decider(row, parameters)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    first = [c for c in frame.columns if not c.startswith(("s1_", "rho_")) and c != "decides"]
    return frame[[*first, "decides", *(c for c in frame.columns if c.startswith(("s1_", "rho_")))]]


def _decider(row: Mapping[str, Any], parameters: Sequence[str]) -> str:
    """The parameter with the largest S1, when its interval's lower end clears DECIDES, or "".

    Run-to-run noise in the worlds' means only dilutes S1 (it adds to the variance
    below the fraction, and to no class mean), so a parameter that clears the bound
    decides a part of the spread however large the noise's share.
    """
    ranked = sorted(
        (n for n in parameters if not math.isnan(row[f"s1_{n}"])),
        key=lambda n: -row[f"s1_{n}"],
    )
    return ranked[0] if ranked and row[f"s1_low_{ranked[0]}"] > DECIDES else ""


def sentences(summary: pd.DataFrame, parameters: Sequence[str]) -> list[str]:
    """One paragraph per pair and outcome, every number from `summary`'s row."""
    out = []
    for row in summary.to_dict("records"):
        a, b, sesoi = row["a"], row["b"], float(row["smallest_effect"])
        if row["var_means"] == 0 and row["noise_var"] == 0:
            out.append(
                f"{a} vs {b}, {row['outcome']}: the paired difference is "
                f"{signed(row['median'])} in every run of all {row['worlds']} worlds: here "
                f"{a} and {b} run alike."
                if row["median"] == 0
                else f"{a} vs {b}, {row['outcome']}: the paired difference is "
                f"{signed(row['median'])} in every run of all {row['worlds']} worlds."
            )
            continue
        one = float(row["one_point"])
        at_one = "" if math.isnan(one) else f" (at the experiment's own values: {signed(one)})"
        text = (
            f"{a} vs {b}, {row['outcome']}: over {row['worlds']} worlds the expected "
            f"difference {a} - {b} has median {signed(row['median'])}, 90% of worlds between "
            f"{signed(row['low90'])} and {signed(row['high90'])}{at_one}. {a} is higher by more "
            f"than {sesoi:g} in {row['a_higher']:.0%} of worlds, {b} in {row['b_higher']:.0%}, "
            f"and {row['undecided']:.0%} are within +/-{sesoi:g} (undecided)."
        )
        share = float(row["noise_share"])
        if math.isnan(share):
            out.append(text)
            continue
        text += (
            f" Run-to-run noise makes {share:.0%} of the spread over worlds and the "
            f"parameters {1 - share:.0%}"
        )
        top = row["decides"] if isinstance(row["decides"], str) else ""  # NaN read from a CSV
        ranked = sorted(
            (n for n in parameters if not math.isnan(row[f"s1_{n}"])),
            key=lambda n: -row[f"s1_{n}"],
        )
        if top:
            text += f"; {_index_words(row, top)} decides most."
        elif ranked:
            text += f"; no parameter clearly decides it (largest: {_index_words(row, ranked[0])})."
        else:
            text += "."
        out.append(text)
    return out


def _index_words(row: Mapping[Any, Any], name: str) -> str:
    """A parameter's indices in words: coach_capacity (S1 = 0.62 [0.48, 0.75], rho +0.81)."""
    rho = float(row[f"rho_{name}"])
    return (
        f"{name} (S1 = {row[f's1_{name}']:.2f} [{row[f's1_low_{name}']:.2f}, "
        f"{row[f's1_high_{name}']:.2f}], Spearman rho {rho:+.2f})"
    )
