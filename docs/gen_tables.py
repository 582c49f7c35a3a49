"""Regenerate the ODD's generated tables from the code that declares what they list.

docs/ODD.md holds three tables that are never written by hand: the parameters (from
the Scenario, sim.model.scenario.parameter_table), the event types (from their
registry, sim.model.events.event_table) and the measures (from theirs,
sim.model.measures.measure_table). Each lives between the lines
`<!-- NAME-table:start -->` and `<!-- NAME-table:end -->`; everything between them is
replaced, nothing else is touched. Run from the repository root:

    .venv/bin/python docs/gen_tables.py                  # rewrite every table in place
    .venv/bin/python docs/gen_tables.py --check          # exit 1 if any table is stale
    .venv/bin/python docs/gen_tables.py --table event    # only that table

tests/test_docs.py, tests/test_events.py and tests/test_measures.py fail whenever a
table and the code drift apart.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sim.model.events import event_table
from sim.model.measures import measure_table
from sim.model.scenario import parameter_table

ODD = Path(__file__).resolve().parent / "ODD.md"
# Each table's name (its markers) and the function that makes it.
TABLES: dict[str, Callable[[], str]] = {
    "parameter": parameter_table,
    "event": event_table,
    "measure": measure_table,
}


def markers(name: str) -> tuple[str, str]:
    """The lines that open and close the table `name` in the ODD."""
    return f"<!-- {name}-table:start -->", f"<!-- {name}-table:end -->"


def render_table(text: str, name: str, table: str | None = None) -> str:
    """The ODD text with one table put between its markers.

    Args:
        text: the current ODD text.
        name: which table ("parameter", "event" or "measure").
        table: the table to insert (default: the one TABLES makes).

    Raises:
        ValueError: when the markers are missing, repeated, out of order, or not on
            lines of their own.
    """
    start, end = markers(name)
    table = TABLES[name]() if table is None else table
    lines = text.splitlines(keepends=True)
    starts = [n for n, line in enumerate(lines) if line.strip() == start]
    ends = [n for n, line in enumerate(lines) if line.strip() == end]
    if len(starts) != 1 or len(ends) != 1 or starts[0] > ends[0]:
        raise ValueError(f"expected one {start} line followed by one {end} line")
    head = "".join(lines[: starts[0] + 1])
    tail = "".join(lines[ends[0] :])
    return head + table.strip() + "\n" + tail


def render(text: str, names: Sequence[str] = tuple(TABLES)) -> str:
    """The ODD text with each named table (default: all) generated afresh."""
    for name in names:
        text = render_table(text, name)
    return text


def main(argv: list[str] | None = None) -> int:
    """Rewrite the tables in docs/ODD.md, or with --check only report whether one is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if stale")
    parser.add_argument("--path", type=Path, default=ODD, help="the ODD file (default docs/ODD.md)")
    parser.add_argument(
        "--table", action="append", choices=list(TABLES), help="only this table (repeatable)"
    )
    args = parser.parse_args(argv)
    names = args.table or list(TABLES)
    text = args.path.read_text(encoding="utf-8")
    new = render(text, names)
    what = ", ".join(names) + (" table" if len(names) == 1 else " tables")
    if new == text:
        print(f"{args.path}: {what} up to date")
        return 0
    if args.check:
        print(f"{args.path}: {what}: stale; run docs/gen_tables.py")
        return 1
    args.path.write_text(new, encoding="utf-8")
    print(f"{args.path}: {what} rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
