"""The fit page of a calibration (fit.html, offline: plotly.js is embedded).

- a table of each fitted parameter: prior range, posterior mean, median and 90% interval;
- a table of each target's observable: measured, the model's mean over the priors' draws,
  and its posterior mean and 90% interval (as targets.csv);
- each target: the model's distribution of the observable before the fit (the prior
  predictive: every point tried, equally weighted) and after it (the posterior
  predictive: the same points weighted by their likelihood), with the measured value;
- the posterior of each parameter against its flat prior;
- pairs: every point tried, one panel per pair of parameters, coloured by its weight;
- the adaptive search per generation: points, temperature and effective sample size,
  with a warning line when the posterior's effective sample size is too low to trust.

Every chart says how many points and runs it rests on.
"""

from __future__ import annotations

import html
import itertools
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from experiments.calibration import (
    DEFAULT_REPLICATIONS,
    LOW_ESS,
    Fit,
    compared,
    low_ess_warning,
    measured,
    summary_rows,
    target_rows,
)
from experiments.outputs import atomic_write
from experiments.targets import MAPPINGS, SURVEY_CATEGORIES, Targets

BINS = 20
CSS = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
       "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
       "text-align:right}th{background:#f4f4f4}.note{color:#555}")


def _histogram_pair(values: np.ndarray, weight: np.ndarray, title: str, observed: float | None,
                    basis: str) -> go.Figure:
    ok = np.isfinite(values)
    values, weight = values[ok], weight[ok]
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    if observed is not None and np.isfinite(observed):
        lo, hi = min(lo, observed), max(hi, observed)
    edges = np.linspace(lo, hi if hi > lo else lo + 1e-9, BINS + 1)
    mids = (edges[:-1] + edges[1:]) / 2
    before, _ = np.histogram(values, edges)
    after, _ = np.histogram(values, edges, weights=weight)
    fig = go.Figure([
        go.Bar(x=mids, y=before / max(before.sum(), 1), name="before (prior: every point)",
               opacity=0.55, marker_color="#999"),
        go.Bar(x=mids, y=after / max(after.sum(), 1e-300), name="after (posterior weights)",
               opacity=0.75, marker_color="#1f77b4")])
    if observed is not None and np.isfinite(observed):
        fig.add_vline(x=observed, line_color="#d62728", line_width=3,
                      annotation_text=f"measured {observed:.4g}")
    fig.update_layout(title=f"{title}<br><sup>{basis}</sup>", barmode="overlay", height=340,
                      yaxis_title="share of points (probability)", xaxis_title=title,
                      margin={"t": 70})
    return fig


def target_figures(fit: Fit, targets: Targets, basis: str) -> list[tuple[str, go.Figure]]:
    w = fit.trials["weight"].to_numpy()
    figures = []
    for target, observable, values in compared(fit, targets):
        title = f"{target.name}: {observable}"
        figures.append((title, _histogram_pair(values, w, title, measured(target, observable),
                                               basis)))
    return figures


def parameter_figures(fit: Fit, targets: Targets, basis: str) -> list[tuple[str, go.Figure]]:
    w = fit.trials["weight"].to_numpy()
    return [(f"posterior of {p.name}",
             _histogram_pair(fit.trials[p.name].to_numpy(dtype=float), w,
                             f"posterior of {p.name} (prior {p.low:g}..{p.high:g}"
                             f"{', log-uniform' if p.log else ''})", None, basis))
            for p in targets.priors]


def pair_figures(fit: Fit, targets: Targets, basis: str) -> list[tuple[str, go.Figure]]:
    w = fit.trials["weight"].to_numpy()
    figures = []
    for a, b in itertools.combinations([p.name for p in targets.priors], 2):
        fig = go.Figure(go.Scatter(
            x=fit.trials[a], y=fit.trials[b], mode="markers",
            marker={"color": w, "colorscale": "Blues", "size": 6 + 30 * w / max(w.max(), 1e-300),
                    "colorbar": {"title": "weight"}, "line": {"width": 0.5, "color": "#666"}},
            hovertemplate=f"{a} %{{x:.4g}}<br>{b} %{{y:.4g}}<br>weight %{{marker.color:.3g}}"
                          "<extra></extra>"))
        fig.update_layout(title=f"pair: {a} x {b}<br><sup>{basis}; size and colour: posterior "
                                "weight</sup>", xaxis_title=a, yaxis_title=b, height=420)
        figures.append((f"pair {a} x {b}", fig))
    return figures


