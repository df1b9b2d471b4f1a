"""March (1991), exploration and exploitation: the playbook as the organizational code.

n = 50 employees and a reality of m = 30 dimensions; no formal or informal ties, no
conversations, no ideas and (unless stated) no turbulence, so only the playbook moves
beliefs: employees learn the code at the socialization rate p1 and the code learns from
employees who do better than it at the codification rate p2. Two details the paper
leaves out are taken from March's original program as recovered by Christensen (2015):
socialization moves a belief one step at a time (``socialization_mode = "gradual"``),
and the code judges and learns from employees' actions, a coin flip where they hold no
belief (``code_learning_basis = "actions"``). A run ends at equilibrium: everyone holds
the code's beliefs and no one could do better than the code. Knowledge is March's
score of the code, (dimensions right - dimensions wrong) / m.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from experiments.validation.core import (
    Check,
    Experiment,
    Outcome,
    Plan,
    experiment_seeds,
    fmt,
    markdown_table,
    replicate,
)
from model.organization import OrganizationModel

SOURCES = [
    "March, J. G. (1991). Exploration and exploitation in organizational learning. "
    "Organization Science 2(1), 71-87 (Figure 1: equilibrium knowledge against p1 for "
    "p2 = 0.1, 0.5, 0.9; Figure 2: fast and slow learners; Figure 3: turnover and turbulence).",
    "Christensen, M. (2015). A note on March's (1991) model: details needed to reproduce "
    "Figure 1 (gradual socialization; the code learns from actions).",
    "Rodan, S. (2005). Exploration and exploitation revisited: extending March's model of "
    "mutual learning. Scandinavian Journal of Management 21(4), 407-428.",
    "Workiewicz, M. (2019). Recreation of March 1991 original algorithm, github.com/Mac13kW/"
    "March_1991_Original, Output/..._i_10000.csv (10,000 runs per cell): source of the "
    "reference values below, which match March's Figure 1 as read from the plot.",
]
# equilibrium knowledge, Workiewicz (2019) following Christensen (2015), 10,000 runs a cell
REFERENCE = {(0.1, 0.1): 0.863, (0.5, 0.1): 0.799, (0.9, 0.1): 0.813,
             (0.1, 0.5): 0.954, (0.5, 0.5): 0.811, (0.9, 0.5): 0.742,
             (0.1, 0.9): 0.972, (0.5, 0.9): 0.840, (0.9, 0.9): 0.728}
RATES = (0.1, 0.5, 0.9)
MARCH = dict(
    n_employees=50, n_dimensions=30, idea_scope=1, formal_structure="none",
    informal_network="fully_mixed", informal_degree=0, conversations_per_step=0,
    customer_problem_rate=0.0, probe_idea_step=-1, idea_forum_reach=0.0, approval_levels=0,
    need_drift=0.0, socialization_mode="gradual", code_learning_basis="actions",
    steps=1_000_000)
MAX_STEPS = 5000


def code_knowledge(model: OrganizationModel) -> float:
    """March's knowledge score of the code: (right - wrong) / m."""
    b = model.beliefs
    return float((b.code.astype(np.int64) * b.need).sum() / b.m)


def settled(model: OrganizationModel) -> bool:
    """Equilibrium: everyone holds the code's beliefs and no one could beat the code."""
    b = model.beliefs
    if not (b.practice == b.code).all():
        return False
    best = (b.practice.astype(np.int64) * b.need).sum(axis=1) + (b.practice == 0).sum(axis=1)
    return bool((best <= (b.code.astype(np.int64) * b.need).sum()).all())


def equilibrium(p1: float, p2: float, slow_share: float, seed: int) -> dict:
    """Equilibrium knowledge of the code (fast learners at p1, slow ones at 0.1)."""
    model = OrganizationModel(rng=seed, **MARCH, socialization_rate=p1, codification_rate=p2,
                              slow_learner_share=slow_share, slow_socialization_rate=0.1)
    while model.steps < MAX_STEPS and not settled(model):
        model.step()
    return {"knowledge": code_knowledge(model), "steps_to_equilibrium": int(model.steps)}


