"""The organization and its contact network (sim/model/structure.py) against docs/ODD.md."""

from __future__ import annotations

import json
import math
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from helpers_names import name_lists
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model import kernels
from sim.model.scenario import ScenarioError, preset
from sim.model.structure import (
    COACH,
    MANAGER,
    MEMBER,
    ROLE_NAMES,
    Network,
    Organization,
    build_organization,
    contact_count,
    contact_groups,
    contact_pairs,
    level_sizes,
)

MEMBERS = 48


def _network(org: Organization) -> Network:
    return Network.from_pairs(org.n_people, *contact_pairs(org))


def _pair_set(org: Organization) -> set[tuple[int, int]]:
    src, dst = contact_pairs(org)
    return set(zip(src.tolist(), dst.tolist(), strict=True))


def _team_people(org: Organization, t: int) -> np.ndarray:
    """A front-line team: its manager plus direct reports (and its external coach)."""
    return np.flatnonzero(org.team == t)


# ----------------------------------------------------------------- organization
@pytest.mark.parametrize("levels", [1, 2, 3, 4])
@pytest.mark.parametrize("external", [False, True])
def test_hierarchy(levels, external):
    org = build_organization(MEMBERS, levels, external_coaches=external)
    span = math.ceil(MEMBERS ** (1 / levels))
    members = np.arange(MEMBERS)
    managers = np.flatnonzero(org.role == MANAGER)

    # members first, all MEMBER, at the bottom level
    assert org.n_members == MEMBERS
    assert (org.role[members] == MEMBER).all()
    assert (org.level[members] == levels).all()
    # exactly one top manager, at level 0, reporting to nobody
    top = np.flatnonzero((org.role == MANAGER) & (org.level == 0))
    assert len(top) == 1
    assert org.boss[top[0]] == -1
    # every other manager reports to a manager one level up
    for m in managers:
        if m != top[0]:
            assert org.role[org.boss[m]] == MANAGER
            assert org.level[org.boss[m]] == org.level[m] - 1
    # every member's boss is a front-line manager
    front_line = set(org.team_manager.tolist())
    assert set(org.boss[members].tolist()) <= front_line
    assert (org.level[org.team_manager] == levels - 1).all()
    assert (org.role[org.team_manager] == MANAGER).all()
    # levels = 1: one manager and all members form one team
    if levels == 1:
        assert len(managers) == 1
        assert org.n_teams == 1
        assert org.team_manager[0] == top[0]
    # teams: split evenly, by manager; a member's team is its boss's team
    sizes = np.bincount(org.team[members], minlength=org.n_teams)
    assert sizes.sum() == MEMBERS
    assert sizes.max() - sizes.min() <= 1
    assert (org.team_manager[org.team[members]] == org.boss[members]).all()
    assert (org.team[org.team_manager] == np.arange(org.n_teams)).all()
    # span about ceil(members ** (1 / levels)): nobody has more direct reports than that,
    # and there are just enough front-line teams
    reports = np.bincount(org.boss[org.boss >= 0], minlength=org.n_people)
    assert reports[managers].max() <= span
    assert (reports[managers] >= 1).all()
    if levels > 1:
        assert org.n_teams == math.ceil(MEMBERS / span)
    # people: members, then managers, then external coaches
    n_coaches = org.n_teams if external else 0
    assert org.n_people == MEMBERS + len(managers) + n_coaches
    assert org.n_staff == MEMBERS + len(managers)
    assert (managers == np.arange(MEMBERS, MEMBERS + len(managers))).all()
    if external:
        coaches = np.flatnonzero(org.external)
        assert (org.role[coaches] == COACH).all()
        assert (org.coach_of_team == coaches).all()
        assert (org.team[coaches] == np.arange(org.n_teams)).all()
    else:
        assert (org.coach_of_team == -1).all()
        assert not org.external.any()


@pytest.mark.parametrize(
    ("levels", "teams"),
    # span: 48; ceil(48 ** 0.5) = 7 -> ceil(48 / 7) = 7; ceil(48 ** (1/3)) = 4 -> 12;
    # ceil(48 ** 0.25) = 3 -> 16
    [(1, 1), (2, 7), (3, 12), (4, 16)],
)
def test_team_counts_by_hand(levels, teams):
    assert build_organization(MEMBERS, levels, external_coaches=False).n_teams == teams


def test_levels_four_manager_counts_by_hand():
    # span 3: 16 front-line managers, ceil(16 / 3) = 6 above them, ceil(6 / 3) = 2, one top
    org = build_organization(MEMBERS, 4, external_coaches=False)
    managers = org.role == MANAGER
    counts = [int((managers & (org.level == lvl)).sum()) for lvl in range(4)]
    assert counts == [1, 2, 6, 16]


