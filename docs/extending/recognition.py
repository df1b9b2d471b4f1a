"""An example extension in one file: managers recognize good work, which lifts commitment.

Process "recognition" (after monitoring): each step every employee with a manager is
recognized with chance ``recognition_rate`` if their effort is above
``coasting_threshold``; recognition lifts their commitment by ``recognition_boost`` of
the gap to 1. Off by default (rate 0), so the model with its defaults is the built-in one.

    python run.py run hierarchical --model docs.extending.recognition:RecognitionModel \
        --set recognition_rate=0.3
    python run.py sweep docs/extending/recognition_sweep.toml
"""

from __future__ import annotations

import numpy as np

from model.organization import OrganizationModel
from model.parameters import Parameters, param
from model.processes.base import Process, insert_after
from model.results import METRICS, Metric


class RecognitionParameters(Parameters):
    """The built-in parameters plus this mechanism's own block (unknown names still refused)."""

    recognition_rate: float = param(0.0, "Chance per step that a manager recognizes a "
                                    "report's good work (example extension).",
                                    "power relations", "probability", ge=0, le=1)
    recognition_boost: float = param(0.2, "Share of the gap to full commitment that one "
                                     "recognition closes (example extension).", "behaviour",
                                     "0-1", ge=0, le=1)


class Recognition(Process):
    """Recognized employees gain commitment; draws from its own stream "recognition"."""

    name = "recognition"
    recognized_share = 0.0  # share of employees recognized this step (a per-step metric)

    def step(self) -> None:
        m, p = self.model, self.model.p
        if p.recognition_rate <= 0:
            return
        people = m.people
        recognized = ((self.rng.random(people.n) < p.recognition_rate)
                      & (m.manager_of(np.arange(people.n)) >= 0)
                      & (people.effort > p.coasting_threshold))
        people.commitment[recognized] += p.recognition_boost * (1 - people.commitment[recognized])
        self.recognized_share = float(recognized.mean())


class RecognitionModel(OrganizationModel):
    """The organization model with recognition after monitoring."""

    parameters_class = RecognitionParameters
    step_metrics = (*METRICS, Metric("recognized_share", "Share of employees recognized "
                                     "this step.", lambda m, _: m.recognition.recognized_share))

    def build_processes(self) -> list[Process]:
        self.recognition = Recognition(self)
        return insert_after(super().build_processes(), "monitoring", self.recognition)


def recognized_commitment_gain(model: RecognitionModel) -> float:
    """A custom metric for sweeps: final mean commitment minus the initial one."""
    column = model.results.names.index("mean_commitment")
    return float(model.results.values[model.results.rows - 1, column]
                 - model.results.values[0, column])
