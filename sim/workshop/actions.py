"""What the workshop page remembers and what its controls do, without the page itself.

The page's state lives here as Solara reactive values (the chapter, the sides, the
seed, the fired events, the uploads, the guesses, the player's week), with the actions
that change it: open a chapter, choose a side, move a slider, fire an event, upload a
file, save and bring back a session. Each action that can fail says so in a sentence
in the page (`safely`), never with a traceback. The components (sim/workshop/app.py)
only read this state and call these actions, so a test drives the page's logic
without a browser.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
from collections.abc import Callable
from typing import Any

import solara

from sim.model.events import Event
from sim.model.scenario import Scenario, ScenarioError
from sim.workshop.play import EVENTS, Played, Side, idle_note, play
from sim.workshop.session import SavedEvent, SavedSide, Session, fired_events
from sim.workshop.story import CHAPTERS, SANDBOX, UPLOAD_LIMIT, library, load_upload

log = logging.getLogger(__name__)

NO_SIDE = "(only one side)"
_LIBRARY = library()

chapter = solara.reactive(0)
left: solara.Reactive[Side] = solara.reactive(Side("no_coaching", _LIBRARY["no_coaching"][0]))
right: solara.Reactive[Side | None] = solara.reactive(None)
seed = solara.reactive(1)
fired: solara.Reactive[tuple[SavedEvent, ...]] = solara.reactive(())
uploads: solara.Reactive[dict[str, tuple[Scenario, str]]] = solara.reactive({})
guesses: solara.Reactive[dict[int, str]] = solara.reactive({})
revealed: solara.Reactive[frozenset[int]] = solara.reactive(frozenset())
target = solara.reactive("both")  # which side the sliders change: "left", "right", "both"
problem = solara.reactive("")
notice = solara.reactive("")
start = solara.reactive((0, 0))  # (week the player starts at, a token that moves it there)
cursor = solara.reactive(0)  # the week the player last stopped at
previous: solara.Reactive[tuple[Played, ...] | None] = solara.reactive(None)
seed_box = solara.reactive(0)  # bumped to redraw the seed box with the seed in use


@functools.lru_cache(maxsize=64)
def _played(side: Side, seed_value: int, events: tuple[Event, ...]) -> Played:
    return play(side, seed_value, events)


def scenarios() -> dict[str, Scenario]:
    """Every scenario a side can run, by key: the library's, then the uploads'."""
    return {k: sc for k, (sc, _) in _LIBRARY.items()} | {k: v[0] for k, v in uploads.value.items()}


def _sides() -> list[Side]:
    return [left.value] + ([right.value] if right.value is not None else [])


def current() -> list[Played]:
    """The sides on screen, played ahead (cached: a replay costs nothing)."""
    events = tuple(fired_events(fired.value))
    return [_played(side, seed.value, events) for side in _sides()]


def safely(action: Callable[..., None]) -> Callable[..., None]:
    """A page action whose failure is a sentence in the page, never a traceback."""

    @functools.wraps(action)
    def run(*args: Any) -> None:
        try:
            action(*args)
        except ScenarioError as err:
            problem.value = " ".join(err.lines)
        except Exception as exc:  # the room must never see a traceback
            log.exception("workshop action failed")
            problem.value = f"That did not work ({type(exc).__name__}: {exc}); nothing was changed."

    return run


def _changed(week: int | None = None) -> None:
    """The sides change: clear the last problem; the player starts at `week` (or stays).

    Called before the sides change when `week` is given. Each change of a reactive value
    renders the page, so the start then reaches the player with the old runs, and the
    new runs arrive under a start already applied: set after them, it came a render
    later and took the player back from the week a quick user had moved it to.
    """
    problem.value = ""
    notice.value = ""
    # -1: the player stays at its own week (it knows it better than the server does).
    start.value = (-1 if week is None else week, start.value[1] + 1)


def _remember() -> None:
    try:
        previous.value = tuple(current())
    except ScenarioError:
        previous.value = None


def _side(name: str) -> Side:
    return Side(name, scenarios()[name])


@safely
def go_chapter(index: int) -> None:
    """Open a chapter (or the sandbox): its scenarios, no events, the cursor at week 0."""
    index = max(0, min(SANDBOX, index))
    _changed(0)
    chapter.value = index
    fired.value = ()
    previous.value = None
    revealed.value = revealed.value - {index}  # a chapter opened again asks again
    if index < SANDBOX:
        ch = CHAPTERS[index]
        left.value = _side(ch.left)
        right.value = _side(ch.right) if ch.right else None
    cursor.value = 0


def step_chapter(delta: int) -> None:
    """The keyboard's next / previous chapter."""
    go_chapter(chapter.value + int(delta))


