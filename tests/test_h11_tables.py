"""A run's tables built as numpy columns in one go (model.analysis.idea_table,
idea_adoption_curves, experiments.runner.run_once) equal, to the dtype, NA, column and row
order, what the former pandas implementations (per-step frames concatenated, NA through
object arrays: kept below as references) built from the same runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.compare import RunTask, _rows, simulate
from model import OrganizationModel
from model.analysis import idea_adoption_curves, idea_table
from model.ideas import NEVER
from scenarios.settings import load_setting

SETTINGS = ("hierarchical", "shared_authority", "heroes_programme", "inverted_pyramid",
            "purpose_driven")
CASES = {
    "default": {},
    "no ideas": {"customer_problem_rate": 0.0, "probe_idea_step": -1},
    "no tracer": {"probe_idea_step": -1},
    "tracer at step 0": {"probe_idea_step": 0},
    "tracer after the run": {"probe_idea_step": 500},
    "registry growth": {"n_employees": 600, "customer_problem_rate": 0.3},  # > 256 ideas
    "complex contagion": {"adoption_threshold": 2},
    "one step": {"steps": 1},
}


def reference_idea_table(model: OrganizationModel) -> pd.DataFrame:
    """The former implementation (NA through an object array)."""
    reg, n = model.ideas, model.people.n
    live = slice(0, reg.n)

    def steps_or_na(arr: np.ndarray) -> pd.array:
        return pd.array(np.where(arr[live] == NEVER, pd.NA, arr[live]), dtype="Int64")

    return pd.DataFrame({
        "idea": np.arange(reg.n), "origin": reg.origin[live], "birth_step": reg.birth[live],
        "value_at_birth": reg.value_at_birth[live], "is_probe": reg.is_probe[live],
        "sanctioned_step": steps_or_na(reg.sanctioned_step),
        "squashed_step": steps_or_na(reg.squashed_step), "adoptions": reg.adoptions[live],
        "peak_adopters": reg.peak[live], "peak_share": reg.peak[live] / n,
        "final_adopters": reg.adopters[live], "step_half": steps_or_na(reg.step_half),
        "step_wide": steps_or_na(reg.step_wide), "step_90": steps_or_na(reg.step_90),
    })


def reference_curves(model: OrganizationModel, min_peak: int = 2) -> pd.DataFrame:
    """The former implementation (one frame per step, concatenated)."""
    reg = model.ideas
    keep = np.flatnonzero(reg.peak[: reg.n] >= min_peak)
    rows = []
    for step, counts in enumerate(model.ideas.history):
        ids = keep[keep < len(counts)]
        ids = ids[reg.birth[ids] <= step]
        rows.append(pd.DataFrame({"idea": ids, "step": step, "adopters": counts[ids]}))
    if not rows:
        return pd.DataFrame({"idea": [], "step": [], "adopters": []}, dtype="int64")
    return pd.concat(rows, ignore_index=True)


def assert_identical(new: pd.DataFrame, old: pd.DataFrame) -> None:
    """Same columns, dtypes, index, values and NA, and the same CSV text."""
    pd.testing.assert_frame_equal(new, old, check_index_type=True, check_column_type=True,
                                  check_exact=True)
    assert list(new.dtypes) == list(old.dtypes)
    assert type(new.index) is type(old.index)
    assert new.to_csv(index=False) == old.to_csv(index=False)


def finished(setting: str, overrides: dict, seed: int) -> OrganizationModel:
    chosen = load_setting(setting)
    params = chosen.parameters({"n_employees": 120, "steps": 40, **overrides})
    return OrganizationModel(params, rng=seed, chart=chosen.chart,
                             roadmap=chosen.roadmap(params)).run()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("setting", SETTINGS)
def test_tables_equal_the_former_pandas_builds(setting, case):
    for seed in (1, 2, 3):
        model = finished(setting, CASES[case], seed)
        assert_identical(idea_table(model), reference_idea_table(model))
        for min_peak in (0, 1, 2, 5):
            assert_identical(idea_adoption_curves(model, min_peak),
                             reference_curves(model, min_peak))


def test_the_cases_cover_what_the_tables_must_handle():
    """No ideas, NA steps beside set ones, growth past the registry's first capacity."""
    empty = finished("hierarchical", CASES["no ideas"], 1)
    assert len(idea_table(empty)) == 0 and len(idea_adoption_curves(empty)) == 0
    grown = finished("hierarchical", CASES["registry growth"], 1)
    table = idea_table(grown)
    assert len(table) > 256 and grown.ideas.version > 0
    assert table["squashed_step"].isna().any() and table["squashed_step"].notna().any()
    assert table["step_half"].isna().any() and table["step_half"].notna().any()
    assert len(idea_adoption_curves(grown)) > len(grown.ideas.history)


def test_client_company_with_its_chart_and_roadmap():
    chosen = load_setting("scenarios/company/acme.toml")
    params = chosen.parameters({"steps": 30})
    model = OrganizationModel(params, rng=9, chart=chosen.chart,
                              roadmap=chosen.roadmap(params)).run()
    assert_identical(idea_table(model), reference_idea_table(model))
    assert_identical(idea_adoption_curves(model), reference_curves(model))


def test_steps_run_one_at_a_time_give_the_same_curves():
    """History arrays of separate steps (not views of the fused run's one buffer)."""
    chosen = load_setting("shared_authority")
    params = chosen.parameters({"n_employees": 150, "steps": 30})
    model = OrganizationModel(params, rng=4)
    for _ in range(params.steps):
        model.step()
    assert_identical(idea_adoption_curves(model), reference_curves(model))
    assert_identical(idea_table(model), reference_idea_table(model))


def test_a_model_never_stepped_has_empty_tables_of_the_former_dtypes():
    model = OrganizationModel(load_setting("hierarchical").parameters({"n_employees": 50}),
                              rng=1)
    assert_identical(idea_adoption_curves(model), reference_curves(model))
    assert_identical(idea_table(model), reference_idea_table(model))


def reference_rows(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """compare's former stacking of one-row run summaries (through to_dict)."""
    return pd.DataFrame.from_records([r for f in frames for r in f.to_dict("records")])


def test_compare_stacks_run_summaries_as_before():
    """Runs whose summaries miss values in some runs only (no tracer, a tracer after the
    end), an imported chart with a roadmap: the same table, dtypes and CSV text."""
    chosen = load_setting("scenarios/company/acme.toml")
    acme = chosen.parameters({"steps": 12})
    tasks = [RunTask("client", acme, 0, 5, False, chart=chosen.chart,
                     roadmap=chosen.roadmap(acme))]
    for k, case in enumerate(("default", "no tracer", "tracer after the run", "no ideas")):
        params = load_setting("hierarchical").parameters(
            {"n_employees": 60, "steps": 50, **CASES[case]})
        tasks += [RunTask(case, params, k, seed, False) for seed in (1, 2)]
    frames = [simulate(task)["runs"] for task in tasks]
    stacked = _rows(frames)
    assert stacked["probe_share_26w"].isna().any() and stacked["probe_share_26w"].notna().any()
    assert_identical(stacked, reference_rows(frames))
    assert_identical(_rows(frames[1:2]), reference_rows(frames[1:2]))
