"""The layers' import contract, read from the sources (ast): what may import what.

Data flows one way (/work/shared/STYLE.md, "The shape of the package"): the model, then
the methods, the reporting, the experiments, and the fronts (the workshop with its
room, the CLI). These tests read the imports of every module under sim/, those inside
functions included, and fail on:

- a private name (`_x`) of another module, imported or reached as `module._x`;
- an import against the layers (sim.model imports no layer above it, and so on);
- a cycle of modules importing each other at module level.

Today's known exceptions are listed below, each with its reason, so that the tests pass
now and any new one fails; an exception that no longer occurs fails too (remove it
from its list), and those still allowed are reported as warnings on every run.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"

# --------------------------------------------------------------- the exceptions
# (importer, module, private name): why it is allowed for now.
PRIVATE_ALLOWED: dict[tuple[str, str, str], str] = {}

# Each layer, and the layers it must not import (STYLE.md's table).
FORBIDDEN = {
    "sim.model": ("sim.experiments", "sim.methods", "sim.reporting", "sim.workshop", "sim.cli"),
    "sim.methods": ("sim.experiments", "sim.reporting", "sim.workshop", "sim.cli"),
    "sim.reporting": ("sim.experiments", "sim.workshop", "sim.cli"),
    "sim.experiments": ("sim.workshop", "sim.cli"),
    # The workshop plays runs itself (sim.model.fast) and never runs an experiment.
    "sim.workshop": ("sim.experiments", "sim.cli"),
}
# The methods read tables: of the model, they may use only its declarations (the
# registries, scenario and survey), never what runs it.
METHODS_MAY_USE = (
    "sim.model.scenario",
    "sim.model.scenario_files",
    "sim.model.measures",
    "sim.model.events",
    "sim.model.survey",
    "sim.model.structure",
)
# (importer, module of the model): why the methods use it, as they do today.
METHODS_USE_OF_MODEL = {
    ("sim.methods.calibration", "sim.model.scenario"): (
        "a prior names a scenario parameter, checked against Scenario's fields"
    ),
    ("sim.methods.targets", "sim.model.scenario"): (
        "a targets file is checked as a scenario file is (ScenarioError, did_you_mean, "
        "format_value)"
    ),
    ("sim.methods.targets", "sim.model.scenario_files"): (
        "a targets file is read as a scenario file is (read_toml)"
    ),
    ("sim.methods.analysis", "sim.model.measures"): (
        "which run outcomes are censored (RunOutcome.censored)"
    ),
    ("sim.methods.targets", "sim.model.measures"): (
        "a target on the teams table names one of its columns (LAST_TEAM_COLUMNS)"
    ),
    ("sim.methods.targets", "sim.model.survey"): (
        "targets on survey answers are computed with the survey's own statistics"
    ),
}
# (importer, module): why it crosses the layers today (none since calibration.html moved
# to sim/reporting/calibration.py; keep an exception here only with its reason).
LAYERS_ALLOWED: dict[tuple[str, str], str] = {}
# Sets of modules importing each other at module level: why, for now.
CYCLES_ALLOWED = {
    frozenset({"sim.model.agents", "sim.model.trust_model"}): (
        "TrustModel makes TeamMembers, and TeamMember names TrustModel in its types "
        "(under TYPE_CHECKING: no circle at import). Kept: Mesa's Agent is generic in its "
        "Model (Agent[M: Model]), so an agent's model type must be a mesa.Model subclass, "
        "which a Protocol cannot be, and the agents stay a module apart as in Mesa's examples"
    ),
}


# ------------------------------------------------------------- reading imports
@dataclass(frozen=True)
class Import:
    """One module's use of another: an import, or a `module.name` reached through one."""

    importer: str
    module: str  # the module imported (a submodule for `from package import submodule`)
    name: str | None  # the name taken from it (None: the module itself)
    line: int
    top: bool  # at module level (TYPE_CHECKING blocks included), not inside a function


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SIM.rglob("*.py"))}