@safely
def choose(which: str, name: str) -> None:
    """A side's scenario chosen in the sandbox; its sliders start from its own values."""
    _remember()
    if which == "left":
        left.value = _side(name)
    else:
        right.value = None if name == NO_SIDE else _side(name)
    fired.value = ()
    _changed()


@safely
def set_value(key: str, value: float) -> None:
    """A slider moved: it changes the side(s) it says it changes; the last run stays faint."""
    new_left = left.value.with_value(key, value) if target.value in ("left", "both") else None
    new_right = None
    if right.value is not None and target.value in ("right", "both"):
        new_right = right.value.with_value(key, value)
    # Check both before changing either: a value one side refuses changes neither.
    for side in (new_left, new_right):
        if side is not None:
            side.scenario()
    _remember()
    if new_left is not None:
        left.value = new_left
    if new_right is not None:
        right.value = new_right
    _changed()


@safely
def choose_seed(value: int | None) -> None:
    """Other people, other chances; the same seed replays the same run."""
    v = int(value or 0)
    if not 0 <= v <= 2**31:
        seed_box.value += 1  # the box shows the seed in use again
        raise ScenarioError([f"Seed {v}: choose a whole number from 0 to {2**31}"])
    _remember()
    seed.value = v
    _changed()


@safely
def fire(message: dict[str, Any]) -> None:
    """An event button: the run branches at the player's week; every side gets it."""
    label, week = str(message.get("label")), int(message.get("week", 0))
    if label not in EVENTS:
        raise ScenarioError([f"{label!r} is not an event"])
    weeks = current()[0].weeks
    if week >= weeks:
        raise ScenarioError(["The run is over: go back a few weeks to fire an event."])
    _changed(week)
    _remember()  # the run before the event stays as the faint line
    fired.value = (*fired.value, SavedEvent(label=label, at=week + 1))
    cursor.value = week
    notice.value = idle_note(label, _sides())


def moved(week: int) -> None:
    """The player stopped at a week (pause, step, end): exports and events use it."""
    cursor.value = int(week)


@safely
def upload(file: dict[str, Any]) -> None:
    """A scenario file, chosen or dropped: validated, then offered as a side."""
    name = str(file.get("name", "file"))[:120]
    if int(file.get("size", 0)) > UPLOAD_LIMIT:
        raise ScenarioError([f"{name}: too big for a scenario file (at most 64 kB)"])
    try:
        data = base64.b64decode(str(file.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        raise ScenarioError([f"{name}: the file did not arrive whole; try again"]) from None
    if name.lower().endswith(".json"):
        load_session(name, data)
        return
    sc, text = load_upload(name, data)
    key = sc.name
    if key in _LIBRARY:
        key = f"{sc.name} (uploaded)"
        sc = sc.with_(name=key)
    uploads.value = {**uploads.value, key: (sc, text)}
    chapter.value = SANDBOX
    _remember()
    left.value = Side(key, sc)
    fired.value = ()
    _changed()
    notice.value = f"Opened {name}: “{key}” is now on the left."


def session() -> Session:
    """The current setup, to save."""
    sides = [SavedSide(key=s.key, values=dict(s.values)) for s in _sides()]
    return Session(
        chapter=chapter.value,
        left=sides[0],
        right=sides[1] if len(sides) > 1 else None,
        seed=seed.value,
        events=list(fired.value),
        uploads={k: text for k, (_, text) in uploads.value.items()},
        guesses=guesses.value,
    )


def load_session(name: str, data: bytes) -> None:
    """A saved session brought back: its uploads, sides, sliders, seed and events."""
    saved = Session.loads(data, name)
    found = dict(uploads.value)
    for key, text in saved.uploads.items():
        sc, _ = load_upload(f"{key}.toml", text.encode("utf-8"))
        found[key] = (sc.with_(name=key), text)
    known = {k: sc for k, (sc, _) in _LIBRARY.items()} | {k: v[0] for k, v in found.items()}

    def side(s: SavedSide) -> Side:
        if s.key not in known:
            raise ScenarioError([f"{name}: {s.key!r} is not a scenario of the library"])
        out = Side(s.key, known[s.key])
        for key, value in s.values.items():
            out = out.with_value(key, value)
        out.scenario()
        return out

    new_left = side(saved.left)
    new_right = side(saved.right) if saved.right else None
    _changed(0)
    uploads.value = found
    chapter.value = saved.chapter
    left.value, right.value = new_left, new_right
    seed.value = saved.seed
    fired.value = tuple(saved.events)
    guesses.value = dict(saved.guesses)
    previous.value = None
    cursor.value = 0
    notice.value = f"Brought back the session saved in {name}."


def record_guess(index: int, option: str) -> None:
    """The room's guess for a chapter, recorded (and saved with the session)."""
    guesses.value = {**guesses.value, index: option}


def reveal_answer(index: int) -> None:
    """Show a chapter's answer."""
    revealed.value = revealed.value | {index}
