"""Pure numpy trust rules: how the outcome of help moves trust.

Every rule has the same shape, `rule(trust, success, a, b) -> new trust`: arrays of
trust in [0, 1] and of outcomes (True = success), and two rule parameters. They are
registered by name in RULES so that a scenario picks one with `trust_rule`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["RULES", "asymmetric_fixed_point", "asymmetric_update", "beta_forget", "beta_update"]

FloatArray = NDArray[np.float64]
TrustRule = Callable[[ArrayLike, ArrayLike, ArrayLike, ArrayLike], FloatArray]


def asymmetric_update(trust: ArrayLike, success: ArrayLike, gain: ArrayLike, loss: ArrayLike) -> FloatArray:
    """Asymmetric trust update: slow to build, quick to fall (Slovic 1993).

    Success: T + gain * (1 - T). Failure: T - loss * T. With loss > gain, losses weigh
    more than gains. Stays in [0, 1] for gain, loss in [0, 1].

    Args:
        trust: current trust, in [0, 1].
        success: outcome per element (True = success).
        gain: share of the distance to 1 closed by a success.
        loss: share of trust lost by a failure.

    Returns:
        The updated trust (a new array).
    """
    t = np.asarray(trust, dtype=float)
    return np.where(success, t + gain * (1.0 - t), t - loss * t)


def asymmetric_fixed_point(q: float, gain: float, loss: float) -> float:
    """Where the asymmetric rule's mean settles for success probability q (MODEL.md).

    E[dT] = q * gain * (1 - T) - (1 - q) * loss * T = 0 gives
    T* = gain * q / (gain * q + loss * (1 - q)).
    """
    return gain * q / (gain * q + loss * (1.0 - q))


def beta_update(trust: ArrayLike, success: ArrayLike, evidence: ArrayLike, _unused: ArrayLike = 0.0) -> FloatArray:
    """Beta-reputation update (Josang and Ismail 2002): trust is a Beta belief's mean.

    Trust T = a / n with a = successes + prior, n = a + b the evidence so far (prior
    weight 2 included). One more observation gives T' = (T * n + 1) / (n + 1) on
    success and T' = T * n / (n + 1) on failure. The caller adds 1 to the evidence.

    Args:
        trust: current trust (the Beta mean), in [0, 1].
        success: outcome per element (True = success).
        evidence: a + b before this observation (>= 2, the prior weight).
        _unused: keeps the shared four-argument shape of the rules.

    Returns:
        The updated trust (a new array).
    """
    t = np.asarray(trust, dtype=float)
    n = np.asarray(evidence, dtype=float)
    return (t * n + np.asarray(success, dtype=float)) / (n + 1.0)


def beta_forget(
    trust: FloatArray, evidence: FloatArray, prior_mean: FloatArray, forgetting: float
) -> tuple[FloatArray, FloatArray]:
    """Beta rule's forgetting: the observed counts shrink by `forgetting` each step.

    With a = 2 m + S and b = 2 (1 - m) + F (prior mean m, weight 2), the counts S and F
    are multiplied by f: a' = 2 m + f (a - 2 m), n' = 2 + f (n - 2), T' = a' / n'.
    Trust drifts back to the prior mean as evidence fades (Josang and Ismail 2002).

    Returns:
        The new trust and the new evidence.
    """
    a = trust * evidence
    a_new = 2.0 * prior_mean + forgetting * (a - 2.0 * prior_mean)
    n_new = 2.0 + forgetting * (evidence - 2.0)
    return np.clip(a_new / n_new, 0.0, 1.0), n_new


RULES: dict[str, TrustRule] = {"asymmetric": asymmetric_update, "beta": beta_update}
