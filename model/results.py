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
from numba import njit, prange

from model.employees import DETECTED, HIDDEN
from model.parallel import PARALLEL_MIN, serial_twin

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


SORT_BELOW = 4096  # below this many values a plain sort is quicker than counting buckets
BUCKETS = 1024  # buckets of the range of values counted for their order statistics
TALLY_BLOCK = 1 << 16  # values per block of a parallel pass (fixed, not per thread)


@njit(cache=True)
def _range(block):
    """Smallest and largest value of ``block``, NaN for both if it holds a NaN (numpy's
    min and max, several times faster)."""
    lo = hi = block[0]
    nan = False
    for v in block:
        lo = v if v < lo else lo
        hi = v if v > hi else hi
        nan |= v != v
    return (np.nan, np.nan) if nan else (lo, hi)


@njit(cache=True, parallel=True)
def _block_ranges(x):
    """Smallest and largest value of each fixed block of ``x`` (NaN where it holds one)."""
    blocks = (len(x) + TALLY_BLOCK - 1) // TALLY_BLOCK
    lows, highs = np.empty(blocks), np.empty(blocks)
    for b in prange(blocks):
        lows[b], highs[b] = _range(x[b * TALLY_BLOCK:(b + 1) * TALLY_BLOCK])
    return lows, highs


# loops over a block run over a slice of it: a loop from an offset compiles to far slower
# code (measured ~7x on 10,000 employees)
@njit(cache=True)
def _count_buckets(block, lo, scale, counts):
    for v in block:
        counts[min(int((v - lo) * scale), BUCKETS)] += 1


@njit(cache=True, parallel=True)
def _block_buckets(x, lo, scale):
    """How many values of each fixed block of ``x`` fall in each bucket."""
    blocks = (len(x) + TALLY_BLOCK - 1) // TALLY_BLOCK
    counts = np.zeros((blocks, BUCKETS + 1), np.int64)
    for b in prange(blocks):
        _count_buckets(x[b * TALLY_BLOCK:(b + 1) * TALLY_BLOCK], lo, scale, counts[b])
    return counts


@njit(cache=True)
def _keep(block, lo, scale, wanted, kept):
    k = 0
    for v in block:
        if wanted[min(int((v - lo) * scale), BUCKETS)]:
            kept[k] = v
            k += 1


@njit(cache=True, parallel=True)
def _gather(x, lo, scale, wanted, start):
    """The values of ``x`` in the wanted buckets, block b's from ``start[b]`` on."""
    kept = np.empty(start[-1])
    for b in prange(len(start) - 1):
        _keep(x[b * TALLY_BLOCK:(b + 1) * TALLY_BLOCK], lo, scale, wanted,
              kept[start[b]:start[b + 1]])
    return kept


_block_ranges_serial = serial_twin(_block_ranges)
_block_buckets_serial = serial_twin(_block_buckets)
_gather_serial = serial_twin(_gather)


@njit(cache=True)
def order_statistics(x, ranks):
    """Exact values of ranks ``ranks`` (0-based) of ``x`` in sorted order: below
    SORT_BELOW values by sorting, else by counting into buckets of its range and sorting
    only the buckets that hold those ranks (in fixed blocks, in parallel above
    PARALLEL_MIN values; counts are integers, so the thread count changes nothing)."""
    if len(x) < SORT_BELOW:
        return np.sort(x)[ranks]
    lows, highs = _block_ranges(x) if len(x) >= PARALLEL_MIN else _block_ranges_serial(x)
    return _ranks_in_range(x, ranks, lows.min(), highs.max())


@njit(cache=True)
def _select(a, lo, hi, k):
    """The value of rank k of ``a[lo:hi]`` (no NaN), its values moved so that those before
    k are no larger and those after no smaller (Hoare's FIND)."""
    while hi - lo > 1:
        pivot = a[(lo + hi - 1) >> 1]
        i, j = lo, hi - 1
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j + 1
        elif k >= i:
            lo = i
        else:
            break
    return a[k]


