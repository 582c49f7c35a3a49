"""Regenerate the event table in docs/ODD.md from the registry, sim.model.events.event_table().

The table lives between the lines `<!-- event-table:start -->` and
`<!-- event-table:end -->`; everything between them is replaced, nothing else is
touched. Run from the repository root:

    .venv/bin/python docs/gen_event_table.py           # rewrite docs/ODD.md in place
    .venv/bin/python docs/gen_event_table.py --check   # exit 1 if the table is stale

tests/test_events.py fails whenever the table and the registry drift apart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.model.events import event_table

ODD = Path(__file__).resolve().parent / "ODD.md"
START = "<!-- event-table:start -->"
END = "<!-- event-table:end -->"


def render(text: str, table: str | None = None) -> str:
    """The ODD text with the generated table put between the markers.

    Args:
        text: the current ODD text.
        table: the table to insert (default: sim.model.events.event_table()).

    Raises:
        ValueError: when the markers are missing, repeated, out of order, or not on
            lines of their own.
    """
    table = event_table() if table is None else table
    lines = text.splitlines(keepends=True)
    starts = [n for n, line in enumerate(lines) if line.strip() == START]
    ends = [n for n, line in enumerate(lines) if line.strip() == END]
    if len(starts) != 1 or len(ends) != 1 or starts[0] > ends[0]:
        raise ValueError(f"expected one {START} line followed by one {END} line")
    head = "".join(lines[: starts[0] + 1])
    tail = "".join(lines[ends[0] :])
    return head + table.strip() + "\n" + tail


def main(argv: list[str] | None = None) -> int:
    """Rewrite the table in docs/ODD.md, or with --check only report whether it is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if stale")
    parser.add_argument("--path", type=Path, default=ODD, help="the ODD file (default docs/ODD.md)")
    args = parser.parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    new = render(text)
    if new == text:
        print(f"{args.path}: event table is up to date")
        return 0
    if args.check:
        print(f"{args.path}: event table is stale; run docs/gen_event_table.py")
        return 1
    args.path.write_text(new, encoding="utf-8")
    print(f"{args.path}: event table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
