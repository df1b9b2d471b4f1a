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

from model.employees import DETECTED, HIDDEN, NEVER, WORKING

if TYPE_CHECKING:
    from model.organization import OrganizationModel


class Monitoring:
    """Observation, detection, sanctions and the bookkeeping of hidden coasting spells."""

    name = "monitoring"

    def __init__(self, model: OrganizationModel):
        self.model = model
        self.rng = model.streams[self.name]
        self.hidden_time_total = 0
        self.hidden_spells = 0
        self.noticed_share = 0.0

    def observe(self) -> tuple[np.ndarray, np.ndarray]:
        """(seen by the manager, seen by a peer) for every employee this step."""
        m, p, people, rng = self.model, self.model.p, self.model.people, self.rng
        s = m.structure
        pos = people.position
        mgr = s.parent[pos]
        has_mgr = mgr >= 0
        span = np.maximum(s.n_children[np.where(has_mgr, mgr, 0)], 1)
        watch = rng.random(people.n) < np.minimum(1.0, p.monitoring_capacity / span)
        passive = rng.random(people.n) < p.work_visibility
        by_manager = has_mgr & (watch | passive)
        colleagues = s.unit_size[pos] - 1
        by_peer = (rng.random(people.n) < 1.0 - (1.0 - p.work_visibility) ** colleagues)
        by_peer |= people.witnessed
        return by_manager, by_peer

    def step(self) -> None:
        p, people, rng = self.model.p, self.model.people, self.rng
        by_manager, by_peer = self.observe()
        manager_acts = by_manager & (rng.random(people.n) < p.manager_sanction_power)
        peer_acts = by_peer & (rng.random(people.n) < p.peer_sanction_power)
        risk = np.minimum(1.0, by_manager * p.manager_sanction_power
                          + by_peer * p.peer_sanction_power)
        people.watch_belief += p.watch_learning * (risk - people.watch_belief)
        coasting = people.effort < p.coasting_threshold
        able = ((by_manager & (p.manager_sanction_power > 0))
                | (by_peer & (p.peer_sanction_power > 0)))
        noticed = coasting & able
        people.sanctioned[:] = coasting & (manager_acts | peer_acts)
        people.commitment[people.sanctioned] = np.maximum(
            0.0, people.commitment[people.sanctioned] - p.sanction_commitment_loss)
        self.noticed_share = float(noticed.mean())
        self.track_spells(coasting, noticed)

    def track_spells(self, coasting: np.ndarray, noticed: np.ndarray) -> None:
        people, t = self.model.people, self.model.steps
        state = people.coast_state
        starts = coasting & (state == WORKING)
        state[starts] = HIDDEN
        people.hidden_since[starts] = t
        ends_hidden = (state == HIDDEN) & (noticed | ~coasting)
        self.hidden_time_total += int((t - people.hidden_since[ends_hidden]).sum())
        self.hidden_spells += int(ends_hidden.sum())
        people.hidden_since[ends_hidden] = NEVER
        state[ends_hidden & coasting] = DETECTED
        state[~coasting] = WORKING

    def mean_time_hidden(self) -> float:
        """Mean steps a coasting spell stayed hidden (ongoing spells counted so far)."""
        people, t = self.model.people, self.model.steps
        ongoing = people.coast_state == HIDDEN
        total = self.hidden_time_total + int((t - people.hidden_since[ongoing]).sum())
        spells = self.hidden_spells + int(ongoing.sum())
        return total / spells if spells else 0.0
