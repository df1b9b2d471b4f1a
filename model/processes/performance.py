"""Process 8, performance: output = effort x skill x fit to customer needs.

Earned reputation follows output relative to the organization's mean; influence
mixes formal authority and earned reputation by power distance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.processes.base import Process

if TYPE_CHECKING:
    pass


class Performance(Process):
    """Output, reputation and influence."""

    name = "performance"

    def step(self) -> None:
        m, p, people = self.model, self.model.p, self.model.people
        people.output[:] = people.effort * people.skill * m.beliefs.fit
        mean = people.output.mean()
        relative = np.minimum(1.0, people.output / (2.0 * mean)) if mean > 0 else 0.0
        people.reputation += p.reputation_learning * (relative - people.reputation)
        authority = m.structure.authority[people.position]
        people.influence[:] = (p.power_distance * authority
                               + (1 - p.power_distance) * people.reputation)
