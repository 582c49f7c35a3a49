"""The workshop room without the web: seats, stages, timers, choices, record and replay.

What a facilitator relies on: a room where nobody chooses is the model's own run; a
participant's choice changes only what the model would have decided for that seat;
every refusal says why; the recorded session replays to the same run, bit for bit,
and differs from the fully simulated twin where the room's choices differed.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sim.model import kernels
from sim.model.fast import COLUMNS, RunState, simulate
from sim.model.scenario import Event, Scenario
from sim.model.scenario_files import load_scenario
from sim.workshop.room import debrief
from sim.workshop.room.errors import RoomError
from sim.workshop.room.game import Room
from sim.workshop.room.record import load_session, replay
from tests.helpers_cli import trustsim

ROOT = Path(__file__).resolve().parent.parent
ASKS = COLUMNS.index("asks")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def library(name: str, weeks: int = 10) -> Scenario:
    return load_scenario(ROOT / "scenarios" / f"{name}.toml").with_(steps=weeks)


def play_out(room: Room, choose: object = None, rng: np.random.Generator | None = None) -> int:
    """Play every week; seats choose at random when `rng` is given, else the timer decides.

    Returns the number of choices the seats made.
    """
    made = 0
    if room.phase == "lobby":
        room.start()
    while room.phase != "ended":
        if rng is not None and room.phase == "asking":
            for seat in list(room.seats):
                if room.phase != "asking":
                    break
                need = room.seat_view(seat.token).get("need")
                if need and need["candidates"] and need["chosen"] is None:
                    options = [c["person"] for c in need["candidates"]] + ["silent"]
                    room.ask(seat.token, room.week, options[rng.integers(len(options))])
                    made += 1
        elif rng is not None and room.phase == "answering":
            for seat in list(room.seats):
                if room.phase != "answering":
                    break
                v = room.seat_view(seat.token)
                if v.get("requests") and not v["answered"]:
                    asked = [q["learner"] for q in v["requests"]]
                    take = asked[: v["capacity"]] if rng.random() < 0.5 else []
                    room.answer(seat.token, room.week, take)
                    made += 1
        if room.phase in ("asking", "answering", "results"):
            room.next()  # closes a stage (the timer's defaults) or starts the next week
    return made


def seated(room: Room, n: int) -> list:
    return [room.join(room.code, f"P{i}") for i in range(n)]


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("top_down_internal", {}),
        ("peer_led", {}),  # capacity > 1
        ("beta_trust", {}),
        ("high_turnover", {}),  # newcomers take seats' places
        ("external_coach_low_trust", {}),
        ("hierarchy_3", {"events": [{"type": "reorg", "at": 3}]}),
    ],
)
def test_a_room_where_every_timer_runs_out_is_the_models_own_run(name: str, changes: dict) -> None:
    sc = library(name, 8).with_(**changes)
    room = Room(sc, 11)
    seated(room, min(5, room.max_seats))
    assert play_out(room) == 0
    twin = simulate(sc, 11)
    assert np.array_equal(room.table, twin.table, equal_nan=True)
    assert all(c["by"] == "timer" for c in room.choices_log)


@pytest.mark.parametrize("name", ["top_down_internal", "peer_led", "high_turnover", "hierarchy_2"])
def test_the_recorded_session_replays_to_the_same_run_and_differs_from_the_twin(
    name: str, tmp_path: Path
) -> None:
    sc = library(name, 12)
    room = Room(sc, 5)
    seated(room, min(8, room.max_seats))
    room.start()
    room.next()  # week 1 decided by the timer
    room.fire("breach_coach") if sc.coach != "none" else None
    made = play_out(room, rng=np.random.default_rng(1))
    assert made > 10
    path = room.save(tmp_path / "session.json")
    rep = replay(load_session(path))
    assert rep.identical
    assert np.array_equal(rep.replay.table, room.table, equal_nan=True)
    # The room's choices changed the run: the twin (same seed, same events) differs.
    assert not np.array_equal(rep.twin.table, room.table, equal_nan=True)
    assert [e.at for e in rep.scenario.events][-len(room.fired) or None :] == [
        e.at for e in room.fired
    ]


def test_the_public_week_played_by_hand_is_the_fast_paths_run_with_a_scheduled_event() -> None:
    """RunState as a room drives it, nobody seated: simulate's table, the event included."""
    sc = library("high_turnover", weeks=12)
    late = Event(type="breach", role="coach", at=6)
    state = RunState(sc, 7)
    state.schedule(late)  # before week 6 starts, as the facilitator fires it
    table = np.full((sc.steps + 1, len(COLUMNS)), np.nan)
    teams = tuple(np.empty((sc.steps + 1, state.org.n_teams)) for _ in range(3))
    left = 0
    for t in range(sc.steps + 1):
        if t:
            state.start_week(t)
            week = state.open_week(t)
            nobody = kernels.no_choices(state.n_staff)
            asked = state.requests(week, nobody)
            done = state.finish_week(week, nobody)
            assert np.array_equal(done.requests, asked)  # the preview was the week's
            state.take_newcomers(done.leavers)
            left += len(done.leavers)
        table[t, 0] = t
        state.measure_into(table[t, 1:], tuple(a[t] for a in teams))
    assert left > 0  # the newcomers' draws were made too
    assert state.scheduled_events() == [late]
    run = simulate(sc.with_(events=[late]), 7)
    assert np.array_equal(table, run.table, equal_nan=True)
    assert not np.array_equal(table, simulate(sc, 7).table, equal_nan=True)  # it did happen


