"""Tiny sweep files for the sweep tests (60 employees x 30 steps per run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

TINY = {
    "setting": "hierarchical",
    "seed": 11,
    "replications": 2,
    "steps": 30,
    "metrics": ["hidden_coasting_share", "time_to_50pct_adoption", "output"],
    "timeseries": ["coasting_share", "mean_effort"],
    "record_every": 10,
    "parameters": {"n_employees": 60},
    "vary": {"span_of_control": [4, 8], "work_visibility": [0.05, 0.2, 0.4]},
}


def sweep_file(folder: Path, name: str = "tiny", **changes: Any) -> Path:
    """Write TINY with top-level changes (None removes a key) and return its path."""
    data = {**TINY, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    path = folder / f"{name}.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def sorted_rows(out: Path) -> pd.DataFrame:
    """Every row of a sweep directory in a canonical order."""
    frame = pd.read_parquet(out)
    keys = ["run_id", "step", "metric"]
    return frame.sort_values(keys, na_position="first", ignore_index=True)
