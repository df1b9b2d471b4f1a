"""Research-grade sweeps: common random numbers and the noise floor, sample-agnostic
sensitivity, constraints, designs that grow, adaptive replication, scenario discovery."""

import json

import numpy as np
import pandas as pd
import pytest

import run
from experiments import sweep as sweep_module
from experiments.discovery import Cases, box_stats, cart_leaves, choose_step, prim_boxes
from experiments.grow import interval_widths, next_replications, run_until_ci
from experiments.sensitivity import analyze, write_sensitivity
from experiments.sweep import MANIFEST, run_sweep, summary_table
from experiments.sweep_spec import common_seed, load_sweep, resolve_sweep, run_seed, with_size
from model.parameters import ParameterError
from tests.sweep_helpers import TINY, sweep_file

MORRIS = {"work_visibility": {"low": 0.0, "high": 0.5},
          "rotation_period": {"low": 5, "high": 50},  # inert: leaders are appointed
          "monitoring_capacity": {"low": 0.5, "high": 8.0}}


def parts(out):
    return {p.name: p.read_bytes() for p in sorted(out.glob("part-*.parquet"))}


# --- seeds ---------------------------------------------------------------------------------
def test_common_random_numbers_are_the_default_of_morris_and_sobol_only():
    morris = resolve_sweep({**TINY, "vary": MORRIS, "design": {"method": "morris",
                                                               "samples": 3}})
    assert morris.seeds == "common" and morris.dummy
    by_replication = {}
    for run_ in morris.runs:
        by_replication.setdefault(run_.replication, set()).add(run_.seed)
    assert {r: len(s) for r, s in by_replication.items()} == {0: 1, 1: 1}
    assert by_replication[1] == {common_seed(11, 1)} != by_replication[0]
    assert len(morris.samples[0]) == 4 and "dummy" not in morris.points[0]  # not the model's
    independent = resolve_sweep({**TINY, "seeds": "independent", "vary": MORRIS,
                                 "design": {"method": "morris", "samples": 3}})
    assert len({r.seed for r in independent.runs}) == len(independent.runs)
    grid = resolve_sweep(TINY)  # unchanged: a grid sweep keeps its seeds and its hash
    assert grid.seeds == "independent" and "seeds" not in grid.content
    assert [r.seed for r in grid.runs] == [run_seed(11, grid.points[r.point_id], r.replication)
                                           for r in grid.runs]
    assert resolve_sweep({**TINY, "seeds": "common"}).runs[0].seed == common_seed(11, 0)


def test_an_inert_factor_ranks_at_the_noise_floor_under_common_random_numbers(tmp_path):
    """rotation_period does nothing under appointed leaders: with common random numbers its
    elementary effects are exactly 0 (the dummy's floor); with independent seeds it looks
    like a factor, its mu* of the order of the dummy's (noise)."""
    measured = {}
    for seeds in ("common", "independent"):
        path = sweep_file(tmp_path, name=seeds, seeds=seeds, replications=2, steps=40,
                          parameters={"n_employees": 100}, metrics=["mean_commitment"],
                          timeseries=[], vary=MORRIS,
                          design={"method": "morris", "samples": 8, "levels": 4})
        out = tmp_path / seeds
        run_sweep(load_sweep(path), out, workers=2)
        table = analyze(out, "mean_commitment").set_index(["parameter", "index"])
        measured[seeds] = table
    crn = measured["common"]
    assert crn.loc[("rotation_period", "mu_star"), "value"] == 0.0
    assert crn.loc[("dummy", "mu_star"), "value"] == 0.0
    assert crn.loc[("rotation_period", "mu_star"), "warning"] == "within noise floor"
    assert crn.loc[("work_visibility", "mu_star"), "value"] > 0
    assert crn.loc[("work_visibility", "mu_star"), "warning"] != "within noise floor"
    assert (crn["points"] == 8 * 5).all() and (crn["runs"] == 8 * 5 * 2).all()  # 3 + dummy
    noisy = measured["independent"]
    floor = noisy.loc[("dummy", "mu_star")]
    assert floor["value"] > 0  # different seeds: the dummy's "effects" are pure noise
    assert noisy.loc[("rotation_period", "mu_star"), "value"] > 0
    assert noisy.loc[("rotation_period", "mu_star"), "warning"] in (
        "within noise floor", "interval wider than value")


