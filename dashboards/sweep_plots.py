"""Charts of a sweep: a metric over one or two parameters, or over time.

- one parameter: mean over runs (replications and other factors) with the 95% confidence
  interval of that mean (error bars; none from fewer than 2 values); ``by`` draws one line
  per value of a second parameter;
- two parameters (``x`` and ``y``): a heatmap of the mean;

Every point says how many values it rests on (n of runs, in the hover; on the marker or
cell where some runs have no value of the metric, e.g. an event that never happened), and
the title sums it up: n per point, runs without a value, points with no interval.
- a recorded time-series metric (``over_time``, or a metric only recorded per step): its
  mean over steps, one line (with intervals) per value of x.

Parameters with more than ``MAX_LEVELS`` distinct values (sampled designs) are binned
into equal-width bins labelled by their midpoints. Charts are self-contained HTML.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from dashboards.markers import add_intervention_markers, sweep_interventions
from experiments.outputs import atomic_write
from experiments.sensitivity import CONF_LEVEL
from experiments.sweep import ANALYSIS_DIR, read_manifest, summary_table, timeseries_table
from model.parameters import ParameterError

MAX_LEVELS = 12
BINS = 10
Z95 = 1.96


def levels(values: pd.Series) -> pd.Series:
    """The values, or the midpoints of equal-width bins if there are too many of them."""
    if values.nunique() <= MAX_LEVELS or not pd.api.types.is_numeric_dtype(values):
        return values
    bins = pd.cut(values, BINS)
    return bins.map(lambda b: b.mid).astype(float)


def mean_band(frame: pd.DataFrame, keys: list[str], metric: str) -> pd.DataFrame:
    """Mean, and the 95% confidence interval of the mean, of metric by keys; ``n`` values
    of ``runs`` runs (the rest have no value of the metric); no interval (NaN) from fewer
    than 2 values."""
    stats = frame.groupby(keys, observed=True)[metric].agg(["mean", "std", "count", "size"])
    stats = stats.rename(columns={"count": "n", "size": "runs"})
    half = Z95 * stats["std"] / np.sqrt(stats["n"])
    half = half.where(stats["n"] >= 2)
    return stats.assign(low=stats["mean"] - half, high=stats["mean"] + half).reset_index()


def _n_label(stats: pd.DataFrame) -> list[str]:
    return [f"n = {n} of {r} runs" + (f" ({r - n} without a value)" if r > n else "")
            for n, r in zip(stats["n"], stats["runs"], strict=True)]


def _basis(stats: pd.DataFrame) -> str:
    """What the chart's means rest on: n per point, missing values, single runs."""
    low, high = int(stats["n"].min()), int(stats["n"].max())
    text = f"n = {low} per point" if low == high else f"n = {low} to {high} per point"
    missing = int((stats["runs"] - stats["n"]).sum())
    if missing:
        text += f"; {missing} of {int(stats['runs'].sum())} runs without a value (not in means)"
    single = int((stats["n"] < 2).sum())
    if single:
        text += f"; {single} points from < 2 values: no interval"
    return text


def _band_traces(stats: pd.DataFrame, x: str, name: str, color: str) -> list[go.Scatter]:
    """The mean with its 95% interval as error bars (none where n < 2), n in the hover and,
    where values are missing, on the marker."""
    labels = _n_label(stats)
    partial = stats["n"] < stats["runs"]
    return [go.Scatter(x=stats[x], y=stats["mean"], mode="lines+markers+text", name=name,
                       legendgroup=name, line={"color": color},
                       error_y={"type": "data", "symmetric": False,
                                "array": (stats["high"] - stats["mean"]).to_numpy(),
                                "arrayminus": (stats["mean"] - stats["low"]).to_numpy()},
                       text=[f"n={n}/{r}" if p else "" for n, r, p in
                             zip(stats["n"], stats["runs"], partial, strict=True)],
                       textposition="top center", hovertext=labels,
                       hovertemplate="%{x}: mean %{y:.4g}<br>%{hovertext}<extra></extra>")]


def line_chart(frame: pd.DataFrame, x: str, metric: str, by: str | None) -> go.Figure:
    """Mean of metric over x with 95% intervals, one line per value of ``by``."""
    fig = go.Figure()
    groups = frame.groupby(by, observed=True) if by else [(metric, frame)]
    palette = plotly.colors.qualitative.Plotly
    every = []
    for k, (value, part) in enumerate(groups):
        label = f"{by} = {value[0] if isinstance(value, tuple) else value}" if by else metric
        stats = mean_band(part, [x], metric)
        every.append(stats)
        for trace in _band_traces(stats, x, label, palette[k % len(palette)]):
            fig.add_trace(trace)
    fig.update_layout(xaxis_title=x, yaxis_title=metric,
                      title=f"{metric} over {x}: mean and 95% CI of the mean<br><sup>"
                            f"{_basis(pd.concat(every))}</sup>")
    return fig


