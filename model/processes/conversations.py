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
  moves one hop per step; a speaker's draws come from the stream of the speaker's block
  of employees (:func:`model.rng.jumped_states`), so they do not depend on the threads;
- the informal tie used gains strength; every informal tie fades toward its floor.
"""

from __future__ import annotations

import operator
from collections import deque
from typing import TYPE_CHECKING

import numba
import numpy as np
from numba import njit, prange, types
from numba.experimental import structref

from model.bundle import Entry
from model.parallel import PARALLEL_MIN, serial_twin
from model.processes.adoption import (
    _UNUSED_MEMORY,
    adoption_settings,
    expose_in_random_order,
    forget_exposures,
)
from model.processes.base import Process
from model.rng import (
    DRAW_BLOCK,
    DRAW_SHIFT,
    draw_blocks_of,
    jumped_states,
    pcg_address,
    pcg_advance,
    pcg_load,
    pcg_store,
    pcg_uniform,
    pcg_uniform_call,
)

if TYPE_CHECKING:
    from model.organization import OrganizationModel


# The helpers below take scalars: an array handed to a compiled function inside a loop
# costs two atomic reference-count updates per call (measured: exchange 20% slower).


@njit(cache=True, inline="always")
def _crosses(a, b, unit_a, unit_b, manager_a, manager_b):
    """Whether a and b share neither a unit nor a reporting line."""
    return (unit_a != unit_b) & (manager_a != b) & (manager_b != a)


@njit(cache=True, inline="always")
def _offers(k, s, lis, source, dims):
    """Whether speaker s still uses idea k (their newest, -1 if none) and listener lis
    does not."""
    if k < 0:
        return False
    d = dims[k, 0]
    return (source[s, d] == k) & (source[lis, d] != k)


@njit(cache=True, inline="always")
def _formal_weights(p, boss, start, size, kids, power_distance):
    """(up, down, side, skip_lo, skip_hi) of position p (manager ``boss``, unit of
    ``size`` positions from ``start``, ``kids`` direct reports): the weight of one's
    manager, of one's reports and of one's unit colleagues (oneself and one's manager
    excluded, skipped at skip_lo and skip_hi); ``power_distance`` is the initiator's own
    value."""
    up = (1.0 - power_distance) if boss >= 0 else 0.0
    down = float(kids)
    boss_in_unit = boss >= start and boss < start + size
    skip_lo, skip_hi = (min(p, boss), max(p, boss)) if boss_in_unit else (p, size + start)
    side = float(size - 1 - boss_in_unit)
    return up, down, side, skip_lo, skip_hi


@njit(cache=True, inline="always")
def _formal_partner(x, layout, boss, start, first_child, kids):
    """The position met at x along the formal weights ``layout`` of a position (see
    _formal_weights) whose reports start at ``first_child``. x is below up + down + side
    but for rounding (a tiny formal tie strength: x = r / strength), which never takes it
    past the last kind of tie that has weight."""
    up, down, side, skip_lo, skip_hi = layout
    if x < up or down + side <= 0.0:
        return boss
    if x < up + down or side <= 0.0:
        return first_child + min(int(x - up), kids - 1)
    q = start + max(0, min(int(x - up - down), int(side) - 1))
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
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    for i in range(n):
        p = position[i]
        layout = _formal_weights(p, parent[p], unit_start[p], unit_size[p], n_children[p],
                                 power_distance[i])
        up, down, side = layout[0], layout[1], layout[2]
        w_formal = formal_strength * (up + down + side)
        total = w_formal + mixed_degree
        if total <= 0.0:
            continue
        for _ in range(per_person):
            state, u = pcg_uniform(state, inc)
            r = u * total
            if r < w_formal:
                j = occupant[_formal_partner(r / formal_strength, layout, parent[p],
                                             unit_start[p], child_start[p], n_children[p])]
            else:
                state, u = pcg_uniform(state, inc)
                j = min(int(u * (n - 1)), n - 2)
                if j >= i:
                    j += 1
                factor = lateral[i] if _crosses(i, j, unit[i], unit[j], manager[i],
                                                manager[j]) else 1.0
                if level[j] < level[i]:
                    factor *= 1.0 - power_distance[i]
                state, u = pcg_uniform(state, inc)
                if u >= factor:
                    continue
            if j == i:
                continue
            initiators[count], partners[count] = i, j
            count += 1
    pcg_store(address, state)
    return initiators[:count], partners[:count], ties[:count]


MEET_BLOCK = DRAW_BLOCK  # employees per block of the parallel choice (fixed, not per thread)


@njit(cache=True, parallel=True)
def _meet_along_ties(state, inc, first_draw, per_person, formal, roles, informal, w_formal,
                     widest, formal_strength, power_distance):
    """Partner (and informal tie, or -1) of every conversation, one slot per conversation
    an employee may start (-1 where none is started); per block of MEET_BLOCK employees,
    how many conversations were started and how many employees have some contact weight
    (each draws ``per_person`` uniforms). Each block steps its own copy of the stream
    from its first draw (``first_draw``, from ``state``), so the draws are those of one
    pass in employee order on any number of threads, provided ``first_draw`` counts the
    draws of the blocks before (the caller checks against the counts returned). Each
    employee is met as :func:`_along_ties_serial` meets them (``w_formal``: formal
    weights; each block keeps the running sums of an employee's informal weights in room
    for ``widest`` ties): the same sums and choices."""
    parent, unit_start, unit_size, child_start, n_children = formal
    position, occupant = roles
    indptr, target, tie, strength, factor = informal
    n = len(position)
    partners = np.empty(n * per_person, np.int64)
    ties = np.empty(n * per_person, np.int64)
    started = np.zeros(len(first_draw) - 1, np.int64)
    drawing = np.zeros(len(first_draw) - 1, np.int64)
    for b in prange(len(first_draw) - 1):
        prefix = np.empty(widest)
        s = pcg_advance(state, inc, first_draw[b])
        kept = 0
        takers = 0
        for i in range(b * MEET_BLOCK, min(n, (b + 1) * MEET_BLOCK)):
            start, end = indptr[i], indptr[i + 1]
            w_informal = 0.0
            for e in range(start, end):
                w_informal += strength[tie[e]] * factor[e]
                prefix[e - start] = w_informal
            total = w_formal[i] + w_informal
            if total <= 0.0:
                for c in range(per_person):
                    partners[i * per_person + c] = -1
                    ties[i * per_person + c] = -1
                continue
            takers += 1
            for c in range(per_person):
                s, u = pcg_uniform_call(s, inc)
                r = u * total
                t = -1
                if r < w_formal[i] or end == start:  # (r = total: rounding)
                    p = position[i]
                    layout = _formal_weights(p, parent[p], unit_start[p], unit_size[p],
                                             n_children[p], power_distance[i])
                    j = occupant[_formal_partner(r / formal_strength, layout, parent[p],
                                                 unit_start[p], child_start[p], n_children[p])]
                else:
                    r -= w_formal[i]
                    e = start + _sums_at_most(prefix, end - 1 - start, r)
                    j, t = target[e], tie[e]
                keep = j != i
                partners[i * per_person + c] = j if keep else -1
                ties[i * per_person + c] = t if keep else -1
                kept += keep
        started[b] = kept
        drawing[b] = takers
    return partners, ties, started, drawing


@njit(cache=True, parallel=True)
def _initiators_of_slots(count, per_person):
    """The initiator of each slot when every slot holds a conversation (in parallel: the
    path of large organizations)."""
    initiators = np.empty(count, np.int64)
    for x in prange(count):
        initiators[x] = x // per_person
    return initiators


@njit(cache=True, parallel=True)
def _as_int32(values):
    """``values.astype(np.int32)``, copied in parallel."""
    out = np.empty(len(values), np.int32)
    for x in prange(len(values)):
        out[x] = values[x]
    return out


_as_int32_serial = serial_twin(_as_int32)


@njit(cache=True, parallel=True)
def _gather_started(partners, ties, started, per_person, initiators_out, partners_out,
                    ties_out):
    """Copy the started conversations (partner >= 0) of each block to where the blocks
    before it end, in parallel (the same order as one pass)."""
    block = MEET_BLOCK * per_person
    offset = np.zeros(len(started) + 1, np.int64)
    for b in range(len(started)):
        offset[b + 1] = offset[b] + started[b]
    for b in prange(len(started)):
        at = offset[b]
        for x in range(b * block, min(len(partners), (b + 1) * block)):
            if partners[x] >= 0:
                initiators_out[at] = x // per_person
                partners_out[at] = partners[x]
                ties_out[at] = ties[x]
                at += 1


@njit(cache=True)
def formal_weights(position, parent, unit_start, unit_size, n_children, formal_strength,
                   power_distance):
    """Each employee's total formal contact weight (what both choices of partners read)."""
    w_formal = np.empty(len(position))
    for i in range(len(position)):
        p = position[i]
        up, down, side, _, _ = _formal_weights(p, parent[p], unit_start[p], unit_size[p],
                                               n_children[p], power_distance[i])
        w_formal[i] = formal_strength * (up + down + side)
    return w_formal


