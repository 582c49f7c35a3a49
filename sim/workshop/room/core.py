"""What a room holds, which each of its parts reads: its run, seats, week, tallies and twin.

`RoomCore` builds a room's state (the run stage by stage, the seats, the week in
play, the tallies of who decided what, the weekly measures and network frames) and
the few things every part needs: a seat by its token, the measures of a week, a
seat's own numbers, the twin, and the signal that the room changed. The parts are
sim/workshop/room/stages.py (the week's stages and the participants' choices) and
sim/workshop/room/screens.py (what the phones and the facilitator's screen show);
sim/workshop/room/game.py puts them together as `Room`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from sim.model.events import Buttons, Event
from sim.model.fast import OpenWeek, Run, RunState, columns, simulate
from sim.model.scenario import Scenario
from sim.model.structure import COACH, MANAGER, MEMBER
from sim.workshop.room.errors import RoomError
from sim.workshop.room.seats import MAX_SEATS, NAMES, Seat, new_code

__all__ = [
    "EVENTS",
    "GROUPS",
    "TALLIES",
    "Phase",
    "RoomCore",
]

Phase = Literal["lobby", "asking", "answering", "results", "ended"]
TALLIES = (
    "needs",
    "choices",  # needs with somebody to ask: a decision to make
    "asks",
    "silences",
    "helped",  # asks accepted
    "succeeded",  # help that worked
    "requests",  # requests that reached this person
    "accepted",
)
GROUPS = ("room", "timer", "simulated")

# The facilitator's events, key -> the button (sim.model.events declares them, with
# when they do nothing); each happens at the start of the next week.
EVENTS = Buttons("room")


class RoomCore:
    """A room's state and what every part of it reads (the parts: see `Room`)."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        *,
        seats: int | None = None,
        ask_seconds: float = 30.0,
        answer_seconds: float = 20.0,
        results_seconds: float = 8.0,
        code: str | None = None,
        title: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scenario = scenario
        self.title = title or "Workshop room"
        self.seed = int(seed)
        self.weeks = scenario.steps
        self.code = code or new_code()
        self.ask_seconds = float(ask_seconds)
        self.answer_seconds = float(answer_seconds)
        self.results_seconds = float(results_seconds)
        self.clock = clock
        self.lock = threading.RLock()
        self.version = 0
        self.on_change: Callable[[], None] = lambda: None
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.state = RunState(scenario, self.seed)  # run stage by stage
        org = self.state.org
        self.names = [self._plain_name(i) for i in range(org.n_people)]
        self.seatable = self._seatable()
        limit = min(len(self.seatable), MAX_SEATS) if seats is None else int(seats)
        if not 1 <= limit <= min(len(self.seatable), MAX_SEATS):
            raise RoomError(
                f"seats = {seats}: from 1 to {min(len(self.seatable), MAX_SEATS)} (the "
                f"scenario's members who can be seated, at most {MAX_SEATS})"
            )
        self.max_seats = limit
        self.seats: list[Seat] = []
        self._by_token: dict[str, Seat] = {}
        self._by_person: dict[int, Seat] = {}
        self.table = np.full((self.weeks + 1, len(columns())), np.nan)
        self.team_arrays = (
            np.empty((self.weeks + 1, org.n_teams)),
            np.empty((self.weeks + 1, org.n_teams), dtype=np.int64),
            np.empty((self.weeks + 1, org.n_teams)),
        )
        self._measure(0)
        from sim.workshop.network import network_drawing

        self.drawing = network_drawing(self.state)  # nodes, and each week's values
        self.frames = [self.drawing["measure"](self.state)]
        # What happened to each person, whoever decided (the debrief's people.csv) ...
        self.tally = {name: np.zeros(org.n_people, dtype=np.int64) for name in TALLIES}
        # ... and the decisions by who made them: the seats' own ("room"), the timer's for
        # a seat ("timer"), and the simulated plain members' ("simulated"). A seat counts
        # from the week it joined; managers, coaches and outside coaches are in neither.
        self.groups = {g: dict.fromkeys(TALLIES, 0) for g in GROUPS}
        self.silent_log: dict[int, list[tuple[str, bool]]] = {}  # (group, silent) per choice
        self.choices_log: list[dict[str, Any]] = []  # every seat's choice, in order
        self.fired: list[Event] = []
        self.week = 0
        self.phase: Phase = "lobby"
        self.paused = False
        self.auto = False
        self.deadline: float | None = None
        self._remaining: float | None = None
        self._prompts: dict[int, list[int]] = {}  # seat person -> candidates this week
        self._defaults: dict[int, int] = {}  # seat person -> whom the model would ask
        self._asks: dict[int, int] = {}  # seat person -> asked (kernels.SILENT: silent)
        self._requests: dict[int, list[int]] = {}  # seat helper -> learners who asked
        self._answers: dict[int, set[int]] = {}  # seat helper -> learners accepted
        self._learner: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._topic: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        # The week being played (before the first: none, with nobody in need).
        self._opened = OpenWeek(0, np.empty((0, 0)), self._learner, self._topic)
        self.last_week: dict[int, dict[str, Any]] = {}  # seat person -> what happened
        self.history: dict[int, list[tuple[float, float, float]]] = {}
        self._twin: tuple[int, Run] | None = None

    # ------------------------------------------------------------------ people
    def _plain_name(self, i: int) -> str:
        org = self.state.org
        base = NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else f" {i // len(NAMES) + 1}")
        if org.external[i]:
            return f"{base} (outside coach)"
        if org.role[i] == COACH:
            return f"{base} (coach)"
        if org.role[i] == MANAGER:
            return f"{base} (manager)"
        return base

    def _seatable(self) -> list[int]:
        """Members who can take a seat, team by team: plain front-line members."""
        org = self.state.org
        people = [i for i in range(org.n_members) if org.role[i] == MEMBER and not org.external[i]]
        return sorted(people, key=lambda i: (int(org.team[i]), i))

    def seat_of(self, token: str) -> Seat:
        """The seat a token belongs to (a constant-time comparison of secrets)."""
        given = str(token or "").encode()
        for known, seat in self._by_token.items():
            if secrets.compare_digest(known.encode(), given):
                return seat
        raise RoomError("this phone has no seat in the room: join again", 403)

    # ------------------------------------------------------------------ measures
    def _measure(self, t: int) -> None:
        self.table[t, 0] = t
        rows = tuple(a[t] for a in self.team_arrays)
        self.state.measure_into(self.table[t, 1:], rows)  # type: ignore[arg-type]

    def _own(self, person: int) -> tuple[float, float, float]:
        """A seat's mean skill, its trust in its teammates, and its teammates' trust in it."""
        st = self.state
        org, net = st.org, st.net
        mates = (org.team[net.dst] == org.team[person]) & (net.dst < org.n_members)
        out_e = (net.src == person) & mates
        in_e = (net.dst == person) & (org.team[net.src] == org.team[person])
        in_e &= net.src < org.n_members
        mean = lambda e: float(st.trust[e].mean()) if e.any() else float("nan")  # noqa: E731
        return (float(st.skill[person].mean()), mean(out_e), mean(in_e))

    def twin(self) -> Run:
        """The fully simulated run from the same seed, with the same fired events."""
        with self.lock:
            if self._twin is None or self._twin[0] != len(self.fired):
                self._twin = (len(self.fired), simulate(self.replay_scenario(), self.seed))
            return self._twin[1]

    def replay_scenario(self) -> Scenario:
        """The scenario with the facilitator's events scheduled: what the replay runs."""
        return self.scenario.with_(events=[*self.scenario.events, *self.fired])

    def played(self) -> int:
        """The last week whose results are in (0 before the first)."""
        return self.week if self.phase in ("results", "ended") else max(self.week - 1, 0)

    def _changed(self) -> None:
        self.version += 1
        self.on_change()
