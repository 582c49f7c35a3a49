"""The formulas of docs/ODD.md, one by one, on small numbers worked out by hand.

Each expected value below is computed in the comment next to it from the formula as
docs/ODD.md writes it, not from the code. The compiled copies in sim.model.kernels must give
the same numbers as the plain functions they are compiled from.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model import kernels, learning, mechanisms, trust
from sim.model.structure import Network

unit = st.floats(0.0, 1.0, allow_nan=False)


# --------------------------------------------------------------- initial trust
class TestInitialTrust:
    """T0[i, j] = clip(p_i * scale * power_distance ** |dl| + noise), times f_j, clipped."""

    def test_same_level_no_noise_is_propensity(self):
        # 0.5 * 1.0 * 0.8 ** 0 = 0.5
        assert mechanisms.initial_trust(0.5, 0, 1.0, 0.0, 1.0, 0.8) == pytest.approx(0.5)

    def test_power_distance_per_level(self):
        # 0.5 * 0.8 ** 1 = 0.4; 0.5 * 0.8 ** 2 = 0.32; 0.5 * 0.8 ** 3 = 0.256
        got = mechanisms.initial_trust(np.full(3, 0.5), np.array([1, 2, 3]), 1.0, 0.0, 1.0, 0.8)
        np.testing.assert_allclose(got, [0.4, 0.32, 0.256])

    def test_power_distance_one_means_flat(self):
        got = mechanisms.initial_trust(0.5, 3, 1.0, 0.0, 1.0, 1.0)
        assert got == pytest.approx(0.5)

    def test_scale_and_noise_add(self):
        # 0.5 * 1.2 * 0.8 + 0.03 = 0.51
        assert mechanisms.initial_trust(0.5, 1, 1.0, 0.03, 1.2, 0.8) == pytest.approx(0.51)

    def test_management_trust_scale_multiplies_trust_in_managers(self):
        # a manager one level up: 0.5 * 0.8 = 0.4, times management_trust_scale 0.2 = 0.08
        assert mechanisms.initial_trust(0.5, 1, 0.2, 0.0, 1.0, 0.8) == pytest.approx(0.08)
        # scale 0: nobody trusts management
        assert mechanisms.initial_trust(0.9, 1, 0.0, 0.04, 1.0, 0.8) == 0.0

    def test_clipped_to_unit_interval(self):
        # 0.9 * 2.0 = 1.8 -> 1;  0.1 - 0.5 -> 0;  0.7 * 1.0 * 2.0 (factor) = 1.4 -> 1
        assert mechanisms.initial_trust(0.9, 0, 1.0, 0.0, 2.0, 0.8) == 1.0
        assert mechanisms.initial_trust(0.1, 0, 1.0, -0.5, 1.0, 0.8) == 0.0
        assert mechanisms.initial_trust(0.7, 0, 2.0, 0.0, 1.0, 0.8) == 1.0

    @settings(max_examples=200, deadline=None)
    @given(
        p=unit,
        gap=st.integers(0, 6),
        factor=st.floats(0.0, 2.0),
        noise=st.floats(-0.3, 0.3),
        scale=st.floats(0.0, 2.0),
        pd=unit,
    )
    def test_always_in_unit_interval(self, p, gap, factor, noise, scale, pd):
        t = mechanisms.initial_trust(p, gap, factor, noise, scale, pd)
        assert 0.0 <= t <= 1.0


# ------------------------------------------------------------------ sponsorship
class TestSponsorshipTransfer:
    """T[i, c] += strength * trust_in_sponsor * attenuation ** (d - 1) * (1 - T[i, c])."""

    def test_one_level_down(self):
        # 0.4 + 0.3 * 0.5 * 0.7 ** 0 * 0.6 = 0.4 + 0.09 = 0.49
        assert mechanisms.sponsorship_transfer(0.4, 0.5, 1, 0.3, 0.7) == pytest.approx(0.49)

    def test_attenuates_per_level(self):
        # d = 3: 0.4 + 0.3 * 0.5 * 0.7 ** 2 * 0.6 = 0.4 + 0.0441
        got = mechanisms.sponsorship_transfer(0.4, 0.5, 3, 0.3, 0.7)
        assert got == pytest.approx(0.4441)
        d = np.arange(1, 6)
        gains = mechanisms.sponsorship_transfer(0.4, 0.5, d, 0.3, 0.7) - 0.4
        np.testing.assert_allclose(gains[1:] / gains[:-1], 0.7)

    def test_strength_zero_changes_nothing(self):
        t = np.array([0.0, 0.3, 0.9, 1.0])
        np.testing.assert_array_equal(mechanisms.sponsorship_transfer(t, 0.8, 2, 0.0, 0.7), t)

    def test_untrusted_sponsor_transfers_nothing(self):
        t = np.array([0.0, 0.3, 0.9, 1.0])
        np.testing.assert_array_equal(mechanisms.sponsorship_transfer(t, 0.0, 1, 0.3, 0.7), t)

    def test_worth_exactly_as_much_as_the_sponsor_is_trusted(self):
        g1 = mechanisms.sponsorship_transfer(0.2, 0.3, 1, 0.3, 0.7) - 0.2
        g2 = mechanisms.sponsorship_transfer(0.2, 0.6, 1, 0.3, 0.7) - 0.2
        assert g2 == pytest.approx(2 * g1)

    @settings(max_examples=200, deadline=None)
    @given(t=unit, ts=unit, d=st.integers(1, 6), strength=unit, att=unit)
    def test_never_lowers_trust_and_stays_below_one(self, t, ts, d, strength, att):
        new = mechanisms.sponsorship_transfer(t, ts, d, strength, att)
        assert t <= new <= 1.0


# -------------------------------------------------------------- one step's rules
class TestChoiceWeight:
    """W = T[i, j] ** trust_selectivity * (s_j[k] - s_i[k]) where j knows more, else 0."""

    def test_formula(self):
        # 0.5 ** 2 * 0.2 = 0.05; 0.5 ** 0 * 0.2 = 0.2
        assert mechanisms.choice_weight(0.5, 0.2, 2.0) == pytest.approx(0.05)
        assert mechanisms.choice_weight(0.5, 0.2, 0.0) == pytest.approx(0.2)

    def test_zero_when_candidate_knows_less_or_equal(self):
        assert mechanisms.choice_weight(0.9, 0.0, 2.0) == 0.0
        assert mechanisms.choice_weight(0.9, -0.3, 2.0) == 0.0
        np.testing.assert_array_equal(
            mechanisms.choice_weight(np.array([0.2, 0.9]), np.array([-0.1, 0.0]), 1.0), [0.0, 0.0]
        )

    def test_more_trusted_weighs_more(self):
        assert mechanisms.choice_weight(0.8, 0.1, 2.0) > mechanisms.choice_weight(0.4, 0.1, 2.0)


def test_ask_probability_is_trust_times_openness_at_most_one():
    np.testing.assert_array_equal(
        mechanisms.ask_probability(np.array([0.0, 0.3, 1.0]), 1.0), [0, 0.3, 1]
    )
    np.testing.assert_allclose(
        mechanisms.ask_probability(np.array([0.0, 0.3, 0.6]), 2.0), [0, 0.6, 1]
    )


def test_success_probability():
    # sqrt(0.64 * 0.25) = 0.4;  ** 2 = 0.16;  ** 0 = 1
    assert mechanisms.success_probability(0.64, 0.25, 1.0) == pytest.approx(0.4)
    assert mechanisms.success_probability(0.64, 0.25, 2.0) == pytest.approx(0.16)
    assert mechanisms.success_probability(0.64, 0.25, 0.0) == pytest.approx(1.0)
    # both directions count, symmetrically
    assert mechanisms.success_probability(0.9, 0.0, 1.0) == 0.0
    assert mechanisms.success_probability(0.3, 0.7, 1.0) == pytest.approx(
        mechanisms.success_probability(0.7, 0.3, 1.0)
    )


def test_refusal():
    # 0.5 - 0.05 * 0.5 = 0.475
    assert mechanisms.refusal(0.5, 0.05) == pytest.approx(0.475)
    assert mechanisms.refusal(0.5, 0.0) == 0.5
    assert mechanisms.refusal(0.5, 1.0) == 0.0


def test_breach_direct():
    # 0.8 * (1 - 0.5) = 0.4
    assert mechanisms.breach_direct(0.8, 0.5) == pytest.approx(0.4)
    assert mechanisms.breach_direct(0.8, 0.0) == 0.8


def test_breach_heard():
    # 0.6 - 0.2 * 0.5 * 0.5 * 0.6 = 0.6 - 0.03 = 0.57
    assert mechanisms.breach_heard(0.6, 0.5, 0.2, 0.5) == pytest.approx(0.57)
    # w does not trust the victim: w does not believe the story
    assert mechanisms.breach_heard(0.6, 0.0, 0.2, 0.5) == 0.6
    # the more w trusts the victim, the more w's trust in the breacher falls
    assert mechanisms.breach_heard(0.6, 0.9, 0.2, 0.5) < mechanisms.breach_heard(0.6, 0.3, 0.2, 0.5)


def test_gossip_update():
    # 0.3 + 0.2 * 0.5 * (0.9 - 0.3) = 0.36;  towards a lower view: 0.3 + 0.2 * 0.5 * (0.1 - 0.3)
    assert mechanisms.gossip_update(0.3, 0.5, 0.9, 0.2) == pytest.approx(0.36)
    assert mechanisms.gossip_update(0.3, 0.5, 0.1, 0.2) == pytest.approx(0.28)
    # a source i does not trust changes nothing
    assert mechanisms.gossip_update(0.3, 0.0, 0.9, 0.2) == 0.3


def test_decay_toward():
    # 0.8 + 0.01 * (0.5 - 0.8) = 0.797;  from below: 0.2 + 0.01 * 0.3 = 0.203
    assert mechanisms.decay_toward(0.8, 0.5, 0.01) == pytest.approx(0.797)
    assert mechanisms.decay_toward(0.2, 0.5, 0.01) == pytest.approx(0.203)
    assert mechanisms.decay_toward(0.2, 0.5, 1.0) == pytest.approx(0.5)


def test_recognition():
    # 0.5 + 0.02 = 0.52; three successes: 0.5 + 3 * 0.02 = 0.56; clipped at 1
    assert mechanisms.recognition(0.5, 0.02) == pytest.approx(0.52)
    assert mechanisms.recognition(0.5, 0.02, 3) == pytest.approx(0.56)
    assert mechanisms.recognition(0.99, 0.02) == 1.0


@settings(max_examples=300, deadline=None)
@given(a=unit, b=unit, c=unit, r=unit, s=st.floats(0.0, 10.0))
def test_step_rules_keep_trust_in_unit_interval(a, b, c, r, s):
    for value in (
        mechanisms.refusal(a, r),
        mechanisms.breach_direct(a, r),
        mechanisms.breach_heard(a, b, c, r),
        mechanisms.gossip_update(a, b, c, r),
        mechanisms.decay_toward(a, b, r),
        mechanisms.recognition(a, r),
        mechanisms.success_probability(a, b, s),
        trust.asymmetric_update(a, True, r, c),
        trust.asymmetric_update(a, False, r, c),
    ):
        assert 0.0 <= value <= 1.0


# ---------------------------------------------------------------------- learning
def test_imitate():
    # 0.3 + 0.2 * (0.8 - 0.3) = 0.4
    assert learning.imitate(0.3, 0.8, 0.2) == pytest.approx(0.4)
    assert learning.imitate(0.3, 0.8, 1.0) == pytest.approx(0.8)
    assert learning.imitate(0.3, 0.8, 0.0) == 0.3


def test_toward_mastery():
    # once: 0.3 + 0.02 * 0.7 = 0.314; twice = once applied to its own result
    assert learning.toward_mastery(0.3, 0.02) == pytest.approx(0.314)
    once = 0.3 + 0.02 * (1 - 0.3)
    twice = once + 0.02 * (1 - once)
    assert learning.toward_mastery(0.3, 0.02, 2) == pytest.approx(twice)
    assert learning.toward_mastery(1.0, 0.5, 3) == 1.0


def test_forget():
    # 0.5 - 0.1 * 0.5 = 0.45
    assert learning.forget(0.5, 0.1) == pytest.approx(0.45)
    assert learning.forget(0.5, 0.0) == 0.5


@settings(max_examples=200, deadline=None)
@given(s=unit, h=unit, r=unit, times=st.integers(0, 5))
def test_learning_rules_keep_skill_in_unit_interval(s, h, r, times):
    assert 0.0 <= learning.imitate(s, h, r) <= 1.0
    assert s - 1e-12 <= learning.toward_mastery(s, r, times) <= 1.0
    assert 0.0 <= learning.forget(s, r) <= s


# ------------------------------------------------------------------- Beta draws
def test_beta_parameters_by_hand():
    # mean 0.3, sd 0.1: k = 0.21 / 0.01 - 1 = 20, a = 6, b = 14
    a, b = mechanisms.beta_parameters(0.3, 0.1)
    assert (a, b) == (pytest.approx(6.0), pytest.approx(14.0))


@pytest.mark.parametrize(("mean", "sd"), [(0.3, 0.1), (0.5, 0.15), (0.7, 0.1), (0.95, 0.03)])
def test_beta_parameters_draws_have_the_mean_and_sd(mean, sd):
    a, b = mechanisms.beta_parameters(mean, sd)
    x = np.random.default_rng(0).beta(a, b, 200_000)
    assert x.mean() == pytest.approx(mean, abs=3e-3)
    assert x.std() == pytest.approx(sd, abs=3e-3)


# ------------------------------------------------- compiled copies (sim.model.kernels)
COMPILED = [
    (kernels._choice_weight, mechanisms.choice_weight, (0.7, 0.25, 2.0)),
    (kernels._choice_weight, mechanisms.choice_weight, (0.7, -0.25, 2.0)),
    (kernels._ask_probability, mechanisms.ask_probability, (0.37, 1.0)),
    (kernels._ask_probability, mechanisms.ask_probability, (0.37, 3.1)),
    (kernels._weakest_link_probability, mechanisms.weakest_link_probability, (0.64, 0.25, 1.7)),
    (kernels._climate_shift, mechanisms.climate_shift, (0.4, 0.55, 0.2)),
    (kernels._refusal, mechanisms.refusal, (0.5, 0.05)),
    (kernels._success_probability, mechanisms.success_probability, (0.64, 0.25, 1.7)),
    (kernels._recognition, mechanisms.recognition, (0.5, 0.02, 1.0)),
    (kernels._recognition, mechanisms.recognition, (0.99, 0.02, 1.0)),
    (kernels._breach_direct, mechanisms.breach_direct, (0.8, 0.5)),
    (kernels._breach_heard, mechanisms.breach_heard, (0.6, 0.5, 0.2, 0.5)),
    (kernels._gossip_update, mechanisms.gossip_update, (0.3, 0.5, 0.9, 0.2)),
    (kernels._sponsorship_transfer, mechanisms.sponsorship_transfer, (0.4, 0.5, 3, 0.3, 0.7)),
    (kernels._imitate, learning.imitate, (0.3, 0.8, 0.2)),
    (kernels._toward_mastery, learning.toward_mastery, (0.3, 0.02, 3.0)),
    (kernels._asymmetric_update, trust.asymmetric_update, (0.4, True, 0.08, 0.16)),
    (kernels._asymmetric_update, trust.asymmetric_update, (0.4, False, 0.08, 0.16)),
    (kernels._beta_update, trust.beta_update, (0.4, True, 5.0, 0.0)),
]


@pytest.mark.parametrize(
    ("compiled", "plain", "args"),
    COMPILED,
    ids=[f"{p.__name__}-{n}" for n, (_, p, _) in enumerate(COMPILED)],
)
def test_compiled_kernels_match_plain_functions(compiled, plain, args):
    assert float(compiled(*args)) == pytest.approx(float(plain(*args)), rel=1e-12, abs=1e-15)


def test_compiled_refusal_by_hand():
    assert kernels._refusal(0.5, 0.05) == pytest.approx(0.475)


# ------------------------------------------------ one learning round, by hand
# Steps 2 to 6 of docs/ODD.md run by kernels.learning_round on a hand-built team of three
# (0, 1, 2, everyone in contact) and one topic, with the random numbers chosen by hand.
PARAMS = {
    "trust_selectivity": 2.0,
    "refusal_loss": 0.05,
    "trust_sensitivity": 1.0,
    "learning_rate": 0.2,
    "teaching_gain": 0.01,
    "self_learning_rate": 0.02,
    "trust_gain": 0.08,
    "trust_loss": 0.16,
    "peer_recognition": 0.02,
    "breach_loss": 0.5,
    "gossip_weight": 0.2,
}

PARAMS_U = ("choice", "voice", "order", "accept", "outcome", "breach")


class Team:
    """Three people in one team; trust starts at 0.5 everywhere unless set."""

    def __init__(self, skill=(0.2, 0.6, 0.4), trust=None):
        n = 3
        src, dst = np.array([(i, j) for i in range(n) for j in range(n) if i != j]).T
        self.net = Network.from_pairs(n, src, dst)
        self.skill = np.array(skill, dtype=float)[:, None]
        self.trust = np.full(self.net.n_edges, 0.5)
        for (i, j), v in (trust or {}).items():
            self.trust[self.e(i, j)] = v
        self.evidence = np.full(self.net.n_edges, 2.0)
        self.team = np.zeros(n, dtype=np.int64)
        self.role = np.zeros(n, dtype=np.int8)
        self.external = np.zeros(n, dtype=bool)
        self.benevolence = np.full(n, 0.7)
        self.integrity = np.ones(n)
        self.capacity = np.ones(n, dtype=np.int64)

    def e(self, i, j):
        return int(self.net.find(np.array([i]), np.array([j]))[0])

    def t(self, i, j):
        return float(self.trust[self.e(i, j)])

    def round(self, learners, u, beta=False, peer=False, **params):
        """One round for the learners (topic 0); u: per person, by the names in PARAMS_U."""
        p = np.array(list({**PARAMS, **params}.values()))
        full = {k: np.asarray(u.get(k, np.full(3, 0.5)), dtype=float) for k in PARAMS_U}
        return kernels.learning_round(
            self.skill,
            self.trust,
            self.evidence,
            self.net.indptr,
            self.net.dst,
            self.net.rev,
            self.role,
            self.external,
            self.benevolence,
            self.integrity,
            self.capacity,
            np.asarray(learners, dtype=np.int64),
            np.zeros(len(learners), dtype=np.int64),
            *(full[k] for k in PARAMS_U),
            p,
            beta,
            peer,
        )


# learner 0 (skill 0.2): weights 0.5 ** 2 * 0.4 = 0.1 for 1, 0.5 ** 2 * 0.2 = 0.05 for 2
ASKS_1 = {"choice": [0.5, 0.5, 0.5], "voice": [0.3, 0.9, 0.9]}  # target 0.075 -> 1; 0.3 < 0.5
SUCCEED = {"accept": [0.1] * 3, "outcome": [0.1] * 3, "breach": [0.99] * 3}


def test_round_choice_picks_by_weight():
    team = Team()
    team.round([0], {"choice": [0.5, 0, 0], "voice": [0.3, 0, 0], **SUCCEED})
    # helped by 1: 0.2 + 0.2 * (0.6 - 0.2) = 0.28
    assert team.skill[0, 0] == pytest.approx(0.28)
    team = Team()
    # target 0.9 * 0.15 = 0.135 > 0.1: the pick is 2; 0.2 + 0.2 * (0.4 - 0.2) = 0.24
    team.round([0], {"choice": [0.9, 0, 0], "voice": [0.3, 0, 0], **SUCCEED})
    assert team.skill[0, 0] == pytest.approx(0.24)


def test_round_success():
    team = Team(trust={(1, 0): 0.4})
    counts = team.round([0], {**ASKS_1, **SUCCEED})
    assert tuple(counts) == (1, 0, 1, 1, 0)  # asks, silences, helps, successes, breaches
    assert team.skill[0, 0] == pytest.approx(0.28)  # 0.2 + 0.2 * 0.4
    assert team.skill[1, 0] == pytest.approx(0.604)  # 0.6 + 0.01 * 0.4
    assert team.skill[2, 0] == 0.4
    assert team.t(0, 1) == pytest.approx(0.54)  # 0.5 + 0.08 * 0.5
    assert team.t(1, 0) == pytest.approx(0.448)  # 0.4 + 0.08 * 0.6
    assert team.t(0, 2) == 0.5


def test_round_failure():
    # success probability sqrt(0.5 * 0.4) = 0.447: u = 0.5 fails
    team = Team(trust={(1, 0): 0.4})
    counts = team.round([0], {**ASKS_1, **SUCCEED, "outcome": [0.5, 0.5, 0.5]})
    assert tuple(counts) == (1, 0, 1, 0, 0)
    assert team.t(0, 1) == pytest.approx(0.42)  # 0.5 - 0.16 * 0.5
    assert team.t(1, 0) == 0.4
    assert team.skill[0, 0] == 0.2  # failed help teaches nothing
    assert team.skill[1, 0] == 0.6


def test_round_silence_and_self_study():
    team = Team()
    counts = team.round([0], {**SUCCEED, "choice": [0.5] * 3, "voice": [0.6] * 3})
    assert tuple(counts) == (0, 1, 0, 0, 0)
    assert team.skill[0, 0] == pytest.approx(0.216)  # 0.2 + 0.02 * 0.8
    np.testing.assert_array_equal(team.trust, 0.5)


def test_round_no_candidate_self_studies_without_silence():
    team = Team()
    counts = team.round([1], {**SUCCEED, "voice": [0.0] * 3})  # 1 knows most
    assert tuple(counts) == (0, 0, 0, 0, 0)
    assert team.skill[1, 0] == pytest.approx(0.608)  # 0.6 + 0.02 * 0.4


def test_round_refusal_by_benevolence():
    team = Team()
    counts = team.round([0], {**ASKS_1, **SUCCEED, "accept": [0.8] * 3})  # 0.8 > b = 0.7
    assert tuple(counts) == (1, 0, 0, 0, 0)
    assert team.t(0, 1) == pytest.approx(0.475)  # 0.5 - 0.05 * 0.5
    assert team.skill[0, 0] == pytest.approx(0.216)  # refused: self-study


def test_round_capacity_served_in_random_order():
    # 0 and 2 both ask 1 (the only one who knows more than either); capacity 1:
    # the request with the lower order number is served, the other refused
    team = Team(skill=(0.2, 0.6, 0.3))
    u = {**SUCCEED, "choice": [0.1] * 3, "voice": [0.0] * 3, "order": [0.9, 0.0, 0.1]}
    counts = team.round([0, 2], u)
    assert tuple(counts)[:3] == (2, 0, 1)
    assert team.skill[2, 0] == pytest.approx(0.36)  # 0.3 + 0.2 * 0.3: served
    assert team.skill[0, 0] == pytest.approx(0.216)  # refused: self-study
    assert team.t(0, 1) == pytest.approx(0.475)
    team = Team(skill=(0.2, 0.6, 0.3))
    team.capacity[1] = 2
    counts = team.round([0, 2], u)
    assert tuple(counts)[:4] == (2, 0, 2, 2)


def test_round_breach():
    team = Team(trust={(2, 0): 0.8})
    team.integrity[1] = 0.9
    counts = team.round([0], {**ASKS_1, **SUCCEED, "breach": [0.05] * 3})  # 0.05 < 0.1
    assert tuple(counts) == (1, 0, 1, 1, 1)
    assert team.t(0, 1) == pytest.approx(0.54 * 0.5)  # success, then breached
    # teammate 2 hears: 0.5 - 0.2 * T[2, 0] * 0.5 * 0.5 = 0.5 - 0.2 * 0.8 * 0.25 = 0.46
    assert team.t(2, 1) == pytest.approx(0.46)


def test_round_peer_recognition():
    team = Team()
    team.round([0], {**ASKS_1, **SUCCEED}, peer=True)
    # every teammate's trust in the helper who succeeded rises by 0.02
    assert team.t(0, 1) == pytest.approx(0.54 + 0.02)
    assert team.t(2, 1) == pytest.approx(0.52)
    assert team.t(1, 0) == pytest.approx(0.54)  # the helper's own trust: the success only
    team = Team()
    team.round([0], {**ASKS_1, **SUCCEED}, peer=False)
    assert team.t(2, 1) == 0.5


def test_round_beta_rule():
    team = Team()
    team.round([0], {**ASKS_1, **SUCCEED}, beta=True)
    # (0.5 * 2 + 1) / 3
    assert team.t(0, 1) == pytest.approx(2 / 3)
    assert team.evidence[team.e(0, 1)] == 3.0


def test_gossip_kernel_by_hand():
    # 0 talks to 1 (weight T[0, 1]) about 2: T[0, 2] += 0.2 * T[0, 1] * (T[1, 2] - T[0, 2])
    team = Team(trust={(0, 1): 0.8, (0, 2): 0.2, (1, 2): 0.9})
    # u_pick 0.5: target 0.5 * (0.8 + 0.2) = 0.5 < 0.8 -> j = 1; k = 2, the only common one
    kernels.gossip(
        team.trust,
        team.net.indptr,
        team.net.dst,
        np.array([0]),
        np.full(3, 0.5),
        np.full(3, 0.5),
        0.2,
    )
    assert team.t(0, 2) == pytest.approx(0.2 + 0.2 * 0.8 * 0.7)
    assert team.t(0, 1) == 0.8
