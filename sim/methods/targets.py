"""Field targets: observed statistics, and the same statistics computed from a sweep's runs.

A targets file (TOML) lists what real teams showed, each with its value, its
uncertainty (an SE, or a 95% CI), the population it was measured in and its source:

    [[targets]]
    name = "trust_learning_r"
    statistic = "team_correlation"      # what is computed, and from which tables
    x = "within_team_trust"
    y = "mean_skill"
    value = 0.30
    se = 0.05
    population = "field teams"
    source = "De Jong, Dirks & Gillespie (2016) ..."

Optional keys: `discrepancy` (how far the model may miss for want of what it leaves
out, added in quadrature to the SE where a calibration weighs the target: its
distance and its predictive check), `plausible = [low, high]` (the values field
studies report for such a statistic; a prediction interval as wide cannot fail),
and `stylized = true` (a stylized fact, not one study's measurement: its source then
gives the basis).

`model_values` computes each target's statistic from a results folder's tables the
way it was measured in the field, with its uncertainty over runs (resampling runs:
a run's teams and respondents are not independent draws), and `check` says, target
by target, whether the model reaches it. This is the comparison calibration uses.
`load_held_out` reads a second targets file, of patterns a calibration does not fit
and its predictive check tests (targets/held_out.toml). Over 600 lines because each
statistic is computed here as its study measured it, beside the target file's checks
that keep them honest.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.model.measures import LAST_TEAM_COLUMNS
from sim.model.measures import get as measure
from sim.model.measures import names as measure_names
from sim.model.scenario import ScenarioError, did_you_mean, format_value
from sim.model.scenario_files import read_toml
from sim.model.survey import INSTRUMENTS

__all__ = [
    "STATISTICS",
    "Target",
    "check",
    "load_held_out",
    "load_targets",
    "model_values",
    "plausible_range",
    "standardized_difference",
    "team_survey_correlation",
]

# Each statistic: what it is, and the keys it needs beside name, value and uncertainty.
STATISTICS = {
    "outcome_mean": ("the mean over runs of a run outcome", ("outcome",)),
    "team_correlation": (
        "across teams at the last week (keep_teams), the correlation of x and y",
        ("x", "y"),
    ),
    "survey_mean": ("a survey's scale mean (over respondents and runs) at a week", ("instrument",)),
    "survey_change": ("a survey's scale mean at `week` minus at `from_week`", ("instrument",)),
    "survey_alpha": ("a survey's Cronbach's alpha at a week", ("instrument",)),
    "survey_icc1": ("a survey's ICC(1) at a week", ("instrument",)),
    "survey_icc2": (
        "a survey's ICC(2), the reliability of its team means, at a week",
        ("instrument",),
    ),
    "survey_rwg": ("a survey's mean rwg(j) over teams at a week", ("instrument",)),
    "smd": (
        "the standardized mean difference of members' outcome, the target's runs against "
        "`control`'s, paired by replication",
        ("outcome", "control"),
    ),
    "team_survey_correlation": (
        "across teams, the correlation of a survey's team mean at a week with y (keep_teams)",
        ("instrument", "y", "week"),
    ),
}
# What a team row holds (the store's teams table, sim.model.measures.LAST_TEAM_COLUMNS).
TeamMeasure = Literal[LAST_TEAM_COLUMNS]  # type: ignore[valid-type]
# The range a statistic's value can take (a target outside it cannot be a measurement).
RANGES = {
    "team_correlation": (-1.0, 1.0),
    "survey_alpha": (-math.inf, 1.0),
    "survey_icc1": (-1.0, 1.0),
    "survey_icc2": (-math.inf, 1.0),
    "survey_rwg": (0.0, 1.0),
    "team_survey_correlation": (-1.0, 1.0),
}


class Target(BaseModel):
    """One observed statistic with its uncertainty, population and source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    statistic: Literal[
        "outcome_mean",
        "team_correlation",
        "survey_mean",
        "survey_change",
        "survey_alpha",
        "survey_icc1",
        "survey_icc2",
        "survey_rwg",
        "smd",
        "team_survey_correlation",
    ]
    value: float = Field(allow_inf_nan=False)
    se: float | None = Field(None, gt=0, allow_inf_nan=False)
    ci: tuple[float, float] | None = None
    population: str = Field(min_length=1)
    source: str = Field(min_length=1)
    scenario: str | None = None  # only this scenario's runs (default: every run)
    control: str | None = None  # smd: the scenario the target's runs are compared with
    outcome: str | None = None
    x: TeamMeasure | None = None
    y: TeamMeasure | None = None
    instrument: Literal["psychological_safety", "trust_in_coach", "trust_in_manager"] | None = None
    week: int | None = Field(None, ge=0)
    from_week: int | None = Field(None, ge=0)
    # How far the model may structurally miss (same unit as value): a calibration adds
    # it in quadrature to the SE (its distance, its predictive check).
    discrepancy: float | None = Field(None, ge=0, allow_inf_nan=False)
    # The values field studies report for such a statistic (default: all it can take).
    plausible: tuple[float, float] | None = None
    stylized: bool = Field(False, strict=True)  # a stylized fact: the source gives its basis

    @model_validator(mode="after")
    def _complete(self) -> Target:
        if (self.se is None) == (self.ci is None):
            raise ValueError("give its uncertainty as se = ... or ci = [low, high], one of them")
        if self.ci is not None and not self.ci[0] < self.value < self.ci[1]:
            raise ValueError(f"ci = {list(self.ci)} does not contain value = {self.value}")
        if self.plausible is not None and not (
            self.plausible[0] < self.plausible[1]
            and self.plausible[0] <= self.value <= self.plausible[1]
        ):
            raise ValueError(
                f"plausible = {list(self.plausible)} is not a range [low, high] holding "
                f"value = {self.value}"
            )
        missing = [k for k in STATISTICS[self.statistic][1] if getattr(self, k) is None]
        if self.statistic.startswith("survey") and self.week is None:
            missing.append("week")
        if self.statistic == "survey_change" and self.from_week is None:
            missing.append("from_week")
        if missing:
            raise ValueError(f"statistic = {self.statistic!r} needs {', '.join(missing)}")
        lo, hi = RANGES.get(self.statistic, (-math.inf, math.inf))
        if not lo <= self.value <= hi:
            raise ValueError(
                f"value = {self.value} is impossible for {self.statistic} (from {lo} to {hi})"
            )
        return self

    @property
    def uncertainty(self) -> float:
        """The target's standard error (from a 95% CI: its width over 2 x 1.96)."""
        if self.se is not None:
            return self.se
        assert self.ci is not None
        return (self.ci[1] - self.ci[0]) / (2 * 1.96)

    @property
    def tolerance(self) -> float:
        """The SE a calibration weighs the target by: sqrt(SE^2 + discrepancy^2)."""
        return math.hypot(self.uncertainty, self.discrepancy or 0.0)


