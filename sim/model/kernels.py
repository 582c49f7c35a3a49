"""The compiled parts of one step: the loops over people that compete or chain.

Where requests compete for a helper's capacity, or a choice is made per person among
their contacts, the step is a loop. numba compiles these loops; the formulas they
apply are the plain functions of mechanisms.py, learning.py and trust.py, compiled
here as they are, so each formula is still written once. Random numbers are drawn by
the model (one stream per mechanism) and passed in: the kernels draw nothing.

Over 600 lines because its parts are one compiled program that is not split by job
(learning round, trust, measures, the week and run loop): the week and the run loop
call every other part, all of them share the compiled formulas, the sort helpers and
the parameter and row layout numba compiles in as constants, and numba's cache is
kept and dropped per file (COMPILED_SOURCES), so a split would make those shared
private helpers public names of several modules, each with its own cache to keep
fresh, for no change in what any part does.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

import numba
import numpy as np

from sim.model import learning, mechanisms, trust
from sim.model.measures import COMPILED
from sim.model.structure import MANAGER

__all__ = ["components", "endorse", "find_edge", "gossip", "learning_round"]


def _drop_stale_cache(sources: list[Path], cache: Path) -> bool:
    """Delete numba's cached kernels when any compiled source changed since they were made.

    numba keys its cache on the file of the function it compiles (this one), not on
    the files of the functions that function calls (mechanisms.py, learning.py,
    trust.py): an edited formula would silently keep its old compiled code. So the
    cache carries a digest of every compiled source; when it differs, the cache goes.

    Returns:
        True when cached kernels were deleted.
    """
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()
    stamp = cache / "kernels.sources.sha256"
    try:
        if stamp.read_text(encoding="ascii") == digest:
            return False
    except OSError:
        pass
    dropped = False
    for path in sources:
        for old in cache.glob(f"{path.stem}.*.nb[ic]"):
            with contextlib.suppress(OSError):  # another process may have removed it
                old.unlink()
                dropped = True
    with contextlib.suppress(OSError):  # a read-only install: numba will not cache either
        cache.mkdir(exist_ok=True)
        fresh = stamp.with_suffix(f".{os.getpid()}")
        fresh.write_text(digest, encoding="ascii")
        fresh.replace(stamp)
    return dropped


HERE = Path(__file__).resolve().parent
# measures and structure give the kernels constants (rows, roles) that numba compiles in.
COMPILED_SOURCES = [
    HERE / f"{name}.py"
    for name in ("kernels", "mechanisms", "learning", "trust", "measures", "structure")
]
_drop_stale_cache(COMPILED_SOURCES, HERE / "__pycache__")

_jit = numba.njit(cache=True, nogil=True)
# The sorts below call numpy in object mode, which holds the GIL for those microseconds.
_jit_with_gil = numba.njit(cache=True)

_choice_weight = _jit(mechanisms.choice_weight)
_ask_probability = _jit(mechanisms.ask_probability)
_refusal = _jit(mechanisms.refusal)
_success_probability = _jit(mechanisms.success_probability)
_weakest_link_probability = _jit(mechanisms.weakest_link_probability)
_climate_shift = _jit(mechanisms.climate_shift)
_recognition = _jit(mechanisms.recognition)
_breach_direct = _jit(mechanisms.breach_direct)
_breach_heard = _jit(mechanisms.breach_heard)
_gossip_update = _jit(mechanisms.gossip_update)
_sponsorship_transfer = _jit(mechanisms.sponsorship_transfer)
_imitate = _jit(learning.imitate)
_toward_mastery = _jit(learning.toward_mastery)
_asymmetric_update = _jit(trust.asymmetric_update)
_beta_update = _jit(trust.beta_update)


# Above this many values numpy sorts (through numba's object mode), 15 times faster than
# numba's own sort at ten thousand values; below it, the call would cost more than it saves.
_NUMPY_SORT_FROM = 1000


@_jit_with_gil
def _sorted(x: Any) -> Any:
    """The values sorted ascending (a new array): the same order, whoever sorts."""
    if len(x) >= _NUMPY_SORT_FROM:
        with numba.objmode(out="float64[:]"):
            out = np.sort(x)
        return out  # noqa: RET504  (object mode hands values out by assignment only)
    out = x.copy()
    out.sort()
    return out


@_jit_with_gil
def _argsort(x: Any) -> Any:
    """The order that sorts x (distinct values, as uniform draws are, sort one way only)."""
    if len(x) >= _NUMPY_SORT_FROM:
        with numba.objmode(out="int64[:]"):
            out = np.argsort(x)
        return out  # noqa: RET504  (object mode hands values out by assignment only)
    return np.argsort(x)


@_jit
def find_edge(indptr: Any, dst: Any, i: int, j: int) -> int:
    """Index of edge (i, j) by binary search in i's sorted contacts, or -1."""
    lo, hi = indptr[i], indptr[i + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        if dst[mid] < j:
            lo = mid + 1
        else:
            hi = mid
    if lo < indptr[i + 1] and dst[lo] == j:
        return lo
    return -1


@_jit
def _update_trust(
    tr: Any, evidence: Any, e: int, won: bool, beta: bool, gain: float, loss: float
) -> None:
    """One outcome observed on edge e, by the scenario's trust rule."""
    if beta:
        tr[e] = _beta_update(tr[e], won, evidence[e], 0.0)
        evidence[e] += 1.0
    else:
        tr[e] = _asymmetric_update(tr[e], won, gain, loss)


@_jit
def _breach(
    tr: Any,
    indptr: Any,
    dst: Any,
    external: Any,
    victim: int,
    breacher: int,
    breach_loss: float,
    gossip_weight: float,
) -> None:
    """Breacher j breaches victim i; every teammate w of i hears of it (docs/ODD.md step 6).

    Teammates are i's contacts but external coaches: everyone who shares a team with i,
    including, for a manager, the peers under the same boss (docs/ODD.md). Only those in
    contact with j change their trust in j.
    """
    e = find_edge(indptr, dst, victim, breacher)
    if e >= 0:
        tr[e] = _breach_direct(tr[e], breach_loss)
    for e_iw in range(indptr[victim], indptr[victim + 1]):
        w = dst[e_iw]
        if w == breacher or external[w]:
            continue
        e_wj = find_edge(indptr, dst, w, breacher)
        e_wi = find_edge(indptr, dst, w, victim)
        if e_wj >= 0 and e_wi >= 0:
            tr[e_wj] = _breach_heard(tr[e_wj], tr[e_wi], gossip_weight, breach_loss)


@_jit
def breach_all(
    tr: Any,
    indptr: Any,
    dst: Any,
    external: Any,
    victims: Any,
    breachers: Any,
    breach_loss: float,
    gossip_weight: float,
) -> None:
    """A list of breaches, applied in order."""
    for n in range(len(victims)):
        _breach(tr, indptr, dst, external, victims[n], breachers[n], breach_loss, gossip_weight)


# A participant's choices in a workshop room (sim.workshop.room), one column per person: row ASK
# names whom learner i asks (MODEL: the model's rule decides; SILENT: i stays silent),
# row ANSWER the helper's answer to i's request (MODEL, REFUSE or ACCEPT), and row
# ANSWERED_BY the helper who gave that answer: a recorded answer must meet the request
# it answers. An array of MODEL is a week with no participant.
ASK, ANSWER, ANSWERED_BY = range(3)
MODEL, SILENT = -1, -2
REFUSE, ACCEPT = 0, 1


def no_choices(n_staff: int) -> Any:
    """The choices of a week without participants: the model decides for everyone."""
    return np.full((3, n_staff), MODEL, dtype=np.int64)


@_jit
def learning_round(
    skill: Any,
    tr: Any,
    evidence: Any,
    indptr: Any,
    dst: Any,
    rev: Any,
    role: Any,
    external: Any,
    benevolence: Any,
    integrity: Any,
    capacity: Any,
    learner: Any,
    topic: Any,
    u_choice: Any,
    u_voice: Any,
    u_order: Any,
    u_accept: Any,
    u_out: Any,
    u_breach: Any,
    params: Any,
    beta: bool,
    peer_coaching: bool,
) -> Any:
    """docs/ODD.md steps 2 to 6 for this step's needs: choice, voice, response, outcome, breach.

    `round_` (`choose`, then `serve`) with the model deciding for everyone, for callers
    that hold the arrays one by one (tests of the mechanisms on a hand-built team). params:
    selectivity, refusal_loss, sensitivity, learning_rate, teaching_gain,
    self_learning_rate, trust_gain, trust_loss, peer_recognition, breach_loss,
    gossip_weight.

    Returns:
        Counts: asks, silences, helps, successes, breaches.
    """
    s = len(u_choice)  # members and managers (capacity also counts outside coaches)
    u = np.empty((11, s))  # the week's uniforms as open_week lays them out
    u[2], u[3], u[4], u[5], u[6], u[7] = u_choice, u_voice, u_order, u_accept, u_out, u_breach
    fp = np.zeros(N_FLOAT_PARAMS)
    fp[:N_SERVE_PARAMS] = params
    ip = np.zeros(N_INT_PARAMS, dtype=np.int64)
    ip[I_BETA], ip[I_PEER] = beta, peer_coaching
    counts = np.zeros(len(COUNTS), dtype=np.int64)
    no_rates = np.zeros(len(capacity))  # needs are given: the rates are not read
    open_to_voice = np.ones(len(capacity))  # every team's manager as open as the model's
    round_(
        skill,
        tr,
        evidence,
        (indptr, dst, rev),
        (role, external),
        (benevolence, integrity, capacity, no_rates, open_to_voice),
        fp,
        ip,
        counts,
        learner,
        topic,
        u,
        np.full((3, s), MODEL, dtype=np.int64),
    )
    asks, silences, helps, successes, breaches = (
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        counts[5],
    )
    return asks, silences, helps, successes, breaches


@_jit
def _weights(
    skill: Any, tr: Any, indptr: Any, dst: Any, i: int, k: int, selectivity: float, weight: Any
) -> float:
    """ODD 7.8: the weight of each of i's contacts for topic k, into `weight`; their sum."""
    first = indptr[i]
    total = 0.0
    for e in range(first, indptr[i + 1]):
        gap = skill[dst[e], k] - skill[i, k]
        # A contact who knows no more weighs 0 whatever the trust: no power taken.
        w = _choice_weight(tr[e], gap, selectivity) if gap > 0.0 else 0.0
        weight[e - first] = w
        total += w
    return total


@_jit
def candidates(
    skill: Any, tr: Any, indptr: Any, dst: Any, i: int, k: int, selectivity: float
) -> Any:
    """Learner i's candidates for topic k (ODD 7.8: the contacts of weight > 0), in order."""
    weight = np.empty(indptr[i + 1] - indptr[i])
    _weights(skill, tr, indptr, dst, i, k, selectivity, weight)
    return dst[indptr[i] : indptr[i + 1]][weight > 0.0]


@_jit
def choose(
    skill: Any,
    tr: Any,
    indptr: Any,
    dst: Any,
    learner: Any,
    topic: Any,
    u_choice: Any,
    u_voice: Any,
    selectivity: float,
    choices: Any,
    openness: Any,
    rules: Any,
) -> Any:
    """docs/ODD.md steps 2 and 3: each learner picks a helper, then asks or stays silent.

    Weights and chances are taken on the state at the start of the round; nothing is
    changed. Where choices[ASK, i] is not MODEL, learner i's participant decided:
    SILENT, or the person asked, who must be one of i's candidates (weight > 0).
    openness: each person's voice factor (their front-line manager's openness, 7.9).
    rules: the scenario's codes of (choice_rule, voice_rule), indices in CHOICE_RULES
    and VOICE_RULES.

    Returns:
        Each learner's request (the edge to the helper asked, -1 for none), asks, silences.

    Raises:
        ValueError: a choice for a learner with no candidate, or naming a non-candidate.
    """
    n = len(learner)
    edge = np.full(n, -1, dtype=np.int64)
    asks = 0
    silences = 0
    degree = 0
    for a in range(n):
        degree = max(degree, indptr[learner[a] + 1] - indptr[learner[a]])
    weight = np.empty(degree)  # each contact's weight, computed once per learner
    for a in range(n):
        i, k = learner[a], topic[a]
        first = indptr[i]
        total = _weights(skill, tr, indptr, dst, i, k, selectivity, weight)
        asked = choices[ASK, i]
        if total <= 0.0:
            if asked != MODEL:
                raise ValueError("a choice was given to a learner who has nobody to ask")
            continue
        if asked == SILENT:
            silences += 1
            continue
        pick = -1
        if asked != MODEL:
            for e in range(first, indptr[i + 1]):
                if dst[e] == asked and weight[e - first] > 0.0:
                    pick = e
            if pick < 0:
                raise ValueError("a choice names someone who is not among the learner's candidates")
            edge[a] = pick
            asks += 1
            continue
        if rules[0] == BEST:  # the heaviest candidate; ties go to the first in index order
            best = 0.0
            for e in range(first, indptr[i + 1]):
                if weight[e - first] > best:
                    best = weight[e - first]
                    pick = e
        else:
            target = u_choice[i] * total
            cum = 0.0
            for e in range(first, indptr[i + 1]):
                w = weight[e - first]
                if w > 0.0:
                    pick = e
                    cum += w
                    if cum > target:
                        break
        felt = tr[pick]
        if rules[1] == GENERAL:  # how safe i feels among all its contacts
            felt = 0.0
            for e in range(first, indptr[i + 1]):
                felt += tr[e]
            felt /= indptr[i + 1] - first
        if u_voice[i] < _ask_probability(felt, openness[i]):
            edge[a] = pick
            asks += 1
        else:
            silences += 1
    return edge, asks, silences


@_jit
def serve(
    skill: Any,
    tr: Any,
    evidence: Any,
    indptr: Any,
    dst: Any,
    rev: Any,
    role: Any,
    external: Any,
    benevolence: Any,
    integrity: Any,
    capacity: Any,
    learner: Any,
    topic: Any,
    edge: Any,
    u_order: Any,
    u_accept: Any,
    u_out: Any,
    u_breach: Any,
    params: Any,
    beta: bool,
    peer_coaching: bool,
    choices: Any,
    weakest: bool,
) -> Any:
    """docs/ODD.md steps 4 to 6 for the requests `choose` made: response, outcome, breach.

    weakest: the `success_rule` "weakest" (min of the two trusts) instead of the
    geometric mean.

    Requests are served in random order (u_order) up to each helper's capacity; a
    helper accepts with probability b_j, or as its participant answered
    (choices[ANSWER, i] for learner i's request; capacity still applies).

    Returns:
        Counts (helps, successes, breaches), and per learner whether the request was
        accepted and whether the help succeeded.

    Raises:
        ValueError: an answer to a request that was not made to the helper named.
    """
    (
        refusal_loss,
        sensitivity,
        learning_rate,
        teaching_gain,
        self_rate,
        gain,
        loss,
        peer_recognition,
        breach_loss,
        gossip_weight,
    ) = (
        params[1],
        params[2],
        params[3],
        params[4],
        params[5],
        params[6],
        params[7],
        params[8],
        params[9],
        params[10],
    )
    n = len(learner)
    for a in range(n):
        answer = choices[ANSWER, learner[a]]
        if answer != MODEL and (edge[a] < 0 or dst[edge[a]] != choices[ANSWERED_BY, learner[a]]):
            raise ValueError("an answer was given to a request that was not made")
    # 4. Response in random order, up to capacity, with probability b_j.
    keys = np.empty(n)
    for a in range(n):
        keys[a] = u_order[learner[a]]
    order = _argsort(keys)
    used = np.zeros(len(capacity), dtype=np.int64)
    accepted = np.zeros(n, dtype=np.bool_)
    for r in range(n):
        a = order[r]
        if edge[a] < 0:
            continue
        j = dst[edge[a]]
        answer = choices[ANSWER, learner[a]]
        willing = u_accept[learner[a]] < benevolence[j] if answer == MODEL else answer == ACCEPT
        if used[j] < capacity[j] and willing:
            used[j] += 1
            accepted[a] = True
    # 5. Outcome, with chances on the state before any update.
    success = np.zeros(n, dtype=np.bool_)
    for a in range(n):
        if accepted[a]:
            e = edge[a]
            if weakest:
                p = _weakest_link_probability(tr[e], tr[rev[e]], sensitivity)
            else:
                p = _success_probability(tr[e], tr[rev[e]], sensitivity)
            success[a] = u_out[learner[a]] < p
    helps = 0
    successes = 0
    new_skill = np.empty(n)
    for a in range(n):
        i, k = learner[a], topic[a]
        if success[a]:
            new_skill[a] = _imitate(skill[i, k], skill[dst[edge[a]], k], learning_rate)
        elif accepted[a]:
            new_skill[a] = skill[i, k]  # failed help teaches nothing
        else:
            new_skill[a] = _toward_mastery(skill[i, k], self_rate, 1.0)
    taught = np.zeros(skill.shape, dtype=np.int64)
    for a in range(n):
        skill[learner[a], topic[a]] = new_skill[a]
        if success[a]:
            taught[dst[edge[a]], topic[a]] += 1
    for j in range(skill.shape[0]):
        for k in range(skill.shape[1]):
            if taught[j, k] > 0:
                skill[j, k] = _toward_mastery(skill[j, k], teaching_gain, taught[j, k])
    # Trust: refusals, then the learner's side of outcomes, then the helper's side.
    for a in range(n):
        e = edge[a]
        if e < 0:
            continue
        if not accepted[a]:
            tr[e] = _refusal(tr[e], refusal_loss)
        else:
            helps += 1
            _update_trust(tr, evidence, e, success[a], beta, gain, loss)
    for a in range(n):
        if success[a]:
            successes += 1
            _update_trust(tr, evidence, rev[edge[a]], True, beta, gain, loss)
    # Peer coaching: recognition from teammates for teaching that worked.
    if peer_coaching:
        for a in range(n):
            if not success[a]:
                continue
            j = dst[edge[a]]
            if role[j] == MANAGER or external[j]:
                continue
            for e in range(indptr[j], indptr[j + 1]):
                if not external[dst[e]]:  # every teammate: all contacts but an outsider
                    tr[rev[e]] = _recognition(tr[rev[e]], peer_recognition, 1.0)
    # 6. Breach, per help given.
    breaches = 0
    for a in range(n):
        if accepted[a]:
            j = dst[edge[a]]
            if u_breach[learner[a]] < 1.0 - integrity[j]:
                breaches += 1
                _breach(tr, indptr, dst, external, learner[a], j, breach_loss, gossip_weight)
    return helps, successes, breaches, accepted, success


@_jit
def _common_contacts(indptr: Any, dst: Any, i: int, j: int, nth: int) -> Any:
    """Contacts k shared by i and j, in order: their count, or the nth one's edges (i, k), (j, k).

    With nth < 0, counts them all; else stops at the nth (from 0) and returns its edges.
    """
    e_i, end_i = indptr[i], indptr[i + 1]
    count = 0
    for e_j in range(indptr[j], indptr[j + 1]):
        k = dst[e_j]
        while e_i < end_i and dst[e_i] < k:
            e_i += 1
        if e_i == end_i:
            break
        if dst[e_i] == k:
            if count == nth:
                return count, e_i, e_j
            count += 1
    return count, -1, -1


@_jit
def gossip(
    tr: Any, indptr: Any, dst: Any, talker: Any, u_pick: Any, u_topic: Any, weight: float
) -> None:
    """Gossip (docs/ODD.md step 7), on start-of-step trust.

    Each talker i picks a contact j with weight T[i, j] and hears j's view of a third
    contact k of both, picked at random.
    """
    m = len(talker)
    target_edge = np.full(m, -1, dtype=np.int64)
    new_value = np.empty(m)
    for a in range(m):
        i = talker[a]
        total = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            total += tr[e]
        if total <= 0.0:
            continue
        target = u_pick[i] * total
        cum = 0.0
        e_ij = -1
        for e in range(indptr[i], indptr[i + 1]):
            if tr[e] > 0.0:
                e_ij = e
                cum += tr[e]
                if cum > target:
                    break
        j = dst[e_ij]
        # The contacts of j who are contacts of i: both lists are sorted, so one merge
        # finds them in j's order.
        common = _common_contacts(indptr, dst, i, j, -1)[0]
        if common == 0:
            continue
        nth = min(int(u_topic[i] * common), common - 1)
        _, e_ik, e_jk = _common_contacts(indptr, dst, i, j, nth)
        target_edge[a] = e_ik
        new_value[a] = _gossip_update(tr[e_ik], tr[e_ij], tr[e_jk], weight)
    for a in range(m):
        if target_edge[a] >= 0:
            tr[target_edge[a]] = new_value[a]


@_jit
def endorse(
    tr: Any,
    indptr: Any,
    dst: Any,
    team: Any,
    level: Any,
    boss: Any,
    coach_of_team: Any,
    sponsor_of_team: Any,
    strength: float,
    attenuation: float,
) -> None:
    """Every coach is endorsed by its team's sponsor (docs/ODD.md, sponsorship; Stewart 2003).

    For each person i the coach serves (its team, less the sponsor), trust_in_sponsor(i)
    is the product of trust along i's reporting chain up to the sponsor, and d the
    number of levels between them.
    """
    for t in range(len(coach_of_team)):
        c, s = coach_of_team[t], sponsor_of_team[t]
        if c < 0:
            continue
        for e_ci in range(indptr[c], indptr[c + 1]):
            i = dst[e_ci]
            if i == s or team[i] != t:
                continue
            chain = 1.0
            cur = i
            while cur != s and boss[cur] >= 0:
                e_up = find_edge(indptr, dst, cur, boss[cur])
                chain *= tr[e_up]
                cur = boss[cur]
            if cur != s:
                continue  # the sponsor is not above i: out of reach
            e_ic = find_edge(indptr, dst, i, c)
            tr[e_ic] = _sponsorship_transfer(
                tr[e_ic], chain, level[i] - level[s], strength, attenuation
            )


@_jit
def climate(
    tr: Any, indptr: Any, dst: Any, team: Any, n_teams: int, n_members: int, weight: float
) -> None:
    """docs/ODD.md 7.16a: each member's trust in its teammates moves towards the team's level.

    A member's level is its mean trust in the other front-line members of its team (the
    psychological-safety latent, section 8); the team's level is the mean of its
    members' levels, summed in index order. Each of the member's in-team edges moves by
    `climate_shift`, clipped to [0, 1]; all levels are taken at the start of the phase.
    """
    level = np.full(n_members, np.nan)
    team_sum = np.zeros(n_teams)
    team_count = np.zeros(n_teams)
    for i in range(n_members):
        total = 0.0
        count = 0
        for e in range(indptr[i], indptr[i + 1]):
            j = dst[e]
            if j < n_members and team[j] == team[i]:
                total += tr[e]
                count += 1
        if count > 0:
            level[i] = total / count
            team_sum[team[i]] += level[i]
            team_count[team[i]] += 1.0
    for i in range(n_members):
        if np.isnan(level[i]):
            continue
        shift = _climate_shift(level[i], team_sum[team[i]] / team_count[team[i]], weight)
        for e in range(indptr[i], indptr[i + 1]):
            j = dst[e]
            if j < n_members and team[j] == team[i]:
                tr[e] = min(1.0, max(0.0, tr[e] + shift))


@_jit
def components(
    indptr: Any, dst: Any, tr: Any, rev: Any, team: Any, n_teams: int, threshold: float
) -> Any:
    """Fragmentation (docs/ODD.md): per team, its bonded graph's components and largest share.

    Pairs inside a team are bonded when min(T[i, j], T[j, i]) >= threshold. Union-find
    with path halving, over the pairs in edge order.
    """
    n = len(team)
    parent = np.arange(n)
    for a in range(n):
        if team[a] < 0:
            continue
        for e in range(indptr[a], indptr[a + 1]):
            i, j = a, dst[e]
            if i < j and team[i] == team[j] and min(tr[e], tr[rev[e]]) >= threshold:
                while parent[i] != i:
                    parent[i] = parent[parent[i]]
                    i = parent[i]
                while parent[j] != j:
                    parent[j] = parent[parent[j]]
                    j = parent[j]
                if i != j:
                    parent[max(i, j)] = min(i, j)
    size = np.zeros(n, dtype=np.int64)
    team_size = np.zeros(n_teams, dtype=np.int64)
    for i in range(n):
        if team[i] >= 0:
            r = i
            while parent[r] != r:
                r = parent[r]
            size[r] += 1
            team_size[team[i]] += 1
    count = np.zeros(n_teams, dtype=np.int64)
    largest = np.zeros(n_teams)
    for r in range(n):
        if size[r] > 0:
            t = team[r]
            count[t] += 1
            largest[t] = max(largest[t], size[r] / team_size[t])
    return count, largest


WITHIN, CROSS, TO_MANAGER, TO_COACH = 1, 2, 4, 8


@_jit
def trust_means(tr: Any, category: Any, team_of_src: Any, n_teams: int) -> Any:
    """Mean trust over all edges, per edge category, and within each team.

    Categories are bit flags (WITHIN, CROSS, TO_MANAGER, TO_COACH); NaN where empty.
    """
    sums = np.zeros(5)
    counts = np.zeros(5)
    team_sum = np.zeros(n_teams)
    team_count = np.zeros(n_teams)
    s0 = s1 = s2 = s3 = s4 = 0.0  # in registers: each sum still adds in edge order
    n1 = n2 = n3 = n4 = 0
    for e in range(len(tr)):
        t = tr[e]
        s0 += t
        c = category[e]
        if c & WITHIN:
            s1 += t
            n1 += 1
            team_sum[team_of_src[e]] += t
            team_count[team_of_src[e]] += 1
        if c & CROSS:
            s2 += t
            n2 += 1
        if c & TO_MANAGER:
            s3 += t
            n3 += 1
        if c & TO_COACH:
            s4 += t
            n4 += 1
    sums[0], sums[1], sums[2], sums[3], sums[4] = s0, s1, s2, s3, s4
    counts[0], counts[1], counts[2], counts[3], counts[4] = len(tr), n1, n2, n3, n4
    means = np.full(5, np.nan)
    for b in range(5):
        if counts[b] > 0:
            means[b] = sums[b] / counts[b]
    return means, team_sum / np.maximum(team_count, 1.0)


@_jit
def skill_stats(skill: Any, n_members: int) -> Any:
    """Members' mean skill, its 10th percentile, and its Gini coefficient.

    The percentile interpolates linearly, as numpy's default does.
    """
    x = np.empty(n_members)
    for i in range(n_members):
        x[i] = skill[i].mean()
    x = _sorted(x)
    pos = 0.1 * (n_members - 1)
    lo = int(pos)
    hi = min(lo + 1, n_members - 1)
    p10 = x[lo] + (pos - lo) * (x[hi] - x[lo])
    total = x.sum()
    g = 0.0
    if total > 0:
        weighted = 0.0
        for r in range(n_members):
            weighted += (r + 1) * x[r]
        g = 2.0 * weighted / (n_members * total) - (n_members + 1) / n_members
        g = min(max(g, 0.0), 1.0)  # equal skills round to -1e-15: the measure is in [0, 1]
    return total / n_members, p10, g


@_jit
def pairwise_sum(x: Any) -> float:
    """The sum of a float array exactly as numpy's `x.sum()` computes it (pairwise).

    numpy adds blocks of up to 128 values with eight running sums and splits longer
    arrays in halves, left half plus right half; the measures use this so that the
    compiled step's means equal those numpy gave, to the last bit. The halving runs
    on an explicit stack: numba's cache does not load recursive functions safely.
    """
    if len(x) <= 128:
        return _block_sum(x, 0, len(x))
    lo_of = np.zeros(64, dtype=np.int64)
    n_of = np.zeros(64, dtype=np.int64)
    stage = np.zeros(64, dtype=np.int64)
    values = np.zeros(64)
    n_of[0] = len(x)
    top, n_values = 1, 0
    while top > 0:
        lo, n = lo_of[top - 1], n_of[top - 1]
        if n <= 128:
            values[n_values] = _block_sum(x, lo, n)
            n_values += 1
            top -= 1
            continue
        half = n // 2
        half -= half % 8
        if stage[top - 1] < 2:
            first = stage[top - 1] == 0
            stage[top - 1] += 1
            lo_of[top] = lo if first else lo + half
            n_of[top] = half if first else n - half
            stage[top] = 0
            top += 1
        else:
            values[n_values - 2] = values[n_values - 2] + values[n_values - 1]
            n_values -= 1
            top -= 1
    return values[0]


@_jit
def _block_sum(x: Any, lo: int, n: int) -> float:
    """Up to 128 values summed as numpy does: eight running sums, then the rest."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += x[lo + i]
        return res
    r = np.empty(8)
    for j in range(8):
        r[j] = x[lo + j]
    i = 8
    while i < n - (n % 8):
        for j in range(8):
            r[j] += x[lo + i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        res += x[lo + i]
        i += 1
    return res


@_jit
def need_topic(skill: Any, learner: Any, u: Any) -> Any:
    """Topic of each need, drawn with weight 1 - s_i[k] (docs/ODD.md 7.7), by inverse CDF.

    u[a] is learner a's draw; if every weight is 0, the last topic.
    """
    topics = skill.shape[1]
    out = np.empty(len(learner), dtype=np.int64)
    for a in range(len(learner)):
        i = learner[a]
        cum = 0.0
        for k in range(topics):
            cum += 1.0 - skill[i, k]
        target = u[a] * cum
        cum = 0.0
        count = 0
        for k in range(topics):
            cum += 1.0 - skill[i, k]
            if cum <= target:
                count += 1
        out[a] = min(count, topics - 1)
    return out


# The scenario's numbers as the compiled week reads them, by name: fp holds the float
# parameters (Scenario fields) in FLOAT_PARAMS' order and ip the integer ones in
# INT_PARAMS' order (sim.model.state.week_parameters fills both); F_* and I_* are
# their places. `serve` takes the first N_SERVE_PARAMS of fp, by position.
FLOAT_PARAMS = (
    "trust_selectivity",
    "refusal_loss",
    "trust_sensitivity",
    "learning_rate",
    "teaching_gain",
    "self_learning_rate",
    "trust_gain",
    "trust_loss",
    "peer_recognition",
    "breach_loss",
    "gossip_weight",
    "gossip_rate",
    "trust_decay",
    "beta_forgetting",
    "skill_decay",
    "coach_development",
    "external_skill",
    "sponsorship_strength",
    "hierarchy_attenuation",
    "turnover_rate",
    "bond_threshold",
    "team_climate",
)
F_SELECTIVITY = FLOAT_PARAMS.index("trust_selectivity")
F_REFUSAL_LOSS = FLOAT_PARAMS.index("refusal_loss")
F_SENSITIVITY = FLOAT_PARAMS.index("trust_sensitivity")
F_LEARNING_RATE = FLOAT_PARAMS.index("learning_rate")
F_TEACHING_GAIN = FLOAT_PARAMS.index("teaching_gain")
F_SELF_RATE = FLOAT_PARAMS.index("self_learning_rate")
F_TRUST_GAIN = FLOAT_PARAMS.index("trust_gain")
F_TRUST_LOSS = FLOAT_PARAMS.index("trust_loss")
F_PEER_RECOGNITION = FLOAT_PARAMS.index("peer_recognition")
F_BREACH_LOSS = FLOAT_PARAMS.index("breach_loss")
F_GOSSIP_WEIGHT = FLOAT_PARAMS.index("gossip_weight")
F_GOSSIP_RATE = FLOAT_PARAMS.index("gossip_rate")
F_TRUST_DECAY = FLOAT_PARAMS.index("trust_decay")
F_BETA_FORGETTING = FLOAT_PARAMS.index("beta_forgetting")
F_SKILL_DECAY = FLOAT_PARAMS.index("skill_decay")
F_COACH_DEVELOPMENT = FLOAT_PARAMS.index("coach_development")
F_EXTERNAL_SKILL = FLOAT_PARAMS.index("external_skill")
F_SPONSORSHIP_STRENGTH = FLOAT_PARAMS.index("sponsorship_strength")
F_HIERARCHY_ATTENUATION = FLOAT_PARAMS.index("hierarchy_attenuation")
F_TURNOVER_RATE = FLOAT_PARAMS.index("turnover_rate")
F_BOND_THRESHOLD = FLOAT_PARAMS.index("bond_threshold")
F_TEAM_CLIMATE = FLOAT_PARAMS.index("team_climate")
N_FLOAT_PARAMS = len(FLOAT_PARAMS)
N_SERVE_PARAMS = F_GOSSIP_WEIGHT + 1  # selectivity to gossip_weight, as `serve` reads them
# beta: trust_rule = "beta"; has_coach: coach != "none"; members: front-line members;
# staff: members and managers (who have needs); the three structural rules by their
# place in CHOICE_RULES, VOICE_RULES and SUCCESS_RULES (0: the default rule).
INT_PARAMS = (
    "beta",
    "peer_coaching",
    "has_coach",
    "sponsor_start",
    "sponsor_interval",
    "members",
    "staff",
    "choice_rule",
    "voice_rule",
    "success_rule",
)
I_BETA = INT_PARAMS.index("beta")
I_PEER = INT_PARAMS.index("peer_coaching")
I_HAS_COACH = INT_PARAMS.index("has_coach")
I_SPONSOR_START = INT_PARAMS.index("sponsor_start")
I_SPONSOR_INTERVAL = INT_PARAMS.index("sponsor_interval")
I_MEMBERS = INT_PARAMS.index("members")
I_STAFF = INT_PARAMS.index("staff")
I_CHOICE_RULE = INT_PARAMS.index("choice_rule")
I_VOICE_RULE = INT_PARAMS.index("voice_rule")
I_SUCCESS_RULE = INT_PARAMS.index("success_rule")
N_INT_PARAMS = len(INT_PARAMS)
# The structural rules a scenario picks by name (docs/ODD.md 7.8, 7.9, 7.12); the first
# of each is the default, and a rule's code is its place here.
CHOICE_RULES = ("weighted", "best")
VOICE_RULES = ("dyadic", "general")
SUCCESS_RULES = ("geometric", "weakest")
BEST = CHOICE_RULES.index("best")
GENERAL = VOICE_RULES.index("general")
WEAKEST = SUCCESS_RULES.index("weakest")

# Where `measure` writes each compiled measure in the row: its place in the registry
# (sim.model.measures.COMPILED), so the row's order is declared once.
_ROW = {m.name: c for c, m in enumerate(COMPILED)}
M_MEAN_TRUST = _ROW["mean_trust"]
M_WITHIN_TEAM_TRUST = _ROW["within_team_trust"]
M_TRUST_IN_MANAGERS = _ROW["trust_in_managers"]
M_TRUST_IN_COACH = _ROW["trust_in_coach"]
M_CROSS_TEAM_TRUST = _ROW["cross_team_trust"]
M_MEAN_SKILL = _ROW["mean_skill"]
M_SKILL_P10 = _ROW["skill_p10"]
M_SKILL_GINI = _ROW["skill_gini"]
M_NEEDS = _ROW["needs"]
M_ASKS = _ROW["asks"]
M_SILENCE_RATE = _ROW["silence_rate"]
M_HELP_SUCCESS_RATE = _ROW["help_success_rate"]
M_BREACHES = _ROW["breaches"]
M_FRAGMENTATION = _ROW["fragmentation"]
M_LARGEST_COMPONENT_SHARE = _ROW["largest_component_share"]

# The week's counters, in this order (docs/ODD.md, state of the model).
COUNTS = ("needs", "asks", "silences", "helps", "successes", "breaches")

_beta_forget = _jit(trust.beta_forget)
_decay_toward = _jit(mechanisms.decay_toward)
_forget = _jit(learning.forget)


@_jit
def _uniforms(rng: Any, out: Any) -> Any:
    """Fill `out` with uniforms from rng, in order: the values of rng.random(len(out))."""
    for i in range(len(out)):
        out[i] = rng.random()
    return out


@_jit
def week(
    t: int,
    skill: Any,
    tr: Any,
    baseline: Any,
    evidence: Any,
    net: Any,
    org: Any,
    people: Any,
    fp: Any,
    ip: Any,
    sponsor_active: bool,
    counts: Any,
    rngs: Any,
    choices: Any,
) -> Any:
    """One week, docs/ODD.md phases 0b to 9, after the week's events (which Python applies).

    `open_week` (sponsorship, need, every draw of the week), `round_` (`choose` and
    `serve`: choice, voice, response, outcome, breach) and `close_week` (gossip,
    decay, the turnover draw). A workshop room (sim.workshop.room.stages) calls
    `open_week`, previews `choose` while its participants decide, then calls
    `finish_week` (the rest). Each per-step stream draws its fixed number of values, in
    the order TrustModel always drew them. The newcomers' draws are left to the caller
    (sim.model.state.TrustState.replace_members), which the returned leavers need.

    net: indptr, dst, rev. org: role, external, team, level, boss, coach_of_team,
    sponsor_of_team. people: benevolence, integrity, capacity, need rate, openness
    (each person's; the last two are their team's, 7.7 and 7.9). rngs: the need, choice,
    voice, response, outcome, breach, gossip and turnover streams. choices: the
    participants' (ASK, ANSWER, ANSWERED_BY rows; all MODEL without participants).

    Returns:
        The members who leave this week (empty without turnover).
    """
    u, learner, topic = open_week(
        t, skill, tr, net, org, people, fp, ip, sponsor_active, counts, rngs
    )
    check_choices(choices, learner)
    if len(learner) > 0:
        round_(skill, tr, evidence, net, org, people, fp, ip, counts, learner, topic, u, choices)
    return close_week(skill, tr, baseline, evidence, net, org, fp, ip, u, rngs)


@_jit
def finish_week(
    skill: Any,
    tr: Any,
    baseline: Any,
    evidence: Any,
    net: Any,
    org: Any,
    people: Any,
    fp: Any,
    ip: Any,
    counts: Any,
    learner: Any,
    topic: Any,
    u: Any,
    rngs: Any,
    choices: Any,
) -> Any:
    """Phases 2 to 9 of a week `open_week` opened, with the participants' choices.

    What `week` does after `open_week`, and also returns the per-learner results a
    workshop room reports. `week` makes the same three calls itself: handing these
    arrays back every week cost 2.5% of a 12-member run (measured against calling
    them in `week`), and a room's replay equals its live run (tests/test_room.py).

    Returns:
        The members who leave; per learner, the request made (edge, -1 for none),
        whether it was accepted, and whether the help succeeded.
    """
    check_choices(choices, learner)
    if len(learner) > 0:
        edge, accepted, success = round_(
            skill, tr, evidence, net, org, people, fp, ip, counts, learner, topic, u, choices
        )
    else:
        edge = np.empty(0, dtype=np.int64)
        accepted = np.zeros(0, dtype=np.bool_)
        success = np.zeros(0, dtype=np.bool_)
    leavers = close_week(skill, tr, baseline, evidence, net, org, fp, ip, u, rngs)
    return leavers, edge, accepted, success


@_jit
def check_choices(choices: Any, learner: Any) -> None:
    """Only learners choose, and only their requests are answered.

    Raises:
        ValueError: a choice or an answer for someone without a need this week.
    """
    is_learner = np.zeros(choices.shape[1], dtype=np.bool_)
    is_learner[learner] = True
    for i in range(choices.shape[1]):
        if not is_learner[i] and (choices[ASK, i] != MODEL or choices[ANSWER, i] != MODEL):
            raise ValueError("a choice was given to someone without a need this week")


@_jit
def open_week(
    t: int,
    skill: Any,
    tr: Any,
    net: Any,
    org: Any,
    people: Any,
    fp: Any,
    ip: Any,
    sponsor_active: bool,
    counts: Any,
    rngs: Any,
) -> Any:
    """Phases 0b and 1, and every per-step draw of the week (see `week`).

    Returns:
        The week's uniforms (rows: need, topic, choice, voice, order, accept, outcome,
        breach, talk, pick, about), the learners, and each learner's topic.
    """
    indptr, dst = net[0], net[1]
    _role, _, team, level, boss, coach_of_team, sponsor_of_team = org
    r_need, r_choice, r_voice, r_response, r_outcome, r_breach, r_gossip, _ = rngs
    s = ip[I_STAFF]
    # 0b. Sponsorship: coach development every sponsored week, endorsement when due.
    if sponsor_active and ip[I_HAS_COACH] == 1 and t - 1 >= ip[I_SPONSOR_START]:
        for c in coach_of_team:
            if c >= 0:
                for k in range(skill.shape[1]):
                    gap = max(0.0, fp[F_EXTERNAL_SKILL] - skill[c, k])
                    skill[c, k] += fp[F_COACH_DEVELOPMENT] * gap
        if (t - 1 - ip[I_SPONSOR_START]) % ip[I_SPONSOR_INTERVAL] == 0:
            endorse(
                tr,
                indptr,
                dst,
                team,
                level,
                boss,
                coach_of_team,
                sponsor_of_team,
                fp[F_SPONSORSHIP_STRENGTH],
                fp[F_HIERARCHY_ATTENUATION],
            )
    # 1. Need. Every stream draws a fixed number of values per week, whoever needs
    # them, so the draws line up across scenarios (common random numbers).
    u = np.empty((11, s))  # the week's uniforms, one allocation: rows filled in draw order
    u_need, u_topic = _uniforms(r_need, u[0]), _uniforms(r_need, u[1])
    n_learners = 0
    is_learner = np.zeros(s, dtype=np.bool_)
    need_rate = people[3]
    for i in range(s):
        if u_need[i] < need_rate[i]:
            is_learner[i] = True
            n_learners += 1
    learner = np.flatnonzero(is_learner)
    topic = need_topic(skill, learner, u_topic[learner])
    _uniforms(r_choice, u[2]), _uniforms(r_voice, u[3])
    _uniforms(r_response, u[4]), _uniforms(r_response, u[5])
    _uniforms(r_outcome, u[6]), _uniforms(r_breach, u[7])
    _uniforms(r_gossip, u[8]), _uniforms(r_gossip, u[9]), _uniforms(r_gossip, u[10])
    counts[0] += n_learners
    return u, learner, topic


@_jit
def round_(
    skill: Any,
    tr: Any,
    evidence: Any,
    net: Any,
    org: Any,
    people: Any,
    fp: Any,
    ip: Any,
    counts: Any,
    learner: Any,
    topic: Any,
    u: Any,
    choices: Any,
) -> Any:
    """Phases 2 to 6 of a week `open_week` opened: `choose`, then `serve`; counted.

    Returns:
        Per learner: the request made (edge, -1 for none), accepted, succeeded.
    """
    edge, asks, silences = choose(
        skill,
        tr,
        net[0],
        net[1],
        learner,
        topic,
        u[2],
        u[3],
        fp[F_SELECTIVITY],
        choices,
        people[4],
        ip[I_CHOICE_RULE : I_VOICE_RULE + 1],
    )
    counts[1] += asks
    counts[2] += silences
    indptr, dst, rev = net
    role, external = org[0], org[1]
    benevolence, integrity, capacity = people[0], people[1], people[2]
    helps, successes, breaches, accepted, success = serve(
        skill,
        tr,
        evidence,
        indptr,
        dst,
        rev,
        role,
        external,
        benevolence,
        integrity,
        capacity,
        learner,
        topic,
        edge,
        u[4],
        u[5],
        u[6],
        u[7],
        fp[:N_SERVE_PARAMS],
        ip[I_BETA] == 1,
        ip[I_PEER] == 1,
        choices,
        ip[I_SUCCESS_RULE] == WEAKEST,
    )
    counts[3] += helps
    counts[4] += successes
    counts[5] += breaches
    return edge, accepted, success


@_jit
def close_week(
    skill: Any,
    tr: Any,
    baseline: Any,
    evidence: Any,
    net: Any,
    org: Any,
    fp: Any,
    ip: Any,
    u: Any,
    rngs: Any,
) -> Any:
    """Phases 7 to 9 (see `week`): gossip, the shared climate, decay, and who leaves.

    Returns:
        The members who leave this week (empty without turnover).
    """
    indptr, dst = net[0], net[1]
    r_turnover = rngs[7]
    # 7. Gossip.
    talker = np.flatnonzero(u[8] < fp[F_GOSSIP_RATE])
    if len(talker):
        gossip(tr, indptr, dst, talker, u[9], u[10], fp[F_GOSSIP_WEIGHT])
    # 7a. Shared climate: members' trust in teammates moves towards the team's level.
    if fp[F_TEAM_CLIMATE] > 0:
        climate(tr, indptr, dst, org[2], len(org[5]), ip[I_MEMBERS], fp[F_TEAM_CLIMATE])
    # 8. Decay, edge by edge in place (no temporary arrays the size of the network).
    if ip[I_BETA] == 1:
        for e in range(len(tr)):
            tr[e], evidence[e] = _beta_forget(
                tr[e], evidence[e], baseline[e], fp[F_BETA_FORGETTING]
            )
    else:
        for e in range(len(tr)):
            tr[e] = _decay_toward(tr[e], baseline[e], fp[F_TRUST_DECAY])
    if fp[F_SKILL_DECAY] > 0:
        for i in range(skill.shape[0]):
            for k in range(skill.shape[1]):
                skill[i, k] = _forget(skill[i, k], fp[F_SKILL_DECAY])
    # 9. Turnover: who leaves (the newcomers are drawn by the caller).
    if fp[F_TURNOVER_RATE] <= 0:
        return np.empty(0, dtype=np.int64)
    u_leave = r_turnover.random(ip[I_MEMBERS])
    return np.flatnonzero(u_leave < fp[F_TURNOVER_RATE])


@_jit
def measure(
    tr: Any,
    net: Any,
    masks: Any,
    skill: Any,
    n_members: int,
    bond_threshold: float,
    counts: Any,
    row: Any,
    team_trust: Any,
    team_components: Any,
    team_largest: Any,
) -> None:
    """Every compiled measure of docs/ODD.md section 8, written into `row` at its M_* place.

    Also each team's within-team trust, bonded components and largest share, into
    the three team arrays. net: indptr, dst, rev. masks: edge category, team of each
    within-team edge, team of each person for the measures (-1: external coach).
    """
    indptr, dst, rev = net
    category, edge_team, measure_team = masks
    n_teams = len(team_trust)
    means, per_team = trust_means(tr, category, edge_team, n_teams)
    mean_skill, p10, gini = skill_stats(skill, n_members)
    components_, largest = components(indptr, dst, tr, rev, measure_team, n_teams, bond_threshold)
    needs, asks, silences, helps, successes, breaches = (
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        counts[5],
    )
    n_components = 0
    for c in components_:
        n_components += c
    row[M_MEAN_TRUST] = means[0]
    row[M_WITHIN_TEAM_TRUST] = means[1]
    row[M_TRUST_IN_MANAGERS] = means[3]
    row[M_TRUST_IN_COACH] = means[4]
    row[M_CROSS_TEAM_TRUST] = means[2]
    row[M_MEAN_SKILL] = mean_skill
    row[M_SKILL_P10] = p10
    row[M_SKILL_GINI] = gini
    row[M_NEEDS] = needs
    row[M_ASKS] = asks
    row[M_SILENCE_RATE] = silences / needs if needs else np.nan
    row[M_HELP_SUCCESS_RATE] = successes / helps if helps else np.nan
    row[M_BREACHES] = breaches
    row[M_FRAGMENTATION] = n_components / n_teams
    row[M_LARGEST_COMPONENT_SHARE] = pairwise_sum(largest) / n_teams
    team_trust[:] = per_team
    team_components[:] = components_
    team_largest[:] = largest


@_jit
def run_weeks(
    t0: int,
    t1: int,
    skill: Any,
    tr: Any,
    baseline: Any,
    evidence: Any,
    net: Any,
    org: Any,
    people: Any,
    fp: Any,
    ip: Any,
    sponsor_active: bool,
    counts: Any,
    rngs: Any,
    choices: Any,
    measure_net: Any,
    masks: Any,
    table: Any,
    team_trust: Any,
    team_components: Any,
    team_largest: Any,
) -> Any:
    """Weeks t0 to t1, each one `week` and then its measures (the fast path's loop).

    The caller resets the counters and applies the events of week t0; the weeks
    after it have none. Stops early after a week in which members leave, before its
    measures, so that the caller can draw the newcomers and measure that week.
    table[t, 1:] receives week t's measures; the team arrays get row t modulo their
    rows (one row when the team rows are not kept).

    Returns:
        The last week run, and the members who left in it (empty if none).
    """
    for t in range(t0, t1 + 1):
        if t > t0:
            counts[:] = 0
        leavers = week(
            t,
            skill,
            tr,
            baseline,
            evidence,
            net,
            org,
            people,
            fp,
            ip,
            sponsor_active,
            counts,
            rngs,
            choices,
        )
        if len(leavers) > 0:
            return t, leavers
        table[t, 0] = t
        measure(
            tr,
            measure_net,
            masks,
            skill,
            ip[I_MEMBERS],
            fp[F_BOND_THRESHOLD],
            counts,
            table[t, 1:],
            team_trust[t % len(team_trust)],
            team_components[t % len(team_trust)],
            team_largest[t % len(team_trust)],
        )
    return t1, np.empty(0, dtype=np.int64)
