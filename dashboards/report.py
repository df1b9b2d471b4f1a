"""The consultants' report: one self-contained, offline HTML page built from a stored comparison.

``build_report(DIR)`` reads only DIR's tidy tables, manifest and parameter files, so
``run.py report DIR`` rebuilds the same report. plotly.js is embedded once in the page.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from dashboards.markers import mark_time_charts
from experiments.compare import read_comparison
from experiments.outputs import atomic_write
from experiments.statistics import (
    BOOTSTRAP_RESAMPLES,
    METRIC_BY_NAME,
    REPORT_METRICS,
    crn_gain,
    effect_label,
    findings,
    fmt,
    fmt_difference,
    fmt_km,
    km_sentence,
    pairwise_differences,
    replication_adequacy,
    setting_intervals,
    time_to_half_km,
    time_to_half_logrank,
    with_derived_metrics,
)
from model.parameters import ParameterError, Parameters, make_parameters, parameter_specs
from scenarios.settings import read_toml

HEADLINE_METRICS = ("hidden_coasting_share", "probe_share_26w", "probe_share_52w",
                    "probe_adoption_auc", "ideas_squashed_share", "ideas_per_employee_year")
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
STATE_COLORS = {"working": "#9e9e9e", "hidden": "#d62728", "detected": "#ff9800"}
MAX_NETWORK_NODES = 1500


# --- figures ------------------------------------------------------------------
def _band(fig: go.Figure, steps: np.ndarray, mean: np.ndarray, low: np.ndarray,
          high: np.ndarray, color: str, name: str, dash: str = "solid", row: int | None = None,
          col: int | None = None, showlegend: bool = True) -> None:
    where = {"row": row, "col": col} if row else {}
    fig.add_trace(go.Scatter(x=np.concatenate([steps, steps[::-1]]),
                             y=np.concatenate([high, low[::-1]]), fill="toself",
                             fillcolor=color, opacity=0.18, line={"width": 0},
                             hoverinfo="skip", showlegend=False, legendgroup=name), **where)
    fig.add_trace(go.Scatter(x=steps, y=mean, name=name, legendgroup=name,
                             line={"color": color, "dash": dash}, showlegend=showlegend),
                  **where)


def series_bands(timeseries: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per setting and step: mean of a metric across replications with its 95% interval."""
    from scipy import stats

    grouped = timeseries.groupby(["setting", "step"], observed=True)[metric]
    table = grouped.agg(["mean", "std", "count"]).reset_index()
    half = (stats.t.ppf(0.975, np.maximum(table["count"] - 1, 1)) * table["std"].fillna(0)
            / np.sqrt(table["count"]))
    return table.assign(low=table["mean"] - half, high=table["mean"] + half)


def _series_figure(timeseries: pd.DataFrame, panels: list[tuple[str, str]],
                   lines: list[tuple[str, str, str]], yaxis: str) -> go.Figure:
    """Panels of metric bands over time, one colour per setting (lines: metric, label, dash)."""
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[t for _, t in panels])
    settings = list(timeseries["setting"].cat.categories)
    shown: set[str] = set()
    for col, (panel, _) in enumerate(panels, start=1):
        for metric, label, dash in (line for line in lines if line[0] in panel.split("+")):
            bands = series_bands(timeseries, metric)
            for i, setting in enumerate(settings):
                b = bands[bands["setting"] == setting]
                name = f"{setting}{label}"
                _band(fig, b["step"].to_numpy(), b["mean"].to_numpy(), b["low"].to_numpy(),
                      b["high"].to_numpy(), COLORS[i % len(COLORS)], name, dash, row=1,
                      col=col, showlegend=name not in shown)
                shown.add(name)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text=yaxis, tickformat=".0%")
    fig.update_layout(height=400, margin={"t": 40, "b": 40},
                      legend={"orientation": "h", "y": -0.22})
    return fig


def adoption_figure(timeseries: pd.DataFrame) -> go.Figure:
    return _series_figure(
        timeseries,
        [("probe_adoption_share", "A good idea born at the customer interface"),
         ("idea_use_share", "Employees using any idea born in the run")],
        [("probe_adoption_share", "", "solid"), ("idea_use_share", "", "solid")],
        "share of employees")


