"""Process 1, customer needs drift: each dimension flips with chance ``need_drift``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from model.organization import OrganizationModel


class NeedDrift:
    """March's turbulence: yesterday's good practice decays."""

    name = "environment"

    def __init__(self, model: OrganizationModel):
        self.model = model
        self.rng = model.streams[self.name]

    def step(self) -> None:
        flips = self.rng.random(self.model.beliefs.m) < self.model.p.need_drift
        self.model.beliefs.drift(np.flatnonzero(flips))
