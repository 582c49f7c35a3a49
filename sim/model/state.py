"""The run's state and its week, without Mesa: what TrustModel and the fast path share.

State lives in numpy arrays (structure of arrays): skills (people x topics), traits,
and trust on the directed edges of the contact network. `TrustState` builds them
from a Scenario and the run's random streams (docs/ODD.md section 5), applies events
and turnover, and runs a week with the compiled `sim.model.kernels.week`. TrustModel (the
Mesa model people step) and `sim.simulate` (a whole run in one compiled loop) both
stand on it, so there is one implementation of the week. The run's random streams are
sim.model.streams, and holding Ctrl-C while compiled code runs is sim.model.interrupt.

Over 600 lines because TrustState is one object: its set-up, its week, the turnover,
the operations events perform (sim.model.events.Target), its measures and its surveys
all read and change the same arrays, and the fast path, TrustModel and the room all
need every part of it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim.model import kernels, measures, mechanisms
from sim.model.events import Event, event_type
from sim.model.interrupt import interrupt_after
from sim.model.scenario import Scenario
from sim.model.streams import STREAMS, SURVEY_STREAM, WEEK_STREAMS, Streams
from sim.model.structure import (
    COACH,
    MANAGER,
    MEMBER,
    Network,
    build_organization,
    contact_pairs,
)
from sim.model.survey import INSTRUMENTS, answers

__all__ = ["TrustState", "WeekArguments", "week_parameters"]

INITIAL_TRUST_NOISE = 0.05  # sd of the noise on initial trust (docs/ODD.md)
BENEVOLENCE_SD = 0.1
INTEGRITY_SD = 0.03
COACH_BENEVOLENCE = 0.9
BETA_PRIOR_WEIGHT = 2.0


def week_parameters(
    p: Scenario, n_members: int, n_staff: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The scenario's numbers as the compiled week reads them (kernels.FLOAT_PARAMS, INT_PARAMS)."""
    f = np.array([getattr(p, name) for name in kernels.FLOAT_PARAMS], dtype=np.float64)
    values = {
        "choice_rule": kernels.CHOICE_RULES.index(p.choice_rule),
        "voice_rule": kernels.VOICE_RULES.index(p.voice_rule),
        "success_rule": kernels.SUCCESS_RULES.index(p.success_rule),
        "beta": p.trust_rule == "beta",
        "peer_coaching": p.peer_coaching,
        "has_coach": p.coach != "none",
        "sponsor_start": p.sponsor_start,
        "sponsor_interval": p.sponsor_interval,
        "members": n_members,
        "staff": n_staff,
    }
    i = np.array([values[name] for name in kernels.INT_PARAMS], dtype=np.int64)
    return f, i


class WeekArguments(NamedTuple):
    """What the compiled week reads and changes, by name, in the order the kernels take it.

    `sim.model.kernels.week(t, *arguments)` and `run_weeks(t0, t1, *arguments, ...)` take
    the thirteen in this order; a workshop room hands them to `open_week` and
    `finish_week` by name. The arrays are the state's own: the week changes them in
    place. Take a fresh one after `TrustState.start_week` (an event may replace the
    network or stop the sponsor).

    Attributes:
        skill: skills, people x topics.
        trust: trust on the directed edges of the contact network.
        baseline: the trust each edge decays back towards.
        evidence: the Beta rule's evidence per edge.
        net: the contact network as the kernels read it: (indptr, dst, rev).
        org: (role, external, team, level, boss, coach_of_team, sponsor_of_team).
        people: (benevolence, integrity, capacity, need rate, openness): each person's,
            the last two their team's (docs/ODD.md 7.7 and 7.9).
        fparams: the scenario's float parameters (sim.model.kernels.F_*).
        iparams: its integer parameters (sim.model.kernels.I_*).
        sponsor_active: false after `sponsor_withdraws`.
        counts: this week's counters (sim.model.kernels.COUNTS), counted in place.
        rngs: the week's streams, in WEEK_STREAMS order.
        choices: the participants' choices (sim.model.kernels.ASK, ANSWER, ANSWERED_BY
            rows; all sim.model.kernels.MODEL when nobody plays).
    """

    skill: NDArray[np.float64]
    trust: NDArray[np.float64]
    baseline: NDArray[np.float64]
    evidence: NDArray[np.float64]
    net: tuple[NDArray[np.int64], ...]
    org: tuple[NDArray[Any], ...]
    people: tuple[NDArray[Any], ...]
    fparams: NDArray[np.float64]
    iparams: NDArray[np.int64]
    sponsor_active: bool
    counts: NDArray[np.int64]
    rngs: tuple[np.random.Generator, ...]
    choices: NDArray[np.int64]