# --- sample-agnostic sensitivity -----------------------------------------------------------
def linear_metric(chunk, point, seed):
    """Replaces the model: output = 3 x work_visibility + autonomy (+ a little noise)."""
    noise = np.random.default_rng(seed).normal(0, 0.01)
    value = 3 * point["work_visibility"] + point["autonomy"] + noise
    return np.array([-1]), np.array(["output"], dtype=object), np.array([value])


def test_lhs_sweep_gets_rbd_fast_and_pawn_with_a_dummy_floor(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep_module, "observe_run", linear_metric)
    path = sweep_file(tmp_path, replications=1, metrics=["output"], timeseries=[],
                      vary={"work_visibility": {"low": 0.0, "high": 0.5},
                            "autonomy": {"low": 0.1, "high": 0.9},
                            "peer_sanction_power": {"low": 0.0, "high": 0.5}},
                      design={"method": "lhs", "samples": 200})
    out = tmp_path / "lhs"
    run_sweep(load_sweep(path), out, workers=1)
    table, written = write_sensitivity(out, ["output"])
    value = table.set_index(["parameter", "index"])
    # additive: S1 = own variance share, 9 x 0.5^2/12 : 0.8^2/12 = 0.78 : 0.22
    assert value.loc[("work_visibility", "S1"), "value"] == pytest.approx(0.78, abs=0.1)
    assert value.loc[("autonomy", "S1"), "value"] == pytest.approx(0.22, abs=0.1)
    assert value.loc[("peer_sanction_power", "S1"), "warning"] == "within noise floor"
    assert value.loc[("peer_sanction_power", "PAWN"), "warning"] == "within noise floor"
    assert value.loc[("work_visibility", "PAWN"), "value"] > value.loc[("dummy", "PAWN"),
                                                                       "noise_floor"]
    assert (table["points"] == 200).all() and len(written) == 2
    assert run.main(["sensitivity", str(out), "--metric", "output"]) == 0
    shown = capsys.readouterr().out
    assert "warning: peer_sanction_power S1" in shown and "200 design points, 200 runs" in shown


# --- constraints and refused points --------------------------------------------------------
def test_points_breaking_a_constraint_or_refused_are_skipped_and_counted(tmp_path, capsys):
    path = sweep_file(tmp_path, replications=1, vary={"idea_scope": [2, 4, 6],
                                                      "n_dimensions": [3, 5]},
                      constraint=[{"left": "n_dimensions", "op": ">=", "right": 4}])
    sweep = load_sweep(path)
    reasons = {s["point_id"]: s["reason"] for s in sweep.skipped}
    assert sorted(reasons) == [0, 2, 4, 5]  # (2,3) (4,3) (6,3) by the constraint; (6,5) refused
    assert reasons[0] == "constraint n_dimensions >= 4"
    assert "idea_scope = 6 cannot exceed n_dimensions = 5" in reasons[5]
    assert [(r.point_id, r.run_id) for r in sweep.runs] == [(1, 1), (3, 3)]
    out = tmp_path / "out"
    assert run.main(["sweep", str(path), "--out", str(out), "--workers", "1"]) == 0
    shown = capsys.readouterr().out
    assert "2 runs in" in shown and "skipped 4 of 6 design points (3 by a constraint, 1 " \
                                    "refused by the model" in shown
    saved = json.loads((out / MANIFEST).read_text())
    assert [s["point_id"] for s in saved["skipped"]] == [0, 2, 4, 5]
    assert sorted(summary_table(out)["point_id"]) == [1, 3]


