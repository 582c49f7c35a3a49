"""The sentences the room reads about a result, generated from the numbers.

Every sentence about a played side is made here from its run and its band: did a
measure rise (`rise_sentence`), which side ends higher over paired replications
(`compare_sentence`, `paired_summary`), how much came back after an event
(`recovery_sentence`); every parameter that differs between two sides is named
(`differences`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.model.events import plain_words
from sim.model.scenario import Event, Scenario, parameters
from sim.workshop.play import CONTROL_BY_KEY, Played, measures_shown
from sim.workshop.story import Chapter

__all__ = [
    "NEGLIGIBLE",
    "answer",
    "compare_sentence",
    "differences",
    "event_words",
    "paired",
    "paired_summary",
    "recovery_sentence",
    "rise_sentence",
    "signed",
    "structure_note",
    "value_at",
]

NEGLIGIBLE = 0.02  # a change or difference smaller than this (on 0-1) is "about the same"


def _words(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def event_words(ev: Event) -> str:
    """An event in words, with its week ("week 52: ...")."""
    return f"week {ev.at}: " + plain_words(ev)


def differences(a: Scenario, b: Scenario) -> list[str]:
    """Every parameter that differs between two scenarios, in words ("label: a vs b").

    Names and descriptions are not parameters; the events are compared as a list.
    """
    out = []
    fields = parameters()
    for key in fields:
        if key in ("name", "description", "events"):
            continue
        va, vb = getattr(a, key), getattr(b, key)
        if va == vb:
            continue
        control = CONTROL_BY_KEY.get(key)
        label = control.label if control else fields[key].description or key
        out.append(f"{label} ({key}): {_words(key, va)} vs {_words(key, vb)}")
    ea = "; ".join(event_words(e) for e in a.events) or "none"
    eb = "; ".join(event_words(e) for e in b.events) or "none"
    if ea != eb:
        out.append(f"Events: {ea} vs {eb}")
    return out


def value_at(values: NDArray[np.float64], week: int) -> float:
    """A weekly series' value at `week` (its last value beyond its end)."""
    return float(values[min(week, len(values) - 1)])


def rise_sentence(played: Played, key: str, week: int | None = None) -> tuple[str, str]:
    """Did a measure rise, fall or stay, from week 0 to `week` (default: the end)?

    Returns:
        ("rose" | "fell" | "hardly changed" | "does not apply", a sentence from the numbers).
    """
    label = measures_shown()[key].lower()
    week = played.weeks if week is None else week
    start, end = value_at(played.middle[key], 0), value_at(played.middle[key], week)
    if math.isnan(start) and math.isnan(end):
        return "does not apply", f"There is no {label} here: nobody holds that role."
    if math.isnan(start):
        start = float(np.nanmin(played.middle[key][: week + 1]))
    change = end - start
    verdict = (
        "rose" if change > NEGLIGIBLE else "fell" if change < -NEGLIGIBLE else "hardly changed"
    )
    lo, hi = value_at(played.low[key], week), value_at(played.high[key], week)
    mine = value_at(played.lines[key], week)
    sentence = (
        f"{measures_shown()[key]} {verdict}: from {start:.2f} to {end:.2f} by week {week} in a "
        f"typical run (the median of {len(played.finals[key])}); 8 runs in 10 ended between "
        f"{lo:.2f} and {hi:.2f}. The run you watched reached {mine:.2f}."
    )
    return verdict, sentence


def paired(a: Played, b: Played, key: str) -> tuple[float, float, float, int]:
    """Mean of a - b over the paired replications' last week, its 95% CI, and the pairs used."""
    from sim.methods.statistics import mean_ci

    if a.seed != b.seed or a.weeks != b.weeks:
        return math.nan, math.nan, math.nan, 0  # not comparable (said by the callers)
    # The replication seeds of fewer runs are the first of more (generate_state's words
    # come in order), so a large organization's 5 runs pair with the first 5 of 50.
    n = min(len(a.finals[key]), len(b.finals[key]))
    d = a.finals[key][:n] - b.finals[key][:n]
    d = d[~np.isnan(d)]
    m, lo, hi = mean_ci(d)
    return m, lo, hi, len(d)


