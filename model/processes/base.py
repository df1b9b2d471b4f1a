"""The common shape of a process: a named unit with its own random stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from model.organization import OrganizationModel


class Process:
    """One process of the model; ``name`` also names its random stream."""

    name = "process"

    def __init__(self, model: OrganizationModel):
        self.model = model
        self.rng = model.streams[self.name]

    def step(self) -> None:
        raise NotImplementedError
