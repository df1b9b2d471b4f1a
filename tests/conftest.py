"""Shared helpers: small, fixed-seed runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

from model import OrganizationModel
from model.analysis import summarize
from scenarios.settings import load_setting

# Property tests draw the same examples on every run (a CI run never meets examples the
# last one did not); `pytest --hypothesis-profile=explore` draws new ones, as a search.
settings.register_profile("fixed", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("fixed")


def run_model(seed: int = 1, setting: str | None = None, **overrides) -> OrganizationModel:
    """Build and run a model from a setting (or defaults) plus overrides."""
    base = load_setting(setting).values if setting else {}
    model = OrganizationModel(rng=seed, **{**base, **overrides})
    return model.run()


def summaries(seeds, setting: str | None = None, **overrides) -> pd.DataFrame:
    """One summary row per replication (None becomes NaN)."""
    rows = [summarize(run_model(s, setting, **overrides)) for s in seeds]
    return pd.DataFrame(rows).apply(pd.to_numeric, errors="coerce")


def mean_summary(seeds, setting: str | None = None, **overrides) -> pd.Series:
    """Mean of the summary over replications."""
    return summaries(seeds, setting, **overrides).mean()


@pytest.fixture(scope="session")
def small_run() -> OrganizationModel:
    return run_model(seed=7, n_employees=300, steps=60)


def assert_finite_shares(frame: pd.DataFrame) -> None:
    share_cols = [c for c in frame.columns if c.endswith("share") or c.endswith("overlap")]
    values = frame[share_cols].to_numpy()
    assert np.isfinite(values).all()
    assert (values >= 0).all() and (values <= 1).all()
