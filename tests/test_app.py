"""The workshop app end to end: the real server on localhost, Debian's chromium, Playwright.

Each test opens a fresh browser context (Solara keeps its state per connection), and
checks what a trainer in front of a projector would check: the two sides, the player,
the uploads, the story, the downloads. Screenshots land in results/app/ (look at them).
Without /usr/bin/chromium these tests are skipped on a developer machine and fail under
CI (`make test` installs it).

TRUSTSIM_APP_URL=http://127.0.0.1:PORT/ runs the browser tests against an app already
running (e.g. `make app`) instead of starting one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.cli import lan_address
from sim.workshop.story import CHAPTERS
from sim.workshop.worlds import load_worlds
from tests.helpers_browser import free_port, require_chromium, serve, stop

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "results" / "app"

pytestmark = pytest.mark.slow
require_chromium()

from playwright.sync_api import (  # noqa: E402
    Browser,
    FilePayload,
    Locator,
    Page,
    expect,
)

WEEKS = 104
SLOW = 60_000  # ms: a server round trip that plays a side ahead (50 runs), on a busy machine
TITLES = [
    "1. A team with no coaching",
    "2. A coach from the team, backed by top management",
    "3. The same, when people distrust management",
    "4. Colleagues coaching each other",
    "5. A breach, and the slow recovery",
    "6. More levels of hierarchy",
]
TOP_DOWN = "Coach from the team, backed by top management"  # top_down_internal
DISTRUSTED = "Coach backed by top management, in a team that distrusts management"
HIERARCHY_4 = "48 people, 4 levels of hierarchy, coach backed by the top"
HIERARCHY_1 = "48 people, 1 level of hierarchy, coach backed by the top"
NO_COACHING = "No coaching"
CHAPTER_SIDES = [  # what the legend names in each chapter: (left, right)
    (NO_COACHING, None),
    (TOP_DOWN, None),
    (DISTRUSTED, TOP_DOWN),
    ("Colleagues coach each other, in a team that distrusts management", DISTRUSTED),
    ("Coach backed by top management, who breaches trust in week 52", None),
    (HIERARCHY_4, HIERARCHY_1),
]
CHARTS = ["within_team_trust", "trust_in_coach", "mean_skill", "silence_rate"]
BREACH = "The coach breaches trust"
WITHDRAWS = "The sponsor withdraws"
SEED_LABEL = "Seed (the same seed replays the same run)"
NAMED = re.compile(r"\(\w+\): [^;]+ vs ")  # one differing parameter: "label (key): a vs b"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("TRUSTSIM_APP_URL"):
        yield os.environ["TRUSTSIM_APP_URL"]
        return
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "server.log"
    url = f"http://127.0.0.1:{port}/"
    try:
        proc = serve([sys.executable, "-m", "sim.cli", "app", "--port", str(port)], url, log)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield url
    stop(proc)


PAGE_ERRORS: dict[int, list[str]] = {}  # id(page) -> uncaught errors in the page


def open_page(browser: Browser, server: str, width: int = 1440, height: int = 1000) -> Page:
    """A fresh connection (its own Solara state), loaded and drawn at week 0."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    pg = context.new_page()
    errors: list[str] = []
    PAGE_ERRORS[id(pg)] = errors
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # Nothing comes from outside this machine (a workshop room may have no internet), and
    # no asset is missing from Solara's bundled cache (the app blocks its CDN fallback).
    local = ("http://127.0.0.1:", "http://localhost:", "ws://127.0.0.1:", "data:", "blob:")
    pg.on(
        "request",
        lambda r: None if r.url.startswith(local) else errors.append(f"fetched {r.url}"),
    )
    pg.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} for {r.url}")
            if "/_solara/cdn/" in r.url and r.status >= 400
            else None
        ),
    )
    pg.goto(server, timeout=90_000)
    expect(pg.get_by_test_id("week")).to_have_text(f"Week 0 of {WEEKS}", timeout=90_000)
    drawn(pg, 0)
    return pg


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    pg = open_page(browser, server)
    yield pg
    errors = PAGE_ERRORS.pop(id(pg), [])
    pg.context.close()
    assert not errors, f"errors in the page: {errors}"


