"""Calibration: fit a setting's parameters to measured targets, with a posterior.

The search is adaptive (experiments/smc.py): generations of ``population`` points,
the first a scrambled Sobol sample of the priors, each later one proposed by pyabc's
Gaussian transition kernel fitted to the earlier points weighted for a tempered posterior
(the temperature rises to 1 as fast as their effective sample size allows). The posterior
pools every point with importance weights (prior x likelihood / proposal mixture),
resampled into ``POSTERIOR_DRAWS`` draws; its effective sample size (ESS), reported per
generation, says how far to trust it. Points are queued in an Optuna study kept in a
journal file in the output directory, so a calibration killed at any moment (kill -9
included) resumes where it stopped: finished points stay, points left running are queued
again. Each point runs ``replications`` seeded simulations on local processes or a Dask
cluster; its likelihood is the mean of its runs' likelihoods of all the data
(:data:`LIKELIHOOD`; experiments/targets.py declares the likelihoods and the map from the
model). A point's values depend only on the
finished earlier generations and its own index, its seeds on the root seed and its index:
points and results are the same on any number of workers, in any order of completion and
after any resume.

Outputs in DIR (:func:`write_outputs`; the fit page by dashboards/calibration_page.py):
calibrated.toml, posterior.parquet, trials.parquet, generations.csv, fit.html,
manifest.json; the Optuna journal and _inputs.json hold the search itself (our own
files: nothing in DIR is unpickled).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from experiments import smc
from experiments.outputs import atomic_write, output_lock
from experiments.provenance import provenance
from experiments.targets import (
    DISENGAGED_BELOW,
    ENGAGED_AT,
    MAPPINGS,
    SURVEY_CATEGORIES,
    Prior,
    Target,
    Targets,
)
from model.errors import ParameterError
from model.parameters import Parameters

JOURNAL = "optuna.journal"
STUDY = "calibration"
MANIFEST = "manifest.json"
POSTERIOR_DRAWS = 1000
DEFAULT_BUDGET = 200
DEFAULT_POPULATION = 50  # points per generation
DEFAULT_REPLICATIONS = 2
WEEKS_PER_YEAR = 52.0
LIKELIHOOD_METHOD = "mean of the runs' likelihoods"  # in _inputs.json: a resume must match
LIKELIHOOD = ("pseudo-marginal: each run's likelihood of all the data given its own "
              "observables, averaged over the point's replications (log-mean-exp of the "
              "runs' log-likelihoods), an unbiased estimate of p(data | parameters) that "
              "integrates over the model's run-to-run variability")
LOW_ESS = 50.0  # fewer effective points: a 90% interval (5th..95th percentile) rests on
# fewer than ~3 points in each tail, too coarse to trust


# --- one point (executed on workers) -------------------------------------------------------
@dataclass(frozen=True)
class PointTask:
    """One parameter point: its resolved parameters and the seeds of its replications."""

    number: int  # the point's index (generation x population + rank)
    parameters: Parameters
    seeds: tuple[int, ...]
    survey: tuple[float, float]  # (engaged_at, disengaged_below)
    model: str | None = None  # an extension as module:Class (imported on the worker)
    chart: Any = None  # the setting's imported org chart, if any
    roadmap: Any = None  # the setting's roadmap, if any
    observables: tuple[str, ...] | None = None  # what the targets compare (None: all)


def observe(model: Any, engaged_at: float, disengaged_below: float,
            observables: tuple[str, ...] | None = None) -> dict[str, float]:
    """What a calibration compares: the run summary plus the survey shares and attrition.
    With ``observables`` (the targets'), costly summary numbers none of them names (the
    Bass fit, the realized network's clustering and centralization) are left out."""
    summary = model.summary(observables)
    values = {k: float("nan") if v is None else float(v) for k, v in summary.items()
              if k != "seed" and (v is None or isinstance(v, int | float))}
    commitment = model.people.commitment
    engaged = float(np.mean(commitment >= engaged_at))
    disengaged = float(np.mean(commitment < disengaged_below))
    values.update({"engaged_share": engaged, "actively_disengaged_share": disengaged,
                   "not_engaged_share": 1.0 - engaged - disengaged})
    leavers = sum(getattr(p, "leavers", 0) for p in model.processes if p.name == "turnover")
    years = max(int(model.steps), 1) / WEEKS_PER_YEAR
    values["attrition_per_year"] = leavers / model.people.n / years
    return values


def simulate_point(task: PointTask) -> tuple[int, list[dict[str, float]]]:
    """Run a point's replications; one dict of observables each (worker entry point)."""
    from experiments.plugins import load_model_class

    model_class = load_model_class(task.model)
    return task.number, [observe(model_class(task.parameters, rng=seed, chart=task.chart,
                                             roadmap=task.roadmap).run(), *task.survey,
                                 task.observables)
                         for seed in task.seeds]


def observable_names(model_class: type | None = None) -> set[str]:
    """Every observable a target may name: the summary's numeric metrics (of
    ``model_class``, an extension, if given) and ours."""
    from model.organization import OrganizationModel
    from model.parameters import make_parameters

    model_class = model_class or OrganizationModel
    tiny = make_parameters({"n_employees": 12, "steps": 2, "informal_degree": 4,
                            "probe_idea_step": -1},
                           parameters_class=getattr(model_class, "parameters_class", None))
    return set(observe(model_class(tiny, rng=0).run(), ENGAGED_AT, DISENGAGED_BELOW))


def point_seeds(root: int, point: int, replications: int) -> tuple[int, ...]:
    """Seeds of a point's replications: from the root seed and the point's index only."""
    state = np.random.SeedSequence([root, point]).generate_state(replications, dtype=np.uint32)
    return tuple(int(s) for s in state)


# --- likelihoods -----------------------------------------------------------------------------
def _clip(p: float, lo: float = 1e-4) -> float:
    return min(max(p, lo), 1 - lo)


def target_loglik(target: Target, observed: dict[str, float]) -> float:
    """Log-likelihood of a target's data given one run's observables."""
    from scipy import stats

    d = target.data
    if target.kind == "survey":
        shares = np.array([_clip(observed[f"{k}_share"]) for k in SURVEY_CATEGORIES])
        alpha = d["concentration"] * shares / shares.sum()
        counts = np.array([d[f"count_{k}"] for k in SURVEY_CATEGORIES])
        return float(stats.dirichlet_multinomial.logpmf(counts, alpha, int(d["respondents"])))
    if target.kind == "poisson":
        mu = max(observed[target.observables[0]] * d["exposure"], 1e-3)
        return float(stats.poisson.logpmf(int(d["count"]), mu))
    if target.kind == "betabinomial":
        p, c = _clip(observed[target.observables[0]]), d["concentration"]
        return float(stats.betabinom.logpmf(int(d["successes"]), int(d["trials"]), p * c,
                                            (1 - p) * c))
    return float(stats.norm.logpdf(observed[target.observables[0]], d["mean"], d["sd"]))


def mean_observables(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = set.intersection(*(set(r) for r in runs))
    return {k: float(np.mean([r[k] for r in runs])) for k in sorted(keys)}


def log_mean_exp(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """log(mean(exp(values))) along ``axis``, without overflow (-inf where all are -inf)."""
    from scipy.special import logsumexp

    values = np.asarray(values, dtype=float)
    return logsumexp(values, axis=axis) - np.log(values.shape[axis])


def point_logliks(targets: Targets, runs: list[dict[str, float]]) -> tuple[float,
                                                                          dict[str, float],
                                                                          list[float]]:
    """A point's log-likelihood, averaged over its replications (pseudo-marginal).

    Each run gets the log-likelihood of all the data given its own observables (the sum
    over targets); the point's is log-mean-exp over runs, the log of an unbiased estimate
    of p(data | parameters) that integrates over the model's run-to-run variability.
    Returns that total, each target's own log-mean-exp over runs (shown, not summed: the
    targets of one run are not independent) and each run's total."""
    per_run = np.array([[target_loglik(t, run) for t in targets.targets] for run in runs])
    totals = per_run.sum(axis=1)
    by_target = log_mean_exp(per_run, axis=0)
    return (float(log_mean_exp(totals)),
            {t.name: float(v) for t, v in zip(targets.targets, by_target, strict=True)},
            [float(v) for v in totals])


# --- the search (Optuna) -------------------------------------------------------------------
def _distributions(priors: tuple[Prior, ...]) -> dict[str, Any]:
    from optuna.distributions import FloatDistribution, IntDistribution

    return {p.name: IntDistribution(int(p.low), int(p.high), log=p.log) if p.integer
            else FloatDistribution(p.low, p.high, log=p.log) for p in priors}


#: The study of the calibration this process is writing (held under its output's lock):
#: loading a journal replays every record in it (about 1 s at 2,000 points), and the search
#: opens it twice a generation.
_KEPT: dict[Path, Any] = {}


@contextmanager
def study_kept_open(out: Path):
    """Within the block, :func:`open_study` of ``out`` loads its journal once; the caller
    holds ``out``'s lock (no other writer), and the study still reads what others append."""
    key = Path(out).resolve()
    _KEPT[key] = None
    try:
        yield
    finally:
        _KEPT.pop(key, None)


def open_study(out: Path) -> Any:
    """The study in ``out``'s journal file (created, or loaded to resume)."""
    key = Path(out).resolve()
    if _KEPT.get(key) is not None:
        return _KEPT[key]
    study = _load_study(out)
    if key in _KEPT:
        _KEPT[key] = study
    return study


def _load_study(out: Path) -> Any:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(out / JOURNAL)))
    return optuna.create_study(study_name=STUDY, storage=storage, direction="maximize",
                               sampler=optuna.samplers.RandomSampler(seed=0),
                               load_if_exists=True)


def prior_latents(priors: tuple[Prior, ...], count: int, seed: int) -> np.ndarray:
    """Generation 0: the first ``count`` points of a scrambled Sobol sequence (scipy's, as
    Optuna's QMCSampler draws them), in latent coordinates (experiments/smc.py)."""
    import warnings

    from scipy.stats import qmc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # balance wants a power of 2
        unit = qmc.Sobol(len(priors), scramble=True, seed=seed).random(count)
    return smc.to_latent(unit)


POINT = "point"  # user attribute: the point's index (generation x population + rank)
LATENT = "latent"  # user attribute: the point's latent coordinates


def enqueue_missing(study: Any, points: dict[int, dict[str, Any]]) -> int:
    """Queue every point of ``points`` (index -> values) not finished or queued yet; trials
    a killed calibration left running are marked failed and their points queued again
    (same values, same seeds). Returns how many points were queued again."""
    from optuna.trial import TrialState

    have: set[int] = set()
    requeued = 0
    for trial in study.get_trials(deepcopy=False):
        k = trial.user_attrs.get(POINT, trial.system_attrs.get("fixed_params", {}).get(POINT))
        if trial.state == TrialState.RUNNING:
            study.tell(trial.number, state=TrialState.FAIL)
            requeued += 1
        elif trial.state in (TrialState.COMPLETE, TrialState.WAITING) and k is not None:
            have.add(int(k))
    for k, point in points.items():
        if k not in have:
            study.enqueue_trial(point["values"], user_attrs={POINT: k, LATENT: point["latent"]},
                                skip_if_exists=False)
    return requeued


@dataclass
class Fit:
    """What a calibration found: every point tried and the posterior."""

    trials: pd.DataFrame  # one row per point: parameters, seeds, log-likelihoods, observables
    posterior: pd.DataFrame  # POSTERIOR_DRAWS draws of the parameters (resampled by weight)
    ess: float
    generations: pd.DataFrame | None = None  # smc.generation_table
    requeued: int = 0

    @property
    def trustworthy(self) -> bool:
        return self.ess >= LOW_ESS


def low_ess_warning(fit: Fit) -> str:
    """One line when the posterior rests on too few effective points ('' otherwise)."""
    if fit.trustworthy:
        return ""
    return (f"warning: effective sample size {fit.ess:.1f} < {LOW_ESS:.0f} points: the 90% "
            "intervals are not trustworthy; raise --budget (more generations) or narrow the "
            "priors")


@dataclass
class _Point:
    trial: Any
    index: int


def search(targets: Targets, out: Path, resolved: dict[int, tuple[Parameters, list[float]]], *,
           workers: int = 1, scheduler: str | None = None, done_before: int = 0,
           total: int | None = None, model: str | None = None, chart: Any = None,
           roadmap: Any = None, progress: Callable[[int, int], None] | None = None) -> int:
    """Run the points of ``resolved`` (index -> parameters, latent point) not finished in ``out``
    (resumes); return the points queued again. Progress counts from ``done_before`` to
    ``total`` (the whole budget). ``model``, ``chart``, ``roadmap``: as :class:`PointTask`."""
    seed = targets.option("seed", 2026)
    replications = targets.option("replications", DEFAULT_REPLICATIONS)
    survey = next((t for t in targets.targets if t.kind == "survey"), None)
    cuts = (survey.data["engaged_at"], survey.data["disengaged_below"]) if survey else (
        ENGAGED_AT, DISENGAGED_BELOW)
    from optuna.trial import TrialState

    wanted = set(resolved)
    study = open_study(out)
    requeued = enqueue_missing(study, {
        k: {"values": {p.name: getattr(params, p.name) for p in targets.priors},
            "latent": latent} for k, (params, latent) in resolved.items()})
    distributions = _distributions(targets.priors)
    done = _finished(study, wanted)
    total = total or len(wanted)
    if progress:
        progress(done_before + done, total)
    with _executor(workers, scheduler) as (submit, slots):
        pending: dict[Any, _Point] = {}
        while done < len(wanted):
            while len(pending) < 2 * slots and done + len(pending) < len(wanted):
                trial = study.ask(distributions)  # the next queued point, in order
                if POINT not in trial.user_attrs:  # nothing queued: never, by enqueue_missing
                    study.tell(trial, state=TrialState.FAIL)
                    raise RuntimeError(f"{out}: no queued point left for "
                                       f"{len(wanted) - done} runs")
                k = int(trial.user_attrs[POINT])
                if k not in wanted:  # queued by an earlier run with another budget
                    study.tell(trial, state=TrialState.FAIL)  # queued again if wanted
                    continue
                seeds = point_seeds(seed, k, replications)
                trial.set_user_attr("seeds", list(seeds))
                pending[submit(PointTask(k, resolved[k][0], seeds, cuts, model, chart,
                                         roadmap, tuple(_kept(targets))))] = _Point(trial, k)
            for future in _wait_any(pending, scheduler is not None):
                trial = pending.pop(future).trial
                _, runs = future.result()
                total, logliks, run_logliks = point_logliks(targets, runs)
                trial.set_user_attr("observed", mean_observables(runs))
                trial.set_user_attr("logliks", logliks)
                trial.set_user_attr("run_logliks", run_logliks)
                trial.set_user_attr("runs", [{k: r[k] for k in _kept(targets)} for r in runs])
                study.tell(trial, total)
                done += 1
                if progress:
                    progress(done_before + done, total)
    return requeued


def _finished(study: Any, wanted: set[int]) -> int:
    from optuna.trial import TrialState

    return sum(int(t.user_attrs[POINT]) in wanted for t in study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE,)))


