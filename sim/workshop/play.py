"""A side of the screen, played ahead: its scenario, sliders and events, its run and band.

The page (sim/workshop/app.py) shows one scenario, or two side by side, each a `Side` with
its own scenario and its own slider values (`CONTROLS`). A side is played ahead of time
on the fast path: the whole run at once (`play`), with the network of every week
(sim.workshop.network) and the band of many replications of the same scenario, so that
the browser only moves a week cursor over data it already has. An event fired at week
w replays the run from the same seed with the event scheduled at week w + 1: the weeks
before it are unchanged (the branch), the rest follow from it. The measures charted
are the registry's (`measures_shown`), smoothed as the charts show them (`shown_line`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.model import measures
from sim.model.events import Buttons, does_nothing
from sim.model.fast import columns, simulate
from sim.model.scenario import Event, Scenario, ScenarioError, parameters
from sim.model.state import TrustState
from sim.workshop.network import Network, network_drawing
from sim.workshop.story import plain_name

__all__ = [
    "BAND_PEOPLE",
    "CONTROLS",
    "CONTROL_BY_KEY",
    "EVENTS",
    "HORIZON",
    "REPLICATIONS",
    "Control",
    "Played",
    "Side",
    "idle_note",
    "measures_shown",
    "play",
    "replication_seeds",
    "shown_line",
]

REPLICATIONS = 50  # runs behind each band and each paired difference
BAND_PEOPLE = 25_000  # people-runs a band may take: a large organization gets fewer runs
HORIZON = 104  # weeks a side is played ahead (a scenario's own `steps` if shorter)


def measures_shown() -> dict[str, str]:
    """The measures the charts show, with their words (sim.model.measures: Measure.workshop)."""
    return {m.name: m.shown for m in measures.registered() if m.workshop}


@dataclass(frozen=True)
class Control:
    """A slider a trainer understands: a plain label, and the model's name in a tooltip."""

    key: str  # a parameter name, or "loss_ratio" (trust_loss / trust_gain)
    label: str
    minimum: float
    maximum: float
    step: float
    integer: bool = False

    def tooltip(self) -> str:
        """The model's name(s) and meaning, for the curious."""
        if self.key == "loss_ratio":
            return "trust_loss / trust_gain: a failure costs this many times what a success earns"
        return f"{self.key}: {parameters()[self.key].description}"

    def read(self, scenario: Scenario) -> float:
        """The control's value in a scenario."""
        if self.key == "loss_ratio":
            return (
                round(scenario.trust_loss / scenario.trust_gain, 2) if scenario.trust_gain else 1.0
            )
        return float(getattr(scenario, self.key))


CONTROLS = (
    Control(
        "sponsorship_strength", "How much management's backing of the coach counts", 0.0, 1.0, 0.05
    ),
    Control(
        "management_trust_scale", "Trust in management (1 normal, 0.2 distrusted)", 0.0, 2.0, 0.1
    ),
    Control("propensity_mean", "How readily people trust each other", 0.05, 0.95, 0.05),
    Control("loss_ratio", "Trust falls this many times faster than it grows", 1.0, 5.0, 0.5),
    Control("coach_capacity", "People the coach can help each week", 1, 12, 1, integer=True),
    Control("levels", "Levels of hierarchy", 1, 4, 1, integer=True),
    Control("gossip_rate", "How much people talk about each other", 0.0, 0.5, 0.05),
    Control("members", "People on the front line", 6, 60, 1, integer=True),
)
CONTROL_BY_KEY = {c.key: c for c in CONTROLS}

# The app's event buttons, label -> the button (sim.model.events: the registry declares
# them, with their plain words and when they do nothing).
EVENTS = Buttons("app", by="label")


# ---------------------------------------------------------------------------- sides
@dataclass(frozen=True)
class Side:
    """One side of the screen: a scenario of its own, with its own slider values."""

    key: str  # the library or upload name it starts from
    base: Scenario
    values: tuple[tuple[str, float], ...] = ()  # slider values that differ from the base's

    @property
    def title(self) -> str:
        """The plain name the room reads."""
        return plain_name(self.key, self.base)

    def scenario(self, events: Sequence[Event] = ()) -> Scenario:
        """The scenario this side runs: the base, its slider values, and fired events.

        Raises:
            ScenarioError: a slider value the model does not accept (one line each).
        """
        changes: dict[str, Any] = {}
        for key, value in self.values:
            if key == "loss_ratio":
                changes["trust_loss"] = min(1.0, self.base.trust_gain * float(value))
            elif CONTROL_BY_KEY[key].integer:
                changes[key] = round(value)
            else:
                changes[key] = float(value)
        if events:
            changes["events"] = tuple(self.base.events) + tuple(events)
        changes["steps"] = min(self.base.steps, HORIZON)
        try:
            return self.base.with_(**changes)
        except ScenarioError as err:
            raise ScenarioError(
                [line.replace("<keywords>", self.title) for line in err.lines]
            ) from None

    def with_value(self, key: str, value: float) -> Side:
        """This side with one slider moved (a value equal to the base's is dropped)."""
        values = dict(self.values)
        if math.isclose(CONTROL_BY_KEY[key].read(self.base), value, abs_tol=1e-9):
            values.pop(key, None)
        else:
            values[key] = value
        return Side(self.key, self.base, tuple(sorted(values.items())))

    def value(self, key: str) -> float:
        """The slider's value on this side."""
        return dict(self.values).get(key, CONTROL_BY_KEY[key].read(self.base))