def test_a_silent_choice_where_the_model_would_ask_is_one_ask_fewer_that_week() -> None:
    sc = library("top_down_internal", 20)
    for seed in range(30):
        room = Room(sc, seed)
        seats = seated(room, room.max_seats)
        room.start()
        while room.phase != "ended":
            asked_by_model = [
                s
                for s in seats
                if s.person in room._prompts and room._defaults[s.person] != kernels.SILENT
            ]
            if room.phase == "asking" and asked_by_model:
                week = room.week
                room.ask(asked_by_model[0].token, week, "silent")
                while room.phase in ("asking", "answering"):
                    room.next()
                twin = simulate(sc, seed)
                assert room.table[week, ASKS] == twin.table[week, ASKS] - 1
                return
            room.next()
    pytest.fail("no seat that the model would have made ask in 30 seeds")


def test_wrong_codes_full_rooms_and_unknown_phones_are_refused() -> None:
    room = Room(library("top_down_internal"), 1, seats=2)
    with pytest.raises(RoomError, match="wrong room code") as err:
        room.join("WRONG")
    assert err.value.status == 403
    a = room.join(room.code.lower(), "Ana")  # the code is not case-sensitive
    room.join(room.code, "<script>alert(1)</script>")
    assert room.seats[1].name == "scriptalert1scri"  # letters, digits, spaces, -'. (16 at most)
    with pytest.raises(RoomError, match="full") as err:
        room.join(room.code)
    assert err.value.status == 429
    with pytest.raises(RoomError, match="no seat") as err:
        room.seat_view("not-a-token")
    assert err.value.status == 403
    assert a.token not in json.dumps(room.session())  # no secret in the record


def test_a_phone_can_choose_only_what_its_own_seat_is_offered() -> None:
    sc = library("top_down_internal", 30)
    room = Room(sc, 3)
    seats = seated(room, room.max_seats)
    room.start()
    while not room._prompts:
        room.next()
    person = next(iter(room._prompts))
    me = next(s for s in seats if s.person == person)
    other = next(s for s in seats if s.person != person and s.person not in room._prompts)
    offered = room._prompts[person]
    not_offered = next(j for j in range(room.state.org.n_people) if j not in offered)
    with pytest.raises(RoomError, match="not one of the people") as err:
        room.ask(me.token, room.week, not_offered)
    assert err.value.status == 400
    for bad in (True, 1.5, "everyone", None, [offered[0]]):
        with pytest.raises(RoomError):
            room.ask(me.token, room.week, bad)
    with pytest.raises(RoomError, match="closed"):
        room.ask(me.token, room.week + 1, offered[0])
    with pytest.raises(RoomError, match="nothing to choose"):
        room.ask(other.token, room.week, offered[0])  # another seat's choice, with mine
    room.ask(me.token, room.week, offered[0])
    with pytest.raises(RoomError, match="already chosen"):
        room.ask(me.token, room.week, "silent")
    log = [c for c in room.choices_log if c["by"] == "participant"]
    assert log[-1]["person"] == person
    assert log[-1]["asked"] == offered[0]


