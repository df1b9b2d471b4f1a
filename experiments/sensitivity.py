"""Sensitivity analysis of a finished sweep (SALib's analyze functions), with its noise floor.

Each metric is averaged over replications per design point (so Y follows the design
order SALib expects), then analysed:

- Sobol (Saltelli design): first-order S1 and total ST indices with confidence intervals
  (and second-order S2 for each pair, as parameter "a:b", if the design has them).
- Morris (elementary effects): mu, mu* (with confidence interval) and sigma.
- any other design (Latin hypercube, grid of numbers): sample-agnostic RBD-FAST
  first-order indices S1 (with confidence interval) and PAWN (median Kolmogorov-Smirnov
  distance between conditional and unconditional output distributions, no interval).

``conf`` is the half-width of SALib's 95% bootstrap interval (1000 resamples).

The noise floor: morris and sobol designs carry an inert ``dummy`` factor (in the design,
never passed to the model); its index plus its interval is the floor under which a factor's
index cannot be told from noise. Other designs get dummy columns drawn after the fact (for a
sample-agnostic method that is the same thing): 20 of them, and the floor is the 95th
percentile of their |index| (one dummy, the first, is shown with its interval). With common
random numbers (the default of morris and sobol) the dummy's effect is exactly 0, so the
floor is 0 and an inert factor that the model never reads is exactly 0 too; a factor that
acts only through the random stream shows as an index whose interval is wider than its
value. Each row has a ``warning``:
"within noise floor" (value at or below the floor), "interval wider than value"
(2 conf > |value|), or "" -- and ``points`` and ``runs``, how many it rests on.

Results are tidy (metric, parameter, index, value, conf, noise_floor, warning, points, runs),
written to ``DIR/_analysis/sensitivity_<metric>.{csv,parquet}`` (the chart beside them is
drawn by ``dashboards.sweep_plots``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.outputs import atomic_write
from experiments.sweep import ANALYSIS_DIR, read_manifest, summary_table
from experiments.sweep_spec import DUMMY
from model.parameters import ParameterError

CONF_LEVEL = 0.95
RESAMPLES = 1000
INDICES = {"sobol": (("S1", "S1_conf"), ("ST", "ST_conf")),
           "morris": (("mu", None), ("mu_star", "mu_star_conf"), ("sigma", None)),
           "agnostic": (("S1", "S1_conf"), ("PAWN", None))}
WARNED = {"S1", "ST", "mu_star", "PAWN"}  # indices that are checked against the floor
WITHIN_FLOOR = "within noise floor"
WIDE = "interval wider than value"
RBD_HARMONICS = 10
PAWN_SLICES = 10
AGNOSTIC_DUMMIES = 20  # post hoc dummy columns of a sample-agnostic analysis
FLOOR_QUANTILE = 95


def problem_of(saved: dict[str, Any]) -> dict[str, Any]:
    """SALib problem (names, bounds) from a manifest, with the dummy factor if it has one."""
    vary = saved["sweep"]["vary"]
    names = [f["name"] for f in saved["factors"]]
    bounds = [[vary[n]["low"], vary[n]["high"]] for n in names]
    if saved["sweep"]["design"].get("dummy"):
        names, bounds = [*names, DUMMY], [*bounds, [0.0, 1.0]]
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def _finished_runs(out: Path, metric: str, saved: dict[str, Any]) -> pd.DataFrame:
    runs = summary_table(out)
    expected = len(saved["runs"]["rows"])
    if len(runs) < expected:
        raise ParameterError(f"{out}: {expected - len(runs)} of {expected} runs are unfinished "
                             "(finish them with `run.py sweep FILE --out DIR --resume`)")
    if metric not in runs.columns:
        raise ParameterError(f"--metric {metric!r}: not kept by this sweep (kept: "
                             f"{', '.join(saved['sweep']['metrics'])})")
    return runs


def point_means(out: Path, metric: str, saved: dict[str, Any]) -> np.ndarray:
    """The metric's mean over replications at each design point, in design order."""
    runs = _finished_runs(out, metric, saved)
    skipped = saved.get("skipped", [])
    if skipped:
        raise ParameterError(f"{out}: {len(skipped)} design points were skipped (e.g. point "
                             f"{skipped[0]['point_id']}: {skipped[0]['reason']}); a "
                             f"{saved['sweep']['design']['method']} analysis needs every point")
    means = runs.groupby("point_id")[metric].mean().reindex(range(len(saved["points"])))
    missing = int(means.isna().sum())
    if missing:
        raise ParameterError(f"--metric {metric!r}: no value at {missing} design points (e.g. "
                             "an event that never happened); choose another metric")
    return means.to_numpy()


