"""Regenerate the ablation tables of docs/ODD.md, sections 8.2 and 8.3.

    .venv/bin/python docs/make_ablation.py

Each variant is a reference setting with some parameters taken from the other one
("H←S x": hierarchical with ``x`` from shared_authority; "S←H x" the reverse), at the
main job's defaults (500 employees, 200 steps) over its seeds (root 2026, 20
replications). The tables are written between the ``<!-- ablation:coasting:... -->`` and
``<!-- ablation:diffusion:... -->`` markers of docs/ODD.md, the per-run data to
docs/ablation_coasting.csv and docs/ablation_diffusion.csv.
"""

from __future__ import annotations

import math
import sys
import time
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.runner import process_pool, replication_seeds, run_once  # noqa: E402
from model.parameters import Parameters  # noqa: E402
from scenarios.settings import load_setting  # noqa: E402

ODD = ROOT / "docs" / "ODD.md"
ROOT_SEED, REPLICATIONS, WORKERS = 2026, 20, 2
SHARE_OFFSETS = (10, 20, 40)  # tracer share this many steps after its birth

MONITORING = ("monitoring_capacity", "manager_sanction_power", "peer_sanction_power",
              "work_visibility")
COMMITMENT = ("autonomy", "manager_support")
TALK = ("lateral_openness", "power_distance", "informal_rewiring", "idea_forum_reach")
APPROVAL = ("approval_levels", "review_time", "approval_tolerance", "unsanctioned_risk")

VARIANT_COLUMN = f"| variant ({REPLICATIONS} replications) |"
COASTING_HEADER = f"{VARIANT_COLUMN} coasting | hidden | hidden / coasting | commitment |"


@dataclass(frozen=True)
class Variant:
    """A reference setting with some parameters taken from the other one."""

    label: str
    base: str  # "H" or "S"
    swapped: tuple[str, ...] = ()


def reference_values() -> dict[str, dict[str, Any]]:
    """Resolved parameter values of the two reference settings (defaults filled in)."""
    return {"H": load_setting("hierarchical").parameters().model_dump(),
            "S": load_setting("shared_authority").parameters().model_dump()}


def single(base: str, name: str, values: dict[str, dict[str, Any]]) -> Variant:
    """One swapped parameter, labelled with its value in both settings."""
    other = "S" if base == "H" else "H"
    label = (f"{base}←{other} `{name}` ({values[base][name]:g}→{values[other][name]:g})")
    return Variant(label, base, (name,))


def group(base: str, description: str, names: tuple[str, ...]) -> Variant:
    other = "S" if base == "H" else "H"
    return Variant(f"{base}←{other} {description}", base, names)


def coasting_variants(values: dict[str, dict[str, Any]]) -> list[Variant]:
    """Rows of the hidden-coasting table (section 8.2)."""
    return [Variant("hierarchical (H)", "H"), Variant("shared authority (S)", "S"),
            *(single("H", name, values) for name in MONITORING),
            group("H", "all four monitoring parameters", MONITORING),
            group("H", "`autonomy` + `manager_support`", COMMITMENT),
            group("S", "all four monitoring parameters", MONITORING),
            group("S", "`autonomy` + `manager_support`", COMMITMENT)]


def diffusion_variants(values: dict[str, dict[str, Any]]) -> list[Variant]:
    """Rows of the tracer diffusion table (section 8.3)."""
    return [Variant("hierarchical (H)", "H"), Variant("shared authority (S)", "S"),
            *(single("H", name, values) for name in TALK),
            group("H", "talk (the four above)", TALK),
            *(single("H", name, values) for name in APPROVAL if name != "approval_tolerance"),
            group("H", "approval (levels, time, tolerance, risk)", APPROVAL),
            group("S", "talk (four)", TALK),
            group("S", "approval (four)", APPROVAL)]