def turbulent(p3: float, steps: int, seed: int) -> dict:
    """Mean code knowledge over the second half of a run with turbulence 0.02 (p1 = p2 = 0.5)."""
    model = OrganizationModel(rng=seed, **{**MARCH, "need_drift": 0.02}, socialization_rate=0.5,
                              codification_rate=0.5, turnover_rate=p3)
    knowledge = []
    for _ in range(steps):
        model.step()
        knowledge.append(code_knowledge(model))
    return {"knowledge": float(np.mean(knowledge[steps // 2:]))}


def run(plan: Plan) -> Outcome:
    reps = plan.pick(24, 200)
    seeds = experiment_seeds(plan.seed, "march", reps)
    grid = [{"p1": p1, "p2": p2, "slow_share": 0.0} for p2 in RATES for p1 in RATES]
    mixes = [{"p1": 0.9, "p2": 0.5, "slow_share": s} for s in (0.2, 0.5, 0.8, 1.0)]
    runs = replicate(equilibrium, grid + mixes, seeds, plan.workers)
    turnover_levels = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5)
    turb_seeds = seeds[: plan.pick(10, 60)]
    turb = replicate(turbulent, [{"p3": p3, "steps": 200} for p3 in turnover_levels],
                     turb_seeds, plan.workers)
    runs["experiment"] = np.where(runs["slow_share"] > 0, "fast and slow learners", "figure 1")
    turb["experiment"] = "turnover under turbulence"

    fig1 = runs[runs.slow_share == 0].groupby(["p1", "p2"])["knowledge"].agg(["mean", "sem"])
    k = fig1["mean"]
    # 3 standard errors of a cell's mean (the largest over cells); the reference values
    # come from 10,000 runs a cell, so their own error is negligible
    tolerance = max(0.02, 3 * float(fig1["sem"].max()))
    gaps = {key: abs(k[key] - ref) for key, ref in REFERENCE.items()}
    mix = runs[(runs.p2 == 0.5) & (runs.p1 == 0.9)].groupby("slow_share")["knowledge"].mean()
    by_p3 = turb.groupby("p3")["knowledge"].mean()
    best_p3 = float(by_p3.idxmax())
    table_rows = [{"p1": p1, "p2": p2, "march_reference": REFERENCE[(p1, p2)],
                   "model_mean": k[(p1, p2)], "model_sem": fig1["sem"][(p1, p2)]}
                  for p2 in RATES for p1 in RATES]
    checks = [
        Check("Figure 1 values", "equilibrium knowledge for p1, p2 in {0.1, 0.5, 0.9} "
              "(table below)", f"largest gap {max(gaps.values()):.3f}",
              f"each within {tolerance:.3f}: 3 standard errors of a {reps}-run mean "
              "(largest over cells)",
              all(g <= tolerance for g in gaps.values())),
        Check("knowledge falls as p1 rises", "p1 = 0.1 > 0.5 > 0.9 at p2 = 0.5 and 0.9",
              "; ".join(" > ".join(fmt(k[(p1, p2)]) for p1 in RATES) for p2 in (0.5, 0.9)),
              "strictly", all(k[(0.1, p2)] > k[(0.5, p2)] > k[(0.9, p2)] for p2 in (0.5, 0.9))),
        Check("slow socialization helps most when the code learns fast",
              "gain from p1 = 0.9 to 0.1 larger at p2 = 0.9 than at p2 = 0.1",
              f"{k[(0.1, 0.9)] - k[(0.9, 0.9)]:.3f} vs {k[(0.1, 0.1)] - k[(0.9, 0.1)]:.3f}",
              "larger by 0.1", bool(k[(0.1, 0.9)] - k[(0.9, 0.9)]
                                    > k[(0.1, 0.1)] - k[(0.9, 0.1)] + 0.1)),
        Check("a mix of fast and slow learners beats a uniform rate",
              "half at p1 = 0.9, half at 0.1 beats everyone at the mean rate 0.5 (p2 = 0.5)",
              f"{mix[0.5]:.3f} vs {k[(0.5, 0.5)]:.3f}", "higher",
              bool(mix[0.5] > k[(0.5, 0.5)])),
        Check("mix against all slow (not a criterion)",
              "March's Figure 2 (code knowledge against the number of slow learners)",
              ", ".join(f"{s:.0%} slow: {mix[s]:.3f}" for s in mix.index),
              "in the model, knowledge rises steadily with the share of slow learners", None),
        Check("moderate turnover helps under turbulence",
              "with turbulence 0.02, some turnover keeps the code more knowledgeable than none",
              f"best p3 = {best_p3:g}: {by_p3.max():.3f}; p3 = 0: {by_p3[0.0]:.3f}; "
              f"p3 = 0.5: {by_p3[0.5]:.3f}",
              "best p3 in (0, 0.5) and above p3 = 0 by 0.1",
              bool(0 < best_p3 < 0.5 and by_p3.max() > by_p3[0.0] + 0.1)),
    ]
    figure = go.Figure()
    for p2, color in zip(RATES, ("#1f77b4", "#2ca02c", "#9467bd"), strict=True):
        figure.add_trace(go.Scatter(x=list(RATES), y=[k[(p1, p2)] for p1 in RATES],
                                    line={"color": color},
                                    error_y={"array": [1.96 * fig1["sem"][(p1, p2)]
                                                       for p1 in RATES]},
                                    mode="lines+markers", name=f"model, p2 = {p2}"))
        figure.add_trace(go.Scatter(x=list(RATES), y=[REFERENCE[(p1, p2)] for p1 in RATES],
                                    mode="markers",
                                    marker={"symbol": "x", "size": 10, "color": color},
                                    name=f"March (replicated), p2 = {p2}"))
    figure.update_layout(title="March (1991) Figure 1: equilibrium knowledge of the code",
                         xaxis_title="socialization rate p1",
                         yaxis_title="equilibrium knowledge (right - wrong) / m")
    table = pd.concat([runs, turb], ignore_index=True)
    return Outcome(
        "march", "March (1991) exploration and exploitation", SOURCES, checks, table, figure,
        {**{k_: v for k_, v in MARCH.items() if k_ != "steps"},
         "socialization_rate": "p1", "codification_rate": "p2",
         "slow_socialization_rate": 0.1, "slow_learner_share": [0.2, 0.5, 0.8, 1.0],
         "turnover_rate": list(turnover_levels), "turbulence runs": "need_drift = 0.02, "
         "p1 = p2 = 0.5, 200 steps, mean of steps 100-200", "replications": reps,
         "turbulence replications": len(turb_seeds)},
        __doc__.split("\n", 2)[2].strip(),
        notes=("Figure 1 table (model against March):\n\n"
               + markdown_table(pd.DataFrame(table_rows))),
        seeds=seeds, extra_tables={"march_figure1": pd.DataFrame(table_rows)})


EXPERIMENT = Experiment("march", "March (1991) exploration and exploitation", run)
