"""The registry of scheduled event types: one entry per type, read by everyone who needs it.

An entry (`EventType`) declares everything about one type of `[[events]]` table: its
name, the Event fields it takes, what it does (`apply`, run on the run's state at the
start of its week), the weeks at which the fast path's compiled loop must hand back
to Python so that it can happen (`stretch_ends`), when it does nothing and the
sentence that says so (`idle`), its plain words, and its buttons in the workshop app
and the room. Scenario validation, `TrustState` (and so TrustModel), `sim.simulate`,
the CLI's warnings, the workshop's words and buttons, the room, the reference model
and docs/ODD.md's event table all read `REGISTRY`; no other list of event names
exists (tests/test_events.py reads the sources for one).

A new event type is one `register(EventType(...))` call here (with its mechanism, if
it needs more than a few lines, as a method of `sim.model.state.TrustState` named in
`Target`), its
tests, and a regenerated ODD table (docs/gen_tables.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.model.structure import level_sizes

__all__ = [
    "EVENT_TYPES",
    "REGISTRY",
    "Button",
    "Buttons",
    "Event",
    "EventType",
    "Front",
    "Offered",
    "Setting",
    "Target",
    "button_label",
    "does_nothing",
    "event_table",
    "event_type",
    "plain_words",
    "register",
    "unregister",
]

Front = Literal["app", "room"]
# The placeholders an entry's plain words may use, and a value of each for checking them.
WORD_FIELDS = {"role": "coach", "share": "50%"}


class Event(BaseModel):
    """A scheduled event: it happens at the start of step `at`, before anything else."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(description="what happens: a type of sim.model.events.REGISTRY")
    at: int = Field(ge=1, le=100_000, description="the step (week) at which it happens")
    role: Literal["coach", "manager", "top"] = Field(
        "coach", description="breach: who breaches towards everyone they serve or lead"
    )
    fraction: float = Field(
        0.5, ge=0.0, le=1.0, description="turnover_wave: the share of members who leave"
    )

    @field_validator("type")
    @classmethod
    def _registered(cls, value: str) -> str:
        """A type of the registry (sim.model.events); the error line lists them."""
        if value not in EVENT_TYPES:
            raise ValueError(f"not a registered event type: {', '.join(EVENT_TYPES)}")
        return value


class Setting(Protocol):
    """What an event's `idle` reads of a scenario (sim.model.scenario.Scenario has it)."""

    @property
    def coach(self) -> str: ...  # noqa: D102
    @property
    def sponsor(self) -> str: ...  # noqa: D102
    @property
    def members(self) -> int: ...  # noqa: D102
    @property
    def levels(self) -> int: ...  # noqa: D102
    @property
    def team_size(self) -> int | None: ...  # noqa: D102
    @property
    def span(self) -> int | None: ...  # noqa: D102


class Target(Protocol):
    """What an event's `apply` may do to a run (sim.model.state.TrustState does it).

    The registry names these operations and the state implements them, so that the
    registry does not import the state (which reads the registry to apply events).
    """

    org: Any
    params: Any
    sponsor_active: bool

    @property
    def rngs(self) -> Mapping[str, np.random.Generator]:
        """The run's random streams by name (events draw from "events")."""

    def breach_by_role(self, role: str) -> None:
        """The role breaches towards everyone it serves or leads."""

    def replace_members(self, leavers: NDArray[np.int64], rng: np.random.Generator) -> None:
        """Newcomers take the leavers' places."""

    def reorg(self) -> None:
        """Members (not coaches) are shuffled across teams."""


@dataclass(frozen=True)
class Button:
    """A button that schedules this event type with some of its fields set.

    Attributes:
        key: the button's id, unique across every type (the room's `data-kind`).
        fields: the Event fields it sets besides `type` (e.g. {"role": "coach"}).
        app: its label in the workshop app (sim.workshop.app); None: not offered there.
            A saved app session names its events by this label.
        room: its label in the room (sim.workshop.room); None: the room does not offer it.
    """

    key: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    app: str | None = None
    room: str | None = None


@dataclass(frozen=True)
class Offered:
    """A button as one front shows it: its id, its label, and the event it schedules."""

    key: str
    label: str
    type: str
    fields: Mapping[str, Any]

    def event(self, at: int) -> Event:
        """The event this button schedules at week `at`."""
        return Event(type=self.type, at=at, **self.fields)

    def matches(self, ev: Event) -> bool:
        """Whether `ev` is the event this button schedules (at any week)."""
        return ev.type == self.type and all(getattr(ev, k) == v for k, v in self.fields.items())


def _acts(ev: Event, sc: Setting) -> str:
    """The default `idle`: the event always does something."""
    return ""


