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

from model.bundle import Entry
from model.employees import DETECTED, HIDDEN, NEVER, WORKING
from model.parallel import PARALLEL_MIN
from model.processes.base import Process
from model.rng import draw_blocks, pcg_address, pcg_advance, pcg_load, pcg_store, pcg_uniform

if TYPE_CHECKING:
    from model.organization import OrganizationModel


BY_MANAGER, BY_PEER, SANCTIONED = 1, 2, 4  # what happened to an employee this step


@njit(cache=True)
def monitor(rng, seen, witnessed, by_manager_chance, by_peer_chance, effort, watch_belief,
            commitment, coast_state, hidden_since, sanctioned, manager_power, peer_power,
            learning, threshold, loss, step):
    """Observe, notice, sanction and track coasting spells for everyone; returns
    (noticed count, hidden steps of spells that ended, spells that ended).

    The draws are taken one employee after another (so they do not depend on the thread
    count), noting in ``seen`` what happened to each; their consequences follow (in the
    same pass in a small organization, in parallel in a large one)."""
    if len(seen) < PARALLEL_MIN:
        return _monitor_in_order(rng, seen, witnessed, by_manager_chance, by_peer_chance,
                                 effort, watch_belief, commitment, coast_state, hidden_since,
                                 sanctioned, manager_power, peer_power, learning, threshold,
                                 loss, step)
    _observe_in_blocks(rng, seen, witnessed, by_manager_chance, by_peer_chance, effort,
                       manager_power, peer_power, threshold)
    return _follow_up(seen, effort, watch_belief, commitment, coast_state, hidden_since,
                      sanctioned, manager_power, peer_power, learning, threshold, loss, step)


@njit(cache=True)
def _monitor_in_order(rng, seen, witnessed, by_manager_chance, by_peer_chance, effort,
                      watch_belief, commitment, coast_state, hidden_since, sanctioned,
                      manager_power, peer_power, learning, threshold, loss, step):
    """:func:`monitor` in one pass, one employee after another: who is seen by their
    manager, by a peer, and sanctioned, into ``seen`` (the draws: the manager's, a
    peer's, then, if coasting, the sanctions'; each of the first two drawn always and
    kept only where due, so the stream steps only then), then what follows
    (:func:`_follow_up_one`)."""
    address = pcg_address(rng)  # the stream's draws, inline
    state, inc = pcg_load(address)
    noticed_count, hidden_time, spells = 0, 0, 0
    for i in range(len(effort)):
        manager_looks = by_manager_chance[i] >= 0.0
        drawn, u = pcg_uniform(state, inc)
        state = drawn if manager_looks else state
        by_manager = manager_looks & (u < by_manager_chance[i])
        peer_looks = (not witnessed[i]) & (by_peer_chance[i] >= 0.0)
        drawn, u = pcg_uniform(state, inc)
        state = drawn if peer_looks else state
        by_peer = (not peer_looks) | (u < by_peer_chance[i])
        punished = False
        if effort[i] < threshold:  # coasting: sanctioned by the manager, else by a peer
            if by_manager:
                state, u = pcg_uniform(state, inc)
                punished = u < manager_power[i]
            if by_peer and not punished:
                state, u = pcg_uniform(state, inc)
                punished = u < peer_power[i]
        seen[i] = by_manager * BY_MANAGER + by_peer * BY_PEER + punished * SANCTIONED
        (watch_belief[i], commitment[i], coast_state[i], hidden_since[i], noticed, hidden,
         ended) = _follow_up_one(by_manager, by_peer, punished, effort[i], watch_belief[i],
                                 commitment[i], coast_state[i], hidden_since[i],
                                 manager_power[i], peer_power[i], learning, threshold, loss,
                                 step)
        sanctioned[i] = punished
        noticed_count += noticed
        hidden_time += hidden
        spells += ended
    pcg_store(address, state)
    return noticed_count, hidden_time, spells


OBSERVE_BLOCK = 1 << 14  # employees per block of the parallel passes (fixed, not per thread)


@njit(cache=True, inline="always")
def _sure_draws(witnessed, manager_chance, peer_chance):
    """The draws one takes whatever their outcomes (a manager's look, a peer's; scalars: an
    array handed to a helper in a loop costs reference counts)."""
    return np.int64(manager_chance >= 0.0) + np.int64((not witnessed) & (peer_chance >= 0.0))


@njit(cache=True, inline="always")
def _looks(first, second, manager_chance, peer_chance, witnessed):
    """Whether one is seen by their manager and by a peer, given their next two draws, and
    how many of them are used (scalars: an array handed to a helper in a loop costs
    reference counts)."""
    manager_looks = manager_chance >= 0.0
    peer_looks = (not witnessed) & (peer_chance >= 0.0)
    peer_draw = second if manager_looks else first
    return (manager_looks & (first < manager_chance), (not peer_looks) | (peer_draw < peer_chance),
            np.int64(manager_looks) + np.int64(peer_looks))


