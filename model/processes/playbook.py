"""Process 4c, the playbook: March's (1991) organizational code.

- Codification of ideas: sanctioned ideas, and (where nothing needs approval) ideas
  used by at least ``codify_share`` of employees, are written into the playbook.
- Learning from the best (March's p2): on each dimension where the employees who fit
  needs better than the playbook hold a majority belief different from it, the
  playbook takes that belief with chance 1 - (1 - p2)^k, k being the majority margin.
  What it learns this way is attributed to practice, not to any one idea.
- Socialization (March's p1): each employee takes the playbook's belief on each
  dimension where it differs (and is not 0) with chance p1; an idea the playbook
  holds spreads this way down to everyone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from model.beliefs import OWN

if TYPE_CHECKING:
    from model.organization import OrganizationModel


def bernoulli_positions(rng: np.random.Generator, size: int, p: float) -> np.ndarray:
    """Sorted indices in [0, size), each chosen independently with chance p.

    Gaps between chosen indices are geometric, so the cost is proportional to the number
    chosen; for tiny p (gaps that could overflow) draw how many, then a uniform subset.
    """
    if p <= 0 or size == 0:
        return np.zeros(0, dtype=np.int64)
    if p >= 1:
        return np.arange(size, dtype=np.int64)
    if p < 1e-6:
        count = rng.binomial(size, p)
        return np.sort(rng.choice(size, count, replace=False)).astype(np.int64)
    expected = size * p
    batch = int(expected + 6 * np.sqrt(expected) + 16)
    positions = np.cumsum(rng.geometric(p, batch)) - 1
    while positions[-1] < size:
        more = np.cumsum(rng.geometric(p, batch)) + positions[-1]
        positions = np.concatenate([positions, more])
    return positions[positions < size]


@njit(cache=True)
def superior_beliefs(practice, matches, code_matches):
    """Counts of +1 and -1 beliefs per dimension among employees who fit needs better
    than the playbook, and how many such employees there are."""
    n, m = practice.shape
    plus = np.zeros(m, np.int64)
    minus = np.zeros(m, np.int64)
    superior = 0
    for i in range(n):
        if matches[i] > code_matches:
            superior += 1
            for d in range(m):
                if practice[i, d] == 1:
                    plus[d] += 1
                elif practice[i, d] == -1:
                    minus[d] += 1
    return plus, minus, superior


class Playbook:
    """Codifies ideas, learns from the best performers, and socializes employees."""

    name = "playbook"

    def __init__(self, model: OrganizationModel):
        self.model = model
        self.rng = model.streams[self.name]

    def codify(self, ideas: np.ndarray) -> None:
        """Sanction ideas and write their beliefs into the playbook."""
        m, reg = self.model, self.model.ideas
        ideas = ideas[~reg.sanctioned[ideas]]
        if len(ideas) == 0:
            return
        reg.sanctioned[ideas] = True
        reg.sanctioned_step[ideas] = m.steps
        m.beliefs.code[reg.dims[ideas].ravel()] = reg.values[ideas].ravel()
        m.beliefs.code_source[reg.dims[ideas].ravel()] = np.repeat(ideas, reg.scope)

    def codify_widely_used(self) -> None:
        m, reg = self.model, self.model.ideas
        if m.p.approval_levels > 0:
            return
        live = np.arange(reg.n)
        wide = live[(reg.adopters[: reg.n] >= m.p.codify_share * m.people.n)
                    & ~reg.sanctioned[: reg.n] & ~reg.squashed[: reg.n]]
        self.codify(wide)

    def learn_from_best(self) -> None:
        b, p2 = self.model.beliefs, self.model.p.codification_rate
        if p2 <= 0:
            return
        plus, minus, superior = superior_beliefs(b.practice, b.matches,
                                                 int((b.code == b.need).sum()))
        if superior == 0:
            return
        majority = np.sign(plus - minus).astype(np.int8)
        margin = np.abs(plus - minus)
        chance = 1.0 - (1.0 - p2) ** margin
        change = (majority != 0) & (majority != b.code) & (self.rng.random(b.m) < chance)
        b.code[change] = majority[change]
        b.code_source[change] = OWN

    def socialize(self) -> None:
        b, p1 = self.model.beliefs, self.model.p.socialization_rate
        cells = bernoulli_positions(self.rng, b.n * b.m, p1)
        rows, cols = np.divmod(cells, b.m)
        learn = (b.code[cols] != 0) & (b.practice[rows, cols] != b.code[cols])
        rows, cols = rows[learn], cols[learn]
        b.assign(rows, cols, b.code[cols], b.code_source[cols])

    def step(self) -> None:
        self.codify_widely_used()
        self.learn_from_best()
        self.socialize()