def plausible_range(target: Target) -> tuple[float, float]:
    """The values the target's statistic plausibly takes (low, high).

    Its `plausible` key, or else every value it can take: a correlation -1 to 1, alpha,
    ICC(2) and rwg 0 to 1, a scale mean over the instrument's points, an outcome over
    its measure's range; (-inf, inf) when nothing bounds it.
    """
    if target.plausible is not None:
        return target.plausible
    if target.statistic in ("survey_mean", "survey_change"):
        points = INSTRUMENTS[str(target.instrument)].points
        if target.statistic == "survey_mean":
            return 1.0, float(points)
        return -(points - 1.0), points - 1.0
    if target.statistic in ("survey_alpha", "survey_icc2"):
        return 0.0, 1.0  # both can be negative, but no scale in use is
    if target.statistic == "outcome_mean":
        name = str(target.outcome).removesuffix("_avg")
        if name in measure_names():
            m = measure(name)
            return m.low, m.high
        return -math.inf, math.inf
    return RANGES.get(target.statistic, (-math.inf, math.inf))


def load_targets(path: str | Path, _within: tuple[Path, ...] = ()) -> list[Target]:
    """A targets file's targets; every problem one line (file, target, key, value, allowed).

    `include = ["field.toml", ...]` at the top of a file brings in the targets of other
    files (paths relative to it) before its own, so that a calibration can fit several
    bodies of evidence without copying a target.

    Raises:
        ScenarioError: the file cannot be read, or a target is incomplete or impossible.
    """
    path = Path(path)
    source = str(path)
    raw = read_toml(path, source)
    unknown = [k for k in raw if k not in ("targets", "include")]
    if unknown:
        raise ScenarioError(
            [
                f"{source}: unknown key {k!r}: a targets file holds [[targets]] tables "
                "(and include = [other targets files])"
                for k in unknown
            ]
        )
    include = raw.get("include", [])
    if not isinstance(include, list) or not all(isinstance(f, str) for f in include):
        raise ScenarioError(
            [f"{source}: include = {format_value(include)}: allowed a list of file names"]
        )
    out: list[Target] = []
    here = path.resolve()
    for name in include:
        other = (path.parent / name).resolve()
        if other in (*_within, here):
            raise ScenarioError([f"{source}: include = {name!r} includes itself (a cycle)"])
        out += load_targets(path.parent / name, (*_within, here))
    tables = raw.get("targets", [])
    if not isinstance(tables, list) or not (tables or out):
        raise ScenarioError([f"{source}: no [[targets]] tables: list at least one target"])
    problems = []
    for i, table in enumerate(tables):
        where = f"{source}: targets[{i}]" + (
            f" ({table['name']})" if isinstance(table, dict) and "name" in table else ""
        )
        for key in ("ci", "plausible"):
            if isinstance(table, dict) and isinstance(table.get(key), list):
                table = {**table, key: tuple(table[key])}
        try:
            out.append(Target.model_validate(table))
        except ValidationError as err:
            problems.extend(_lines(where, err))
    names = [t.name for t in out]
    problems += [
        f"{source}: two targets are named {n!r}" for n in sorted(set(names)) if names.count(n) > 1
    ]
    if problems:
        raise ScenarioError(problems)
    return out


