"""The Ishigami function and its analytic Sobol indices: the standard check of an estimator.

Ishigami and Homma (1990); the indices as in Saltelli et al. (2008), "Global
Sensitivity Analysis: The Primer", and SALib's test_functions.Ishigami. Inputs are
uniform on [-pi, pi].
"""

from __future__ import annotations

import math

__all__ = ["analytic_indices", "ishigami"]


def ishigami(x1: float, x2: float, x3: float, a: float = 7.0, b: float = 0.1) -> float:
    """Y = sin x1 + a sin^2 x2 + b x3^4 sin x1."""
    return math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)


def analytic_indices(a: float = 7.0, b: float = 0.1) -> dict[str, dict[str, float]]:
    """Sobol indices of x1, x2, x3 (S1, ST, and S2 by pair) and the variance of y."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return {
        "S1": {"x1": v1 / var, "x2": v2 / var, "x3": 0.0},
        "ST": {"x1": (v1 + v13) / var, "x2": v2 / var, "x3": v13 / var},
        "S2": {"x1 x x2": 0.0, "x1 x x3": v13 / var, "x2 x x3": 0.0},
        "variance": {"y": var},
    }
