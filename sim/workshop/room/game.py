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
week (`Room.session`), so that sim/workshop/room/record.py replays it on the fast path.

`Room` is the room's public face, put together from its parts: its state (core.py), its
seats (seats.py), the week's stages (stages.py) and its screens (screens.py); here it
adds joining and its record. sim/workshop/room/server.py serves it to phones and to the
facilitator's screen; sim/workshop/room/debrief.py writes the debrief.
"""

from __future__ import annotations

import copy
import json
import secrets
from pathlib import Path
from typing import Any

import numpy as np

from sim.model.fast import columns
from sim.model.structure import MEMBER
from sim.workshop.room.errors import RoomError
from sim.workshop.room.record import SESSION_FORMAT
from sim.workshop.room.screens import Screens
from sim.workshop.room.seats import NAME_LENGTH, Seat, clean_name
from sim.workshop.room.stages import Stages

__all__ = ["Room"]


class Room(Stages, Screens):
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
                    "columns": list(columns()),
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
