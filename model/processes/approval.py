"""Process 4a, approval: ideas reaching a manager are approved or squashed.

Where the speaker's ``approval_levels`` > 0, an unsanctioned idea voiced to the speaker's
own manager enters review with that manager (one reviewer per idea at a time). A reviewer
decides each step with chance 1 / ``review_time``, judging the idea's value against
current needs with ``review_noise``; it passes if the judged value is at least
``1 - 2 * approval_tolerance`` (all three as they hold for the reviewer). A passed idea is
taken up by the reviewer (if it applies in their market) and moves one level up; after
the originator's ``approval_levels`` approvals (at least one; or at the top) it is
sanctioned; an idea that applies everywhere (the tracer) is also written into
the playbook, from which socialization teaches it (playbook.py). A squashed
idea is dropped (back to the playbook's beliefs) by the reviewer and their direct
reports, and a manager who later hears a squashed idea from a direct report makes them
drop it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.ideas import NEVER
from model.processes.adoption import adopt_ideas
from model.processes.base import Process

if TYPE_CHECKING:
    pass


class Approval(Process):
    """Review queue of ideas (one reviewer per idea at a time)."""

    name = "approval"

    def submit(self, ideas: np.ndarray, managers: np.ndarray, speakers: np.ndarray) -> None:
        """Ideas voiced to the speaker's manager: squashed ones are suppressed, new ones queued."""
        reg = self.model.ideas
        squashed = reg.squashed[ideas]
        if squashed.any():
            who, which = speakers[squashed], ideas[squashed]
            _, first = np.unique(who, return_index=True)
            self.model.beliefs.revert_to_code(who[first], which[first])
        fresh = ~squashed & (reg.reviewer[ideas] == NEVER)
        ideas, managers = ideas[fresh], managers[fresh]
        _, first = np.unique(ideas, return_index=True)
        reg.reviewer[ideas[first]] = managers[first]

    def step(self) -> None:
        m, reg = self.model, self.model.ideas
        pending = np.flatnonzero(reg.reviewer[: reg.n] != NEVER)
        review_time = m.per_employee("review_time")[reg.reviewer[pending]]
        pending = pending[self.rng.random(len(pending)) < 1.0 / review_time]
        if len(pending) == 0:
            return
        reviewer = reg.reviewer[pending]
        judged = (reg.true_value(pending, m.beliefs.need)
                  + m.per_employee("review_noise")[reviewer]
                  * self.rng.standard_normal(len(pending)))
        passed = judged >= 1.0 - 2.0 * m.per_employee("approval_tolerance")[reviewer]
        self._approve(pending[passed])
        self._squash(pending[~passed])

    def _approve(self, ideas: np.ndarray) -> None:
        m, reg = self.model, self.model.ideas
        reviewers = reg.reviewer[ideas]
        reg.approvals[ideas] += 1
        using = m.beliefs.uses(reviewers, ideas)
        _, first = np.unique(reviewers, return_index=True)
        take = np.zeros(len(ideas), dtype=bool)
        take[first] = True
        take &= ~using & ((reg.market[ideas] < 0) | (reg.market[ideas] == m.market[reviewers]))
        adopt_ideas(m, reviewers[take], ideas[take])
        above = m.manager_of(reviewers)
        needed = m.per_employee("approval_levels")[reg.origin[ideas]]
        done = (reg.approvals[ideas] >= needed) | (above < 0)
        reg.reviewer[ideas[done]] = NEVER
        m.playbook.codify(ideas[done])
        reg.reviewer[ideas[~done]] = above[~done]

    def _squash(self, ideas: np.ndarray) -> None:
        m, reg = self.model, self.model.ideas
        if len(ideas) == 0:
            return
        reviewers = reg.reviewer[ideas]
        reg.squashed[ideas] = True
        reg.squashed_step[ideas] = m.steps
        reg.reviewer[ideas] = NEVER
        members, which = m.team_members(reviewers, ideas)
        held = m.beliefs.uses(members, which)
        members, which = members[held], which[held]
        order = self.rng.permutation(len(members))
        _, first = np.unique(members[order], return_index=True)
        keep = order[first]
        m.beliefs.revert_to_code(members[keep], which[keep])
