"""Emergent patterns, computed from a finished run (never written into a mechanism).

- Innovation diffusion: per-idea records, ideas per employee per year, the tracer
  idea's share of staff 26 and 52 weeks after birth and its mean share over those 52
  weeks (never censored), whether and when it reached 50% and 90%, share of ideas spread
  widely / squashed, value of adopted ideas, Bass fit.
- Hidden coasting, engagement and performance: averages over the final steps.
- Self-organized structure: the realized conversation network of the last
  ``metric_window`` steps (cross-unit share, clustering, degree centralization) and
  the overlap of emergent informal leaders with formal ones.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numba import njit

from model.employees import HIDDEN
from model.ideas import NEVER
from model.processes.playbook import _lowest_bit, _popcount

if TYPE_CHECKING:
    from model.organization import OrganizationModel

WEEKS_PER_YEAR = 52.0  # one step is one week


def bass_cdf(t: np.ndarray, p: float, q: float) -> np.ndarray:
    """Bass (1969) cumulative adoption F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})."""
    decay = np.exp(-(p + q) * np.asarray(t, dtype=float))
    return (1.0 - decay) / (1.0 + (q / p) * decay)


def bass_jacobian(t: np.ndarray, p: float, q: float) -> np.ndarray:
    """Derivatives of :func:`bass_cdf` by p and by q at each t: two columns."""
    t = np.asarray(t, dtype=float)
    decay = np.exp(-(p + q) * t)
    rising = 1.0 - decay
    falling = 1.0 + (q / p) * decay
    # F = rising / falling; d(decay)/dp = d(decay)/dq = -t decay
    d_rising = t * decay
    d_falling_dp = -(q / p**2) * decay - (q / p) * t * decay
    d_falling_dq = decay / p - (q / p) * t * decay
    return np.column_stack([(d_rising * falling - rising * d_falling_dp) / falling**2,
                            (d_rising * falling - rising * d_falling_dq) / falling**2])


BASS_BOUNDS = ([1e-6, 0.0, 1e-3], [1.0, 10.0, 1.0])  # p, q, m


def fit_bass(shares: np.ndarray) -> dict[str, float] | None:
    """Fit share(t) = M * F(t; p, q) to a cumulative adoption curve starting at t = 0: least
    squares within :data:`BASS_BOUNDS` (scipy's trust region reflective method, given the
    derivatives; None when it finds no optimum)."""
    shares = np.asarray(shares, dtype=float)
    if len(shares) < 4 or shares.max() < 0.05:
        return None
    from scipy.optimize import least_squares  # only here: its import costs ~0.3 s a process

    t = np.arange(len(shares), dtype=float)

    def residuals(x):
        return x[2] * bass_cdf(t, x[0], x[1]) - shares

    def jacobian(x):
        p, q, m = x
        return np.column_stack([m * bass_jacobian(t, p, q), bass_cdf(t, p, q)])

    try:
        fit = least_squares(residuals, (0.01, 0.3, shares.max()), jac=jacobian,
                            bounds=BASS_BOUNDS, method="trf", max_nfev=20_000)
    except ValueError:
        return None
    if not fit.success:
        return None
    p, q, m = fit.x
    return {"p": float(p), "q": float(q), "m": float(m)}


def idea_table(model: OrganizationModel) -> pd.DataFrame:
    """One row per idea: origin, birth, value, fate and reach."""
    reg, n = model.ideas, model.people.n
    live = slice(0, reg.n)

    def steps_or_na(arr: np.ndarray) -> pd.arrays.IntegerArray:
        steps = arr[live]
        never = steps == NEVER
        return pd.arrays.IntegerArray(np.where(never, 1, steps).astype(np.int64), never)

    return pd.DataFrame({
        "idea": np.arange(reg.n),
        "origin": reg.origin[live],
        "birth_step": reg.birth[live],
        "value_at_birth": reg.value_at_birth[live],
        "is_probe": reg.is_probe[live],
        "sanctioned_step": steps_or_na(reg.sanctioned_step),
        "squashed_step": steps_or_na(reg.squashed_step),
        "adoptions": reg.adoptions[live],
        "peak_adopters": reg.peak[live],
        "peak_share": reg.peak[live] / n,
        "final_adopters": reg.adopters[live],
        "step_half": steps_or_na(reg.step_half),
        "step_wide": steps_or_na(reg.step_wide),
        "step_90": steps_or_na(reg.step_90),
    })


def idea_adoption_curves(model: OrganizationModel, min_peak: int = 2) -> pd.DataFrame:
    """Tidy adoption curves (idea, step, adopters) of ideas that reached ``min_peak`` users,
    by step then idea, from each idea's birth step on."""
    reg, history = model.ideas, model.ideas.history
    if not history:
        return pd.DataFrame({"idea": [], "step": [], "adopters": []}, dtype="int64")
    sizes = np.fromiter(map(len, history), np.int64, len(history))  # ideas known at each step
    keep = np.flatnonzero(reg.peak[: reg.n] >= min_peak)
    steps = np.arange(len(history))[:, None]
    step, column = np.nonzero((keep < sizes[:, None]) & (reg.birth[keep] <= steps))
    idea = keep[column]
    first = np.cumsum(sizes) - sizes  # where each step's counts start in the joined history
    return pd.DataFrame({"idea": idea, "step": step,
                         "adopters": np.concatenate(history)[first[step] + idea]})