def shot(page: Page, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def width_of(page: Page) -> int:
    size = page.viewport_size
    return size["width"] if size else 1440


def drawn(page: Page, week: int) -> None:
    """Wait until the player has drawn its charts at `week` (it sets __trustsimLastDraw)."""
    page.wait_for_function(
        "w => window.__trustsimLastDraw && window.__trustsimLastDraw.week === w"
        " && document.querySelector('[data-testid=chart-mean_skill] .xtick text')",
        arg=week,
        timeout=SLOW,
    )


def at_week(page: Page, week: int) -> None:
    expect(page.get_by_test_id("week")).to_have_text(f"Week {week} of {WEEKS}", timeout=SLOW)
    drawn(page, week)


def keys_to_player(page: Page) -> None:
    """Nothing focused: the keys go to the player (not to a select or an input)."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")


def showing(page: Page, left: str, right: str | None = None) -> None:
    """Wait until the player has the sides' runs (its legend names them), drawn at week 0.

    The heading or a select can change before the runs arrive; a key pressed in between
    would move a cursor the new runs then put back to their start week.
    """
    legend = page.get_by_test_id("legend")
    if right is None:
        expect(legend.locator(".ts-side-name")).to_have_text([left], timeout=SLOW)
    else:
        expect(legend.locator(".ts-side-name")).to_have_text(
            [f"Left: {left}", f"Right: {right}"], timeout=SLOW
        )


def chapter(page: Page, number: int) -> None:
    page.get_by_test_id(f"chapter-{number}").click()
    expect(page.locator(".ts-story h2")).to_have_text(TITLES[number - 1], timeout=SLOW)
    showing(page, *CHAPTER_SIDES[number - 1])
    at_week(page, 0)


def sandbox(page: Page) -> None:
    page.get_by_test_id("chapter-sandbox").click()
    expect(page.get_by_test_id("upload")).to_be_visible(timeout=SLOW)


def select(page: Page, label: str) -> Locator:
    return page.locator(".v-select", has_text=label).first


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option in a Vuetify select found by its label, and wait for the page to take it."""
    select(page, label).click()
    menu = page.locator(".v-select__content").last
    expect(menu).to_be_visible()
    item = menu.locator(".v-list-item-title").get_by_text(option, exact=True)
    for _ in range(40):  # the list renders only what is scrolled into view
        if item.count():
            item.first.click()
            break
        menu.locator(".v-list").first.evaluate("e => { e.scrollTop += 150 }")
        page.wait_for_timeout(50)
    else:
        pytest.fail(f"no option {option!r} in {label!r}")
    expect(select(page, label).locator(".v-select__selection-text")).to_have_text(
        option, timeout=SLOW
    )
    keys_to_player(page)


def download(page: Page, testid: str) -> tuple[str, bytes]:
    with page.expect_download(timeout=SLOW) as info:
        page.get_by_test_id(testid).click()
    path = info.value.path()
    assert path is not None
    return info.value.suggested_filename, Path(path).read_bytes()


def csv_rows(page: Page) -> list[dict[str, str]]:
    name, data = download(page, "export-csv")
    assert name == "trust-data.csv"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def series(
    rows: list[dict[str, str]], side: str, column: str, kind: str = "watched run"
) -> list[float]:
    """One side's column, week by week ('' -> nan)."""
    picked = [r for r in rows if r["side"] == side and r["series"] == kind]
    assert [int(r["week"]) for r in picked] == list(range(WEEKS + 1)), (side, kind)
    return [float(r[column]) if r[column] else float("nan") for r in picked]


def payload(name: str, data: bytes, mime: str = "application/octet-stream") -> FilePayload:
    return {"name": name, "mimeType": mime, "buffer": data}


def upload(page: Page, name: str, data: bytes) -> None:
    """A file given to the upload zone's file input (as the file dialog does)."""
    page.get_by_test_id("upload-input").set_input_files(files=[payload(name, data)])


def problem_sentence(page: Page, name: str) -> str:
    """The one-sentence problem an upload gave (it names the file)."""
    box = page.get_by_test_id("problem")
    expect(box).to_contain_text(name, timeout=SLOW)
    text = box.inner_text().strip()
    assert text.startswith(f"{name}:"), text
    assert "\n" not in text, text
    assert len(text) < 400, text
    for word in ("Traceback", 'File "', "Error", "Exception"):
        assert word not in text, text
    return text


def event_weeks(page: Page) -> list[float]:
    """The weeks of the event markers (dashed vertical lines) on the trust-in-coach chart."""
    shapes = page.evaluate(
        "() => document.querySelector('[data-testid=chart-trust_in_coach]').layout.shapes || []"
    )
    return [
        s["x0"]
        for s in shapes
        if s["x0"] == s["x1"] and s.get("yref") == "paper" and s["line"].get("dash") == "dash"
    ]


def page_text(page: Page) -> str:
    return page.locator("body").inner_text()


def no_traceback(page: Page) -> None:
    text = page_text(page)
    for word in ("Traceback", "Error", "Exception"):
        assert word not in text, f"{word!r} in the page: {text[:2000]}"


# ------------------------------------------------------------------ two sides
def test_one_differing_parameter_is_named_and_changes_the_run(page: Page) -> None:
    sandbox(page)
    choose(page, "Left side", TOP_DOWN)
    choose(page, "Right side", DISTRUSTED)
    showing(page, TOP_DOWN, DISTRUSTED)
    diff = page.get_by_test_id("differences")
    expect(diff).to_contain_text("(management_trust_scale): 1 vs 0.2", timeout=SLOW)
    text = diff.inner_text()
    assert len(NAMED.findall(text)) == 1, f"only one parameter differs: {text}"
    assert "Trust in management" in text  # the plain label as well as the model's name
    legend = page.get_by_test_id("legend")
    expect(legend).to_contain_text(f"Left: {TOP_DOWN}")
    expect(legend).to_contain_text(f"Right: {DISTRUSTED}")
    keys_to_player(page)
    page.keyboard.press("End")
    at_week(page, WEEKS)
    shot(page, "01_sandbox_one_difference")
    rows = csv_rows(page)
    assert len(rows) == 2 * 4 * (WEEKS + 1)
    watched = {s: series(rows, s, "trust_in_coach") for s in (TOP_DOWN, DISTRUSTED)}
    assert watched[TOP_DOWN][0] == pytest.approx(watched[DISTRUSTED][0], abs=0.05)
    assert watched[TOP_DOWN][WEEKS] != watched[DISTRUSTED][WEEKS]
    # Over the 50 runs, a team that distrusts management trusts the coach less.
    median = {s: series(rows, s, "trust_in_coach", "median of runs") for s in watched}
    assert median[DISTRUSTED][WEEKS] < median[TOP_DOWN][WEEKS] - 0.05, median


def test_hierarchy_chapter_names_the_levels_and_the_teams(page: Page) -> None:
    chapter(page, 6)
    diff = page.get_by_test_id("differences")
    expect(diff).to_contain_text("Levels of hierarchy (levels): 4 vs 1", timeout=SLOW)
    text = diff.inner_text()
    assert len(NAMED.findall(text)) == 1, f"only the levels differ: {text}"
    # how each side's organization is made up: the 48 split into teams, or one team
    assert re.search(r"Left: 48 people in \d+ teams .*4 levels", text), text
    assert re.search(r"Right: 48 people in 1 team of 48, 1 manager, 1 level\b", text), text
    rows = csv_rows(page)
    for column in CHARTS[:3]:
        left, right = series(rows, HIERARCHY_4, column), series(rows, HIERARCHY_1, column)
        assert left != right, f"{column}: the two sides are the same run"
    assert {r["scenario"] for r in rows} == {"hierarchy_4", "hierarchy_1"}


def test_the_same_scenario_on_both_sides_says_nothing_differs(page: Page) -> None:
    sandbox(page)
    choose(page, "Left side", NO_COACHING)
    choose(page, "Right side", NO_COACHING)
    showing(page, NO_COACHING, NO_COACHING)
    expect(page.get_by_test_id("differences")).to_contain_text(
        "Nothing differs between the two sides", timeout=SLOW
    )
    rows = csv_rows(page)
    sides = sorted({r["side"] for r in rows})
    assert len(sides) == 1, sides
    assert len(rows) == 2 * 4 * (WEEKS + 1)
    # the same seed on both sides: the same run, week by week
    half = len(rows) // 2
    assert rows[:half] == rows[half:]


# ------------------------------------------------------------------ the player
def test_top_speed_reaches_the_end_on_a_busy_machine(page: Page) -> None:
    chapter(page, 3)
    speed = page.get_by_test_id("speed")
    speed.fill("20")
    expect(page.locator(".ts-speed")).to_contain_text("20 weeks/s")
    busy = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        started = time.monotonic()
        page.get_by_test_id("play").click()
        expect(page.get_by_test_id("play")).to_have_text("❚❚ Pause")
        # the cursor follows the clock: 104 weeks at 20 a second take about 5 s
        expect(page.get_by_test_id("week")).to_have_text(f"Week {WEEKS} of {WEEKS}", timeout=60_000)
        took = time.monotonic() - started
        expect(page.get_by_test_id("play")).to_have_text("▶ Play")
        drawn(page, WEEKS)
    finally:
        for proc in busy:
            proc.kill()
        for proc in busy:
            proc.wait()
    assert took < 30, f"{took:.1f} s to play 104 weeks at 20 weeks/s"
    no_traceback(page)
    assert not PAGE_ERRORS[id(page)]
    shot(page, "02_top_speed_end")
    page.get_by_test_id("restart").click()
    at_week(page, 0)


def test_an_event_branches_the_run_at_the_current_week(page: Page) -> None:
    chapter(page, 2)
    before = csv_rows(page)
    for _ in range(10):
        page.get_by_test_id("step").click()
    at_week(page, 10)
    expect(page.get_by_test_id("export-png")).to_have_text("Picture at week 10 (PNG)")
    page.get_by_test_id(f"event-{BREACH}").click()
    expect(page.get_by_test_id("legend")).to_contain_text("an event", timeout=SLOW)
    at_week(page, 10)  # it stays at the week it was fired at
    assert event_weeks(page) == [11]
    shot(page, "08_breach_at_week_11")
    after = csv_rows(page)
    old = series(before, TOP_DOWN, "trust_in_coach")
    new = series(after, TOP_DOWN, "trust_in_coach")
    assert new[:11] == old[:11], "the weeks before the event changed"
    assert min(n - o for n, o in zip(new[11:15], old[11:15], strict=True)) < -0.05, (
        old[9:16],
        new[9:16],
    )


# ------------------------------------------------------------------ uploads
def test_every_bad_upload_is_one_sentence_and_a_good_one_opens(page: Page) -> None:
    sandbox(page)
    # the zone opens a file dialog when clicked
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("upload").click()
    chooser.value.set_files(files=[payload("broken.toml", b"preset = \n[[[")])
    assert "not valid TOML" in problem_sentence(page, "broken.toml")

    upload(page, "typo.toml", b'preset = "peer_led"\ntrust_gian = 0.1\n')
    assert "trust_gian" in problem_sentence(page, "typo.toml")
    upload(page, "script.py", b"import os\nos.system('echo hello')\n")
    assert ".toml" in problem_sentence(page, "script.py")
    upload(page, "binary.toml", b"\xff\xfe\x00" + random.Random(1).randbytes(4000))
    assert "not a text file" in problem_sentence(page, "binary.toml")
    upload(page, "big.toml", b'preset = "peer_led"\n' + b"# padding\n" * 7000)
    assert "64 kB" in problem_sentence(page, "big.toml")
    for name, parent in (("passwd.toml", "/etc/passwd"), ("parent.toml", "../pyproject.toml")):
        upload(page, name, f'extends = "{parent}"\n'.encode())
        assert "refused" in problem_sentence(page, name)
    content = page.content()
    assert "[build-system]" not in content
    assert "root:x:0" not in content
    expect(select(page, "Left side")).to_contain_text(NO_COACHING)  # nothing was opened

    # dropped on the zone, as from a file manager
    drop = page.evaluate_handle(
        """() => { const dt = new DataTransfer();
        dt.items.add(new File(['preset = "peer_led"\\nname = "my team"\\n'], 'good.toml'));
        return dt; }"""
    )
    page.get_by_test_id("upload").dispatch_event("drop", {"dataTransfer": drop})
    expect(page.get_by_text("Opened good.toml: “my team” is now on the left.")).to_be_visible(
        timeout=SLOW
    )
    expect(select(page, "Left side").locator(".v-select__selection-text")).to_have_text("my team")
    expect(page.get_by_test_id("legend")).to_contain_text("my team")
    expect(page.get_by_test_id("problem")).to_have_count(0)
    shot(page, "03_uploaded")


def test_markup_in_an_upload_is_shown_as_text(page: Page) -> None:
    sandbox(page)
    tag = '<img src=x onerror="window.__xss=1">'
    text = f"name = '{tag}'\ndescription = '<script>window.__xss=2</script>{tag}'\n"
    upload(
        page,
        'a<img src=x onerror="window.__xss=3">.toml',
        ('preset = "peer_led"\n' + text).encode(),
    )
    expect(page.get_by_test_id("legend")).to_contain_text(tag, timeout=SLOW)
    expect(page.get_by_test_id("network-0")).to_contain_text(tag)
    # a file name with markup in a refusal. On a loaded machine a second file given
    # while the page still settles after the first was seen to get no answer at all (the
    # notice of the first stayed): given again, as a user would drop it again.
    refused = '<img src=x onerror="window.__xss=4">.py'
    for _ in range(3):
        upload(page, refused, b"x = 1\n")
        try:
            expect(page.get_by_test_id("problem")).to_be_visible(timeout=10_000)
            break
        except AssertionError:
            continue
    expect(page.get_by_test_id("problem")).to_contain_text(
        '<img src=x onerror="window.__xss=4">.py: only scenario files', timeout=SLOW
    )
    page.wait_for_timeout(300)  # an onerror handler would have run by now
    assert page.evaluate("() => window.__xss") is None
    assert page.locator('img[src="x"]').count() == 0
    assert (
        page.evaluate(
            "() => [...document.scripts].filter(s => s.textContent.includes('__xss')).length"
        )
        == 0
    )


# ------------------------------------------------------------------ the story
def test_the_story_runs_with_the_keyboard_alone(page: Page) -> None:
    heading = page.locator(".ts-story h2")
    expect(heading).to_have_text(TITLES[0])
    keys_to_player(page)
    page.keyboard.press(" ")
    expect(page.get_by_test_id("play")).to_have_text("❚❚ Pause")
    expect(page.get_by_test_id("week")).to_have_text(
        re.compile(r"Week [1-9]\d* of"), timeout=20_000
    )
    page.keyboard.press(" ")
    expect(page.get_by_test_id("play")).to_have_text("▶ Play")
    stopped = int(page.get_by_test_id("week").inner_text().split()[1])
    page.keyboard.press("ArrowRight")
    at_week(page, stopped + 1)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    at_week(page, stopped - 1)
    page.keyboard.press("Home")
    at_week(page, 0)
    for number in range(2, 7):
        page.keyboard.press("ArrowDown" if number % 2 else "PageDown")
        expect(heading).to_have_text(TITLES[number - 1], timeout=SLOW)
        expect(page.get_by_test_id(f"chapter-{number}")).to_have_text(TITLES[number - 1])
        showing(page, *CHAPTER_SIDES[number - 1])
        at_week(page, 0)
    page.keyboard.press(" ")
    expect(page.get_by_test_id("play")).to_have_text("❚❚ Pause")
    page.keyboard.press("ArrowDown")  # stops the run and opens the sandbox
    expect(page.get_by_test_id("upload")).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("play")).to_have_text("▶ Play")
    expect(heading).to_have_count(0)
    expect(select(page, "Left side")).to_contain_text(HIERARCHY_4)  # the last chapter's sides
    expect(select(page, "Right side")).to_contain_text(HIERARCHY_1)
    page.keyboard.press("ArrowUp")
    expect(heading).to_have_text(TITLES[5], timeout=SLOW)


