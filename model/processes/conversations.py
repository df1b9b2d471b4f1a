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
from numba import njit, prange

from model.parallel import PARALLEL_MIN, serial_twin
from model.processes.adoption import consider_adoption, forget_exposures
from model.processes.base import Process

if TYPE_CHECKING:
    from model.organization import OrganizationModel


@njit(cache=True)
def _crosses(a, b, unit, manager):
    return unit[a] != unit[b] and manager[a] != b and manager[b] != a


@njit(cache=True, inline="always")
def _formal_weights(p, parent, unit_start, unit_size, n_children, power_distance):
    """(up, down, side, skip_lo, skip_hi) of position p: the weight of one's manager, of
    one's reports and of one's unit colleagues (oneself and one's manager excluded,
    skipped at skip_lo and skip_hi); ``power_distance`` is the initiator's own value."""
    boss = parent[p]
    up = (1.0 - power_distance) if boss >= 0 else 0.0
    down = float(n_children[p])
    boss_in_unit = boss >= unit_start[p] and boss < unit_start[p] + unit_size[p]
    skip_lo, skip_hi = (min(p, boss), max(p, boss)) if boss_in_unit else (p, unit_size[p]
                                                                         + unit_start[p])
    side = float(unit_size[p] - 1 - boss_in_unit)
    return up, down, side, skip_lo, skip_hi


@njit(cache=True, inline="always")
def _formal_partner(x, p, layout, parent, unit_start, child_start, n_children):
    """The position met at x along the formal weights of position p (see _formal_weights)."""
    up, down, side, skip_lo, skip_hi = layout
    if x < up:
        return parent[p]
    if x < up + down:
        return child_start[p] + min(int(x - up), n_children[p] - 1)
    q = unit_start[p] + max(0, min(int(x - up - down), int(side) - 1))
    if q >= skip_lo:
        q += 1
    if q >= skip_hi:
        q += 1
    return q


@njit(cache=True)
def choose_partners(rng, per_person, formal, roles, informal, prm):
    """(initiators, partners, informal tie or -1) for every conversation started, fully
    mixed: partners met uniformly at random (one employee after another)."""
    parent, level_pos, unit_start, unit_size, child_start, n_children = formal
    position, occupant, manager, level, unit = roles
    formal_strength, power_distance, lateral, fully_mixed, mixed_degree = prm  # per employee:
    # power_distance, lateral (per-unit parameters)
    n = len(position)
    initiators = np.empty(n * per_person, np.int64)
    partners = np.empty(n * per_person, np.int64)
    ties = np.full(n * per_person, -1, np.int64)
    count = 0
    for i in range(n):
        p = position[i]
        layout = _formal_weights(p, parent, unit_start, unit_size, n_children,
                                 power_distance[i])
        up, down, side = layout[0], layout[1], layout[2]
        w_formal = formal_strength * (up + down + side)
        total = w_formal + mixed_degree
        if total <= 0.0:
            continue
        for _ in range(per_person):
            r = rng.random() * total
            if r < w_formal:
                j = occupant[_formal_partner(r / formal_strength, p, layout, parent, unit_start,
                                             child_start, n_children)]
            else:
                j = min(int(rng.random() * (n - 1)), n - 2)
                if j >= i:
                    j += 1
                factor = lateral[i] if _crosses(i, j, unit, manager) else 1.0
                if level[j] < level[i]:
                    factor *= 1.0 - power_distance[i]
                if rng.random() >= factor:
                    continue
            if j == i:
                continue
            initiators[count], partners[count] = i, j
            count += 1
    return initiators[:count], partners[:count], ties[:count]


@njit(cache=True, parallel=True)
def _contact_totals(formal, position, informal, formal_strength, power_distance):
    """Each employee's total formal weight and total contact weight (formal + informal)."""
    parent, level_pos, unit_start, unit_size, child_start, n_children = formal
    indptr, target, tie, strength, factor = informal
    n = len(position)
    w_formal = np.empty(n)
    total = np.empty(n)
    for i in prange(n):
        up, down, side, _, _ = _formal_weights(position[i], parent, unit_start, unit_size,
                                               n_children, power_distance[i])
        w_formal[i] = formal_strength * (up + down + side)
        w_informal = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            w_informal += strength[tie[e]] * factor[e]
        total[i] = w_formal[i] + w_informal
    return w_formal, total


_contact_totals_serial = serial_twin(_contact_totals)


