"""Process 3, conversations: who talks to whom, and what a conversation carries.

Each employee starts ``conversations_per_step`` conversations. A partner is drawn
along formal ties (manager, direct reports, unit colleagues) or informal ties, in
proportion to tie weight. A tie's weight is its strength (formal: fixed), times
``lateral_openness`` if it crosses units and ``1 - power_distance`` if it points up
the hierarchy. A conversation, in both directions:

- passes the speaker's newest idea (voice upward damped by power distance); an idea
  reaching the speaker's own manager where approval is required goes to review;
- lets the listener see the speaker's work (with ``work_visibility``);
- moves the listener's seen effort and commitment norms toward the speaker's;
- strengthens the informal tie it used.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from model.processes.adoption import consider_adoption

if TYPE_CHECKING:
    from model.organization import OrganizationModel


class Conversations:
    """Samples conversations and applies their effects, all as whole-array operations."""

    name = "conversations"

    def __init__(self, model: OrganizationModel):
        self.model = model
        self.rng = model.streams[self.name]
        self.recent = deque(maxlen=model.p.metric_window)  # (initiators, partners) per step
        self.sought = np.zeros(model.people.n, dtype=np.int64)  # times chosen, in the window
        self.cross_unit_share = 0.0
        self.per_employee = 0.0
        self._factor_version = -1
        self._tie_factor = np.zeros(0)

    # --- partner choice -------------------------------------------------------
    def _formal_weights(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s, p = self.model.structure, self.model.p
        up = (s.parent[pos] >= 0) * (1.0 - p.power_distance)
        down = s.n_children[pos].astype(np.float64)
        side = (s.unit_size[pos] - 1).astype(np.float64)
        return up, down, side

    def _formal_partner(self, pos: np.ndarray, r: np.ndarray) -> np.ndarray:
        """Partner position for each position, given r uniform in [0, formal weight)."""
        s = self.model.structure
        up, down, side = self._formal_weights(pos)
        partner = np.empty(len(pos), dtype=np.int64)
        is_up = r < up
        partner[is_up] = s.parent[pos[is_up]]
        r = r - up
        is_down = ~is_up & (r < down)
        partner[is_down] = s.child_start[pos[is_down]] + np.minimum(
            r[is_down].astype(np.int64), s.n_children[pos[is_down]] - 1)
        is_side = ~is_up & ~is_down
        k = np.minimum((r[is_side] - down[is_side]).astype(np.int64),
                       s.unit_size[pos[is_side]] - 2)
        peer = s.unit_start[pos[is_side]] + k
        partner[is_side] = peer + (peer >= pos[is_side])
        return partner

    def tie_factor(self) -> np.ndarray:
        """Constraint factor of each informal half-edge (recomputed when roles change)."""
        m = self.model
        if self._factor_version != m.roles_version:
            net = m.network
            src = np.repeat(np.arange(m.people.n), np.diff(net.indptr))
            self._tie_factor = m.contact_factor(src, net.target)
            self._factor_version = m.roles_version
        return self._tie_factor

    def _informal_partner(self, who: np.ndarray, r: np.ndarray, cum: np.ndarray,
                          row_base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        net = self.model.network
        e = np.searchsorted(cum, row_base[who] + r, side="right")
        e = np.clip(e, net.indptr[who], net.indptr[who + 1] - 1)
        return net.target[e], net.tie[e]

    def choose_partners(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(initiators, partners, informal tie used or -1) for this step's conversations."""
        m, p, rng = self.model, self.model.p, self.rng
        n = m.people.n
        who = np.repeat(np.arange(n), p.conversations_per_step)
        pos = m.people.position[who]
        up, down, side = self._formal_weights(pos)
        w_formal = p.formal_tie_strength * (up + down + side)
        if p.informal_network == "fully_mixed":
            w_informal = np.full(len(who), float(p.informal_degree))
        else:
            net = m.network
            w_edge = net.strength[net.tie] * self.tie_factor()
            cum = np.cumsum(w_edge)
            row_base = np.concatenate([[0.0], cum])[net.indptr[:-1]]
            row_total = np.concatenate([[0.0], cum])[net.indptr[1:]] - row_base
            w_informal = row_total[who]
        total = w_formal + w_informal
        r = rng.random(len(who)) * total
        formal = r < w_formal
        partner = np.full(len(who), -1, dtype=np.int64)
        tie = np.full(len(who), -1, dtype=np.int64)
        fi = np.flatnonzero(formal & (total > 0))
        partner[fi] = m.occupant[self._formal_partner(pos[fi], r[fi] / p.formal_tie_strength)]
        ii = np.flatnonzero(~formal & (total > 0))
        r_inf = r[ii] - w_formal[ii]
        if p.informal_network == "fully_mixed":
            cand = rng.integers(0, n - 1, len(ii))
            cand += cand >= who[ii]
            accept = rng.random(len(ii)) < m.contact_factor(who[ii], cand)
            partner[ii[accept]] = cand[accept]
        else:
            partner[ii], tie[ii] = self._informal_partner(who[ii], r_inf, cum, row_base)
        ok = partner >= 0
        return who[ok], partner[ok], tie[ok]

    # --- effects -----------------------------------------------------------------
    def strengthen_ties(self, tie: np.ndarray) -> None:
        net, p = self.model.network, self.model.p
        if net.n_ties == 0:
            return
        s = net.strength
        s[:] = p.tie_floor + (s - p.tie_floor) * (1.0 - p.tie_decay)
        times = np.bincount(tie[tie >= 0], minlength=net.n_ties)
        used = times > 0
        s[used] = 1.0 - (1.0 - s[used]) * (1.0 - p.tie_reinforcement) ** times[used]

    def update_norms(self, listeners: np.ndarray, speakers: np.ndarray) -> None:
        people, p = self.model.people, self.model.p
        n = people.n
        heard = np.bincount(listeners, minlength=n)
        talked = heard > 0
        seen_effort = np.bincount(listeners, weights=people.effort[speakers], minlength=n)
        seen_commit = np.bincount(listeners, weights=people.commitment[speakers], minlength=n)
        rate = p.norm_learning
        people.effort_norm[talked] += rate * (seen_effort[talked] / heard[talked]
                                              - people.effort_norm[talked])
        people.commitment_norm[talked] += rate * (seen_commit[talked] / heard[talked]
                                                  - people.commitment_norm[talked])

    def reveal_work(self, listeners: np.ndarray, speakers: np.ndarray) -> None:
        """Listeners who are the speaker's peers may see the speaker's work."""
        m = self.model
        peers = m.manager_of(speakers) != listeners
        sees = self.rng.random(len(speakers)) < m.p.work_visibility
        m.people.witnessed[:] = False
        m.people.witnessed[speakers[peers & sees]] = True

    def pass_ideas(self, listeners: np.ndarray, speakers: np.ndarray) -> None:
        m, p = self.model, self.model.p
        ideas = m.people.latest_idea[speakers]
        upward = m.level_of(listeners) < m.level_of(speakers)
        voiced = ~upward | (self.rng.random(len(speakers)) >= p.power_distance)
        go = voiced & m.beliefs.uses(speakers, ideas)
        go[go] = ~m.beliefs.uses(listeners[go], ideas[go])
        listeners, speakers, ideas = listeners[go], speakers[go], ideas[go]
        to_reviewer = m.manager_of(speakers) == listeners
        if p.approval_levels > 0:
            review = to_reviewer & ~m.ideas.sanctioned[ideas]
            m.approval.submit(ideas[review], listeners[review], speakers[review])
            listeners, speakers, ideas = listeners[~review], speakers[~review], ideas[~review]
        consider_adoption(m, listeners, speakers, ideas, self.rng)

    def record(self, initiators: np.ndarray, partners: np.ndarray) -> None:
        m = self.model
        n = m.people.n
        if len(self.recent) == self.recent.maxlen:
            _, old_partners = self.recent[0]
            self.sought -= np.bincount(old_partners, minlength=n)
        self.recent.append((initiators, partners))
        self.sought += np.bincount(partners, minlength=n)
        self.per_employee = len(initiators) / n
        cross = m.crosses_units(initiators, partners)
        self.cross_unit_share = float(cross.mean()) if len(cross) else 0.0

    def step(self) -> None:
        initiators, partners, tie = self.choose_partners()
        listeners = np.concatenate([partners, initiators])
        speakers = np.concatenate([initiators, partners])
        self.pass_ideas(listeners, speakers)
        self.reveal_work(listeners, speakers)
        self.update_norms(listeners, speakers)
        self.strengthen_ties(tie)
        self.record(initiators, partners)
