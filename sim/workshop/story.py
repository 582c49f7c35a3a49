"""What the workshop app does, without the web page: sides, runs, bands, words, files.

The page (sim/workshop/app.py) shows one scenario, or two side by side, each a `Side` with its
own scenario and its own slider values. A side is played ahead of time on the fast
path: the whole run at once (`play`), with the network of every week and the band of
many replications of the same scenario, so that the browser only moves a week cursor
over data it already has. An event fired at week w replays the run from the same seed
with the event scheduled at week w + 1: the weeks before it are unchanged (the
branch), the rest follow from it. Every sentence the room reads about a result is
generated here from the numbers (`rise_sentence`, `compare_sentence`, ...); every
parameter that differs between the two sides is named (`differences`). The session
(chapter, sides, sliders, seed, events, uploads) saves to a small JSON file and loads
back (`Session`). Keeping this apart from the page makes it testable without a browser.
"""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.model import measures
from sim.model.events import Buttons, does_nothing, plain_words
from sim.model.fast import columns, simulate
from sim.model.scenario import Event, Scenario, ScenarioError, parameters
from sim.model.scenario_files import describe_file, load_scenario, load_scenario_text
from sim.model.snapshots import network_snapshot
from sim.model.state import TrustState
from sim.model.structure import COACH, MANAGER
from sim.reporting import plots
from sim.reporting.plots import OKABE_ITO

__all__ = [
    "CHAPTERS",
    "CONTROLS",
    "EVENTS",
    "Chapter",
    "Control",
    "Played",
    "Session",
    "Side",
    "differences",
    "library",
    "measures_shown",
    "network_drawing",
    "play",
    "shown_line",
    "signed",
    "value_at",
]

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
REPLICATIONS = 50  # runs behind each band and each paired difference
BAND_PEOPLE = 25_000  # people-runs a band may take: a large organization gets fewer runs
NEGLIGIBLE = 0.02  # a change or difference smaller than this (on 0-1) is "about the same"
HORIZON = 104  # weeks a side is played ahead (a scenario's own `steps` if shorter)
MAX_PEOPLE = 20  # above this, a sample of people or one node per team is drawn
SAMPLE = 16  # people drawn from a large team
MAX_TEAMS = 36  # team nodes drawn from a large organization
SIDE_COLOURS = (OKABE_ITO[0], OKABE_ITO[5])  # blue and vermilion: safe for colour-blindness
SIDE_DASHES = ("solid", "dash")  # the second cue beside colour
UPLOAD_LIMIT = 64_000  # bytes: a scenario file is a few hundred

# Plain names for the library's scenarios and the presets; the model's name stays in a
# tooltip. An upload is shown under its own `name`.
PLAIN_NAMES = {
    "no_coaching": "No coaching",
    "top_down_internal": "Coach from the team, backed by top management",
    "top_down_external": "Coach from outside, backed by top management",
    "manager_sponsored": "Coach from the team, backed by each team's manager",
    "peer_led": "Colleagues coach each other (no coach, no sponsor)",
    "hybrid": "Coach from the team, backed by top management, and colleagues coaching",
    "beta_trust": "Coach backed by top management (trust as counted experience)",
    "breach_shock": "Coach backed by top management, who breaches trust in week 52",
    "distrusted_management": "Coach backed by top management, in a team that distrusts management",
    "distrusted_management_peer_led": "Colleagues coach each other, in a team that distrusts "
    "management",
    "external_coach_low_trust": "Coach from outside, in a team slow to trust",
    "hierarchy_1": "48 people, 1 level of hierarchy, coach backed by the top",
    "hierarchy_2": "48 people, 2 levels of hierarchy, coach backed by the top",
    "hierarchy_3": "48 people, 3 levels of hierarchy, coach backed by the top",
    "hierarchy_4": "48 people, 4 levels of hierarchy, coach backed by the top",
    "high_turnover": "Coach backed by top management, with people leaving often",
    "large_org": "A large organization: 10,000 people, 4 levels",
    "layoff_wave": "Coach backed by top management; a third of the team leaves in week 52",
    "low_trust_team": "Coach backed by top management, in a team slow to trust",
    "reorg": "Two levels of hierarchy, reorganized in week 52",
    "sponsor_withdraws": "Coach backed by top management, who stops backing in week 52",
    "field_teams": "96 people in eight teams, no coach, surveyed on psychological safety",
}


