"""Settings are parameter values only: every file loads and runs; names do not matter."""

import shutil

import pandas as pd
import pytest

from model.parameters import ParameterError
from scenarios.settings import available_settings, load_setting, parse_override
from tests.conftest import run_model

SETTINGS = sorted(available_settings())


def test_reference_and_essay_settings_exist():
    assert {"hierarchical", "shared_authority"} <= set(SETTINGS)
    assert len(SETTINGS) >= 5


@pytest.mark.parametrize("name", SETTINGS)
def test_every_setting_loads_validates_and_runs(name):
    setting = load_setting(name)
    assert setting.description
    model = run_model(1, name, n_employees=200, steps=10)
    assert model.steps == 10
    assert len(model.results.to_frame()) == 11


def test_a_renamed_copy_gives_identical_results(tmp_path):
    copy = tmp_path / "renamed_for_a_client.toml"
    shutil.copy(available_settings()["hierarchical"], copy)
    original = load_setting("hierarchical").parameters({"n_employees": 250, "steps": 40})
    renamed = load_setting(str(copy)).parameters({"n_employees": 250, "steps": 40})
    assert original == renamed
    from model import OrganizationModel
    a = OrganizationModel(original, rng=4).run().results.to_frame()
    b = OrganizationModel(renamed, rng=4).run().results.to_frame()
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("content, words", [
    ("description = 'x'\n[parameters\n", "malformed TOML"),
    ("description = 'x'\ncolour = 'red'\n", "unknown key 'colour'"),
    ("description = 'x'\n[parameters]\nspan_of_control = 0\n", "span_of_control = 0"),
    ("description = 'x'\n[parameters]\nflux = 3\n", "unknown parameter 'flux'"),
    ("description = 'x'\nparameters = 3\n", "must be a table"),
])
def test_bad_setting_files_get_one_clear_line(tmp_path, content, words):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(ParameterError) as err:
        load_setting(str(path))
    assert words in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_setting_lists_choices():
    with pytest.raises(ParameterError, match="unknown setting 'nonsense'.*hierarchical"):
        load_setting("nonsense")


@pytest.mark.parametrize("text, expected", [
    ("span_of_control=12", ("span_of_control", 12)),
    ("autonomy = 0.25", ("autonomy", 0.25)),
    ("formal_structure=teams", ("formal_structure", "teams")),
    ("formal_structure='none'", ("formal_structure", "none")),
])
def test_overrides_parse_as_toml_values(text, expected):
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["span_of_control", "=3", "nope=1", "autonomy="])
def test_bad_overrides_are_rejected(text):
    with pytest.raises(ParameterError):
        parse_override(text)
