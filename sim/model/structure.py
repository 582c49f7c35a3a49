"""The organization: hierarchy, teams, and the contact network on which trust lives.

People are indexed 0..N-1: the front-line members first, then the managers from the
top down, then the external coaches (if any). Keeping that order fixed makes the
draws of members and managers line up across regimes (common random numbers).

The contact network is stored as sorted directed edge arrays (CSR by source), never
as a dense N x N matrix, so that ten thousand people fit.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "COACH",
    "MANAGER",
    "MEMBER",
    "ROLE_NAMES",
    "Network",
    "Organization",
    "build_organization",
]

# The roles, declared once: a role's code is its place here (the kernels use the codes).
ROLE_NAMES = dict(enumerate(("member", "manager", "coach")))
MEMBER, MANAGER, COACH = ROLE_NAMES
IntArray = NDArray[np.int64]


@dataclass
class Organization:
    """Who reports to whom, who is in which front-line team."""

    n_members: int
    levels: int
    role: NDArray[np.int8]  # MEMBER, MANAGER or COACH (an internal coach is a member made COACH)
    level: IntArray  # 0 = top manager, members at `levels`
    boss: IntArray  # index of one's own manager, -1 for the top manager and external coaches
    team: IntArray  # front-line team (members, front-line managers, coaches); -1 above
    team_manager: IntArray  # front-line manager of each team
    external: NDArray[np.bool_]  # True for external coaches
    coach_of_team: IntArray  # coach of each team, -1 where none

    @property
    def n_people(self) -> int:
        """Everyone: members, managers and external coaches."""
        return len(self.role)

    @property
    def n_teams(self) -> int:
        """Number of front-line teams."""
        return len(self.team_manager)

    def team_sizes(self) -> IntArray:
        """People in each front-line team: its members and coach (not its manager)."""
        in_team = (self.team >= 0) & (self.role != MANAGER) & ~self.external
        return np.bincount(self.team[in_team], minlength=self.n_teams)

    @property
    def n_managers(self) -> int:
        """Managers at every level."""
        return int((self.role == MANAGER).sum())

    @property
    def n_staff(self) -> int:
        """Members and managers (everyone but external coaches)."""
        return int((~self.external).sum())


def level_sizes(
    members: int, levels: int, team_size: int | None = None, span: int | None = None
) -> list[int]:
    """Managers per level, top first (docs/ODD.md, "Organization").

    Unset team_size and span: the span rule, about ceil(members ** (1 / levels)). With
    team_size, the front line has ceil(members / team_size) teams; with span (and no
    team_size), span ** (levels - 1) teams; managers above report to one with `span`
    direct reports (or the span rule over the teams when span is unset).

    Raises:
        ValueError: a shape the members cannot fill, in one sentence.
    """
    if team_size is not None or span is not None:
        return _shaped_sizes(members, levels, team_size, span)
    span = math.ceil(members ** (1.0 / levels) - 1e-9)
    sizes = [1] * levels
    if levels > 1:
        sizes[-1] = math.ceil(members / span)
        for lvl in range(levels - 2, 0, -1):
            sizes[lvl] = math.ceil(sizes[lvl + 1] / span)
    return sizes


def _shaped_sizes(members: int, levels: int, team_size: int | None, span: int | None) -> list[int]:
    """level_sizes with team_size and/or span given."""
    if levels == 1:
        if team_size is not None and members > team_size:
            raise ValueError(
                f"levels = 1 puts all {members} members in one team, more than team_size = "
                f"{team_size}: use more levels, or fewer members"
            )
        return [1]
    teams = math.ceil(members / team_size) if team_size is not None else span ** (levels - 1)  # type: ignore[operator]
    if teams > members:
        raise ValueError(
            f"{teams} front-line teams (span = {span}, levels = {levels}) need at least "
            f"{teams} members, not {members}"
        )
    step = span if span is not None else math.ceil(teams ** (1.0 / (levels - 1)) - 1e-9)
    sizes = [1] * levels
    sizes[-1] = teams
    for lvl in range(levels - 2, 0, -1):
        sizes[lvl] = math.ceil(sizes[lvl + 1] / step)
    if levels > 1 and sizes[1] > step:
        raise ValueError(
            f"{teams} front-line teams cannot report to one top manager through {levels} "
            f"levels with span = {span}: use more levels or a larger span"
        )
    return sizes


def contact_count(
    members: int,
    levels: int,
    team_size: int | None = None,
    span: int | None = None,
    external_coaches: bool = False,
) -> int:
    """Directed contact pairs before repeats are dropped: what contact_pairs allocates.

    Counted from the group sizes alone (each manager with their direct reports; each
    external coach with the team it serves), so a scenario's memory can be judged
    before anything is built.
    """
    sizes = [*level_sizes(members, levels, team_size, span), members]
    pairs = 0
    for bosses, reports in itertools.pairwise(sizes):
        # reports split as evenly as possible: r groups of q + 1 and the rest of q
        q, r = divmod(reports, bosses)
        for n_groups, size in ((r, q + 2), (bosses - r, q + 1)):  # + the boss
            pairs += n_groups * size * (size - 1)
    if external_coaches:
        q, r = divmod(members, sizes[-2])
        for n_groups, size in ((r, q + 3), (sizes[-2] - r, q + 2)):  # + manager and coach
            pairs += n_groups * size * (size - 1)
    return pairs


def _split_evenly(n_items: int, n_groups: int) -> IntArray:
    """Group of each of n_items, as evenly as possible (sizes differ by at most one)."""
    return (np.arange(n_items) * n_groups) // n_items


def build_organization(
    members: int,
    levels: int,
    external_coaches: bool,
    team_size: int | None = None,
    span: int | None = None,
) -> Organization:
    """The management tree of docs/ODD.md: members split evenly into front-line teams.

    levels = 1: one manager and all members form one team. levels = L > 1: members are
    split as evenly as possible under front-line managers, who report upward with span
    about ceil(members ** (1 / L)) up to one top manager; or, when given, in teams of
    team_size and with `span` direct reports per higher manager (level_sizes).
    """
    sizes = level_sizes(members, levels, team_size, span)
    first = [members]
    for s in sizes[:-1]:
        first.append(first[-1] + s)
    n_managers = sum(sizes)
    n_teams = sizes[-1]
    n = members + n_managers + (n_teams if external_coaches else 0)

    role = np.full(n, MEMBER, dtype=np.int8)
    level = np.full(n, levels, dtype=np.int64)
    boss = np.full(n, -1, dtype=np.int64)
    for lvl, size in enumerate(sizes):
        idx = np.arange(first[lvl], first[lvl] + size)
        role[idx] = MANAGER
        level[idx] = lvl
        if lvl > 0:
            boss[idx] = first[lvl - 1] + _split_evenly(size, sizes[lvl - 1])
    team_manager = np.arange(first[-1], first[-1] + n_teams)
    member_team = _split_evenly(members, n_teams)
    boss[:members] = team_manager[member_team]

    team = np.full(n, -1, dtype=np.int64)
    team[:members] = member_team
    team[team_manager] = np.arange(n_teams)
    external = np.zeros(n, dtype=bool)
    coach_of_team = np.full(n_teams, -1, dtype=np.int64)
    if external_coaches:
        idx = np.arange(members + n_managers, n)
        role[idx] = COACH
        team[idx] = np.arange(n_teams)
        external[idx] = True
        coach_of_team[:] = idx
    return Organization(
        n_members=members,
        levels=levels,
        role=role,
        level=level,
        boss=boss,
        team=team,
        team_manager=team_manager,
        external=external,
        coach_of_team=coach_of_team,
    )


def contact_pairs(org: Organization) -> tuple[IntArray, IntArray]:
    """Directed contact pairs (both directions), sorted by (source, target).

    Every manager and their direct reports are all in contact (a team, or managers who
    share a boss); an external coach is in contact with everyone in the team it serves.
    """
    src_parts, dst_parts = [], []
    for g in contact_groups(org):
        a = np.repeat(g, len(g))
        b = np.tile(g, len(g))
        keep = a != b
        src_parts.append(a[keep])
        dst_parts.append(b[keep])
    key = np.concatenate(src_parts) * org.n_people + np.concatenate(dst_parts)
    key.sort()  # then drop repeats (a pair in two groups): faster than np.unique at scale
    key = key[np.concatenate(([True], key[1:] != key[:-1]))] if len(key) else key
    return key // org.n_people, key % org.n_people


def contact_groups(org: Organization) -> list[IntArray]:
    """The groups whose people are all in contact.

    A manager with their direct reports; an external coach with the team it serves.
    """
    groups: list[IntArray] = []
    has_boss = org.boss >= 0
    order = np.argsort(org.boss[has_boss], kind="stable")
    reports = np.flatnonzero(has_boss)[order]
    bosses = org.boss[reports]
    cuts = np.flatnonzero(np.diff(bosses)) + 1
    for group in np.split(reports, cuts):
        groups.append(np.append(group, org.boss[group[0]]))
    for t, c in enumerate(org.coach_of_team):
        if c >= 0 and org.external[c]:
            served = np.flatnonzero((org.team == t) & ~org.external)
            groups.append(np.append(served, c))
    return groups


@dataclass
class Network:
    """Sorted directed edges with CSR offsets, the reverse of each edge, and key lookup."""

    n: int
    src: IntArray
    dst: IntArray
    key: IntArray  # src * n + dst, sorted
    indptr: IntArray  # edges of i are indptr[i]:indptr[i + 1]
    rev: IntArray  # index of edge (dst, src)

    @classmethod
    def from_pairs(cls, n: int, src: IntArray, dst: IntArray) -> Network:
        """Index a symmetric set of directed pairs sorted by (src, dst)."""
        key = src * n + dst
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
        rev = np.searchsorted(key, dst * n + src)
        return cls(n=n, src=src, dst=dst, key=key, indptr=indptr, rev=rev)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.src)

    def find(self, i: IntArray, j: IntArray) -> IntArray:
        """Edge index of each (i, j), or -1 where the pair is not in contact."""
        k = np.asarray(i) * self.n + np.asarray(j)
        pos = np.searchsorted(self.key, k)
        pos = np.minimum(pos, self.n_edges - 1)
        return np.where(self.key[pos] == k, pos, -1)

    def out_edges(self, rows: IntArray) -> tuple[IntArray, IntArray]:
        """All out-edges of the given rows, flattened: (row position, edge index)."""
        starts = self.indptr[rows]
        counts = self.indptr[rows + 1] - starts
        group = np.repeat(np.arange(len(rows)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return group, np.repeat(starts, counts) + offsets
