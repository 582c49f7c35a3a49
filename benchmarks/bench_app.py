"""Workshop app: a chapter's runs ready on the server, a week drawn in the browser.

Targets (issue 13): a chapter's run with its 50-run band ready in under 1 s on 2
cores (both sides of a two-sided chapter, computed cold: `sim.workshop.play.play`); a week
drawn in the browser after a click in under 100 ms (the real app in Debian's
chromium, the "week" button clicked, timed from the click to the second animation
frame after it, when the new week is on screen; two sides and 48 people).
Run: `make bench` or `.venv/bin/python benchmarks/bench_app.py`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.workshop.play import Side, play  # noqa: E402
from sim.workshop.story import CHAPTERS, library  # noqa: E402
from tests.helpers_browser import CHROMIUM, FLAGS, free_port, serve, stop  # noqa: E402

CLICKS = """async (n) => {
  const out = [];
  const button = document.querySelector('[data-testid=step]');
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    button.click();
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    out.push(performance.now() - t0);
  }
  return out;
}"""


def chapter_times() -> list[tuple[str, float]]:
    """Seconds to play each chapter's side(s) with their bands, nothing cached."""
    lib = library()
    play(Side("top_down_internal", lib["top_down_internal"][0]), 99, replications=2)  # warm
    out = []
    for ch in CHAPTERS:
        started = time.perf_counter()
        for name in (ch.left, ch.right):
            if name:
                play(Side(name, lib[name][0]), 1)
        out.append((ch.title, time.perf_counter() - started))
    return out


def browser_times(clicks: int = 40) -> list[float] | None:
    """Milliseconds from a click on "week" to the next week on screen, or None."""
    if not CHROMIUM.exists():
        return None
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "sim.cli", "app", "--port", str(port)]
        server = serve(command, url, Path(tmp) / "server.log", timeout=120)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(url)
            page.get_by_test_id("chapter-6").click()  # two sides, 48 people each
            page.get_by_test_id("differences").wait_for(timeout=60_000)
            page.wait_for_function("window.__trustsimLastDraw !== undefined", timeout=60_000)
            page.evaluate(CLICKS, 5)  # the first draws set the charts up
            times = page.evaluate(CLICKS, clicks)
            browser.close()
        return [float(t) for t in times]
    finally:
        stop(server)


def main() -> str:
    """Return a Markdown report."""
    chapters = chapter_times()
    lines = [
        "## Workshop app: a chapter ready, a week drawn",
        "",
        "Each chapter's side(s) played ahead on the server: the watched run with its network "
        "every week, and 50 replications for the band and the paired difference.",
        "",
        "| chapter | ready in | target |",
        "|---|---|---|",
    ]
    for title, seconds in chapters:
        lines.append(f"| {title} | {seconds:.2f} s | < 1 s |")
    clicks = browser_times()
    lines.append("")
    if clicks is None:
        lines.append("Browser: no /usr/bin/chromium here; the week in the browser was not timed.")
    else:
        ordered = sorted(clicks)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        lines += [
            "| a week drawn in the browser after a click (chapter 6: two sides, 48 people, "
            "1920x1080) | median | 90th percentile | target |",
            "|---|---|---|---|",
            f"| {len(clicks)} clicks on 'week' | {statistics.median(clicks):.0f} ms | "
            f"{p90:.0f} ms | < 100 ms |",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
