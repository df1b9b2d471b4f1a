"""Designs that grow: more replications or samples for a sweep already run, and adaptive
replication until every point's confidence interval is narrow enough.

A seed depends only on (root seed, point, replication) -- never on the number of
replications or samples -- and the Sobol and Morris samplers extend their design by
appending points (the first N points of a design of 2N are the design of N). So a larger
design of the same sweep contains the smaller one: ``run.py sweep FILE --out DIR --resume``
with a larger ``replications`` or ``design.samples`` in FILE (or ``--add-replications K``)
runs only the new (point, replication) pairs. Finished runs keep their run ids and seeds,
their part files are never rewritten, new runs take the next run ids, and the manifest is
replaced (atomically, under the directory's lock) by that of the larger design, with a
``growth`` list: each growth's replications, samples and runs, before and after.

A Latin hypercube of 2N points does not contain the one of N, so an LHS sweep can grow in
replications only; any other change of the sweep file is refused as before.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.sweep import (
    MANIFEST,
    SweepOutcome,
    atomic_write_bytes,
    manifest,
    read_manifest,
    run_sweep,
    summary_table,
)
from experiments.sweep_spec import Run, Sweep, canonical_json, with_size
from model.parameters import ParameterError

CONF_LEVEL = 0.95
MAX_GROWTH = 2.0  # a round of --until-ci at most doubles the replications


def _shape(content: dict[str, Any]) -> str:
    """The content without its sizes (replications, design.samples) and description."""
    shape = json.loads(canonical_json(content))
    shape.pop("replications", None)
    shape.pop("description", None)
    shape.get("design", {}).pop("samples", None)
    return canonical_json(shape)


def grow_onto(sweep: Sweep, saved: dict[str, Any], out: Path) -> Sweep:
    """The sweep to run in ``out``: the union of ``sweep`` and the saved design when they
    differ only in size, with the saved runs' ids; else ``sweep`` unchanged (the caller's
    check then names the field that changed). Writes the larger manifest if it grew."""
    old = saved.get("sweep", {})
    if not old or _shape(old) != _shape(sweep.content):
        return sweep
    if saved.get("hash") == sweep.digest and saved["runs"]["rows"] == [
            [r.run_id, r.point_id, r.replication, r.seed] for r in sweep.runs]:
        return sweep  # a plain resume
    sizes = {"replications": max(old["replications"], sweep.replications)}
    if "samples" in sweep.content["design"]:
        sizes["samples"] = max(old["design"]["samples"], sweep.content["design"]["samples"])
    merged = with_size(sweep, **sizes)
    count = len(saved["points"])
    if (canonical_json(saved["points"]) != canonical_json(list(merged.points[:count]))
            or canonical_json(saved.get("samples", []))
            != canonical_json([list(row) for row in merged.samples[:count]])):
        if saved.get("hash") == sweep.digest:
            return sweep  # same file, another design: the caller refuses it
        raise ParameterError(f"--resume {str(out)!r}: design.samples = "
                             f"{sweep.content['design'].get('samples')} does not extend the "
                             f"saved design of {old['design'].get('samples')} samples (the "
                             f"{sweep.method} sampler's first points differ); use a new --out")
    known = {(p, r): (run_id, seed) for run_id, p, r, seed in saved["runs"]["rows"]}
    next_id = max((row[0] for row in saved["runs"]["rows"]), default=-1) + 1
    runs = []
    for run in merged.runs:
        run_id, seed = known.pop((run.point_id, run.replication), (None, run.seed))
        if seed != run.seed:
            return sweep  # other seeds for the same run: the caller refuses it
        if run_id is None:
            run_id, next_id = next_id, next_id + 1
        runs.append(Run(run_id, run.point_id, run.replication, run.seed))
    if known:
        return sweep
    merged = dataclasses.replace(merged, runs=tuple(sorted(runs, key=lambda r: r.run_id)))
    if merged.digest != saved.get("hash") or len(merged.runs) != len(saved["runs"]["rows"]):
        grown = {**manifest(merged), **{key: saved[key] for key in ("provenance", "resumes")
                                        if key in saved}}
        grown["growth"] = [*saved.get("growth", []), {  # the history of the design's size
            "replications": [old["replications"], merged.replications],
            "samples": [old["design"].get("samples"), merged.content["design"].get("samples")],
            "runs": [len(saved["runs"]["rows"]), len(merged.runs)]}]
        atomic_write_bytes(Path(out) / MANIFEST, (json.dumps(grown, indent=1) + "\n").encode())
    return merged


def saved_replications(out: Path) -> int:
    """Replications of the sweep saved in ``out`` (for --add-replications)."""
    if not (Path(out) / MANIFEST).is_file():
        raise ParameterError(f"--add-replications: {str(out)!r} holds no sweep yet (run it "
                             "first, then add replications)")
    return int(read_manifest(out)["sweep"]["replications"])


def interval_widths(out: Path, metric: str) -> pd.DataFrame:
    """Per design point: runs, runs with a value of the metric, mean and the full width of
    the 95% t-interval of the mean (infinite with fewer than 2 values)."""
    from scipy import stats

    runs = summary_table(out)
    if metric not in runs.columns:
        raise ParameterError(f"--metric {metric!r}: not kept by this sweep")
    grouped = runs.groupby("point_id")[metric]
    table = pd.DataFrame({"runs": grouped.size(), "n": grouped.count(), "mean": grouped.mean(),
                          "std": grouped.std()})
    n = table["n"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = stats.t.ppf(0.5 + CONF_LEVEL / 2, np.maximum(n - 1, 1))
        width = np.where(n >= 2, 2 * t * table["std"].fillna(0).to_numpy() / np.sqrt(n), np.inf)
    return table.assign(width=width).reset_index()


def next_replications(replications: int, worst: float, target: float, most: int) -> int:
    """Replications for the next round: enough if the spread stays as it is
    (width ~ 1/sqrt(n)), at least one more, at most double, never above ``most``."""
    need = (replications * MAX_GROWTH if not math.isfinite(worst)
            else math.ceil(replications * (worst / target) ** 2))
    return int(min(most, max(replications + 1, min(need, replications * MAX_GROWTH))))


def run_until_ci(sweep: Sweep, out: Path, metric: str, width: float, most: int,
                 report: Any = None, resume: bool = False,
                 **options: Any) -> tuple[list[dict[str, Any]], SweepOutcome]:
    """Run ``sweep``, then add replications in rounds until the 95% interval of ``metric``
    is narrower than ``width`` at every point, or ``most`` replications are reached.
    Returns one record per round (replications, runs, worst width, points still wider)."""
    if metric not in sweep.metrics:
        raise ParameterError(f"--metric {metric!r}: not kept by this sweep (kept: "
                             f"{', '.join(sweep.metrics)})")
    if not width > 0:
        raise ParameterError(f"--until-ci {width}: must be a width above 0")
    if most < 1:
        raise ParameterError(f"--max-replications {most}: must be at least 1")
    rounds = []
    total_ran = 0
    while True:
        outcome = run_sweep(sweep, out, resume=resume, **options)
        resume = True
        total_ran += outcome.ran
        widths = interval_widths(out, metric)
        worst = float(widths["width"].max())
        record = {"round": len(rounds) + 1, "replications": sweep.replications,
                  "runs": outcome.total, "ran": outcome.ran, "worst_width": worst,
                  "points_too_wide": int((widths["width"] >= width).sum()),
                  "points": len(widths)}
        rounds.append(record)
        if report:
            report(record)
        saved = read_manifest(out)["sweep"]["replications"]
        current = max(saved, sweep.replications)
        if worst < width or current >= most:
            break
        sweep = with_size(sweep, replications=next_replications(current, worst, width, most))
    return rounds, dataclasses.replace(outcome, ran=total_ran)
