"""Scenario discovery on a finished sweep: in which region of the parameters does a metric
exceed (or stay below) a threshold?

The cases are the design points, each with the metric's mean over its replications (or,
with ``per_run``, every run on its own); a case is "of interest" when that value is above
(or below) the threshold. Points without a value of the metric are left out and counted.

- PRIM (the EMA workbench's ``prim.Prim``: peeling, then pasting): a box of parameter
  ranges. Its peeling trajectory trades coverage (share of all cases of interest inside the
  box) against density (share of the box's cases that are of interest); mass is the share
  of all cases inside. The chosen box is the one with the highest coverage among those
  with density >= ``min_density`` (else the densest). Each restriction has the workbench's
  quasi-p-value (qp_lower, qp_upper: a binomial test of whether that one limit raises the
  density; a restriction with qp > 0.05 is likely noise).
- CART (scikit-learn's DecisionTreeClassifier, depth <= 3): the leaves as boxes, with the
  same coverage, density and mass.

Tidy tables: one row per (trajectory step or leaf, parameter) with its limits and the
box's statistics, written to ``DIR/_analysis/discover_<metric>_{prim,cart}.csv``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.sweep import ANALYSIS_DIR, read_manifest, summary_table
from model.parameters import ParameterError

MIN_DENSITY = 0.8
TREE_DEPTH = 3
MIN_CASES = 10


@dataclass(frozen=True)
class Cases:
    """What scenario discovery looks at: parameters, the outcome flag and their basis."""

    x: pd.DataFrame  # one column per varied parameter
    y: np.ndarray  # bool: the metric is above (below) the threshold
    values: np.ndarray  # the metric (mean per point, or per run)
    basis: str  # "design point" or "run"
    runs: int  # runs the cases rest on
    missing: int  # cases without a value of the metric (left out)
    rule: str  # e.g. "hidden_coasting_share > 0.1"


def cases(out: Path, metric: str, threshold: float, above: bool,
          per_run: bool = False) -> Cases:
    """The cases of a sweep directory for one metric and threshold."""
    saved = read_manifest(out)
    if metric not in saved["sweep"]["metrics"]:
        raise ParameterError(f"--metric {metric!r}: not kept by this sweep (kept: "
                             f"{', '.join(saved['sweep']['metrics'])})")
    names = [f["name"] for f in saved["factors"]]
    runs = summary_table(out)
    if per_run:
        table, basis = runs[[*names, metric]], "run"
    else:
        grouped = runs.groupby("point_id")
        table = grouped[names].first().assign(**{metric: grouped[metric].mean()})
        basis = "design point"
    missing = int(table[metric].isna().sum())
    table = table.dropna(subset=[metric])
    rule = f"{metric} {'>' if above else '<'} {threshold:g}"
    if len(table) < MIN_CASES:
        raise ParameterError(f"--metric {metric!r}: values at only {len(table)} {basis}s "
                             f"(need {MIN_CASES} to discover anything)")
    values = table[metric].to_numpy(float)
    y = values > threshold if above else values < threshold
    if y.all() or not y.any():
        raise ParameterError(f"--{'above' if above else 'below'} {threshold:g}: "
                             f"{'every' if y.all() else 'no'} {basis} has {rule} (values "
                             f"{values.min():.4g} to {values.max():.4g}); choose another "
                             "threshold")
    x = table[names].reset_index(drop=True)
    for name in names:
        if x[name].dtype == object:
            x[name] = x[name].astype("category")
    return Cases(x, y, values, basis, int(runs[metric].notna().sum()), missing, rule)


def box_stats(inside: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Coverage, density and mass of a box (a boolean mask over the cases)."""
    hits = int((inside & y).sum())
    return {"coverage": hits / int(y.sum()), "density": hits / max(int(inside.sum()), 1),
            "mass": float(inside.mean()), "cases": int(inside.sum())}


