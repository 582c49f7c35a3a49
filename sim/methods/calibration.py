"""Calibration's settings, and what a calibration's tables say: posterior, predictive check.

An experiment's `[calibration]` section names the parameters to estimate with their
priors (uniform over a range, or log-uniform), the ABC-SMC settings (particles per
generation, how many generations, when to stop), how many posterior draws the
predictive check runs, and optionally two scenarios to contrast at those draws.
`sim.experiments.abc` runs it (pyabc) and writes tidy tables; this module reads
only those tables: the weighted posterior's marginals and credible intervals, the
predictive check (each target against what the model predicts at posterior draws,
plainly), the contrast across the posterior in sentences, and a parameter recovery's
coverage. `sim.reporting.calibration` draws and writes the report from these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.methods.statistics import weighted_quantile
from sim.model.scenario import Scenario

__all__ = [
    "Calibration",
    "Prior",
    "contrast_sentences",
    "contrast_summary",
    "final_population",
    "posterior_summary",
    "predictive_check",
    "recovery_table",
]

CREDIBLE = 0.95  # the credible and predictive intervals' mass


class Prior(BaseModel):
    """A parameter's prior: uniform over [min, max], or log-uniform (scale = "log")."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    min: float = Field(allow_inf_nan=False)
    max: float = Field(allow_inf_nan=False)
    scale: Literal["linear", "log"] = "linear"

    @model_validator(mode="after")
    def _ordered(self) -> Prior:
        if not self.min < self.max:
            raise ValueError(f"min = {self.min} must be below max = {self.max}")
        if self.scale == "log" and self.min <= 0:
            raise ValueError(f'scale = "log" needs min above 0 (got {self.min})')
        return self

    def words(self) -> str:
        """The prior as a reader says it: "uniform on [0.02, 0.2]"."""
        kind = "log-uniform" if self.scale == "log" else "uniform"
        return f"{kind} on [{self.min:g}, {self.max:g}]"

    @property
    def sd(self) -> float:
        """The prior's standard deviation (of the parameter, not its log)."""
        if self.scale == "linear":
            return (self.max - self.min) / math.sqrt(12)
        a, b = math.log(self.min), math.log(self.max)
        mean = (self.max - self.min) / (b - a)
        second = (self.max**2 - self.min**2) / (2 * (b - a))
        return math.sqrt(max(second - mean**2, 0.0))


class Calibration(BaseModel):
    """An experiment's `[calibration]` section (docs/validation.md, "Grounding")."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    parameters: dict[str, Prior] = Field(min_length=1)
    population: int = Field(200, ge=10, le=100_000, description="particles per generation")
    generations: int = Field(8, ge=1, le=1000, description="generations at most")
    min_acceptance: float = Field(
        0.01, gt=0, le=1, description="stop when a generation accepts fewer of its candidates"
    )
    epsilon: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="stop once the distance threshold is this low"
    )
    predictive: int = Field(50, ge=2, le=100_000, description="posterior draws to check")
    contrast: tuple[Scenario, Scenario] | None = None


# What each key of a [calibration] section allows, in words (for its error lines).
ALLOWED = {
    "population": "an integer from 10 to 100000 (particles per generation)",
    "generations": "an integer from 1 to 1000",
    "min_acceptance": "a number above 0, at most 1 (a share of a generation's candidates)",
    "epsilon": "a number of 0 or more (the distance, in targets' SEs, to stop at)",
    "predictive": "an integer from 2 to 100000 (posterior draws)",
    "contrast": 'two scenario files or presets, e.g. ["top_down_internal", "peer_led"]',
    "parameters": (
        "a list of parameter names (uniform over each one's allowed range), or a table of "
        'name = { min = ..., max = ... } (scale = "log" for log-uniform)'
    ),
}


def final_population(particles: pd.DataFrame) -> pd.DataFrame:
    """The last generation's particles (the posterior)."""
    return particles[particles["generation"] == particles["generation"].max()]


def posterior_summary(particles: pd.DataFrame, priors: dict[str, Prior]) -> pd.DataFrame:
    """Each parameter's posterior: mean, sd, median and 95% credible interval, and shrinkage.

    Shrinkage is 1 - posterior sd / prior sd: 0 when the targets say nothing about the
    parameter, towards 1 when they pin it down.
    """
    last = final_population(particles)
    w = last["weight"].to_numpy(float)
    rows = []
    tail = (1 - CREDIBLE) / 2
    for name, prior in priors.items():
        v = last[name].to_numpy(float)
        mean = float(np.average(v, weights=w))
        sd = float(math.sqrt(np.average((v - mean) ** 2, weights=w)))
        low, median, high = weighted_quantile(v, w, [tail, 0.5, 1 - tail])
        rows.append(
            {
                "parameter": name,
                "prior": prior.words(),
                "mean": mean,
                "sd": sd,
                "median": float(median),
                "low95": float(low),
                "high95": float(high),
                "shrinkage": 1 - sd / prior.sd,
            }
        )
    return pd.DataFrame(rows)