@njit(cache=True)
def selected_ranks(x, ranks):
    """The values of the ascending ``ranks`` of ``x`` (no NaN) in sorted order, by selection
    (each rank sought above the one before): ``np.sort(x)[ranks]`` without sorting."""
    a = x.copy()
    out = np.empty(len(ranks))
    lo = 0
    for r in range(len(ranks)):
        out[r] = _select(a, lo, len(a), ranks[r])
        lo = ranks[r]
    return out


@njit(cache=True)
def _ranks_in_range(x, ranks, lo, hi):
    """:func:`order_statistics` of ``x`` given its smallest and largest value ``lo`` and
    ``hi`` (NaN if it holds a NaN)."""
    if len(x) < SORT_BELOW:  # (ascending ranks; with a NaN, numpy's order: sorted)
        return np.sort(x)[ranks] if np.isnan(lo) else selected_ranks(x, ranks)
    large = len(x) >= PARALLEL_MIN
    scale = BUCKETS / (hi - lo) if hi > lo else np.inf
    if not np.isfinite(scale):  # one value, or a range too small to bucket: sort it all
        return np.sort(x)[ranks]
    by_block = _block_buckets(x, lo, scale) if large else _block_buckets_serial(x, lo, scale)
    counts = by_block.sum(axis=0)
    starts = np.cumsum(counts) - counts  # values in lower buckets
    bucket = np.searchsorted(starts + counts, ranks, side="right")
    wanted = np.zeros(BUCKETS + 1, np.bool_)
    wanted[bucket] = True
    kept_before = np.cumsum(counts * wanted) - counts * wanted  # kept values in lower buckets
    start = np.zeros(len(by_block) + 1, np.int64)  # first kept value of each block
    for b in range(len(by_block)):
        start[b + 1] = start[b] + (by_block[b] * wanted).sum()
    kept = (_gather(x, lo, scale, wanted, start) if large
            else _gather_serial(x, lo, scale, wanted, start))
    kept.sort()
    out = np.empty(len(ranks))
    for r in range(len(ranks)):
        b = bucket[r]
        out[r] = kept[kept_before[b] + ranks[r] - starts[b]]
    return out


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
    values = order_statistics(x, ranks).tolist()
    result = []
    for lo, hi, t in plan:
        a, b = values[lo], values[hi]
        diff = b - a
        result.append(b - diff * (1 - t) if t >= 0.5 else a + diff * t)
    return tuple(result)


def tally(m: OrganizationModel) -> Tally:
    """Counts and sums over the employee arrays, plus the two commitment quantiles."""
    people = m.people
    counts = _counts(people.effort, people.coast_state, people.sanctioned,
                     m.beliefs.ideas_in_use, m.beliefs.matches, people.hero,
                     people.last_idea_step, float(m.p.coasting_threshold),
                     m.steps - m.p.metric_window).tolist()
    sums = _sums(people.effort, people.commitment, people.output)[:3]
    p10, p90 = linear_quantiles(people.commitment, (0.1, 0.9))
    return Tally(people.n, *counts[:7], *sums, counts[7], float(p10), float(p90))


@njit(cache=True)
def _count_scores(score, member, counts, member_counts):
    """Tallies of scores (small integers, so the same score comes again at once) kept in
    four lanes, one per employee of every four: an increment waits on the last one of its
    own lane only."""
    lanes = np.zeros((4, 2, len(counts)), np.int64)
    quads = len(score) // 4 * 4
    for i in range(0, quads, 4):
        for lane in range(4):
            lanes[lane, 0, score[i + lane]] += 1
            lanes[lane, 1, score[i + lane]] += member[i + lane]
    for i in range(quads, len(score)):
        lanes[0, 0, score[i]] += 1
        lanes[0, 1, score[i]] += member[i]
    for v in range(len(counts)):
        for lane in range(4):
            counts[v] += lanes[lane, 0, v]
            member_counts[v] += lanes[lane, 1, v]


