"""The workshop room end to end: the real server, phones as browser contexts, the facilitator.

As a trainer runs it: `trustsim app --room`, the facilitator's screen in Chromium, phones
as separate Playwright contexts (each its own storage: its own seat). Checks what the
room sees: a wrong code refused, the seats named on the big screen, choices made on the
phones counted there, a phone unable to act for another seat or to reach the
facilitator's controls or any file, and the saved session replaying to the same run.
The load test seats 30 participants at once (HTTP, as the phone page calls it) and
checks that the facilitator's screen shows every choice in. Screenshots land in
results/room/ (look at them).
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.workshop.room.record import load_session, replay
from tests.helpers_browser import require_chromium
from tests.room_helpers import Phone, RoomProcess, call, start_room

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "results" / "room"
pytestmark = pytest.mark.slow
require_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

WAIT = 30_000  # ms


@pytest.fixture
def room(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RoomProcess]:
    args = getattr(request, "param", ())
    r = start_room(tmp_path, "--ask-seconds", "300", "--answer-seconds", "300", *args)
    yield r
    r.stop()


def _page(browser: Browser, url: str, errors: list[str], phone: bool) -> Page:
    size = {"width": 390, "height": 760} if phone else {"width": 1280, "height": 720}
    context = browser.new_context(viewport=size, is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda r: None if r.url.startswith("http://127.0.0.1:") else errors.append(r.url),
    )
    page.goto(url)
    return page


def _status(host: Page) -> str:
    return host.locator("#status").inner_text()


@pytest.mark.parametrize(
    "room", [("--scenario", "top_down_internal", "--weeks", "5", "--seed", "4")], indirect=True
)
def test_phones_join_play_and_the_facilitator_sees_their_choices(
    browser: Browser, room: RoomProcess
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    host = _page(browser, room.host_url, errors, phone=False)
    expect(host.locator("#code")).to_have_text(room.code, timeout=WAIT)
    expect(host.locator("#qr")).to_have_js_property("complete", True)
    assert host.locator("#qr").evaluate("img => img.naturalWidth") > 100
    expect(host.locator("#join-url")).to_have_text(room.join_url)

    # A wrong code is refused, and takes no seat.
    stranger = _page(browser, room.join_url.replace(room.code, "ZZZZZ"), errors, phone=True)
    stranger.fill("#name", "Mallory")
    stranger.click("#join")
    expect(stranger.locator("#join-error")).to_have_text("wrong room code", timeout=WAIT)
    expect(host.locator("#seat-count")).to_contain_text("0 of", timeout=WAIT)

    names = ["Ana", "Ben", "Chen"]
    phones = []
    for name in names:
        ph = _page(browser, room.join_url, errors, phone=True)
        expect(ph.locator("#code")).to_have_value(room.code)  # from the QR code's link
        ph.fill("#name", name)
        ph.click("#join")
        expect(ph.locator("#who")).to_contain_text(name, timeout=WAIT)
        phones.append(ph)
    for i, name in enumerate(names, start=1):
        expect(host.locator(f"#seats li[data-seat='{i}']")).to_contain_text(name, timeout=WAIT)
    # A phone that closes the tab and opens the link again keeps its seat.
    again = phones[0].context.new_page()
    again.goto(room.join_url)
    expect(again.locator("#who")).to_contain_text("Seat 1 · Ana", timeout=WAIT)
    again.close()
    expect(host.locator("#seat-count")).to_contain_text("3 of", timeout=WAIT)
    host.screenshot(path=SHOTS / "host-lobby.png")
    phones[0].screenshot(path=SHOTS / "phone-lobby.png")

    host.click("#next")  # Start
    silents = 0
    asked = 0
    redrawn = False
    for week in range(1, 6):
        expect(host.locator("#status")).to_contain_text(f"Week {week} of 5", timeout=WAIT)
        for ph in phones:
            expect(ph.locator("#week")).to_have_text(f"Week {week} of 5", timeout=WAIT)
        if "Asking" in _status(host):
            choosing = [
                (i, ph) for i, ph in enumerate(phones) if ph.locator("button[data-person]").count()
            ]
            assert choosing, "the big screen waits for choices that no phone offers"
            for n, (i, ph) in enumerate(choosing):
                buttons = ph.locator("button[data-person]")
                if week == 1:
                    ph.screenshot(path=SHOTS / f"phone-asking-{i}.png")
                    host.screenshot(path=SHOTS / "host-asking.png")
                last = n == len(choosing) - 1  # the last choice closes the stage at once
                if i == 1:
                    ph.click("#silent")
                    if not last:
                        expect(ph.locator("#stage")).to_contain_text("You stay silent")
                    silents += 1
                else:
                    who = buttons.first.locator(".who").inner_text()
                    buttons.first.click()
                    if not last:
                        expect(ph.locator("#stage")).to_contain_text(f"You asked {who}")
                    asked += 1
        expect(host.locator("#status")).not_to_contain_text("Asking", timeout=WAIT)
        if "Answering" in _status(host):
            for ph in phones:
                expect(ph.locator("#stage")).not_to_contain_text("Whom do you ask", timeout=WAIT)
            for i, ph in enumerate(phones):
                if ph.locator("button[data-learner]").count():
                    ph.screenshot(path=SHOTS / f"phone-answering-{i}.png")
                    request = ph.locator("button[data-learner]").first
                    request.click()
                    if not redrawn:  # the screen redraws (here: a pause); the tap stays
                        redrawn = True
                        host.click("#pause")
                        expect(ph.locator("#timer")).to_contain_text("paused", timeout=WAIT)
                        host.click("#pause")
                        expect(ph.locator("#timer")).not_to_contain_text("paused", timeout=WAIT)
                        expect(ph.locator("button[data-learner]").first).to_have_class("on")
                    ph.click("#send")
        expect(host.locator("#status")).to_contain_text(
            "Results" if week < 5 else "ended", timeout=WAIT
        )
        # The big screen counts exactly the silences the phones chose.
        row = host.locator("#choices tr[data-row='stayed silent'] td").nth(1)
        expect(row).to_have_text(str(silents), timeout=WAIT)
        if asked + silents:  # ... and the share of needs the phones asked about
            share = math.floor(round(asked / (asked + silents), 3) * 100 + 0.5)
            rate = host.locator("#choices tr[data-row='asked when someone could help'] td")
            expect(rate.nth(1)).to_have_text(f"{share}%")
        if week == 2:
            host.click("button[data-kind='breach_coach']")
            expect(host.locator("#fired")).to_contain_text("week 3: The coach breaches trust")
        if week < 5:
            host.click("#next")
    assert asked + silents >= 3, "the seats had almost nothing to choose: pick another seed"
    assert redrawn, "no request reached a phone: pick another seed"
    for ph in phones:
        expect(ph.locator("#stage")).to_contain_text("The session has ended", timeout=WAIT)
    expect(host.locator("#debrief")).to_contain_text("The room asked for help on", timeout=60_000)
    host.screenshot(path=SHOTS / "host-ended.png", full_page=True)
    phones[0].screenshot(path=SHOTS / "phone-ended.png", full_page=True)

    # The saved session, and the one the facilitator downloads, replay to the same run.
    saved = replay(load_session(room.session_file()))
    assert saved.identical
    assert saved.weeks == 5
    reply = host.request.get(f"{room.base}/api/host/download/session.json?key={room.key}")
    downloaded = json.loads(reply.body())
    assert replay(downloaded).identical
    assert len([c for c in downloaded["choices"] if c["by"] == "participant"]) >= asked + silents
    answers = [
        c for c in downloaded["choices"] if c["kind"] == "answer" and c["by"] == "participant"
    ]
    assert answers[0]["accept"] is True  # the tap kept through the redraw was sent
    pdf = host.request.get(f"{room.base}/api/host/download/debrief.pdf?key={room.key}")
    assert pdf.body().startswith(b"%PDF")
    assert errors == []


@pytest.mark.parametrize(
    "room", [("--scenario", "top_down_internal", "--weeks", "30", "--seed", "2")], indirect=True
)
def test_a_phone_cannot_act_for_another_seat_run_the_room_or_read_files(
    room: RoomProcess,
) -> None:
    a, b = Phone(room.base), Phone(room.base)
    assert a.join(room.code, "A") == 200
    assert b.join(room.code, "B") == 200
    # The facilitator's controls need the key, and answer only on this machine.
    for path in ("/api/host/next", "/api/host/event"):
        assert call(room.base, "POST", path, {"kind": "reorg"}, {"X-Seat": a.token})[0] == 403
    assert call(room.base, "GET", "/api/host/state")[0] == 403
    assert call(room.base, "GET", "/api/host/download/session.json?key=wrong")[0] == 403
    assert call(room.base, "GET", "/host")[0] == 403
    # No file is served: only the two pages and the API.
    for path in (
        "/sim/workshop/room/game.py",
        "/assets/../room.py",
        "/../pyproject.toml",
        "/static/x",
    ):
        status, text = call(room.base, "GET", path)
        assert status == 404, path
        assert "import" not in str(text)
    # A forged or missing secret has no seat.
    assert call(room.base, "GET", "/api/seat", headers={"X-Seat": "forged"})[0] == 403
    assert call(room.base, "POST", "/api/ask", {"week": 1, "choice": "silent"})[0] == 403
    host = {"X-Host-Key": room.key}
    assert call(room.base, "POST", "/api/host/start", {}, host)[0] == 200
    # Play until a request reaches seat B; A then tries to answer it, and to ask for B.
    for _ in range(30):
        st = call(room.base, "GET", "/api/host/state?since=-1", headers=host)[1]
        if st["phase"] == "answering":
            vb = b.view(wait=False)
            if vb.get("requests"):
                learner = vb["requests"][0]["learner"]
                status, err = a.post("/api/answer", {"week": st["week"], "accept": [learner]})
                assert status in (400, 409), err
                assert b.view(wait=False)["answered"] is False  # still B's to answer
                assert b.post("/api/answer", {"week": st["week"], "accept": [learner]})[0] == 200
                break
        if st["phase"] == "asking":
            need = a.view(wait=False).get("need")
            if need and need["candidates"]:
                j = need["candidates"][0]["person"]
                bad = {"week": st["week"], "choice": str(j)}  # not a choice offered: text
                assert a.post("/api/ask", bad)[0] == 400
                too_big = {"week": st["week"], "choice": "x" * 5000}
                assert a.post("/api/ask", too_big)[0] == 413
        call(room.base, "POST", "/api/host/next", {}, host)
    else:
        pytest.fail("no request reached seat B in 30 weeks")
    # Wrong codes are limited per address.
    statuses = [Phone(room.base).join("WRONG", "x") for _ in range(12)]
    assert statuses[:10] == [403] * 10
    assert statuses[-1] == 429


@pytest.mark.parametrize(
    "room", [("--scenario", "hierarchy_2", "--weeks", "2", "--seed", "3")], indirect=True
)
def test_thirty_participants_at_once_and_the_facilitator_sees_every_choice(
    browser: Browser, room: RoomProcess
) -> None:
    errors: list[str] = []
    host = _page(browser, room.host_url, errors, phone=False)
    expect(host.locator("#code")).to_have_text(room.code, timeout=WAIT)
    phones = [Phone(room.base) for _ in range(30)]
    go = threading.Barrier(30)

    def join(i: int) -> None:
        go.wait()
        assert phones[i].join(room.code, f"P{i}") == 200

    threads = [threading.Thread(target=join, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expect(host.locator("#seat-count")).to_contain_text("30 of", timeout=WAIT)
    picks = random.Random(5)

    def choose(view: dict) -> object:
        options = [c["person"] for c in view["need"]["candidates"]] + ["silent"]
        return picks.choice(options)

    failures: list[BaseException] = []

    def play(p: Phone) -> None:
        try:
            p.play(1, choose)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=play, args=(p,)) for p in phones]
    for t in threads:
        t.start()
    call(room.base, "POST", "/api/host/start", {}, {"X-Host-Key": room.key})
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    # Every choice in, and nobody's decided by the timer: the week closed on its own.
    expect(host.locator("#status")).to_contain_text("Week 1 of 2 · Results", timeout=WAIT)
    made = sum(len(p.made) for p in phones)
    assert made >= 10
    st = call(room.base, "GET", "/api/host/state?since=-1", headers={"X-Host-Key": room.key})[1]
    assert len(st["seats"]) == 30
    room_choices = st["choices"]["room"]
    asks_made = sum(1 for p in phones for _, kind, _ in p.made if kind == "ask")
    assert room_choices["choices"] == asks_made  # every seated need with a choice was chosen
    assert st["choices"]["timer"]["choices"] == 0
    assert st["choices"]["timer"]["requests"] == 0
    silent_row = host.locator("#choices tr[data-row='stayed silent'] td").nth(1)
    expect(silent_row).to_have_text(str(room_choices["silences"]))
    host.screenshot(path=SHOTS / "host-thirty.png")
    assert errors == []


def test_the_right_code_is_refused_too_once_an_address_has_guessed_too_often(
    room: RoomProcess,
) -> None:
    for _ in range(10):
        assert Phone(room.base).join("WRONG", "x") == 403
    assert Phone(room.base).join(room.code, "me") == 429  # a guess that hits is no use
    # Malformed input is refused with a reason, never a server error.
    odd_headers = {"X-Seat": "s\u00e9at"}  # not ASCII
    for method, path, body, headers in (
        ("GET", "/api/seat", None, odd_headers),
        ("POST", "/api/ask", {"week": "1", "choice": 1}, odd_headers),
        ("POST", "/api/host/pause", {"paused": "false"}, {"X-Host-Key": room.key}),
        ("POST", "/api/join", [1, 2], None),
        ("POST", "/api/join", {"code": 12345}, None),
        ("GET", "/api/host/state?since=x", None, {"X-Host-Key": room.key}),
        ("GET", "/api/host/state?key=cl%C3%A9", None, None),  # decodes to non-ASCII
    ):
        status, data = call(room.base, method, path, body, headers)
        assert 400 <= status < 500, (path, status, data)


def test_ctrl_c_answers_the_waiting_screens_saves_and_ends(tmp_path: Path) -> None:
    """A facilitator's Ctrl-C ends the room at once, though screens are waiting for a change.

    The server waited for every open request before it stopped, and a screen's request
    waits up to POLL_SECONDS for a change; then the cut requests printed tracebacks.
    """
    import signal
    import urllib.request

    from sim.workshop.room.server import POLL_SECONDS

    r = start_room(tmp_path)
    _, state = call(r.base, "GET", f"/api/host/state?key={r.key}")
    statuses: list[int] = []

    def wait_for_change() -> None:
        url = f"{r.base}/api/host/state?key={r.key}&since={state['version']}"
        with urllib.request.urlopen(url, timeout=60) as answer:
            statuses.append(answer.status)

    screens = [threading.Thread(target=wait_for_change) for _ in range(3)]
    for screen in screens:
        screen.start()
    try:
        for _ in range(100):  # the first save, within a clock tick
            if list(r.out.glob("room-*.json")):
                break
            time.sleep(0.1)
        session = r.session_file()
        time.sleep(0.5)  # the screens' requests are held, waiting for a change
        before = session.stat().st_mtime_ns
        r.proc.send_signal(signal.SIGINT)
        assert r.proc.wait(timeout=POLL_SECONDS / 2) == 130
    finally:
        r.stop()
    for screen in screens:
        screen.join(timeout=10)
    assert statuses == [200, 200, 200]
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log
    assert log.rstrip().endswith("interrupted"), log
    assert session.stat().st_mtime_ns > before  # saved once more at the end
