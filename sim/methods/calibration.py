"""Calibration's settings, and what a calibration's tables say: posterior, predictive check.

An experiment's `[calibration]` section names the parameters to estimate with their
priors (uniform over a range, or log-uniform), optionally the prior of the ratio
trust_loss / trust_gain (the model's premise that trust falls faster than it grows,
held for every candidate), the ABC-SMC settings (particles per generation, how many
generations, when to stop), how many posterior draws the predictive check runs, a
file of held-out targets it checks, and two scenarios to contrast at those draws.
`sim.experiments.abc` runs it (pyabc) and writes tidy tables; this module reads only
those tables: which targets no candidate reaches (failed patterns), the weighted
posterior's marginals and credible intervals, the share of it where fact 2 holds,
the loading the survey's items actually have, the predictive check (fitted and
held-out targets against what the model predicts at posterior draws, plainly, and
whether the check could fail at all), the contrast across the posterior in sentences,
a parameter recovery's coverage, and simulation-based calibration's coverage over
many recoveries. `sim.reporting.calibration` draws and writes the report from these.

Over 600 lines because the section's settings and each reading of its tables (a few
short functions each, numbered below) belong to one job, what a calibration found;
split by reading, each module would hold a hundred lines and import the others.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.methods.statistics import weighted_quantile
from sim.model.scenario import Scenario, bounds, parameters

__all__ = [
    "RATIO",
    "Calibration",
    "Prior",
    "asymmetry_sentence",
    "asymmetry_share",
    "contrast_sentences",
    "contrast_summary",
    "coverage",
    "coverage_sentences",
    "failed_sentences",
    "final_population",
    "measurement_sentences",
    "measurement_summary",
    "observation_only",
    "posterior_summary",
    "predictive_check",
    "reach",
    "recovery_table",
]

CREDIBLE = 0.95  # the credible and predictive intervals' mass
RATIO = "trust_loss_ratio"  # trust_loss / trust_gain, a calibrated quantity of its own
REACH = 2.0  # a candidate reaches a target within this many of its SEs
# A predictive interval covering this share of a target's plausible range could hardly
# miss a value from it: "reached" says little there.
HARDLY = 0.5


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
    # trust_loss = ratio x trust_gain for every candidate (fact 2 of docs/validation.md)
    trust_loss_ratio: Prior | None = None
    check: str | None = Field(None, min_length=1, description="held-out targets file")
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

    @field_validator("trust_loss_ratio")
    @classmethod
    def _ratio_fits(cls, ratio: Prior | None, info: ValidationInfo) -> Prior | None:
        estimated = info.data.get("parameters") or {}
        if ratio is None:
            return ratio
        if "trust_loss" in estimated:
            raise ValueError(
                "it sets trust_loss = ratio x trust_gain, and calibration.parameters "
                "estimates trust_loss too: keep one of them"
            )
        gain = estimated.get("trust_gain")
        _, top = bounds(parameters()["trust_loss"])
        if gain is not None and top is not None and ratio.max * gain.max > top:
            raise ValueError(
                f"with trust_gain up to {gain.max:g} it makes trust_loss up to "
                f"{ratio.max * gain.max:g}, above its maximum {top:g}: lower the ratio's max "
                f"to {top / gain.max:.3g} or trust_gain's"
            )
        return ratio

    def priors(self) -> dict[str, Prior]:
        """Every calibrated quantity's prior: the parameters, then the ratio if calibrated."""
        ratio = {RATIO: self.trust_loss_ratio} if self.trust_loss_ratio is not None else {}
        return {**self.parameters, **ratio}


# What each key of a [calibration] section allows, in words (for its error lines).
ALLOWED = {
    "population": "an integer from 10 to 100000 (particles per generation)",
    "generations": "an integer from 1 to 1000",
    "min_acceptance": "a number above 0, at most 1 (a share of a generation's candidates)",
    "epsilon": "a number of 0 or more (the distance, in targets' SEs, to stop at)",
    "predictive": "an integer from 2 to 100000 (posterior draws)",
    "contrast": 'two scenario files or presets, e.g. ["top_down_internal", "peer_led"]',
    "trust_loss_ratio": (
        "a prior { min = ..., max = ... } of trust_loss / trust_gain (min 1 or more holds "
        "the premise that trust falls faster than it grows)"
    ),
    "check": "a targets file of held-out patterns, relative to the experiment file",
    "parameters": (
        "a list of parameter names (uniform over each one's allowed range), or a table of "
        'name = { min = ..., max = ... } (scale = "log" for log-uniform)'
    ),
}