# The keys that do not say what a target computes (what it was measured to be, how
# sure, where, from whom); a held-out target must differ from every fitted one in
# one of the others (statistic, scenario, outcome, week and whatever a kind adds).
_OBSERVED = {"name", "value", "se", "ci", "population", "source", "discrepancy", "plausible",
             "stylized"}  # fmt: skip


def load_held_out(path: str | Path, fitted: list[Target], fitted_source: str) -> list[Target]:
    """A second targets file, of patterns the calibration does not fit (its predictive check).

    Raises:
        ScenarioError: as load_targets, and for a target named as a fitted one, or
            computing the very statistic a fitted one computes (it would not be held out).
    """
    held = load_targets(path)
    defining = [k for k in Target.model_fields if k not in _OBSERVED]
    problems = []
    for t in held:
        for f in fitted:
            if t.name == f.name:
                problems.append(
                    f"{path}: target {t.name}: a fitted target of {fitted_source} has this "
                    "name: a held-out target needs a name of its own"
                )
            elif all(getattr(t, k) == getattr(f, k) for k in defining):
                problems.append(
                    f"{path}: target {t.name}: computes the statistic that {fitted_source}'s "
                    f"{f.name} fits, so it would not be held out: remove it from one file"
                )
    if problems:
        raise ScenarioError(problems)
    return held


