"""TrustModel: the trust-and-learning model of docs/ODD.md as a Mesa model.

State lives in numpy arrays on the model (structure of arrays): skills (people x
topics), traits, and trust on the directed edges of the contact network. Agents are
views on those arrays. One step runs the mechanisms of docs/ODD.md in their order, each
vectorized over people; the formulas themselves live in mechanisms.py.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
from numpy.typing import NDArray

from sim import kernels, learning, mechanisms
from sim.agents import TeamMember
from sim.metrics import MEASURES, TEAM_COLUMNS, measure, summarize
from sim.scenario import Event, Scenario
from sim.structure import (
    COACH,
    MANAGER,
    MEMBER,
    Network,
    build_organization,
    contact_pairs,
)
from sim.trust import beta_forget

__all__ = ["STREAMS", "TrustModel"]

# One random stream per mechanism (docs/ODD.md: "each mechanism draws from its own
# stream"), always spawned in this order, so switching one mechanism on or off does
# not shift the draws of any other.
STREAMS = (
    "people",
    "trust_init",
    "coach",
    "external",
    "need",
    "choice",
    "voice",
    "response",
    "outcome",
    "breach",
    "gossip",
    "turnover",
    "events",
    "mesa",
)

INITIAL_TRUST_NOISE = 0.05  # sd of the noise on initial trust (docs/ODD.md)
BENEVOLENCE_SD = 0.1
INTEGRITY_SD = 0.03
COACH_BENEVOLENCE = 0.9
BETA_PRIOR_WEIGHT = 2.0


def _seed_sequence(rng: Any) -> np.random.SeedSequence:
    """One SeedSequence from whatever a caller passes as `rng` (Mesa's convention)."""
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(2**63)))
    return np.random.SeedSequence(rng)


