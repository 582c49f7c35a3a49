"""A room's record read back: the session file checked, and replayed on the fast path.

A room records its seed, scenario, the facilitator's events and every choice with its
week (`Room.session`); `replay` runs it again on the fast path (`sim.simulate` with the
choices) and gets the same run to the last bit, beside the fully simulated run from the
same seed and events (the twin): the difference is the room's choices alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.model import kernels
from sim.model.events import Event
from sim.model.fast import Run, RunState, simulate
from sim.model.scenario import Scenario
from sim.workshop.room.errors import RoomError

__all__ = [
    "SESSION_FORMAT",
    "Replayed",
    "load_session",
    "replay",
    "session_choices",
]

SESSION_FORMAT = "trustsim room session 1"


# --------------------------------------------------------------------- replaying
@dataclass
class Replayed:
    """A recorded room run again: the replay, the twin, and the room's own numbers."""

    session: dict[str, Any]
    scenario: Scenario  # with the fired events
    replay: Run
    twin: Run
    recorded: NDArray[np.float64]  # the room's table as recorded (weeks played)

    @property
    def weeks(self) -> int:
        """The weeks the room played (the recorded table's rows after week 0)."""
        return len(self.recorded) - 1

    @property
    def identical(self) -> bool:
        """The replay's weeks equal the room's recorded ones, every value (NaN = NaN)."""
        mine = self.replay.table[: len(self.recorded)]
        return bool(np.array_equal(mine, self.recorded, equal_nan=True))


def load_session(path: Path) -> dict[str, Any]:
    """A recorded session file, checked.

    Raises:
        RoomError: not a readable session file (the message names the file and key).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RoomError(f"{path}: not a readable room session ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != SESSION_FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise RoomError(f"{path}: format = {got!r}: a room session says {SESSION_FORMAT!r}")
    for key in ("seed", "scenario", "fired", "choices", "table"):
        if key not in data:
            raise RoomError(f"{path}: key {key!r} is missing (a room session has it)")
    return data


def session_choices(session: Mapping[str, Any], n_staff: int) -> dict[int, NDArray[np.int64]]:
    """The recorded choices as the kernels take them, week by week (timer's: the model's)."""
    out: dict[int, NDArray[np.int64]] = {}
    for c in session["choices"]:
        if c.get("by") != "participant":
            continue
        week, person = int(c["week"]), int(c["person"])
        arr = out.setdefault(week, kernels.no_choices(n_staff))
        if c["kind"] == "ask":
            arr[kernels.ASK, person] = kernels.SILENT if c["asked"] is None else int(c["asked"])
        elif c["kind"] == "answer":
            learner = int(c["learner"])
            arr[kernels.ANSWER, learner] = kernels.ACCEPT if c["accept"] else kernels.REFUSE
            arr[kernels.ANSWERED_BY, learner] = person
        else:
            raise RoomError(f"choice kind = {c['kind']!r}: 'ask' or 'answer'")
    return out


def replay(session: Mapping[str, Any], name: str = "session") -> Replayed:
    """Run a recorded room again on the fast path, and its fully simulated twin.

    Raises:
        RoomError: the session does not make a valid scenario, or a recorded choice is
            not one the week offered (a file edited by hand).
    """
    from pydantic import ValidationError

    try:
        base = Scenario.model_validate(session["scenario"])
        fired = [Event.model_validate(e) for e in session["fired"]]
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise RoomError(f"{name}: scenario key {where}: {err['msg']}") from None
    sc = base.with_(events=[*base.events, *fired])
    seed = int(session["seed"])
    rows = session["table"]["rows"]
    played = max(len(rows) - 1, 0)
    probe = RunState(sc, seed)
    choices = {w: c for w, c in session_choices(session, probe.n_staff).items() if w <= played}
    try:
        run = simulate(sc, seed, choices=choices)
    except ValueError as exc:
        raise RoomError(f"{name}: a recorded choice the week did not offer ({exc})") from None
    recorded = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)
    return Replayed(dict(session), sc, run, simulate(sc, seed), recorded)
