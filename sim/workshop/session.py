"""The workshop's session: what is saved to a small JSON file and loaded back tomorrow.

The session holds the chapter, the sides and their slider values, the seed, the
facilitator's events, the uploads and the room's guesses (`Session`); loading checks
it and says every problem in one sentence.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.model.scenario import Event, ScenarioError
from sim.workshop.play import CONTROL_BY_KEY, EVENTS, HORIZON
from sim.workshop.story import SANDBOX

__all__ = [
    "SavedEvent",
    "SavedSide",
    "Session",
    "fired_events",
]


class SavedSide(BaseModel):
    """A side in a saved session."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=200)
    values: dict[str, float] = Field(default_factory=dict)


class SavedEvent(BaseModel):
    """An event fired by the facilitator: its button and the week it happened at."""

    model_config = ConfigDict(extra="forbid")
    label: str
    at: int = Field(ge=1, le=HORIZON)


class Session(BaseModel):
    """Everything needed to bring a workshop back tomorrow (a small JSON file)."""

    model_config = ConfigDict(extra="forbid")
    trustsim_session: Literal[1] = 1
    chapter: int = Field(0, ge=0, le=SANDBOX)
    left: SavedSide = SavedSide(key="top_down_internal")
    right: SavedSide | None = None
    seed: int = Field(1, ge=0, le=2**63 - 1)
    events: list[SavedEvent] = Field(default_factory=list, max_length=20)
    uploads: dict[str, str] = Field(default_factory=dict, max_length=20)  # name -> TOML text
    guesses: dict[int, str] = Field(default_factory=dict)

    def dumps(self) -> str:
        """The session as JSON text."""
        return self.model_dump_json(indent=1)

    @classmethod
    def loads(cls, text: str | bytes, name: str = "session file") -> Session:
        """A saved session, checked; every problem is one sentence.

        Raises:
            ScenarioError: not a session file, or a value out of range.
        """
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise ScenarioError([f"{name}: not a saved workshop (not JSON)"]) from None
        try:
            session = cls.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the file"
            raise ScenarioError([f"{name}: {where}: {first['msg']}"]) from None
        for ev in session.events:
            if ev.label not in EVENTS:
                raise ScenarioError([f"{name}: events: {ev.label!r} is not an event button"])
        for side in (session.left, session.right):
            for key in side.values if side else ():
                if key not in CONTROL_BY_KEY:
                    raise ScenarioError([f"{name}: {key!r} is not a slider of the workshop"])
        return session


def fired_events(saved: Sequence[SavedEvent]) -> list[Event]:
    """The facilitator's events as the model's scheduled events."""
    return [EVENTS[ev.label].event(ev.at) for ev in saved]
