"""The measures (docs/ODD.md section 8): one declaration each, and their computation.

`Measure` declares a per-step measure once: its name, the label figures and the CLI
show, unit and range, whether it is a count, how charts smooth it, when it has no
value and why, whether experiments compare it by default, and the workshop's words.
Everyone who needs a measure reads it here, when it runs: the kernels' row layout
(sim.model.kernels.measure writes each compiled measure at its place in the registry),
TrustModel's DataCollector, the fast path's columns, summaries, the results store,
experiments' default outcomes, figure labels, the workshop's charts, the room's
debrief and the ODD's table (`measure_table`).

A measure the compiled kernel does not compute is derived after it, in Python, from
the row's other measures (`Measure.derive`): one can be added with `register` and no
recompiling. MEASURES, INTEGER_MEASURES and SUMMARY_KEYS (the names as tuples) are
read from the registry when asked, as `names()`, `integer_measures()` and
`summary_keys()` are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "COMPILED",
    "DERIVED",
    "LAST_TEAM_COLUMNS",
    "RUN_OUTCOMES",
    "RUN_OUTCOME_ENTRIES",
    "TEAM_COLUMNS",
    "Measure",
    "RunOutcome",
    "default_outcomes",
    "derive_rows",
    "get",
    "gini",
    "integer_measures",
    "kept_steps",
    "label_of",
    "measure_table",
    "names",
    "register",
    "registered",
    "smoothed",
    "summarize",
    "summary_keys",
    "unregister",
]

Columns = Mapping[str, NDArray[np.float64]]


@dataclass(frozen=True)
class Measure:
    """One per-step measure, declared once.

    Attributes:
        name: its column in every per-step table (docs/ODD.md's name).
        label: as figures and the CLI name it, e.g. "within-team trust".
        unit: as figures give it after the label, e.g. "0-1", "per week".
        low: the least value it can take.
        high: the greatest (math.inf: no bound).
        definition: what it is, as docs/ODD.md section 8 defines it.
        integer: a count (an integer in every table).
        over_run: its run outcome is its mean over the run (NAME_avg), not the last
            week's value: a weekly ratio, one week of which is mostly noise.
        smooth: weeks of the trailing mean the charts show instead of the week's
            value (0: as measured); `smoothed` applies it.
        missing: when it has no value (NaN) and why, as the ODD and the report say
            it ("" if it always has one).
        needs_coach: it has no value in any week of a scenario without a coach.
        outcome: its place among the default outcomes of an experiment (1 first; 0:
            not one); the outcome is NAME, or NAME_avg when `over_run`.
        workshop: its words on the workshop's charts ("" if they do not show it).
        debrief: its place among the room's debrief sentences (1 first; 0: none).
        line: its legend in a run's figure (sim.reporting.plots.plot_run; "" there:
            its chart label).
        panel: the panel of a run's figure it is drawn in ("" if none).
        derive: None when the compiled sim.model.kernels.measure computes it (at its
            place in the registry); else its value from the other measures' columns
            (elementwise: the same for one row or a whole table).
    """

    name: str
    label: str
    unit: str
    low: float
    high: float
    definition: str
    integer: bool = False
    over_run: bool = False
    smooth: int = 0
    missing: str = ""
    needs_coach: bool = False
    outcome: int = 0
    workshop: str = ""
    debrief: int = 0
    line: str = ""
    panel: Literal["", "trust", "learning"] = ""
    derive: Callable[[Columns], NDArray[np.float64]] | None = None

    @property
    def key(self) -> str:
        """Its run outcome as experiments compare it: NAME, or NAME_avg when `over_run`."""
        return f"{self.name}_avg" if self.over_run else self.name

    @property
    def range_text(self) -> str:
        """Its range in words, e.g. "0 to 1", "0 or more"."""
        low = f"{self.low:g}"
        return f"{low} or more" if math.isinf(self.high) else f"{low} to {self.high:g}"

    @property
    def smoothing(self) -> str:
        """How charts smooth it, in words ("" when they show the week's value)."""
        return f"{self.smooth}-week mean" if self.smooth else ""

    @property
    def chart_label(self) -> str:
        """Its label on a chart, the smoothing said: "silence rate (8-week mean)"."""
        return f"{self.label} ({self.smoothing})" if self.smooth else self.label

    @property
    def shown(self) -> str:
        """Its words on the workshop's charts, the smoothing said ("" if not shown)."""
        if not self.workshop:
            return ""
        return f"{self.workshop} ({self.smoothing})" if self.smooth else self.workshop


UNIT = (0.0, 1.0)
COMPILED = (
    Measure(
        "mean_trust",
        "mean trust",
        "0-1",
        *UNIT,
        "mean of T over all directed contact edges",
        line="all contacts",
        panel="trust",
    ),
    Measure(
        "within_team_trust",
        "within-team trust",
        "0-1",
        *UNIT,
        "psychological safety: mean of T over all directed edges whose two ends are in the "
        "same front-line team (members, internal coach, front-line manager; not an external "
        "coach, who serves the team without belonging to it), pooled over teams",
        outcome=2,
        workshop="Trust within the team",
        debrief=2,
        line="within team",
        panel="trust",
    ),
    Measure(
        "trust_in_managers",
        "trust in managers",
        "0-1",
        *UNIT,
        "mean of T[i, j] over all edges whose target j is a manager (from reports, peers, "
        "bosses and external coaches)",
        line="in managers",
        panel="trust",
    ),
    Measure(
        "trust_in_coach",
        "trust in the coach",
        "0-1",
        *UNIT,
        "mean of T[i, c] over all edges whose target c is a coach (internal or external)",
        missing='without a coach (coach = "none"): there is nobody to trust as one',
        needs_coach=True,
        workshop="Trust in the coach",
        debrief=1,
        line="in the coach",
        panel="trust",
    ),
    Measure(
        "cross_team_trust",
        "cross-team trust",
        "0-1",
        *UNIT,
        "mean of T over edges between different front-line teams (front-line managers who "
        "share a boss)",
        missing="with one front-line team (`levels` = 1): no edge joins two teams",
        line="across teams",
        panel="trust",
    ),
    Measure(
        "mean_skill",
        "mean skill",
        "0-1",
        *UNIT,
        "mean over front-line members of each one's mean skill over topics",
        outcome=1,
        workshop="Skill",
        debrief=3,
        line="mean skill",
        panel="learning",
    ),
    Measure(
        "skill_p10",
        "skill of the weakest tenth",
        "0-1",
        *UNIT,
        "the weakest tenth: 10th percentile of the same per-person values (linear "
        "interpolation, numpy's default)",
        line="weakest tenth (p10)",
        panel="learning",
    ),
    Measure(
        "skill_gini",
        "skill inequality (Gini)",
        "0-1",
        *UNIT,
        "Gini coefficient of the same values: 2 Σ r x_(r) / (n Σ x) − (n + 1) / n, x sorted "
        "ascending, r = 1..n (0 if Σ x = 0), clipped to [0, 1] (equal skills would round to "
        "−2e−15)",
    ),
    Measure(
        "needs",
        "learning needs",
        "per week",
        0.0,
        math.inf,
        "learning needs this step (members, internal coaches and managers)",
        integer=True,
    ),
    Measure(
        "asks",
        "requests for help",
        "per week",
        0.0,
        math.inf,
        "requests voiced this step (including those then refused)",
        integer=True,
    ),
    Measure(
        "silence_rate",
        "silence rate",
        "share of needs",
        *UNIT,
        "needs where the learner had a candidate but did not ask, divided by all needs",
        over_run=True,
        smooth=8,
        missing="in a week with no needs (so run means are over the weeks with needs)",
        outcome=3,
        workshop="Needs kept silent",
        debrief=4,
        panel="learning",
    ),
    Measure(
        "help_success_rate",
        "help success rate",
        "share of helps",
        *UNIT,
        "successes / accepted requests",
        over_run=True,
        missing="in a week in which no request was accepted",
    ),
    Measure(
        "breaches",
        "breaches",
        "per week",
        0.0,
        math.inf,
        "breaches this step: help episodes that breached, plus one per victim of a `breach` event",
        integer=True,
    ),
    Measure(
        "fragmentation",
        "bonded groups per team",
        "count",
        1.0,
        math.inf,
        "per front-line team, the graph on the team's people (members, internal coach, "
        "front-line manager; not an external coach) whose edges are the pairs with "
        "min(T[i, j], T[j, i]) ≥ `bond_threshold`; the number of its connected components "
        "(isolated people count), averaged over teams",
    ),
    Measure(
        "largest_component_share",
        "largest bonded group",
        "share of team",
        *UNIT,
        "the largest component's size over the team's size, averaged over teams (unweighted)",
    ),
)
# The team table's columns (docs/ODD.md section 8, "Team table"), and what a team row
# holds at the last week (the store's teams table: its members' mean skill too).
TEAM_COLUMNS = ("step", "team", "within_team_trust", "components", "largest_component_share")
LAST_TEAM_COLUMNS = (*TEAM_COLUMNS[2:], "mean_skill")


@dataclass(frozen=True)
class RunOutcome:
    """An outcome of a whole run beside the measures' (docs/ODD.md, "Run summary").

    Attributes:
        name: its key in a run's summary.
        label: in words, as the CLI's summary and the figures say it.
        unit: its unit in figures.
        censored: a "first week that ..." outcome: a run that never gets there by the
            horizon is censored there (sim.methods.analysis treats it so).
        flag: true or false for each run (stored, and read back, as a bool).
    """

    name: str
    label: str
    unit: str
    censored: bool = False
    flag: bool = False


RUN_OUTCOME_ENTRIES = (
    RunOutcome("time_to_competence", "weeks to competence", "weeks", censored=True),
    RunOutcome("disintegrated", "a team disintegrated", "share of runs", flag=True),
)
RUN_OUTCOMES = tuple(o.name for o in RUN_OUTCOME_ENTRIES)

# Measures derived in Python from the compiled ones (Measure.derive), after them in
# the row: a new measure that needs no new loop over the network goes here.
DERIVED: tuple[Measure, ...] = ()

_registry: dict[str, Measure] = {m.name: m for m in (*COMPILED, *DERIVED)}
_cache: dict[str, Any] = {}


def registered() -> tuple[Measure, ...]:
    """Every measure, in the order of the per-step row (the compiled ones first)."""
    if "registered" not in _cache:
        _cache["registered"] = tuple(_registry.values())
    return _cache["registered"]  # type: ignore[no-any-return]


def get(name: str) -> Measure:
    """The measure of that name.

    Raises:
        KeyError: no measure has that name.
    """
    return _registry[name]


def names() -> tuple[str, ...]:
    """The measures' names, in the order of the per-step row ("step" not included)."""
    if "names" not in _cache:
        _cache["names"] = tuple(_registry)
    return _cache["names"]  # type: ignore[no-any-return]


def integer_measures() -> tuple[str, ...]:
    """The counts among the measures (integers in every table)."""
    return tuple(m.name for m in registered() if m.integer)


def summary_keys() -> tuple[str, ...]:
    """The keys of a run summary: each measure's last value, its run mean, and the rest."""
    return (*names(), *(f"{m}_avg" for m in names()), *RUN_OUTCOMES)


def default_outcomes() -> tuple[str, ...]:
    """The outcomes an experiment compares when its file names none (Measure.outcome)."""
    chosen = sorted((m for m in registered() if m.outcome), key=lambda m: m.outcome)
    return tuple(m.key for m in chosen)


def label_of(outcome: str) -> str:
    """A measure's outcome in words, e.g. "silence rate, run mean" for silence_rate_avg.

    Raises:
        KeyError: neither a measure nor a measure's NAME_avg.
    """
    base = outcome.removesuffix("_avg")
    text = get(base).label
    return f"{text}, run mean" if outcome != base else text


def register(m: Measure) -> None:
    """Add a measure derived from the others, at run time (the kernel computes COMPILED).

    Every consumer reads the registry when it runs, so the new measure is in the next
    run's tables, summaries, store, labels and (if flagged) outcomes and charts.

    Raises:
        ValueError: its name is taken, or it has no `derive`.
    """
    if m.name in _registry:
        raise ValueError(f"measure {m.name!r} is already registered")
    if m.derive is None:
        raise ValueError(
            f"measure {m.name!r}: a measure added at run time is derived from the others "
            "(give it `derive`); a compiled one needs its place in COMPILED and in "
            "sim.model.kernels.measure"
        )
    _registry[m.name] = m
    _cache.clear()


def unregister(name: str) -> None:
    """Remove a measure `register` added.

    Raises:
        ValueError: a compiled measure (the kernel's row has its place).
    """
    if any(m.name == name for m in (*COMPILED, *DERIVED)):
        raise ValueError(f"measure {name!r} is declared in sim.model.measures: it stays")
    del _registry[name]
    _cache.clear()


def __getattr__(name: str) -> tuple[str, ...]:
    """MEASURES, INTEGER_MEASURES and SUMMARY_KEYS, read from the registry when asked."""
    if name == "MEASURES":
        return names()
    if name == "INTEGER_MEASURES":
        return integer_measures()
    if name == "SUMMARY_KEYS":
        return summary_keys()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def derive_rows(values: NDArray[np.float64]) -> None:
    """Fill the derived measures' columns of `values` (rows x measures, registry order)."""
    derived = [(c, m) for c, m in enumerate(registered()) if m.derive is not None]
    if not derived:
        return
    columns = {name: values[:, c] for c, name in enumerate(names())}
    for c, m in derived:
        values[:, c] = m.derive(columns)  # type: ignore[misc]


def smoothed(
    name: str, values: NDArray[np.float64] | pd.Series, steps: NDArray[Any] | pd.Series
) -> NDArray[np.float64]:
    """A measure's column as charts show it: its trailing mean over `Measure.smooth` weeks.

    Over the rows of weeks 1 on (week 0 is the start: nobody has needed anything yet, so
    it stays as it is); the column unchanged for a measure charts show as measured.
    """
    out = np.array(values, dtype=float)
    window = get(name).smooth
    weeks = np.asarray(steps) >= 1
    if window and weeks.any():
        out[weeks] = pd.Series(out[weeks]).rolling(window, min_periods=1).mean().to_numpy()
    return out


def measure_table() -> str:
    """docs/ODD.md section 8's table of the per-step columns, from the registry."""
    lines = [
        "| column | definition | unit | range | no value (NaN) |",
        "|---|---|---|---|---|",
        "| `step` | the step (0 = initial state) | week | 0 or more, whole | never |",
    ]
    for m in registered():
        whole = ", whole" if m.integer else ""
        lines.append(
            f"| `{m.name}` | {m.definition} | {m.unit} | {m.range_text}{whole} | "
            f"{m.missing or 'never'} |"
        )
    return "\n".join(lines) + "\n"


def gini(x: NDArray[np.float64]) -> float:
    """Gini coefficient of non-negative values: 0 = all equal, towards 1 = one has all."""
    x = np.sort(np.asarray(x, dtype=float))
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return 0.0
    g = 2.0 * np.sum(np.arange(1, n + 1) * x) / (n * total) - (n + 1) / n
    return float(min(max(g, 0.0), 1.0))  # rounding must not leave [0, 1]


def summarize(
    table: NDArray[np.float64], team_largest_share: NDArray[np.float64], competence_target: float
) -> dict[str, Any]:
    """Run-level results (docs/ODD.md, "What is measured") from the per-step table.

    `table` has the columns "step" and the measures, one row per recorded step (step 0
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
    integers = set(integer_measures())
    for c, name in enumerate(names(), start=1):
        out[name] = int(last[c]) if name in integers else last[c]
        out[f"{name}_avg"] = float(totals[c] / counted[c]) if counted[c] else math.nan
    skill = table[:, 1 + names().index("mean_skill")]
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
