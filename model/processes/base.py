"""The common shape of a process: a named unit with its own random stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from model.organization import OrganizationModel


class Process:
    """One process of the model; ``name`` also names its random stream, ``rng``, made on
    first use (a stream depends only on the root seed and its name, never on when it is
    made: a process that draws nothing costs no stream)."""

    name = "process"

    def __init__(self, model: OrganizationModel):
        self.model = model

    def __getattr__(self, name: str):
        if name == "rng" and "model" in self.__dict__:
            self.rng = self.model.streams[self.name]
            return self.rng
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def step(self) -> None:
        raise NotImplementedError


def insert_after(processes: list[Process], name: str, *new: Process) -> list[Process]:
    """``processes`` with ``new`` placed right after the process called ``name``."""
    names = [p.name for p in processes]
    if name not in names:
        raise ValueError(f"no process named {name!r} (processes: {', '.join(names)})")
    at = names.index(name) + 1
    return [*processes[:at], *new, *processes[at:]]
