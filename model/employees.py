"""Employee state as a struct of arrays: one numpy array per attribute, indexed by id."""

from __future__ import annotations

import numpy as np

from model.parameters import Parameters

NEVER = -1

# coasting states
WORKING, HIDDEN, DETECTED = 0, 1, 2


def _beta(rng: np.random.Generator, mean: float, concentration: float, n: int) -> np.ndarray:
    return rng.beta(mean * concentration, (1 - mean) * concentration, n)


class Employees:
    """Traits and dynamic state of every employee (all arrays have length n)."""

    def __init__(self, p: Parameters, rng: np.random.Generator):
        n = p.n_employees
        self.n = n
        # traits
        self.hero = rng.random(n) < p.hero_share
        self.resourcefulness = np.where(self.hero, p.hero_resourcefulness, p.base_resourcefulness)
        self.motive = _beta(rng, p.motive_mean, p.trait_concentration, n)
        self.skill = _beta(rng, p.skill_mean, p.trait_concentration, n)
        # position held (elections move people between positions)
        self.position = np.arange(n)
        # dynamic state
        self.opportunity = np.full(n, p.autonomy)
        self.commitment = np.cbrt(self.motive * self.skill * self.opportunity)
        self.commitment_norm = self.commitment.copy()
        self.effort = self.commitment.copy()
        self.effort_norm = self.effort.copy()
        self.watch_belief = np.full(n, 0.5)  # expected chance of a sanction if coasting
        self.reputation = np.full(n, 0.5)
        self.influence = np.full(n, 0.5)
        self.output = np.zeros(n)
        self.coast_state = np.full(n, WORKING, dtype=np.int8)
        self.hidden_since = np.full(n, NEVER, dtype=np.int64)
        self.sanctioned = np.zeros(n, dtype=bool)
        self.witnessed = np.zeros(n, dtype=bool)  # work seen by a peer in conversation
        self.latest_idea = np.full(n, NEVER, dtype=np.int64)
        self.last_idea_step = np.full(n, -(10**9), dtype=np.int64)
