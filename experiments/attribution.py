"""Why two settings differ: each difference B minus A split among the levers that differ.

A lever is one parameter whose value differs between settings A and B or, where more
parameters differ than :data:`EXPLAIN_LIMIT`, one declared group of them (model/parameters.py
GROUPS: structure, constraints, power relations, ...). Two more levers stand beside them
where the settings hold them: "the roadmap" where their ``[[intervention]]`` tables differ
(variant S runs B's roadmap if it is in S, else A's, rebuilt for S's parameters and chart),
and "the organization chart" where their imported charts (or generated structures) differ
(it carries ``n_employees`` along). Variant S takes the levers in S from B and the rest
from A; A and B themselves are two of the variants and come from the comparison's own
runs. A variant that cannot exist (B's roadmap names a unit A's chart lacks) is refused
in one line before anything runs.

Shapley (``--explain-by parameter``, ``group``, or ``auto``: parameters if at most
:data:`EXPLAIN_LIMIT` differ, else groups): every combination of levers is simulated (2^k
variants for k levers) and each lever's share is its exact Shapley value,

    phi_j = sum over S without j of |S|! (k - |S| - 1)! / k! x (v(S + j) - v(S)),

so the shares add up to the whole difference v(B) - v(A), interactions split evenly
among the levers involved.

One at a time (``--explain-by one-at-a-time``, up to :data:`ONE_AT_A_TIME_LIMIT`
parameters): each parameter is switched alone from A to B and alone from B to A
(2k + 2 variants); its effect is the mean of the two, ((v(A + j) - v(A)) + (v(B) -
v(B - j))) / 2, and what the effects leave of the difference is reported as one more row,
"interactions" (zero where the parameters act additively).

All variants use the comparison's seeds (common random numbers): replication r of every
variant shares seed r, so per replication the decomposition is exact and the spread over
replications is that of the model, not of luck. Intervals are percentile bootstraps over
replications (resampled together across variants, :data:`BOOTSTRAP_RESAMPLES` resamples).

Cost: (2^k - 2) x R extra runs for k levers and R replications (k <= 5: at most 30 R);
one at a time, 2k x R (k <= 16: at most 32 R).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from itertools import combinations
from math import factorial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from experiments.compare import RunTask, _execute, default_workers
from experiments.outputs import atomic_write
from experiments.statistics import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    REPORT_METRICS,
    comparable_metrics,
    mean_interval,
    with_derived_metrics,
)
from model.chart import OrgChart
from model.parameters import ParameterError, Parameters, make_parameters, parameter_specs
from model.roadmap import Roadmap

if TYPE_CHECKING:
    from scenarios.settings import Setting

EXPLAIN_LIMIT = 5  # levers: 2^5 = 32 variants, 30 of them extra
ONE_AT_A_TIME_LIMIT = 16  # parameters: 2 x 16 = 32 extra variants
EXPLAIN_BY = ("auto", "parameter", "group", "one-at-a-time")
INTERACTIONS = "interactions"
ROADMAP = "roadmap"  # the lever of differing roadmaps
CHART = "organization chart"  # the lever of differing charts
ATTRIBUTION_COLUMNS = ["setting_a", "setting_b", "metric", "parameter", "label", "parameters",
                       "contribution", "contribution_low", "contribution_high", "share", "low",
                       "high", "difference", "clear", "runs", "variants"]
EXPLAIN_FILE = "explain.json"
VARIANT_RUNS = "attribution_runs.parquet"


@dataclass(frozen=True)
class Lever:
    """One thing switched from A to B: a parameter, or a group of them."""

    name: str
    label: str
    parameters: tuple[str, ...]


@dataclass
class Explanation:
    """What --explain decided before anything runs: levers and the variants' parameters."""

    setting_a: str
    setting_b: str
    by: str  # 'parameter', 'group' or 'one-at-a-time'
    levers: list[Lever]
    variants: dict[int, Parameters]  # mask of levers taken from B -> parameters
    replications: int
    # mask -> the variant's chart and roadmap (only where a setting holds either)
    inputs: dict[int, tuple[OrgChart | None, Roadmap]] = field(default_factory=dict)

    @property
    def extra_runs(self) -> int:
        return (len(self.variants) - 2) * self.replications


