"""Adoption of an idea heard from a speaker: perceived value, influence, risk, threshold.

P(adopt | exposure) = expit(logit(adoption_propensity) + appeal), where
appeal = value_weight * (true gain + perception noise)
       + influence_weight * (speaker influence - listener influence)
       - unsanctioned_risk * [idea not sanctioned],
and the true gain is the change in the listener's fit on the idea's dimensions, per
dimension. An idea of another market does not apply to the listener: no exposure. With
``adoption_threshold`` >= 2 (complex contagion) the listener first needs that many
exposures to the idea; the count restarts after a gap of more than ``exposure_memory``
steps, and a repeat from the same speaker as last time does not count.

:func:`expose_in_random_order` is compiled and shared by conversations and the forum.
Exposures are weighed in random order (in organizations of more than one block of
employees, random within each block of listeners: a listener's exposures are never split);
adoptions take effect in practices at the end of the call, and an adopter passes the idea
on from next step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange, types
from numba.np.random.random_methods import random_interval
from numba.typed import Dict
from scipy.special import logit

from model.beliefs import adopt_all
from model.parallel import PARALLEL_MIN, serial_twin
from model.rng import (
    DRAW_BLOCK,
    draw_blocks_of,
    jumped_states,
    pcg_address,
    pcg_below,
    pcg_below_call,
    pcg_half,
    pcg_load,
    pcg_normal,
    pcg_normal_call,
    pcg_store,
    pcg_store_half,
    pcg_uniform,
    pcg_uniform_call,
)

if TYPE_CHECKING:
    from model.organization import OrganizationModel


_EXPOSURE_RECORD = types.UniTuple(types.int64, 3)


@njit(cache=True)
def new_exposure_memory() -> Dict:
    """(listener << 32 | idea) -> (exposures, last speaker, last step). Made by a cached
    compiled call: a typed Dict made from Python compiles its methods afresh in every
    process (~0.4 s at import)."""
    return Dict.empty(key_type=types.int64, value_type=_EXPOSURE_RECORD)


@njit(cache=True)
def exposure_records(memory):
    """(keys, records: exposures, last speaker, last step) of an exposure memory as arrays
    (what a copy of a model carries: a typed Dict does not copy)."""
    keys = np.empty(len(memory), np.int64)
    records = np.empty((len(memory), 3), np.int64)
    x = 0
    for key, record in memory.items():
        keys[x] = key
        records[x, 0], records[x, 1], records[x, 2] = record
        x += 1
    return keys, records


@njit(cache=True)
def exposure_memory_from(keys, records):
    """The exposure memory holding ``keys`` -> ``records`` (of :func:`exposure_records`)."""
    memory = new_exposure_memory()
    for x in range(len(keys)):
        memory[keys[x]] = (records[x, 0], records[x, 1], records[x, 2])
    return memory


_UNUSED_MEMORY = new_exposure_memory()  # what simple contagion passes: never read nor written


@njit(cache=True)
def forget_exposures(memory, step, horizon):
    """Drop exposure records older than ``horizon`` steps."""
    stale = [key for key, rec in memory.items() if rec[2] < step - horizon]
    for key in stale:
        del memory[key]


@njit(cache=True, inline="always")
def _gain(listener, k, practice, need, dims, values):
    """Change in the listener's fit (in dimensions) were they to take up idea k."""
    gain = 0
    for j in range(dims.shape[1]):
        d = dims[k, j]
        gain += np.int64(values[k, j] == need[d]) - np.int64(practice[listener, d] == need[d])
    return gain


