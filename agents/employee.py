"""The Employee agent: a Mesa handle that reads and writes the model's arrays.

The model's numpy arrays are the source of truth; an Employee only knows its index,
so Mesa tools (``model.agents``, agent reporters, dashboards) work without copying
state. Behaviour runs vectorized in the model's processes, not in ``step``.
"""

from __future__ import annotations

import mesa
import numpy as np

from model.employees import DETECTED, HIDDEN

COASTING_LABELS = {0: "working", HIDDEN: "coasting (hidden)", DETECTED: "coasting (noticed)"}


def _state_property(name: str, doc: str) -> property:
    def get(self: Employee):
        return getattr(self.model.people, name)[self.index].item()

    def set_(self: Employee, value) -> None:
        getattr(self.model.people, name)[self.index] = value

    return property(get, set_, doc=doc)


class Employee(mesa.Agent):
    """One employee, viewed through the model's state arrays."""

    effort = _state_property("effort", "Effort this step, 0-1.")
    commitment = _state_property("commitment", "Commitment, 0-1.")
    motive = _state_property("motive", "Intrinsic motive, 0-1.")
    skill = _state_property("skill", "Skill (means), 0-1.")
    opportunity = _state_property("opportunity", "Autonomy granted now, 0-1.")
    reputation = _state_property("reputation", "Earned reputation, 0-1.")
    influence = _state_property("influence", "Influence: authority and reputation mixed, 0-1.")
    watch_belief = _state_property("watch_belief", "Expected chance of a sanction if coasting.")
    hero = _state_property("hero", "Whether a highly empowered and resourceful operative.")
    position = _state_property("position", "Formal position held.")

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def manager(self) -> int:
        """Employee index of the formal manager, -1 if none."""
        return int(self.model.manager_of(np.array([self.index]))[0])

    @property
    def level(self) -> int:
        return int(self.model.level_of(np.array([self.index]))[0])

    @property
    def is_formal_leader(self) -> bool:
        return bool(self.model.structure.is_manager[self.model.people.position[self.index]])

    @property
    def coasting(self) -> str:
        return COASTING_LABELS[int(self.model.people.coast_state[self.index])]

    @property
    def ideas_in_use(self) -> list[int]:
        """Ids of the ideas this employee uses (on their anchor dimension)."""
        src = self.model.beliefs.source[self.index]
        held = np.unique(src[src >= 0])
        return [int(k) for k in held if self.model.beliefs.uses(np.array([self.index]),
                                                                np.array([k]))[0]]

    def step(self) -> None:
        """Nothing: the model's processes update every employee at once."""
