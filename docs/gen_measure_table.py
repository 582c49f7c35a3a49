"""Regenerate the per-step measures' table in docs/ODD.md from sim.model.measures.

The table lives between the lines `<!-- measure-table:start -->` and
`<!-- measure-table:end -->` (section 8); everything between them is replaced, nothing
else is touched. Run from the repository root:

    .venv/bin/python docs/gen_measure_table.py           # rewrite docs/ODD.md in place
    .venv/bin/python docs/gen_measure_table.py --check   # exit 1 if the table is stale

tests/test_measures.py fails whenever the table and the registry drift apart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.model.measures import measure_table

ODD = Path(__file__).resolve().parent / "ODD.md"
START = "<!-- measure-table:start -->"
END = "<!-- measure-table:end -->"


def render(text: str, table: str | None = None) -> str:
    """The ODD text with the generated table put between the markers.

    Args:
        text: the current ODD text.
        table: the table to insert (default: sim.model.measures.measure_table()).

    Raises:
        ValueError: when the markers are missing, repeated, or out of order.
    """
    table = measure_table() if table is None else table
    lines = text.splitlines(keepends=True)
    starts = [n for n, line in enumerate(lines) if line.strip() == START]
    ends = [n for n, line in enumerate(lines) if line.strip() == END]
    if len(starts) != 1 or len(ends) != 1 or starts[0] > ends[0]:
        raise ValueError(f"expected one {START} line followed by one {END} line")
    return "".join(lines[: starts[0] + 1]) + table.strip() + "\n" + "".join(lines[ends[0] :])


def main(argv: list[str] | None = None) -> int:
    """Rewrite the table in docs/ODD.md, or with --check only report whether it is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if stale")
    parser.add_argument("--path", type=Path, default=ODD, help="the ODD file (default docs/ODD.md)")
    args = parser.parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    new = render(text)
    if new == text:
        print(f"{args.path}: measure table is up to date")
        return 0
    if args.check:
        print(f"{args.path}: measure table is stale; run docs/gen_measure_table.py")
        return 1
    args.path.write_text(new, encoding="utf-8")
    print(f"{args.path}: measure table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
