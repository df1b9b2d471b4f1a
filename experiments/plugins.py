"""Models and metrics named by ``module:attribute``, imported by name (never eval).

A sweep file or the command line may name a subclass of
:class:`model.organization.OrganizationModel` (``model = "pkg.mod:Class"``) and metric
functions (``metrics = ["pkg.mod:function"]``: ``function(model) -> number or None``,
called after the run). The module must be importable where the runs happen: installed,
on PYTHONPATH, or under the current directory (added to the import path, as
``python -m`` does).
"""

from __future__ import annotations

import importlib
import math
import numbers
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from model.errors import ParameterError

if TYPE_CHECKING:
    from model.organization import OrganizationModel

MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def is_named(text: str) -> bool:
    """Whether ``text`` names an object as ``module:attribute``."""
    return ":" in text


def import_named(spec: Any, field: str) -> Any:
    """The object ``spec`` = ``module:attribute`` names; one-line ParameterError if the
    module or attribute is missing (``field`` names where ``spec`` was written)."""
    module_name, colon, attribute = spec.partition(":") if isinstance(spec, str) else ("", "",
                                                                                       "")
    if not colon or not MODULE.fullmatch(module_name) or not attribute.isidentifier():
        raise ParameterError(f"{field}: value {spec!r} must be 'module:attribute' (e.g. "
                             "'mypackage.mymodule:MyModel')")
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ParameterError(f"{field}: value {spec!r}: no module named {err.name!r} (install "
                             "it, or run from the directory that holds it)") from None
    except Exception as err:  # noqa: BLE001 - the user's module failed while importing
        raise ParameterError(f"{field}: value {spec!r}: importing {module_name!r} failed "
                             f"({type(err).__name__}: {err})") from None
    if not hasattr(module, attribute):
        raise ParameterError(f"{field}: value {spec!r}: module {module_name!r} has no "
                             f"attribute {attribute!r}")
    return getattr(module, attribute)


def load_model_class(spec: str | None, field: str = "--model") -> type[OrganizationModel]:
    """The model class ``spec`` names (OrganizationModel if None or empty)."""
    from model.organization import OrganizationModel

    if not spec:
        return OrganizationModel
    found = import_named(spec, field)
    if not (isinstance(found, type) and issubclass(found, OrganizationModel)):
        raise ParameterError(f"{field}: value {spec!r} is not a subclass of "
                             "model.organization.OrganizationModel")
    return found


def load_metric(spec: str, field: str = "metrics") -> Callable[[Any], Any]:
    """The metric function ``spec`` names."""
    found = import_named(spec, field)
    if not callable(found) or isinstance(found, type):
        raise ParameterError(f"{field}: value {spec!r} is not a function of the model")
    return found


def metric_values(model: OrganizationModel, metrics: tuple[str, ...]) -> list[float]:
    """Each metric of a finished run as a float (NaN for None): a name from the run's
    summary, or a ``module:function`` called with the model."""
    summary = model.summary(tuple(name for name in metrics if not is_named(name)))
    values = []
    for name in metrics:
        value = load_metric(name)(model) if is_named(name) else summary[name]
        if is_named(name) and value is not None and (
                isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real)):
            raise ParameterError(f"metric {name!r}: returned {value!r}, not a number")
        values.append(math.nan if value is None else float(value))
    return values
