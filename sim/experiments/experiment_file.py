"""Reading an experiment file: every check of its keys, one line per problem, into an Experiment.

Errors are one line each, like scenario files': the file, the key, the value and what
is allowed. Somewhat over 600 lines because its checks belong together: each reads the
same raw table, and all their problems are collected and raised as one list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

from sim.experiments.adapters import ModelKind, Setup, kind
from sim.experiments.defined import Defined, parse_definitions
from sim.experiments.expansion import design_points, size_problem
from sim.experiments.spec import MAX_RUNS, Experiment, Replications, Sweep
from sim.methods.calibration import ALLOWED as CALIBRATION_ALLOWED
from sim.methods.calibration import Calibration, Prior
from sim.methods.sensitivity import Sensitivity
from sim.methods.validation import MANAGEMENT, SPONSOR
from sim.model import measures
from sim.model.scenario import (
    NAME_ALLOWED,
    PRESETS,
    Scenario,
    ScenarioError,
    bounds,
    did_you_mean,
    format_value,
    parameters,
    preset,
)
from sim.model.scenario_files import describe_file, file_problem, load_scenario, read_toml

__all__ = ["ALLOWED", "FILE_KEYS", "LIBRARY", "load_experiment"]

LIBRARY = Path(__file__).resolve().parent.parent.parent / "scenarios"


def _resolve_scenario(entry: Any, base: Path, source: str, index: int) -> Scenario:
    if not isinstance(entry, str):
        raise ScenarioError(
            [f"{source}: scenarios[{index}] = {entry!r} is not allowed: a file path"]
        )
    path = (base / entry).resolve()
    if path.is_file():
        return load_scenario(path)
    library = LIBRARY / (entry if entry.endswith(".toml") else f"{entry}.toml")
    if library.exists():
        return load_scenario(library)
    if entry in PRESETS:
        return preset(entry)
    problem = file_problem(path)
    if problem != "file not found":  # a folder, a pipe, a loop: say so, not "no such file"
        raise ScenarioError([f"{source}: scenarios[{index}] = {entry!r}: {problem} ({path})"])
    raise ScenarioError(
        [
            f"{source}: scenarios[{index}] = {entry!r}: no such file ({path}), library scenario "
            "or preset"
        ]
    )


def _check_design(
    raw: dict[str, Any], section: str, source: str, known: dict[str, Any]
) -> list[str]:
    """Problems with a [sweep] or [sensitivity] section a reader can act on, one line each."""
    problems = []
    table = raw.get(section)
    if not isinstance(table, dict):
        return [f"{source}: {section} must be a table ([{section}])"] if table is not None else []
    default = "factorial" if section == "sweep" else "sobol"
    method = table.get("method", default)
    allowed = ("factorial", "lhs", "sobol") if section == "sweep" else ("sobol", "morris")
    if method not in allowed:
        return [
            f"{source}: {section}.method = {method!r} is not allowed: one of "
            f"{', '.join(map(repr, allowed))}"
        ]
    params = table.get("parameters", {})
    if not isinstance(params, dict) or not params:
        return [f"{source}: {section}.parameters must name at least one parameter"]
    for key, value in params.items():
        if key not in known:
            problems.append(
                f"{source}: {section}.parameters: unknown parameter {key!r}"
                f"{did_you_mean(key, known)}"
            )
            continue
        if method == "factorial" and not (isinstance(value, list) and value):
            problems.append(
                f"{source}: {section}.parameters.{key} = {value!r} is not allowed: a non-empty "
                "list of values (factorial sweep)"
            )
        if method != "factorial":
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
                    f"{source}: {section}.parameters.{key} = {value!r} is not allowed: a range "
                    f"{{ min = ..., max = ... }} with min below max ({method} {section})"
                )
                continue
            problems.extend(_range_problem(known[key], key, value, f"{source}: {section}"))
    samples = table.get("samples")
    what = "base sample size" if section == "sensitivity" else f"number of {method} points"
    if method != "factorial" and samples is None:
        problems.append(f"{source}: {section}.samples is missing: the {what}")
    elif samples is not None and (
        not isinstance(samples, int) or isinstance(samples, bool) or not 2 <= samples <= MAX_RUNS
    ):
        problems.append(
            f"{source}: {section}.samples = {format_value(samples)} is not allowed: the {what}, "
            f"an integer from 2 to {MAX_RUNS:,}"
        )
    return problems


def _range_problem(field: Any, key: str, value: dict[str, float], where: str) -> list[str]:
    """A sampled range must be of a numeric parameter and within its allowed values."""
    if field.annotation not in (int, float, int | None):  # team_size, span: unset or a number
        return [
            f"{where}.parameters.{key} = {value!r} is not allowed: {key} is not a number; "
            "list its values in a factorial [sweep] instead"
        ]
    lo, hi = bounds(field)
    if (lo is not None and value["min"] < lo) or (hi is not None and value["max"] > hi):
        return [
            f"{where}.parameters.{key} = {{ min = {value['min']}, max = {value['max']} }} is "
            f"not allowed: {key} goes from {lo if lo is not None else '-inf'} to "
            f"{hi if hi is not None else 'inf'}"
        ]
    return []


def _coach_outcomes() -> set[str]:
    """Outcomes with no value where there is no coach (an adaptive `until` would never stop)."""
    coach = [m.name for m in measures.registered() if m.needs_coach]
    return {*coach, *(f"{name}_avg" for name in coach)}


def _outcome_problems(outcomes: Any, where: str, source: str, keys: tuple[str, ...]) -> list[str]:
    """Problems with a list of outcome names."""
    if not isinstance(outcomes, list) or not all(isinstance(o, str) for o in outcomes):
        return [
            f"{source}: {where} = {outcomes!r} is not allowed: a list of outcome names, "
            f"e.g. {list(keys[:2])}"
        ]
    twice = sorted({o for o in outcomes if outcomes.count(o) > 1})
    return [
        f"{source}: {where}: {o!r} is not a run outcome{did_you_mean(o, keys)}"
        for o in outcomes
        if o not in keys
    ] + [f"{source}: {where}: {o!r} is listed twice; list each outcome once" for o in twice]


def _setups(
    raw: dict[str, Any], path: Path, source: str, model: ModelKind
) -> tuple[list[Scenario | Setup], list[str]]:
    """The experiment's scenarios (trust model) or its one base setup (other models)."""
    problems: list[str] = []
    setups: list[Scenario | Setup] = []
    if model.setup is not None:
        if "scenarios" in raw:
            problems.append(
                f"{source}: scenarios is for the trust model; model {model.name!r} takes its "
                "base values from a [parameters] table"
            )
        base = raw.pop("parameters", {})
        if not isinstance(base, dict):
            return [], [f"{source}: parameters must be a table ([parameters])"]
        try:
            setups.append(model.setup.build({"name": model.name, **base}, f"{source}: parameters"))
        except ScenarioError as err:
            problems.extend(line.replace(": parameters: ", ": parameters.") for line in err.lines)
        return setups, problems
    entries = raw.get("scenarios")
    if entries is None:
        return [], [f"{source}: scenarios is missing: a list of scenario files or presets"]
    if not isinstance(entries, list) or not entries:
        return [], [
            f"{source}: scenarios = {format_value(entries)} is not allowed: a non-empty list of "
            'scenario files or presets, e.g. ["peer_led", "no_coaching"]'
        ]
    fixed, fixed_problems = _fixed_parameters(raw, source)
    problems.extend(fixed_problems)
    for i, entry in enumerate(entries):
        try:
            scenario = _resolve_scenario(entry, path.parent, source, i)
            setups.append(scenario.with_(**fixed) if fixed else scenario)
        except ScenarioError as err:
            where = f"{source}: parameters (in scenario {entry!r}): "
            problems.extend(line.replace("<keywords>: ", where) for line in err.lines)
    names = [s.name for s in setups]
    if len(set(names)) != len(names):
        problems.append(f"{source}: scenarios: two scenarios share a name: {names}")
    return setups, problems


