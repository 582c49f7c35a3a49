"""Every measured quantity of docs/ODD.md ("What is measured") as a function of model state."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim import kernels

if TYPE_CHECKING:
    from sim.model import TrustModel

__all__ = ["MEASURES", "SUMMARY_KEYS", "TEAM_COLUMNS", "gini", "measure", "summarize"]

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
    return float(2.0 * np.sum(np.arange(1, n + 1) * x) / (n * total) - (n + 1) / n)


def measure(model: TrustModel) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """This step's measures (docs/ODD.md), and one row per team when the model keeps them."""
    org, net, t = model.org, model.net, model.trust
    p, c = model.params, model.counts
    means, per_team = kernels.trust_means(t, model.edge_category, model.edge_team, org.n_teams)
    mean_skill, p10, skill_gini = kernels.skill_stats(model.skill, org.n_members)
    components, largest = kernels.components(
        net.src, net.dst, t, net.rev, model.measure_team, org.n_teams, p.bond_threshold
    )
    needs = c["needs"]
    values = {
        "mean_trust": float(means[0]),
        "within_team_trust": float(means[1]),
        "cross_team_trust": float(means[2]),
        "trust_in_managers": float(means[3]),
        "trust_in_coach": float(means[4]),
        "mean_skill": float(mean_skill),
        "skill_p10": float(p10),
        "skill_gini": float(skill_gini),
        "needs": needs,
        "asks": c["asks"],
        "silence_rate": c["silences"] / needs if needs else math.nan,
        "help_success_rate": c["successes"] / c["helps"] if c["helps"] else math.nan,
        "breaches": c["breaches"],
        "fragmentation": float(components.mean()),
        "largest_component_share": float(largest.mean()),
    }
    model.team_largest_share = largest
    rows = []
    if model.team_table:
        step = int(model.steps)
        rows = [
            {
                "step": step,
                "team": team,
                "within_team_trust": float(per_team[team]),
                "components": int(components[team]),
                "largest_component_share": float(largest[team]),
            }
            for team in range(org.n_teams)
        ]
    return values, rows


def summarize(model: TrustModel) -> dict[str, Any]:
    """Run-level results (docs/ODD.md, "What is measured").

    The final values; their means over the run (steps 1 on), as NAME_avg;
    time_to_competence (the first step with mean_skill >= competence_target, or None);
    and disintegrated (some team's largest bonded component is under half the team at
    the end).
    """
    frame = pd.DataFrame(model.datacollector.model_vars)
    run = frame[frame["step"] >= 1] if len(frame) > 1 else frame
    out: dict[str, Any] = {}
    for name in MEASURES:
        out[name] = _plain(frame[name].iloc[-1])
        out[f"{name}_avg"] = _plain(run[name].mean())
    competent = frame.loc[frame["mean_skill"] >= model.params.competence_target, "step"]
    out["time_to_competence"] = int(competent.iloc[0]) if len(competent) else None
    out["disintegrated"] = bool((model.team_largest_share < 0.5).any())
    return out


def _plain(value: Any) -> Any:
    """Numbers as plain Python values (NaN stays NaN) for JSON and tables."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value
