"""Process 1, customer needs drift: each dimension flips with chance ``need_drift``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.processes.base import Process

if TYPE_CHECKING:
    pass


class NeedDrift(Process):
    """March's turbulence: yesterday's good practice decays."""

    name = "environment"

    def step(self) -> None:
        flips = self.rng.random(self.model.beliefs.m) < self.model.p.need_drift
        self.model.beliefs.drift(np.flatnonzero(flips))