def test_chapter_3_answer_says_the_coach_is_trusted_more_when_management_is(page: Page) -> None:
    chapter(page, 3)
    page.get_by_test_id("guess-0").click()  # "Less (left lower)"
    keys_to_player(page)
    page.keyboard.press("End")
    at_week(page, WEEKS)
    page.get_by_test_id("reveal").click()
    answer = page.get_by_test_id("answer")
    expect(answer).to_contain_text(f"higher with “{TOP_DOWN}”", timeout=SLOW)
    text = answer.inner_text()
    assert re.search(r"left minus right -0\.\d\d", text), text
    assert "The room guessed “Less (left lower)”: right." in text, text
    # and how often that holds beyond these settings, as worlds.json says
    found = load_worlds()[CHAPTERS[2].title]
    beyond = page.get_by_test_id("worlds")
    expect(beyond).to_contain_text("Does this hold beyond these settings?")
    right = round(100 * found["right_higher"])
    assert f"higher on the right in {right}%" in beyond.inner_text()
    page.get_by_test_id("next-chapter").click()
    expect(page.locator(".ts-story h2")).to_have_text(TITLES[3], timeout=SLOW)
    expect(page.get_by_test_id("answer")).to_have_count(0)


# ------------------------------------------------------------------ the projector
@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_player_fits_the_screen(browser: Browser, server: str, size: tuple[int, int]) -> None:
    width, height = size
    pg = open_page(browser, server, width, height)
    try:
        chapter(pg, 3)
        keys_to_player(pg)
        # To week 30, a press at a time as a person watching does. Every press must take:
        # presses right after the chapter's runs appeared were once undone by its start
        # arriving a render later (on a loaded machine, 3 runs of 4 failed).
        week = pg.get_by_test_id("week")
        for target in range(1, 31):
            pg.keyboard.press("ArrowRight")
            expect(week).to_have_text(f"Week {target} of {WEEKS}", timeout=SLOW)
        at_week(pg, 30)
        # each key press reaches the server too (the picture is taken at its week)
        expect(pg.get_by_test_id("export-png")).to_have_text("Picture at week 30 (PNG)")
        shot(pg, f"06_chapter3_{width}x{height}")
        for testid in ["legend", "play", "week", "differences"] + [f"chart-{c}" for c in CHARTS]:
            box = pg.get_by_test_id(testid).bounding_box()
            assert box is not None, testid
            assert box["x"] >= 0, (testid, box)
            assert box["y"] >= 0, (testid, box)
            assert box["x"] + box["width"] <= width + 0.5, (testid, box)
            assert box["y"] + box["height"] <= height + 0.5, (testid, box)
        if width >= 1920:
            sizes = pg.evaluate(
                """() => [...document.querySelectorAll(
                     '.ts-chart .xtick text, .ts-chart .ytick text')]
                   .map(t => parseFloat(getComputedStyle(t).fontSize))"""
            )
            assert len(sizes) >= 4 * 3, sizes  # week and value ticks on all four charts
            assert min(sizes) >= 24, sizes
        assert not PAGE_ERRORS[id(pg)]
    finally:
        PAGE_ERRORS.pop(id(pg), None)
        pg.context.close()