def _fixed_parameters(raw: dict[str, Any], source: str) -> tuple[dict[str, Any], list[str]]:
    """A trust experiment's [parameters]: values set in every scenario (and their problems).

    They override what the scenario files say; a parameter the sweep or the sensitivity
    design varies cannot also be fixed (one would hide the other).
    """
    table = raw.pop("parameters", {})
    if not isinstance(table, dict):
        return {}, [f"{source}: parameters must be a table ([parameters])"]
    known = parameters()
    problems = [
        f"{source}: parameters: unknown parameter {key!r}{did_you_mean(key, known)}"
        for key in table
        if key not in known
    ]
    for section in ("sweep", "sensitivity"):
        design = raw.get(section)
        varied = design.get("parameters") if isinstance(design, dict) else None
        problems += [
            f"{source}: parameters.{key} is also varied by [{section}]: one would hide the "
            "other; remove one of them"
            for key in table
            if isinstance(varied, dict) and key in varied
        ]
    if "steps" in table and "steps" in raw:
        problems.append(
            f"{source}: parameters.steps and steps = {raw['steps']!r} both set the horizon: "
            "remove one of them"
        )
    return ({} if problems else table), problems


def _definition_problems(
    defined: dict[str, Defined],
    raw: dict[str, Any],
    setups: list[Scenario | Setup],
    source: str,
    model: ModelKind,
) -> list[str]:
    """Defined outcomes need the trust model's weeks, a new name, and weeks that are run."""
    if not defined:
        return []
    if model.setup is not None:
        return [f"{source}: define: outcomes defined from weeks need the trust model"]
    problems = [
        f"{source}: define.{name}: {name} is already one of the model's outcomes"
        for name in defined
        if name in model.summary_keys
    ]
    horizons = [s.steps for s in setups if isinstance(s, Scenario)]
    shortest = (
        raw.get("steps") if isinstance(raw.get("steps"), int) else min(horizons, default=None)
    )
    for name, d in defined.items():
        week = d.last_week()
        if week is not None and shortest is not None and week > shortest:
            problems.append(
                f"{source}: define.{name} reads week {week}, after the last week ({shortest})"
            )
    return problems


