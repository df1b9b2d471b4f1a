"""Process 4b, the open idea forum: any idea posted there can reach anyone.

Each step every employee reads the forum with chance ``idea_forum_reach`` and meets
one idea posted in the last ``forum_memory`` steps (not squashed) that applies to them
(one of their market's, or one for everyone), drawn uniformly, as if told by its
originator; adoption follows the usual rule.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np

from model.processes.adoption import consider_adoption
from model.processes.base import Process

if TYPE_CHECKING:
    pass


class IdeaForum(Process):
    """Readers meet a random idea from the forum."""

    name = "forum"

    def idle(self) -> bool:
        """Whether this step has nothing to do (nobody reads the forum)."""
        return self.model.highest("idea_forum_reach") <= 0

    def idle_for(self) -> int:
        """For how many coming steps this process has nothing to do (sys.maxsize: all,
        as long as no parameter changes)."""
        return sys.maxsize if self.idle() else 0

    def step(self) -> None:
        m, reg = self.model, self.model.ideas
        if self.idle():
            return
        posted = np.flatnonzero((reg.forum_until[: reg.n] >= m.steps) & ~reg.squashed[: reg.n])
        if len(posted) == 0:
            return
        readers = np.flatnonzero(self.rng.random(m.people.n)
                                 < m.per_employee("idea_forum_reach"))
        if len(m.market_sizes) == 1:  # one market: every posted idea applies to everyone
            ideas = posted[self.rng.integers(0, len(posted), len(readers))]
        else:
            ideas, readers = self._applicable(posted, readers)
        consider_adoption(m, readers, reg.origin[ideas], ideas, self.rng)

    def _applicable(self, posted: np.ndarray, readers: np.ndarray) -> tuple[np.ndarray,
                                                                           np.ndarray]:
        """One idea per reader, uniform among the posted ideas of the reader's market and
        those for everyone (readers with none left out)."""
        m, reg = self.model, self.model.ideas
        market = reg.market[posted]
        local = posted[market >= 0]
        local = local[np.argsort(reg.market[local], kind="stable")]
        shared = posted[market < 0]
        counts = np.bincount(reg.market[local], minlength=len(m.market_sizes))
        starts = np.cumsum(counts) - counts
        own = m.market[readers]
        choices = counts[own] + len(shared)
        readers, own, choices = readers[choices > 0], own[choices > 0], choices[choices > 0]
        pick = self.rng.integers(0, choices) if len(readers) else choices
        is_local = pick < counts[own]
        ideas = np.empty(len(readers), dtype=np.int64)
        ideas[is_local] = local[starts[own[is_local]] + pick[is_local]]
        ideas[~is_local] = shared[pick[~is_local] - counts[own[~is_local]]]
        return ideas, readers
