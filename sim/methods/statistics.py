"""Statistics of samples: bootstrap CIs, effect sizes (A12, Cohen's d), Holm, Wilcoxon, p floors.

Numbers in, numbers out: no tables, no outcomes, no words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["a12", "bootstrap_ci", "cohens_d", "holm", "mean_ci", "p_floor", "weighted_quantile"]


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


def wilcoxon_p(diff: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of paired differences (1 when all are 0)."""
    if len(diff) < 2 or np.all(diff == 0):
        return 1.0 if len(diff) else math.nan
    from scipy import stats  # imported here: scipy.stats takes 0.5 s to import

    return float(stats.wilcoxon(diff, zero_method="wilcox").pvalue)


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


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample (the inverse of its weighted ECDF, midpoints)."""
    order = np.argsort(values, kind="stable")
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cum, v)
