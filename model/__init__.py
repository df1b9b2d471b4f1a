"""The engine: an organization's state arrays, its processes and the results of one run.

A library: it knows no file format, screen, command line or replication. Its names are
imported on first use, so a command that needs none of the engine starts at once.
"""

from importlib import import_module

_EXPORTS = {"OrganizationModel": "model.organization", "Parameters": "model.parameters",
            "ParameterError": "model.errors", "make_parameters": "model.parameters",
            "parameter_specs": "model.parameters"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import an exported name from its module the first time it is asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'model' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
