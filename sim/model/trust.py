"""Pure numpy trust rules: how the outcome of help moves trust.

Every rule has the same shape, `rule(trust, success, a, b) -> new trust`: arrays (or
scalars) of trust in [0, 1] and of outcomes (True = success), and two rule parameters.
They are registered by name in RULES so that a scenario picks one with `trust_rule`.
The bodies are plain arithmetic, so the same function serves numpy arrays here and
scalars inside the model's compiled step (sim.model.kernels).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["RULES", "asymmetric_fixed_point", "asymmetric_update", "beta_forget", "beta_update"]

FloatArray = NDArray[np.float64]
TrustRule = Callable[[Any, Any, Any, Any], Any]


def asymmetric_update(trust: Any, success: Any, gain: Any, loss: Any) -> Any:
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
    won = success * 1.0  # works on arrays and scalars alike, in numpy and in numba
    return trust + won * gain * (1.0 - trust) - (1.0 - won) * loss * trust


def asymmetric_fixed_point(q: float, gain: float, loss: float) -> float:
    """Where the asymmetric rule's mean settles for success probability q (docs/ODD.md).

    E[dT] = q * gain * (1 - T) - (1 - q) * loss * T = 0 gives
    T* = gain * q / (gain * q + loss * (1 - q)).
    """
    return gain * q / (gain * q + loss * (1.0 - q))


def beta_update(trust: Any, success: Any, evidence: Any, _unused: Any = 0.0) -> Any:
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
    # T + (s - T) / (n + 1) is (T n + s) / (n + 1), written so that T = 1 on a success
    # stays exactly 1 in floating point.
    return trust + (success * 1.0 - trust) / (evidence + 1.0)


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
    # clip to [0, 1], written so that it serves scalars in the compiled week too
    return np.minimum(np.maximum(a_new / n_new, 0.0), 1.0), n_new


RULES: dict[str, TrustRule] = {"asymmetric": asymmetric_update, "beta": beta_update}