@njit(cache=True, parallel=True)
def appraise(listeners, speakers, heard, practice, source, need, dims, values, idea_market,
             influence, market, sanctioned, risk, influence_weight):
    """For each exposure: whether it can count at all (the listener does not use the idea
    yet and it applies to their market), and the parts of its appeal that need no draw
    (true gain per dimension, ``influence_weight`` times the influence gap, the risk of an
    unsanctioned idea or 0). Read-only and per exposure, so appraised in parallel."""
    count = len(listeners)
    scope = dims.shape[1]
    open_to = np.empty(count, np.bool_)
    perceived = np.empty(count)
    pulls = np.empty(count)
    risks = np.empty(count)
    for x in prange(count):
        listener, k = listeners[x], heard[x]
        open_to[x] = (source[listener, dims[k, 0]] != k) & (
            (idea_market[k] < 0) | (idea_market[k] == market[listener]))
        gain = 0  # as _gain (a call with arrays costs reference counts per exposure)
        for j in range(scope):
            d = dims[k, j]
            gain += (np.int64(values[k, j] == need[d])
                     - np.int64(practice[listener, d] == need[d]))
        perceived[x] = gain / scope
        pulls[x] = influence_weight * (influence[speakers[x]] - influence[listener])
        risks[x] = 0.0 if sanctioned[k] else risk[listener]  # x - 0.0 is x, bit for bit
    return open_to, perceived, pulls, risks