@njit(cache=True)
def contact_weights(indptr, target, unit, manager, level, lateral, power_distance, position,
                    parent, unit_start, unit_size, n_children, formal_strength):
    """(constraint factor of each informal half-edge a -> target, as
    :meth:`model.organization.OrganizationModel.contact_factor` works it out: lateral
    openness if it crosses units, times 1 - power distance if it points up, both a's;
    formal weight of each employee (:func:`formal_weights`); room for the running sums of
    one employee's informal weights), in one compiled call."""
    factor = np.empty(len(target))
    widest = 1
    for a in range(len(indptr) - 1):
        widest = max(widest, indptr[a + 1] - indptr[a])
        for e in range(indptr[a], indptr[a + 1]):
            b = target[e]
            crosses = _crosses(a, b, unit[a], unit[b], manager[a], manager[b])
            sideways = lateral[a] if crosses else 1.0
            upward = 1.0 - power_distance[a] if level[b] < level[a] else 1.0
            factor[e] = sideways * upward
    w_formal = formal_weights(position, parent, unit_start, unit_size, n_children,
                              formal_strength, power_distance)
    return factor, w_formal, np.empty(widest)


@njit(cache=True)
def _along_ties_serial(rng, per_person, parent, unit_start, unit_size, child_start,
                       n_children, position, occupant, indptr, target, tie, strength, factor,
                       w_formal, formal_strength, power_distance, prefix, initiators, partners,
                       ties):
    """:func:`choose_partners_along_ties` in one pass over the employees (the same draws,
    sums and choices as its parallel passes): fills the conversation arrays, returns how
    many conversations were started. ``w_formal``: from :func:`formal_weights`;
    ``prefix``: room for the running sums of one employee's informal weights."""
    count = 0
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    for i in range(len(position)):
        start, end = indptr[i], indptr[i + 1]
        w_informal = 0.0
        for e in range(start, end):
            w_informal += strength[tie[e]] * factor[e]
            prefix[e - start] = w_informal  # the walk below sums the same terms in order
        total = w_formal[i] + w_informal
        if total <= 0.0:
            continue
        for _ in range(per_person):
            state, u = pcg_uniform(state, inc)
            r = u * total
            t = -1
            if r < w_formal[i] or end == start:  # (r = total: rounding)
                p = position[i]
                layout = _formal_weights(p, parent[p], unit_start[p], unit_size[p],
                                         n_children[p], power_distance[i])
                j = occupant[_formal_partner(r / formal_strength, layout, parent[p],
                                             unit_start[p], child_start[p], n_children[p])]
            else:
                r -= w_formal[i]
                e = start + _sums_at_most(prefix, end - 1 - start, r)
                j, t = target[e], tie[e]
            if j != i:
                initiators[count], partners[count], ties[count] = i, j, t
                count += 1
    pcg_store(address, state)
    return count


