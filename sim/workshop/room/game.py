"""A workshop room: participants play members of a simulated team, week by week.

Each participant takes a seat, one front-line member of the room's scenario; everyone
else stays simulated. A seat's week follows the model's own rules (docs/ODD.md 7.7 to
7.13): the need, the candidates and the chance of success are the model's, and only
the two choices are the person's: whom to ask (or to stay silent), and whether to
accept the requests that reach them. The week runs the compiled kernels the fast path
runs (`sim.model.kernels.open_week`, `round_`, `close_week`), stopping between them for the
people: first the seated learners choose (the asking stage), then the seated helpers
answer the requests that reached them (the answering stage). When a stage's time runs
out, the model decides for whoever has not: the simulated choice is the default.

The room records its seed, scenario, the facilitator's events and every choice with its
week (`Room.session`), so that `replay` runs it again on the fast path (`sim.simulate`
with the choices) and gets the same run to the last bit, beside the fully simulated run
from the same seed and events (the "twin"): the difference is the room's choices alone.

This module is the room without the web: sim/workshop/room/server.py serves it to phones and to
the facilitator's screen; sim/workshop/room/debrief.py writes the debrief.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from sim.model import kernels
from sim.model.events import Buttons, Event, button_label, does_nothing
from sim.model.fast import COLUMNS, OpenWeek, Run, RunState, simulate
from sim.model.scenario import Scenario
from sim.model.structure import COACH, MANAGER, MEMBER

__all__ = [
    "EVENTS",
    "MAX_SEATS",
    "Room",
    "RoomError",
    "Seat",
    "load_session",
    "replay",
]

SESSION_FORMAT = "trustsim room session 1"
MAX_SEATS = 60  # a room is a workshop, not a survey panel
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 5
NAME_LENGTH = 16
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

# Simulated people are named, so that a phone can say whom it would ask.
NAMES = (
    "Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivo", "Jun",
    "Kofi", "Lena", "Mateo", "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tess",
    "Uma", "Viktor", "Wen", "Xavi", "Yara", "Zoe",
)  # fmt: skip
TOPICS = ("planning", "testing", "design", "customers", "tooling", "data", "writing", "budget")


class RoomError(ValueError):
    """An action the room refuses, with the reason a participant or facilitator reads.

    `status` is the HTTP status the server answers with: 400 an input that is not one
    of the choices offered, 403 not allowed (a wrong room code), 409 not now (a stage
    that has closed), 429 too many (seats full).
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Seat:
    """A participant's seat: one member of the organization, played by one phone."""

    number: int  # 1, 2, ... in joining order
    person: int  # the member's index in the organization
    name: str
    token: str = field(repr=False)  # the secret the phone sends with each action


def new_code() -> str:
    """A random room code: 5 characters from 32, about 33.5 million codes."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def topic_name(k: int) -> str:
    return TOPICS[k] if k < len(TOPICS) else f"topic {k + 1}"


def clean_name(name: str, fallback: str) -> str:
    """A display name: letters, digits, spaces and -'. only, at most NAME_LENGTH long."""
    kept = "".join(c for c in str(name) if c.isalnum() or c in " -'.")
    kept = " ".join(kept.split())[:NAME_LENGTH].strip()
    return kept or fallback


