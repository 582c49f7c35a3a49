"""What the workshop app does, without the web page: scenarios, controls, runs, pictures.

A Workshop holds one run, or two runs in lockstep from the same seed (common random
numbers), built from a library scenario and the trainer's control values. It steps
them, fires events in both, and draws the live figure (network and charts) that the
app shows and exports. Keeping this apart from sim/app.py makes it testable and lets
benchmarks time a step's drawing without a browser.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim import plots
from sim.model import TrustModel
from sim.scenario import Scenario, ScenarioError, describe_file, load_scenario
from sim.snapshots import network_snapshot

__all__ = ["CONTROLS", "EVENTS", "Control", "Workshop", "library"]

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios"
MAX_DRAWN = 400  # people: above this the live network view is left out


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
        from sim.scenario import parameters

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
        "sponsorship_strength",
        "How much management's endorsement of the coach counts",
        0.0,
        1.0,
        0.05,
    ),
    Control(
        "management_trust_scale",
        "Trust in management (1 = normal, 0.2 = distrusted)",
        0.0,
        2.0,
        0.1,
    ),
    Control("propensity_mean", "How readily people trust each other", 0.05, 0.95, 0.05),
    Control("loss_ratio", "Trust falls this many times faster than it grows", 1.0, 5.0, 0.5),
    Control("coach_capacity", "People the coach can help each week", 1, 12, 1, integer=True),
    Control("levels", "Levels of hierarchy", 1, 4, 1, integer=True),
    Control("gossip_rate", "How much people talk about each other", 0.0, 0.5, 0.05),
    Control("members", "People on the front line", 6, 60, 1, integer=True),
)

# Event buttons: label -> (event type, fields)
EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "The coach breaches trust": ("breach", {"role": "coach"}),
    "The sponsor withdraws": ("sponsor_withdraws", {}),
    "Half the team is replaced": ("turnover_wave", {"fraction": 0.5}),
}

CHART_LINES = {
    "within_team_trust": "within-team trust",
    "trust_in_coach": "trust in the coach",
    "mean_skill": "mean skill",
    "silence_rate": "silence rate (8-week mean)",
}


def library(folder: Path = LIBRARY) -> dict[str, tuple[Scenario, str]]:
    """Every scenario file of the library: name -> (scenario, plain description)."""
    out = {}
    for path in sorted(folder.glob("*.toml")):
        out[path.stem] = (load_scenario(path), describe_file(path))
    return out


def overrides_from(values: dict[str, float]) -> dict[str, Any]:
    """Control values -> scenario parameters (the loss ratio sets trust_loss)."""
    out: dict[str, Any] = {}
    for control in CONTROLS:
        if control.key not in values:
            continue
        value = values[control.key]
        if control.key == "loss_ratio":
            continue
        out[control.key] = round(value) if control.integer else float(value)
    return out


class Workshop:
    """One run, or two in lockstep, that the room watches week by week."""

    def __init__(
        self,
        scenario: Scenario,
        compare: Scenario | None = None,
        seed: int = 1,
        values: dict[str, float] | None = None,
    ) -> None:
        """Build the run(s).

        Raises:
            ScenarioError: a control value the model does not accept (one line each).
        """
        self.seed = seed
        self.values = dict(values or {})
        self.scenarios = [self._apply(scenario)] + ([self._apply(compare)] if compare else [])
        self.models = [TrustModel(s, rng=seed) for s in self.scenarios]
        self.colours = plots.scenario_colours([s.name for s in self.scenarios])
        self._picture: LivePicture | None = None

    def _apply(self, scenario: Scenario) -> Scenario:
        changes = overrides_from(self.values)
        if "loss_ratio" in self.values:
            changes["trust_loss"] = min(1.0, scenario.trust_gain * float(self.values["loss_ratio"]))
        # The room runs until it stops: no horizon ends the show early.
        changes["steps"] = 10_000
        try:
            return scenario.with_(**changes)
        except ScenarioError as err:
            lines = [line.replace("<keywords>", scenario.name) for line in err.lines]
            raise ScenarioError(lines) from None

    @property
    def week(self) -> int:
        """Weeks run so far."""
        return int(self.models[0].steps)

    def step(self) -> None:
        """One week, in every run."""
        for model in self.models:
            model.step()

    def event(self, label: str) -> None:
        """Fire an event button's event now, in every run (so the regimes stay comparable)."""
        kind, fields = EVENTS[label]
        for model in self.models:
            model.trigger(kind, **fields)

    def history(self, index: int = 0) -> pd.DataFrame:
        """The per-week measures of run `index` so far."""
        frame = self.models[index].datacollector.get_model_vars_dataframe()
        weeks = frame["step"] >= 1
        frame.loc[weeks, "silence_rate"] = (
            frame.loc[weeks, "silence_rate"].rolling(8, min_periods=1).mean()
        )
        return frame

    def draws_a_network(self) -> bool:
        """True when the picture shows at least one network (small enough to draw)."""
        return any(_drawn(m) for m in self.models)

    def figure(self) -> Figure:
        """The live picture, updated to this week: each run's network, and four charts."""
        if self._picture is None or self._picture.stale(self):
            self._picture = LivePicture(self)
        self._picture.update(self)
        return self._picture.fig

    def png(self, dpi: int = 150) -> bytes:
        """The current picture as PNG (150 dpi for slides; the app shows it at 72)."""
        buffer = io.BytesIO()
        # Light compression: the live view is re-encoded every week.
        self.figure().savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
        return buffer.getvalue()


