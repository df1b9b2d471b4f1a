"""Regenerate docs/reference_settings.png, the README figure.

    .venv/bin/python docs/make_figure.py

Hierarchical vs shared_authority at defaults (500 employees, 200 steps), the main job's
seeds (root 2026, 5 replications): the tracer good idea's adoption and hidden coasting.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.runner import replication_seeds, run_once  # noqa: E402
from scenarios.settings import load_setting  # noqa: E402

SETTINGS = {"hierarchical": "#c0392b", "shared_authority": "#2471a3"}


def main() -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    for name, colour in SETTINGS.items():
        params = load_setting(name).parameters()
        runs = [run_once(params, seed, name).timeseries
                for seed in replication_seeds(2026, 5)]
        for frame in runs:
            left.plot(frame["step"], frame["probe_adoption_share"], color=colour, alpha=0.35)
            right.plot(frame["step"], frame["hidden_coasting_share"], color=colour, alpha=0.35)
        left.plot([], [], color=colour, label=name)
    left.set(title="A good idea (born at step 20): share using it", xlabel="step",
             ylabel="share of employees", ylim=(0, 1))
    right.set(title="Coasting nobody able to act has noticed", xlabel="step",
              ylabel="share of employees")
    left.legend(frameon=False)
    fig.savefig(ROOT / "docs" / "reference_settings.png", dpi=110)


if __name__ == "__main__":
    main()
