"""One seed path: a root seed and one independent random stream per mechanism.

Each mechanism draws from its own stream, derived from the root seed and the
mechanism's name, so that two settings run with the same seed differ only through
their mechanisms (common random numbers), never through a shared draw order.

A stream is a :class:`Stream`, a numpy Generator that compiled kernels take as cheaply as
an array: numba unboxes a plain Generator through its ctypes interface on every call
(about 10-30 us, several times a step); a Stream hands numba the same pointers, read once.
The draws are the very same: numba's Generator methods run on the same bit generator.
"""

from __future__ import annotations

import ctypes
import functools
import zlib

import numpy as np
from llvmlite import ir
from numba import njit, prange
from numba.core import cgutils, types
from numba.core.extending import box, intrinsic, register_model, typeof_impl, unbox
from numba.core.imputils import lower_cast
from numba.core.pythonapi import NativeValue
from numba.np.random._constants import (
    fi_double,
    ki_double,
    wi_double,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)
from numba.np.random.generator_core import NumPyRandomGeneratorTypeModel
from numpy.random.bit_generator import ISeedSequence

from model.parallel import PARALLEL_MIN, serial_twin


class Stream(np.random.Generator):
    """A numpy Generator whose bit generator's pointers are read once, for numba."""

    def __reduce__(self):
        """A copy is a Stream over a copy of the bit generator (its own pointers)."""
        return (Stream, (self.bit_generator,))

    @functools.cached_property
    def _pointers(self) -> tuple[int, ...]:
        """State and next_double, next_uint64, next_uint32 addresses (read on first use,
        then found in the instance's dict: numba reads them on every compiled call), what
        the bit generator's ``ctypes`` interface holds, read from the ``bitgen_t`` its
        ``capsule`` points to (numpy's C API): ~2 us instead of ~40 us a stream."""
        if type(self.bit_generator) is not np.random.PCG64:  # compiled draws step PCG64
            raise TypeError(f"a Stream needs a PCG64 bit generator, not "
                            f"{type(self.bit_generator).__name__}")
        bitgen = _BitGen.from_address(_capsule_pointer(self.bit_generator.capsule,
                                                       b"BitGenerator"))
        return (bitgen.state, bitgen.state, bitgen.next_double, bitgen.next_uint64,
                bitgen.next_uint32)


class _BitGen(ctypes.Structure):
    """numpy's ``bitgen_t`` (numpy/random/bitgen.h): the state and its draw functions."""

    _fields_ = [("state", ctypes.c_void_p), ("next_uint64", ctypes.c_void_p),
                ("next_uint32", ctypes.c_void_p), ("next_double", ctypes.c_void_p),
                ("next_raw", ctypes.c_void_p)]


_capsule_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi))


class StreamType(types.NumPyRandomGeneratorType):
    """numba's type of a :class:`Stream`: a Generator (same methods, same data model)."""

    def __init__(self):
        super().__init__("Stream")
        self.name = "Stream"


STREAM_TYPE = StreamType()
register_model(StreamType)(NumPyRandomGeneratorTypeModel)
# numba's dispatcher reads ``_numba_type_`` in C: ~1.7 us per call instead of ~4 us
# through Python's typeof (measured), several times a step
Stream._numba_type_ = STREAM_TYPE


@typeof_impl.register(Stream)
def _typeof_stream(value, context):
    return STREAM_TYPE


@unbox(StreamType)
def _unbox_stream(typ, obj, c):
    """The Generator struct numba builds, from the pointers the Stream holds."""
    generator = cgutils.create_struct_proxy(typ)(c.context, c.builder)
    bit_generator = cgutils.create_struct_proxy(types.NumPyRandomBitGeneratorType(
        "bit_generator"))(c.context, c.builder)
    pointers = c.pyapi.object_getattr_string(obj, "_pointers")
    fields = ("state_address", "state", "fnptr_next_double", "fnptr_next_uint64",
              "fnptr_next_uint32")
    for k, field in enumerate(fields):
        item = c.pyapi.tuple_getitem(pointers, k)  # borrowed reference
        setattr(bit_generator, field, c.unbox(types.uintp, item).value)
    c.pyapi.decref(pointers)
    bit_generator.parent = obj
    generator.bit_generator = bit_generator._getvalue()
    generator.parent = obj
    generator.meminfo = c.pyapi.nrt_meminfo_new_from_pyobject(cgutils.voidptr_t(None), obj)
    return NativeValue(generator._getvalue())


