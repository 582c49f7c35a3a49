"""Team-level structure and the second structural rules (docs/ODD.md 7.2a, 7.8-7.12, 7.16a).

What a researcher relies on: at their defaults the new options change nothing (same
numbers, same digests, so stored results keep their meaning); switched on, each does
what the ODD says, the fast path equals stepping TrustModel to the bit, and a team
effect of known size shows in the ICC(1) computed from the model's own people.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Scenario, TrustModel, preset, simulate
from sim.model import kernels, mechanisms, state
from sim.model.scenario import NEUTRAL, ScenarioError, parameters
from sim.model.structure import MANAGER
from sim.model.survey import icc
from tests.test_fast import assert_same_run

TEAMS_ON = {
    "manager_openness_sd": 0.7,
    "manager_integrity_sd": 0.12,
    "team_norm_sd": 0.12,
    "team_climate": 0.2,
    "interdependence_sd": 0.2,
}
RULES_ON = {"choice_rule": "best", "voice_rule": "general", "success_rule": "weakest"}


def test_the_neutral_values_are_the_defaults_and_the_models_own_constants() -> None:
    fields = parameters()
    assert set(NEUTRAL) <= set(fields)
    for name, value in NEUTRAL.items():
        assert fields[name].default == value, name
    assert NEUTRAL["manager_integrity_sd"] == state.INTEGRITY_SD
    # the rules' defaults are the first of each compiled list (code 0)
    assert kernels.CHOICE_RULES[0] == NEUTRAL["choice_rule"]
    assert kernels.VOICE_RULES[0] == NEUTRAL["voice_rule"]
    assert kernels.SUCCESS_RULES[0] == NEUTRAL["success_rule"]


def test_defaults_keep_digests_and_a_switched_on_option_changes_them() -> None:
    base = Scenario()
    # a scenario that sets an option to its neutral value is the same question
    assert base.with_(team_climate=0.0, voice_rule="dyadic").digest() == base.digest()
    for name, value in {**TEAMS_ON, **RULES_ON}.items():
        assert base.with_(**{name: value}).digest() != base.digest(), name


def test_defaults_give_the_same_run_as_the_option_set_to_its_neutral_value() -> None:
    sc = preset("top_down_internal", members=24, levels=2, steps=30)
    a = simulate(sc, 3)
    b = simulate(sc.with_(**NEUTRAL), 3)
    np.testing.assert_array_equal(a.table, b.table)


@pytest.mark.parametrize(
    "changes",
    [TEAMS_ON, RULES_ON, {**TEAMS_ON, **RULES_ON, "trust_rule": "beta"}],
    ids=["teams", "rules", "both_beta"],
)
@pytest.mark.parametrize("name", ["top_down_internal", "peer_led", "top_down_external"])
def test_fast_path_equals_stepping_trustmodel(name: str, changes: dict[str, object]) -> None:
    events = [{"type": "reorg", "at": 9}, {"type": "turnover_wave", "at": 12, "fraction": 0.3}]
    sc = preset(name, members=30, levels=2, steps=20, turnover_rate=0.03, events=events)
    assert_same_run(sc.with_(**changes), 11)


@pytest.mark.parametrize("changes", [TEAMS_ON, RULES_ON], ids=["teams", "rules"])
def test_each_option_changes_the_run(changes: dict[str, object]) -> None:
    sc = preset("top_down_internal", members=24, levels=2, steps=40)
    for name, value in changes.items():
        a, b = simulate(sc, 5), simulate(sc.with_(**{name: value}), 5)
        assert not np.array_equal(a.table, b.table), name


def test_bad_team_values_are_refused_with_the_allowed_range() -> None:
    with pytest.raises(
        ScenarioError, match=r"interdependence_sd = 0\.3 is too large for need_rate"
    ):
        Scenario().with_(need_rate=0.95, interdependence_sd=0.3)
    with pytest.raises(ScenarioError, match=r"manager_integrity_sd = 0\.3 is too large"):
        Scenario().with_(manager_integrity_sd=0.3)
    with pytest.raises(ScenarioError, match="voice_rule"):
        Scenario().with_(voice_rule="loud")


def test_each_member_takes_its_teams_need_rate_and_openness() -> None:
    model = TrustModel(
        preset("no_coaching", members=200, team_size=10, levels=2, **TEAMS_ON), rng=4
    )
    org = model.org
    staff = np.arange(model.n_staff)
    manager = org.role[staff] == MANAGER
    members = staff[~manager]
    np.testing.assert_array_equal(model.need_rate[members], model.team_need_rate[org.team[members]])
    np.testing.assert_array_equal(model.openness[members], model.team_openness[org.team[members]])
    assert np.all(model.need_rate[manager] == model.params.manager_need_rate)
    assert np.all(model.openness[manager] == 1.0)
    # twenty teams differ, around the scenario's need rate and a median openness of 1
    assert model.team_need_rate.std() > 0.1
    assert abs(model.team_need_rate.mean() - 0.5) < 0.12
    assert abs(np.log(model.team_openness).std() - 0.7) < 0.3


def test_a_team_norm_of_known_size_is_recovered_as_the_icc_of_the_latent() -> None:
    """Known variance: between teams sd^2, within only the initial noise over 11 teammates.

    With propensity_sd = 0 every member's initial trust in a teammate is
    clip(0.5 + N(0, 0.05)) + n_t, so a member's mean over 11 teammates has variance
    0.05^2 / 11 within its team and the team norm's 0.1^2 between teams: the ICC(1) of
    the psychological safety latent is 0.01 / (0.01 + 0.000227) = 0.978.
    """
    sc = preset("no_coaching", members=1200, team_size=12, levels=2, propensity_sd=0.0)
    expected = 0.1**2 / (0.1**2 + 0.05**2 / 11)
    model = TrustModel(sc.with_(team_norm_sd=0.1, steps=1), rng=8, space=False)
    _, team, latent = model.survey_latents("psychological_safety")
    assert len(np.unique(team)) == 100
    icc1, _ = icc(latent, team)
    assert icc1 == pytest.approx(expected, abs=0.01)
    # and without the norm the same teams differ only by chance
    plain = TrustModel(sc.with_(steps=1), rng=8, space=False)
    _who, team, latent = plain.survey_latents("psychological_safety")
    assert abs(icc(latent, team)[0]) < 0.05


def test_icc_recovers_a_synthetic_split_of_variance() -> None:
    rng = np.random.default_rng(0)
    teams = np.repeat(np.arange(3000), 10)
    scores = rng.normal(0, 0.5, 3000)[teams] + rng.normal(0, 1.0, len(teams))
    icc1, icc2 = icc(scores, teams)
    assert icc1 == pytest.approx(0.25 / 1.25, abs=0.02)
    assert icc2 == pytest.approx(10 * 0.2 / (1 + 9 * 0.2), abs=0.05)


def test_the_climate_narrows_a_team_and_keeps_its_level() -> None:
    """Two teams of three members (indices 0-5) and a manager (6), all in contact."""
    n, members = 7, 6
    team = np.array([0, 0, 0, 1, 1, 1, 0])
    src, dst = [], []
    for i in range(n):
        for j in range(n):
            if i != j:
                src.append(i)
                dst.append(j)
    src_a, dst_a = np.array(src), np.array(dst)
    indptr = np.searchsorted(src_a, np.arange(n + 1))
    rng = np.random.default_rng(1)
    tr = rng.uniform(0.2, 0.8, len(src_a))
    before = tr.copy()
    kernels.climate(tr, indptr, dst_a, team, 2, members, 0.25)
    peers = (src_a < members) & (dst_a < members) & (team[src_a] == team[dst_a])
    np.testing.assert_array_equal(tr[~peers], before[~peers])  # managers, other teams: untouched

    def levels(t: np.ndarray) -> np.ndarray:
        return np.array([t[peers & (src_a == i)].mean() for i in range(members)])

    old, new = levels(before), levels(tr)
    for t in (0, 1):
        mine = team[:members] == t
        assert new[mine].mean() == pytest.approx(old[mine].mean())
        np.testing.assert_allclose(
            new[mine] - new[mine].mean(), 0.75 * (old[mine] - old[mine].mean())
        )


def test_voice_follows_the_managers_openness() -> None:
    """One learner (0) with one better contact (1): asks iff u_voice < min(1, T * openness)."""
    skill = np.array([[0.1], [0.9]])
    indptr, dst = np.array([0, 1, 2]), np.array([1, 0])
    tr = np.array([0.4, 0.4])
    learner, topic = np.array([0]), np.array([0])
    choices = kernels.no_choices(2)

    def asks(u: float, openness: float, rules: tuple[int, int] = (0, 0)) -> int:
        _, n_asks, _ = kernels.choose(
            skill, tr, indptr, dst, learner, topic, np.array([0.5, 0.5]), np.array([u, u]),
            1.0, choices, np.array([openness, 1.0]), np.array(rules),
        )  # fmt: skip
        return int(n_asks)

    assert asks(0.39, 1.0) == 1
    assert asks(0.41, 1.0) == 0
    assert asks(0.79, 2.0) == 1
    assert asks(0.81, 2.0) == 0
    assert asks(0.99, 5.0) == 1  # capped at 1: always
    assert asks(0.01, 0.0) == 0  # a closed door: never
    assert mechanisms.ask_probability(0.4, 3.0) == 1.0


def test_the_best_rule_asks_the_heaviest_candidate_whatever_the_draw() -> None:
    skill = np.array([[0.1], [0.5], [0.9], [0.3]])
    indptr, dst = np.array([0, 3, 3, 3, 3]), np.array([1, 2, 3])
    tr = np.array([0.9, 0.6, 0.9])  # weights 0.9^1 * 0.4, 0.6 * 0.8, 0.9 * 0.2: j = 2 heaviest
    for u in (0.0, 0.3, 0.99):
        edge, _, _ = kernels.choose(
            skill, tr, indptr, dst, np.array([0]), np.array([0]), np.full(4, u),
            np.zeros(4), 1.0, kernels.no_choices(4), np.ones(4),
            np.array([kernels.BEST, 0]),
        )  # fmt: skip
        assert dst[edge[0]] == 2
    edge, _, _ = kernels.choose(
        skill, tr, indptr, dst, np.array([0]), np.array([0]), np.zeros(4), np.zeros(4),
        1.0, kernels.no_choices(4), np.ones(4), np.array([0, 0]),
    )  # fmt: skip
    assert dst[edge[0]] == 1  # the weighted rule with u = 0 takes the first candidate


def test_the_general_voice_rule_uses_mean_trust_in_all_contacts() -> None:
    skill = np.array([[0.1], [0.9], [0.0]])
    indptr, dst = np.array([0, 2, 2, 2]), np.array([1, 2])
    tr = np.array([0.9, 0.1])  # trusts the helper 0.9, its other contact 0.1: mean 0.5

    def asks(u: float, rule: int) -> int:
        _, n, _ = kernels.choose(
            skill, tr, indptr, dst, np.array([0]), np.array([0]), np.zeros(3),
            np.full(3, u), 1.0, kernels.no_choices(3), np.ones(3), np.array([0, rule]),
        )  # fmt: skip
        return int(n)

    assert asks(0.6, 0) == 1  # dyadic: 0.6 < 0.9
    assert asks(0.6, kernels.GENERAL) == 0  # general: 0.6 > 0.5
    assert asks(0.45, kernels.GENERAL) == 1


def test_the_weakest_link_rule() -> None:
    assert mechanisms.weakest_link_probability(0.64, 0.25, 1.0) == 0.25
    assert mechanisms.weakest_link_probability(0.64, 0.25, 2.0) == pytest.approx(0.0625)
    # never above the geometric mean: the weakest link makes help harder
    grid = np.linspace(0, 1, 11)
    a, b = np.meshgrid(grid, grid)
    assert np.all(
        mechanisms.weakest_link_probability(a, b, 1.0)
        <= mechanisms.success_probability(a, b, 1.0) + 1e-12
    )
