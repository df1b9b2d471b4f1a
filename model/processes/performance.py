"""Process 8, performance: output = effort x skill x fit to customer needs.

Earned reputation follows output relative to the organization's mean; influence
mixes formal authority and earned reputation by power distance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from numba import njit, prange

from model.parallel import PARALLEL_MIN, serial_twin
from model.processes.base import Process

if TYPE_CHECKING:
    pass


@njit(cache=True, parallel=True)
def perform(effort, skill, matches, m, output, reputation, influence, authority, position,
            reputation_learning, power_distance):
    """Output of everyone, then reputation relative to the mean output, then influence
    (``power_distance`` per employee: a per-unit parameter). The mean is summed in
    employee order, so it does not depend on the thread count."""
    n = len(effort)
    for i in prange(n):
        output[i] = effort[i] * skill[i] * (matches[i] / m)
    total = 0.0
    for i in range(n):
        total += output[i]
    mean = total / n
    for i in prange(n):
        relative = min(1.0, output[i] / (2.0 * mean)) if mean > 0 else 0.0
        reputation[i] += reputation_learning * (relative - reputation[i])
        influence[i] = (power_distance[i] * authority[position[i]]
                        + (1 - power_distance[i]) * reputation[i])


perform_serial = serial_twin(perform)


class Performance(Process):
    """Output, reputation and influence."""

    name = "performance"

    def step(self) -> None:
        m, p, people = self.model, self.model.p, self.model.people
        kernel = perform if people.n >= PARALLEL_MIN else perform_serial
        kernel(people.effort, people.skill, m.beliefs.matches, m.beliefs.m, people.output,
               people.reputation, people.influence, m.structure.authority, people.position,
               p.reputation_learning, m.per_employee("power_distance"))