def plain_parameter(name: str) -> str:
    """'peer_sanction_power' -> 'peer sanction power'."""
    return name.replace("_", " ")


def differing_parameters(a: Parameters, b: Parameters) -> list[str]:
    da, db = a.model_dump(), b.model_dump()
    return [name for name in da if da[name] != db[name]]


def choose_levers(a: Parameters, b: Parameters, by: str = "auto",
                  limit: int = EXPLAIN_LIMIT, extra: tuple[Lever, ...] = ()
                  ) -> tuple[list[Lever], str]:
    """The levers and how they were formed ('parameter', 'group' or 'one-at-a-time'); a
    ParameterError (one line, naming them) where there are more than the limit.
    ``extra``: levers beside the parameters (the roadmap, the chart), placed last; the
    parameters they carry are not levers of their own."""
    if by not in EXPLAIN_BY:
        raise ParameterError(f"--explain-by {by!r}: choose one of {', '.join(EXPLAIN_BY)}")
    carried = {name for lever in extra for name in lever.parameters}
    names = [name for name in differing_parameters(a, b) if name not in carried]
    if not names and not extra:
        raise ParameterError("--explain: the two settings share every parameter value; there "
                             "is no difference to explain")
    group_of = {spec.name: spec.group for spec in parameter_specs()}
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(group_of[name], []).append(name)
    if by in ("parameter", "one-at-a-time") or (by == "auto"
                                                 and len(names) + len(extra) <= limit):
        levers = [Lever(n, plain_parameter(n), (n,)) for n in names] + list(extra)
        how = "one-at-a-time" if by == "one-at-a-time" else "parameter"
    else:
        levers = [Lever(g, g, tuple(p)) for g, p in groups.items()] + list(extra)
        how = "group"
    most = ONE_AT_A_TIME_LIMIT if how == "one-at-a-time" else limit
    if len(levers) > most:
        hints = []
        if how != "group" and len(groups) + len(extra) <= limit:
            hints.append(f"--explain-by group would use {len(groups)} groups "
                         f"({', '.join(groups)})")
        if how == "parameter" and len(names) <= ONE_AT_A_TIME_LIMIT:
            hints.append(f"--explain-by one-at-a-time takes up to {ONE_AT_A_TIME_LIMIT} "
                         "parameters")
        hint = "; ".join(hints) or "make the settings closer (--set) to explain fewer differences"
        listed = ", ".join(names + [lever.label for lever in extra]) if how != "group" \
            else "; ".join([f"{g}: {', '.join(p)}" for g, p in groups.items()]
                           + [lever.label for lever in extra])
        unit = "group" if how == "group" else "parameter"
        cost = (f"2 x {most} = {2 * most} variants" if how == "one-at-a-time"
                else f"2^{most} = {2**most} variants")
        raise ParameterError(f"--explain: the settings differ in {len(levers)} {unit}s "
                             f"({listed}), more than the limit of {most} for --explain-by "
                             f"{how} ({cost}); {hint}")
    return levers, how


def variant_masks(how: str, k: int) -> list[int]:
    """Which variants (masks of levers taken from B) a method needs."""
    full = 2**k - 1
    if how == "one-at-a-time":
        return sorted({0, full, *(1 << j for j in range(k)), *(full ^ 1 << j for j in range(k))})
    return list(range(2**k))


def same_chart(a: OrgChart | None, b: OrgChart | None) -> bool:
    """Whether two imported charts (None: a generated structure) are one organization."""
    if a is None or b is None:
        return a is b
    arrays = ("parent", "customer_facing", "tie_u", "tie_v", "tie_weight")
    return (a.unit == b.unit and a.level == b.level and a.pseudonym == b.pseudonym
            and all(_same_array(getattr(a, name), getattr(b, name)) for name in arrays))


def _same_array(x: np.ndarray | None, y: np.ndarray | None) -> bool:
    return x is y if x is None or y is None else bool(np.array_equal(x, y))