def idle_note(label: str, sides: Sequence[Side]) -> str:
    """What the app says when an event button does nothing on a side ("" when it acts).

    Raises:
        ScenarioError: a side's slider value the model does not accept.
    """
    ev = EVENTS[label].event(1)
    return " ".join(
        f"{label}: nothing happens in “{side.title}”, {reason}."
        for side in sides
        if (reason := does_nothing(ev, side.scenario()))
    )


@dataclass
class Played:
    """A side played ahead: its run, the band of its replications, and its network."""

    title: str
    scenario: Scenario
    seed: int
    weeks: int
    lines: dict[str, NDArray[np.float64]]  # the played run, per measure, weeks 0..weeks
    low: dict[str, NDArray[np.float64]]  # 10th percentile of the replications, per week
    high: dict[str, NDArray[np.float64]]  # 90th percentile
    middle: dict[str, NDArray[np.float64]]  # median
    finals: dict[str, NDArray[np.float64]]  # each replication's last week as charted (paired)
    network: Network
    teams: str  # how the organization is made up, in words


def replication_seeds(seed: int, n: int = REPLICATIONS) -> list[int]:
    """The band's runs: the same n seeds on both sides (common random numbers)."""
    state = np.random.SeedSequence([seed, 2026]).generate_state(n, dtype=np.uint64)
    return [int(v) >> 1 for v in state]


def shown_line(table: NDArray[np.float64], key: str) -> NDArray[np.float64]:
    """A measure's column of a run's table as the charts show it (`measures.smoothed`)."""
    return measures.smoothed(key, table[:, columns().index(key)], table[:, 0])


def play(
    side: Side, seed: int, events: Sequence[Event] = (), replications: int = REPLICATIONS
) -> Played:
    """Play a side ahead: the run from `seed` with its network, and the band of replications.

    Raises:
        ScenarioError: the side's values do not make a valid scenario.
    """
    sc = side.scenario(events)
    frames: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = []
    drawing: dict[str, Any] = {}

    def keep(week: int, state: TrustState) -> None:
        if not drawing:
            drawing.update(network_drawing(state))
        frames.append(drawing["measure"](state))

    run = simulate(sc, seed, on_week=keep)
    # 50 runs of a team in a fraction of a second; an organization of 10,000 gets 5.
    replications = min(replications, max(5, BAND_PEOPLE // max(run.n_people, 1)))
    lines = {k: shown_line(run.table, k) for k in measures_shown()}
    reps = [simulate(sc, s).table for s in replication_seeds(seed, replications)]
    stacked = {k: np.stack([shown_line(t, k) for t in reps]) for k in measures_shown()}
    with np.errstate(all="ignore"):
        low = {k: _nanquantile(v, 0.1) for k, v in stacked.items()}
        high = {k: _nanquantile(v, 0.9) for k, v in stacked.items()}
        middle = {k: _nanquantile(v, 0.5) for k, v in stacked.items()}
    net: Network = drawing["network"]
    net.skill = [_rounded(f[0]) for f in frames]
    net.trust = [_rounded(f[1]) for f in frames]
    if net.kind == "teams":
        net.ring = [_rounded(f[2]) for f in frames]  # type: ignore[misc]
    return Played(
        title=side.title,
        scenario=sc,
        seed=seed,
        weeks=sc.steps,
        lines=lines,
        low=low,
        high=high,
        middle=middle,
        finals={k: v[:, -1] for k, v in stacked.items()},  # as the charts show the last week
        network=net,
        teams=drawing["teams"],
    )


def _nanquantile(values: NDArray[np.float64], q: float) -> NDArray[np.float64]:
    out = np.full(values.shape[1], np.nan)
    seen = ~np.isnan(values).all(axis=0)
    if seen.any():
        out[seen] = np.nanquantile(values[:, seen], q, axis=0)
    return out


def _rounded(values: NDArray[np.float64]) -> list[float]:
    return [round(float(v), 3) for v in values]
