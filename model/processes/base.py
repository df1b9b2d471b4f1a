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


def insert_after(processes: list[Process], name: str, *new: Process) -> list[Process]:
    """``processes`` with ``new`` placed right after the process called ``name``."""
    names = [p.name for p in processes]
    if name not in names:
        raise ValueError(f"no process named {name!r} (processes: {', '.join(names)})")
    at = names.index(name) + 1
    return [*processes[:at], *new, *processes[at:]]
