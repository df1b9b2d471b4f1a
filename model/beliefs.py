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

from model.ideas import IdeaRegistry

OWN = -1


class Beliefs:
    """Employee practices, their sources, the needs and the playbook."""

    def __init__(self, n: int, m: int, ideas: IdeaRegistry, rng: np.random.Generator):
        self.n, self.m = n, m
        self.ideas = ideas
        self.need = rng.choice(np.array([-1, 1], dtype=np.int8), size=m)
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
        return float((self.code == self.need).mean())

    def assign(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
               sources: np.ndarray) -> None:
        """Set practice[rows, cols] = values from ``sources``; (row, col) pairs must be unique."""
        if len(rows) == 0:
            return
        old_val = self.practice[rows, cols]
        old_src = self.source[rows, cols].astype(np.int64)
        need = self.need[cols]
        delta = (values == need).astype(np.int64) - (old_val == need)
        np.add.at(self.matches, rows, delta)
        np.add.at(self.ideas_in_use, rows, (sources >= 0).astype(np.int64) - (old_src >= 0))
        anchor = self.ideas.anchor
        lost = (old_src >= 0) & (anchor[np.maximum(old_src, 0)] == cols)
        np.subtract.at(self.ideas.adopters, old_src[lost], 1)
        gained = (sources >= 0) & (anchor[np.maximum(sources, 0)] == cols)
        np.add.at(self.ideas.adopters, sources[gained], 1)
        self.practice[rows, cols] = values
        self.source[rows, cols] = sources

    def adopt(self, employees: np.ndarray, ideas: np.ndarray) -> None:
        """Employees (unique) take up one idea each.

        Beliefs change where the idea differs from current practice; the idea's anchor
        is always taken. Where the idea agrees with what one already does, the belief
        keeps its source, so a newer idea does not take credit for an older practice.
        """
        scope = self.ideas.scope
        rows = np.repeat(employees, scope)
        cols = self.ideas.dims[ideas].ravel()
        values = self.ideas.values[ideas].ravel()
        anchor = np.zeros((len(ideas), scope), dtype=bool)
        anchor[:, 0] = True
        change = (self.practice[rows, cols] != values) | anchor.ravel()
        self.assign(rows[change], cols[change], values[change],
                    np.repeat(ideas, scope)[change])

    def revert_to_code(self, employees: np.ndarray, ideas: np.ndarray) -> None:
        """Employees (unique) drop one idea each, falling back on the playbook's beliefs."""
        scope = self.ideas.scope
        rows = np.repeat(employees, scope)
        cols = self.ideas.dims[ideas].ravel()
        held = self.source[rows, cols] == np.repeat(ideas, scope)
        rows, cols = rows[held], cols[held]
        self.assign(rows, cols, self.code[cols], self.code_source[cols])

    def uses(self, employees: np.ndarray, ideas: np.ndarray) -> np.ndarray:
        """Whether each employee still uses the paired idea (its anchor belief comes from it)."""
        anchor = self.ideas.anchor[np.maximum(ideas, 0)]
        return (ideas >= 0) & (self.source.ravel()[employees * self.m + anchor] == ideas)

    def gain(self, employees: np.ndarray, ideas: np.ndarray) -> np.ndarray:
        """True gain in fit per idea dimension if each employee took up the paired idea."""
        dims = self.ideas.dims[ideas]
        need = self.need[dims]
        new = (self.ideas.values[ideas] == need).sum(axis=1)
        held = self.practice.ravel()[employees[:, None] * self.m + dims]
        old = (held == need).sum(axis=1)
        return (new - old) / self.ideas.scope

    def drift(self, flipped: np.ndarray) -> None:
        """Flip the need on ``flipped`` dimensions, keeping fit counts exact."""
        for d in flipped:
            before = self.practice[:, d] == self.need[d]
            self.need[d] = -self.need[d]
            self.matches += (self.practice[:, d] == self.need[d]).astype(np.int64) - before
