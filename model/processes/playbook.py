"""Process 4c, the playbook: March's (1991) organizational code.

- Codification of ideas: ideas approved, and (where nothing needs approval) ideas used
  by at least ``codify_share`` of the employees they apply to, are sanctioned. The
  playbook is organization-wide: only an idea that applies everywhere (the tracer) is
  written into it; an idea of one market, once sanctioned, is used there without risk.
- Learning from the best (March's p2): on each dimension where the employees who fit
  needs better than the playbook hold a majority belief different from it, the
  playbook takes that belief with chance 1 - (1 - p2)^k, k being the majority margin.
  What it learns this way is attributed to practice, not to any one idea.
- Socialization (March's p1): each employee takes the playbook's belief on each
  dimension where it differs (and is not 0) with chance p1; an idea the playbook
  holds spreads this way down to everyone. With ``slow_learner_share`` > 0, that share
  of employees (drawn once, stream ``learners``) learn at ``slow_socialization_rate``.
- Options recovered from March's original program (Christensen 2015), off by default:
  ``socialization_mode = "gradual"`` moves a belief one step (an opposite belief first
  becomes 0); ``code_learning_basis = "actions"`` judges employees and the playbook by
  actions (a coin flip where no belief is held) scored as matches minus mismatches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from model.beliefs import OWN, assign_cells, assign_distinct_cells
from model.bundle import BundleCache, Entry
from model.parallel import PARALLEL_MIN, serial_twin
from model.processes.base import Process
from model.rng import coin_signs

if TYPE_CHECKING:
    pass


BLOCK = 4096  # employees per block of a parallel count (fixed: results never depend on threads)
RANK_BLOCK = 4096  # cells per block when locating the cells socialization takes
IDEA_BLOCK = 16384  # ideas per block of a parallel search of the registry


@njit(cache=True, parallel=True)
def superior_beliefs(practice, matches, code_matches):
    """Counts of +1 and -1 beliefs per dimension among employees who fit needs better
    than the playbook, and how many such employees there are (counted in fixed blocks
    of employees in parallel, then added up)."""
    n, m = practice.shape
    blocks = (n + BLOCK - 1) // BLOCK
    plus_by_block = np.zeros((blocks, m), np.int64)
    minus_by_block = np.zeros((blocks, m), np.int64)
    superior_by_block = np.zeros(blocks, np.int64)
    for b in prange(blocks):
        plus, minus = plus_by_block[b], minus_by_block[b]
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            if matches[i] > code_matches:
                superior_by_block[b] += 1
                for d in range(m):
                    plus[d] += practice[i, d] == 1
                    minus[d] += practice[i, d] == -1
    return plus_by_block.sum(axis=0), minus_by_block.sum(axis=0), superior_by_block.sum()


superior_beliefs_serial = serial_twin(superior_beliefs)


@njit(cache=True)
def learn_code(plus, minus, code, code_source, draws, p2, own):
    """On each dimension where the better performers' majority belief differs from the
    playbook's, the playbook takes it with chance 1 - (1 - p2)^margin (``draws``: one
    uniform draw per dimension)."""
    for d in range(len(code)):
        majority = np.int8(np.sign(plus[d] - minus[d]))
        chance = 1.0 - (1.0 - p2) ** np.float64(abs(plus[d] - minus[d]))
        if majority != 0 and majority != code[d] and draws[d] < chance:
            code[d] = majority
            code_source[d] = own


@njit(cache=True)
def teach(state, dims, adopters, rows, cols, code, code_source, gradual):
    """Move the chosen cells (distinct, sorted by row) to the playbook's belief: at once,
    or (gradual) one step, an opposite belief becoming 0 (no belief) first."""
    values = code[cols].copy()
    sources = code_source[cols].copy()
    if gradual:
        practice = state[0]
        for x in range(len(rows)):
            if practice[rows[x], cols[x]] != 0:
                values[x] = 0
                sources[x] = -1
    if len(rows) >= PARALLEL_MIN:
        assign_distinct_cells(state, dims, adopters, rows, cols, values, sources)
    else:  # the same result, cell by cell (distinct cells: the order does not matter)
        assign_cells(state, dims, adopters, rows, cols, values, sources)


@njit(cache=True, parallel=True)
def differing_cells(practice, code):
    """Per employee, the dimensions where the playbook holds a belief (not 0) they do not."""
    n, m = practice.shape
    counts = np.empty(n, np.int64)
    for i in prange(n):
        c = 0
        for d in range(m):
            c += (code[d] != 0) & (practice[i, d] != code[d])
        counts[i] = c
    return counts


differing_cells_serial = serial_twin(differing_cells)


@njit(cache=True)
def geometric_ranks(rng, total, p1):
    """Ranks (ascending) of the cells taken among ``total`` cells, each with chance p1, by
    geometric skips: one draw per cell taken, and one more."""
    capacity = int(total * p1 + 6.0 * np.sqrt(total * p1) + 16)
    taken = np.empty(capacity, np.int64)  # ranks of the cells taken among the differing cells
    count = 0
    log_q = np.log1p(-p1) if p1 < 1.0 else -np.inf
    cell = -1
    while True:
        skip = 0.0 if p1 >= 1.0 else np.log(1.0 - rng.random()) / log_q  # geometric gap
        if cell + 1 + skip >= total:
            break
        cell += 1 + int(skip)
        if count == len(taken):
            taken = np.concatenate((taken, np.empty(capacity, np.int64)))
        taken[count] = cell
        count += 1
    return taken[:count]


@njit(cache=True)
def socialize_cells(rng, state, code, code_source, dims, adopters, p1, gradual):
    """Each (employee, dimension) cell takes the playbook's belief with chance p1 where the
    playbook holds a belief (not 0) that differs. Only such cells are visited, in row-major
    order by geometric skips (one draw per cell taken, not per cell): the draws pick the
    cells' ranks among the differing cells, one after another; finding and teaching the
    cells runs in parallel in large organizations."""
    practice = state[0]
    if len(practice) >= PARALLEL_MIN:
        counts = differing_cells(practice, code)
    else:
        counts = differing_cells_serial(practice, code)
    taken = geometric_ranks(rng, counts.sum(), p1)
    if len(taken) >= PARALLEL_MIN:
        rows, cols = _locate_cells(practice, code, counts, taken)
    else:
        rows, cols = _locate_cells_in_order(practice, code, counts, taken)
    teach(state, dims, adopters, rows, cols, code, code_source, gradual)


_DE_BRUIJN = 0x03F79D71B4CB0A89  # the lowest set bit -> its index, by one multiplication
_BIT_INDEX = np.zeros(64, np.int64)
for _bit in range(64):
    _BIT_INDEX[((1 << _bit) * _DE_BRUIJN % 2**64) >> 58] = _bit


@njit(cache=True, inline="always")
def _differing_column(practice, code, i, rank):
    """The dimension of employee i's differing cell of the given rank (0: the first):
    without a branch per dimension (a bit mask of the row) where m <= 64."""
    m = practice.shape[1]
    if m > 64:
        for d in range(m):
            if code[d] != 0 and practice[i, d] != code[d]:
                if rank == 0:
                    return d
                rank -= 1
        return -1
    mask = np.uint64(0)
    for d in range(m):
        mask |= np.uint64((code[d] != 0) & (practice[i, d] != code[d])) << np.uint64(d)
    for _ in range(rank):
        mask &= mask - np.uint64(1)  # drop the lowest differing dimension
    return _BIT_INDEX[((mask & (~mask + np.uint64(1))) * np.uint64(_DE_BRUIJN)) >> np.uint64(58)]


@njit(cache=True)
def _locate_cells_in_order(practice, code, counts, ranks):
    """:func:`_locate_cells` in one serial walk over the employees."""
    rows = np.empty(len(ranks), np.int64)
    cols = np.empty(len(ranks), np.int64)
    i, before = 0, 0  # differing cells of the employees before i
    for x in range(len(ranks)):
        while before + counts[i] <= ranks[x]:
            before += counts[i]
            i += 1
        rows[x], cols[x] = i, _differing_column(practice, code, i, ranks[x] - before)
    return rows, cols


@njit(cache=True, parallel=True)
def _locate_cells(practice, code, counts, ranks):
    """(employee, dimension) of the differing cells of the given ascending ranks
    (row-major), in fixed blocks of ranks: each block finds its first row, then walks on."""
    before = np.cumsum(counts) - counts  # differing cells of the employees before each
    rows = np.empty(len(ranks), np.int64)
    cols = np.empty(len(ranks), np.int64)
    blocks = (len(ranks) + RANK_BLOCK - 1) // RANK_BLOCK
    for b in prange(blocks):
        start, stop = b * RANK_BLOCK, min(len(ranks), (b + 1) * RANK_BLOCK)
        i = np.searchsorted(before, ranks[start], side="right") - 1
        for x in range(start, stop):
            while before[i] + counts[i] <= ranks[x]:
                i += 1
            rows[x], cols[x] = i, _differing_column(practice, code, i, ranks[x] - before[i])
    return rows, cols


@njit(cache=True)
def socialize_by_rate(rng, state, code, code_source, dims, adopters, rates, gradual):
    """Like :func:`socialize_cells`, with each employee's own rate (one draw per cell)."""
    practice = state[0]
    n, m = practice.shape
    rows = np.empty(n * m, np.int64)
    cols = np.empty(n * m, np.int64)
    count = 0
    for i in range(n):
        for d in range(m):
            if rng.random() < rates[i] and code[d] != 0 and practice[i, d] != code[d]:
                rows[count], cols[count] = i, d
                count += 1
    teach(state, dims, adopters, rows[:count], cols[:count], code, code_source, gradual)