@settings(max_examples=60, deadline=None)
@given(members=st.integers(2, 300), levels=st.integers(1, 6), external=st.booleans())
def test_any_size_gives_a_tree_with_even_teams(members, levels, external):
    org = build_organization(members, levels, external_coaches=external)
    sizes = np.bincount(org.team[:members], minlength=org.n_teams)
    assert sizes.min() >= 1
    assert sizes.max() - sizes.min() <= 1
    # everyone but the top manager and external coaches reaches the top through bosses
    top = int(np.flatnonzero((org.role == MANAGER) & (org.level == 0))[0])
    for i in range(org.n_staff):
        cur, hops = i, 0
        while org.boss[cur] >= 0:
            cur = int(org.boss[cur])
            hops += 1
        assert cur == top
        assert hops == org.level[i]


# -------------------------------------------------------------- contact network
@pytest.mark.parametrize("levels", [1, 2, 3, 4])
@pytest.mark.parametrize("external", [False, True])
def test_contact_pairs(levels, external):
    org = build_organization(MEMBERS, levels, external_coaches=external)
    src, dst = contact_pairs(org)
    pairs = _pair_set(org)
    # sorted by (source, target), no duplicates, no self-pairs, symmetric
    key = src * org.n_people + dst
    assert (np.diff(key) > 0).all()
    assert (src != dst).all()
    assert all((j, i) in pairs for i, j in pairs)
    for t in range(org.n_teams):
        team = _team_people(org, t)
        # all pairs inside a team are present
        for i, j in combinations(team.tolist(), 2):
            assert (i, j) in pairs
        # an external coach is in contact with its whole team, manager included
        if external:
            c = int(org.coach_of_team[t])
            served = [int(i) for i in team if i != c]
            assert org.team_manager[t] in served
            assert all((c, i) in pairs for i in served)
            # and with nobody else
            assert {j for i, j in pairs if i == c} == set(served)
    # each manager with direct reports and own manager
    for i in range(org.n_staff):
        if org.boss[i] >= 0:
            assert (i, int(org.boss[i])) in pairs
    # nothing else: every pair shares a boss or team, or is a boss-report pair
    for i, j in pairs:
        same_team = org.team[i] >= 0 and org.team[i] == org.team[j]
        boss_pair = org.boss[i] == j or org.boss[j] == i
        peers = org.boss[i] >= 0 and org.boss[i] == org.boss[j]
        assert same_team or boss_pair or peers, (i, j)


def test_levels_one_is_a_clique():
    org = build_organization(12, 1, external_coaches=False)
    # 13 people, all in contact: 13 * 12 directed pairs
    assert len(contact_pairs(org)[0]) == 13 * 12


def test_members_of_different_teams_are_not_in_contact():
    org = build_organization(MEMBERS, 2, external_coaches=False)
    pairs = _pair_set(org)
    for i, j in combinations(range(MEMBERS), 2):
        assert ((i, j) in pairs) == (org.team[i] == org.team[j])


@pytest.mark.parametrize("levels", [1, 2, 3, 4])
@pytest.mark.parametrize("external", [False, True])
def test_network_find_rev_and_compiled_find_edge(levels, external):
    org = build_organization(MEMBERS, levels, external_coaches=external)
    net = _network(org)
    n = org.n_people
    # find: every pair's own edge index
    e = net.find(net.src, net.dst)
    np.testing.assert_array_equal(e, np.arange(net.n_edges))
    # -1 for every pair not in contact (all n * n pairs checked)
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    found = net.find(ii, jj)
    in_contact = np.isin(ii * n + jj, net.key)
    assert (found[~in_contact] == -1).all()
    assert (net.src[found[in_contact]] == ii[in_contact]).all()
    assert (net.dst[found[in_contact]] == jj[in_contact]).all()
    # rev is the reverse edge, and an involution
    assert (net.src[net.rev] == net.dst).all()
    assert (net.dst[net.rev] == net.src).all()
    np.testing.assert_array_equal(net.rev[net.rev], np.arange(net.n_edges))
    # CSR offsets: the edges of i are indptr[i]:indptr[i + 1]
    for i in range(n):
        assert (net.src[net.indptr[i] : net.indptr[i + 1]] == i).all()
    # the compiled lookup agrees with Network.find on every pair
    compiled = np.array(
        [kernels.find_edge(net.indptr, net.dst, i, j) for i, j in zip(ii, jj, strict=True)]
    )
    np.testing.assert_array_equal(compiled, found)


def test_find_beyond_the_last_key():
    org = build_organization(12, 1, external_coaches=False)
    net = _network(org)
    last = org.n_people - 1
    assert net.find(np.array([last]), np.array([last]))[0] == -1
    assert net.find(np.array([last]), np.array([0]))[0] == net.n_edges - 12


def test_out_edges():
    org = build_organization(MEMBERS, 2, external_coaches=False)
    net = _network(org)
    rows = np.array([0, 5, MEMBERS])
    group, edges = net.out_edges(rows)
    for g, r in enumerate(rows):
        expected = np.arange(net.indptr[r], net.indptr[r + 1])
        np.testing.assert_array_equal(edges[group == g], expected)


