"""The workshop web app: a guided story, then a sandbox (Solara).

Start it with `trustsim app` (or `make app`). The page tells the story in chapters
(sim.workshop.story.CHAPTERS): each asks the room a question, records the room's guess,
plays the run, and reveals the answer in sentences generated from the numbers. The
sandbox puts any two scenarios side by side, each with its own sliders.

Every run is played ahead on the fast path (sim.workshop.play.play) and handed to the
player (player.vue), which moves a week cursor over it in the browser: playing never
waits for the server, and a slow machine skips frames instead of piling them up. An
event button replays the run from the same seed with the event at the next week.
Nothing a user uploads is evaluated or rendered as HTML: uploads are parsed as TOML,
may extend only the library, and are shown as text; every error is a sentence in
the page.

This module is the page's components; what the page remembers and what its controls
do live in sim/workshop/actions.py.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara

from sim.model.scenario import ScenarioError
from sim.workshop.actions import (
    NO_SIDE,
    chapter,
    choose,
    choose_seed,
    current,
    cursor,
    fire,
    go_chapter,
    guesses,
    left,
    moved,
    notice,
    previous,
    problem,
    record_guess,
    reveal_answer,
    revealed,
    right,
    safely,
    scenarios,
    seed,
    seed_box,
    session,
    set_value,
    start,
    step_chapter,
    target,
    upload,
)
from sim.workshop.exports import csv_text, page_data, picture_png
from sim.workshop.play import CONTROLS, EVENTS, Played, measures_shown
from sim.workshop.sentences import answer, differences, paired_summary, structure_note
from sim.workshop.story import CHAPTERS, SANDBOX, UPLOAD_LIMIT, plain_name
from sim.workshop.worlds import worlds_sentence


# ------------------------------------------------------------------ components
@solara.component_vue("player.vue")
def PlayerView(
    run: dict[str, Any],
    buttons: list[str],
    start_week: int,
    start_token: int,
    heard_week: int,
    event_moved: Callable[[int], None],
    event_chapter: Callable[[int], None],
    event_fired: Callable[[dict[str, Any]], None],
) -> None:
    """The week cursor, the networks and the charts, played in the browser."""


@solara.component_vue("upload.vue")
def UploadZone(
    label: str, accept: str, limit: int, testid: str, event_file: Callable[[dict[str, Any]], None]
) -> None:
    """A zone that opens a file dialog on click and takes a dropped file."""


CSS = Path(__file__).with_name("app.css")


def _options() -> dict[str, str]:
    """Plain name -> scenario key, for the sandbox's choosers (every name unique)."""
    out: dict[str, str] = {}
    for key, sc in scenarios().items():
        label = plain_name(key, sc)
        out[label if label not in out else f"{label} ({key})"] = key
    return out


@solara.component
def TopBar() -> None:
    """The title, the chapters, the sandbox."""
    with solara.Div(classes=["ts-top"]):
        solara.HTML(tag="h1", unsafe_innerHTML="Trust in teams")
        with solara.Div(classes=["ts-chapters"]):
            for i, ch in enumerate(CHAPTERS):
                solara.Button(
                    f"{i + 1}. {ch.title}" if i == chapter.value else f"{i + 1}",
                    on_click=functools.partial(go_chapter, i),
                    color="primary" if i == chapter.value else None,
                    outlined=i != chapter.value,
                    attributes={"title": ch.title, "data-testid": f"chapter-{i + 1}"},
                )
            solara.Button(
                "Sandbox",
                on_click=functools.partial(go_chapter, SANDBOX),
                color="primary" if chapter.value == SANDBOX else None,
                outlined=chapter.value != SANDBOX,
                attributes={"data-testid": "chapter-sandbox"},
            )
        solara.Text(
            "keys: space play/pause · ← → a week · ↓ ↑ next/previous chapter · f full screen",
            classes=["ts-small"],
        )


