"""Experiment files: what runs, how often, with which seeds; expanded into run lists.

An experiment file (TOML) names scenario files and, optionally, a sweep applied to
each of them: lists of values (full factorial), or ranges sampled by a Latin
hypercube or a Sobol sequence (scipy.stats.qmc). Replication r gets the same seed in
every scenario and sweep point (common random numbers), derived from the
experiment's seed by SeedSequence. Errors are one line each, like scenario files'.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.stats import qmc

from sim.metrics import SUMMARY_KEYS
from sim.scenario import (
    PRESETS,
    Scenario,
    ScenarioError,
    describe_file,
    did_you_mean,
    load_scenario,
    parameters,
    preset,
)

__all__ = ["Experiment", "RunSpec", "expand", "load_experiment", "replication_seed"]

LIBRARY = Path(__file__).resolve().parent.parent.parent / "scenarios"


class Range(BaseModel):
    """A continuous (or integer) range to sample: `{ min = 0.1, max = 0.9 }`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.min < self.max:
            raise ValueError(f"min = {self.min} must be below max = {self.max}")
        return self


class Sweep(BaseModel):
    """Parameters to vary, applied to every scenario of the experiment."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    method: Literal["factorial", "lhs", "sobol"] = "factorial"
    samples: int | None = Field(None, ge=1, le=1_000_000)
    parameters: dict[str, list[Any] | Range]


class Replications(BaseModel):
    """A fixed count, or adaptive: until an outcome's 95% CI half-width is below a target."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    count: int | None = Field(None, ge=1, le=1_000_000)
    until: str | None = None
    half_width: float | None = Field(None, gt=0)
    min: int = Field(10, ge=2)
    max: int = Field(1000, ge=2)

    @model_validator(mode="after")
    def _one_kind(self) -> Replications:
        if (self.count is None) == (self.until is None):
            raise ValueError("set either count, or until with half_width (adaptive)")
        if self.until is not None:
            if self.until not in SUMMARY_KEYS:
                raise ValueError(f'until = "{self.until}" is not an outcome')
            if self.half_width is None:
                raise ValueError("until needs half_width: the target 95% CI half-width")
            if self.min > self.max:
                raise ValueError(f"min = {self.min} is above max = {self.max}")
        return self


