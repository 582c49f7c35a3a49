"""Pure skill-update rules (MODEL.md, steps 3, 5 and 8). Skills stay in [0, 1]."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["forget", "imitate", "toward_mastery"]


def imitate(skill: ArrayLike, helper_skill: ArrayLike, rate: float) -> NDArray[np.float64]:
    """Learning from a helper who knows more: s += rate * (s_helper - s) (MODEL.md step 5)."""
    s = np.asarray(skill, dtype=float)
    return s + rate * (np.asarray(helper_skill, dtype=float) - s)


def toward_mastery(skill: ArrayLike, rate: float, times: ArrayLike = 1) -> NDArray[np.float64]:
    """Closing a share of the gap to 1, `times` times in a row: 1 - (1 - s)(1 - rate)^times.

    Self-study (rate `self_learning_rate`, MODEL.md step 3) and the helper's gain from
    teaching (rate `teaching_gain`, step 5), where one success is s += rate * (1 - s).
    """
    s = np.asarray(skill, dtype=float)
    return 1.0 - (1.0 - s) * (1.0 - rate) ** np.asarray(times)


def forget(skill: ArrayLike, rate: float) -> NDArray[np.float64]:
    """Skill decay: s -= rate * s (MODEL.md step 8)."""
    s = np.asarray(skill, dtype=float)
    return s - rate * s