@njit(cache=True, inline="always")
def _sums_at_most(prefix, count, r):
    """How many of the first ``count`` running sums are at most r: the walk's stop (the
    first sum above r, or the last tie), counted without a branch per tie. The sums never
    decrease (tie weights are >= 0), so the count equals the walk."""
    passed = 0
    for q in range(count):
        passed += prefix[q] <= r
    return passed


@njit(cache=True)
def choose_partners_along_ties(rng, per_person, formal, roles, informal, prm):
    """(initiators, partners, informal tie or -1) for every conversation started, partners
    drawn along formal and informal ties by weight (``prm``: formal tie strength, power
    distance per employee, formal weight per employee (:func:`formal_weights`), room for
    one employee's running sums). Employees are visited in parallel
    blocks, each drawing from its own copy of the stream advanced to its first draw, so
    the conversations (and the random stream) are the same on any number of threads;
    one pass when every employee has some contact weight (nearly always), two otherwise."""
    position, occupant = roles[0], roles[1]
    formal_strength, power_distance, w_formal, prefix = prm
    n = len(position)
    blocks = (n + MEET_BLOCK - 1) // MEET_BLOCK
    first_draw = np.empty(blocks + 1, np.int64)  # as if every employee draws
    for b in range(blocks + 1):
        first_draw[b] = min(b * MEET_BLOCK, n) * per_person
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    args = (per_person, formal, (position, occupant), informal, w_formal, len(prefix),
            formal_strength, power_distance)
    partners, ties, started, drawing = _meet_along_ties(state, inc, first_draw, *args)
    if drawing.sum() < n:  # some employee has no contact weight, so draws nothing: again,
        # each block from where the blocks before it end
        for b in range(blocks):
            first_draw[b + 1] = first_draw[b] + drawing[b] * per_person
        partners, ties, started, drawing = _meet_along_ties(state, inc, first_draw, *args)
    pcg_store(address, pcg_advance(state, inc, first_draw[-1]))
    count = started.sum()
    if count == len(partners):  # every slot holds a conversation
        return _initiators_of_slots(count, per_person), partners, ties
    initiators_out = np.empty(count, np.int64)
    partners_out = np.empty(count, np.int64)
    ties_out = np.empty(count, np.int64)
    _gather_started(partners, ties, started, per_person, initiators_out, partners_out,
                    ties_out)
    return initiators_out, partners_out, ties_out


