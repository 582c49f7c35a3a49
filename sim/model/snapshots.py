"""The trust network of one run as tables, for network figures and animations.

A snapshot is two tidy tables at given steps: nodes (person, role, team, level, mean
skill) and edges (each contact pair once, with both directions' trust and their mean).
Plots draw these tables; they never touch a live model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd

from sim.model.fast import simulate
from sim.model.scenario import Scenario
from sim.model.state import TrustState
from sim.model.structure import ROLE_NAMES

__all__ = ["Recording", "Snapshot", "network_snapshot", "record_run"]


class Snapshot(NamedTuple):
    """The network at one step: its people (nodes) and its contact pairs, each once (edges)."""

    nodes: pd.DataFrame
    edges: pd.DataFrame


class Recording(NamedTuple):
    """A run's network at chosen steps (nodes, edges: a "step" column) and its measures."""

    nodes: pd.DataFrame
    edges: pd.DataFrame
    measures: pd.DataFrame


def network_snapshot(model: TrustState, step: int | None = None) -> Snapshot:
    """The network now (a TrustModel, or a fast run's state at `step`): nodes, edges once."""
    org, net = model.org, model.net
    step = int(getattr(model, "steps", 0)) if step is None else step
    nodes = pd.DataFrame(
        {
            "step": step,
            "node": np.arange(org.n_people),
            "role": [ROLE_NAMES[int(r)] for r in org.role],
            "external": org.external,
            "team": org.team,
            "level": org.level,
            "boss": org.boss,
            "skill": model.skill.mean(axis=1),
        }
    )
    once = net.src < net.dst
    t_ij = model.trust[once]
    t_ji = model.trust[net.rev[once]]
    edges = pd.DataFrame(
        {
            "step": step,
            "src": net.src[once],
            "dst": net.dst[once],
            "trust_src_dst": t_ij,
            "trust_dst_src": t_ji,
            "trust": (t_ij + t_ji) / 2,
        }
    )
    return Snapshot(nodes, edges)


def record_run(
    scenario: Scenario,
    seed: int,
    at_steps: Iterable[int] | None = None,
    on_step: Callable[[int], None] | None = None,
) -> Recording:
    """Run a scenario and keep network snapshots at the given steps (default: every step)."""
    wanted = None if at_steps is None else set(at_steps)
    node_parts, edge_parts = [], []

    def keep(week: int, state: TrustState) -> None:
        if wanted is None or week in wanted:
            snap = network_snapshot(state, week)
            node_parts.append(snap.nodes)
            edge_parts.append(snap.edges)
        if on_step is not None and week > 0:
            on_step(week)

    run = simulate(scenario, seed, on_week=keep)
    return Recording(
        pd.concat(node_parts, ignore_index=True),
        pd.concat(edge_parts, ignore_index=True),
        run.steps,
    )
