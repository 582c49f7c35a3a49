"""The frozen Scenario: every parameter of the model, its presets, and validating a dict into it.

The Scenario is the only place where a parameter's name, default, range, unit and
meaning live (docs/ODD.md's parameter table is generated from it). A dict of
parameters is validated into a Scenario here, every problem as one line naming the
source, the key, the value and what is allowed (validate at the boundary; the model
trusts what it is given); reading scenario files (TOML, `preset`, `extends`) is
sim.model.scenario_files, and the memory a run needs is sim.model.memory. Over 600
lines because the Scenario's fields, their checks and the one-line words for a value
they refuse are one declaration: `Scenario.with_` validates through them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.model.events import EVENT_TYPES, Event
from sim.model.memory import format_bytes, memory_needed, physical_memory

__all__ = [
    "EVENT_TYPES",
    "PRESETS",
    "Event",
    "Scenario",
    "ScenarioError",
    "Survey",
    "bounds",
    "did_you_mean",
    "errors_to_lines",
    "format_value",
    "parameter_table",
    "parameters",
    "scenario_from_dict",
]

# The named regimes are presets of the three switches (docs/ODD.md, "Coaching regimes").
PRESETS: dict[str, dict[str, Any]] = {
    "no_coaching": {"coach": "none", "sponsor": "none", "peer_coaching": False},
    "top_down_internal": {"coach": "internal", "sponsor": "top", "peer_coaching": False},
    "top_down_external": {"coach": "external", "sponsor": "top", "peer_coaching": False},
    "manager_sponsored": {"coach": "internal", "sponsor": "manager", "peer_coaching": False},
    "peer_led": {"coach": "none", "sponsor": "none", "peer_coaching": True},
    "hybrid": {"coach": "internal", "sponsor": "top", "peer_coaching": True},
}

# Keys of a scenario file that are not parameters.
FILE_KEYS = ("preset", "extends", "name", "description", "events", "surveys")

MAX_NAME = 80  # characters of a scenario's or experiment's name (drawn in figures)
# A name becomes a folder's name (results/<experiment>, results/runs/<scenario>-seed1):
# no path separator, no control character, and not "." or "..".
SAFE_NAME = r"^[^/\\\x00-\x1f\x7f]+$"
NAME_ALLOWED = (
    f'a text of 1 to {MAX_NAME} characters, without / or \\ or control characters, not "." or ".."'
)


def safe_name(value: str) -> str:
    """A name that can be a folder's name inside results/ (pydantic's pattern aside)."""
    if value in (".", ".."):
        raise ValueError(f"name = {value!r} would leave its results folder: choose a word")
    return value


MAX_DESCRIPTION = 2_000  # characters of a description (the app shows it whole)


def _param(
    default: Any,
    meaning: str,
    unit: str = "-",
    *,
    ge: float | None = None,
    le: float | None = None,
    group: str,
) -> Any:
    """A scenario parameter: its default, range, unit and one-line meaning."""
    return Field(
        default,
        ge=ge,
        le=le,
        description=meaning,
        json_schema_extra={"unit": unit, "group": group},
    )


class ScenarioError(ValueError):
    """One or more problems in a scenario or experiment file, one line each."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


SURVEY_INSTRUMENTS = ("psychological_safety", "trust_in_coach", "trust_in_manager")


