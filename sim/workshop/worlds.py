"""How often a chapter's answer holds across plausible worlds, in words for the room.

A chapter's run answers at one set of parameter values. Whether the answer holds
beyond them was computed ahead (a room cannot wait for thousands of runs):
`benchmarks/story_worlds.py` runs each comparing chapter's two scenarios at many worlds
drawn from the plausible worlds (a calibration's posterior, docs/validation.md) with
`trustsim compare --across`, and keeps, per chapter, the share of worlds where each
side ends higher by at least `sentences.NEGLIGIBLE` and where they are about the same,
in worlds.json beside this module. The sentence is said only when the sides on the
screen are the chapter's own scenarios, unchanged (their digests match the file's).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from sim.workshop.play import Played, measures_shown
from sim.workshop.story import Chapter

__all__ = ["WORLDS_FILE", "load_worlds", "worlds_sentence"]

WORLDS_FILE = Path(__file__).resolve().parent / "worlds.json"


@cache
def load_worlds(path: Path = WORLDS_FILE) -> dict[str, Any]:
    """The precomputed shares, by chapter title ({} when the file is missing)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _share(x: float) -> str:
    """A share as the room reads it: whole percent, never a misleading 0% or 100%."""
    p = round(100 * x)
    if p == 0 and x > 0:
        return "under 1%"
    if p == 100 and x < 1:
        return "over 99%"
    return f"{p}%"


def worlds_sentence(
    chapter: Chapter, played: Sequence[Played], worlds: dict[str, Any] | None = None
) -> str:
    """The room's question "does this hold beyond these settings?", answered, or "".

    Empty when the chapter compares nothing, has no stored result, or its sides are
    not the scenarios the result was computed for (sliders moved, another scenario).
    """
    found = (load_worlds() if worlds is None else worlds).get(chapter.title)
    if chapter.kind != "compare" or not found or len(played) < 2:
        return ""
    if [p.scenario.digest() for p in played[:2]] != found.get("digests"):
        return ""
    label = measures_shown()[chapter.measure].lower()
    left, right, same = found["left_higher"], found["right_higher"], found["same"]
    return (
        f"Does this hold beyond these settings? Over {found['worlds']} plausible worlds "
        f"(settings consistent with what studies of real teams report), {label} ended "
        f"higher on the left in {_share(left)} of them, higher on the right in "
        f"{_share(right)}, and about the same in {_share(same)}."
    )