# --- designs that grow ---------------------------------------------------------------------
def test_more_replications_leave_existing_files_byte_identical(tmp_path, capsys):
    path = sweep_file(tmp_path, replications=1)
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out, workers=1, chunk_size=2)
    before = parts(out)
    first = summary_table(out)
    grown = sweep_file(tmp_path, name="grown", replications=3)
    outcome = run_sweep(load_sweep(grown), out, workers=2, resume=True)
    assert (outcome.total, outcome.skipped, outcome.ran) == (18, 6, 12)
    after = parts(out)
    assert {k: after[k] for k in before} == before  # not one byte of what existed changed
    runs = summary_table(out)
    pd.testing.assert_frame_equal(runs[runs.run_id < 6].reset_index(drop=True), first)
    assert sorted(runs["run_id"]) == list(range(18))
    reference = tmp_path / "reference"  # the same design run at once: the same runs
    run_sweep(load_sweep(grown), reference, workers=1)
    key = ["point_id", "replication"]
    columns = [c for c in runs.columns if c != "run_id"]
    pd.testing.assert_frame_equal(
        runs.sort_values(key, ignore_index=True)[columns],
        summary_table(reference).sort_values(key, ignore_index=True)[columns])
    # --add-replications counts from what the directory holds; the old file still resumes
    assert run.main(["sweep", str(path), "--out", str(out), "--add-replications", "1",
                     "--workers", "1"]) == 0
    assert "6 runs in" in capsys.readouterr().out
    saved = json.loads((out / MANIFEST).read_text())
    assert saved["sweep"]["replications"] == 4
    assert saved["growth"] == [{"replications": [1, 3], "samples": [None, None],
                                "runs": [6, 18]},
                               {"replications": [3, 4], "samples": [None, None],
                                "runs": [18, 24]}]
    assert run_sweep(load_sweep(path), out, resume=True).ran == 0
    assert {k: parts(out)[k] for k in after} == after
    assert run.main(["sweep", str(path), "--out", str(tmp_path / "new"),
                     "--add-replications", "1"]) == 2
    assert "holds no sweep yet" in capsys.readouterr().err


def test_more_samples_extend_a_morris_design_and_lhs_cannot(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_module, "observe_run", linear_metric)
    vary = {"work_visibility": {"low": 0.0, "high": 0.5}, "autonomy": {"low": 0.1, "high": 0.9}}
    small = sweep_file(tmp_path, name="small", replications=1, metrics=["output"],
                       timeseries=[], vary=vary, design={"method": "morris", "samples": 4})
    out = tmp_path / "morris"
    run_sweep(load_sweep(small), out)
    before = parts(out)
    large = sweep_file(tmp_path, name="large", replications=1, metrics=["output"],
                       timeseries=[], vary=vary, design={"method": "morris", "samples": 8})
    assert run_sweep(load_sweep(large), out, resume=True).ran == 16
    assert {k: parts(out)[k] for k in before} == before
    saved = json.loads((out / MANIFEST).read_text())
    assert saved["samples"] == [list(r) for r in load_sweep(large).samples]
    assert analyze(out, "output").query("index == 'mu_star'")["points"].iloc[0] == 32
    lhs = {"replications": 1, "metrics": ["output"], "timeseries": [], "vary": vary}
    run_sweep(load_sweep(sweep_file(tmp_path, name="l1", design={"method": "lhs",
                                                                  "samples": 5}, **lhs)),
              tmp_path / "lhs")
    with pytest.raises(ParameterError, match="does not extend the saved design of 5 samples"):
        run_sweep(load_sweep(sweep_file(tmp_path, name="l2", design={"method": "lhs",
                                                                      "samples": 10}, **lhs)),
                  tmp_path / "lhs", resume=True)


def spread_metric(chunk, point, seed):
    """Replaces the model: a noisy value whose spread grows with work_visibility."""
    value = np.random.default_rng(seed).normal(1.0, 0.1 + point["work_visibility"])
    return np.array([-1]), np.array(["output"], dtype=object), np.array([value])