def predictive_check(
    draws: pd.DataFrame, observed: pd.DataFrame, seed: int = 0, noise: int = 20
) -> pd.DataFrame:
    """Each target against the model's predictions at posterior draws.

    draws: one row per posterior draw and target (draw, target, value): the statistic
    computed from fresh runs at that draw. observed: target, value, se. A prediction
    is the draw's statistic plus the target's own measurement error (normal, its SE),
    so the 95% predictive interval says where a new measurement would fall if the
    model were right; the target is reached when the observed value lies inside it.
    """
    rng = np.random.default_rng(seed)
    tail = (1 - CREDIBLE) / 2
    rows = []
    for obs in observed.to_dict("records"):
        values = draws.loc[draws["target"] == obs["target"], "value"].to_numpy(float)
        values = values[~np.isnan(values)]
        if not len(values):
            rows.append(
                {
                    "target": obs["target"],
                    "observed": obs["value"],
                    "observed_se": obs["se"],
                    "predicted": math.nan,
                    "low95": math.nan,
                    "high95": math.nan,
                    "above": math.nan,
                    "draws": 0,
                    "verdict": "cannot tell (no value at any draw)",
                }
            )
            continue
        predicted = (values[:, None] + rng.normal(0.0, obs["se"], (len(values), noise))).ravel()
        low, high = np.quantile(predicted, [tail, 1 - tail])
        above = float(np.mean(values > obs["value"]))
        if low <= obs["value"] <= high:
            verdict = "reached (inside the 95% predictive interval)"
        else:
            side = "higher" if obs["value"] < low else "lower"
            share = above if side == "higher" else 1 - above
            verdict = (
                f"not reached: the model is {side} at {share:.0%} of posterior draws; no "
                "parameter values inside the priors bring it there"
            )
        rows.append(
            {
                "target": obs["target"],
                "observed": obs["value"],
                "observed_se": obs["se"],
                "predicted": float(np.median(values)),
                "low95": float(low),
                "high95": float(high),
                "above": above,
                "draws": len(values),
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def contrast_summary(contrast: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Scenario a against b across the posterior, per outcome.

    contrast: one row per posterior draw and outcome (draw, outcome, difference = the
    mean over paired runs of a - b, and the draw's parameter values). Gives the share
    of draws where a is higher, the median difference and its 95% interval over draws,
    and, for each parameter, the Spearman correlation of the difference with it (where
    in the posterior the answer changes).
    """
    from scipy.stats import spearmanr

    rows = []
    for outcome, group in contrast.groupby("outcome", sort=False):
        keep = ~np.isnan(group["difference"].to_numpy(float))
        d = group["difference"].to_numpy(float)[keep]
        if not len(d):
            continue
        row: dict[str, Any] = {
            "outcome": outcome,
            "draws": len(d),
            "a_higher": float(np.mean(d > 0)),
            "median": float(np.median(d)),
            "low95": float(np.quantile(d, 0.025)),
            "high95": float(np.quantile(d, 0.975)),
        }
        for name in names:
            x = group[name].to_numpy(float)[keep]
            same = np.ptp(x) == 0 or np.ptp(d) == 0
            row[f"rho_{name}"] = math.nan if same else float(spearmanr(x, d).statistic)
        rows.append(row)
    return pd.DataFrame(rows)


def recovery_table(summary: pd.DataFrame, truth: dict[str, float]) -> pd.DataFrame:
    """Parameter recovery: each true value against its posterior 95% credible interval."""
    rows = []
    for row in summary.to_dict("records"):
        true = truth[str(row["parameter"])]
        rows.append(
            {
                "parameter": row["parameter"],
                "true": true,
                "median": row["median"],
                "low95": row["low95"],
                "high95": row["high95"],
                "covered": bool(row["low95"] <= true <= row["high95"]),
            }
        )
    return pd.DataFrame(rows)


def contrast_sentences(table: pd.DataFrame, a: str, b: str, names: Sequence[str]) -> list[str]:
    """What the contrast across the posterior says, one sentence per outcome."""
    out = []
    for row in table.to_dict("records"):
        share = float(row["a_higher"])
        everywhere = "of posterior draws: wherever the targets allow"
        if share >= 0.975:
            lead = f"{a} is higher than {b} at {share:.0%} {everywhere}"
        elif share <= 0.025:
            lead = f"{a} is lower than {b} at {1 - share:.0%} {everywhere}"
        else:
            lead = (
                f"{a} is higher than {b} at {share:.0%} of posterior draws and lower at the "
                "rest: the answer depends on values the targets leave open"
            )
        rhos = {n: float(row[f"rho_{n}"]) for n in names}
        strong = {n: r for n, r in rhos.items() if not math.isnan(r) and abs(r) >= 0.3}
        where = ""
        if strong and 0.025 < share < 0.975:
            parts = [
                f"{'higher' if r > 0 else 'lower'} {n} (Spearman rho {r:+.2f})"
                for n, r in sorted(strong.items(), key=lambda kv: -abs(kv[1]))
            ]
            where = f"; {a}'s lead grows with " + ", ".join(parts)
        out.append(
            f"{row['outcome']}: {lead} (median difference {row['median']:+.3g}, 95% of draws "
            f"between {row['low95']:+.3g} and {row['high95']:+.3g}){where}."
        )
    return out
