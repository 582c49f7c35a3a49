"""The trustsim model written a second time, one Mesa agent per person, from docs/ODD.md.

This is the reference implementation used for docking (Axtell et al. 1996; see
benchmarks/docking.py). It was written from docs/ODD.md, not from the fast model
(`sim.model.trust_model.TrustModel`, numpy arrays and numba kernels), so that the two can be
compared: where their distributions of outcomes differ, one of them departs from the
ODD.

Reused from the fast model's package, and only this:

- `sim.model.scenario` (the frozen, validated `Scenario` and its `Event`s): the parameters;
- `sim.model.structure.build_organization`: who is at which level, who reports to whom, who
  is in which front-line team, and where the external coaches are (ODD section 2).
  Structure is not what docking tests. Everything else is read off those arrays once,
  into plain Python attributes of the agents.

Reimplemented from the ODD, in plain Python, with trust kept per person in a dict
keyed by the contact's `unique_id` (`self.trust`, `self.baseline`, `self.evidence`):
the contact network (section 2, also rebuilt by `reorg`), traits and skills (7.2),
initial and baseline trust with power distance and management distrust (7.3),
internal coach selection (7.4), the external coach, capacity (7.5), sponsorship:
endorsement with hierarchy attenuation and trust along the reporting chain, and coach
development (7.6), need (7.7), choice of helper (7.8), voice and silence (7.9),
self-study (7.10), response and refusal (7.11), outcome and skills (7.12), both trust
rules (7.13), peer recognition (7.14), breach and its hearing (7.15), gossip (7.16),
decay and forgetting (7.17), turnover (7.18), the events (7.19), and every measure and
the run summary (section 8). No function of `sim.model.mechanisms`, `sim.model.learning`,
`sim.model.trust`, `sim.model.kernels` or `sim.model.measures` is called (only the key names
`sim.model.measures.MEASURES` are, to name the columns the same way).

Schedule (ODD section 3). Where the ODD says people act on the state at the start of a
phase, or in random order, the model does that with Mesa's agent sets:

- `agents.shuffle_do("step")`: need, choice, voice (7.7 to 7.9), on start-of-round
  state (nothing shared is written, so the order does not matter);
- `agents.shuffle_do("request_help")`: requests are served in random order, up to
  capacity (7.11);
- `agents.do(...)`: outcomes on start-of-round trust, new skills computed from
  start-of-round skills and written together, then the helpers' teaching gain (7.12);
- in index order (the ODD's sequence): refusals and the learner's side of outcomes,
  the helper's side of successes, peer recognition, breaches (7.13 to 7.15);
- gossip: every talker's update computed on start-of-phase trust
  (`shuffle_do("plan_gossip")`), then written (`do("tell_gossip")`) (7.16);
- decay on every edge (7.17), then turnover (7.18), then the measures.

All the model's draws come from `self.rng` (`mesa.Model(rng=seed)`); the shuffles of
Mesa's agent sets use `self.random`, which Mesa seeds from the same seed. The random
streams are not those of the fast model (the ODD's stream layout is about common random
numbers between regimes, not part of the mechanisms): docking compares distributions
over seeds, not single runs.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import mesa
import numpy as np
from mesa.agentset import AgentSet

from sim.model.events import Event
from sim.model.measures import MEASURES, registered
from sim.model.scenario import Scenario
from sim.model.structure import MANAGER as ORG_MANAGER
from sim.model.structure import build_organization

__all__ = ["ReferenceMember", "ReferenceModel"]

MEMBER, MANAGER, COACH = "member", "manager", "coach"

# Fixed constants of the ODD ("Fixed constants", 7.2).
TRUST_NOISE_SD = 0.05
BENEVOLENCE_SD = 0.1
INTEGRITY_SD = 0.03
COACH_BENEVOLENCE = 0.9
PRIOR_WEIGHT = 2.0
MANAGER_CAPACITY = 1


def clip(x: float) -> float:
    """Clip to [0, 1]."""
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def beta_draw(rng: np.random.Generator, mean: float, sd: float) -> float:
    """One Beta draw with mean and sd by the method of moments; sd = 0 gives the mean (7.2)."""
    if sd <= 0:
        return mean
    k = mean * (1.0 - mean) / (sd * sd) - 1.0
    return float(rng.beta(mean * k, (1.0 - mean) * k))


class ReferenceMember(mesa.Agent):
    """One person: a front-line member, a manager, or an external coach (ODD section 2).

    An internal coach is a member whose role is "coach". Trust lives on the person's
    contacts: `trust[uid]`, `baseline[uid]` and `evidence[uid]` for each contact's
    `unique_id` (the dict's keys are exactly the person's contacts).
    """

    model: ReferenceModel

    def __init__(
        self,
        model: ReferenceModel,
        index: int,
        role: str,
        level: int,
        team: int,
        external: bool = False,
    ) -> None:
        super().__init__(model)
        self.index = index  # place in the organization (ODD "index order"); kept by newcomers
        self.role = role
        self.external = external
        self.level = level
        self.team = team  # front-line team, or -1 above the front line
        self.boss: ReferenceMember | None = None
        self.skill: list[float] = []
        self.propensity = 0.0
        self.benevolence = 0.0
        self.integrity = 0.0
        self.capacity = 1
        self.trust: dict[int, float] = {}
        self.baseline: dict[int, float] = {}
        self.evidence: dict[int, float] = {}
        self.start_week()

    # ----------------------------------------------------------------- helpers
    def contacts(self) -> list[ReferenceMember]:
        """Everyone this person is in contact with."""
        person = self.model.person
        return [person[uid] for uid in self.trust]

    def start_week(self) -> None:
        """Forget last week's requests (the model's counters are reset too)."""
        self.topic = -1  # the topic of this week's learning need, -1 without a need
        self.helper: ReferenceMember | None = None  # whom this person asked
        self.accepted = False
        self.succeeded = False
        self.used = 0  # requests accepted this week, as a helper
        self.taught: dict[int, int] = {}  # topic -> successes as a helper this week
        self.new_skill = 0.0
        self.gossip: tuple[int, float] | None = None

    def draw_traits(self) -> None:
        """Skills, propensity, benevolence and integrity of a member or manager (7.2)."""
        p, rng = self.model.params, self.model.rng
        skill = [beta_draw(rng, p.skill_mean, p.skill_sd) for _ in range(p.topics)]
        specialty = int(rng.integers(p.topics))
        skill[specialty] += p.specialty_bonus
        if self.role == MANAGER:
            skill = [p.manager_skill] * p.topics
        self.skill = [clip(s) for s in skill]
        self.propensity = beta_draw(rng, p.propensity_mean, p.propensity_sd)
        self.benevolence = beta_draw(rng, p.benevolence_mean, BENEVOLENCE_SD)
        sd = p.manager_integrity_sd if self.role == MANAGER else INTEGRITY_SD
        self.integrity = beta_draw(rng, p.integrity_mean, sd)

    def draw_external_traits(self) -> None:
        """An external coach: skill external_skill, own p and g, benevolence 0.9 (7.2)."""
        p, rng = self.model.params, self.model.rng
        self.skill = [p.external_skill] * p.topics
        self.propensity = beta_draw(rng, p.propensity_mean, p.propensity_sd)
        self.integrity = beta_draw(rng, p.integrity_mean, INTEGRITY_SD)
        self.benevolence = COACH_BENEVOLENCE

    def initial_trust_in(self, other: ReferenceMember) -> float:
        """T0[i, j] (7.3): propensity, scale, power distance per level, noise, f_j."""
        p = self.model.params
        noise = float(self.model.rng.normal(0.0, TRUST_NOISE_SD))
        gap = abs(self.level - other.level)
        value = clip(self.propensity * p.initial_trust_scale * p.power_distance**gap + noise)
        if other.external:
            factor = p.external_trust_discount
        elif other.role == MANAGER:
            factor = p.management_trust_scale
        else:
            factor = 1.0
        value = clip(value * factor)
        model, n = self.model, p.members
        if p.team_norm_sd > 0 and self.index < n and other.index < n and self.team == other.team:
            value = clip(value + model.team_norm[self.team])  # the team's norm (7.3)
        return value

    def meet(self, other: ReferenceMember) -> None:
        """A new contact i -> j: fresh initial trust, which is also the baseline; evidence 2."""
        value = self.initial_trust_in(other)
        self.trust[other.unique_id] = value
        self.baseline[other.unique_id] = value
        self.evidence[other.unique_id] = PRIOR_WEIGHT

    def mean_skill(self) -> float:
        """Mean skill over topics."""
        return sum(self.skill) / len(self.skill)

    def observe(self, other: ReferenceMember, won: bool) -> None:
        """One help outcome moves trust in `other` by the scenario's trust rule (7.13)."""
        p = self.model.params
        uid = other.unique_id
        t = self.trust[uid]
        if p.trust_rule == "beta":
            n = self.evidence[uid]
            self.trust[uid] = (t * n + (1.0 if won else 0.0)) / (n + 1.0)
            self.evidence[uid] = n + 1.0
        elif won:
            self.trust[uid] = t + p.trust_gain * (1.0 - t)
        else:
            self.trust[uid] = t - p.trust_loss * t

    # ------------------------------------------------------ phases 1 to 3
    def step(self) -> None:
        """This person's decisions in the week: need (7.7), choice of helper (7.8), voice (7.9).

        Reads only start-of-round trust and skills and writes only this person's own
        request, so the order in which people take this step does not matter.
        """
        p, rng, counts = self.model.params, self.model.rng, self.model.counts
        if self.external:
            return  # external coaches have no needs
        model = self.model
        if self.role == MANAGER:
            rate, openness = p.manager_need_rate, 1.0
        else:  # 7.7 and 7.9: the team's need rate and its manager's openness to voice
            rate, openness = model.team_need_rate[self.team], model.team_openness[self.team]
        if not rng.random() < rate:
            return
        counts["needs"] += 1
        self.topic = self.need_topic(float(rng.random()))
        k = self.topic
        # 7.8: every contact who knows the topic better, weighted by trust ** selectivity.
        candidates: list[tuple[ReferenceMember, float]] = []
        for other in self.contacts():
            gap = other.skill[k] - self.skill[k]
            weight = self.trust[other.unique_id] ** p.trust_selectivity * max(gap, 0.0)
            if weight > 0.0:
                candidates.append((other, weight))
        if not candidates:
            return  # no candidate: self-study
        total = sum(w for _, w in candidates)
        target = float(rng.random()) * total
        chosen = candidates[-1][0]
        if p.choice_rule == "best":  # the heaviest; the first of equals in index order
            ordered = sorted(candidates, key=lambda c: c[0].index)
            chosen = max(ordered, key=lambda c: c[1])[0]
        else:
            cumulative = 0.0
            for other, w in candidates:
                cumulative += w
                if cumulative > target:
                    chosen = other
                    break
        # 7.9: ask with probability T[i, j] (or mean trust in all contacts), times the
        # team's openness, at most 1; otherwise silence (and self-study).
        felt = self.trust[chosen.unique_id]
        if p.voice_rule == "general":
            felt = sum(self.trust.values()) / len(self.trust)
        if rng.random() < min(1.0, felt * openness):
            self.helper = chosen
            counts["asks"] += 1
        else:
            counts["silences"] += 1

    def need_topic(self, u: float) -> int:
        """The topic of a need, with weight 1 - s_i[k]; the last topic if all weights are 0."""
        weights = [1.0 - s for s in self.skill]
        total = sum(weights)
        if total <= 0.0:
            return len(weights) - 1
        target = u * total
        cumulative = 0.0
        for k, w in enumerate(weights):
            cumulative += w
            if cumulative > target:
                return k
        return len(weights) - 1

    # ------------------------------------------------------------ phase 4
    def request_help(self) -> None:
        """Response (7.11): the helper accepts with probability b_j if it has capacity left.

        Called in random order over people, so requests are served in random order.
        """
        j = self.helper
        if j is None:
            return
        if j.used < j.capacity and self.model.rng.random() < j.benevolence:
            j.used += 1
            self.accepted = True

    # ------------------------------------------------------------ phase 5
    def see_outcome(self) -> None:
        """Accepted help succeeds with probability sqrt(T[i, j] T[j, i]) ** sensitivity (7.12).

        On start-of-round trust: no trust has changed yet in this round.
        """
        j = self.helper
        if j is None or not self.accepted:
            return
        p = self.model.params
        mine, theirs = self.trust[j.unique_id], j.trust[self.unique_id]
        both = min(mine, theirs) if p.success_rule == "weakest" else math.sqrt(mine * theirs)
        chance = both**p.trust_sensitivity
        self.succeeded = bool(self.model.rng.random() < chance)

    def plan_learning(self) -> None:
        """The need's new skill, from start-of-round skills (7.10, 7.12); written later."""
        if self.topic < 0:
            return
        p, k = self.model.params, self.topic
        s = self.skill[k]
        if self.succeeded:
            assert self.helper is not None
            self.new_skill = s + p.learning_rate * (self.helper.skill[k] - s)
            self.helper.taught[k] = self.helper.taught.get(k, 0) + 1
        elif self.accepted:
            self.new_skill = s  # accepted help that failed teaches nothing, not even self-study
        else:
            # no candidate, silence, or refusal: self-study
            self.new_skill = s + p.self_learning_rate * (1.0 - s)

    def apply_learning(self) -> None:
        """Write the planned skill (all learners together)."""
        if self.topic >= 0:
            self.skill[self.topic] = self.new_skill

    def gain_from_teaching(self) -> None:
        """The helper closes teaching_gain of its gap once per success (7.12), after learners."""
        gain = self.model.params.teaching_gain
        for k, m in self.taught.items():
            for _ in range(m):
                self.skill[k] += gain * (1.0 - self.skill[k])

    # ---------------------------------------------------- trust, in index order
    def learner_trust(self) -> None:
        """A refusal (7.11) or the learner's side of an outcome (7.13)."""
        j = self.helper
        if j is None:
            return
        if not self.accepted:
            uid = j.unique_id
            self.trust[uid] -= self.model.params.refusal_loss * self.trust[uid]
            return
        self.model.counts["helps"] += 1
        self.observe(j, self.succeeded)

    def helper_trust(self) -> None:
        """The helper's side of a success (7.13): the helper's trust in the learner rises."""
        if self.succeeded:
            assert self.helper is not None
            self.model.counts["successes"] += 1
            self.helper.observe(self, True)

    def recognize_helper(self) -> None:
        """Peer recognition (7.14): the helper's teammates raise their trust in it."""
        j = self.helper
        if not self.succeeded or j is None or j.role == MANAGER or j.external:
            return
        amount = self.model.params.peer_recognition
        for w in j.contacts():
            if not w.external:
                w.trust[j.unique_id] = min(1.0, w.trust[j.unique_id] + amount)

    def maybe_breached(self) -> None:
        """Per help given, the helper breaches with probability 1 - g_j (7.15)."""
        j = self.helper
        if j is None or not self.accepted:
            return
        if self.model.rng.random() < 1.0 - j.integrity:
            self.model.counts["breaches"] += 1
            self.model.breach(self, j)

    # ------------------------------------------------------------ phase 7
    def plan_gossip(self) -> None:
        """Gossip (7.16): maybe talk to a trusted contact j about a common contact k.

        Computed on start-of-phase trust; written by `tell_gossip`.
        """
        p, rng = self.model.params, self.model.rng
        if self.external or not rng.random() < p.gossip_rate:
            return
        total = sum(self.trust.values())
        if total <= 0.0:
            return
        target = float(rng.random()) * total
        cumulative = 0.0
        j_uid = -1
        for uid, t in self.trust.items():
            if t > 0.0:
                j_uid = uid
                cumulative += t
                if cumulative > target:
                    break
        j = self.model.person[j_uid]
        common = [uid for uid in j.trust if uid in self.trust]
        if not common:
            return
        k_uid = common[int(rng.integers(len(common)))]
        t_ik, t_ij, t_jk = self.trust[k_uid], self.trust[j_uid], j.trust[k_uid]
        self.gossip = (k_uid, t_ik + p.gossip_weight * t_ij * (t_jk - t_ik))

    def tell_gossip(self) -> None:
        """Write the gossip update planned on start-of-phase trust."""
        if self.gossip is not None:
            k_uid, value = self.gossip
            self.trust[k_uid] = value

    # ------------------------------------------------------------ phase 8
    def forget(self) -> None:
        """Decay to baseline, or Beta forgetting; skill decay (7.17)."""
        p = self.model.params
        if p.trust_rule == "beta":
            f = p.beta_forgetting
            for uid, t in self.trust.items():
                n, m = self.evidence[uid], self.baseline[uid]
                a_new = 2.0 * m + f * (t * n - 2.0 * m)
                n_new = 2.0 + f * (n - 2.0)
                self.trust[uid] = clip(a_new / n_new)
                self.evidence[uid] = n_new
        else:
            for uid, t in self.trust.items():
                self.trust[uid] = t + p.trust_decay * (self.baseline[uid] - t)
        if p.skill_decay > 0:
            self.skill = [s - p.skill_decay * s for s in self.skill]