def coasting_figure(timeseries: pd.DataFrame) -> go.Figure:
    return _series_figure(
        timeseries, [("hidden_coasting_share+detected_coasting_share",
                      "Coasting: hidden (solid) and noticed (dashed)")],
        [("hidden_coasting_share", " hidden", "solid"),
         ("detected_coasting_share", " noticed", "dash")], "share of employees")


def commitment_figure(employees: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for i, setting in enumerate(employees["setting"].cat.categories):
        values = employees.loc[employees["setting"] == setting, "commitment"]
        fig.add_trace(go.Violin(y=values, name=str(setting), box_visible=True,
                                meanline_visible=True, points=False,
                                line_color=COLORS[i % len(COLORS)]))
    fig.update_layout(height=380, margin={"t": 20, "b": 40}, showlegend=False,
                      yaxis_title="commitment at the end (0-1)")
    return fig


def network_layout(edges: pd.DataFrame, nodes: np.ndarray, seed: int = 0) -> dict[int, tuple]:
    graph = nx.Graph()
    graph.add_nodes_from(nodes.tolist())
    graph.add_edges_from(edges[["source", "target"]].itertuples(index=False, name=None))
    return nx.spring_layout(graph, seed=seed, iterations=60)


def network_figure(network: pd.DataFrame, employees: pd.DataFrame) -> go.Figure:
    """The realized conversation network of replication 0 under each setting."""
    settings = [s for s in network["setting"].cat.categories if (network["setting"] == s).any()]
    fig = make_subplots(rows=1, cols=len(settings), subplot_titles=[str(s) for s in settings])
    for col, setting in enumerate(settings, start=1):
        people = employees[(employees["setting"] == setting) & (employees["replication"] == 0)]
        nodes = people["employee"].to_numpy()
        if len(nodes) > MAX_NETWORK_NODES:  # a deterministic sample keeps the page light
            nodes = np.sort(np.random.default_rng(0).choice(nodes, MAX_NETWORK_NODES,
                                                            replace=False))
        edges = network[(network["setting"] == setting) & network["source"].isin(nodes)
                        & network["target"].isin(nodes)]
        pos = network_layout(edges, nodes)
        ex, ey = [], []
        for s, t in edges[["source", "target"]].itertuples(index=False, name=None):
            ex += [pos[s][0], pos[t][0], None]
            ey += [pos[s][1], pos[t][1], None]
        fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", hoverinfo="skip", showlegend=False,
                                 line={"width": 0.4, "color": "#c0c0c0"}), row=1, col=col)
        people = people.set_index("employee").loc[nodes]
        for state, color in STATE_COLORS.items():
            chosen = people[people["coast_state"].astype(str) == state]
            fig.add_trace(go.Scatter(
                x=[pos[i][0] for i in chosen.index], y=[pos[i][1] for i in chosen.index],
                mode="markers", name=f"{state}", legendgroup=state, showlegend=(col == 1),
                marker={"color": color, "size": np.where(chosen["formal_leader"], 9, 5),
                        "symbol": np.where(chosen["formal_leader"], "diamond", "circle"),
                        "line": {"width": 0}},
                text=[f"employee {i}, level {r.level}, commitment {r.commitment:.2f}"
                      for i, r in chosen.iterrows()], hoverinfo="text"), row=1, col=col)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=460, margin={"t": 40, "b": 10},
                      legend={"orientation": "h", "y": -0.02},
                      plot_bgcolor="white")
    return fig


