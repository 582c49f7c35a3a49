"""Global sensitivity analysis (SALib): which parameters drive an outcome, and how much.

An experiment's `[sensitivity]` section names the method (Sobol or Morris), the
parameters with their ranges, the sample size and the outcomes. `design` draws the
sample points in the unit cube (Saltelli's scheme for Sobol, Morris trajectories);
the experiment machinery maps them onto the ranges and runs every point with the
experiment's replications (the same seeds at every point: common random numbers).

The model is stochastic, so an outcome is the parameters' effect plus run-to-run
noise. The indices are computed on the mean over a point's replications, which
divides the noise variance by their number; `noise` estimates what share of the
variance is noise (pooled within-point variance over total variance), once for single
runs and once for the point means the indices see. Noise left in the means lifts
total-order indices above first-order ones (it acts like an interaction with every
parameter), so a high noise share is reported next to the indices, and where it is
half of the means' variance or more no parameter is called a driver.

Reads result tables only, never a model (like sim.methods.analysis, whose helpers it uses).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.methods.analysis import to_markdown

__all__ = [
    "METHODS",
    "Range",
    "Sensitivity",
    "SensitivityResults",
    "analyze",
    "design",
    "noise",
    "ranking_sentences",
    "wide_indices",
]

METHODS = ("sobol", "morris")
CONFIDENCE = 0.95


class Range(BaseModel):
    """A continuous (or integer) range to sample: `{ min = 0.1, max = 0.9 }`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.min < self.max:
            raise ValueError(f"min = {self.min} must be below max = {self.max}")
        return self


class Sensitivity(BaseModel):
    """An experiment's `[sensitivity]` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    method: Literal["sobol", "morris"] = "sobol"
    samples: int = Field(
        ge=2,
        le=1_000_000,
        description="Sobol: the base sample N (N * (parameters + 2) points; a power of 2); "
        "Morris: the number of trajectories (N * (parameters + 1) points)",
    )
    parameters: dict[str, Range]
    outcomes: tuple[str, ...] | None = None
    levels: int = Field(4, ge=2, le=100, description="Morris: grid levels per parameter")
    resamples: int = Field(1000, ge=10, le=100_000, description="bootstrap resamples for CIs")
    second_order: bool = Field(
        False,
        strict=True,  # "yes" is not a boolean
        description="Sobol: also the second-order indices S2 of every pair of parameters "
        "(N * (2 * parameters + 2) points instead of N * (parameters + 2))",
    )

    @model_validator(mode="after")
    def _second_order_is_sobol(self) -> Sensitivity:
        if self.second_order and self.method != "sobol":
            raise ValueError('second_order = true needs method = "sobol" (Morris has no S2)')
        return self


def _problem(sens: Sensitivity) -> dict[str, Any]:
    """SALib's problem, in the unit cube (the experiment maps points onto the ranges)."""
    names = list(sens.parameters)
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def design(sens: Sensitivity, seed: int) -> np.ndarray:
    """The sample points in the unit cube, one row per point, in SALib's order."""
    problem = _problem(sens)
    if sens.method == "sobol":
        from SALib.sample import sobol as sobol_sample

        with warnings.catch_warnings():  # not a power of 2: the command line says so
            warnings.simplefilter("ignore", UserWarning)
            unit = sobol_sample.sample(
                problem, sens.samples, calc_second_order=sens.second_order, seed=seed
            )
        return np.asarray(unit)
    from SALib.sample import morris as morris_sample

    return np.asarray(
        morris_sample.sample(problem, sens.samples, num_levels=sens.levels, seed=seed)
    )


def point_means(results: pd.DataFrame, outcome: str, n_points: int) -> np.ndarray | None:
    """The mean outcome over each point's replications, in point order (None if incomplete)."""
    means = results.groupby("point")[outcome].mean()
    if len(means) != n_points or means.isna().any():
        return None
    return means.sort_index().to_numpy(dtype=float)