def compare_sentence(a: Played, b: Played, key: str) -> tuple[str, str]:
    """Which side ends higher on a measure, over paired replications, in one sentence.

    Returns:
        ("left" | "right" | "same" | "does not apply", the sentence).
    """
    label = measures_shown()[key].lower()
    if a.weeks != b.weeks:
        return "does not apply", (
            f"The sides run for different numbers of weeks ({a.weeks} and {b.weeks}): "
            "they are not compared week for week."
        )
    m, lo, hi, n = paired(a, b, key)
    if n < 2 or math.isnan(lo):
        return "does not apply", (
            f"{measures_shown()[key]} cannot be compared: one side has no coach, so it has no "
            f"{label}."
        )
    week = a.weeks
    # Clear (the interval excludes 0) and not negligible (at least NEGLIGIBLE on 0-1).
    if lo > 0 and m >= NEGLIGIBLE:
        verdict, words = "left", f"higher with “{a.title}”"
    elif hi < 0 and m <= -NEGLIGIBLE:
        verdict, words = "right", f"higher with “{b.title}”"
    else:
        verdict, words = "same", ""
    if verdict == "same":
        why = "too small to matter" if lo > 0 or hi < 0 else "no clear difference"
        text = (
            f"{measures_shown()[key]} at week {week}: about the same on both sides over {n} "
            f"paired runs (left minus right {signed(m)}, 95% interval {signed(lo)} to "
            f"{signed(hi)}: {why})."
        )
    else:
        text = (
            f"{measures_shown()[key]} at week {week} was {words}: left minus right {signed(m)} "
            f"on average over {n} paired runs (95% interval {signed(lo)} to {signed(hi)}); "
            "each pair shares its people and its chances, so the difference is the setup's."
        )
    return verdict, text


def signed(v: float) -> str:
    """+0.12 / -0.12, and +0.00 for anything that rounds to zero (never "-0.00")."""
    text = f"{v:+.2f}"
    return "+0.00" if text == "-0.00" else text


def paired_summary(a: Played, b: Played) -> list[str]:
    """Left minus right at the last week, per measure, over the paired replications."""
    if a.weeks != b.weeks:
        return [f"Not compared: the sides run for {a.weeks} and {b.weeks} weeks."]
    out = []
    for key, label in measures_shown().items():
        m, lo, hi, n = paired(a, b, key)
        if n < 2 or math.isnan(lo):
            out.append(f"{label}: does not apply (a side has no coach)")
        else:
            clear = "" if lo <= 0 <= hi or abs(m) < NEGLIGIBLE else " (a clear difference)"
            out.append(f"{label}: {signed(m)}, 95% interval {signed(lo)} to {signed(hi)}{clear}")
    return out


def recovery_sentence(
    played: Played, key: str, at: int, *, watched: bool = False
) -> tuple[str, str]:
    """How far a measure fell at an event in week `at`, and how much of it came back.

    In a typical run (the band's median), or with `watched` in the run watched (the
    line: a workshop room's own run), up to the played's last week.
    """
    mid = played.lines[key] if watched else played.middle[key]
    where = "in the run you watched" if watched else "in a typical run"
    before = value_at(mid, at - 1)
    window = mid[at : min(at + 8, played.weeks) + 1]
    bottom = float(np.nanmin(window)) if len(window) else before
    end = value_at(mid, played.weeks)
    drop = before - bottom
    label = measures_shown()[key]
    if drop <= 0.005:
        return "no drop", f"{label} did not drop after week {at} ({where}: {before:.2f})."
    back = (end - bottom) / drop
    verdict = "recovered" if back >= 0.9 else "partly recovered" if back > 0.1 else "stayed down"
    return verdict, (
        f"{label} fell from {before:.2f} to {bottom:.2f} after week {at} {where} and "
        f"was {end:.2f} at week {played.weeks}: {verdict} ({max(back, 0):.0%} of the loss came "
        "back)."
    )


def answer(chapter: Chapter, played: Sequence[Played]) -> tuple[str, str]:
    """The chapter's answer from the numbers: (verdict, sentence)."""
    if chapter.kind == "rise":
        return rise_sentence(played[0], chapter.measure)
    if chapter.kind == "recover":
        return recovery_sentence(played[0], chapter.measure, chapter.event_week)
    return compare_sentence(played[0], played[1], chapter.measure)


def structure_note(played: Sequence[Played]) -> str:
    """How each side's organization is made up, when the two differ (e.g. team sizes)."""
    if len(played) < 2 or played[0].teams == played[1].teams:
        return ""
    return f"Left: {played[0].teams}. Right: {played[1].teams}."