def probe_curve(model: OrganizationModel) -> np.ndarray:
    """Adoption share of the tracer idea from its birth step onward (empty if none)."""
    reg = model.ideas
    probe = np.flatnonzero(reg.is_probe[: reg.n])
    if len(probe) == 0:
        return np.zeros(0)
    k = int(probe[0])
    history = reg.history[int(reg.birth[k]):]
    counts = np.fromiter((h[k] for h in history), np.float64, len(history))
    return counts / model.people.n


PROBE_WEEKS = (26, 52)  # probe_share_26w, probe_share_52w; the AUC runs over the last


def probe_metrics(curve: np.ndarray, reached_half: bool | None) -> dict[str, float | None]:
    """The tracer's diffusion, never censored by whether it got anywhere.

    ``curve[t]`` is the share of staff using the tracer t steps (weeks) after its birth.
    probe_share_26w / _52w: the share 26 and 52 weeks after birth; probe_adoption_auc: the
    mean share over weeks 1-52; probe_reached_half: 1 if it reached half the staff within
    the run, else 0. A share whose week falls after the end of the run is None (the run
    is too short to say), as are all four when no tracer was planted.
    """
    if reached_half is None:
        return dict.fromkeys(("probe_share_26w", "probe_share_52w", "probe_adoption_auc",
                              "probe_reached_half"))
    out: dict[str, float | None] = {
        f"probe_share_{w}w": float(curve[w]) if len(curve) > w else None for w in PROBE_WEEKS}
    horizon = PROBE_WEEKS[-1]
    out["probe_adoption_auc"] = (float(curve[1: horizon + 1].mean()) if len(curve) > horizon
                                 else None)
    out["probe_reached_half"] = float(bool(reached_half))
    return out


def realized_network(model: OrganizationModel) -> sp.csr_matrix:
    """Undirected 0/1 adjacency of pairs who talked within the last ``metric_window`` steps."""
    n = model.people.n
    pairs = list(model.conversations.recent)
    if not pairs:
        return sp.csr_matrix((n, n))
    a = np.concatenate([x for x, _ in pairs])
    b = np.concatenate([y for _, y in pairs])
    adj = sp.coo_matrix((np.ones(2 * len(a)), (np.concatenate([a, b]), np.concatenate([b, a]))),
                        shape=(n, n)).tocsr()
    adj.data[:] = 1.0
    adj.setdiag(0)
    adj.eliminate_zeros()
    return adj


def clustering_and_centralization(adj: sp.csr_matrix) -> tuple[float, float]:
    """Mean local clustering and Freeman degree centralization of a 0/1 graph."""
    degree = np.asarray(adj.sum(axis=1)).ravel()
    triangles = np.asarray((adj @ adj).multiply(adj).sum(axis=1)).ravel() / 2.0
    return _clustering_of(degree, triangles)