def final_population(particles: pd.DataFrame) -> pd.DataFrame:
    """The last generation's particles (the posterior)."""
    return particles[particles["generation"] == particles["generation"].max()]


def posterior_summary(particles: pd.DataFrame, priors: dict[str, Prior]) -> pd.DataFrame:
    """Each parameter's posterior: mean, sd, median, 50% and 95% credible intervals, shrinkage.

    The intervals are central (equal weight in each tail). Shrinkage is 1 - posterior sd
    / prior sd: 0 when the targets say nothing about the parameter, towards 1 when they
    pin it down.
    """
    last = final_population(particles)
    w = last["weight"].to_numpy(float)
    rows = []
    tail = (1 - CREDIBLE) / 2
    for name, prior in priors.items():
        v = last[name].to_numpy(float)
        mean = float(np.average(v, weights=w))
        sd = float(math.sqrt(np.average((v - mean) ** 2, weights=w)))
        low, low50, median, high50, high = weighted_quantile(
            v, w, [tail, 0.25, 0.5, 0.75, 1 - tail]
        )
        rows.append(
            {
                "parameter": name,
                "prior": prior.words(),
                "mean": mean,
                "sd": sd,
                "median": float(median),
                "low95": float(low),
                "high95": float(high),
                "low50": float(low50),
                "high50": float(high50),
                "shrinkage": 1 - sd / prior.sd,
            }
        )
    return pd.DataFrame(rows)


def _percent(share: float) -> str:
    """A share as a percentage that says 100% only when it is all, and 0% only when none."""
    if share == 1 or share == 0:
        return f"{share:.0%}"
    return f"{min(max(share * 100, 0.1), 99.9):.1f}%".replace(".0%", "%")


# 1. Which targets the model can reach at all -------------------------------------------


def reach(stats: pd.DataFrame, observed: pd.DataFrame) -> pd.DataFrame:
    """Which targets the candidates reach: within 2 of the target's own SE.

    stats: one row per candidate with a column stat_NAME per target (a candidate with
    no value there is left out of that target). observed: target, value, se (the
    target's own SE, without any discrepancy). Returns per target: target, observed,
    se, candidates (with a value), reached (how many within 2 SE) and closest (the
    candidates' value closest to the observed one; NaN when none has a value).
    """
    rows = []
    for obs in observed.to_dict("records"):
        column = f"stat_{obs['target']}"
        values = stats[column].to_numpy(float) if column in stats else np.array([])
        values = values[~np.isnan(values)]
        gap = np.abs(values - obs["value"])
        rows.append(
            {
                "target": obs["target"],
                "observed": obs["value"],
                "se": obs["se"],
                "candidates": len(values),
                "reached": int((gap <= REACH * obs["se"]).sum()),
                "closest": float(values[np.argmin(gap)]) if len(values) else math.nan,
            }
        )
    return pd.DataFrame(rows)


def failed_sentences(
    prior: pd.DataFrame, later: pd.DataFrame, treatment: dict[str, str]
) -> list[str]:
    """A sentence per failed pattern: a target no candidate of the prior sample reached.

    prior: `reach` of the prior sample; later: `reach` of every generation's particles;
    treatment: what the calibration did with each failed target, in words (kept out of
    the distance, or weighed with its discrepancy).
    """
    out = []
    after = {str(r["target"]): r for r in later.to_dict("records")}
    for row in prior.to_dict("records"):
        if row["reached"] > 0:
            continue
        name = str(row["target"])
        low, high = row["observed"] - REACH * row["se"], row["observed"] + REACH * row["se"]
        if row["candidates"] == 0:
            text = f"the model gives no value of {name} at any of the prior draws"
        else:
            text = (
                f"the model cannot reach {name} ({row['observed']:.3g}; within 2 SE, "
                f"{low:.3g} to {high:.3g}) at any of {row['candidates']} prior draws: closest "
                f"{row['closest']:.3g}"
            )
        seen = after.get(name)
        if seen is not None and seen["reached"] > 0:
            text += (
                f"; {int(seen['reached'])} of the later particles reach it "
                f"(closest {seen['closest']:.3g})"
            )
        elif seen is not None and seen["candidates"] > 0:
            text += f", nor does any later particle (closest {seen['closest']:.3g})"
        out.append(f"{text}; {treatment.get(name, 'kept out of the distance')}.")
    return out


