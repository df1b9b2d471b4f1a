"""Process 3, conversations: who talks to whom, and what a conversation carries.

Each employee starts ``conversations_per_step`` conversations. A partner is drawn
along formal ties (manager, direct reports, unit colleagues other than the manager) or
informal ties, in
proportion to tie weight. A formal tie weighs ``formal_tie_strength`` (times
``1 - power_distance`` toward one's manager); an informal tie weighs its strength,
times ``lateral_openness`` if it crosses units and ``1 - power_distance`` if it points
up the hierarchy. Fully mixed: a uniformly random colleague, met with chance equal to
those same constraint factors.

Each conversation works in both directions:
- the listener sees the speaker's effort and commitment (norms) and, if a peer, may
  see the speaker's work (``work_visibility``);
- the speaker passes their newest idea (as it stands after this step's idea
  generation), if they still use it; voice toward a more senior listener fails with
  chance ``power_distance``; an unsanctioned idea voiced to one's own manager where
  approval is required goes to review instead; otherwise it is an exposure, and
  exposures are weighed in random order by the adoption rule (adoption.py), so an idea
  moves one hop per step;
- the informal tie used gains strength; every informal tie fades toward its floor.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from model.processes.adoption import consider_adoption, forget_exposures
from model.processes.base import Process

if TYPE_CHECKING:
    from model.organization import OrganizationModel


@njit(cache=True)
def _crosses(a, b, unit, manager):
    return unit[a] != unit[b] and manager[a] != b and manager[b] != a


@njit(cache=True)
def choose_partners(rng, per_person, formal, roles, informal, prm):
    """(initiators, partners, informal tie or -1) for every conversation started."""
    parent, level_pos, unit_start, unit_size, child_start, n_children = formal
    position, occupant, manager, level, unit = roles
    indptr, target, tie, weight = informal
    formal_strength, power_distance, lateral, fully_mixed, mixed_degree = prm  # per employee:
    # power_distance, lateral (per-unit parameters)
    n = len(position)
    initiators = np.empty(n * per_person, np.int64)
    partners = np.empty(n * per_person, np.int64)
    ties = np.empty(n * per_person, np.int64)
    count = 0
    for i in range(n):
        p = position[i]
        boss = parent[p]
        up = (1.0 - power_distance[i]) if boss >= 0 else 0.0
        down = float(n_children[p])
        # colleagues in one's unit, not counting oneself nor one's manager (reached by `up`)
        boss_in_unit = boss >= unit_start[p] and boss < unit_start[p] + unit_size[p]
        skip_lo, skip_hi = (min(p, boss), max(p, boss)) if boss_in_unit else (p, unit_size[p]
                                                                             + unit_start[p])
        side = float(unit_size[p] - 1 - boss_in_unit)
        w_formal = formal_strength * (up + down + side)
        w_informal = 0.0
        if fully_mixed:
            w_informal = mixed_degree
        else:
            for e in range(indptr[i], indptr[i + 1]):
                w_informal += weight[e]
        total = w_formal + w_informal
        if total <= 0.0:
            continue
        for _ in range(per_person):
            r = rng.random() * total
            t = -1
            if r < w_formal:
                x = r / formal_strength
                if x < up:
                    q = parent[p]
                elif x < up + down:
                    q = child_start[p] + min(int(x - up), n_children[p] - 1)
                else:
                    q = unit_start[p] + max(0, min(int(x - up - down), int(side) - 1))
                    if q >= skip_lo:
                        q += 1
                    if q >= skip_hi:
                        q += 1
                j = occupant[q]
            elif fully_mixed:
                j = min(int(rng.random() * (n - 1)), n - 2)
                if j >= i:
                    j += 1
                factor = lateral[i] if _crosses(i, j, unit, manager) else 1.0
                if level[j] < level[i]:
                    factor *= 1.0 - power_distance[i]
                if rng.random() >= factor:
                    continue
            else:
                r -= w_formal
                e = indptr[i]
                acc = weight[e]
                while acc <= r and e < indptr[i + 1] - 1:
                    e += 1
                    acc += weight[e]
                j, t = target[e], tie[e]
            if j == i:
                continue
            initiators[count], partners[count], ties[count] = i, j, t
            count += 1
    return initiators[:count], partners[:count], ties[:count]


@njit(cache=True)
def exchange(rng, initiators, partners, roles, behaviour, prm, source, dims, sanctioned,
             exposures, submissions):
    """Both directions of every conversation: norms seen, work seen, ideas voiced.

    Fills ``exposures`` (listener, speaker, idea rows) and ``submissions`` (idea, manager,
    speaker rows) using each speaker's newest idea; returns how many of each, and how
    many conversations crossed units.
    """
    manager, level, unit = roles
    effort, commitment, seen_effort, seen_commit, heard, witnessed, latest = behaviour
    visibility, power_distance, approval_levels = prm  # per employee (per-unit parameters)
    n_exp = 0
    n_sub = 0
    n_cross = 0
    for x in range(2 * len(initiators)):
        if x % 2 == 0:
            s, lis = initiators[x // 2], partners[x // 2]
            n_cross += _crosses(s, lis, unit, manager)
        else:
            s, lis = partners[x // 2], initiators[x // 2]
        heard[lis] += 1
        seen_effort[lis] += effort[s]
        seen_commit[lis] += commitment[s]
        if not witnessed[s] and manager[s] != lis and rng.random() < visibility[s]:
            witnessed[s] = True
        k = latest[s]
        if k < 0 or source[s, dims[k, 0]] != k or source[lis, dims[k, 0]] == k:
            continue
        if level[lis] < level[s] and rng.random() < power_distance[s]:
            continue  # voice upward withheld
        if approval_levels[s] > 0 and manager[s] == lis and not sanctioned[k]:
            submissions[0, n_sub], submissions[1, n_sub], submissions[2, n_sub] = k, lis, s
            n_sub += 1
        else:
            exposures[0, n_exp], exposures[1, n_exp], exposures[2, n_exp] = lis, s, k
            n_exp += 1
    return n_exp, n_sub, n_cross


@njit(cache=True)
def learn_norms(heard, seen_effort, seen_commit, effort_norm, commitment_norm, rate):
    """Norms move ``rate`` of the way toward the mean effort and commitment seen this step."""
    for i in range(len(heard)):
        if heard[i] > 0:
            effort_norm[i] += rate * (seen_effort[i] / heard[i] - effort_norm[i])
            commitment_norm[i] += rate * (seen_commit[i] / heard[i] - commitment_norm[i])


@njit(cache=True)
def count_partners(sought, partners, sign):
    """Add ``sign`` to each partner's count of times chosen."""
    for j in partners:
        sought[j] += sign


