"""An experiment's comparison: every scenario described and every pair compared, in one object.

`Comparison.of` runs the statistics of sim.methods.analysis and sim.methods.contrasts on
a results table and keeps what they found; `markdown` writes it as compare.md reads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.methods.analysis import (
    CENSORED_OUTCOMES,
    censored_sentence,
    compare,
    describe,
    logrank_sentences,
    not_applicable,
    not_applicable_sentence,
    outcome_label,
    point_labels,
    restricted,
    tally,
    to_markdown,
    wide,
)
from sim.methods.statistics import p_floor, replications_for_floor

__all__ = ["Comparison", "across_teams"]


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