@solara.component
def Story(played: list[Played]) -> None:
    """A chapter: the setting, the question, the room's guess, the answer when revealed."""
    i = chapter.value
    ch = CHAPTERS[i]
    with solara.Div(classes=["ts-story"]):
        solara.HTML(tag="h2", unsafe_innerHTML=f"{i + 1}. {ch.title}")  # our own text
        solara.Text(ch.intro)
        solara.Div(children=[ch.question], classes=["ts-question"])
        solara.Text("The room's guess:", style={"font-weight": "600"})
        with solara.Row(style={"flex-wrap": "wrap"}):
            for k, option in enumerate(ch.answers):
                solara.Button(
                    option,
                    on_click=functools.partial(record_guess, i, option),
                    color="primary" if guesses.value.get(i) == option else None,
                    outlined=guesses.value.get(i) != option,
                    attributes={"data-testid": f"guess-{k}"},
                )
        solara.Text("Then press Play, and reveal the answer when the run is over.")
        solara.Button(
            "Reveal the answer",
            on_click=functools.partial(reveal_answer, i),
            color="success",
            attributes={"data-testid": "reveal"},
        )
        if i in revealed.value:
            verdict, text = answer(ch, played)
            guess = guesses.value.get(i)
            if guess is not None and verdict in ch.verdicts:
                expected = ch.answers[ch.verdicts.index(verdict)]
                text += f" The room guessed “{guess}”: " + (
                    "right." if expected == guess else f"the runs say “{expected}”."
                )
            solara.Div(children=[text], classes=["ts-answer"], attributes={"data-testid": "answer"})
            beyond = worlds_sentence(ch, played)
            if beyond:
                solara.Div(
                    children=[beyond], classes=["ts-answer"], attributes={"data-testid": "worlds"}
                )
        if i + 1 <= SANDBOX:
            nxt = CHAPTERS[i + 1].title if i + 1 < SANDBOX else "the sandbox"
            solara.Button(
                f"Next: {nxt} ↓",
                on_click=functools.partial(go_chapter, i + 1),
                text=True,
                attributes={"data-testid": "next-chapter"},
            )


@solara.component
def Sandbox() -> None:
    """Any two scenarios side by side, each with its own sliders; uploads; the seed."""
    options = _options()
    label_of = {key: label for label, key in options.items()}
    solara.Select(
        "Left side",
        values=list(options),
        value=label_of[left.value.key],
        on_value=lambda label: choose("left", options[label]),
    )
    solara.Text(f"model name: {left.value.key}", classes=["ts-small"])
    solara.Select(
        "Right side",
        values=[NO_SIDE, *options],
        value=label_of[right.value.key] if right.value else NO_SIDE,
        on_value=lambda label: choose("right", options.get(label, NO_SIDE)),
    )
    if right.value is not None:
        solara.Text(f"model name: {right.value.key}", classes=["ts-small"])
        solara.ToggleButtonsSingle(
            value=target.value,
            values=["left", "both", "right"],
            on_value=target.set,
        )
        solara.Text(
            {
                "left": "The sliders change the left side only.",
                "right": "The sliders change the right side only.",
                "both": "The sliders change both sides at once.",
            }[target.value],
            classes=["ts-small"],
        )
    shown = right.value if target.value == "right" and right.value is not None else left.value
    for control in CONTROLS:
        value = shown.value(control.key)
        text = f"{int(value)}" if control.integer else f"{value:g}"
        sides = ""
        if right.value is not None:
            a, b = left.value.value(control.key), right.value.value(control.key)
            if a != b:
                sides = f"  (left {a:g}, right {b:g})"
        with solara.Tooltip(control.tooltip()), solara.Div():
            solara.Text(f"{control.label}: {text}{sides}", classes=["ts-small"])
            if control.integer:
                solara.SliderInt(
                    "",
                    value=int(value),
                    min=int(control.minimum),
                    max=int(control.maximum),
                    step=int(control.step),
                    on_value=functools.partial(set_value, control.key),
                    thumb_label=False,
                )
            else:
                solara.SliderFloat(
                    "",
                    value=float(value),
                    min=control.minimum,
                    max=control.maximum,
                    step=control.step,
                    on_value=functools.partial(set_value, control.key),
                    thumb_label=False,
                )
    solara.InputInt(
        "Seed (the same seed replays the same run)", value=seed.value, on_value=choose_seed
    ).key(f"seed-{seed_box.value}")
    UploadZone(
        label="Open a scenario file (.toml) or a saved session (.json): click, or drop it here",
        accept=".toml,.json",
        limit=UPLOAD_LIMIT,
        testid="upload",
        event_file=upload,
    )


@solara.component
def OpenSession() -> None:
    """In the story: bring back a saved session (the sandbox's zone also takes scenarios)."""
    UploadZone(
        label="Bring back a saved session (.json): click, or drop it here",
        accept=".json",
        limit=UPLOAD_LIMIT,
        testid="open-session",
        event_file=upload,
    )


