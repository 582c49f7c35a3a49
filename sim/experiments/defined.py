"""Outcomes defined in an experiment file from a run's weeks (BehaviorSpace's reporters).

A `[define.NAME]` table names a measure (a column of the per-step table, docs/ODD.md
section 8) and what to take of it:

    [define.skill_at_52]      measure = "mean_skill", stat = "at", at = 52
    [define.trust_low]        measure = "within_team_trust", stat = "min"
    [define.silence_late]     measure = "silence_rate", stat = "mean", from = 53, to = 104
    [define.skill_area]       measure = "mean_skill", stat = "area"
    [define.weeks_to_trust]   measure = "within_team_trust", stat = "first", threshold = 0.6

`at` is the value at a week; `min`, `max` and `mean` are over the weeks `from` to `to`
(default: week 1 to the last); `area` is the area under the curve over those weeks
(trapezoids, in measure-weeks); `first` is the first week at which the measure reaches
`threshold` (or falls to it, with `below = true`), a censored outcome: a run that never
gets there has no value, and the comparison counts it as the horizon. Each defined
outcome is computed in the worker from every week of the run, is stored beside the
model's own summary, and can be compared, swept and analysed like them.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.model.measures import MEASURES, kept_steps
from sim.model.scenario import ScenarioError, did_you_mean

if TYPE_CHECKING:
    from sim.experiments.adapters import ModelKind, RunFn

__all__ = ["Defined", "DefinedRun", "parse_definitions", "with_definitions"]

STATS = ("at", "min", "max", "mean", "area", "first")


class Defined(BaseModel):
    """One `[define.NAME]` table."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    measure: str
    stat: Literal["at", "min", "max", "mean", "area", "first"]
    at: int | None = Field(None, ge=0)
    start: int | None = Field(None, alias="from", ge=0)
    end: int | None = Field(None, alias="to", ge=0)
    threshold: float | None = None
    below: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Defined:
        if self.measure not in MEASURES:
            raise ValueError(
                f"measure = {self.measure!r} is not a measure{did_you_mean(self.measure, MEASURES)}"
            )
        if (self.stat == "at") != (self.at is not None):
            raise ValueError('at = WEEK goes with stat = "at", and only with it')
        if self.stat == "at" and (self.start is not None or self.end is not None):
            raise ValueError('stat = "at" takes one week (at), not from/to')
        if (self.stat == "first") != (self.threshold is not None):
            raise ValueError('threshold goes with stat = "first", and only with it')
        if self.stat == "first" and self.end is not None:
            raise ValueError('stat = "first" looks to the last week: no `to`')
        if self.below and self.stat != "first":
            raise ValueError('below = true goes with stat = "first"')
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"from = {self.start} is after to = {self.end}")
        return self

    @property
    def censored(self) -> bool:
        """A "first week that" outcome: a run may never get there."""
        return self.stat == "first"

    def last_week(self) -> int | None:
        """The latest week this definition reads (None: the run's last)."""
        return self.at if self.stat == "at" else self.end

    def label(self) -> str:
        """In words, for sentences and tables: "mean_skill at week 52"."""
        window = f" over weeks {self.start or 1}-{self.end if self.end is not None else 'end'}"
        if self.stat == "at":
            return f"{self.measure} at week {self.at}"
        if self.stat == "first":
            way = "falls to" if self.below else "reaches"
            return f"the first week {self.measure} {way} {self.threshold:g}"
        if self.stat == "area":
            return f"area under {self.measure}{window}"
        return f"{self.stat} of {self.measure}{window}"

    def value(self, table: np.ndarray) -> float:
        """The outcome of one run from its every-week table ("step", then MEASURES)."""
        steps, values = table[:, 0], table[:, 1 + MEASURES.index(self.measure)]
        if self.stat == "at":
            hit = np.flatnonzero(steps == self.at)
            return float(values[hit[0]]) if len(hit) else float("nan")
        start = self.start if self.start is not None else (0 if self.stat == "first" else 1)
        end = self.end if self.end is not None else steps.max()
        window = (steps >= start) & (steps <= end)
        x, y = steps[window], values[window]
        if self.stat == "first":
            reached = y <= self.threshold if self.below else y >= self.threshold
            hit = np.flatnonzero(reached)
            return float(x[hit[0]]) if len(hit) else float("nan")
        if len(y) == 0 or np.isnan(y).all():
            return float("nan")
        if self.stat == "area":
            return float(np.trapezoid(y, x)) if not np.isnan(y).any() else float("nan")
        if self.stat == "min":
            return float(np.nanmin(y))
        return float(np.nanmax(y) if self.stat == "max" else np.nanmean(y))


def parse_definitions(raw: Any, source: str) -> dict[str, Defined]:
    """The `[define]` tables of an experiment file, validated; one line per problem.

    Raises:
        ScenarioError: a table that is not a definition, or a bad key or value.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ScenarioError([f"{source}: define must hold tables ([define.NAME])"])
    out, problems = {}, []
    for name, table in raw.items():
        if not isinstance(table, dict):
            problems.append(f"{source}: define.{name} must be a table ([define.{name}])")
            continue
        try:
            out[name] = Defined.model_validate(table)
        except ValidationError as err:
            for e in err.errors():
                key = ".".join(str(p) for p in e["loc"])
                where = f"define.{name}" + (f".{key}" if key else "")
                if e["type"] == "extra_forbidden":
                    known = ["measure", "stat", "at", "from", "to", "threshold", "below"]
                    problems.append(
                        f"{source}: {where} is not a definition key{did_you_mean(key, known)}"
                    )
                elif e["type"] == "literal_error":
                    problems.append(
                        f"{source}: {where} = {e.get('input')!r} is not allowed: one of "
                        f"{', '.join(STATS)}"
                    )
                else:
                    problems.append(f"{source}: {where}: {e['msg'].removeprefix('Value error, ')}")
    if problems:
        raise ScenarioError(problems)
    return out


@dataclasses.dataclass(frozen=True)
class DefinedRun:
    """A model's run function that also computes the defined outcomes (picklable)."""

    base: RunFn
    definitions: tuple[tuple[str, Defined], ...]

    def __call__(self, setup: Any, seed: int, keep_steps: int) -> tuple[Any, ...]:
        """One run: the base model's summary with the defined outcomes, the kept weeks.

        What the base returns after those two (its teams) is passed on as it is.
        """
        out = self.base(setup, seed, 1)  # every week, to compute from
        summary, rows, more = out[0], out[1], out[2:]
        table = np.asarray(rows, dtype=np.float64)
        summary = {**summary, **{name: d.value(table) for name, d in self.definitions}}
        return summary, table[kept_steps(table[:, 0], keep_steps)], *more


def with_definitions(model: ModelKind, definitions: dict[str, Defined]) -> ModelKind:
    """The model kind whose runs also report the defined outcomes."""
    if not definitions:
        return model
    return dataclasses.replace(
        model,
        run=DefinedRun(model.run, tuple(definitions.items())),
        summary_keys=(*model.summary_keys, *definitions),
    )
