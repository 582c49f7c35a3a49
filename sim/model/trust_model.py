"""TrustModel: the trust-and-learning model of docs/ODD.md as a Mesa model.

The state and the week are sim.model.state.TrustState's: numpy arrays (skills, traits,
trust on the directed edges of the contact network), changed by the compiled week of
sim.model.kernels, the same one `sim.simulate` runs a whole run with. TrustModel adds what
a Mesa user steps, inspects and visualizes: `step()`, a TeamMember agent per person
(a view on the arrays) on a Mesa network space of the contact network (`model.grid`),
and a DataCollector with every measure of docs/ODD.md (and, when asked, every
person's skill, trust received, role and team each step).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mesa
import networkx as nx
import numpy as np
import pandas as pd
from mesa.discrete_space import Network
from mesa.experimental.scenarios import Scenario as MesaScenario
from numpy.typing import NDArray

from sim.model.agents import TeamMember
from sim.model.events import Event
from sim.model.measures import TEAM_COLUMNS, names, summarize
from sim.model.scenario import Scenario, bounds, did_you_mean
from sim.model.state import TrustState
from sim.model.streams import STREAMS, seed_sequence

__all__ = ["AGENT_REPORTERS", "SLIDERS", "SPACE_LIMIT", "STREAMS", "TrustModel", "viz_params"]

# The people sit on a Mesa network space by default up to this many (building its
# cells and keeping its edges' trust current costs Python time per person and contact).
SPACE_LIMIT = 2_000
# What the DataCollector records of every person every step, with agent_table=True.
AGENT_REPORTERS = {"skill": "mean_skill", "trust_received": "trust_received", "role": "role",
                   "team": "team"}  # fmt: skip


class TrustModel(TrustState, mesa.Model):
    """Trust between colleagues decides whether they learn from each other.

    Build it from a Scenario, from keyword parameters with docs/ODD.md's names, or both
    (keywords override): `TrustModel(load_scenario(path), rng=42, gossip_rate=0.2)`.

    Attributes:
        params: the frozen trust-model Scenario this run uses. (`model.scenario` is
            Mesa's own experimental Scenario, as Mesa and SolaraViz expect.)
        seed: the entropy of the run's SeedSequence: passing it as `rng` reproduces
            the run exactly.
        skill: skills, people x topics.
        trust: trust on the directed edges of `net` (see structure.Network).
        baseline: the trust each edge decays back towards.
        grid: the contact network as a Mesa space (`mesa.discrete_space.Network`, one
            cell per person, its graph's edges carrying `trust`, the mean of the two
            directions, updated every step); None above SPACE_LIMIT people unless asked.
        datacollector: one row per step with every quantity of docs/ODD.md's "What is
            measured", a "teams" table per team when `team_table` is on, and agent
            rows (skill, trust_received, role, team) when `agent_table` is on.
    """

    def __init__(
        self,
        scenario: Scenario | MesaScenario | None = None,
        *,
        rng: Any = None,
        team_table: bool | None = None,
        agent_table: bool = False,
        space: bool | None = None,
        **params: Any,
    ) -> None:
        """Build the organization, draw everyone's traits and initial trust.

        Args:
            scenario: the Scenario to run (defaults to docs/ODD.md's defaults).
            rng: a seed (int), a SeedSequence, a numpy Generator, or None (fresh entropy).
            team_table: record a per-team table every step; by default only up to 50 teams.
            agent_table: record every person every step (`get_agent_vars_dataframe()`).
            space: put the people on a Mesa network space (`model.grid`); by default up
                to SPACE_LIMIT people.
            **params: parameters overriding the scenario's, validated like a file's.
        """
        if isinstance(scenario, MesaScenario):
            scenario = None  # SolaraViz's reset passes Mesa's own; ours is in the params
        base = scenario if scenario is not None else Scenario()
        p = base.with_(**params) if params else base
        seq = seed_sequence(rng)
        self.seq = seq  # the surveys' streams are spawned from it (TrustState.give_surveys)
        self.seed: int = int(seq.entropy)  # type: ignore[arg-type]
        self._surveys: list[pd.DataFrame] = []
        streams = seq.spawn(len(STREAMS))
        mesa.Model.__init__(self, rng=np.random.default_rng(streams[STREAMS.index("mesa")]))
        self._build(p, streams)
        n = self.org.n_people
        on_space = n <= SPACE_LIMIT if space is None else space
        self.grid: Network | None = self._space() if on_space else None
        self.people: list[TeamMember] = [TeamMember(self, i) for i in range(n)]
        self.team_table = self.org.n_teams <= 50 if team_table is None else team_table
        self.datacollector = mesa.DataCollector(
            model_reporters={"step": _step_number, **{name: name for name in names()}},
            agent_reporters=AGENT_REPORTERS if agent_table else None,
            tables={"teams": list(TEAM_COLUMNS)} if self.team_table else None,
        )
        self._collect()

    # ------------------------------------------------------------------- step
    def step(self) -> None:
        """One working week, in docs/ODD.md's order: its events, then the compiled week."""
        t = int(self.steps)
        self.start_week(t)
        self._week(t)
        self._collect()
        if t >= self.params.steps:
            self.running = False

    def _people_replaced(self, leavers: NDArray[np.int64]) -> None:
        """Each newcomer is a new Mesa agent in the leaver's cell; the leaver's leaves."""
        for i in leavers:
            self.people[i]._leave()
            self.people[i] = TeamMember(self, int(i))

    def depart(self, people: Any) -> None:
        """These front-line members leave now, between steps, as turnover makes them leave.

        Newcomers take their places (docs/ODD.md 7.18); the draws come from the events'
        stream, as for `trigger`, so the turnover mechanism's own draws are unchanged.
        `agent.remove()` is `model.depart([agent.index])`.

        Raises:
            ValueError: someone who is not a front-line member (index >= n_members).
        """
        leavers = np.unique(np.asarray(people, dtype=np.int64))
        bad = leavers[(leavers < 0) | (leavers >= self.org.n_members)]
        if len(bad):
            raise ValueError(
                f"person {int(bad[0])} cannot leave: only front-line members (0 to "
                f"{self.org.n_members - 1}) leave (turnover, docs/ODD.md 7.18)"
            )
        self.replace_members(leavers, self.rngs["events"])

    # ------------------------------------------------------------------ space
    def _space(self) -> Network:
        """The contact network as a Mesa space: one cell per person, trust on the edges."""
        net, n = self.net, self.org.n_people
        src = net.src
        one_way = src < net.dst  # each contact once
        self._grid_edges = (src[one_way], net.dst[one_way], np.flatnonzero(one_way))
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(zip(src[one_way].tolist(), net.dst[one_way].tolist(), strict=True))
        space = Network(graph, random=self.random, layout=None)
        self._edge_trust(space)
        return space

    def _network_changed(self) -> None:
        """After a reorganization: a space of the new contacts, everyone in their cell."""
        if self.grid is not None:
            self.grid = self._space()
            for person in self.people:
                person.cell = self.grid[person.index]

    def _edge_trust(self, space: Network) -> None:
        """Each contact's trust on the space's graph: the mean of its two directions."""
        u, v, e = self._grid_edges
        both = (self.trust[e] + self.trust[self.net.rev[e]]) / 2
        nx.set_edge_attributes(
            space.G, dict(zip(zip(u.tolist(), v.tolist(), strict=True), both.tolist(),
                              strict=True)), "trust")  # fmt: skip

    def trigger(self, event_type: str, **fields: Any) -> None:
        """Make an event happen now, between steps (for a user stepping the model by hand).

        Args:
            event_type: a registered event type (sim.model.events.EVENT_TYPES).
            **fields: the event's other fields (role, fraction), validated as in a file.
        """
        self._apply_event(Event(type=event_type, at=max(1, int(self.steps)), **fields))

    # ------------------------------------------------------------ measurement
    @property
    def survey(self) -> pd.DataFrame | None:
        """The answers of the scenario's surveys given so far (as `sim.simulate`'s)."""
        return pd.concat(self._surveys, ignore_index=True) if self._surveys else None

    def _collect(self) -> None:
        """This step's measures as attributes, recorded by the DataCollector."""
        if any(int(self.steps) in s.at for s in self.params.surveys):
            self._surveys += self.give_surveys(int(self.steps))
        if self.grid is not None:
            self._edge_trust(self.grid)
        values, rows = self.measures(team_rows=self.team_table)
        self.__dict__.update(values)
        self.datacollector.collect(self)
        for row in rows:
            self.datacollector.add_table_row("teams", row)

    def summary(self) -> dict[str, Any]:
        """Run-level results: final and mean values, time_to_competence, disintegrated."""
        data = self.datacollector.model_vars
        columns = [np.asarray(data[name], dtype=float) for name in ("step", *names())]
        table = np.column_stack(columns)
        return summarize(table, self.team_largest_share, self.params.competence_target)


def _step_number(model: TrustModel) -> int:
    return int(model.steps)


# The parameters viz_params gives sliders by default: how trust moves and what coaching
# does, each with a range in the Scenario.
SLIDERS = ("trust_gain", "trust_loss", "learning_rate", "propensity_mean",
           "sponsorship_strength", "hierarchy_attenuation", "gossip_rate")  # fmt: skip


def viz_params(scenario: Scenario, sliders: Sequence[str] = SLIDERS) -> dict[str, Any]:
    """A scenario as Mesa SolaraViz's `model_params`: sliders for some, the rest fixed.

    Each slider goes over its parameter's range in the Scenario, starting at the
    scenario's value; every other parameter is fixed at the scenario's value, so that
    SolaraViz's reset builds `TrustModel(**params)` = this scenario.

    Raises:
        ValueError: a name that is not a numeric parameter with a range.
    """
    from sim.model.scenario import parameters

    fields = parameters()
    values = scenario.model_dump(mode="json", exclude={"name", "description"})
    out: dict[str, Any] = dict(values)
    for name in sliders:
        field = fields.get(name)
        low, high = bounds(field) if field is not None else (None, None)
        if field is None or field.annotation not in (int, float) or low is None or high is None:
            raise ValueError(
                f"viz_params: {name!r} is not a number parameter with a range"
                + did_you_mean(name, fields)
            )
        whole = field.annotation is int
        out[name] = {
            "type": "SliderInt" if whole else "SliderFloat",
            "value": values[name],
            "min": low,
            "max": high,
            "step": 1 if whole else round((high - low) / 100, 4),
            "label": name.replace("_", " "),
        }
    return out
