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
from numba import njit

from model.beliefs import adopt_all, revert_pairs
from model.bundle import BundleCache, Entry
from model.ideas import NEVER
from model.processes.base import Process
from model.processes.playbook import codify_ideas

if TYPE_CHECKING:
    pass


@njit(cache=True)
def _new_stamp(mark):
    """A fresh stamp for first-occurrence marks (``mark[-1]`` counts the calls)."""
    mark[-1] += 1
    return mark[-1]


@njit(cache=True)
def revert_first_per_employee(state, code, code_source, dims, adopters, employees, ideas,
                              order, mark):
    """For each distinct employee, the pair met first in ``order``; those pairs reverted in
    ascending employee order (what ``np.unique(employees[order], return_index=True)``
    picks)."""
    stamp = _new_stamp(mark)
    first = np.empty(len(order), np.int64)
    count = 0
    for y in range(len(order)):
        i = employees[order[y]]
        if mark[i] != stamp:
            mark[i] = stamp
            first[count] = order[y]
            count += 1
    first = first[:count]
    first = first[np.argsort(employees[first])]
    revert_pairs(state, code, code_source, dims, adopters, employees[first], ideas[first])


@njit(cache=True)
def submit_ideas(bundle, ideas, managers, speakers):
    """:meth:`Approval.submit` in one call."""
    submit_to(bundle.arrays, ideas, managers, speakers)


@njit(cache=True)
def submit_to(arrays, ideas, managers, speakers):
    """:func:`submit_ideas` on the bundle's arrays (:meth:`Approval.kernel_arrays`)."""
    registry, state, code, code_source, people, roles, local, mark = arrays
    reviewer, squashed = registry[4], registry[18]
    dims, adopters = registry[20], registry[6]
    suppressed = np.empty(len(ideas), np.int64)
    count = 0
    for x in range(len(ideas)):
        if squashed[ideas[x]]:
            suppressed[count] = x
            count += 1
    if count:
        revert_first_per_employee(state, code, code_source, dims, adopters, speakers, ideas,
                                  suppressed[:count], mark)
    for x in range(len(ideas)):  # managers are employees (never NEVER): the first one counts
        k = ideas[x]
        if not squashed[k] and reviewer[k] == NEVER:
            reviewer[k] = managers[x]


@njit(cache=True)
def review_ideas(rng, bundle, n_ideas, step):
    """:meth:`Approval.step` in one call: reviews decided this step, then approvals and
    squashes."""
    review_from(rng, bundle.arrays, n_ideas, step)


@njit(cache=True)
def review_from(rng, arrays, n_ideas, step):
    """:func:`review_ideas` on the bundle's arrays (:meth:`Approval.kernel_arrays`)."""
    registry, state, code, code_source, people, roles, local, mark = arrays
    (origin, birth, sanctioned_step, squashed_step, reviewer, approvals, adopters, peak,
     step_half, step_wide, step_90, adoptions, forum_until, market, audience, value_at_birth,
     adopted_value_sum, sanctioned, squashed, is_probe, dims, values) = registry
    review_time, review_noise, approval_tolerance, approval_levels = local
    need = state[4]
    decided = np.empty(n_ideas, np.int64)
    count = 0
    for k in range(n_ideas):
        if reviewer[k] != NEVER and rng.random() < 1.0 / review_time[reviewer[k]]:
            decided[count] = k
            count += 1
    if count == 0:
        return
    noise = np.empty(count)
    for x in range(count):
        noise[x] = rng.standard_normal()
    scope = dims.shape[1]
    passed = np.empty(count, np.int64)
    failed = np.empty(count, np.int64)
    n_passed = n_failed = 0
    for x in range(count):
        k = decided[x]
        r = reviewer[k]
        right = 0
        for j in range(scope):
            right += values[k, j] == need[dims[k, j]]
        judged = (2.0 * (right / scope) - 1.0) + review_noise[r] * noise[x]
        if judged >= 1.0 - 2.0 * approval_tolerance[r]:
            passed[n_passed] = k
            n_passed += 1
        else:
            failed[n_failed] = k
            n_failed += 1
    approve(arrays, passed[:n_passed], step)
    if n_failed:
        squash(rng, arrays, failed[:n_failed], step)