@njit(cache=True)
def update_ties(strength, used, floor, decay, reinforcement):
    """Every tie fades toward ``floor``; each use closes ``reinforcement`` of the gap to 1."""
    for e in range(len(strength)):
        strength[e] = floor + (strength[e] - floor) * (1.0 - decay)
    for e in used:
        if e >= 0:
            strength[e] = 1.0 - (1.0 - strength[e]) * (1.0 - reinforcement)


class Conversations(Process):
    """Samples conversations and applies their effects."""

    name = "conversations"

    def __init__(self, model: OrganizationModel):
        super().__init__(model)
        self.recent = deque(maxlen=model.p.metric_window)  # (initiators, partners) per step
        self.sought = np.zeros(model.people.n, dtype=np.int64)  # times chosen, in the window
        self.cross_unit_share = 0.0
        self.per_employee = 0.0
        self.adoptions = 0
        self.n_cross = 0
        self._factor_version = None
        self._tie_factor = np.zeros(0)
        self._buffer = np.empty((6, 0), dtype=np.int64)  # exposures and submissions, reused

    def tie_factor(self) -> np.ndarray:
        """Constraint factor of each informal half-edge (recomputed when roles change)."""
        m = self.model
        version = (m.roles_version, m.local.version, m.p.lateral_openness, m.p.power_distance)
        if self._factor_version != version:  # a roadmap may change either parameter
            net = m.network
            src = np.repeat(np.arange(m.people.n), np.diff(net.indptr))
            self._tie_factor = m.contact_factor(src, net.target)
            self._factor_version = version
        return self._tie_factor

    def choose_partners(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m, p, s, net = self.model, self.model.p, self.model.structure, self.model.network
        formal = (s.parent, s.level, s.unit_start, s.unit_size, s.child_start, s.n_children)
        roles = (m.people.position, m.occupant, m._manager, m._level, m._unit)
        weight = net.strength[net.tie] * self.tie_factor()
        informal = (net.indptr, net.target, net.tie, weight)
        prm = (p.formal_tie_strength, m.per_employee("power_distance"),
               m.per_employee("lateral_openness"),
               p.informal_network == "fully_mixed", float(p.informal_degree))
        return choose_partners(self.rng, p.conversations_per_step, formal, roles, informal, prm)

    def converse(self, initiators: np.ndarray, partners: np.ndarray) -> None:
        m, people = self.model, self.model.people
        n = people.n
        self.heard = np.zeros(n, dtype=np.int64)
        self.seen_effort = np.zeros(n)
        self.seen_commit = np.zeros(n)
        people.witnessed[:] = False
        behaviour = (people.effort, people.commitment, self.seen_effort, self.seen_commit,
                     self.heard, people.witnessed, people.latest_idea)
        size = 2 * len(initiators)
        if self._buffer.shape[1] < size:
            self._buffer = np.empty((6, size), dtype=np.int64)
        exposures, submissions = self._buffer[:3], self._buffer[3:]
        n_exp, n_sub, self.n_cross = exchange(
            self.rng, initiators, partners, (m._manager, m._level, m._unit), behaviour,
            (m.per_employee("work_visibility"), m.per_employee("power_distance"),
             m.per_employee("approval_levels")), m.beliefs.source,
            m.ideas.dims, m.ideas.sanctioned, exposures, submissions)
        if n_sub:
            m.approval.submit(*submissions[:, :n_sub].copy())
        self.adoptions = consider_adoption(m, *exposures[:, :n_exp], self.rng)

    def update_norms(self) -> None:
        people = self.model.people
        learn_norms(self.heard, self.seen_effort, self.seen_commit, people.effort_norm,
                    people.commitment_norm, self.model.p.norm_learning)

    def strengthen_ties(self, tie: np.ndarray) -> None:
        net, p = self.model.network, self.model.p
        if net.n_ties:
            update_ties(net.strength, tie, p.tie_floor, p.tie_decay, p.tie_reinforcement)

    def record(self, initiators: np.ndarray, partners: np.ndarray) -> None:
        if len(self.recent) == self.recent.maxlen:
            count_partners(self.sought, self.recent[0][1], -1)
        self.recent.append((initiators.astype(np.int32), partners.astype(np.int32)))
        count_partners(self.sought, partners, 1)
        self.per_employee = len(initiators) / self.model.people.n
        self.cross_unit_share = self.n_cross / len(initiators) if len(initiators) else 0.0

    def step(self) -> None:
        m = self.model
        if m.p.adoption_threshold > 1 and m.steps % m.p.exposure_memory == 0:
            forget_exposures(m.exposures, np.int64(m.steps), np.int64(m.p.exposure_memory))
        initiators, partners, tie = self.choose_partners()
        self.converse(initiators, partners)
        self.update_norms()
        self.strengthen_ties(tie)
        self.record(initiators, partners)
