"""Process 8, performance: output = effort x skill x fit to customer needs.

Earned reputation follows output relative to the organization's mean; influence
mixes formal authority and earned reputation by power distance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from numba import njit, prange

from model.bundle import Entry
from model.parallel import PARALLEL_MIN
from model.processes.base import Process

if TYPE_CHECKING:
    pass


@njit(cache=True, inline="always")
def _reputation_and_influence(output, mean, reputation, learning, power_distance, authority):
    """One employee's reputation after this step's output (relative to twice the mean,
    capped at 1) and influence: authority weighed by power distance, else reputation."""
    relative = min(1.0, output / (2.0 * mean)) if mean > 0 else 0.0
    reputation += learning * (relative - reputation)
    return reputation, power_distance * authority + (1 - power_distance) * reputation


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
        reputation[i], influence[i] = _reputation_and_influence(
            output[i], mean, reputation[i], reputation_learning, power_distance[i],
            authority[position[i]])


@njit(cache=True)
def perform_serial(effort, skill, matches, m, output, reputation, influence, authority,
                   position, reputation_learning, power_distance):
    """:func:`perform` on one thread, output summed as it is worked out."""
    n = len(effort)
    total = 0.0
    for i in range(n):
        output[i] = effort[i] * skill[i] * (matches[i] / m)
        total += output[i]
    mean = total / n
    for i in range(n):
        reputation[i], influence[i] = _reputation_and_influence(
            output[i], mean, reputation[i], reputation_learning, power_distance[i],
            authority[position[i]])


class Performance(Process):
    """Output, reputation and influence."""

    name = "performance"

    def __init__(self, model):
        super().__init__(model)
        self._version: tuple | None = None  # model.kernel_version() of the cached arguments
        self._args: tuple = ()
        self._perform = Entry(perform if model.people.n >= PARALLEL_MIN else perform_serial)

    def arguments(self) -> tuple:
        m = self.model
        version = m.kernel_version()
        if self._version != version or self._args[2] is not m.beliefs.matches:
            people = m.people
            self._args = (people.effort, people.skill, m.beliefs.matches, m.beliefs.m,
                          people.output, people.reputation, people.influence,
                          m.structure.authority, people.position,
                          float(m.p.reputation_learning), m.per_employee("power_distance"))
            self._version = version
        return self._args

    def step(self) -> None:
        args = self.arguments()
        self._perform(args, *args)
