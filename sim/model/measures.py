"""Every measured quantity of docs/ODD.md ("What is measured") as a function of model state."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from sim.model.state import TrustState

__all__ = [
    "INTEGER_MEASURES",
    "MEASURES",
    "SUMMARY_KEYS",
    "TEAM_COLUMNS",
    "gini",
    "kept_steps",
    "measure",
    "summarize",
]

# The per-step columns, with exactly docs/ODD.md's names (fragmentation: mean number of
# bonded components per team; largest_component_share: the largest one's mean share).
MEASURES = (
    "mean_trust",
    "within_team_trust",
    "trust_in_managers",
    "trust_in_coach",
    "cross_team_trust",
    "mean_skill",
    "skill_p10",
    "skill_gini",
    "needs",
    "asks",
    "silence_rate",
    "help_success_rate",
    "breaches",
    "fragmentation",
    "largest_component_share",
)
# The counts among them (integers in every table).
INTEGER_MEASURES = ("needs", "asks", "breaches")
TEAM_COLUMNS = ("step", "team", "within_team_trust", "components", "largest_component_share")
SUMMARY_KEYS = (
    *MEASURES,
    *(f"{m}_avg" for m in MEASURES),
    "time_to_competence",
    "disintegrated",
)


def gini(x: NDArray[np.float64]) -> float:
    """Gini coefficient of non-negative values: 0 = all equal, towards 1 = one has all."""
    x = np.sort(np.asarray(x, dtype=float))
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return 0.0
    g = 2.0 * np.sum(np.arange(1, n + 1) * x) / (n * total) - (n + 1) / n
    return float(min(max(g, 0.0), 1.0))  # rounding must not leave [0, 1]


def measure(
    model: TrustState, team_rows: bool = True
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The state's measures now (docs/ODD.md section 8), and one row per team if asked.

    The compiled `sim.model.kernels.measure` computes them, for TrustModel's DataCollector
    and the fast path alike. Each team's largest bonded share is kept as
    `model.team_largest_share` (the summary's `disintegrated` reads it).
    """
    n_teams = model.org.n_teams
    row = np.empty(len(MEASURES))
    trust, components, largest = (np.empty(n_teams), np.empty(n_teams, np.int64), np.empty(n_teams))
    model._measure_into(row, (trust, components, largest))
    values: dict[str, Any] = dict(zip(MEASURES, row.tolist(), strict=True))
    for name in INTEGER_MEASURES:
        values[name] = int(values[name])
    model.team_largest_share = largest
    if not team_rows:
        return values, []
    step = int(getattr(model, "steps", 0))
    per_team = zip(trust.tolist(), components.tolist(), largest.tolist(), strict=True)
    rows = [
        {
            "step": step,
            "team": team,
            "within_team_trust": t,
            "components": c,
            "largest_component_share": share,
        }
        for team, (t, c, share) in enumerate(per_team)
    ]
    return values, rows


def summarize(
    table: NDArray[np.float64], team_largest_share: NDArray[np.float64], competence_target: float
) -> dict[str, Any]:
    """Run-level results (docs/ODD.md, "What is measured") from the per-step table.

    `table` has the columns "step" and MEASURES, one row per recorded step (step 0
    first); `team_largest_share` is each team's largest bonded share at the last step.
    The final values; their means over the run (steps 1 on; NaN skipped, NaN if all
    are), as NAME_avg; time_to_competence (the first step with mean_skill >=
    competence_target, or None); and disintegrated (some team's largest bonded
    component is under half the team at the end).
    """
    run = table[1:] if len(table) > 1 else table
    finite = ~np.isnan(run)
    counted = finite.sum(axis=0).tolist()
    # As pandas' mean: the sum of the values that are not NaN (numpy's pairwise sum,
    # column by column: each column a contiguous row here), over their count.
    totals = np.where(finite, run, 0.0).T.copy().sum(axis=1).tolist()
    out: dict[str, Any] = {}
    last = table[-1].tolist()
    for c, name in enumerate(MEASURES, start=1):
        out[name] = int(last[c]) if name in INTEGER_MEASURES else last[c]
        out[f"{name}_avg"] = float(totals[c] / counted[c]) if counted[c] else math.nan
    skill = table[:, 1 + MEASURES.index("mean_skill")]
    competent = np.flatnonzero(skill >= competence_target)
    out["time_to_competence"] = int(table[competent[0], 0]) if len(competent) else None
    out["disintegrated"] = bool((team_largest_share < 0.5).any())
    return out


def kept_steps(steps: NDArray[Any], every: int) -> NDArray[np.bool_]:
    """Which rows of a run's per-step table are kept: every `every`-th step and the last.

    `steps` is the table's step column; every <= 0 keeps none.
    """
    steps = np.asarray(steps)
    if every <= 0:
        return np.zeros(len(steps), dtype=bool)
    return (steps % every == 0) | (np.arange(len(steps)) == len(steps) - 1)
