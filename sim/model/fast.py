"""The fast path: a whole run in one compiled loop, with TrustModel's numbers.

`simulate(scenario, seed)` builds the run's state as TrustModel does (sim.model.state)
and runs every week with the compiled `sim.model.kernels.run_weeks`, which calls the same
`sim.model.kernels.week` and `sim.model.kernels.measure` that TrustModel.step calls. Python
steps in only where the run needs it: after the weeks the state declares
(`TrustState.python_weeks`: before a scheduled event, after a survey, ...), and after
a week in which members leave (the newcomers' draws). No Mesa agent and no
DataCollector are built, so a run is about seven times faster; its per-step table and
summary equal TrustModel's to the last bit (tests/test_fast.py).

`RunState` is that state, played week by week through public methods: the fast
path's loop and a workshop room (sim.workshop.room.stages) drive the same object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim.model import kernels, measures
from sim.model.events import EVENT_TYPES, Event
from sim.model.interrupt import interrupt_after
from sim.model.measures import LAST_TEAM_COLUMNS, TEAM_COLUMNS, derive_rows, kept_steps, summarize
from sim.model.scenario import Scenario
from sim.model.state import TrustState
from sim.model.streams import STREAMS, seed_sequence

__all__ = ["FinishedWeek", "OpenWeek", "Run", "RunState", "columns", "simulate", "warm_up"]


def columns() -> tuple[str, ...]:
    """The per-step table's columns: "step", then the measures (sim.model.measures)."""
    return ("step", *measures.names())


def __getattr__(name: str) -> tuple[str, ...]:
    """COLUMNS: `columns()`, read from the measures' registry when asked."""
    if name == "COLUMNS":
        return columns()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Per set of columns: the DataFrame's column index and which columns are integers.
_LAYOUTS: dict[tuple[str, ...], tuple[pd.Index, frozenset[int]]] = {}


def _layout() -> tuple[pd.Index, frozenset[int]]:
    names = columns()
    if names not in _LAYOUTS:
        whole = {"step", *measures.integer_measures()}
        integers = frozenset(c for c, name in enumerate(names) if name in whole)
        _LAYOUTS[names] = (pd.Index(names), integers)
    return _LAYOUTS[names]


@dataclass
class Run:
    """One run on the fast path: its per-step table, summary and (when kept) team rows.

    Attributes:
        scenario: the Scenario run (the horizon applied).
        seed: the entropy of the run's SeedSequence (reproduces the run as `seed`).
        summary: the run summary, the same dict as TrustModel.summary().
        table: every kept step's row, columns `columns()` ("step", then the measures).
        n_people: everyone in the organization (members, managers, external coaches).
        n_teams: front-line teams.
    """

    scenario: Scenario
    seed: int
    summary: dict[str, Any]
    table: NDArray[np.float64]
    n_people: int
    n_teams: int
    team_arrays: tuple[NDArray[Any], ...] | None = field(default=None, repr=False)
    last_team_arrays: tuple[NDArray[Any], ...] | None = field(default=None, repr=False)
    # The answers of the scenario's surveys, long: one row per respondent, item and
    # week (sim.model.survey.ANSWER_COLUMNS); None when it gives none.
    survey: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def steps(self) -> pd.DataFrame:
        """The per-step table, as TrustModel's `datacollector.get_model_vars_dataframe()`."""
        index, integers = _layout()
        values = [
            self.table[:, c].astype(np.int64) if c in integers else self.table[:, c]
            for c in range(len(index))
        ]
        # The constructor pandas uses internally: a dict of columns costs a quarter of a
        # short run (each column checked, the names' dtype inferred); tests/test_fast.py
        # compares the result with TrustModel's DataFrame, dtypes and index included.
        return pd.DataFrame._from_arrays(  # type: ignore[attr-defined]
            values,
            columns=index,
            index=pd.RangeIndex(len(self.table)),
            verify_integrity=False,
        )

    @property
    def last_teams(self) -> pd.DataFrame | None:
        """One row per team at the last week, with its members' mean skill (None unless kept).

        Columns: team, within_team_trust, components, largest_component_share (as in
        `teams`) and mean_skill (the mean over the team's front-line members of each
        one's mean skill, as the run's mean_skill is over everyone's).
        """
        if self.last_team_arrays is None:
            return None
        trust, components, largest, skill = self.last_team_arrays
        team = np.arange(len(trust), dtype=np.int64)
        values = (team, trust, components, largest, skill)
        return pd.DataFrame(dict(zip(("team", *LAST_TEAM_COLUMNS), values, strict=True)))

    @property
    def teams(self) -> pd.DataFrame | None:
        """One row per team and step, as TrustModel's "teams" table (None unless kept)."""
        if self.team_arrays is None:
            return None
        steps, trust, components, largest = self.team_arrays
        n_steps, n_teams = trust.shape
        return pd.DataFrame(
            {
                TEAM_COLUMNS[0]: np.repeat(steps, n_teams),
                TEAM_COLUMNS[1]: np.tile(np.arange(n_teams, dtype=np.int64), n_steps),
                TEAM_COLUMNS[2]: trust.ravel(),
                TEAM_COLUMNS[3]: components.ravel(),
                TEAM_COLUMNS[4]: largest.ravel(),
            }
        )


