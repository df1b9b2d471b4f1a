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

import numba
import numpy as np
from numba import njit, objmode, prange

from model.beliefs import adopt_all, flip_needs
from model.bundle import BundleCache, Entry
from model.ideas import NEVER
from model.parallel import PARALLEL_MIN
from model.processes.base import Process
from model.rng import (
    SIGNS,
    pcg_address,
    pcg_half,
    pcg_load,
    pcg_next64,
    pcg_store,
    pcg_store_half,
    pcg_uniform,
    uniforms,
)

if TYPE_CHECKING:
    from model.organization import OrganizationModel


ROW_BLOCK = 1024  # ideas per block of rows taken by one thread (fixed)


@njit(cache=True)
def smallest_dims(draws, scope, dims):
    """Each row's ``scope`` columns of smallest draw, smallest first, into ``dims`` (what
    ``np.argsort(draws, axis=1)[:, :scope]`` gives); False if two draws of a row tie
    (numpy's sort then decides their order)."""
    k, m = draws.shape
    for r in range(k):
        below = -1.0  # draws are in [0, 1)
        for j in range(scope):
            best, at = 2.0, -1
            for d in range(m):
                v = draws[r, d]
                if v > below:
                    if v < best:
                        best, at = v, d
                    elif v == best:
                        return False
            dims[r, j] = at
            below = best
    return True


@njit(cache=True, parallel=True)
def _smallest_dims_in_blocks(draws, scope, dims):
    """:func:`smallest_dims` with the rows taken in parallel blocks (each row alone: the
    same dimensions on any number of threads)."""
    k = draws.shape[0]
    blocks = (k + ROW_BLOCK - 1) // ROW_BLOCK
    untied = np.empty(blocks, np.bool_)
    for b in prange(blocks):
        rows = slice(b * ROW_BLOCK, min(k, (b + 1) * ROW_BLOCK))
        untied[b] = smallest_dims(draws[rows], scope, dims[rows])
    return untied.all()


@njit(cache=True)
def dims_of(draws, scope, large=False):
    """The ``scope`` dimensions of each idea from its row of ``draws``: the first ``scope`` of
    ``np.argsort(draws, axis=1)`` (the same result; ``large``: rows in parallel blocks)."""
    k = draws.shape[0]
    dims = np.empty((k, scope), np.int64)
    found = (_smallest_dims_in_blocks(draws, scope, dims) if large
             else smallest_dims(draws, scope, dims))
    if not found:  # a tie: numpy's own order
        with objmode(chosen="int64[:, :]"):
            chosen = np.ascontiguousarray(np.argsort(draws, axis=1)[:, :scope])
        dims[:] = chosen
    return dims


@njit(cache=True, inline="always")
def coin_index(state, inc, half, has_half):
    """(state, buffered half, whether one is buffered, 0 or 1): numba's
    ``rng.integers(0, 2)`` (Lemire's bounded draw on numpy's next_uint32: its top bit)."""
    if has_half:
        return state, half, False, np.int64(half >> np.uint32(31))
    state, bits = pcg_next64(state, inc)
    return (state, np.uint32(bits >> np.uint64(32)), True,
            np.int64((bits & np.uint64(0xFFFFFFFF)) >> np.uint64(31)))


@njit(cache=True)
def plant_tracer(rng, arrays, n_ideas, step, scope, forum_until):
    """The tracer idea in slot ``n_ideas`` (room reserved), drawn from its stream ``rng`` as
    ``rng.choice(pool, size=1)`` draws its originator (pool: the customer-facing employees,
    else everyone) and :func:`dims_of` its dimensions from one draw per dimension; the
    needs there flipped, the idea registered with every belief right (``arrays``: of
    :meth:`IdeaGeneration.kernel_arrays`). Returns its originator."""
    people, state = arrays[0], arrays[1]
    facing, everyone = people[0], len(people[3])
    pool = len(facing) if len(facing) else everyone
    who = rng.integers(0, pool)  # what choice draws: an index into the pool
    originator = facing[who] if len(facing) else who
    practice, matches, need = state[0], state[2], state[4]
    m = practice.shape[1]
    dims = dims_of(uniforms(rng, m).reshape(1, m), scope)
    flip_needs(practice, need, matches, dims[0])  # a new customer need, and its answer
    values = np.empty((1, scope), np.int8)
    for j in range(scope):
        values[0, j] = need[dims[0, j]]
    _register(arrays, n_ideas, step, np.full(1, originator, np.int64), dims, values,
              forum_until, True)
    return originator


@njit(cache=True)
def register_ideas(bundle, n_ideas, step, originators, dims, values, forum_until, probe):
    """New ideas in slots ``n_ideas``.. (room reserved): registered, taken up by their
    originators (not counted as adoptions); see :meth:`IdeaRegistry.add`. ``bundle``: the
    arrays of :meth:`IdeaGeneration.kernel_arrays`."""
    _register(bundle.arrays, n_ideas, step, originators, dims, values, forum_until, probe)


