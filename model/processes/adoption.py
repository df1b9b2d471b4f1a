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

:func:`expose` is compiled and shared by conversations and the forum. Exposures are
weighed in random order; adoptions take effect in
practices at the end of the call, and an adopter passes the idea on from next step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange, types
from numba.np.random.random_methods import random_interval
from numba.typed import Dict
from scipy.special import logit

from model.beliefs import adopt_all
from model.parallel import PARALLEL_MIN
from model.rng import pcg_address, pcg_load, pcg_normal, pcg_store, pcg_uniform

if TYPE_CHECKING:
    from model.organization import OrganizationModel


_EXPOSURE_RECORD = types.UniTuple(types.int64, 3)


@njit(cache=True)
def new_exposure_memory() -> Dict:
    """(listener << 32 | idea) -> (exposures, last speaker, last step). Made by a cached
    compiled call: a typed Dict made from Python compiles its methods afresh in every
    process (~0.4 s at import)."""
    return Dict.empty(key_type=types.int64, value_type=_EXPOSURE_RECORD)


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
def appraise(listeners, speakers, heard, order, practice, source, need, dims, values,
             idea_market, influence, market, sanctioned, risk, influence_weight):
    """For each exposure, taken in ``order``: whether it can count at all (the listener
    does not use the idea yet and it applies to their market), the parts of its appeal
    that need no draw (true gain per dimension, ``influence_weight`` times the influence
    gap, the risk of an unsanctioned idea or 0), the listener and the idea. Read-only and
    per exposure, so the exposures are appraised in parallel."""
    count = len(order)
    scope = dims.shape[1]
    open_to = np.empty(count, np.bool_)
    perceived = np.empty(count)
    pulls = np.empty(count)
    risks = np.empty(count)
    listener_in_order = np.empty(count, np.int64)
    idea_in_order = np.empty(count, np.int64)
    for y in prange(count):
        x = order[y]
        listener, k = listeners[x], heard[x]
        listener_in_order[y], idea_in_order[y] = listener, k
        open_to[y] = (source[listener, dims[k, 0]] != k) & (
            (idea_market[k] < 0) | (idea_market[k] == market[listener]))
        gain = 0  # as _gain (a call with arrays costs reference counts per exposure)
        for j in range(scope):
            d = dims[k, j]
            gain += (np.int64(values[k, j] == need[d])
                     - np.int64(practice[listener, d] == need[d]))
        perceived[y] = gain / scope
        pulls[y] = influence_weight * (influence[speakers[x]] - influence[listener])
        risks[y] = 0.0 if sanctioned[k] else risk[listener]  # x - 0.0 is x, bit for bit
    return open_to, perceived, pulls, risks, listener_in_order, idea_in_order