class Survey(BaseModel):
    """A questionnaire given at chosen weeks (sim.model.survey; docs/ODD.md, "Observation")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instrument: Literal["psychological_safety", "trust_in_coach", "trust_in_manager"] = Field(
        description="which questionnaire"
    )
    at: tuple[Annotated[int, Field(ge=0, le=100_000)], ...] = Field(
        min_length=1, description="the weeks it is given (0: before the first week)"
    )

    @field_validator("at", mode="before")
    @classmethod
    def _weeks(cls, value: Any) -> Any:
        """One week, or a list of weeks (TOML has no tuples)."""
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,)
        return tuple(value) if isinstance(value, list) else value


class Scenario(BaseModel):
    """Every parameter of the trust-and-learning model, with its default (docs/ODD.md).

    Frozen: a scenario is a value. Build variants with `Scenario.with_(...)`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)

    name: str = Field(
        "custom",
        min_length=1,
        max_length=MAX_NAME,
        pattern=SAFE_NAME,
        description="scenario name (the file's stem)",
    )
    description: str = Field(
        "", max_length=MAX_DESCRIPTION, description="what the scenario represents"
    )

    # Organization and horizon
    steps: int = _param(104, "horizon: number of steps run", "weeks", ge=1, le=10_000, group="org")
    members: int = _param(
        12, "front-line members (managers come on top)", "people", ge=2, le=100_000, group="org"
    )
    levels: int = _param(1, "levels of the management tree", "levels", ge=1, le=6, group="org")
    team_size: int | None = _param(
        None,
        "members per front-line team (unset: the span rule); with span, members follows",
        "people",
        ge=1,
        le=100_000,
        group="org",
    )
    span: int | None = _param(
        None,
        "direct reports of each manager above the front line (unset: the span rule)",
        "people",
        ge=2,
        le=1_000,
        group="org",
    )
    topics: int = _param(3, "skill topics", "topics", ge=1, le=20, group="org")

    # Initial state of people
    skill_mean: float = _param(
        0.3, "mean initial skill of members (Beta draw)", "0-1", ge=0.01, le=0.99, group="people"
    )
    skill_sd: float = _param(
        0.1, "sd of initial skill of members", "0-1", ge=0.0, le=0.45, group="people"
    )
    specialty_bonus: float = _param(
        0.3,
        "extra initial skill on a member's specialty topic",
        "0-1",
        ge=0.0,
        le=1.0,
        group="people",
    )
    manager_skill: float = _param(
        0.5, "managers' initial skill on every topic", "0-1", ge=0.0, le=1.0, group="people"
    )
    propensity_mean: float = _param(
        0.5,
        "mean propensity to trust (Mayer et al. 1995)",
        "0-1",
        ge=0.01,
        le=0.99,
        group="people",
    )
    propensity_sd: float = _param(
        0.15, "sd of propensity to trust", "0-1", ge=0.0, le=0.45, group="people"
    )
    benevolence_mean: float = _param(
        0.7,
        "mean probability of accepting a request for help (sd 0.1)",
        "probability",
        ge=0.02,
        le=0.98,
        group="people",
    )
    integrity_mean: float = _param(
        0.95,
        "mean probability of not breaching, per help given",
        "probability",
        ge=0.01,
        le=0.99,
        group="people",
    )

    # Initial trust
    initial_trust_scale: float = _param(
        1.0, "multiplies everyone's initial trust", "factor", ge=0.0, le=2.0, group="trust"
    )
    power_distance: float = _param(
        0.8,
        "initial trust factor per level of difference",
        "factor",
        ge=0.0,
        le=1.0,
        group="trust",
    )
    management_trust_scale: float = _param(
        1.0,
        "multiplies initial trust in managers (0.2: management is distrusted)",
        "factor",
        ge=0.0,
        le=2.0,
        group="trust",
    )
    external_trust_discount: float = _param(
        0.6,
        "initial trust in an external coach, as a share of propensity",
        "factor",
        ge=0.0,
        le=1.0,
        group="trust",
    )

    # Team-level structure (docs/ODD.md 7.2a): what the people of one team share. At
    # their defaults, teams differ only by the people in them, as before these existed.
    manager_openness_sd: float = _param(
        0.0,
        "how much front-line managers differ in openness to voice: sd of the log of a "
        "team's voice factor (Detert and Burris 2007)",
        "log sd",
        ge=0.0,
        le=2.0,
        group="team",
    )
    manager_integrity_sd: float = _param(
        0.03,
        "sd of managers' integrity, so of how trustworthy each team's manager is (members: 0.03)",
        "probability",
        ge=0.0,
        le=0.45,
        group="team",
    )
    team_norm_sd: float = _param(
        0.0,
        "sd across teams of a shift in members' initial and baseline trust in their "
        "teammates: each team's history or norm",
        "0-1",
        ge=0.0,
        le=0.45,
        group="team",
    )
    team_climate: float = _param(
        0.0,
        "share of the gap to the team's level of trust in teammates that each member's "
        "closes per step: a shared climate (Edmondson 1999)",
        "1/week",
        ge=0.0,
        le=1.0,
        group="team",
    )
    interdependence_sd: float = _param(
        0.0,
        "sd across teams of the need rate: how much teams' tasks make members need "
        "each other (Wageman 1995)",
        "probability",
        ge=0.0,
        le=0.45,
        group="team",
    )

    # Coaching regime
    coach: Literal["none", "internal", "external"] = _param(
        "none",
        "who coaches: nobody, a member of each team, or an outsider per team",
        "choice",
        group="regime",
    )
    coach_selection: Literal["most_trusted", "most_skilled", "random"] = _param(
        "most_trusted", "how an internal coach is chosen", "choice", group="regime"
    )
    coach_training: float = _param(
        0.1,
        "skill added to an internal coach on every topic",
        "0-1",
        ge=0.0,
        le=1.0,
        group="regime",
    )
    external_skill: float = _param(
        0.8,
        "external coach's skill on every topic; ceiling of coach development",
        "0-1",
        ge=0.0,
        le=1.0,
        group="regime",
    )
    coach_capacity: int = _param(
        4, "requests a coach serves per step", "requests/step", ge=1, le=1000, group="regime"
    )
    sponsor: Literal["none", "manager", "top"] = _param(
        "none",
        "who endorses the coach: nobody, the team's manager, or the top manager",
        "choice",
        group="regime",
    )
    sponsor_interval: int = _param(
        4, "steps between endorsements", "weeks", ge=1, le=10_000, group="regime"
    )
    sponsor_start: int = _param(
        0,
        "weeks before endorsements start (0: from week 1)",
        "weeks",
        ge=0,
        le=10_000,
        group="regime",
    )
    sponsorship_strength: float = _param(
        0.3,
        "share of distrust in the coach an endorsement closes (Stewart 2003)",
        "0-1",
        ge=0.0,
        le=1.0,
        group="regime",
    )
    hierarchy_attenuation: float = _param(
        0.7,
        "endorsement factor per further level it passes down",
        "factor",
        ge=0.0,
        le=1.0,
        group="regime",
    )
    coach_development: float = _param(
        0.02,
        "sponsored coach's weekly skill growth towards external_skill",
        "1/week",
        ge=0.0,
        le=1.0,
        group="regime",
    )
    peer_coaching: bool = _param(
        False, "members set time aside to teach each other", "switch", group="regime"
    )
    peer_capacity: int = _param(
        2,
        "requests a member serves per step under peer coaching",
        "requests/step",
        ge=1,
        le=1000,
        group="regime",
    )
    peer_recognition: float = _param(
        0.02,
        "trust teammates add to a member whose teaching succeeded",
        "0-1",
        ge=0.0,
        le=1.0,
        group="regime",
    )

    # One step
    need_rate: float = _param(
        0.5,
        "probability a member has a learning need in a step",
        "probability",
        ge=0.0,
        le=1.0,
        group="step",
    )
    manager_need_rate: float = _param(
        0.2,
        "probability a manager has a learning need in a step",
        "probability",
        ge=0.0,
        le=1.0,
        group="step",
    )
    trust_selectivity: float = _param(
        2.0,
        "exponent of trust in the choice of helper",
        "exponent",
        ge=0.0,
        le=10.0,
        group="step",
    )
    self_learning_rate: float = _param(
        0.02,
        "share of the skill gap closed by self-study",
        "1/week",
        ge=0.0,
        le=1.0,
        group="step",
    )
    refusal_loss: float = _param(
        0.05,
        "share of trust lost when a request is refused",
        "0-1",
        ge=0.0,
        le=1.0,
        group="step",
    )
    trust_sensitivity: float = _param(
        1.0,
        "exponent of mutual trust in the chance of successful help",
        "exponent",
        ge=0.0,
        le=10.0,
        group="step",
    )
    learning_rate: float = _param(
        0.2,
        "share of the skill gap to the helper closed by successful help",
        "0-1",
        ge=0.0,
        le=1.0,
        group="step",
    )
    teaching_gain: float = _param(
        0.01,
        "share of the helper's own gap closed by teaching",
        "0-1",
        ge=0.0,
        le=1.0,
        group="step",
    )
    trust_gain: float = _param(
        0.08,
        "share of distrust closed by a success (asymmetric rule)",
        "0-1",
        ge=0.0,
        le=1.0,
        group="step",
    )
    trust_loss: float = _param(
        0.16,
        "share of trust lost by a failure (asymmetric rule; Slovic 1993)",
        "0-1",
        ge=0.0,
        le=1.0,
        group="step",
    )
    breach_loss: float = _param(
        0.5,
        "share of trust lost by the victim of a breach",
        "0-1",
        ge=0.0,
        le=1.0,
        group="step",
    )
    gossip_weight: float = _param(
        0.2, "weight of what is heard from a contact", "0-1", ge=0.0, le=1.0, group="step"
    )
    gossip_rate: float = _param(
        0.1,
        "probability a person gossips in a step",
        "probability",
        ge=0.0,
        le=1.0,
        group="step",
    )
    trust_decay: float = _param(
        0.01,
        "share of the distance to baseline trust recovered per step",
        "1/week",
        ge=0.0,
        le=1.0,
        group="step",
    )
    skill_decay: float = _param(
        0.0, "share of skill forgotten per step", "1/week", ge=0.0, le=1.0, group="step"
    )
    turnover_rate: float = _param(
        0.0, "probability a member leaves in a step", "1/week", ge=0.0, le=1.0, group="step"
    )
    trust_rule: Literal["asymmetric", "beta"] = _param(
        "asymmetric", "how help outcomes move trust", "choice", group="step"
    )
    choice_rule: Literal["weighted", "best"] = _param(
        "weighted",
        "how a learner picks among candidates: at random by weight, or the heaviest",
        "choice",
        group="step",
    )
    voice_rule: Literal["dyadic", "general"] = _param(
        "dyadic",
        "what voice depends on: trust in the one asked, or mean trust in all contacts",
        "choice",
        group="step",
    )
    success_rule: Literal["geometric", "weakest"] = _param(
        "geometric",
        "how both trusts make help work: their geometric mean, or the lower one",
        "choice",
        group="step",
    )
    beta_forgetting: float = _param(
        0.98,
        "beta rule: evidence kept per step (Josang and Ismail 2002)",
        "factor",
        ge=0.0,
        le=1.0,
        group="step",
    )

    # Measurement
    bond_threshold: float = _param(
        0.5,
        "mutual trust at which a pair counts as bonded",
        "0-1",
        ge=0.0,
        le=1.0,
        group="measure",
    )
    competence_target: float = _param(
        0.6, "mean skill that counts as competent", "0-1", ge=0.0, le=1.0, group="measure"
    )

    # Surveys observe a run and never change it (their answers come from a stream of
    # their own); the measurement model is sim/model/survey.py's.
    survey_loading: float = _param(
        0.7,
        "surveys: every item's loading on the probit scale of a latent that spans it; "
        "the items' correlation with the model's latent (the realized loading) is lower "
        "where people differ little",
        "-",
        ge=0.05,
        le=0.99,
        group="survey",
    )
    survey_bias: float = _param(
        0.0,
        "surveys: shift of every answer on the latent's normal scale (positive: higher "
        "answers, as with social desirability)",
        "sd",
        ge=-2.0,
        le=2.0,
        group="survey",
    )

    events: tuple[Event, ...] = Field((), description="scheduled events")
    surveys: tuple[Survey, ...] = Field((), description="questionnaires given at chosen weeks")

    @model_validator(mode="before")
    @classmethod
    def _members_from_shape(cls, data: Any) -> Any:
        """With team_size and span and no members: members = team_size x span ** (levels - 1)."""
        if not isinstance(data, dict) or "members" in data:
            return data
        size, span, levels = data.get("team_size"), data.get("span"), data.get("levels", 1)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in (size, span, levels)):
            return {**data, "members": size * span ** (levels - 1)}
        return data

    @model_validator(mode="after")
    def _shape_fits(self) -> Scenario:
        """team_size and span fit members and levels (one sentence saying why not)."""
        if self.team_size is not None and self.span is not None:
            expected = self.team_size * self.span ** (self.levels - 1)
            if self.members != expected:
                raise ValueError(
                    f"members = {self.members} does not fit team_size = {self.team_size}, "
                    f"span = {self.span} and levels = {self.levels}, which make {expected}: "
                    "leave members out (it follows) or change one of them"
                )
        if self.team_size is not None or self.span is not None:
            from sim.model.structure import level_sizes

            level_sizes(self.members, self.levels, self.team_size, self.span)
        return self

    @model_validator(mode="after")
    def _fits_in_memory(self) -> Scenario:
        """The organization's contacts fit in this machine's memory.

        They grow with team size squared: 100,000 members in one team need a terabyte.
        """
        need = memory_needed(self.members, self.levels, self.team_size, self.span, self.coach)
        have = physical_memory()
        if need <= have:
            return self
        fits = [
            lv
            for lv in range(self.levels + 1, 7)
            if memory_needed(self.members, lv, None, None, self.coach) <= have
        ]
        change = (
            f"use more levels (levels = {fits[0]} needs about "
            f"{format_bytes(memory_needed(self.members, fits[0], None, None, self.coach))})"
            if fits and self.team_size is None and self.span is None
            else "use more levels, smaller teams (team_size) or fewer members"
        )
        raise ValueError(
            f"members = {self.members} with levels = {self.levels} needs about "
            f"{format_bytes(need)} "
            f"of memory (contacts grow with team size squared), more than this machine's "
            f"{format_bytes(have)}: {change}"
        )

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return safe_name(value)

    @model_validator(mode="after")
    def _surveys_have_someone_to_ask_about(self) -> Scenario:
        """A trust-in-the-coach survey needs a coach."""
        if self.coach == "none" and any(s.instrument == "trust_in_coach" for s in self.surveys):
            raise ValueError(
                'surveys: a trust_in_coach survey with coach = "none": nobody could answer '
                "it; give the scenario a coach or drop that survey"
            )
        return self

    @model_validator(mode="after")
    def _beta_draws_possible(self) -> Scenario:
        """A Beta distribution needs variance below mean * (1 - mean)."""
        for mean_key, sd_key in (
            ("skill_mean", "skill_sd"),
            ("propensity_mean", "propensity_sd"),
            ("integrity_mean", "manager_integrity_sd"),
            ("need_rate", "interdependence_sd"),
        ):
            mean, sd = getattr(self, mean_key), getattr(self, sd_key)
            if sd > 0 and sd * sd >= mean * (1 - mean):
                limit = (mean * (1 - mean)) ** 0.5
                raise ValueError(
                    f"{sd_key} = {sd} is too large for {mean_key} = {mean}: "
                    f"allowed below {limit:.3f}"
                )
        return self

    def with_(self, **changes: Any) -> Scenario:
        """A validated copy with some parameters changed.

        With team_size and span set (here or before), members follows them unless given
        here: a sweep of levels at a fixed team size grows the organization.
        """
        base = self.model_dump()
        shaped = all(changes.get(k, getattr(self, k)) is not None for k in ("team_size", "span"))
        if shaped and "members" not in changes:
            base.pop("members")
        return scenario_from_dict({**base, **changes}, source="<keywords>")

    def parameters(self) -> dict[str, Any]:
        """The model parameters as a flat dict (no name, description or events)."""
        return {k: getattr(self, k) for k in parameters()}

    def digest(self) -> str:
        """A short stable hash of everything that decides a run (not name or description)."""
        # Unset shape parameters, and options at the value that keeps the model as it was
        # before they existed, are left out: digests from before they existed still hold.
        unset = {k for k in ("team_size", "span") if getattr(self, k) is None}
        unset |= {k for k, v in NEUTRAL.items() if getattr(self, k) == v}
        if not self.surveys:  # they only observe: without one, their settings decide nothing
            unset |= {"surveys", "survey_loading", "survey_bias"}
        data = self.model_dump(mode="json", exclude={"name", "description", *unset})
        blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# Parameters added after results were stored, at the value that keeps the model as it