@box(StreamType)
def _box_stream(typ, val, c):
    generator = cgutils.create_struct_proxy(typ)(c.context, c.builder, value=val)
    obj = generator.parent
    c.pyapi.incref(obj)
    c.context.nrt.decref(c.builder, typ, val)
    return obj


@lower_cast(StreamType, types.NumPyRandomGeneratorType)
def _stream_as_generator(context, builder, fromty, toty, val):
    return val


def normalize_seed(seed: int | np.random.Generator | None) -> int:
    """Turn an int, a Generator or None into a non-negative integer root seed."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise ValueError(f"seed = {seed!r}: must be a non-negative integer or a numpy Generator")


SIGNS = np.array([-1, 1], dtype=np.int8)


def coin_signs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """-1 or +1 with equal chance (int8): the draws of ``rng.choice(SIGNS, size=shape)``
    without its overhead (choice draws these very integers)."""
    return SIGNS[rng.integers(0, 2, size=shape)]


_MASK32 = 0xFFFFFFFF


@njit(cache=True)
def _hashmix(value, hash_const):
    """numpy SeedSequence's hashmix on 32-bit words: (mixed value, next hash constant)."""
    value = (value ^ hash_const) & _MASK32
    hash_const = (hash_const * 0x931E8875) & _MASK32
    value = (value * hash_const) & _MASK32
    return value ^ (value >> 16), hash_const


@njit(cache=True)
def _mix(x, y):
    result = (0xCA01F9DD * x - 0x4973F715 * y) & _MASK32
    return result ^ (result >> 16)


