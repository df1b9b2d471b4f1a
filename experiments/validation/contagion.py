"""Complex contagion (Centola & Macy 2007; Centola 2010): clustered against random ties.

Only informal ties exist (``formal_structure = "none"`` and ``formal_tie_strength = 0``,
so work groups carry no conversations either): a ring lattice where each
employee knows their ``informal_degree`` nearest neighbours (rewiring 0, clustered) or
the same ring with every tie rewired (rewiring 1, random, same degree). One idea (the
tracer) is planted at step 0; as in Centola & Macy, its originator's informal
neighbours start using it too. "Further" is the share of runs in which the idea
takes off (reaches 10% of employees) within the run. Speed is the median number of
steps until 10% of employees use the idea (runs that never get there count as the
whole run); on a ring the front of a complex contagion moves at a constant speed, so
the time to 50% grows with the size of the organization. Adoption needs
``adoption_threshold`` exposures from distinct speakers: 2 (complex) or 1 (simple).
Nothing else moves beliefs.
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
    replicate,
)
from model.analysis import probe_curve
from model.organization import OrganizationModel
from model.processes.adoption import adopt_ideas

SOURCES = [
    "Centola, D. & Macy, M. (2007). Complex contagions and the weakness of long ties. "
    "American Journal of Sociology 113(3), 702-734.",
    "Centola, D. (2010). The spread of behavior in an online social network experiment. "
    "Science 329(5996), 1194-1197.",
]
CONTAGION = dict(
    formal_structure="none", formal_tie_strength=0.0, informal_network="small_world",
    informal_degree=6,
    power_distance=0.0, lateral_openness=1.0, value_weight=0.0, influence_weight=0.0,
    unsanctioned_risk=0.0, adoption_propensity=0.5, customer_problem_rate=0.0,
    need_drift=0.0, socialization_rate=0.0, codification_rate=0.0, codify_share=1.0,
    idea_forum_reach=0.0, probe_idea_step=0)
NETWORKS = {"clustered": 0.0, "random": 1.0}
REACH = 0.1  # speed: steps until 10% use the idea (a ring's front moves at constant speed)


def seed_neighbourhood(model: OrganizationModel) -> None:
    """The tracer's originator's informal neighbours start using it (initial condition)."""
    probe = int(np.flatnonzero(model.ideas.is_probe[: model.ideas.n])[0])
    origin = int(model.ideas.origin[probe])
    net = model.network
    neighbours = np.unique(net.target[net.indptr[origin]: net.indptr[origin + 1]])
    neighbours = neighbours[neighbours != origin]
    adopt_ideas(model, neighbours, np.full(len(neighbours), probe))


def spread(n: int, steps: int, network: str, threshold: int, seed: int) -> dict:
    """Final reach of the tracer and the steps it took to reach half the organization."""
    model = OrganizationModel(rng=seed, n_employees=n, steps=steps,
                              informal_rewiring=NETWORKS[network],
                              adoption_threshold=threshold, **CONTAGION)
    seed_neighbourhood(model)
    curve = probe_curve(model.run())
    reached = np.flatnonzero(curve >= REACH)
    return {"final_share": float(curve[-1]),
            "t_reach": float(reached[0]) if len(reached) else np.nan, "curve": curve}


def censored_median(steps: pd.Series, horizon: int) -> float:
    """Median steps to the reach, runs that never got there counted as the horizon."""
    return float(steps.fillna(horizon).median())


def run(plan: Plan) -> Outcome:
    n, steps, reps = plan.pick((1000, 400, 3), (1000, 400, 12))
    seeds = experiment_seeds(plan.seed, "contagion", reps)
    points = [{"n": n, "steps": steps, "network": net, "threshold": th}
              for th in (2, 1) for net in NETWORKS]
    runs = replicate(spread, points, seeds, plan.workers)
    summary = runs.groupby(["threshold", "network"]).agg(
        final_share=("final_share", "mean"),
        took_off=("t_reach", lambda s: float(s.notna().mean())),
        t_reach=("t_reach", lambda s: censored_median(s, steps)))
    cx, sx = summary.loc[2], summary.loc[1]
    checks = [
        Check("complex: clustered spreads further", "share of runs in which the idea takes "
              "off (reaches 10%): clustered > random",
              f"{cx.loc['clustered', 'took_off']:.2f} vs {cx.loc['random', 'took_off']:.2f}",
              "by at least 0.2", bool(cx.loc["clustered", "took_off"]
                                      > cx.loc["random", "took_off"] + 0.2)),
        Check("complex: mean reach (not a criterion)", "share using the idea at the end",
              f"clustered {cx.loc['clustered', 'final_share']:.2f}, random "
              f"{cx.loc['random', 'final_share']:.2f}",
              f"a ring's front covers only part of {n} employees in {steps} steps, while a "
              "random network that takes off reaches everyone", None),
        Check("complex: clustered spreads faster", "median steps to 10%: clustered < random",
              f"{fmt(cx.loc['clustered', 't_reach'], 0)} vs {fmt(cx.loc['random', 't_reach'], 0)}",
              f"strictly (never = {steps})",
              bool(cx.loc["clustered", "t_reach"] < cx.loc["random", "t_reach"])),
        Check("simple: random spreads faster", "median steps to 10%: random < clustered",
              f"{fmt(sx.loc['random', 't_reach'], 0)} vs {fmt(sx.loc['clustered', 't_reach'], 0)}",
              "strictly", bool(sx.loc["random", "t_reach"] < sx.loc["clustered", "t_reach"])),
    ]
    curves = []
    figure = go.Figure()
    for (th, net), group in runs.groupby(["threshold", "network"]):
        mean = np.mean(np.vstack(group["curve"].to_list()), axis=0)
        label = f"{'complex' if th > 1 else 'simple'}, {net}"
        figure.add_trace(go.Scatter(x=np.arange(len(mean)), y=mean, mode="lines", name=label,
                                    line={"dash": "solid" if th > 1 else "dot"}))
        curves.append(pd.DataFrame({"threshold": th, "network": net,
                                    "step": np.arange(len(mean)), "mean_share": mean}))
    figure.update_layout(title="Complex contagion: clustered against random ties (same degree)",
                         xaxis_title="step", yaxis_title="share using the idea (mean)")
    table = runs.drop(columns="curve")
    return Outcome(
        "contagion", "Complex contagion on clustered and random networks", SOURCES, checks,
        table, figure,
        {**CONTAGION, "n_employees": n, "steps": steps,
         "informal_rewiring": "0 (clustered) or 1 (random)",
         "adoption_threshold": "2 (complex) or 1 (simple)", "replications": reps},
        __doc__.split("\n", 2)[2].strip(), seeds=seeds,
        notes=("Mean adoption curves: docs/validation/contagion_curves.csv. The random "
               "network's failure depends on the seed being small against the organization: "
               "in trials with 400 employees, the 7 seeded users sometimes shared enough "
               "random contacts to start a cascade."),
        extra_tables={"contagion_curves": pd.concat(curves, ignore_index=True)})


EXPERIMENT = Experiment("contagion", "Complex contagion on clustered and random networks", run)