def _clustering_of(degree: np.ndarray, triangles: np.ndarray) -> tuple[float, float]:
    """Mean local clustering and degree centralization from each node's degree and
    triangles (floats)."""
    n = len(degree)
    possible = degree * (degree - 1) / 2.0
    local = np.divide(triangles, possible, out=np.zeros(n), where=possible > 0)
    centralization = float((degree.max() - degree).sum() / ((n - 1) * (n - 2))) if n > 2 else 0.0
    return float(local.mean()), centralization


BITSET_MAX = 4096  # up to this many employees, neighbour sets are bitsets (n * n / 8 bytes)


@njit(cache=True)
def _degrees_and_triangles(n, a, b):
    """Degree of each employee in the undirected 0/1 graph of pairs ``a``-``b`` (self-pairs
    and repeats dropped), and twice the triangles through each (as counted by
    ``(adj @ adj).multiply(adj).sum(axis=1)``): the same integers from bitsets of
    neighbours up to BITSET_MAX employees, else from sorted neighbour lists."""
    if n <= BITSET_MAX:
        return _degrees_and_triangles_bits(n, a, b)
    return _degrees_and_triangles_lists(n, a, b)


@njit(cache=True)
def _degrees_and_triangles_bits(n, a, b):
    """:func:`_degrees_and_triangles` with each employee's neighbours as a bitset: the
    triangles through u are the common neighbours of u and each neighbour v, counted 64
    employees at a time."""
    words = (n + 63) // 64
    bits = np.zeros((n, words), np.uint64)
    one = np.uint64(1)
    for x in range(len(a)):
        u, v = a[x], b[x]
        if u != v:
            bits[u, v >> 6] |= one << np.uint64(v & 63)
            bits[v, u >> 6] |= one << np.uint64(u & 63)
    degree = np.zeros(n, np.int64)
    twice = np.zeros(n, np.int64)
    for u in range(n):
        d = t = 0
        for w in range(words):
            word = bits[u, w]
            d += np.int64(_popcount(word))
            while word:
                v = w * 64 + np.int64(_lowest_bit(word))
                word &= word - one
                for k in range(words):
                    t += np.int64(_popcount(bits[u, k] & bits[v, k]))
        degree[u], twice[u] = d, t
    return degree, twice


@njit(cache=True)
def _degrees_and_triangles_lists(n, a, b):
    """:func:`_degrees_and_triangles` from neighbour lists (any size): each employee's
    pairs listed, repeats dropped by marking (no sorting), then the common neighbours of
    each employee and each of their neighbours counted by marking."""
    start = np.zeros(n + 1, np.int64)  # neighbour lists with repeats, by counting
    for x in range(len(a)):
        if a[x] != b[x]:
            start[a[x] + 1] += 1
            start[b[x] + 1] += 1
    start = np.cumsum(start)
    listed = np.empty(start[-1], np.int64)
    fill = start[:-1].copy()
    for x in range(len(a)):
        if a[x] != b[x]:
            listed[fill[a[x]]] = b[x]
            fill[a[x]] += 1
            listed[fill[b[x]]] = a[x]
            fill[b[x]] += 1
    indptr = np.zeros(n + 1, np.int64)  # each list without its repeats
    neighbours = np.empty(len(listed), np.int64)
    mark = np.full(n, -1, np.int64)
    k = 0
    for u in range(n):
        for x in range(start[u], start[u + 1]):
            v = listed[x]
            if mark[v] != u:
                mark[v] = u
                neighbours[k] = v
                k += 1
        indptr[u + 1] = k
    degree = np.diff(indptr)
    twice = np.zeros(n, np.int64)
    mark[:] = -1
    for u in range(n):
        for x in range(indptr[u], indptr[u + 1]):
            mark[neighbours[x]] = u
        for x in range(indptr[u], indptr[u + 1]):
            v = neighbours[x]
            for y in range(indptr[v], indptr[v + 1]):
                twice[u] += mark[neighbours[y]] == u
    return degree, twice


def realized_clustering_and_centralization(model: OrganizationModel) -> tuple[float, float]:
    """:func:`clustering_and_centralization` of :func:`realized_network`, the same numbers
    from the conversation pairs without building the sparse matrix."""
    n = model.people.n
    pairs = list(model.conversations.recent)
    empty = np.zeros(0, np.int64)
    a = np.concatenate([x for x, _ in pairs]).astype(np.int64) if pairs else empty
    b = np.concatenate([y for _, y in pairs]).astype(np.int64) if pairs else empty
    degree, twice = _degrees_and_triangles(n, a, b)
    return _clustering_of(degree.astype(np.float64), twice / 2.0)