@njit(cache=True)
def seed_sequence_state(words):
    """``SeedSequence(entropy, spawn_key=key).generate_state(4, np.uint64)`` from the
    assembled entropy ``words`` (uint32 words of the entropy, zero-padded to 4, then of
    the spawn key): numpy's algorithm (pool of 4 words), without its ~25 us of set-up."""
    pool = np.zeros(4, np.int64)
    hash_const = 0x43B0D7E5
    for i in range(4):
        pool[i], hash_const = _hashmix(words[i] if i < len(words) else 0, hash_const)
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                mixed, hash_const = _hashmix(pool[i_src], hash_const)
                pool[i_dst] = _mix(pool[i_dst], mixed)
    for i_src in range(4, len(words)):
        for i_dst in range(4):
            mixed, hash_const = _hashmix(words[i_src], hash_const)
            pool[i_dst] = _mix(pool[i_dst], mixed)
    state = np.empty(4, np.uint64)
    hash_const = 0x8B51F9DD
    for k in range(8):  # 8 words of 32 bits, little-endian pairs
        value = (pool[k % 4] ^ hash_const) & _MASK32
        hash_const = (hash_const * 0x58F38DED) & _MASK32
        value = (value * hash_const) & _MASK32
        value ^= value >> 16
        if k % 2 == 0:
            state[k // 2] = np.uint64(value)
        else:
            state[k // 2] |= np.uint64(value) << np.uint64(32)
    return state


@njit(cache=True)
def seed_sequence_states(entropy, keys):
    """:func:`seed_sequence_state` of ``entropy`` (the assembled words before the spawn
    key) with each of ``keys`` as spawn key: one row of 4 uint64 words each, in one call."""
    states = np.empty((len(keys), 4), np.uint64)
    words = np.empty(len(entropy) + 1, np.int64)
    words[:-1] = entropy
    for k in range(len(keys)):
        words[-1] = keys[k]
        states[k] = seed_sequence_state(words)
    return states


def _uint32_words(value: int) -> list[int]:
    """A non-negative integer as little-endian 32-bit words (0: one word), as numpy's
    SeedSequence reads its entropy."""
    words = []
    while True:
        words.append(value & _MASK32)
        value >>= 32
        if not value:
            return words


class _SeedState(ISeedSequence):
    """A seed sequence whose state is already worked out (see seed_sequence_state)."""

    def __init__(self, state: np.ndarray):
        self.state = state

    def generate_state(self, n_words, dtype=np.uint32):
        if n_words != 4 or np.dtype(dtype) != np.uint64:
            raise ValueError("only a PCG64's seed (4 uint64 words) is worked out")
        return self.state


#: The built-in mechanisms' streams (docs/ODD.md), seeded together when the first is made.
ENGINE_STREAMS = ("population", "positions", "beliefs", "network", "learners", "environment",
                  "turnover", "ideas", "probe", "conversations", "approval", "forum",
                  "playbook", "effort", "monitoring", "leadership")


class RandomStreams:
    """Named, independent random streams (numpy Generators) under one root seed: the
    stream of ``name`` is seeded by ``SeedSequence(seed, spawn_key=(crc32(name),))``. The
    seeds of :data:`ENGINE_STREAMS` are worked out in one call (when the first is made)."""

    def __init__(self, seed: int):
        self.seed = seed
        self._streams: dict[str, np.random.Generator] = {}
        words = _uint32_words(seed)
        self._entropy = words + [0] * (4 - len(words))  # zero-padded: a spawn key follows
        self._engine_states: np.ndarray | None = None  # seeds of ENGINE_STREAMS, by row

    def __getitem__(self, name: str) -> Stream:
        stream = self._streams.get(name)
        if stream is None:
            row = _ENGINE_ROWS.get(name)
            if row is None:
                state = seed_sequence_state(np.array([*self._entropy, _name_key(name)],
                                                     np.int64))
            else:
                if self._engine_states is None:
                    self._engine_states = seed_sequence_states(
                        np.array(self._entropy, np.int64), _ENGINE_KEYS)
                state = self._engine_states[row]
            stream = self._streams[name] = Stream(np.random.PCG64(_SeedState(state)))
        return stream


@functools.cache
def _name_key(name: str) -> int:
    """The spawn key of a stream's name (its CRC-32)."""
    return zlib.crc32(name.encode())


_ENGINE_ROWS = {name: row for row, name in enumerate(ENGINE_STREAMS)}
_ENGINE_KEYS = np.array([_name_key(name) for name in ENGINE_STREAMS], np.int64)


# --- PCG64 draws inside compiled kernels -------------------------------------------------
# numba's Generator methods reach numpy's bit generator through a function pointer (~6.5 ns a
# draw, and a call the optimizer cannot see through). The functions below step numpy's PCG64
# (XSL-RR 128/64, the only bit generator of the engine's streams) in registers: the very same
# numbers, in the same order, from and back into the same state. A kernel loads the state
# (pcg_load), draws with pcg_uniform / pcg_next64 / pcg_normal / pcg_below, and stores it back
# (pcg_store) before anything else draws from the stream. pcg_advance jumps ahead, so a
# parallel loop can take the draws of consecutive blocks at once (uniforms_into).

_I64 = ir.IntType(64)
_I128 = ir.IntType(128)
_PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341
_BIT_GENERATOR = types.NumPyRandomBitGeneratorType("bit_generator")
_U64 = types.uint64
_STATE = types.UniTuple(_U64, 2)


def _join(builder, hi, lo):
    """The 128-bit integer hi:lo."""
    return builder.or_(builder.shl(builder.zext(hi, _I128), ir.Constant(_I128, 64)),
                       builder.zext(lo, _I128))


def _split(builder, value):
    """(hi, lo) of a 128-bit integer."""
    return (builder.trunc(builder.lshr(value, ir.Constant(_I128, 64)), _I64),
            builder.trunc(value, _I64))


def _state_words(builder, address):
    """Pointer to the four 64-bit words (state lo, hi, increment lo, hi) of numpy's
    pcg64_state at ``address`` (its first member points to the 128-bit state and increment)."""
    outer = builder.inttoptr(address, _I64.as_pointer().as_pointer())
    return builder.load(outer)


@intrinsic
def pcg_address(typingctx, generator):
    """Address of the PCG64 state (numpy's pcg64_state) behind a Generator (or Stream)."""
    if not isinstance(generator, types.NumPyRandomGeneratorType):
        return None

    def codegen(context, builder, sig, args):
        gen = cgutils.create_struct_proxy(sig.args[0])(context, builder, value=args[0])
        bit_generator = cgutils.create_struct_proxy(_BIT_GENERATOR)(
            context, builder, value=gen.bit_generator)
        return bit_generator.state_address

    return types.uintp(generator), codegen


@intrinsic
def pcg_load(typingctx, address):
    """((state hi, lo), (increment hi, lo)) of the PCG64 state at ``address``."""
    sig = types.Tuple((_STATE, _STATE))(types.uintp)

    def codegen(context, builder, sig, args):
        words = _state_words(builder, args[0])
        lo, hi, inc_lo, inc_hi = (builder.load(builder.gep(words, [ir.Constant(_I64, k)]))
                                  for k in range(4))
        return context.make_tuple(builder, sig.return_type, [
            context.make_tuple(builder, _STATE, [hi, lo]),
            context.make_tuple(builder, _STATE, [inc_hi, inc_lo])])

    return sig, codegen


@intrinsic
def pcg_store(typingctx, address, state):
    """Write the 128-bit ``state`` (hi, lo) back to the PCG64 state at ``address``."""
    sig = types.void(types.uintp, _STATE)

    def codegen(context, builder, sig, args):
        words = _state_words(builder, args[0])
        hi, lo = (builder.extract_value(args[1], k) for k in range(2))
        builder.store(lo, builder.gep(words, [ir.Constant(_I64, 0)]))
        builder.store(hi, builder.gep(words, [ir.Constant(_I64, 1)]))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def pcg_half(typingctx, address):
    """(has_uint32, uinteger): the buffered upper half numpy's next_uint32 keeps."""
    sig = types.UniTuple(types.uint32, 2)(types.uintp)

    def codegen(context, builder, sig, args):
        base = builder.inttoptr(args[0], ir.IntType(32).as_pointer())
        has, value = (builder.load(builder.gep(base, [ir.Constant(_I64, k)])) for k in (2, 3))
        return context.make_tuple(builder, sig.return_type, [has, value])

    return sig, codegen


@intrinsic
def pcg_store_half(typingctx, address, has, value):
    """Write back the buffered half (see :func:`pcg_half`)."""
    sig = types.void(types.uintp, types.uint32, types.uint32)

    def codegen(context, builder, sig, args):
        base = builder.inttoptr(args[0], ir.IntType(32).as_pointer())
        builder.store(args[1], builder.gep(base, [ir.Constant(_I64, 2)]))
        builder.store(args[2], builder.gep(base, [ir.Constant(_I64, 3)]))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _mul_add128(typingctx, a, b, c):
    """a * b + c modulo 2**128, each (hi, lo)."""
    sig = _STATE(_STATE, _STATE, _STATE)

    def codegen(context, builder, sig, args):
        a, b, c = (_join(builder, *(builder.extract_value(x, k) for k in range(2)))
                   for x in args)
        return context.make_tuple(builder, _STATE,
                                  list(_split(builder, builder.add(builder.mul(a, b), c))))

    return sig, codegen


@intrinsic
def pcg_next64(typingctx, state, inc):
    """(next state, 64-bit output): numpy's pcg64_next64 (step, then XSL-RR output)."""
    sig = types.Tuple((_STATE, _U64))(_STATE, _STATE)

    def codegen(context, builder, sig, args):
        s, inc = (_join(builder, *(builder.extract_value(x, k) for k in range(2)))
                  for x in args)
        s = builder.add(builder.mul(s, ir.Constant(_I128, _PCG_MULT)), inc)
        hi, lo = _split(builder, s)
        x = builder.xor(hi, lo)
        rot = builder.lshr(hi, ir.Constant(_I64, 58))
        back = builder.and_(builder.sub(ir.Constant(_I64, 0), rot), ir.Constant(_I64, 63))
        out = builder.or_(builder.lshr(x, rot), builder.shl(x, back))
        return context.make_tuple(builder, sig.return_type, [
            context.make_tuple(builder, _STATE, [hi, lo]), out])

    return sig, codegen


@intrinsic
def _as_uniform(typingctx, bits):
    """numpy's next_double of a 64-bit output: (bits >> 11) * 2**-53."""
    sig = types.float64(_U64)

    def codegen(context, builder, sig, args):
        top = builder.uitofp(builder.lshr(args[0], ir.Constant(_I64, 11)), ir.DoubleType())
        return builder.fmul(top, ir.Constant(ir.DoubleType(), 1.0 / 9007199254740992.0))

    return sig, codegen


@njit(cache=True, inline="always")
def pcg_uniform(state, inc):
    """(next state, uniform in [0, 1)): ``rng.random()``."""
    state, bits = pcg_next64(state, inc)
    return state, _as_uniform(bits)


_ONE = (np.uint64(0), np.uint64(1))
_ZERO = (np.uint64(0), np.uint64(0))
_MULT = (np.uint64(_PCG_MULT >> 64), np.uint64(_PCG_MULT & (2**64 - 1)))


@njit(cache=True)
def pcg_advance(state, inc, delta):
    """The state ``delta`` (>= 0) draws of 64 bits on (numpy's pcg64_advance)."""
    acc_mult, acc_plus = _ONE, _ZERO
    cur_mult, cur_plus = _MULT, inc
    while delta > 0:
        if delta & 1:
            acc_mult = _mul_add128(acc_mult, cur_mult, _ZERO)
            acc_plus = _mul_add128(acc_plus, cur_mult, cur_plus)
        cur_plus = _mul_add128(_mul_add128(cur_mult, _ONE, _ONE), cur_plus, _ZERO)
        cur_mult = _mul_add128(cur_mult, cur_mult, _ZERO)
        delta >>= 1
    return _mul_add128(acc_mult, state, acc_plus)


@njit(cache=True, inline="always")
def pcg_normal(state, inc):
    """(next state, standard normal): ``rng.standard_normal()`` (numpy's ziggurat, as numba
    writes it, on the same 64-bit outputs)."""
    while True:
        state, r = pcg_next64(state, inc)
        idx = np.int64(r & np.uint64(0xff))
        r >>= np.uint64(8)
        sign = r & np.uint64(1)
        rabs = (r >> np.uint64(1)) & np.uint64(0x000fffffffffffff)
        x = rabs * wi_double[idx]
        if sign & np.uint64(1):
            x = -x
        if rabs < ki_double[idx]:
            return state, x
        if idx == 0:
            while True:
                state, u = pcg_uniform(state, inc)
                xx = -ziggurat_nor_inv_r * np.log1p(-u)
                state, u = pcg_uniform(state, inc)
                yy = -np.log1p(-u)
                if yy + yy > xx * xx:
                    if (rabs >> np.uint64(8)) & np.uint64(1):
                        return state, -(ziggurat_nor_r + xx)
                    return state, ziggurat_nor_r + xx
        else:
            state, u = pcg_uniform(state, inc)
            if (fi_double[idx - 1] - fi_double[idx]) * u + fi_double[idx] < np.exp(-0.5 * x * x):
                return state, x


@njit(cache=True, inline="always")
def _mask(bound):
    """The smallest all-ones mask covering ``bound`` (numba's gen_mask)."""
    mask = np.uint64(bound)
    for shift in (1, 2, 4, 8, 16, 32):
        mask |= mask >> np.uint64(shift)
    return mask


@njit(cache=True, inline="always")
def pcg_below(state, inc, half, has_half, bound):
    """(state, buffered half, whether one is buffered, value in [0, bound]):
    numba's ``random_interval(bit_generator, bound)`` for 0 <= bound < 2**32, on numpy's
    next_uint32 (which hands out the upper half of a 64-bit output on the next call)."""
    if bound == 0:
        return state, half, has_half, np.uint64(0)
    mask = _mask(bound)
    while True:
        if has_half:
            value, has_half = np.uint64(half), False
        else:
            state, bits = pcg_next64(state, inc)
            value, has_half = bits & np.uint64(0xffffffff), True
            half = np.uint32(bits >> np.uint64(32))
        value &= mask
        if value <= np.uint64(bound):
            return state, half, has_half, value


# numba's parallel passes trip over the tuples of an inlined draw: a call (LLVM inlines it)
pcg_uniform_call = njit(cache=True)(pcg_uniform.py_func)
pcg_normal_call = njit(cache=True)(pcg_normal.py_func)
pcg_below_call = njit(cache=True)(pcg_below.py_func)

# --- Draws keyed by blocks of employees ---------------------------------------------------
# A pass whose draws decide later draws (a speaker seen once, an adoption) cannot take them
# in parallel from one stream. Such passes key their draws by fixed blocks of DRAW_BLOCK
# employees instead: block b draws, in its own order, from the stream jumped b * BLOCK_STRIDE
# draws on (far more than any block uses), and the stream then goes on where the last block
# ended. The blocks depend on the organization's size only, so any number of threads gives
# the same draws; an organization of one block draws exactly as one pass in order.

DRAW_SHIFT = 12
DRAW_BLOCK = 1 << DRAW_SHIFT  # employees per block: 4,096 (fixed, not per thread)
BLOCK_STRIDE = 1 << 40  # draws reserved for each block


@njit(cache=True)
def draw_blocks_of(n):
    """How many blocks of DRAW_BLOCK employees cover ``n`` employees (at least one)."""
    return max(1, (n + DRAW_BLOCK - 1) // DRAW_BLOCK)


@njit(cache=True)
def jumped_states(state, inc, blocks):
    """(blocks, 2) uint64 array: row b is ``state`` (hi, lo) jumped b * BLOCK_STRIDE draws
    on, where block b starts drawing."""
    out = np.empty((blocks, 2), np.uint64)
    s = state
    for b in range(blocks):
        if b:
            s = pcg_advance(s, inc, BLOCK_STRIDE)
        out[b, 0], out[b, 1] = s[0], s[1]
    return out
UNIFORM_BLOCK = 1 << 16  # draws per block of a parallel draw (fixed, not per thread)


@njit(cache=True)
def _next64_call(state, inc):
    return pcg_next64(state, inc)


@njit(cache=True, parallel=True)
def draw_blocks(state, inc, out, doubles):
    """``out`` filled with the draws from ``state`` on: doubles (``rng.random()``'s), else
    64-bit outputs, in fixed blocks in parallel (block b from the state jumped
    b * UNIFORM_BLOCK draws on): the same numbers on any number of threads. The caller
    moves the stream on by the draws it uses."""
    for b in prange((len(out) + UNIFORM_BLOCK - 1) // UNIFORM_BLOCK):
        s = pcg_advance(state, inc, b * UNIFORM_BLOCK)
        for x in range(b * UNIFORM_BLOCK, min(len(out), (b + 1) * UNIFORM_BLOCK)):
            if doubles:
                s, out[x] = pcg_uniform_call(s, inc)
            else:
                s, out[x] = _next64_call(s, inc)


draw_blocks_serial = serial_twin(draw_blocks)


@njit(cache=True)
def uniforms_into(rng, out):
    """Fill ``out`` with ``rng.random(len(out))`` (the same numbers, the stream left where it
    would be), drawn in parallel blocks from ``PARALLEL_MIN`` draws on."""
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    if len(out) >= PARALLEL_MIN:
        draw_blocks(state, inc, out, True)
        state = pcg_advance(state, inc, len(out))
    else:
        for x in range(len(out)):
            state, out[x] = pcg_uniform(state, inc)
    pcg_store(address, state)


@njit(cache=True)
def uniforms(rng, count):
    """``rng.random(count)`` (see :func:`uniforms_into`)."""
    out = np.empty(count)
    uniforms_into(rng, out)
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
            x = rabs * wi_double[idx]
            if r & np.uint64(1):
                x = -x
            if rabs < ki_double[idx]:
                out[i] = x
                break
            if idx == 0:  # the tail
                while True:
                    if at + 2 > last:
                        return -1
                    xx = -ziggurat_nor_inv_r * np.log1p(
                        -np.float64(bits[at] >> np.uint64(11)) * scale)
                    yy = -np.log1p(-np.float64(bits[at + 1] >> np.uint64(11)) * scale)
                    at += 2
                    if yy + yy > xx * xx:
                        break
                out[i] = (-(ziggurat_nor_r + xx) if (rabs >> np.uint64(8)) & np.uint64(1)
                          else ziggurat_nor_r + xx)
                break
            u = np.float64(bits[at] >> np.uint64(11)) * scale
            at += 1
            if (fi_double[idx - 1] - fi_double[idx]) * u + fi_double[idx] < np.exp(-0.5 * x * x):
                out[i] = x
                break
    return at


@njit(cache=True)
def standard_normals(rng, out):
    """``rng.standard_normal()`` drawn ``len(out)`` times into ``out``: numpy's ziggurat
    on the stream's 64-bit draws, taken ahead (in parallel blocks from PARALLEL_MIN on; a
    few more than the normals need, again with more if they run short: the stream moves
    on by those used only)."""
    address = pcg_address(rng)
    state, inc = pcg_load(address)
    size = len(out) + len(out) // 16 + 64
    while True:
        bits = np.empty(size, np.uint64)
        if size >= PARALLEL_MIN:
            draw_blocks(state, inc, bits, False)
        else:
            draw_blocks_serial(state, inc, bits, False)
        used = _ziggurat(bits, out)
        if used >= 0:
            break
        size *= 2
    pcg_store(address, pcg_advance(state, inc, used))