def test_answers_are_limited_to_the_requests_made_and_to_capacity() -> None:
    sc = library("top_down_internal", 40)
    room = Room(sc, 2)
    seats = seated(room, room.max_seats)
    room.start()
    while room.phase != "answering":
        room.next()
        assert room.phase != "ended", "no request reached a seat"
    helper = next(iter(room._requests))
    me = next(s for s in seats if s.person == helper)
    asked_me = room._requests[helper]
    stranger = next(i for i in range(room.state.n_staff) if i not in asked_me)
    with pytest.raises(RoomError, match="only accept requests"):
        room.answer(me.token, room.week, [stranger])
    if len(asked_me) > room.state.capacity[helper]:
        with pytest.raises(RoomError, match="a week"):
            room.answer(me.token, room.week, asked_me)
    room.answer(me.token, room.week, [])  # refuse them all
    refused = [c for c in room.choices_log if c["kind"] == "answer" and c["person"] == helper]
    assert {c["learner"] for c in refused} == set(asked_me)
    assert not any(c["accept"] for c in refused)


def test_the_timer_closes_a_stage_pause_keeps_the_time_and_auto_advance_moves_on() -> None:
    clock = Clock()
    room = Room(library("top_down_internal", 30), 4, ask_seconds=30, results_seconds=5, clock=clock)
    seated(room, room.max_seats)
    room.start()
    while room.phase != "asking" or not room._prompts:
        room.next()
    week = room.week
    clock.now += 10
    room.pause(True)
    clock.now += 100  # paused: the clock does not run
    room.tick()
    assert room.phase == "asking"
    assert room.seconds_left() == 20.0
    room.pause(False)
    clock.now += 19.9
    room.tick()
    assert room.phase == "asking"
    clock.now += 0.2
    room.tick()
    while room.phase == "answering":
        clock.now += room.answer_seconds
        room.tick()
    assert room.phase == "results"
    assert room.week == week
    assert all(c["by"] == "timer" for c in room.choices_log if c["week"] == week)
    room.set_auto(True)
    clock.now += 5.1
    room.tick()
    assert room.week == week + 1


def test_facilitator_events_happen_at_the_start_of_the_next_week_and_are_replayed() -> None:
    sc = library("top_down_internal", 10)
    room = Room(sc, 8)
    seated(room, 3)
    room.start()
    room.next()  # week 1's stages
    while room.phase != "results":
        room.next()
    ev = room.fire("breach_coach")
    assert ev.at == 2
    assert ev.type == "breach"
    assert ev.role == "coach"
    play_out(room)
    plain = simulate(sc, 8).table
    coach = COLUMNS.index("trust_in_coach")
    assert np.array_equal(room.table[:2], plain[:2], equal_nan=True)  # before the breach
    assert room.table[2, coach] < plain[2, coach] - 0.05  # the breach, at week 2
    assert np.array_equal(room.table, room.twin().table, equal_nan=True)
    with pytest.raises(RoomError, match="no week left"):
        room.fire("reorg")
    no_coach = Room(library("no_coaching"), 1)
    with pytest.raises(RoomError, match="no coach"):
        no_coach.fire("breach_coach")
    with pytest.raises(RoomError, match="one of"):
        no_coach.fire("earthquake")


def test_the_kernels_refuse_a_choice_the_week_did_not_offer() -> None:
    sc = library("top_down_internal", 3)
    run = simulate(sc, 1)
    n = run.n_people
    bad = kernels.no_choices(n)
    bad[kernels.ASK, 0] = n - 1  # the manager: offered only if a candidate and a learner
    nobody = kernels.no_choices(n)
    nobody[kernels.ANSWER, 3] = kernels.ACCEPT
    nobody[kernels.ANSWERED_BY, 3] = 4
    refused = []
    for week in (1, 2, 3):
        for choices in (bad, nobody):
            try:
                simulate(sc, 1, choices={week: choices})
            except ValueError as exc:
                refused.append(str(exc))
    assert len(refused) >= 3
    assert all("choice" in r or "answer" in r for r in refused)
    with pytest.raises(ValueError, match="weeks 1 to 3"):
        simulate(sc, 1, choices={9: bad})


