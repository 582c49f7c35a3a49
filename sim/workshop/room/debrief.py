"""The debrief of a workshop room: sentences, figures, and the files a trainer takes home.

The room's run is set beside two things the story mode also shows: the band of many
simulated replications of the same scenario (sim.workshop.play.play), and the "twin", the
same team fully simulated from the same seed with the same events, which differs from
the room's run only by the room's choices. Every sentence is generated from the numbers
(the story mode's `rise_sentence` and `recovery_sentence`, and `twin_sentence` here).

Exports: a PDF (the sentences, then the figures), a ZIP pack (each figure as PNG, the
CSV tables, the sentences as text, and the session file that replays the room), and the
weekly CSV on its own.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import textwrap
import zipfile
from typing import Any

import numpy as np

from sim.model import measures
from sim.model.events import button_label
from sim.model.fast import columns
from sim.workshop.exports import SIDE_COLOURS, picture_png
from sim.workshop.play import Played, Side, measures_shown, play, shown_line
from sim.workshop.room.game import Room
from sim.workshop.sentences import NEGLIGIBLE, recovery_sentence, rise_sentence, signed, value_at

__all__ = ["Debrief", "debrief", "pdf_bytes", "session_bytes", "weeks_csv", "zip_bytes"]

ROOM_TITLE = "The room (people choosing)"
TWIN_TITLE = "The same team fully simulated (same seed, same events)"


@dataclasses.dataclass
class Debrief:
    """What the debrief says and shows, from a room's weeks played so far."""

    room: Played  # the room's run, with the band of simulated replications
    twin: Played  # the fully simulated run from the same seed and events
    weeks: int  # weeks played
    sentences: list[tuple[str, str]]  # (heading, sentence)
    choices: dict[str, dict[str, Any]]


def _played(room: Room) -> tuple[Played, Played, int]:
    """The twin played ahead with its band, and the room's run in the same shape."""
    weeks = room.played()
    sc = room.replay_scenario()
    twin = play(Side("room", sc), room.seed)
    twin = dataclasses.replace(twin, title=TWIN_TITLE)
    table = room.table[: weeks + 1]
    lines = {k: shown_line(table, k) for k in measures_shown()}
    network = dataclasses.replace(
        twin.network,
        skill=[f[0] for f in room.frames[: weeks + 1]],
        trust=[f[1] for f in room.frames[: weeks + 1]],
    )
    # Both as far as the room has played: every sentence and figure stops at that week.
    twin = dataclasses.replace(twin, weeks=weeks)
    mine = dataclasses.replace(twin, title=ROOM_TITLE, lines=lines, network=network)
    return mine, twin, weeks


def twin_sentence(room: Played, twin: Played, key: str, week: int) -> tuple[str, str]:
    """The room's run against its twin at `week`: what the room's choices changed.

    Returns:
        ("higher" | "lower" | "about the same" | "does not apply", the sentence).
    """
    label = measures_shown()[key]
    a, b = value_at(room.lines[key], week), value_at(twin.lines[key], week)
    if math.isnan(a) or math.isnan(b):
        return "does not apply", f"{label}: does not apply here (nobody holds that role)."
    d = a - b
    verdict = "higher" if d > NEGLIGIBLE else "lower" if d < -NEGLIGIBLE else "about the same"
    words = "about the same as" if verdict == "about the same" else f"{verdict} than"
    return verdict, (
        f"{label} at week {week}: {a:.2f} with the room's choices, {words} the {b:.2f} of the "
        f"same team fully simulated from the same seed (room minus simulated "
        f"{signed(d)}): the people, their chances and the events were the same, "
        "so the difference is the room's choices."
    )


def _rate(part: int, whole: int) -> str:
    return f"{part} of {whole} ({part / whole:.0%})"