@dataclass(frozen=True)
class EventType:
    """One type of scheduled event: everything any part of trustsim needs to know about it.

    Attributes:
        name: the `type` of an `[[events]]` table.
        meaning: what happens, in one line (docs/ODD.md's event table).
        apply: makes it happen on a run's state, at the start of its week, before the
            week's other phases (docs/ODD.md 7.19): apply(state, event).
        fields: the Event fields it reads besides `at` (their allowed values are the
            Event model's: sim.model.events.Event).
        words: its plain words for the workshop ("the {role} breaches trust"); may use
            {role} and {share} (the event's fraction as a percentage).
        idle: idle(event, scenario) is "" when the event does something in that
            scenario, else the sentence that says why not ("it has no coach"). The CLI
            warns with it, the app notes it, the room refuses the button with it.
        stretch_ends: the weeks, relative to `at`, after which the fast path's compiled
            loop (sim.model.fast.simulate) returns to Python. -1, the week before, is
            required: `apply` runs in Python at the start of week `at`; add 0 for an
            event whose consequences need Python again once its week has run.
        buttons: its buttons in the workshop app and the room (none: no button).
    """

    name: str
    meaning: str
    apply: Callable[[Target, Event], None]
    words: str
    fields: tuple[str, ...] = ()
    idle: Callable[[Event, Setting], str] = _acts
    stretch_ends: tuple[int, ...] = (-1,)
    buttons: tuple[Button, ...] = ()


# The registry, in the order the ODD, the buttons and error messages list the types.
REGISTRY: dict[str, EventType] = {}


class _Names(Sequence[str]):
    """The registered types' names, in order; a live view (a type registered later is in it)."""

    def __getitem__(self, index: Any) -> Any:
        return list(REGISTRY)[index]

    def __len__(self) -> int:
        return len(REGISTRY)

    def __iter__(self) -> Iterator[str]:
        return iter(list(REGISTRY))

    def __contains__(self, name: object) -> bool:
        return name in REGISTRY

    def __repr__(self) -> str:
        return repr(tuple(REGISTRY))


EVENT_TYPES: Sequence[str] = _Names()
_EVENT_FIELDS = ("role", "fraction")  # the Event fields besides type and at


