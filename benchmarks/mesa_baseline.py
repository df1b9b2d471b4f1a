"""An idiomatic Mesa 3.5 baseline: one Python object per employee, one conversation per step.

This is the kind of model a Mesa user would write first: each ``Colleague`` keeps its
effort, commitment, an idea flag and a list of neighbours on a small-world ring, and
``step`` talks to one random neighbour. It is neither deliberately slow nor vectorized;
it is the yardstick for the array-based ``OrganizationModel``.
"""

from __future__ import annotations

import mesa

NORM_RATE = 0.1  # share of the effort gap closed in one conversation
IDEA_PASS_PROBABILITY = 0.2
TIE_GAIN = 0.05
INITIAL_IDEA_SHARE = 0.05


class Colleague(mesa.Agent):
    """An employee with an effort norm, commitment, an idea flag and weighted informal ties."""

    def __init__(self, model: BaselineModel):
        super().__init__(model)
        self.effort = self.random.random()
        self.commitment = self.random.random()
        self.has_idea = self.random.random() < INITIAL_IDEA_SHARE
        self.neighbours: list[Colleague] = []
        self.ties: dict[int, float] = {}

    def step(self) -> None:
        """One conversation with a random colleague: copy effort, maybe pass an idea, bond."""
        if not self.neighbours:
            return
        other = self.random.choice(self.neighbours)
        self.effort += NORM_RATE * (other.effort - self.effort)
        self.commitment += NORM_RATE * (other.commitment - self.commitment)
        if self.has_idea and self.random.random() < IDEA_PASS_PROBABILITY:
            other.has_idea = True
        self.ties[other.unique_id] = min(1.0, self.ties.get(other.unique_id, 0.5) + TIE_GAIN)


class BaselineModel(mesa.Model):
    """``n`` colleagues on a Watts-Strogatz ring of ``degree`` ties, rewired with ``rewiring``."""

    def __init__(self, n: int, degree: int = 6, rewiring: float = 0.1, rng=None):
        super().__init__(rng=rng)
        people = [Colleague(self) for _ in range(n)]
        self._wire_small_world(people, degree, rewiring)

    def _wire_small_world(self, people: list[Colleague], degree: int, rewiring: float) -> None:
        n = len(people)
        for i, person in enumerate(people):
            for offset in range(1, degree // 2 + 1):
                j = (i + offset) % n
                if self.random.random() < rewiring:
                    j = self.random.randrange(n)
                if j != i:
                    person.neighbours.append(people[j])
                    people[j].neighbours.append(person)

    def step(self) -> None:
        self.agents.shuffle_do("step")

    def run(self, steps: int) -> BaselineModel:
        for _ in range(steps):
            self.step()
        return self