# was: a scenario that leaves them so has the digest it had before they existed.
NEUTRAL: dict[str, Any] = {
    "manager_openness_sd": 0.0,
    "manager_integrity_sd": 0.03,
    "team_norm_sd": 0.0,
    "team_climate": 0.0,
    "interdependence_sd": 0.0,
    "choice_rule": "weighted",
    "voice_rule": "dyadic",
    "success_rule": "geometric",
}


def parameters() -> dict[str, Any]:
    """Every model parameter's field info, in declaration order."""
    return {k: f for k, f in Scenario.model_fields.items() if k not in FILE_KEYS}


def bounds(field: Any) -> tuple[float | None, float | None]:
    """A parameter's allowed range from its field: (ge, le), None where it is open."""
    lo = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), None)
    hi = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), None)
    return lo, hi


def _allowed(key: str) -> str:
    """What is allowed for a parameter, in words."""
    field = Scenario.model_fields[key]
    ann = field.annotation
    choices = getattr(ann, "__args__", None)
    if choices and all(isinstance(c, str) for c in choices):
        return "one of " + ", ".join(f'"{c}"' for c in choices)
    if ann is bool:
        return "true or false"
    lo, hi = bounds(field)
    kind = "an integer" if ann in (int, int | None) else "a number"
    if lo is not None and hi is not None:
        return f"{kind} from {lo} to {hi}"
    return kind