def choice_sentences(room: Room) -> list[tuple[str, str]]:
    """The room's own choices against the simulated members', in sentences.

    The room's are the seats' own choices, from the week each joined; a choice the
    timer made for a seat is counted apart (it is the model's).
    """
    c = room.compare_choices()
    r, s, t = c["room"], c["simulated"], c["timer"]
    if r["choices"]:
        asking = (
            f"The room asked for help on {_rate(r['asks'], r['choices'])} of the needs where "
            "someone could help"
        )
    else:
        asking = "The room has not yet chosen whom to ask, or whether to ask"
    if s["people"] == 0:
        asking += "; there are no simulated members (every member has a seat)."
    elif s["choices"]:
        asking += (
            f"; the {s['people']} simulated members asked on {_rate(s['asks'], s['choices'])}."
        )
    else:
        asking += "; the simulated members had no such need."
    if r["requests"]:
        helping = (
            f"The room accepted {_rate(r['accepted'], r['requests'])} of the requests it answered"
        )
    else:
        helping = "The room has answered no request"
    if s["people"] == 0:
        helping += "."
    elif s["requests"]:
        helping += f"; the simulated members accepted {_rate(s['accepted'], s['requests'])}."
    else:
        helping += "; no request reached the simulated members."
    out = [("Asking", asking), ("Helping", helping)]
    bolder = sum(1 for x in room.choices_log if x["kind"] == "ask" and _bolder(x))
    quieter = sum(1 for x in room.choices_log if x["kind"] == "ask" and _quieter(x))
    timer = t["choices"] + t["requests"]
    out.append(
        (
            "Against the model",
            f"Where the model would have kept the need silent, the room asked {bolder} "
            f"time{'s' * (bolder != 1)}; where it would have asked, the room stayed silent "
            f"{quieter} time{'s' * (quieter != 1)}. {timer} of the seats' choice"
            f"{'s were' if timer != 1 else ' was'} left to the timer (the simulation chose).",
        )
    )
    silent = room.fell_silent()
    if silent:
        seated = [n for n, seat in silent if seat]
        others = [n for n, seat in silent if not seat]
        parts = []
        if seated:
            parts.append(f"{_names(seated)} in the room")
        if others:
            parts.append(f"{_names(others)} among the simulated members")
        text = (
            f"Fell silent (kept at least 3 of their last 4 needs to themselves): "
            f"{' and '.join(parts)}."
        )
    else:
        text = "Nobody fell silent (kept at least 3 of their last 4 needs to themselves)."
    out.append(("Who fell silent", text))
    return out


def _bolder(x: dict[str, Any]) -> bool:
    return x["by"] == "participant" and x.get("asked") is not None and x.get("model") is None


def _quieter(x: dict[str, Any]) -> bool:
    return x["by"] == "participant" and x.get("asked") is None and x.get("model") is not None


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


RECOVERY_WEEKS = 2  # weeks after an event before the debrief says how much came back


def debriefed() -> list[str]:
    """The measures the debrief speaks of, in its order (sim.model.measures: Measure.debrief)."""
    said = sorted((m for m in measures.registered() if m.debrief), key=lambda m: m.debrief)
    return [m.name for m in said]


def debrief(room: Room) -> Debrief:
    """The debrief of the weeks played so far (from a copy taken under the room's lock)."""
    room = room.snapshot()
    mine, twin, weeks = _played(room)
    if weeks == 0:
        nothing = [("Not yet", "No week has been played yet: the debrief begins after week 1.")]
        return Debrief(mine, twin, weeks, nothing, room.compare_choices())
    sentences = choice_sentences(room)
    shown = measures_shown()
    for key in debriefed():
        verdict, text = rise_sentence(mine, key, weeks)
        if verdict == "does not apply":
            continue
        sentences.append((shown[key], text))
        heading = f"{shown[key]}: the room against the same team simulated"
        sentences.append((heading, twin_sentence(mine, twin, key, weeks)[1]))
    # After the fired events of each week: in the room's run (the run watched), and in
    # typical runs; events of the same week share one sentence (their effects mix).
    key = "within_team_trust" if math.isnan(mine.lines["trust_in_coach"][0]) else "trust_in_coach"
    by_week: dict[int, list[str]] = {}
    for ev in room.fired:
        if ev.at <= weeks:
            by_week.setdefault(ev.at, []).append(button_label(ev))
    for at, labels in sorted(by_week.items()):
        heading = f"After week {at}: {' and '.join(labels)}"
        if weeks - at < RECOVERY_WEEKS:
            sentences.append(
                (
                    heading,
                    f"Too soon to say how {shown[key].lower()} recovers: "
                    f"{weeks - at} week{'s' * (weeks - at != 1)} played since.",
                )
            )
            continue
        for watched in (True, False):
            _, text = recovery_sentence(mine, key, at, watched=watched)
            sentences.append((heading, text))
    return Debrief(mine, twin, weeks, sentences, room.compare_choices())


# ------------------------------------------------------------------------ files
def weeks_csv(room: Room) -> str:
    """Week by week, each measure of the room's run and of its twin (long, tidy)."""
    room = room.snapshot()
    weeks = room.played()
    twin = room.twin().table
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["week", "measure", "room", "simulated"])
    for t in range(weeks + 1):
        for c, name in enumerate(columns()[1:], start=1):
            w.writerow([t, name, _num(room.table[t, c]), _num(twin[t, c])])
    return out.getvalue()


def people_csv(room: Room) -> str:
    """Per person: seated or simulated, and what they did (needs, asks, answers)."""
    room = room.snapshot()
    org = room.state.org
    seats = {s.person: s for s in room.seats}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    keys = list(room.tally)
    w.writerow(["person", "name", "seat", "team", *keys])
    for i in range(org.n_members):
        seat = seats.get(i)
        w.writerow(
            [
                i,
                room.names[i],
                seat.number if seat else "",
                int(org.team[i]),
                *(int(room.tally[k][i]) for k in keys),
            ]
        )
    return out.getvalue()


def _num(v: float) -> str:
    return "" if v != v else repr(float(v))


def json_bytes(room: Room) -> bytes:
    """The debrief's sentences and the choices compared, for the facilitator's screen."""
    room = room.snapshot()
    d = debrief(room)
    return json.dumps({"weeks": d.weeks, "sentences": d.sentences, "choices": d.choices}).encode()