@njit(cache=True)
def codify_ideas(registry, ideas, code, code_source, step):
    """Sanction the given ideas not sanctioned yet (in order) and write the beliefs of those
    that apply everywhere into the playbook (``registry``:
    :meth:`IdeaRegistry.kernel_arrays`)."""
    (origin, birth, sanctioned_step, squashed_step, reviewer, approvals, adopters, peak,
     step_half, step_wide, step_90, adoptions, forum_until, market, audience, value_at_birth,
     adopted_value_sum, sanctioned, squashed, is_probe, dims, values) = registry
    for k in ideas:
        if sanctioned[k]:
            continue
        sanctioned[k] = True
        sanctioned_step[k] = step
        if market[k] < 0:  # the playbook holds what applies everywhere
            for j in range(dims.shape[1]):
                code[dims[k, j]] = values[k, j]
                code_source[dims[k, j]] = k


@njit(cache=True, inline="always")
def _is_widely_used(adopters, audience, sanctioned, squashed, needs_approval, codify_share):
    """One idea's test, on its values (scalars: an array handed to a helper in a loop
    costs atomic reference counts, ~60 ns an idea here)."""
    return (adopters >= codify_share * audience and not sanctioned and not squashed
            and not needs_approval)


@njit(cache=True, parallel=True)
def _widely_used_blocks(adopters, audience, sanctioned, squashed, origin, needs_approval,
                        codify_share, n_ideas):
    """The ids of :func:`widely_used`, found in fixed blocks of ideas in parallel (counted,
    then written at each block's offset: ascending ids on any number of threads)."""
    blocks = (n_ideas + IDEA_BLOCK - 1) // IDEA_BLOCK
    found = np.zeros(blocks + 1, np.int64)
    for b in prange(blocks):
        for k in range(b * IDEA_BLOCK, min(n_ideas, (b + 1) * IDEA_BLOCK)):
            found[b + 1] += _is_widely_used(adopters[k], audience[k], sanctioned[k],
                                            squashed[k], needs_approval[origin[k]],
                                            codify_share)
    offsets = np.cumsum(found)
    wide = np.empty(offsets[-1], np.int64)
    for b in prange(blocks):
        at = offsets[b]
        for k in range(b * IDEA_BLOCK, min(n_ideas, (b + 1) * IDEA_BLOCK)):
            if _is_widely_used(adopters[k], audience[k], sanctioned[k], squashed[k],
                               needs_approval[origin[k]], codify_share):
                wide[at] = k
                at += 1
    return wide


