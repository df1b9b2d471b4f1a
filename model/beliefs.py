"""Practices, customer needs and the playbook in March's (1991) representation.

Customer needs are a vector in {-1, +1}^m. Every employee's practice and the playbook
(the organizational code) hold beliefs in {-1, 0, +1}^m; fit is the share of
dimensions where belief equals need. ``source[i, d]`` records which idea an
employee's belief on dimension d came from (-1: their own, initial belief).

:meth:`Beliefs.assign` is the only writer of practices, so fit, idea adopter counts
and ideas-in-use are maintained incrementally instead of rescanning n x m cells.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from model.ideas import IdeaRegistry
from model.parallel import PARALLEL_MIN, serial_twin
from model.rng import coin_signs

OWN = -1


@njit(cache=True)
def assign_cells(state, dims, adopters, rows, cols, values, sources):
    """Write beliefs cell by cell, keeping fit counts, ideas-in-use and adopter counts exact.

    The only writer of practices. An employee uses idea k while their belief on k's
    anchor (first) dimension comes from k, so adopter counts move with anchor cells.
    """
    practice, source, matches, ideas_in_use, need = state
    for x in range(len(rows)):
        i, d, value, src = rows[x], cols[x], values[x], sources[x]
        old_value, old_src = practice[i, d], source[i, d]
        matches[i] += np.int64(value == need[d]) - np.int64(old_value == need[d])
        ideas_in_use[i] += np.int64(src >= 0) - np.int64(old_src >= 0)
        if old_src >= 0 and dims[old_src, 0] == d:
            adopters[old_src] -= 1
        if src >= 0 and dims[src, 0] == d:
            adopters[src] += 1
        practice[i, d] = value
        source[i, d] = src


CELL_BLOCK = 4096  # cells per block of a parallel write (whole rows; fixed, not per thread)


@njit(cache=True)
def assign_distinct_cells(state, dims, adopters, rows, cols, values, sources):
    """:func:`assign_cells` for distinct cells sorted by row, in parallel: rows are split
    into fixed blocks, each written by one thread; the adopter counts of ideas, shared by
    all rows, are moved afterwards. Every count is an integer and every cell is written
    once, so the result equals :func:`assign_cells` on any number of threads."""
    practice, source, matches, ideas_in_use, need = state
    args = (practice, source, matches, ideas_in_use, need, dims, rows, cols, values, sources)
    dropped, gained = _write_rows(*args) if len(rows) >= PARALLEL_MIN else _write_rows_serial(*args)
    for x in range(len(rows)):
        if dropped[x] >= 0:
            adopters[dropped[x]] -= 1
        if gained[x] >= 0:
            adopters[gained[x]] += 1


@njit(cache=True, inline="always")
def _row_block_start(rows, b):
    """First cell of block b: the first cell at or after b * CELL_BLOCK that starts a row."""
    x = min(b * CELL_BLOCK, len(rows))
    while 0 < x < len(rows) and rows[x] == rows[x - 1]:
        x += 1
    return x


@njit(cache=True, parallel=True)
def _write_rows(practice, source, matches, ideas_in_use, need, dims, rows, cols, values,
                sources):
    # arrays come one by one: numba 0.68 loses writes in a parallel loop to arrays
    # unpacked from a tuple argument
    dropped = np.full(len(rows), -1, np.int64)  # idea whose anchor cell is given up, per cell
    gained = np.full(len(rows), -1, np.int64)  # idea whose anchor cell is taken, per cell
    blocks = (len(rows) + CELL_BLOCK - 1) // CELL_BLOCK
    for b in prange(blocks):
        for x in range(_row_block_start(rows, b), _row_block_start(rows, b + 1)):
            i, d, value, src = rows[x], cols[x], values[x], sources[x]
            old_value, old_src = practice[i, d], source[i, d]
            matches[i] += np.int64(value == need[d]) - np.int64(old_value == need[d])
            ideas_in_use[i] += np.int64(src >= 0) - np.int64(old_src >= 0)
            if old_src >= 0 and dims[old_src, 0] == d:
                dropped[x] = old_src
            if src >= 0 and dims[src, 0] == d:
                gained[x] = src
            practice[i, d] = value
            source[i, d] = src
    return dropped, gained


_write_rows_serial = serial_twin(_write_rows)


@njit(cache=True)
def flip_needs(practice, need, matches, flipped):
    """Flip the need on the ``flipped`` dimensions, in order, keeping fit counts exact."""
    for d in flipped:
        for i in range(practice.shape[0]):
            matches[i] -= np.int64(practice[i, d] == need[d])
        need[d] = -need[d]
        for i in range(practice.shape[0]):
            matches[i] += np.int64(practice[i, d] == need[d])


@njit(cache=True)
def _cell_buffers(size):
    """Room for ``size`` cell writes: (rows, cols, values, sources) for :func:`assign_cells`."""
    rows = np.empty(size, np.int64)
    return rows, np.empty_like(rows), np.empty(size, np.int8), np.empty_like(rows)


@njit(cache=True)
def adopt_all(state, dims, values, adopters, employees, ideas, threads=1):
    """Employees take up one idea each, in order (the beliefs written in parallel on
    several ``threads`` when many, :func:`assign_in_row_ranges`).

    Beliefs change where the idea differs from current practice; the idea's anchor is
    always taken. Where the idea agrees with what one already does, the belief keeps its
    source, so a newer idea does not take credit for an older practice.
    """
    practice = state[0]
    scope = dims.shape[1]
    rows, cols, new_values, sources = _cell_buffers(len(employees) * scope)
    count = 0
    for x in range(len(employees)):
        i, k = employees[x], ideas[x]
        for j in range(scope):
            d, v = dims[k, j], values[k, j]
            if j == 0 or practice[i, d] != v:
                rows[count], cols[count], new_values[count], sources[count] = i, d, v, k
                count += 1
    rows, cols, new_values, sources = (rows[:count], cols[:count], new_values[:count],
                                       sources[:count])
    if threads > 1 and count >= PARALLEL_MIN // 10 and practice.shape[0] >= PARALLEL_MIN:
        assign_in_row_ranges(state, dims, adopters, rows, cols, new_values, sources)
    else:
        assign_cells(state, dims, adopters, rows, cols, new_values, sources)


ROW_RANGES = 64  # ranges of employees written apart by assign_in_row_ranges (fixed)


@njit(cache=True)
def assign_in_row_ranges(state, dims, adopters, rows, cols, values, sources):
    """:func:`assign_cells` for cells in any order (a cell may recur), in parallel: the
    employees are split into ROW_RANGES fixed ranges, the cells of each range are written
    in their order by one thread; the adopter counts of ideas, shared by all rows, are
    moved afterwards. Each row sees its cells in order and every count is an integer, so
    the result equals :func:`assign_cells` on any number of threads. For calls of an
    organization whose steps run parallel loops anyway (PARALLEL_MIN // 10 cells or more)."""
    practice, source, matches, ideas_in_use, need = state
    n = practice.shape[0]
    first = np.zeros(ROW_RANGES + 1, np.int64)  # the cells of each range, in their order
    for x in range(len(rows)):
        first[rows[x] * ROW_RANGES // n + 1] += 1
    for b in range(ROW_RANGES):
        first[b + 1] += first[b]
    at = first[:-1].copy()
    order = np.empty(len(rows), np.int64)
    for x in range(len(rows)):
        b = rows[x] * ROW_RANGES // n
        order[at[b]] = x
        at[b] += 1
    dropped, gained = _write_row_ranges(practice, source, matches, ideas_in_use, need, dims,
                                        rows, cols, values, sources, order, first)
    for x in range(len(rows)):
        if dropped[x] >= 0:
            adopters[dropped[x]] -= 1
        if gained[x] >= 0:
            adopters[gained[x]] += 1


@njit(cache=True, parallel=True)
def _write_row_ranges(practice, source, matches, ideas_in_use, need, dims, rows, cols, values,
                      sources, order, first):
    dropped = np.empty(len(rows), np.int64)  # idea whose anchor cell is given up, per cell
    gained = np.empty(len(rows), np.int64)  # idea whose anchor cell is taken, per cell
    for b in prange(len(first) - 1):
        for y in range(first[b], first[b + 1]):
            x = order[y]
            i, d, value, src = rows[x], cols[x], values[x], sources[x]
            old_value, old_src = practice[i, d], source[i, d]
            matches[i] += np.int64(value == need[d]) - np.int64(old_value == need[d])
            ideas_in_use[i] += np.int64(src >= 0) - np.int64(old_src >= 0)
            dropped[x] = old_src if old_src >= 0 and dims[old_src, 0] == d else -1
            gained[x] = src if src >= 0 and dims[src, 0] == d else -1
            practice[i, d] = value
            source[i, d] = src
    return dropped, gained


@njit(cache=True)
def revert_pairs(state, code, code_source, dims, adopters, employees, ideas):
    """Employees (unique) drop one idea each: every belief still sourced from the idea
    falls back on the playbook's belief (and its source)."""
    source = state[1]
    scope = dims.shape[1]
    rows, cols, values, sources = _cell_buffers(len(employees) * scope)
    count = 0
    for x in range(len(employees)):
        i, k = employees[x], ideas[x]
        for j in range(scope):
            d = dims[k, j]
            if source[i, d] == k:
                rows[count], cols[count] = i, d
                values[count], sources[count] = code[d], code_source[d]
                count += 1
    assign_cells(state, dims, adopters, rows[:count], cols[:count], values[:count],
                 sources[:count])


class Beliefs:
    """Employee practices, their sources, the needs and the playbook."""

    def __init__(self, n: int, m: int, ideas: IdeaRegistry, rng: np.random.Generator):
        self.n, self.m = n, m
        self.ideas = ideas
        self.need = coin_signs(rng, (m,))
        self.practice = rng.integers(-1, 2, size=(n, m), dtype=np.int8)
        self.source = np.full((n, m), OWN, dtype=np.int32)
        self.code = np.zeros(m, dtype=np.int8)
        self.code_source = np.full(m, OWN, dtype=np.int64)
        self.matches = (self.practice == self.need).sum(axis=1).astype(np.int64)
        self.ideas_in_use = np.zeros(n, dtype=np.int64)  # dimensions sourced from ideas

    @property
    def fit(self) -> np.ndarray:
        """Share of dimensions where each employee's practice matches the need."""
        return self.matches / self.m

    @property
    def code_fit(self) -> float:
        return np.count_nonzero(self.code == self.need) / self.m

    def state(self) -> tuple:
        """Arrays the compiled kernels update: (practice, source, matches, ideas_in_use, need)."""
        return self.practice, self.source, self.matches, self.ideas_in_use, self.need

    def assign(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
               sources: np.ndarray) -> None:
        """Set practice[rows, cols] = values from ``sources``, cell by cell, in order."""
        if len(rows):
            assign_cells(self.state(), self.ideas.dims, self.ideas.adopters,
                         rows.astype(np.int64), cols.astype(np.int64),
                         values.astype(np.int8), sources.astype(np.int64))

    def adopt(self, employees: np.ndarray, ideas: np.ndarray) -> None:
        """Employees take up one idea each (see :func:`adopt_idea`)."""
        adopt_all(self.state(), self.ideas.dims, self.ideas.values, self.ideas.adopters,
                  employees.astype(np.int64), ideas.astype(np.int64))

    def uses(self, employees: np.ndarray, ideas: np.ndarray) -> np.ndarray:
        """Whether each employee still uses the paired idea (its anchor belief comes from it)."""
        anchor = self.ideas.anchor[np.maximum(ideas, 0)]
        return (ideas >= 0) & (self.source.ravel()[employees * self.m + anchor] == ideas)

    def drift(self, flipped: np.ndarray) -> None:
        """Flip the need on ``flipped`` dimensions, keeping fit counts exact."""
        if len(flipped):
            flip_needs(self.practice, self.need, self.matches, np.asarray(flipped, np.int64))
