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
from numba.typed import Dict
from scipy.special import logit

from model.beliefs import adopt_all
from model.parallel import PARALLEL_MIN, serial_twin

if TYPE_CHECKING:
    from model.organization import OrganizationModel


def new_exposure_memory() -> Dict:
    """(listener << 32 | idea) -> (exposures, last speaker, last step)."""
    return Dict.empty(key_type=types.int64, value_type=types.UniTuple(types.int64, 3))


_UNUSED_MEMORY = new_exposure_memory()  # what simple contagion passes: never read nor written


@njit(cache=True)
def forget_exposures(memory, step, horizon):
    """Drop exposure records older than ``horizon`` steps."""
    stale = [key for key, rec in memory.items() if rec[2] < step - horizon]
    for key in stale:
        del memory[key]


@njit(cache=True, parallel=True)
def appraise(listeners, speakers, heard, order, practice, source, need, dims, values,
             idea_market, influence, market):
    """For each exposure, taken in ``order``: whether it can count at all (the listener
    does not use the idea yet and it applies to their market), its true gain (in
    dimensions), the influence gap (speaker minus listener), the listener and the idea.
    Read-only and per exposure, so the exposures are appraised in parallel."""
    scope = dims.shape[1]
    count = len(order)
    open_to = np.empty(count, np.bool_)
    gains = np.empty(count, np.int64)
    pulls = np.empty(count)
    listener_in_order = np.empty(count, np.int64)
    idea_in_order = np.empty(count, np.int64)
    for y in prange(count):
        x = order[y]
        listener, k = listeners[x], heard[x]
        listener_in_order[y], idea_in_order[y] = listener, k
        open_to[y] = source[listener, dims[k, 0]] != k and (
            idea_market[k] < 0 or idea_market[k] == market[listener])
        gain = 0
        for j in range(scope):
            d = dims[k, j]
            gain += np.int64(values[k, j] == need[d]) - np.int64(practice[listener, d] == need[d])
        gains[y] = gain
        pulls[y] = influence[speakers[x]] - influence[listener]
    return open_to, gains, pulls, listener_in_order, idea_in_order


appraise_serial = serial_twin(appraise)


@njit(cache=True)
def expose(listeners, speakers, heard, order, beliefs, ideas, people, prm, rng, memory, step):
    """Exposures of listeners to ideas from speakers, taken in ``order``; returns adoptions.

    The exposures are appraised in parallel (:func:`appraise`), then weighed one after
    another in ``order``, where every random draw is taken, so the draws and the result
    do not depend on the thread count."""
    practice, source, matches, ideas_in_use, need = beliefs
    dims, values, adopters, sanctioned, adoptions, value_sum, value_at_birth, idea_market = ideas
    influence, latest, market = people
    base, value_weight, noise_sd, influence_weight, risk, threshold, horizon = prm  # risk:
    # per listener (a per-unit parameter)
    scope = dims.shape[1]
    args = (listeners, speakers, heard, order, practice, source, need, dims, values, idea_market,
            influence, market)
    if len(order) >= PARALLEL_MIN:
        open_to, gains, pulls, listener_in_order, idea_in_order = appraise(*args)
    else:
        open_to, gains, pulls, listener_in_order, idea_in_order = appraise_serial(*args)
    taken = np.zeros(len(influence), np.bool_)
    who = np.empty(len(listeners), np.int64)
    what = np.empty(len(listeners), np.int64)
    count = 0
    for y in range(len(order)):
        if not open_to[y]:
            continue  # uses it already, or it does not apply to the listener's customers
        listener, k = listener_in_order[y], idea_in_order[y]
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
        perceived = gains[y] / scope
        if noise_sd > 0:
            perceived += noise_sd * rng.standard_normal()
        appeal = base + value_weight * perceived + influence_weight * pulls[y]
        if not sanctioned[k]:
            appeal -= risk[listener]
        if rng.random() >= 1.0 / (1.0 + np.exp(-appeal)):
            continue
        taken[listener] = True
        latest[listener] = k
        adoptions[k] += 1
        value_sum[k] += value_at_birth[k]
        who[count], what[count] = listener, k
        count += 1
    adopt_all(beliefs, dims, values, adopters, who[:count], what[:count])
    return count


@njit(cache=True)
def expose_in_random_order(listeners, speakers, heard, beliefs, ideas, people, prm, rng,
                           memory, step):
    """:func:`expose`, the exposures taken in an order drawn from ``rng`` (numba's
    permutation draws numpy's: one compiled call instead of two)."""
    return expose(listeners, speakers, heard, rng.permutation(len(listeners)), beliefs, ideas,
                  people, prm, rng, memory, step)


def kernel_state(model: OrganizationModel) -> tuple[tuple, tuple, tuple, tuple]:
    """(beliefs, ideas, people, adoption parameters) tuples for the compiled kernels."""
    p, reg = model.p, model.ideas
    ideas = (reg.dims, reg.values, reg.adopters, reg.sanctioned, reg.adoptions,
             reg.adopted_value_sum, reg.value_at_birth, reg.market)
    people = (model.people.influence, model.people.latest_idea, model.market)
    prm = (float(logit(p.adoption_propensity)), p.value_weight, p.perception_noise,
           p.influence_weight, model.per_employee("unsanctioned_risk"),
           np.int64(p.adoption_threshold),
           np.int64(p.exposure_memory))
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
