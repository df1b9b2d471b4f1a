"""Adoption of an idea heard from a speaker: perceived value, influence, risk, threshold.

P(adopt | exposure) = expit(logit(adoption_propensity) + appeal), where
appeal = value_weight * (true gain + perception noise)
       + influence_weight * (speaker influence - listener influence)
       - unsanctioned_risk * [idea not sanctioned].
With ``adoption_threshold`` >= 2 (complex contagion) an exposure only counts once
the listener has heard the idea that many times (from alternating speakers) within
``exposure_memory`` steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit, logit

if TYPE_CHECKING:
    from model.organization import OrganizationModel


class ExposureMemory:
    """Sparse (listener, idea) -> exposure count, last speaker and last step."""

    def __init__(self):
        self.keys = np.zeros(0, dtype=np.int64)
        self.count = np.zeros(0, dtype=np.int64)
        self.speaker = np.zeros(0, dtype=np.int64)
        self.seen = np.zeros(0, dtype=np.int64)

    def expose(self, listeners: np.ndarray, ideas: np.ndarray, speakers: np.ndarray,
               step: int, memory: int) -> np.ndarray:
        """Record exposures; return each exposure's count after this step."""
        keep = self.seen > step - memory
        old_keys, old_count = self.keys[keep], self.count[keep]
        old_speaker, old_seen = self.speaker[keep], self.seen[keep]
        new_keys = (listeners.astype(np.int64) << 32) | ideas
        # one exposure per distinct (listener, idea, speaker) this step
        pair = np.unique(np.stack([new_keys, speakers]), axis=1)
        pk, ps = pair[0], pair[1]
        pos = np.searchsorted(old_keys, pk)
        found = pos < len(old_keys)
        found[found] = old_keys[pos[found]] == pk[found]
        repeat = found & (old_speaker[np.where(found, pos, 0)] == ps)
        counts_new = (~repeat).astype(np.int64)
        all_keys = np.concatenate([old_keys, pk])
        all_count = np.concatenate([old_count, counts_new])
        all_speaker = np.concatenate([old_speaker, ps])
        uniq, inverse = np.unique(all_keys, return_inverse=True)
        self.keys = uniq
        self.count = np.bincount(inverse, weights=all_count).astype(np.int64)
        self.speaker = np.zeros(len(uniq), dtype=np.int64)
        self.speaker[inverse] = all_speaker  # the last one written wins
        seen_old = np.full(len(uniq), -1, dtype=np.int64)
        seen_old[inverse[: len(old_keys)]] = old_seen
        touched = np.zeros(len(uniq), dtype=bool)
        touched[inverse[len(old_keys):]] = True
        self.seen = np.where(touched, step, seen_old)
        return self.count[np.searchsorted(self.keys, new_keys)]


def adoption_probability(model: OrganizationModel, listeners: np.ndarray, speakers: np.ndarray,
                         ideas: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Chance each listener adopts the paired idea from the paired speaker."""
    p = model.p
    people = model.people
    perceived = model.beliefs.gain(listeners, ideas) + p.perception_noise * noise
    appeal = (p.value_weight * perceived
              + p.influence_weight * (people.influence[speakers] - people.influence[listeners])
              - p.unsanctioned_risk * ~model.ideas.sanctioned[ideas])
    return expit(logit(p.adoption_propensity) + appeal)


def consider_adoption(model: OrganizationModel, listeners: np.ndarray, speakers: np.ndarray,
                      ideas: np.ndarray, rng: np.random.Generator) -> int:
    """Exposures (listener hears idea from speaker) that may turn into adoptions.

    Returns the number of adoptions. Each listener adopts at most one idea per call.
    """
    if len(listeners) == 0:
        return 0
    new = ~model.beliefs.uses(listeners, ideas)
    listeners, speakers, ideas = listeners[new], speakers[new], ideas[new]
    if model.p.adoption_threshold > 1:
        counts = model.exposures.expose(listeners, ideas, speakers, model.steps,
                                        model.p.exposure_memory)
        ready = counts >= model.p.adoption_threshold
        listeners, speakers, ideas = listeners[ready], speakers[ready], ideas[ready]
    if len(listeners) == 0:
        return 0
    chance = adoption_probability(model, listeners, speakers, ideas,
                                  rng.standard_normal(len(listeners)))
    adopt = rng.random(len(listeners)) < chance
    listeners, ideas = listeners[adopt], ideas[adopt]
    keep = one_per_employee(listeners, model.people.n, rng)
    listeners, ideas = listeners[keep], ideas[keep]
    adopt_ideas(model, listeners, ideas)
    return len(listeners)


def one_per_employee(employees: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices keeping one entry per employee, chosen at random among their entries."""
    slot = np.full(n, -1, dtype=np.int64)
    order = rng.permutation(len(employees))
    slot[employees[order]] = order  # one write per employee survives
    return np.sort(slot[slot >= 0])


def adopt_ideas(model: OrganizationModel, employees: np.ndarray, ideas: np.ndarray) -> None:
    """Employees (unique) take up ideas: practices change and the idea becomes their news."""
    model.beliefs.adopt(employees, ideas)
    model.people.latest_idea[employees] = ideas
    reg = model.ideas
    np.add.at(reg.adoptions, ideas, 1)
    np.add.at(reg.adopted_value_sum, ideas, reg.value_at_birth[ideas])
