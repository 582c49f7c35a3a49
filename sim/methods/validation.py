"""Stylized facts of trust and learning: does the model show what field studies report?

Four patterns from the empirical literature, each checked on an experiment's result
tables (see experiments/stylized_facts.toml, whose `[validation]` section names the
scenarios that play each part). A fact the model fails is reported as failed: these
are findings about the model, not targets to tune it to.

1. Across teams, within-team trust goes with more help-seeking and more learning
   (Edmondson 1999; De Jong, Dirks and Gillespie 2016: meta-analytic r of about 0.3
   between intra-team trust and team performance).
2. After a breach, trust takes longer to recover than it took to fall (Slovic 1993).
3. An endorsement raises trust in the coach in proportion to trust in the sponsor
   (Stewart 2003).
4. The more hierarchy levels between the sponsor and the front line, the smaller the
   sponsor's effect on the front line's trust in the coach.

The sponsor's effect is measured by pairing runs with and without sponsorship
(`sponsorship_strength` at its value and at 0) that share a seed: the difference in
trust in the coach right after the first endorsement (week 1). Reads tables only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from sim.methods.statistics import bootstrap_ci

__all__ = [
    "FACTS",
    "Fact",
    "Validation",
    "check_facts",
    "findings",
    "sponsor_effects",
    "verdict_table",
]

SPONSOR = "sponsorship_strength"
MANAGEMENT = "management_trust_scale"


class Validation(BaseModel):
    """An experiment's `[validation]` section: which scenario plays which part."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    team: str = Field(description="a one-team scenario run many times (facts 1 and 3)")
    breach: str = Field(description="a scenario with a breach event (fact 2)")
    hierarchy: tuple[str, ...] = Field(
        min_length=2, description="the same regime with 1, 2, ... levels, in order (fact 4)"
    )


@dataclass
class Fact:
    """One stylized fact, what the model shows, and whether that is the pattern."""

    number: int
    claim: str
    source: str
    shown: bool | None  # None: could not be checked (no data)
    finding: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """In words: shown, not shown, or not checked."""
        return {True: "shown", False: "not shown", None: "not checked"}[self.shown]


FACTS = {
    1: (
        "Across teams, within-team trust goes with more help-seeking and more learning",
        "Edmondson 1999; De Jong, Dirks and Gillespie 2016 (meta-analytic r about 0.3)",
    ),
    2: ("After a breach, trust takes longer to recover than it took to fall", "Slovic 1993"),
    3: (
        "An endorsement raises trust in the coach in proportion to trust in the sponsor",
        "Stewart 2003",
    ),
    4: (
        "The more levels between sponsor and front line, the smaller the sponsor's effect on "
        "the front line's trust in the coach",
        "the practitioners' claim (docs/ODD.md, pattern P4)",
    ),
}


def _fact(number: int, shown: bool | None, finding: str, **data: Any) -> Fact:
    claim, source = FACTS[number]
    return Fact(number, claim, source, shown, finding, data)


