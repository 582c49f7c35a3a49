"""The models an experiment can run: the trust model, and any other model given as a kind.

An experiment file names its model with `model = "..."` (default "trust"). A kind says
what a run's parameters are (a frozen pydantic Setup, the counterpart of a Scenario),
how to run one from a setup and a seed, and what a run reports. The runner, the
results store, sensitivity analysis and the report work the same for every kind; this
is how the machinery is checked on published models (sim.reference).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.model.measures import LAST_TEAM_COLUMNS, MEASURES, SUMMARY_KEYS, kept_steps
from sim.model.scenario import Scenario, ScenarioError, did_you_mean
from sim.model.scenario import parameters as scenario_parameters

__all__ = [
    "KINDS",
    "IshigamiSetup",
    "MarchSetup",
    "MesaSetup",
    "ModelKind",
    "RunFn",
    "Setup",
    "kind",
    "run_parameters",
    "with_teams",
]

# A run's kept per-step rows ("step", then the kind's measures): tuples or a 2-D array.
Rows = list[tuple[Any, ...]] | NDArray[np.float64]
# A run: (summary, kept rows), then for the trust model its team rows (keep_teams, else
# None) and its survey answers (when its scenario gives surveys).
RunFn = Callable[[Any, int, int], tuple[Any, ...]]


class Setup(BaseModel):
    """The parameters of one run of a model other than the trust model.

    Subclasses declare the parameters as fields with defaults and ranges; `name` labels
    the setup in results, like a scenario's name.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = "base"

    @classmethod
    def fields(cls) -> dict[str, Any]:
        """Every parameter's field info (not the name), in declaration order."""
        return {k: f for k, f in cls.model_fields.items() if k != "name"}

    @classmethod
    def build(cls, data: dict[str, Any], source: str) -> Self:
        """Validate parameters into a setup; one line per problem, naming source and key.

        Raises:
            ScenarioError: an unknown key or a value out of range.
        """
        try:
            return cls.model_validate(data, strict=True)
        except ValidationError as err:
            lines = []
            for e in err.errors():
                key = ".".join(str(p) for p in e["loc"])
                if e["type"] == "extra_forbidden":
                    known = list(cls.fields())
                    hint = did_you_mean(key, known) or f"; its parameters: {', '.join(known)}"
                    lines.append(f"{source}: {key} is not a parameter{hint}")
                else:
                    lines.append(
                        f"{source}: {key} = {e.get('input')!r} is not allowed: {_allowed(cls, key)}"
                    )
            raise ScenarioError(lines) from None

    def with_(self, **changes: Any) -> Self:
        """A validated copy with some parameters changed."""
        return self.build({**self.model_dump(), **changes}, source="<keywords>")

    def digest(self) -> str:
        """A short stable hash of everything that decides a run (not the name)."""
        blob = json.dumps(self.model_dump(mode="json", exclude={"name"}), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _allowed(cls: type[Setup], key: str) -> str:
    """What a setup parameter allows, in words."""
    field = cls.model_fields.get(key)
    if field is None:
        return "see the model's parameters"
    kind = "an integer" if field.annotation is int else "a number"
    bounds = [
        f"{name} {getattr(m, attr)}"
        for m in field.metadata
        for attr, name in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if getattr(m, attr, None) is not None
    ]
    return kind + (f" {' and '.join(bounds)}" if bounds else "")


class MarchSetup(Setup):
    """March (1991): mutual learning between an organizational code and its members."""

    m: int = Field(30, ge=1, le=10_000, description="dimensions of reality")
    n: int = Field(50, ge=1, le=100_000, description="individuals")
    p1: float = Field(0.1, ge=0.0, le=1.0, description="socialization rate")
    p2: float = Field(0.5, ge=0.0, le=1.0, description="code learning rate")
    p3: float = Field(0.0, ge=0.0, le=1.0, description="turnover per step")
    p4: float = Field(0.0, ge=0.0, le=1.0, description="turbulence per dimension and step")
    time_limit: int = Field(1000, ge=1, le=1_000_000, description="steps at most")


class IshigamiSetup(Setup):
    """The Ishigami function (Ishigami and Homma 1990), with optional noise.

    y = sin x1 + a sin^2 x2 + b x3^4 sin x1 (+ a normal draw with sd noise_sd), the
    standard test of Sobol index estimates (analytic indices in sim.reference.ishigami).
    """

    x1: float = Field(0.0, ge=-math.pi, le=math.pi, description="first input")
    x2: float = Field(0.0, ge=-math.pi, le=math.pi, description="second input")
    x3: float = Field(0.0, ge=-math.pi, le=math.pi, description="third input")
    a: float = Field(7.0, description="weight of sin^2 x2")
    b: float = Field(0.1, description="weight of x3^4 sin x1")
    noise_sd: float = Field(0.0, ge=0.0, description="sd of the normal noise added to y")


def run_trust_model(scenario: Scenario, seed: int, keep_steps: int) -> tuple[Any, ...]:
    """One run on the fast path (sim.simulate): its summary and the kept per-step rows.

    Rows are every keep_steps-th step and the last; keep_steps = 0 keeps none
    (summaries only). The numbers are those of stepping TrustModel. A scenario with
    surveys adds no team rows (None) and its answers (sim.model.survey.ANSWER_COLUMNS).
    """
    from sim.model.fast import simulate

    run = simulate(scenario, seed, keep_steps=keep_steps)
    if run.survey is not None:  # the scenario gives questionnaires: their answers too
        return run.summary, run.table, None, run.survey
    return run.summary, run.table


TEAM_OUTCOMES = LAST_TEAM_COLUMNS  # a team's row at the last week (sim.model.measures)


def run_trust_model_teams(scenario: Scenario, seed: int, keep_steps: int) -> tuple[Any, ...]:
    """run_trust_model, plus one row per team at the last week ("team", then TEAM_OUTCOMES)."""
    from sim.model.fast import simulate

    run = simulate(scenario, seed, keep_steps=keep_steps, team_table=True)
    teams = run.last_teams
    assert teams is not None  # team_table=True keeps them
    rows = teams[["team", *TEAM_OUTCOMES]].to_numpy(dtype=np.float64)
    if run.survey is not None:
        return run.summary, run.table, rows, run.survey
    return run.summary, run.table, rows


def with_teams(model: ModelKind) -> ModelKind:
    """The trust model kind whose runs also return their teams at the last week."""
    return dataclasses.replace(model, run=run_trust_model_teams)


def warm_trust_model() -> None:
    """Compile (or load from numba's cache) the fast path's kernels in this process."""
    from sim.model.fast import warm_up

    warm_up()


def run_march(setup: MarchSetup, seed: int, keep_steps: int) -> tuple[dict[str, Any], Rows]:
    """One March (1991) run to equilibrium (or its time limit): its summary, no steps."""
    from sim.reference.march1991 import MarchModel

    model = MarchModel(**setup.model_dump(exclude={"name"}), rng=seed)
    model.run()
    return model.summary(), []


def run_ishigami(setup: IshigamiSetup, seed: int, keep_steps: int) -> tuple[dict[str, Any], Rows]:
    """The Ishigami function at the setup's inputs, plus noise drawn from the seed.

    The noise stream is keyed by the seed and the inputs, so that it differs between
    points: with the seed alone, common random numbers would add the same draw at every
    point, and the noise would cancel out of every index.
    """
    from sim.reference.ishigami import ishigami

    y = ishigami(setup.x1, setup.x2, setup.x3, setup.a, setup.b)
    if setup.noise_sd > 0:
        inputs = np.array([setup.x1, setup.x2, setup.x3], dtype=np.float64).view(np.uint64)
        stream = np.random.SeedSequence(seed, spawn_key=tuple(int(v) for v in inputs))
        y += float(np.random.default_rng(stream).normal(0.0, setup.noise_sd))
    return {"y": y}, []


@dataclass(frozen=True)
class ModelKind:
    """A model the experiment machinery can run."""

    name: str
    title: str
    setup: type[Setup] | None  # None: the trust model, whose setups are Scenarios
    run: RunFn
    summary_keys: tuple[str, ...]
    measures: tuple[str, ...] = ()
    warm_up: Callable[[], None] | None = None  # compiles what a run needs, before workers fork

    def parameters(self) -> dict[str, Any]:
        """Every parameter's field info, in declaration order."""
        return scenario_parameters() if self.setup is None else self.setup.fields()

    def parameter_names(self) -> list[str]:
        """The parameter columns of the runs table."""
        return [*self.parameters(), "events"] if self.setup is None else list(self.parameters())


KINDS: dict[str, ModelKind] = {
    "trust": ModelKind(
        "trust",
        "the trust and learning model",
        None,
        run_trust_model,
        SUMMARY_KEYS,
        MEASURES,
        warm_trust_model,
    ),
    "march1991": ModelKind(
        "march1991",
        "March (1991), exploration and exploitation in organizational learning",
        MarchSetup,
        run_march,
        ("code_knowledge", "individual_knowledge", "steps_to_equilibrium", "equilibrium"),
    ),
    "ishigami": ModelKind(
        "ishigami", "the Ishigami test function", IshigamiSetup, run_ishigami, ("y",)
    ),
}


def kind(name: str, folder: str | Path | None = None) -> ModelKind:
    """The model kind of that name: a built-in one, or "package.module:Name" (any Mesa model).

    folder: where the experiment file lies; a module beside it (or in the current
    folder) imports without being installed.

    Raises:
        ScenarioError: no such kind, or a Mesa model that cannot be used (one line).
    """
    if name in KINDS:
        return KINDS[name]
    if ":" in name:
        if name not in _MESA_KINDS:
            _MESA_KINDS[name] = _mesa_kind(name, folder)
        return _MESA_KINDS[name]
    raise ScenarioError(
        [
            f"model = {name!r} is not allowed: one of {', '.join(map(repr, KINDS))}, or "
            '"package.module:ClassName" (a mesa.Model subclass, or a function returning one)'
            f"{did_you_mean(name, KINDS)}"
        ]
    )


# ---------------------------------------------------------------- any Mesa model

_MESA_KINDS: dict[str, ModelKind] = {}
SKIPPED = ("rng", "seed", "self")  # a model's arguments that are not its parameters
DEFAULT_STEPS = 100


class MesaSetup(Setup):
    """The parameters of a Mesa model named "package.module:Name", from its signature.

    `steps` (how many steps a run has at most; it ends earlier when the model sets
    `running = False`) is added unless the model takes it itself. A setup pickles as
    its model's name and values, so a worker (a process, a Dask worker) rebuilds its
    class by importing the model.
    """

    model_path: ClassVar[str] = ""
    model_folder: ClassVar[str | None] = None  # where the experiment file lies

    def __reduce__(self) -> tuple[Any, ...]:
        return _mesa_setup, (self.model_path, self.model_folder, self.model_dump())


def _mesa_setup(path: str, folder: str | None, values: dict[str, Any]) -> MesaSetup:
    setup = kind(path, folder).setup
    assert setup is not None
    return setup.model_validate(values)  # type: ignore[return-value]


def _import_model(name: str, folder: str | Path | None) -> Callable[..., Any]:
    """The class (or function) "package.module:Name" names.

    Raises:
        ScenarioError: it cannot be imported, or is neither a class nor a function.
    """
    import importlib
    import sys

    module_name, _, attr = name.partition(":")
    where = f"model = {name!r}"
    if not module_name or not attr:
        raise ScenarioError([f'{where} is not allowed: write it as "package.module:ClassName"'])
    for extra in (str(Path(folder).resolve()) if folder else None, os.getcwd()):
        if extra and extra not in sys.path:
            sys.path.append(extra)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ScenarioError(
            [f"{where}: cannot import {module_name!r} ({err}); it must be importable, or lie "
             "beside the experiment file"]
        ) from None  # fmt: skip
    except Exception as err:  # the module's own code raised
        raise ScenarioError(
            [f"{where}: importing {module_name!r} raised {type(err).__name__}: {err}"]
        ) from None
    target = module
    for part in attr.split("."):
        if not hasattr(target, part):
            public = [n for n in dir(module) if not n.startswith("_")]
            raise ScenarioError(
                [f"{where}: {module_name!r} has no {part!r}{did_you_mean(part, public)}"]
            )
        target = getattr(target, part)
    if not callable(target):
        raise ScenarioError(
            [f"{where}: {attr!r} is not a mesa.Model subclass or a function returning one"]
        )
    return target  # type: ignore[no-any-return]


def _mesa_kind(name: str, folder: str | Path | None) -> ModelKind:
    """A kind for any Mesa model: parameters from its signature, outcomes its reporters."""
    import inspect

    import mesa
    from pydantic import create_model

    make = _import_model(name, folder)
    where = f"model = {name!r}"
    if inspect.isclass(make) and not issubclass(make, mesa.Model):
        raise ScenarioError([f"{where}: {make.__name__} is a class but not a mesa.Model"])
    signature = inspect.signature(make)
    fields: dict[str, Any] = {}
    for arg in signature.parameters.values():
        if arg.name in SKIPPED or arg.kind in (arg.VAR_POSITIONAL, arg.VAR_KEYWORD):
            continue
        if arg.default is arg.empty:
            raise ScenarioError(
                [f"{where}: its argument {arg.name!r} has no default: give every parameter a "
                 "default, so that an experiment sets only what it varies"]
            )  # fmt: skip
        value = arg.default
        if not isinstance(value, bool | int | float | str):
            continue  # an object argument: not a parameter an experiment file can set
        fields[arg.name] = (type(value), Field(value))
    if "rng" not in signature.parameters and not any(
        a.kind == a.VAR_KEYWORD for a in signature.parameters.values()
    ):
        raise ScenarioError(
            [f"{where}: it takes no rng argument: a run's seed is given as rng (Mesa 3.5)"]
        )
    takes_steps = "steps" in fields
    if not takes_steps:
        fields["steps"] = (int, Field(DEFAULT_STEPS, ge=0, description="steps a run has at most"))
    setup = create_model(  # type: ignore[call-overload]
        f"Setup_{make.__name__}", __base__=MesaSetup, **fields
    )
    setup.model_path = name
    setup.model_folder = str(Path(folder).resolve()) if folder else None
    defaults = setup().model_dump(exclude={"name"})
    try:
        probe = make(**_arguments(defaults, takes_steps), rng=0)
    except Exception as err:
        raise ScenarioError(
            [f"{where}: building it with its defaults raised {type(err).__name__}: {err}"]
        ) from None
    collector = getattr(probe, "datacollector", None)
    reporters = tuple(getattr(collector, "model_reporters", {}) or {})
    if not isinstance(probe, mesa.Model):
        raise ScenarioError(
            [f"{where}: {make.__name__} returned {type(probe).__name__}, not a mesa.Model"]
        )
    if not reporters:
        raise ScenarioError(
            [f"{where}: {make.__name__} has no model reporters: outcomes are read from its "
             "DataCollector's model reporters (model.datacollector)"]
        )  # fmt: skip
    run = functools.partial(run_mesa_model, name, takes_steps, setup.model_folder)
    title = (inspect.getdoc(make) or make.__name__).splitlines()[0]
    return ModelKind(name, title, setup, run, reporters, reporters)


def _arguments(values: dict[str, Any], takes_steps: bool) -> dict[str, Any]:
    return values if takes_steps else {k: v for k, v in values.items() if k != "steps"}


def run_mesa_model(
    name: str, takes_steps: bool, folder: str | None, setup: Setup, seed: int, keep_steps: int
) -> tuple[dict[str, Any], Rows]:
    """One run of a Mesa model: built with rng = seed, stepped `steps` times or until done.

    A model is done when it sets running = False. The summary is each model reporter's
    last collected value; the kept rows are every keep_steps-th collected row and the
    last, numbered by step (0 is the state before the first step, when the model
    collects as it starts).

    Raises:
        ValueError: a reporter gave something that is not a number.
    """
    make = _import_model(name, folder)  # a worker finds a module beside the experiment
    values = setup.model_dump(exclude={"name"})
    model = make(**_arguments(values, takes_steps), rng=seed)
    ran = 0
    for _ in range(int(values["steps"])):
        if not model.running:
            break
        model.step()
        ran += 1
    reporters = list(model.datacollector.model_reporters)
    table = model.datacollector.get_model_vars_dataframe()
    if table.empty:
        return dict.fromkeys(reporters, math.nan), []
    numbers = np.column_stack([[_number(k, v) for v in table[k]] for k in reporters])
    summary = dict(zip(reporters, numbers[-1].tolist(), strict=True))
    if not keep_steps:
        return summary, []
    first = 0 if len(table) == ran + 1 else 1
    steps = np.arange(first, first + len(table))
    kept = np.flatnonzero(kept_steps(steps, keep_steps))
    return summary, [(int(steps[i]), *numbers[i].tolist()) for i in kept]


def _number(reporter: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"model reporter {reporter!r} gave {value!r}, not a number") from None


def run_parameters(setup: Scenario | Setup) -> dict[str, Any]:
    """Every parameter of a run as plain values (events as JSON-able data)."""
    return setup.model_dump(mode="json", exclude={"name", "description"})