@njit(cache=True)
def _register(arrays, n_ideas, step, originators, dims, values, forum_until, probe, threads=1):
    """:func:`register_ideas` on the bundle's arrays (their beliefs taken up on ``threads``:
    :func:`model.beliefs.adopt_all`)."""
    people, state, registry = arrays
    (facing, problem_rate, insight, resourcefulness, commitment, latest_idea, last_idea_step,
     market, market_sizes) = people
    (origin, birth, sanctioned_step, squashed_step, reviewer, approvals, adopters, peak,
     step_half, step_wide, step_90, adoptions, idea_forum_until, idea_market, audience,
     value_at_birth, adopted_value_sum, sanctioned, squashed, is_probe, reg_dims,
     reg_values) = registry
    need = state[4]
    k, scope = dims.shape
    ids = np.arange(n_ideas, n_ideas + k)
    for x in range(k):
        idea, who = ids[x], originators[x]
        right = 0
        for j in range(scope):
            right += values[x, j] == need[dims[x, j]]
            reg_dims[idea, j] = dims[x, j]
            reg_values[idea, j] = values[x, j]
        origin[idea] = who
        birth[idea] = step
        value_at_birth[idea] = 2.0 * (right / scope) - 1.0
        adopters[idea] = 0
        peak[idea] = 0
        adoptions[idea] = 0
        approvals[idea] = 0
        idea_forum_until[idea] = forum_until
        idea_market[idea] = -1 if probe else market[who]
        audience[idea] = len(market) if probe else market_sizes[market[who]]
        is_probe[idea] = probe
    adopt_all(state, reg_dims, reg_values, adopters, originators, ids, threads)
    for x in range(k):
        idea, who = ids[x], originators[x]
        latest_idea[who] = idea
        adopted_value_sum[idea] += value_at_birth[idea]
        adopted_value_sum[idea] -= value_at_birth[idea]  # the originator's use is no adoption
        last_idea_step[who] = step


@njit(cache=True)
def conceive_ideas(rng, bundle, creators, n_ideas, step, scope, forum_until, threads):
    """The new ideas of ``creators`` (room reserved): their dimensions, right readings and
    coin flips, in that order of draws; then registered (see :func:`generate_ideas`)."""
    _conceive(rng, bundle.arrays, creators, n_ideas, step, scope, forum_until, threads)


@njit(cache=True)
def _conceive(rng, arrays, creators, n_ideas, step, scope, forum_until, threads):
    """:func:`conceive_ideas` on the bundle's arrays."""
    people, state, registry = arrays
    insight, need = people[2], state[4]
    k, m = len(creators), len(need)
    draws = uniforms(rng, k * (m + scope))  # the dimensions' draws, then the readings'
    dims = dims_of(draws[:k * m].reshape(k, m), scope, threads > 1)
    right = draws[k * m:]
    values = np.empty((k, scope), np.int8)
    address = pcg_address(rng)  # the coin flips, inline
    bits, inc = pcg_load(address)
    has, half = pcg_half(address)
    has_half = has != 0
    for x in range(k):
        for j in range(scope):
            bits, half, has_half, coin = coin_index(bits, inc, half, has_half)
            values[x, j] = (need[dims[x, j]] if right[x * scope + j] < insight[creators[x]]
                            else SIGNS[coin])
    pcg_store(address, bits)
    pcg_store_half(address, np.uint32(has_half), half)
    _register(arrays, n_ideas, step, creators, dims, values, forum_until, False, threads)


@njit(cache=True)
def generate_ideas(rng, bundle, n_ideas, capacity, step, scope, forum_until, threads):
    """Each step's births of ideas (module docstring), in the draws' fixed order: meetings
    of customer problems, ideas, then :func:`conceive_ideas`. Returns how many were born
    and, if the registry lacks room for them, their creators (not conceived yet: the
    caller grows the registry and conceives them). On several ``threads`` the draws are
    taken at once and the rest runs in parallel blocks: the same results."""
    return generate_from(rng, bundle.arrays, n_ideas, capacity, step, scope, forum_until,
                         threads)


@njit(cache=True)
def generate_from(rng, arrays, n_ideas, capacity, step, scope, forum_until, threads=1):
    """:func:`generate_ideas` on the bundle's arrays (:meth:`IdeaGeneration.kernel_arrays`)."""
    facing, problem_rate, insight, resourcefulness, commitment = arrays[0][:5]
    if threads > 1:
        meeting = _kept(facing, uniforms(rng, len(facing)), problem_rate, problem_rate, False)
        creators = _kept(meeting, uniforms(rng, len(meeting)), resourcefulness, commitment,
                         True)
        k = len(creators)
        if k == 0 or n_ideas + k > capacity:
            return k, creators
        _conceive(rng, arrays, creators, n_ideas, step, scope, forum_until, threads)
        return k, creators[:0]
    address = pcg_address(rng)  # inline
    state, inc = pcg_load(address)
    meets = np.empty(len(facing), np.int64)
    met = 0
    for x in range(len(facing)):  # (selected without a branch)
        state, u = pcg_uniform(state, inc)
        meets[met] = facing[x]
        met += u < problem_rate[facing[x]]
    creators = meets  # (a creator's slot is never after their meeting's)
    k = 0
    for x in range(met):
        state, u = pcg_uniform(state, inc)
        who = meets[x]
        creators[k] = who
        k += u < resourcefulness[who] * commitment[who]
    pcg_store(address, state)
    creators = creators[:k]
    if k == 0 or n_ideas + k > capacity:
        return k, creators
    _conceive(rng, arrays, creators, n_ideas, step, scope, forum_until, 1)
    return k, creators[:0]


