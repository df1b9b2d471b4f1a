"""Classroom benchmark: N students play the real page against one server (Chromium).

What a teacher waits for, end to end: one Solara server, N browser pages (one headless
Chromium), every page presses Play at once. Prints, per page, weeks per second while all
play and how long Pause takes to answer; for the server, CPU seconds per played step
against the model step alone measured in this process (the baseline). Default: 500
employees (the built-in hierarchical setting), 10 pages, 20 s of play.

    .venv/bin/python benchmarks/bench_classroom.py [--pages 10] [--seconds 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboards.browser import (  # noqa: E402
    PAUSE_LATENCY_JS,
    chromium,
    cpu_seconds,
    running_server,
)
from dashboards.session import Classroom  # noqa: E402

COUNTER = "parseInt(document.querySelector('.step-counter').innerText.slice(5))"


def model_step_ms(repeats: int = 60) -> float:
    """Median milliseconds of one Classroom step (the page's default organization)."""
    room = Classroom()
    room.step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        room.step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(120_000)
    page.goto(url, timeout=180_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5",
                           timeout=180_000)
    return page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    baseline = model_step_ms()
    log = Path(tempfile.mkdtemp()) / "server.log"
    print(f"server log: {log}")
    with running_server(log) as url, chromium() as browser:
        pages = [open_page(browser, url) for _ in range(args.pages)]
        cpu_before = cpu_seconds(url.pid)
        starts = []
        for page in pages:
            page.get_by_role("button", name="▶", exact=True).click()
            starts.append((time.monotonic(), page.evaluate(COUNTER)))
        time.sleep(args.seconds)
        # Every page presses Pause at once (the teacher says "pause now"); each measures,
        # inside the page, the seconds until its Play button shows again.
        ended = []
        for page in pages:
            ended.append(time.monotonic())
            page.evaluate(f"window.pauseAnswer = null; void ({PAUSE_LATENCY_JS})()"
                          ".then(s => { window.pauseAnswer = s; })")
        for page in pages:
            page.wait_for_function("window.pauseAnswer !== null", timeout=60_000)
        answered = [page.evaluate("window.pauseAnswer") for page in pages]
        answers = [a for a in answered if a >= 0]
        stopped_early = len(answered) - len(answers)  # play had already ended there
        # After a pause the page draws the week where the model stopped, so counters read
        # now count every model step played (not only the frames drawn while playing).
        pages[0].wait_for_timeout(2000)
        cpu = cpu_seconds(url.pid) - cpu_before
        rates, played = [], 0
        for page, (started, first), stop in zip(pages, starts, ended, strict=True):
            weeks = page.evaluate(COUNTER) - first
            rates.append(weeks / (stop - started))
            played += weeks
        connected = sum(page.locator(".step-counter").count() == 1 for page in pages)
        tracebacks = log.read_text().count("Traceback")
    print(f"{args.pages} pages x {args.seconds:.0f} s of play, 500 employees each "
          f"(hierarchical, one setting per page)")
    print(f"  weeks per second per page: median {statistics.median(rates):.2f}, "
          f"min {min(rates):.2f}, max {max(rates):.2f}")
    if answers:
        print(f"  Pause, all pages at once, answered in (s, measured in each page): median "
              f"{statistics.median(answers):.2f}, max {max(answers):.2f}   (target <= 2)")
    print("  by page (weeks per second, Pause answered in s; -1: not playing): "
          + ", ".join(f"{r:.2f}/{a:.2f}" for r, a in zip(rates, answered, strict=True)))
    print(f"  pages no longer playing when Pause was due: {stopped_early}")
    print(f"  pages still connected: {connected} of {args.pages}; server tracebacks: "
          f"{tracebacks}")
    per_step = cpu / played * 1000 if played else float("nan")
    print(f"  server CPU per played step (model steps, incl. pausing): {per_step:.1f} ms "
          f"(model step alone {baseline:.1f} ms, ratio {per_step / baseline:.1f}x; "
          "target <= 25 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
