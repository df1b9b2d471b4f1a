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

import ctypes
from typing import TYPE_CHECKING

import numpy as np
from llvmlite import ir
from numba import carray, njit, objmode, prange
from numba.core import cgutils
from numba.core import types as nbtypes
from numba.core.extending import intrinsic
from numba.np.random._constants import fi_double as _FI
from numba.np.random._constants import ki_double as _KI
from numba.np.random._constants import wi_double as _WI
from numba.np.random._constants import ziggurat_nor_inv_r as _NOR_INV_R
from numba.np.random._constants import ziggurat_nor_r as _NOR_R

from model.beliefs import adopt_all
from model.bundle import BundleCache, Entry
from model.ideas import NEVER
from model.parallel import PARALLEL_MIN, serial_twin
from model.processes.base import Process
from model.rng import SIGNS

if TYPE_CHECKING:
    from model.organization import OrganizationModel


# --- PCG64 draws taken inline --------------------------------------------------------------
# A Stream's draws through numpy's bit generator cost a call through a function pointer
# each (~4-6 ns, longer inside branchy loops); these take the very same draws from the
# PCG64 state itself (numpy's ``next_double``: the 128-bit LCG step, XSL-RR output, its top
# 53 bits), and can jump ahead, so a bulk draw fills blocks in parallel. They belong with
# model/rng.py's Stream; here until then.

PCG_MULTIPLIER = (0x2360ED051FC65DA4, 0x4385DF649FCCF645)  # numpy's PCG64 (high, low)


def _pcg_layout() -> tuple[int, int, int, int]:
    """Where numpy's PCG64 keeps the state's high and low 64 bits and the increment's (word
    indices): native 128-bit integers (low first on little-endian machines) or numpy's
    emulated (high, low) pairs, as read here from a known state."""
    bit_generator = np.random.PCG64(20_240_917)
    state = bit_generator.state["state"]
    words = ctypes.cast(ctypes.cast(bit_generator.ctypes.state_address,
                                    ctypes.POINTER(ctypes.c_void_p))[0],
                        ctypes.POINTER(ctypes.c_uint64))
    found = [words[k] for k in range(4)]
    mask = 2**64 - 1
    wanted = (state["state"] >> 64, state["state"] & mask, state["inc"] >> 64,
              state["inc"] & mask)
    if sorted(found) != sorted(wanted) or len(set(wanted)) < 4:
        raise RuntimeError("numpy's PCG64 state is laid out in an unknown way")
    return tuple(found.index(w) for w in wanted)


PCG_WORDS = _pcg_layout()  # word indices of state high, state low, increment high, low


@intrinsic
def _pcg_words(typingctx, generator):
    """The PCG64 state of a numpy Generator (a Stream) as 4 uint64 words, in place."""
    if not isinstance(generator, nbtypes.NumPyRandomGeneratorType):
        return None

    def codegen(context, builder, signature, args):
        bit_generator = cgutils.create_struct_proxy(signature.args[0])(
            context, builder, value=args[0]).bit_generator
        state = cgutils.create_struct_proxy(nbtypes.NumPyRandomBitGeneratorType(
            "bit_generator"))(context, builder, value=bit_generator).state
        words = ir.IntType(64).as_pointer()
        return builder.load(builder.inttoptr(state, words.as_pointer()))  # pcg_state field

    return nbtypes.CPointer(nbtypes.uint64)(generator), codegen


@intrinsic
def _mul_add(typingctx, a_high, a_low, b_high, b_low, c_high, c_low):
    """(a * b + c) mod 2**128 of (high, low) uint64 pairs."""
    pair = nbtypes.UniTuple(nbtypes.uint64, 2)

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)

        def join(high, low):
            return builder.or_(builder.shl(builder.zext(high, wide), ir.Constant(wide, 64)),
                               builder.zext(low, wide))

        result = builder.add(builder.mul(join(args[0], args[1]), join(args[2], args[3])),
                             join(args[4], args[5]))
        high = builder.trunc(builder.lshr(result, ir.Constant(wide, 64)), ir.IntType(64))
        return context.make_tuple(builder, pair, (high, builder.trunc(result, ir.IntType(64))))

    return pair(*([nbtypes.uint64] * 6)), codegen