class OpenWeek(NamedTuple):
    """A week `RunState.open_week` opened: its draws, and who needs help with what.

    Attributes:
        week: the week's number.
        uniforms: every per-step draw of the week (sim.model.kernels.open_week's rows).
        learners: the people with a need this week, in the order the week serves them.
        topics: each learner's topic.
    """

    week: int
    uniforms: NDArray[np.float64]
    learners: NDArray[np.int64]
    topics: NDArray[np.int64]


class FinishedWeek(NamedTuple):
    """What became of each learner of a week `RunState.finish_week` finished.

    Attributes:
        leavers: the members who leave (their newcomers are not drawn yet).
        requests: per learner, the edge of the request made (-1: none).
        accepted: per learner, whether the request was accepted.
        succeeded: per learner, whether the help succeeded.
    """

    leavers: NDArray[np.int64]
    requests: NDArray[np.int64]
    accepted: NDArray[np.bool_]
    succeeded: NDArray[np.bool_]


class RunState(TrustState):
    """One run's state with no Mesa around it, played week by week.

    What `simulate` runs (whole stretches of weeks in one compiled loop) and what a
    workshop room runs (sim.workshop.room.stages: one week in stages, stopping for the
    participants), so that both play the same week. A week is `start_week(t)` (the
    counters, and the week's events: the scenario's, then any `schedule` added), then
    either the compiled loop over `week_arguments()` (the fast path) or `open_week` and
    `finish_week` with the participants' choices, and `take_newcomers` (a room); then
    `measure_into`.

    Args:
        scenario: the Scenario to run.
        seed: as TrustModel's `rng` (sim.model.streams.seed_sequence).
    """

    def __init__(self, scenario: Scenario, seed: Any) -> None:
        seq = seed_sequence(seed)
        self.seed = int(seq.entropy)  # type: ignore[arg-type]
        self.seq = seq
        self._build(scenario, seq.spawn(len(STREAMS)))

    def schedule(self, event: Event) -> None:
        """Schedule an event for the start of week `event.at`, after those already there.

        A workshop room's facilitator fires events so; the week applies it when it
        starts (`start_week`): a week already started does not see it.
        """
        self._events.setdefault(event.at, []).append(event)

    def open_week(self, t: int) -> OpenWeek:
        """Phases 0b and 1 of week t, after `start_week(t)`: every draw, the needs.

        Nothing is decided yet: `requests` shows what the learners would ask with given
        choices, `finish_week` runs the rest.
        """
        w = self.week_arguments()
        with interrupt_after():
            u, learners, topics = kernels.open_week(
                t,
                w.skill,
                w.trust,
                w.net,
                w.org,
                w.people,
                w.fparams,
                w.iparams,
                w.sponsor_active,
                w.counts,
                w.rngs,
            )
        return OpenWeek(t, u, learners, topics)

    def candidates(self, person: int, topic: int) -> list[int]:
        """Whom `person` could ask about `topic` now: the compiled choice's (ODD 7.8)."""
        net = self.net
        found = kernels.candidates(
            self.skill,
            self.trust,
            net.indptr,
            net.dst,
            person,
            topic,
            self.params.trust_selectivity,
        )
        return [int(j) for j in found]

    def requests(self, week: OpenWeek, choices: NDArray[np.int64]) -> NDArray[np.int64]:
        """The request each learner would make with these choices (edge, -1: none).

        Nothing changes: the choice's draws were made when the week opened.
        """
        net = self.net
        edge, _, _ = kernels.choose(
            self.skill,
            self.trust,
            net.indptr,
            net.dst,
            week.learners,
            week.topics,
            week.uniforms[2],
            week.uniforms[3],
            self.params.trust_selectivity,
            choices,
            self.openness,
            self._iparams[kernels.I_CHOICE_RULE : kernels.I_VOICE_RULE + 1],
        )
        return edge  # type: ignore[no-any-return]

    def finish_week(self, week: OpenWeek, choices: NDArray[np.int64]) -> FinishedWeek:
        """Phases 2 to 9 of an opened week with the participants' choices (kernels.MODEL: none).

        The leavers' newcomers are left to `take_newcomers`, so that the caller can read
        the week's end first.

        Raises:
            ValueError: a choice the week does not offer.
        """
        w = self.week_arguments()
        with interrupt_after():
            leavers, edge, accepted, success = kernels.finish_week(
                w.skill,
                w.trust,
                w.baseline,
                w.evidence,
                w.net,
                w.org,
                w.people,
                w.fparams,
                w.iparams,
                w.counts,
                week.learners,
                week.topics,
                week.uniforms,
                w.rngs,
                choices,
            )
        return FinishedWeek(leavers, edge, accepted, success)

    def take_newcomers(self, leavers: NDArray[np.int64]) -> None:
        """Newcomers take the places of the week's leavers (turnover's draws, ODD 7.18)."""
        self.replace_members(leavers, self.rngs["turnover"])


