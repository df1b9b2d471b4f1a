"""Process 1, customer needs drift: each dimension flips with chance ``need_drift``."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from model.beliefs import flip_needs
from model.bundle import Entry
from model.parallel import PARALLEL_MIN
from model.processes.base import Process
from model.rng import pcg_address, pcg_load, pcg_store, pcg_uniform


@njit(cache=True)
def drift_needs(rng, need_drift, practice, need, matches, flipped):
    """One uniform draw per dimension, in order (``rng.random(m)``'s draws); the needs on
    the dimensions drawn below ``need_drift`` flip, keeping fit counts exact
    (``flipped``: a buffer of one slot per dimension)."""
    address = pcg_address(rng)  # the stream's draws, inline
    state, inc = pcg_load(address)
    k = 0
    for d in range(len(need)):
        state, u = pcg_uniform(state, inc)
        if u < need_drift:
            flipped[k] = d
            k += 1
    pcg_store(address, state)
    if k and len(matches) >= PARALLEL_MIN:
        _flip_needs_by_employee(practice, need, matches, flipped[:k])
    elif k:
        flip_needs(practice, need, matches, flipped[:k])


@njit(cache=True, parallel=True)
def _flip_needs_by_employee(practice, need, matches, flipped):
    """``flip_needs`` with employees in parallel, each row read once: the dimensions
    flipped are distinct, so each employee's fit count moves by the same integer."""
    for i in prange(len(matches)):
        change = 0
        for d in flipped:
            change += np.int64(practice[i, d] == -need[d]) - np.int64(practice[i, d] == need[d])
        matches[i] += change
    for d in flipped:
        need[d] = -need[d]


class NeedDrift(Process):
    """March's turbulence: yesterday's good practice decays."""

    name = "environment"

    def __init__(self, model):
        super().__init__(model)
        self._flipped = np.empty(model.beliefs.m, np.int64)
        self._drift = Entry(drift_needs)

    def arguments(self) -> tuple:
        """The arguments of :func:`drift_needs` after the stream (they change with the
        parameters only)."""
        b = self.model.beliefs
        return float(self.model.p.need_drift), b.practice, b.need, b.matches, self._flipped

    def step(self) -> None:
        b = self.model.beliefs
        self._drift(b.matches, self.rng, float(self.model.p.need_drift), b.practice, b.need,
                    b.matches, self._flipped)
