"""Process 4b, the open idea forum: any idea posted there can reach anyone.

Each step every employee reads the forum with chance ``idea_forum_reach`` and meets
one idea posted in the last ``forum_memory`` steps (not squashed), as if told by its
originator; adoption follows the usual rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.processes.adoption import consider_adoption
from model.processes.base import Process

if TYPE_CHECKING:
    pass


class IdeaForum(Process):
    """Readers meet a random idea from the forum."""

    name = "forum"

    def step(self) -> None:
        m, reg = self.model, self.model.ideas
        if m.p.idea_forum_reach <= 0:
            return
        posted = np.flatnonzero((reg.forum_until[: reg.n] >= m.steps) & ~reg.squashed[: reg.n])
        if len(posted) == 0:
            return
        readers = np.flatnonzero(self.rng.random(m.people.n) < m.p.idea_forum_reach)
        ideas = posted[self.rng.integers(0, len(posted), len(readers))]
        consider_adoption(m, readers, reg.origin[ideas], ideas, self.rng)
