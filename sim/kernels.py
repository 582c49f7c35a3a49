"""The compiled parts of one step: the loops over people that compete or chain.

Where requests compete for a helper's capacity, or a choice is made per person among
their contacts, the step is a loop. numba compiles these loops; the formulas they
apply are the plain functions of mechanisms.py, learning.py and trust.py, compiled
here as they are, so each formula is still written once. Random numbers are drawn by
the model (one stream per mechanism) and passed in: the kernels draw nothing.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from sim import learning, mechanisms, trust

__all__ = ["components", "endorse", "find_edge", "gossip", "learning_round"]

_jit = numba.njit(cache=True, nogil=True)

_choice_weight = _jit(mechanisms.choice_weight)
_ask_probability = _jit(mechanisms.ask_probability)
_refusal = _jit(mechanisms.refusal)
_success_probability = _jit(mechanisms.success_probability)
_recognition = _jit(mechanisms.recognition)
_breach_direct = _jit(mechanisms.breach_direct)
_breach_heard = _jit(mechanisms.breach_heard)
_gossip_update = _jit(mechanisms.gossip_update)
_sponsorship_transfer = _jit(mechanisms.sponsorship_transfer)
_imitate = _jit(learning.imitate)
_toward_mastery = _jit(learning.toward_mastery)
_asymmetric_update = _jit(trust.asymmetric_update)
_beta_update = _jit(trust.beta_update)

MANAGER, COACH = 1, 2


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

    Choices and chances are taken on the state at the start of the round; requests are
    then served in random order (u_order) up to each helper's capacity.

    params: selectivity, refusal_loss, sensitivity, learning_rate, teaching_gain,
    self_learning_rate, trust_gain, trust_loss, peer_recognition, breach_loss,
    gossip_weight.

    Returns:
        Counts: asks, silences, helps, successes, breaches.
    """
    (
        selectivity,
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
        params[0],
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
    edge = np.full(n, -1, dtype=np.int64)
    asks = 0
    silences = 0
    # 2. Choice of helper (weights on start-of-round state), 3. voice.
    for a in range(n):
        i, k = learner[a], topic[a]
        total = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            total += _choice_weight(tr[e], skill[dst[e], k] - skill[i, k], selectivity)
        if total <= 0.0:
            continue
        target = u_choice[i] * total
        cum = 0.0
        pick = -1
        for e in range(indptr[i], indptr[i + 1]):
            w = _choice_weight(tr[e], skill[dst[e], k] - skill[i, k], selectivity)
            if w > 0.0:
                pick = e
                cum += w
                if cum > target:
                    break
        if u_voice[i] < _ask_probability(tr[pick]):
            edge[a] = pick
            asks += 1
        else:
            silences += 1
    # 4. Response in random order, up to capacity, with probability b_j.
    keys = np.empty(n)
    for a in range(n):
        keys[a] = u_order[learner[a]]
    order = np.argsort(keys)
    used = np.zeros(len(capacity), dtype=np.int64)
    accepted = np.zeros(n, dtype=np.bool_)
    for r in range(n):
        a = order[r]
        if edge[a] < 0:
            continue
        j = dst[edge[a]]
        if used[j] < capacity[j] and u_accept[learner[a]] < benevolence[j]:
            used[j] += 1
            accepted[a] = True
    # 5. Outcome, with chances on the state before any update.
    success = np.zeros(n, dtype=np.bool_)
    for a in range(n):
        if accepted[a]:
            e = edge[a]
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
    return asks, silences, helps, successes, breaches


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
        common = 0
        for e_jk in range(indptr[j], indptr[j + 1]):
            if find_edge(indptr, dst, i, dst[e_jk]) >= 0:
                common += 1
        if common == 0:
            continue
        nth = min(int(u_topic[i] * common), common - 1)
        for e_jk in range(indptr[j], indptr[j + 1]):
            e_ik = find_edge(indptr, dst, i, dst[e_jk])
            if e_ik >= 0:
                if nth == 0:
                    target_edge[a] = e_ik
                    new_value[a] = _gossip_update(tr[e_ik], tr[e_ij], tr[e_jk], weight)
                    break
                nth -= 1
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
def components(
    src: Any, dst: Any, tr: Any, rev: Any, team: Any, n_teams: int, threshold: float
) -> Any:
    """Fragmentation (docs/ODD.md): per team, its bonded graph's components and largest share.

    Pairs inside a team are bonded when min(T[i, j], T[j, i]) >= threshold. Union-find
    with path halving.
    """
    n = len(team)
    parent = np.arange(n)
    for e in range(len(src)):
        i, j = src[e], dst[e]
        if i < j and team[i] >= 0 and team[i] == team[j] and min(tr[e], tr[rev[e]]) >= threshold:
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
    for e in range(len(tr)):
        sums[0] += tr[e]
        counts[0] += 1
        c = category[e]
        for b in range(4):
            if c & (1 << b):
                sums[b + 1] += tr[e]
                counts[b + 1] += 1
        if c & WITHIN:
            team_sum[team_of_src[e]] += tr[e]
            team_count[team_of_src[e]] += 1
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
    x.sort()
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
    return total / n_members, p10, g
