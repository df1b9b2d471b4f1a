"""Ideas (innovations): a growable struct-of-arrays registry.

An idea is a changed belief on ``scope`` dimensions of the practice vector. Its first
dimension is its *anchor*: an employee uses idea k while their belief on k's anchor
still comes from k. An idea applies in one market (``market``; -1 = everywhere) to its
``audience`` of employees; adoption shares are taken over that audience. Adopter counts
are kept incrementally by :class:`Beliefs`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from model.bundle import BundleCache
from model.parallel import PARALLEL_MIN, serial_twin

NEVER = -1


@njit(cache=True, parallel=True)
def first_passages(adopters, audience, peak, step_half, step_wide, step_90, wide_share, step,
                   counts):
    """Raise each idea's peak to its adopters; the first step its share of its audience
    reaches one half, ``wide_share`` and 0.9; copy the adopter counts into ``counts`` (one
    pass over the live ideas, each idea on its own: in parallel for many ideas)."""
    for k in prange(len(adopters)):
        peak[k] = max(peak[k], adopters[k])
        share = adopters[k] / audience[k]
        if step_half[k] == NEVER and share >= 0.5:
            step_half[k] = step
        if step_wide[k] == NEVER and share >= wide_share:
            step_wide[k] = step
        if step_90[k] == NEVER and share >= 0.9:
            step_90[k] = step
        counts[k] = adopters[k]


first_passages_serial = serial_twin(first_passages)


@njit(cache=True)
def record_adopters(registry, n, wide_share, step):
    """:func:`first_passages` (serial) over the first ``n`` ideas of ``registry`` (a bundle
    of :meth:`IdeaRegistry.kernel_arrays`); returns their adopter counts (int32)."""
    return record_from(registry.arrays, n, wide_share, step)


@njit(cache=True)
def record_from(registry, n, wide_share, step):
    """:func:`record_adopters` on the arrays of :meth:`IdeaRegistry.kernel_arrays`."""
    (origin, birth, sanctioned_step, squashed_step, reviewer, approvals, adopters, peak,
     step_half, step_wide, step_90, adoptions, forum_until, market, audience, value_at_birth,
     adopted_value_sum, sanctioned, squashed, is_probe, dims, values) = registry
    counts = np.empty(n, np.int32)
    first_passages_serial(adopters[:n], audience[:n], peak[:n], step_half[:n], step_wide[:n],
                          step_90[:n], wide_share, step, counts)
    return counts


class IdeaRegistry:
    """All ideas born in a run, one array per attribute, grown by doubling."""

    _int_fields = ("origin", "birth", "sanctioned_step", "squashed_step", "reviewer", "approvals",
                   "adopters", "peak", "step_half", "step_wide", "step_90", "adoptions",
                   "forum_until", "market", "audience")
    _float_fields = ("value_at_birth", "adopted_value_sum")
    _bool_fields = ("sanctioned", "squashed", "is_probe")
    FIELDS = (*_int_fields, *_float_fields, *_bool_fields, "dims", "values")

    def __init__(self, scope: int, capacity: int = 256):
        self.scope = scope
        self.n = 0
        self.dims = np.zeros((capacity, scope), dtype=np.int64)
        self.values = np.zeros((capacity, scope), dtype=np.int8)
        # each kind's arrays: rows of one block (growth replaces them by arrays of their own)
        blocks = (np.full((len(self._int_fields), capacity), NEVER, dtype=np.int64),
                  np.zeros((len(self._float_fields), capacity)),
                  np.zeros((len(self._bool_fields), capacity), dtype=bool))
        for names, block in zip((self._int_fields, self._float_fields, self._bool_fields),
                                blocks, strict=True):
            for name, row in zip(names, block, strict=True):
                setattr(self, name, row)
        self.history: list[np.ndarray] = []  # adopters of every idea, one array per step
        self.version = 0  # bumped whenever the arrays are replaced (growth)
        self._kernel_arrays: tuple = (-1, ())
        self._bundle = BundleCache(self.kernel_arrays)

    @property
    def capacity(self) -> int:
        return len(self.origin)

    @property
    def anchor(self) -> np.ndarray:
        """Anchor dimension of every slot (valid for the first ``n``)."""
        return self.dims[:, 0]

    def reserve(self, extra: int) -> None:
        """Room for ``extra`` more ideas (arrays replaced, doubling, if needed)."""
        if self.n + extra > self.capacity:
            self._grow(self.n + extra)

    def kernel_arrays(self) -> tuple:
        """Every attribute array, in the order of ``FIELDS``, for compiled kernels (see
        :func:`unpack`). Valid until the next growth (``version``)."""
        if self._kernel_arrays[0] != self.version:
            self._kernel_arrays = (self.version, tuple(getattr(self, f) for f in self.FIELDS))
        return self._kernel_arrays[1]

    def _grow(self, needed: int) -> None:
        self.version += 1
        new_cap = max(needed, 2 * self.capacity)
        extra = new_cap - self.capacity
        self.dims = np.vstack([self.dims, np.zeros((extra, self.scope), np.int64)])
        self.values = np.vstack([self.values, np.zeros((extra, self.scope), np.int8)])
        for name in self._int_fields:
            setattr(self, name, np.concatenate([getattr(self, name), np.full(extra, NEVER)]))
        for name in self._float_fields:
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(extra)]))
        for name in self._bool_fields:
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(extra, bool)]))

    def add(self, origin: np.ndarray, dims: np.ndarray, values: np.ndarray, birth: int,
            value_at_birth: np.ndarray, forum_until: int, market: np.ndarray,
            audience: np.ndarray) -> np.ndarray:
        """Register new ideas; returns their ids."""
        k = len(origin)
        if self.n + k > self.capacity:
            self._grow(self.n + k)
        new = slice(self.n, self.n + k)
        self.origin[new] = origin
        self.birth[new] = birth
        self.dims[new] = dims
        self.values[new] = values
        self.value_at_birth[new] = value_at_birth
        self.adopters[new] = 0
        self.peak[new] = 0
        self.adoptions[new] = 0
        self.approvals[new] = 0
        self.forum_until[new] = forum_until
        self.market[new] = market
        self.audience[new] = audience
        self.n += k
        return np.arange(new.start, new.stop)

    def true_value(self, ids: np.ndarray, need: np.ndarray) -> np.ndarray:
        """Value of ideas against current needs: mean of +1 (right) / -1 (wrong) beliefs."""
        right = self.values[ids] == need[self.dims[ids]]
        return 2.0 * right.mean(axis=1) - 1.0

    def record_step(self, step: int, wide_share: float) -> None:
        """Update peaks and first-passage steps (shares of each idea's audience), and append
        this step's adopter counts."""
        n = self.n
        if n == 0:  # (before any idea: no bundle to make)
            self.history.append(np.empty(0, np.int32))
            return
        if n < PARALLEL_MIN:
            self.history.append(record_adopters(self.bundle(), n, float(wide_share), int(step)))
            return
        counts = np.empty(n, np.int32)  # many ideas: in parallel (a structref-taking kernel
        # calling a parallel one crashed when loaded from numba's cache)
        first_passages(self.adopters[:n], self.audience[:n], self.peak[:n], self.step_half[:n],
                       self.step_wide[:n], self.step_90[:n], float(wide_share), int(step), counts)
        self.history.append(counts)

    def bundle(self):
        """The registry's arrays as one compiled-call argument (rebuilt after growth)."""
        return self._bundle.get((self.version,))