def simulate(
    scenario: Scenario | None = None,
    seed: Any = None,
    *,
    steps: int | None = None,
    keep_steps: bool | int = True,
    team_table: bool | None = False,
    on_week: Callable[[int, TrustState], None] | None = None,
    choices: Mapping[int, NDArray[np.int64]] | None = None,
    **params: Any,
) -> Run:
    """Run a whole run on the fast path; the same numbers as stepping TrustModel.

    `simulate(sc, 42)` equals `TrustModel(sc, rng=42)` stepped to the end: every
    column of every week and the summary, bit for bit.

    Args:
        scenario: the Scenario to run (defaults to docs/ODD.md's defaults).
        seed: as TrustModel's `rng`: an int, a SeedSequence, a numpy Generator, or
            None (fresh entropy; `Run.seed` then reproduces the run).
        steps: the horizon, instead of the scenario's `steps`.
        keep_steps: True keeps every week's row in `Run.table`; an integer k keeps
            every k-th week and the last; False (or 0) keeps none (the summary is
            computed from every week all the same). The team rows follow it.
        team_table: keep one row per team and kept week (`Run.teams`); None keeps it
            up to 50 teams, as TrustModel does.
        on_week: called as on_week(week, state) at the start (week 0) and after
            each week, with the run's state to read (a progress bar, network
            snapshots); the compiled loop then returns to Python every week.
        choices: participants' choices by week (a workshop room's,
            sim.workshop.room.stages): week w's array (sim.model.kernels.ASK, ANSWER,
            ANSWERED_BY rows, one column per member or manager) is used for week w; the
            model decides the rest.
        **params: parameters overriding the scenario's, validated like a file's.

    Returns:
        The Run: summary, kept per-step table and team rows.

    Raises:
        ValueError: a choice that the week does not offer (someone without a need, a
            person who is not a candidate, an answer to a request not made).
    """
    if isinstance(keep_steps, float) or int(keep_steps) < 0:
        raise ValueError(f"keep_steps = {keep_steps!r}: True, False, or a whole number >= 0")
    base = scenario if scenario is not None else Scenario()
    if steps is not None:
        params["steps"] = steps
    p = base.with_(**params) if params else base
    state = RunState(p, seed)
    n_teams = state.org.n_teams
    horizon = p.steps
    keep_teams = n_teams <= 50 if team_table is None else team_table
    table = np.empty((horizon + 1, len(columns())))
    # Week t's team rows go to row t % rows: every week when kept, else one row reused.
    rows = horizon + 1 if keep_teams else 1
    team_trust = np.empty((rows, n_teams))
    team_components = np.empty((rows, n_teams), dtype=np.int64)
    team_largest = np.empty((rows, n_teams))

    def measure_week(t: int) -> None:
        table[t, 0] = t
        r = t % rows
        state.measure_into(table[t, 1:], (team_trust[r], team_components[r], team_largest[r]))

    measure_week(0)
    if on_week is not None:
        on_week(0, state)
    # The weeks after which the run needs Python (its events, its surveys: the state says).
    python_weeks = state.python_weeks(horizon)
    survey_weeks = sorted({w for s in p.surveys for w in s.at if w <= horizon})
    choices = dict(choices or {})
    for w, c in choices.items():
        if not 1 <= w <= horizon or np.shape(c) != state.choices.shape:
            raise ValueError(
                f"choices for week {w}: weeks 1 to {horizon}, each an array of shape "
                f"{state.choices.shape}, not {np.shape(c)}"
            )
    no_choices = state.choices
    surveys: list[pd.DataFrame] = []
    if 0 in survey_weeks:
        surveys += state.give_surveys(0)
    t = 1
    while t <= horizon:
        state.start_week(t)
        # Python steps in where the state needs it (TrustState.python_weeks) ... and around
        # a week with participants' choices, which runs on its own.
        ends = [w for w in python_weeks if w >= t]
        ends += [w - 1 for w in choices if w > t] + [w for w in choices if w >= t]
        last = min([*ends, horizon])
        state.choices = np.asarray(choices[t], dtype=np.int64) if t in choices else no_choices
        if on_week is not None:
            last = t
        net, masks = state._measure_arguments()
        with interrupt_after():
            t, leavers = kernels.run_weeks(  # type: ignore[call-arg]
                t,
                last,
                *state.week_arguments(),
                net,
                masks,
                table,
                team_trust,
                team_components,
                team_largest,
            )
        if len(leavers):
            state.take_newcomers(leavers)
            measure_week(t)
        if t in survey_weeks:
            surveys += state.give_surveys(t)
        if on_week is not None:
            on_week(t, state)
        t += 1

    derive_rows(table[:, 1:])  # the measures the compiled loop does not compute
    summary = summarize(table, team_largest[horizon % rows], p.competence_target)
    kept = _kept_rows(horizon, keep_steps)
    teams = (
        (kept, team_trust[kept], team_components[kept], team_largest[kept]) if keep_teams else None
    )
    last = horizon % rows
    last_teams = (
        (team_trust[last], team_components[last], team_largest[last], _team_skill(state))
        if keep_teams
        else None
    )
    return Run(
        scenario=p,
        seed=state.seed,
        summary=summary,
        table=table[kept],
        n_people=state.org.n_people,
        n_teams=n_teams,
        team_arrays=teams,
        last_team_arrays=last_teams,
        survey=pd.concat(surveys, ignore_index=True) if surveys else None,
    )