def agnostic_inputs(out: Path, metric: str,
                    saved: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Problem, X (points x factors, plus a dummy column) and Y (point means) for a
    sample-agnostic analysis; points without a value of the metric are left out."""
    runs = _finished_runs(out, metric, saved)
    factors = saved["factors"]
    text = [f["name"] for f in factors if f["kind"] == "str"]
    if text:
        raise ParameterError(f"{out}: factor {text[0]!r} is categorical; a sensitivity "
                             "analysis needs numeric factors (fix it, or analyse per value)")
    names = [f["name"] for f in factors]
    means = runs.groupby("point_id")[[*names, metric]].mean().dropna()
    if len(means) < 2 * RBD_HARMONICS + 1:
        raise ParameterError(f"--metric {metric!r}: values at only {len(means)} design points; "
                             f"RBD-FAST needs more than {2 * RBD_HARMONICS}")
    rng = np.random.default_rng([saved["sweep"]["seed"], len(means)])
    x = np.column_stack([means[names].to_numpy(float),
                         rng.uniform(size=(len(means), AGNOSTIC_DUMMIES))])
    bounds = [[float(x[:, k].min()), float(x[:, k].max())] for k in range(len(names))]
    dummies = [DUMMY] + [f"{DUMMY}{k}" for k in range(2, AGNOSTIC_DUMMIES + 1)]
    problem = {"num_vars": len(names) + AGNOSTIC_DUMMIES, "names": [*names, *dummies],
               "bounds": [*bounds, *[[0.0, 1.0]] * AGNOSTIC_DUMMIES]}
    return problem, x, means[metric].to_numpy(float)


def agnostic_indices(problem: dict[str, Any], x: np.ndarray, y: np.ndarray,
                     seed: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """RBD-FAST S1 (bootstrap interval) and PAWN of the factors and the first dummy, and
    the floor of each index: the 95th percentile of |index| over all dummy columns."""
    from SALib.analyze import pawn, rbd_fast

    shown = len(problem["names"]) - AGNOSTIC_DUMMIES + 1
    head = {**problem, "num_vars": shown, "names": problem["names"][:shown],
            "bounds": problem["bounds"][:shown]}
    result = dict(rbd_fast.analyze(head, x[:, :shown], y, M=RBD_HARMONICS,
                                   num_resamples=RESAMPLES, conf_level=CONF_LEVEL, seed=seed))
    rest = {**problem, "num_vars": AGNOSTIC_DUMMIES - 1, "names": problem["names"][shown:],
            "bounds": problem["bounds"][shown:]}
    extra = rbd_fast.analyze(rest, x[:, shown:], y, M=RBD_HARMONICS, num_resamples=2,
                             seed=seed)["S1"]  # only their values count
    pawn_all = np.asarray(pawn.analyze(problem, x, y, S=PAWN_SLICES, seed=seed)["median"])
    result["PAWN"] = pawn_all[:shown]
    floors = {"S1": np.percentile(np.abs([result["S1"][-1], *extra]), FLOOR_QUANTILE),
              "PAWN": np.percentile(pawn_all[shown - 1:], FLOOR_QUANTILE)}
    return result, floors


def analyze(out: Path, metric: str) -> pd.DataFrame:
    """Tidy sensitivity indices of one metric: metric, parameter, index, value, conf,
    noise_floor, warning, points, runs."""
    out = Path(out)
    saved = read_manifest(out)
    design = saved["sweep"]["design"]
    method = design["method"] if design["method"] in ("sobol", "morris") else "agnostic"
    seed = saved["sweep"]["seed"] % 2**32
    if method == "agnostic":
        problem, x, y = agnostic_inputs(out, metric, saved)
        result, floors = agnostic_indices(problem, x, y, seed)
        problem = {**problem, "names": problem["names"][:len(result["PAWN"])]}
        points = len(y)
    else:
        floors = None
        problem = problem_of(saved)
        y = point_means(out, metric, saved)
        points = len(y)
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
    table = flag_noise(pd.DataFrame(rows), floors)
    runs = summary_table(out)
    return table.assign(points=points, runs=int(runs[metric].notna().sum()))


def flag_noise(table: pd.DataFrame, floors: dict[str, float] | None = None) -> pd.DataFrame:
    """Add the noise floor (per index: given, or the dummy's |value| + conf) and each row's
    warning."""
    dummy = table[table["parameter"] == DUMMY].set_index("index")
    floor = dummy["value"].abs() + dummy["conf"].fillna(0)
    if floors:
        floor = pd.Series(floors)
    floor = floor.reindex(table["index"]).to_numpy(float)
    value, conf = table["value"].abs().to_numpy(), table["conf"].to_numpy()
    checked = table["index"].isin(WARNED).to_numpy() & (table["parameter"] != DUMMY).to_numpy()
    warning = np.where(checked & (value <= floor), WITHIN_FLOOR,
                       np.where(checked & (2 * np.nan_to_num(conf) > value), WIDE, ""))
    warning = np.where(table["parameter"] == DUMMY, "the noise floor", warning)
    return table.assign(noise_floor=floor, warning=warning)


def write_sensitivity(out: Path, metrics: list[str]) -> tuple[pd.DataFrame, list[Path]]:
    """Analyse each metric; write its tidy table (CSV, Parquet); charts are drawn by
    ``dashboards.sweep_plots.write_sensitivity_charts``."""
    out = Path(out)
    tables = [analyze(out, metric) for metric in metrics]
    folder = out / ANALYSIS_DIR
    folder.mkdir(exist_ok=True)
    written = []
    for table in tables:
        # a metric may be "pkg.mod:function": one safe file name, never a fake suffix
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", str(table["metric"].iloc[0]))
        csv, parquet = folder / f"sensitivity_{name}.csv", folder / f"sensitivity_{name}.parquet"
        atomic_write(csv, lambda p, t=table: t.to_csv(p, index=False))
        atomic_write(parquet, lambda p, t=table: t.to_parquet(p, index=False))
        written += [csv, parquet]
    return pd.concat(tables, ignore_index=True), written