def setting_levers(a: Parameters, b: Parameters, setting_a: Setting | None,
                   setting_b: Setting | None) -> tuple[Lever, ...]:
    """The levers beside the parameters: the chart and the roadmap, where they differ."""
    chart_a = setting_a.chart if setting_a else None
    chart_b = setting_b.chart if setting_b else None
    extra = []
    if not same_chart(chart_a, chart_b):
        carried = ("n_employees",) if a.n_employees != b.n_employees else ()
        extra.append(Lever(CHART, "the organization chart", carried))
    tables_a = setting_a.interventions if setting_a else []
    tables_b = setting_b.interventions if setting_b else []
    if tables_a != tables_b:
        extra.append(Lever(ROADMAP, "the roadmap", ()))
    return tuple(extra)


def plan_explanation(params: dict[str, Parameters], replications: int, by: str = "auto",
                     limit: int = EXPLAIN_LIMIT,
                     settings: dict[str, Setting] | None = None) -> Explanation:
    """Check --explain before any run: two settings, few enough levers, every variant a
    valid setting (``settings``: the loaded settings, whose charts and roadmaps are levers
    where they differ; each variant's roadmap is rebuilt and checked for its parameters
    and chart)."""
    if len(params) != 2:
        raise ParameterError(f"--explain: needs exactly two settings (got {len(params)})")
    if replications < 2:
        raise ParameterError(f"--explain-replications {replications}: intervals need at "
                             "least 2")
    (name_a, a), (name_b, b) = params.items()
    settings = settings or {}
    setting_a, setting_b = settings.get(name_a), settings.get(name_b)
    levers, how = choose_levers(a, b, by, limit, setting_levers(a, b, setting_a, setting_b))
    values_a, values_b = a.model_dump(), b.model_dump()
    variants, inputs = {}, {}
    for mask in variant_masks(how, len(levers)):
        taken = [lever for j, lever in enumerate(levers) if mask >> j & 1]
        values = {**values_a, **{p: values_b[p] for lever in taken for p in lever.parameters}}
        source = (f"--explain: {name_a} with {', '.join(lv.label for lv in taken)} from "
                  f"{name_b}")
        variants[mask] = make_parameters(values, source=source, parameters_class=type(a))
        names = {lever.name for lever in taken}
        if setting_a is not None or setting_b is not None:
            inputs[mask] = _variant_inputs(variants[mask], setting_b if CHART in names
                                           else setting_a, setting_b if ROADMAP in names
                                           else setting_a, source)
    return Explanation(name_a, name_b, how, levers, variants, replications, inputs)


def _variant_inputs(params: Parameters, chart_from: Setting | None,
                    roadmap_from: Setting | None, source: str
                    ) -> tuple[OrgChart | None, Roadmap]:
    """A variant's chart and its roadmap, rebuilt for its parameters and chart."""
    chart = chart_from.chart if chart_from else None
    if roadmap_from is None or not roadmap_from.interventions:
        return chart, Roadmap(())
    from scenarios.roadmap import build_roadmap

    try:
        roadmap = build_roadmap(roadmap_from.interventions, roadmap_from.source, params, chart,
                                parameters_class=type(params))
    except ParameterError as err:
        raise ParameterError(f"{source}: {err}") from None
    return chart, roadmap


def run_explanation(explanation: Explanation, runs: pd.DataFrame, seeds: list[int],
                    workers: int | None = None,
                    progress: Callable[[], None] | None = None,
                    model: str = "") -> pd.DataFrame:
    """Summaries of every variant x replication (tidy; column ``variant`` is the mask);
    ``model``: an extension's "module:Class" ("" = the built-in model).

    The two end points (A = 0, B = all levers) are the comparison's own runs; the others
    run here on the comparison's first ``replications`` seeds."""
    seeds = list(seeds[: explanation.replications])
    full = 2 ** len(explanation.levers) - 1
    inputs = explanation.inputs
    tasks = [RunTask(f"variant-{mask}", params, k, seed, keep_network=False, model=model,
                     chart=inputs.get(mask, (None, None))[0],
                     roadmap=inputs.get(mask, (None, None))[1])
             for k, seed in enumerate(seeds) for mask, params in explanation.variants.items()
             if mask not in (0, full)]
    outputs = _execute(tasks, workers or default_workers(), progress) if tasks else []
    rows = [out["runs"].assign(variant=int(task.setting.split("-")[1]))
            for task, out in zip(tasks, outputs, strict=True)]
    for mask, name in ((0, explanation.setting_a), (full, explanation.setting_b)):
        own = runs[(runs["setting"].astype(str) == name)
                   & (runs["replication"] < explanation.replications)]
        rows.append(own.assign(variant=mask, setting=f"variant-{mask}"))
    table = pd.DataFrame.from_records(
        [record for frame in rows for record in frame.to_dict("records")])
    table["setting"] = table["setting"].astype(str)
    return table.sort_values(["variant", "replication"], ignore_index=True)


