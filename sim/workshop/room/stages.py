"""A room's week in stages: the asking, the answering, the timers, the facilitator's events.

The week runs the compiled kernels the fast path runs (`open_week`, then the seats'
choices, then `finish_week`), stopping between them for the people: first the seated
learners choose (the asking stage), then the seated helpers answer the requests that
reached them (the answering stage). When a stage's time runs out, the model decides
for whoever has not: the simulated choice is the default. Every choice is checked
against those offered this week, logged with its week, and tallied by who made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.model import kernels
from sim.model.events import Event, does_nothing
from sim.model.structure import COACH, MEMBER
from sim.workshop.room.core import EVENTS, RoomCore
from sim.workshop.room.errors import RoomError
from sim.workshop.room.seats import topic_name

__all__ = [
    "Stages",
]


class Stages(RoomCore):
    """The week's stages and the participants' choices (a part of `Room`)."""

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
        done = st.finish_week(self._opened, choices)
        leavers = done.leavers
        self._count(done.requests, done.accepted, done.succeeded, before, had_choice)
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