def test_the_debrief_says_what_the_room_did_and_exports_it(tmp_path: Path) -> None:
    sc = library("top_down_internal", 12)
    room = Room(sc, 6, title="Test room")
    seated(room, 6)
    room.start()
    room.next()
    while room.phase != "results":
        room.next()
    room.fire("sponsor_withdraws")
    play_out(room, rng=np.random.default_rng(4))
    d = debrief.debrief(room)
    said = dict(d.sentences)
    c = room.compare_choices()
    assert f"{c['room']['asks']} of {c['room']['choices']}" in said["Asking"]
    assert f"{c['simulated']['asks']} of {c['simulated']['choices']}" in said["Asking"]
    assert "Trust in the coach" in said
    twin_words = said["Trust in the coach: the room against the same team simulated"]
    coach = COLUMNS.index("trust_in_coach")
    assert f"{room.table[12, coach]:.2f} with the room's choices" in twin_words
    assert f"{room.twin().table[12, coach]:.2f} of the same team" in twin_words
    after = [t for h, t in d.sentences if h.startswith("After week 2: The sponsor stops")]
    assert len(after) == 2  # in the room's run, and in typical runs
    assert f"from {room.table[1, coach]:.2f}" in after[0]
    assert "in the run you watched" in after[0]
    assert "in a typical run" in after[1]
    assert all("at week 12" in t for t in after)
    pdf = debrief.pdf_bytes(room)
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page") >= 4
    pack = zipfile.ZipFile(io.BytesIO(debrief.zip_bytes(room)))
    names = set(pack.namelist())
    assert {"room-and-simulated.png", "choices.png", "seats.png", "weeks.csv"} <= names
    assert {"people.csv", "debrief.txt", "session.json"} <= names
    for png in ("room-and-simulated.png", "choices.png", "seats.png"):
        (tmp_path / png).write_bytes(pack.read(png))
        assert pack.read(png).startswith(b"\x89PNG")
    weeks = pack.read("weeks.csv").decode().splitlines()
    assert weeks[0] == "week,measure,room,simulated"
    assert len(weeks) == 1 + 13 * (len(COLUMNS) - 1)
    differ = [r for r in weeks[1:] if r.split(",")[2] != r.split(",")[3]]
    assert differ, "the room's choices changed nothing in the weekly table"
    assert replay(json.loads(pack.read("session.json"))).identical


def test_replay_on_the_command_line(tmp_path: Path) -> None:
    room = Room(library("peer_led", 8), 9)
    seated(room, 4)
    play_out(room, rng=np.random.default_rng(2))
    path = room.save(tmp_path / "s.json")
    done = trustsim("room", "replay", str(path), "--out", str(tmp_path / "rep"))
    assert done.returncode == 0, done.stderr
    assert "identical to the room's run" in done.stdout
    assert (tmp_path / "rep" / "replay_steps.csv").exists()
    # A choice edited by hand to name someone who was not offered: one line, exit 2.
    data = json.loads(path.read_text())
    ask = next(c for c in data["choices"] if c["kind"] == "ask" and c["by"] == "participant")
    ask["asked"] = ask["person"]  # nobody asks themselves
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    done = trustsim("room", "replay", str(bad))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "did not offer" in done.stderr
    # A recorded table that the replay does not reproduce is said, exit 1.
    data = json.loads(path.read_text())
    data["table"]["rows"][3][1] = 0.123
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    done = trustsim("room", "replay", str(changed))
    assert done.returncode == 1
    assert "DIFFERENT" in done.stdout
    done = trustsim("room", "replay", str(tmp_path / "none.json"))
    assert done.returncode == 2
    assert "none.json" in done.stderr


