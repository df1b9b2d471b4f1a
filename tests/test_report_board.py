"""The report a board can trust (issue 15): intervals that cannot be impossible, one sign
convention, per-employee figures for settings of different sizes, why settings differ
(--explain), a summary first, PDF and chart images through Debian's chromium."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import run
from dashboards.report import read_report_data
from experiments.attribution import (
    attribution_table,
    one_at_a_time_weights,
    plan_explanation,
    run_explanation,
    shapley_weights,
)
from experiments.breakdowns import group_breakdowns
from experiments.statistics import (
    finding,
    logit_interval,
    pairwise_differences,
    setting_intervals,
    wilson_interval,
)
from scenarios.settings import SCENARIO_DIR

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
SHARES = st.one_of(st.just(0.0), st.just(1.0), st.floats(0, 1), st.floats(0, 1e-6),
                   st.floats(1 - 1e-6, 1))


def cli(args, capsys):
    code = run.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


# --- intervals that cannot be impossible ---------------------------------------------
@settings(max_examples=80, deadline=None)
@given(st.integers(2, 50).flatmap(lambda n: st.tuples(st.lists(SHARES, min_size=n, max_size=n),
                                                      st.lists(SHARES, min_size=n,
                                                               max_size=n))))
def test_no_share_interval_leaves_0_1(pair):
    a, b = (np.asarray(x, dtype=float) for x in pair)
    for values in (a, b):
        mean, _, low, high = logit_interval(values)
        assert 0 <= low <= mean <= high <= 1
        _, _, low, high = wilson_interval(np.round(values))
        assert 0 <= low <= high <= 1
    n = len(a)
    runs = pd.DataFrame({"setting": pd.Categorical(["A"] * n + ["B"] * n, ["A", "B"]),
                         "replication": list(range(n)) * 2,
                         "hidden_coasting_share": np.concatenate([a, b]),
                         "probe_reached_half": np.round(np.concatenate([a, b]))})
    metrics = ["hidden_coasting_share", "probe_reached_half"]
    levels = setting_intervals(runs, metrics)
    assert ((levels["ci_low"] >= 0) & (levels["ci_high"] <= 1)).all()
    assert (levels["ci_low"] <= levels["mean"]).all() and (levels["mean"] <= levels["ci_high"]
                                                           ).all()
    diff = pairwise_differences(runs, metrics)
    assert ((diff["ci_low"] >= -1) & (diff["ci_high"] <= 1)).all()
    # difference and ratio are judged by one method: never 'clear' by one and not the other
    for _, row in diff.iterrows():
        if np.isfinite(row["ratio_low"]):
            assert row["clear"] == (row["ratio_low"] > 1 or row["ratio_high"] < 1), row


def test_wilson_is_informative_at_none_and_all():
    _, _, low, high = wilson_interval(np.zeros(5))
    assert low == 0 and high == pytest.approx(0.4345, abs=1e-4)  # 0 of 5 runs
    _, _, low, high = wilson_interval(np.ones(5))
    assert high == 1 and low == pytest.approx(1 - 0.4345, abs=1e-4)


# --- one sign convention ----------------------------------------------------------------
def test_every_difference_is_b_minus_a_and_reads_b_first():
    rng = np.random.default_rng(4)
    low, high = rng.normal(0.10, 0.01, 8), rng.normal(0.40, 0.01, 8)
    runs = pd.DataFrame({"setting": pd.Categorical(["first"] * 8 + ["second"] * 8,
                                                   ["first", "second"]),
                         "replication": list(range(8)) * 2,
                         "hidden_coasting_share": np.concatenate([low, high])})
    row = pairwise_differences(runs, ["hidden_coasting_share"]).iloc[0]
    assert (row["setting_a"], row["setting_b"]) == ("first", "second")
    assert row["difference"] == pytest.approx(high.mean() - low.mean())
    assert row["ci_low"] > 0 and row["ratio_low"] > 1
    sentence = finding(row)
    assert sentence.startswith("Hidden coasting is higher under Second than under First: ")
    assert "Second minus First: +" in sentence and "Second / First = " in sentence
    # the other way round: the same numbers with the opposite sign, still B first
    swapped = runs.assign(setting=pd.Categorical(runs["setting"].astype(str),
                                                 ["second", "first"]))
    back = pairwise_differences(swapped, ["hidden_coasting_share"]).iloc[0]
    assert back["difference"] == pytest.approx(-row["difference"])
    assert finding(back).startswith("Hidden coasting is lower under First than under Second")


# --- the Shapley weights ----------------------------------------------------------------
def test_shapley_weights_split_the_whole_difference():
    # two levers: phi_1 = ((v10 - v00) + (v11 - v01)) / 2 (masks: bit 0 = lever 1)
    w = shapley_weights(2)
    v = np.array([1.0, 4.0, 2.0, 9.0])  # v00, v10, v01, v11
    assert w @ v == pytest.approx([((4 - 1) + (9 - 2)) / 2, ((2 - 1) + (9 - 4)) / 2])
    for k in (1, 3, 5):
        total = shapley_weights(k).sum(axis=0)
        expected = np.zeros(2**k)
        expected[0], expected[-1] = -1, 1
        assert total == pytest.approx(expected)  # shares add up to v(B) - v(A)


def test_one_at_a_time_effects_and_interactions():
    # v = 1 + 2 x1 + 3 x2 + 4 x1 x2 over masks (bit 0 = x1): effects are the mean of the
    # switch from A and the switch back from B; the product term is left as interactions
    v = np.array([1.0, 3.0, 4.0, 10.0])
    effect_1, effect_2, interactions = one_at_a_time_weights(2) @ v
    assert effect_1 == pytest.approx(((3 - 1) + (10 - 4)) / 2)
    assert effect_2 == pytest.approx(((4 - 1) + (10 - 3)) / 2)
    assert effect_1 + effect_2 + interactions == pytest.approx(10 - 1)
    assert one_at_a_time_weights(3) @ np.arange(8.0) @ np.ones(4) == pytest.approx(7.0)
    additive = np.array([sum(w * (m >> j & 1) for j, w in enumerate((2, 3, 5)))
                         for m in range(8)], dtype=float)
    assert (one_at_a_time_weights(3) @ additive) == pytest.approx([2, 3, 5, 0])


def test_one_at_a_time_gives_the_inert_parameter_no_share():
    from experiments.compare import run_comparison
    from model.parameters import make_parameters

    base = {"n_employees": 100, "steps": 30, "work_visibility": 0.5, "idea_forum_reach": 0.0}
    params = {"a": make_parameters({**base, "peer_sanction_power": 0.0, "forum_memory": 20}),
              "b": make_parameters({**base, "peer_sanction_power": 0.9, "forum_memory": 60})}
    comparison = run_comparison(params, 3, seed=7, workers=1)
    plan = plan_explanation(params, 3, "one-at-a-time")
    assert plan.extra_runs == 2 * 3 and sorted(plan.variants) == [0, 1, 2, 3]
    variants = run_explanation(plan, comparison.tables["runs"], comparison.seeds, workers=1)
    meta = {"setting_a": "a", "setting_b": "b", "by": plan.by,
            "levers": [vars(lever) for lever in plan.levers]}
    table = attribution_table(meta, variants, ["hidden_coasting_share"]).set_index("parameter")
    assert table.loc["forum_memory", "contribution"] == 0.0
    assert table.loc["interactions", "contribution"] == pytest.approx(0.0, abs=1e-15)
    effective = table.loc["peer_sanction_power"]
    assert effective["contribution"] == pytest.approx(effective["difference"], abs=1e-15)
    assert effective["difference"] != 0.0


# --- a comparison with --explain, PDF and chart images -----------------------------------
def _setting(path: Path, description: str, **values) -> Path:
    lines = [f'description = "{description}"', "", "[parameters]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    """Two settings that differ in one lever with an effect (peer sanction power) and one
    that is inert (how long forum posts stay up, with no forum)."""
    root = tmp_path_factory.mktemp("explain")
    base = {"n_employees": 120, "steps": 40, "work_visibility": 0.5, "idea_forum_reach": 0.0}
    a = _setting(root / "lenient.toml", "peers cannot act", peer_sanction_power=0.0,
                 forum_memory=20, **base)
    b = _setting(root / "accountable.toml", "peers hold each other to account",
                 peer_sanction_power=0.9, forum_memory=60, **base)
    out = root / "c"
    code = run.main(["compare", str(a), str(b), "-r", "3", "-w", "1", "--explain", "--pdf",
                     "--png", "--out", str(out)])
    assert code == 0
    return out


def test_explain_gives_the_inert_lever_no_share(explained):
    table = pd.read_csv(explained / "attribution.csv")
    assert {"metric", "parameter", "share", "low", "high", "runs"} <= set(table.columns)
    assert (table["runs"] == 3).all() and (table["variants"] == 4).all()
    hidden = table[table["metric"] == "hidden_coasting_share"].set_index("parameter")
    assert hidden.loc["forum_memory", "contribution"] == 0.0
    assert hidden.loc["forum_memory", "share"] == 0.0
    assert hidden.loc["peer_sanction_power", "share"] == pytest.approx(1.0)
    assert (hidden.loc["peer_sanction_power", "low"], hidden.loc["peer_sanction_power", "high"]
            ) == pytest.approx((1.0, 1.0))
    # the shares of every clear difference add up to the whole
    clear = table[table["clear"]]
    assert clear.groupby("metric")["share"].sum().to_numpy() == pytest.approx(1.0)
    data = read_report_data(explained / "report.html")
    assert any(s.startswith("Most of the gap in hidden coasting") and
               "peer sanction power (about 100%" in s for s in data["why"])
    page = (explained / "report.html").read_text()
    assert '<section id="why"><h2>Why they differ</h2>' in page and 'id="fig-why"' in page


def test_pdf_first_page_holds_the_summary_and_charts_become_images(explained, capsys):
    pdf = explained / "report.pdf"
    assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-"
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout
    summary = read_report_data(explained / "report.html")["summary"]
    assert "Summary" in first and summary
    for item in summary:  # every summary finding is on page 1 (wrapped across lines)
        assert item["sentence"][:40] in " ".join(first.split())
    assert "Details" not in first.split("Summary", 1)[1].split("Why they differ")[0]
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "(A4)" in info
    charts = sorted(p.name for p in (explained / "charts").glob("*.png"))
    assert charts == ["adoption.png", "breakdown.png", "coasting.png", "commitment.png",
                      "network.png", "why.png"]
    assert all((explained / "charts" / c).read_bytes()[:4] == b"\x89PNG" for c in charts)
    code, _, err = cli(["report", explained, "--pdf", "--paper", "letter", "--force"], capsys)
    assert code == 0, err
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "(letter)" in info.lower()


def test_page_offers_no_upload_makes_no_request_and_prints_without_collisions(explained):
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 703, "height": 1000})  # A4 less margins
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: problems.append(f"network: {r.url}")
                if not r.url.startswith(("file:", "data:", "blob:")) else None)
        page.goto((explained / "report.html").as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 6")
        buttons = page.evaluate("""Array.from(document.querySelectorAll('.modebar-btn'))
            .map(b => b.getAttribute('data-title') || '')""")
        links = page.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot a[href]'))"
                              ".map(a => a.href)")
        contexts = page.evaluate("""Array.from(document.querySelectorAll('.js-plotly-plot'))
            .map(g => [g._context.displaylogo, g._context.showSendToCloud])""")
        page.emulate_media(media="print")
        page.evaluate("""() => Promise.all(Array.from(document.querySelectorAll(
            '.js-plotly-plot')).map(g => Plotly.Plots.resize(g)))""")
        overlaps = page.evaluate("""() => {
            const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 &&
                                  a.top < b.bottom - 1 && b.top < a.bottom - 1;
            const found = [];
            document.querySelectorAll('.js-plotly-plot').forEach(g => {
                const titles = Array.from(g.querySelectorAll('.annotation-text, .gtitle'))
                    .map(t => t.getBoundingClientRect());
                titles.forEach((a, i) => titles.slice(i + 1).forEach(b => {
                    if (hit(a, b)) found.push(g.id + ': titles overlap'); }));
                const box = g.getBoundingClientRect();
                if (box.right > document.body.getBoundingClientRect().right + 1)
                    found.push(g.id + ': wider than the page');
            });
            const blocks = Array.from(document.querySelectorAll(
                'h1, h2, h3, p, table, ol, ul, dl, .chart'))
                .filter(e => !e.closest('.js-plotly-plot'));
            blocks.forEach((a, i) => blocks.slice(i + 1).forEach(b => {
                if (!a.contains(b) && !b.contains(a) &&
                    hit(a.getBoundingClientRect(), b.getBoundingClientRect()))
                    found.push(a.tagName + ' overlaps ' + b.tagName);
            }));
            return found;}""")
        browser.close()
    assert not problems, problems
    assert buttons and not [b for b in buttons if any(
        w in b.lower() for w in ("cloud", "studio", "share", "plotly"))], buttons
    assert not links, links
    assert all(c == [False, False] for c in contexts), contexts
    assert not overlaps, overlaps


def test_explain_refuses_too_many_levers_and_more_than_two_settings(capsys, tmp_path):
    code, _, err = cli(["compare", "hierarchical", "shared_authority", "--explain",
                        "--explain-by", "parameter", "--out", tmp_path / "x"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "more than the limit of 5" in err and "peer_sanction_power" in err
    assert "--explain-by group would use 3 groups" in err and "one-at-a-time" in err
    code, _, err = cli(["compare", "hierarchical", "shared_authority", "heroes_programme",
                        "--explain", "--out", tmp_path / "y"], capsys)
    assert code == 2 and "needs exactly two settings (got 3)" in err
    code, _, err = cli(["compare", "hierarchical", "shared_authority", "--focus", "morale",
                        "--out", tmp_path / "y"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--focus 'morale': not a measure" in err and "mean_commitment" in err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


# --- a client setting of another size ---------------------------------------------------
@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    values = (SCENARIO_DIR / "hierarchical.toml").read_text()
    client = root / "our client (2026).toml"
    client.write_text(values.replace("[parameters]", "[parameters]\nn_employees = 240"))
    out = root / "c"
    code = run.main(["compare", str(client), "shared_authority", "-r", "2", "-t", "30",
                     "-w", "1", "--set", "shared_authority:n_employees=80", "--focus",
                     "mean_commitment", "--out", str(out)])
    assert code == 0
    return out


def test_settings_of_different_sizes_compare_per_employee(mixed):
    data = read_report_data(mixed / "report.html")
    page = (mixed / "report.html").read_text()
    assert data["sizes"] == {"our client (2026)": 240, "shared_authority": 80}
    assert "Our client (2026): 240 employees; Shared authority: 80 employees" in page
    compared = {row["metric"] for row in data["differences"]}
    assert "ideas_generated" not in compared and "ideas_per_employee_year" in compared
    assert "every finding uses per-employee figures" in page
    manifest = json.loads((mixed / "manifest.json").read_text())
    assert manifest["sizes"] == {"our client (2026)": 240, "shared_authority": 80}
    assert manifest["focus"] == ["mean_commitment"] and "Asked about first: Commitment." in page


def test_reproduce_command_is_quoted_and_reruns_the_stored_settings(mixed, capsys):
    page = (mixed / "report.html").read_text()
    start = page.index("Reproduce with one command")
    import html

    command = html.unescape(page[page.index("<code>", start) + 6:page.index("</code>", start)])
    args = shlex.split(command)
    assert args[:3] == ["python", "run.py", "compare"]
    assert Path(args[3]) == mixed / "settings" / "our client (2026).toml"
    assert Path(args[3]).is_file() and Path(args[4]).is_file()
    assert args[-4:-2] == ["--focus", "mean_commitment"]
    code, _, err = cli([*args[2:], "-w", "1"], capsys)
    assert code == 0, err
    again = Path(args[args.index("--out") + 1])
    pd.testing.assert_frame_equal(pd.read_parquet(again / "runs.parquet"),
                                  pd.read_parquet(mixed / "runs.parquet"))


def test_breakdowns_match_the_employee_table(mixed):
    employees = pd.read_parquet(mixed / "employees.parquet")
    assert employees["customer_facing"].any() and not employees["customer_facing"].all()
    table = group_breakdowns(employees)
    assert set(table["grouping"]) == {"level", "customer_facing", "unit"}
    row = table[(table["setting"] == "shared_authority") & (table["group"] == "back office")
                & (table["metric"] == "mean_commitment")].iloc[0]
    mine = employees[(employees["setting"] == "shared_authority")
                     & ~employees["customer_facing"]]
    per_run = mine.groupby("replication")["commitment"].mean()
    assert row["mean"] == pytest.approx(per_run.mean()) and row["runs"] == 2
    shares = table[table["metric"] != "mean_commitment"]
    assert ((shares["ci_low"].fillna(0) >= 0) & (shares["ci_high"].fillna(1) <= 1)).all()


# --- the summary and the trade-offs ---------------------------------------------------------
def _difference(metric, mean_a, mean_b, clear=True):
    return {"setting_a": "lean", "setting_b": "open", "metric": metric, "n_a": 10, "n_b": 10,
            "paired": True, "mean_a": mean_a, "mean_b": mean_b, "difference": mean_b - mean_a,
            "ci_low": min((mean_b - mean_a) * 0.8, (mean_b - mean_a) * 1.2),
            "ci_high": max((mean_b - mean_a) * 0.8, (mean_b - mean_a) * 1.2),
            "effect_size": 3.0, "ratio": mean_b / mean_a, "ratio_low": np.nan,
            "ratio_high": np.nan, "se_common": 0.01, "se_independent": 0.02, "clear": clear}


def test_summary_ranks_at_most_five_and_trade_offs_get_one_sentence():
    from experiments.summary import summary_findings, trade_offs

    rows = [_difference("hidden_coasting_share", 0.20, 0.05),  # large, most relevant
            _difference("coasting_share", 0.30, 0.10),  # same family as hidden coasting
            _difference("mean_commitment", 0.50, 0.55),  # small
            _difference("output", 0.10, 0.20),
            _difference("ideas_per_employee_year", 1.0, 0.8),  # fewer ideas under open...
            _difference("ideas_adopted_widely_share", 0.01, 0.02),  # ...but better filtered
            _difference("mean_adopted_idea_value", 0.80, 0.90),
            _difference("probe_share_26w", 0.10, 0.30),
            _difference("mean_fit", 0.6, 0.7, clear=False)]
    differences = pd.DataFrame(rows)
    summary = summary_findings(differences)
    assert len(summary) == 5
    assert summary["metric"].iloc[0] == "hidden_coasting_share"
    assert "coasting_share" not in set(summary["metric"])  # one per family
    assert "mean_fit" not in set(summary["metric"])  # not clear
    assert list(summary["score"]) == sorted(summary["score"], reverse=True)
    assert summary["sentence"].iloc[0].startswith(
        "Hidden coasting is lower under Open than under Lean: about 5 vs 20 in every 100 staff "
        "(Open minus Lean: between 12 and 18 fewer in every 100 staff; 10 runs each).")
    asked = summary_findings(differences, focus=["mean_commitment", "mean_fit"])
    assert list(asked["metric"][:2]) == ["mean_commitment", "hidden_coasting_share"]
    assert len(asked) == 5 and "mean_fit" not in set(asked["metric"])  # asked, not clear
    sentences = trade_offs(differences)
    assert len(sentences) == 1
    assert sentences[0].startswith("The findings point in opposite directions: Open does better "
                                   "than Lean on 7 clear findings")
    assert "worse on 1 clear finding (ideas per employee per year)" in sentences[0]
    assert "under Lean" not in sentences[0] and "fewer but better-filtered ideas" in sentences[0]
    assert trade_offs(differences[differences["metric"] != "ideas_per_employee_year"]) == []


def test_runs_table_has_no_pandas_future_warning():
    """Runs where the tracer never reached half the staff have all-missing keys; stacking
    them used to warn (concat of all-NA columns)."""
    import warnings

    from experiments.compare import run_comparison
    from scenarios.settings import load_setting

    params = {name: load_setting(name).parameters({"n_employees": 100, "steps": 60})
              for name in ("hierarchical", "shared_authority")}
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        runs = run_comparison(params, 2, seed=1, workers=1).tables["runs"]
    reached = pd.to_numeric(runs["time_to_50pct_adoption"], errors="coerce")
    assert reached.isna().any()  # the case that warned


def test_time_to_half_the_staff_reads_in_weeks_b_first():
    from experiments.summary import km_plain

    km = pd.DataFrame({"setting": ["lean", "open"], "runs": [10, 10], "reached": [2, 9],
                       "censored": [8, 1], "median": [np.inf, 24.0],
                       "ci_low": [60.0, 18.0], "ci_high": [np.inf, 40.0],
                       "horizon": [180.0, 180.0]})
    pair = pd.Series({"setting_a": "lean", "setting_b": "open", "clear": True})
    assert km_plain(pair, km) == (
        "A good idea reaches half the staff after about 24 weeks under Open (between 18 weeks "
        "and 40 weeks; it got there in 9 of 10 runs) vs not within 180 weeks under Lean "
        "(between 60 weeks and not within 180 weeks; it got there in 2 of 10 runs) "
        "(Kaplan-Meier median).")


def test_network_layout_is_reproducible_and_draws_neighbours_close():
    """The report's network drawing: the same positions for the same network (seeded, so
    a rebuilt report looks the same), every one finite, and tied employees drawn closer
    than employees picked at random (a force layout, not a scatter)."""
    from dashboards.report import network_layout

    rng = np.random.default_rng(3)
    n = 600  # over networkx's dense limit of 500: the size that used to take seconds
    ring = [(k, (k + d) % n) for k in range(n) for d in (1, 2, 3)]
    edges = pd.DataFrame(ring, columns=["source", "target"]) + 1000
    nodes = np.arange(n) + 1000
    first, again = network_layout(edges, nodes), network_layout(edges, nodes)
    assert first == again
    assert sorted(first) == nodes.tolist()
    xy = np.array([first[k] for k in nodes])
    assert np.isfinite(xy).all()
    tied = np.hypot(*(xy[edges["source"] - 1000] - xy[edges["target"] - 1000]).T).mean()
    a, b = rng.integers(0, n, (2, 2000))
    random_pairs = np.hypot(*(xy[a] - xy[b]).T).mean()
    assert tied < 0.25 * random_pairs
