"""Per-step results, declared up front and preallocated (process 9, data collection).

Each :class:`Metric` names a reporter that reads whole arrays of the model; the table
holds one row per step (step 0 = initial state) and exports as a tidy DataFrame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from model.employees import DETECTED, HIDDEN

if TYPE_CHECKING:
    from model.organization import OrganizationModel


@dataclass(frozen=True)
class Metric:
    name: str
    meaning: str
    reporter: Callable[[OrganizationModel], float]


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def _probe_share(m: OrganizationModel) -> float:
    probe = np.flatnonzero(m.ideas.is_probe[: m.ideas.n])
    return float(m.ideas.adopters[probe].sum() / m.people.n) if len(probe) else 0.0


def _active_heroes(m: OrganizationModel) -> float:
    heroes = m.people.hero
    recent = m.steps - m.people.last_idea_step < m.p.metric_window
    return float((heroes & recent).sum() / heroes.sum()) if heroes.any() else 0.0


def _cumulative(flag: str) -> Callable[[OrganizationModel], float]:
    return lambda m: float(getattr(m.ideas, flag)[: m.ideas.n].sum())


METRICS: tuple[Metric, ...] = (
    Metric("ideas_born", "Ideas born this step.", lambda m: m.generation.born_this_step),
    Metric("ideas_total", "Ideas born so far.", lambda m: m.ideas.n),
    Metric("ideas_sanctioned", "Ideas sanctioned (codified) so far.", _cumulative("sanctioned")),
    Metric("ideas_squashed", "Ideas squashed so far.", _cumulative("squashed")),
    Metric("idea_use_share", "Share of employees using at least one idea born in the run.",
           lambda m: _share(m.beliefs.ideas_in_use > 0)),
    Metric("probe_adoption_share", "Share of employees using the tracer good idea.",
           _probe_share),
    Metric("coasting_share", "Share of employees coasting (effort below the threshold).",
           lambda m: _share(m.people.effort < m.p.coasting_threshold)),
    Metric("hidden_coasting_share", "Share of employees coasting unnoticed by anyone able to act.",
           lambda m: _share(m.people.coast_state == HIDDEN)),
    Metric("detected_coasting_share", "Share of employees coasting and noticed.",
           lambda m: _share(m.people.coast_state == DETECTED)),
    Metric("sanctioned_share", "Share of employees sanctioned this step.",
           lambda m: _share(m.people.sanctioned)),
    Metric("mean_effort", "Mean effort.", lambda m: float(m.people.effort.mean())),
    Metric("mean_commitment", "Mean commitment.", lambda m: float(m.people.commitment.mean())),
    Metric("commitment_p10", "10th percentile of commitment.",
           lambda m: float(np.quantile(m.people.commitment, 0.1))),
    Metric("commitment_p90", "90th percentile of commitment.",
           lambda m: float(np.quantile(m.people.commitment, 0.9))),
    Metric("active_hero_share", "Share of HEROes who produced an idea within the metric window.",
           _active_heroes),
    Metric("mean_fit", "Mean fit of practices to customer needs.",
           lambda m: float(m.beliefs.matches.mean() / m.beliefs.m)),
    Metric("playbook_fit", "Fit of the playbook to customer needs.",
           lambda m: m.beliefs.code_fit),
    Metric("output", "Mean output per employee (effort x skill x fit).",
           lambda m: float(m.people.output.mean())),
    Metric("conversations_per_employee", "Conversations started per employee this step.",
           lambda m: m.conversations.per_employee),
    Metric("cross_unit_conversation_share", "Share of conversations across units.",
           lambda m: m.conversations.cross_unit_share),
    Metric("informal_leader_overlap", "Share of the most sought-after employees who hold a "
           "formal leader role.", lambda m: m.informal_leader_overlap()),
)


class Results:
    """A preallocated (steps + 1) x metrics table."""

    def __init__(self, steps: int, metrics: tuple[Metric, ...] = METRICS):
        self.metrics = metrics
        self.names = [mt.name for mt in metrics]
        self.values = np.full((steps + 1, len(metrics)), np.nan)
        self.rows = 0

    def collect(self, model: OrganizationModel) -> None:
        if self.rows >= len(self.values):  # run past the declared steps: grow
            self.values = np.vstack([self.values, np.full_like(self.values, np.nan)])
        self.values[self.rows] = [mt.reporter(model) for mt in self.metrics]
        self.rows += 1

    def to_frame(self) -> pd.DataFrame:
        """Wide frame: one row per step, one column per metric."""
        frame = pd.DataFrame(self.values[: self.rows], columns=self.names)
        frame.insert(0, "step", np.arange(self.rows))
        return frame

    def to_tidy(self) -> pd.DataFrame:
        """Long frame: one row per (step, metric) observation."""
        return self.to_frame().melt(id_vars="step", var_name="metric", value_name="value")
