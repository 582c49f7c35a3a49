"""The workshop app end to end: the real server on localhost, Debian's chromium, Playwright.

Screenshots land in results/app/ (look at them). Without /usr/bin/chromium these
tests are skipped on a developer machine and fail under CI (`make test` installs it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "results" / "app"
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail("Debian's chromium is missing: `make test` installs it", pytrace=False)
    pytest.skip("no /usr/bin/chromium (make test installs it)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "app", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"the app did not answer on {url}: {proc.stdout.read() if proc.stdout else ''}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.goto(server, timeout=90_000)
    expect(pg.get_by_text("Week 0")).to_be_visible(timeout=90_000)
    yield pg
    context.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def week(page: Page) -> int:
    text = page.locator("h2", has_text="Week").inner_text()
    return int(text.split()[-1])


def picture(page: Page) -> str:
    return str(page.locator("img").first.get_attribute("src"))


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option in a Vuetify select found by its label."""
    page.locator(".v-select", has_text=label).first.click()
    item = page.locator(".v-overlay__content .v-list-item-title").get_by_text(option, exact=True)
    for _ in range(30):  # the list renders only what is scrolled into view
        if item.count():
            item.click()
            return
        page.locator(".v-overlay__content .v-list").first.evaluate("e => { e.scrollTop += 150 }")
        page.wait_for_timeout(100)
    pytest.fail(f"no option {option!r} in {label!r}")


def test_load_play_and_pause(page: Page) -> None:
    expect(page.get_by_text("Trust in teams", exact=False).first).to_be_attached()
    # a trainer can say what the shapes, colours and lines mean
    expect(page.get_by_text("How to read the network", exact=False)).to_be_visible()
    before = picture(page)
    shot(page, "01_loaded")
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('h2')]"
        ".some(h => /Week ([3-9]|\\d\\d)/.test(h.textContent))",
        timeout=30_000,
    )
    page.get_by_role("button", name="Pause").click()
    assert week(page) >= 3
    assert picture(page) != before  # the network and the charts moved
    shot(page, "02_played")


def test_pick_a_preset_and_step(page: Page) -> None:
    choose(page, "Scenario", "peer_led")
    expect(page.get_by_text("every member", exact=False).first).to_be_visible()
    assert week(page) == 0
    page.get_by_role("button", name="Step").click()
    expect(page.locator("h2", has_text="Week 1")).to_be_visible()
    shot(page, "03_peer_led")


def test_a_slider_resets_the_run_with_its_value(page: Page) -> None:
    page.get_by_role("button", name="Step").click()
    page.get_by_role("button", name="Step").click()
    expect(page.locator("h2", has_text="Week 2")).to_be_visible()
    label = "How readily people trust each other"
    expect(page.get_by_text(f"{label}: 0.5", exact=True)).to_be_visible()
    slider = page.locator(".control", has_text=label).get_by_role("slider")
    slider.focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_text(f"{label}: 0.55", exact=True)).to_be_visible()
    expect(page.locator("h2", has_text="Week 0")).to_be_visible()  # a fresh run
    shot(page, "04_slider")


def test_an_event_acts_now(page: Page) -> None:
    for _ in range(3):
        page.get_by_role("button", name="Step").click()
    expect(page.locator("h2", has_text="Week 3")).to_be_visible()
    before = picture(page)
    page.get_by_role("button", name="The coach breaches trust").click()
    page.wait_for_function(f"() => document.querySelector('img').src !== {before!r}")
    assert week(page) == 3  # it happened now, not at the next step
    shot(page, "05_breach")


def test_side_by_side(page: Page) -> None:
    choose(page, "Side by side with", "peer_led")
    expect(page.get_by_text("Both run from the same seed", exact=False)).to_be_visible()
    page.get_by_role("button", name="Step").click()
    expect(page.locator("h2", has_text="Week 1")).to_be_visible()
    shot(page, "06_side_by_side")


def test_export_png(page: Page) -> None:
    page.get_by_role("button", name="Export this picture (PNG)").click()
    link = page.get_by_text("Download trust-week-0.png")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename == "trust-week-0.png"
    path = info.value.path()
    assert path is not None
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
