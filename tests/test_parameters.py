"""The single parameter declaration: defaults, bounds, cross-field checks, docs."""

import pytest
from pydantic import ValidationError

from dashboards.parameter_docs import ODD, render
from model.parameters import (
    GROUPS,
    ParameterError,
    Parameters,
    make_parameters,
    parameter_specs,
)


def test_every_parameter_is_fully_declared():
    specs = parameter_specs()
    assert len(specs) == len(Parameters.model_fields)
    for spec in specs:
        assert spec.group in GROUPS
        assert spec.meaning.endswith("."), spec.name
        if spec.choices is None:
            assert spec.minimum is not None and spec.maximum is not None, spec.name
            assert spec.minimum <= spec.default <= spec.maximum, spec.name


def test_groups_named_by_the_issue_are_used():
    used = {s.group for s in parameter_specs()}
    assert {"population", "structure", "constraints", "power relations",
            "environment"} <= used


@pytest.mark.parametrize("values, field", [
    ({"span_of_control": 1}, "span_of_control"),
    ({"hero_share": 1.5}, "hero_share"),
    ({"formal_structure": "matrix"}, "formal_structure"),
    ({"steps": "many"}, "steps"),
    ({"span_of_control": 2.5}, "span_of_control"),
])
def test_out_of_range_or_wrong_type_names_field_and_value(values, field):
    with pytest.raises(ParameterError) as err:
        make_parameters(values, "test")
    message = str(err.value)
    assert field in message and str(next(iter(values.values()))) in message
    assert "\n" not in message


def test_unknown_key_is_rejected():
    with pytest.raises(ParameterError, match="unknown parameter 'spam'"):
        make_parameters({"spam": 1}, "test")


@pytest.mark.parametrize("values, words", [
    ({"idea_scope": 30, "n_dimensions": 10}, "idea_scope"),
    ({"leader_selection": "elected", "formal_structure": "none"}, "elected"),
    ({"informal_degree": 7}, "even"),
    ({"informal_degree": 20, "n_employees": 10}, "informal_degree"),
])
def test_impossible_combinations_are_rejected(values, words):
    with pytest.raises(ParameterError, match=words):
        make_parameters(values, "test")


def test_parameters_are_immutable():
    p = Parameters()
    with pytest.raises(ValidationError):
        p.n_employees = 3


def test_odd_parameter_table_is_generated_from_the_declaration():
    text = ODD.read_text(encoding="utf-8")
    assert render(text) == text, "run: python -m dashboards.parameter_docs"
    for spec in parameter_specs():
        assert f"`{spec.name}`" in text
