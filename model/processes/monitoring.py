"""Process 6, monitoring and sanctions: who notices coasting, and who can act on it.

A manager actively watches ``monitoring_capacity`` of their direct reports per step
(each report with chance capacity / span) and, like each unit colleague, sees a
person's work with chance ``work_visibility``; peers who talked with someone this
step may have seen their work too. Only observers with the means to act count:
managers if ``manager_sanction_power`` > 0, peers if ``peer_sanction_power`` > 0.
Coasting (effort < ``coasting_threshold``) seen by such an observer is *noticed* and
sanctioned with the observer's sanction power; a sanction costs commitment.
Everyone learns the chance of being sanctioned if coasting from who watched them.
A coasting spell is *hidden* from its start until it is noticed or ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from model.employees import DETECTED, HIDDEN, NEVER, WORKING
from model.processes.base import Process

if TYPE_CHECKING:
    from model.organization import OrganizationModel


@njit(cache=True)
def monitor(rng, people, structure, prm, local, step):
    """Observe, notice, sanction and track coasting spells for everyone; returns
    (noticed count, hidden steps of spells that ended, spells that ended)."""
    (position, witnessed, effort, watch_belief, commitment, coast_state, hidden_since,
     sanctioned) = people
    parent, n_children, unit_size = structure
    learning, threshold, loss = prm
    capacity, manager_power, peer_power, visibility = local  # per employee (per-unit)
    noticed_count, hidden_time, spells = 0, 0, 0
    for i in range(len(position)):
        pos = position[i]
        boss = parent[pos]
        by_manager = False
        if boss >= 0:  # watched actively, or seen passively: one draw for either
            watched = min(1.0, capacity[i] / max(n_children[boss], 1))
            by_manager = rng.random() < 1.0 - (1.0 - watched) * (1.0 - visibility[i])
        colleagues = unit_size[pos] - 1
        by_peer = witnessed[i] or rng.random() < 1.0 - (1.0 - visibility[i]) ** colleagues
        risk = min(1.0, by_manager * manager_power[i] + by_peer * peer_power[i])
        watch_belief[i] += learning * (risk - watch_belief[i])
        coasting = effort[i] < threshold
        noticed = coasting and ((by_manager and manager_power[i] > 0)
                                or (by_peer and peer_power[i] > 0))
        noticed_count += noticed
        sanctioned[i] = coasting and ((by_manager and rng.random() < manager_power[i])
                                      or (by_peer and rng.random() < peer_power[i]))
        if sanctioned[i]:
            commitment[i] = max(0.0, commitment[i] - loss)
        state = coast_state[i]
        if coasting and state == WORKING:
            state = HIDDEN
            hidden_since[i] = step
        if state == HIDDEN and (noticed or not coasting):
            hidden_time += step - hidden_since[i]
            spells += 1
            hidden_since[i] = NEVER
            state = DETECTED if coasting else WORKING
        if not coasting:
            state = WORKING
        coast_state[i] = state
    return noticed_count, hidden_time, spells


class Monitoring(Process):
    """Observation, detection, sanctions and the bookkeeping of hidden coasting spells."""

    name = "monitoring"

    def __init__(self, model: OrganizationModel):
        super().__init__(model)
        self.hidden_time_total = 0
        self.hidden_spells = 0
        self.noticed_share = 0.0

    def step(self) -> None:
        m, p, people = self.model, self.model.p, self.model.people
        s = m.structure
        noticed, hidden_time, spells = monitor(
            self.rng,
            (people.position, people.witnessed, people.effort, people.watch_belief,
             people.commitment, people.coast_state, people.hidden_since, people.sanctioned),
            (s.parent, s.n_children, s.unit_size),
            (p.watch_learning, p.coasting_threshold, p.sanction_commitment_loss),
            (m.per_employee("monitoring_capacity"), m.per_employee("manager_sanction_power"),
             m.per_employee("peer_sanction_power"), m.per_employee("work_visibility")),
            np.int64(m.steps))
        self.noticed_share = noticed / people.n
        self.hidden_time_total += hidden_time
        self.hidden_spells += spells

    def mean_time_hidden(self) -> float:
        """Mean steps a coasting spell stayed hidden (ongoing spells counted so far)."""
        people, t = self.model.people, self.model.steps
        ongoing = people.coast_state == HIDDEN
        total = self.hidden_time_total + int((t - people.hidden_since[ongoing]).sum())
        spells = self.hidden_spells + int(ongoing.sum())
        return total / spells if spells else 0.0