def _lines(where: str, err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key {key!r}{did_you_mean(key, Target.model_fields)}")
        elif e["type"] == "missing":
            lines.append(f"{where}: {key} is missing" + (
                ": where the value comes from (a publication, your own survey)"
                if key == "source" else ""
            ))  # fmt: skip
        elif key == "statistic":
            allowed = ", ".join(f'"{s}"' for s in STATISTICS)
            lines.append(
                f"{where}: statistic = {format_value(e.get('input'))} is not allowed: one of "
                f"{allowed}{did_you_mean(str(e.get('input')), STATISTICS)}"
            )
        elif not key:
            lines.append(f"{where}: {msg}")
        else:
            lines.append(f"{where}: {key} = {format_value(e.get('input'))}: {msg.lower()}")
    return lines


RESAMPLES = 400


def _se(values: list[float]) -> float:
    """The SE of a mean over runs, from its values (NaN with fewer than two)."""
    v = np.asarray([x for x in values if not math.isnan(x)])
    return float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan


def model_values(
    target: Target, tables: dict[str, pd.DataFrame], with_se: bool = True
) -> tuple[float, float, int]:
    """The target's statistic computed from a sweep's tables: (value, its SE, runs used).

    tables: "summaries" (or "results") of done runs with a "scenario" column, and the
    "teams" and "survey" tables when the statistic needs them.

    Raises:
        ScenarioError: the tables lack what the statistic is computed from.
    """
    if target.statistic == "smd":
        return standardized_difference(target, tables)
    if target.statistic == "team_survey_correlation":
        return team_survey_correlation(target, tables, with_se)
    results = tables["results"]
    if target.scenario is not None:
        results = results[results["scenario"] == target.scenario]
        if results.empty:
            raise ScenarioError([f"target {target.name}: no run of scenario {target.scenario!r}"])
    runs = list(results["run_id"])
    rng = np.random.default_rng(0)
    if target.statistic == "outcome_mean":
        assert target.outcome is not None
        if target.outcome not in results.columns:
            raise ScenarioError([f"target {target.name}: outcome {target.outcome!r} is not stored"])
        values = results[target.outcome].astype(float).tolist()
        return float(np.nanmean(values)), _se(values), len(values)
    if target.statistic == "team_correlation":
        teams = tables.get("teams", pd.DataFrame())
        if teams.empty:
            raise ScenarioError(
                [f"target {target.name}: the sweep kept no teams (set keep_teams = true)"]
            )
        rows = teams[teams["run_id"].isin(runs)].dropna(subset=[target.x, target.y])
        by_run = [g[[target.x, target.y]].to_numpy(float) for _, g in rows.groupby("run_id")]
        if sum(len(b) for b in by_run) < 3:
            raise ScenarioError([f"target {target.name}: fewer than 3 teams to correlate"])

        def r(blocks: list[np.ndarray]) -> float:
            pooled = np.concatenate(blocks)
            if pooled.std(axis=0).min() == 0:
                return math.nan
            return float(np.corrcoef(pooled.T)[0, 1])

        if not with_se:
            return r(by_run), math.nan, len(by_run)
        draws = [r([by_run[i] for i in rng.integers(len(by_run), size=len(by_run))])
                 for _ in range(RESAMPLES)]  # fmt: skip
        return r(by_run), float(np.nanstd(draws, ddof=1)), len(by_run)
    survey = tables.get("survey", pd.DataFrame())
    if not survey.empty:
        survey = survey[survey["run_id"].isin(runs) & (survey["instrument"] == target.instrument)]
    weeks = [target.week] + ([target.from_week] if target.statistic == "survey_change" else [])
    if survey.empty or not set(weeks) <= set(survey["week"]):
        raise ScenarioError(
            [
                f"target {target.name}: no {target.instrument} survey at week "
                f"{', '.join(map(str, weeks))} in these runs (give it in the scenarios' "
                "[[surveys]])"
            ]
        )
    column = {
        "survey_mean": "scale_mean",
        "survey_change": "scale_mean",
        "survey_alpha": "alpha",
        "survey_icc1": "icc1",
        "survey_icc2": "icc2",
        "survey_rwg": "rwg_j",
    }[target.statistic]
    stats = _survey_statistics(tables)
    stats = stats[stats["run_id"].isin(runs) & (stats["instrument"] == target.instrument)]
    by_week = stats.pivot(index="run_id", columns="week", values=column)
    value = by_week[target.week]
    if target.statistic == "survey_change":
        value = value - by_week[target.from_week]
    per_run = value.astype(float).tolist()
    return float(np.nanmean(per_run)), _se(per_run), len(per_run)


def _survey_statistics(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each run's survey statistics (sim.model.survey.statistics), computed once per tables.

    Kept in tables["survey_stats"], as several targets read the same waves.
    """
    from sim.model.survey import statistics

    if "survey_stats" not in tables:
        tables["survey_stats"] = statistics(tables["survey"])
    return tables["survey_stats"]


# The sd of a normal distribution from its mean and Gini coefficient: for a normal,
# the mean absolute difference of two members is 2 sd / sqrt(pi) and G is that over 2 mean.
SQRT_PI = math.sqrt(math.pi)


def standardized_difference(
    target: Target, tables: dict[str, pd.DataFrame]
) -> tuple[float, float, int]:
    """The effect size delta of members' outcome, the target's runs against `control`'s.

    As a coaching study compares coachees with an uncoached group: replication by
    replication (the runs of one point and replication share their seed, so each
    replication is one study with a treated and a control arm),
    delta = (m_T - m_C) / sqrt((n_T v_T + n_C v_C) / (n_T + n_C)), m, v and n being the
    mean, variance and number of an arm's members. Variances are population variances
    (ddof 0): a run observes every member, so there is no small-sample correction as in
    Hedges' g. An arm of several scenarios (no `scenario` key: every scenario but
    `control`) pools their members. The value is the mean of delta over replications,
    its SE their sd over the square root of their number.

    Members' values come from tables["members"] when the runs kept them: its run_id
    and outcome columns, one row per member (rows with is_coach true left out: a coach
    is not a coachee). Without it, from the run summaries, for outcome mean_skill only:
    a run's mean is mean_skill and its members' sd that of a normal distribution with
    the run's Gini coefficient, skill_gini * mean_skill * sqrt(pi) (each run weighted
    alike: the runs of one experiment have as many members).

    Returns:
        (mean delta over replications, its SE, runs used).

    Raises:
        ScenarioError: an arm without runs, no replication with both arms, or an outcome
            the tables do not hold per member.
    """
    results = tables["results"]
    where = f"target {target.name}"
    arm = results["scenario"]
    control = arm == target.control
    treated = arm == target.scenario if target.scenario is not None else ~control
    if target.scenario == target.control:
        raise ScenarioError([f"{where}: scenario and control are both {target.control!r}"])
    if not control.any():
        raise ScenarioError([f"{where}: no run of control scenario {target.control!r}"])
    if not treated.any():
        raise ScenarioError(
            [f"{where}: no run of {target.scenario or 'a scenario other than the control'!r}"]
        )
    if "replication" not in results.columns:
        raise ScenarioError([f"{where}: the runs have no replication column to pair them by"])
    keys = [k for k in ("point", "replication") if k in results.columns]
    runs = results.loc[treated | control, ["run_id", *keys]].assign(
        treated=treated[treated | control]
    )
    runs = runs.join(_member_moments(target, results, tables), on="run_id", how="inner")
    deltas = []
    for _, pair in runs.groupby(keys):
        if pair["treated"].nunique() < 2:
            continue
        moments = {}
        for is_treated, rows in pair.groupby("treated"):
            n = rows["n"].to_numpy(float)
            mean = float(np.average(rows["mean"], weights=n))
            spread = rows["var"].to_numpy(float) + (rows["mean"].to_numpy(float) - mean) ** 2
            moments[bool(is_treated)] = (mean, float(np.average(spread, weights=n)), n.sum())
        (m_c, v_c, n_c), (m_t, v_t, n_t) = moments[False], moments[True]
        pooled = (n_t * v_t + n_c * v_c) / (n_t + n_c)
        deltas.append((m_t - m_c) / math.sqrt(pooled) if pooled > 0 else math.nan)
    if not deltas:
        raise ScenarioError([f"{where}: no replication has runs of both arms to compare"])
    used = len(runs)
    if all(math.isnan(d) for d in deltas):
        return math.nan, math.nan, used
    return float(np.nanmean(deltas)), _se(deltas), used


def _member_moments(
    target: Target, results: pd.DataFrame, tables: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """Each run's members: the mean and variance of the outcome, and how many (or 1)."""
    members = tables.get("members", pd.DataFrame())
    where = f"target {target.name}"
    outcome = str(target.outcome)  # smd needs an outcome (Target checks it)
    if not members.empty:
        if outcome not in members.columns:
            raise ScenarioError(
                [f"{where}: outcome {target.outcome!r} is not a column of the members table "
                 f"({', '.join(map(str, members.columns))})"]
            )  # fmt: skip
        rows = members[members["run_id"].isin(results["run_id"])]
        if "is_coach" in rows.columns:
            rows = rows[~rows["is_coach"].astype(bool)]
        values = rows.groupby("run_id")[outcome]
        return pd.DataFrame({"mean": values.mean(), "var": values.var(ddof=0), "n": values.count()})
    if target.outcome != "mean_skill":
        raise ScenarioError(
            [f"{where}: smd of {target.outcome!r} needs each member's value (a members table); "
             "from run summaries only mean_skill has a spread (skill_gini)"]
        )  # fmt: skip
    if "skill_gini" not in results.columns:
        raise ScenarioError([f"{where}: the run summaries hold no skill_gini to spread mean_skill"])
    mean = results["mean_skill"].to_numpy(float)
    sd = results["skill_gini"].to_numpy(float) * mean * SQRT_PI
    return pd.DataFrame({"mean": mean, "var": sd**2, "n": 1.0}, index=results["run_id"])