@solara.component
def Paired(played: list[Played]) -> None:
    """The sandbox's comparison: left minus right over the paired runs, per measure."""
    n = len(next(iter(played[0].finals.values())))
    with solara.Div(classes=["ts-answer"], attributes={"data-testid": "paired"}):
        solara.Text(
            f"Left minus right at week {played[0].weeks}, over {n} paired runs "
            "(the same people and chances on both sides):"
        )
        for line in paired_summary(played[0], played[1]):
            solara.Div(children=[line])


@solara.component
def Differences(played: list[Played]) -> None:
    """What differs between the two sides, in words (or that nothing does)."""
    if len(played) < 2:
        return
    diffs = differences(played[0].scenario, played[1].scenario)
    if diffs:
        text = "What differs between the sides (left vs right): " + "; ".join(diffs) + "."
    else:
        text = "Nothing differs between the two sides: they run the same scenario."
    note = structure_note(played)
    with solara.Div(classes=["ts-diff"], attributes={"data-testid": "differences"}):
        solara.Text(text)
        if note:
            solara.Text(" " + note)


@solara.component_vue("download.vue")
def DownloadView(
    label: str,
    testid: str,
    hint: str,
    payload: dict[str, Any],
    event_request: Callable[[Any], None],
) -> None:
    """A button whose file is made on the server when clicked, then saved by the browser."""


@solara.component
def Download(label: str, testid: str, name: str, mime: str, make: Callable[[], bytes]) -> None:
    """A download button: `make` builds the file only when the button is clicked."""
    payload: solara.Reactive[dict[str, Any]] = solara.use_reactive({})

    @safely
    def request(_: Any = None) -> None:
        data = base64.b64encode(make()).decode("ascii")
        token = payload.value.get("token", 0) + 1
        payload.set({"name": name, "mime": mime, "data": data, "token": token})

    DownloadView(
        label=label,
        testid=testid,
        hint=f"saves {name}",
        payload=payload.value,
        event_request=request,
    )


@solara.component
def Exports(played: list[Played]) -> None:
    """The picture at the current week, the data behind the charts, the session."""
    week = min(cursor.value, played[0].weeks)
    with solara.Div():
        Download(
            f"Picture at week {week} (PNG)",
            "export-png",
            f"trust-week-{week}.png",
            "image/png",
            lambda: picture_png(played, week),
        )
        Download(
            "Data behind the charts (CSV)",
            "export-csv",
            "trust-data.csv",
            "text/csv",
            lambda: csv_text(played).encode("utf-8"),
        )
        Download(
            "Save this session",
            "save-session",
            "trust-workshop.json",
            "application/json",
            lambda: session().dumps().encode("utf-8"),
        )


@solara.component
def Page() -> None:
    """The whole page: the story or the sandbox on the left, the player on the right."""
    solara.Title("Trust in teams: a workshop")
    solara.Style(CSS)
    try:
        played = current()
    except ScenarioError as err:  # not expected: every change is checked before it is made
        solara.Error(" ".join(err.lines))
        return
    # The same runs give the same object: a message or a guess re-renders the page but
    # must not resend the runs (the player would go back to its start week).
    key = (tuple(id(p) for p in played), id(previous.value))
    data = solara.use_memo(lambda: page_data(played, previous.value), dependencies=[key])
    with solara.Div(classes=["ts-page"]):
        TopBar()
        with solara.Columns([1, 2.6], gutters_dense=True):
            with solara.Div(classes=["ts-side-panel"]):
                if problem.value:
                    solara.Div(
                        children=[problem.value],
                        classes=["ts-problem-box"],
                        attributes={"data-testid": "problem"},
                    )
                if notice.value:
                    solara.Text(notice.value, classes=["ts-small"])
                if chapter.value < SANDBOX:
                    Story(played)
                    OpenSession()
                else:
                    Sandbox()
                    if len(played) > 1:
                        Paired(played)
                Exports(played)
                solara.Text(
                    "Each band is 8 of 10 of "
                    f"{data['replications']} runs of the same setup (other people, other "
                    "chances); the bold line is the run you watch. "
                    + ", ".join(measures_shown().values())
                    + ": all from 0 to 1.",
                    classes=["ts-small"],
                )
            with solara.Div(classes=["ts-stage"]):
                Differences(played)
                PlayerView(
                    run=data,
                    buttons=list(EVENTS),
                    start_week=start.value[0],
                    start_token=start.value[1],
                    heard_week=cursor.value,  # where a player mounted again resumes
                    event_moved=moved,
                    event_chapter=step_chapter,
                    event_fired=fire,
                )
