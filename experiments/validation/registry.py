"""All validation experiments by name, in the order they are reported."""

from __future__ import annotations

from collections.abc import Callable

from experiments.validation import (
    bass,
    contagion,
    loafing,
    march,
    meanfield,
    mission,
    recovery,
    robustness,
    size,
)
from experiments.validation.core import Experiment, Outcome, Plan
from model.parameters import ParameterError

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    bass.EXPERIMENT, loafing.EXPERIMENT, contagion.EXPERIMENT, march.EXPERIMENT,
    mission.EXPERIMENT, meanfield.EXPERIMENT, size.EXPERIMENT, robustness.EXPERIMENT,
    recovery.EXPERIMENT)}


def select(names: list[str] | None) -> list[Experiment]:
    """The named experiments (all if none), or a ParameterError naming the choices."""
    if not names:
        return list(EXPERIMENTS.values())
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ParameterError(f"unknown validation experiment '{unknown[0]}' (choose from "
                             f"{', '.join(EXPERIMENTS)})")
    return [EXPERIMENTS[n] for n in dict.fromkeys(names)]


def run_experiments(experiments: list[Experiment], plan: Plan,
                    done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run experiments in order, calling ``done`` after each (e.g. to print its lines)."""
    outcomes = []
    for experiment in experiments:
        outcome = experiment.run(plan)
        outcomes.append(outcome)
        if done:
            done(outcome)
    return outcomes
