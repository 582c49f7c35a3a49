"""The event registry (sim.model.events) reaches every consumer, and nothing bypasses it.

A throwaway event type, registered here and removed after each test, must be allowed
in a scenario file, applied at its week on the fast path and by TrustModel alike,
offered as a button in the app and the room, described in plain words, warned about
by the CLI when it does nothing, and refused by name by the reference model. The
sources under sim/ must hold no list of event names of their own.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_names import name_lists

from sim import Scenario, TrustModel, load_scenario, simulate
from sim.model import events
from sim.model.events import (
    EVENT_TYPES,
    REGISTRY,
    Button,
    EventType,
    button_label,
    does_nothing,
    event_table,
    plain_words,
    register,
)
from sim.model.fast import COLUMNS
from sim.model.scenario import Event, ScenarioError
from sim.model.state import TrustState
from sim.workshop import play, sentences, session
from sim.workshop.room.core import EVENTS as ROOM_EVENTS
from sim.workshop.room.errors import RoomError
from sim.workshop.room.game import Room
from tests.helpers_cli import in_process

ROOT = Path(__file__).resolve().parent.parent
ODD = ROOT / "docs" / "ODD.md"
REAL_TYPES = ("breach", "sponsor_withdraws", "sponsor_returns", "turnover_wave", "reorg")


def _replace_managers(state: TrustState, ev: Event) -> None:
    """New front-line managers: everyone's trust in them restarts from its baseline."""
    towards = np.isin(state.net.dst, state.org.team_manager)
    state.trust[towards] = state.baseline[towards]


@pytest.fixture
def managers_reset() -> Iterator[EventType]:
    """A throwaway event type, in the registry for one test only."""
    entry = register(
        EventType(
            "managers_reset",
            "every front-line manager is replaced: trust in them restarts at baseline",
            _replace_managers,
            "the managers are replaced",
            idle=lambda ev, sc: "nobody trusts a manager" if sc.management_trust_scale == 0 else "",
            buttons=(
                Button("replace_managers", app="The managers are replaced", room="New managers"),
            ),
        )
    )
    try:
        yield entry
    finally:
        events.unregister("managers_reset")
    assert "managers_reset" not in EVENT_TYPES


def _scenario(**params: object) -> Scenario:
    return Scenario(members=12, levels=2, coach="internal", sponsor="top", steps=12).with_(**params)


def test_the_registry_holds_the_five_event_types_in_order() -> None:
    assert tuple(EVENT_TYPES) == REAL_TYPES
    assert list(REGISTRY) == list(REAL_TYPES)


def test_a_scenario_file_with_the_new_type_validates(
    managers_reset: EventType, tmp_path: Path
) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[events]]\ntype = "managers_reset"\nat = 3\n', encoding="utf-8")
    (ev,) = load_scenario(path).events
    assert (ev.type, ev.at) == ("managers_reset", 3)


def test_an_unregistered_type_is_refused_with_the_registered_ones(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[events]]\ntype = "managers_reset"\nat = 3\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    line = str(err.value)
    assert 'events[0].type = "managers_reset" is not allowed' in line
    assert all(f'"{name}"' in line for name in REAL_TYPES)


def test_the_new_type_is_listed_when_a_type_is_refused(managers_reset: EventType) -> None:
    with pytest.raises(ScenarioError, match='"managers_reset"'):
        _scenario().with_(events=[{"type": "explosion", "at": 2}])


def test_simulate_and_trust_model_apply_the_new_type_at_its_week_bit_for_bit(
    managers_reset: EventType,
) -> None:
    sc = _scenario(events=[{"type": "managers_reset", "at": 6}])
    run = simulate(sc, 3)
    model = TrustModel(sc, rng=3)
    while model.running:
        model.step()
    pd.testing.assert_frame_equal(
        run.steps, model.datacollector.get_model_vars_dataframe(), check_exact=True
    )
    assert run.summary.keys() == model.summary().keys()
    without = simulate(_scenario(), 3).table
    assert np.array_equal(run.table[:6], without[:6], equal_nan=True)  # nothing before week 6
    manager = COLUMNS.index("trust_in_managers")
    assert run.table[6, manager] != without[6, manager]  # ... and at week 6 it happens


def test_trigger_applies_the_new_type(managers_reset: EventType) -> None:
    model = TrustModel(_scenario(), rng=1)
    for _ in range(5):
        model.step()
    towards = np.isin(model.net.dst, model.org.team_manager)
    assert not np.array_equal(model.trust[towards], model.baseline[towards])
    model.trigger("managers_reset")
    assert np.array_equal(model.trust[towards], model.baseline[towards])


