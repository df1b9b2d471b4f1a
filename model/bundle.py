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

import os
from collections.abc import Callable
from typing import Any

from numba import njit, typeof, types
from numba.core.extending import overload
from numba.core.typing.typeof import Purpose
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

    def __init__(self, build: Callable[[], tuple], make: Callable[[tuple], Any] = None):
        self._build = build
        self._make = make_bundle if make is None else make  # bundle of what build returns
        self._key: tuple = ()
        self._bundle: Any = None
        self.arrays: tuple = ()  # what the bundle holds (for Python)

    def __getstate__(self) -> dict:
        """A copy builds its own bundle on first use (a bundle does not pickle)."""
        return {**self.__dict__, "_key": (), "_bundle": None, "arrays": ()}

    def get(self, key: tuple) -> Bundle:
        """The bundle for ``key``: the cached one, or a new one if the key changed."""
        if key != self._key:  # identical items compare at once (no model equality)
            self.arrays = self._build()
            self._bundle = self._make(self.arrays)
            self._key = key
        return self._bundle


#: Check the types of every call through an entry (tests set it; also
#: ``ORG_CHECK_ENTRY_TYPES=1``): a call whose arguments' types differ from those the entry
#: was bound for raises TypeError instead of misreading them.
CHECK_ENTRY_TYPES = os.environ.get("ORG_CHECK_ENTRY_TYPES", "") == "1"


def entry_point(kernel, *args) -> Callable:
    """``kernel``'s compiled entry for the types of ``args`` (compiled or loaded from the
    cache if need be). Calling it skips numba's dispatcher, which types every argument anew
    on every call: ~1.2 us for each bundle or random stream, ~0.25 us for each array
    (measured), paid several times a step. Every call must pass arguments of these very
    types: bind again whenever an argument may be replaced by one of another type."""
    signature = tuple(typeof(arg, Purpose.argument) for arg in args)
    kernel.compile(signature)
    call = kernel.overloads[signature].entry_point
    if not CHECK_ENTRY_TYPES:
        return call

    def checked(*call_args):
        found = tuple(typeof(arg, Purpose.argument) for arg in call_args)
        if found != signature:
            raise TypeError(f"{kernel.__name__} bound for {signature}, called with {found}")
        return call(*call_args)

    return checked


class Entry:
    """A compiled kernel called through :func:`entry_point`, bound again whenever ``key``
    is another object (a bundle or an argument tuple: rebuilt whenever what the kernel
    takes may be replaced). A copy binds afresh (an entry point does not pickle)."""

    __slots__ = ("kernel", "_key", "_call")

    def __init__(self, kernel):
        self.kernel = kernel
        self._key: Any = None
        self._call: Callable | None = None

    def __call__(self, key, *args):
        """``kernel(*args)``; ``key`` the very object of the last call: the same types."""
        if key is self._key and self._call is not None:
            return self._call(*args)
        result = self.kernel(*args)  # typed by numba's dispatcher (in C: fast)
        overloads = self.kernel.overloads
        if len(overloads) == 1 and not CHECK_ENTRY_TYPES:  # the one it just called
            self._call = next(iter(overloads.values())).entry_point
        else:  # which one: typed in Python (~10 us an array), as rarely as keys change
            self._call = entry_point(self.kernel, *args)
        self._key = key
        return result

    def __getstate__(self) -> dict:
        return {"kernel": self.kernel}

    def __setstate__(self, state: dict) -> None:
        self.kernel, self._key, self._call = state["kernel"], None, None