@pytest.mark.parametrize("levels", range(1, 7))
@pytest.mark.parametrize(("team_size", "span"), [(4, 2), (6, 3), (3, 5)])
def test_team_size_and_span_give_the_shape_asked(levels: int, team_size: int, span: int) -> None:
    """Teams of team_size, span reports per higher manager; members follows."""
    sc = preset("top_down_internal", team_size=team_size, span=span, levels=levels)
    assert sc.members == team_size * span ** (levels - 1)
    org = build_organization(sc.members, sc.levels, False, sc.team_size, sc.span)
    assert (org.team_sizes() == team_size).all()
    assert org.n_teams == span ** (levels - 1)
    for lvl in range(levels - 1):  # every manager above the front line has `span` reports
        bosses = org.boss[(org.role == MANAGER) & (org.level == lvl + 1)]
        assert (np.bincount(bosses)[bosses] == span).all()
    assert ((org.role == MANAGER) & (org.level == 0)).sum() == 1


def test_team_size_alone_splits_the_members_into_teams_of_that_size() -> None:
    sc = preset("top_down_internal", members=48, levels=3, team_size=6)
    org = build_organization(sc.members, sc.levels, False, sc.team_size, sc.span)
    assert org.n_teams == 8
    assert (org.team_sizes() == 6).all()


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"team_size": 4, "span": 3, "levels": 2, "members": 13}, "does not fit"),
        ({"team_size": 4, "levels": 1, "members": 12}, "one team"),
        ({"span": 2, "levels": 6, "members": 12}, "need at least 32 members"),
        ({"span": 2, "levels": 2, "team_size": 0}, "team_size"),
    ],
)
def test_a_shape_the_members_cannot_fill_is_one_sentence(changes: dict, says: str) -> None:
    with pytest.raises(ScenarioError) as err:
        preset("top_down_internal", **changes)
    assert says in " ".join(err.value.lines)


def test_unset_shape_keeps_every_digest_and_the_span_rule() -> None:
    """Scenarios without team_size or span keep their digests and their organization."""
    sc = preset("top_down_internal", members=48, levels=4)
    assert level_sizes(48, 4) == level_sizes(48, 4, None, None)
    assert "team_size" not in json.dumps(sc.model_dump(mode="json", exclude={"team_size"}))
    assert sc.digest() == preset("top_down_internal", members=48, levels=4).digest()
    shaped = sc.with_(team_size=3, span=2)
    assert shaped.members == 3 * 2**3
    assert shaped.digest() != sc.digest()
    assert shaped.with_(levels=2).members == 6  # members follows a change of levels


@settings(max_examples=60, deadline=None)
@given(
    members=st.integers(2, 400),
    levels=st.integers(1, 5),
    external=st.booleans(),
    shape=st.sampled_from(["span rule", "team_size", "span"]),
)
def test_contact_count_is_what_contact_pairs_allocates(
    members: int, levels: int, external: bool, shape: str
) -> None:
    """The memory check counts the pairs from group sizes alone: the same number."""
    team_size = 5 if shape == "team_size" else None
    span = 2 if shape == "span" else None
    try:
        org = build_organization(members, levels, external, team_size, span)
    except ValueError:
        return  # a shape these members cannot fill (the Scenario refuses it)
    built = sum(len(g) * (len(g) - 1) for g in contact_groups(org))
    assert contact_count(members, levels, team_size, span, external) == built
    src, _ = contact_pairs(org)
    assert len(src) <= built  # repeats (a pair in two groups) are dropped


# ------------------------------------------------------------ roles, declared once
ROOT = Path(__file__).resolve().parent.parent
# Places that name two roles' words for something else than the role codes: each reason.
NOT_ROLE_LISTS = {
    # who breaches (Event.role): the coach, the managers or the top manager (its own choices)
    ("sim/model/events.py", ("coach", "manager")),
    ("sim/model/state.py", ("coach", "manager")),
    # the presets: the parameter `coach` and the sponsor "manager", not roles
    ("sim/model/scenario.py", ("coach", "manager")),
}


def role_lists(folder: Path) -> set[tuple[str, tuple[str, ...]]]:
    """Each place under `folder` (not sim/model/structure.py) naming 2 roles or more."""
    return name_lists(
        folder, set(ROLE_NAMES.values()), skip={ROOT / "sim" / "model" / "structure.py"}
    )


def test_no_list_of_role_names_stands_outside_the_structure() -> None:
    found = role_lists(ROOT / "sim")
    stray = sorted(found - NOT_ROLE_LISTS)
    assert not stray, f"lists of role names outside sim/model/structure.py: {stray}"
    assert found >= NOT_ROLE_LISTS, "an allowed place is gone: remove it from NOT_ROLE_LISTS"


def test_the_role_scan_finds_a_list(tmp_path: Path) -> None:
    (tmp_path / "front").mkdir()
    (tmp_path / "front" / "draw.py").write_text(
        'SHAPES = {"member": "o", "coach": "*"}\n'
        'def f(role):\n    return 1 if role == "manager" else 0\n',
        encoding="utf-8",
    )
    assert role_lists(tmp_path / "front") == {("front/draw.py", ("member", "coach"))}
    assert ROLE_NAMES == {MEMBER: "member", MANAGER: "manager", COACH: "coach"}