@njit(cache=True, inline="always")
def pcg_output(high, low):
    """The 64 bits numpy's PCG64 draws from state (high, low) (XSL-RR)."""
    x = high ^ low
    rotation = high >> np.uint64(58)
    return (x >> rotation) | (x << ((np.uint64(64) - rotation) & np.uint64(63)))


@njit(cache=True, inline="always")
def pcg_double(high, low):
    """The double numpy's PCG64 draws from state (high, low) (its state after the step)."""
    return np.float64(pcg_output(high, low) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def pcg_step(high, low, inc_high, inc_low):
    """The next PCG64 state."""
    return _mul_add(high, low, np.uint64(PCG_MULTIPLIER[0]), np.uint64(PCG_MULTIPLIER[1]),
                    inc_high, inc_low)


@njit(cache=True)
def pcg_jump(high, low, inc_high, inc_low, steps):
    """The PCG64 state ``steps`` steps on (the LCG's jump ahead, by squaring)."""
    mult_high, mult_low = np.uint64(PCG_MULTIPLIER[0]), np.uint64(PCG_MULTIPLIER[1])
    plus_high, plus_low = inc_high, inc_low
    acc_mult_high, acc_mult_low = np.uint64(0), np.uint64(1)
    acc_plus_high, acc_plus_low = np.uint64(0), np.uint64(0)
    zero = np.uint64(0)
    while steps > 0:
        if steps & 1:
            acc_mult_high, acc_mult_low = _mul_add(acc_mult_high, acc_mult_low, mult_high,
                                                   mult_low, zero, zero)
            acc_plus_high, acc_plus_low = _mul_add(acc_plus_high, acc_plus_low, mult_high,
                                                   mult_low, plus_high, plus_low)
        carry = np.uint64(mult_low == np.uint64(0xFFFFFFFFFFFFFFFF))  # of mult + 1
        plus_high, plus_low = _mul_add(mult_high + carry, mult_low + np.uint64(1), plus_high,
                                       plus_low, zero, zero)
        mult_high, mult_low = _mul_add(mult_high, mult_low, mult_high, mult_low, zero, zero)
        steps >>= 1
    return _mul_add(acc_mult_high, acc_mult_low, high, low, acc_plus_high, acc_plus_low)


@njit(cache=True, inline="always")
def pcg_state(rng):
    """(words, state high, low, increment high, low) of a Stream's PCG64 (``words``: the
    state in place; write the state back with :func:`pcg_store` before other draws)."""
    words = carray(_pcg_words(rng), 4)
    return (words, words[PCG_WORDS[0]], words[PCG_WORDS[1]], words[PCG_WORDS[2]],
            words[PCG_WORDS[3]])


@njit(cache=True, inline="always")
def pcg_store(words, high, low):
    words[PCG_WORDS[0]] = high
    words[PCG_WORDS[1]] = low


DRAW_BLOCK = 1 << 15  # draws per block of a parallel bulk draw (fixed, not per thread)


@njit(cache=True, parallel=True)
def _draw_blocks(out, high, low, inc_high, inc_low, doubles):
    """Block b of ``out``: the draws (doubles, else 64 bits) from the state jumped
    b * DRAW_BLOCK draws on, in parallel."""
    for b in prange((len(out) + DRAW_BLOCK - 1) // DRAW_BLOCK):
        h, lo = pcg_jump(high, low, inc_high, inc_low, b * DRAW_BLOCK)
        for x in range(b * DRAW_BLOCK, min(len(out), (b + 1) * DRAW_BLOCK)):
            h, lo = pcg_step(h, lo, inc_high, inc_low)
            if doubles:
                out[x] = pcg_double(h, lo)
            else:
                out[x] = pcg_output(h, lo)


_draw_blocks_serial = serial_twin(_draw_blocks)


@njit(cache=True)
def uniforms(rng, count):
    """``rng.random(count)``'s draws, the stream left as far on (a Stream: PCG64), taken
    inline, in fixed blocks in parallel from PARALLEL_MIN draws on."""
    out = np.empty(count)
    words, high, low, inc_high, inc_low = pcg_state(rng)
    if count >= PARALLEL_MIN:
        _draw_blocks(out, high, low, inc_high, inc_low, True)
    else:
        _draw_blocks_serial(out, high, low, inc_high, inc_low, True)
    high, low = pcg_jump(high, low, inc_high, inc_low, count)
    pcg_store(words, high, low)
    return out


@njit(cache=True)
def _ziggurat(bits, out):
    """numpy's ziggurat normals (as numba runs them) into ``out`` from the 64-bit draws
    ``bits`` in order; how many draws they took (-1: ``bits`` ran out first)."""
    at, last = 0, len(bits)
    scale = 1.0 / 9007199254740992.0
    for i in range(len(out)):
        while True:
            if at + 3 > last:  # room for a draw and a tail's two
                return -1
            r = bits[at]
            at += 1
            idx = r & np.uint64(0xFF)
            r >>= np.uint64(8)
            rabs = (r >> np.uint64(1)) & np.uint64(0x000FFFFFFFFFFFFF)
            x = rabs * _WI[idx]
            if r & np.uint64(1):
                x = -x
            if rabs < _KI[idx]:
                out[i] = x
                break
            if idx == 0:  # the tail
                while True:
                    if at + 2 > last:
                        return -1
                    xx = -_NOR_INV_R * np.log1p(-np.float64(bits[at] >> np.uint64(11)) * scale)
                    yy = -np.log1p(-np.float64(bits[at + 1] >> np.uint64(11)) * scale)
                    at += 2
                    if yy + yy > xx * xx:
                        break
                out[i] = -(_NOR_R + xx) if (rabs >> np.uint64(8)) & np.uint64(1) else _NOR_R + xx
                break
            u = np.float64(bits[at] >> np.uint64(11)) * scale
            at += 1
            if (_FI[idx - 1] - _FI[idx]) * u + _FI[idx] < np.exp(-0.5 * x * x):
                out[i] = x
                break
    return at


@njit(cache=True)
def standard_normals(rng, out):
    """``rng.standard_normal()`` drawn ``len(out)`` times into ``out``: numpy's ziggurat
    on the stream's 64-bit draws, taken ahead (in parallel blocks from PARALLEL_MIN on; a
    few more than the normals need, again with more if they run short: the stream moves
    on by those used only)."""
    words, high, low, inc_high, inc_low = pcg_state(rng)
    size = len(out) + len(out) // 16 + 64
    while True:
        bits = np.empty(size, np.uint64)
        if size >= PARALLEL_MIN:
            _draw_blocks(bits, high, low, inc_high, inc_low, False)
        else:
            _draw_blocks_serial(bits, high, low, inc_high, inc_low, False)
        used = _ziggurat(bits, out)
        if used >= 0:
            break
        size *= 2
    high, low = pcg_jump(high, low, inc_high, inc_low, used)
    pcg_store(words, high, low)


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


@njit(cache=True)
def random_dims(rng, k, m, scope):
    """``scope`` distinct random dimensions for each of k ideas: the first ``scope`` of
    ``np.argsort(rng.random((k, m)), axis=1)`` (the same draws, the same result)."""
    draws = uniforms(rng, k * m).reshape(k, m)
    dims = np.empty((k, scope), np.int64)
    if not smallest_dims(draws, scope, dims):  # a tie: numpy's own order
        with objmode(chosen="int64[:, :]"):
            chosen = np.ascontiguousarray(np.argsort(draws, axis=1)[:, :scope])
        dims[:] = chosen
    return dims


@njit(cache=True)
def register_ideas(bundle, n_ideas, step, originators, dims, values, forum_until, probe):
    """New ideas in slots ``n_ideas``.. (room reserved): registered, taken up by their
    originators (not counted as adoptions); see :meth:`IdeaRegistry.add`. ``bundle``: the
    arrays of :meth:`IdeaGeneration.kernel_arrays`."""
    people, state, registry = bundle.arrays
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
    adopt_all(state, reg_dims, reg_values, adopters, originators, ids)
    for x in range(k):
        idea, who = ids[x], originators[x]
        latest_idea[who] = idea
        adopted_value_sum[idea] += value_at_birth[idea]
        adopted_value_sum[idea] -= value_at_birth[idea]  # the originator's use is no adoption
        last_idea_step[who] = step


@njit(cache=True)
def conceive_ideas(rng, bundle, creators, n_ideas, step, scope, forum_until):
    """The new ideas of ``creators`` (room reserved): their dimensions, right readings and
    coin flips, in that order of draws; then registered."""
    people, state, registry = bundle.arrays
    insight, need = people[2], state[4]
    k = len(creators)
    dims = random_dims(rng, k, len(need), scope)
    right = np.empty((k, scope), np.bool_)
    draws = uniforms(rng, k * scope)
    for x in range(k):
        for j in range(scope):
            right[x, j] = draws[x * scope + j] < insight[creators[x]]
    values = np.empty((k, scope), np.int8)
    for x in range(k):
        for j in range(scope):
            coin = SIGNS[rng.integers(0, 2)]
            values[x, j] = need[dims[x, j]] if right[x, j] else coin
    register_ideas(bundle, n_ideas, step, creators, dims, values, forum_until, False)


@njit(cache=True)
def generate_ideas(rng, bundle, n_ideas, capacity, step, scope, forum_until):
    """Each step's births of ideas (module docstring), in the draws' fixed order: meetings
    of customer problems, ideas, then :func:`conceive_ideas`. Returns how many were born
    and, if the registry lacks room for them, their creators (not conceived yet: the
    caller grows the registry and conceives them)."""
    facing, problem_rate, insight, resourcefulness, commitment = bundle.arrays[0][:5]
    draws = uniforms(rng, len(facing))  # then selected without a branch
    meets = np.empty(len(facing), np.int64)
    met = 0
    for x in range(len(facing)):
        meets[met] = facing[x]
        met += draws[x] < problem_rate[facing[x]]
    draws = uniforms(rng, met)
    creators = np.empty(met, np.int64)
    k = 0
    for x in range(met):
        creators[k] = meets[x]
        k += draws[x] < resourcefulness[meets[x]] * commitment[meets[x]]
    creators = creators[:k]
    if k == 0 or n_ideas + k > capacity:
        return k, creators
    conceive_ideas(rng, bundle, creators, n_ideas, step, scope, forum_until)
    return k, creators[:0]


class IdeaGeneration(Process):
    """Births of ideas (and of the tracer idea)."""

    name = "ideas"

    def __init__(self, model: OrganizationModel):
        super().__init__(model)
        self.probe_rng = model.streams["probe"]
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

    def _arrays_now(self, births: int):
        """The kernels' arrays, with room for ``births`` more ideas."""
        m = self.model
        m.ideas.reserve(births)
        return self._arrays.get((m.p, m.local.version, m.roles_version, m.ideas.version))

    def _forum_until(self) -> int:
        m = self.model
        return m.steps + m.p.forum_memory if m.highest("idea_forum_reach") > 0 else NEVER

    def generate(self) -> None:
        m, reg = self.model, self.model.ideas
        scope, forum_until = m.p.idea_scope, self._forum_until()
        bundle = self._arrays_now(0)
        born, waiting = self._generate(bundle, self.rng, bundle, reg.n, reg.capacity, m.steps,
                                       scope, forum_until)
        if len(waiting):  # the registry grows first
            conceive_ideas(self.rng, self._arrays_now(born), waiting, reg.n, m.steps, scope,
                           forum_until)
        reg.n += born
        self.born_this_step = born

    def plant_probe(self) -> None:
        m = self.model
        facing = m.customer_facing_employees()
        pool = facing if len(facing) else np.arange(m.people.n)
        originator = self.probe_rng.choice(pool, size=1)
        m_dims, scope = m.beliefs.m, m.p.idea_scope
        dims = np.argsort(self.probe_rng.random((1, m_dims)), axis=1)[:, :scope]
        m.beliefs.drift(dims[0])  # a new customer need, and the right response to it
        self.born_this_step += 1
        arrays = self._arrays_now(1)
        register_ideas(arrays, m.ideas.n, m.steps, originator.astype(np.int64),
                       np.ascontiguousarray(dims, np.int64),
                       m.beliefs.need[dims].astype(np.int8), self._forum_until(), True)
        m.ideas.n += 1

    def step(self) -> None:
        self.generate()
        if self.model.steps == self.model.p.probe_idea_step:
            self.plant_probe()