@njit(cache=True, parallel=True)
def _meet_along_ties(draws, first_draw, per_person, w_formal, total, formal, roles, informal,
                     formal_strength, power_distance):
    """Partner (and informal tie, or -1) of every conversation, one slot per conversation
    an employee may start; -1 where none is started. Employee i uses the uniform draws
    from ``first_draw[i]`` on, so no draw depends on the thread count."""
    parent, level_pos, unit_start, unit_size, child_start, n_children = formal
    position, occupant = roles
    indptr, target, tie, strength, factor = informal
    n = len(position)
    partners = np.full(n * per_person, -1, np.int64)
    ties = np.full(n * per_person, -1, np.int64)
    for i in prange(n):
        if total[i] <= 0.0:
            continue
        p = position[i]
        layout = _formal_weights(p, parent, unit_start, unit_size, n_children,
                                 power_distance[i])
        for c in range(per_person):
            r = draws[first_draw[i] + c] * total[i]
            t = -1
            if r < w_formal[i]:
                j = occupant[_formal_partner(r / formal_strength, p, layout, parent,
                                             unit_start, child_start, n_children)]
            else:
                r -= w_formal[i]
                e = indptr[i]
                acc = strength[tie[e]] * factor[e]
                while acc <= r and e < indptr[i + 1] - 1:
                    e += 1
                    acc += strength[tie[e]] * factor[e]
                j, t = target[e], tie[e]
            if j != i:
                partners[i * per_person + c], ties[i * per_person + c] = j, t
    return partners, ties


_meet_along_ties_serial = serial_twin(_meet_along_ties)


@njit(cache=True)
def choose_partners_along_ties(rng, per_person, formal, roles, informal, prm):
    """(initiators, partners, informal tie or -1) for every conversation started, partners
    drawn along formal and informal ties by weight. Employees are visited in parallel;
    their uniform draws are taken first, in employee order, so the conversations (and
    the random stream) are the same on any number of threads."""
    position, occupant = roles[0], roles[1]
    formal_strength, power_distance = prm[0], prm[1]
    large = len(position) >= PARALLEL_MIN
    args = (formal, position, informal, formal_strength, power_distance)
    w_formal, total = _contact_totals(*args) if large else _contact_totals_serial(*args)
    first_draw = np.empty(len(total), np.int64)
    count = 0
    for i in range(len(total)):
        first_draw[i] = count
        count += per_person if total[i] > 0.0 else 0
    draws = rng.random(count)
    args = (draws, first_draw, per_person, w_formal, total, formal, (position, occupant),
            informal, formal_strength, power_distance)
    partners, ties = _meet_along_ties(*args) if large else _meet_along_ties_serial(*args)
    kept = np.flatnonzero(partners >= 0)
    return kept // per_person, partners[kept], ties[kept]


# what a speaker's newest idea does in one direction of a conversation, and two flags
NO_IDEA, PASSES, VOICED_UP = 0, 1, 2
TO_REVIEW = 4  # voiced to one's own manager where approval is needed: goes to review
MAY_SEE = 8  # the listener is not the speaker's manager, so may see the speaker's work


@njit(cache=True, parallel=True)
def _read_directions(initiators, partners, manager, level, unit, latest, source, dims,
                     sanctioned, approval_levels, effort, commitment):
    """Per direction of every conversation (speaker first, then listener, as in
    :func:`exchange`): what the speaker's newest idea does (NO_IDEA where the speaker has
    no idea in use that the listener lacks, VOICED_UP where it is voiced to someone more
    senior, PASSES otherwise) with the TO_REVIEW and MAY_SEE flags; the speaker's effort
    and commitment; and how many conversations crossed units. Read-only, in parallel."""
    offer = np.empty(2 * len(initiators), np.int8)
    said_effort = np.empty(2 * len(initiators))
    said_commitment = np.empty(2 * len(initiators))
    crossed = 0
    for c in prange(len(initiators)):
        a, b = initiators[c], partners[c]
        crossed += _crosses(a, b, unit, manager)
        for x in range(2):
            s, lis = (a, b) if x == 0 else (b, a)
            said_effort[2 * c + x], said_commitment[2 * c + x] = effort[s], commitment[s]
            k = latest[s]
            code = NO_IDEA
            if k >= 0 and source[s, dims[k, 0]] == k and source[lis, dims[k, 0]] != k:
                code = VOICED_UP if level[lis] < level[s] else PASSES
                if approval_levels[s] > 0 and manager[s] == lis and not sanctioned[k]:
                    code |= TO_REVIEW
            if manager[s] != lis:
                code |= MAY_SEE
            offer[2 * c + x] = code
    return offer, said_effort, said_commitment, crossed