@njit(cache=True)
def listener_blocks(listeners, blocks):
    """(members, first): the exposures grouped by their listener's block of DRAW_BLOCK
    employees, in their order within each block; block b's are members[first[b]:first[b+1]]."""
    first = np.zeros(blocks + 1, np.int64)
    if blocks == 1:
        first[1] = len(listeners)
        return np.arange(len(listeners)), first
    for x in range(len(listeners)):
        first[listeners[x] // DRAW_BLOCK + 1] += 1
    for b in range(blocks):
        first[b + 1] += first[b]
    at = first[:-1].copy()
    members = np.empty(len(listeners), np.int64)
    for x in range(len(listeners)):
        b = listeners[x] // DRAW_BLOCK
        members[at[b]] = x
        at[b] += 1
    return members, first


@njit(cache=True, parallel=True)
def _weigh_blocks(states, halves, inc, members, first, listeners, speakers, heard, practice,
                  source, need, dims, values, idea_market, influence, latest, market,
                  sanctioned, risk, base, value_weight, noise_sd, influence_weight, threshold,
                  horizon, memory, step, appraised, open_to, perceived, pulls, risks, taken,
                  order, who, what, adopted):
    """Each block of listeners' exposures (``members``, ``first``: :func:`listener_blocks`)
    weighed in an order drawn from the block's own state (numpy's shuffle: row b of
    ``states`` and of ``halves``, its buffered 32-bit half), then one after another with
    every draw from that state; a block's adoptions go to who/what from first[b] on,
    their count to adopted[b]. A listener's exposures are all in its block and no block
    reads what another writes, so the blocks are weighed in parallel (``memory`` is a
    shared dict: complex contagion runs the serial twin). ``appraised``: open_to ...
    risks hold :func:`appraise`'s parts; otherwise each is appraised where weighed."""
    scope = dims.shape[1]
    for b in prange(len(first) - 1):
        lo, hi = first[b], first[b + 1]
        s = (states[b, 0], states[b, 1])
        has_half = halves[b, 0] != 0
        half = np.uint32(halves[b, 1])
        for y in range(lo, hi):
            order[y] = y - lo
        for i in range(hi - lo - 1, 0, -1):
            s, half, has_half, j = pcg_below_call(s, inc, half, has_half, i)
            order[lo + i], order[lo + np.intp(j)] = order[lo + np.intp(j)], order[lo + i]
        count = lo
        for y in range(lo, hi):
            x = members[lo + order[y]]
            listener, k = np.int64(listeners[x]), np.int64(heard[x])
            if appraised:
                if not open_to[x]:
                    continue
            elif source[listener, dims[k, 0]] == k or (idea_market[k] >= 0
                                                       and idea_market[k] != market[listener]):
                continue  # uses it already, or it does not apply to the listener's customers
            if taken[listener] and latest[listener] == k:
                continue  # adopted it earlier in this call
            if threshold > 1:
                speaker = speakers[x]
                key = (listener << 32) | k
                exposures, last_speaker, last_step = memory.get(key, (0, -1, -1))
                if last_step < step - horizon:
                    exposures, last_speaker = 0, -1
                if speaker != last_speaker:
                    exposures += 1
                memory[key] = (exposures, np.int64(speaker), np.int64(step))
                if exposures < threshold:
                    continue
            if appraised:
                seen, pull, unsanctioned_risk = perceived[x], pulls[x], risks[x]
            else:
                gain = 0  # as _gain (a call with arrays costs reference counts)
                for j in range(scope):
                    d = dims[k, j]
                    gain += (np.int64(values[k, j] == need[d])
                             - np.int64(practice[listener, d] == need[d]))
                seen = gain / scope
                pull = influence_weight * (influence[speakers[x]] - influence[listener])
                unsanctioned_risk = 0.0 if sanctioned[k] else risk[listener]  # x - 0.0 is x
            if noise_sd > 0:
                s, z = pcg_normal_call(s, inc)
                seen += noise_sd * z
            appeal = base + value_weight * seen + pull
            appeal -= unsanctioned_risk
            s, u = pcg_uniform_call(s, inc)
            if u >= 1.0 / (1.0 + np.exp(-appeal)):
                continue
            taken[listener] = True
            latest[listener] = k
            who[count], what[count] = listener, k
            count += 1
        adopted[b] = count - lo
        states[b, 0], states[b, 1] = s[0], s[1]
        halves[b, 0], halves[b, 1] = np.uint32(has_half), half


# (serially, the draws inlined: a call per draw costs a little)
_weigh_blocks_serial = serial_twin(_weigh_blocks, pcg_below_call=pcg_below,
                                   pcg_normal_call=pcg_normal, pcg_uniform_call=pcg_uniform)


@njit(cache=True)
def expose_in_random_order(listeners, speakers, heard, beliefs, ideas, people, prm, rng,
                           memory, step, threads=1):
    """Exposures of listeners to ideas from speakers, weighed in random order; returns
    adoptions.

    The exposures are grouped by their listener's block of employees
    (:data:`model.rng.DRAW_BLOCK`); each block draws from ``rng`` jumped to its own start
    (:func:`model.rng.jumped_states`) an order of its exposures (numpy's permutation),
    then weighs them one after another in it, with every draw of the adoption rule
    (:func:`_weigh_blocks`); ``rng`` goes on where the last block ends. So the draws and
    the result do not depend on the thread count, and an organization of one block draws
    as ``rng.permutation`` followed by the exposures in that order. Large calls on
    several ``threads`` (PARALLEL_MIN exposures, or a tenth of that in an organization of
    PARALLEL_MIN employees, whose steps wake the threads anyway) appraise what needs no
    draw first and weigh the blocks in parallel (:func:`appraise`, :func:`_weigh_blocks`);
    others weigh the blocks one after another, appraising each exposure where weighed
    (practices change only at the end of the call, so both read the same). Adoptions are
    written in the blocks' order (:func:`model.beliefs.adopt_all`, in parallel when large).
    """
    practice, source, matches, ideas_in_use, need = beliefs
    dims, values, adopters, sanctioned, adoptions, value_sum, value_at_birth, idea_market = ideas
    influence, latest, market = people
    base, value_weight, noise_sd, influence_weight, risk, threshold, horizon = prm  # risk:
    # per listener (a per-unit parameter)
    count = len(listeners)
    large = threads > 1 and (count >= PARALLEL_MIN or (
        len(influence) >= PARALLEL_MIN and count >= PARALLEL_MIN // 10))
    if large:
        open_to, perceived, pulls, risks = appraise(
            listeners, speakers, heard, practice, source, need, dims, values, idea_market,
            influence, market, sanctioned, risk, influence_weight)
    else:
        open_to, perceived, pulls, risks = (np.empty(0, np.bool_), np.empty(0), np.empty(0),
                                            np.empty(0))
    blocks = draw_blocks_of(len(influence))
    members, first = listener_blocks(listeners, blocks)
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    states = jumped_states(state, inc, blocks)
    halves = np.zeros((blocks, 2), np.uint32)  # a block jumped to has no buffered half
    halves[0, 0], halves[0, 1] = pcg_half(address)
    taken = np.zeros(len(influence), np.bool_)
    order = np.empty(count, np.int64)
    who = np.empty(count, np.int64)
    what = np.empty(count, np.int64)
    adopted = np.zeros(blocks, np.int64)
    args = (states, halves, inc, members, first, listeners, speakers, heard, practice, source,
            need, dims, values, idea_market, influence, latest, market, sanctioned, risk, base,
            value_weight, noise_sd, influence_weight, threshold, horizon, memory, step, large,
            open_to, perceived, pulls, risks, taken, order, who, what, adopted)
    if large and threshold == 1:
        _weigh_blocks(*args)
    else:
        _weigh_blocks_serial(*args)
    pcg_store(address, (states[-1, 0], states[-1, 1]))
    pcg_store_half(address, halves[-1, 0], halves[-1, 1])
    total = 0
    for b in range(blocks):  # the adoptions, in the blocks' order
        for y in range(first[b], first[b] + adopted[b]):
            k = what[y]
            adoptions[k] += 1
            value_sum[k] += value_at_birth[k]
            who[total], what[total] = who[y], k
            total += 1
    adopt_all(beliefs, dims, values, adopters, who[:total], what[:total], threads)
    return total


@njit(cache=True)
def permutation(rng, n):
    """``rng.permutation(n)``: the same draws and result as numpy's (its shuffle, with
    the same bounded integers), without numba's generic shuffle (~15x slower)."""
    order = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = np.intp(random_interval(rng.bit_generator, i))
        order[i], order[j] = order[j], order[i]
    return order


def adoption_settings(p) -> tuple[float, float, float, float, np.int64, np.int64]:
    """(logit of the propensity, value weight, perception noise, influence weight,
    threshold, exposure memory) of the parameters ``p``, typed for the compiled kernels."""
    return (float(logit(p.adoption_propensity)), float(p.value_weight),
            float(p.perception_noise), float(p.influence_weight),
            np.int64(p.adoption_threshold), np.int64(p.exposure_memory))


def kernel_state(model: OrganizationModel) -> tuple[tuple, tuple, tuple, tuple]:
    """(beliefs, ideas, people, adoption parameters) tuples for the compiled kernels."""
    reg = model.ideas
    ideas = (reg.dims, reg.values, reg.adopters, reg.sanctioned, reg.adoptions,
             reg.adopted_value_sum, reg.value_at_birth, reg.market)
    people = (model.people.influence, model.people.latest_idea, model.market)
    base, value_weight, noise_sd, influence_weight, threshold, horizon = adoption_settings(
        model.p)
    prm = (base, value_weight, noise_sd, influence_weight,
           model.per_employee("unsanctioned_risk"), threshold, horizon)
    return model.beliefs.state(), ideas, people, prm


def consider_adoption(model: OrganizationModel, listeners: np.ndarray, speakers: np.ndarray,
                      ideas: np.ndarray, rng: np.random.Generator) -> int:
    """Exposures (listener hears idea from speaker), weighed in random order; returns adoptions."""
    if len(listeners) == 0:
        return 0
    beliefs, reg, people, prm = kernel_state(model)
    return expose_in_random_order(np.ascontiguousarray(listeners, dtype=np.int64),
                                  np.ascontiguousarray(speakers, dtype=np.int64),
                                  np.ascontiguousarray(ideas, dtype=np.int64),
                                  beliefs, reg, people, prm, rng,
                                  model.exposures if model.p.adoption_threshold > 1
                                  else _UNUSED_MEMORY, np.int64(model.steps))


def adopt_ideas(model: OrganizationModel, employees: np.ndarray, ideas: np.ndarray) -> None:
    """Employees take up ideas outside a conversation (their own idea, a reviewer's approval)."""
    model.beliefs.adopt(employees, ideas)
    model.people.latest_idea[employees] = ideas
    reg = model.ideas
    np.add.at(reg.adoptions, ideas, 1)
    np.add.at(reg.adopted_value_sum, ideas, reg.value_at_birth[ideas])