def _kept(targets: Targets) -> list[str]:
    return sorted({o for t in targets.targets for o in t.observables})


def _wait_any(pending: dict, dask: bool) -> list:
    ready = [f for f in pending if isinstance(f, _Immediate)]
    if ready:
        return ready
    if dask:  # distributed.wait wants a default client; this one is not (as in sweeps)
        while not (done := [f for f in pending if f.done()]):
            time.sleep(0.01)
        return done
    return list(wait(list(pending), return_when=FIRST_COMPLETED).done)


class _Immediate:
    """A finished future (one worker: run in this process)."""

    def __init__(self, value: Any):
        self.value = value

    def result(self) -> Any:
        return self.value

    def done(self) -> bool:
        return True


@contextmanager
def _executor(workers: int, scheduler: str | None):
    """(submit, slots): local processes, a Dask cluster, or this process (1 worker)."""
    if scheduler:
        from experiments.sweep import cluster_slots, connect

        with connect(scheduler) as client:
            yield (lambda task: client.submit(simulate_point, task, pure=False),
                   cluster_slots(client))
        return
    if workers <= 1:
        yield (lambda task: _Immediate(simulate_point(task))), 1
        return
    from experiments.runner import process_pool

    with process_pool(workers) as pool:
        yield (lambda task: pool.submit(simulate_point, task)), workers