@njit(cache=True)
def approve(arrays, ideas, step):
    """Passed reviews: the reviewer takes the idea up (the first idea of each reviewer, if
    not used yet and of their market), then it moves up or is sanctioned."""
    registry, state, code, code_source, people, roles, local, mark = arrays
    (origin, birth, sanctioned_step, squashed_step, reviewer, approvals, adopters, peak,
     step_half, step_wide, step_90, adoptions, forum_until, idea_market, audience,
     value_at_birth, adopted_value_sum, sanctioned, squashed, is_probe, dims,
     values) = registry
    latest_idea, market = people
    manager, position, occupant, n_children, child_start = roles
    approval_levels = local[3]
    source = state[1]
    stamp = _new_stamp(mark)
    takers = np.empty(len(ideas), np.int64)
    taken = np.empty(len(ideas), np.int64)
    count = 0
    for x in range(len(ideas)):
        k = ideas[x]
        r = reviewer[k]
        approvals[k] += 1
        first = mark[r] != stamp
        mark[r] = stamp
        if (first and source[r, dims[k, 0]] != k
                and (idea_market[k] < 0 or idea_market[k] == market[r])):
            takers[count], taken[count] = r, k
            count += 1
    adopt_all(state, dims, values, adopters, takers[:count], taken[:count])
    for x in range(count):
        latest_idea[takers[x]] = taken[x]
        adoptions[taken[x]] += 1
        adopted_value_sum[taken[x]] += value_at_birth[taken[x]]
    done = np.empty(len(ideas), np.int64)
    n_done = 0
    for x in range(len(ideas)):
        k = ideas[x]
        above = manager[reviewer[k]]
        if approvals[k] >= approval_levels[origin[k]] or above < 0:
            reviewer[k] = NEVER
            done[n_done] = k
            n_done += 1
        else:
            reviewer[k] = above
    codify_ideas(registry, done[:n_done], code, code_source, step)


@njit(cache=True)
def squash(rng, arrays, ideas, step):
    """Failed reviews: the idea is squashed; the reviewer and their direct reports who use
    it drop it (one idea per employee, drawn in random order)."""
    registry, state, code, code_source, people, roles, local, mark = arrays
    (origin, birth, sanctioned_step, squashed_step, reviewer, approvals, adopters, peak,
     step_half, step_wide, step_90, adoptions, forum_until, idea_market, audience,
     value_at_birth, adopted_value_sum, sanctioned, squashed, is_probe, dims,
     values) = registry
    manager, position, occupant, n_children, child_start = roles
    source = state[1]
    reviewers = np.empty(len(ideas), np.int64)
    size = len(ideas)
    for x in range(len(ideas)):
        k = ideas[x]
        reviewers[x] = reviewer[k]
        squashed[k] = True
        squashed_step[k] = step
        reviewer[k] = NEVER
        size += n_children[position[reviewers[x]]]
    members = np.empty(size, np.int64)  # each reviewer, then their direct reports
    which = np.empty(size, np.int64)
    count = 0
    for x in range(len(ideas)):
        if source[reviewers[x], dims[ideas[x], 0]] == ideas[x]:
            members[count], which[count] = reviewers[x], ideas[x]
            count += 1
    for x in range(len(ideas)):
        pos = position[reviewers[x]]
        for c in range(n_children[pos]):
            i = occupant[child_start[pos] + c]
            if source[i, dims[ideas[x], 0]] == ideas[x]:
                members[count], which[count] = i, ideas[x]
                count += 1
    if count == 0:
        return  # a permutation of nothing draws nothing
    order = rng.permutation(count)
    revert_first_per_employee(state, code, code_source, dims, adopters, members[:count],
                              which[:count], order, mark)


class Approval(Process):
    """Review queue of ideas (one reviewer per idea at a time)."""

    name = "approval"

    def __init__(self, model):
        super().__init__(model)
        self._arrays = BundleCache(self.kernel_arrays)
        self._review = Entry(review_ideas)
        self._mark = np.full(model.p.n_employees + 1, -1, np.int64)  # first-occurrence marks

    def kernel_arrays(self) -> tuple:
        """(registry, beliefs, code, code_source, people, roles, per-unit values, marks)."""
        m = self.model
        s = m.structure
        return (m.ideas.kernel_arrays(), m.beliefs.state(), m.beliefs.code, m.beliefs.code_source,
                (m.people.latest_idea, m.market),
                (m._manager, m.people.position, m.occupant, s.n_children, s.child_start),
                tuple(np.ascontiguousarray(m.per_employee(name), np.float64) for name in (
                    "review_time", "review_noise", "approval_tolerance", "approval_levels")),
                self._mark)


    def _bundle(self):
        m = self.model
        return self._arrays.get((m.p, m.local.version, m.roles_version, m.ideas.version))

    def submit(self, ideas: np.ndarray, managers: np.ndarray, speakers: np.ndarray) -> None:
        """Ideas voiced to the speaker's manager: squashed ones are suppressed (each speaker
        drops the first such idea), new ones queued (with the first manager they reach)."""
        submit_ideas(self._bundle(), np.ascontiguousarray(ideas, np.int64),
                     np.ascontiguousarray(managers, np.int64),
                     np.ascontiguousarray(speakers, np.int64))

    def step(self) -> None:
        bundle = self._bundle()
        self._review(bundle, self.rng, bundle, self.model.ideas.n, self.model.steps)
