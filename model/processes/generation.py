"""Process 2, idea generation at the customer interface.

Each step (a week) a customer-facing employee meets a customer problem with chance
``customer_problem_rate`` and turns it into an idea with chance
resourcefulness x commitment. Opportunity (autonomy, manager support) enters once,
through commitment = cbrt(motive x skill x opportunity). The idea changes
``idea_scope`` random dimensions; each new belief reads the need right with chance
``customer_insight`` and is a coin flip otherwise, so many ideas are half-baked and
some are harmful. It applies in its originator's market (``market_size``). The
originator uses it at once. As a tracer of how fast a good idea spreads, at
``probe_idea_step`` customer needs change on ``idea_scope`` dimensions organization-wide
and a random customer-facing employee conceives the right response (every belief
right); it applies in every market.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.ideas import NEVER
from model.processes.adoption import adopt_ideas
from model.processes.base import Process
from model.rng import coin_signs

if TYPE_CHECKING:
    from model.organization import OrganizationModel


class IdeaGeneration(Process):
    """Births of ideas (and of the tracer idea)."""

    name = "ideas"

    def __init__(self, model: OrganizationModel):
        super().__init__(model)
        self.probe_rng = model.streams["probe"]
        self.born_this_step = 0

    def _random_dims(self, rng: np.random.Generator, k: int) -> np.ndarray:
        m, scope = self.model.beliefs.m, self.model.p.idea_scope
        return np.argsort(rng.random((k, m)), axis=1)[:, :scope]

    def _register(self, originators: np.ndarray, dims: np.ndarray, values: np.ndarray,
                  probe: bool = False) -> np.ndarray:
        m = self.model
        forum_until = m.steps + m.p.forum_memory if m.highest("idea_forum_reach") > 0 else NEVER
        value = 2.0 * (values == m.beliefs.need[dims]).mean(axis=1) - 1.0
        market = np.full(len(originators), -1) if probe else m.market[originators]
        audience = (np.full(len(originators), m.people.n) if probe
                    else m.market_sizes[market])
        ids = m.ideas.add(originators, dims, values, m.steps, value, forum_until, market,
                          audience)
        m.ideas.is_probe[ids] = probe
        adopt_ideas(m, originators, ids)
        m.ideas.adoptions[ids] -= 1  # the originator's use is not an adoption event
        m.ideas.adopted_value_sum[ids] -= value
        m.people.last_idea_step[originators] = m.steps
        return ids

    def generate(self) -> None:
        m, rng = self.model, self.rng
        people = m.people
        facing = m.customer_facing_employees()
        meets = facing[rng.random(len(facing)) < m.per_employee("customer_problem_rate")[facing]]
        chance = people.resourcefulness[meets] * people.commitment[meets]
        creators = meets[rng.random(len(meets)) < chance]
        self.born_this_step = len(creators)
        if len(creators) == 0:
            return
        dims = self._random_dims(rng, len(creators))
        right = rng.random(dims.shape) < m.per_employee("customer_insight")[creators, None]
        coin = coin_signs(rng, dims.shape)
        values = np.where(right, m.beliefs.need[dims], coin).astype(np.int8)
        self._register(creators, dims, values)

    def plant_probe(self) -> None:
        m = self.model
        facing = m.customer_facing_employees()
        pool = facing if len(facing) else np.arange(m.people.n)
        originator = self.probe_rng.choice(pool, size=1)
        dims = self._random_dims(self.probe_rng, 1)
        m.beliefs.drift(dims[0])  # a new customer need, and the right response to it
        self.born_this_step += 1
        self._register(originator, dims, m.beliefs.need[dims].astype(np.int8), probe=True)

    def step(self) -> None:
        self.generate()
        if self.model.steps == self.model.p.probe_idea_step:
            self.plant_probe()