@njit(cache=True)
def exchange(rng, initiators, partners, roles, behaviour, prm, source, dims, sanctioned,
             exposures, submissions, threads):
    """Both directions of every conversation: norms seen, work seen, ideas voiced.

    Fills ``exposures`` (listener, speaker, idea rows) and ``submissions`` (idea, manager,
    speaker rows) in the order of the directions (speaker first, then listener), using
    each speaker's newest idea; returns how many of each, and how many conversations
    crossed units. A speaker's draws (work seen, voice withheld) are keyed by the
    speaker's block of employees (:func:`model.rng.jumped_states`), taken in the order of
    the directions. The employees are split into ``threads`` ranges of whole blocks, each
    taken by one thread (:func:`_take_in_ranges`: what its employees say and hear), and
    the directions that give something are then gathered in order in parallel: the same
    draws and results on any number of threads. Below ``PARALLEL_MIN`` conversations or
    on one thread, one pass in order does it all (:func:`_exchange_in_order`).
    """
    manager, level, unit = roles
    effort, commitment, seen_effort, seen_commit, heard, witnessed, latest = behaviour
    visibility, power_distance, approval_levels = prm  # per employee (per-unit parameters)
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    blocks = draw_blocks_of(len(manager))
    states = jumped_states(state, inc, blocks)
    args = (states, inc, initiators, partners, manager, level, unit, effort, commitment,
            heard, seen_effort, seen_commit, witnessed, latest, visibility, power_distance,
            approval_levels, source, dims, sanctioned)
    if threads < 2 or len(initiators) < PARALLEL_MIN:
        n_exp, n_sub, n_cross = _exchange_in_order(*args, exposures, submissions)
        pcg_store(address, (states[blocks - 1, 0], states[blocks - 1, 1]))
        return n_exp, n_sub, n_cross
    given = np.empty((threads, 2 * len(initiators)), np.int64)  # a row per thread: no two
    # threads write one cache line
    counts = np.zeros((threads, 3), np.int64)
    _take_in_ranges(*args, given, counts)
    pcg_store(address, (states[blocks - 1, 0], states[blocks - 1, 1]))
    n_exp = _gather_exposures(initiators, partners, latest, given, counts[:, 0], exposures)
    n_sub = _gather_submissions(initiators, partners, latest, given, counts[:, 1],
                                submissions)
    return n_exp, n_sub, counts[:, 2].sum()


@njit(cache=True)
def _exchange_in_order(states, inc, initiators, partners, manager, level, unit, effort,
                       commitment, heard, seen_effort, seen_commit, witnessed, latest,
                       visibility, power_distance, approval_levels, source, dims, sanctioned,
                       exposures, submissions):
    """The directions of :func:`exchange` in one pass in order (one thread): the
    listeners' sums (cleared first), every draw from the speaker's block state in
    ``states``, each exposure and submission written as it comes; returns (exposures,
    submissions, conversations across units). The same draws and results as
    :func:`_take_in_ranges` on one range, with fewer branches: both draws are made and
    each kept only where due (the stream steps only then), and each direction's
    exposure is written and kept (counted) only where it passes."""
    for i in range(len(heard)):
        heard[i] = 0
        seen_effort[i] = 0.0
        seen_commit[i] = 0.0
        witnessed[i] = False
    n_exp = n_sub = n_cross = 0
    for c in range(len(initiators)):
        a, b = initiators[c], partners[c]
        n_cross += _crosses(a, b, unit[a], unit[b], manager[a], manager[b])
        for x in range(2):
            s, lis = (a, b) if x == 0 else (b, a)
            heard[lis] += 1
            seen_effort[lis] += effort[s]
            seen_commit[lis] += commitment[s]
            block = s >> DRAW_SHIFT
            to_manager = manager[s] == lis
            k = latest[s]
            offers = _offers(k, s, lis, source, dims)
            seen = witnessed[s]
            look = (not to_manager) & (not seen)  # work seen: drawn once a step
            voice = offers & (level[lis] < level[s])  # voice upward: may be withheld
            state = (states[block, 0], states[block, 1])
            drawn, u = pcg_uniform(state, inc)
            state = drawn if look else state
            witnessed[s] = (u < visibility[s]) if look else seen
            drawn, u = pcg_uniform(state, inc)
            state = drawn if voice else state
            passes = (u >= power_distance[s]) if voice else offers
            states[block, 0], states[block, 1] = state[0], state[1]
            review = to_manager & (approval_levels[s] > 0) & (k >= 0) and not sanctioned[k]
            if passes & review:  # (rare) goes to review
                submissions[0, n_sub], submissions[1, n_sub], submissions[2, n_sub] = k, lis, s
                n_sub += 1
            exposures[0, n_exp], exposures[1, n_exp], exposures[2, n_exp] = lis, s, k
            n_exp += passes & (not review)
    return n_exp, n_sub, n_cross