class Room:
    """One workshop room: its run, its seats, its stages and timers, and its record.

    Every method is safe to call from several threads (the web server's); each change
    increases `version` and calls `on_change` (the server wakes the screens waiting).

    Args:
        scenario: the scenario played; its `steps` are the room's weeks.
        seed: the run's seed (an int).
        seats: how many participants may join (default: every member who can be
            seated, at most MAX_SEATS).
        ask_seconds, answer_seconds: each stage's timer.
        results_seconds: with auto-advance, how long a week's results stay up.
        code: the room code (default: a new random one).
        clock: seconds, monotonic (tests pass their own).
    """

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
        self.table = np.full((self.weeks + 1, len(COLUMNS)), np.nan)
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

    # ------------------------------------------------------------------- joining
    def join(self, code: str, name: str = "") -> Seat:
        """Take the next free seat. The room code must match.

        Raises:
            RoomError: a wrong code (403), a full room (429), or a room that has ended.
        """
        with self.lock:
            if not secrets.compare_digest(str(code).strip().upper().encode(), self.code.encode()):
                raise RoomError("wrong room code", 403)
            if self.phase == "ended":
                raise RoomError("the session has ended", 409)
            if len(self.seats) >= self.max_seats:
                raise RoomError(f"the room is full ({self.max_seats} seats)", 429)
            org = self.state.org
            free = [p for p in self.seatable if p not in self._by_person]
            # A member whom turnover made a coach since the start is not seated.
            person = next((p for p in free if org.role[p] == MEMBER), free[0])
            number = len(self.seats) + 1
            shown = clean_name(name, f"Seat {number}")
            others = {n.split(" (")[0] for j, n in enumerate(self.names) if j != person}
            if shown in others:
                shown = f"{shown[: NAME_LENGTH - 4]} ({number})"  # two Bens: "Ben (4)"
            seat = Seat(number, person, shown, secrets.token_urlsafe(18))
            self.seats.append(seat)
            self._by_token[seat.token] = seat
            self._by_person[person] = seat
            self.names[person] = seat.name
            self.history[person] = [self._own(person)]
            if self.phase == "asking":
                self._prompt(person)
            elif self.phase == "answering":  # requests already made to this member
                dst = self.state.net.dst
                asked = [
                    int(self._learner[a])
                    for a, e in enumerate(self._preview(self._choices()).tolist())
                    if e >= 0 and int(dst[e]) == person
                ]
                if asked:
                    self._requests[person] = asked
            self._changed()
            return seat

    # --------------------------------------------------------------- the stages
    def start(self) -> None:
        """From the lobby to the first week."""
        with self.lock:
            if self.phase != "lobby":
                raise RoomError("the session has already started", 409)
            self._begin_week()

    def next(self) -> None:
        """The facilitator moves on: start, close the stage now (timer's defaults), next week."""
        with self.lock:
            if self.phase == "lobby":
                self._begin_week()
            elif self.phase == "asking":
                self._close_asking()
            elif self.phase == "answering":
                self._resolve()
            elif self.phase == "results":
                self._begin_week()
            else:
                raise RoomError("the session has ended", 409)

    def pause(self, paused: bool) -> None:
        """Stop (or restart) the clock: the stage's time left is kept."""
        with self.lock:
            if paused == self.paused:
                return
            now = self.clock()
            if paused:
                self._remaining = None if self.deadline is None else self.deadline - now
                self.deadline = None
            elif self._remaining is not None:
                self.deadline = now + self._remaining
                self._remaining = None
            self.paused = paused
            self._changed()

    def set_auto(self, auto: bool) -> None:
        """Auto-advance: after a week's results, the next week starts by itself."""
        with self.lock:
            self.auto = bool(auto)
            if self.phase == "results":  # the results stay up results_seconds, then go on
                if self.auto:
                    self._start_clock(self.results_seconds)  # kept for later when paused
                else:
                    self.deadline, self._remaining = None, None
            self._changed()

    def tick(self) -> None:
        """Close a stage whose time ran out; with auto-advance, start the next week."""
        with self.lock:
            if self.paused or self.deadline is None or self.clock() < self.deadline:
                return
            if self.phase == "asking":
                self._close_asking()
            elif self.phase == "answering":
                self._resolve()
            elif self.phase == "results" and self.auto:
                self._begin_week()

    def fire(self, kind: str) -> Event:
        """An event from the facilitator: it happens at the start of the next week."""
        with self.lock:
            if kind not in EVENTS:
                raise RoomError(f"event {kind!r}: one of {', '.join(EVENTS)}")
            if self.phase == "ended" or self.week >= self.weeks:
                raise RoomError("the session has no week left for an event", 409)
            button = EVENTS[kind]
            label, ev = button.label, button.event(self.week + 1)
            idle = does_nothing(ev, self.scenario)
            if idle:
                raise RoomError(f"{label} would do nothing here: {idle}", 409)
            if ev in self.fired:  # a second click on the same button
                raise RoomError(f"{label}: already set for week {ev.at}", 409)
            self.fired.append(ev)
            self.state.schedule(ev)
            self._twin = None
            self._changed()
            return ev

    def _begin_week(self) -> None:
        t = self.week + 1
        st = self.state
        st.start_week(t)  # the counters, and this week's events (the fired ones last)
        self._opened = st.open_week(t)
        self._learner, self._topic = self._opened.learners, self._opened.topics
        self.week = t
        self._asks, self._requests, self._answers = {}, {}, {}
        self._prompts, self._defaults = {}, {}
        defaults = self._preview(kernels.no_choices(st.n_staff))
        for a, i in enumerate(self._learner.tolist()):
            self._defaults[i] = int(st.net.dst[defaults[a]]) if defaults[a] >= 0 else kernels.SILENT
        for seat in self.seats:
            self._prompt(seat.person)
        self.phase = "asking"
        self._start_clock(self.ask_seconds)
        if not self._prompts:
            self._close_asking()
        else:
            self._changed()

    def _prompt(self, person: int) -> None:
        """A seated learner's candidates this week (nobody to ask: no choice to make)."""
        if person not in set(self._learner.tolist()):
            return
        a = int(np.flatnonzero(self._learner == person)[0])
        candidates = self._candidates(person, int(self._topic[a]))
        if candidates:
            self._prompts[person] = candidates

    def _candidates(self, i: int, k: int) -> list[int]:
        """Learner i's candidates for topic k now: the compiled choice's (ODD 7.8)."""
        return self.state.candidates(i, k)

    def _preview(self, choices: NDArray[np.int64]) -> NDArray[np.int64]:
        """The requests the learners would make with these choices (nothing changes)."""
        return self.state.requests(self._opened, choices)

    def _choices(self) -> NDArray[np.int64]:
        """The week's choices as the kernels take them: the seats' where they decided."""
        c = kernels.no_choices(self.state.n_staff)
        for person, asked in self._asks.items():
            c[kernels.ASK, person] = asked
        for helper, learners in self._requests.items():
            if helper in self._answers:
                for i in learners:
                    c[kernels.ANSWER, i] = (
                        kernels.ACCEPT if i in self._answers[helper] else kernels.REFUSE
                    )
                    c[kernels.ANSWERED_BY, i] = helper
        return c

    def _close_asking(self) -> None:
        for person in self._prompts:
            if person not in self._asks:
                self._log(person, "ask", by="timer")
        edge = self._preview(self._choices())
        dst = self.state.net.dst
        self._requests = {}
        for a, e in enumerate(edge.tolist()):
            if e >= 0 and int(dst[e]) in self._by_person:
                self._requests.setdefault(int(dst[e]), []).append(int(self._learner[a]))
        if self._requests:
            self.phase = "answering"
            self._start_clock(self.answer_seconds)
            self._changed()
        else:
            self._resolve()

    def _resolve(self) -> None:
        """Run the week with the seats' choices: phases 2 to 9, the newcomers, the measures."""
        for helper in self._requests:
            if helper not in self._answers:
                self._log(helper, "answer", by="timer")
        st, t = self.state, self.week
        choices = self._choices()
        learner, topic = self._learner, self._topic
        before = st.skill.copy()
        had_choice = [bool(self._candidates(i, k)) for i, k in zip(learner, topic, strict=True)]
        leavers, edge, accepted, success = st.finish_week(self._opened, choices)
        self._count(edge, accepted, success, before, had_choice)
        for seat in self.seats:
            self.last_week.setdefault(seat.person, {"need": False})
        if len(leavers):
            st.take_newcomers(leavers)
            for i in set(leavers.tolist()) & set(self._by_person):
                # The seat plays the newcomer who took the member's place (ODD 7.20).
                self.last_week[i]["replaced"] = True
                self.last_week[i]["now_coach"] = bool(st.org.role[i] == COACH)
        self._measure(t)
        self.frames.append(self.drawing["measure"](st))
        for seat in self.seats:
            self.history[seat.person].append(self._own(seat.person))
        self._prompts, self._requests = {}, {}
        if t >= self.weeks:
            self.phase = "ended"
            self.deadline = None
        else:
            self.phase = "results"
            self.deadline = None
            if self.auto:
                self._start_clock(self.results_seconds)
        self._changed()

    def _count(
        self,
        edge: NDArray[np.int64],
        accepted: NDArray[Any],
        success: NDArray[Any],
        before: NDArray[np.float64],
        had_choice: list[bool],
    ) -> None:
        """The week's tallies, per person and by who decided, and what happened to each seat."""
        st, tally, groups = self.state, self.tally, self.groups
        dst = st.net.dst
        self.last_week = {}
        for a, i in enumerate(self._learner.tolist()):
            k = int(self._topic[a])
            has_choice = had_choice[a]
            e = int(edge[a]) if len(edge) else -1
            timer = i in self._by_person and has_choice and i not in self._asks
            g = self._group(i, timer)
            facts = {"needs": 1, "choices": has_choice}
            if e >= 0:
                facts |= {"asks": 1, "helped": accepted[a], "succeeded": success[a]}
            elif has_choice:
                facts["silences"] = 1
            for key, v in facts.items():
                tally[key][i] += bool(v)
                if g is not None:
                    groups[g][key] += bool(v)
            if has_choice and g is not None:
                self.silent_log.setdefault(i, []).append((g, e < 0))
            if e >= 0:
                j = int(dst[e])
                h = self._group(j, j in self._by_person and j not in self._answers)
                for key, v in (("requests", 1), ("accepted", accepted[a])):
                    tally[key][j] += bool(v)
                    if h is not None:
                        groups[h][key] += bool(v)
            if i in self._by_person:
                self.last_week[i] = {
                    "need": True,
                    "topic": topic_name(k),
                    "asked": self.names[int(dst[e])] if e >= 0 else None,
                    "had_choice": has_choice,
                    "accepted": bool(accepted[a]) if e >= 0 else False,
                    "succeeded": bool(success[a]) if e >= 0 else False,
                    "skill_before": round(float(before[i, k]), 3),
                    "skill_after": round(float(st.skill[i, k]), 3),
                    "by_timer": timer,
                }

    def _group(self, person: int, timer: bool) -> str | None:
        """Who decided for this person this week: the seat, the timer, the model, or none."""
        org = self.state.org
        if person in self._by_person:
            return "timer" if timer else "room"
        if person < org.n_members and org.role[person] == MEMBER and not org.external[person]:
            return "simulated"
        return None  # managers, coaches, outside coaches: compared with nobody

    def _start_clock(self, seconds: float) -> None:
        if self.paused:
            self.deadline, self._remaining = None, seconds
        else:
            self.deadline, self._remaining = self.clock() + seconds, None

    # ------------------------------------------------------------ participants
    def ask(self, token: str, week: int, choice: object) -> None:
        """A seated learner asks one of their candidates, or stays silent ("silent").

        Raises:
            RoomError: no seat for the token (403); not this week or not the asking
                stage (409); nothing to choose, or a person not offered (400).
        """
        with self.lock:
            seat = self.seat_of(token)
            self._now(week, "asking")
            offered = self._prompts.get(seat.person)
            if not offered:
                raise RoomError("you have nothing to choose this week", 409)
            if seat.person in self._asks:
                raise RoomError("you have already chosen this week", 409)
            if choice == "silent":
                asked = kernels.SILENT
            elif isinstance(choice, int) and not isinstance(choice, bool) and choice in offered:
                asked = choice
            else:
                raise RoomError("that colleague is not one of the people you can ask this week")
            self._asks[seat.person] = asked
            model = self._defaults.get(seat.person, kernels.SILENT)
            self._log(
                seat.person,
                "ask",
                asked=None if asked == kernels.SILENT else asked,
                model=None if model == kernels.SILENT else model,
            )
            if all(p in self._asks for p in self._prompts):
                self._close_asking()
            else:
                self._changed()

    def answer(self, token: str, week: int, accept: Sequence[int]) -> None:
        """A seated helper accepts these requests (by learner) and refuses the others.

        Raises:
            RoomError: no seat (403); not now (409); a learner who did not ask you, or
                more acceptances than you can give this week (400).
        """
        with self.lock:
            seat = self.seat_of(token)
            self._now(week, "answering")
            asked_me = self._requests.get(seat.person)
            if not asked_me:
                raise RoomError("nobody has asked you for help this week", 409)
            if seat.person in self._answers:
                raise RoomError("you have already answered this week", 409)
            chosen = set()
            for i in accept:
                if isinstance(i, bool) or not isinstance(i, int) or i not in asked_me:
                    raise RoomError("you can only accept requests that were made to you")
                chosen.add(i)
            capacity = int(self.state.capacity[seat.person])
            if len(chosen) > capacity:
                raise RoomError(f"you can help {capacity} colleague(s) a week, not {len(chosen)}")
            self._answers[seat.person] = chosen
            for i in asked_me:
                self._log(seat.person, "answer", learner=i, accept=i in chosen)
            if all(h in self._answers for h in self._requests):
                self._resolve()
            else:
                self._changed()

    def _now(self, week: int, phase: str) -> None:
        if week != self.week or self.phase != phase:
            raise RoomError("that week's choices are closed", 409)

    def _log(self, person: int, kind: str, by: str = "participant", **what: Any) -> None:
        seat = self._by_person[person]
        self.choices_log.append(
            {"week": self.week, "seat": seat.number, "person": person, "kind": kind, "by": by}
            | what
        )

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

    # ---------------------------------------------------------------- the record
    def session(self) -> dict[str, Any]:
        """Everything needed to replay the room (JSON-ready); no seat's secret."""
        with self.lock:
            return {
                "format": SESSION_FORMAT,
                "title": self.title,
                "code": self.code,
                "started": self.started_at,
                "seed": self.seed,
                "weeks": self.weeks,
                "played_to": self.played(),
                "scenario": self.scenario.model_dump(mode="json"),
                "fired": [ev.model_dump(mode="json") for ev in self.fired],
                "seats": [
                    {"seat": s.number, "person": s.person, "name": s.name} for s in self.seats
                ],
                "choices": list(self.choices_log),
                "table": {
                    "columns": list(COLUMNS),
                    "rows": [
                        [None if np.isnan(v) else float(v) for v in row]
                        for row in self.table[: self.played() + 1]
                    ],
                },
            }

    def save(self, path: Path) -> Path:
        """Write the session (atomically: a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.session(), indent=1), encoding="utf-8")
        tmp.replace(path)
        return path

    def snapshot(self) -> Room:
        """A copy of what the debrief reads, taken under the lock (the room plays on)."""
        with self.lock:
            snap = copy.copy(self)
            snap.table = self.table.copy()
            snap.frames = list(self.frames)
            snap.history = {k: list(v) for k, v in self.history.items()}
            snap.tally = {k: v.copy() for k, v in self.tally.items()}
            snap.groups = {k: dict(v) for k, v in self.groups.items()}
            snap.silent_log = {k: list(v) for k, v in self.silent_log.items()}
            snap.choices_log = list(self.choices_log)
            snap.fired = list(self.fired)
            snap.seats = list(self.seats)
            snap._by_person = dict(self._by_person)
            snap.names = list(self.names)
            snap.week, snap.phase = self.week, self.phase
            snap.twin()  # computed now, for the weeks and events of the copy
            return snap

    def played(self) -> int:
        """The last week whose results are in (0 before the first)."""
        return self.week if self.phase in ("results", "ended") else max(self.week - 1, 0)

    def _changed(self) -> None:
        self.version += 1
        self.on_change()

    # ------------------------------------------------------------------- views
    def seat_view(self, token: str) -> dict[str, Any]:
        """What a phone shows: its own seat only (no other seat's choices or secrets)."""
        with self.lock:
            seat = self.seat_of(token)
            i = seat.person
            st = self.state
            view: dict[str, Any] = {
                "version": self.version,
                "room": self.title,
                "seat": seat.number,
                "name": seat.name,
                "week": self.week,
                "weeks": self.weeks,
                "phase": self.phase,
                "paused": self.paused,
                "seconds_left": self.seconds_left(),
                "team": [self.names[j] for j in self._teammates(i)],
                "coach": bool(st.org.role[i] == COACH),
                "history": [
                    {"skill": _r(s), "my_trust": _r(o), "trust_in_me": _r(n)}
                    for s, o, n in self.history[i]
                ],
                "last_week": self.last_week.get(i),
            }
            if self.phase == "asking":
                view["need"] = self._need_view(i)
            if self.phase == "answering":
                asked_me = self._requests.get(i, [])
                view["requests"] = [
                    {
                        "learner": j,
                        "name": self.names[j],
                        "topic": topic_name(int(self._topic[self._learner == j][0])),
                        "your_trust": _r(self._trust(i, j)),
                    }
                    for j in asked_me
                ]
                view["capacity"] = int(st.capacity[i])
                view["answered"] = i in self._answers
            return view

    def _need_view(self, i: int) -> dict[str, Any] | None:
        if i not in set(self._learner.tolist()):
            return None
        k = int(self._topic[self._learner == i][0])
        offered = self._prompts.get(i, [])
        return {
            "topic": topic_name(k),
            "your_skill": _r(self.state.skill[i, k]),
            "candidates": [
                {
                    "person": j,
                    "name": self.names[j],
                    "your_trust": _r(self._trust(i, j)),
                    "their_skill": _r(self.state.skill[j, k]),
                }
                for j in offered
            ],
            "chosen": (
                None
                if i not in self._asks
                else "silent"
                if self._asks[i] == kernels.SILENT
                else self.names[self._asks[i]]
            ),
        }

    def _trust(self, i: int, j: int) -> float:
        e = int(self.state.net.find(np.array([i]), np.array([j]))[0])
        return float(self.state.trust[e]) if e >= 0 else float("nan")

    def _teammates(self, i: int) -> list[int]:
        org = self.state.org
        return [j for j in range(org.n_members) if org.team[j] == org.team[i] and j != i]

    def seconds_left(self) -> float | None:
        """The stage's time left (None: no clock running; paused: the time kept)."""
        if self.paused:
            return None if self._remaining is None else round(self._remaining, 1)
        if self.deadline is None:
            return None
        return round(max(0.0, self.deadline - self.clock()), 1)

    def host_view(self) -> dict[str, Any]:
        """What the facilitator's screen shows: the whole room, and the twin beside it."""
        with self.lock:
            t = self.played()
            twin = self.twin()
            due = (
                list(self._prompts)
                if self.phase == "asking"
                else list(self._requests)
                if self.phase == "answering"
                else []
            )
            done = (
                set(self._asks)
                if self.phase == "asking"
                else set(self._answers)
                if self.phase == "answering"
                else set()
            )
            seats = [
                {
                    "seat": s.number,
                    "name": s.name,
                    "person": s.person,
                    "team": int(self.state.org.team[s.person]),
                    "due": s.person in due,
                    "done": s.person in done,
                }
                for s in self.seats
            ]
            return {
                "version": self.version,
                "title": self.title,
                "code": self.code,
                "week": self.week,
                "weeks": self.weeks,
                "phase": self.phase,
                "paused": self.paused,
                "auto": self.auto,
                "seconds_left": self.seconds_left(),
                "seats": seats,
                "max_seats": self.max_seats,
                "waiting_for": sum(1 for s in seats if s["due"] and not s["done"]),
                "due": len(due),
                "fired": [{"at": ev.at, "label": button_label(ev)} for ev in self.fired],
                "events": {k: b.label for k, b in EVENTS.items()},
                "measures": _series_pair(self.table[: t + 1], twin.table[: t + 1]),
                "network": self._network_view(),
                "choices": self.compare_choices(),
            }

    def _network_view(self) -> dict[str, Any]:
        """The network as the facilitator's screen draws it now, seats named."""
        net = self.drawing["network"]
        frame = self.frames[-1]
        seated = set(self._by_person)
        return {
            "kind": net.kind,
            "caption": net.caption,
            "x": net.x,
            "y": net.y,
            "shape": net.shape,
            "edges": net.edges,
            "labels": [self.names[p] for p in net.people] if net.people else [],
            "seated": [p in seated for p in net.people] if net.people else [],
            "skill": [_r(v) for v in frame[0]],
            "trust": [_r(v) for v in frame[1]],
        }

    def compare_choices(self) -> dict[str, dict[str, Any]]:
        """The room's own choices, the timer's for seats, and the simulated members'.

        Each group's counts (TALLIES), how many people it has now, and its rates: asked
        when someone could help, accepted a request, help that worked.
        """
        org = self.state.org
        members = np.arange(org.n_members)
        plain = (org.role[members] == MEMBER) & ~org.external[members]
        unseated = int((plain & ~np.isin(members, list(self._by_person))).sum())
        people = {"room": len(self.seats), "timer": len(self.seats), "simulated": unseated}
        out = {}
        for label, counts in self.groups.items():
            out[label] = dict(counts) | {
                "people": people[label],
                "ask_rate": _ratio(counts["asks"], counts["choices"]),
                "accept_rate": _ratio(counts["accepted"], counts["requests"]),
                "success_rate": _ratio(counts["succeeded"], counts["helped"]),
            }
        return out

    def fell_silent(self, last: int = 4, silent: int = 3) -> list[tuple[str, bool]]:
        """Who fell silent: kept at least `silent` of their last `last` choices to themselves.

        A seat by its own choices (not the timer's, not before it joined); a simulated
        plain member by the model's. Returns (name, seated) pairs, seats first.
        """
        out = []
        for person, log in sorted(self.silent_log.items()):
            seated = person in self._by_person
            mine = [quiet for g, quiet in log if g == ("room" if seated else "simulated")]
            tail = mine[-last:]
            if len(tail) >= silent and sum(tail) >= silent:
                out.append((self.names[person], seated))
        return sorted(out, key=lambda x: not x[1])


def _r(v: float) -> float | None:
    return None if v != v else round(float(v), 3)  # NaN to null


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def _series_pair(room: NDArray[np.float64], twin: NDArray[np.float64]) -> dict[str, Any]:
    from sim.workshop.play import measures_shown, shown_line

    return {
        key: {
            "label": label,
            "room": [_r(v) for v in shown_line(room, key)],
            "simulated": [_r(v) for v in shown_line(twin, key)],
        }
        for key, label in measures_shown().items()
    }


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