def _correlation(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Pearson r, its 95% CI (Fisher z) and p-value; NaN where undefined."""
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if len(x) < 4 or x.std() == 0 or y.std() == 0:
        return math.nan, math.nan, math.nan, math.nan
    res = stats.pearsonr(x, y)
    ci = res.confidence_interval(0.95)
    return float(res.statistic), float(ci.low), float(ci.high), float(res.pvalue)


def trust_and_learning(team_runs: pd.DataFrame, horizon: int = 104) -> Fact:
    """Fact 1: correlations across teams (runs) of within-team trust with voice and skill.

    `horizon` is the runs' last week, at which mean_skill is measured.
    """
    trust = team_runs["within_team_trust_avg"].to_numpy(float)
    voice = 1.0 - team_runs["silence_rate_avg"].to_numpy(float)
    skill = team_runs["mean_skill"].to_numpy(float)
    r_voice = _correlation(trust, voice)
    r_skill = _correlation(trust, skill)
    if any(math.isnan(r[0]) for r in (r_voice, r_skill)):
        return _fact(1, None, "too few teams, or no variation in trust, to correlate")
    shown = bool(r_voice[1] > 0 and r_skill[1] > 0)
    strength = (
        "stronger than"
        if min(r_voice[0], r_skill[0]) > 0.4
        else "comparable to"
        if min(r_voice[0], r_skill[0]) >= 0.2
        else "weaker than"
    )
    unclear = [name for name, r in (("help-seeking", r_voice), ("skill", r_skill)) if not r[1] > 0]
    finding = (
        (
            f"Not shown: the 95% CI of the correlation with {' and '.join(unclear)} "
            "reaches 0 or below. "
            if unclear
            else ""
        )
        + f"Across {len(team_runs)} teams, within-team trust (run mean) correlates with "
        f"help-seeking (share of needs voiced) at r = {r_voice[0]:.2f} [{r_voice[1]:.2f}, "
        f"{r_voice[2]:.2f}] and with mean skill at week {horizon} at r = {r_skill[0]:.2f} "
        f"[{r_skill[1]:.2f}, {r_skill[2]:.2f}] (95% CIs): {strength} the field's 0.3. Teams "
        "here differ only in their draws (people, traits, events), so trust is one of few "
        "sources of difference; in the field, many other things vary too. The link to "
        "voice is partly built in (asking depends on trust, ODD 7.9); the link to skill "
        "runs through who asks whom."
    )
    return _fact(
        1,
        shown,
        finding,
        r_voice=r_voice[0],
        r_skill=r_skill[0],
        horizon=horizon,
        trust=trust,
        voice=voice,
        skill=skill,
    )


def breach_recovery(series: pd.DataFrame, at: int, outcome: str = "trust_in_coach") -> Fact:
    """Fact 2: weeks from the breach to the lowest trust, against weeks from there back.

    `series` holds the per-step rows (run_id, step, outcome) of one scenario and point
    whose breach happens at the start of week `at`.
    """
    falls, recoveries, recovered = [], [], []
    for _, run in series.groupby("run_id"):
        values = run.set_index("step")[outcome].sort_index()
        if at - 1 not in values.index or values.index.max() <= at:
            continue
        before = float(values.loc[at - 1])
        after = values.loc[at:]
        low_step = int(after.to_numpy().argmin()) + at  # weeks are consecutive from `at`
        falls.append(low_step - (at - 1))
        back = after.loc[low_step:]
        regained = back[back >= before]
        if len(regained):
            recoveries.append(int(regained.index[0]) - low_step)
            recovered.append(True)
        else:  # censored: not back by the end of the run
            recoveries.append(int(values.index.max()) - low_step + 1)
            recovered.append(False)
    if not falls:
        return _fact(2, None, f"no runs with weeks on both sides of the breach at week {at}")
    fall, rec, ok = np.array(falls), np.array(recoveries), np.array(recovered)
    # A run not back by its end, with no more weeks left than its fall took, cannot say
    # which took longer: it is left out of the comparison (and counted in the finding).
    known = ok | (rec > fall)
    longer = int(np.sum((rec > fall) & known))
    compared = int(known.sum())
    if compared == 0:
        return _fact(2, None, "no run lasted long enough after the breach to compare")
    p = float(stats.binomtest(longer, compared, 0.5, alternative="greater").pvalue)
    shown = bool(longer > compared / 2 and p < 0.05)
    finding = (
        f"Trust in the coach fell to its lowest in a median {np.median(fall):.0f} week(s) after "
        f"the breach at week {at}; getting back to the level before the breach took a median "
        f"{np.median(rec):.0f} weeks"
        + (
            f", and {np.sum(~ok)} of {len(ok)} runs had not got back by the end of the run "
            "(counted as the weeks left)"
            if (~ok).any()
            else ""
        )
        + f". Recovery took longer than the fall in {longer} of {compared} runs "
        f"(sign test p = {p:.2g})"
        + (
            f"; {len(fall) - compared} run(s) ended too soon after their low to tell."
            if compared < len(fall)
            else "."
        )
    )
    return _fact(2, shown, finding, fall=fall, recovery=rec, recovered=ok, at=at)


def sponsor_effects(
    runs: pd.DataFrame,
    steps: pd.DataFrame,
    scenario: str,
    strength: float | None = None,
    week: int = 1,
) -> pd.DataFrame:
    """Per seed: trust in the sponsor's side at week 0 and the endorsement's effect.

    Pairs each sponsored run of the scenario (sponsorship_strength = `strength`, or any
    value above 0 when None) with the run at sponsorship_strength = 0 that has the same
    replication and management_trust_scale. Columns: replication,
    management_trust_scale, trust_in_sponsor (trust_in_managers at week 0), effect
    (difference in trust_in_coach at `week`). Empty when there is nothing to pair.
    """
    columns = ["replication", MANAGEMENT, "trust_in_sponsor", "effect"]
    mine = runs[(runs["scenario"] == scenario) & (runs["status"] == "done")]
    cols = ["run_id", "replication", SPONSOR, MANAGEMENT]
    at = steps[steps["step"].isin([0, week])].merge(mine[cols], on="run_id")
    if at.empty or set(at["step"]) != {0, week}:
        return pd.DataFrame(columns=columns)
    wide_rows = at.pivot_table(
        index=["replication", SPONSOR, MANAGEMENT],
        columns="step",
        values=["trust_in_coach", "trust_in_managers"],
    )
    frame = pd.DataFrame(
        {
            "coach": wide_rows[("trust_in_coach", week)],
            "sponsor": wide_rows[("trust_in_managers", 0)],
        }
    ).reset_index()
    sponsored = frame[SPONSOR] > 0 if strength is None else np.isclose(frame[SPONSOR], strength)
    on = frame[sponsored]
    off = frame[frame[SPONSOR] == 0]
    paired = on.merge(off, on=["replication", MANAGEMENT], suffixes=("", "_off"))
    return pd.DataFrame(
        {
            "replication": paired["replication"],
            MANAGEMENT: paired[MANAGEMENT],
            "trust_in_sponsor": paired["sponsor"],
            "effect": paired["coach"] - paired["coach_off"],
        },
        columns=columns,
    )


def in_proportion(effects: pd.DataFrame) -> Fact:
    """Fact 3: the endorsement's effect against trust in the sponsor, across runs.

    Proportional: the effect grows with trust in the sponsor (slope above 0) and vanishes
    with it (the intercept's CI contains 0 or is small against the effect).
    """
    if effects[MANAGEMENT].nunique() < 2 or len(effects) < 4:
        return _fact(3, None, "needs runs at two or more levels of trust in management")
    x = effects["trust_in_sponsor"].to_numpy(float)
    y = effects["effect"].to_numpy(float)
    fit = stats.linregress(x, y)
    t = stats.t.ppf(0.975, len(x) - 2)
    slope_ci = (fit.slope - t * fit.stderr, fit.slope + t * fit.stderr)
    icpt_ci = (fit.intercept - t * fit.intercept_stderr, fit.intercept + t * fit.intercept_stderr)
    ratio = effects.assign(ratio=y / np.where(x > 0, x, np.nan))
    by_level = ratio.groupby(MANAGEMENT).agg(
        trust_in_sponsor=("trust_in_sponsor", "mean"),
        effect=("effect", "mean"),
        ratio=("ratio", "mean"),
    )
    small = abs(fit.intercept) < 0.1 * abs(fit.slope) * float(np.mean(x))
    through_zero = icpt_ci[0] <= 0 <= icpt_ci[1] or small
    shown = bool(slope_ci[0] > 0 and through_zero)
    levels = "; ".join(
        f"trust in sponsor {r.trust_in_sponsor:.2f}: effect {r.effect:.4f}"
        for r in by_level.itertuples()
    )
    finding = (
        f"Week-1 effect of the endorsement on trust in the coach = {fit.intercept:.4f} "
        f"[{icpt_ci[0]:.4f}, {icpt_ci[1]:.4f}] + {fit.slope:.4f} [{slope_ci[0]:.4f}, "
        f"{slope_ci[1]:.4f}] x trust in the sponsor (least squares over {len(x)} paired runs, "
        f"95% CIs; R^2 = {fit.rvalue**2:.2f}). By level: {levels}. "
        + (
            "The effect rises with trust in the sponsor and goes through zero with it: "
            "proportional, as the ODD's transfer formula (7.6) says it should be: this "
            "checks the implementation and its measurement more than it tests a prediction."
            if shown
            else "Not proportional: "
            + (
                "the effect does not clearly rise with trust in the sponsor."
                if slope_ci[0] <= 0
                else "the line does not go through zero."
            )
        )
    )
    return _fact(
        3,
        shown,
        finding,
        slope=fit.slope,
        intercept=fit.intercept,
        x=x,
        y=y,
        by_level=by_level.reset_index(),
    )


def levels_weaken(per_level: dict[int, np.ndarray]) -> Fact:
    """Fact 4: the sponsor's mean week-1 effect falls with every added level.

    `per_level` maps the number of levels to the paired effects at that many levels.
    """
    rows = []
    for levels, values in sorted(per_level.items()):
        m = float(np.mean(values)) if len(values) else math.nan
        low, high = bootstrap_ci(np.asarray(values, float))
        rows.append(
            {"levels": levels, "effect": m, "ci_low": low, "ci_high": high, "n": len(values)}
        )
    table = pd.DataFrame(rows)
    if len(table) < 2 or table["effect"].isna().any():
        return _fact(4, None, "needs the sponsor's effect at two or more numbers of levels")
    falling = bool((np.diff(table["effect"].to_numpy()) < 0).all())
    rho = float(stats.spearmanr(table["levels"], table["effect"]).statistic)
    first, last = table.iloc[0], table.iloc[-1]
    clear = last["ci_high"] < first["ci_low"]
    shown = bool(falling and clear)
    text = "; ".join(
        f"{lv} level(s): {m:.4f} [{lo:.4f}, {hi:.4f}]"
        for lv, m, lo, hi in zip(
            table["levels"], table["effect"], table["ci_low"], table["ci_high"], strict=True
        )
    )
    finding = (
        f"The endorsement's week-1 effect on trust in the coach (95% CIs): {text}. "
        + (
            "It falls with every added level (by construction in part: the transfer fades "
            "by hierarchy_attenuation per level, and trust in the sponsor is a product "
            "along the reporting chain)."
            if falling
            else f"It does not fall with every added level (Spearman rho = {rho:.2f})."
        )
        + (
            ""
            if clear
            else f" The CIs at {int(first.levels)} and {int(last.levels)} levels overlap."
        )
    )
    return _fact(4, shown, finding, table=table)


def check_facts(
    config: Validation,
    results: pd.DataFrame,
    runs: pd.DataFrame,
    steps: pd.DataFrame,
    default: dict[str, float],
    breach_week: int | None,
) -> list[Fact]:
    """All four facts from an experiment's tables.

    Args:
        config: which scenario plays which part.
        results: the finished runs with their summaries.
        runs: every run with its parameters.
        steps: the per-step rows.
        default: the swept parameters' default values (the point facts 1, 2 and 4 use).
        breach_week: the week of the breach scenario's breach event.
    """
    at_default = runs.copy()
    for name, value in default.items():
        at_default = at_default[np.isclose(at_default[name].astype(float), value)]
    if at_default.empty:
        where = ", ".join(f"{k} = {v:g}" for k, v in default.items())
        return [
            _fact(n, None, f"no runs at the default point ({where}), where facts are checked")
            for n in FACTS
        ]
    default_ids = set(at_default["run_id"])
    team = results[(results["scenario"] == config.team) & results["run_id"].isin(default_ids)]
    horizon = int(runs["steps"].max()) if "steps" in runs else 104
    facts = [trust_and_learning(team, horizon)]
    if breach_week is None:
        facts.append(_fact(2, None, f"{config.breach} has no breach event"))
    else:
        ids = set(at_default.loc[at_default["scenario"] == config.breach, "run_id"])
        facts.append(breach_recovery(steps[steps["run_id"].isin(ids)], breach_week))
    strength = default.get(SPONSOR)
    facts.append(in_proportion(sponsor_effects(runs, steps, config.team, strength)))
    per_level = {}
    done = runs[runs["status"] == "done"]
    for scenario in config.hierarchy:
        levels = done.loc[done["scenario"] == scenario, "levels"]
        if levels.empty:
            continue
        eff = sponsor_effects(runs, steps, scenario, strength)
        eff = eff[np.isclose(eff[MANAGEMENT], default.get(MANAGEMENT, 1.0))]
        per_level[int(levels.iloc[0])] = eff["effect"].to_numpy(float)
    facts.append(levels_weaken(per_level))
    return facts


def verdict_table(facts: Sequence[Fact]) -> pd.DataFrame:
    """A row per fact: the claim, its source, and what the model shows."""
    return pd.DataFrame(
        {
            "fact": [f"{f.number}. {f.claim}" for f in facts],
            "source": [f.source for f in facts],
            "model": [f.verdict for f in facts],
        }
    )


def findings(facts: Sequence[Fact]) -> list[str]:
    """Each fact's finding in words, with its verdict."""
    return [f"Fact {f.number} ({f.verdict}): {f.finding}" for f in facts]
