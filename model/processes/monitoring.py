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
from numba import njit, prange

from model.employees import DETECTED, HIDDEN, NEVER, WORKING
from model.parallel import PARALLEL_MIN, serial_twin
from model.processes.base import Process

if TYPE_CHECKING:
    from model.organization import OrganizationModel


BY_MANAGER, BY_PEER, SANCTIONED = 1, 2, 4  # what happened to an employee this step


@njit(cache=True)
def monitor(rng, people, structure, prm, local, step):
    """Observe, notice, sanction and track coasting spells for everyone; returns
    (noticed count, hidden steps of spells that ended, spells that ended).

    The chances of being seen are worked out in parallel, the draws are taken one
    employee after another (so they do not depend on the thread count), and their
    consequences follow in parallel."""
    (position, witnessed, effort, watch_belief, commitment, coast_state, hidden_since,
     sanctioned) = people
    parent, n_children, unit_size = structure
    learning, threshold, loss = prm
    capacity, manager_power, peer_power, visibility = local  # per employee (per-unit)
    large = len(position) >= PARALLEL_MIN
    args = (position, witnessed, parent, n_children, unit_size, visibility, capacity)
    if large:
        by_manager_chance, by_peer_chance = _chances_of_being_seen(*args)
    else:
        by_manager_chance, by_peer_chance = _chances_of_being_seen_serial(*args)
    seen = np.empty(len(position), np.int8)
    for i in range(len(position)):
        by_manager = by_manager_chance[i] >= 0.0 and rng.random() < by_manager_chance[i]
        by_peer = by_peer_chance[i] < 0.0 or rng.random() < by_peer_chance[i]
        coasting = effort[i] < threshold
        punished = coasting and ((by_manager and rng.random() < manager_power[i])
                                 or (by_peer and rng.random() < peer_power[i]))
        seen[i] = by_manager * BY_MANAGER + by_peer * BY_PEER + punished * SANCTIONED
    args = (seen, effort, watch_belief, commitment, coast_state, hidden_since, sanctioned,
            manager_power, peer_power, learning, threshold, loss, step)
    return _follow_up(*args) if large else _follow_up_serial(*args)


@njit(cache=True, parallel=True)
def _chances_of_being_seen(position, witnessed, parent, n_children, unit_size, visibility,
                           capacity):
    """Each employee's chance of being seen by their manager (watched actively or seen
    passively; -1 without a manager) and by a unit colleague (-1 if a conversation
    partner saw their work already); ``visibility`` per employee (a per-unit parameter)."""
    by_manager = np.empty(len(position))
    by_peer = np.empty(len(position))
    for i in prange(len(position)):
        pos = position[i]
        boss = parent[pos]
        by_manager[i] = -1.0
        if boss >= 0:
            watched = min(1.0, capacity[i] / max(n_children[boss], 1))
            by_manager[i] = 1.0 - (1.0 - watched) * (1.0 - visibility[i])
        colleagues = unit_size[pos] - 1
        by_peer[i] = -1.0 if witnessed[i] else 1.0 - (1.0 - visibility[i]) ** colleagues
    return by_manager, by_peer


_chances_of_being_seen_serial = serial_twin(_chances_of_being_seen)


@njit(cache=True, parallel=True)
def _follow_up(seen, effort, watch_belief, commitment, coast_state, hidden_since, sanctioned,
               manager_power, peer_power, learning, threshold, loss, step):
    """Learning the risk, noticing, sanction costs and coasting spells, given who was seen
    and sanctioned; returns (noticed count, hidden steps of spells ended, spells ended)."""
    noticed_count, hidden_time, spells = 0, 0, 0
    for i in prange(len(seen)):
        by_manager = (seen[i] & BY_MANAGER) != 0
        by_peer = (seen[i] & BY_PEER) != 0
        risk = min(1.0, by_manager * manager_power[i] + by_peer * peer_power[i])
        watch_belief[i] += learning * (risk - watch_belief[i])
        coasting = effort[i] < threshold
        noticed = coasting and ((by_manager and manager_power[i] > 0)
                                or (by_peer and peer_power[i] > 0))
        noticed_count += noticed
        sanctioned[i] = (seen[i] & SANCTIONED) != 0
        if sanctioned[i]:
            commitment[i] = max(0.0, commitment[i] - loss)
        state = coast_state[i]
        ended = 0
        if coasting and state == WORKING:
            state = HIDDEN
            hidden_since[i] = step
        if state == HIDDEN and (noticed or not coasting):
            ended = 1
            hidden_time += step - hidden_since[i]
            hidden_since[i] = NEVER
            state = DETECTED if coasting else WORKING
        spells += ended
        if not coasting:
            state = WORKING
        coast_state[i] = state
    return noticed_count, hidden_time, spells


_follow_up_serial = serial_twin(_follow_up)


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