def _check_validation(
    raw: dict[str, Any], source: str, names: list[str], setups: list[Scenario | Setup]
) -> list[str]:
    """A [validation] section needs its scenarios, the sweep it compares, every week kept."""
    table = raw.get("validation")
    if table is None:
        return []
    if not isinstance(table, dict):
        return [f"{source}: validation must be a table ([validation])"]
    problems = []
    for key, what in (
        ("team", "a one-team scenario"),
        ("breach", "a scenario with a breach event"),
        ("hierarchy", "a list of scenarios with 1, 2, ... levels"),
    ):
        value = table.get(key)
        if value is None:
            problems.append(f"{source}: validation.{key} is missing: {what} of this file")
            continue
        for name in value if isinstance(value, list) else [value]:
            if name not in names:
                problems.append(
                    f"{source}: validation.{key} = {name!r} is not one of the scenarios {names}"
                )
    team = next((s for s in setups if s.name == table.get("team")), None)
    if isinstance(team, Scenario) and team.coach == "none":
        problems.append(
            f'{source}: validation.team = {team.name!r} has no coach (coach = "none"): '
            "its facts read trust in a sponsored coach; choose a scenario with one"
        )
    sweep = raw.get("sweep")
    swept = sweep.get("parameters", {}) if isinstance(sweep, dict) else {}
    fields = parameters()
    for name, need in (
        (SPONSOR, "0 (no endorsement) and its default"),
        (MANAGEMENT, "two or more values, its default among them"),
    ):
        values = swept.get(name)
        listed: list[Any] = values if isinstance(values, list) else []
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in listed)
        default = fields[name].default
        ok = numbers and default in listed and len(listed) >= 2
        if name == SPONSOR:
            ok = ok and 0 in listed
        if not ok:
            problems.append(
                f"{source}: validation needs sweep.parameters.{name} with {need} "
                f"({default}); got {values!r}"
            )
    if raw.get("keep_steps", 1) not in (1, "every"):
        problems.append(
            f"{source}: keep_steps = {raw.get('keep_steps')!r}: validation needs every week (1)"
        )
    return problems