def variant_parameters(variant: Variant) -> Parameters:
    """The base setting with the swapped parameters taken from the other setting."""
    base, other = (("hierarchical", "shared_authority") if variant.base == "H"
                   else ("shared_authority", "hierarchical"))
    donor = load_setting(other).parameters().model_dump()
    return load_setting(base).parameters({name: donor[name] for name in variant.swapped})


def none_if_nan(x: Any) -> Any:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def tracer_event(ideas: pd.DataFrame, shares: pd.Series, column: str) -> tuple[Any, Any]:
    """Steps after birth at which the tracer was squashed / sanctioned, and its share then."""
    probe = ideas[ideas["is_probe"]]
    if probe.empty or pd.isna(probe[column].iloc[0]):
        return None, None
    step, born = int(probe[column].iloc[0]), int(probe["birth_step"].iloc[0])
    return step - born, float(shares.loc[step])


def simulate(label: str, parameters: Parameters, replication: int, seed: int) -> dict[str, Any]:
    """One run reduced to the ablation metrics (worker entry point)."""
    result = run_once(parameters, seed, label)
    summary = result.summary
    shares = result.timeseries.set_index("step")["probe_adoption_share"]
    born = summary["probe_born_step"]
    row = {"variant": label, "replication": replication, "seed": seed,
           "coasting_share": summary["coasting_share"],
           "hidden_coasting_share": summary["hidden_coasting_share"],
           "mean_commitment": summary["mean_commitment"],
           "ideas_generated": summary["ideas_generated"],
           "probe_born_step": born,
           "time_to_50pct_adoption": none_if_nan(summary["time_to_50pct_adoption"]),
           "probe_share_26w": summary["probe_share_26w"],
           "probe_adoption_auc": summary["probe_adoption_auc"]}
    for offset in SHARE_OFFSETS:
        step = born + offset
        row[f"probe_share_step_{step}"] = float(shares.loc[step]) if step in shares.index \
            else None
    for event in ("squashed", "sanctioned"):
        after, share = tracer_event(result.ideas, shares, f"{event}_step")
        row[f"probe_{event}_after"] = after
        row[f"probe_share_when_{event}"] = share
    return row


def run_variants(variants: list[Variant]) -> pd.DataFrame:
    """Every variant x replication on the project's process pool, one row per run."""
    seeds = replication_seeds(ROOT_SEED, REPLICATIONS)
    tasks = [(v.label, variant_parameters(v), k, seed)
             for v in variants for k, seed in enumerate(seeds)]
    rows = []
    with process_pool(WORKERS) as pool, Progress() as progress:
        bar = progress.add_task(f"{len(variants)} variants x {REPLICATIONS} runs",
                                total=len(tasks))
        for future in as_completed([pool.submit(simulate, *task) for task in tasks]):
            rows.append(future.result())
            progress.advance(bar)
    order = {v.label: i for i, v in enumerate(variants)}
    frame = pd.DataFrame(rows)
    frame["order"] = frame["variant"].map(order)
    frame = frame.sort_values(["order", "replication"], ignore_index=True).drop(columns="order")
    steps = ["time_to_50pct_adoption", "probe_squashed_after", "probe_sanctioned_after"]
    return frame.astype({column: "Int64" for column in steps})


def ratio(hidden: float, coasting: float) -> str:
    return "–" if coasting == 0 else f"{hidden / coasting:.2f}"


def coasting_table(runs: pd.DataFrame, variants: list[Variant]) -> str:
    """Markdown table of section 8.2: tail means of coasting, hidden coasting, commitment."""
    lines = [COASTING_HEADER, "|---|---|---|---|---|"]
    for v in variants:
        mean = runs[runs["variant"] == v.label][
            ["coasting_share", "hidden_coasting_share", "mean_commitment"]].mean()
        coasting, hidden = mean["coasting_share"], mean["hidden_coasting_share"]
        lines.append(f"| {v.label} | {coasting:.3f} | {hidden:.3f} | {ratio(hidden, coasting)} "
                     f"| {mean['mean_commitment']:.3f} |")
    return "\n".join(lines) + "\n"