def write_explanation(explanation: Explanation, variant_runs: pd.DataFrame, out: Path) -> None:
    """Store the variants' runs and what the levers were (the report rebuilds from these)."""
    atomic_write(out / VARIANT_RUNS, lambda p: variant_runs.to_parquet(p, index=False))
    meta = {"setting_a": explanation.setting_a, "setting_b": explanation.setting_b,
            "by": explanation.by, "levers": [asdict(lever) for lever in explanation.levers],
            "replications": explanation.replications,
            "variants": len(explanation.variants), "extra_runs": explanation.extra_runs,
            "limit": ONE_AT_A_TIME_LIMIT if explanation.by == "one-at-a-time"
            else EXPLAIN_LIMIT}
    atomic_write(out / EXPLAIN_FILE, lambda p: p.write_text(json.dumps(meta, indent=2) + "\n"))


def read_explanation(out: Path) -> tuple[dict, pd.DataFrame] | None:
    """The stored --explain data of a comparison, or None where it was not asked for."""
    meta_path, runs_path = out / EXPLAIN_FILE, out / VARIANT_RUNS
    if not meta_path.is_file() or not runs_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        variant_runs = pd.read_parquet(runs_path)
    except (OSError, ValueError) as err:
        raise ParameterError(f"{out}: unreadable --explain data ({str(err).splitlines()[0]})"
                             ) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("levers"), list):
        raise ParameterError(f"{meta_path}: field 'levers' must be a list")
    return meta, variant_runs


def shapley_weights(k: int) -> np.ndarray:
    """W (k x 2^k) with phi = W @ v for the values v of the 2^k variants (by mask)."""
    weights = np.zeros((k, 2**k))
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for size in range(k):
            w = factorial(size) * factorial(k - size - 1) / factorial(k)
            for subset in combinations(others, size):
                mask = sum(1 << i for i in subset)
                weights[j, mask | 1 << j] += w
                weights[j, mask] -= w
    return weights


def one_at_a_time_weights(k: int) -> np.ndarray:
    """W (k + 1 x 2^k): row j is parameter j's effect, ((v(A + j) - v(A)) + (v(B) -
    v(B - j))) / 2; the last row is what the effects leave of v(B) - v(A) (interactions)."""
    full = 2**k - 1
    weights = np.zeros((k + 1, 2**k))
    for j in range(k):
        for mask, sign in ((1 << j, 0.5), (0, -0.5), (full, 0.5), (full ^ 1 << j, -0.5)):
            weights[j, mask] += sign
    weights[k, full] += 1
    weights[k, 0] -= 1
    weights[k] -= weights[:k].sum(axis=0)
    return weights


