"""Adaptive search of a calibration: population Monte Carlo with likelihood tempering.

The points of a calibration come in generations of ``population`` points. Generation 0
is a scrambled Sobol sample of the priors; generation g > 0 is drawn from pyabc's
``MultivariateNormalTransition`` (a weighted Gaussian kernel density, Silverman's
bandwidth) fitted to every earlier point weighted for the tempered posterior
prior x likelihood^temperature. The temperature rises from 0 to 1 as fast as the earlier
points allow: the largest one at which their effective sample size stays at
``ESS_FRACTION`` of a population (the criterion of pyabc's ``EssScheme``). The posterior
pools every point with importance weights prior x likelihood / proposal, where the
proposal is the mixture of all generations' kernels weighted by their sizes (the
"balance heuristic": no generation's lucky point dominates).

Everything happens in a latent space where each parameter is unbounded:
z = logit(u), u in (0, 1) its position in the prior range (log scale for a log-uniform
prior, the whole-number cells for an integer one), so the prior is a product of standard
logistic densities and a kernel never proposes outside the prior. A proposal's random
draws are seeded by (root seed, point index) alone, and proposals depend only on the
finished earlier generations, so the points, their seeds and the posterior are the same
on any number of workers, in any order of completion, and after any resume.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from experiments.targets import Prior

ESS_FRACTION = 0.5  # of a population: the earlier points' ESS each temperature keeps
PROPOSAL_STREAM = 17  # a seed-sequence word: proposals draw apart from the runs' seeds
MIN_FIT_ESS = 2.0  # a kernel's covariance needs at least two effective points
UNIFORM_SHARE = 0.01  # of a kernel's weight spread evenly over the points it is fitted to
LATENT = "z:"  # prefix of a point's latent coordinates in a trials table


# --- latent coordinates -------------------------------------------------------------------
def latent_names(priors: Sequence[Prior]) -> list[str]:
    return [f"{LATENT}{p.name}" for p in priors]


def to_latent(unit: np.ndarray) -> np.ndarray:
    u = np.clip(unit, 1e-12, 1 - 1e-12)
    return np.log(u) - np.log1p(-u)


def from_latent(priors: Sequence[Prior], z: np.ndarray) -> dict[str, Any]:
    """The parameter values at latent point ``z`` (one value per prior)."""
    point: dict[str, Any] = {}
    for zi, p in zip(z, priors, strict=True):
        u = float(1.0 / (1.0 + np.exp(-zi)))
        if p.integer:
            point[p.name] = int(min(p.high, np.floor(p.low + u * (p.high - p.low + 1))))
        elif p.log:
            point[p.name] = float(np.exp(np.log(p.low) + u * np.log(p.high / p.low)))
        else:
            point[p.name] = float(p.low + u * (p.high - p.low))
    return point


def log_prior(z: np.ndarray) -> np.ndarray:
    """Log density of the priors in latent space: standard logistic per coordinate."""
    a = np.abs(z)
    return np.sum(-a - 2.0 * np.log1p(np.exp(-a)), axis=1)


# --- generations --------------------------------------------------------------------------
def generation_of(point: int | np.ndarray, population: int) -> Any:
    return np.asarray(point) // population


def generation_ranges(budget: int, population: int) -> list[tuple[int, int]]:
    """[start, stop) of each generation's points within the first ``budget`` (the last one
    may be partial: a larger budget completes it with the same points)."""
    return [(s, min(s + population, budget)) for s in range(0, budget, population)]


def _kernel(latent: pd.DataFrame, weight: np.ndarray) -> Any:
    """pyabc's kernel fitted to weighted points. A small share of uniform weight keeps its
    covariance finite when a few points carry all the weight (the importance weights
    correct for whatever density the proposal has)."""
    from pyabc.transition import MultivariateNormalTransition

    weight = (1 - UNIFORM_SHARE) * weight / weight.sum() + UNIFORM_SHARE / len(weight)
    kernel = MultivariateNormalTransition()
    kernel.fit(latent, weight)
    return kernel


@dataclass
class Schedule:
    """The proposals fitted so far: one kernel and temperature per generation > 0."""

    kernels: list[Any]
    temperatures: list[float]  # generation 0 (the prior) has temperature 0
    fit_ess: list[float]  # ESS of the earlier points each kernel was fitted to
    #: each kernel's density at every point of the trials the schedule was fitted from (in
    #: their order): a kernel's density at a point never changes, so it is computed once
    densities: list[np.ndarray] = field(default_factory=list)


def ess(log_weight: np.ndarray) -> float:
    finite = np.isfinite(log_weight)
    if not finite.any():
        return 0.0
    w = np.exp(log_weight[finite] - log_weight[finite].max())
    return float(w.sum() ** 2 / np.sum(w ** 2))


#: Points whose kernel density is computed in one call (a block holds this many x the
#: kernel's points x the dimensions of differences: 256 x 2,000 x 6 floats = 25 MB).
DENSITY_BLOCK = 256


def kernel_density(kernel: Any, frame: pd.DataFrame) -> np.ndarray:
    """pyabc's ``MultivariateNormalTransition.pdf`` at every row of ``frame``, the same sum
    (its normal's density of the row minus each of its points, weighted by the points'
    weights) over a block of rows in one call: pyabc calls scipy once per row (~70 us
    each, 1.7 million calls in the shipped example's 20 generations)."""
    x = frame[kernel.X.columns].to_numpy(dtype=float)
    points, weights = kernel.X.to_numpy(dtype=float), np.asarray(kernel.w, dtype=float)
    density = np.empty(len(x))
    for start in range(0, len(x), DENSITY_BLOCK):
        block = x[start:start + DENSITY_BLOCK]
        each = kernel.normal.pdf(block[:, None, :] - points[None, :, :])
        density[start:start + len(block)] = (np.reshape(each, (len(block), len(points)))
                                             * weights).sum(axis=1)
    return density


def log_mixture(log_prior_z: np.ndarray, counts: Sequence[int],
                densities: Sequence[np.ndarray]) -> np.ndarray:
    """Log density of the balance-heuristic mixture of generation 0 (the prior: its log
    density ``log_prior_z``) and the kernels of generations 1.. (their densities), at the
    same points, each weighted by its number of points."""
    counts = np.asarray(counts, dtype=float)
    parts = [np.log(counts[0]) + log_prior_z] if counts[0] else []
    for n, density in zip(counts[1:], densities, strict=True):
        if n:
            parts.append(np.log(n) + np.log(np.maximum(density, 1e-300)))
    return np.logaddexp.reduce(np.vstack(parts), axis=0) - np.log(counts.sum())


def _temperature(log_prior_z: np.ndarray, loglik: np.ndarray, log_q: np.ndarray,
                 start: float, wanted: float) -> float:
    """The largest temperature in [start, 1] at which the points keep an ESS of
    ``wanted`` (bisection on the monotone ESS, as pyabc's EssScheme)."""
    from scipy.optimize import brentq

    ll = np.where(np.isfinite(loglik), loglik, -np.inf)

    def gap(beta: float) -> float:
        return ess(log_prior_z + beta * ll - log_q) - wanted

    if gap(1.0) >= 0:
        return 1.0
    if gap(start) <= 0:
        return start
    return float(brentq(gap, start, 1.0, xtol=1e-4))


def fit_schedule(trials: pd.DataFrame, priors: Sequence[Prior], population: int,
                 generations: int) -> Schedule:
    """The kernels of generations 1..generations-1, each from the points before it."""
    cols = latent_names(priors)
    z = trials[cols].to_numpy(dtype=float)
    loglik = trials["loglik"].to_numpy(dtype=float)
    gen = generation_of(trials["point"].to_numpy(), population)
    lp = log_prior(z)
    frame = pd.DataFrame(z, columns=cols)
    schedule = Schedule([], [0.0], [])
    for g in range(1, generations):
        before = gen < g
        if not before.any():
            raise ValueError(f"generation {g}: no finished points before it")
        counts = [int(np.sum(gen[before] == h)) for h in range(g)]
        log_q = log_mixture(lp[before], counts, [d[before] for d in schedule.densities])
        beta = _temperature(lp[before], loglik[before], log_q, schedule.temperatures[-1],
                            max(ESS_FRACTION * population, MIN_FIT_ESS))
        log_w = lp[before] + beta * np.where(np.isfinite(loglik[before]), loglik[before],
                                             -np.inf) - log_q
        w = np.exp(log_w - log_w.max())
        kernel = _kernel(pd.DataFrame(z[before], columns=cols), w / w.sum())
        schedule.kernels.append(kernel)
        schedule.densities.append(kernel_density(kernel, frame))
        schedule.temperatures.append(beta)
        schedule.fit_ess.append(ess(log_w))
    return schedule


@contextmanager
def _seeded_global_numpy(seed: int):
    """pyabc's kernels draw from numpy's global generator: seed it for one proposal and
    put the caller's state back."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def propose(kernel: Any, priors: Sequence[Prior], points: range, root: int) -> np.ndarray:
    """Latent proposals of ``points`` from ``kernel``, each seeded by (root, point) only."""
    rows = []
    for k in points:
        seed = int(np.random.SeedSequence([root, PROPOSAL_STREAM, k]).generate_state(1)[0])
        with _seeded_global_numpy(seed):
            drawn = kernel.rvs_single()
        rows.append([float(drawn[c]) for c in latent_names(priors)])
    return np.array(rows).reshape(len(rows), len(priors))


def next_latents(earlier: pd.DataFrame, priors: Sequence[Prior], population: int,
                 start: int, stop: int, root: int) -> np.ndarray:
    """Latent points start..stop-1 of generation start // population (> 0), proposed from
    the finished points of the generations before it (``earlier``)."""
    schedule = fit_schedule(earlier, priors, population, start // population + 1)
    return propose(schedule.kernels[-1], priors, range(start, stop), root)


def posterior_weights(trials: pd.DataFrame, priors: Sequence[Prior],
                      population: int) -> tuple[np.ndarray, Schedule]:
    """Normalized posterior weights of every point and the schedule that proposed them."""
    schedule = fit_schedule(trials, priors, population,
                            int(generation_of(trials["point"].max(), population)) + 1)
    log_w = posterior_log_weights(trials, priors, population, schedule)
    finite = np.isfinite(log_w)
    w = np.where(finite, np.exp(log_w - log_w[finite].max()), 0.0)
    return w / w.sum(), schedule


def posterior_log_weights(trials: pd.DataFrame, priors: Sequence[Prior], population: int,
                          schedule: Schedule) -> np.ndarray:
    """Importance log-weights of every point for the posterior (temperature 1); ``schedule``
    fitted from these very ``trials`` (its densities are at their points)."""
    if any(len(d) != len(trials) for d in schedule.densities):
        raise ValueError("the schedule's densities are at other points than these trials")
    z = trials[latent_names(priors)].to_numpy(dtype=float)
    gen = generation_of(trials["point"].to_numpy(), population)
    counts = [int(np.sum(gen == g)) for g in range(len(schedule.kernels) + 1)]
    loglik = trials["loglik"].to_numpy(dtype=float)
    lp = log_prior(z)
    return (lp + np.where(np.isfinite(loglik), loglik, -np.inf)
            - log_mixture(lp, counts, schedule.densities))


def generation_table(trials: pd.DataFrame, priors: Sequence[Prior], population: int,
                     schedule: Schedule) -> pd.DataFrame:
    """Per generation: points, temperature its proposal was fitted at, the ESS of that fit,
    and the posterior's ESS over the points up to it (the trust one can have so far)."""
    gen = generation_of(trials["point"].to_numpy(), population)
    rows = []
    for g in range(len(schedule.temperatures)):
        upto = gen <= g
        part = Schedule(schedule.kernels[:g], schedule.temperatures[:g + 1],
                        schedule.fit_ess[:g], [d[upto] for d in schedule.densities[:g]])
        rows.append({"generation": g, "points": int(np.sum(gen == g)),
                     "temperature": schedule.temperatures[g],
                     "proposal_fit_ess": schedule.fit_ess[g - 1] if g else float("nan"),
                     "posterior_ess": ess(posterior_log_weights(trials[upto], priors, population,
                                                                part))})
    return pd.DataFrame(rows)