def test_room_options_are_checked_on_the_command_line() -> None:
    for args, words in (
        (["--weeks", "0"], "--weeks 0"),
        (["--seats", "500"], "--seats 500"),
        (["--ask-seconds", "1"], "--ask-seconds 1"),
        (["--scenario", "nosuch"], "nosuch"),
        (["--port", "0"], "--port 0"),
    ):
        done = trustsim("app", "--room", *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert words in done.stderr
        assert "Traceback" not in done.stderr


def test_a_seat_that_always_stays_silent_is_named_as_fallen_silent() -> None:
    room = Room(library("top_down_internal", 20), 3)
    seats = seated(room, 3)
    room.start()
    while room.phase != "ended":
        if room.phase == "asking":
            for s in seats:
                if s.person in room._prompts and room.phase == "asking":
                    room.ask(s.token, room.week, "silent")
        if room.phase != "ended":
            room.next()
    quiet = [s.name for s in seats if len(room.silent_log.get(s.person, [])) >= 3]
    assert quiet, "no seat had 3 needs to keep silent"
    named = dict(room.fell_silent())
    for name in quiet:
        assert named[name] is True  # a seat
    simulated = {n for n, seat in named.items() if not seat}
    assert all("(coach)" not in n and "(manager)" not in n for n in simulated)
    sentence = dict(debrief.choice_sentences(room))["Who fell silent"]
    assert f"{quiet[0]}" in sentence
    assert "in the room" in sentence


def test_a_debrief_midway_speaks_of_the_weeks_played_and_only_of_the_seats_own_choices() -> None:
    room = Room(library("top_down_internal", 12), 6)
    seated(room, 5)
    room.start()
    for _ in range(3):  # three weeks, every choice left to the timer
        while room.phase in ("asking", "answering"):
            room.next()
        room.next()
    room.fire("breach_coach")
    while room.week < 5 or room.phase != "results":
        room.next()
    d = debrief.debrief(room)
    said = dict(d.sentences)
    assert d.weeks == 5
    assert "not yet chosen" in said["Asking"]  # the timer's choices are not the room's
    assert "answered no request" in said["Helping"]
    c = room.compare_choices()
    assert c["room"]["choices"] == 0
    assert c["timer"]["choices"] > 0
    assert (
        f"{c['timer']['choices'] + c['timer']['requests']} of the seats' choice"
        in (said["Against the model"])
    )
    assert room.fell_silent() == [(n, s) for n, s in room.fell_silent() if not s]
    for _, text in d.sentences:
        assert "week 12" not in text
    assert any("week 5" in text for _, text in d.sentences)
    room.join(room.code, "Late")
    assert room.compare_choices()["room"]["people"] == 6


def _asgi(app: object, method: str, path: str, body: dict, client: str) -> tuple[int, dict]:
    """One request to the room's web app, as if from `client` (no server, no socket)."""
    import asyncio

    raw = json.dumps(body).encode()
    path, _, query = path.partition("?")
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "headers": [(b"content-type", b"application/json")], "client": (client, 5000),
        "server": ("127.0.0.1", 8765), "root_path": "",
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))  # type: ignore[operator]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(payload)


def test_a_device_on_the_network_takes_at_most_three_seats_and_cannot_open_the_host_screen() -> (
    None
):
    from sim.workshop.room.server import SEATS_PER_ADDRESS, RoomServer

    room = Room(library("hierarchy_2", 5), 1)
    server = RoomServer(room, "host-key", "http://x/join", None)
    join = {"code": room.code, "name": "x"}
    for _ in range(SEATS_PER_ADDRESS):
        assert _asgi(server.app, "POST", "/api/join", join, "192.168.1.20")[0] == 200
    status, data = _asgi(server.app, "POST", "/api/join", join, "192.168.1.20")
    assert status == 429
    assert "3 seats" in data["error"]
    assert _asgi(server.app, "POST", "/api/join", join, "192.168.1.21")[0] == 200
    # The facilitator's controls answer only on this machine, even with the key.
    with_key = {"kind": "reorg"}
    path = "/api/host/event"
    assert _asgi(server.app, "POST", path + "?key=host-key", with_key, "192.168.1.20")[0] == 403
    assert _asgi(server.app, "POST", path + "?key=host-key", with_key, "127.0.0.1")[0] == 200
    assert _asgi(server.app, "POST", path + "?key=wrong", with_key, "127.0.0.1")[0] == 403
    assert len(room.seats) == SEATS_PER_ADDRESS + 1
    assert [e.type for e in room.fired] == ["reorg"]