def prim_boxes(found: Cases, min_density: float = MIN_DENSITY) -> tuple[pd.DataFrame, int]:
    """PRIM's peeling-and-pasting trajectory as a tidy table, and the chosen step."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the workbench warns that ipyparallel is absent
        from ema_workbench.analysis import prim

        box = prim.Prim(found.x, found.y.astype(int)).find_box()
    trajectory = box.peeling_trajectory.reset_index(drop=True)
    chosen = choose_step(trajectory, min_density)
    first = box.box_lims[0]
    rows = []
    for step, limits in enumerate(box.box_lims):
        stats = trajectory.iloc[step]
        quasi_p = box.p_values[step] if step < len(box.p_values) else {}
        for name in found.x.columns:
            low, high = limits[name].iloc[0], limits[name].iloc[1]
            qp_low, qp_high = (q if q >= 0 else np.nan for q in quasi_p.get(name, (-1, -1)))
            categorical = isinstance(low, set)
            rows.append({"step": step, "parameter": name,
                         "lower": np.nan if categorical else float(low),
                         "upper": np.nan if categorical else float(high),
                         "values": "|".join(sorted(map(str, low))) if categorical else "",
                         "restricted": bool(low != first[name].iloc[0]
                                            or high != first[name].iloc[1]),
                         "coverage": float(stats["coverage"]), "density": float(stats["density"]),
                         "mass": float(stats["mass"]), "res_dim": int(stats["res_dim"]),
                         "qp_lower": qp_low, "qp_upper": qp_high, "chosen": step == chosen})
    return pd.DataFrame(rows), chosen


def choose_step(trajectory: pd.DataFrame, min_density: float) -> int:
    """Highest coverage among steps with density >= min_density (ties: fewer restricted
    parameters, then higher density); else the densest step."""
    dense = trajectory[trajectory["density"] >= min_density]
    if dense.empty:
        return int(trajectory["density"].idxmax())
    order = dense.sort_values(["coverage", "res_dim", "density"],
                              ascending=[False, True, False], kind="stable")
    return int(order.index[0])


def cart_leaves(found: Cases) -> tuple[pd.DataFrame, str]:
    """A depth-3 classification tree: each leaf as a box (tidy) and the tree as text."""
    from sklearn.tree import DecisionTreeClassifier, export_text

    x = pd.get_dummies(found.x, prefix_sep="=") if any(
        found.x[c].dtype.name == "category" for c in found.x) else found.x
    tree = DecisionTreeClassifier(max_depth=TREE_DEPTH, random_state=0,
                                  min_samples_leaf=max(5, len(x) // 20)).fit(x, found.y)
    leaf_of = tree.apply(x)
    structure = tree.tree_
    rows = []
    for leaf in np.unique(leaf_of):
        limits = {name: [-np.inf, np.inf] for name in x.columns}
        node = leaf
        parents = _parents(structure)
        while node in parents:
            parent, left = parents[node]
            name = x.columns[structure.feature[parent]]
            cut = float(structure.threshold[parent])
            if left:
                limits[name][1] = min(limits[name][1], cut)
            else:
                limits[name][0] = max(limits[name][0], cut)
            node = parent
        stats = box_stats(leaf_of == leaf, found.y)
        for name in x.columns:
            low, high = limits[name]
            rows.append({"leaf": int(leaf), "parameter": name,
                         "lower": float(max(low, x[name].min())),
                         "upper": float(min(high, x[name].max())),
                         "restricted": bool(np.isfinite(low) or np.isfinite(high)), **stats})
    text = export_text(tree, feature_names=[str(c) for c in x.columns], show_weights=True)
    return pd.DataFrame(rows), text


def _parents(structure: Any) -> dict[int, tuple[int, bool]]:
    parents = {}
    for node in range(structure.node_count):
        left, right = structure.children_left[node], structure.children_right[node]
        if left >= 0:
            parents[int(left)] = (node, True)  # left child: feature <= threshold
            parents[int(right)] = (node, False)
    return parents


@dataclass(frozen=True)
class Discovery:
    found: Cases
    prim: pd.DataFrame
    chosen: int
    cart: pd.DataFrame
    tree: str


def discover(out: Path, metric: str, threshold: float, above: bool, per_run: bool = False,
             min_density: float = MIN_DENSITY) -> Discovery:
    """PRIM and CART on one sweep directory (nothing written)."""
    found = cases(Path(out), metric, threshold, above, per_run)
    prim_table, chosen = prim_boxes(found, min_density)
    cart_table, tree = cart_leaves(found)
    return Discovery(found, prim_table, chosen, cart_table, tree)


def write_discovery(out: Path, result: Discovery, metric: str) -> list[Path]:
    """The two tidy tables, each with the rule, basis and counts, into DIR/_analysis/."""
    from experiments.outputs import atomic_write

    folder = Path(out) / ANALYSIS_DIR
    folder.mkdir(exist_ok=True)
    found = result.found
    context = {"rule": found.rule, "basis": found.basis, "cases": len(found.y),
               "cases_of_interest": int(found.y.sum()), "runs": found.runs,
               "missing": found.missing}
    written = []
    for name, table in (("prim", result.prim), ("cart", result.cart)):
        path = folder / f"discover_{metric}_{name}.csv"
        full = table.assign(**context)
        atomic_write(path, lambda p, t=full: t.to_csv(p, index=False))
        written.append(path)
    return written
