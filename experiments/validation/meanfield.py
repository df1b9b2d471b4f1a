"""Mean-field baseline for coasting: what effort, detection and sanction chances give alone.

Without the network: everyone sees the population's mean commitment and effort as their
norms (no local conversations, no peers' work witnessed in conversation), expects the
sanction risk their position gives on average (the manager's active watching and passive
sight, unit colleagues' sight, times the sanction powers), and draws effort noise
independently each step. Per employee (traits and positions of the same organization
at step 0):

- commitment c = (1 - peer_influence) own + peer_influence mean(c), minus the steady
  loss sanction_commitment_loss x P(sanctioned) / commitment_adaptation;
- effort mean mu = (1 - peer_influence) c + peer_influence mean(mu)
  - effort_cost (1 - min(1, sanction_severity x risk)); coasting chance
  p = Phi((coasting_threshold - mu) / effort_noise);
- a spell is noticed each step with chance n (an able observer sees it), so the steady
  chance of a hidden spell is h = p (1 - n)(1 - p) / (1 - p + p n).

Hidden coasting and coasting from this fixed point stand beside the model's (same
organization, averaged over the summary window), so what the agent-based dynamics
(local norms, conversations, who happens to see whom) add is visible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.stats import norm

from experiments.runner import run_once
from experiments.statistics import logit_interval
from experiments.validation.core import (
    Check,
    Experiment,
    Outcome,
    Plan,
    experiment_seeds,
    markdown_table,
    replicate,
)
from model.organization import OrganizationModel
from scenarios.settings import load_setting

SOURCES = ["Issue 12: a baseline without the network, so readers see what the agent-based "
           "dynamics add."]
SETTINGS = ("hierarchical", "shared_authority")


def mean_field(model: OrganizationModel, iterations: int = 500) -> dict[str, float]:
    """Steady coasting and hidden coasting shares of the mean field (see the docstring)."""
    p, people, s = model.p, model.people, model.structure
    pos = people.position
    boss = s.parent[pos]
    has_manager = boss >= 0
    opportunity = p.autonomy + has_manager * p.manager_support * (1 - p.autonomy)
    own = np.cbrt(people.motive * people.skill * opportunity)
    watched = np.where(has_manager, np.minimum(1.0, p.monitoring_capacity
                                               / np.maximum(s.n_children[np.maximum(boss, 0)],
                                                            1)), 0.0)
    q_m = np.where(has_manager, 1 - (1 - watched) * (1 - p.work_visibility), 0.0)
    q_p = 1 - (1 - p.work_visibility) ** (s.unit_size[pos] - 1)
    mp, pp = p.manager_sanction_power, p.peer_sanction_power
    # expected risk E[min(1, Bm mp + Bp pp)] and chance of a sanction when coasting
    risk = (q_m * (1 - q_p) * min(1, mp) + (1 - q_m) * q_p * min(1, pp)
            + q_m * q_p * min(1, mp + pp))
    sanction = 1 - (1 - q_m * mp) * (1 - q_p * pp)
    noticed = 1 - (1 - q_m * (mp > 0)) * (1 - q_p * (pp > 0))
    deterrence = np.minimum(1.0, p.sanction_severity * risk)
    c, mu = own.copy(), own.copy()
    pi = p.peer_influence
    for _ in range(iterations):
        coast = norm.cdf((p.coasting_threshold - mu) / max(p.effort_noise, 1e-9))
        loss = (p.sanction_commitment_loss * coast * sanction / p.commitment_adaptation
                if p.commitment_adaptation > 0 else 0.0)
        c_new = np.maximum(0.0, (1 - pi) * own + pi * c.mean() - loss)
        mu_new = (1 - pi) * c_new + pi * mu.mean() - p.effort_cost * (1 - deterrence)
        if np.allclose(c_new, c) and np.allclose(mu_new, mu):
            break
        c, mu = c_new, mu_new
    coast = norm.cdf((p.coasting_threshold - mu) / max(p.effort_noise, 1e-9))
    hidden = coast * (1 - noticed) * (1 - coast) / (1 - coast + coast * noticed)
    return {"coasting_share": float(coast.mean()), "hidden_coasting_share": float(hidden.mean())}


def paired_run(setting: str, n: int, steps: int, seed: int) -> dict:
    """The model's coasting and the mean field's, for the same organization and seed."""
    params = load_setting(setting).parameters({"n_employees": n, "steps": steps})
    field = mean_field(OrganizationModel(params, rng=seed))
    summary = run_once(params, seed, setting).summary
    return {"model_coasting": summary["coasting_share"],
            "model_hidden": summary["hidden_coasting_share"],
            "field_coasting": field["coasting_share"],
            "field_hidden": field["hidden_coasting_share"]}


def run(plan: Plan) -> Outcome:
    n, steps, reps = plan.pick((300, 100, 3), (500, 200, 20))
    seeds = experiment_seeds(plan.seed, "meanfield", reps)
    runs = replicate(paired_run, [{"setting": s, "n": n, "steps": steps} for s in SETTINGS],
                     seeds, plan.workers)
    rows, checks = [], []
    for setting, group in runs.groupby("setting", sort=False):
        for what, label in (("coasting", "coasting share"), ("hidden", "hidden coasting share")):
            model_mean, _, lo, hi = logit_interval(group[f"model_{what}"].to_numpy(float))
            field_mean = float(group[f"field_{what}"].mean())
            rows.append({"setting": setting, "metric": label, "model": model_mean,
                         "model_ci_low": lo, "model_ci_high": hi, "mean_field": field_mean,
                         "model / mean field": (model_mean / field_mean if field_mean > 0
                                                else np.nan)})
            checks.append(Check(f"{label}, {setting}", "model beside its mean field",
                                f"{model_mean:.3f} [{lo:.3f}, {hi:.3f}], mean field "
                                f"{field_mean:.3f}", "reported, not a criterion", None))
    table = pd.DataFrame(rows)
    figure = go.Figure()
    for column, name in (("model", "agent-based model (mean, 95% CI)"),
                         ("mean_field", "mean field (no network)")):
        figure.add_trace(go.Scatter(
            x=[f"{r.setting}: {r.metric}" for r in table.itertuples()], y=table[column],
            mode="markers", name=name, marker={"symbol": "circle" if column == "model" else "x"},
            error_y={"type": "data", "array": (table["model_ci_high"] - table["model"])}
            if column == "model" else None))
    figure.update_layout(title="Coasting: the model beside its mean field",
                         yaxis_title="share of employees")
    return Outcome(
        "meanfield", "Mean-field baseline for coasting", SOURCES, checks, runs, figure,
        {"settings": ", ".join(SETTINGS), "n_employees": n, "steps": steps,
         "replications": reps}, __doc__.split("\n", 2)[2].strip(),
        notes="The model and its mean field side by side:\n\n" + markdown_table(table)
        + f"\n\nReplications: {reps} per setting; the mean field is deterministic given the "
        "organization, so the model's interval (its 95% CI above) carries all the sampling "
        "noise of the comparison.",
        seeds=seeds, extra_tables={"meanfield_summary": table})


EXPERIMENT = Experiment("meanfield", "Mean-field baseline for coasting", run)