class TrustModel(mesa.Model):
    """Trust between colleagues decides whether they learn from each other.

    Build it from a Scenario, from keyword parameters with docs/ODD.md's names, or both
    (keywords override): `TrustModel(load_scenario(path), rng=42, gossip_rate=0.2)`.

    Attributes:
        params: the frozen Scenario this run uses (also `model.scenario`).
        seed: the entropy of the run's SeedSequence: passing it as `rng` reproduces
            the run exactly.
        skill: skills, people x topics.
        trust: trust on the directed edges of `net` (see structure.Network).
        baseline: the trust each edge decays back towards.
        datacollector: one row per step with every quantity of docs/ODD.md's "What is
            measured", and a "teams" table per team when `team_table` is on.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        rng: Any = None,
        team_table: bool | None = None,
        **params: Any,
    ) -> None:
        """Build the organization, draw everyone's traits and initial trust.

        Args:
            scenario: the Scenario to run (defaults to docs/ODD.md's defaults).
            rng: a seed (int), a SeedSequence, a numpy Generator, or None (fresh entropy).
            team_table: record a per-team table every step; by default only up to 50 teams.
            **params: parameters overriding the scenario's, validated like a file's.
        """
        base = scenario if scenario is not None else Scenario()
        p = base.with_(**params) if params else base
        seq = _seed_sequence(rng)
        self.seed: int = int(seq.entropy)  # type: ignore[arg-type]
        streams = seq.spawn(len(STREAMS))
        super().__init__(rng=np.random.default_rng(streams[-1]))
        self.params = p
        self.rngs: dict[str, np.random.Generator] = {
            name: np.random.default_rng(s) for name, s in zip(STREAMS, streams, strict=True)
        }

        self.org = build_organization(p.members, p.levels, external_coaches=p.coach == "external")
        n, k = self.org.n_people, p.topics
        self.n_staff = self.org.n_staff
        self.skill = np.zeros((n, k))
        self.propensity = np.zeros(n)
        self.benevolence = np.zeros(n)
        self.integrity = np.zeros(n)
        self._draw_people(np.arange(self.n_staff), self.rngs["people"])
        if p.coach == "external":
            self._draw_external_coaches()
        self.net = Network.from_pairs(n, *contact_pairs(self.org))
        self.trust = self._initial_trust(np.arange(self.net.n_edges), self.rngs["trust_init"])
        self.baseline = self.trust.copy()
        self.evidence = np.full(self.net.n_edges, BETA_PRIOR_WEIGHT)
        if p.coach == "internal":
            for t in range(self.org.n_teams):
                self._choose_internal_coach(t)
        self.capacity = np.zeros(n, dtype=np.int64)
        self._set_capacity()
        self.sponsor_active = p.sponsor != "none"
        self._round_params = np.array(
            [
                p.trust_selectivity,
                p.refusal_loss,
                p.trust_sensitivity,
                p.learning_rate,
                p.teaching_gain,
                p.self_learning_rate,
                p.trust_gain,
                p.trust_loss,
                p.peer_recognition,
                p.breach_loss,
                p.gossip_weight,
            ]
        )
        self._events: dict[int, list[Event]] = {}
        for ev in p.events:
            self._events.setdefault(ev.at, []).append(ev)

        self.people: list[TeamMember] = [TeamMember(self, i) for i in range(n)]
        self.counts: dict[str, int] = dict.fromkeys(
            ("needs", "asks", "silences", "helps", "successes", "breaches"), 0
        )
        self.team_table = self.org.n_teams <= 50 if team_table is None else team_table
        self.datacollector = mesa.DataCollector(
            model_reporters={"step": _step_number, **{name: name for name in MEASURES}},
            tables={"teams": list(TEAM_COLUMNS)} if self.team_table else None,
        )
        self._refresh_masks()
        self._collect()

    # Mesa's base class assigns its own experimental Scenario to `self.scenario`;
    # here `scenario` means the frozen trust-model Scenario the run was built from.
    @property  # type: ignore[override]
    def scenario(self) -> Scenario:
        """The frozen Scenario this run uses."""
        return self.params

    @scenario.setter
    def scenario(self, value: Any) -> None:
        self._mesa_scenario = value

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
        self.integrity[idx] = _beta(rng, p.integrity_mean, INTEGRITY_SD, n)

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
        noise[outside] = self.rngs["external"].normal(0.0, INITIAL_TRUST_NOISE, int(outside.sum()))
        return mechanisms.initial_trust(
            self.propensity[i],
            np.abs(org.level[i] - org.level[j]),
            factor,
            noise,
            p.initial_trust_scale,
            p.power_distance,
        )

    def _choose_internal_coach(self, team: int) -> None:
        """Make one member of the team its coach (`coach_selection`), with coach_training."""
        p, org = self.params, self.org
        candidates = np.flatnonzero((org.team == team) & (org.role == MEMBER) & ~org.external)
        candidates = candidates[candidates < org.n_members]
        if len(candidates) == 0:
            return
        u = self.rngs["coach"].random(len(candidates))  # also breaks ties at random
        if p.coach_selection == "most_trusted":
            mates = np.flatnonzero(org.team == team)
            e = self.net.find(np.repeat(mates, len(candidates)), np.tile(candidates, len(mates)))
            t = np.where(e >= 0, self.trust[np.maximum(e, 0)], np.nan).reshape(len(mates), -1)
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
        ).astype(np.int64)
        self.edge_team = np.where(within, ts, 0)

    # ------------------------------------------------------------------- step
    def step(self) -> None:
        """One working week, in docs/ODD.md's order."""
        t = int(self.steps)
        for key in self.counts:
            self.counts[key] = 0
        for ev in self._events.get(t, ()):
            self._apply_event(ev)
        self._sponsor(t)
        self._learning_round()
        self._gossip()
        self._decay()
        self._turnover()
        self._collect()
        if t >= self.params.steps:
            self.running = False

    def _sponsored(self, t: int) -> bool:
        p = self.params
        return self.sponsor_active and p.coach != "none" and t - 1 >= p.sponsor_start

    def _sponsor(self, t: int) -> None:
        """Step 0: endorsement when due, and the coach's development while sponsored."""
        p, org = self.params, self.org
        if not self._sponsored(t):
            return
        coaches = org.coach_of_team[org.coach_of_team >= 0]
        gap = np.maximum(0.0, p.external_skill - self.skill[coaches])
        self.skill[coaches] += p.coach_development * gap
        if (t - 1 - p.sponsor_start) % p.sponsor_interval == 0:
            self._endorse()

    def _endorse(self) -> None:
        """Every coach is endorsed by its sponsor (mechanisms.sponsorship_transfer)."""
        p, org, net = self.params, self.org, self.net
        if p.sponsor == "manager":
            sponsor = org.team_manager
        else:
            top = np.flatnonzero((org.role == MANAGER) & (org.level == 0))[0]
            sponsor = np.full(org.n_teams, top)
        kernels.endorse(
            self.trust,
            net.indptr,
            net.dst,
            org.team,
            org.level,
            org.boss,
            org.coach_of_team,
            sponsor,
            p.sponsorship_strength,
            p.hierarchy_attenuation,
        )

    def _learning_round(self) -> None:
        """Steps 1 to 6: need, choice, voice, response, outcome, breach."""
        p, org, net = self.params, self.org, self.net
        s = self.n_staff
        # 1. Need. Every stream draws a fixed number of values per step, whoever needs
        # them, so the draws line up across scenarios (common random numbers).
        u_need = self.rngs["need"].random((2, s))
        rate = np.where(org.role[:s] == MANAGER, p.manager_need_rate, p.need_rate)
        learner = np.flatnonzero(u_need[0] < rate)
        topic = self._need_topic(learner, u_need[1][learner])
        u_choice = self.rngs["choice"].random(s)
        u_voice = self.rngs["voice"].random(s)
        u_order, u_accept = self.rngs["response"].random((2, s))
        u_out = self.rngs["outcome"].random(s)
        u_breach = self.rngs["breach"].random(s)
        self.counts["needs"] += len(learner)
        if len(learner) == 0:
            return
        asks, silences, helps, successes, breaches = kernels.learning_round(
            self.skill,
            self.trust,
            self.evidence,
            net.indptr,
            net.dst,
            net.rev,
            org.role,
            org.external,
            self.benevolence,
            self.integrity,
            self.capacity,
            learner,
            topic,
            u_choice,
            u_voice,
            u_order,
            u_accept,
            u_out,
            u_breach,
            self._round_params,
            p.trust_rule == "beta",
            p.peer_coaching,
        )
        self.counts["asks"] += asks
        self.counts["silences"] += silences
        self.counts["helps"] += helps
        self.counts["successes"] += successes
        self.counts["breaches"] += breaches

    def _need_topic(self, learner: NDArray[np.int64], u: NDArray[np.float64]) -> NDArray[np.int64]:
        """Topic of each need, drawn with weight 1 - s_i[k] (docs/ODD.md step 1)."""
        w = 1.0 - self.skill[learner]
        cum = np.cumsum(w, axis=1)
        target = u * cum[:, -1]
        topic = (cum <= target[:, None]).sum(axis=1)
        return np.minimum(topic, self.params.topics - 1)

    def _breach(self, victims: NDArray[np.int64], breachers: NDArray[np.int64]) -> None:
        """J breaches i: i's trust falls, and i's teammates hear of it (docs/ODD.md step 6)."""
        p, org, net = self.params, self.org, self.net
        kernels.breach_all(
            self.trust,
            net.indptr,
            net.dst,
            org.external,
            victims,
            breachers,
            p.breach_loss,
            p.gossip_weight,
        )

    def _gossip(self) -> None:
        """Step 7: some people hear a trusted contact's view of a third contact."""
        p, net = self.params, self.net
        u = self.rngs["gossip"].random((3, self.n_staff))
        talker = np.flatnonzero(u[0] < p.gossip_rate)
        if len(talker):
            kernels.gossip(self.trust, net.indptr, net.dst, talker, u[1], u[2], p.gossip_weight)

    def _decay(self) -> None:
        """Step 8: trust returns towards its baseline; skills fade."""
        p = self.params
        if p.trust_rule == "beta":
            self.trust, self.evidence = beta_forget(
                self.trust, self.evidence, self.baseline, p.beta_forgetting
            )
        else:
            self.trust = mechanisms.decay_toward(self.trust, self.baseline, p.trust_decay)
        if p.skill_decay > 0:
            self.skill = learning.forget(self.skill, p.skill_decay)

    def _turnover(self) -> None:
        """Step 9: each member leaves with probability turnover_rate; a newcomer replaces them."""
        p = self.params
        if p.turnover_rate <= 0:
            return
        u = self.rngs["turnover"].random(self.org.n_members)
        self._replace(np.flatnonzero(u < p.turnover_rate), self.rngs["turnover"])

    def _replace(self, leavers: NDArray[np.int64], rng: np.random.Generator) -> None:
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
            self._choose_internal_coach(int(team))
        self._set_capacity()
        for i in leavers:
            self.people[i].remove()
            self.people[i] = TeamMember(self, int(i))
        self._refresh_masks()

    # ----------------------------------------------------------------- events
    def _apply_event(self, ev: Event) -> None:
        """Scheduled events happen first in their step (docs/ODD.md)."""
        org = self.org
        if ev.type == "sponsor_withdraws":
            self.sponsor_active = False
        elif ev.type == "sponsor_returns":
            self.sponsor_active = self.params.sponsor != "none"
        elif ev.type == "turnover_wave":
            rng = self.rngs["events"]
            n_leave = round(ev.fraction * org.n_members)
            self._replace(np.sort(rng.choice(org.n_members, n_leave, replace=False)), rng)
        elif ev.type == "reorg":
            self._reorg()
        elif ev.type == "breach":
            self._breach_by_role(ev.role)

    def trigger(self, event_type: str, **fields: Any) -> None:
        """Make an event happen now, between steps (the workshop app's event buttons).

        Args:
            event_type: "breach", "sponsor_withdraws", "sponsor_returns",
                "turnover_wave" or "reorg".
            **fields: the event's other fields (role, fraction), validated as in a file.
        """
        self._apply_event(Event(type=event_type, at=max(1, int(self.steps)), **fields))  # type: ignore[arg-type]

    def _breach_by_role(self, role: str) -> None:
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
            self.counts["breaches"] += sum(len(v) for v in victims)

    def _reorg(self) -> None:
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

    # ------------------------------------------------------------ measurement
    def _collect(self) -> None:
        values, teams = measure(self)
        self.__dict__.update(values)
        self.datacollector.collect(self)
        if self.team_table:
            for row in teams:
                self.datacollector.add_table_row("teams", row)

    def summary(self) -> dict[str, Any]:
        """Run-level results: final and mean values, time_to_competence, disintegrated."""
        return summarize(self)


def _step_number(model: TrustModel) -> int:
    return int(model.steps)


def _beta(rng: np.random.Generator, mean: float, sd: float, size: Any) -> NDArray[np.float64]:
    """Beta draws with a given mean and sd; sd = 0 gives the mean itself."""
    if sd <= 0:
        return np.full(size, mean)
    a, b = mechanisms.beta_parameters(mean, sd)
    return rng.beta(a, b, size)