def test_an_event_type_may_ask_the_fast_path_to_stop_after_its_week_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sim.model import kernels

    seen: list[int] = []
    real = kernels.run_weeks

    def counting(t, last, *args, **kw):  # type: ignore[no-untyped-def]
        seen.append(last)
        return real(t, last, *args, **kw)

    entry = register(
        EventType(
            "noted",
            "nothing happens; the fast path stops before and after its week",
            lambda state, ev: None,
            "nothing happens",
            stretch_ends=(-1, 0),
        )
    )
    try:
        quiet = _scenario(turnover_rate=0.0)  # no leavers: Python steps in only for events
        sc = quiet.with_(events=[{"type": "noted", "at": 5}])
        monkeypatch.setattr(kernels, "run_weeks", counting)
        run = simulate(sc, 1)
        assert entry.stretch_ends == (-1, 0)
        assert seen == [4, 5, 12], seen  # stretches end before week 5 and after it
        seen.clear()
        simulate(quiet.with_(events=[{"type": "reorg", "at": 5}]), 1)
        assert seen == [4, 12], seen  # a type that asks only for the week before
        assert np.array_equal(run.table, simulate(quiet, 1).table, equal_nan=True)
    finally:
        events.unregister("noted")


def test_the_app_and_the_room_offer_the_new_buttons(managers_reset: EventType) -> None:
    from sim.workshop import app

    assert "The managers are replaced" in list(app.EVENTS)
    assert session.fired_events([session.SavedEvent(label="The managers are replaced", at=4)]) == [
        Event(type="managers_reset", at=4)
    ]
    assert ROOM_EVENTS["replace_managers"].label == "New managers"
    sc = _scenario()
    room = Room(sc, 8)
    assert room.host_view()["events"]["replace_managers"] == "New managers"
    room.start()
    while room.phase != "results":
        room.next()
    ev = room.fire("replace_managers")
    assert ev == Event(type="managers_reset", at=2)
    assert room.host_view()["fired"] == [{"at": 2, "label": "New managers"}]
    assert button_label(ev, "app") == "The managers are replaced"


def test_a_type_without_a_room_button_is_not_offered_in_the_room() -> None:
    assert "turnover_wave" not in {b.type for b in ROOM_EVENTS.values()}
    assert "Half the team is replaced" in play.EVENTS
    assert "sponsor_returns" not in {b.type for b in play.EVENTS.values()}


def test_the_new_type_has_plain_words(managers_reset: EventType) -> None:
    ev = Event(type="managers_reset", at=5)
    assert plain_words(ev) == "the managers are replaced"
    a, b = _scenario(), _scenario(events=[ev])
    assert any("week 5: the managers are replaced" in line for line in sentences.differences(a, b))


def test_the_no_op_sentence_is_said_by_the_room_and_the_app(managers_reset: EventType) -> None:
    distrusted = _scenario(management_trust_scale=0.0)
    ev = Event(type="managers_reset", at=2)
    assert does_nothing(ev, distrusted) == "nobody trusts a manager"
    assert does_nothing(ev, _scenario()) == ""
    with pytest.raises(RoomError, match="nobody trusts a manager") as err:
        Room(distrusted, 1).fire("replace_managers")
    assert err.value.status == 409
    side = play.Side("distrusted", distrusted)
    note = play.idle_note("The managers are replaced", [side])
    assert "nobody trusts a manager" in note
    assert play.idle_note("The managers are replaced", [play.Side("x", _scenario())]) == ""


def test_the_app_notes_a_button_that_does_nothing() -> None:
    from sim.workshop import actions

    actions.go_chapter(0)  # the first chapter: a team with no coaching, alone on screen
    try:
        actions.fire({"label": "The coach breaches trust", "week": 3})
        assert not actions.problem.value
        assert "it has no coach" in actions.notice.value
        actions.fire({"label": "Half the team is replaced", "week": 4})
        assert not actions.notice.value
    finally:
        actions.go_chapter(0)


def test_the_no_op_sentence_is_the_cli_warning(
    managers_reset: EventType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        'management_trust_scale = 0.0\nsteps = 4\n[[events]]\ntype = "managers_reset"\nat = 2\n',
        encoding="utf-8",
    )
    code, _, err = in_process(capsys, "validate", str(path))
    assert code == 0, err
    assert "its managers_reset event at week 2 does nothing: nobody trusts a manager" in err


@pytest.mark.parametrize(
    ("event", "scenario", "says"),
    [
        ({"type": "breach", "role": "coach"}, {"coach": "none"}, "it has no coach"),
        ({"type": "breach", "role": "manager"}, {"coach": "none"}, ""),
        ({"type": "sponsor_withdraws"}, {"sponsor": "none"}, "it has no sponsor"),
        ({"type": "sponsor_returns"}, {"sponsor": "none"}, "it has no sponsor"),
        ({"type": "sponsor_returns"}, {}, ""),
        ({"type": "reorg"}, {"levels": 1}, "it has only one team"),
        ({"type": "reorg"}, {}, ""),
        ({"type": "turnover_wave"}, {"coach": "none", "sponsor": "none", "levels": 1}, ""),
    ],
)
def test_when_each_event_does_nothing(event: dict, scenario: dict, says: str) -> None:
    assert does_nothing(Event(at=1, **event), _scenario(**scenario)) == says


def test_the_reference_model_refuses_a_type_it_does_not_implement(
    managers_reset: EventType,
) -> None:
    reference = _reference_model()
    sc = _scenario(events=[{"type": "managers_reset", "at": 2}])
    with pytest.raises(NotImplementedError, match="'managers_reset'"):
        reference.ReferenceModel(sc, rng=1)