class TrustState:
    """One run's state arrays and the mechanisms that change them (docs/ODD.md).

    Attributes:
        params: the frozen Scenario this run uses.
        rngs: one numpy Generator per name in STREAMS (made when first used).
        org: the organization (sim.model.structure.Organization).
        net: the contact network (sim.model.structure.Network).
        skill: skills, people x topics.
        trust: trust on the directed edges of `net`.
        baseline: the trust each edge decays back towards.
        evidence: the Beta rule's evidence per edge.
        sponsor_active: whether the sponsor backs the coach now (sim.model.events changes it).
        team_largest_share: each team's largest bonded share when last measured.
        seq: the run's SeedSequence (the surveys' streams are spawned from it).
        choices: the participants' choices for the next week (sim.model.kernels.ASK,
            ANSWER, ANSWERED_BY rows; all sim.model.kernels.MODEL when nobody plays).
    """

    team_largest_share: NDArray[np.float64]
    seq: np.random.SeedSequence

    def _build(self, p: Scenario, streams: list[np.random.SeedSequence]) -> None:
        """Build the organization, draw everyone's traits and initial trust (ODD section 5)."""
        self.params = p
        self.rngs = Streams(dict(zip(STREAMS, streams, strict=True)))
        self.org = build_organization(
            p.members, p.levels, p.coach == "external", p.team_size, p.span
        )
        n, k = self.org.n_people, p.topics
        self.n_staff = self.org.n_staff
        self.skill = np.zeros((n, k))
        self.propensity = np.zeros(n)
        self.benevolence = np.zeros(n)
        self.integrity = np.zeros(n)
        self._draw_people(np.arange(self.n_staff), self.rngs["people"])
        self._draw_teams()
        if p.coach == "external":
            self._draw_external_coaches()
        self.net = Network.from_pairs(n, *contact_pairs(self.org))
        self.trust = self._initial_trust(np.arange(self.net.n_edges), self.rngs["trust_init"])
        self.baseline = self.trust.copy()
        self.evidence = np.full(self.net.n_edges, BETA_PRIOR_WEIGHT)
        if p.coach == "internal":
            self._choose_internal_coaches(np.arange(self.org.n_teams))
        self.capacity = np.zeros(n, dtype=np.int64)
        self._set_capacity()
        self.sponsor_active = p.sponsor != "none"
        org = self.org
        if p.sponsor == "top":
            top = np.flatnonzero((org.role == MANAGER) & (org.level == 0))[0]
            self.sponsor_of_team = np.full(org.n_teams, top, dtype=np.int64)
        else:
            self.sponsor_of_team = org.team_manager.copy()
        self._fparams, self._iparams = week_parameters(p, org.n_members, self.n_staff)
        # Without turnover the week never draws from its stream: any Generator will do.
        leave = "turnover" if p.turnover_rate > 0 else "need"
        self._week_rngs = tuple(self.rngs[leave if n == "turnover" else n] for n in WEEK_STREAMS)
        self._events: dict[int, list[Event]] = {}
        for ev in p.events:
            self._events.setdefault(ev.at, []).append(ev)
        self._counts = np.zeros(len(kernels.COUNTS), dtype=np.int64)
        # Participants' choices for the next week (a workshop room, or its replay).
        self.choices = kernels.no_choices(self.n_staff)
        self._refresh_masks()

    @property
    def counts(self) -> dict[str, int]:
        """This week's counters: needs, asks, silences, helps, successes, breaches."""
        return dict(zip(kernels.COUNTS, self._counts.tolist(), strict=True))

    # ----------------------------------------------------------------- set-up
    def _draw_people(self, idx: NDArray[np.int64], rng: np.random.Generator) -> None:
        """Fresh traits and skills for members and managers (at set-up and turnover)."""
        p = self.params
        n, k = len(idx), p.topics
        role = self.org.role[idx]
        is_manager = role == MANAGER
        skill = _beta(rng, p.skill_mean, p.skill_sd, (n, k))
        specialty = rng.integers(k, size=n)
        skill[np.arange(n), specialty] += p.specialty_bonus
        skill[is_manager] = p.manager_skill
        self.skill[idx] = np.clip(skill, 0.0, 1.0)
        self.propensity[idx] = _beta(rng, p.propensity_mean, p.propensity_sd, n)
        self.benevolence[idx] = _beta(rng, p.benevolence_mean, BENEVOLENCE_SD, n)
        # Per-person sds draw the same values as one sd for all when they are equal.
        sd = np.where(is_manager, p.manager_integrity_sd, INTEGRITY_SD)
        self.integrity[idx] = _beta_each(rng, p.integrity_mean, sd)

    def _draw_teams(self) -> None:
        """Each front-line team's own task and manager (docs/ODD.md 7.2a), from the teams stream.

        The openness of the team's manager to voice, exp(manager_openness_sd * z) with z
        standard normal (median 1), and the team's need rate, a Beta draw with mean
        `need_rate` and sd `interdependence_sd` (how much its work makes members need
        each other), and the team's norm, N(0, team_norm_sd), added to its members'
        initial trust in one another. Drawn for every team in this order (the need rate
        only when its sd is above 0).
        """
        p, rng = self.params, self.rngs["teams"]
        n_teams = self.org.n_teams
        self.team_openness = np.exp(p.manager_openness_sd * rng.standard_normal(n_teams))
        self.team_need_rate = np.full(n_teams, p.need_rate)
        if p.interdependence_sd > 0:
            self.team_need_rate = _beta(rng, p.need_rate, p.interdependence_sd, n_teams)
        self.team_norm = p.team_norm_sd * rng.standard_normal(n_teams)

    def _draw_external_coaches(self) -> None:
        """External coaches: skill `external_skill`, benevolence 0.9, own propensity."""
        p, rng = self.params, self.rngs["external"]
        idx = np.flatnonzero(self.org.external)
        self.skill[idx] = p.external_skill
        self.propensity[idx] = _beta(rng, p.propensity_mean, p.propensity_sd, len(idx))
        self.integrity[idx] = _beta(rng, p.integrity_mean, INTEGRITY_SD, len(idx))
        self.benevolence[idx] = COACH_BENEVOLENCE

    def _initial_trust(
        self, edges: NDArray[np.int64], rng: np.random.Generator
    ) -> NDArray[np.float64]:
        """Initial trust on the given edges, with fresh noise (mechanisms.initial_trust).

        Edges touching an external coach take their noise from the "external" stream, so
        that the other edges draw the same noise in every regime (common random numbers).
        """
        p, org = self.params, self.org
        i, j = self.net.src[edges], self.net.dst[edges]
        factor = np.ones(len(edges))
        factor[org.role[j] == MANAGER] = p.management_trust_scale
        factor[org.external[j]] = p.external_trust_discount
        outside = org.external[i] | org.external[j]
        noise = np.empty(len(edges))
        noise[~outside] = rng.normal(0.0, INITIAL_TRUST_NOISE, int((~outside).sum()))
        if outside.any():
            n_outside = int(outside.sum())
            noise[outside] = self.rngs["external"].normal(0.0, INITIAL_TRUST_NOISE, n_outside)
        trust = mechanisms.initial_trust(
            self.propensity[i],
            np.abs(org.level[i] - org.level[j]),
            factor,
            noise,
            p.initial_trust_scale,
            p.power_distance,
        )
        if p.team_norm_sd > 0:  # members of one team start from their team's norm
            n = org.n_members
            peers = (i < n) & (j < n) & (org.team[i] == org.team[j])
            trust[peers] = mechanisms.team_norm(trust[peers], self.team_norm[org.team[i[peers]]])
        return trust

    def _choose_internal_coaches(self, teams: NDArray[np.int64]) -> None:
        """Each of these teams makes one member its coach (ODD 7.4), teams in order.

        Candidates are the team's plain members, in index order; each draws one
        uniform from the coach stream (it also breaks ties). Everyone is grouped by
        team once, so that a large organization is not scanned once per team.
        """
        p, org = self.params, self.org
        by_team = np.argsort(org.team, kind="stable")
        bounds = np.searchsorted(org.team[by_team], np.arange(org.n_teams + 1))
        for team in teams:
            people = by_team[bounds[team] : bounds[team + 1]]  # the team, in index order
            candidates = people[
                (org.role[people] == MEMBER) & ~org.external[people] & (people < org.n_members)
            ]
            if len(candidates) == 0:
                continue
            u = self.rngs["coach"].random(len(candidates))  # also breaks ties at random
            if p.coach_selection == "most_trusted":
                e = self.net.find(
                    np.repeat(people, len(candidates)), np.tile(candidates, len(people))
                )
                t = np.where(e >= 0, self.trust[np.maximum(e, 0)], np.nan).reshape(len(people), -1)
                score = np.nanmean(t, axis=0)
            elif p.coach_selection == "most_skilled":
                score = self.skill[candidates].mean(axis=1)
            else:
                score = u
            best = np.flatnonzero(score == score.max())
            c = int(candidates[best[np.argmax(u[best])]])
            org.role[c] = COACH
            org.coach_of_team[team] = c
            self.skill[c] = np.minimum(1.0, self.skill[c] + p.coach_training)
            self.benevolence[c] = COACH_BENEVOLENCE

    def _set_capacity(self) -> None:
        """Requests each person serves per step: 1; peer_capacity under peer coaching; coach."""
        p, org = self.params, self.org
        member_capacity = p.peer_capacity if p.peer_coaching else 1
        self.capacity[:] = np.where(org.role == MANAGER, 1, member_capacity)
        self.capacity[org.role == COACH] = p.coach_capacity

    def _refresh_masks(self) -> None:
        """Edge categories used by the measures; recomputed when roles or teams change."""
        org, net = self.org, self.net
        # A team's measures are about its own people: an external coach serves the team
        # but is not part of it (trust in the coach is measured on its own).
        self.measure_team = np.where(org.external, -1, org.team)
        ts, td = self.measure_team[net.src], self.measure_team[net.dst]
        within = (ts == td) & (ts >= 0)
        cross = (ts >= 0) & (td >= 0) & (ts != td)
        self.edge_category = (
            within * kernels.WITHIN
            + cross * kernels.CROSS
            + (org.role[net.dst] == MANAGER) * kernels.TO_MANAGER
            + (org.role[net.dst] == COACH) * kernels.TO_COACH
        ).astype(np.int8)  # small types: the measures read these every week, edge by edge
        self.edge_team = np.where(within, ts, 0).astype(np.int32)
        # Each person's need rate and voice factor: their team's (members and internal
        # coaches), the managers' own rate and a factor of 1 for managers.
        manager = org.role[: self.n_staff] == MANAGER
        team = np.maximum(org.team[: self.n_staff], 0)
        self.need_rate = np.where(manager, self.params.manager_need_rate, self.team_need_rate[team])
        self.openness = np.where(manager, 1.0, self.team_openness[team])

    # ------------------------------------------------------------------- week
    def week_arguments(self) -> WeekArguments:
        """What sim.model.kernels.week takes after the week number, from the current state."""
        org, net = self.org, self.net
        return WeekArguments(
            skill=self.skill,
            trust=self.trust,
            baseline=self.baseline,
            evidence=self.evidence,
            net=(net.indptr, net.dst, net.rev),
            org=(
                org.role,
                org.external,
                org.team,
                org.level,
                org.boss,
                org.coach_of_team,
                self.sponsor_of_team,
            ),
            people=(
                self.benevolence,
                self.integrity,
                self.capacity,
                self.need_rate,
                self.openness,
            ),
            fparams=self._fparams,
            iparams=self._iparams,
            sponsor_active=self.sponsor_active,
            counts=self._counts,
            rngs=self._week_rngs,
            choices=self.choices,
        )

    def _measure_arguments(self) -> tuple[Any, Any]:
        """The network and masks sim.model.kernels.measure takes, from the current state."""
        net = self.net
        return (net.indptr, net.dst, net.rev), (
            self.edge_category,
            self.edge_team,
            self.measure_team,
        )

    def scheduled_events(self) -> list[Event]:
        """Every event scheduled, by week (in the order each week applies them)."""
        return [ev for week in sorted(self._events) for ev in self._events[week]]

    def python_weeks(self, horizon: int) -> list[int]:
        """The weeks after which this run needs Python, up to `horizon`.

        The fast path (sim.model.fast.simulate) runs whole stretches of weeks in one
        compiled loop and returns to Python only after these weeks (and after a week in
        which people left). Every rule that acts in Python at chosen weeks says so here,
        and only here: each scheduled event at the weeks its type declares
        (`stretch_ends`, sim.model.events: the week before it, at least), each survey
        after the week it is given. A new rule of that kind (a coach who rotates every n
        weeks, say) is called from `start_week` and adds its weeks to this list;
        tests/test_fast.py then checks that `simulate` still equals stepping TrustModel.
        """
        events = {
            ev.at + end
            for ev in self.scheduled_events()
            if 1 <= ev.at <= horizon
            for end in event_type(ev.type).stretch_ends
        }
        surveys = {w for s in self.params.surveys for w in s.at if w <= horizon}
        return sorted(events | surveys)

    def start_week(self, t: int) -> None:
        """The counters start at 0; then the week's scheduled events, in the order scheduled.

        The scenario's events come first (in file order), then any scheduled since
        (sim.model.fast.RunState.schedule: a workshop room's). The fast path
        (sim.model.fast.simulate) calls it only where a stretch of compiled weeks starts,
        after one of `python_weeks`.
        """
        self._counts[:] = 0
        for ev in self._events.get(t, ()):
            self._apply_event(ev)

    def _week(self, t: int) -> None:
        """Week t after its events: phases 0b to 9 (docs/ODD.md), the newcomers included."""
        with interrupt_after():
            leavers = kernels.week(t, *self.week_arguments())
        if len(leavers):
            self.replace_members(leavers, self.rngs["turnover"])

    def measure_into(self, row: NDArray[np.float64], team_rows: tuple[Any, Any, Any]) -> None:
        """This state's measures into `row` (registry order) and the three team rows.

        The compiled `sim.model.kernels.measure` computes the compiled ones, for
        TrustModel's DataCollector, the fast path and the room alike; the derived ones
        follow from them (`sim.model.measures.derive_rows`).
        """
        net, masks = self._measure_arguments()
        with interrupt_after():  # its skill sort calls back into Python at scale
            kernels.measure(
                self.trust,
                net,
                masks,
                self.skill,
                self.org.n_members,
                self.params.bond_threshold,
                self._counts,
                row,
                *team_rows,
            )
        measures.derive_rows(row[None, :])

    def measures(self, team_rows: bool = True) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The state's measures now (docs/ODD.md section 8), and one row per team if asked.

        Each team's largest bonded share is kept as `team_largest_share` (the summary's
        `disintegrated` reads it).
        """
        n_teams = self.org.n_teams
        row = np.empty(len(measures.names()))
        trust, components = np.empty(n_teams), np.empty(n_teams, np.int64)
        largest = np.empty(n_teams)
        self.measure_into(row, (trust, components, largest))
        values: dict[str, Any] = dict(zip(measures.names(), row.tolist(), strict=True))
        for name in measures.integer_measures():
            values[name] = int(values[name])
        self.team_largest_share = largest
        if not team_rows:
            return values, []
        step = int(getattr(self, "steps", 0))
        per_team = zip(trust.tolist(), components.tolist(), largest.tolist(), strict=True)
        rows = [
            dict(zip(measures.TEAM_COLUMNS, (step, team, t, c, share), strict=True))
            for team, (t, c, share) in enumerate(per_team)
        ]
        return values, rows

    def give_surveys(self, week: int) -> list[pd.DataFrame]:
        """The answers of every survey the scenario gives at the end of `week` (long).

        Each (survey, week) draws from a stream of its own, spawned from the run's
        SeedSequence (`self.seq`) under SURVEY_STREAM: giving a survey changes nothing
        else, and the fast path and TrustModel give the same answers.
        """
        p = self.params
        blocks = []
        for given in p.surveys:
            if week not in given.at:
                continue
            instrument = INSTRUMENTS[given.instrument]
            who, team, latent = self.survey_latents(given.instrument)
            key = (
                *self.seq.spawn_key,
                SURVEY_STREAM,
                list(INSTRUMENTS).index(instrument.name),
                week,
            )
            rng = np.random.default_rng(np.random.SeedSequence(self.seq.entropy, spawn_key=key))
            raw = answers(instrument, latent, p.survey_loading, p.survey_bias, rng)
            k = len(instrument.items)
            blocks.append(
                pd.DataFrame(
                    {
                        "week": week,
                        "instrument": instrument.name,
                        "team": np.repeat(team, k),
                        "respondent": np.repeat(who, k),
                        "item": np.tile(np.arange(1, k + 1), len(who)),
                        "answer": raw.ravel(),
                        "latent": np.repeat(latent, k),
                    }
                )
            )
        return blocks

    def survey_latents(
        self, instrument: str
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """Who answers an instrument now, their teams, and the latent each answers from.

        Respondents are front-line members (an internal coach among them). For
        psychological safety, a member's mean trust in the other members of their team
        (members without a teammate do not answer); for trust in the manager, trust in
        their own manager; for trust in the coach, trust in their team's coach (members
        of a team with a coach, the coach aside). docs/ODD.md, "Observation".
        """
        org, net = self.org, self.net
        n = org.n_members
        members = np.arange(n)
        if instrument == "psychological_safety":
            src, dst = net.src, net.dst
            peers = (src < n) & (dst < n) & (org.team[src] == org.team[dst])
            total = np.bincount(src[peers], weights=self.trust[peers], minlength=n)
            count = np.bincount(src[peers], minlength=n)
            who = members[count > 0]
            latent = total[who] / count[who]
        else:
            if instrument == "trust_in_manager":
                whom = org.boss[members]
            else:
                whom = org.coach_of_team[org.team[members]]
            asked = (whom >= 0) & (whom != members)
            edge = net.find(members[asked], whom[asked])
            who = members[asked][edge >= 0]
            latent = self.trust[edge[edge >= 0]]
        return who, org.team[who], latent

    def _need_topic(self, learner: NDArray[np.int64], u: NDArray[np.float64]) -> NDArray[np.int64]:
        """Topic of each need, drawn with weight 1 - s_i[k] (docs/ODD.md 7.7)."""
        return kernels.need_topic(self.skill, learner, u)  # type: ignore[no-any-return]

    def replace_members(self, leavers: NDArray[np.int64], rng: np.random.Generator) -> None:
        """Newcomers take the leavers' places: fresh draws, trust from the baselines."""
        if len(leavers) == 0:
            return
        org, net = self.org, self.net
        lost_coach = org.team[leavers[org.role[leavers] == COACH]]
        org.role[leavers] = MEMBER
        self._draw_people(leavers, rng)
        _, out = net.out_edges(leavers)
        edges = np.unique(np.concatenate([out, net.rev[out]]))
        self.trust[edges] = self._initial_trust(edges, rng)
        self.baseline[edges] = self.trust[edges]
        self.evidence[edges] = BETA_PRIOR_WEIGHT
        for team in lost_coach:
            org.coach_of_team[team] = -1
        self._choose_internal_coaches(lost_coach)
        self._set_capacity()
        self._people_replaced(leavers)
        self._refresh_masks()

    def _people_replaced(self, leavers: NDArray[np.int64]) -> None:
        """A hook: the newcomers have taken these places (TrustModel makes new agents)."""

    def _network_changed(self) -> None:
        """A hook: a reorganization made a new contact network (TrustModel's space)."""

    # ----------------------------------------------------------------- events
    def _apply_event(self, ev: Event) -> None:
        """Scheduled events happen first in their step (docs/ODD.md 7.19).

        What each type does is its entry's `apply` in sim.model.events (the registry:
        a new event type is declared there, and the fast path's stretch ends with it).
        """
        event_type(ev.type).apply(self, ev)

    def _endorse(self) -> None:
        """Every coach is endorsed by its sponsor now (ODD 7.6; the week does it when due)."""
        org, net = self.org, self.net
        kernels.endorse(
            self.trust,
            net.indptr,
            net.dst,
            org.team,
            org.level,
            org.boss,
            org.coach_of_team,
            self.sponsor_of_team,
            self.params.sponsorship_strength,
            self.params.hierarchy_attenuation,
        )

    def _breach(self, victims: NDArray[np.int64], breachers: NDArray[np.int64]) -> None:
        """Each breacher breaches its victim, in order (ODD 7.15): trust falls, teammates hear."""
        p, net = self.params, self.net
        kernels.breach_all(
            self.trust,
            net.indptr,
            net.dst,
            self.org.external,
            victims,
            breachers,
            p.breach_loss,
            p.gossip_weight,
        )

    def breach_by_role(self, role: str) -> None:
        """The coach (or managers, or the top manager) breaches towards everyone they serve."""
        org = self.org
        if role == "coach":
            who = org.coach_of_team[org.coach_of_team >= 0]
        elif role == "manager":
            who = org.team_manager
        else:
            who = np.flatnonzero((org.level == 0) & (org.role == MANAGER))
        victims, breachers = [], []
        for b in who:
            if role == "coach":
                served = np.flatnonzero(org.team == org.team[b])
            else:
                served = np.flatnonzero(org.boss == b)
            served = served[served != b]
            victims.append(served)
            breachers.append(np.full(len(served), b))
        if victims:
            self._breach(np.concatenate(victims), np.concatenate(breachers))
            self._counts[kernels.COUNTS.index("breaches")] += sum(len(v) for v in victims)

    def reorg(self) -> None:
        """Members (not coaches) are shuffled across teams; new pairs start at baseline."""
        org, rng = self.org, self.rngs["events"]
        movers = np.flatnonzero(org.role[: org.n_members] == MEMBER)
        org.team[movers] = rng.permutation(org.team[movers])
        org.boss[movers] = org.team_manager[org.team[movers]]
        old = self.net
        old_t, old_b, old_e = self.trust, self.baseline, self.evidence
        self.net = Network.from_pairs(org.n_people, *contact_pairs(org))
        pos = old.find(self.net.src, self.net.dst)
        kept = pos >= 0
        fresh = self._initial_trust(np.flatnonzero(~kept), rng)
        self.trust = np.empty(self.net.n_edges)
        self.baseline = np.empty(self.net.n_edges)
        self.evidence = np.full(self.net.n_edges, BETA_PRIOR_WEIGHT)
        self.trust[kept], self.baseline[kept], self.evidence[kept] = (
            old_t[pos[kept]],
            old_b[pos[kept]],
            old_e[pos[kept]],
        )
        self.trust[~kept] = fresh
        self.baseline[~kept] = fresh
        self._refresh_masks()
        self._network_changed()


def _beta_each(
    rng: np.random.Generator, mean: float, sd: NDArray[np.float64]
) -> NDArray[np.float64]:
    """One Beta draw per person with a common mean and each one's sd (sd 0: the mean)."""
    out = np.full(len(sd), mean)
    drawn = sd > 0
    a, b = mechanisms.beta_parameters(mean, sd[drawn])
    out[drawn] = rng.beta(a, b)
    return out


def _beta(rng: np.random.Generator, mean: float, sd: float, size: Any) -> NDArray[np.float64]:
    """Beta draws with a given mean and sd; sd = 0 gives the mean itself."""
    if sd <= 0:
        return np.full(size, mean)
    a, b = mechanisms.beta_parameters(mean, sd)
    return rng.beta(a, b, size)
