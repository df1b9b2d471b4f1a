"""The report opens in headless Chromium offline: no console errors, every chart has data."""

from __future__ import annotations

from pathlib import Path

import pytest

import run

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "r"
    code = run.main(["compare", "hierarchical", "shared_authority", "-r", "3", "-n", "100",
                     "-t", "50", "--workers", "1", "--out", str(out)])
    assert code == 0
    return out / "report.html"


def test_report_renders_every_chart_offline(report, tmp_path):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "make test installs Debian's chromium"
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: problems.append(f"network: {r.url}")
                if not r.url.startswith(("file:", "data:", "blob:")) else None)
        page.goto(report.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4")
        charts = page.evaluate("""Array.from(document.querySelectorAll('.js-plotly-plot'))
            .map(g => ({id: g.id, traces: g.data.length,
                        points: g.calcdata.map(c => c.length),
                        drawn: g.querySelectorAll('g.trace, g.violins path').length}))""")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert not problems, problems
    assert {c["id"] for c in charts} == {"fig-adoption", "fig-coasting", "fig-commitment",
                                         "fig-breakdown", "fig-network"}
    for chart in charts:
        assert chart["traces"] > 0 and all(n > 0 for n in chart["points"]), chart
        assert chart["drawn"] > 0, chart