# --- the posterior -----------------------------------------------------------------------------
def trials_table(out: Path, targets: Targets, budget: int | None = None) -> pd.DataFrame:
    """Every finished point among the first ``budget``, in index order (trial numbers are
    bookkeeping: a resumed point has a new one)."""
    from optuna.trial import TrialState

    study = open_study(out)
    population = targets.option("population", DEFAULT_POPULATION)
    rows = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        k = int(trial.user_attrs[POINT])
        if budget is not None and k >= budget:
            continue
        latent = trial.user_attrs[LATENT]
        rows.append({"point": k, "generation": int(smc.generation_of(k, population)),
                     "trial": trial.number, **trial.params,
                     **dict(zip(smc.latent_names(targets.priors), latent, strict=True)),
                     "seeds": json.dumps(trial.user_attrs.get("seeds", [])),
                     "loglik": float(trial.value),
                     "run_logliks": json.dumps(trial.user_attrs.get("run_logliks", [])),
                     **{f"loglik:{k}": v for k, v in trial.user_attrs["logliks"].items()},
                     **{f"model:{k}": v for k, v in trial.user_attrs["observed"].items()
                        if k in _kept(targets)}})
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise ParameterError(f"{out}: no finished points yet")
    return frame.sort_values("point", ignore_index=True)