def did_you_mean(key: str, known: Iterable[str]) -> str:
    """' (did you mean "x"?)' for the closest known name, or an empty string."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def format_value(value: Any) -> str:
    """A value as the file spells it; a long one is cut (an error stays one short line)."""
    if isinstance(value, dt.date | dt.time):  # a TOML date or time, as TOML writes it
        return value.isoformat()
    if isinstance(value, tuple):  # TOML has arrays, not tuples
        value = list(value)
    text = json.dumps(value) if isinstance(value, str | bool) else repr(value)
    if len(text) <= 60:
        return text
    size = f"{len(value):,} characters" if isinstance(value, str) else f"{len(text):,} long"
    return f"{text[:40]}… ({size})"


# The [[events]] and [[surveys]] lists: each table's model, noun, required keys, the key
# that picks its kind with the kinds allowed, and what any other value must be.
# The kinds are a live view: an event type registered later is allowed too.
LIST_TABLES: dict[str, tuple[type[BaseModel], str, str, str, Iterable[str], str]] = {
    "events": (Event, "event", "type and at", "type", EVENT_TYPES, ""),
    "surveys": (
        Survey,
        "survey",
        "instrument and at",
        "instrument",
        SURVEY_INSTRUMENTS,
        "a week from 0 to 100000, or a list of them",
    ),
}


def _list_table_problem(loc: list[str], e: Any) -> str:
    """What is wrong with a key of one [[events]] or [[surveys]] table, after its name."""
    model, noun, needs, kind_key, kinds, other = LIST_TABLES[loc[0]]
    value = format_value(e.get("input"))
    if e["type"] == "extra_forbidden":
        return f" = {value} is not {'an' if noun[0] in 'aeiou' else 'a'} {noun} key; " + (
            f"allowed keys: {', '.join(model.model_fields)}"
        )
    if e["type"] == "missing":
        return f" is missing: every {noun} needs {needs}"
    if len(loc) > 2 and loc[2] == kind_key:
        names = ", ".join(f'"{k}"' for k in kinds)
        return f" = {value} is not allowed: one of {names}"
    return f" = {value} is not allowed: {other}" if other else f" = {value}: {e['msg'].lower()}"


def errors_to_lines(
    source: str, err: ValidationError, data: Mapping[str, Any], fields_only: bool = False
) -> list[str]:
    """Turn pydantic's errors into one line each: file, key, value, what is allowed.

    fields_only leaves out model-level problems (values that do not fit together).
    """
    lines = []
    seen: set[str] = set()
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        if not loc and fields_only:
            continue
        if not loc:  # model-level validator
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {msg}")
            continue
        if loc[0] in LIST_TABLES and len(loc) >= 2:
            where = f"{loc[0]}[{loc[1]}]" + (f".{loc[2]}" if len(loc) > 2 else "")
            if where in seen:
                continue  # one line per key (a bad week also fails the tuple around it)
            seen.add(where)
            lines.append(f"{source}: {where}{_list_table_problem(loc, e)}")
            continue
        key = loc[0]
        value = data.get(key, e.get("input"))
        if e["type"] == "extra_forbidden":
            known = [*parameters(), *FILE_KEYS]
            lines.append(
                f"{source}: unknown key {key!r} = {format_value(value)}{did_you_mean(key, known)}"
            )
        elif key == "name":
            lines.append(f"{source}: name = {format_value(value)} is not allowed: {NAME_ALLOWED}")
        elif key in Scenario.model_fields and key not in FILE_KEYS:
            lines.append(f"{source}: {key} = {format_value(value)} is not allowed: {_allowed(key)}")
        else:
            lines.append(f"{source}: {key} = {format_value(value)}: {e['msg'].lower()}")
    return lines


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a flat dict of parameters (plus name, description, events) into a Scenario.

    Raises:
        ScenarioError: with one line per problem.
    """
    data = dict(data)
    # Strict types: a string where a number belongs, or 4.0 where an integer belongs, is an
    # error rather than a silent conversion. An integer where a float belongs is fine.
    for key in ("events", "surveys"):
        if isinstance(data.get(key), list):
            data[key] = tuple(data[key])
    try:
        return Scenario.model_validate(data, strict=True)
    except ValidationError as err:
        raise ScenarioError(errors_to_lines(source, err, data)) from None


def preset(name: str, **overrides: Any) -> Scenario:
    """A named preset (docs/ODD.md's six regimes) with optional parameter overrides."""
    if name not in PRESETS:
        raise ScenarioError(
            [
                f"preset = {format_value(name)} is not a preset{did_you_mean(name, PRESETS)}"
                f"; allowed: {', '.join(PRESETS)}"
            ]
        )
    return scenario_from_dict({"name": name, **PRESETS[name], **overrides}, source=f"preset {name}")


def parameter_table() -> str:
    """The Markdown parameter table for docs/ODD.md, generated from the Scenario."""
    rows = [
        "| parameter | default | range | unit | meaning |",
        "|---|---|---|---|---|",
    ]
    for key, field in parameters().items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        allowed = _allowed(key)
        rng = allowed.removeprefix("a number from ").removeprefix("an integer from ")
        rng = rng.replace(" to ", " – ").replace("one of ", "")
        default = format_value(field.default)
        rows.append(
            f"| `{key}` | {default} | {rng} | {extra.get('unit', '-')} | {field.description} |"
        )
    return "\n".join(rows) + "\n"