def noise(results: pd.DataFrame, outcome: str) -> dict[str, float]:
    """How much of an outcome's variance is run-to-run noise.

    Returns:
        single_run: pooled within-point variance / variance over all runs;
        in_means: the same for the point means the indices are computed on (the noise
            variance divided by the replications, over the variance of the means);
        replications: runs per point (the smallest count).
    """
    groups = results.groupby("point")[outcome]
    counts = groups.count()
    reps = int(counts.min()) if len(counts) else 0
    total = float(results[outcome].var(ddof=1))
    if reps < 2 or not total > 0:
        return {"single_run": math.nan, "in_means": math.nan, "replications": float(reps)}
    within = float(groups.var(ddof=1).mean())
    means_var = float(groups.mean().var(ddof=1))
    return {
        "single_run": min(1.0, within / total),
        "in_means": min(1.0, within / reps / means_var) if means_var > 0 else math.nan,
        "replications": float(reps),
    }


def analyze(
    sens: Sensitivity, seed: int, results: pd.DataFrame, outcome: str
) -> pd.DataFrame | None:
    """Sobol S1 and ST (or Morris mu*, sigma) of one outcome, with 95% CIs.

    `results` holds one scenario's finished runs (columns point and the outcome); the
    design is drawn again from the seed. None when a point has no value.

    Returns:
        One row per parameter: method, parameter, index ("S1", "ST" or "mu_star",
        "sigma"), value, ci_low, ci_high.
    """
    unit = design(sens, seed)
    y = point_means(results, outcome, len(unit))
    if y is None:
        return None
    problem = _problem(sens)
    rows = []
    if sens.method == "sobol":
        from SALib.analyze import sobol as sobol_analyze

        res = sobol_analyze.analyze(
            problem,
            y,
            calc_second_order=sens.second_order,
            num_resamples=sens.resamples,
            conf_level=CONFIDENCE,
            seed=seed,
        )
        names = problem["names"]
        for i, name in enumerate(names):
            for index in ("S1", "ST"):
                value, half = float(res[index][i]), float(res[f"{index}_conf"][i])
                rows.append((name, index, value, value - half, value + half))
        for i, j in itertools.combinations(range(len(names)) if sens.second_order else (), 2):
            value, half = float(res["S2"][i, j]), float(res["S2_conf"][i, j])
            rows.append((f"{names[i]} x {names[j]}", "S2", value, value - half, value + half))
    else:
        from SALib.analyze import morris as morris_analyze

        res = morris_analyze.analyze(
            problem,
            unit,
            y,
            num_resamples=sens.resamples,
            conf_level=CONFIDENCE,
            num_levels=sens.levels,
            seed=seed,
        )
        for i, name in enumerate(problem["names"]):
            mu, half = float(res["mu_star"][i]), float(res["mu_star_conf"][i])
            rows.append((name, "mu_star", mu, mu - half, mu + half))
            # The signed mean: near 0 with a large mu*, the effects change sign.
            rows.append((name, "mu", float(res["mu"][i]), math.nan, math.nan))
            rows.append((name, "sigma", float(res["sigma"][i]), math.nan, math.nan))
    table = pd.DataFrame(rows, columns=["parameter", "index", "value", "ci_low", "ci_high"])
    return table.assign(method=sens.method, outcome=outcome)


NOISY = 0.5  # a noise share of the point means' variance from which no parameter "drives"