def _drawn(model: TrustModel) -> bool:
    """Whether the live picture draws this run's network (a whole organization is not)."""
    return model.org.n_people <= MAX_DRAWN


class LivePicture:
    """A figure built once and updated week by week.

    Redrawing only what changed keeps a week's picture fast enough to play live
    (benchmarks/bench_app.py).
    """

    def __init__(self, shop: Workshop) -> None:
        n = len(shop.models)
        # Not through pyplot: a rebuilt picture must not stay registered (and in memory).
        self.fig = Figure(figsize=(11, 5.2), layout="constrained")
        FigureCanvasAgg(self.fig)
        grid = self.fig.add_gridspec(2, n + 2, width_ratios=[1.25] * n + [1, 1])
        self.net_axes = []
        self.layouts = []
        self.edge_counts = [m.net.n_edges for m in shop.models]
        for i, model in enumerate(shop.models):
            ax = self.fig.add_subplot(grid[:, i])
            name = shop.scenarios[i].name
            ax.set_title(name, fontsize=12, color=shop.colours[name])
            drawn = _drawn(model)
            self.layouts.append(plots.team_layout(network_snapshot(model)[0]) if drawn else {})
            self.net_axes.append(ax)
        self.lines: dict[tuple[str, int], Any] = {}
        self.chart_axes = []
        for k, (col, title) in enumerate(CHART_LINES.items()):
            ax = self.fig.add_subplot(grid[k // 2, n + k % 2])
            for i in range(n):
                name = shop.scenarios[i].name
                (self.lines[(col, i)],) = ax.plot([], [], color=shop.colours[name], lw=1.6)
            ax.set_title(title, fontsize=11)
            ax.set_ylim(0, 1)
            # Few, fixed ticks: tick layout is most of a live redraw's cost.
            ax.set_yticks([0.0, 0.5, 1.0])
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.set_xlabel("week", fontsize=10)
            ax.set_ylabel("0-1", fontsize=10)
            ax.tick_params(labelsize=9)
            ax.grid(alpha=0.3)
            self.chart_axes.append(ax)
        self.update(shop)
        self.fig.canvas.draw()  # lay out once, then keep the layout fixed
        self.fig.set_layout_engine("none")

    def stale(self, shop: Workshop) -> bool:
        """True when the contact network changed (a reorg): the layout must be redone."""
        return [m.net.n_edges for m in shop.models] != self.edge_counts

    def update(self, shop: Workshop) -> None:
        """Draw this week's networks and extend the chart lines."""
        for ax, layout, model in zip(self.net_axes, self.layouts, shop.models, strict=True):
            if not _drawn(model):
                if not ax.texts:  # a whole organization is too big to draw every week
                    ax.set_axis_off()
                    ax.text(
                        0.5,
                        0.5,
                        f"{model.org.n_people} people:\ntoo many to draw;\nsee the charts",
                        ha="center",
                        va="center",
                        transform=ax.transAxes,
                    )
                continue
            for artist in [*ax.collections]:
                artist.remove()
            nodes, edges = network_snapshot(model)
            plots._draw_network(ax, nodes, edges, layout)
        for i in range(len(shop.models)):
            hist = shop.history(i)
            for col in CHART_LINES:
                self.lines[(col, i)].set_data(hist["step"], hist[col])
        for ax in self.chart_axes:
            ax.set_xlim(0, max(10, shop.week))
