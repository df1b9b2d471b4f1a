"""Property test: any valid parameter set runs without crashing or producing NaN."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import OrganizationModel
from model.analysis import summarize
from model.parameters import ParameterError, make_parameters, parameter_specs

SKIP = {"n_employees", "steps", "probe_idea_step", "summary_window", "metric_window",
        "n_dimensions", "rotation_period", "forum_memory", "exposure_memory", "idea_scope"}


def _strategy(spec):
    if spec.choices:
        return st.sampled_from(spec.choices)
    hi = min(spec.maximum, 8 if spec.kind is int else 10.0)
    if spec.kind is int:
        return st.integers(int(spec.minimum), int(hi))
    lo = spec.minimum
    return st.floats(lo, hi, allow_nan=False).filter(lambda x: lo < x < hi or
                                                     (x == lo and lo == 0))


parameter_sets = st.fixed_dictionaries(
    {s.name: _strategy(s) for s in parameter_specs() if s.name not in SKIP},
    optional={"n_dimensions": st.integers(4, 16), "idea_scope": st.integers(1, 4),
              "rotation_period": st.integers(1, 5), "probe_idea_step": st.integers(-1, 10)})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=parameter_sets, n=st.integers(2, 60), seed=st.integers(0, 2**31))
def test_valid_parameters_never_crash_or_yield_nan(values, n, seed):
    values = {**values, "n_employees": n, "steps": 12}
    if values.get("informal_network") == "small_world":
        values["informal_degree"] = min(values["informal_degree"] // 2 * 2, (n - 1) // 2 * 2)
    try:
        params = make_parameters(values)
    except ParameterError:
        return  # an impossible combination, rejected with a message: fine
    model = OrganizationModel(params, rng=seed).run()
    frame = model.results.to_frame()
    assert np.isfinite(frame.to_numpy()).all()
    summary = summarize(model)
    for key, value in summary.items():
        assert value is None or np.isfinite(value), key