def _check_calibration(
    raw: dict[str, Any], path: Path, source: str, model: ModelKind, fixed: Any
) -> list[str]:
    """A [calibration] section's problems; its priors and contrast made ready for the model.

    `parameters` is a list of names (a uniform prior over each one's allowed range) or a
    table of ranges; `contrast` names two scenarios, loaded here with the experiment's
    [parameters] applied.
    """
    table = raw.get("calibration")
    if table is None:
        return []
    if not isinstance(table, dict):
        return [f"{source}: calibration must be a table ([calibration])"]
    if model.setup is not None:
        return [f"{source}: [calibration] is for the trust model, whose runs the targets read"]
    problems = [
        f"{source}: has both [calibration] and [{section}]: a calibration chooses its own "
        "parameter values; use one of them"
        for section in ("sweep", "sensitivity")
        if section in raw
    ]
    reps = raw.get("replications")
    if isinstance(reps, dict) and "until" in reps:
        problems.append(
            f"{source}: replications: a calibration needs a fixed count (every candidate "
            "runs the same number)"
        )
    listed = table.get("parameters")
    if isinstance(listed, list) and listed and all(isinstance(p, str) for p in listed):
        entries: dict[str, Any] = dict.fromkeys(listed)
        problems += [
            f"{source}: calibration.parameters: {p!r} is listed twice"
            for p in sorted({p for p in listed if listed.count(p) > 1})
        ]
    elif isinstance(listed, dict) and listed:
        entries = listed
    else:
        entries = {}
        problems.append(
            f"{source}: calibration.parameters = {format_value(listed)} is not allowed: "
            f"{CALIBRATION_ALLOWED['parameters']}"
        )
    known = parameters()
    priors: dict[str, Any] = {}
    for name, value in entries.items():
        where = f"{source}: calibration.parameters.{name}"
        if name not in known:
            problems.append(
                f"{source}: calibration.parameters: unknown parameter {name!r}"
                f"{did_you_mean(name, known)}"
            )
            continue
        field = known[name]
        if field.annotation not in (int, float):
            problems.append(f"{where}: {name} is not a number; only numbers can be estimated")
            continue
        if isinstance(fixed, dict) and name in fixed:
            problems.append(
                f"{source}: parameters.{name} is also estimated by [calibration]: one would "
                "hide the other; remove one of them"
            )
        lo, hi = bounds(field)
        if value is None:
            if lo is None or hi is None:
                problems.append(
                    f"{where}: {name} has no {'lower' if lo is None else 'upper'} bound: give "
                    "its prior as { min = ..., max = ... }"
                )
            else:
                priors[name] = {"min": lo, "max": hi}
            continue
        try:
            prior = Prior.model_validate(value)
        except ValidationError as err:
            for e in err.errors():
                msg = e["msg"].removeprefix("Value error, ")
                problems.append(f"{where} = {format_value(value)} is not allowed: {msg}")
            continue
        problems.extend(
            _range_problem(
                field, name, {"min": prior.min, "max": prior.max}, f"{source}: calibration"
            )
        )
        priors[name] = value
    table["parameters"] = priors
    contrast = table.get("contrast")
    if contrast is not None:
        if not (
            isinstance(contrast, list)
            and len(contrast) == 2
            and all(isinstance(c, str) for c in contrast)
            and contrast[0] != contrast[1]
        ):
            problems.append(
                f"{source}: calibration.contrast = {format_value(contrast)} is not allowed: "
                f"{CALIBRATION_ALLOWED['contrast']}"
            )
        else:
            pair = []
            for i, entry in enumerate(contrast):
                try:
                    sc = _resolve_scenario(entry, path.parent, source, i)
                    pair.append(sc.with_(**fixed) if isinstance(fixed, dict) and fixed else sc)
                except ScenarioError as err:
                    problems.extend(
                        line.replace(f"scenarios[{i}]", f"calibration.contrast[{i}]")
                        for line in err.lines
                    )
            table["contrast"] = tuple(pair)
    return problems


