"""Per-step results, declared up front and preallocated (process 9, data collection).

Each :class:`Metric` names a reporter that reads one :class:`Tally` (counts and sums
over all employees, taken in a single compiled pass) or whole arrays of the model;
the table holds one row per step (step 0 = initial state) and exports as a tidy
DataFrame.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from numba import njit

from model.employees import DETECTED, HIDDEN

if TYPE_CHECKING:
    from model.organization import OrganizationModel


class Tally(NamedTuple):
    """Counts and sums over employees at the end of one step (one pass over the arrays)."""

    n: int
    coasting: int
    hidden: int
    detected: int
    sanctioned: int
    using_ideas: int
    heroes: int
    active_heroes: int
    effort_sum: float
    commitment_sum: float
    output_sum: float
    matches_sum: int
    commitment_p10: float
    commitment_p90: float


@njit(cache=True)
def _order_statistics(x, ranks, bins):
    """Exact values of ranks ``ranks`` (0-based) of ``x`` in sorted order, by counting
    into ``bins`` buckets and sorting only the buckets that hold those ranks."""
    lo, hi = x.min(), x.max()
    scale = bins / (hi - lo) if hi > lo else np.inf
    if not np.isfinite(scale):  # one value, or a range too small to bucket: sort it all
        return np.sort(x)[ranks]
    out = np.empty(len(ranks))
    counts = np.zeros(bins + 1, np.int64)
    for v in x:
        counts[min(int((v - lo) * scale), bins)] += 1
    starts = np.cumsum(counts) - counts  # values in lower buckets
    bucket = np.searchsorted(starts + counts, ranks, side="right")
    wanted = np.zeros(bins + 1, np.bool_)
    wanted[bucket] = True
    kept_before = np.cumsum(counts * wanted) - counts * wanted  # kept values in lower buckets
    kept = np.empty(kept_before[-1] + counts[-1] * wanted[-1])
    k = 0
    for v in x:
        if wanted[min(int((v - lo) * scale), bins)]:
            kept[k] = v
            k += 1
    kept.sort()
    for r in range(len(ranks)):
        b = bucket[r]
        out[r] = kept[kept_before[b] + ranks[r] - starts[b]]
    return out


SORT_BELOW = 4096  # below this many values a plain sort is quicker than counting buckets


@functools.lru_cache(maxsize=64)
def _quantile_plan(n: int, qs: tuple[float, ...]) -> tuple[np.ndarray, tuple]:
    """The ranks numpy's "linear" quantiles of ``n`` values read, and for each quantile
    (position of its lower and upper rank among them, interpolation weight)."""
    virtual = [(n - 1) * q for q in qs]
    lower = [min(int(np.floor(v)), n - 1) for v in virtual]
    ranks = sorted({r for lo in lower for r in (lo, min(lo + 1, n - 1))})
    at = {r: k for k, r in enumerate(ranks)}
    return (np.array(ranks, np.int64),
            tuple((at[lo], at[min(lo + 1, n - 1)], v - lo)
                  for v, lo in zip(virtual, lower, strict=True)))


def linear_quantiles(x: np.ndarray, qs: tuple[float, ...]) -> tuple[float, ...]:
    """``np.quantile(x, qs)`` (method "linear"), bit for bit, about 3x faster on the
    per-step commitment array: numpy partitions the whole array; this sorts a few buckets
    (or, for a small array, sorts it)."""
    ranks, plan = _quantile_plan(len(x), tuple(qs))
    values = (np.sort(x)[ranks] if len(x) < SORT_BELOW
              else _order_statistics(x, ranks, 1024)).tolist()
    result = []
    for lo, hi, t in plan:
        a, b = values[lo], values[hi]
        diff = b - a
        result.append(b - diff * (1 - t) if t >= 0.5 else a + diff * t)
    return tuple(result)


@njit(cache=True)
def _tally(effort, commitment, output, coast_state, sanctioned, ideas_in_use, matches, hero,
           last_idea_step, threshold, recent_after, hidden_code, detected_code):
    coasting = hidden = detected = punished = using = heroes = active = matches_sum = 0
    effort_sum = commitment_sum = output_sum = 0.0
    for i in range(len(effort)):
        coasting += effort[i] < threshold
        hidden += coast_state[i] == hidden_code
        detected += coast_state[i] == detected_code
        punished += sanctioned[i]
        using += ideas_in_use[i] > 0
        heroes += hero[i]
        active += hero[i] and last_idea_step[i] > recent_after
        matches_sum += matches[i]
        effort_sum += effort[i]
        commitment_sum += commitment[i]
        output_sum += output[i]
    return (coasting, hidden, detected, punished, using, heroes, active, effort_sum,
            commitment_sum, output_sum, matches_sum)


def tally(m: OrganizationModel) -> Tally:
    """One pass over the employee arrays, plus the two commitment quantiles."""
    people = m.people
    counts = _tally(people.effort, people.commitment, people.output, people.coast_state,
                    people.sanctioned, m.beliefs.ideas_in_use, m.beliefs.matches, people.hero,
                    people.last_idea_step, m.p.coasting_threshold,
                    np.int64(m.steps - m.p.metric_window), HIDDEN, DETECTED)
    p10, p90 = linear_quantiles(people.commitment, (0.1, 0.9))
    return Tally(people.n, *counts, float(p10), float(p90))


@njit(cache=True)
def top_k_overlap(score, member, k):
    """Expected share of members among the k highest integer scores, ties at the k-th place
    broken at random (counting sort: scores are small counts)."""
    n = len(score)
    if k >= n:
        return member.sum() / n
    counts = np.zeros(score.max() + 1, np.int64)
    member_counts = np.zeros(score.max() + 1, np.int64)
    for i in range(n):
        counts[score[i]] += 1
        member_counts[score[i]] += member[i]
    above = 0
    members = 0.0
    for v in range(len(counts) - 1, -1, -1):
        if above + counts[v] >= k:
            members += member_counts[v] * (k - above) / counts[v]
            break
        above += counts[v]
        members += member_counts[v]
    return members / k


@dataclass(frozen=True)
class Metric:
    name: str
    meaning: str
    reporter: Callable[[OrganizationModel, Tally], float]


def _probe_share(m: OrganizationModel, _: Tally) -> float:
    probe = np.flatnonzero(m.ideas.is_probe[: m.ideas.n])
    return float(m.ideas.adopters[probe].sum() / m.people.n) if len(probe) else 0.0


def _cumulative(flag: str) -> Callable[[OrganizationModel, Tally], float]:
    return lambda m, _: float(np.count_nonzero(getattr(m.ideas, flag)[: m.ideas.n]))


METRICS: tuple[Metric, ...] = (
    Metric("ideas_born", "Ideas born this step.", lambda m, _: m.generation.born_this_step),
    Metric("ideas_total", "Ideas born so far.", lambda m, _: m.ideas.n),
    Metric("ideas_sanctioned", "Ideas sanctioned (codified) so far.", _cumulative("sanctioned")),
    Metric("ideas_squashed", "Ideas squashed so far.", _cumulative("squashed")),
    Metric("idea_use_share", "Share of employees using at least one idea born in the run.",
           lambda m, t: t.using_ideas / t.n),
    Metric("probe_adoption_share", "Share of employees using the tracer good idea.",
           _probe_share),
    Metric("coasting_share", "Share of employees coasting (effort below the threshold).",
           lambda m, t: t.coasting / t.n),
    Metric("hidden_coasting_share", "Share of employees coasting unnoticed by anyone able to act.",
           lambda m, t: t.hidden / t.n),
    Metric("detected_coasting_share", "Share of employees coasting and noticed.",
           lambda m, t: t.detected / t.n),
    Metric("sanctioned_share", "Share of employees sanctioned this step.",
           lambda m, t: t.sanctioned / t.n),
    Metric("mean_effort", "Mean effort.", lambda m, t: t.effort_sum / t.n),
    Metric("mean_commitment", "Mean commitment.", lambda m, t: t.commitment_sum / t.n),
    Metric("commitment_p10", "10th percentile of commitment.", lambda m, t: t.commitment_p10),
    Metric("commitment_p90", "90th percentile of commitment.", lambda m, t: t.commitment_p90),
    Metric("active_hero_share", "Share of HEROes who produced an idea within the metric window.",
           lambda m, t: t.active_heroes / t.heroes if t.heroes else 0.0),
    Metric("mean_fit", "Mean fit of practices to customer needs.",
           lambda m, t: t.matches_sum / t.n / m.beliefs.m),
    Metric("playbook_fit", "Fit of the playbook to customer needs.",
           lambda m, _: m.beliefs.code_fit),
    Metric("output", "Mean output per employee (effort x skill x fit).",
           lambda m, t: t.output_sum / t.n),
    Metric("conversations_per_employee", "Conversations started per employee this step.",
           lambda m, _: m.conversations.per_employee),
    Metric("cross_unit_conversation_share", "Share of conversations across units.",
           lambda m, _: m.conversations.cross_unit_share),
    Metric("informal_leader_overlap", "Share of the most sought-after employees who hold a "
           "formal leader role.", lambda m, _: m.informal_leader_overlap()),
)


class Results:
    """A preallocated (steps + 1) x metrics table."""

    def __init__(self, steps: int, metrics: tuple[Metric, ...] = METRICS):
        self.metrics = metrics
        self.names = [mt.name for mt in metrics]
        self.values = np.full((steps + 1, len(metrics)), np.nan)
        self.rows = 0

    def collect(self, model: OrganizationModel) -> None:
        if self.rows >= len(self.values):  # run past the declared steps: grow
            self.values = np.vstack([self.values, np.full_like(self.values, np.nan)])
        counts = tally(model)
        self.values[self.rows] = [mt.reporter(model, counts) for mt in self.metrics]
        self.rows += 1

    def to_frame(self) -> pd.DataFrame:
        """Wide frame: one row per step, one column per metric."""
        frame = pd.DataFrame(self.values[: self.rows], columns=self.names)
        frame.insert(0, "step", np.arange(self.rows))
        return frame

    def to_tidy(self) -> pd.DataFrame:
        """Long frame: one row per (step, metric) observation."""
        return self.to_frame().melt(id_vars="step", var_name="metric", value_name="value")