class Experiment(BaseModel):
    """A validated experiment file."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    question: str = ""
    path: str = ""
    scenarios: tuple[Scenario, ...]
    sweep: Sweep | None = None
    replications: Replications = Replications(count=10)
    seed: int = Field(0, ge=0)
    steps: int | None = Field(None, ge=1, le=10_000)
    keep_steps: int = Field(1, ge=0)
    outcomes: tuple[str, ...] = ("mean_skill", "within_team_trust", "silence_rate")
    reference: str | None = None

    def text_hash(self) -> str:
        """Hash of the experiment file's text (empty when built in Python)."""
        if not self.path:
            return ""
        return hashlib.sha256(Path(self.path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class RunSpec:
    """One run: a scenario (with its sweep point applied), a replication and its seed."""

    run_id: str
    scenario: Scenario
    point: int
    replication: int
    seed: int
    swept: tuple[tuple[str, Any], ...]


def replication_seed(experiment_seed: int, replication: int) -> int:
    """The seed of replication r: the same in every scenario and point (common random numbers).

    A 63-bit integer from SeedSequence(experiment_seed, spawn_key=(r,)).
    """
    seq = np.random.SeedSequence(experiment_seed, spawn_key=(replication,))
    return int(seq.generate_state(1, np.uint64)[0] >> np.uint64(1))


def sweep_points(sweep: Sweep | None, seed: int) -> list[dict[str, Any]]:
    """Every parameter combination of the sweep (one empty point without a sweep)."""
    if sweep is None:
        return [{}]
    names = list(sweep.parameters)
    if sweep.method == "factorial":
        values = [sweep.parameters[n] for n in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    ranges = [sweep.parameters[n] for n in names]
    assert sweep.samples is not None  # checked at load
    if sweep.method == "lhs":
        unit = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(seed)).random(
            sweep.samples
        )
    else:
        sampler = qmc.Sobol(d=len(names), scramble=True, rng=np.random.default_rng(seed))
        unit = sampler.random(sweep.samples)
    points = []
    fields = parameters()
    for row in unit:
        point: dict[str, Any] = {}
        for n, r, u in zip(names, ranges, row, strict=True):
            assert isinstance(r, Range)
            if fields[n].annotation is int:
                # Every integer in [min, max] equally likely (rounding would halve the ends).
                lo, hi = math.ceil(r.min), math.floor(r.max)
                point[n] = int(min(hi, lo + math.floor(u * (hi - lo + 1))))
            else:
                point[n] = float(r.min + u * (r.max - r.min))
        points.append(point)
    return points


def expand(exp: Experiment, replications: range) -> list[RunSpec]:
    """Run specs for the given replications of every scenario and point, in a fixed order."""
    points = sweep_points(exp.sweep, exp.seed)
    out = []
    for scenario in exp.scenarios:
        for p_id, point in enumerate(points):
            changes = dict(point)
            if exp.steps is not None:
                changes["steps"] = exp.steps
            sc = scenario.with_(**changes) if changes else scenario
            for r in replications:
                out.append(
                    RunSpec(
                        run_id=f"{scenario.name}/p{p_id}/r{r}",
                        scenario=sc,
                        point=p_id,
                        replication=r,
                        seed=replication_seed(exp.seed, r),
                        swept=tuple(sorted(point.items())),
                    )
                )
    return out


def _resolve_scenario(entry: Any, base: Path, source: str, index: int) -> Scenario:
    if not isinstance(entry, str):
        raise ScenarioError(
            [f"{source}: scenarios[{index}] = {entry!r} is not allowed: a file path"]
        )
    path = (base / entry).resolve()
    if path.exists():
        return load_scenario(path)
    library = LIBRARY / (entry if entry.endswith(".toml") else f"{entry}.toml")
    if library.exists():
        return load_scenario(library)
    if entry in PRESETS:
        return preset(entry)
    raise ScenarioError(
        [
            f"{source}: scenarios[{index}] = {entry!r}: no such file ({path}), library scenario "
            "or preset"
        ]
    )


def _check_sweep(raw: dict[str, Any], source: str) -> list[str]:
    """Sweep problems a reader can act on, each as one line."""
    problems = []
    sweep = raw.get("sweep")
    if not isinstance(sweep, dict):
        return [f"{source}: sweep must be a table ([sweep])"] if sweep is not None else []
    method = sweep.get("method", "factorial")
    params = sweep.get("parameters", {})
    known = parameters()
    if not isinstance(params, dict) or not params:
        return [f"{source}: sweep.parameters must name at least one parameter"]
    for key, value in params.items():
        if key not in known:
            problems.append(
                f"{source}: sweep.parameters: unknown parameter {key!r}{did_you_mean(key, known)}"
            )
            continue
        if method == "factorial" and not (isinstance(value, list) and value):
            problems.append(
                f"{source}: sweep.parameters.{key} = {value!r} is not allowed: a non-empty list "
                "of values (factorial sweep)"
            )
        if method in ("lhs", "sobol"):
            ok = (
                isinstance(value, dict)
                and set(value) == {"min", "max"}
                and all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()
                )
                and value["min"] < value["max"]
            )
            if not ok:
                problems.append(
                    f"{source}: sweep.parameters.{key} = {value!r} is not allowed: a range "
                    f"{{ min = ..., max = ... }} with min below max ({method} sweep)"
                )
    if method in ("lhs", "sobol") and not sweep.get("samples"):
        problems.append(f"{source}: sweep.samples is missing: the number of {method} points")
    return problems


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate an experiment file.

    Raises:
        ScenarioError: one line per problem (file, key, value, what is allowed).
    """
    path = Path(path)
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError([f"{source}: file not found"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{source}: malformed TOML: {exc}"]) from None
    problems: list[str] = []
    entries = raw.pop("scenarios", None)
    if not isinstance(entries, list) or not entries:
        problems.append(f"{source}: scenarios is missing: a list of scenario files or presets")
        entries = []
    scenarios = []
    for i, entry in enumerate(entries):
        try:
            scenarios.append(_resolve_scenario(entry, path.parent, source, i))
        except ScenarioError as err:
            problems.extend(err.lines)
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        problems.append(f"{source}: scenarios: two scenarios share a name: {names}")
    problems.extend(_check_sweep(raw, source))
    outcomes = raw.get("outcomes", [])
    if not isinstance(outcomes, list) or not all(isinstance(o, str) for o in outcomes):
        problems.append(
            f"{source}: outcomes = {outcomes!r} is not allowed: a list of outcome names, "
            'e.g. ["mean_skill", "silence_rate_avg"]'
        )
        outcomes = []
    for outcome in outcomes:
        if outcome not in SUMMARY_KEYS:
            problems.append(
                f"{source}: outcomes: {outcome!r} is not a run outcome"
                f"{did_you_mean(outcome, SUMMARY_KEYS)}"
            )
    reference = raw.get("reference")
    if reference is not None and reference not in names:
        problems.append(f"{source}: reference = {reference!r} is not one of the scenarios {names}")
    if problems:
        raise ScenarioError(problems)
    if isinstance(raw.get("replications"), int):
        raw["replications"] = {"count": raw["replications"]}
    if raw.get("keep_steps") == "summaries":
        raw["keep_steps"] = 0
    if raw.get("keep_steps") == "every":
        raw["keep_steps"] = 1
    data = {
        "name": raw.pop("name", path.stem),
        "question": describe_file(path),
        "path": str(path),
        "scenarios": tuple(scenarios),
        **raw,
    }
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            where = ".".join(str(x) for x in e["loc"])
            msg = e["msg"].removeprefix("Value error, ")
            value = e.get("input")
            if e["type"] == "extra_forbidden":
                lines.append(f"{source}: unknown key {where!r}")
            else:
                lines.append(f"{source}: {where or 'file'} = {value!r}: {msg}")
        raise ScenarioError(lines) from None
    # Every sweep point must make a valid scenario: find out now, before anything runs.
    points = sweep_points(exp.sweep, exp.seed)
    for scenario in exp.scenarios:
        for p_id, point in enumerate(points):
            changes = {**point, **({"steps": exp.steps} if exp.steps is not None else {})}
            try:
                scenario.with_(**changes)
            except ScenarioError as err:
                where = ", ".join(f"{k}={v}" for k, v in point.items())
                raise ScenarioError(
                    [
                        f"{source}: sweep point {p_id} ({where}) of {scenario.name}: "
                        + line.split(": ", 1)[-1]
                        for line in err.lines
                    ]
                ) from None
    return exp


def ci_half_width(values: np.ndarray) -> float:
    """Half-width of the normal-approximation 95% CI of a mean (for adaptive stopping)."""
    v = values[~np.isnan(values)]
    if len(v) < 2:
        return math.inf
    return float(1.96 * v.std(ddof=1) / math.sqrt(len(v)))
