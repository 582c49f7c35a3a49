"""How often each comparing chapter's answer holds across plausible worlds (worlds.json).

The workshop story answers each chapter at one set of parameter values; the room may
ask whether it holds beyond them. This runs each comparing chapter's two library
scenarios as an experiment (left against right, paired seeds), then `compare
--across` at `--worlds` worlds of `--source` (a calibration folder or an experiment
file with [calibration]; default the plausible worlds of docs/validation.md) with
the story's own smallest difference (`sim.workshop.sentences.NEGLIGIBLE`), and writes
each chapter's shares and its scenarios' digests to sim/workshop/worlds.json, which
the story quotes (`sim.workshop.worlds`). Run it again when the model, the chapters'
scenarios or the plausible worlds change (tests/test_worlds.py fails when a digest
no longer matches):

    .venv/bin/python benchmarks/story_worlds.py --source results/plausible_worlds
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.experiments import pipeline  # noqa: E402
from sim.workshop.sentences import NEGLIGIBLE  # noqa: E402
from sim.workshop.story import CHAPTERS, library  # noqa: E402
from sim.workshop.worlds import WORLDS_FILE  # noqa: E402


def chapter_worlds(chapter, source: str, worlds: int, pairs: int, folder: Path) -> dict:
    """One comparing chapter at `worlds` worlds: its shares, and what they were made of."""
    scenarios = library()
    left, right = scenarios[chapter.left][0], scenarios[chapter.right][0]
    exp = folder / f"{chapter.left}_vs_{chapter.right}.toml"
    exp.write_text(
        f'# {chapter.question}\nscenarios = ["{chapter.left}", "{chapter.right}"]\n'
        f'reference = "{chapter.right}"\nreplications = {pairs}\nseed = 2026\n'
        f'outcomes = ["{chapter.measure}"]\nkeep_steps = 0\n',
        encoding="utf-8",
    )
    out = folder / exp.stem
    pipeline.sweep(exp, out=out, report=False, progress=False)
    found = pipeline.compare(
        out, across=source, worlds=worlds, pairs=pairs, smallest_effect=NEGLIGIBLE,
        progress=False,
    )  # fmt: skip
    assert found.across is not None
    row = found.across.summary.iloc[0]
    return {
        "left": chapter.left,
        "right": chapter.right,
        "measure": chapter.measure,
        "worlds": int(row["worlds"]),
        "pairs": pairs,
        "smallest_difference": NEGLIGIBLE,
        "left_higher": float(row["a_higher"]),
        "right_higher": float(row["b_higher"]),
        "same": float(row["undecided"]),
        "median_difference": float(row["median"]),
        "source": str(source),
        "digests": [left.digest(), right.digest()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", default="results/plausible_worlds")
    parser.add_argument("--worlds", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=WORLDS_FILE)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for chapter in CHAPTERS:
            if chapter.kind == "compare" and chapter.right is not None:
                found[chapter.title] = chapter_worlds(
                    chapter, args.source, args.worlds, args.pairs, Path(tmp)
                )
                print(chapter.title, {k: found[chapter.title][k] for k in
                                      ("left_higher", "right_higher", "same")})  # fmt: skip
    args.out.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
