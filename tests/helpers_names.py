"""Reading the sources for lists of registered names (measures, events, roles).

A concept is declared once, in its registry; a second list of its names elsewhere
drifts. `name_lists` finds, in every module under a folder, each place that names two
or more of a set of names together:

- a collection (tuple, list, set, dict), read whole: nested pairs, dict keys and
  values and lists of dicts included (`[("mean_skill", "Skill"), ...]`,
  `{"Skill": "mean_skill", ...}`, `[{"type": "breach"}, {"type": "reorg"}]`);
- an if/elif chain, read over all its tests (`if x == "breach": ... elif x == "reorg"`);
- a match statement, read over all its case patterns.

Docstrings are not read. The front ends' .vue and .html files are not read either:
they show what the server sends them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

COLLECTIONS = (ast.Tuple, ast.List, ast.Set, ast.Dict)


def _strings(node: ast.AST, names: set[str]) -> list[str]:
    """The names among the string constants anywhere below `node`, in source order."""
    found = [
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in names
    ]
    return list(dict.fromkeys(found))


def _places(tree: ast.AST) -> Iterator[ast.AST | list[ast.AST]]:
    """Outermost collections, whole if/elif chains (their tests) and match statements."""

    def visit(node: ast.AST) -> Iterator[ast.AST | list[ast.AST]]:
        if isinstance(node, COLLECTIONS):
            yield node  # read whole: its nested collections are part of it
            return
        if isinstance(node, ast.If):
            tests: list[ast.AST] = []
            branch: ast.AST = node
            while isinstance(branch, ast.If):
                tests.append(branch.test)
                yield from (x for s in branch.body for x in visit(s))
                rest = branch.orelse
                branch = rest[0] if len(rest) == 1 and isinstance(rest[0], ast.If) else None  # type: ignore[assignment]
                if branch is None:
                    yield from (x for s in rest for x in visit(s))
            yield tests
            for t in tests:
                yield from visit(t)
            return
        if isinstance(node, ast.Match):
            yield [c.pattern for c in node.cases]
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Expr) and isinstance(
                getattr(child, "value", None), ast.Constant
            ):
                continue  # a docstring or a bare string
            yield from visit(child)

    yield from visit(tree)


def name_lists(folder: Path, names: set[str], skip: set[Path]) -> set[tuple[str, tuple[str, ...]]]:
    """(file relative to folder's parent, the names in order) of each place naming 2 or more."""
    found = set()
    for path in sorted(folder.rglob("*.py")):
        if path in skip:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for place in _places(tree):
            parts = place if isinstance(place, list) else [place]
            named = list(dict.fromkeys(n for p in parts for n in _strings(p, names)))
            if len(named) >= 2:
                found.add((path.relative_to(folder.parent).as_posix(), tuple(named)))
    return found