def team_survey_correlation(
    target: Target, tables: dict[str, pd.DataFrame], with_se: bool = True
) -> tuple[float, float, int]:
    """Across teams, Pearson's r of a survey's team mean at `week` with the team's `y`.

    A respondent's score is the mean of their scored items (reverse-keyed items
    reversed, sim.model.survey.scored), a team's the mean of its respondents' scores,
    as a field study aggregates a scale to its teams. The teams table holds each team
    at the last week, so `week` must be the runs' last survey wave. Teams of every run
    are pooled, as in team_correlation, with the SE from resampling whole runs; runs
    that did not give the survey (a trust_in_coach survey where there is no coach) add
    no teams.

    Returns:
        (r, its SE, runs used).

    Raises:
        ScenarioError: no teams kept, no such survey wave, a wave before the last one,
            or fewer than 3 teams.
    """
    from sim.model.survey import INSTRUMENTS, scored

    results = tables["results"]
    where = f"target {target.name}"
    if target.scenario is not None:
        results = results[results["scenario"] == target.scenario]
    teams = tables.get("teams", pd.DataFrame())
    if teams.empty:
        raise ScenarioError([f"{where}: the sweep kept no teams (set keep_teams = true)"])
    survey = tables.get("survey", pd.DataFrame())
    if not survey.empty:
        survey = survey[survey["run_id"].isin(results["run_id"])]
    wave = survey[survey["instrument"] == target.instrument] if not survey.empty else survey
    if wave.empty or target.week not in set(wave["week"]):
        raise ScenarioError(
            [f"{where}: no {target.instrument} survey at week {target.week} in these runs "
             "(give it in the scenarios' [[surveys]])"]
        )  # fmt: skip
    last = int(survey["week"].max())
    if target.week != last:
        raise ScenarioError(
            [f"{where}: week = {target.week}: the teams table holds the last week, and these "
             f"runs' last survey wave is week {last}"]
        )  # fmt: skip
    wave = wave[wave["week"] == target.week]
    answers = wave.pivot(index=["run_id", "team", "respondent"], columns="item", values="answer")
    score = scored(answers.to_numpy(np.int64), INSTRUMENTS[str(target.instrument)]).mean(axis=1)
    team_score = pd.Series(score, index=answers.index).groupby(level=["run_id", "team"]).mean()
    rows = teams[["run_id", "team", target.y]].astype({"team": np.int64})
    rows = rows.join(team_score.rename("score"), on=["run_id", "team"], how="inner")
    rows = rows.dropna(subset=["score", target.y])
    by_run = [g[["score", target.y]].to_numpy(float) for _, g in rows.groupby("run_id")]
    if len(rows) < 3:
        raise ScenarioError([f"{where}: fewer than 3 teams to correlate"])
    if not with_se:
        return _pooled_r(by_run), math.nan, len(by_run)
    rng = np.random.default_rng(0)
    draws = [_pooled_r([by_run[i] for i in rng.integers(len(by_run), size=len(by_run))])
             for _ in range(RESAMPLES)]  # fmt: skip
    return _pooled_r(by_run), float(np.nanstd(draws, ddof=1)), len(by_run)