# 2. Fact 2 inside the posterior ---------------------------------------------------------


def asymmetry_share(particles: pd.DataFrame) -> float:
    """The posterior's weight where trust falls at least as fast as it grows.

    Reads the column loss_gain_ratio (trust_loss / trust_gain at each particle, the
    smallest over the experiment's scenarios with the asymmetric rule; NaN where no
    scenario uses it). NaN when no particle has a value.
    """
    last = final_population(particles)
    ratio = last["loss_gain_ratio"].to_numpy(float)
    w = last["weight"].to_numpy(float)
    keep = ~np.isnan(ratio)
    if not keep.any():
        return math.nan
    return float(w[keep][ratio[keep] >= 1].sum() / w[keep].sum())


def asymmetry_sentence(share: float, ratio: Prior | None) -> tuple[str, bool]:
    """What the posterior says of fact 2, and whether it is a warning (below 100%).

    ratio: the prior of trust_loss_ratio when the calibration calibrates it.
    """
    fact = "fact 2 (trust falls faster than it grows: trust_loss at least trust_gain)"
    if math.isnan(share):
        return (
            f"{fact[0].upper()}{fact[1:]} does not apply: no scenario uses the asymmetric rule.",
            False,
        )
    if ratio is not None and ratio.min >= 1:
        how = (
            "by construction: every candidate has trust_loss = trust_loss_ratio x trust_gain, "
            f"the ratio {ratio.words()}"
        )
    elif ratio is not None:
        how = f"measured: the prior of trust_loss_ratio, {ratio.words()}, allows ratios below 1"
    else:
        how = (
            "measured: nothing in the calibration holds it; trust_loss_ratio = { min = 1, "
            "max = ... } in [calibration] would"
        )
    text = f"{fact[0].upper()}{fact[1:]} holds at {_percent(share)} of the posterior ({how})."
    if share < 1:
        text += (
            f" Warning: at {_percent(1 - share)} of the posterior trust grows faster than "
            "it falls, against the model's premise (Slovic 1993; docs/ODD.md 7.13)."
        )
    return text, share < 1


# 3. The loading the survey's items actually have ------------------------------------------


def measurement_summary(particles: pd.DataFrame, nominal: float | None = None) -> pd.DataFrame:
    """The survey's realized loading and alpha across the posterior, per instrument and week.

    Reads the columns realized_loading.INSTRUMENT.WEEK and alpha.INSTRUMENT.WEEK (each
    particle's mean over its runs). The nominal loading (survey_loading, a loading on
    the probit scale) comes from the particles when it is estimated, else `nominal`.
    Weighted medians and 95% intervals over the last generation.
    """
    last = final_population(particles)
    w = last["weight"].to_numpy(float)
    tail = (1 - CREDIBLE) / 2

    def spread(column: str) -> tuple[float, float, float]:
        v = last[column].to_numpy(float)
        keep = ~np.isnan(v)
        if not keep.any():
            return math.nan, math.nan, math.nan
        low, median, high = weighted_quantile(v[keep], w[keep], [tail, 0.5, 1 - tail])
        return float(median), float(low), float(high)

    if "survey_loading" in last:
        lam = spread("survey_loading")
    else:
        lam = (nominal, nominal, nominal) if nominal is not None else (math.nan,) * 3
    rows = []
    for column in last.columns:
        if not column.startswith("realized_loading."):
            continue
        _, instrument, week = column.split(".")
        loading, alpha = spread(column), spread(f"alpha.{instrument}.{week}")
        rows.append(
            {
                "instrument": instrument,
                "week": int(week),
                "survey_loading": lam[0],
                "survey_loading_low": lam[1],
                "survey_loading_high": lam[2],
                "realized_loading": loading[0],
                "realized_loading_low": loading[1],
                "realized_loading_high": loading[2],
                "alpha": alpha[0],
                "alpha_low": alpha[1],
                "alpha_high": alpha[2],
            }
        )
    return pd.DataFrame(rows)


