"""The Boltzmann wealth model (Dragulescu and Yakovenko 2000), as Mesa's tutorial has it.

Everyone starts with one unit of wealth; at each step every agent with wealth gives
one unit to a random neighbour on a grid. Wealth ends unequal although the rules are
the same for all: the Gini coefficient rises from 0 towards about 0.6. Written here,
outside the trust model's domain, to show that trustsim's experiments (sweeps,
replications with our seeds, the store, resume, Dask, compare, the report) run any
Mesa model: see examples/boltzmann.toml.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid


def gini(model: BoltzmannWealth) -> float:
    """The Gini coefficient of the agents' wealth (0: all equal; near 1: one has all)."""
    x = np.sort(np.array([a.wealth for a in model.agents], dtype=float))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return 0.0
    return float(1 + 1 / n - 2 * np.sum(np.cumsum(x)) / (n * x.sum()))


class MoneyAgent(CellAgent):
    """An agent with some wealth, on a cell of the grid."""

    def __init__(self, model: BoltzmannWealth, cell: Any) -> None:
        super().__init__(model)
        self.cell = cell
        self.wealth = 1

    def step(self) -> None:
        """Move to a random neighbouring cell; give one unit to someone there, if any."""
        self.cell = self.cell.neighborhood.select_random_cell()
        if self.wealth > 0:
            others = [a for a in self.cell.agents if a is not self]
            if others:
                self.random.choice(others).wealth += 1
                self.wealth -= 1


class BoltzmannWealth(mesa.Model):
    """The Boltzmann wealth model: n agents swap units of wealth on a width x height torus."""

    def __init__(self, n: int = 50, width: int = 10, height: int = 10, rng: Any = None) -> None:
        super().__init__(rng=rng)
        self.grid = OrthogonalMooreGrid((width, height), torus=True, random=self.random)
        cells = self.random.choices(self.grid.all_cells.cells, k=n)
        for cell in cells:
            MoneyAgent(self, cell)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "gini": gini,
                "richest": lambda m: max(a.wealth for a in m.agents),
                "broke_share": lambda m: float(np.mean([a.wealth == 0 for a in m.agents])),
            }
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        """Every agent steps, in a random order; then the reporters are collected."""
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)
