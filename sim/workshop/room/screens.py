"""What a room's screens show: a phone its own seat, the facilitator the whole room.

A phone sees its own seat only (no other seat's choices or secrets): its need and
candidates, the requests that reached it, its history. The facilitator's screen sees
the whole room beside its twin: the seats and who is still to choose, the measures,
the network with the seats named, and the choices compared by who made them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.model import kernels
from sim.model.events import button_label
from sim.model.structure import COACH, MEMBER
from sim.workshop.room.core import EVENTS, RoomCore
from sim.workshop.room.seats import topic_name

__all__ = [
    "Screens",
]


class Screens(RoomCore):
    """What the phones and the facilitator's screen show (a part of `Room`)."""

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
