"""The measures (sim/model/measures.py and the compiled helpers) recomputed independently."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sim import TrustModel, preset
from sim.model import kernels
from sim.model.measures import COMPILED, gini
from sim.model.structure import COACH, MANAGER, Network


def _gini_by_pairs(x: np.ndarray) -> float:
    """Mean absolute difference over all ordered pairs, over twice the mean."""
    x = np.asarray(x, dtype=float)
    total = x.sum()
    if total == 0:
        return 0.0
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) * total))


def test_gini_by_hand():
    assert gini(np.array([1.0, 1.0, 1.0])) == pytest.approx(0.0)
    assert gini(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)
    assert gini(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(0.25)
    assert gini(np.array([0.0, 0.0])) == 0.0


@settings(max_examples=100, deadline=None)
@given(x=st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_gini_matches_pairwise_definition(x):
    assert gini(np.array(x)) == pytest.approx(_gini_by_pairs(np.array(x)), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    x=st.lists(st.floats(0, 1), min_size=2, max_size=40).map(np.array),
    topics=st.integers(1, 4),
)
def test_skill_stats_match_numpy(x, topics):
    skill = np.repeat(x[:, None], topics, axis=1)
    mean, p10, g = kernels.skill_stats(skill, len(x))
    assert mean == pytest.approx(x.mean())
    assert p10 == pytest.approx(np.percentile(x, 10))
    assert g == pytest.approx(_gini_by_pairs(x), abs=1e-9)


def _four_person_team(trust: dict[tuple[int, int], float]) -> tuple:
    """Four people in one team, all in contact; unspecified trust is 0.1."""
    n = 4
    src, dst = np.array([(i, j) for i in range(n) for j in range(n) if i != j]).T
    net = Network.from_pairs(n, src, dst)
    tr = np.array([trust.get((int(i), int(j)), 0.1) for i, j in zip(src, dst, strict=True)])
    return net, tr, np.zeros(n, dtype=np.int64)


def test_components_by_hand():
    # bonds 0-1 and 2-3 (both directions >= 0.5): two components, the largest half the team
    both = {(0, 1): 0.9, (1, 0): 0.6, (2, 3): 0.5, (3, 2): 0.7}
    net, tr, team = _four_person_team(both)
    count, largest = kernels.components(net.indptr, net.dst, tr, net.rev, team, 1, 0.5)
    assert count.tolist() == [2]
    assert largest.tolist() == [0.5]
    # a one-sided bond does not count: 0-1 is broken by T[1, 0] = 0.4
    net, tr, team = _four_person_team({**both, (1, 0): 0.4})
    count, largest = kernels.components(net.indptr, net.dst, tr, net.rev, team, 1, 0.5)
    assert count.tolist() == [3]
    assert largest.tolist() == [0.5]
    # a chain 0-1-2 and 3 alone: two components, the largest three quarters
    chain = {(0, 1): 0.9, (1, 0): 0.9, (1, 2): 0.9, (2, 1): 0.9}
    net, tr, team = _four_person_team(chain)
    count, largest = kernels.components(net.indptr, net.dst, tr, net.rev, team, 1, 0.5)
    assert count.tolist() == [2]
    assert largest.tolist() == [0.75]


def _fragmentation(model: TrustModel) -> tuple[np.ndarray, np.ndarray]:
    """Per team: components of the bonded graph (scipy) and the largest one's share.

    A team is its front-line manager, its members and an internal coach; an external
    coach serves the team but is left out of its measures (docs/ODD.md).
    """
    org, net, t = model.org, model.net, model.trust
    counts, shares = [], []
    for team in range(org.n_teams):
        people = np.flatnonzero((org.team == team) & ~org.external)
        pos = {int(p): k for k, p in enumerate(people)}
        rows, cols = [], []
        for e in range(net.n_edges):
            i, j = int(net.src[e]), int(net.dst[e])
            if i in pos and j in pos and min(t[e], t[net.rev[e]]) >= model.params.bond_threshold:
                rows.append(pos[i])
                cols.append(pos[j])
        graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(people),) * 2)
        n_comp, labels = connected_components(graph, directed=False)
        counts.append(n_comp)
        shares.append(np.bincount(labels).max() / len(people))
    return np.array(counts), np.array(shares)


@pytest.mark.parametrize(
    ("name", "levels"),
    [("top_down_internal", 2), ("top_down_external", 3), ("peer_led", 1), ("hybrid", 2)],
)
def test_measures_recomputed_independently(name, levels):
    model = TrustModel(preset(name, levels=levels, members=36, steps=10), rng=17)
    for _ in range(8):
        model.step()
    org, net, t = model.org, model.net, model.trust
    values, rows = model.measures()
    team_of = np.where(org.external, -1, org.team)  # external coaches belong to no team
    ts, td = team_of[net.src], team_of[net.dst]
    within = (ts == td) & (ts >= 0)
    cross = (ts >= 0) & (td >= 0) & (ts != td)

    def mean_or_nan(mask: np.ndarray) -> float:
        return float(t[mask].mean()) if mask.any() else math.nan

    expected = {
        "mean_trust": float(t.mean()),
        "within_team_trust": mean_or_nan(within),
        "cross_team_trust": mean_or_nan(cross),
        "trust_in_managers": mean_or_nan(org.role[net.dst] == MANAGER),
        "trust_in_coach": mean_or_nan(org.role[net.dst] == COACH),
    }
    per_member = model.skill[: org.n_members].mean(axis=1)
    expected["mean_skill"] = float(per_member.mean())
    expected["skill_p10"] = float(np.percentile(per_member, 10))
    expected["skill_gini"] = _gini_by_pairs(per_member)
    counts, shares = _fragmentation(model)
    expected["fragmentation"] = float(counts.mean())
    expected["largest_component_share"] = float(shares.mean())
    for key, value in expected.items():
        if math.isnan(value):
            assert math.isnan(values[key]), key
        else:
            assert values[key] == pytest.approx(value, abs=1e-12), key
    # Every compiled measure is recomputed here, by name: a value written at another
    # measure's place in the kernel's row would differ.
    counted = {"needs", "asks", "breaches", "silence_rate", "help_success_rate"}
    assert set(expected) | counted == {m.name for m in COMPILED}
    c = model.counts
    assert values["needs"] == c["needs"]
    assert values["asks"] == c["asks"]
    assert values["breaches"] == c["breaches"]
    if c["needs"]:
        assert values["silence_rate"] == pytest.approx(c["silences"] / c["needs"])
    else:
        assert math.isnan(values["silence_rate"])
    if c["helps"]:
        assert values["help_success_rate"] == pytest.approx(c["successes"] / c["helps"])
    assert c["asks"] + c["silences"] <= c["needs"]
    assert c["successes"] <= c["helps"] <= c["asks"]
    # the per-team table
    if rows:
        for row in rows:
            team = row["team"]
            mask = within & (ts == team)
            assert row["within_team_trust"] == pytest.approx(t[mask].mean())
            assert row["components"] == counts[team]
            assert row["largest_component_share"] == pytest.approx(shares[team])


def test_skill_gini_of_equal_skills_is_zero_not_below() -> None:
    """Seven equal skills of 0.35 round to a Gini of -2.2e-16: the measure stays in [0, 1]."""
    from sim import simulate
    from sim.model.scenario import Scenario

    flat = Scenario(members=7, skill_mean=0.35, skill_sd=0.0, specialty_bonus=0.0, steps=1)
    weekly = simulate(flat, 1).steps["skill_gini"]
    assert weekly.iloc[0] == 0.0
    assert weekly.between(0.0, 1.0).all()
    assert gini(np.full(7, 0.35)) == 0.0