def test_auto_advance_switched_on_while_paused_waits_for_the_resume_and_then_its_seconds() -> None:
    clock = Clock()
    room = Room(library("top_down_internal", 10), 4, results_seconds=8, clock=clock)
    seated(room, 2)
    room.start()
    while room.phase != "results":
        room.next()
    week = room.week
    room.pause(True)
    room.set_auto(True)
    clock.now += 100
    room.tick()
    assert room.week == week  # paused: nothing moves
    room.pause(False)
    clock.now += 7.9
    room.tick()
    assert room.week == week
    clock.now += 0.2
    room.tick()
    assert room.week == week + 1
    while room.phase != "results":
        room.next()
    room.set_auto(False)  # off: no countdown left on the screens
    assert room.seconds_left() is None
    clock.now += 100
    room.tick()
    assert room.phase == "results"
    room.set_auto(True)  # on again: the results stay up their seconds first
    assert room.seconds_left() == 8.0


def test_a_phone_joining_while_requests_are_answered_gets_the_requests_made_to_its_member() -> None:
    sc = library("top_down_internal", 60)
    for seed in range(20):
        room = Room(sc, seed)
        room.join(room.code, "first")
        room.start()
        while room.phase != "ended":
            if room.phase == "answering":
                nxt = room.seatable[len(room.seats)]
                preview = room._preview(room._choices())
                dst = room.state.net.dst
                asked = [
                    int(room._learner[a])
                    for a, e in enumerate(preview.tolist())
                    if e >= 0 and int(dst[e]) == nxt
                ]
                if asked:
                    late = room.join(room.code, "late")
                    view = room.seat_view(late.token)
                    assert [q["learner"] for q in view["requests"]] == asked
                    room.answer(late.token, room.week, [])
                    room.next()
                    assert room.compare_choices()["room"]["requests"] == len(asked)
                    assert replay(room.session()).identical
                    return
            room.next()
    pytest.fail("no request reached the next seat's member while answering, in 20 seeds")


def test_one_click_fires_one_event() -> None:
    room = Room(library("top_down_internal", 10), 1)
    room.fire("breach_coach")
    with pytest.raises(RoomError, match="already set for week 1"):
        room.fire("breach_coach")
    room.fire("sponsor_withdraws")  # another event in the same week is fine
    assert len(room.fired) == 2


def test_the_debrief_before_week_one_and_of_events_too_recent_to_judge() -> None:
    room = Room(library("top_down_internal", 10), 2)
    seated(room, 2)
    assert dict(debrief.debrief(room).sentences) == {
        "Not yet": "No week has been played yet: the debrief begins after week 1."
    }
    room.fire("breach_coach")
    room.fire("sponsor_withdraws")  # both at week 1
    room.start()
    while room.week < 4 or room.phase != "results":
        room.next()
    room.fire("sponsor_returns")  # week 5
    while room.week < 5 or room.phase != "results":
        room.next()
    said = debrief.debrief(room).sentences
    first = [
        t
        for h, t in said
        if h == "After week 1: The coach breaches trust and The sponsor stops backing the coach"
    ]
    assert len(first) == 2  # one heading for the two events of week 1
    recent = [t for h, t in said if h.startswith("After week 5")]
    assert recent == ["Too soon to say how trust in the coach recovers: 0 weeks played since."]


def test_every_member_seated_leaves_no_simulated_members_to_compare() -> None:
    room = Room(library("top_down_internal", 6), 3)
    seated(room, room.max_seats)
    play_out(room, rng=np.random.default_rng(0))
    said = dict(debrief.choice_sentences(room))
    assert "there are no simulated members" in said["Asking"]


def test_a_seat_whose_member_leaves_plays_the_newcomer_and_is_told() -> None:
    sc = library("high_turnover", 40)
    for seed in range(10):
        room = Room(sc, seed)
        seats = seated(room, 4)
        room.start()
        while room.phase != "ended":
            room.next()
            if room.phase == "results":
                told = [s for s in seats if room.seat_view(s.token)["last_week"].get("replaced")]
                if told:
                    view = room.seat_view(told[0].token)
                    assert view["coach"] == (room.state.org.role[told[0].person] == 2)
                    assert view["last_week"]["now_coach"] == view["coach"]
                    return
    pytest.fail("no seated member left in 10 seeds of high_turnover")
