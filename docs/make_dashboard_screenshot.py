"""Regenerate docs/dashboard.png: two settings side by side after 40 steps, one employee
inspected. Needs Debian's chromium (/usr/bin/chromium).

    .venv/bin/python docs/make_dashboard_screenshot.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboards.browser import chromium, running_server  # noqa: E402

STEPS = 40


def main(out: Path = ROOT / "docs" / "dashboard.png") -> None:
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp) / "server.log") as url, \
            chromium() as browser:
        page = browser.new_page(viewport={"width": 1560, "height": 2000})
        page.set_default_timeout(60_000)
        page.goto(url, timeout=90_000)
        page.wait_for_selector(".step-counter")
        page.locator(".v-select", has=page.get_by_text("Compare side by side with",
                                                       exact=True)).click()
        page.locator(".menuable__content__active").get_by_text("shared_authority",
                                                               exact=True).click()
        page.wait_for_function("document.querySelectorAll('.network').length == 2")
        for step in range(1, STEPS + 1):
            page.get_by_role("button", name="Step", exact=True).click()
            page.get_by_text(f"Week {step}", exact=True).wait_for()
        point = page.locator(".network .scatterlayer .trace .points path").nth(3)
        point.scroll_into_view_if_needed()
        box = point.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.locator(".inspector").wait_for()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(out), full_page=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
