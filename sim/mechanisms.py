"""The formulas of MODEL.md, one small pure function each, vectorized over arrays.

The model (model.py) decides who meets whom and in which order; these functions say
what happens to trust and skill when they do. Each docstring states the formula and
its source, so that a formula here and one in docs/ODD.md can be checked side by side.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ask_probability",
    "beta_parameters",
    "breach_heard",
    "breach_direct",
    "choice_weight",
    "decay_toward",
    "gossip_update",
    "initial_trust",
    "recognition",
    "refusal",
    "sponsorship_transfer",
    "success_probability",
]

FloatArray = NDArray[np.float64]


def beta_parameters(mean: float, sd: float) -> tuple[float, float]:
    """Beta(a, b) with the given mean and sd (method of moments).

    k = mean (1 - mean) / sd^2 - 1, a = mean k, b = (1 - mean) k. Needs
    sd^2 < mean (1 - mean), which the Scenario checks.
    """
    k = mean * (1.0 - mean) / (sd * sd) - 1.0
    return mean * k, (1.0 - mean) * k


def initial_trust(
    propensity: ArrayLike,
    level_gap: ArrayLike,
    target_factor: ArrayLike,
    noise: ArrayLike,
    scale: float,
    power_distance: float,
) -> FloatArray:
    """Initial (and baseline) trust of i in j (MODEL.md, "Entities and state").

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
    trust_in_coach: ArrayLike,
    trust_in_sponsor: ArrayLike,
    distance: ArrayLike,
    strength: float,
    attenuation: float,
) -> FloatArray:
    """Trust transfer by endorsement (Stewart 2003), fading down the hierarchy.

    T[i, c] += strength * trust_in_sponsor(i) * attenuation ** (d - 1) * (1 - T[i, c]),
    with d the number of levels between sponsor and i, and trust_in_sponsor(i) the
    product of trust along i's reporting chain up to the sponsor.
    """
    t = np.asarray(trust_in_coach, dtype=float)
    d = np.asarray(distance)
    return t + strength * np.asarray(trust_in_sponsor) * attenuation ** (d - 1) * (1.0 - t)


def choice_weight(trust: ArrayLike, skill_gap: ArrayLike, selectivity: float) -> FloatArray:
    """Weight of helper j for learner i on topic k (MODEL.md step 2).

    w = T[i, j] ** trust_selectivity * (s_j[k] - s_i[k]) where j knows more, else 0.
    """
    gap = np.asarray(skill_gap, dtype=float)
    return np.where(gap > 0, np.asarray(trust, dtype=float) ** selectivity * gap, 0.0)


def ask_probability(trust: ArrayLike) -> FloatArray:
    """Voice (MODEL.md step 3): asking makes i vulnerable, so i asks with probability T[i, j].

    Edmondson (1999): people speak up where they feel safe to.
    """
    return np.asarray(trust, dtype=float)


def refusal(trust: ArrayLike, loss: float) -> FloatArray:
    """A refused request (MODEL.md step 4): T[i, j] -= refusal_loss * T[i, j]."""
    t = np.asarray(trust, dtype=float)
    return t - loss * t


def success_probability(trust_ij: ArrayLike, trust_ji: ArrayLike, sensitivity: float) -> FloatArray:
    """Chance that help succeeds (MODEL.md step 5): sqrt(T[i, j] T[j, i]) ** trust_sensitivity.

    The learner must be open and the helper must invest: both directions of trust count.
    """
    mutual = np.sqrt(np.asarray(trust_ij, dtype=float) * np.asarray(trust_ji, dtype=float))
    return mutual**sensitivity


def recognition(trust: ArrayLike, amount: float, times: ArrayLike = 1) -> FloatArray:
    """Peer recognition (MODEL.md, peer_coaching): T[w, j] += peer_recognition per success.

    Clipped at 1.
    """
    return np.minimum(1.0, np.asarray(trust, dtype=float) + amount * np.asarray(times))


def breach_direct(trust: ArrayLike, loss: float) -> FloatArray:
    """The breached learner (MODEL.md step 6): T[i, j] *= 1 - breach_loss."""
    return np.asarray(trust, dtype=float) * (1.0 - loss)


def breach_heard(
    trust_wj: ArrayLike, trust_wi: ArrayLike, gossip_weight: float, loss: float
) -> FloatArray:
    """A teammate w of the victim i hears of j's breach (MODEL.md step 6).

    T[w, j] -= gossip_weight * T[w, i] * breach_loss * T[w, j]: the more w trusts i,
    the more w believes the story.
    """
    t = np.asarray(trust_wj, dtype=float)
    return t - gossip_weight * np.asarray(trust_wi) * loss * t


def gossip_update(trust_ik: ArrayLike, trust_ij: ArrayLike, trust_jk: ArrayLike, weight: float) -> FloatArray:
    """Gossip (MODEL.md step 7): i hears from j about k.

    T[i, k] += gossip_weight * T[i, j] * (T[j, k] - T[i, k]): i moves towards j's view
    of k as far as i trusts j (Burt and Knez 1995, trust and third-party gossip).
    """
    t = np.asarray(trust_ik, dtype=float)
    return t + weight * np.asarray(trust_ij) * (np.asarray(trust_jk) - t)


def decay_toward(value: ArrayLike, baseline: ArrayLike, rate: float) -> FloatArray:
    """Decay to baseline (MODEL.md step 8): T[i, j] += trust_decay * (B[i, j] - T[i, j])."""
    v = np.asarray(value, dtype=float)
    return v + rate * (np.asarray(baseline) - v)
