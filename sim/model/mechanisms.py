"""The formulas of docs/ODD.md, one small pure function each, vectorized over arrays.

The model (sim.model.state, sim.model.kernels) decides who meets whom and in which order; these
functions say what happens to trust and skill when they do. Each docstring states the
formula and its source, so that a formula here and one in docs/ODD.md can be checked
side by side. The bodies are plain arithmetic on arrays or scalars, so the same
function serves numpy code and the compiled step (kernels.py compiles them with numba).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ask_probability",
    "beta_parameters",
    "breach_direct",
    "breach_heard",
    "choice_weight",
    "climate_shift",
    "decay_toward",
    "gossip_update",
    "initial_trust",
    "recognition",
    "refusal",
    "sponsorship_transfer",
    "success_probability",
    "team_norm",
    "weakest_link_probability",
]

FloatArray = NDArray[np.float64]


def beta_parameters(mean: float, sd: Any) -> tuple[Any, Any]:
    """Beta(a, b) with the given mean and sd (method of moments; sd a number or an array).

    k = mean (1 - mean) / sd^2 - 1, a = mean k, b = (1 - mean) k. Needs
    sd^2 < mean (1 - mean), which the Scenario checks.
    """
    k = mean * (1.0 - mean) / (sd * sd) - 1.0
    return mean * k, (1.0 - mean) * k


def initial_trust(
    propensity: Any,
    level_gap: Any,
    target_factor: Any,
    noise: Any,
    scale: float,
    power_distance: float,
) -> Any:
    """Initial (and baseline) trust of i in j (docs/ODD.md, "Entities and state").

    T0[i, j] = clip(clip(p_i * scale * power_distance ** |level_i - level_j| + noise) * f_j),
    where noise ~ N(0, 0.05) and f_j is `management_trust_scale` when j is a manager,
    `external_trust_discount` when j is an external coach, and 1 otherwise. Propensity
    to trust follows Mayer, Davis and Schoorman (1995); power distance discounts trust
    across levels of the hierarchy.
    """
    p = np.asarray(propensity, dtype=float)
    t = np.clip(p * scale * power_distance ** np.asarray(level_gap) + noise, 0.0, 1.0)
    return np.clip(t * target_factor, 0.0, 1.0)


def sponsorship_transfer(
    trust_in_coach: Any,
    trust_in_sponsor: Any,
    distance: Any,
    strength: float,
    attenuation: float,
) -> Any:
    """Trust transfer by endorsement (Stewart 2003), fading down the hierarchy.

    T[i, c] += strength * trust_in_sponsor(i) * attenuation ** (d - 1) * (1 - T[i, c]),
    with d the number of levels between sponsor and i, and trust_in_sponsor(i) the
    product of trust along i's reporting chain up to the sponsor.
    """
    t = trust_in_coach
    return t + strength * trust_in_sponsor * attenuation ** (distance - 1) * (1.0 - t)


def choice_weight(trust: Any, skill_gap: Any, selectivity: float) -> Any:
    """Weight of helper j for learner i on topic k (docs/ODD.md step 2).

    w = T[i, j] ** trust_selectivity * (s_j[k] - s_i[k]) where j knows more, else 0.
    """
    return trust**selectivity * np.maximum(skill_gap, 0.0)


def ask_probability(trust: Any, openness: Any) -> Any:
    """Voice (docs/ODD.md 7.9): asking makes i vulnerable, so i asks with probability T[i, j].

    Times the openness of i's front-line manager to voice (1 for every team unless
    `manager_openness_sd` > 0), at most 1. Edmondson (1999): people speak up where they
    feel safe to; Detert and Burris (2007): a manager's openness raises employees' voice.
    With the `voice_rule` "general", `trust` is i's mean trust in all its contacts
    instead of its trust in the one asked.
    """
    return np.minimum(1.0, trust * openness)


def refusal(trust: Any, loss: float) -> Any:
    """A refused request (docs/ODD.md step 4): T[i, j] -= refusal_loss * T[i, j]."""
    return trust - loss * trust


def success_probability(trust_ij: Any, trust_ji: Any, sensitivity: float) -> Any:
    """Chance that help succeeds (docs/ODD.md step 5): sqrt(T[i, j] T[j, i]) ** trust_sensitivity.

    The learner must be open and the helper must invest: both directions of trust count.
    """
    return np.sqrt(trust_ij * trust_ji) ** sensitivity


def weakest_link_probability(trust_ij: Any, trust_ji: Any, sensitivity: float) -> Any:
    """`success_rule` "weakest": min(T[i, j], T[j, i]) ** trust_sensitivity (docs/ODD.md 7.12).

    The alternative to the geometric mean: help works only as well as the less trusting
    side lets it (a weakest-link reading of Mayer et al. 1995: the learner must be
    willing to be vulnerable and the helper willing to invest, and neither makes up for
    the other).
    """
    return np.minimum(trust_ij, trust_ji) ** sensitivity


def team_norm(trust: Any, norm: Any) -> Any:
    """A team's history or norm (docs/ODD.md 7.3): clip(T0[i, j] + n_t) between its members.

    n_t ~ N(0, team_norm_sd) is the team's own: teams differ in how far their members
    trust one another from the start, and, since the baseline is the initial value,
    in the level trust returns to (the shared part of psychological safety that
    makes teams differ, Edmondson 1999; team trust as a team-level property,
    De Jong, Dirks and Gillespie 2016).
    """
    return np.clip(trust + norm, 0.0, 1.0)


def climate_shift(level: Any, team_level: Any, weight: float) -> Any:
    """Shared climate (docs/ODD.md 7.16a): how far a member's trust in teammates moves.

    weight * (team_level - level): a member's mean trust in its teammates moves towards
    the team's mean of those levels, as psychological safety is a belief the team
    shares (Edmondson 1999) and members read it from one another (social information
    processing, Salancik and Pfeffer 1978). Added to each of the member's in-team edges.
    """
    return weight * (team_level - level)


def recognition(trust: Any, amount: float, times: Any = 1) -> Any:
    """Peer recognition (docs/ODD.md, peer_coaching): T[w, j] += peer_recognition per success.

    Clipped at 1.
    """
    return np.minimum(1.0, trust + amount * times)


def breach_direct(trust: Any, loss: float) -> Any:
    """The breached learner (docs/ODD.md step 6): T[i, j] *= 1 - breach_loss."""
    return trust * (1.0 - loss)


def breach_heard(trust_wj: Any, trust_wi: Any, gossip_weight: float, loss: float) -> Any:
    """A teammate w of the victim i hears of j's breach (docs/ODD.md step 6).

    T[w, j] -= gossip_weight * T[w, i] * breach_loss * T[w, j]: the more w trusts i,
    the more w believes the story.
    """
    return trust_wj - gossip_weight * trust_wi * loss * trust_wj


def gossip_update(trust_ik: Any, trust_ij: Any, trust_jk: Any, weight: float) -> Any:
    """Gossip (docs/ODD.md step 7): i hears from j about k.

    T[i, k] += gossip_weight * T[i, j] * (T[j, k] - T[i, k]): i moves towards j's view
    of k as far as i trusts j (Burt and Knez 1995, trust and third-party gossip).
    """
    return trust_ik + weight * trust_ij * (trust_jk - trust_ik)


def decay_toward(value: Any, baseline: Any, rate: float) -> Any:
    """Decay to baseline (docs/ODD.md step 8): T[i, j] += trust_decay * (B[i, j] - T[i, j])."""
    return value + rate * (baseline - value)