def attribution_table(meta: dict, variant_runs: pd.DataFrame,
                      metrics: list[str] | None = None) -> pd.DataFrame:
    """Per metric and lever: its Shapley contribution to B minus A (metric units) and its
    share of the difference, each with a 95% bootstrap interval; tidy."""
    levers = [Lever(lv["name"], lv["label"], tuple(lv["parameters"])) for lv in meta["levers"]]
    k = len(levers)
    masks = variant_masks(meta.get("by", "parameter"), k)
    variants = len(masks)
    runs = with_derived_metrics(variant_runs)
    if metrics is None:
        metrics = comparable_metrics(runs, [m.name for m in REPORT_METRICS if m.name in runs])
    if meta.get("by") == "one-at-a-time":
        weights = one_at_a_time_weights(k)[:, masks]
        levers = levers + [Lever(INTERACTIONS, "interactions between parameters", ())]
    else:
        weights = shapley_weights(k)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    rows = []
    for metric in metrics:
        wide = runs.assign(value=pd.to_numeric(runs[metric], errors="coerce")).pivot(
            index="variant", columns="replication", values="value")
        if sorted(wide.index) != masks:
            continue
        values = wide.sort_index().to_numpy(dtype=float)
        values = values[:, np.isfinite(values).all(axis=0)]  # replications with every variant
        r = values.shape[1]
        if r < 2:
            continue
        phi = weights @ values  # (k, r): the exact decomposition of each replication
        total = values[-1] - values[0]  # masks are sorted: A first, B last
        _, _, diff_low, diff_high = mean_interval(total)
        clear = bool(np.isfinite(diff_low) and (diff_low > 0 or diff_high < 0))
        idx = rng.integers(0, r, size=(BOOTSTRAP_RESAMPLES, r))
        phi_star = phi[:, idx].mean(axis=2)  # (k, B)
        total_star = total[idx].mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share_star = phi_star / total_star
        q = [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2]
        for j, lever in enumerate(levers):
            contribution = float(phi[j].mean())
            c_low, c_high = np.quantile(phi_star[j], q)
            share = contribution / total.mean() if clear else np.nan
            low, high = (np.quantile(share_star[j], q) if clear
                         and np.isfinite(share_star[j]).all() else (np.nan, np.nan))
            rows.append({"setting_a": meta["setting_a"], "setting_b": meta["setting_b"],
                         "metric": metric, "parameter": lever.name, "label": lever.label,
                         "parameters": ", ".join(lever.parameters),
                         "contribution": contribution, "contribution_low": float(c_low),
                         "contribution_high": float(c_high), "share": share,
                         "low": float(low), "high": float(high),
                         "difference": float(total.mean()), "clear": clear, "runs": r,
                         "variants": variants})
    return pd.DataFrame(rows, columns=ATTRIBUTION_COLUMNS)


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def why_sentence(rows: pd.DataFrame, metric_label: str, difference: str) -> str:
    """'Most of the gap in hidden coasting (...) comes from peer sanction power (about 70%,
    95% CI 60% to 80%) and work visibility (about 25%, ...)' for one metric's rows: the
    levers carrying the gap (at most three), the two pulling hardest the other way, and
    whether parameters acting together (one at a time: the interactions row) carry it."""
    rows = rows[np.isfinite(rows["share"])].sort_values("share", ascending=False)
    if rows.empty:
        return ""
    together = rows[rows["parameter"] == INTERACTIONS]
    rows = rows[rows["parameter"] != INTERACTIONS]
    chosen, covered = [], 0.0
    for _, row in rows.iterrows():
        if row["share"] <= 0.05 or len(chosen) == 3:
            break
        chosen.append(row)
        covered += row["share"]
        if covered >= 0.8:
            break
    against = rows[rows["share"] < -0.05].sort_values("share")

    def part(row: pd.Series) -> str:
        interval = (f", 95% CI {_percent(row['low'])} to {_percent(row['high'])}"
                    if np.isfinite(row["low"]) else "")
        return f"{row['label']} (about {_percent(row['share'])}{interval})"

    def joined(parts: list[str]) -> str:
        return " and ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " and " + \
            parts[-1]

    what = metric_label[0].lower() + metric_label[1:]
    interacting = len(together) and together["share"].iloc[0] >= 0.5
    if interacting:
        text = (f"No single parameter carries the gap in {what} ({difference}): parameters "
                f"acting together account for about {_percent(together['share'].iloc[0])} "
                f"(95% CI {_percent(together['low'].iloc[0])} to "
                f"{_percent(together['high'].iloc[0])})")
        if chosen:
            text += f"; alone, {joined([part(row) for row in chosen])} add to it"
    elif chosen:
        lead = "Most of" if covered >= 0.5 else "Part of"
        text = f"{lead} the gap in {what} ({difference}) comes from " + joined(
            [part(row) for row in chosen])
    else:
        text = f"No single lever carries the gap in {what} ({difference})"
    if len(together) and not interacting and abs(together["share"].iloc[0]) >= 0.2:
        share = together["share"].iloc[0]
        text += (f"; parameters acting together {'add' if share > 0 else 'take away'} about "
                 f"{_percent(abs(share))}")
    if len(against):
        shown = [part(row) for _, row in against.head(2).iterrows()]
        more = len(against) - len(shown)
        text += ("; " + " and ".join(shown) + (f" (and {more} more)" if more else "")
                 + (" pull" if len(against) > 1 else " pulls") + " the other way")
    runs = int(rows["runs"].iloc[0])
    return text + f" ({runs} runs of each of {int(rows['variants'].iloc[0])} variants)."
