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
import zlib

import numpy as np
from numba.core import cgutils, types
from numba.core.extending import box, register_model, typeof_impl, unbox
from numba.core.imputils import lower_cast
from numba.core.pythonapi import NativeValue
from numba.np.random.generator_core import NumPyRandomGeneratorTypeModel


class Stream(np.random.Generator):
    """A numpy Generator whose bit generator's pointers are read once, for numba."""

    _cached_pointers: tuple[int, ...] | None = None

    def __reduce__(self):
        """A copy is a Stream over a copy of the bit generator (its own pointers)."""
        return (Stream, (self.bit_generator,))

    @property
    def _pointers(self) -> tuple[int, ...]:
        """State and next_double, next_uint64, next_uint32 addresses (read on first use)."""
        if self._cached_pointers is None:
            interface = self.bit_generator.ctypes

            def address(function) -> int:
                return ctypes.cast(function, ctypes.c_void_p).value

            self._cached_pointers = (interface.state_address, interface.state.value,
                                     address(interface.next_double),
                                     address(interface.next_uint64),
                                     address(interface.next_uint32))
        return self._cached_pointers


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


class RandomStreams:
    """Named, independent random streams (numpy Generators) under one root seed."""

    def __init__(self, seed: int):
        self.seed = seed
        self._streams: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> Stream:
        if name not in self._streams:
            sequence = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(name.encode()),))
            self._streams[name] = Stream(np.random.PCG64(sequence))
        return self._streams[name]