@njit(cache=True)
def _observe_in_blocks(rng, seen, witnessed, by_manager_chance, by_peer_chance, effort,
                       manager_power, peer_power, threshold):
    """The observations of :func:`_monitor_in_order` with the same draws, mostly in
    parallel: every employee's sure draws (:func:`_sure_draws`) sit at known places of
    the stream once the extra draws of the coasting employees before them are known.
    Those are found in one serial pass over the coasting employees only; the draws
    themselves are taken in fixed blocks in parallel (more than are used: the stream
    moves on by those used only)."""
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    sure, coasting = _block_totals(witnessed, by_manager_chance, by_peer_chance, effort,
                                   threshold)
    sure_start, coast_start = np.cumsum(sure) - sure, np.cumsum(coasting) - coasting
    n_sure, n_coasting = sure.sum(), coasting.sum()
    draws = np.empty(n_sure + 2 * n_coasting + 1)  # <= 2 sanction draws per coasting
    draw_blocks(state, inc, draws, True)
    who, sure_before = _coasting_employees(witnessed, by_manager_chance, by_peer_chance,
                                           effort, threshold, sure_start, coast_start,
                                           n_coasting)
    extra_after = np.empty(n_coasting, np.int64)  # sanction draws up to each coasting one
    extra, last = 0, len(draws) - 1
    for c in range(n_coasting):
        i = who[c]
        at = sure_before[c] + extra
        by_manager, by_peer, used = _looks(draws[min(at, last)], draws[min(at + 1, last)],
                                           by_manager_chance[i], by_peer_chance[i],
                                           witnessed[i])
        at += used
        punished = False
        if by_manager:
            punished = draws[at] < manager_power[i]
            at += 1
            extra += 1
        if by_peer and not punished:
            punished = draws[at] < peer_power[i]
            extra += 1
        seen[i] = by_manager * BY_MANAGER + by_peer * BY_PEER + punished * SANCTIONED
        extra_after[c] = extra
    _observe_not_coasting(seen, witnessed, by_manager_chance, by_peer_chance, effort,
                          threshold, draws, sure_start, coast_start, extra_after)
    pcg_store(address, pcg_advance(state, inc, n_sure + extra))


@njit(cache=True, parallel=True)
def _block_totals(witnessed, by_manager_chance, by_peer_chance, effort, threshold):
    """Sure draws and coasting employees per fixed block of employees."""
    n = len(effort)
    blocks = (n + OBSERVE_BLOCK - 1) // OBSERVE_BLOCK
    sure = np.zeros(blocks, np.int64)
    coasting = np.zeros(blocks, np.int64)
    for b in prange(blocks):
        s = c = 0
        for i in range(b * OBSERVE_BLOCK, min(n, (b + 1) * OBSERVE_BLOCK)):
            s += _sure_draws(witnessed[i], by_manager_chance[i], by_peer_chance[i])
            c += effort[i] < threshold
        sure[b], coasting[b] = s, c
    return sure, coasting


@njit(cache=True, parallel=True)
def _coasting_employees(witnessed, by_manager_chance, by_peer_chance, effort, threshold,
                        sure_start, coast_start, n_coasting):
    """The coasting employees in order, and the sure draws of everyone before each."""
    n = len(effort)
    who = np.empty(n_coasting, np.int64)
    sure_before = np.empty(n_coasting, np.int64)
    for b in prange(len(sure_start)):
        s, c = sure_start[b], coast_start[b]
        for i in range(b * OBSERVE_BLOCK, min(n, (b + 1) * OBSERVE_BLOCK)):
            if effort[i] < threshold:
                who[c], sure_before[c] = i, s
                c += 1
            s += _sure_draws(witnessed[i], by_manager_chance[i], by_peer_chance[i])
    return who, sure_before


@njit(cache=True, parallel=True)
def _observe_not_coasting(seen, witnessed, by_manager_chance, by_peer_chance, effort,
                          threshold, draws, sure_start, coast_start, extra_after):
    """``seen`` of the employees not coasting, each block walking its place in ``draws``."""
    n, last = len(effort), len(draws) - 1
    for b in prange(len(sure_start)):
        s, c = sure_start[b], coast_start[b]
        extra = extra_after[c - 1] if c > 0 else 0
        for i in range(b * OBSERVE_BLOCK, min(n, (b + 1) * OBSERVE_BLOCK)):
            if effort[i] < threshold:
                extra = extra_after[c]
                c += 1
            else:
                at = s + extra
                by_manager, by_peer, _ = _looks(draws[min(at, last)], draws[min(at + 1, last)],
                                                by_manager_chance[i], by_peer_chance[i],
                                                witnessed[i])
                seen[i] = by_manager * BY_MANAGER + by_peer * BY_PEER
            s += _sure_draws(witnessed[i], by_manager_chance[i], by_peer_chance[i])