def ranking_sentences(
    table: pd.DataFrame, outcome: str, threshold: float = 0.05, noise_share: float = math.nan
) -> list[str]:
    """Which parameters matter for an outcome, in plain words (one outcome's analyze table).

    Ranked by the total index ST with its 95% CI: a parameter drives the outcome when
    the CI's lower end is above `threshold`, never when the CI reaches below it, and
    never when `noise_share` (the share of the point means' variance that is noise,
    see `noise`) is NOISY or more: then the indices measure the noise as much as the
    parameters. Interactions are read per parameter (ST clearly above S1) and, with
    second-order indices, per pair (S2 clearly above the threshold).
    """
    rows = table[table["outcome"] == outcome]
    if rows.empty:
        return []
    if rows["method"].iloc[0] == "sobol":
        st = rows[rows["index"] == "ST"].set_index("parameter")
        s1 = rows[rows["index"] == "S1"].set_index("parameter")
        order = st["value"].sort_values(ascending=False)
        noisy = noise_share >= NOISY
        matter = [p for p in order.index if st.loc[p, "ci_low"] > threshold and not noisy]
        unsure = [p for p in order.index if p not in matter and order[p] >= threshold]
        rest = [p for p in order.index if p not in matter and p not in unsure]
        out = []
        if noisy:
            out.append(
                f"{outcome}: {noise_share:.0%} of the variance of the point means is run-to-run "
                "noise, so no parameter is called a driver (more replications per point would "
                "tell)."
            )
        elif matter:
            parts = [
                f"{p} (total {st.loc[p, 'value']:.2f}, alone {s1.loc[p, 'value']:.2f})"
                for p in matter
            ]
            out.append(f"{outcome}: driven by {', '.join(parts)}.")
        else:
            out.append(f"{outcome}: no parameter's total effect is clearly above {threshold:g}.")
        if unsure:
            parts = [
                f"{p} (total {order[p]:.2f} [{st.loc[p, 'ci_low']:.2f}, "
                f"{st.loc[p, 'ci_high']:.2f}])"
                for p in unsure
            ]
            why = "the noise" if noisy else f"its 95% CI reaches below {threshold:g}"
            out.append(
                f"{outcome}: {', '.join(parts)} may matter: the total index is above "
                f"{threshold:g} but {why} (more samples or replications would tell)."
            )
        if rest:
            out.append(
                f"{outcome}: {', '.join(rest)} hardly matter{'s' if len(rest) == 1 else ''} "
                f"(total index below {threshold:g})."
            )
        # Interactions only where the gap is clear: noise also lifts ST above S1.
        inter = [
            p
            for p in matter
            if st.loc[p, "ci_low"] > s1.loc[p, "ci_high"]
            and st.loc[p, "value"] - max(s1.loc[p, "value"], 0.0) > threshold
        ]
        if inter:
            out.append(
                f"{outcome}: {', '.join(inter)} act{'s' if len(inter) == 1 else ''} partly "
                "through interactions (total clearly above first-order)."
            )
        s2 = rows[rows["index"] == "S2"]
        pairs = s2[s2["ci_low"] > threshold] if not noisy else s2.iloc[:0]
        if len(pairs):
            parts = [
                f"{r.parameter} (S2 {r.value:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}])"
                for r in pairs.sort_values("value", ascending=False).itertuples()
            ]
            out.append(f"{outcome}: pairs that interact: {', '.join(parts)}.")
        return out
    mu = rows[rows["index"] == "mu_star"].set_index("parameter")["value"]
    sigma = rows[rows["index"] == "sigma"].set_index("parameter")["value"]
    order = mu.sort_values(ascending=False)
    top = order.iloc[0] if len(order) else 0.0
    matter = [p for p in order.index if top > 0 and order[p] >= 0.1 * top]
    out = [
        f"{outcome}: largest elementary effects (mu*) from "
        + ", ".join(f"{p} ({order[p]:.3g})" for p in matter)
        + "."
    ]
    nonlinear = [p for p in matter if sigma[p] > order[p]]
    if nonlinear:
        out.append(
            f"{outcome}: {', '.join(nonlinear)} "
            f"{'has' if len(nonlinear) == 1 else 'have'} sigma above mu*: "
            "non-linear or interacting effects."
        )
    return out


S2_INTRO = (
    "Second-order indices S2, pair by pair (the share of the variance two parameters cause "
    "together, beyond their first-order effects):"
)


