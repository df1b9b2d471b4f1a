"""Argument bundles: many arrays handed to a compiled kernel as one cheap argument.

numba unboxes every array argument of a compiled call (about 0.25 us each, so a tuple of
30 arrays costs several microseconds a call); a :class:`Bundle` is a numba structref
holding a tuple of arrays, unboxed as one pointer (about 1 us). The arrays are shared,
not copied: kernels write into the very arrays Python holds. A bundle goes stale when
one of its arrays is replaced (registry growth, elections, a roadmap's change): its
owner keeps it in a :class:`BundleCache` keyed by what could replace them. Nest tuples,
not bundles: numba types a tuple of arrays in C, but a tuple holding a bundle in Python
(~200 us a call).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit, types
from numba.core.extending import overload
from numba.experimental import structref


@structref.register
class BundleType(types.StructRef):
    """numba's type of a bundle: one field, ``arrays`` (a tuple, possibly nested)."""


class Bundle(structref.StructRefProxy):
    """A tuple of arrays as one compiled-call argument (kernels read ``bundle.arrays``)."""


structref.define_boxing(BundleType, Bundle)


def _new_bundle(arrays):
    raise NotImplementedError  # compiled only (see the overload below)


@overload(_new_bundle)
def _new_bundle_overload(arrays):
    bundle_type = BundleType([("arrays", arrays)])

    def make(arrays):
        bundle = structref.new(bundle_type)
        bundle.arrays = arrays
        return bundle

    return make


@njit(cache=True)
def make_bundle(arrays):
    """A :class:`Bundle` of ``arrays`` (a tuple of arrays, possibly nested; ~10 us)."""
    return _new_bundle(arrays)


class BundleCache:
    """One bundle, rebuilt when its key changes. The key holds what can replace the
    bundle's arrays (version counters, the parameter object)."""

    def __init__(self, build: Callable[[], tuple]):
        self._build = build
        self._key: tuple = ()
        self._bundle: Any = None
        self.arrays: tuple = ()  # what the bundle holds (for Python)

    def get(self, key: tuple) -> Bundle:
        """The bundle for ``key``: the cached one, or a new one if the key changed."""
        if key != self._key:  # identical items compare at once (no model equality)
            self.arrays = self._build()
            self._bundle = make_bundle(self.arrays)
            self._key = key
        return self._bundle
