"""The engine: an organization's state arrays, its processes and the results of one run.

A library: it knows no file format, screen, command line or replication. Its names are
imported on first use, so a command that needs none of the engine starts at once.
"""

import hashlib
import os
from importlib import import_module
from pathlib import Path

ENGINE = Path(__file__).resolve().parent


def compiled_cache_dir(engine: Path = ENGINE) -> Path:
    """Where numba keeps the engine's compiled kernels: a directory named by a digest of
    the engine's sources. numba's own cache checks only the file of each kernel, not the
    kernels it calls in other files, so after an update it could load stale machine code
    (and crash); a new digest after any change of the sources rules that out."""
    digest = hashlib.sha256()
    for source in sorted(engine.rglob("*.py")):
        digest.update(source.relative_to(engine).as_posix().encode() + b"\0")
        digest.update(source.read_bytes())
    return engine.parent / ".numba_cache" / digest.hexdigest()[:16]


# before numba is imported (a directory the user sets is kept)
os.environ.setdefault("NUMBA_CACHE_DIR", str(compiled_cache_dir()))

_EXPORTS = {"OrganizationModel": "model.organization", "Parameters": "model.parameters",
            "ParameterError": "model.errors", "make_parameters": "model.parameters",
            "parameter_specs": "model.parameters"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import an exported name from its module the first time it is asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'model' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
