"""Breakdowns the stored data already holds: coasting, commitment and idea use by level of
the hierarchy, by unit, and for customer-facing vs back-office staff.

They come from the employees table (each employee's state at the end of a run): per run,
the share (or mean) within each group; then, per setting and group, the mean over runs
with its 95% interval (logit-scale t for shares, t for commitment; see
experiments/statistics.py), so every number rests on the runs it names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.statistics import logit_interval, mean_interval

BREAKDOWN_METRICS = {  # name: (label, kind, per-employee value)
    "hidden_coasting_share": ("Hidden coasting", "share",
                              lambda e: e["coast_state"].astype(str) == "hidden"),
    "coasting_share": ("Coasting (noticed or hidden)", "share",
                       lambda e: e["coast_state"].astype(str) != "working"),
    "idea_use_share": ("Using an idea born in the run", "share",
                       lambda e: e["ideas_in_use"] > 0),
    "mean_commitment": ("Commitment (0-1)", "index", lambda e: e["commitment"]),
}
GROUPINGS = {"level": "level of the hierarchy (0 = top)",
             "customer_facing": "customer-facing vs back office",
             "unit": "unit"}
BREAKDOWN_COLUMNS = ["setting", "grouping", "group", "metric", "runs", "staff", "mean",
                     "ci_low", "ci_high"]


def group_name(grouping: str, value: object) -> str:
    if grouping == "customer_facing":
        return "customer-facing" if bool(value) else "back office"
    return f"{grouping} {value}"


def group_breakdowns(employees: pd.DataFrame, groupings: tuple[str, ...] = tuple(GROUPINGS)
                     ) -> pd.DataFrame:
    """Per setting, grouping, group and metric: mean over runs of the per-run value, its 95%
    interval, the runs it rests on and the mean number of staff in the group per run."""
    needed = {"setting", "replication", "coast_state", "ideas_in_use", "commitment"}
    if employees.empty or not needed <= set(employees.columns):
        return pd.DataFrame(columns=BREAKDOWN_COLUMNS)
    values = employees[["setting", "replication"]].copy()
    for metric, (_, _, value) in BREAKDOWN_METRICS.items():
        values[metric] = np.asarray(value(employees), dtype=float)
    rows = []
    for grouping in (g for g in groupings if g in employees.columns):
        values["group"] = employees[grouping].to_numpy()
        per_run = values.groupby(["setting", "group", "replication"], observed=True)
        means, staff = per_run[list(BREAKDOWN_METRICS)].mean(), per_run.size()
        for (setting, group), block in means.groupby(level=[0, 1], observed=True, sort=True):
            for metric, (_, kind, _) in BREAKDOWN_METRICS.items():
                runs = block[metric].to_numpy(dtype=float)
                interval = logit_interval if kind == "share" else mean_interval
                mean, _, low, high = interval(runs)
                rows.append({"setting": setting, "grouping": grouping,
                             "group": group_name(grouping, group), "metric": metric,
                             "runs": len(runs),
                             "staff": float(staff.loc[(setting, group)].mean()),
                             "mean": mean, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=BREAKDOWN_COLUMNS)
