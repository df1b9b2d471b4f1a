"""Process 1b, turnover (March's p3): leavers are replaced by naive newcomers.

Each step each employee leaves with chance ``turnover_rate``; a newcomer takes the
same slot (position, traits, ties) with fresh beliefs, uniform on {-1, 0, +1} on every
dimension and credited to no idea, and knows no idea to voice. Off by default.
``leavers`` counts who left (the attrition a calibration compares with HR's figure).
"""

from __future__ import annotations

import sys

import numpy as np

from model.beliefs import OWN
from model.ideas import NEVER
from model.processes.base import Process


class Turnover(Process):
    """Replaces leavers by newcomers holding random beliefs."""

    name = "turnover"
    leavers = 0  # employees who left so far (attrition; counted, never drawn from)

    def idle(self) -> bool:
        """Whether this step has nothing to do (nobody can leave)."""
        return self.model.highest("turnover_rate") <= 0

    def idle_for(self) -> int:
        """For how many coming steps this process has nothing to do (sys.maxsize: all,
        as long as no parameter changes)."""
        return sys.maxsize if self.idle() else 0

    def step(self) -> None:
        m = self.model
        if self.idle():
            return
        leavers = np.flatnonzero(self.rng.random(m.people.n) < m.per_employee("turnover_rate"))
        if len(leavers) == 0:
            return
        self.leavers += len(leavers)
        dims = m.beliefs.m
        rows = np.repeat(leavers, dims)
        cols = np.tile(np.arange(dims), len(leavers))
        beliefs = self.rng.integers(-1, 2, size=len(rows), dtype=np.int8)
        m.beliefs.assign(rows, cols, beliefs, np.full(len(rows), OWN))
        m.people.latest_idea[leavers] = NEVER