# What each key of an experiment file allows, in words (for its error lines).
ALLOWED = {
    "name": NAME_ALLOWED,
    "model": 'a model name ("trust") or "package.module:Class"',
    "replications": (
        "a whole number of runs per scenario and point (e.g. 20), or a [replications] table "
        "(count, or until with half_width)"
    ),
    "replications.count": f"an integer from 1 to {MAX_RUNS:,}",
    "replications.min": f"an integer from 2 to {MAX_RUNS:,}",
    "replications.max": f"an integer from 2 to {MAX_RUNS:,}",
    "replications.half_width": "a number above 0 (the target 95% CI half-width)",
    "replications.until": "an outcome name",
    "seed": "an integer of 0 or more",
    "steps": "an integer from 1 to 10000 (weeks)",
    "keep_steps": '"every" (or 1), "summaries" (or 0), or every how many weeks (an integer)',
    "keep_teams": "true or false",
    "reference": "the name of one of the scenarios",
    "sensitivity.levels": "an integer from 2 to 100",
    "sensitivity.resamples": "an integer from 10 to 100000",
    "sensitivity.second_order": "true or false",
    "sweep.samples": f"an integer from 2 to {MAX_RUNS:,}",
    **{f"calibration.{k}": v for k, v in CALIBRATION_ALLOWED.items()},
}
# The keys an experiment file may set at its top level, and in each of its tables.
FILE_KEYS = {
    "": (
        "name", "model", "scenarios", "parameters", "sweep", "sensitivity", "validation",
        "calibration", "replications", "seed", "steps", "keep_steps", "keep_teams", "outcomes",
        "reference", "define",
    ),
    "calibration": tuple(Calibration.model_fields),
    "replications": tuple(Replications.model_fields),
    "sweep": tuple(Sweep.model_fields),
    "sensitivity": tuple(Sensitivity.model_fields),
}  # fmt: skip


