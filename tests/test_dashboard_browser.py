"""The dashboard in a real browser: Debian's chromium driven by Playwright.

One Solara server (a subprocess on a free local port) serves every test; each test opens a
fresh page (a fresh session). Every wait has a timeout so a broken page fails, not hangs.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from dashboards.browser import CHROMIUM, PAUSE_LATENCY_JS, chromium, cpu_seconds, running_server

expect = pytest.importorskip("playwright.sync_api").expect

WAIT_MS = 30_000

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="Debian's chromium is not installed (make test installs it)")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright.sync_api")
    with chromium() as launched:
        yield launched


class Session:
    """An open dashboard page plus what its console and network reported."""

    def __init__(self, browser, url: str, width: int = 1500):
        self.url = url
        self.page = browser.new_page(viewport={"width": width, "height": 1300})
        self.page.set_default_timeout(WAIT_MS)
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.on("response", lambda r: self.errors.append(f"{r.status}: {r.url}")
                     if r.status >= 400 else None)
        self.page.on("request", self._record_request)
        self.page.goto(url, timeout=90_000)
        self.page.wait_for_selector(".step-counter", timeout=90_000)
        self.wait_for_charts()

    def _record_request(self, request) -> None:
        if request.url.startswith("http") and not request.url.startswith(self.url):
            self.outside.append(request.url)

    def wait_for_charts(self) -> None:
        self.page.wait_for_function(
            "document.querySelectorAll('.js-plotly-plot').length >= 5")

    def step_text(self) -> str:
        return self.page.locator(".step-counter").inner_text()

    def chart_points(self) -> int:
        """Points in the first line of the coasting chart."""
        return self.page.evaluate(
            "document.querySelector('.chart-coasting .js-plotly-plot').data[0].x.length")

    def click_button(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()

    def choose(self, label: str, option: str) -> None:
        """Pick an option of a vuetify select by its label."""
        field = self.page.locator(".v-select", has=self.page.get_by_text(label, exact=True))
        field.first.click()
        menu = self.page.locator(".menuable__content__active")
        menu.get_by_text(option, exact=True).click()

    def show_group(self, group: str) -> None:
        """Show a group of parameters (turning on the advanced switch first)."""
        if not self.page.locator(".group-picker").count():
            self.page.locator(".advanced-switch .v-input--selection-controls__input").click()
        self.page.locator(".group-picker").get_by_role("button", name=group, exact=True).click()

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def session(browser, server_url):
    opened = Session(browser, server_url)
    yield opened
    opened.close()


def test_page_loads_without_console_errors_or_outside_requests(session, tmp_path):
    session.page.wait_for_timeout(1500)
    shot = tmp_path / "dashboard.png"
    session.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert session.errors == []
    assert session.outside == []
    assert session.step_text() == "Week 0"


def test_slider_changes_the_models_parameter(session):
    label = session.page.locator(".control-autonomy")
    before = label.inner_text()
    slider = label.locator("[role=slider]")
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    changes = session.page.locator(".changes")
    changes.filter(has_text=re.compile(r"autonomy = 0\.35")).wait_for()
    assert label.inner_text() != before


def test_step_advances_counter_and_charts_and_reset_returns_to_zero(session):
    points = session.chart_points()
    session.click_button("Step")
    session.page.get_by_text("Week 1", exact=True).wait_for()
    session.click_button("Step")
    session.page.get_by_text("Week 2", exact=True).wait_for()
    session.page.wait_for_function(
        f"document.querySelector('.chart-coasting .js-plotly-plot').data[0].x.length "
        f"== {points + 2}")
    session.click_button("Reset")
    session.page.get_by_text("Week 0", exact=True).wait_for()
    assert session.errors == []


def settled_week(page, quiet_ms: int = 1200, timeout_s: float = 30) -> str:
    """The week a paused page shows once its last frame (where the model stopped, which may
    be a few frames ahead of what a slow page drew while playing) has landed."""
    counter = page.locator(".step-counter")
    shown, deadline = counter.inner_text(), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.wait_for_timeout(quiet_ms)
        now = counter.inner_text()
        if now == shown:
            return now
        shown = now
    raise AssertionError(f"the week shown never settled (last {shown})")


def _played_weeks(session) -> int:
    return int(session.step_text().split()[1])


def test_play_runs_steps_and_pause_stops_them_within_a_second(session, server_url):
    session.click_button("▶")
    session.page.wait_for_function(
        "parseInt(document.querySelector('.step-counter').innerText.slice(5)) >= 3")
    # measured inside the page: from the click to the Play button showing again
    answered = session.page.evaluate(PAUSE_LATENCY_JS)
    session.page.get_by_role("button", name="▶", exact=True).wait_for(timeout=5_000)
    stopped = settled_week(session.page)
    session.page.wait_for_timeout(1500)
    assert session.step_text() == stopped  # nothing queued keeps stepping after Pause
    assert answered < 1.0, f"Pause took {answered:.2f} s"
    assert session.errors == []


def test_closing_a_playing_tab_stops_its_loop(browser, server_url):
    opened = Session(browser, server_url)
    opened.click_button("▶")
    opened.page.wait_for_function(
        "parseInt(document.querySelector('.step-counter').innerText.slice(5)) >= 2")
    opened.close()
    time.sleep(5)  # the loop notices the closed page within one step
    before = cpu_seconds(server_url.pid)
    time.sleep(3)
    busy = cpu_seconds(server_url.pid) - before
    assert busy < 0.3, f"server used {busy:.2f} s of CPU in 3 s after the tab closed"


def test_charts_fit_a_projector_width(browser, server_url):
    opened = Session(browser, server_url, width=1024)
    try:
        overflow = opened.page.evaluate(
            "Array.from(document.querySelectorAll('.js-plotly-plot')).map(e => "
            "e.getBoundingClientRect().right - e.closest('.v-card').getBoundingClientRect()"
            ".right)")
        assert len(overflow) >= 5 and max(overflow) <= 1, overflow
        assert opened.page.evaluate("document.documentElement.scrollWidth") <= 1024
    finally:
        opened.close()


def test_choosing_a_setting_updates_the_controls(session):
    autonomy = session.page.locator(".control-autonomy")  # a key lever, always shown
    assert "Freedom to act without asking: 0.3" in autonomy.inner_text()
    session.choose("Setting", "shared_authority")
    autonomy.filter(has_text="Freedom to act without asking: 0.8").wait_for()
    session.show_group("structure")
    structure = session.page.locator(".control-formal_structure")
    structure.filter(has_text="teams").wait_for()


def test_clicking_an_employee_opens_the_inspector(session):
    point = session.page.locator(".network .scatterlayer .trace .points path").first
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    session.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    inspector = session.page.locator(".inspector")
    inspector.wait_for()
    assert "Who can see their work" in inspector.inner_text()
    assert "effort" in inspector.inner_text()


def test_a_guided_experiment_loads_asks_for_a_prediction_and_runs(session):
    session.page.get_by_role("button", name="Why does coasting hide?").click()
    panel = session.page.locator(".lesson")
    panel.wait_for()
    run = panel.get_by_role("button", name=re.compile(r"Run \d+ weeks"))
    expect(run).to_be_disabled()
    expect(panel).to_contain_text("Make a prediction first.")
    panel.locator(".prediction").get_by_role("button", name="it would fall").click()
    expect(run).to_be_enabled()
    run.click()
    session.page.locator(".lesson-done").wait_for(timeout=90_000)
    text = panel.inner_text()
    assert "You predicted: it would fall" in text
    assert "coasting nobody who can act has noticed" in text
    assert session.errors == []


def test_three_pages_playing_at_once_each_advance_and_pause(browser, server_url):
    pages = [Session(browser, server_url) for _ in range(3)]
    try:
        for opened in pages:
            opened.click_button("▶")
        for opened in pages:
            opened.page.wait_for_function(
                "parseInt(document.querySelector('.step-counter').innerText.slice(5)) >= 3",
                timeout=60_000)
        for opened in pages:
            opened.click_button("❚❚")
        for opened in pages:  # latency is measured elsewhere: here, that each one pauses
            opened.page.get_by_role("button", name="▶", exact=True).wait_for(timeout=60_000)
        stopped = [settled_week(opened.page) for opened in pages]
        pages[0].page.wait_for_timeout(1500)
        assert [opened.step_text() for opened in pages] == stopped
        assert all(opened.errors == [] for opened in pages)
    finally:
        for opened in pages:
            opened.close()


def test_a_session_of_everything_leaves_no_traceback_in_the_server_log(session, server_url):
    session.click_button("Step")
    session.click_button("▶")
    session.page.wait_for_function(
        "parseInt(document.querySelector('.step-counter').innerText.slice(5)) >= 4")
    session.click_button("❚❚")
    session.page.get_by_role("button", name="▶", exact=True).wait_for(timeout=60_000)
    slider = session.page.locator(".control-autonomy [role=slider]")
    slider.focus()
    slider.press("ArrowRight")
    session.choose("Compare side by side with", "shared_authority")
    session.page.wait_for_function(
        "document.querySelectorAll('.network .js-plotly-plot').length == 2")
    session.click_button("Step")
    session.page.get_by_text("Week 1", exact=True).wait_for()
    session.click_button("Reset")
    session.page.get_by_text("Week 0", exact=True).wait_for()
    session.page.wait_for_timeout(1000)
    log = server_url.log.read_text()
    assert "Traceback" not in log and "Too many renders" not in log, log[-3000:]
    assert session.errors == []


# --- a client's setting and a change applied mid-run in one unit (issue 17) -------------
@pytest.fixture(scope="module")
def company_url(tmp_path_factory):
    """A server started as ``run.py serve --setting client.toml`` (a generated company of
    300 people with its own units and network): the page opens on it."""
    from scenarios.make_example_company import write_company

    root = tmp_path_factory.mktemp("company")
    write_company(root, 300, seed=5)
    (root / "client.toml").write_text(
        'description = "a client"\n[organization]\nchart = "chart.csv"\nnetwork = "ties.csv"\n'
        "[parameters]\nsteps = 30\nautonomy = 0.4\n")
    with running_server(root / "server.log", settings=[str(root / "client.toml")]) as url:
        yield url


def _unit_values(page, column: str) -> dict[str, str]:
    """The organization panel's table: each unit's cell in ``column``."""
    return page.evaluate("""(column) => {
        const table = document.querySelector('.organization-panel table');
        const head = [...table.querySelectorAll('th')].map(c => c.innerText.trim());
        const k = head.indexOf(column);
        if (k < 0) return {};
        return Object.fromEntries([...table.querySelectorAll('tbody tr')].map(
            r => [r.cells[0].innerText.trim(), r.cells[k].innerText.trim()]));
    }""", column)


def test_a_change_applied_mid_run_in_one_unit_is_logged_marked_and_stays_there(
        browser, company_url):
    opened = Session(browser, company_url)
    page = opened.page
    try:
        panel = page.locator(".organization-panel")
        expect(panel).to_contain_text("300 employees")
        expect(panel).to_contain_text("Sales")
        for week in (1, 2, 3):
            opened.click_button("Step")
            page.get_by_text(f"Week {week}", exact=True).wait_for()
        page.locator(".mid-run-switch .v-input--selection-controls__input").click()
        opened.choose("Where mid-run changes apply", "unit: Sales")
        page.locator(".mid-run-scope-note").wait_for()
        expect(page.locator(".control-span_of_control .v-input--is-disabled")).to_have_count(1)
        expect(page.locator(".control-autonomy .v-input--is-disabled")).to_have_count(0)
        slider = page.locator(".control-autonomy [role=slider]")
        slider.focus()
        slider.press("ArrowRight")  # 0.40 -> 0.41, in Sales, from week 4
        row = page.locator(".intervention-row")
        expect(row).to_have_text(
            "week 4 · #0 · autonomy 0.4 -> 0.41 · Sales · applied by the student")
        opened.click_button("Step")
        page.get_by_text("Week 4", exact=True).wait_for()
        page.wait_for_function(
            "(() => { const p = document.querySelector('.chart-coasting .js-plotly-plot');"
            " return p && p.layout.shapes && p.layout.shapes.length == 1 &&"
            " p.layout.shapes[0].x0 == 4 && p.data[0].x.length == 5; })()")
        page.wait_for_function(
            "document.querySelector('.organization-panel table') &&"
            " document.querySelector('.organization-panel table').innerText"
            ".includes('autonomy here')")
        values = _unit_values(page, "autonomy here")
        assert values.pop("Sales") == "0.41"
        assert values and set(values.values()) == {"0.4"}  # every other unit untouched
        opened.choose("Where mid-run changes apply", "whole organization")
        expect(page.locator(".control-autonomy")).to_contain_text(": 0.4")
        expect(page.locator(".control-span_of_control .v-input--is-disabled")).to_have_count(0)
        assert opened.errors == []
    finally:
        opened.close()