@njit(cache=True)
def widely_used(registry, n_ideas, codify_share, needs_approval):
    """Live ideas used by at least ``codify_share`` of their audience, neither sanctioned
    nor squashed, whose originator needs no approval (ascending ids)."""
    (origin, birth, sanctioned_step, squashed_step, reviewer, approvals, adopters, peak,
     step_half, step_wide, step_90, adoptions, forum_until, market, audience, value_at_birth,
     adopted_value_sum, sanctioned, squashed, is_probe, dims, values) = registry
    if n_ideas >= PARALLEL_MIN:
        return _widely_used_blocks(adopters, audience, sanctioned, squashed, origin,
                                   needs_approval, codify_share, n_ideas)
    wide = np.empty(n_ideas, np.int64)
    count = 0
    for k in range(n_ideas):
        if _is_widely_used(adopters[k], audience[k], sanctioned[k], squashed[k],
                           needs_approval[origin[k]], codify_share):
            wide[count] = k
            count += 1
    return wide[:count]


@njit(cache=True)
def learn_from_superior(rng, state, code, code_source, p2):
    """March's p2: the playbook learns from the employees who fit needs better (one draw
    per dimension, taken only if there are any)."""
    practice, source, matches, ideas_in_use, need = state
    code_matches = 0
    for d in range(len(code)):
        code_matches += code[d] == need[d]
    if len(practice) >= PARALLEL_MIN:
        plus, minus, superior = superior_beliefs(practice, matches, code_matches)
    else:
        plus, minus, superior = superior_beliefs_serial(practice, matches, code_matches)
    if superior == 0:
        return
    draws = np.empty(len(code))
    for d in range(len(code)):
        draws[d] = rng.random()
    learn_code(plus, minus, code, code_source, draws, p2, OWN)