# --- tables ------------------------------------------------------------------
def _table(header: list[str], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def intervals_table(intervals: pd.DataFrame) -> str:
    settings = list(dict.fromkeys(intervals["setting"]))
    indexed = intervals.set_index(["metric", "setting"])
    rows = []
    for metric in dict.fromkeys(intervals["metric"]):
        info = METRIC_BY_NAME[metric]
        cells = [info.label, info.meaning]
        for setting in settings:
            r = indexed.loc[(metric, setting)]
            cell = f"{fmt(r['mean'], info.kind)} [{fmt(r['ci_low'], info.kind)}, " \
                   f"{fmt(r['ci_high'], info.kind)}]"
            if r["missing"]:
                cell += f" (never in {int(r['missing'])} runs)"
            cells.append(cell)
        rows.append(cells)
    return _table(["metric", "what it measures"] + [str(s) for s in settings], rows,
                  "intervals")


def differences_table(differences: pd.DataFrame) -> str:
    rows = []
    for _, r in differences.iterrows():
        kind = METRIC_BY_NAME[r["metric"]].kind
        ratio = (f"{r['ratio']:.2f}x [{r['ratio_low']:.2f}, {r['ratio_high']:.2f}]"
                 if np.isfinite(r["ratio_low"]) else "n/a")
        rows.append([f"{r['setting_b']} - {r['setting_a']}", METRIC_BY_NAME[r["metric"]].label,
                     f"{fmt_difference(r['difference'], kind)} "
                     f"[{fmt_difference(r['ci_low'], kind)}, "
                     f"{fmt_difference(r['ci_high'], kind)}]",
                     ratio, f"{r['effect_size']:.2f} ({effect_label(r['effect_size'])})",
                     "yes" if r["clear"] else "no"])
    return _table(["pair", "metric", "difference [95% CI]", "ratio [95% CI]",
                   "effect size (Cohen's d)", "clear"], rows, "differences")


def crn_table(gain: pd.DataFrame) -> str:
    rows = [[f"{r['setting_b']} - {r['setting_a']}", METRIC_BY_NAME[r["metric"]].label,
             f"{r['se_common']:.4g}" if r["paired"] else "unpaired", f"{r['se_independent']:.4g}",
             f"{r['variance_ratio']:.2f}" if r["paired"] else "n/a"]
            for _, r in gain.iterrows()]
    return _table(["pair", "metric", "SE, common seeds", "SE, independent seeds (estimated)",
                   "variance ratio"], rows, "crn-gain")


def stored_parameters(path: Path) -> dict[str, Any]:
    """A stored setting's parameters: the built-in ones validated, those of an extension
    model (unknown to the built-in one) as written; the report imports no extension."""
    values = read_toml(path).get("parameters", {})
    if not isinstance(values, dict):
        raise ParameterError(f"{path}: parameters = {values!r}: must be a table")
    builtin = {k: v for k, v in values.items() if k in Parameters.model_fields}
    own = {k: v for k, v in values.items() if k not in Parameters.model_fields}
    return {**make_parameters(builtin, str(path), strict=True).model_dump(), **own}


def parameter_differences(parameter_files: dict[str, str], base: Path) -> pd.DataFrame:
    """Parameters whose values differ between the compared settings (tidy)."""
    values = {name: stored_parameters(base / "settings" / f"{name}.toml")
              for name in parameter_files}
    meanings = {spec.name: spec.meaning for spec in parameter_specs()}
    extension = sorted({k for v in values.values() for k in v} - set(meanings))
    rows = []
    for parameter in [*meanings, *extension]:
        seen = {name: v.get(parameter) for name, v in values.items()}
        if len({json.dumps(v) for v in seen.values()}) > 1:
            meaning = meanings.get(parameter, "A parameter of the extension model.")
            rows.extend({"parameter": parameter, "meaning": meaning, "setting": name,
                         "value": value} for name, value in seen.items())
    return pd.DataFrame(rows, columns=["parameter", "meaning", "setting", "value"])


def parameters_table(diffs: pd.DataFrame, settings: list[str]) -> str:
    if diffs.empty:
        return "<p>The compared settings share every parameter value.</p>"
    wide = diffs.pivot(index=["parameter", "meaning"], columns="setting", values="value")
    rows = [[p, m] + [str(wide.loc[(p, m), s]) for s in settings] for p, m in wide.index]
    return _table(["parameter", "meaning"] + settings, rows, "parameters")


def read_report_data(report: Path) -> dict:
    """The statistics and findings embedded in a report page."""
    text = report.read_text(encoding="utf-8")
    start = text.index('id="report-data">') + len('id="report-data">')
    return json.loads(text[start:text.index("</script>", start)])


def _records(table: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts at full precision (NaN becomes null)."""
    return json.loads(table.to_json(orient="records", double_precision=15))


def _script_json(data: dict) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(data).replace("</", "<\\/")


# --- page --------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1150px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
.sub{color:#555}.findings li{margin:.35em 0}.unclear{color:#666}
table{border-collapse:collapse;font-size:.9em;margin:.6em 0}
td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left}th{background:#f5f5f5}
.caption{color:#444;font-size:.95em}code{background:#f4f4f4;padding:.1em .3em}
"""


def reproduce_command(manifest: dict) -> str:
    if manifest.get("command"):
        return manifest["command"]
    return (f"python run.py compare {' '.join(manifest['settings'])} --replications "
            f"{manifest['replications']} --employees {manifest['employees']} --steps "
            f"{manifest['steps']} --seed {manifest['root_seed']}")


def report_statistics(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Intervals, pairwise differences and findings of the headline metrics; the time for a
    good idea to reach half the staff comes first, as Kaplan-Meier medians (censored runs
    kept), never as a mean over the runs that got there."""
    runs = with_derived_metrics(runs)
    metrics = [m.name for m in REPORT_METRICS  # none where the run is too short to say
               if m.name in runs and pd.to_numeric(runs[m.name], errors="coerce").notna().any()]
    differences = pairwise_differences(runs, metrics)
    sentences = findings(differences)
    km, pairs = time_to_half_km(runs), time_to_half_logrank(runs)
    if len(pairs):
        lead = pd.DataFrame({"setting_a": pairs["setting_a"], "setting_b": pairs["setting_b"],
                             "metric": "time_to_half_km", "clear": pairs["clear"],
                             "sentence": [km_sentence(r, km) for _, r in pairs.iterrows()]})
        sentences = pd.concat([lead, sentences], ignore_index=True)
    return setting_intervals(runs, metrics), differences, sentences


def km_table(km: pd.DataFrame, pairs: pd.DataFrame) -> str:
    rows = [[str(r["setting"]), f"{int(r['reached'])} of {int(r['runs'])}",
             fmt_km(r["median"], r["horizon"]),
             f"[{fmt_km(r['ci_low'], r['horizon'])}, {fmt_km(r['ci_high'], r['horizon'])}]"]
            for _, r in km.iterrows()]
    table = _table(["setting", "runs reaching half the staff", "median steps (Kaplan-Meier)",
                    "95% CI"], rows, "time-to-half")
    tests = "".join(f"<li>{html.escape(str(r['setting_b']))} vs "
                    f"{html.escape(str(r['setting_a']))}: log-rank p = {r['logrank_p']:.3g}</li>"
                    for _, r in pairs.iterrows())
    return table + (f"<ul>{tests}</ul>" if tests else "")


def _percent(value: float) -> str:
    return f"{value:.1%}" if np.isfinite(value) else "n/a"


def adequacy_table(adequacy: pd.DataFrame) -> str:
    rows = [[str(r["setting"]), METRIC_BY_NAME[r["metric"]].label if r["metric"] in
             METRIC_BY_NAME else str(r["metric"]), _percent(r["relative_half_width"]),
             _percent(r["cv_drift"]), "yes" if r["stable"] else "no"]
            for _, r in adequacy.iterrows()]
    return _table(["setting", "metric", "95% CI half-width / mean",
                   "change of the running CV over the last quarter of runs", "stable"], rows,
                  "replications")


def build_report(out: Path) -> Path:
    """Write out/report.html from the stored comparison in ``out``; return its path."""
    manifest, tables, parameter_files = read_comparison(out)
    settings = manifest["settings"]
    intervals, differences, sentences = report_statistics(tables["runs"])
    runs = with_derived_metrics(tables["runs"])
    km, km_pairs = time_to_half_km(runs), time_to_half_logrank(runs)
    adequacy = replication_adequacy(runs, [m for m in HEADLINE_METRICS if m in runs])
    for name, table in (("intervals", intervals), ("differences", differences),
                        ("findings", sentences), ("time_to_half_km", km),
                        ("replications", adequacy)):
        atomic_write(out / f"{name}.csv", lambda p, t=table: t.to_csv(p, index=False))
    params = parameter_differences(parameter_files, out)
    figures = {
        "adoption": (adoption_figure(tables["timeseries"]),
                     "How far and how fast ideas spread: the tracer good idea (left) and any "
                     "idea born during the run (right); lines are means across replications, "
                     "bands their 95% confidence intervals."),
        "coasting": (coasting_figure(tables["timeseries"]),
                     "Coasting over time: hidden (nobody who could act has noticed) versus "
                     "noticed; means with 95% bands."),
        "commitment": (commitment_figure(tables["employees"]),
                       "Distribution of employees' commitment at the end of the run, all "
                       "replications pooled (box: quartiles; line: mean)."),
        "network": (network_figure(tables["network"], tables["employees"]),
                    "Who actually talked to whom in the last steps (replication 0); colour: "
                    "coasting state; diamonds: formal leaders."),
    }
    mark_time_charts(out, [figures["adoption"][0], figures["coasting"][0]])  # roadmaps
    items = "".join(f'<li{"" if clear else " class=unclear"}>{html.escape(sentence)}</li>'
                    for sentence, clear in zip(sentences["sentence"], sentences["clear"],
                                               strict=True))
    charts = "".join(
        f'<h3>{html.escape(name.capitalize())}</h3><p class="caption">{html.escape(caption)}'
        f'</p>{fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{name}")}'
        for name, (fig, caption) in figures.items())
    seeds = manifest["seeds"]
    esc = {key: html.escape(str(manifest.get(key, "?")))  # stored values are escaped
           for key in ("replications", "employees", "steps", "root_seed", "model_version",
                       "created")}
    descriptions = manifest.get("descriptions", {})
    settings_list = "".join(f"<li><b>{html.escape(name)}</b>: "
                            f"{html.escape(descriptions.get(name, '') or 'a user setting')}</li>"
                            for name in settings)
    data = {"intervals": _records(intervals), "differences": _records(differences),
            "findings": _records(sentences), "time_to_half_km": _records(km),
            "replications": _records(adequacy)}
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(' vs '.join(settings))}: scenario comparison</title>
<style>{CSS}</style><script>{get_plotlyjs()}</script></head><body>
<h1>What changes between {html.escape(' and '.join(settings))}</h1>
<p class="sub">{esc['replications']} replications per setting,
{esc['employees']} employees, {esc['steps']} steps, common random numbers
(root seed {esc['root_seed']}).</p>
<h2>What was compared</h2><ul>{settings_list}</ul>
<h2>Findings</h2><ul class="findings">{items or "<li>Only one setting: see its intervals."
                                          "</li>"}</ul>
<h2>Time for a good idea to reach half the staff</h2>
<p class="caption">Kaplan-Meier estimate over all runs: a run in which the tracer idea
never reached half the staff counts as censored at the end of the run, not as missing.
"not within N" means the curve (or its interval) never fell to one half.</p>
{km_table(km, km_pairs)}
<h2>Each setting: mean [95% confidence interval]</h2>{intervals_table(intervals)}
<h2>Differences between settings</h2>{differences_table(differences)}
<h2>Charts</h2>{charts}
<h2>Parameters that differ between the settings</h2>{parameters_table(params, settings)}
<h2>Method</h2>
<p>Each setting was simulated {esc['replications']} times. Replication k of every
setting used the same seed (common random numbers), and each mechanism draws from its own
random stream, so the settings differ through their mechanisms rather than through luck.
Intervals are t-intervals across replications; differences are paired by replication;
ratio intervals come from a paired bootstrap ({BOOTSTRAP_RESAMPLES:,} resamples); effect
sizes are Cohen's d (difference over the pooled standard deviation of the two settings).
The time for a good idea to reach half the staff is a Kaplan-Meier median (lifelines) over
all runs, those where it never got there counted as censored, with its 95% interval, and
settings are compared by a log-rank test; it is never averaged over the runs that got there.
The tracer's share of staff 26 and 52 weeks after its birth and its mean share over that
year are defined in every run.
Findings are generated from these numbers only; a difference is called clear when its 95%
interval excludes zero.</p>
<p>Gain of common random numbers: standard error of each difference with the seeds shared,
and the standard error the same runs would have had with independent seeds (from the
settings' own variances); a variance ratio of 0.5 means common seeds did the work of twice
as many replications.</p>{crn_table(crn_gain(differences))}
<p>Why {manifest['replications']} replications suffice: for each headline metric, the 95%
interval's half-width relative to the mean, and how much the coefficient of variation across
runs still moved over the last quarter of the replications (stable: under 20%, so more runs
would narrow intervals as 1/sqrt(R) without changing the estimates' spread).</p>
{adequacy_table(adequacy)}
<p>Seeds: {html.escape(', '.join(str(s) for s in seeds[:8]))}{' ...' if len(seeds) > 8 else ''}
(all in manifest.json). Model version {esc['model_version']};
made {esc['created']}.</p>
<p>Reproduce with one command: <code>{html.escape(reproduce_command(manifest))}</code>.
Rebuild this page from the data beside it: <code>python run.py report DIR</code>. The data:
runs (one row per setting and replication), timeseries (per step), employees (final state),
network (conversation ties), as Parquet and CSV.</p>
<script type="application/json" id="report-data">{_script_json(data)}</script>
</body></html>
"""
    path = out / "report.html"
    atomic_write(path, lambda p: p.write_text(page, encoding="utf-8"))
    return path