@njit(cache=True, parallel=True)
def _score_counts(score, member):
    """Per fixed block of employees: how many have each score, and how many of them are
    members (integers: the totals do not depend on the thread count)."""
    blocks = max(1, (len(score) + TALLY_BLOCK - 1) // TALLY_BLOCK)
    counts = np.zeros((2, blocks, score.max() + 1), np.int64)
    for b in prange(blocks):
        at = slice(b * TALLY_BLOCK, (b + 1) * TALLY_BLOCK)
        _count_scores(score[at], member[at], counts[0, b], counts[1, b])
    return counts


@njit(cache=True)
def _score_tallies(score, member):
    """How many employees have each score, and how many of them are members, in one serial
    pass (a small organization: the same integers as :func:`_score_counts`)."""
    top = 0
    for v in score:
        top = max(top, v)
    tallies = np.zeros((2, top + 1), np.int64)
    for i in range(len(score)):
        tallies[0, score[i]] += 1
        tallies[1, score[i]] += member[i]
    return tallies[0], tallies[1]


@njit(cache=True)
def top_k_overlap(score, member, k):
    """Expected share of members among the k highest integer scores, ties at the k-th place
    broken at random (counting sort: scores are small counts)."""
    n = len(score)
    if k >= n:
        return member.sum() / n
    if n >= PARALLEL_MIN:
        blocks = _score_counts(score, member)
        counts, member_counts = blocks[0].sum(axis=0), blocks[1].sum(axis=0)
    else:
        counts, member_counts = _score_tallies(score, member)
    above = 0
    members = 0.0
    for v in range(len(counts) - 1, -1, -1):
        if above + counts[v] >= k:
            members += member_counts[v] * (k - above) / counts[v]
            break
        above += counts[v]
        members += member_counts[v]
    return members / k


N_COUNTS = 8  # coasting, hidden, detected, sanctioned, using ideas, heroes, active, matches


@njit(cache=True)
def _count_block(effort, coast_state, sanctioned, ideas_in_use, matches, hero,
                 last_idea_step, threshold, recent_after, counts):
    coasting = hidden = detected = punished = using = heroes = active = matched = 0
    for i in range(len(effort)):
        coasting += effort[i] < threshold
        hidden += coast_state[i] == HIDDEN
        detected += coast_state[i] == DETECTED
        punished += sanctioned[i]
        using += ideas_in_use[i] > 0
        heroes += hero[i]
        active += hero[i] & (last_idea_step[i] > recent_after)
        matched += matches[i]
    counts[0], counts[1], counts[2], counts[3] = coasting, hidden, detected, punished
    counts[4], counts[5], counts[6], counts[7] = using, heroes, active, matched


@njit(cache=True, parallel=True)
def _count_blocks(effort, coast_state, sanctioned, ideas_in_use, matches, hero,
                  last_idea_step, threshold, recent_after):
    """Integer counts over employees in fixed blocks, one row each: every count is an
    integer, so their total does not depend on the thread count."""
    blocks = max(1, (len(effort) + TALLY_BLOCK - 1) // TALLY_BLOCK)
    counts = np.zeros((blocks, N_COUNTS), np.int64)
    for b in prange(blocks):
        at = slice(b * TALLY_BLOCK, (b + 1) * TALLY_BLOCK)
        _count_block(effort[at], coast_state[at], sanctioned[at], ideas_in_use[at], matches[at],
                     hero[at], last_idea_step[at], threshold, recent_after, counts[b])
    return counts


@njit(cache=True)
def _counts(effort, coast_state, sanctioned, ideas_in_use, matches, hero, last_idea_step,
            threshold, recent_after):
    """The counts of :func:`_count_blocks` over all employees."""
    if len(effort) < PARALLEL_MIN:  # integers: one block counts the same
        counts = np.empty(N_COUNTS, np.int64)
        _count_block(effort, coast_state, sanctioned, ideas_in_use, matches, hero,
                     last_idea_step, threshold, recent_after, counts)
        return counts
    return _count_blocks(effort, coast_state, sanctioned, ideas_in_use, matches, hero,
                         last_idea_step, threshold, recent_after).sum(axis=0)


@njit(cache=True)
def _sums(effort, commitment, output):
    """Sums of effort, commitment and output in employee order (as a plain loop adds),
    and the smallest and largest commitment (NaN if one is NaN), found alongside."""
    effort_sum = commitment_sum = output_sum = 0.0
    lo = hi = commitment[0]
    nan = False
    for i in range(len(effort)):
        effort_sum += effort[i]
        v = commitment[i]
        commitment_sum += v
        output_sum += output[i]
        lo = v if v < lo else lo
        hi = v if v > hi else hi
        nan |= v != v
    if nan:
        lo = hi = np.nan
    return effort_sum, commitment_sum, output_sum, lo, hi


@njit(cache=True)
def fill_row(values, row, people, ideas, code_need, leaders, scalars, plan):
    """Row ``row`` of the built-in metrics (:data:`METRICS`, in order), the same numbers
    as their reporters, in one compiled call: integer counts over employees (in parallel
    above PARALLEL_MIN), float sums in employee order, commitment quantiles from
    :func:`order_statistics`."""
    (effort, commitment, output, coast_state, sanctioned, ideas_in_use, matches, hero,
     last_idea_step) = people
    is_probe, adopters, idea_sanctioned, squashed = ideas
    code, need = code_need
    sought, is_leader = leaders
    born, n_ideas, per_employee, cross_share, threshold, recent_after, n_leaders = scalars
    ranks, lower, upper, weight = plan
    n = len(effort)
    total = _counts(effort, coast_state, sanctioned, ideas_in_use, matches, hero,
                    last_idea_step, threshold, recent_after)
    effort_sum, commitment_sum, output_sum, lo, hi = _sums(effort, commitment, output)
    ranked = _ranks_in_range(commitment, ranks, lo, hi)
    probe_users = 0
    has_probe = False
    ideas_sanctioned = ideas_squashed = 0
    for k in range(n_ideas):
        if is_probe[k]:
            has_probe = True
            probe_users += adopters[k]
        ideas_sanctioned += idea_sanctioned[k]
        ideas_squashed += squashed[k]
    m = len(need)
    code_matches = 0
    for d in range(m):
        code_matches += code[d] == need[d]
    out = values[row]
    out[0] = born
    out[1] = n_ideas
    out[2] = ideas_sanctioned
    out[3] = ideas_squashed
    out[4] = total[4] / n
    out[5] = probe_users / n if has_probe else 0.0
    out[6] = total[0] / n
    out[7] = total[1] / n
    out[8] = total[2] / n
    out[9] = total[3] / n
    out[10] = effort_sum / n
    out[11] = commitment_sum / n
    for q in range(2):  # numpy's "linear" quantile, as linear_quantiles
        a, b, t = ranked[lower[q]], ranked[upper[q]], weight[q]
        diff = b - a
        out[12 + q] = b - diff * (1 - t) if t >= 0.5 else a + diff * t
    out[14] = total[6] / total[5] if total[5] else 0.0
    out[15] = total[7] / n / m
    out[16] = code_matches / m
    out[17] = output_sum / n
    out[18] = per_employee
    out[19] = cross_share
    out[20] = top_k_overlap(sought, is_leader, n_leaders) if n_leaders else 0.0


@dataclass(frozen=True)
class Metric:
    name: str
    meaning: str
    reporter: Callable[[OrganizationModel, Tally], float]

    def __reduce__(self):
        """A built-in metric pickles by name (its reporter may be a lambda), and loads as
        the very object of :data:`METRICS`; any other with its reporter."""
        if BUILTIN_METRICS.get(self.name) is self:
            return builtin_metric, (self.name,)
        return Metric, (self.name, self.meaning, self.reporter)


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

BUILTIN_METRICS: dict[str, Metric] = {mt.name: mt for mt in METRICS}


def builtin_metric(name: str) -> Metric:
    """The built-in metric ``name`` (how a pickled one loads)."""
    return BUILTIN_METRICS[name]


class Results:
    """A preallocated (steps + 1) x metrics table."""

    def __init__(self, steps: int, metrics: tuple[Metric, ...] = METRICS):
        self.metrics = metrics
        self.names = [mt.name for mt in metrics]
        self.values = np.full((steps + 1, len(metrics)), np.nan)
        self.rows = 0
        # the built-in metrics come first (a subclass adds its own after them): their row
        # is filled by one compiled call, the others by their reporters
        builtin = len(metrics) >= len(METRICS) and all(
            a is b for a, b in zip(metrics, METRICS, strict=False))
        self._extra = metrics[len(METRICS):] if builtin else metrics
        self._plan: tuple = ()
        self._plan_n = -1  # employees the quantile plan is for

    @property
    def fills_builtin(self) -> bool:
        """Whether the built-in metrics come first, filled by :func:`fill_row`."""
        return len(self._extra) < len(self.metrics)

    @property
    def builtin_only(self) -> bool:
        """Whether the table holds the built-in metrics alone (no reporter to call)."""
        return not self._extra

    def reserve(self, rows: int) -> None:
        """Room for the next ``rows`` rows: the table grows as :meth:`make_room` would grow
        it row by row."""
        while self.rows + rows > len(self.values):
            self.values = np.vstack([self.values, np.full_like(self.values, np.nan)])

    def make_room(self) -> None:
        """Room for this step's row (run past the declared steps: the table grows)."""
        if self.rows >= len(self.values):
            self.values = np.vstack([self.values, np.full_like(self.values, np.nan)])

    def collect(self, model: OrganizationModel) -> None:
        self.make_room()
        if len(self._extra) == len(self.metrics):
            counts = tally(model)
            self.values[self.rows] = [mt.reporter(model, counts) for mt in self.metrics]
            self.rows += 1
        else:
            self._fill_builtin(model)
            self.finish_row(model)

    def finish_row(self, model: OrganizationModel) -> None:
        """Complete the row whose built-in metrics are filled: the added metrics through
        their reporters."""
        if self._extra:
            counts = tally(model)
            self.values[self.rows, len(METRICS):] = [mt.reporter(model, counts)
                                                     for mt in self._extra]
        self.rows += 1

    def kernel_arrays(self, model: OrganizationModel) -> tuple:
        """The arguments of :func:`fill_row` but the step's: (values, people, ideas,
        code_need, leaders, quantile plan, (coasting threshold, metric window, leaders))."""
        people, beliefs, reg, conv = model.people, model.beliefs, model.ideas, model.conversations
        if people.n != self._plan_n:
            ranks, plan = _quantile_plan(people.n, (0.1, 0.9))
            self._plan = (ranks, np.array([lo for lo, _, _ in plan], np.int64),
                          np.array([hi for _, hi, _ in plan], np.int64),
                          np.array([t for _, _, t in plan]))
            self._plan_n = people.n
        is_leader, n_leaders = model.leader_mask()
        return (self.values,
                (people.effort, people.commitment, people.output, people.coast_state,
                 people.sanctioned, beliefs.ideas_in_use, beliefs.matches, people.hero,
                 people.last_idea_step),
                (reg.is_probe, reg.adopters, reg.sanctioned, reg.squashed),
                (beliefs.code, beliefs.need), (conv.sought, is_leader), self._plan,
                (float(model.p.coasting_threshold), int(model.p.metric_window), n_leaders))

    def _fill_builtin(self, model: OrganizationModel) -> None:
        """The built-in metrics' row in one compiled call (:func:`fill_row`)."""
        values, people, ideas, code_need, leaders, plan, fixed = self.kernel_arrays(model)
        threshold, window, n_leaders = fixed
        conv = model.conversations
        fill_row(values, self.rows, people, ideas, code_need, leaders,
                 (float(model.generation.born_this_step), model.ideas.n,
                  float(conv.per_employee), float(conv.cross_unit_share), threshold,
                  model.steps - window, n_leaders),
                 plan)

    def to_frame(self) -> pd.DataFrame:
        """Wide frame: one row per step, one column per metric."""
        frame = pd.DataFrame(self.values[: self.rows], columns=self.names)
        frame.insert(0, "step", np.arange(self.rows))
        return frame

    def to_tidy(self) -> pd.DataFrame:
        """Long frame: one row per (step, metric) observation."""
        return self.to_frame().melt(id_vars="step", var_name="metric", value_name="value")
