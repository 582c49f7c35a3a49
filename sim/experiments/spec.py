"""The experiment file's model: what runs, how often, with which seeds.

An experiment file (TOML) names scenario files and, optionally, a sweep applied to
each of them: lists of values (full factorial), or ranges sampled by a Latin
hypercube or a Sobol sequence (scipy.stats.qmc). Replication r gets the same seed in
every scenario and sweep point (common random numbers), derived from the
experiment's seed by SeedSequence. Reading and checking a file is
sim.experiments.experiment_file; expanding an Experiment into run specs is
sim.experiments.expansion.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from sim.experiments.adapters import ModelKind, Setup, kind, with_teams
from sim.experiments.defined import Defined, with_definitions
from sim.methods.calibration import Calibration
from sim.methods.sensitivity import Range, Sensitivity
from sim.methods.validation import Validation
from sim.model import measures
from sim.model.scenario import (
    MAX_NAME,
    SAFE_NAME,
    Scenario,
    safe_name,
)

__all__ = ["MAX_RUNS", "Experiment", "Replications", "RunSpec", "Sweep"]

# Runs one experiment may ask for (scenarios x points x replications, adaptive at its
# maximum): a list of run specs is built before anything runs, and beyond this it would
# not fit in memory. Split a bigger design into several experiments.
MAX_RUNS = 1_000_000


class Sweep(BaseModel):
    """Parameters to vary, applied to every scenario of the experiment."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    method: Literal["factorial", "lhs", "sobol"] = "factorial"
    samples: int | None = Field(None, ge=1, le=1_000_000)
    parameters: dict[str, list[Any] | Range]


class Replications(BaseModel):
    """A fixed count, or adaptive: until an outcome's 95% CI half-width is below a target.

    With a fixed count, half_width is a planning target: the comparison says how many
    replications the paired differences' CIs would need to reach it (a pilot sweep).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    count: int | None = Field(None, ge=1, le=MAX_RUNS)
    until: str | None = None
    half_width: float | None = Field(None, gt=0)
    min: int = Field(10, ge=2, le=MAX_RUNS)
    max: int = Field(1000, ge=2, le=MAX_RUNS)

    @model_validator(mode="after")
    def _one_kind(self) -> Replications:
        if (self.count is None) == (self.until is None):
            raise ValueError("set either count, or until with half_width (adaptive)")
        if self.until is not None:
            if self.half_width is None:
                raise ValueError("until needs half_width: the target 95% CI half-width")
            if self.min > self.max:
                raise ValueError(f"min = {self.min} is above max = {self.max}")
        return self


class Experiment(BaseModel):
    """A validated experiment file."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: Annotated[str, AfterValidator(safe_name)] = Field(
        min_length=1, max_length=MAX_NAME, pattern=SAFE_NAME
    )
    question: str = ""
    path: str = ""
    model: str = "trust"
    scenarios: tuple[Scenario | Setup, ...]
    sweep: Sweep | None = None
    sensitivity: Sensitivity | None = None
    validation: Validation | None = None
    calibration: Calibration | None = None
    replications: Replications = Replications(count=10)
    seed: int = Field(0, ge=0)
    steps: int | None = Field(None, ge=1, le=10_000)
    keep_steps: int = Field(1, ge=0)
    outcomes: tuple[str, ...] = Field(default_factory=measures.default_outcomes)
    reference: str | None = None
    define: dict[str, Defined] = Field(default_factory=dict)  # outcomes of the file's own
    keep_teams: bool = Field(False, strict=True)  # store each run's teams at the last week

    @property
    def kind(self) -> ModelKind:
        """The model this experiment runs (its runs also report the defined outcomes)."""
        model = kind(self.model)
        return with_definitions(with_teams(model) if self.keep_teams else model, self.define)

    def text_hash(self) -> str:
        """Hash of the experiment file's text (empty when built in Python)."""
        if not self.path:
            return ""
        return hashlib.sha256(Path(self.path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class RunSpec:
    """One run: a scenario (with its sweep point applied), a replication and its seed."""

    run_id: str
    scenario: Scenario | Setup
    point: int
    replication: int
    seed: int
    swept: tuple[tuple[str, Any], ...]
