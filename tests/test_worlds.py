"""The story's "does this hold beyond these settings?" (sim.workshop.worlds).

What a trainer reads must be what the stored comparison across plausible worlds
found, for the scenarios on the screen and no others: the sentence quotes the file's
shares, and says nothing when a slider moved a side away from its chapter's scenario
or when the file was made for other scenarios (a stale file fails here, telling how
to make it again).
"""

from __future__ import annotations

import math
import re
from types import SimpleNamespace
from typing import Any

import pytest

from sim.workshop.story import CHAPTERS, library
from sim.workshop.worlds import load_worlds, worlds_sentence

COMPARING = [c for c in CHAPTERS if c.kind == "compare"]


def sides(*scenarios: Any) -> list[Any]:
    return [SimpleNamespace(scenario=s) for s in scenarios]


def entry(chapter: Any, left: float, right: float) -> dict[str, Any]:
    lib = library()
    return {
        chapter.title: {
            "worlds": 200,
            "left_higher": left,
            "right_higher": right,
            "same": 1 - left - right,
            "digests": [lib[chapter.left][0].digest(), lib[chapter.right][0].digest()],
        }
    }


@pytest.mark.parametrize("chapter", COMPARING, ids=lambda c: c.left)
def test_the_sentence_quotes_the_shares_for_the_chapters_own_scenarios(chapter: Any) -> None:
    lib = library()
    left, right = lib[chapter.left][0], lib[chapter.right][0]
    worlds = entry(chapter, 0.125, 0.7)
    text = worlds_sentence(chapter, sides(left, right), worlds)  # type: ignore[arg-type]
    assert text.startswith("Does this hold beyond these settings? Over 200 plausible worlds")
    shares = [int(x) for x in re.findall(r"(\d+)%", text)]
    assert shares == [12, 70, 18]  # left, right, about the same: 12.5% rounds to even
    # a slider moved: the stored answer is not about these sides
    moved = sides(left.with_(trust_gain=left.trust_gain * 1.5), right)
    assert worlds_sentence(chapter, moved, worlds) == ""  # type: ignore[arg-type]
    assert worlds_sentence(chapter, sides(right, left), worlds) == ""  # type: ignore[arg-type]


def test_no_sentence_for_a_chapter_that_compares_nothing_or_has_no_result() -> None:
    rising = next(c for c in CHAPTERS if c.kind == "rise")
    lib = library()
    scenario = lib[rising.left][0]
    assert worlds_sentence(rising, sides(scenario, scenario), {}) == ""  # type: ignore[arg-type]
    chapter = COMPARING[0]
    both = sides(lib[chapter.left][0], lib[chapter.right][0])
    assert worlds_sentence(chapter, both, {}) == ""  # type: ignore[arg-type]


def test_a_share_is_never_said_as_0_or_100_when_it_is_not() -> None:
    chapter = COMPARING[0]
    lib = library()
    both = sides(lib[chapter.left][0], lib[chapter.right][0])
    text = worlds_sentence(chapter, both, entry(chapter, 0.004, 0.996))  # type: ignore[arg-type]
    assert "left in under 1% of them" in text
    assert "right in over 99%" in text


def test_the_shipped_file_is_for_todays_scenarios() -> None:
    """Made by benchmarks/story_worlds.py; run it again when this fails."""
    shipped = load_worlds()
    assert set(shipped) == {c.title for c in COMPARING}, "run benchmarks/story_worlds.py"
    lib = library()
    for chapter in COMPARING:
        found = shipped[chapter.title]
        digests = [lib[chapter.left][0].digest(), lib[chapter.right][0].digest()]
        assert found["digests"] == digests, f"{chapter.title}: run benchmarks/story_worlds.py"
        assert (found["left"], found["right"], found["measure"]) == (
            chapter.left, chapter.right, chapter.measure
        )  # fmt: skip
        total = found["left_higher"] + found["right_higher"] + found["same"]
        assert math.isclose(total, 1.0, abs_tol=1e-9)
        assert found["worlds"] >= 100