def generation_rows(fit: Fit) -> str:
    """The per-generation table of the adaptive search (HTML)."""
    if fit.generations is None:
        return ""
    cells = "".join(
        f"<tr><td>{int(r.generation)}</td><td>{int(r.points)}</td>"
        f"<td>{r.temperature:.3f}</td>"
        f"<td>{'prior' if r.generation == 0 else f'{r.proposal_fit_ess:.1f}'}</td>"
        f"<td>{r.posterior_ess:.1f}</td></tr>" for r in fit.generations.itertuples())
    return ("<table><tr><th>generation</th><th>points</th><th>temperature</th>"
            "<th>ESS of the points its proposal was fitted to</th>"
            f"<th>posterior ESS (points)</th></tr>{cells}</table>")


def write_fit_page(out: Path, fit: Fit, targets: Targets) -> Path:
    """fit.html in ``out``: parameters, targets before/after, posteriors and pairs."""
    reps = targets.option("replications", DEFAULT_REPLICATIONS)
    points = len(fit.trials)
    basis = (f"n = {points} points x {reps} runs = {points * reps} runs; effective sample "
             f"size {fit.ess:.1f} points")
    rows = "".join(
        f"<tr><td style='text-align:left'>{html.escape(r['parameter'])}</td>"
        f"<td>{r['prior_low']:.4g} .. {r['prior_high']:.4g}{' (log)' if r['log'] else ''}</td>"
        f"<td>{r['mean']:.4g}</td><td>{r['median']:.4g}</td>"
        f"<td>{r['q05']:.4g} .. {r['q95']:.4g}</td></tr>" for r in summary_rows(fit, targets))
    fits = "".join(
        f"<tr><td style='text-align:left'>{html.escape(r['target'])}: "
        f"{html.escape(r['observable'])}</td><td>{r['measured']:.4g}</td>"
        f"<td>{r['prior_mean']:.4g}</td><td>{r['posterior_mean']:.4g}</td>"
        f"<td>{r['posterior_q05']:.4g} .. {r['posterior_q95']:.4g}</td></tr>"
        for r in target_rows(fit, targets))
    mappings = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                       for k, v in MAPPINGS.items())
    sections = []
    for heading, figures in (("Targets: the model before and after the fit",
                              target_figures(fit, targets, basis)),
                             ("Posterior of each parameter", parameter_figures(fit, targets,
                                                                                basis)),
                             ("Pairs", pair_figures(fit, targets, basis))):
        if figures:
            sections.append(f"<h2>{heading}</h2>" + "".join(
                fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{i}-{k}")
                for k, (_, fig) in enumerate(figures) for i in [len(sections)]))
    warning = low_ess_warning(fit)
    warning = f"<p class='warning'><b>{html.escape(warning)}</b></p>" if warning else ""
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Calibration fit</title>
<style>{CSS}</style><script>{get_plotlyjs()}</script></head><body>
<h1>Calibration fit: {html.escape(Path(targets.source).name)}</h1>
<p>{html.escape(targets.description)}</p>
<p class="note">{html.escape(basis)}. Adaptive search: the first generation of points are
draws from the priors (scrambled Sobol), each later one is proposed by a kernel (pyabc)
fitted to the earlier points weighted for a tempered posterior; each point's likelihood
of the measured data is the mean of its {reps} runs' likelihoods (log-mean-exp of the runs'
log-likelihoods: it allows for the model's run-to-run spread), its weight is prior x
likelihood / the density it was proposed with; the posterior resamples the points by
weight. Survey categories: {", ".join(SURVEY_CATEGORIES)}.</p>
{warning}
<h2>Adaptive search, per generation</h2>
<p class="note">Temperature: the power of the likelihood each generation's proposal aimed at
(0 = prior, 1 = posterior). Posterior ESS: the effective number of points the posterior
rests on, counting the generations up to this one; below {LOW_ESS:.0f} the 90% intervals
are not trustworthy.</p>
{generation_rows(fit)}
<h2>Parameters (posterior; 90% interval = 5th..95th weighted percentile)</h2>
<table><tr><th>parameter</th><th>prior range</th><th>mean</th><th>median</th>
<th>90% interval</th></tr>{rows}</table>
<h2>Targets: measured and modelled</h2>
<p class="note">Each point's value is the mean of its {reps} runs. Before the fit: the mean
over the first generation's points (draws from the priors); after: the posterior mean and
90% interval (5th..95th weighted percentile) over the points, weighted as the posterior
is ({points} points, effective sample size {fit.ess:.1f}). Also in targets.csv.</p>
<table><tr><th>observable</th><th>measured</th><th>before the fit</th><th>posterior mean</th>
<th>90% interval</th></tr>{fits}</table>
<h3>How the model maps onto the measurements</h3><ul>{mappings}</ul>
{"".join(sections)}
</body></html>
"""
    path = Path(out) / "fit.html"
    atomic_write(path, lambda p: p.write_text(page, encoding="utf-8"))
    return path
