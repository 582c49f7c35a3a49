"""How the workshop draws a run's network, week by week: everyone, a sample, or teams.

A small organization is drawn person by person in the report's layout; a large team
by a sample (every manager and coach, members spread); a large organization by one
node per team. The drawing is fixed once (`network_drawing`), and a function of the
run's state gives each week's node skill and edge trust (the story's sides and the
room's screen both use it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from sim.model.snapshots import network_snapshot
from sim.model.state import TrustState
from sim.model.structure import COACH, MANAGER
from sim.reporting import plots

__all__ = [
    "MAX_PEOPLE",
    "MAX_TEAMS",
    "SAMPLE",
    "Network",
    "network_drawing",
]

MAX_PEOPLE = 20  # above this, a sample of people or one node per team is drawn
SAMPLE = 16  # people drawn from a large team
MAX_TEAMS = 36  # team nodes drawn from a large organization


@dataclass
class Network:
    """What the page draws of a run's network, week by week (JSON-ready)."""

    kind: Literal["people", "sample", "teams"]
    caption: str
    x: list[float]
    y: list[float]
    shape: list[str]  # "circle" member, "star" coach, "square" manager, "diamond" external
    edges: list[tuple[int, int]]
    skill: list[list[float]] = field(default_factory=list)  # per week, per node
    trust: list[list[float]] = field(default_factory=list)  # per week, per edge
    ring: list[list[float]] = field(default_factory=list)  # teams: within-team trust
    people: list[int] = field(default_factory=list)  # each node's person (people, sample)


def network_drawing(state: TrustState) -> dict[str, Any]:
    """How a run's network is drawn: everyone, a sample, or one node per team.

    Returns the Network (positions, shapes, edges), a function from the state to this
    week's node skill and edge trust, and the organization in words.
    """
    org, _net = state.org, state.net
    sizes = org.team_sizes()
    managers = org.n_managers
    levels = org.levels
    teams = (
        f"{_count(org.n_members, 'person', 'people')} in {_count(org.n_teams, 'team')} of "
        f"{_size_words(sizes)}, {_count(managers, 'manager')}, {_count(levels, 'level')}"
    )
    if org.n_people <= MAX_PEOPLE or org.n_teams <= 2:
        people = np.arange(org.n_people)
        if org.n_people > MAX_PEOPLE:
            people = _sample(org)
        return {**_people_view(state, people), "teams": teams}
    return {**_team_view(state), "teams": teams}


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _size_words(sizes: NDArray[np.int64]) -> str:
    lo, hi = int(sizes.min()), int(sizes.max())
    return f"{lo}" if lo == hi else f"{lo} to {hi}"


def _sample(org: Any) -> NDArray[np.int64]:
    """Every manager and coach, and members evenly spread, up to SAMPLE people."""
    staff = np.flatnonzero((org.role == MANAGER) | (org.role == COACH) | org.external)
    members = np.setdiff1d(np.arange(org.n_people), staff)
    room = max(0, SAMPLE - len(staff))
    picked = members[np.linspace(0, len(members) - 1, room).round().astype(int)] if room else []
    return np.union1d(staff, picked).astype(np.int64)


def _people_view(state: TrustState, people: NDArray[np.int64]) -> dict[str, Any]:
    org, net = state.org, state.net
    index = np.full(org.n_people, -1)
    index[people] = np.arange(len(people))
    once = (net.src < net.dst) & (index[net.src] >= 0) & (index[net.dst] >= 0)
    src, dst, rev = net.src[once], net.dst[once], net.rev[once]
    # The report's layout: each team on its circle, its manager in the middle.
    nodes = network_snapshot(state, 0).nodes
    pos = plots.team_layout(nodes[nodes["node"].isin(people)])
    x = [round(pos[int(p)][0], 3) for p in people]
    y = [round(pos[int(p)][1], 3) for p in people]
    shape = [
        "diamond"
        if org.external[p]
        else "star"
        if org.role[p] == COACH
        else "square"
        if org.role[p] == MANAGER
        else "circle"
        for p in people
    ]
    edges = np.flatnonzero(once)
    n_edges = net.n_edges

    def measure(s: TrustState) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        e, r = edges, rev
        if s.net.n_edges != n_edges:  # a reorg rewired the network: find the ties again
            e, r = s.net.find(src, dst), s.net.find(dst, src)
        there = (e >= 0) & (r >= 0)
        trust = np.where(there, (s.trust[np.maximum(e, 0)] + s.trust[np.maximum(r, 0)]) / 2, 0.0)
        return s.skill[people].mean(axis=1), trust

    shown = len(people)
    caption = (
        f"{shown} of {org.n_people} people shown (every manager and coach, members spread)"
        if shown < org.n_people
        else f"all {org.n_people} people"
    )
    network = Network(
        kind="people" if shown == org.n_people else "sample",
        caption=caption,
        x=x,
        y=y,
        shape=shape,
        edges=[(int(index[a]), int(index[b])) for a, b in zip(src, dst, strict=True)],
        people=[int(p) for p in people],
    )
    return {"network": network, "measure": measure}


def _team_view(state: TrustState) -> dict[str, Any]:
    org, net = state.org, state.net
    shown = np.arange(min(org.n_teams, MAX_TEAMS))
    cols = max(1, math.ceil(math.sqrt(len(shown))))
    x = [round(1.6 * float(t % cols), 3) for t in shown]
    y = [round(-1.6 * float(t // cols), 3) for t in shown]
    team_of = np.where(org.external | (org.team < 0), -1, org.team)
    ts, td = team_of[net.src], team_of[net.dst]
    cross = (ts >= 0) & (td >= 0) & (ts < td) & (ts < len(shown)) & (td < len(shown))
    pairs = sorted({(int(a), int(b)) for a, b in zip(ts[cross], td[cross], strict=True)})
    m = len(shown)
    pair_keys = np.array([p * m + q for p, q in pairs], dtype=np.int64)

    def measure(s: TrustState) -> tuple[Any, Any, Any]:
        o, n = s.org, s.net
        t_of = np.where(o.external | (o.team < 0), -1, o.team)
        people = (t_of >= 0) & (t_of < len(shown)) & (np.arange(o.n_people) < o.n_members)
        skill = np.bincount(t_of[people], s.skill[people].mean(axis=1), len(shown))
        count = np.bincount(t_of[people], minlength=len(shown))
        a, b = t_of[n.src], t_of[n.dst]
        inside = (a == b) & (a >= 0) & (a < len(shown))
        ring = np.bincount(a[inside], s.trust[inside], len(shown)) / np.maximum(
            np.bincount(a[inside], minlength=len(shown)), 1
        )
        both = (a >= 0) & (b >= 0) & (a < m) & (b < m) & (a != b)
        key = np.minimum(a, b)[both] * m + np.maximum(a, b)[both]
        sums = np.bincount(key, s.trust[both], m * m)
        counts = np.bincount(key, minlength=m * m)
        trust = sums[pair_keys] / np.maximum(counts[pair_keys], 1)
        return skill / np.maximum(count, 1), trust, ring

    network = Network(
        kind="teams",
        caption=(
            f"one circle per team ({len(shown)} of {org.n_teams} teams shown): its colour is the "
            "team's skill, its ring the trust within it; lines are trust between teams"
        ),
        x=x,
        y=y,
        shape=["circle"] * len(shown),
        edges=pairs,
    )
    return {"network": network, "measure": measure}