@njit(cache=True)
def chances_of_being_seen(position, parent, n_children, unit_size, visibility, capacity):
    """Each employee's chance of being seen by their manager (watched actively or seen
    passively; -1 without a manager) and by a unit colleague (unless a conversation
    partner saw their work already); ``visibility`` and ``capacity`` per employee
    (per-unit parameters). They change only with roles and parameters."""
    by_manager = np.empty(len(position))
    by_peer = np.empty(len(position))
    for i in range(len(position)):
        pos = position[i]
        boss = parent[pos]
        by_manager[i] = -1.0
        if boss >= 0:
            watched = min(1.0, capacity[i] / max(n_children[boss], 1))
            by_manager[i] = 1.0 - (1.0 - watched) * (1.0 - visibility[i])
        colleagues = unit_size[pos] - 1
        by_peer[i] = 1.0 - (1.0 - visibility[i]) ** colleagues
    return by_manager, by_peer


@njit(cache=True, parallel=True)
def _follow_up(seen, effort, watch_belief, commitment, coast_state, hidden_since, sanctioned,
               manager_power, peer_power, learning, threshold, loss, step):
    """Learning the risk, noticing, sanction costs and coasting spells, given who was seen
    and sanctioned; returns (noticed count, hidden steps of spells ended, spells ended)."""
    noticed_count, hidden_time, spells = 0, 0, 0
    for i in prange(len(seen)):
        punished = (seen[i] & SANCTIONED) != 0
        (watch_belief[i], commitment[i], coast_state[i], hidden_since[i], noticed, hidden,
         ended) = _follow_up_one((seen[i] & BY_MANAGER) != 0, (seen[i] & BY_PEER) != 0,
                                 punished, effort[i], watch_belief[i], commitment[i],
                                 coast_state[i], hidden_since[i], manager_power[i],
                                 peer_power[i], learning, threshold, loss, step)
        sanctioned[i] = punished
        noticed_count += noticed
        hidden_time += hidden
        spells += ended
    return noticed_count, hidden_time, spells


@njit(cache=True)
def _follow_up_one(by_manager, by_peer, punished, effort, watch_belief, commitment, state,
                   hidden_since, manager_power, peer_power, learning, threshold, loss, step):
    """One employee's :func:`_follow_up` (scalars: an array handed to a helper in a loop
    costs reference counts; LLVM inlines the call): (watch belief, commitment, coasting
    state, hidden since, noticed, hidden steps of a spell that ended, whether one ended)."""
    risk = min(1.0, by_manager * manager_power + by_peer * peer_power)
    watch_belief += learning * (risk - watch_belief)
    coasting = effort < threshold
    noticed = coasting and ((by_manager and manager_power > 0)
                            or (by_peer and peer_power > 0))
    if punished:
        commitment = max(0.0, commitment - loss)
    ended = hidden = 0
    if coasting and state == WORKING:
        state = HIDDEN
        hidden_since = step
    if state == HIDDEN and (noticed or not coasting):
        ended = 1
        hidden = step - hidden_since
        hidden_since = NEVER
        state = DETECTED if coasting else WORKING
    if not coasting:
        state = WORKING
    return watch_belief, commitment, state, hidden_since, noticed, hidden, ended


class Monitoring(Process):
    """Observation, detection, sanctions and the bookkeeping of hidden coasting spells."""

    name = "monitoring"

    def __init__(self, model: OrganizationModel):
        super().__init__(model)
        self.hidden_time_total = 0
        self.hidden_spells = 0
        self.noticed_share = 0.0
        self._version: tuple | None = None  # model.kernel_version() of the cached arguments
        self._args: tuple = ()
        self._seen = np.empty(model.people.n, np.int8)  # what happened to each, this step
        self._monitor = Entry(monitor)

    def arguments(self) -> tuple:
        """The per-employee arrays of :func:`monitor`, its chances worked out once per
        version of roles and parameters."""
        m = self.model
        version = m.kernel_version()
        if self._version != version:
            people, s, p = m.people, m.structure, m.p
            visibility = m.per_employee("work_visibility")
            chances = chances_of_being_seen(people.position, s.parent, s.n_children,
                                            s.unit_size, visibility,
                                            m.per_employee("monitoring_capacity"))
            self._args = (self.rng, self._seen, people.witnessed, *chances, people.effort,
                          people.watch_belief, people.commitment, people.coast_state,
                          people.hidden_since, people.sanctioned,
                          m.per_employee("manager_sanction_power"),
                          m.per_employee("peer_sanction_power"), float(p.watch_learning),
                          float(p.coasting_threshold), float(p.sanction_commitment_loss))
            self._version = version
        return self._args

    def step(self) -> None:
        args = self.arguments()
        self.record(*self._monitor(args, *args, self.model.steps))

    def record(self, noticed: int, hidden_time: int, spells: int) -> None:
        """Note a step's outcome (what :func:`monitor` returns)."""
        self.noticed_share = noticed / self.model.people.n
        self.hidden_time_total += hidden_time
        self.hidden_spells += spells

    def mean_time_hidden(self) -> float:
        """Mean steps a coasting spell stayed hidden (ongoing spells counted so far)."""
        people, t = self.model.people, self.model.steps
        ongoing = people.coast_state == HIDDEN
        total = self.hidden_time_total + int((t - people.hidden_since[ongoing]).sum())
        spells = self.hidden_spells + int(ongoing.sum())
        return total / spells if spells else 0.0
