"""Pure skill-update rules (docs/ODD.md, steps 3, 5 and 8). Skills stay in [0, 1].

Plain arithmetic on arrays or scalars, so the compiled step (kernels.py) uses the same
functions as numpy code does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["forget", "imitate", "toward_mastery"]


def imitate(skill: Any, helper_skill: Any, rate: float) -> Any:
    """Learning from a helper who knows more: s += learning_rate * (s_j - s) (ODD step 5)."""
    return skill + rate * (helper_skill - skill)


def toward_mastery(skill: Any, rate: float, times: Any = 1) -> Any:
    """Closing a share of the gap to 1, `times` times in a row: 1 - (1 - s)(1 - rate)^times.

    Self-study (rate `self_learning_rate`, docs/ODD.md step 3) and the helper's gain from
    teaching (rate `teaching_gain`, step 5), where one success is s += rate * (1 - s).
    """
    return 1.0 - (1.0 - skill) * (1.0 - rate) ** times


def forget(skill: Any, rate: float) -> Any:
    """Skill decay: s -= skill_decay * s (docs/ODD.md step 8)."""
    return skill - rate * skill
