"""Sensitivity analysis of a finished Sobol or Morris sweep (SALib's analyze functions).

Each metric is averaged over replications per design point (so Y follows the design
order SALib expects), then analysed:

- Sobol (Saltelli design): first-order S1 and total ST indices with confidence intervals
  (and second-order S2 for each pair, as parameter "a:b", if the design has them).
- Morris (elementary effects): mu, mu* (with confidence interval) and sigma.

Results are tidy (metric, parameter, index, value, conf), written to
``DIR/_analysis/sensitivity_<metric>.{csv,parquet}`` (the chart beside them is drawn by
``dashboards.sweep_plots``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.outputs import atomic_write
from experiments.sweep import ANALYSIS_DIR, read_manifest, summary_table
from model.parameters import ParameterError

CONF_LEVEL = 0.95
RESAMPLES = 1000
INDICES = {"sobol": (("S1", "S1_conf"), ("ST", "ST_conf")),
           "morris": (("mu", None), ("mu_star", "mu_star_conf"), ("sigma", None))}


def problem_of(saved: dict[str, Any]) -> dict[str, Any]:
    """SALib problem (names, bounds) from a manifest."""
    vary = saved["sweep"]["vary"]
    names = [f["name"] for f in saved["factors"]]
    return {"num_vars": len(names), "names": names,
            "bounds": [[vary[n]["low"], vary[n]["high"]] for n in names]}


def point_means(out: Path, metric: str, saved: dict[str, Any]) -> np.ndarray:
    """The metric's mean over replications at each design point, in design order."""
    runs = summary_table(out)
    expected = len(saved["runs"]["rows"])
    if len(runs) < expected:
        raise ParameterError(f"{out}: {expected - len(runs)} of {expected} runs are unfinished "
                             "(finish them with `run.py sweep FILE --out DIR --resume`)")
    if metric not in runs.columns:
        raise ParameterError(f"--metric {metric!r}: not kept by this sweep (kept: "
                             f"{', '.join(saved['sweep']['metrics'])})")
    means = runs.groupby("point_id")[metric].mean().reindex(range(len(saved["points"])))
    missing = int(means.isna().sum())
    if missing:
        raise ParameterError(f"--metric {metric!r}: no value at {missing} design points (e.g. "
                             "an event that never happened); choose another metric")
    return means.to_numpy()


def analyze(out: Path, metric: str) -> pd.DataFrame:
    """Tidy sensitivity indices of one metric: metric, parameter, index, value, conf."""
    out = Path(out)
    saved = read_manifest(out)
    design = saved["sweep"]["design"]
    method = design["method"]
    if method not in INDICES:
        raise ParameterError(f"{out}: design method is {method!r}; sensitivity needs a sweep "
                             "made with method = \"sobol\" or \"morris\"")
    problem = problem_of(saved)
    y = point_means(out, metric, saved)
    seed = saved["sweep"]["seed"] % 2**32
    if method == "sobol":
        from SALib.analyze import sobol

        result = sobol.analyze(problem, y, calc_second_order=design["second_order"],
                               num_resamples=RESAMPLES, conf_level=CONF_LEVEL, seed=seed)
    else:
        from SALib.analyze import morris

        result = morris.analyze(problem, np.asarray(saved["samples"]), y,
                                num_resamples=RESAMPLES, conf_level=CONF_LEVEL,
                                num_levels=design["levels"], seed=seed)
    names = problem["names"]
    rows = [{"metric": metric, "parameter": name, "index": index,
             "value": float(result[index][i]),
             "conf": float(result[conf][i]) if conf else np.nan}
            for i, name in enumerate(names) for index, conf in INDICES[method]]
    if method == "sobol" and design["second_order"]:
        rows += [{"metric": metric, "parameter": f"{names[i]}:{names[j]}", "index": "S2",
                  "value": float(result["S2"][i, j]), "conf": float(result["S2_conf"][i, j])}
                 for i in range(len(names)) for j in range(i + 1, len(names))]
    return pd.DataFrame(rows)


def write_sensitivity(out: Path, metrics: list[str]) -> tuple[pd.DataFrame, list[Path]]:
    """Analyse each metric; write its tidy table (CSV, Parquet); charts are drawn by
    ``dashboards.sweep_plots.write_sensitivity_charts``."""
    out = Path(out)
    tables = [analyze(out, metric) for metric in metrics]
    folder = out / ANALYSIS_DIR
    folder.mkdir(exist_ok=True)
    written = []
    for table in tables:
        stem = folder / f"sensitivity_{table['metric'].iloc[0]}"
        atomic_write(stem.with_suffix(".csv"), lambda p, t=table: t.to_csv(p, index=False))
        atomic_write(stem.with_suffix(".parquet"),
                     lambda p, t=table: t.to_parquet(p, index=False))
        written += [stem.with_suffix(s) for s in (".csv", ".parquet")]
    return pd.concat(tables, ignore_index=True), written