BASS_METRICS = ("bass_p", "bass_q")  # the only summary numbers that need a curve fit


TAIL_MEANS = ("coasting_share", "hidden_coasting_share", "mean_commitment", "mean_effort",
              "active_hero_share", "output", "mean_fit", "cross_unit_conversation_share",
              "informal_leader_overlap")  # summary numbers averaged over the final steps
NETWORK_METRICS = ("realized_clustering", "realized_centralization")  # one computation


def tail_means(model: OrganizationModel, names: Collection[str]) -> dict[str, float]:
    """Each named per-step metric's mean over the last ``summary_window`` recorded steps
    (never step 0): the numbers of ``column.mean()``, from one reduction along contiguous
    rows (numpy sums each row as it sums a column alone). NaN before any step."""
    results = model.results
    first = max(1, results.rows - model.p.summary_window)
    count = results.rows - first
    if count <= 0:
        return dict.fromkeys(names, float("nan"))
    columns = [results.names.index(name) for name in names]
    sums = np.add.reduce(np.ascontiguousarray(results.values[first:results.rows, columns].T),
                         axis=1)
    return {name: float(total / count) for name, total in zip(names, sums, strict=True)}


def summarize(model: OrganizationModel,
              metrics: Collection[str] | None = None) -> dict[str, Any]:
    """The run's headline numbers (summary.json). With ``metrics``, a sweep's list, the
    costly ones are computed only if named, and left out otherwise: the Bass curve
    (``bass_p``, ``bass_q``: a scipy fit, the costliest part of a small run's summary) and
    the realized network's ``realized_clustering`` and ``realized_centralization``
    (counting its triangles, the costliest part of a large run's)."""
    reg, n_ideas = model.ideas, model.ideas.n
    organic = ~reg.is_probe[:n_ideas]
    n_organic = int(np.count_nonzero(organic))
    born = max(n_organic, 1)
    adoptions = reg.adoptions[:n_ideas].sum()
    curve = probe_curve(model)
    probe = np.flatnonzero(reg.is_probe[:n_ideas])

    def probe_time(field: str) -> int | None:
        if len(probe) == 0 or getattr(reg, field)[probe[0]] == NEVER:
            return None
        return int(getattr(reg, field)[probe[0]] - reg.birth[probe[0]])

    tail = tail_means(model, TAIL_MEANS)
    values = reg.value_at_birth[:n_ideas]
    summary = {
        "steps": int(model.steps),
        "employees": int(model.people.n),
        "seed": int(model.seed),
        "coasting_share": tail["coasting_share"],
        "hidden_coasting_share": tail["hidden_coasting_share"],
        "mean_time_hidden": float(model.monitoring.mean_time_hidden()),
        "ideas_generated": n_organic,
        "ideas_per_employee_year": float(organic.sum() / model.people.n
                                         / (max(int(model.steps), 1) / WEEKS_PER_YEAR)),
        "ideas_adopted_widely_share": float((reg.step_wide[:n_ideas][organic] != NEVER).sum()
                                            / born),
        "ideas_squashed_share": float(reg.squashed[:n_ideas][organic].sum() / born),
        "ideas_sanctioned_share": float(reg.sanctioned[:n_ideas][organic].sum() / born),
        "probe_born_step": int(reg.birth[probe[0]]) if len(probe) else None,
        "time_to_50pct_adoption": probe_time("step_half"),
        "time_to_90pct_adoption": probe_time("step_90"),
        "probe_final_share": float(curve[-1]) if len(curve) else 0.0,
        **probe_metrics(curve, None if len(probe) == 0
                        else bool(reg.step_half[probe[0]] != NEVER)),
        "mean_adopted_idea_value": float((reg.adopted_value_sum[:n_ideas].sum() / adoptions)
                                         if adoptions else 0.0),
        "mean_born_idea_value": float(values[organic].mean()) if n_organic else 0.0,
        "mean_commitment": tail["mean_commitment"],
        "mean_effort": tail["mean_effort"],
        "active_hero_share": tail["active_hero_share"],
        "output": tail["output"],
        "mean_fit": tail["mean_fit"],
        "cross_unit_conversation_share": tail["cross_unit_conversation_share"],
        "informal_leader_overlap": tail["informal_leader_overlap"],
    }
    if metrics is None or not set(NETWORK_METRICS).isdisjoint(metrics):
        summary["realized_clustering"], summary["realized_centralization"] = (
            realized_clustering_and_centralization(model))
    if metrics is None or not set(BASS_METRICS).isdisjoint(metrics):
        bass = fit_bass(curve)
        summary["bass_p"] = bass["p"] if bass else None
        summary["bass_q"] = bass["q"] if bass else None
    return summary