def _absolute(importer: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    package = importer.split(".")
    if not is_package:
        package = package[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _walk(node: ast.AST, top: bool) -> Iterator[tuple[ast.AST, bool]]:
    """Every node under `node`, with whether it runs when the module is imported."""
    for child in ast.iter_child_nodes(node):
        inner = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield child, inner
        yield from _walk(child, inner)


@cache
def imports(importer: str) -> tuple[Import, ...]:
    """What a module of sim takes from modules of sim."""
    path = modules()[importer]
    return read_imports(importer, path.read_text(encoding="utf-8"), path.name == "__init__.py")


def read_imports(importer: str, source: str, is_package: bool = False) -> tuple[Import, ...]:
    """What `source` (the module `importer`) takes from sim: imports, `module.name` uses."""
    tree = ast.parse(source)
    found: list[Import] = []
    bound: dict[str, str] = {}  # a local name -> the sim module it is
    nodes = list(_walk(tree, top=True))
    for node, top in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sim":
                    found.append(Import(importer, alias.name, None, node.lineno, top))
                    bound[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(importer, node, is_package)
            if source.split(".")[0] != "sim":
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in modules():
                    found.append(Import(importer, sub, None, node.lineno, top))
                    bound[alias.asname or alias.name] = sub
                else:
                    found.append(Import(importer, source, alias.name, node.lineno, top))
    for node, top in nodes:
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
        ):
            found.append(Import(importer, bound[node.value.id], node.attr, node.lineno, top))
    return tuple(found)


def every_import() -> Iterator[Import]:
    for importer in modules():
        yield from imports(importer)


def is_private(name: str | None) -> bool:
    return name is not None and name.startswith("_") and not name.startswith("__")


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def where(imp: Import) -> str:
    path = modules()[imp.importer].relative_to(SIM.parent)
    what = f"{imp.module}.{imp.name}" if imp.name else imp.module
    return f"{path}:{imp.line}: {what}"


def report(allowed: dict[object, str], what: str) -> None:
    """Say, on every run, which exceptions are still allowed, and why."""
    for key, why in allowed.items():
        warnings.warn(f"{what} still allowed: {key}: {why}", UserWarning, stacklevel=2)


# ------------------------------------------------------------ private names
def private_uses() -> set[tuple[str, str, str]]:
    return {
        (imp.importer, imp.module, imp.name or "")
        for imp in every_import()
        if is_private(imp.name) and imp.module != imp.importer
    }


def test_no_module_takes_a_private_name_from_another() -> None:
    new = [
        where(imp)
        for imp in every_import()
        if is_private(imp.name)
        and imp.module != imp.importer
        and (imp.importer, imp.module, imp.name) not in PRIVATE_ALLOWED
    ]
    assert not new, "private names of another module (make them public there):\n" + "\n".join(new)


def test_the_private_names_allowed_are_still_used_and_reported() -> None:
    stale = set(PRIVATE_ALLOWED) - private_uses()
    assert not stale, f"no longer used: remove from PRIVATE_ALLOWED: {sorted(stale)}"
    report(PRIVATE_ALLOWED, "private name")


def test_a_private_name_taken_from_another_module_is_found() -> None:
    """The reader sees both spellings, in a function too, and relative imports."""
    source = (
        "from sim.workshop import story\n"
        "from .fast import _kept_rows, simulate\n"
        "def f():\n"
        "    from sim.model.state import _beta, __all__\n"
        "    return story._at, story.play, _own\n"
    )
    found = {
        (i.module, i.name, i.top)
        for i in read_imports("sim.model.probe", source)
        if is_private(i.name)
    }
    assert found == {
        ("sim.model.fast", "_kept_rows", True),
        ("sim.model.state", "_beta", False),
        ("sim.workshop.story", "_at", False),
    }


# ------------------------------------------------------------------- layers
def layer_violations(found: Iterable[Import] | None = None) -> dict[tuple[str, str], Import]:
    """The imports against the layers, by (importer, module imported)."""
    out: dict[tuple[str, str], Import] = {}
    for imp in every_import() if found is None else found:
        target = "sim.model" if imp.module == "sim" else imp.module  # sim re-exports the model
        for layer, above in FORBIDDEN.items():
            if within(imp.importer, layer) and any(within(target, a) for a in above):
                out.setdefault((imp.importer, imp.module), imp)
        if (
            within(imp.importer, "sim.methods")
            and within(target, "sim.model")
            and (imp.importer, target) not in METHODS_USE_OF_MODEL
        ):
            out.setdefault((imp.importer, imp.module), imp)
    return out


def test_no_layer_imports_a_layer_above_it() -> None:
    new = [where(imp) for key, imp in layer_violations().items() if key not in LAYERS_ALLOWED]
    assert not new, "imports against the layers (STYLE.md's table):\n" + "\n".join(new)


def test_the_methods_use_of_the_model_is_its_declarations_only() -> None:
    assert {module for _, module in METHODS_USE_OF_MODEL} <= set(METHODS_MAY_USE)
    used = {
        (imp.importer, imp.module)
        for imp in every_import()
        if within(imp.importer, "sim.methods") and within(imp.module, "sim.model")
    }
    stale = set(METHODS_USE_OF_MODEL) - used
    assert not stale, f"no longer used: remove from METHODS_USE_OF_MODEL: {sorted(stale)}"


def test_the_layer_exceptions_are_still_there_and_reported() -> None:
    stale = set(LAYERS_ALLOWED) - set(layer_violations())
    assert not stale, f"no longer imported: remove from LAYERS_ALLOWED: {sorted(stale)}"
    report(LAYERS_ALLOWED, "import across the layers")


@pytest.mark.parametrize(
    ("importer", "module", "wrong"),
    [
        ("sim.model.kernels", "sim.workshop.story", True),
        ("sim.model.kernels", "sim.model.state", False),
        ("sim.methods.analysis", "sim.model.fast", True),
        ("sim.methods.validation", "sim.model.measures", True),  # not in METHODS_USE_OF_MODEL
        ("sim.methods.analysis", "sim", True),  # the model, through the package
        ("sim.reporting.plots", "sim.methods.analysis", False),
        ("sim.experiments.spec", "sim.cli", True),
        ("sim.workshop.story", "sim.experiments.runner", True),
        ("sim.workshop.story", "sim.reporting.plots", False),
        ("sim.cli.single", "sim.experiments.pipeline", False),
    ],
)
def test_the_layer_rule_tells_a_wrong_import(importer: str, module: str, wrong: bool) -> None:
    found = [Import(importer, module, None, 1, top=False)]
    assert ((importer, module) in layer_violations(found)) is wrong


# ------------------------------------------------------------------- cycles
def module_graph() -> dict[str, set[str]]:
    """Who imports whom when a module is imported (module level, TYPE_CHECKING included)."""
    graph: dict[str, set[str]] = {m: set() for m in modules()}
    for imp in every_import():
        if imp.top and imp.module in graph and imp.module != imp.importer:
            graph[imp.importer].add(imp.module)
    return graph


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The graph's strongly connected sets of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            members = set()
            while True:
                w = stack.pop()
                members.add(w)
                if w == v:
                    break
            if len(members) > 1:
                found.add(frozenset(members))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_new_import_cycle() -> None:
    new = cycles(module_graph()) - set(CYCLES_ALLOWED)
    assert not new, "modules importing each other: " + "; ".join(
        " <-> ".join(sorted(c)) for c in new
    )


def test_the_cycles_allowed_are_still_there_and_reported() -> None:
    stale = set(CYCLES_ALLOWED) - cycles(module_graph())
    assert not stale, f"broken: remove from CYCLES_ALLOWED: {[sorted(c) for c in stale]}"
    report({" <-> ".join(sorted(c)): why for c, why in CYCLES_ALLOWED.items()}, "import cycle")


def test_a_cycle_is_found_through_a_third_module() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == {frozenset({"a", "b", "c"})}


# ------------------------------------------------------------- one job a module
LONG = 600  # lines; a module longer than this says why in its opening docstring


def test_a_long_module_says_why_in_its_docstring() -> None:
    unexplained = []
    for path in sorted(SIM.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") <= LONG:
            continue
        doc = " ".join((ast.get_docstring(ast.parse(text)) or "").split())
        if not re.search(r"\b(over|about) \d[\d,]* lines\b", doc, re.IGNORECASE):
            unexplained.append(f"{path.relative_to(SIM.parent)} ({text.count(chr(10))} lines)")
    assert not unexplained, (
        f"modules over {LONG} lines whose docstring does not say why ('Over 600 lines "
        "because ...'): " + ", ".join(unexplained)
    )