# ------------------------------------------------------------------ sessions
def test_a_saved_session_comes_back(browser: Browser, server: str, page: Page) -> None:
    sandbox(page)
    choose(page, "Left side", TOP_DOWN)
    choose(page, "Right side", DISTRUSTED)
    showing(page, TOP_DOWN, DISTRUSTED)
    page.get_by_role("button", name="left", exact=True).click()
    expect(page.get_by_text("The sliders change the left side only.")).to_be_visible()
    label = "People the coach can help each week"
    slider = page.locator(".v-slider").nth(4)  # the fifth control
    expect(page.get_by_text(f"{label}: 4", exact=True)).to_be_visible()
    box = slider.locator(".v-slider-track").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)  # the far end
    expect(page.get_by_text(f"{label}: 12  (left 12, right 4)")).to_be_visible(timeout=SLOW)
    seed = page.get_by_label(SEED_LABEL)
    seed.fill("7")
    seed.press("Enter")
    keys_to_player(page)
    expect(page.get_by_test_id("differences")).to_contain_text(
        "(coach_capacity): 12 vs 4", timeout=SLOW
    )
    # the seed's runs have arrived when a file asked for after it has (one message stream)
    assert {r["seed"] for r in csv_rows(page)} == {"7"}
    for _ in range(6):
        page.get_by_test_id("step").click()
    page.get_by_test_id("back").click()
    at_week(page, 5)
    page.get_by_test_id(f"event-{WITHDRAWS}").click()
    expect(page.get_by_test_id("legend")).to_contain_text("an event", timeout=SLOW)
    rows = csv_rows(page)
    assert {r["seed"] for r in rows} == {"7"}
    name, data = download(page, "save-session")
    assert name.endswith(".json")
    saved = json.loads(data)
    assert saved["seed"] == 7
    assert saved["left"] == {"key": "top_down_internal", "values": {"coach_capacity": 12}}
    assert saved["right"] == {"key": "distrusted_management", "values": {}}
    assert saved["events"] == [{"label": WITHDRAWS, "at": 6}]
    diff_before = page.get_by_test_id("differences").inner_text()

    fresh = open_page(browser, server)
    try:
        sandbox(fresh)
        expect(fresh.get_by_label(SEED_LABEL)).to_have_value("1")
        with fresh.expect_file_chooser() as chooser:
            fresh.get_by_test_id("upload").click()
        chooser.value.set_files(files=[payload(name, data, "application/json")])
        expect(fresh.get_by_text(f"Brought back the session saved in {name}.")).to_be_visible(
            timeout=SLOW
        )
        # the mouse off the panel, which moved under it: no slider's tooltip in the picture
        fresh.mouse.move(width_of(fresh) // 2, 5)
        expect(fresh.get_by_label(SEED_LABEL)).to_have_value("7")
        expect(select(fresh, "Left side")).to_contain_text(TOP_DOWN)
        expect(select(fresh, "Right side")).to_contain_text(DISTRUSTED)
        expect(fresh.get_by_test_id("differences")).to_have_text(diff_before)
        expect(fresh.get_by_text(f"{label}: 12  (left 12, right 4)")).to_be_visible()
        expect(fresh.get_by_test_id("legend")).to_contain_text("an event")
        assert event_weeks(fresh) == [6]
        assert csv_rows(fresh) == rows  # the same runs as before saving
        shot(fresh, "07_session_back")
        assert not PAGE_ERRORS[id(fresh)]
    finally:
        PAGE_ERRORS.pop(id(fresh), None)
        fresh.context.close()


# ------------------------------------------------------------------ the keyboard on a slider
def test_arrow_keys_on_a_slider_move_only_the_slider(page: Page) -> None:
    sandbox(page)
    label = "How readily people trust each other"
    expect(page.get_by_text(f"{label}: 0.5", exact=True)).to_be_visible()
    thumb = page.locator(".v-slider").nth(2).get_by_role("slider")
    thumb.focus()
    page.keyboard.press("ArrowUp")
    expect(page.get_by_text(f"{label}: 0.55", exact=True)).to_be_visible(timeout=SLOW)
    page.wait_for_timeout(1000)  # a chapter change would have arrived by now
    expect(page.get_by_test_id("upload")).to_be_visible()  # still in the sandbox
    expect(page.locator(".ts-story h2")).to_have_count(0)
    thumb.focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_text(f"{label}: 0.6", exact=True)).to_be_visible(timeout=SLOW)
    page.wait_for_timeout(1000)
    at_week(page, 0)
    expect(page.get_by_test_id("export-png")).to_have_text("Picture at week 0 (PNG)")


