"""The workshop web app: trust dynamics live in the browser (Solara).

A thin page over sim.workshop: pick a situation, press play, change one thing, watch.
Plain Solara components rather than Mesa's SolaraViz: the page runs two models in
lockstep, fires events into both, and exports the picture, which SolaraViz's
single-model page does not do. Start it with `trustsim app` (or `make app`).
Nothing a user types or uploads is evaluated as code: uploads are parsed as TOML and
validated like the command line's files; every error is a message in the page.
"""

from __future__ import annotations

import base64
import functools
import threading
import time
from typing import Any

import solara

from sim.scenario import ScenarioError, load_scenario_text
from sim.workshop import CONTROLS, EVENTS, LIBRARY, Workshop, library

NO_COMPARISON = "(none)"
LIVE_DPI = 80

scenario_name = solara.reactive("top_down_internal")
compare_name = solara.reactive(NO_COMPARISON)
seed = solara.reactive(1)
speed = solara.reactive(4.0)  # weeks per second
playing = solara.reactive(False)
values: solara.Reactive[dict[str, float]] = solara.reactive({})
uploaded: solara.Reactive[dict[str, Any]] = solara.reactive({})
error = solara.reactive("")
tick = solara.reactive(0)
workshop: solara.Reactive[Workshop | None] = solara.reactive(None)

_LIBRARY = library()


def _scenarios() -> dict[str, Any]:
    return {name: sc for name, (sc, _) in _LIBRARY.items()} | uploaded.value


def _describe(name: str) -> str:
    if name in _LIBRARY:
        return _LIBRARY[name][1]
    sc = uploaded.value.get(name)
    return sc.description if sc is not None else ""


def rebuild() -> None:
    """A fresh run (or pair) at week 0 from the chosen scenarios and the controls."""
    playing.value = False
    scenarios = _scenarios()
    base = scenarios[scenario_name.value]
    other = scenarios.get(compare_name.value) if compare_name.value != NO_COMPARISON else None
    try:
        workshop.value = Workshop(base, other, seed=seed.value, values=values.value)
        error.value = ""
    except ScenarioError as err:
        error.value = " ".join(err.lines)
    tick.value += 1


def choose_scenario(name: str) -> None:
    """Pick a situation: its own values go onto the sliders, and the run restarts."""
    scenario_name.value = name
    sc = _scenarios()[name]
    values.value = {c.key: c.read(sc) for c in CONTROLS}
    rebuild()


def choose_comparison(name: str) -> None:
    """Run a second scenario beside the first, from the same seed (or none)."""
    compare_name.value = name
    rebuild()


def choose_seed(value: int | None) -> None:
    """Another seed: other people, other chances; the same seed replays the same run."""
    seed.value = int(value or 1)
    rebuild()


def set_value(key: str, value: float) -> None:
    """A slider moved: the run restarts with the new value."""
    values.value = {**values.value, key: value}
    rebuild()


def step_once() -> None:
    """One week forward."""
    if workshop.value is not None:
        workshop.value.step()
        tick.value += 1


def fire(label: str) -> None:
    """An event button: it happens now, in every run on screen."""
    if workshop.value is not None:
        workshop.value.event(label)
        tick.value += 1


def upload(file: Any) -> None:
    """A dropped scenario file: TOML only, validated like the command line's."""
    name = str(file["name"])
    if not name.endswith(".toml"):
        error.value = f"{name}: only scenario files (.toml) can be uploaded"
        return
    try:
        text = file["data"].decode("utf-8")
        sc = load_scenario_text(text, name, base=LIBRARY)
    except UnicodeDecodeError:
        error.value = f"{name}: not a text file"
        return
    except ScenarioError as err:
        error.value = " ".join(err.lines)
        return
    uploaded.value = {**uploaded.value, sc.name: sc}
    choose_scenario(sc.name)