class ReferenceModel(mesa.Model):
    """The trustsim model, one agent per person, following docs/ODD.md.

    `ReferenceModel(scenario, rng=seed)`, then `run()` (or `step()` until not
    `running`), then `summary()`, whose keys are those of `sim.model.measures.SUMMARY_KEYS`.
    """

    # The event types this model implements (7.19), each by the method named; it refuses
    # a scenario with any other (sim.model.events may register types it has not caught
    # up with: tests/test_events.py checks both lists name the same types).
    EVENTS: ClassVar[dict[str, str]] = {
        "breach": "breach_event",
        "sponsor_withdraws": "withdraw_sponsor",
        "sponsor_returns": "return_sponsor",
        "turnover_wave": "turnover_wave",
        "reorg": "reorg_event",
    }

    def __init__(self, scenario: Scenario | None = None, *, rng: Any = None, **params: Any):
        """Initialization, in the ODD's order (section 5)."""
        super().__init__(rng=rng)
        base = scenario if scenario is not None else Scenario()
        p = base.with_(**params) if params else base
        missing = sorted({ev.type for ev in p.events} - set(self.EVENTS))
        if missing:  # a type registered in sim.model.events after this was written
            raise NotImplementedError(
                f"the reference model does not implement the event type(s) "
                f"{', '.join(map(repr, missing))} of scenario {p.name!r}: it implements "
                f"{', '.join(self.EVENTS)} (7.19); add the type to ReferenceModel.EVENTS"
            )
        self.params = p
        self.counts: dict[str, int] = dict.fromkeys(
            ("needs", "asks", "silences", "helps", "successes", "breaches"), 0
        )
        self.person: dict[int, ReferenceMember] = {}  # unique_id -> person
        self.people: list[ReferenceMember] = []  # index order
        self._build_organization()
        for a in self.people:
            if a.external:
                a.draw_external_traits()
            else:
                a.draw_traits()
        self.draw_teams()
        self._draw_contacts({})
        self.coach_of_team: list[ReferenceMember | None] = [None] * len(self.team_manager)
        if p.coach == "external":
            for a in self.people:
                if a.external:
                    self.coach_of_team[a.team] = a
        if p.coach == "internal":
            for t in range(len(self.team_manager)):
                self.choose_internal_coach(t)
        self.set_capacity()
        self.sponsor_active = p.sponsor != "none"
        self.events: dict[int, list[Event]] = {}
        for ev in p.events:
            self.events.setdefault(ev.at, []).append(ev)
        self.team_largest_share: list[float] = []
        self.datacollector = mesa.DataCollector(
            model_reporters={"step": "steps", **{name: name for name in MEASURES}}
        )
        self.record()

    # ------------------------------------------------------------ structure
    def _build_organization(self) -> None:
        """People, levels, bosses and teams (section 2, reused from sim.model.structure)."""
        p = self.params
        org = build_organization(p.members, p.levels, p.coach == "external", p.team_size, p.span)
        for i in range(org.n_people):
            if org.external[i]:
                role = COACH
            elif org.role[i] == ORG_MANAGER:
                role = MANAGER
            else:
                role = MEMBER
            a = ReferenceMember(
                self, i, role, int(org.level[i]), int(org.team[i]), bool(org.external[i])
            )
            self.people.append(a)
            self.person[a.unique_id] = a
        for i, a in enumerate(self.people):
            b = int(org.boss[i])
            a.boss = self.people[b] if b >= 0 else None
        self.team_manager = [self.people[int(m)] for m in org.team_manager]
        self.top = next(a for a in self.people if a.role == MANAGER and a.level == 0)

    def contact_groups(self) -> list[list[ReferenceMember]]:
        """The cliques of the contact network (section 2).

        Every manager with their direct reports; every external coach with the team it
        serves (its members and front-line manager).
        """
        groups: dict[int, list[ReferenceMember]] = {}
        for a in self.people:
            if a.boss is not None:
                groups.setdefault(a.boss.unique_id, [a.boss]).append(a)
        cliques = list(groups.values())
        for a in self.people:
            if a.external:
                served = [b for b in self.people if b.team == a.team and not b.external]
                cliques.append([*served, a])
        return cliques

    def _draw_contacts(self, kept: dict[tuple[int, int], tuple[float, float, float]]) -> None:
        """(Re)build everyone's contacts; pairs in `kept` keep (trust, baseline, evidence).

        New pairs get a fresh initial trust draw (7.3), which is also their baseline,
        and evidence 2.
        """
        pairs: set[tuple[int, int]] = set()
        for group in self.contact_groups():
            for a in group:
                for b in group:
                    if a is not b:
                        pairs.add((a.index, b.index))
        for a in self.people:
            a.trust, a.baseline, a.evidence = {}, {}, {}
        for i, j in sorted(pairs):
            a, b = self.people[i], self.people[j]
            if (i, j) in kept:
                t, base, n = kept[(i, j)]
                a.trust[b.unique_id], a.baseline[b.unique_id], a.evidence[b.unique_id] = t, base, n
            else:
                a.meet(b)

    def choose_internal_coach(self, team: int) -> None:
        """Internal coach selection (7.4), with coach training and benevolence 0.9."""
        p, rng = self.params, self.rng
        candidates = [a for a in self.people if a.team == team and a.role == MEMBER]
        if not candidates:
            return
        scored = []
        for c in candidates:
            u = float(rng.random())
            if p.coach_selection == "most_trusted":
                mates = [w for w in self.people if w.team == team and w is not c and not w.external]
                score = sum(w.trust[c.unique_id] for w in mates) / len(mates)
            elif p.coach_selection == "most_skilled":
                score = c.mean_skill()
            else:
                score = u
            scored.append((score, u, c))
        _, _, coach = max(scored, key=lambda x: (x[0], x[1]))
        coach.role = COACH
        coach.skill = [min(1.0, s + p.coach_training) for s in coach.skill]
        coach.benevolence = COACH_BENEVOLENCE
        self.coach_of_team[team] = coach

    def draw_teams(self) -> None:
        """Each front-line team's manager openness and need rate (7.2a)."""
        p, n_teams = self.params, len(self.team_manager)
        sd = p.manager_openness_sd
        self.team_openness = [
            math.exp(sd * float(self.rng.normal())) if sd > 0 else 1.0 for _ in range(n_teams)
        ]
        self.team_need_rate = [
            beta_draw(self.rng, p.need_rate, p.interdependence_sd) for _ in range(n_teams)
        ]
        self.team_norm = [
            float(self.rng.normal(0.0, p.team_norm_sd)) if p.team_norm_sd > 0 else 0.0
            for _ in range(n_teams)
        ]

    def climate(self) -> None:
        """Shared climate (7.16a): members' trust in teammates moves to the team's level."""
        w = self.params.team_climate
        if w <= 0:
            return
        n = self.params.members

        def teammates(a: ReferenceMember) -> list[int]:
            return [
                uid
                for uid in a.trust
                if self.person[uid].index < n and self.person[uid].team == a.team
            ]

        members = [a for a in self.people if a.index < n]
        level = {a.index: sum(a.trust[u] for u in teammates(a)) / len(teammates(a))
                 for a in members if teammates(a)}  # fmt: skip
        by_team: dict[int, list[float]] = {}
        for a in members:
            if a.index in level:
                by_team.setdefault(a.team, []).append(level[a.index])
        for a in members:
            if a.index in level:
                team_level = sum(by_team[a.team]) / len(by_team[a.team])
                shift = w * (team_level - level[a.index])
                for u in teammates(a):
                    a.trust[u] = clip(a.trust[u] + shift)

    def set_capacity(self) -> None:
        """Requests each person can accept per step (7.5)."""
        p = self.params
        for a in self.people:
            if a.role == COACH:
                a.capacity = p.coach_capacity
            elif a.role == MANAGER:
                a.capacity = MANAGER_CAPACITY
            else:
                a.capacity = p.peer_capacity if p.peer_coaching else 1

    def in_index_order(self) -> AgentSet[ReferenceMember]:
        """Everyone, in index order (the ODD's order for the trust updates)."""
        return AgentSet(self.people, random=self.random)

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """One week, in the order of ODD section 3."""
        t = self.steps  # Mesa has already counted this step: 1 for the first week
        for key in self.counts:
            self.counts[key] = 0
        self.agents.do("start_week")
        for ev in self.events.get(t, ()):
            self.apply_event(ev)  # 0a
        self.sponsorship(t)  # 0b
        self.learning_round()  # 1 to 6
        self.agents.shuffle_do("plan_gossip")  # 7
        self.agents.do("tell_gossip")
        self.climate()  # 7a
        self.agents.do("forget")  # 8
        self.turnover()  # 9
        self.record()
        if t >= self.params.steps:
            self.running = False

    def run(self) -> ReferenceModel:
        """Every step of the run."""
        while self.running:
            self.step()
        return self

    def sponsorship(self, t: int) -> None:
        """Coach development every sponsored step, endorsement when due (7.6)."""
        p = self.params
        if not (self.sponsor_active and p.coach != "none" and t - 1 >= p.sponsor_start):
            return
        coaches = [c for c in self.coach_of_team if c is not None]
        for c in coaches:
            c.skill = [s + p.coach_development * max(0.0, p.external_skill - s) for s in c.skill]
        if (t - 1 - p.sponsor_start) % p.sponsor_interval == 0:
            self.endorse()

    def endorse(self) -> None:
        """Endorsement (Stewart 2003), fading with hierarchy_attenuation per level (7.6)."""
        p = self.params
        for team, c in enumerate(self.coach_of_team):
            if c is None:
                continue
            sponsor = self.team_manager[team] if p.sponsor == "manager" else self.top
            for i in c.contacts():
                if i is sponsor or i.team != team:
                    continue
                chain = 1.0  # trust along i's reporting chain up to the sponsor
                cur = i
                while cur is not sponsor and cur.boss is not None:
                    chain *= cur.trust[cur.boss.unique_id]
                    cur = cur.boss
                if cur is not sponsor:
                    continue
                d = i.level - sponsor.level
                t = i.trust[c.unique_id]
                i.trust[c.unique_id] = t + (
                    p.sponsorship_strength * chain * p.hierarchy_attenuation ** (d - 1) * (1.0 - t)
                )

    def learning_round(self) -> None:
        """Need, choice, voice, response, outcome, skills, trust, breach (7.7 to 7.15)."""
        self.agents.shuffle_do("step")  # need, choice, voice on start-of-round state
        self.agents.shuffle_do("request_help")  # served in random order, up to capacity
        self.agents.do("see_outcome")  # chances on start-of-round trust
        self.agents.do("plan_learning")  # from start-of-round skills ...
        self.agents.do("apply_learning")  # ... written together
        self.agents.do("gain_from_teaching")  # helpers, after the learners
        in_order = self.in_index_order()
        in_order.do("learner_trust")  # refusals and the learner's side, learners in index order
        in_order.do("helper_trust")  # then the helper's side of each success
        if self.params.peer_coaching:
            in_order.do("recognize_helper")  # then peer recognition
        in_order.do("maybe_breached")  # then breaches, learners in index order

    def breach(self, victim: ReferenceMember, breacher: ReferenceMember) -> None:
        """J breaches i: i's trust falls; i's teammates in contact with j hear of it (7.15)."""
        p = self.params
        j = breacher.unique_id
        if j in victim.trust:
            victim.trust[j] *= 1.0 - p.breach_loss
        for w in victim.contacts():
            if w is breacher or w.external or j not in w.trust:
                continue
            w.trust[j] -= p.gossip_weight * w.trust[victim.unique_id] * p.breach_loss * w.trust[j]

    def turnover(self) -> None:
        """Each member (internal coaches included) leaves with probability turnover_rate (7.18)."""
        p = self.params
        if p.turnover_rate <= 0:
            return
        leavers = [a.index for a in self.people[: p.members] if self.rng.random() < p.turnover_rate]
        self.replace(leavers)

    def replace(self, leavers: list[int]) -> None:
        """Newcomers take the leavers' places (7.18): fresh traits, fresh trust, new agents."""
        if not leavers:
            return
        olds = [self.people[i] for i in leavers]
        lost_coach = sorted({old.team for old in olds if old.role == COACH})
        neighbours = {old.index: [b.index for b in old.contacts()] for old in olds}
        for old in olds:  # the others forget the leavers ...
            for b in old.contacts():
                for table in (b.trust, b.baseline, b.evidence):
                    table.pop(old.unique_id, None)
        newcomers = []
        for old in olds:
            new = ReferenceMember(self, old.index, MEMBER, old.level, old.team)
            new.boss = old.boss
            new.draw_traits()
            del self.person[old.unique_id]
            old.remove()
            self.people[old.index] = new
            self.person[new.unique_id] = new
            newcomers.append(new)
        for new in newcomers:  # ... and every edge to and from a newcomer is drawn afresh
            for j in neighbours[new.index]:
                other = self.people[j]
                new.meet(other)
                other.meet(new)  # drawn twice for a pair of newcomers: the last draw stands
        for team in lost_coach:
            self.coach_of_team[team] = None
            self.choose_internal_coach(team)
        self.set_capacity()

    # ---------------------------------------------------------------- events
    def apply_event(self, ev: Event) -> None:
        """A scheduled event, at the start of its step (7.19)."""
        getattr(self, self.EVENTS[ev.type])(ev)

    def withdraw_sponsor(self, ev: Event) -> None:
        """sponsor_withdraws: the sponsor stops backing the coach."""
        self.sponsor_active = False

    def return_sponsor(self, ev: Event) -> None:
        """sponsor_returns: the sponsor backs the coach again, if the scenario has one."""
        self.sponsor_active = self.params.sponsor != "none"

    def turnover_wave(self, ev: Event) -> None:
        """turnover_wave: round(fraction x members) members leave at once (7.18)."""
        n_leave = round(ev.fraction * self.params.members)
        chosen = self.rng.choice(self.params.members, n_leave, replace=False)
        self.replace(sorted(int(i) for i in chosen))

    def breach_event(self, ev: Event) -> None:
        """breach: the role breaches towards everyone it serves or leads."""
        self.breach_by_role(ev.role)

    def reorg_event(self, ev: Event) -> None:
        """reorg: plain members are shuffled across teams."""
        self.reorg()

    def breach_by_role(self, role: str) -> None:
        """Coaches towards their teams, front-line managers or the top towards their reports."""
        if role == "coach":
            breachers = [c for c in self.coach_of_team if c is not None]
        elif role == "manager":
            breachers = list(self.team_manager)
        else:
            breachers = [self.top]
        for b in breachers:
            if role == "coach":
                victims = [a for a in self.people if a.team == b.team and not a.external]
            else:
                victims = [a for a in self.people if a.boss is b]
            for v in victims:
                if v is not b:
                    self.breach(v, b)
                    self.counts["breaches"] += 1

    def reorg(self) -> None:
        """Plain members are shuffled across teams; new pairs start at fresh baselines (7.19)."""
        movers = [a for a in self.people[: self.params.members] if a.role == MEMBER]
        labels = [a.team for a in movers]
        shuffled = [labels[int(k)] for k in self.rng.permutation(len(labels))]
        kept: dict[tuple[int, int], tuple[float, float, float]] = {}
        for a in self.people:
            for uid, t in a.trust.items():
                kept[(a.index, self.person[uid].index)] = (t, a.baseline[uid], a.evidence[uid])
        for a, team in zip(movers, shuffled, strict=True):
            a.team = team
            a.boss = self.team_manager[team]
        self._draw_contacts(kept)

    # ---------------------------------------------------------- observation
    def record(self) -> None:
        """Every measure of ODD section 8, recorded as this step's row."""
        p, c = self.params, self.counts
        sums = dict.fromkeys(("all", "within", "cross", "manager", "coach"), 0.0)
        ns = dict.fromkeys(sums, 0)
        for a in self.people:
            for uid, t in a.trust.items():
                b = self.person[uid]
                kinds = ["all"]
                if not a.external and not b.external and a.team >= 0 and b.team >= 0:
                    kinds.append("within" if a.team == b.team else "cross")
                if b.role == MANAGER:
                    kinds.append("manager")
                if b.role == COACH:
                    kinds.append("coach")
                for kind in kinds:
                    sums[kind] += t
                    ns[kind] += 1
        mean = {k: sums[k] / ns[k] if ns[k] else math.nan for k in sums}
        self.mean_trust = mean["all"]
        self.within_team_trust = mean["within"]
        self.cross_team_trust = mean["cross"]
        self.trust_in_managers = mean["manager"]
        self.trust_in_coach = mean["coach"]

        x = sorted(a.mean_skill() for a in self.people[: p.members])
        n = len(x)
        self.mean_skill = sum(x) / n
        pos = 0.1 * (n - 1)
        lo = int(pos)
        hi = min(lo + 1, n - 1)
        self.skill_p10 = x[lo] + (pos - lo) * (x[hi] - x[lo])
        total = sum(x)
        self.skill_gini = (
            min(
                1.0,
                max(
                    0.0, 2.0 * sum((r + 1) * v for r, v in enumerate(x)) / (n * total) - (n + 1) / n
                ),
            )
            if total > 0
            else 0.0
        )

        self.needs = c["needs"]
        self.asks = c["asks"]
        self.silence_rate = c["silences"] / c["needs"] if c["needs"] else math.nan
        self.help_success_rate = c["successes"] / c["helps"] if c["helps"] else math.nan
        self.breaches = c["breaches"]

        components, largest = [], []
        for team in range(len(self.team_manager)):
            count, share = self.bonded_components(team)
            components.append(count)
            largest.append(share)
        self.fragmentation = sum(components) / len(components)
        self.largest_component_share = sum(largest) / len(largest)
        self.team_largest_share = largest
        # Measures derived from the others (sim.model.measures.DERIVED) by their own rule,
        # in registry order: arithmetic on this model's values, as the fast path does it.
        compiled = [m.name for m in registered() if m.derive is None]
        row = {name: np.array([float(getattr(self, name))]) for name in compiled}
        for m in registered():
            if m.derive is not None:
                row[m.name] = m.derive(row)
                setattr(self, m.name, float(row[m.name][0]))
        self.datacollector.collect(self)

    def bonded_components(self, team: int) -> tuple[int, float]:
        """A team's bonded graph (mutual trust >= bond_threshold): components, largest share."""
        threshold = self.params.bond_threshold
        people = [a for a in self.people if a.team == team and not a.external]
        ids = {a.unique_id for a in people}
        seen: set[int] = set()
        count, largest = 0, 0
        for start in people:
            if start.unique_id in seen:
                continue
            count += 1
            size = 0
            stack = [start]
            seen.add(start.unique_id)
            while stack:
                a = stack.pop()
                size += 1
                for uid, t in a.trust.items():
                    if uid in ids and uid not in seen:
                        b = self.person[uid]
                        if min(t, b.trust[a.unique_id]) >= threshold:
                            seen.add(uid)
                            stack.append(b)
            largest = max(largest, size)
        return count, largest / len(people)

    def summary(self) -> dict[str, Any]:
        """The run summary (section 8): the keys of sim.model.measures.SUMMARY_KEYS."""
        data = self.datacollector.model_vars
        steps = data["step"]
        out: dict[str, Any] = {name: data[name][-1] for name in MEASURES}
        for name in MEASURES:
            values = data[name]
            run = [
                float(v)
                for s, v in zip(steps, values, strict=True)
                if (s >= 1 or len(steps) == 1) and not math.isnan(v)
            ]
            out[f"{name}_avg"] = sum(run) / len(run) if run else math.nan
        target = self.params.competence_target
        out["time_to_competence"] = next(
            (s for s, v in zip(steps, data["mean_skill"], strict=True) if v >= target), None
        )
        out["disintegrated"] = any(share < 0.5 for share in self.team_largest_share)
        return out