def _band(row: dict[Any, Any], name: str) -> str:
    """A median with its 95% interval over the posterior (the value alone if fixed)."""
    if row[f"{name}_low"] == row[f"{name}_high"]:
        return f"{row[name]:.2f}"
    return (
        f"{row[name]:.2f} (95% of the posterior {row[f'{name}_low']:.2f} to "
        f"{row[f'{name}_high']:.2f})"
    )


def measurement_sentences(table: pd.DataFrame) -> list[str]:
    """What the survey's items measure across the posterior, one sentence per wave."""
    return [
        f"{r['instrument']} at week {r['week']}: the items' realized loading, their mean "
        f"correlation with the respondent's latent, is {_band(r, 'realized_loading')}, and "
        f"alpha {_band(r, 'alpha')}, where survey_loading, the loading on the probit scale "
        f"of a latent that spans it, is {_band(r, 'survey_loading')}."
        for r in table.to_dict("records")
    ]


# 4. The posterior predictive check --------------------------------------------------------


def predictive_check(
    draws: pd.DataFrame, observed: pd.DataFrame, seed: int = 0, noise: int = 20
) -> pd.DataFrame:
    """Each target against the model's predictions at posterior draws.

    draws: one row per posterior draw and target (draw, target, value): the statistic
    computed from fresh runs at that draw. observed: target, value, se (the SE the
    calibration weighs it by, discrepancy included), and optionally role ("fitted",
    "failed": a fitting target kept out of the distance, "held out") and
    plausible_low, plausible_high (targets.plausible_range). A prediction is the
    draw's statistic plus the target's error (normal, its se), so the 95% predictive
    interval says where a new measurement would fall if the model were right; the
    target is reached when the observed value lies inside it. `covers` is the share
    of the plausible range inside the interval: at HARDLY or more, "reached" could
    hardly have failed, and at 1 it could not, and the verdict says so.
    """
    rng = np.random.default_rng(seed)
    tail = (1 - CREDIBLE) / 2
    rows = []
    for obs in observed.to_dict("records"):
        lo_p = float(obs.get("plausible_low", -math.inf))
        hi_p = float(obs.get("plausible_high", math.inf))
        base = {
            "target": obs["target"],
            "role": obs.get("role", "fitted"),
            "observed": obs["value"],
            "observed_se": obs["se"],
            "plausible_low": lo_p,
            "plausible_high": hi_p,
        }
        values = draws.loc[draws["target"] == obs["target"], "value"].to_numpy(float)
        values = values[~np.isnan(values)]
        if not len(values):
            rows.append(
                {
                    **base,
                    "predicted": math.nan,
                    "low95": math.nan,
                    "high95": math.nan,
                    "covers": math.nan,
                    "above": math.nan,
                    "draws": 0,
                    "verdict": "cannot tell (no value at any draw)",
                }
            )
            continue
        predicted = (values[:, None] + rng.normal(0.0, obs["se"], (len(values), noise))).ravel()
        low, high = (float(q) for q in np.quantile(predicted, [tail, 1 - tail]))
        above = float(np.mean(values > obs["value"]))
        finite = math.isfinite(lo_p) and math.isfinite(hi_p)
        covers = max(0.0, min(high, hi_p) - max(low, lo_p)) / (hi_p - lo_p) if finite else math.nan
        if low <= obs["value"] <= high:
            verdict = "reached (inside the 95% predictive interval)"
            if covers >= 1:
                verdict = (
                    f"reached, but this check cannot fail: the 95% predictive interval "
                    f"[{low:.3g}, {high:.3g}] holds the whole plausible range "
                    f"[{lo_p:.3g}, {hi_p:.3g}]"
                )
            elif covers >= HARDLY:
                verdict = (
                    f"reached, but this check could hardly fail: the 95% predictive interval "
                    f"[{low:.3g}, {high:.3g}] covers {covers:.0%} of the plausible range "
                    f"[{lo_p:.3g}, {hi_p:.3g}]"
                )
        else:
            side = "higher" if obs["value"] < low else "lower"
            share = above if side == "higher" else 1 - above
            verdict = f"not reached: the model is {side} at {share:.0%} of posterior draws"
        rows.append(
            {
                **base,
                "predicted": float(np.median(values)),
                "low95": low,
                "high95": high,
                "covers": covers,
                "above": above,
                "draws": len(values),
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


# 5. A contrast of two scenarios across the posterior --------------------------------------


def observation_only(names: Sequence[str]) -> list[str]:
    """The parameters among `names` that change only what a survey records, never a run.

    Read from the Scenario's declaration (its "survey" group, sim/model/scenario.py):
    such a parameter cannot change a contrast of run outcomes, whatever it correlates
    with across a posterior.
    """
    fields = parameters()
    return [
        n
        for n in names
        if n in fields and (fields[n].json_schema_extra or {}).get("group") == "survey"
    ]


def _partial_spearman(d: np.ndarray, x: np.ndarray, others: np.ndarray) -> float:
    """Spearman's correlation of d and x with `others` (columns) held fixed.

    The correlation of the ranks' residuals after a linear fit on the others' ranks.
    """
    from scipy.stats import rankdata

    rd, rx = rankdata(d), rankdata(x)
    if others.shape[1] == 0:
        design = np.ones((len(d), 1))
    else:
        design = np.column_stack([np.ones(len(d)), *[rankdata(c) for c in others.T]])
    res_d = rd - design @ np.linalg.lstsq(design, rd, rcond=None)[0]
    res_x = rx - design @ np.linalg.lstsq(design, rx, rcond=None)[0]
    if np.std(res_d) == 0 or np.std(res_x) == 0:
        return math.nan
    return float(np.corrcoef(res_d, res_x)[0, 1])


def contrast_summary(contrast: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Scenario a against b across the posterior, per outcome.

    contrast: one row per posterior draw and outcome (draw, outcome, difference = the
    mean over paired runs of a - b, and the draw's parameter values). Gives the share
    of draws where a is higher, the median difference and its 95% interval over draws,
    for each parameter the Spearman correlation of the difference with it (rho_NAME),
    and for each parameter that changes the runs its partial Spearman correlation with
    the others that do held fixed (partial_NAME): where in the posterior the answer
    changes. Parameters that change only the observation get no partial correlation.
    """
    from scipy.stats import spearmanr

    dynamic = [n for n in names if n not in observation_only(names)]
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
        flat = np.ptp(d) == 0
        for name in names:
            x = group[name].to_numpy(float)[keep]
            same = np.ptp(x) == 0 or flat
            row[f"rho_{name}"] = math.nan if same else float(spearmanr(x, d).statistic)
        for name in dynamic:
            x = group[name].to_numpy(float)[keep]
            others = group[[n for n in dynamic if n != name]].to_numpy(float)[keep]
            same = np.ptp(x) == 0 or flat
            row[f"partial_{name}"] = math.nan if same else _partial_spearman(d, x, others)
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
    """What the contrast across the posterior says, one sentence per outcome.

    Where the answer changes across the posterior, the sentence names the parameters
    whose partial Spearman correlation with the difference is 0.3 or more in size;
    parameters that change only the observation are never named, and a last sentence
    says why.
    """
    out = []
    observing = observation_only(names)
    dynamic = [n for n in names if n not in observing]
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
        rhos = {n: float(row.get(f"partial_{n}", math.nan)) for n in dynamic}
        strong = {n: r for n, r in rhos.items() if not math.isnan(r) and abs(r) >= 0.3}
        where = ""
        if strong and 0.025 < share < 0.975:
            parts = [
                f"{'higher' if r > 0 else 'lower'} {n} (partial Spearman rho {r:+.2f})"
                for n, r in sorted(strong.items(), key=lambda kv: -abs(kv[1]))
            ]
            where = f"; {a}'s lead grows with " + ", ".join(parts)
        out.append(
            f"{row['outcome']}: {lead} (median difference {row['median']:+.3g}, 95% of draws "
            f"between {row['low95']:+.3g} and {row['high95']:+.3g}){where}."
        )
    if observing and len(table):
        one = len(observing) == 1
        out.append(
            f"{' and '.join(observing)} {'changes' if one else 'change'} only what a survey "
            f"records, never a run, so {'it' if one else 'they'} cannot change a contrast of "
            f"run outcomes: whatever {'it correlates' if one else 'they correlate'} with "
            f"across the posterior comes from the parameters the targets trade "
            f"{'it' if one else 'them'} against, and {'it is' if one else 'they are'} not "
            "named above."
        )
    return out


# 6. Simulation-based calibration: recoveries at truths drawn from the prior ---------------


def _count_range(p: np.ndarray) -> tuple[int, int]:
    """The central 95% of the number of successes of independent trials with chances p."""
    dist = np.array([1.0])
    for chance in p:  # the Poisson binomial, by convolution
        dist = np.convolve(dist, [1 - chance, chance])
    cum = np.cumsum(dist)
    return int(np.searchsorted(cum, 0.025)), int(np.searchsorted(cum, 0.975))


def coverage(recoveries: pd.DataFrame) -> pd.DataFrame:
    """How often the credible intervals hold the truth, per parameter.

    recoveries: one row per truth and parameter (true, low50, high50, low95, high95,
    and optionally ess, the effective sample size of the particles the intervals come
    from). Returns per parameter: truths, covered50, share50, covered95, share95, and
    the range of counts (central 95%) a calibrated posterior would give,
    low50_expected ... high95_expected. The range allows for the particles: an
    interval of mass c whose ends are estimated from n equally weighted draws of a
    posterior holds another draw of it with probability c n / (n + 1) (the expected
    mass between two order statistics), about 0.92 for 30 draws; n is each truth's
    ess where given (an approximation for weighted particles), else the interval is
    taken as exact.
    """
    rows = []
    for name, group in recoveries.groupby("parameter", sort=False):
        n = len(group)
        ess = group["ess"].to_numpy(float) if "ess" in group else np.full(n, np.inf)
        shrink = 1.0 / (1.0 + 1.0 / ess)  # n / (n + 1), and 1 where the interval is exact
        in50 = int(((group["low50"] <= group["true"]) & (group["true"] <= group["high50"])).sum())
        in95 = int(((group["low95"] <= group["true"]) & (group["true"] <= group["high95"])).sum())
        low50, high50 = _count_range(0.5 * shrink)
        low95, high95 = _count_range(CREDIBLE * shrink)
        rows.append(
            {
                "parameter": name,
                "truths": n,
                "covered50": in50,
                "share50": in50 / n,
                "low50_expected": low50,
                "high50_expected": high50,
                "covered95": in95,
                "share95": in95 / n,
                "low95_expected": low95,
                "high95_expected": high95,
            }
        )
    return pd.DataFrame(rows)


def _judge(k: int, low: int, high: int) -> str:
    """A coverage count against the counts a calibrated posterior, as many particles, gives."""
    if k < low:
        return "too few: the posterior is overconfident"
    if k > high:
        return "more than expected: the posterior is wider than it need be (conservative)"
    return "as a calibrated posterior would, given its particles"


def coverage_sentences(table: pd.DataFrame) -> list[str]:
    """Each parameter's coverage, and whether it is what a calibrated posterior gives."""
    out = []
    for r in table.to_dict("records"):
        at50 = _judge(r["covered50"], r["low50_expected"], r["high50_expected"])
        at95 = _judge(r["covered95"], r["low95_expected"], r["high95_expected"])
        out.append(
            f"{r['parameter']}: the 50% interval holds the truth in {r['covered50']} of "
            f"{r['truths']} recoveries ({at50}; {r['low50_expected']} to "
            f"{r['high50_expected']} expected), the 95% interval in {r['covered95']} ({at95}; "
            f"{r['low95_expected']} to {r['high95_expected']} expected)."
        )
    return out