def _experiment_errors(source: str, err: ValidationError) -> list[str]:
    """Pydantic's errors on an experiment file as lines: file, key, value, what is allowed."""
    lines = []
    for e in err.errors():
        loc = [str(x) for x in e["loc"]]
        where = ".".join(loc)
        value = e.get("input")
        if e["type"] == "extra_forbidden":
            table = ".".join(loc[:-1])
            known = FILE_KEYS.get(table, ())
            hint = did_you_mean(loc[-1], known) if known else ""
            allowed = f"; allowed: {', '.join(known)}" if known else ""
            lines.append(f"{source}: unknown key {where!r}{hint}{allowed}")
        elif where in ALLOWED and e["type"] != "value_error":  # a value_error says its own
            lines.append(
                f"{source}: {where} = {format_value(value)} is not allowed: {ALLOWED[where]}"
            )
        elif not loc:  # a model-level check
            lines.append(f"{source}: {e['msg'].removeprefix('Value error, ')}")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {where} = {format_value(value)}: {msg}")
    return lines


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate an experiment file.

    Raises:
        ScenarioError: one line per problem (file, key, value, what is allowed).
    """
    path = Path(path)
    source = str(path)
    raw = read_toml(path, source)
    try:
        model = kind(str(raw.get("model", "trust")), path.parent)
    except ScenarioError as err:
        raise ScenarioError([f"{source}: {line}" for line in err.lines]) from None
    fixed = raw.get("parameters")  # applied to a calibration's contrast too
    setups, problems = _setups(raw, path, source, model)
    raw.pop("scenarios", None)
    known = model.parameters()
    problems.extend(_check_design(raw, "sweep", source, known))
    problems.extend(_check_design(raw, "sensitivity", source, known))
    problems.extend(_check_calibration(raw, path, source, model, fixed))
    for section in ("sweep", "sensitivity"):
        table = raw.get(section)
        varied = table.get("parameters") if isinstance(table, dict) else None
        if "steps" in raw and isinstance(varied, dict) and "steps" in varied:
            problems.append(
                f"{source}: steps = {raw['steps']!r} and [{section}] varies steps: "
                "one horizon would hide the other; remove one of them"
            )
    if "sweep" in raw and "sensitivity" in raw:
        problems.append(
            f"{source}: has both [sweep] and [sensitivity]: a sensitivity analysis chooses its "
            "own points; use one of them"
        )
    tables = raw.pop("define", None)
    try:
        defined = parse_definitions(tables, source)
    except ScenarioError as err:
        problems.extend(err.lines)
        defined = {}
    problems.extend(_definition_problems(defined, raw, setups, source, model))
    # A definition with a problem is still a name the outcomes may use (one line, not two).
    named = list(tables) if isinstance(tables, dict) else []
    keys = (*model.summary_keys, *[n for n in named if n not in model.summary_keys])
    outcomes = raw.get("outcomes", list(keys[:1]) if model.setup is not None else [])
    problems.extend(_outcome_problems(outcomes, "outcomes", source, keys))
    sens = raw.get("sensitivity")
    if isinstance(sens, dict) and "outcomes" in sens:
        problems.extend(_outcome_problems(sens["outcomes"], "sensitivity.outcomes", source, keys))
    reps = raw.get("replications")
    if isinstance(reps, dict) and reps.get("until") is not None and reps["until"] not in keys:
        problems.append(
            f"{source}: replications.until = {reps['until']!r} is not a run outcome"
            f"{did_you_mean(str(reps['until']), keys)}"
        )
    until = reps.get("until") if isinstance(reps, dict) else None
    for setup in setups:
        if until in _coach_outcomes() and isinstance(setup, Scenario) and setup.coach == "none":
            problems.append(
                f"{source}: replications.until = {until!r}: scenario {setup.name!r} has no coach "
                '(coach = "none"), so it never has a value there; choose another outcome'
            )
    if "sensitivity" in raw and isinstance(reps, dict) and "until" in reps:
        problems.append(
            f"{source}: replications: a sensitivity analysis needs a fixed count "
            "(every point the same number of runs)"
        )
    if model.setup is not None and raw.get("keep_teams"):
        problems.append(f"{source}: keep_teams = true: only the trust model has teams")
    if model.setup is not None and raw.get("steps") is not None:
        problems.append(
            f"{source}: steps = {raw['steps']!r}: only the trust model has a horizon in weeks"
            + ("; a Mesa model's steps is one of its [parameters]" if "steps" in known else "")
        )
    names = [s.name for s in setups]
    problems.extend(_check_validation(raw, source, names, setups))
    reference = raw.get("reference")
    if reference is not None and reference not in names:
        problems.append(f"{source}: reference = {reference!r} is not one of the scenarios {names}")
    if problems:
        raise ScenarioError(problems)
    if model.setup is not None:
        raw["outcomes"] = outcomes
    if isinstance(raw.get("replications"), int) and not isinstance(raw["replications"], bool):
        raw["replications"] = {"count": raw["replications"]}
    if raw.get("keep_steps") == "summaries":
        raw["keep_steps"] = 0
    if raw.get("keep_steps") == "every":
        raw["keep_steps"] = 1
    if model.setup is not None:
        raw.setdefault("keep_steps", 0)
    data = {
        "define": defined,
        "name": raw.pop("name", path.stem),
        "question": describe_file(path),
        "path": str(path),
        "scenarios": tuple(setups),
        **raw,
    }
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_experiment_errors(source, err)) from None
    too_big = size_problem(exp, source)
    if too_big:
        raise ScenarioError([too_big])
    # Every point must make a valid scenario: find out now, before anything runs.
    points = design_points(exp)
    for scenario in exp.scenarios:
        for p_id, point in enumerate(points):
            changes = {**point, **({"steps": exp.steps} if exp.steps is not None else {})}
            try:
                scenario.with_(**changes)
            except ScenarioError as err:
                where = ", ".join(f"{k}={v}" for k, v in point.items())
                raise ScenarioError(
                    [
                        f"{source}: point {p_id} ({where}) of {scenario.name}: "
                        + line.split(": ", 1)[-1]
                        for line in err.lines
                    ]
                ) from None
    return exp
