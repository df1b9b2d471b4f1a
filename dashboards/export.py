"""report.pdf and one PNG per chart, from the very report page, through Debian's chromium.

The page is opened from disk in headless chromium (Playwright, no browser download, no
network: any request other than file:/data:/blob: is refused and reported). For the PDF
the window is set to the printed width first, so every chart lays itself out for the
page (the print stylesheet in dashboards/report.py does the rest: the summary alone on
page 1, nothing split across pages). Chart images are screenshots of each chart's
element at slide size. Every file is written atomically.
"""

from __future__ import annotations

import time
from pathlib import Path

from dashboards.browser import CHROMIUM, CHROMIUM_ARGS
from experiments.outputs import atomic_write
from model.parameters import ParameterError

PAPERS = {"a4": ("A4", 794), "letter": ("Letter", 816)}  # printed width in CSS pixels
MARGIN_PX = 91  # 12 mm left + right margins of the print stylesheet, in CSS pixels
SLIDE_WIDTH = 1200  # px: chart images for a 16:9 slide
CHART_SELECTOR = ".chart .js-plotly-plot"


class PageProblem(ParameterError):
    """The report page logged an error or asked for the network while exporting."""


def _check_browser() -> None:
    if not Path(CHROMIUM).exists():
        raise ParameterError(f"--pdf/--png: needs Debian's chromium at {CHROMIUM} (sudo "
                             "apt-get install chromium)")


def _open(browser, report: Path, width: int, problems: list[str]):
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.on("console", lambda m: problems.append(f"console: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def refuse(route) -> None:
        problems.append(f"network: {route.request.url}")
        route.abort()

    page.route(lambda url: not url.startswith(("file:", "data:", "blob:")), refuse)
    page.goto(report.resolve().as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0 && "
                           "Array.from(document.querySelectorAll('.js-plotly-plot'))"
                           ".every(g => g._fullLayout)")
    return page


def _settle(page) -> None:
    """Let every chart lay itself out at the window's width."""
    page.evaluate("""() => Promise.all(Array.from(document.querySelectorAll('.js-plotly-plot'))
        .map(g => Plotly.Plots.resize(g)))""")
    page.wait_for_timeout(200)


def export_report(report: Path, pdf: bool = False, png: bool = False, paper: str = "a4"
                  ) -> dict[str, object]:
    """Write report.pdf and/or charts/<name>.png beside ``report``; return what was written
    and how long it took (seconds)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    _check_browser()
    if paper not in PAPERS:
        raise ParameterError(f"--paper {paper!r}: choose one of {', '.join(PAPERS)}")
    out, problems, files = report.parent, [], {}
    started = time.monotonic()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS)
            try:
                if png:
                    page = _open(browser, report, SLIDE_WIDTH, problems)
                    _settle(page)
                    for chart in page.query_selector_all(CHART_SELECTOR):
                        name = chart.get_attribute("id").removeprefix("fig-")
                        files[out / "charts" / f"{name}.png"] = chart.screenshot(type="png")
                    page.close()
                if pdf:
                    size, width = PAPERS[paper]
                    page = _open(browser, report, width - MARGIN_PX, problems)
                    page.emulate_media(media="print")
                    _settle(page)
                    document = page.pdf(format=size, print_background=True,
                                        prefer_css_page_size=False,
                                        margin={"top": "14mm", "bottom": "14mm",
                                                "left": "12mm", "right": "12mm"})
                    files[out / "report.pdf"] = document
                    page.close()
            finally:
                browser.close()
    except PlaywrightError as err:
        raise ParameterError(f"--pdf/--png: chromium failed: {str(err).splitlines()[0]}"
                             ) from None
    if problems:
        raise PageProblem(f"{report}: the page reported a problem while exporting (nothing "
                          f"written): {problems[0]}")
    for path, content in files.items():
        path.parent.mkdir(exist_ok=True)
        atomic_write(path, lambda p, b=content: p.write_bytes(b))
    return {"written": list(files), "seconds": time.monotonic() - started}
