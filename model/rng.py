"""One seed path: a root seed and one independent random stream per mechanism.

Each mechanism draws from its own stream, derived from the root seed and the
mechanism's name, so that two settings run with the same seed differ only through
their mechanisms (common random numbers), never through a shared draw order.
"""

from __future__ import annotations

import zlib

import numpy as np


def normalize_seed(seed: int | np.random.Generator | None) -> int:
    """Turn an int, a Generator or None into a non-negative integer root seed."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise ValueError(f"seed = {seed!r}: must be a non-negative integer or a numpy Generator")


class RandomStreams:
    """Named, independent ``numpy.random.Generator`` streams under one root seed."""

    def __init__(self, seed: int):
        self.seed = seed
        self._streams: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._streams:
            sequence = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(name.encode()),))
            self._streams[name] = np.random.Generator(np.random.PCG64(sequence))
        return self._streams[name]
