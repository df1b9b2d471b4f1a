"""An idiomatic Mesa 3.5 baseline: one Python object per employee, one conversation per step.

This is the kind of model a Mesa user would write first: each ``Colleague`` keeps its
effort, commitment, an idea flag and a list of neighbours on a small-world ring, and
``step`` talks to one random neighbour. It is neither deliberately slow nor vectorized;
it is the yardstick for the array-based ``OrganizationModel``.
"""

from __future__ import annotations

import math

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


class Employee(mesa.Agent):
    """This model's conversation (docs/ODD.md 7.3-7.4) for one employee, written the Mesa way.

    Partner chosen by weight over formal ties (manager, reports, unit colleagues) and
    informal ties (strength x lateral and upward constraints); in both directions the
    listener sees the speaker's norms and maybe their work, and hears their newest idea
    (voice upward withheld with chance power distance), weighed by the adoption rule.
    """

    def __init__(self, model: ConversationBaselineModel, unit: int, level: int):
        super().__init__(model)
        p = model.p
        self.unit, self.level = unit, level
        self.manager: Employee | None = None
        self.reports: list[Employee] = []
        self.colleagues: list[Employee] = []
        self.ties: dict[Employee, float] = {}  # informal tie -> strength
        self.effort = self.commitment = self.random.random()
        self.effort_norm, self.commitment_norm = self.effort, self.commitment
        self.influence = 0.5
        self.practice = [self.random.choice((-1, 0, 1)) for _ in range(p.n_dimensions)]
        self.idea: tuple | None = None  # (dims, values) of the newest idea
        self.seen: list[tuple[float, float]] = []
        self.witnessed = False

    def constraint(self, other: Employee) -> float:
        crosses = (other.unit != self.unit and other is not self.manager
                   and other.manager is not self)
        factor = self.model.p.lateral_openness if crosses else 1.0
        return factor * (1.0 - self.model.p.power_distance if other.level < self.level else 1.0)

    def step(self) -> None:
        """One conversation: choose a partner, talk both ways, strengthen the tie used."""
        p = self.model.p
        options = list(self.ties)
        weights = [strength * self.constraint(o) for o, strength in self.ties.items()]
        if self.manager is not None:
            options.append(self.manager)
            weights.append(p.formal_tie_strength * (1.0 - p.power_distance))
        formal = self.reports + self.colleagues
        options += formal
        weights += [p.formal_tie_strength] * len(formal)
        if not options or sum(weights) <= 0:
            return
        other = self.random.choices(options, weights)[0]
        self.talk_to(other)
        other.talk_to(self)
        if other in self.ties:
            self.ties[other] = 1.0 - (1.0 - self.ties[other]) * (1.0 - p.tie_reinforcement)

    def talk_to(self, listener: Employee) -> None:
        p = self.model.p
        listener.seen.append((self.effort, self.commitment))
        if listener is not self.manager and self.random.random() < p.work_visibility:
            self.witnessed = True
        if self.idea is None or listener.uses(self.idea) or not self.uses(self.idea):
            return
        if listener.level < self.level and self.random.random() < p.power_distance:
            return
        listener.consider(self.idea, self)

    def uses(self, idea: tuple) -> bool:
        dims, values = idea
        return all(self.practice[d] == v for d, v in zip(dims, values, strict=True))

    def consider(self, idea: tuple, speaker: Employee) -> None:
        """The adoption rule: perceived gain, influence and risk through a logistic."""
        p, need = self.model.p, self.model.need
        dims, values = idea
        gain = sum((v == need[d]) - (self.practice[d] == need[d])
                   for d, v in zip(dims, values, strict=True))
        perceived = gain / len(dims) + p.perception_noise * self.random.gauss(0.0, 1.0)
        appeal = (math.log(p.adoption_propensity / (1 - p.adoption_propensity))
                  + p.value_weight * perceived
                  + p.influence_weight * (speaker.influence - self.influence)
                  - p.unsanctioned_risk)
        if self.random.random() < 1.0 / (1.0 + math.exp(-appeal)):
            for d, v in zip(dims, values, strict=True):
                self.practice[d] = v
            self.idea = idea

    def learn_norms(self) -> None:
        if self.seen:
            rate = self.model.p.norm_learning
            self.effort_norm += rate * (sum(e for e, _ in self.seen) / len(self.seen)
                                        - self.effort_norm)
            self.commitment_norm += rate * (sum(c for _, c in self.seen) / len(self.seen)
                                            - self.commitment_norm)
            self.seen.clear()
        self.witnessed = False

    def fade_ties(self) -> None:
        p = self.model.p
        for other, strength in self.ties.items():
            self.ties[other] = p.tie_floor + (strength - p.tie_floor) * (1.0 - p.tie_decay)


class ConversationBaselineModel(mesa.Model):
    """Like-for-like yardstick: this model's conversation and adoption rule (only those two
    of its eleven process units) at default parameters, one Mesa agent per employee, one
    conversation each per step through ``shuffle_do``; reporting tree of ``span_of_control``,
    small-world informal ties, 5% of employees starting with an idea of their own."""

    def __init__(self, n: int, rng=None):
        super().__init__(rng=rng)
        from model.parameters import Parameters

        self.p = p = Parameters(n_employees=n)
        self.need = [self.random.choice((-1, 1)) for _ in range(p.n_dimensions)]
        people = self._build_tree(n, p.span_of_control)
        self._wire_small_world(people, p.informal_degree, p.informal_rewiring,
                               p.initial_tie_strength)
        for person in people:
            if self.random.random() < INITIAL_IDEA_SHARE:
                dims = tuple(self.random.sample(range(p.n_dimensions), p.idea_scope))
                person.idea = (dims, tuple(self.random.choice((-1, 1)) for _ in dims))
                for d, v in zip(*person.idea, strict=True):
                    person.practice[d] = v

    def _build_tree(self, n: int, span: int) -> list[Employee]:
        """Breadth-first reporting tree; a manager and their direct reports form a unit."""
        people = [Employee(self, unit=0, level=0)]
        for i in range(1, n):
            boss = people[(i - 1) // span]
            person = Employee(self, unit=(i - 1) // span + 1, level=boss.level + 1)
            person.manager = boss
            boss.reports.append(person)
            people.append(person)
        for boss in people:
            for person in boss.reports:
                person.colleagues = [c for c in boss.reports if c is not person]
        return people

    def _wire_small_world(self, people: list[Employee], degree: int, rewiring: float,
                          strength: float) -> None:
        n = len(people)
        for i, person in enumerate(people):
            for offset in range(1, degree // 2 + 1):
                j = (i + offset) % n
                if self.random.random() < rewiring:
                    j = self.random.randrange(n)
                if j != i:
                    person.ties[people[j]] = strength
                    people[j].ties[person] = strength

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.agents.do("learn_norms")
        self.agents.do("fade_ties")

    def run(self, steps: int) -> ConversationBaselineModel:
        for _ in range(steps):
            self.step()
        return self