COAST_STATE_NAMES = ("working", "hidden", "detected")


def employee_table(model: OrganizationModel) -> pd.DataFrame:
    """Final state of every employee, one row each (for distributions and networks)."""
    people, ids = model.people, np.arange(model.people.n)
    leaders = np.zeros(people.n, dtype=bool)
    leaders[model.formal_leaders()] = True
    facing = np.zeros(people.n, dtype=bool)
    facing[model.customer_facing_employees()] = True
    return pd.DataFrame({
        "employee": ids,
        "level": model.level_of(ids),
        "unit": model.unit_of(ids),
        "formal_leader": leaders,
        "customer_facing": facing,
        "hero": people.hero,
        "motive": people.motive,
        "skill": people.skill,
        "effort": people.effort,
        "commitment": people.commitment,
        "output": people.output,
        "coast_state": pd.Categorical.from_codes(people.coast_state, COAST_STATE_NAMES),
        "ideas_in_use": model.beliefs.ideas_in_use,
    })


def network_edges(model: OrganizationModel) -> pd.DataFrame:
    """Edges (source < target) of the realized conversation network."""
    upper = sp.triu(realized_network(model), k=1).tocoo()
    return pd.DataFrame({"source": upper.row.astype(np.int64),
                         "target": upper.col.astype(np.int64)})


def chart_breakdown(model: OrganizationModel) -> pd.DataFrame:
    """Final state by the imported chart's unit and level (tidy: one row per unit x level
    present); the generated structures give one row per depth under unit "all"."""
    people, s = model.people, model.structure
    position = people.position
    if model.chart is not None:
        unit = np.asarray(model.chart.unit, dtype=object)[position]
        level = np.asarray(model.chart.level, dtype=object)[position]
    else:
        unit = np.full(people.n, "all", dtype=object)
        level = np.array([f"L{d}" for d in s.level[position]], dtype=object)
    frame = pd.DataFrame({
        "unit": unit, "level": level, "depth": s.level[position],
        "coasting": people.effort < model.p.coasting_threshold,
        "hidden_coasting": people.coast_state == HIDDEN,
        "effort": people.effort, "commitment": people.commitment, "output": people.output})
    grouped = frame.groupby(["unit", "level"], sort=True)
    table = grouped.agg(employees=("effort", "size"), depth=("depth", "min"),
                        coasting_share=("coasting", "mean"),
                        hidden_coasting_share=("hidden_coasting", "mean"),
                        mean_effort=("effort", "mean"), mean_commitment=("commitment", "mean"),
                        mean_output=("output", "mean")).reset_index()
    return table.sort_values(["unit", "depth", "level"], ignore_index=True)


def export_chart(model: OrganizationModel) -> pd.DataFrame:
    """The imported chart as the model holds it, by pseudonym (never an original id):
    pseudonym, manager's pseudonym, unit, level, customer-facing."""
    if model.chart is None:
        raise ValueError("the model runs on a generated structure, not an imported chart")
    return pd.DataFrame(model.chart.table(model.structure.parent,
                                          model.customer_facing_position))


def interventions_table(model: OrganizationModel) -> pd.DataFrame:
    """The roadmap's log: week, intervention, parameter, old and new value, where, why."""
    columns = ["week", "intervention", "parameter", "old", "new", "where", "why"]
    rows = [{**row, "old": str(row["old"]), "new": str(row["new"])}
            for row in model.roadmap_log]
    return pd.DataFrame(rows, columns=columns)