# ------------------------------------------------------------------ the seed
def test_a_refused_seed_leaves_the_seed_in_use_in_the_box(page: Page) -> None:
    sandbox(page)
    seed = page.get_by_label(SEED_LABEL)
    seed.fill("5")
    seed.press("Enter")
    expect(page.get_by_text("model name: no_coaching")).to_be_visible()
    for refused in ("-1", "-2"):
        seed.fill(refused)
        seed.press("Enter")
        expect(page.get_by_test_id("problem")).to_contain_text(
            f"Seed {refused}: choose a whole number", timeout=SLOW
        )
        expect(seed).to_have_value("5", timeout=5_000)
    assert {r["seed"] for r in csv_rows(page)} == {"5"}


# ------------------------------------------------------------------ the address
def _first_line(args: list[str]) -> str:
    """Start `trustsim app` with args, read its first line, stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "app", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        return proc.stdout.readline()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_the_app_listens_on_this_machine_only_unless_told(server: str) -> None:
    port = free_port()
    line = _first_line(["--port", str(port)])
    assert f"http://127.0.0.1:{port}" in line, line
    assert "only this machine can open it" in line, line
    port = free_port()
    line = _first_line(["--host", "0.0.0.0", "--port", str(port)])
    assert "only this machine" not in line, line
    assert "listening on every network interface of this machine, beyond this machine" in line
    assert f"anyone who can reach it on port {port} can open it" in line, line
    # the server the other tests use answers on 127.0.0.1, not on the machine's address
    outward = lan_address()
    if not outward.startswith("127."):
        serving = int(server.rstrip("/").rsplit(":", 1)[1])
        with socket.socket() as s:
            s.settimeout(3)
            with pytest.raises(OSError, match=r"refused|timed out"):
                s.connect((outward, serving))


def test_a_session_comes_back_from_the_story_page(page: Page) -> None:
    """The facilitator opens tomorrow on chapter 1 and drops yesterday's file there."""
    saved = (
        '{"trustsim_session": 1, "chapter": 2, "left": {"key": "distrusted_management"}, '
        '"right": {"key": "top_down_internal"}, "seed": 9}'
    )
    expect(page.get_by_test_id("open-session")).to_be_visible(timeout=SLOW)
    page.get_by_test_id("open-session-input").set_input_files(
        files=[payload("yesterday.json", saved.encode())]
    )
    expect(page.get_by_text("Brought back the session saved in yesterday.json.")).to_be_visible(
        timeout=SLOW
    )
    expect(page.get_by_test_id("differences")).to_contain_text("(management_trust_scale): 0.2 vs 1")