_read_directions_serial = serial_twin(_read_directions)


@njit(cache=True)
def exchange(rng, initiators, partners, roles, behaviour, prm, source, dims, sanctioned,
             exposures, submissions):
    """Both directions of every conversation: norms seen, work seen, ideas voiced.

    Fills ``exposures`` (listener, speaker, idea rows) and ``submissions`` (idea, manager,
    speaker rows) using each speaker's newest idea; returns how many of each, and how
    many conversations crossed units. What each direction carries is read in parallel
    (:func:`_read_directions`); the conversations are then taken in order, with every
    random draw, so the draws do not depend on the thread count.
    """
    manager, level, unit = roles
    effort, commitment, seen_effort, seen_commit, heard, witnessed, latest = behaviour
    visibility, power_distance, approval_levels = prm  # per employee (per-unit parameters)
    args = (initiators, partners, manager, level, unit, latest, source, dims, sanctioned,
            approval_levels, effort, commitment)
    if len(initiators) >= PARALLEL_MIN:
        offer, said_effort, said_commitment, n_cross = _read_directions(*args)
    else:
        offer, said_effort, said_commitment, n_cross = _read_directions_serial(*args)
    n_exp = 0
    n_sub = 0
    for x in range(2 * len(initiators)):
        if x % 2 == 0:
            s, lis = initiators[x // 2], partners[x // 2]
        else:
            s, lis = partners[x // 2], initiators[x // 2]
        heard[lis] += 1
        seen_effort[lis] += said_effort[x]
        seen_commit[lis] += said_commitment[x]
        code = offer[x]
        if code & MAY_SEE and not witnessed[s] and rng.random() < visibility[s]:
            witnessed[s] = True
        idea = code & 3
        if idea == NO_IDEA:
            continue
        if idea == VOICED_UP and rng.random() < power_distance[s]:
            continue  # voice upward withheld
        k = latest[s]
        if code & TO_REVIEW:
            submissions[0, n_sub], submissions[1, n_sub], submissions[2, n_sub] = k, lis, s
            n_sub += 1
        else:
            exposures[0, n_exp], exposures[1, n_exp], exposures[2, n_exp] = lis, s, k
            n_exp += 1
    return n_exp, n_sub, n_cross


@njit(cache=True, parallel=True)
def learn_norms(heard, seen_effort, seen_commit, effort_norm, commitment_norm, rate):
    """Norms move ``rate`` of the way toward the mean effort and commitment seen this step."""
    for i in prange(len(heard)):
        if heard[i] > 0:
            effort_norm[i] += rate * (seen_effort[i] / heard[i] - effort_norm[i])
            commitment_norm[i] += rate * (seen_commit[i] / heard[i] - commitment_norm[i])


@njit(cache=True)
def count_partners(sought, partners, sign):
    """Add ``sign`` to each partner's count of times chosen."""
    for j in partners:
        sought[j] += sign


@njit(cache=True, parallel=True)
def update_ties(strength, used, floor, decay, reinforcement):
    """Every tie fades toward ``floor``; each use closes ``reinforcement`` of the gap to 1."""
    for e in prange(len(strength)):
        strength[e] = floor + (strength[e] - floor) * (1.0 - decay)
    for e in used:
        if e >= 0:
            strength[e] = 1.0 - (1.0 - strength[e]) * (1.0 - reinforcement)


learn_norms_serial = serial_twin(learn_norms)
update_ties_serial = serial_twin(update_ties)


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
        prm = (p.formal_tie_strength, m.per_employee("power_distance"),
               m.per_employee("lateral_openness"),
               p.informal_network == "fully_mixed", float(p.informal_degree))
        if p.informal_network == "fully_mixed":
            return choose_partners(self.rng, p.conversations_per_step, formal, roles, (), prm)
        informal = (net.indptr, net.target, net.tie, net.strength, self.tie_factor())
        return choose_partners_along_ties(self.rng, p.conversations_per_step, formal, roles,
                                          informal, prm)

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
        kernel = learn_norms if len(self.heard) >= PARALLEL_MIN else learn_norms_serial
        kernel(self.heard, self.seen_effort, self.seen_commit, people.effort_norm,
               people.commitment_norm, self.model.p.norm_learning)

    def strengthen_ties(self, tie: np.ndarray) -> None:
        net, p = self.model.network, self.model.p
        if net.n_ties:
            kernel = update_ties if net.n_ties >= PARALLEL_MIN else update_ties_serial
            kernel(net.strength, tie, p.tie_floor, p.tie_decay, p.tie_reinforcement)

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