def session_bytes(room: Room) -> bytes:
    """The session file that replays the room (JSON)."""
    return json.dumps(room.session(), indent=1).encode()


def figures(d: Debrief, room: Room) -> dict[str, bytes]:
    """The debrief's pictures as PNG: the run against its twin, and the choices."""
    return {
        "room-and-simulated.png": picture_png([d.room, d.twin], d.weeks),
        "choices.png": _choices_png(d),
        "seats.png": _seats_png(room, d.weeks),
    }


def _figure(size: tuple[float, float]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=130)
    return buffer.getvalue()


def _choices_png(d: Debrief) -> bytes:
    fig = _figure((11, 5.5))
    ax = fig.add_subplot()
    rates = [("ask_rate", "asked when someone\ncould help"), ("accept_rate", "accepted a request"),
             ("success_rate", "help that worked")]  # fmt: skip
    x = np.arange(len(rates))
    for k, (side, colour, label) in enumerate(
        (
            ("room", SIDE_COLOURS[0], "the room"),
            ("simulated", SIDE_COLOURS[1], "simulated members"),
        )
    ):
        values = [d.choices[side][key] for key, _ in rates]
        heights = [np.nan if v is None else v for v in values]
        bars = ax.bar(x + (k - 0.5) * 0.38, heights, 0.36, color=colour, label=label,
                      hatch="" if k == 0 else "//", edgecolor="white")  # fmt: skip
        for b, v in zip(bars, values, strict=True):
            text = "none" if v is None else f"{v:.0%}"
            ax.text(b.get_x() + b.get_width() / 2, (0 if v is None else v) + 0.02, text,
                    ha="center", fontsize=14)  # fmt: skip
    ax.set_xticks(x, [label for _, label in rates], fontsize=14)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share", fontsize=14)
    ax.tick_params(labelsize=13)
    ax.legend(fontsize=14, loc="upper right")
    ax.set_title(
        f"The room's choices against the simulated members', weeks 1 to {d.weeks}",
        fontsize=16,
        loc="left",
    )
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _seats_png(room: Room, weeks: int) -> bytes:
    fig = _figure((11, 5.5))
    ax = fig.add_subplot()
    for s in room.seats:
        skill = [h[0] for h in room.history[s.person]]
        ax.plot(np.arange(len(skill)) + (weeks + 1 - len(skill)), skill, lw=2, label=s.name)
    ax.set_xlim(0, max(weeks, 1))
    ax.set_ylim(0, 1)
    ax.set_xlabel("week", fontsize=14)
    ax.set_ylabel("mean skill", fontsize=14)
    ax.tick_params(labelsize=13)
    ax.set_title("Each seat's skill over the weeks", fontsize=16, loc="left")
    if room.seats:
        ax.legend(fontsize=11, ncols=min(4, len(room.seats)), loc="lower right")
    ax.grid(alpha=0.3)
    return _png(fig)


def text(d: Debrief, room: Room) -> str:
    """The debrief in words: what was played, then each sentence under its heading."""
    head = (
        f"{room.title} (scenario {room.scenario.name}); seed {room.seed}; "
        f"{d.weeks} of {room.weeks} weeks played; {len(room.seats)} seats."
    )
    body = [f"{h}: {s}" for h, s in d.sentences]
    return "\n\n".join([head, *body]) + "\n"


def pdf_bytes(room: Room) -> bytes:
    """The debrief as a PDF: a page of sentences, then one page per figure."""
    room = room.snapshot()
    from matplotlib.backends.backend_pdf import PdfPages

    d = debrief(room)
    out = io.BytesIO()
    with PdfPages(out) as pdf:
        fig = _figure((11.7, 8.3))
        fig.text(0.04, 0.96, "Debrief: " + room.title, fontsize=20, va="top", weight="bold")
        lines = []
        for paragraph in text(d, room).split("\n\n"):
            lines += [*textwrap.wrap(paragraph, 120), ""]
        fig.text(0.04, 0.90, "\n".join(lines), fontsize=10, va="top", family="DejaVu Sans")
        pdf.savefig(fig)
        for png in figures(d, room).values():
            import matplotlib.image as mpimg

            page = _figure((11.7, 8.3))
            ax = page.add_subplot()
            ax.imshow(mpimg.imread(io.BytesIO(png), format="png"))
            ax.set_axis_off()
            pdf.savefig(page)
    return out.getvalue()


def zip_bytes(room: Room) -> bytes:
    """The pack: each figure as PNG, the CSV tables, the sentences, and the session file."""
    room = room.snapshot()
    d = debrief(room)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, png in figures(d, room).items():
            z.writestr(name, png)
        z.writestr("weeks.csv", weeks_csv(room))
        z.writestr("people.csv", people_csv(room))
        z.writestr("debrief.txt", text(d, room))
        z.writestr("session.json", session_bytes(room))
    return out.getvalue()
