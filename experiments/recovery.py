"""Parameter recovery: does a calibration find parameters the data were made with?

Each trial draws true values of the fitted parameters from their priors (seeded), runs
the model once at them (an organization "measured": its own seed), and turns that run
into measurements as a client would report them: an engagement survey of
``respondents`` people (multinomial draws from the run's three shares) and the idea
system's count over the run (ideas born, exposure employees x years). One calibration
bank (the prior points of :mod:`experiments.calibration`, simulated once) is then
weighted by each trial's likelihood; the trial recovers a parameter when its true value
lies inside the posterior's 90% interval (5th..95th weighted percentile). The target:
at least 8 of 10 trials recover every parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.calibration import (
    calibrate,
    observe,
    posterior,
    target_loglik,
    weighted_quantile,
)
from experiments.targets import SURVEY_CATEGORIES, Targets, parse_targets, read_priors
from model.organization import OrganizationModel
from scenarios.settings import load_setting

PRIORS = {"motive_mean": {"low": 0.5, "high": 0.95},
          "customer_problem_rate": {"low": 0.03, "high": 0.3, "log": True}}
RESPONDENTS = 300
WEEKS_PER_YEAR = 52.0


@dataclass(frozen=True)
class Plan:
    setting: str = "hierarchical"
    employees: int = 120
    steps: int = 52
    budget: int = 512
    replications: int = 2
    trials: int = 10
    seed: int = 2026
    workers: int = 1
    respondents: int = RESPONDENTS  # of the survey each trial's organization answers


def measured_targets(plan: Plan, truth: dict[str, float], data_seed: int) -> Targets:
    """The measurements of one organization run at ``truth`` (seeded)."""
    setting = load_setting(plan.setting)
    params = setting.parameters({"n_employees": plan.employees, "steps": plan.steps, **truth})
    model = OrganizationModel(params, rng=data_seed).run()
    seen = observe(model, 0.7, 0.5)
    rng = np.random.default_rng(data_seed)
    shares = np.array([max(seen[f"{k}_share"], 0.0) for k in SURVEY_CATEGORIES])
    counts = rng.multinomial(plan.respondents, shares / shares.sum())
    years = plan.steps / WEEKS_PER_YEAR
    content = {
        "description": f"recovery: {plan.setting} at {truth} (data seed {data_seed})",
        "calibration": {"replications": plan.replications, "budget": plan.budget,
                        "seed": plan.seed, "employees": plan.employees, "steps": plan.steps},
        "parameters": PRIORS,
        "survey": {**{k: float(c / plan.respondents) for k, c in zip(SURVEY_CATEGORIES,
                                                                     counts, strict=True)},
                   "respondents": plan.respondents},
        "ideas": {"employees": plan.employees, "years": years,
                  "submitted": int(round(seen["ideas_per_employee_year"] * plan.employees
                                         * years))},
    }
    return parse_targets(content, f"recovery trial (data seed {data_seed})")


def truths(plan: Plan) -> list[dict[str, float]]:
    """True values of each trial: seeded draws from the priors."""
    rng = np.random.default_rng(np.random.SeedSequence([plan.seed, 90]))
    priors = read_priors("recovery", PRIORS)
    found = []
    for _ in range(plan.trials):
        point = {}
        for p in priors:
            u = rng.random()
            point[p.name] = float(np.exp(np.log(p.low) + u * np.log(p.high / p.low)) if p.log
                                  else p.low + u * (p.high - p.low))
        found.append(point)
    return found


def run_recovery(plan: Plan, out: Path) -> pd.DataFrame:
    """One row per trial and parameter: truth, posterior interval, covered, ESS."""
    true_values = truths(plan)
    data_seeds = [int(s) for s in np.random.SeedSequence([plan.seed, 91]).generate_state(
        plan.trials, dtype=np.uint32)]
    measured = [measured_targets(plan, t, s) for t, s in zip(true_values, data_seeds,
                                                             strict=True)]
    # one bank of simulated prior points serves every trial (the likelihood differs)
    fit, _ = calibrate(plan.setting, measured[0], out, budget=plan.budget,
                       workers=plan.workers)
    bank = fit.trials
    models = [{c.removeprefix("model:"): v for c, v in row.items() if c.startswith("model:")}
              for row in bank.to_dict("records")]
    rows = []
    for k, (truth, targets) in enumerate(zip(true_values, measured, strict=True)):
        loglik = np.array([sum(target_loglik(t, model) for t in targets.targets)
                           for model in models])
        trial_fit = posterior(bank.assign(loglik=loglik), targets)
        w = trial_fit.trials["weight"].to_numpy()
        for name, value in truth.items():
            x = bank[name].to_numpy(dtype=float)
            lo, hi = weighted_quantile(x, w, 0.05), weighted_quantile(x, w, 0.95)
            rows.append({"trial": k, "parameter": name, "truth": value, "q05": lo, "q95": hi,
                         "posterior_mean": float(np.sum(w * x)),
                         "covered": bool(lo <= value <= hi), "ess": trial_fit.ess,
                         "data_seed": data_seeds[k]})
    return pd.DataFrame(rows)


def recovered_trials(table: pd.DataFrame) -> int:
    """Trials whose 90% intervals hold every parameter's true value."""
    return int(table.groupby("trial")["covered"].all().sum())
