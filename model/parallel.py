"""Parallel loops only where they pay: each parallel kernel has a serial twin.

A parallel loop wakes numba's other threads and waits for all of them: that pays for
the loops of large organizations, but on a busy machine (a sweep's workers, other
jobs) waiting for a second thread costs far more than a small loop itself, and a
process that has started OpenMP's threads cannot safely fork worker processes. A loop
over fewer than ``PARALLEL_MIN`` items (employees, conversations, cells) therefore runs
the kernel's serial twin (set by the environment variable ``ORGSELF_PARALLEL_MIN`` when
the engine is imported; the compiled kernels keep the value they were compiled with).
Results never depend on which runs, nor on the thread count (draws are taken outside
the parallel loops), only speed does.
"""

from __future__ import annotations

import os
import types

import numba
from numba import njit

# numba's own thread pool: unlike GNU OpenMP it lets a process that ran parallel loops
# fork worker processes (sweeps, compare) that run them too
numba.config.THREADING_LAYER = os.environ.get("NUMBA_THREADING_LAYER", "workqueue")

#: Items of a loop (employees, conversations, cells) from which it runs on all threads.
PARALLEL_MIN = int(os.environ.get("ORGSELF_PARALLEL_MIN", "100000"))


def serial_twin(kernel):
    """``kernel`` (an ``njit(parallel=True)`` dispatcher) compiled without parallel loops:
    ``prange`` runs as ``range``. A copy of the function under its own name, so that the
    two keep separate on-disk caches."""
    f = kernel.py_func
    twin = types.FunctionType(f.__code__, f.__globals__, f.__name__ + "_serial",
                              f.__defaults__, f.__closure__)
    twin.__qualname__ = f.__qualname__ + "_serial"
    twin.__doc__ = f.__doc__
    return njit(cache=True)(twin)