@njit(cache=True, parallel=True)
def _kept(items, draws, chance, factor, product):
    """The ``items`` x whose draw is below their chance (``chance[x]``, times
    ``factor[x]`` if ``product``), in order: counted, then written in parallel blocks of
    ROW_BLOCK items (the same subsequence on any number of threads)."""
    blocks = (len(items) + ROW_BLOCK - 1) // ROW_BLOCK
    first = np.zeros(blocks + 1, np.int64)
    for b in prange(blocks):
        count = 0
        for x in range(b * ROW_BLOCK, min(len(items), (b + 1) * ROW_BLOCK)):
            who = items[x]
            count += draws[x] < (chance[who] * factor[who] if product else chance[who])
        first[b + 1] = count
    for b in range(blocks):
        first[b + 1] += first[b]
    kept = np.empty(first[-1], np.int64)
    for b in prange(blocks):
        at = first[b]
        for x in range(b * ROW_BLOCK, min(len(items), (b + 1) * ROW_BLOCK)):
            who = items[x]
            if draws[x] < (chance[who] * factor[who] if product else chance[who]):
                kept[at] = who
                at += 1
    return kept


class IdeaGeneration(Process):
    """Births of ideas (and of the tracer idea)."""

    name = "ideas"

    def __init__(self, model: OrganizationModel):
        super().__init__(model)
        self.born_this_step = 0
        self._arrays = BundleCache(self.kernel_arrays)
        self._generate = Entry(generate_ideas)

    def kernel_arrays(self) -> tuple:
        """(people, beliefs, registry) arrays of the compiled kernels."""
        m = self.model
        people = (m.customer_facing_employees(), m.per_employee("customer_problem_rate"),
                  m.per_employee("customer_insight"), m.people.resourcefulness,
                  m.people.commitment, m.people.latest_idea, m.people.last_idea_step,
                  m.market, m.market_sizes)
        return people, m.beliefs.state(), m.ideas.kernel_arrays()

    def fused_arrays(self) -> tuple:
        """(:meth:`kernel_arrays`, registry capacity, idea scope) for the fused step
        (model.organization)."""
        m = self.model
        return self.kernel_arrays(), m.ideas.capacity, m.p.idea_scope

    def _arrays_now(self, births: int):
        """The kernels' arrays, with room for ``births`` more ideas."""
        m = self.model
        m.ideas.reserve(births)
        return self._arrays.get((m.p, m.local.version, m.roles_version, m.ideas.version))

    def threads(self) -> int:
        """numba's threads for the births of an organization of PARALLEL_MIN customer-facing
        employees or more, else 1 (asking starts numba's threads: small ones never do)."""
        large = len(self.model.customer_facing_employees()) >= PARALLEL_MIN
        return numba.get_num_threads() if large else 1

    def forum_until(self) -> int:
        """The last step a new idea stays on the forum (NEVER: no forum)."""
        return self._forum_until()

    def _forum_until(self) -> int:
        m = self.model
        return m.steps + m.p.forum_memory if m.highest("idea_forum_reach") > 0 else NEVER

    def generate(self) -> None:
        m, reg = self.model, self.model.ideas
        scope, forum_until = m.p.idea_scope, self._forum_until()
        bundle = self._arrays_now(0)
        born, waiting = self._generate(bundle, self.rng, bundle, reg.n, reg.capacity, m.steps,
                                       scope, forum_until, self.threads())
        self.finish(born, waiting, forum_until)

    def finish(self, born: int, waiting: np.ndarray, forum_until: int) -> None:
        """Count the step's ``born`` ideas, first conceiving those ``waiting`` for the
        registry to grow (:func:`generate_ideas`)."""
        m, reg = self.model, self.model.ideas
        if len(waiting):  # the registry grows first
            conceive_ideas(self.rng, self._arrays_now(born), waiting, reg.n, m.steps,
                           m.p.idea_scope, forum_until, self.threads())
        reg.n += born
        self.born_this_step = born

    def probe_due(self) -> bool:
        """Whether the tracer is planted this step (after the births)."""
        return self.model.steps == self.model.p.probe_idea_step

    @property
    def probe_rng(self):
        """The tracer's own stream ("probe")."""
        return self.model.streams["probe"]

    def plant_probe(self) -> None:
        """The tracer, after this step's births: :func:`plant_tracer` (one compiled call)."""
        m = self.model
        m.ideas.reserve(1)  # (once a run: its arrays typed by numba, no bundle made)
        plant_tracer(self.probe_rng, self.kernel_arrays(), m.ideas.n, m.steps, m.p.idea_scope,
                     self._forum_until())
        self.born_this_step += 1
        m.ideas.n += 1

    def step(self) -> None:
        self.generate()
        if self.probe_due():
            self.plant_probe()
