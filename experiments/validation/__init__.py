"""Validation suite: experiments that reproduce published results (docking).

``run.py validate [NAME ...] [--quick]`` runs them (see docs/VALIDATION.md).
"""

from experiments.validation.core import Check, Experiment, Outcome, Plan
from experiments.validation.registry import EXPERIMENTS, run_experiments, select

__all__ = ["Check", "EXPERIMENTS", "Experiment", "Outcome", "Plan", "run_experiments", "select"]