def posterior(trials: pd.DataFrame, targets: Targets) -> Fit:
    """Importance weights of every point (adaptive proposals refitted from the table),
    resampled into POSTERIOR_DRAWS draws (seeded)."""
    population = targets.option("population", DEFAULT_POPULATION)
    w, schedule = smc.posterior_weights(trials, targets.priors, population)
    trials = trials.assign(weight=w)
    rng = np.random.default_rng(targets.option("seed", 2026))
    picks = rng.choice(len(trials), size=POSTERIOR_DRAWS, p=w)
    names = [p.name for p in targets.priors]
    draws = trials.iloc[picks][["point", *names]].reset_index(drop=True)
    draws.insert(0, "draw", np.arange(POSTERIOR_DRAWS))
    table = smc.generation_table(trials, targets.priors, population, schedule)
    return Fit(trials, draws, float(1.0 / np.sum(w ** 2)), table)


def weighted_quantile(values: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(w[order])
    return float(values[order][min(np.searchsorted(cum, q * cum[-1]), len(cum) - 1)])


def summary_rows(fit: Fit, targets: Targets) -> list[dict[str, Any]]:
    """Per parameter: prior range, posterior mean, median and 90% interval."""
    w = fit.trials["weight"].to_numpy()
    rows = []
    for prior in targets.priors:
        x = fit.trials[prior.name].to_numpy(dtype=float)
        rows.append({"parameter": prior.name, "prior_low": prior.low, "prior_high": prior.high,
                     "log": prior.log, "mean": float(np.sum(w * x)),
                     "median": weighted_quantile(x, w, 0.5),
                     "q05": weighted_quantile(x, w, 0.05), "q95": weighted_quantile(x, w, 0.95)})
    return rows


def measured(target: Target, observable: str) -> float:
    """The measured value on the observable's scale (a share, a rate or a mean)."""
    d = target.data
    if target.kind == "survey":
        return d[observable.removesuffix("_share")]
    if target.kind == "poisson":
        return d["count"] / d["exposure"]
    if target.kind == "betabinomial":
        return d["successes"] / d["trials"] if d["trials"] else float("nan")
    return d["mean"]


def target_rows(fit: Fit, targets: Targets) -> list[dict[str, Any]]:
    """Per observable a target compares: the measured value, and the model's (each point's
    value the mean of its runs) over the first generation (draws from the priors) and
    under the posterior weights: mean and 90% interval, with the points behind each (and
    the posterior's effective sample size: how many of them count)."""
    w = fit.trials["weight"].to_numpy()
    first = fit.trials["generation"].to_numpy() == 0
    reps = targets.option("replications", DEFAULT_REPLICATIONS)
    rows = []
    for target, observable, x in compared(fit, targets):
        ok = np.isfinite(x)
        prior, weighted = ok & first, ok & (w > 0)
        wx = w[weighted] / w[weighted].sum() if weighted.any() else w[weighted]
        nan = float("nan")
        rows.append({
            "target": target.name, "observable": observable,
            "measured": measured(target, observable),
            "prior_mean": float(x[prior].mean()) if prior.any() else nan,
            "prior_points": int(prior.sum()),
            "posterior_mean": float(np.sum(wx * x[weighted])) if weighted.any() else nan,
            "posterior_q05": weighted_quantile(x[weighted], wx, 0.05) if weighted.any() else nan,
            "posterior_q95": weighted_quantile(x[weighted], wx, 0.95) if weighted.any() else nan,
            "posterior_points": int(weighted.sum()), "posterior_ess": fit.ess,
            "runs_per_point": reps})
    return rows


def compared(fit: Fit, targets: Targets) -> Iterator[tuple[Target, str, np.ndarray]]:
    """Each (target, observable, the model's value at every point) the targets compare."""
    for target in targets.targets:
        for observable in target.observables:
            column = f"model:{observable}"
            if column in fit.trials:
                yield target, observable, fit.trials[column].to_numpy(dtype=float)


def calibrated_values(fit: Fit, targets: Targets) -> dict[str, Any]:
    """The posterior mean of each fitted parameter (rounded for an integer one)."""
    values = {}
    for row, prior in zip(summary_rows(fit, targets), targets.priors, strict=True):
        values[prior.name] = int(round(row["mean"])) if prior.integer else float(row["mean"])
    return values


# --- the whole command -------------------------------------------------------------------------
def is_calibration(out: Path) -> bool:
    return (Path(out) / JOURNAL).is_file() or (Path(out) / MANIFEST).is_file()


def check_same(out: Path, base: Parameters, targets: Targets,
               allow_version_change: bool = False) -> None:
    """A resume must fit the same targets to the same resolved setting, under the same
    model and package versions unless allowed (a larger budget is fine)."""
    import hashlib

    from experiments.sweep import check_versions

    path = Path(out) / "_inputs.json"
    wanted = {"setting": hashlib.sha256(base.model_dump_json().encode()).hexdigest(),
              "targets": targets.digest, "likelihood": LIKELIHOOD_METHOD}
    if path.is_file():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ParameterError(f"{path}: unreadable ({err}); use a new --out") from None
        for key in wanted:
            if saved.get(key) != wanted[key]:
                found = (saved.get(key) or "none recorded: the former likelihood of the "
                         "runs' mean observables") if key == "likelihood" else (
                    f"hash {str(saved.get(key))[:12]}")
                raise ParameterError(f"--out {str(out)!r}: holds a calibration of other "
                                     f"{key} ({found}); use a new --out")
        if check_versions(saved, out, allow_version_change):
            saved.setdefault("resumes", []).append(provenance())
            atomic_write(path, lambda p: p.write_text(json.dumps(saved, indent=1) + "\n"))
        return
    if (Path(out) / JOURNAL).is_file():
        raise ParameterError(f"--out {str(out)!r}: holds an optuna journal but no "
                             "_inputs.json; use a new --out")
    wanted["provenance"] = provenance()
    atomic_write(path, lambda p: p.write_text(json.dumps(wanted, indent=1) + "\n"))


def resolve_points(base: Parameters, targets: Targets, latents: np.ndarray,
                   start: int) -> dict[int, tuple[Parameters, list[float]]]:
    """Each point's parameters (index from ``start``) and latent coordinates; a point the
    model refuses is named before it runs."""
    resolved = {}
    for k, z in enumerate(latents, start=start):
        point = smc.from_latent(targets.priors, z)
        try:
            resolved[k] = (type(base)(**{**base.model_dump(), **point}), [float(v) for v in z])
        except ValidationError as err:
            raise ParameterError(f"{targets.source}: point {point} refused by the model ("
                                 f"{err.errors()[0]['msg']}); narrow the prior ranges") from None
    return resolved


def generation_points(base: Parameters, targets: Targets, out: Path | None, start: int,
                      stop: int) -> dict[int, tuple[Parameters, list[float]]]:
    """Points start..stop-1 of one generation: Sobol draws for the first, proposals from
    the finished earlier points (in ``out``) for the others."""
    seed = targets.option("seed", 2026)
    population = targets.option("population", DEFAULT_POPULATION)
    generation = start // population
    if generation == 0:
        latents = prior_latents(targets.priors, stop, seed)[start:]
    else:
        earlier = trials_table(out, targets, start)
        if len(earlier) < start:
            raise RuntimeError(f"{out}: generation {generation} needs {start} finished points, "
                               f"has {len(earlier)}")
        latents = smc.next_latents(earlier, targets.priors, population, start, stop, seed)
    return resolve_points(base, targets, latents, start)


def calibrate(setting_name: str, targets: Targets, out: Path, *, budget: int | None = None,
              workers: int = 1, scheduler: str | None = None,
              progress: Callable[[int, int], None] | None = None, command: str = "",
              model: str | None = None,
              page: Callable[[Path, Fit, Targets], Path] | None = None,
              allow_version_change: bool = False) -> tuple[Fit, list[Path]]:
    """Search generation by generation (resuming what ``out`` holds), then write every
    output, and the fit page through ``page`` (dashboards/calibration_page.py); one writer
    at a time. ``model``: an extension as module:Class (its parameters class too)."""
    from experiments.outputs import check_output_path
    from experiments.plugins import load_model_class
    from scenarios.settings import load_setting

    parameters_class = load_model_class(model).parameters_class if model else None
    setting = load_setting(setting_name, parameters_class)
    budget = budget or targets.option("budget", DEFAULT_BUDGET)
    population = targets.option("population", DEFAULT_POPULATION)
    overrides = {k: targets.options[k2] for k, k2 in (("n_employees", "employees"),
                                                      ("steps", "steps"))
                 if k2 in targets.options}
    base = setting.parameters(overrides, parameters_class=parameters_class)
    roadmap = setting.roadmap(base, parameters_class)
    roadmap = roadmap if roadmap else None
    ranges = smc.generation_ranges(budget, population)
    first = generation_points(base, targets, None, *ranges[0])  # checks before any run
    corners = np.array([[-30.0] * len(targets.priors), [30.0] * len(targets.priors)])
    resolve_points(base, targets, corners, 0)  # the prior's extremes, where proposals may go
    if scheduler is None:  # a cluster's workers have their own memory
        from experiments.outputs import check_memory, run_bytes, run_seconds

        n, steps = base.n_employees, base.steps
        check_memory(run_bytes(n, steps) * workers, f"{targets.source}: n_employees = {n} "
                     f"(x {steps} steps, {workers} workers)",
                     run_seconds(n, steps, budget * targets.option("replications",
                                                                   DEFAULT_REPLICATIONS),
                                 workers))
    out = check_output_path(Path(out))
    if out.exists() and any(out.iterdir()) and not is_calibration(out):
        raise ParameterError(f"--out {str(out)!r}: not empty and holds no calibration; choose "
                             "another --out")
    with output_lock(out), study_kept_open(out):
        out.mkdir(parents=True, exist_ok=True)
        check_same(out, base, targets, allow_version_change)
        # Optuna's own journal lock, left by a writer killed with SIGKILL, would stall this
        # one for its 30 s grace period; we hold the output's lock, so no writer is alive.
        (out / f"{JOURNAL}.lock").unlink(missing_ok=True)
        requeued = 0
        for start, stop in ranges:
            points = first if start == 0 else generation_points(base, targets, out, start,
                                                                stop)
            requeued += search(targets, out, points, workers=workers, scheduler=scheduler,
                               done_before=start, total=budget, model=model,
                               chart=setting.chart, roadmap=roadmap, progress=progress)
        fit = posterior(trials_table(out, targets, budget), targets)
        fit.requeued = requeued
        fitted = setting.parameters({**overrides, **calibrated_values(fit, targets)},
                                    parameters_class=parameters_class)
        written = write_outputs(out, fit, targets, setting, fitted, budget, command)
        if page:
            written.append(page(out, fit, targets))
    return fit, written


def calibrated_toml(setting: Any, calibrated: Parameters, description: str) -> str:
    """The calibrated setting file: every resolved parameter, and the setting's imported
    chart (paths made absolute) and roadmap when it has them."""
    import tomli_w

    from scenarios.settings import parameters_toml, read_toml

    if setting.chart is None and not setting.interventions:
        return parameters_toml(calibrated, description)
    source = Path(setting.source).resolve()
    content: dict[str, Any] = {"description": description,
                               "parameters": calibrated.model_dump()}
    organization = read_toml(source).get("organization")
    if organization:
        content["organization"] = {k: str(source.parent / v) if k in ("chart", "network")
                                   else v for k, v in organization.items()}
    if setting.interventions:
        content["intervention"] = setting.interventions
    return tomli_w.dumps(content)


def write_outputs(out: Path, fit: Fit, targets: Targets, setting: Any, calibrated: Parameters,
                  budget: int, command: str) -> list[Path]:
    """calibrated.toml, posterior.parquet, trials.parquet, generations.csv, targets.csv and
    manifest.json (atomic each)."""
    rows = summary_rows(fit, targets)
    description = (f"{setting.name} calibrated to {Path(targets.source).name}: posterior means "
                   f"of {', '.join(p.name for p in targets.priors)} over {len(fit.trials)} "
                   f"points x {targets.option('replications', DEFAULT_REPLICATIONS)} runs "
                   f"(effective sample size {fit.ess:.1f})")
    manifest = {
        "format": 1,
        "command": command,
        "setting": setting.source,
        "targets": {"source": targets.source, "hash": targets.digest,
                    "content": targets.content},
        "mappings": MAPPINGS,
        "likelihood": LIKELIHOOD,
        "budget": budget,
        "points": len(fit.trials),
        "replications": targets.option("replications", DEFAULT_REPLICATIONS),
        "root_seed": targets.option("seed", 2026),
        "seeds": {str(int(t)): json.loads(s) for t, s in zip(fit.trials["point"],
                                                             fit.trials["seeds"], strict=True)},
        "sampler": "adaptive population Monte Carlo (experiments/smc.py): generation 0 = "
                   "scrambled Sobol draws from the priors (scipy.stats.qmc); each later "
                   "generation drawn from pyabc's MultivariateNormalTransition fitted to the "
                   "earlier points weighted for prior x likelihood^temperature (temperature "
                   f"by an ESS criterion, {smc.ESS_FRACTION:g} of a population); posterior "
                   "= every point weighted by prior x likelihood / mixture of the "
                   "generations' proposals, resampled; points queued and tracked in an "
                   "Optuna study (journal file)",
        "population": targets.option("population", DEFAULT_POPULATION),
        "posterior_draws": POSTERIOR_DRAWS,
        "effective_sample_size": fit.ess,
        "trustworthy": fit.trustworthy,
        "warning": low_ess_warning(fit),
        "generations": fit.generations.to_dict("records"),
        "resumed_points": fit.requeued,
        "parameters": rows,
        "calibrated": {p.name: getattr(calibrated, p.name) for p in targets.priors},
        "provenance": provenance(),
    }
    files = {
        "calibrated.toml": lambda p: p.write_text(calibrated_toml(setting, calibrated,
                                                                 description)),
        "posterior.parquet": lambda p: fit.posterior.to_parquet(p, index=False),
        "trials.parquet": lambda p: fit.trials.to_parquet(p, index=False),
        "generations.csv": lambda p: fit.generations.to_csv(p, index=False),
        "targets.csv": lambda p: pd.DataFrame(target_rows(fit, targets)).to_csv(p, index=False),
        MANIFEST: lambda p: p.write_text(json.dumps(manifest, indent=1, default=float) + "\n"),
    }
    for name, write in files.items():
        atomic_write(out / name, write)
    return [out / name for name in files]


# --- uncertainty carried forward (compare --posterior) --------------------------------------
def read_posterior(directory: Path) -> pd.DataFrame:
    """The posterior draws of a calibration directory (parameters only)."""
    path = Path(directory) / "posterior.parquet"
    manifest = Path(directory) / MANIFEST
    if not path.is_file() or not manifest.is_file():
        raise ParameterError(f"--posterior {str(directory)!r}: not a finished calibration (no "
                             "posterior.parquet and manifest.json)")
    try:
        names = [row["parameter"] for row in json.loads(manifest.read_text())["parameters"]]
        return pd.read_parquet(path)[names]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ParameterError(f"--posterior {str(directory)!r}: unreadable ({err})") from None


def posterior_overrides(directory: Path, replications: int, seed: int) -> list[dict[str, Any]]:
    """One draw of the posterior per replication (seeded): the parameters that replication
    runs with, in every compared setting (common random numbers stay common)."""
    draws = read_posterior(directory)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 18]))
    picks = rng.integers(0, len(draws), size=replications)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in draws.iloc[i].items()}
            for i in picks]


