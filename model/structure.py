"""Networks: formal positions (reporting lines, units) and informal ties.

Formal structure lives in *position* space. Positions are numbered so that every
unit and every manager's direct reports are contiguous ranges; this keeps formal
ties implicit (no edge lists) and lets a partner be sampled in O(1). Employees
occupy positions (``occupant``/``position_of``); elections swap occupants.

Informal ties live in *employee* space: a Watts-Strogatz small world over employees
in initial position order (so unrewired ties cluster inside units), stored as a CSR
of directed half-edges over undirected ties that carry a strength.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields

import numpy as np
from numba import njit

from model.parameters import Parameters

#: Largest organization whose generated structure is kept, read-only, for the next model
#: of the same shape (a sweep builds thousands; each gets its own copy of the arrays).
CACHED_STRUCTURE_MAX = 20_000


@dataclass
class FormalStructure:
    """Reporting lines and units over positions 0..n-1 (all arrays indexed by position)."""

    parent: np.ndarray  # manager position, -1 if none
    level: np.ndarray  # 0 = top
    unit: np.ndarray  # unit id (position of the unit's first member)
    unit_start: np.ndarray  # first position of the unit
    unit_size: np.ndarray
    child_start: np.ndarray  # first direct report (contiguous range)
    n_children: np.ndarray
    authority: np.ndarray  # formal authority in [0, 1]
    front_line: np.ndarray  # bool: no direct reports

    @property
    def n(self) -> int:
        return len(self.parent)

    @property
    def is_manager(self) -> np.ndarray:
        return self.n_children > 0

    def copy(self) -> FormalStructure:
        """The same structure in arrays of its own (writable)."""
        return FormalStructure(*(getattr(self, f.name).copy() for f in fields(self)))

    def read_only(self) -> FormalStructure:
        """This structure with its arrays made read-only (a cached template)."""
        for f in fields(self):
            getattr(self, f.name).flags.writeable = False
        return self


def build_formal_structure(p: Parameters) -> FormalStructure:
    """Build the formal structure named by ``p.formal_structure``: arrays of its own,
    copied from a cached template up to CACHED_STRUCTURE_MAX positions (the structure
    depends only on the kind, the size and the span, never on the seed)."""
    shape = (p.formal_structure, p.n_employees, p.span_of_control)
    if p.n_employees <= CACHED_STRUCTURE_MAX:
        return _structure_template(*shape).copy()
    return _generate(*shape)


@functools.lru_cache(maxsize=32)
def _structure_template(kind: str, n: int, span: int) -> FormalStructure:
    """The read-only generated structure of a kind, size and span."""
    return _generate(kind, n, span).read_only()


def _generate(kind: str, n: int, span: int) -> FormalStructure:
    builders = {"tree": _tree, "teams": _teams, "none": _no_structure}
    return _assemble(*builders[kind](n, span))


def build_chart_structure(parent: np.ndarray) -> FormalStructure:
    """The formal structure of an imported chart: ``parent`` (manager position, -1 for a
    top) in breadth-first order, so each manager's direct reports are contiguous and
    follow all positions of lower depth. A unit is a manager's direct reports; a single
    top joins its reports' unit (as in the generated tree); several tops form one top team
    (a unit of peers without a common manager). Arbitrary depth and uneven spans."""
    parent = np.asarray(parent, dtype=np.int64)
    n = len(parent)
    tops = np.flatnonzero(parent < 0)
    if len(tops) == 0 or tops[-1] != len(tops) - 1 or (parent[len(tops):] >= np.arange(
            len(tops), n)).any():
        raise ValueError("chart positions must be in breadth-first order (tops first, "
                         "managers before their reports)")
    n_children = np.bincount(parent[parent >= 0], minlength=n)
    child_start = np.full(n, n, dtype=np.int64)
    has_parent = np.flatnonzero(parent >= 0)
    np.minimum.at(child_start, parent[has_parent], has_parent)
    if (np.diff(parent[has_parent]) < 0).any():
        raise ValueError("chart positions must keep each manager's reports contiguous")
    unit_start = np.where(parent >= 0, child_start[np.maximum(parent, 0)], 0)
    unit_size = np.where(parent >= 0, n_children[np.maximum(parent, 0)], len(tops))
    if len(tops) == 1:  # the top joins its reports' unit, as in the generated tree
        reports = parent == 0
        unit_start[reports] = 0
        unit_size[0] = unit_size[reports] = 1 + n_children[0]
    return _assemble(parent, unit_start.astype(np.int64), unit_size.astype(np.int64))


def _assemble(parent: np.ndarray, unit_start: np.ndarray, unit_size: np.ndarray
              ) -> FormalStructure:
    n = len(parent)
    n_children = np.bincount(parent[parent >= 0], minlength=n).astype(np.int64)
    child_start = np.full(n, n, dtype=np.int64)
    has_parent = np.flatnonzero(parent >= 0)
    np.minimum.at(child_start, parent[has_parent], has_parent)
    level = _levels(parent)
    top = level.max()
    authority = (top - level) / top if top > 0 else np.zeros(n)
    return FormalStructure(parent=parent, level=level, unit=unit_start.copy(),
                           unit_start=unit_start, unit_size=unit_size, child_start=child_start,
                           n_children=n_children, authority=authority.astype(np.float64),
                           front_line=n_children == 0)


def _tree(n: int, span: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breadth-first reporting tree: position p reports to (p - 1) // span."""
    pos = np.arange(n)
    parent = np.where(pos > 0, (pos - 1) // span, -1)
    # unit = the manager's direct reports; the root joins its own reports' unit
    unit_start = np.where(pos > 0, parent * span + 1, 0)
    unit_start[1:min(n, span + 1)] = 0
    unit_end = np.minimum(np.where(unit_start == 0, span + 1, unit_start + span), n)
    return parent, unit_start, unit_end - unit_start


def _teams(n: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat teams of ``size``; each team's first position coordinates the others."""
    pos = np.arange(n)
    unit_start = (pos // size) * size
    parent = np.where(pos == unit_start, -1, unit_start)
    unit_size = np.minimum(unit_start + size, n) - unit_start
    return parent, unit_start, unit_size


def _no_structure(n: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """No reporting lines; units of ``size`` remain as work groups."""
    pos = np.arange(n)
    unit_start = (pos // size) * size
    return np.full(n, -1), unit_start, np.minimum(unit_start + size, n) - unit_start


def _levels(parent: np.ndarray) -> np.ndarray:
    """Depth of each position (parents always precede children)."""
    level = np.zeros(len(parent), dtype=np.int64)
    has_parent = parent >= 0
    # parents precede children, so a fixed-point sweep per depth suffices
    frontier = ~has_parent
    depth = 0
    known = frontier.copy()
    while not known.all():
        depth += 1
        nxt = has_parent & ~known & known[np.where(has_parent, parent, 0)]
        level[nxt] = depth
        known |= nxt
    return level


@dataclass
class InformalNetwork:
    """Undirected informal ties with strengths, as a CSR of directed half-edges."""

    u: np.ndarray  # undirected tie endpoints (employee ids)
    v: np.ndarray
    strength: np.ndarray  # per undirected tie
    indptr: np.ndarray  # CSR over half-edges sorted by source
    target: np.ndarray  # half-edge target employee
    tie: np.ndarray  # half-edge -> undirected tie id

    @property
    def n_ties(self) -> int:
        return len(self.u)


def build_small_world(n: int, degree: int, rewiring: float, strength: float,
                      rng: np.random.Generator) -> InformalNetwork:
    """Watts-Strogatz ring of ``degree`` neighbours with each tie's far end rewired."""
    half = degree // 2
    rewire = rng.random(n * half) < rewiring
    count = int(np.count_nonzero(rewire))
    new = rng.integers(0, n - 1, count) if count else np.zeros(0, np.int64)
    u, v = _ring_ties(n, half, rewire, new)
    return tie_network(n, u, v, np.full(len(u), strength))


@njit(cache=True)
def _ring_ties(n, half, rewire, new):
    """Ties of employee i to i+1..i+half (mod n), in that order; the far end of the k-th
    rewired tie moved to ``new[k]``, skipping i itself (never a self-tie)."""
    u = np.empty(n * half, np.int64)
    v = np.empty(n * half, np.int64)
    k = 0
    for i in range(n):
        for j in range(half):
            x = i * half + j
            u[x] = i
            if rewire[x]:
                v[x] = new[k] + (new[k] >= i)
                k += 1
            else:
                v[x] = (i + j + 1) % n
    return u, v


def tie_network(n: int, u: np.ndarray, v: np.ndarray, strength: np.ndarray) -> InformalNetwork:
    """The CSR of undirected ties ``u``-``v`` (employee ids) with their strengths: tie k
    gives half-edges u[k]->v[k] and v[k]->u[k]; each employee's half-edges are those
    out of u in tie order, then those out of v in tie order."""
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    indptr, target, tie = _half_edges(n, u, v)
    return InformalNetwork(u=u, v=v, strength=np.asarray(strength, dtype=np.float64),
                           indptr=indptr, target=target, tie=tie)


@njit(cache=True)
def _half_edges(n, u, v):
    """(indptr, target, tie) of the half-edges of ties u-v sorted by source, stably in
    the order u[0..], v[0..] (a counting sort)."""
    ties = len(u)
    indptr = np.zeros(n + 1, np.int64)
    for k in range(ties):
        indptr[u[k] + 1] += 1
        indptr[v[k] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    at = indptr[:-1].copy()
    target = np.empty(2 * ties, np.int64)
    tie = np.empty(2 * ties, np.int64)
    for k in range(ties):
        target[at[u[k]]], tie[at[u[k]]] = v[k], k
        at[u[k]] += 1
    for k in range(ties):
        target[at[v[k]]], tie[at[v[k]]] = u[k], k
        at[v[k]] += 1
    return indptr, target, tie


def empty_network(n: int) -> InformalNetwork:
    """A network with no informal ties (fully mixed, or degree 0)."""
    z = np.zeros(0, dtype=np.int64)
    return InformalNetwork(u=z, v=z, strength=np.zeros(0), indptr=np.zeros(n + 1, np.int64),
                           target=z, tie=z)


def build_markets(n: int, market_size: int) -> np.ndarray:
    """Market of each employee: round(n / market_size) (at least 1) contiguous blocks of
    employees in initial position order, as equal in size as they can be."""
    k = max(1, round(n / market_size))
    return (np.arange(n) * k // n).astype(np.int64)
