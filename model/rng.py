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
from numba import njit
from numba.core import cgutils, types
from numba.core.extending import box, register_model, typeof_impl, unbox
from numba.core.imputils import lower_cast
from numba.core.pythonapi import NativeValue
from numba.np.random.generator_core import NumPyRandomGeneratorTypeModel
from numpy.random.bit_generator import ISeedSequence


class Stream(np.random.Generator):
    """A numpy Generator whose bit generator's pointers are read once, for numba."""

    def __reduce__(self):
        """A copy is a Stream over a copy of the bit generator (its own pointers)."""
        return (Stream, (self.bit_generator,))

    @functools.cached_property
    def _pointers(self) -> tuple[int, ...]:
        """State and next_double, next_uint64, next_uint32 addresses (read on first use,
        then found in the instance's dict: numba reads them on every compiled call)."""
        interface = self.bit_generator.ctypes

        def address(function) -> int:
            return ctypes.cast(function, ctypes.c_void_p).value

        return (interface.state_address, interface.state.value,
                address(interface.next_double), address(interface.next_uint64),
                address(interface.next_uint32))


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


class RandomStreams:
    """Named, independent random streams (numpy Generators) under one root seed: the
    stream of ``name`` is seeded by ``SeedSequence(seed, spawn_key=(crc32(name),))``."""

    def __init__(self, seed: int):
        self.seed = seed
        self._streams: dict[str, np.random.Generator] = {}
        words = _uint32_words(seed)
        self._entropy = words + [0] * (4 - len(words))  # zero-padded: a spawn key follows

    def __getitem__(self, name: str) -> Stream:
        if name not in self._streams:
            words = np.array([*self._entropy, zlib.crc32(name.encode())], np.int64)
            state = seed_sequence_state(words)
            self._streams[name] = Stream(np.random.PCG64(_SeedState(state)))
        return self._streams[name]
