"""Sweep files: one-line errors naming field and value, designs, and run seeds."""

import numpy as np
import pytest

from experiments.sweep_spec import load_sweep, resolve_sweep, run_seed
from model.parameters import ParameterError
from tests.sweep_helpers import TINY, sweep_file

BAD = [
    ({"colour": "red"}, "'colour'"),
    ({"vary": {"span_of_kontrol": [4, 8]}}, "'vary.span_of_kontrol'"),
    ({"vary": {"span_of_control": [1, 4]}}, "value 1 is below the minimum 2"),
    ({"vary": {"work_visibility": ["high"]}}, "'vary.work_visibility': value 'high'"),
    ({"vary": {"span_of_control": [4.5]}}, "value 4.5 must be an integer"),
    ({"vary": {"formal_structure": ["tree", "matrix"]}}, "value 'matrix' is not one of"),
    ({"vary": {"work_visibility": {"start": 0, "stop": 2, "num": 3}}},
     "value 2.0 is above the maximum 1"),
    ({"vary": {"work_visibility": 0.3}}, "'vary.work_visibility': value 0.3 must be"),
    ({"vary": {}}, "'vary': missing or empty"),
    ({"replications": 0}, "'replications': value 0 must be between"),
    ({"seed": "x"}, "'seed': value 'x' must be an integer"),
    ({"metrics": ["happiness"]}, "'metrics': unknown metric 'happiness'"),
    ({"timeseries": ["hidden_coasting_share", "nope"]}, "unknown metric 'nope'"),
    ({"setting": "utopia"}, "'setting': unknown setting 'utopia'"),
    ({"parameters": {"n_employees": 1}}, "n_employees = 1"),
    ({"design": {"method": "random"}}, "'design.method': value 'random'"),
    ({"design": {"method": "grid", "samples": 8}}, "'design.samples': value 8 does not apply"),
    ({"design": {"method": "sobol", "samples": 10},
      "vary": {"autonomy": {"low": 0.1, "high": 0.9}}}, "'design.samples': value 10 must be a "
                                                         "power of 2"),
    ({"design": {"method": "lhs", "samples": 8}}, "'vary.span_of_control': value [4, 8] must "
                                                  "be { low"),
    ({"design": {"method": "lhs", "samples": 8},
      "vary": {"formal_structure": {"low": 0, "high": 1}}}, "categorical parameter cannot"),
    ({"design": {"method": "lhs", "samples": 8},
      "vary": {"autonomy": {"low": 0.9, "high": 0.1}}}, "low = 0.9 must be below high = 0.1"),
    ({"design": {"method": "morris", "samples": 4, "levels": 3},
      "vary": {"autonomy": {"low": 0.1, "high": 0.9}}}, "'design.levels': value 3 must be even"),
    ({"metrics": [], "timeseries": []}, "'metrics': value [] (and no timeseries)"),
    ({"vary": {"autonomy": {"start": 0, "stop": 1, "num": 5000},
               "skill_mean": {"start": 0.01, "stop": 0.99, "num": 5000}}}, "more than"),
    # every point breaks a cross-field rule of Parameters: idea_scope > n_dimensions
    ({"vary": {"idea_scope": [30, 40]}}, "every design point is skipped (point 0: "
                                         "idea_scope = 30 cannot exceed n_dimensions"),
    ({"seeds": "shared"}, "'seeds': value 'shared' is not one of common, independent"),
    ({"design": {"method": "lhs", "samples": 8, "dummy": True},
      "vary": {"autonomy": {"low": 0.1, "high": 0.9}}}, "'design.dummy': only for morris"),
    ({"constraint": [{"left": "idea_scope", "op": "=<", "right": "n_dimensions"}]},
     "'constraint[0].op': value '=<' is not one of"),
    ({"constraint": [{"left": "idea_scop", "op": "<=", "right": 3}]},
     "'constraint[0].left': value 'idea_scop' is not a parameter"),
    ({"constraint": [{"left": "idea_scope", "op": "<=", "right": "dims"}]},
     "'constraint[0].right': value 'dims' is neither a parameter nor a number"),
    ({"constraint": [{"left": "idea_scope", "op": "<="}]}, "'constraint[0].right': missing"),
    ({"constraint": [{"left": "idea_scope", "op": "<=", "right": 2, "when": 1}]},
     "'constraint[0].when': unknown"),
    ({"constraint": [{"left": "formal_structure", "op": "==", "right": 2}]},
     "compares text with a number"),
    ({"constraint": {"left": "idea_scope"}}, "'constraint': value"),
    ({"constraint": [{"left": "span_of_control", "op": ">", "right": 100}]},
     "every design point is skipped (point 0: constraint span_of_control > 100)"),
]