def test_until_ci_adds_replications_until_every_interval_is_narrow(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_module, "observe_run", spread_metric)
    path = sweep_file(tmp_path, replications=2, metrics=["output"], timeseries=[],
                      vary={"work_visibility": [0.0, 0.2]})
    out = tmp_path / "ci"
    sweep = load_sweep(path)
    rounds, outcome = run_until_ci(sweep, out, "output", 0.3, 64, workers=1)
    widths = interval_widths(out, "output")
    assert (widths["width"] < 0.3).all() and rounds[-1]["worst_width"] < 0.3
    assert rounds[0]["worst_width"] >= 0.3 and len(rounds) >= 2
    reps = [r["replications"] for r in rounds]
    assert reps == sorted(reps) and all(b <= 2 * a for a, b in zip(reps, reps[1:], strict=False))
    assert outcome.total == 2 * reps[-1] == len(summary_table(out))
    capped = tmp_path / "capped"
    rounds, _ = run_until_ci(sweep, capped, "output", 0.001, 5, workers=1)
    assert rounds[-1]["replications"] == 5 and rounds[-1]["points_too_wide"] == 2
    assert next_replications(4, float("inf"), 0.1, 100) == 8
    assert next_replications(4, 0.2, 0.1, 100) == 8 and next_replications(4, 0.11, 0.1, 6) == 5
    with pytest.raises(ParameterError, match="not kept by this sweep"):
        run_until_ci(sweep, tmp_path / "x", "mean_fit", 0.3, 8)


def test_until_ci_on_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep_module, "observe_run", spread_metric)
    path = sweep_file(tmp_path, replications=2, metrics=["output"], timeseries=[],
                      vary={"work_visibility": [0.0, 0.2]})
    out = tmp_path / "cli"
    assert run.main(["sweep", str(path), "--out", str(out), "--workers", "1", "--until-ci",
                     "0.001", "--metric", "output", "--max-replications", "4"]) == 0
    shown = capsys.readouterr().out
    assert "round 1: 2 replications, 4 runs; widest 95% interval of output" in shown
    assert "round 2: 4 replications, 8 runs" in shown
    assert "stopped at --max-replications 4; 2 points still wider" in shown
    assert len(summary_table(out)) == 8
    assert run.main(["sweep", str(path), "--out", str(out), "--until-ci", "0.1"]) == 2
    assert "--until-ci and --metric: give both" in capsys.readouterr().err


def test_with_size_keeps_the_seeds_of_shared_runs():
    sweep = resolve_sweep({**TINY, "vary": MORRIS, "design": {"method": "morris",
                                                              "samples": 3}})
    larger = with_size(sweep, replications=4, samples=6)
    seeds = {(r.point_id, r.replication): r.seed for r in larger.runs}
    assert all(seeds[(r.point_id, r.replication)] == r.seed for r in sweep.runs)
    assert larger.points[:len(sweep.points)] == sweep.points