def measures_shown() -> dict[str, str]:
    """The measures the charts show, with their words (sim.model.measures: Measure.workshop)."""
    return {m.name: m.shown for m in measures.registered() if m.workshop}


def __getattr__(name: str) -> dict[str, str]:
    """MEASURES_SHOWN: `measures_shown()`, read from the measures' registry when asked."""
    if name == "MEASURES_SHOWN":
        return measures_shown()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def plain_name(key: str, scenario: Scenario | None = None) -> str:
    """What the room reads for a scenario: its plain name, else its own name."""
    if key in PLAIN_NAMES:
        return PLAIN_NAMES[key]
    return scenario.name if scenario is not None else key


def library(folder: Path = LIBRARY) -> dict[str, tuple[Scenario, str]]:
    """Every scenario file of the library: name -> (scenario, plain description)."""
    out = {}
    for path in sorted(folder.glob("*.toml")):
        out[path.stem] = (load_scenario(path), describe_file(path))
    return out


def load_upload(name: str, data: bytes, folder: Path = LIBRARY) -> tuple[Scenario, str]:
    """An uploaded scenario file, validated; it may extend presets and library files only.

    Returns:
        The scenario and the file's text (kept in a saved session).

    Raises:
        ScenarioError: one sentence naming the file and what is wrong.
    """
    if not name.lower().endswith(".toml"):
        raise ScenarioError(
            [f"{name}: only scenario files (.toml) can be opened here, not this kind of file"]
        )
    if len(data) > UPLOAD_LIMIT:
        raise ScenarioError(
            [f"{name}: {len(data):,} bytes is too big for a scenario file (at most 64 kB)"]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError([f"{name}: not a text file (a scenario file is TOML text)"]) from None
    return scenario_from_upload(name, text, folder), text


def scenario_from_upload(name: str, text: str, folder: Path = LIBRARY) -> Scenario:
    """Validate uploaded TOML text; `extends` may name only a scenario of the library."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{name}: this is not valid TOML ({exc})"]) from None
    except RecursionError:
        raise ScenarioError([f"{name}: this is not valid TOML (nested too deeply)"]) from None
    parent = raw.get("extends")
    if parent is not None:
        known = sorted(p.name for p in folder.glob("*.toml"))
        if not isinstance(parent, str) or parent not in known:
            raise ScenarioError(
                [
                    f"{name}: extends = {json.dumps(parent)} is refused: an uploaded file may "
                    f"extend only a scenario of the library ({', '.join(known[:4])}, ...) "
                    "or use preset = ..."
                ]
            )
    return load_scenario_text(text, name, base=folder)


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


def _words(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _event_words(ev: Event) -> str:
    return f"week {ev.at}: " + plain_words(ev)


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


def differences(a: Scenario, b: Scenario) -> list[str]:
    """Every parameter that differs between two scenarios, in words ("label: a vs b").

    Names and descriptions are not parameters; the events are compared as a list.
    """
    out = []
    fields = parameters()
    for key in fields:
        if key in ("name", "description", "events"):
            continue
        va, vb = getattr(a, key), getattr(b, key)
        if va == vb:
            continue
        control = CONTROL_BY_KEY.get(key)
        label = control.label if control else fields[key].description or key
        out.append(f"{label} ({key}): {_words(key, va)} vs {_words(key, vb)}")
    ea = "; ".join(_event_words(e) for e in a.events) or "none"
    eb = "; ".join(_event_words(e) for e in b.events) or "none"
    if ea != eb:
        out.append(f"Events: {ea} vs {eb}")
    return out


# --------------------------------------------------------------------------- played
@dataclass
class Network:
    """What the page draws of a run's network, week by week (JSON-ready)."""

    kind: Literal["people", "sample", "teams"]
    caption: str
    x: list[float]
    y: list[float]
    shape: list[str]  # "circle" member, "star" coach, "square" manager, "diamond" external
    edges: list[tuple[int, int]]
    skill: list[list[float]] = field(default_factory=list)  # per week, per node
    trust: list[list[float]] = field(default_factory=list)  # per week, per edge
    ring: list[list[float]] = field(default_factory=list)  # teams: within-team trust
    people: list[int] = field(default_factory=list)  # each node's person (people, sample)


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


def network_drawing(state: TrustState) -> dict[str, Any]:
    """How a run's network is drawn: everyone, a sample, or one node per team.

    Returns the Network (positions, shapes, edges), a function from the state to this
    week's node skill and edge trust, and the organization in words.
    """
    org, _net = state.org, state.net
    sizes = org.team_sizes()
    managers = org.n_managers
    levels = org.levels
    teams = (
        f"{_count(org.n_members, 'person', 'people')} in {_count(org.n_teams, 'team')} of "
        f"{_size_words(sizes)}, {_count(managers, 'manager')}, {_count(levels, 'level')}"
    )
    if org.n_people <= MAX_PEOPLE or org.n_teams <= 2:
        people = np.arange(org.n_people)
        if org.n_people > MAX_PEOPLE:
            people = _sample(org)
        return {**_people_view(state, people), "teams": teams}
    return {**_team_view(state), "teams": teams}


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _size_words(sizes: NDArray[np.int64]) -> str:
    lo, hi = int(sizes.min()), int(sizes.max())
    return f"{lo}" if lo == hi else f"{lo} to {hi}"


def _sample(org: Any) -> NDArray[np.int64]:
    """Every manager and coach, and members evenly spread, up to SAMPLE people."""
    staff = np.flatnonzero((org.role == MANAGER) | (org.role == COACH) | org.external)
    members = np.setdiff1d(np.arange(org.n_people), staff)
    room = max(0, SAMPLE - len(staff))
    picked = members[np.linspace(0, len(members) - 1, room).round().astype(int)] if room else []
    return np.union1d(staff, picked).astype(np.int64)


def _people_view(state: TrustState, people: NDArray[np.int64]) -> dict[str, Any]:
    org, net = state.org, state.net
    index = np.full(org.n_people, -1)
    index[people] = np.arange(len(people))
    once = (net.src < net.dst) & (index[net.src] >= 0) & (index[net.dst] >= 0)
    src, dst, rev = net.src[once], net.dst[once], net.rev[once]
    # The report's layout: each team on its circle, its manager in the middle.
    nodes, _ = network_snapshot(state, 0)
    pos = plots.team_layout(nodes[nodes["node"].isin(people)])
    x = [round(pos[int(p)][0], 3) for p in people]
    y = [round(pos[int(p)][1], 3) for p in people]
    shape = [
        "diamond"
        if org.external[p]
        else "star"
        if org.role[p] == COACH
        else "square"
        if org.role[p] == MANAGER
        else "circle"
        for p in people
    ]
    edges = np.flatnonzero(once)
    n_edges = net.n_edges

    def measure(s: TrustState) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        e, r = edges, rev
        if s.net.n_edges != n_edges:  # a reorg rewired the network: find the ties again
            e, r = s.net.find(src, dst), s.net.find(dst, src)
        there = (e >= 0) & (r >= 0)
        trust = np.where(there, (s.trust[np.maximum(e, 0)] + s.trust[np.maximum(r, 0)]) / 2, 0.0)
        return s.skill[people].mean(axis=1), trust

    shown = len(people)
    caption = (
        f"{shown} of {org.n_people} people shown (every manager and coach, members spread)"
        if shown < org.n_people
        else f"all {org.n_people} people"
    )
    network = Network(
        kind="people" if shown == org.n_people else "sample",
        caption=caption,
        x=x,
        y=y,
        shape=shape,
        edges=[(int(index[a]), int(index[b])) for a, b in zip(src, dst, strict=True)],
        people=[int(p) for p in people],
    )
    return {"network": network, "measure": measure}


def _team_view(state: TrustState) -> dict[str, Any]:
    org, net = state.org, state.net
    shown = np.arange(min(org.n_teams, MAX_TEAMS))
    cols = max(1, math.ceil(math.sqrt(len(shown))))
    x = [round(1.6 * float(t % cols), 3) for t in shown]
    y = [round(-1.6 * float(t // cols), 3) for t in shown]
    team_of = np.where(org.external | (org.team < 0), -1, org.team)
    ts, td = team_of[net.src], team_of[net.dst]
    cross = (ts >= 0) & (td >= 0) & (ts < td) & (ts < len(shown)) & (td < len(shown))
    pairs = sorted({(int(a), int(b)) for a, b in zip(ts[cross], td[cross], strict=True)})
    m = len(shown)
    pair_keys = np.array([p * m + q for p, q in pairs], dtype=np.int64)

    def measure(s: TrustState) -> tuple[Any, Any, Any]:
        o, n = s.org, s.net
        t_of = np.where(o.external | (o.team < 0), -1, o.team)
        people = (t_of >= 0) & (t_of < len(shown)) & (np.arange(o.n_people) < o.n_members)
        skill = np.bincount(t_of[people], s.skill[people].mean(axis=1), len(shown))
        count = np.bincount(t_of[people], minlength=len(shown))
        a, b = t_of[n.src], t_of[n.dst]
        inside = (a == b) & (a >= 0) & (a < len(shown))
        ring = np.bincount(a[inside], s.trust[inside], len(shown)) / np.maximum(
            np.bincount(a[inside], minlength=len(shown)), 1
        )
        both = (a >= 0) & (b >= 0) & (a < m) & (b < m) & (a != b)
        key = np.minimum(a, b)[both] * m + np.maximum(a, b)[both]
        sums = np.bincount(key, s.trust[both], m * m)
        counts = np.bincount(key, minlength=m * m)
        trust = sums[pair_keys] / np.maximum(counts[pair_keys], 1)
        return skill / np.maximum(count, 1), trust, ring

    network = Network(
        kind="teams",
        caption=(
            f"one circle per team ({len(shown)} of {org.n_teams} teams shown): its colour is the "
            "team's skill, its ring the trust within it; lines are trust between teams"
        ),
        x=x,
        y=y,
        shape=["circle"] * len(shown),
        edges=pairs,
    )
    return {"network": network, "measure": measure}


# ----------------------------------------------------------------------- sentences
def value_at(values: NDArray[np.float64], week: int) -> float:
    """A weekly series' value at `week` (its last value beyond its end)."""
    return float(values[min(week, len(values) - 1)])


def rise_sentence(played: Played, key: str, week: int | None = None) -> tuple[str, str]:
    """Did a measure rise, fall or stay, from week 0 to `week` (default: the end)?

    Returns:
        ("rose" | "fell" | "hardly changed" | "does not apply", a sentence from the numbers).
    """
    label = measures_shown()[key].lower()
    week = played.weeks if week is None else week
    start, end = value_at(played.middle[key], 0), value_at(played.middle[key], week)
    if math.isnan(start) and math.isnan(end):
        return "does not apply", f"There is no {label} here: nobody holds that role."
    if math.isnan(start):
        start = float(np.nanmin(played.middle[key][: week + 1]))
    change = end - start
    verdict = (
        "rose" if change > NEGLIGIBLE else "fell" if change < -NEGLIGIBLE else "hardly changed"
    )
    lo, hi = value_at(played.low[key], week), value_at(played.high[key], week)
    mine = value_at(played.lines[key], week)
    sentence = (
        f"{measures_shown()[key]} {verdict}: from {start:.2f} to {end:.2f} by week {week} in a "
        f"typical run (the median of {len(played.finals[key])}); 8 runs in 10 ended between "
        f"{lo:.2f} and {hi:.2f}. The run you watched reached {mine:.2f}."
    )
    return verdict, sentence


def paired(a: Played, b: Played, key: str) -> tuple[float, float, float, int]:
    """Mean of a - b over the paired replications' last week, its 95% CI, and the pairs used."""
    from sim.methods.statistics import mean_ci

    if a.seed != b.seed or a.weeks != b.weeks:
        return math.nan, math.nan, math.nan, 0  # not comparable (said by the callers)
    # The replication seeds of fewer runs are the first of more (generate_state's words
    # come in order), so a large organization's 5 runs pair with the first 5 of 50.
    n = min(len(a.finals[key]), len(b.finals[key]))
    d = a.finals[key][:n] - b.finals[key][:n]
    d = d[~np.isnan(d)]
    m, lo, hi = mean_ci(d)
    return m, lo, hi, len(d)


def compare_sentence(a: Played, b: Played, key: str) -> tuple[str, str]:
    """Which side ends higher on a measure, over paired replications, in one sentence.

    Returns:
        ("left" | "right" | "same" | "does not apply", the sentence).
    """
    label = measures_shown()[key].lower()
    if a.weeks != b.weeks:
        return "does not apply", (
            f"The sides run for different numbers of weeks ({a.weeks} and {b.weeks}): "
            "they are not compared week for week."
        )
    m, lo, hi, n = paired(a, b, key)
    if n < 2 or math.isnan(lo):
        return "does not apply", (
            f"{measures_shown()[key]} cannot be compared: one side has no coach, so it has no "
            f"{label}."
        )
    week = a.weeks
    # Clear (the interval excludes 0) and not negligible (at least NEGLIGIBLE on 0-1).
    if lo > 0 and m >= NEGLIGIBLE:
        verdict, words = "left", f"higher with “{a.title}”"
    elif hi < 0 and m <= -NEGLIGIBLE:
        verdict, words = "right", f"higher with “{b.title}”"
    else:
        verdict, words = "same", ""
    if verdict == "same":
        why = "too small to matter" if lo > 0 or hi < 0 else "no clear difference"
        text = (
            f"{measures_shown()[key]} at week {week}: about the same on both sides over {n} "
            f"paired runs (left minus right {signed(m)}, 95% interval {signed(lo)} to "
            f"{signed(hi)}: {why})."
        )
    else:
        text = (
            f"{measures_shown()[key]} at week {week} was {words}: left minus right {signed(m)} "
            f"on average over {n} paired runs (95% interval {signed(lo)} to {signed(hi)}); "
            "each pair shares its people and its chances, so the difference is the setup's."
        )
    return verdict, text


def signed(v: float) -> str:
    """+0.12 / -0.12, and +0.00 for anything that rounds to zero (never "-0.00")."""
    text = f"{v:+.2f}"
    return "+0.00" if text == "-0.00" else text


def paired_summary(a: Played, b: Played) -> list[str]:
    """Left minus right at the last week, per measure, over the paired replications."""
    if a.weeks != b.weeks:
        return [f"Not compared: the sides run for {a.weeks} and {b.weeks} weeks."]
    out = []
    for key, label in measures_shown().items():
        m, lo, hi, n = paired(a, b, key)
        if n < 2 or math.isnan(lo):
            out.append(f"{label}: does not apply (a side has no coach)")
        else:
            clear = "" if lo <= 0 <= hi or abs(m) < NEGLIGIBLE else " (a clear difference)"
            out.append(f"{label}: {signed(m)}, 95% interval {signed(lo)} to {signed(hi)}{clear}")
    return out


def recovery_sentence(
    played: Played, key: str, at: int, *, watched: bool = False
) -> tuple[str, str]:
    """How far a measure fell at an event in week `at`, and how much of it came back.

    In a typical run (the band's median), or with `watched` in the run watched (the
    line: a workshop room's own run), up to the played's last week.
    """
    mid = played.lines[key] if watched else played.middle[key]
    where = "in the run you watched" if watched else "in a typical run"
    before = value_at(mid, at - 1)
    window = mid[at : min(at + 8, played.weeks) + 1]
    bottom = float(np.nanmin(window)) if len(window) else before
    end = value_at(mid, played.weeks)
    drop = before - bottom
    label = measures_shown()[key]
    if drop <= 0.005:
        return "no drop", f"{label} did not drop after week {at} ({where}: {before:.2f})."
    back = (end - bottom) / drop
    verdict = "recovered" if back >= 0.9 else "partly recovered" if back > 0.1 else "stayed down"
    return verdict, (
        f"{label} fell from {before:.2f} to {bottom:.2f} after week {at} {where} and "
        f"was {end:.2f} at week {played.weeks}: {verdict} ({max(back, 0):.0%} of the loss came "
        "back)."
    )


# ------------------------------------------------------------------------ chapters
@dataclass(frozen=True)
class Chapter:
    """One screen of the story: a question, the room's guess, the run, the answer."""

    title: str
    intro: str
    question: str
    left: str  # library scenario
    right: str | None  # a second side, or None
    measure: str
    kind: Literal["rise", "compare", "recover"]
    answers: tuple[str, ...]  # the guesses the facilitator can record
    verdicts: tuple[str, ...]  # the verdict (of `answer`) each guess stands for
    event_week: int = 0  # recover: the week of the scenario's event


CHAPTERS = (
    Chapter(
        "A team with no coaching",
        "Twelve colleagues and their manager. Each week some of them need help with a topic "
        "they are weak in. They ask a colleague only if they trust them enough; a good "
        "answer builds trust, a refusal or a poor answer costs more than it earned.",
        "Will the team's skill grow on its own?",
        "no_coaching",
        None,
        "mean_skill",
        "rise",
        ("It will grow", "It will stay flat", "It will fall"),
        ("rose", "hardly changed", "fell"),
    ),
    Chapter(
        "A coach from the team, backed by top management",
        "The same team. One colleague is made coach, and top management endorses the coach "
        "every few weeks: people are told to trust the coach.",
        "Will trust in the coach rise?",
        "top_down_internal",
        None,
        "trust_in_coach",
        "rise",
        ("It will rise", "It will stay flat", "It will fall"),
        ("rose", "hardly changed", "fell"),
    ),
    Chapter(
        "The same, when people distrust management",
        "The same coach and the same endorsements, in a team that barely trusts its managers. "
        "An endorsement passes on only as much trust as the sponsor has.",
        "Will the coach be trusted as much as when management is trusted?",
        "distrusted_management",
        "top_down_internal",
        "trust_in_coach",
        "compare",
        ("Less (left lower)", "About the same", "More (left higher)"),
        ("right", "same", "left"),
    ),
    Chapter(
        "Colleagues coaching each other",
        "No coach and no sponsor: everyone may help a few colleagues a week. Here, in a team "
        "that distrusts management, beside the coach backed by that management.",
        "Which team learns more?",
        "distrusted_management_peer_led",
        "distrusted_management",
        "mean_skill",
        "compare",
        ("Colleagues coaching (left)", "About the same", "The sponsored coach (right)"),
        ("left", "same", "right"),
    ),
    Chapter(
        "A breach, and the slow recovery",
        "The coach backed by top management, as before. In week 52 the coach breaches "
        "trust: a broken promise towards everyone they serve.",
        "Will trust in the coach be back where it was within a year?",
        "breach_shock",
        None,
        "trust_in_coach",
        "recover",
        ("Yes, fully", "Partly", "No"),
        ("recovered", "partly recovered", "stayed down"),
        event_week=52,
    ),
    Chapter(
        "More levels of hierarchy",
        "48 people with a coach backed by the top, in one level or in four. More levels "
        "put more managers between the top and the front line; they also split the 48 "
        "into smaller teams, each with its own coach: both change at once here.",
        "Will trust within the team be higher with four levels or with one?",
        "hierarchy_4",
        "hierarchy_1",
        "within_team_trust",
        "compare",
        ("Lower with four (left)", "About the same", "Higher with four (left)"),
        ("right", "same", "left"),
    ),
)
SANDBOX = len(CHAPTERS)  # the chapter index of the sandbox


def answer(chapter: Chapter, played: Sequence[Played]) -> tuple[str, str]:
    """The chapter's answer from the numbers: (verdict, sentence)."""
    if chapter.kind == "rise":
        return rise_sentence(played[0], chapter.measure)
    if chapter.kind == "recover":
        return recovery_sentence(played[0], chapter.measure, chapter.event_week)
    return compare_sentence(played[0], played[1], chapter.measure)


def structure_note(played: Sequence[Played]) -> str:
    """How each side's organization is made up, when the two differ (e.g. team sizes)."""
    if len(played) < 2 or played[0].teams == played[1].teams:
        return ""
    return f"Left: {played[0].teams}. Right: {played[1].teams}."


# ------------------------------------------------------------------------ session
class SavedSide(BaseModel):
    """A side in a saved session."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(max_length=200)
    values: dict[str, float] = Field(default_factory=dict)


class SavedEvent(BaseModel):
    """An event fired by the facilitator: its button and the week it happened at."""

    model_config = ConfigDict(extra="forbid")
    label: str
    at: int = Field(ge=1, le=HORIZON)


class Session(BaseModel):
    """Everything needed to bring a workshop back tomorrow (a small JSON file)."""

    model_config = ConfigDict(extra="forbid")
    trustsim_session: Literal[1] = 1
    chapter: int = Field(0, ge=0, le=SANDBOX)
    left: SavedSide = SavedSide(key="top_down_internal")
    right: SavedSide | None = None
    seed: int = Field(1, ge=0, le=2**63 - 1)
    events: list[SavedEvent] = Field(default_factory=list, max_length=20)
    uploads: dict[str, str] = Field(default_factory=dict, max_length=20)  # name -> TOML text
    guesses: dict[int, str] = Field(default_factory=dict)

    def dumps(self) -> str:
        """The session as JSON text."""
        return self.model_dump_json(indent=1)

    @classmethod
    def loads(cls, text: str | bytes, name: str = "session file") -> Session:
        """A saved session, checked; every problem is one sentence.

        Raises:
            ScenarioError: not a session file, or a value out of range.
        """
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise ScenarioError([f"{name}: not a saved workshop (not JSON)"]) from None
        try:
            session = cls.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the file"
            raise ScenarioError([f"{name}: {where}: {first['msg']}"]) from None
        for ev in session.events:
            if ev.label not in EVENTS:
                raise ScenarioError([f"{name}: events: {ev.label!r} is not an event button"])
        for side in (session.left, session.right):
            for key in side.values if side else ():
                if key not in CONTROL_BY_KEY:
                    raise ScenarioError([f"{name}: {key!r} is not a slider of the workshop"])
        return session


def fired_events(saved: Sequence[SavedEvent]) -> list[Event]:
    """The facilitator's events as the model's scheduled events."""
    return [EVENTS[ev.label].event(ev.at) for ev in saved]


def csv_text(played: Sequence[Played], week: int | None = None) -> str:
    """The data behind the charts, one row per side and week (a tidy table)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["side", "scenario", "seed", "week", "series", *list(measures_shown())])
    for p in played:
        last = p.weeks if week is None else min(week, p.weeks)
        for series, data in (
            ("watched run", p.lines),
            ("median of runs", p.middle),
            ("10th percentile", p.low),
            ("90th percentile", p.high),
        ):
            for w in range(last + 1):
                writer.writerow(
                    [p.title, p.scenario.name, p.seed, w, series]
                    + [_csv_number(data[k][w]) for k in measures_shown()]
                )
    return out.getvalue()


def _csv_number(v: float) -> str:
    return "" if math.isnan(v) else f"{v:.6g}"


# ---------------------------------------------------------------------- the page
def _series(values: NDArray[np.float64]) -> list[float | None]:
    """A chart line for JSON: NaN (a week where the measure does not apply) is a gap."""
    return [None if math.isnan(v) else round(float(v), 4) for v in values]


def page_data(played: Sequence[Played], previous: Sequence[Played] | None = None) -> dict[str, Any]:
    """Everything the browser draws, once per change (JSON-ready).

    The player moves its week cursor over this without asking the server again.
    """
    sides = []
    for i, p in enumerate(played):
        before = previous[i] if previous and i < len(previous) else None
        sides.append(
            {
                "title": p.title,
                "name": p.scenario.name,
                "colour": SIDE_COLOURS[i],
                "dash": SIDE_DASHES[i],
                "run": {k: _series(v) for k, v in p.lines.items()},
                "low": {k: _series(v) for k, v in p.low.items()},
                "high": {k: _series(v) for k, v in p.high.items()},
                "previous": (
                    {k: _series(v) for k, v in before.lines.items()} if before is not None else None
                ),
                "network": {
                    "kind": p.network.kind,
                    "caption": p.network.caption,
                    "x": p.network.x,
                    "y": p.network.y,
                    "shape": p.network.shape,
                    "edges": p.network.edges,
                    "skill": p.network.skill,
                    "trust": p.network.trust,
                    "ring": p.network.ring,
                },
            }
        )
    weeks = max(p.weeks for p in played)
    marks = sorted(
        {(e.at, _event_words(e).split(": ", 1)[1]) for p in played for e in p.scenario.events}
    )
    key = "|".join(f"{p.scenario.digest()}:{p.seed}" for p in played)
    if previous:
        key += "|before:" + "|".join(f"{p.scenario.digest()}:{p.seed}" for p in previous)
    return {
        "key": key,
        "weeks": weeks,
        "measures": [{"key": k, "label": v} for k, v in measures_shown().items()],
        "sides": sides,
        "events": [{"week": w, "label": label} for w, label in marks if w <= weeks],
        "replications": len(played[0].finals[next(iter(measures_shown()))]),
    }


def picture_png(played: Sequence[Played], week: int, dpi: int = 150) -> bytes:
    """The picture for a slide: each side's network and the four charts at `week`.

    The week, the sides' names, the legend and the band's meaning are in the picture.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    week = max(0, min(week, played[0].weeks))
    fig = Figure(figsize=(16, 9), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 3, width_ratios=[1.1, 1, 1])
    nets = grid[:, 0].subgridspec(len(played), 1)
    cmap = matplotlib.colormaps["YlGnBu"]
    for i, p in enumerate(played):
        ax = fig.add_subplot(nets[i])
        net = p.network
        x, y = np.array(net.x), np.array(net.y)
        trust = np.array(net.trust[min(week, len(net.trust) - 1)]) if net.trust else np.zeros(0)
        if len(net.edges):
            segments = [[(x[a], y[a]), (x[b], y[b])] for a, b in net.edges]
            ax.add_collection(
                LineCollection(
                    segments,
                    linewidths=0.3 + 7 * (np.clip(trust - 0.3, 0, None) / 0.7) ** 2,
                    colors="#3a3a3a",
                    alpha=0.75,
                )
            )
        skill = np.array(net.skill[min(week, len(net.skill) - 1)])
        markers = {"circle": "o", "star": "*", "square": "s", "diamond": "D"}
        for shape, marker in markers.items():
            on = np.array([s == shape for s in net.shape], dtype=bool)
            if on.any():
                ax.scatter(
                    x[on],
                    y[on],
                    c=skill[on],
                    cmap=cmap,
                    vmin=0.3,
                    vmax=0.8,
                    marker=marker,
                    s=420 if shape == "star" else 220,
                    edgecolors="black",
                    zorder=3,
                )
        title = textwrap.fill(p.title, 38)
        ax.set_title(title, color=SIDE_COLOURS[i], fontsize=13, fontweight="bold", loc="left")
        ax.text(0, -0.02, net.caption, transform=ax.transAxes, fontsize=10, va="top")
        ax.set_aspect("equal")
        ax.margins(0.12)
        ax.set_axis_off()
    weeks = np.arange(week + 1)
    events = sorted({e.at for p in played for e in p.scenario.events if e.at <= p.weeks})
    for k, (key, label) in enumerate(measures_shown().items()):
        ax = fig.add_subplot(grid[k // 2, 1 + k % 2])
        for i, p in enumerate(played):
            colour = SIDE_COLOURS[i]
            ax.fill_between(
                weeks,
                p.low[key][: week + 1],
                p.high[key][: week + 1],
                color=colour,
                alpha=0.2,
                linewidth=0,
            )
            ax.plot(weeks, p.lines[key][: week + 1], color=colour, lw=3, ls="-" if i == 0 else "--")
        for at in events:
            ax.axvline(at, color="#444", ls=":", lw=1.5)
        ax.set_title(label, fontsize=16, loc="left")
        ax.set_xlim(0, played[0].weeks)
        ax.set_ylim(0, 1)
        ax.set_xlabel("week", fontsize=13)
        ax.tick_params(labelsize=13)
        ax.grid(alpha=0.3)
    handles: list[Any] = [
        Line2D([], [], color=SIDE_COLOURS[i], lw=3, ls="-" if i == 0 else "--", label=p.title)
        for i, p in enumerate(played)
    ]
    handles.append(
        Patch(
            color="#888888",
            alpha=0.35,
            label=f"band: 8 of 10 of {len(played[0].finals['mean_skill'])} runs",
        )
    )
    if events:
        handles.append(Line2D([], [], color="#444", ls=":", lw=1.5, label="an event"))
    fig.legend(handles=handles, loc="outside lower center", fontsize=13, ncols=2)
    fig.suptitle(
        f"Trust in teams, week {week} of {played[0].weeks}", fontsize=20, x=0.01, ha="left"
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