@solara.component
def Controls() -> None:
    """Sliders with plain labels above them; the model's names in the tooltips."""
    for control in CONTROLS:
        value = values.value.get(control.key, control.minimum)
        shown = f"{int(value)}" if control.integer else f"{value:g}"
        with solara.Tooltip(control.tooltip()), solara.Div(classes=["control"]):
            solara.Text(f"{control.label}: {shown}", style={"font-size": "0.9em"})
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


@solara.component
def Player() -> None:
    """Play, pause, step, reset and speed; the play loop steps every run in lockstep."""

    def loop(cancel: threading.Event) -> None:
        while playing.value and not cancel.is_set():
            started = time.perf_counter()
            step_once()
            time.sleep(max(0.0, 1.0 / speed.value - (time.perf_counter() - started)))

    solara.use_thread(loop, dependencies=[playing.value])
    with solara.Row():
        if playing.value:
            solara.Button("Pause", on_click=lambda: playing.set(False), color="warning")
        else:
            solara.Button("Play", on_click=lambda: playing.set(True), color="primary")
        solara.Button("Step", on_click=step_once, disabled=playing.value)
        solara.Button("Reset", on_click=rebuild)
    solara.SliderFloat("Speed (weeks per second)", value=speed, min=0.5, max=10.0, step=0.5)


NETWORK_KEY = (
    "**How to read the network:** circles are team members, the star is the coach, "
    "squares are managers; the darker brown a person, the more skilled. A line joins two "
    "people who work together: the darker and thicker, the more they trust each other."
)


@solara.component
def Picture() -> None:
    """The live network(s) and charts, redrawn every week."""
    shop = workshop.value
    _ = tick.value  # redraw on every step
    if shop is None:
        return
    solara.Markdown(f"## Week {shop.week}", style={"margin": "0"})
    solara.Image(shop.png(dpi=LIVE_DPI), width="100%")
    if shop.draws_a_network():
        solara.Markdown(NETWORK_KEY, style={"font-size": "0.9em", "margin": "0"})


@solara.component
def Export() -> None:
    """Export the current picture as PNG for the slides: a button, then a download link."""
    shop = workshop.value
    exported = solara.use_reactive(b"")
    name = f"trust-week-{shop.week if shop else 0}.png"
    solara.Button(
        "Export this picture (PNG)",
        on_click=lambda: exported.set(shop.png() if shop else b""),
        outlined=True,
    )
    if exported.value:
        data = base64.b64encode(exported.value).decode()
        solara.HTML(
            tag="a",
            unsafe_innerHTML=f"Download {name}",
            attributes={"href": f"data:image/png;base64,{data}", "download": name},
            style="margin-left: 1em; font-weight: 500",
        )


@solara.component
def Page() -> None:
    """The whole page: the situation and its controls on the left, the picture on the right."""
    solara.Title("Trust in teams: a workshop")
    if workshop.value is None and not error.value:
        choose_scenario(scenario_name.value)
    names = list(_scenarios())
    with solara.Columns([1, 2.4]):
        with solara.Column():
            solara.Markdown("### Situation")
            solara.Select(
                "Scenario", values=names, value=scenario_name.value, on_value=choose_scenario
            )
            solara.Markdown(_describe(scenario_name.value), style={"font-size": "0.9em"})
            solara.Select(
                "Side by side with",
                values=[NO_COMPARISON, *names],
                value=compare_name.value,
                on_value=choose_comparison,
            )
            if compare_name.value != NO_COMPARISON:
                solara.Markdown(
                    "Both run from the same seed: the same people and the same chances, so "
                    "what differs is the regime, not luck. " + _describe(compare_name.value),
                    style={"font-size": "0.9em"},
                )
            Player()
            solara.Markdown("### What happens now")
            for label in EVENTS:
                solara.Button(label, on_click=lambda label=label: fire(label), outlined=True)
            solara.Markdown("### Change one thing")
            Controls()
            solara.InputInt(
                "Seed (the same seed replays the same run)", value=seed.value, on_value=choose_seed
            )
            solara.FileDrop(label="Drop a scenario file (.toml) here", on_file=upload, lazy=False)
        with solara.Column():
            if error.value:
                solara.Error(error.value)
            Picture()
            if workshop.value is not None:
                Export()
