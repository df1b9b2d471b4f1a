"""Parallel loops only where they pay: each parallel kernel has a serial twin.

A parallel loop wakes numba's other threads and waits for all of them: that pays for
the loops of large organizations, but on a busy machine (a sweep's workers, other
jobs) waiting for a second thread costs far more than a small loop itself. A loop over
fewer than ``PARALLEL_MIN`` items (employees, conversations, cells) therefore runs the
kernel's serial twin. Results never depend on which runs, nor on the thread count
(draws are taken outside the parallel loops), only speed does.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
import types

import numba
from numba import njit


def _preload_tbb() -> None:
    """Load libtbb from the environment's lib/, where the ``tbb`` wheel puts it (off the
    loader's path), so that numba's TBB layer finds it, whoever chose that layer."""
    try:
        ctypes.CDLL(os.path.join(sys.prefix, "lib", "libtbb.so.12"), mode=ctypes.RTLD_GLOBAL)
    except OSError:
        pass  # (elsewhere on the loader's path, or absent)


def tbb_loadable() -> bool:
    """Whether numba's TBB threading layer can load."""
    _preload_tbb()
    try:
        from numba.np.ufunc import tbbpool  # noqa: F401
    except ImportError:
        return False
    return True


# TBB where it loads (a parallel loop starts in ~3 us against ~30 us, an idle thread steals
# work instead of being waited for, and it is thread- and fork-safe), else numba's own
# workqueue pool (unlike GNU OpenMP, it lets a process that ran parallel loops fork worker
# processes, sweeps' and compare's, as long as those run numba on one thread: they do)
_preload_tbb()
numba.config.THREADING_LAYER = os.environ.get("NUMBA_THREADING_LAYER") or (
    "tbb" if tbb_loadable() else "workqueue")

#: Items of a loop (employees, conversations, cells) from which it runs on all threads.
#: Compiled kernels keep this value in their on-disk cache; changing it changes the
#: engine's source digest, so the kernels are compiled afresh (model.compiled_cache_dir).
PARALLEL_MIN = 100_000


#: Held while an organization steps, where numba's threading layer is its workqueue pool
#: (the fallback without TBB): that pool aborts the whole process when two Python threads
#: launch parallel loops at once (a Dask worker's threads, a server's pages), so there one
#: organization steps at a time. TBB is thread-safe: there organizations in several
#: threads step at once, and a small organization's whole stretch of steps, one compiled
#: call that releases the GIL (model.fused.fused_run), runs on another core meanwhile.
STEPPING = contextlib.nullcontext() if numba.config.THREADING_LAYER == "tbb" else threading.Lock()


def serial_twin(kernel, **replaced):
    """``kernel`` (an ``njit(parallel=True)`` dispatcher) compiled without parallel loops:
    ``prange`` runs as ``range``. A copy of the function under its own name, so that the
    two keep separate on-disk caches. ``replaced``: globals the copy sees instead (e.g. an
    inlined draw where the parallel kernel needs a call); then the copy sees the module's
    globals as they are now."""
    f = kernel.py_func
    scope = {**f.__globals__, **replaced} if replaced else f.__globals__
    twin = types.FunctionType(f.__code__, scope, f.__name__ + "_serial",
                              f.__defaults__, f.__closure__)
    twin.__qualname__ = f.__qualname__ + "_serial"
    twin.__doc__ = f.__doc__
    return njit(cache=True)(twin)
