"""Process 7, leadership: appointed managers stay; elected coordinators rotate.

With ``leader_selection = 'elected'``, every ``rotation_period`` steps each
coordinator position is re-filled, top level first, by whoever among its current
holder and its direct reports has the highest earned reputation (ties broken at
random); the previous holder takes the winner's place.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np

from model.processes.base import Process

if TYPE_CHECKING:
    from model.organization import OrganizationModel


class Leadership(Process):
    """Peer elections of coordinators."""

    name = "leadership"

    def __init__(self, model: OrganizationModel):
        super().__init__(model)
        self.changes = 0

    def elect(self) -> int:
        m = self.model
        s, people = m.structure, m.people
        changes = 0
        jitter = 1e-9 * self.rng.random(people.n)
        for level in range(int(s.level.max()) + 1):
            seats = np.flatnonzero((s.level == level) & s.is_manager)
            if len(seats) == 0:
                continue
            n_ch = s.n_children[seats]
            rows = np.repeat(np.arange(len(seats)), n_ch)
            offset = np.arange(n_ch.sum()) - np.repeat(np.cumsum(n_ch) - n_ch, n_ch)
            child_pos = np.repeat(s.child_start[seats], n_ch) + offset
            score_by_pos = (people.reputation + jitter)[m.occupant]
            order = np.lexsort((-score_by_pos[child_pos], rows))
            best_child = child_pos[order[np.searchsorted(rows[order], np.arange(len(seats)))]]
            best_child_score = score_by_pos[best_child]
            win = best_child_score > score_by_pos[seats]
            seat, challenger = seats[win], best_child[win]
            holder, winner = m.occupant[seat].copy(), m.occupant[challenger].copy()
            m.occupant[seat], m.occupant[challenger] = winner, holder
            people.position[winner], people.position[holder] = seat, challenger
            changes += int(win.sum())
        return changes

    def idle(self) -> bool:
        """Whether this step has nothing to do (no election due)."""
        p = self.model.p
        return p.leader_selection != "elected" or bool(self.model.steps % p.rotation_period)

    def idle_for(self) -> int:
        """For how many coming steps no election is due (sys.maxsize: none ever, as long
        as no parameter changes)."""
        p = self.model.p
        if p.leader_selection != "elected":
            return sys.maxsize
        return -(self.model.steps + 1) % p.rotation_period

    def step(self) -> None:
        m = self.model
        if self.idle():
            return
        self.changes = self.elect()
        if self.changes:
            m.refresh_roles()