def median_t50(times: pd.Series) -> str:
    """Median time to 50% over all runs, a run that never got there counting as infinite."""
    median = float(np.median(times.astype(float).fillna(np.inf)))
    return "never" if math.isinf(median) else f"{median:g}"


def diffusion_header(born: int) -> str:
    first, *rest = (born + offset for offset in SHARE_OFFSETS)
    cells = [f"tracer share, step {first} ({SHARE_OFFSETS[0]} after birth)",
             *(f"step {step}" for step in rest)]
    return (f"{VARIANT_COLUMN} reached 50% | median t50 (never = ∞) | share at 26 weeks | "
            f"first-year mean share | {' | '.join(cells)} |")


def diffusion_table(runs: pd.DataFrame, variants: list[Variant]) -> str:
    """Markdown table of section 8.3: how often and how fast the tracer reached 50%."""
    born = int(runs["probe_born_step"].iloc[0])
    share_columns = [f"probe_share_step_{born + offset}" for offset in SHARE_OFFSETS]
    lines = [diffusion_header(born), "|---|---|---|---|---|" + "---|" * len(SHARE_OFFSETS)]
    for v in variants:
        rows = runs[runs["variant"] == v.label]
        times = rows["time_to_50pct_adoption"]
        shares = " | ".join(f"{rows[c].mean():.2f}" for c in share_columns)
        lines.append(f"| {v.label} | {int(times.notna().sum())}/{len(rows)} | "
                     f"{median_t50(times)} | {rows['probe_share_26w'].mean():.2f} | "
                     f"{rows['probe_adoption_auc'].mean():.2f} | {shares} |")
    return "\n".join(lines) + "\n"


def place(text: str, name: str, table: str, header: str) -> str:
    """``text`` with ``table`` between the ``name`` markers (added around the old table)."""
    start, end = f"<!-- ablation:{name}:start -->", f"<!-- ablation:{name}:end -->"
    if start not in text:
        at = text.index(header)
        stop = text.find("\n\n", at)
        stop = len(text) if stop < 0 else stop + 1
        text = f"{text[:at]}{start}\n{text[at:stop]}{end}\n{text[stop:]}"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return f"{head}{start}\n{table}{end}{tail}"


def write_odd(coasting: str, diffusion: str) -> None:
    """Write both tables into docs/ODD.md (read fresh, replaced in place)."""
    text = ODD.read_text(encoding="utf-8")
    text = place(text, "coasting", coasting, COASTING_HEADER)
    text = place(text, "diffusion", diffusion, f"{VARIANT_COLUMN} reached 50% |")
    ODD.write_text(text, encoding="utf-8")


def main() -> pd.DataFrame:
    started = time.perf_counter()
    values = reference_values()
    coasting, diffusion = coasting_variants(values), diffusion_variants(values)
    variants = list({v.label: v for v in coasting + diffusion}.values())
    runs = run_variants(variants)
    coasting_runs = runs[runs["variant"].isin([v.label for v in coasting])]
    diffusion_runs = runs[runs["variant"].isin([v.label for v in diffusion])]
    coasting_runs[["variant", "replication", "seed", "coasting_share", "hidden_coasting_share",
                   "mean_commitment"]].to_csv(ROOT / "docs" / "ablation_coasting.csv",
                                              index=False, float_format="%.6g")
    diffusion_runs.drop(columns=["coasting_share", "hidden_coasting_share",
                                 "mean_commitment"]).to_csv(
        ROOT / "docs" / "ablation_diffusion.csv", index=False, float_format="%.6g")
    tables = coasting_table(runs, coasting), diffusion_table(runs, diffusion)
    write_odd(*tables)
    print(*tables, sep="\n")
    print(f"{len(runs)} runs in {time.perf_counter() - started:.0f} s")
    return runs


if __name__ == "__main__":
    main()