@pytest.mark.parametrize(("changes", "expected"), BAD)
def test_invalid_sweep_is_one_clear_line(tmp_path, changes, expected):
    path = sweep_file(tmp_path, **changes)
    with pytest.raises(ParameterError) as err:
        load_sweep(path)
    message = str(err.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert expected in message


def test_description_may_change_without_changing_the_sweep():
    a = resolve_sweep({**TINY, "description": "first"})
    assert resolve_sweep({**TINY, "description": "second"}).digest == a.digest
    assert resolve_sweep({**TINY, "seed": 12}).digest != a.digest


def test_malformed_and_missing_files(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("seed = = 3")
    with pytest.raises(ParameterError, match="malformed TOML"):
        load_sweep(broken)
    with pytest.raises(ParameterError, match="no such sweep file"):
        load_sweep(tmp_path / "absent.toml")


def test_grid_is_the_full_product_of_lists_and_ranges():
    sweep = resolve_sweep({**TINY, "vary": {
        "span_of_control": {"start": 4, "stop": 12, "step": 4},
        "work_visibility": {"start": 0.0, "stop": 0.5, "num": 3},
        "formal_structure": ["tree", "teams"]}})
    assert len(sweep.points) == 3 * 3 * 2 and len(sweep.runs) == 18 * 2
    assert sorted({p["span_of_control"] for p in sweep.points}) == [4, 8, 12]
    assert sorted({p["work_visibility"] for p in sweep.points}) == [0.0, 0.25, 0.5]
    assert [r.run_id for r in sweep.runs] == list(range(36))
    assert all(r.run_id == r.point_id * 2 + r.replication for r in sweep.runs)


@pytest.mark.parametrize(("method", "extra", "points"), [
    ("lhs", {}, 16), ("sobol", {"second_order": False}, 16 * (3 + 2)),  # 2 factors + dummy
    ("sobol", {"second_order": True}, 16 * (2 * 3 + 2)), ("morris", {"levels": 4}, 16 * 4),
    ("morris", {"levels": 4, "dummy": False}, 16 * 3)])
def test_sampled_designs_round_integers_and_stay_in_bounds(method, extra, points):
    sweep = resolve_sweep({**TINY, "design": {"method": method, "samples": 16, **extra},
                           "vary": {"span_of_control": {"low": 3, "high": 12},
                                    "autonomy": {"low": 0.2, "high": 0.8}}})
    assert len(sweep.points) == points
    spans = [p["span_of_control"] for p in sweep.points]
    assert all(type(s) is int and 3 <= s <= 12 for s in spans)
    assert all(0.2 <= p["autonomy"] <= 0.8 for p in sweep.points)
    assert len(set(spans)) > 3  # integer values are rounded, not collapsed


def test_seed_depends_only_on_root_point_and_replication():
    a = resolve_sweep({**TINY, "vary": {"span_of_control": [4, 8, 16]}})
    b = resolve_sweep({**TINY, "vary": {"span_of_control": [16, 8]}})
    seeds_a = {(a.points[r.point_id]["span_of_control"], r.replication): r.seed for r in a.runs}
    seeds_b = {(b.points[r.point_id]["span_of_control"], r.replication): r.seed for r in b.runs}
    for key, seed in seeds_b.items():
        assert seeds_a[key] == seed  # same point and replication: same seed, whatever the order
    assert len(set(seeds_a.values())) == len(seeds_a)
    expected = np.random.SeedSequence([11, _crc({"span_of_control": 8}), 1]).generate_state(1)
    assert seeds_a[(8, 1)] == int(expected[0]) == run_seed(11, {"span_of_control": 8}, 1)
    assert run_seed(12, {"span_of_control": 8}, 1) != seeds_a[(8, 1)]


def _crc(point):
    import zlib

    return zlib.crc32(b'{"span_of_control":%d}' % point["span_of_control"])


def test_example_sweeps_are_valid():
    from pathlib import Path

    for path in sorted((Path(__file__).parent.parent / "sweeps").glob("*.toml")):
        assert load_sweep(path).runs