def _team_skill(state: TrustState) -> NDArray[np.float64]:
    """Each team's mean over its front-line members of their mean skill (NaN: no member)."""
    org = state.org
    members = np.arange(org.n_members)
    per_person = state.skill[members].mean(axis=1)
    team = org.team[members]
    total = np.bincount(team, weights=per_person, minlength=org.n_teams)
    count = np.bincount(team, minlength=org.n_teams)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _kept_rows(horizon: int, keep: bool | int) -> NDArray[np.int64]:
    """The weeks kept: all (True or 1), every k-th and the last (k), or none (False, 0)."""
    weeks = np.arange(horizon + 1)
    return weeks[kept_steps(weeks, int(keep))]


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel a run uses, with a tiny run.

    The runner calls it before forking workers, so that each worker inherits the
    compiled code; `make` calls it once after installing, so that the first run a
    user starts does not spend seconds compiling.
    """
    events = [{"type": name, "at": 2} for name in EVENT_TYPES]  # every registered type
    for rule in ("asymmetric", "beta"):
        simulate(
            Scenario(
                coach="internal",
                sponsor="top",
                peer_coaching=True,
                trust_rule=rule,
                members=6,
                levels=2,
                steps=3,
                turnover_rate=0.5,
                skill_decay=0.1,
                events=events,  # type: ignore[arg-type]
            ),
            0,
        )
