"""Charts of a sweep: a metric over one or two parameters, or over time.

- one parameter: mean over runs (replications and other factors) with a 95% confidence
  band of that mean; ``by`` draws one line per value of a second parameter;
- two parameters (``x`` and ``y``): a heatmap of the mean;
- a recorded time-series metric (``over_time``, or a metric only recorded per step): its
  mean over steps, one line (with band) per value of x.

Parameters with more than ``MAX_LEVELS`` distinct values (sampled designs) are binned
into equal-width bins labelled by their midpoints. Charts are self-contained HTML.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

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
    """Mean, and the 95% confidence interval of the mean, of metric by keys."""
    stats = frame.groupby(keys, observed=True)[metric].agg(["mean", "std", "count"])
    half = Z95 * stats["std"].fillna(0) / np.sqrt(stats["count"])
    return stats.assign(low=stats["mean"] - half, high=stats["mean"] + half).reset_index()


def _band_traces(stats: pd.DataFrame, x: str, name: str, color: str) -> list[go.Scatter]:
    band_x = pd.concat([stats[x], stats[x][::-1]])
    band_y = pd.concat([stats["high"], stats["low"][::-1]])
    red, green, blue = plotly.colors.hex_to_rgb(color)
    return [go.Scatter(x=band_x, y=band_y, fill="toself", mode="lines", line={"width": 0},
                       fillcolor=f"rgba({red},{green},{blue},0.2)", hoverinfo="skip",
                       showlegend=False, legendgroup=name),
            go.Scatter(x=stats[x], y=stats["mean"], mode="lines+markers", name=name,
                       legendgroup=name, line={"color": color})]


def line_chart(frame: pd.DataFrame, x: str, metric: str, by: str | None) -> go.Figure:
    """Mean of metric over x with 95% bands, one line per value of ``by``."""
    fig = go.Figure()
    groups = frame.groupby(by, observed=True) if by else [(metric, frame)]
    palette = plotly.colors.qualitative.Plotly
    for k, (value, part) in enumerate(groups):
        label = f"{by} = {value[0] if isinstance(value, tuple) else value}" if by else metric
        for trace in _band_traces(mean_band(part, [x], metric), x, label,
                                  palette[k % len(palette)]):
            fig.add_trace(trace)
    fig.update_layout(xaxis_title=x, yaxis_title=metric,
                      title=f"{metric} over {x}: mean and 95% CI of the mean")
    return fig


def heatmap(frame: pd.DataFrame, x: str, y: str, metric: str) -> go.Figure:
    """Mean of metric on the x-y grid."""
    grid = frame.groupby([y, x], observed=True)[metric].mean().unstack(x)
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[str(v) for v in grid.columns],
                               y=[str(v) for v in grid.index], colorbar={"title": metric}))
    fig.update_layout(xaxis_title=x, yaxis_title=y, title=f"mean {metric} by {x} and {y}")
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
    """Sobol: S1 and ST bars with CIs; Morris: mu* against sigma, labelled by parameter."""
    metric = table["metric"].iloc[0]
    if method == "sobol":
        first_and_total = table[table["index"].isin(["S1", "ST"])]
        fig = go.Figure([go.Bar(name=index, x=part["parameter"], y=part["value"],
                                error_y={"type": "data", "array": part["conf"]})
                         for index, part in first_and_total.groupby("index", sort=False)])
        fig.update_layout(barmode="group", yaxis_title="Sobol index",
                          title=f"Sobol indices of {metric} ({CONF_LEVEL:.0%} CI)")
        return fig
    wide = table.pivot(index="parameter", columns="index", values=["value", "conf"])
    fig = go.Figure(go.Scatter(x=wide[("value", "mu_star")], y=wide[("value", "sigma")],
                               mode="markers+text", text=wide.index, textposition="top center",
                               cliponaxis=False,
                               error_x={"type": "data", "array": wide[("conf", "mu_star")]}))
    fig.update_layout(xaxis_title="mu* (mean absolute elementary effect)",
                      yaxis_title="sigma (interactions / non-linearity)",
                      title=f"Morris screening of {metric} ({CONF_LEVEL:.0%} CI of mu*)")
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