@njit(cache=True)
def playbook_step(rng, bundle, n_ideas, step, codify_share, p2, p1, gradual):
    """One step of the playbook in one call: codify widely used ideas (where some need no
    approval), learn from the best (p2 > 0), socialize at one rate p1 (p1 > 0)."""
    registry, state, code, code_source, needs_approval, codify = bundle.arrays
    dims, adopters = registry[20], registry[6]
    if codify[0]:
        codify_ideas(registry, widely_used(registry, n_ideas, codify_share, needs_approval),
                     code, code_source, step)
    if p2 > 0:
        learn_from_superior(rng, state, code, code_source, p2)
    if p1 > 0:
        socialize_cells(rng, state, code, code_source, dims, adopters, p1, gradual)


def learner_rates(n: int, slow_share: float, fast: float, slow: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Socialization rate of each employee: round(slow_share * n) random slow learners."""
    rates = np.full(n, fast)
    rates[rng.permutation(n)[: round(slow_share * n)]] = slow
    return rates


class Playbook(Process):
    """Codifies ideas, learns from the best performers, and socializes employees."""

    name = "playbook"

    def __init__(self, model):
        super().__init__(model)
        p = model.p
        self.gradual = p.socialization_mode == "gradual"
        self.slow = None  # who learns at slow_socialization_rate (None: nobody)
        if p.slow_learner_share > 0:
            self.slow = learner_rates(p.n_employees, p.slow_learner_share, 0.0, 1.0,
                                      model.streams["learners"]) == 1.0
        self._arrays = BundleCache(self.kernel_arrays)
        self._step = Entry(playbook_step)
        self._one_rate: float | None = None  # everyone's socialization rate, if all share one

    def kernel_arrays(self) -> tuple:
        """(registry, beliefs, code, code_source, needs approval, [codify?]) for the kernels;
        also notes whether everyone socializes at one rate."""
        m = self.model
        self._one_rate = self.one_rate()
        needs_approval = m.per_employee("approval_levels") > 0  # by originator
        return (m.ideas.kernel_arrays(), m.beliefs.state(), m.beliefs.code, m.beliefs.code_source,
                needs_approval, np.array([not needs_approval.all()]))

    def _key(self) -> tuple:
        m = self.model
        return m.p, m.local.version, m.roles_version, m.ideas.version

    def codify(self, ideas: np.ndarray) -> None:
        """Sanction ideas and write their beliefs into the playbook."""
        m = self.model
        codify_ideas(m.ideas.kernel_arrays(), np.ascontiguousarray(ideas, np.int64),
                     m.beliefs.code, m.beliefs.code_source, m.steps)

    def codify_widely_used(self) -> None:
        m = self.model
        self._arrays.get(self._key())
        registry, _, code, code_source, needs_approval, codify = self._arrays.arrays
        if codify[0]:
            codify_ideas(registry, widely_used(registry, m.ideas.n, m.p.codify_share,
                                               needs_approval), code, code_source, m.steps)

    def learn_from_best(self) -> None:
        b, p2 = self.model.beliefs, self.model.p.codification_rate
        if p2 <= 0:
            return
        if self.model.p.code_learning_basis != "actions":
            learn_from_superior(self.rng, b.state(), b.code, b.code_source, float(p2))
            return
        plus, minus, superior = self.superior_actions()
        if superior == 0:
            return
        learn_code(plus, minus, b.code, b.code_source, self.rng.random(b.m), float(p2),
                   np.int64(OWN))

    def superior_actions(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Like :func:`superior_beliefs`, on actions: where one holds no belief one acts on a
        coin flip; actions and the playbook are scored as matches minus mismatches."""
        b = self.model.beliefs
        coin = coin_signs(self.rng, b.practice.shape)
        acts = np.where(b.practice != 0, b.practice, coin)
        score = (acts.astype(np.int64) * b.need).sum(axis=1)
        superior = score > int((b.code.astype(np.int64) * b.need).sum())
        chosen = acts[superior]
        return ((chosen == 1).sum(axis=0), (chosen == -1).sum(axis=0), int(superior.sum()))

    @property
    def rates(self) -> np.ndarray:
        """Each employee's socialization rate now: slow learners at
        ``slow_socialization_rate``, everyone else at their per-unit ``socialization_rate``."""
        m = self.model
        rates = m.per_employee("socialization_rate")
        return rates if self.slow is None else np.where(self.slow, m.p.slow_socialization_rate,
                                                        rates)

    def one_rate(self) -> float | None:
        """Everyone's socialization rate if all share one (None: slow learners, or a
        roadmap's per-unit values that differ)."""
        m = self.model
        if self.slow is not None:
            return None
        if "socialization_rate" not in m.local.values:
            return float(m.p.socialization_rate)
        rates = self.rates
        return None if (rates != rates[0]).any() else float(rates[0])

    def socialize(self) -> None:
        """Each learner at their own rate (slow learners, or a roadmap's per-unit values);
        where all share one rate, cell by cell at that rate (the same law, fewer draws)."""
        b, reg = self.model.beliefs, self.model.ideas
        p1 = self.one_rate()
        if p1 is None:
            socialize_by_rate(self.rng, b.state(), b.code, b.code_source, reg.dims, reg.adopters,
                              self.rates, self.gradual)
        elif p1 > 0:
            socialize_cells(self.rng, b.state(), b.code, b.code_source, reg.dims, reg.adopters,
                            p1, self.gradual)

    def step(self) -> None:
        m = self.model
        bundle = self._arrays.get(self._key())
        if self._one_rate is None or m.p.code_learning_basis == "actions":
            self.codify_widely_used()
            self.learn_from_best()
            self.socialize()
            return
        self._step(bundle, self.rng, bundle, m.ideas.n, m.steps, float(m.p.codify_share),
                   float(m.p.codification_rate), self._one_rate, self.gradual)