def with_draw(params: Parameters, draws: list[dict[str, Any]] | None, k: int) -> Parameters:
    """``params`` with replication k's posterior draw (unchanged without draws)."""
    if not draws:
        return params
    try:
        return type(params)(**{**params.model_dump(), **draws[k]})
    except ValidationError as err:
        raise ParameterError(f"--posterior: draw {draws[k]} refused for replication {k} ("
                             f"{err.errors()[0]['msg']})") from None


def replication_draws(directory: Path, settings: list[Parameters], replications: int,
                      seed: int) -> list[dict[str, Any]]:
    """:func:`posterior_overrides`, each draw checked against every compared setting."""
    draws = posterior_overrides(directory, replications, seed)
    for k in range(replications):
        for params in settings:
            with_draw(params, draws, k)
    return draws


def write_draws(out: Path, seeds: list[int], draws: list[dict[str, Any]]) -> Path:
    """posterior_draws.csv in a comparison: which fitted parameters each replication ran
    with."""
    table = pd.DataFrame([{"replication": k, "seed": s, **d}
                          for k, (s, d) in enumerate(zip(seeds, draws, strict=True))])
    atomic_write(Path(out) / "posterior_draws.csv", lambda p: table.to_csv(p, index=False))
    return Path(out) / "posterior_draws.csv"