@dataclass
class SensitivityResults:
    """A sensitivity experiment's indices, noise estimates and plain-words reading."""

    method: str
    samples: int
    replications: int
    points: int
    indices: pd.DataFrame  # scenario, outcome, parameter, index, value, ci_low, ci_high, method
    noise: pd.DataFrame  # scenario, outcome, single_run, in_means, replications
    sentences: list[str]
    notes: list[str]

    def markdown(self) -> str:
        """The indices as tables, one per scenario and outcome, with the noise and sentences."""
        lines = [f"# Sensitivity ({self.method})", "", self.method_line(), ""]
        for heading, tables in self.index_tables():
            lines += [f"## {heading}", ""]
            for intro, table in tables:
                lines += [*([intro, ""] if intro else []), to_markdown(table), ""]
        if not self.noise.empty:  # empty when no outcome could be analysed (see notes)
            lines += ["## Noise", "", self.noise_line(), "", to_markdown(self.noise), ""]
        lines += [*(f"- {s}" for s in self.sentences + self.notes), ""]
        return "\n".join(lines)

    def index_tables(self) -> list[tuple[str, list[tuple[str, pd.DataFrame]]]]:
        """Per scenario and outcome ("outcome (scenario)"): its tables, each with an intro.

        The parameters' indices, most influential first; with second-order indices, a
        second table of the pairs.
        """
        out = []
        for (scenario, outcome), rows in self.indices.groupby(["scenario", "outcome"], sort=False):
            tables = [("", wide_indices(rows[rows["index"] != "S2"]))]
            pairs = rows[rows["index"] == "S2"]
            if len(pairs):
                tables.append((S2_INTRO, wide_indices(pairs)))
            out.append((f"{outcome} ({scenario})", tables))
        return out

    def method_line(self) -> str:
        """How the indices were computed, in words."""
        if self.method == "sobol":
            how = (
                f"Sobol indices (Saltelli sampling, N = {self.samples}; {self.points} points): "
                "first-order S1 is the share of the outcome's variance a parameter causes "
                "alone, total ST includes all its interactions; 95% bootstrap CIs"
            )
        else:
            how = (
                f"Morris elementary effects ({self.samples} trajectories; {self.points} points): "
                "mu* is the mean absolute effect of moving a parameter across its range "
                "(in the outcome's units), mu the signed mean (near 0 with a large mu*: the "
                "effect changes sign), sigma its spread (non-linearity or interactions); "
                "95% bootstrap CIs for mu*"
            )
        return (
            f"{how}. Each point was run {self.replications} times with the same seeds at every "
            "point (common random numbers); the indices are computed on the mean over those "
            "runs."
        )

    def noise_line(self) -> str:
        """What share of the variance is run-to-run noise, in words."""
        effect = (
            "lifts total-order indices above first-order ones (it acts like an interaction "
            "with every parameter)"
            if self.method == "sobol"
            else "adds to every elementary effect (mu* and sigma alike)"
        )
        return (
            "single_run: the share of a single run's variance that is run-to-run noise (pooled "
            "within-point variance over total variance); in_means: the share that remains in "
            f"the point means the indices are computed on. Noise left in the means {effect}; "
            "more replications per point shrink it."
        )


def wide_indices(rows: pd.DataFrame) -> pd.DataFrame:
    """One outcome's indices as a table: a row per parameter, "value [low, high]" per index."""
    out = rows.assign(
        text=[
            f"{v:.3f}" if pd.isna(lo) else f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
            for v, lo, hi in zip(rows["value"], rows["ci_low"], rows["ci_high"], strict=True)
        ]
    )
    table = out.pivot(index="parameter", columns="index", values="text")
    order = rows[
        rows["index"] == rows["index"].iloc[-1 if rows["method"].iloc[0] == "sobol" else 0]
    ]
    ranked = order.sort_values("value", ascending=False)["parameter"]
    table = table.loc[list(ranked), list(dict.fromkeys(rows["index"]))].reset_index()
    table.columns.name = None
    return table
