"""An imported organization: a client's chart and collaboration network as arrays.

The engine never reads a file: scenarios/organization.py reads and checks the CSV files
and hands over an :class:`OrgChart`, whose positions are already in breadth-first order
(each manager's direct reports contiguous, model/structure.py). Employee ``i`` starts in
position ``i``. Original ids never enter the engine: each position carries only its
pseudonym (a salted hash made by the reader).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from model.structure import FormalStructure

# each chart's read-only structure and unit codes, with the parent array they were made from
_BUILT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class OrgChart:
    """Reporting lines, the chart's own units and levels, and informal ties, by position."""

    parent: np.ndarray  # manager position, -1 for a top (breadth-first order)
    pseudonym: tuple[str, ...]  # stable salted-hash pseudonym of each position's id
    unit: tuple[str, ...]  # the chart's unit (division, department) of each position
    level: tuple[str, ...]  # the chart's level label ("L<depth>" where none was given)
    customer_facing: np.ndarray | None = None  # bool per position, None = drawn as usual
    tie_u: np.ndarray | None = None  # informal ties (positions), None = generated as usual
    tie_v: np.ndarray | None = None
    tie_weight: np.ndarray | None = None  # None = every tie at initial_tie_strength

    @property
    def n(self) -> int:
        return len(self.parent)

    def table(self, parent: np.ndarray | None = None,
              customer_facing: np.ndarray | None = None) -> dict[str, list]:
        """The chart by pseudonym (never an original id): id, manager_id, unit, level,
        customer_facing; ``parent`` and ``customer_facing`` as a model holds them."""
        parent = self.parent if parent is None else parent
        facing = self.customer_facing if customer_facing is None else customer_facing
        names = self.pseudonym
        return {"id": list(names),
                "manager_id": [names[q] if q >= 0 else "" for q in parent.tolist()],
                "unit": list(self.unit), "level": list(self.level),
                "customer_facing": [] if facing is None else [bool(f) for f in facing]}

    def structure(self) -> FormalStructure:
        """The chart's formal structure (model/structure.py) in arrays of its own."""
        return self._built()[1].copy()

    def unit_codes(self) -> np.ndarray:
        """The chart's unit of each position as an integer code (same unit, same code)."""
        return self._built()[2].copy()

    def _built(self) -> tuple:
        """(parent, structure, unit codes), read-only: made on first use, again only if
        ``parent`` was changed in place since (a model of the chart copies them)."""
        built = _BUILT.get(self)
        if built is None or not np.array_equal(built[0], self.parent):
            from model.structure import build_chart_structure

            codes = np.unique(np.array(self.unit), return_inverse=True)[1].astype(np.int64)
            codes.flags.writeable = False
            parent = np.array(self.parent)
            parent.flags.writeable = False
            built = _BUILT[self] = (parent, build_chart_structure(parent.copy()).read_only(),
                                    codes)
        return built

    def tie_strengths(self, initial_strength: float) -> np.ndarray:
        """Strength of each imported tie: weights scaled so the heaviest tie is 1."""
        if self.tie_weight is None:
            return np.full(len(self.tie_u), initial_strength)
        top = float(self.tie_weight.max()) if len(self.tie_weight) else 0.0
        return self.tie_weight / top if top > 0 else np.zeros(len(self.tie_weight))

    def positions_in(self, names: list[str | int]) -> np.ndarray:
        """Bool mask of positions whose unit or level label is one of ``names`` (an
        integer names a depth: 0 = top)."""
        depth = self._built()[1].level
        mask = np.zeros(self.n, dtype=bool)
        units, levels = np.array(self.unit), np.array(self.level)
        for name in names:
            if isinstance(name, int):
                mask |= depth == name
            else:
                mask |= (units == name) | (levels == name)
        return mask