@njit(cache=True, parallel=True)
def _take_in_ranges(states, inc, initiators, partners, manager, level, unit, effort,
                    commitment, heard, seen_effort, seen_commit, witnessed, latest,
                    visibility, power_distance, approval_levels, source, dims, sanctioned,
                    given, counts):
    """The directions of :func:`exchange`, the employees split into ``len(counts)``
    ranges of whole blocks, each range taken by one thread over all conversations in
    order: its listeners' sums (cleared first: heard, effort and commitment seen, in
    conversation order) and its speakers' directions, every draw from the speaker's block
    state in ``states`` (its speakers' ``witnessed`` written by it alone). Row r of
    ``given`` lists range r's directions that give an exposure (from the start, in order)
    and a submission (from the end, backwards); counts[r] = (exposures, submissions,
    conversations across units that range r's employees started). The draws are made as
    :func:`_exchange_in_order` makes them (both made, each kept only where due)."""
    ranges, blocks, n = len(counts), len(states), len(heard)
    size = given.shape[1]
    for r in prange(ranges):
        first = min(n, r * blocks // ranges * DRAW_BLOCK)
        last = min(n, (r + 1) * blocks // ranges * DRAW_BLOCK)
        for i in range(first, last):
            heard[i] = 0
            seen_effort[i] = 0.0
            seen_commit[i] = 0.0
            witnessed[i] = False
        n_exp = 0
        n_sub = 0
        n_cross = 0
        for c in range(len(initiators)):
            a, b = initiators[c], partners[c]
            if first <= a < last:  # (initiators come in order: rarely mispredicts)
                n_cross += _crosses(a, b, unit[a], unit[b], manager[a], manager[b])
            for x in range(2):
                s, lis = (a, b) if x == 0 else (b, a)
                if first <= lis < last:
                    heard[lis] += 1
                    seen_effort[lis] += effort[s]
                    seen_commit[lis] += commitment[s]
                if s < first or s >= last:
                    continue
                block = s >> DRAW_SHIFT  # as _exchange_in_order: both draws made, each
                to_manager = manager[s] == lis  # kept only where due
                k = latest[s]
                offers = _offers(k, s, lis, source, dims)
                seen = witnessed[s]
                look = (not to_manager) & (not seen)
                voice = offers & (level[lis] < level[s])
                state = (states[block, 0], states[block, 1])
                drawn, u = pcg_uniform_call(state, inc)
                state = (drawn[0] if look else state[0], drawn[1] if look else state[1])
                witnessed[s] = (u < visibility[s]) if look else seen
                drawn, u = pcg_uniform_call(state, inc)
                state = (drawn[0] if voice else state[0], drawn[1] if voice else state[1])
                passes = (u >= power_distance[s]) if voice else offers
                states[block, 0], states[block, 1] = state[0], state[1]
                review = to_manager & (approval_levels[s] > 0) & (k >= 0) and not sanctioned[k]
                if passes & review:  # (rare) goes to review
                    given[r, size - 1 - n_sub] = 2 * c + x
                    n_sub += 1
                else:  # (written always, kept only where it passes)
                    given[r, n_exp] = 2 * c + x
                    n_exp += passes
        counts[r, 0], counts[r, 1], counts[r, 2] = n_exp, n_sub, n_cross



@njit(cache=True, inline="always")
def _direction(initiators, partners, latest, x):
    """(speaker, listener, speaker's newest idea) of direction x (2 c: the initiator of
    conversation c speaks, 2 c + 1: the partner)."""
    a, b = initiators[x >> 1], partners[x >> 1]
    s, lis = (b, a) if x & 1 else (a, b)
    return s, lis, latest[s]


GATHER_CHUNK = 1 << 16  # directions per chunk of the parallel gather (fixed)


@njit(cache=True, parallel=True)
def _gather_exposures(initiators, partners, latest, given, counts, exposures):
    """The exposures of the directions listed in the rows of ``given`` (the first
    counts[r] of row r, in order), merged in the order of the directions into
    ``exposures``, in parallel chunks of directions; returns how many."""
    ranges = len(counts)
    chunks = (given.shape[1] + GATHER_CHUNK - 1) // GATHER_CHUNK
    for q in prange(chunks):
        lo, hi = q * GATHER_CHUNK, (q + 1) * GATHER_CHUNK
        head = np.empty(ranges, np.int64)  # each row's next listed direction in the chunk
        at = 0
        for r in range(ranges):
            head[r] = np.searchsorted(given[r, :counts[r]], lo)
            at += head[r]
        while True:
            best, pick = hi, -1
            for r in range(ranges):
                if head[r] < counts[r] and given[r, head[r]] < best:
                    best, pick = given[r, head[r]], r
            if pick < 0:
                break
            head[pick] += 1
            s, lis, k = _direction(initiators, partners, latest, best)
            exposures[0, at], exposures[1, at], exposures[2, at] = lis, s, k
            at += 1
    return counts.sum()



@njit(cache=True)
def _gather_submissions(initiators, partners, latest, given, counts, submissions):
    """The submissions of the directions listed backwards from the end of the rows of
    ``given`` (counts[r] of row r), merged in the order of the directions (few: in one
    pass); returns how many."""
    ranges, size = len(counts), given.shape[1]
    head = np.zeros(ranges, np.int64)
    for at in range(counts.sum()):
        best, pick = -1, -1
        for r in range(ranges):
            if head[r] < counts[r] and (pick < 0 or given[r, size - 1 - head[r]] < best):
                best, pick = given[r, size - 1 - head[r]], r
        head[pick] += 1
        s, lis, k = _direction(initiators, partners, latest, best)
        submissions[0, at], submissions[1, at], submissions[2, at] = k, lis, s
    return counts.sum()


@njit(cache=True, parallel=True)
def learn_norms(heard, seen_effort, seen_commit, effort_norm, commitment_norm, rate):
    """Norms move ``rate`` of the way toward the mean effort and commitment seen this step."""
    for i in prange(len(heard)):
        if heard[i] > 0:
            effort_norm[i] += rate * (seen_effort[i] / heard[i] - effort_norm[i])
            commitment_norm[i] += rate * (seen_commit[i] / heard[i] - commitment_norm[i])


@njit(cache=True)
def count_partners(sought, gained, lost):
    """Add 1 to each partner's count of times chosen for every entry of ``gained`` and
    subtract 1 for every entry of ``lost``."""
    for j in lost:
        sought[j] -= 1
    for j in gained:
        sought[j] += 1


@njit(cache=True, parallel=True)
def update_ties(strength, used, floor, decay, reinforcement, blocks):
    """Every tie fades toward ``floor``; each use closes ``reinforcement`` of the gap to 1
    (uses in order). The ties are split into ``blocks`` ranges, each updated by one
    thread (the same values for any number of blocks)."""
    n = len(strength)
    for block in prange(blocks):
        lo, hi = block * n // blocks, (block + 1) * n // blocks
        for e in range(lo, hi):
            strength[e] = floor + (strength[e] - floor) * (1.0 - decay)
        for e in used:
            if lo <= e < hi:  # (unused: -1)
                strength[e] = 1.0 - (1.0 - strength[e]) * (1.0 - reinforcement)


@njit(cache=True)
def update_ties_serial(strength, used, floor, decay, reinforcement):
    """:func:`update_ties` in one pass over the ties and one over the uses."""
    for e in range(len(strength)):
        strength[e] = floor + (strength[e] - floor) * (1.0 - decay)
    for e in used:
        if e >= 0:
            strength[e] = 1.0 - (1.0 - strength[e]) * (1.0 - reinforcement)


learn_norms_serial = serial_twin(learn_norms)


@structref.register
class ConversationStateType(types.StructRef):
    """numba's type of a :class:`ConversationState`."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class ConversationState(structref.StructRefProxy):
    """Every array and setting a step of conversations reads or writes, handed to the
    compiled step as one object (numba unboxes it in ~1 us; a tuple costs ~0.25 us per
    array). Built by :meth:`Conversations.state`, rebuilt when an array is replaced."""


STATE_FIELDS = (
    # formal structure (per position) and roles (per employee)
    "parent", "unit_start", "unit_size", "child_start", "n_children",
    "position", "occupant", "manager", "level", "unit",
    # informal ties: CSR of half-edges, strength per tie, constraint factor per half-edge
    "indptr", "target", "tie", "strength", "factor", "w_formal", "prefix",
    # per-employee values of per-unit parameters
    "power_distance", "lateral", "visibility", "approval_levels", "risk",
    # employees
    "effort", "commitment", "witnessed", "latest", "influence", "market", "effort_norm",
    "commitment_norm",
    # beliefs and ideas
    "practice", "source", "matches", "ideas_in_use", "need",
    "dims", "values", "adopters", "sanctioned", "adoptions", "value_sum", "value_at_birth",
    "idea_market",
    # this step's sums and exposures, times chosen in the window (reused buffers)
    "heard", "seen_effort", "seen_commit", "exposures", "submissions", "sought",
    # settings
    "per_person", "formal_strength", "fully_mixed", "mixed_degree", "norm_rate", "tie_floor",
    "tie_decay", "tie_reinforcement", "adopt_base", "value_weight", "noise_sd",
    "influence_weight", "threshold", "horizon", "memory", "threads",
)
structref.define_proxy(ConversationState, ConversationStateType, STATE_FIELDS)


@njit(cache=True)
def new_state(parent, unit_start, unit_size, child_start, n_children, position, occupant, manager,
              level, unit, indptr, target, tie, strength, factor, w_formal, prefix, power_distance,
              lateral, visibility, approval_levels, risk, effort, commitment, witnessed, latest,
              influence, market, effort_norm, commitment_norm, practice, source, matches,
              ideas_in_use, need, dims, values, adopters, sanctioned, adoptions, value_sum,
              value_at_birth, idea_market, heard, seen_effort, seen_commit, exposures, submissions,
              sought, per_person, formal_strength, fully_mixed, mixed_degree, norm_rate, tie_floor,
              tie_decay, tie_reinforcement, adopt_base, value_weight, noise_sd, influence_weight,
              threshold, horizon, memory, threads):
    """A :class:`ConversationState` (fields as in STATE_FIELDS), made by a cached compiled
    function: the proxy's own constructor compiles afresh in every process (~2 s), and
    one taking ``*fields`` types them in Python (~1 ms a call)."""
    return ConversationState(parent, unit_start, unit_size, child_start, n_children, position,
                             occupant, manager, level, unit, indptr, target, tie, strength, factor,
                             w_formal, prefix, power_distance, lateral, visibility,
                             approval_levels, risk, effort, commitment, witnessed, latest,
                             influence, market, effort_norm, commitment_norm, practice, source,
                             matches, ideas_in_use, need, dims, values, adopters, sanctioned,
                             adoptions, value_sum, value_at_birth, idea_market, heard, seen_effort,
                             seen_commit, exposures, submissions, sought, per_person,
                             formal_strength, fully_mixed, mixed_degree, norm_rate, tie_floor,
                             tie_decay, tie_reinforcement, adopt_base, value_weight, noise_sd,
                             influence_weight, threshold, horizon, memory, threads)


@njit(cache=True)
def _choose(st, rng):
    """(initiators, partners, informal tie or -1) of this step's conversations."""
    n = len(st.position)
    # (the formal tuples' second member, the level of each position, is not read)
    if st.fully_mixed:
        return choose_partners(
            rng, st.per_person,
            (st.parent, st.parent, st.unit_start, st.unit_size, st.child_start,
             st.n_children),
            (st.position, st.occupant, st.manager, st.level, st.unit), (),
            (st.formal_strength, st.power_distance, st.lateral, True, st.mixed_degree))
    if n >= PARALLEL_MIN and st.threads > 1:  # (one pass serves one thread best)
        return choose_partners_along_ties(
            rng, st.per_person,
            (st.parent, st.unit_start, st.unit_size, st.child_start, st.n_children),
            (st.position, st.occupant),
            (st.indptr, st.target, st.tie, st.strength, st.factor),
            (st.formal_strength, st.power_distance, st.w_formal, st.prefix))
    initiators = np.empty(n * st.per_person, np.int64)
    partners = np.empty(n * st.per_person, np.int64)
    ties = np.empty(n * st.per_person, np.int64)
    count = _along_ties_serial(rng, st.per_person, st.parent, st.unit_start, st.unit_size,
                               st.child_start, st.n_children, st.position, st.occupant,
                               st.indptr, st.target, st.tie, st.strength, st.factor,
                               st.w_formal, st.formal_strength, st.power_distance, st.prefix,
                               initiators, partners, ties)
    return initiators[:count], partners[:count], ties[:count]


@njit(cache=True)
def choose_with_state(st, rng):
    """This step's conversations (initiators, partners, informal tie or -1)."""
    return _choose(st, rng)


@njit(cache=True)
def _exchange(st, rng, initiators, partners):
    """Both directions of every conversation (see :func:`exchange`): (exposures,
    submissions, conversations across units)."""
    return exchange(rng, initiators, partners, (st.manager, st.level, st.unit),
                    (st.effort, st.commitment, st.seen_effort, st.seen_commit, st.heard,
                     st.witnessed, st.latest),
                    (st.visibility, st.power_distance, st.approval_levels), st.source,
                    st.dims, st.sanctioned, st.exposures, st.submissions, st.threads)


@njit(cache=True)
def adopt_heard(st, rng, step, n_exp):
    """The adoption rule on this step's ``n_exp`` exposures, in random order
    (:func:`model.processes.adoption.expose_in_random_order`); returns adoptions."""
    if n_exp == 0:
        return 0
    return expose_in_random_order(
        st.exposures[0, :n_exp], st.exposures[1, :n_exp], st.exposures[2, :n_exp],
        (st.practice, st.source, st.matches, st.ideas_in_use, st.need),
        (st.dims, st.values, st.adopters, st.sanctioned, st.adoptions, st.value_sum,
         st.value_at_birth, st.idea_market),
        (st.influence, st.latest, st.market),
        (st.adopt_base, st.value_weight, st.noise_sd, st.influence_weight, st.risk,
         st.threshold, st.horizon), rng, st.memory, step, st.threads)


@njit(cache=True)
def converse_step(st, rng, step, forget, dropped):
    """One step of conversations but the review of submissions: partners, exchange,
    adoption (unless some idea goes to review: then :func:`adopt_heard` follows the
    review), norms, ties and counts of times chosen (``dropped``: the partners of the
    step that leaves the window). Returns (initiators, partners, exposures,
    submissions, conversations across units, adoptions or -1 where adoption waits)."""
    if forget:
        forget_exposures(st.memory, step, st.horizon)
    initiators, partners, ties = _choose(st, rng)
    n_exp, n_sub, n_cross = _exchange(st, rng, initiators, partners)
    adopted = adopt_heard(st, rng, step, n_exp) if n_sub == 0 else -1
    args = (st.heard, st.seen_effort, st.seen_commit, st.effort_norm, st.commitment_norm,
            st.norm_rate)
    if len(st.heard) >= PARALLEL_MIN:
        learn_norms(*args)
    else:
        learn_norms_serial(*args)
    if len(st.strength):
        if len(st.strength) >= PARALLEL_MIN:
            update_ties(st.strength, ties, st.tie_floor, st.tie_decay, st.tie_reinforcement,
                        st.threads)
        else:
            update_ties_serial(st.strength, ties, st.tie_floor, st.tie_decay,
                               st.tie_reinforcement)
    # (serial: each parallel loop waits for every thread, dearly on a busy machine, and
    # these take ~1 ms at 300,000)
    count_partners(st.sought, partners, dropped)
    if len(partners) >= PARALLEL_MIN and st.threads > 1:
        return _as_int32(initiators), _as_int32(partners), n_exp, n_sub, n_cross, adopted
    return (_as_int32_serial(initiators), _as_int32_serial(partners), n_exp, n_sub, n_cross,
            adopted)


NO_PAIRS = np.zeros(0, np.int32)


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
        n = model.people.n
        self.heard = np.zeros(n, dtype=np.int64)  # this step's conversations heard, and the
        self.seen_effort = np.zeros(n)  # sums of effort and commitment seen in them
        self.seen_commit = np.zeros(n)
        self._exposures = self._submissions = np.zeros((3, 0), dtype=np.int64)
        self._state: ConversationState | None = None
        self._weights: tuple | None = None  # (versions, parameters, network, weights)
        self._state_key: tuple = ()
        self._state_versions: tuple = ()
        self._converse = Entry(converse_step)

    def __getstate__(self) -> dict:
        """A copy builds its own compiled state (a numba structref does not pickle)."""
        return {**self.__dict__, "_state": None, "_state_key": (), "_state_versions": ()}

    def _arrays_in_use(self) -> tuple:
        """The objects whose replacement calls for a new :class:`ConversationState` (arrays
        that are only ever written in place are reached through their holders)."""
        m, people, reg = self.model, self.model.people, self.model.ideas
        return (m.p, m.structure, m.network, m.network.strength, m.occupant, m._manager,
                people, people.position, people.effort, people.commitment, people.witnessed,
                people.latest_idea, people.influence, people.effort_norm,
                people.commitment_norm, m.market, m.beliefs, reg.dims, reg.adoptions,
                m._exposures)

    def state(self) -> ConversationState:
        """The compiled step's state (rebuilt when roles, parameters, a roadmap's local
        values, or any array it holds is replaced, e.g. as the idea registry grows)."""
        m = self.model
        key = self._arrays_in_use()
        versions = (m.roles_version, m.local.version)
        if (self._state is None or versions != self._state_versions
                or not all(map(operator.is_, key, self._state_key))):
            self._state = self._build_state()
            self._state_key, self._state_versions = self._arrays_in_use(), versions
        return self._state

    def _contact_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(constraint factor per informal half-edge, formal weight per employee, room for
        one employee's running sums), recomputed only when roles or parameters change
        (not when the idea registry grows)."""
        m, s, net = self.model, self.model.structure, self.model.network
        key = (m.roles_version, m.local.version)
        held = self._weights
        if held is None or held[0] != key or held[1] is not m.p or held[2] is not net:
            held = self._weights = (key, m.p, net, contact_weights(
                net.indptr, net.target, m._unit, m._manager, m._level,
                m.per_employee("lateral_openness"), m.per_employee("power_distance"),
                m.people.position, s.parent, s.unit_start, s.unit_size, s.n_children,
                float(m.p.formal_tie_strength)))
        return held[3]

    def _build_state(self) -> ConversationState:
        m, p, s, net = self.model, self.model.p, self.model.structure, self.model.network
        people, beliefs, reg = m.people, m.beliefs, m.ideas
        n = people.n
        size = 2 * n * p.conversations_per_step
        if self._submissions.shape[1] != size:  # kept across rebuilds: a step's exposures
            # wait in them while its submissions are reviewed
            self._exposures = np.zeros((3, size), dtype=np.int64)
            self._submissions = np.zeros((3, size), dtype=np.int64)
        factor, w_formal, prefix = self._contact_weights()
        memory = m.exposures if p.adoption_threshold > 1 else _UNUSED_MEMORY
        per = m.per_employee
        # asking for the thread count starts numba's threads: small organizations never do
        threads = numba.get_num_threads() if n >= PARALLEL_MIN else 1
        return new_state(
            s.parent, s.unit_start, s.unit_size, s.child_start, s.n_children,
            people.position, m.occupant, m._manager, m._level, m._unit,
            net.indptr, net.target, net.tie, net.strength, factor, w_formal, prefix,
            per("power_distance"), per("lateral_openness"), per("work_visibility"),
            per("approval_levels"), per("unsanctioned_risk"),
            people.effort, people.commitment, people.witnessed, people.latest_idea,
            people.influence, m.market, people.effort_norm, people.commitment_norm,
            *beliefs.state(),
            reg.dims, reg.values, reg.adopters, reg.sanctioned, reg.adoptions,
            reg.adopted_value_sum, reg.value_at_birth, reg.market,
            self.heard, self.seen_effort, self.seen_commit,
            self._exposures, self._submissions, self.sought,
            np.int64(p.conversations_per_step), float(p.formal_tie_strength),
            p.informal_network == "fully_mixed", float(p.informal_degree),
            float(p.norm_learning), float(p.tie_floor), float(p.tie_decay),
            float(p.tie_reinforcement), *adoption_settings(p), memory,
            np.int64(threads))

    def choose_partners(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This step's conversations: (initiators, partners, informal tie or -1)."""
        return choose_with_state(self.state(), self.rng)

    def step(self) -> None:
        m = self.model
        state = self.state()
        forget = m.p.adoption_threshold > 1 and m.steps % m.p.exposure_memory == 0
        full = len(self.recent) == self.recent.maxlen
        initiators, partners, n_exp, n_sub, self.n_cross, adopted = self._converse(
            state, state, self.rng, m.steps, forget, self.recent[0][1] if full else NO_PAIRS)
        if n_sub:  # ideas voiced to one's manager are reviewed before anyone adopts
            m.approval.submit(*self._submissions[:, :n_sub].copy())
            adopted = adopt_heard(state, self.rng, m.steps, n_exp)
        self.adoptions = adopted
        self.recent.append((initiators, partners))
        count = len(initiators)
        self.per_employee = count / m.people.n
        self.cross_unit_share = self.n_cross / count if count else 0.0