def register(entry: EventType) -> EventType:
    """Add an event type to the registry, checking it is complete (fails at import time).

    Raises:
        ValueError: a name already registered, a field the Event model does not have,
            plain words with an unknown placeholder, a stretch that would skip `apply`,
            or a button id already used.
    """
    problems = []
    if entry.name in REGISTRY:
        problems.append("is registered already")
    if not entry.name.isidentifier() or not entry.meaning or not entry.words:
        problems.append("needs a name (a word), a meaning and plain words")
    unknown = [f for f in entry.fields if f not in _EVENT_FIELDS]
    if unknown:
        problems.append(f"fields {unknown}: an Event has only {list(_EVENT_FIELDS)}")
    try:
        entry.words.format(**WORD_FIELDS)
    except (KeyError, IndexError, ValueError):
        problems.append(f"words {entry.words!r}: only {{role}} and {{share}} can be filled in")
    if -1 not in entry.stretch_ends:
        problems.append("stretch_ends must hold -1 (the fast path applies events in Python)")
    taken = {x for e in REGISTRY.values() for b in e.buttons for x in (b.key, b.app, b.room)}
    for b in entry.buttons:
        for used in {b.key, b.app, b.room} & taken - {None}:
            problems.append(f"button {used!r} is another type's already")
        if any(f not in entry.fields for f in b.fields):
            problems.append(f"button {b.key!r} sets fields the type does not take")
        if b.app is None and b.room is None:
            problems.append(f"button {b.key!r} has no label: offered nowhere")
    if problems:
        raise ValueError(f"event type {entry.name!r}: " + "; ".join(problems))
    REGISTRY[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove an event type (for tests that register a throwaway one)."""
    del REGISTRY[name]


def event_type(name: str) -> EventType:
    """The registry's entry for an event type.

    Raises:
        KeyError: not a registered type (the message lists the registered ones).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(REGISTRY)
        raise KeyError(
            f"event type {name!r} is not registered (sim.model.events): {known}"
        ) from None


def does_nothing(ev: Event, scenario: Setting) -> str:
    """The sentence saying why the event does nothing in this scenario ("" if it acts)."""
    return event_type(ev.type).idle(ev, scenario)


def plain_words(ev: Event) -> str:
    """What the event does, in the workshop's plain words ("the coach breaches trust")."""
    return event_type(ev.type).words.format(role=ev.role, share=f"{ev.fraction:.0%}")


def _offered(front: Front) -> Iterator[Offered]:
    for entry in REGISTRY.values():
        for b in entry.buttons:
            label = b.app if front == "app" else b.room
            if label is not None:
                yield Offered(b.key, label, entry.name, b.fields)


class Buttons(Mapping[str, Offered]):
    """A front's event buttons, read from the registry each time (in registry order).

    Keyed by the button's id (`by="key"`, the room) or by its label (`by="label"`, the
    app, whose saved sessions name events by label).
    """

    def __init__(self, front: Front, by: Literal["key", "label"] = "key") -> None:
        self.front, self.by = front, by

    def _all(self) -> dict[str, Offered]:
        return {getattr(o, self.by): o for o in _offered(self.front)}

    def __getitem__(self, key: str) -> Offered:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def button_label(ev: Event, front: Front = "room") -> str:
    """The label of the front's button that schedules `ev`, else its type's name."""
    return next((o.label for o in _offered(front) if o.matches(ev)), ev.type)


def event_table() -> str:
    """docs/ODD.md's event table (Markdown), from the registry and the Event model."""
    rows = ["| `type` | fields | what happens (7.19) |", "|---|---|---|"]
    for entry in REGISTRY.values():
        cells = []
        for name in entry.fields:
            info = Event.model_fields[name]
            choices = getattr(info.annotation, "__args__", None)
            if choices:
                words = [f'"{c}"' + (" (default)" if c == info.default else "") for c in choices]
                cells.append(f"`{name}` = " + ", ".join(words[:-1]) + " or " + words[-1])
            else:
                lo, hi = (
                    next(getattr(m, b) for m in info.metadata if hasattr(m, b))
                    for b in ("ge", "le")
                )
                cells.append(f"`{name}` ({info.default:g}, from {lo:g} to {hi:g})")
        fields = f" {'; '.join(cells)} " if cells else " "
        rows.append(f"| `{entry.name}` |{fields}| {entry.meaning} |")
    return "\n".join(rows) + "\n"


# ------------------------------------------------------------------ the event types
def _breach(state: Target, ev: Event) -> None:
    state.breach_by_role(ev.role)


def _breach_idle(ev: Event, sc: Setting) -> str:
    return "it has no coach" if ev.role == "coach" and sc.coach == "none" else ""


def _sponsor_withdraws(state: Target, ev: Event) -> None:
    state.sponsor_active = False


def _sponsor_returns(state: Target, ev: Event) -> None:
    state.sponsor_active = state.params.sponsor != "none"


def _sponsor_idle(ev: Event, sc: Setting) -> str:
    return "it has no sponsor" if sc.sponsor == "none" else ""


def _turnover_wave(state: Target, ev: Event) -> None:
    org, rng = state.org, state.rngs["events"]
    n_leave = round(ev.fraction * org.n_members)
    state.replace_members(np.sort(rng.choice(org.n_members, n_leave, replace=False)), rng)


def _reorg(state: Target, ev: Event) -> None:
    state.reorg()


def _reorg_idle(ev: Event, sc: Setting) -> str:
    teams = level_sizes(sc.members, sc.levels, sc.team_size, sc.span)[-1]
    return "it has only one team" if teams < 2 else ""


register(
    EventType(
        "breach",
        "the role breaches towards everyone it serves or leads",
        _breach,
        "the {role} breaches trust",
        fields=("role",),
        idle=_breach_idle,
        buttons=(
            Button(
                "breach_coach",
                {"role": "coach"},
                app="The coach breaches trust",
                room="The coach breaches trust",
            ),
            Button("breach_manager", {"role": "manager"}, room="The managers breach trust"),
        ),
    )
)
register(
    EventType(
        "sponsor_withdraws",
        "sponsorship stops: no endorsements, no coach development",
        _sponsor_withdraws,
        "the sponsor withdraws",
        idle=_sponsor_idle,
        buttons=(
            Button(
                "sponsor_withdraws",
                app="The sponsor withdraws",
                room="The sponsor stops backing the coach",
            ),
        ),
    )
)
register(
    EventType(
        "sponsor_returns",
        "sponsorship resumes (if the scenario has a sponsor)",
        _sponsor_returns,
        "the sponsor returns",
        idle=_sponsor_idle,
        buttons=(Button("sponsor_returns", room="The sponsor backs the coach again"),),
    )
)
register(
    EventType(
        "turnover_wave",
        "that share of the members leaves at once",
        _turnover_wave,
        "{share} of the members are replaced",
        fields=("fraction",),
        buttons=(Button("turnover_wave", {"fraction": 0.5}, app="Half the team is replaced"),),
    )
)
register(
    EventType(
        "reorg",
        "members (not coaches) are shuffled across teams",
        _reorg,
        "the organization is reorganized",
        idle=_reorg_idle,
        buttons=(
            Button(
                "reorg",
                app="The organization is reorganized",
                room="Reorganization: members move between teams",
            ),
        ),
    )
)
