"""The chart of a scenario discovery: PRIM's coverage-density trade-off and the chosen box.

Left: every step of the peeling (and pasting) trajectory as a point (coverage on x,
density on y, coloured by the number of restricted parameters), the chosen box circled.
Right: the chosen box's range of each parameter as a bar over that parameter's sampled
range (0 = its lowest value, 1 = its highest), labelled with the limits. Self-contained
HTML (plotly.js embedded, no CDN).
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from experiments.discovery import Discovery
from experiments.outputs import atomic_write
from experiments.sweep import ANALYSIS_DIR


def discovery_chart(result: Discovery) -> go.Figure:
    found = result.found
    steps = result.prim.drop_duplicates("step").set_index("step")
    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], subplot_titles=(
        "PRIM trajectory: coverage vs density", f"chosen box (step {result.chosen})"))
    fig.add_trace(go.Scatter(
        x=steps["coverage"], y=steps["density"], mode="markers+lines", name="trajectory",
        marker={"color": steps["res_dim"], "colorscale": "Viridis", "size": 8,
                "colorbar": {"title": "restricted<br>parameters", "x": 0.5}},
        line={"color": "lightgrey"}, text=[f"step {s}: mass {m:.2f}, {d} restricted"
                                           for s, m, d in zip(steps.index, steps["mass"],
                                                              steps["res_dim"], strict=True)],
        hovertemplate="coverage %{x:.2f}, density %{y:.2f}<br>%{text}<extra></extra>"),
        row=1, col=1)
    chosen = steps.loc[result.chosen]
    fig.add_trace(go.Scatter(x=[chosen["coverage"]], y=[chosen["density"]], mode="markers",
                             name="chosen box", marker={"symbol": "circle-open", "size": 18,
                                                        "color": "red", "line": {"width": 3}}),
                  row=1, col=1)
    box = result.prim[result.prim["step"] == result.chosen]
    numeric = box[box["values"] == ""]
    names, starts, widths, labels = [], [], [], []
    for row in numeric.itertuples():
        low, high = float(found.x[row.parameter].min()), float(found.x[row.parameter].max())
        span = (high - low) or 1.0
        names.append(row.parameter + (" *" if row.restricted else ""))
        starts.append((row.lower - low) / span)
        widths.append((row.upper - row.lower) / span)
        labels.append(f"{row.lower:.3g} .. {row.upper:.3g}")
    fig.add_trace(go.Bar(y=names, x=widths, base=starts, orientation="h", text=labels,
                         textposition="inside", name="box limits",
                         marker={"color": ["crimson" if n.endswith("*") else "lightgrey"
                                           for n in names]}), row=1, col=2)
    fig.update_xaxes(title_text="coverage (share of cases of interest in the box)", row=1,
                     col=1, range=[0, 1.02])
    fig.update_yaxes(title_text="density (share of the box's cases of interest)", row=1,
                     col=1, range=[0, 1.02])
    fig.update_xaxes(title_text="share of the sampled range (* restricted)", range=[0, 1],
                     row=1, col=2)
    fig.update_layout(title=f"Scenario discovery: {found.rule} in {int(found.y.sum())} of "
                            f"{len(found.y)} {found.basis}s ({found.runs} runs); chosen box: "
                            f"coverage {chosen['coverage']:.2f}, density "
                            f"{chosen['density']:.2f}, mass {chosen['mass']:.2f}",
                      showlegend=False, height=520)
    return fig


def write_discovery_chart(out: Path, result: Discovery, metric: str) -> Path:
    path = Path(out) / ANALYSIS_DIR / f"discover_{metric}.html"
    path.parent.mkdir(exist_ok=True)
    figure = discovery_chart(result)
    atomic_write(path, lambda p: figure.write_html(p, include_plotlyjs=True))
    return path