def test_the_reference_model_implements_every_registered_type() -> None:
    assert list(_reference_model().ReferenceModel.EVENTS) == list(EVENT_TYPES)


def _reference_model():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "reference_model", ROOT / "benchmarks" / "reference_model.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ the ODD's table
START = "<!-- event-table:start -->"
END = "<!-- event-table:end -->"


def test_the_odds_event_table_is_generated_from_the_registry() -> None:
    text = ODD.read_text(encoding="utf-8")
    assert text.count(START) == 1
    assert text.count(END) == 1
    table = text.split(START)[1].split(END)[0]
    assert table.strip() == event_table().strip(), (
        "the event table in docs/ODD.md is stale: run .venv/bin/python docs/gen_tables.py"
    )
    assert all(f"| `{name}` |" in table for name in EVENT_TYPES)


def test_the_generated_table_holds_a_new_type(managers_reset: EventType) -> None:
    assert "| `managers_reset` | | every front-line manager is replaced" in event_table()


def test_the_odds_generator_checks_and_rewrites(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_tables", ROOT / "docs" / "gen_tables.py")
    assert spec is not None
    assert spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    stale = tmp_path / "ODD.md"
    stale.write_text(f"# ODD\n\n{START}\n| old |\n{END}\n\nafter\n", encoding="utf-8")
    only = ["--table", "event", "--path", str(stale)]
    assert gen.main(["--check", *only]) == 1
    assert gen.main(only) == 0
    assert gen.main(["--check", *only]) == 0
    assert stale.read_text(encoding="utf-8").endswith(f"{END}\n\nafter\n")


# ------------------------------------------------------------------ complete entries
def _entry(**changes: object) -> EventType:
    fields: dict = {
        "name": "broken",
        "meaning": "a test",
        "apply": lambda state, ev: None,
        "words": "nothing",
    }
    return EventType(**(fields | changes))


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"name": "breach"}, "registered already"),
        ({"fields": ("colour",)}, "fields ['colour']"),
        ({"words": "the {boss} leaves"}, "only {role} and {share}"),
        ({"stretch_ends": (0,)}, "must hold -1"),
        ({"buttons": (Button("breach_coach", app="Again"),)}, "another type's already"),
        ({"buttons": (Button("nowhere"),)}, "offered nowhere"),
        ({"buttons": (Button("new", room="The managers breach trust"),)}, "another type's"),
        ({"buttons": (Button("b", {"role": "coach"}, app="B"),)}, "fields the type does not"),
    ],
)
def test_an_incomplete_entry_fails_when_registered(changes: dict, says: str) -> None:
    with pytest.raises(ValueError, match="event type") as err:
        register(_entry(**changes))
    assert says in str(err.value)
    assert "broken" not in EVENT_TYPES


def test_the_registry_knows_every_field_of_an_event() -> None:
    assert set(events._EVENT_FIELDS) == set(Event.model_fields) - {"type", "at"}


def test_an_unknown_type_is_a_sentence_not_a_bare_key_error() -> None:
    with pytest.raises(KeyError, match="not registered"):
        events.event_type("explosion")


# ------------------------------------------------------------------ one list only
# story.PLAIN_NAMES names scenario files, two of which are named after the event they
# show (scenarios/reorg.toml, scenarios/sponsor_withdraws.toml): scenario names, not
# a list of event types.
SCENARIO_NAMES = {("sim/workshop/story.py", ("reorg", "sponsor_withdraws"))}


def event_lists(folder: Path) -> set[tuple[str, tuple[str, ...]]]:
    """Each place under `folder` (not the registry) naming 2 event types or more."""
    return name_lists(folder, set(REAL_TYPES), skip={ROOT / "sim" / "model" / "events.py"})


def test_no_list_of_event_names_stands_outside_the_registry() -> None:
    found = event_lists(ROOT / "sim")
    stray = sorted(found - SCENARIO_NAMES)
    assert not stray, f"lists of event types outside sim/model/events.py: {stray}"
    assert found >= SCENARIO_NAMES, "an allowed place is gone: remove it from SCENARIO_NAMES"


def test_the_source_scan_finds_a_list(tmp_path: Path) -> None:
    (tmp_path / "front").mkdir()
    (tmp_path / "front" / "m.py").write_text(
        'KINDS = ("breach", "reorg")\n'
        'def f(ev):\n    return ev.type in {"sponsor_withdraws", "sponsor_returns"}\n'
        'PLAN = [{"type": "turnover_wave", "at": 2}, {"type": "breach", "at": 3}]\n'
        'def g(ev):\n    match ev.type:\n        case "reorg":\n            return 1\n'
        '        case "sponsor_returns":\n            return 2\n',
        encoding="utf-8",
    )
    assert event_lists(tmp_path / "front") == {
        ("front/m.py", ("breach", "reorg")),
        ("front/m.py", ("sponsor_withdraws", "sponsor_returns")),
        ("front/m.py", ("turnover_wave", "breach")),
        ("front/m.py", ("reorg", "sponsor_returns")),
    }
