"""Workshop room under load: 30 participants on loopback, the facilitator's screen in Chromium.

Target (issue 18): with 30 participants joined at once and a week's choices all in, the
facilitator's screen shows the week's results in under 1 s. Timed from the room's
answer to the last choice of the week (the participant's HTTP call returning) to the
moment the facilitator's page shows "Week w of N · Results" (a MutationObserver in the
page, on the same machine's clock). The participants make the calls the phone page
makes (tests/room_helpers.Phone), each in its own thread; the room is
`trustsim app --room` as a trainer starts it (48 people, 2 levels, 6 weeks).
Run: `make bench` or `.venv/bin/python benchmarks/bench_room.py`.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers_browser import CHROMIUM, FLAGS  # noqa: E402
from tests.room_helpers import Phone, call, start_room  # noqa: E402

PARTICIPANTS = 30
WEEKS = 6
WATCH = """() => {
  window.__seen = {};
  const status = document.getElementById('status');
  const note = () => {
    const m = status.textContent.match(/Week (\\d+) of \\d+ · (Results|The session has ended)/);
    if (m && !(m[1] in window.__seen)) window.__seen[m[1]] = Date.now();
  };
  new MutationObserver(note).observe(status, {childList: true, characterData: true, subtree: true});
  note();
}"""


def measure() -> dict[str, object]:
    """Joining and each week's screen update, in seconds."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        room = start_room(
            Path(tmp), "--scenario", "hierarchy_2", "--weeks", str(WEEKS), "--seed", "3",
            "--ask-seconds", "300", "--answer-seconds", "300",
        )  # fmt: skip
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(room.host_url)
                page.wait_for_selector(f"#code:has-text('{room.code}')")
                page.evaluate(WATCH)
                phones = [Phone(room.base) for _ in range(PARTICIPANTS)]
                gate = threading.Barrier(PARTICIPANTS + 1)

                def join(ph: Phone, i: int) -> None:
                    gate.wait()
                    assert ph.join(room.code, f"P{i}") == 200

                threads = [
                    threading.Thread(target=join, args=(ph, i)) for i, ph in enumerate(phones)
                ]
                for t in threads:
                    t.start()
                gate.wait()
                t0 = time.time()
                for t in threads:
                    t.join()
                page.wait_for_selector(f"#seat-count:has-text('{PARTICIPANTS} of')")
                joined = time.time() - t0
                pick = random.Random(1)

                def choose(view: dict) -> object:
                    return pick.choice(
                        [c["person"] for c in view["need"]["candidates"]] + ["silent"]
                    )

                players = [threading.Thread(target=ph.play, args=(WEEKS, choose)) for ph in phones]
                for t in players:
                    t.start()
                key = {"X-Host-Key": room.key}
                call(room.base, "POST", "/api/host/start", {}, key)
                version = -1
                while True:
                    _, st = call(room.base, "GET", f"/api/host/state?since={version}", headers=key)
                    version = st["version"]
                    if st["phase"] == "ended":
                        break
                    if st["phase"] == "results":
                        page.wait_for_function(f"() => '{st['week']}' in window.__seen")
                        call(room.base, "POST", "/api/host/next", {}, key)
                for t in players:
                    t.join(timeout=60)
                page.wait_for_function(f"() => '{WEEKS}' in window.__seen")
                seen = page.evaluate("() => window.__seen")
                browser.close()
        finally:
            room.stop()
    lags, choices = [], []
    for week in range(1, WEEKS + 1):
        sent = [t for ph in phones for w, _, t in ph.made if w == week]
        choices.append(len(sent))
        if sent:
            lags.append(seen[str(week)] / 1000 - max(sent))
    return {"joined": joined, "lags": lags, "choices": choices}


def main() -> str:
    """Return a Markdown report."""
    if not CHROMIUM.exists():
        return "## Workshop room\n\nNo /usr/bin/chromium here: the room was not timed.\n"
    m = measure()
    lags = m["lags"]
    assert isinstance(lags, list)
    return "\n".join(
        [
            f"## Workshop room: {PARTICIPANTS} participants on loopback (issue 18)",
            "",
            f"`trustsim app --room` (48 people, 2 levels, {WEEKS} weeks), the facilitator's "
            "screen in Chromium at 1280x720; each participant a thread making the phone "
            "page's calls. Run: `.venv/bin/python benchmarks/bench_room.py`.",
            "",
            "| measure | value | target |",
            "|---|---|---|",
            f"| {PARTICIPANTS} joined at once, until the screen shows them all | "
            f"{m['joined']:.2f} s | |",
            f"| last choice of the week to the screen showing its results: median of "
            f"{len(lags)} weeks | {statistics.median(lags):.2f} s | < 1 s |",
            f"| the same, slowest week | {max(lags):.2f} s | < 1 s |",
            f"| choices per week | {', '.join(str(c) for c in m['choices'])} | |",
            "",
        ]
    )


if __name__ == "__main__":
    print(main())