@njit(cache=True)
def expose(listeners, speakers, heard, order, beliefs, ideas, people, prm, rng, memory, step,
           threads=1):
    """Exposures of listeners to ideas from speakers, taken in ``order``; returns adoptions.

    Large calls on several ``threads`` (PARALLEL_MIN exposures, or a tenth of that in an
    organization of PARALLEL_MIN employees, whose steps wake the threads anyway) appraise
    what needs no draw first, in parallel (:func:`appraise`); others appraise each
    exposure where it is weighed, in one pass (practices change only at the end of the
    call, so both read the same).
    The exposures are weighed one after another in ``order``, where every random draw is
    taken (numpy's PCG64 stepped in registers, :mod:`model.rng`), so the draws and the
    result do not depend on the thread count. Large adoptions are written in parallel
    (:func:`model.beliefs.adopt_all`)."""
    practice, source, matches, ideas_in_use, need = beliefs
    dims, values, adopters, sanctioned, adoptions, value_sum, value_at_birth, idea_market = ideas
    influence, latest, market = people
    base, value_weight, noise_sd, influence_weight, risk, threshold, horizon = prm  # risk:
    # per listener (a per-unit parameter)
    args = (listeners, speakers, heard, order, practice, source, need, dims, values,
            idea_market, influence, market, sanctioned, risk, influence_weight)
    large = threads > 1 and (len(order) >= PARALLEL_MIN or (
        len(influence) >= PARALLEL_MIN and len(order) >= PARALLEL_MIN // 10))
    if large:
        open_to, perceived, pulls, risks, listener_in_order, idea_in_order = appraise(*args)
    else:  # (appraised where weighed: a pass of its own costs more than it saves)
        open_to, perceived, pulls, risks = (np.empty(0, np.bool_), np.empty(0), np.empty(0),
                                            np.empty(0))
        listener_in_order = idea_in_order = np.empty(0, np.int64)
    scope = dims.shape[1]
    taken = np.zeros(len(influence), np.bool_)
    who = np.empty(len(listeners), np.int64)
    what = np.empty(len(listeners), np.int64)
    count = 0
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    for y in range(len(order)):
        if large:
            if not open_to[y]:
                continue
            listener, k = listener_in_order[y], idea_in_order[y]
        else:
            x = order[y]
            listener, k = np.int64(listeners[x]), np.int64(heard[x])
            if source[listener, dims[k, 0]] == k or (idea_market[k] >= 0
                                                     and idea_market[k] != market[listener]):
                continue  # uses it already, or it does not apply to the listener's customers
        if taken[listener] and latest[listener] == k:
            continue  # adopted it earlier in this call
        if threshold > 1:
            speaker = speakers[order[y]]
            key = (np.int64(listener) << 32) | k
            exposures, last_speaker, last_step = memory.get(key, (0, -1, -1))
            if last_step < step - horizon:
                exposures, last_speaker = 0, -1
            if speaker != last_speaker:
                exposures += 1
            memory[key] = (exposures, np.int64(speaker), np.int64(step))
            if exposures < threshold:
                continue
        if large:
            seen, pull, unsanctioned_risk = perceived[y], pulls[y], risks[y]
        else:
            x = order[y]
            gain = 0  # as _gain (a call with arrays costs reference counts per exposure)
            for j in range(scope):
                d = dims[k, j]
                gain += (np.int64(values[k, j] == need[d])
                         - np.int64(practice[listener, d] == need[d]))
            seen = gain / scope
            pull = influence_weight * (influence[speakers[x]] - influence[listener])
            unsanctioned_risk = 0.0 if sanctioned[k] else risk[listener]  # x - 0.0 is x
        if noise_sd > 0:
            state, z = pcg_normal(state, inc)
            seen += noise_sd * z
        appeal = base + value_weight * seen + pull
        appeal -= unsanctioned_risk
        state, u = pcg_uniform(state, inc)
        if u >= 1.0 / (1.0 + np.exp(-appeal)):
            continue
        taken[listener] = True
        latest[listener] = k
        adoptions[k] += 1
        value_sum[k] += value_at_birth[k]
        who[count], what[count] = listener, k
        count += 1
    pcg_store(address, state)
    adopt_all(beliefs, dims, values, adopters, who[:count], what[:count], threads)
    return count


@njit(cache=True)
def permutation(rng, n):
    """``rng.permutation(n)``: the same draws and result as numpy's (its shuffle, with
    the same bounded integers), without numba's generic shuffle (~15x slower)."""
    order = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = np.intp(random_interval(rng.bit_generator, i))
        order[i], order[j] = order[j], order[i]
    return order


@njit(cache=True)
def expose_in_random_order(listeners, speakers, heard, beliefs, ideas, people, prm, rng,
                           memory, step, threads=1):
    """:func:`expose`, the exposures taken in an order drawn from ``rng`` (one compiled
    call instead of two)."""
    return expose(listeners, speakers, heard, permutation(rng, len(listeners)), beliefs,
                  ideas, people, prm, rng, memory, step, threads)


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