# --- scenario discovery --------------------------------------------------------------------
def synthetic_cases(noise=0.0, n=600, seed=3):
    """A known box: the outcome is high where 0.6 < a and b < 4 (c does nothing)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.uniform(0, 1, n), "b": rng.uniform(0, 10, n),
                      "c": rng.uniform(0, 1, n)})
    inside = ((x["a"] > 0.6) & (x["b"] < 4)).to_numpy()
    flip = rng.uniform(size=n) < noise
    y = inside ^ flip
    return Cases(x, y, y.astype(float), "design point", n, 0, "m > 0.5"), inside


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_prim_recovers_a_known_box(noise):
    found, inside = synthetic_cases(noise)
    table, chosen = prim_boxes(found)
    box = table[table["step"] == chosen].set_index("parameter")
    assert box.loc["a", "lower"] == pytest.approx(0.6, abs=0.05)  # 5% of the range
    assert box.loc["b", "upper"] == pytest.approx(4.0, abs=1.0)  # 10% of the range
    chosen_mask = np.ones(len(inside), bool)
    for name in found.x.columns:
        values = found.x[name]
        chosen_mask &= (values >= box.loc[name, "lower"]) & (values <= box.loc[name, "upper"])
    overlap = (chosen_mask & inside).sum() / (chosen_mask | inside).sum()
    assert overlap >= 0.8, overlap  # the same cases as the true box (Jaccard index)
    assert box.loc["a", "restricted"] and box.loc["b", "restricted"]
    assert not box.loc["c", "restricted"]
    assert np.isnan(box.loc["c", ["qp_lower", "qp_upper"]].astype(float)).all()
    assert box.loc["a", "qp_lower"] < 0.05 and box.loc["b", "qp_upper"] < 0.05
    truth = box_stats(inside, found.y)  # with label noise the true box is not perfect
    assert box["density"].iloc[0] >= 0.8  # the rule of the chosen box
    assert box["coverage"].iloc[0] >= truth["coverage"] - 0.05
    steps = table.drop_duplicates("step")
    assert steps["coverage"].iloc[0] == 1.0 and steps["mass"].iloc[0] == 1.0
    assert steps["density"].iloc[0] == pytest.approx(found.y.mean())
    assert table.groupby("step").size().eq(3).all()  # tidy: one row per step and parameter
    leaves, text = cart_leaves(found)
    best = leaves[leaves["density"] == leaves["density"].max()].set_index("parameter")
    assert best.loc["a", "lower"] == pytest.approx(0.6, abs=0.05)
    assert best.loc["b", "upper"] == pytest.approx(4.0, abs=0.5)
    assert "a <=" in text


def test_chosen_box_is_the_widest_dense_one():
    trajectory = pd.DataFrame({"coverage": [1.0, 0.9, 0.7, 0.5], "density": [0.2, 0.7, 0.85,
                                                                             0.95],
                               "res_dim": [0, 1, 2, 2]})
    assert choose_step(trajectory, 0.8) == 2
    assert choose_step(trajectory, 0.99) == 3  # none dense enough: the densest


def test_discover_cli_on_a_sweep(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep_module, "observe_run", linear_metric)
    path = sweep_file(tmp_path, replications=2, metrics=["output"], timeseries=[],
                      vary={"work_visibility": {"low": 0.0, "high": 0.5},
                            "autonomy": {"low": 0.1, "high": 0.9}},
                      design={"method": "lhs", "samples": 120})
    out = tmp_path / "out"
    run_sweep(load_sweep(path), out)
    assert run.main(["discover", str(out), "--metric", "output", "--above", "1.5"]) == 0
    shown = capsys.readouterr().out
    assert "of 120 design points (240 runs)" in shown and "work_visibility:" in shown
    prim = pd.read_csv(out / "_analysis" / "discover_output_prim.csv")
    assert {"step", "parameter", "lower", "upper", "coverage", "density", "mass", "chosen",
            "qp_lower", "qp_upper", "basis", "runs"} <= set(prim.columns)
    assert prim["chosen"].sum() == 2 and (prim["basis"] == "design point").all()
    html = (out / "_analysis" / "discover_output.html").read_text()
    assert "<script src=\"http" not in html and len(html) > 1_000_000
    assert (out / "_analysis" / "discover_output_cart.csv").is_file()
    assert run.main(["discover", str(out), "--metric", "output", "--above", "1.5",
                     "--per-run"]) == 0
    assert "of 240 runs" in capsys.readouterr().out
    assert run.main(["discover", str(out), "--metric", "output", "--above", "9"]) == 2
    assert "no design point has output > 9" in capsys.readouterr().err
    assert run.main(["discover", str(out), "--metric", "output"]) == 2
    assert run.main(["discover", str(out), "--metric", "mean_fit", "--below", "1"]) == 2


# --- plots ---------------------------------------------------------------------------------
def test_plots_show_n_and_draw_no_interval_from_a_single_value():
    from dashboards.sweep_plots import heatmap, line_chart, mean_band

    frame = pd.DataFrame({"x": [1, 1, 1, 2, 3, 3], "y": ["a"] * 6,
                          "m": [1.0, 2.0, np.nan, 4.0, 5.0, np.nan]})
    stats = mean_band(frame, ["x"], "m").set_index("x")
    assert stats["n"].tolist() == [2, 1, 1] and stats["runs"].tolist() == [3, 1, 2]
    assert stats.loc[1, "mean"] == 1.5  # of the 2 values, and it says so
    assert stats.loc[[2, 3], ["low", "high"]].isna().all().all()  # one value: no interval
    figure = line_chart(frame, "x", "m", None)
    trace = figure.data[0]
    assert np.isnan(trace.error_y.array[1]) and not np.isnan(trace.error_y.array[0])
    assert list(trace.text) == ["n=2/3", "", "n=1/2"]
    assert "n = 2 of 3 runs (1 without a value)" in trace.hovertext[0]
    title = figure.layout.title.text
    assert "2 of 6 runs without a value" in title and "2 points from < 2 values" in title
    cells = heatmap(frame, "x", "y", "m").data[0].text
    assert cells.tolist() == [["n=2/3", "n=1", "n=1/2"]]