def heatmap(frame: pd.DataFrame, x: str, y: str, metric: str) -> go.Figure:
    """Mean of metric on the x-y grid; each cell says how many values it rests on."""
    stats = mean_band(frame, [y, x], metric)
    grid = stats.pivot(index=y, columns=x, values="mean")
    labels = stats.assign(label=[f"n={n}/{r}" if n < r else f"n={n}" for n, r in
                                 zip(stats["n"], stats["runs"], strict=True)]
                          ).pivot(index=y, columns=x, values="label").fillna("no runs")
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[str(v) for v in grid.columns],
                               y=[str(v) for v in grid.index], colorbar={"title": metric},
                               text=labels.to_numpy(), texttemplate="%{text}",
                               hovertemplate="%{x}, %{y}: mean %{z:.4g}, %{text}"
                                             "<extra></extra>"))
    fig.update_layout(xaxis_title=x, yaxis_title=y,
                      title=f"mean {metric} by {x} and {y}<br><sup>{_basis(stats)}</sup>")
    return fig


def plot_sweep(out: Path, metric: str, x: str | None = None, y: str | None = None,
               by: str | None = None, over_time: bool = False) -> Path:
    """Write the chart of ``metric`` to DIR/_analysis/ and return its path."""
    out = Path(out)
    saved = read_manifest(out)
    factors = [f["name"] for f in saved["factors"]]
    x = x or factors[0]
    for option, name in (("--x", x), ("--y", y), ("--by", by)):
        if name is not None and name not in factors:
            raise ParameterError(f"{option} {name!r}: not a varied parameter of this sweep "
                                 f"(varied: {', '.join(factors)})")
    kept = saved["sweep"]["timeseries" if over_time else "metrics"]
    if metric not in kept and not over_time and metric in saved["sweep"]["timeseries"]:
        over_time = True  # only recorded per step
    elif metric not in kept:
        what = "recorded per step" if over_time else "kept"
        raise ParameterError(f"--metric {metric!r}: not {what} by this sweep ({what}: "
                             f"{', '.join(kept) or 'none'})")
    frame = timeseries_table(out) if over_time else summary_table(out)
    for name in (x, y, by):
        if name:
            frame[name] = levels(frame[name])
    if over_time:
        fig, name = line_chart(frame, "step", metric, x), f"plot_{metric}_steps_by_{x}"
        add_intervention_markers(fig, sweep_interventions(saved["sweep"]))
    elif y:
        fig, name = heatmap(frame, x, y, metric), f"plot_{metric}_{x}_{y}"
    else:
        fig, name = line_chart(frame, x, metric, by), f"plot_{metric}_{x}" + (
            f"_by_{by}" if by else "")
    path = out / ANALYSIS_DIR / f"{name}.html"
    path.parent.mkdir(exist_ok=True)
    atomic_write(path, lambda p: fig.write_html(p, include_plotlyjs=True))
    return path


def sensitivity_chart(table: pd.DataFrame, method: str) -> go.Figure:
    """Sobol (S1, ST) and sample-agnostic designs (RBD-FAST S1, PAWN): bars with CIs and
    each index's noise floor (dashed); Morris: mu* against sigma, the floor a dashed line."""
    metric = table["metric"].iloc[0]
    basis = f"{table['points'].iloc[0]} points, {table['runs'].iloc[0]} runs"
    if method != "morris":
        shown = table[table["index"].isin(["S1", "ST", "PAWN"])]
        fig = go.Figure()
        for index, part in shown.groupby("index", sort=False):
            fig.add_trace(go.Bar(name=index, x=part["parameter"], y=part["value"],
                                 error_y={"type": "data", "array": part["conf"]},
                                 hovertext=part["warning"]))
            fig.add_trace(go.Scatter(name=f"{index} noise floor", x=part["parameter"],
                                     y=part["noise_floor"], mode="lines",
                                     line={"dash": "dash"}))
        title = "Sobol indices" if method == "sobol" else "RBD-FAST S1 and PAWN"
        fig.update_layout(barmode="group", yaxis_title="index",
                          title=f"{title} of {metric} ({CONF_LEVEL:.0%} bootstrap CI; {basis})")
        return fig
    wide = table.pivot(index="parameter", columns="index", values=["value", "conf"])
    fig = go.Figure(go.Scatter(x=wide[("value", "mu_star")], y=wide[("value", "sigma")],
                               mode="markers+text", text=wide.index, textposition="top center",
                               cliponaxis=False,
                               error_x={"type": "data", "array": wide[("conf", "mu_star")]}))
    floor = table.loc[table["index"] == "mu_star", "noise_floor"]
    if floor.notna().any():
        fig.add_vline(x=float(floor.iloc[0]), line_dash="dash",
                      annotation_text="noise floor (dummy)")
    fig.update_layout(xaxis_title="mu* (mean absolute elementary effect)",
                      yaxis_title="sigma (interactions / non-linearity)",
                      title=f"Morris screening of {metric} ({CONF_LEVEL:.0%} CI of mu*; {basis})")
    return fig


def write_sensitivity_charts(out: Path, table: pd.DataFrame) -> list[Path]:
    """One offline HTML chart per metric of a sensitivity table, beside its data."""
    method = read_manifest(out)["sweep"]["design"]["method"]
    written = []
    for metric, part in table.groupby("metric", sort=False):
        path = Path(out) / ANALYSIS_DIR / f"sensitivity_{metric}.html"
        chart = sensitivity_chart(part, method)
        atomic_write(path, lambda p, c=chart: c.write_html(p, include_plotlyjs=True))
        written.append(path)
    return written