def _pooled_r(blocks: list[np.ndarray]) -> float:
    """Pearson's r of the pooled rows of two-column blocks (NaN when a column is constant)."""
    pooled = np.concatenate(blocks)
    if pooled.std(axis=0).min() == 0:
        return math.nan
    return float(np.corrcoef(pooled.T)[0, 1])


CHECK_COLUMNS = ("target", "statistic", "observed", "observed_se", "model", "model_se", "runs",
                 "z", "verdict")  # fmt: skip


def check(targets: list[Target], tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every target against the model: z = (model - observed) / sqrt(se_obs^2 + se_model^2).

    Within 2 (|z| <= 2) the model reaches the target; beyond it the verdict says
    whether the model is higher or lower, plainly.
    """
    rows: list[dict[str, Any]] = []
    for t in targets:
        value, se, n = model_values(t, tables)
        z = (value - t.value) / math.sqrt(t.uncertainty**2 + (se if se == se else 0.0) ** 2)
        if math.isnan(z):
            verdict = "cannot tell (no value)"
        elif abs(z) <= 2:
            verdict = "reached (within 2 SE)"
        else:
            verdict = f"not reached: the model is {'higher' if z > 0 else 'lower'}"
        rows.append(
            {
                "target": t.name,
                "statistic": t.statistic,
                "observed": t.value,
                "observed_se": t.uncertainty,
                "model": value,
                "model_se": se,
                "runs": n,
                "z": z,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))
