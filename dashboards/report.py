"""The consultants' report: one self-contained, offline HTML page built from a stored comparison.

``build_report(DIR)`` reads only DIR's tidy tables, manifest and parameter files, so
``run.py report DIR`` rebuilds the same report. plotly.js is embedded once in the page.
"""

from __future__ import annotations

import html
import json
import random
import shlex
from pathlib import Path
from typing import Any

import igraph
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from dashboards.markers import mark_time_charts
from experiments.attribution import attribution_table, read_explanation, why_sentence
from experiments.breakdowns import BREAKDOWN_METRICS, group_breakdowns
from experiments.compare import read_comparison
from experiments.outputs import atomic_write
from experiments.statistics import (
    BOOTSTRAP_RESAMPLES,
    METRIC_BY_NAME,
    REPORT_METRICS,
    comparable_metrics,
    crn_gain,
    effect_label,
    findings,
    fmt,
    fmt_change,
    fmt_difference,
    fmt_km,
    fmt_unit,
    km_sentence,
    pairwise_differences,
    replication_adequacy,
    setting_intervals,
    setting_label,
    setting_sizes,
    time_to_half_km,
    time_to_half_logrank,
    with_derived_metrics,
)
from experiments.summary import check_focus, squash_note, summary_findings, trade_offs
from model.parameters import ParameterError, Parameters, make_parameters, parameter_specs
from scenarios.settings import read_toml

HEADLINE_METRICS = ("hidden_coasting_share", "probe_share_26w", "probe_share_52w",
                    "probe_adoption_auc", "ideas_squashed_share", "ideas_per_employee_year")
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
STATE_COLORS = {"working": "#9e9e9e", "hidden": "#d62728", "detected": "#ff9800"}
STATE_LABELS = {"working": "working", "hidden": "coasting, unnoticed",
                "detected": "coasting, noticed"}
# No chart offers to send anything anywhere: no plotly logo link, no cloud or Chart
# Studio buttons; charts follow the page's width (also when printed).
PLOTLY_CONFIG = {"displaylogo": False, "showSendToCloud": False, "responsive": True,
                 "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio"]}
MAX_NETWORK_NODES = 1500
LAYOUT_ITERATIONS = 500  # of the network's force-directed layout (igraph's default)


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
                name = f"{setting_label(setting)}{label}"
                _band(fig, b["step"].to_numpy(), b["mean"].to_numpy(), b["low"].to_numpy(),
                      b["high"].to_numpy(), COLORS[i % len(COLORS)], name, dash, row=1,
                      col=col, showlegend=name not in shown)
                shown.add(name)
    fig.update_xaxes(title_text="week")
    fig.update_yaxes(title_text=yaxis, tickformat=".0%")
    fig.update_annotations(font_size=12)  # panel titles: short enough for an A4 page
    fig.update_layout(height=400, margin={"t": 40, "b": 40, "l": 50, "r": 20},
                      legend={"orientation": "h", "y": -0.22})
    return fig


def adoption_figure(timeseries: pd.DataFrame) -> go.Figure:
    return _series_figure(
        timeseries,
        [("probe_adoption_share", "The tracer good idea"),
         ("idea_use_share", "Any idea born in the run")],
        [("probe_adoption_share", "", "solid"), ("idea_use_share", "", "solid")],
        "share of employees")


def coasting_figure(timeseries: pd.DataFrame) -> go.Figure:
    return _series_figure(
        timeseries, [("hidden_coasting_share+detected_coasting_share",
                      "Coasting: unnoticed (solid) and noticed (dashed)")],
        [("hidden_coasting_share", " unnoticed", "solid"),
         ("detected_coasting_share", " noticed", "dash")], "share of employees")


def commitment_figure(employees: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for i, setting in enumerate(employees["setting"].cat.categories):
        values = employees.loc[employees["setting"] == setting, "commitment"]
        fig.add_trace(go.Violin(y=values, name=setting_label(setting), box_visible=True,
                                meanline_visible=True, points=False,
                                line_color=COLORS[i % len(COLORS)]))
    fig.update_layout(height=380, margin={"t": 20, "b": 40}, showlegend=False,
                      yaxis_title="commitment at the end (0-1)")
    return fig


def network_layout(edges: pd.DataFrame, nodes: np.ndarray, seed: int = 0) -> dict[int, tuple]:
    """Fruchterman-Reingold positions of ``nodes`` joined by ``edges`` (source, target):
    igraph's, in C (0.2 s at 1,500 nodes, where networkx's spring layout takes 6.5 s),
    from starting positions drawn with ``seed`` and igraph's generator seeded with it, so
    the same network is drawn the same way in every process."""
    index = {node: k for k, node in enumerate(nodes.tolist())}
    pairs = [(index[s], index[t])
             for s, t in edges[["source", "target"]].itertuples(index=False, name=None)]
    graph = igraph.Graph(n=len(index), edges=pairs)
    start = np.random.default_rng(seed).uniform(-1.0, 1.0, (len(index), 2)) * np.sqrt(
        max(len(index), 1))
    igraph.set_random_number_generator(random.Random(seed))
    try:
        layout = graph.layout_fruchterman_reingold(seed=start.tolist(), niter=LAYOUT_ITERATIONS)
    finally:
        igraph.set_random_number_generator(random)  # (igraph's default)
    return dict(zip(index, map(tuple, layout.coords), strict=True))


def network_figure(network: pd.DataFrame, employees: pd.DataFrame) -> go.Figure:
    """The realized conversation network of replication 0 under each setting."""
    settings = [s for s in network["setting"].cat.categories if (network["setting"] == s).any()]
    fig = make_subplots(rows=1, cols=len(settings),
                        subplot_titles=[setting_label(s) for s in settings])
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
                mode="markers", name=STATE_LABELS[state], legendgroup=state,
                showlegend=(col == 1),
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
            cell = f"{fmt_unit(r['mean'], info)} [{fmt(r['ci_low'], info.kind)}, " \
                   f"{fmt(r['ci_high'], info.kind)}] ({int(r['n'])} runs)"
            if r["missing"]:
                cell += f" (never in {int(r['missing'])} runs)"
            cells.append(cell)
        rows.append(cells)
    return _table(["metric", "what it measures"] + [setting_label(s) for s in settings], rows,
                  "intervals")


def differences_table(differences: pd.DataFrame) -> str:
    rows = []
    for _, r in differences.iterrows():
        info = METRIC_BY_NAME[r["metric"]]
        ratio = (f"{r['ratio']:.2f} [{r['ratio_low']:.2f}, {r['ratio_high']:.2f}]"
                 if np.isfinite(r["ratio_low"]) else "n/a")
        rows.append([f"{setting_label(r['setting_b'])} minus {setting_label(r['setting_a'])}",
                     info.label,
                     f"{fmt_change(r['difference'], info)} "
                     f"[{fmt_difference(r['ci_low'], info.kind)}, "
                     f"{fmt_difference(r['ci_high'], info.kind)}]",
                     ratio, f"{r['effect_size']:.2f} ({effect_label(r['effect_size'])})",
                     f"{int(r['n_b'])}" + (" pairs" if r["paired"] else " and "
                                           f"{int(r['n_a'])}, unpaired"),
                     "yes" if r["clear"] else "no"])
    return _table(["B minus A", "metric", "difference [95% CI]",
                   "ratio B / A [95% CI, Fieller]", "standardized size (Cohen's d)", "runs",
                   "clear"], rows, "differences")


def crn_table(gain: pd.DataFrame) -> str:
    rows = [[f"{setting_label(r['setting_b'])} minus {setting_label(r['setting_a'])}",
             METRIC_BY_NAME[r["metric"]].label,
             f"{r['se_common']:.4g}" if r["paired"] else "unpaired", f"{r['se_independent']:.4g}",
             f"{r['variance_ratio']:.2f}" if r["paired"] else "n/a"]
            for _, r in gain.iterrows()]
    return _table(["B minus A", "metric", "SE, common seeds", "SE, independent seeds (estimated)",
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
    rows = [[p.replace("_", " "), m] + [str(wide.loc[(p, m), s]) for s in settings]
            for p, m in wide.index]
    return _table(["parameter", "meaning"] + [setting_label(s) for s in settings], rows,
                  "parameters")


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
#summary{background:#f7f9fc;border:1px solid #dde4ee;padding:.2em 1.2em 1em;margin-top:1em;
box-sizing:border-box}
#summary h2{margin-top:.6em}#summary li{margin:.5em 0}
table{border-collapse:collapse;font-size:.9em;margin:.6em 0}
td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f5f5f5}
.caption{color:#444;font-size:.95em}code{background:#f4f4f4;padding:.1em .3em;
word-break:break-all}
dl.glossary dt{font-weight:600;margin-top:.5em}dl.glossary dd{margin-left:1.2em}
.chart{margin-bottom:1em}
@page{size:A4;margin:14mm 12mm}
@media print{
body{max-width:none;margin:0;padding:0;font-size:10pt;line-height:1.35}
h1{font-size:1.45em}h2{font-size:1.2em;margin-top:1.2em}h3{font-size:1.05em}
h2,h3,.caption{break-after:avoid;page-break-after:avoid}
#summary{break-inside:avoid;page-break-inside:avoid}
#details{break-before:page;page-break-before:always}
tr,li,.chart,dl.glossary dd{break-inside:avoid;page-break-inside:avoid}
table{font-size:8pt;width:100%}td,th{padding:.15em .3em}td{overflow-wrap:anywhere}
.modebar-container{display:none!important}
.chart .js-plotly-plot,.chart .plotly-graph-div{width:100%!important}
}
"""
# Resize every chart to the printed width before printing (the browser's print dialog).
PRINT_SCRIPT = """<script>window.addEventListener('beforeprint', function () {
document.querySelectorAll('.js-plotly-plot').forEach(function (g) {Plotly.Plots.resize(g);});
});</script>"""

GLOSSARY = (
    ("95% interval (confidence interval, CI)", "The range that holds the true value in 95 of "
     "100 repetitions of this study; 'between 12 and 14' is such a range. Intervals of shares "
     "never leave 0-100%."),
    ("Percentage points (points)", "The gap between two percentages: from 10% to 13% is 3 "
     "points (and 30% more)."),
    ("B minus A", "Every difference is the setting named first in the sentence minus the "
     "other one: the second setting compared (B) minus the first (A). The ratio is B / A."),
    ("Run, replication", "One simulation of an organization for the stated number of weeks; "
     "each setting is simulated several times with different random seeds."),
    ("Common random numbers", "Run k of every setting uses the same random seed, so the "
     "settings meet the same luck (the same people, customers and chance events) and differ "
     "only through how they are organized."),
    ("Hidden coasting", "An employee doing little while nobody able to act (a manager, or a "
     "peer who may hold them to account) has noticed."),
    ("The tracer good idea", "One good idea planted in every run at the customer interface, "
     "so its spread can be followed and compared between settings."),
    ("Squashed idea", "An idea turned down in approval. Counted out of all ideas born (most "
     "never come to a decision) or out of the ideas decided (sanctioned or turned down)."),
    ("Kaplan-Meier median", "The week by which half the runs' good ideas had reached half the "
     "staff, counting runs where it never got there as 'not yet' rather than leaving them "
     "out; 'not within N weeks' means it had not happened by the end."),
    ("Clear difference", "A difference whose 95% interval lies wholly above or below zero."),
    ("Standardized size (Cohen's d)", "A difference divided by the typical spread between "
     "runs; about 0.2 is small, 0.5 medium, 0.8 large."),
    ("Shapley share", "In 'Why they differ': the part of a difference due to one lever, "
     "averaged over every order in which the levers could be switched from A to B; the "
     "shares add up to the whole difference."),
    ("Log-rank test, p", "A test of whether two settings' times to reach half the staff "
     "differ; p below 0.05 counts as clear."),
)


def glossary() -> str:
    return '<dl class="glossary">' + "".join(
        f"<dt>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>" for term, text in GLOSSARY
    ) + "</dl>"


def reproduce_command(manifest: dict, location: Path | str) -> str:
    """The one command that reruns this comparison from the settings stored beside the
    data (each holds every resolved parameter, overrides included), shell-quoted."""
    base = Path(location)
    # older comparisons stored parameters only: a chart or roadmap reran from its own file
    own_files = ({} if manifest.get("settings_self_contained")
                 else manifest.get("setting_files", {}))
    parts = ["python", "run.py", "compare",
             *[own_files.get(name, str(base / "settings" / f"{name}.toml"))
               for name in manifest["settings"]],
             "--replications", str(manifest["replications"]), "--seed",
             str(manifest["root_seed"])]
    explain = manifest.get("explain")
    if isinstance(explain, dict):
        parts += ["--explain", "--explain-by", str(explain.get("by", "auto")),
                  "--explain-replications", str(explain.get("replications"))]
    for name in manifest.get("focus", []):
        parts += ["--focus", name]
    if manifest.get("model"):  # an extension's "module:Class"
        parts += ["--model", str(manifest["model"])]
    if manifest.get("posterior"):  # a calibration's posterior draws
        parts += ["--posterior", str(manifest["posterior"])]
    parts += ["--out", str(base.with_name(base.name + "-again"))]
    return shlex.join(parts)


def report_statistics(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Intervals, pairwise differences and findings of the headline metrics; the time for a
    good idea to reach half the staff comes first, as Kaplan-Meier medians (censored runs
    kept), never as a mean over the runs that got there. Where settings differ in size, raw
    counts are left out of the differences (per-employee figures stay)."""
    runs = with_derived_metrics(runs)
    metrics = [m.name for m in REPORT_METRICS  # none where the run is too short to say
               if m.name in runs and pd.to_numeric(runs[m.name], errors="coerce").notna().any()]
    differences = pairwise_differences(runs, comparable_metrics(runs, metrics))
    sentences = findings(differences)
    km, pairs = time_to_half_km(runs), time_to_half_logrank(runs)
    if len(pairs):
        lead = pd.DataFrame({"setting_a": pairs["setting_a"], "setting_b": pairs["setting_b"],
                             "metric": "time_to_half_km", "clear": pairs["clear"],
                             "sentence": [km_sentence(r, km) for _, r in pairs.iterrows()]})
        sentences = pd.concat([lead, sentences], ignore_index=True)
    return setting_intervals(runs, metrics), differences, sentences


def km_table(km: pd.DataFrame, pairs: pd.DataFrame) -> str:
    rows = [[setting_label(r["setting"]), f"{int(r['reached'])} of {int(r['runs'])}",
             fmt_km(r["median"], r["horizon"]),
             f"[{fmt_km(r['ci_low'], r['horizon'])}, {fmt_km(r['ci_high'], r['horizon'])}]"]
            for _, r in km.iterrows()]
    table = _table(["setting", "runs reaching half the staff", "median (Kaplan-Meier)",
                    "95% CI"], rows, "time-to-half")
    tests = "".join(f"<li>{html.escape(setting_label(r['setting_b']))} vs "
                    f"{html.escape(setting_label(r['setting_a']))}: log-rank p = "
                    f"{r['logrank_p']:.3g}</li>" for _, r in pairs.iterrows())
    return table + (f"<ul>{tests}</ul>" if tests else "")


def _percent(value: float) -> str:
    return f"{value:.1%}" if np.isfinite(value) else "n/a"


def adequacy_table(adequacy: pd.DataFrame) -> str:
    rows = [[setting_label(r["setting"]), METRIC_BY_NAME[r["metric"]].label if r["metric"] in
             METRIC_BY_NAME else str(r["metric"]), str(int(r["runs"])),
             _percent(r["relative_half_width"]), _percent(r["cv_drift"]),
             "yes" if r["stable"] else "no"] for _, r in adequacy.iterrows()]
    return _table(["setting", "metric", "runs", "95% CI half-width / mean",
                   "change of the running CV over the last quarter of runs", "stable"], rows,
                  "replications")


# --- a client's chart and roadmap ----------------------------------------------
def roadmap_table(interventions: pd.DataFrame | None, runs: pd.DataFrame) -> str:
    """What each roadmap changed, when and where, and in how many runs (a triggered change
    may fire in some runs only)."""
    if interventions is None or interventions.empty:
        return ""
    total = runs.groupby("setting", observed=True)["replication"].nunique()
    keys = ["setting", "week", "parameter", "old", "new", "where", "why"]
    fired = (interventions.astype({"setting": str})
             .groupby(keys, sort=True, dropna=False)["replication"].nunique().reset_index())
    rows = [[setting_label(r.setting), f"week {int(r.week)}", r.parameter.replace("_", " "),
             f"{_plain(r.old)} to {_plain(r.new)}", str(r.where), str(r.why),
             f"{r.replication} of {int(total.get(r.setting, r.replication))}"]
            for r in fired.itertuples()]
    return ("<h3>Roadmap: what changed, when and where</h3>"
            '<p class="caption">Each change a roadmap made (week 0 is the start; a change '
            "over several weeks is listed when it starts), and in how many of the runs it "
            "happened (a triggered change happens only in runs where its condition held)."
            "</p>" + _table(["setting", "when", "lever", "change", "where", "why",
                             "runs"], rows, "roadmap"))


def _plain(value) -> str:
    """A parameter value as read: numbers without trailing zeros, the rest as text."""
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


def chart_unit_table(breakdown: pd.DataFrame | None) -> str:
    """The client's own units (from its chart): hidden coasting, coasting and commitment at
    the end of the run, employee-weighted over levels, mean over runs."""
    if breakdown is None or breakdown.empty:
        return ""
    frame = breakdown.astype({"setting": str})
    measures = ["hidden_coasting_share", "coasting_share", "mean_commitment"]
    weighted = frame[measures].mul(frame["employees"], axis=0)
    per_run = (pd.concat([frame[["setting", "replication", "unit", "employees"]], weighted],
                         axis=1)
               .groupby(["setting", "replication", "unit"], sort=False).sum())
    per_run[measures] = per_run[measures].div(per_run["employees"], axis=0)
    means = per_run.groupby(["setting", "unit"], sort=False)[measures].mean()
    runs = per_run.groupby(["setting", "unit"], sort=False)["employees"].size()
    rows = [[setting_label(setting), str(unit),
             f"{int(per_run.loc[(setting, slice(None), unit), 'employees'].iloc[0]):,}",
             f"{100 * m.hidden_coasting_share:.1f}%", f"{100 * m.coasting_share:.1f}%",
             f"{m.mean_commitment:.2f}", str(runs[(setting, unit)])]
            for (setting, unit), m in means.iterrows()]
    return ("<h3>By unit of the client's chart (end of the run)</h3>"
            + _table(["setting", "unit", "staff", "hidden coasting", "coasting",
                      "commitment (0-1)", "runs"], rows, "chart-units"))


# --- breakdowns ----------------------------------------------------------------
def breakdown_table(breakdowns: pd.DataFrame, grouping: str) -> str:
    rows = []
    part = breakdowns[breakdowns["grouping"] == grouping]
    for (setting, group), block in part.groupby(["setting", "group"], sort=False):
        cells = [setting_label(setting), str(group), f"{block['staff'].iloc[0]:.0f}"]
        for metric, (_, kind, _) in BREAKDOWN_METRICS.items():
            r = block[block["metric"] == metric].iloc[0]
            cells.append(f"{fmt(r['mean'], kind)} [{fmt(r['ci_low'], kind)}, "
                         f"{fmt(r['ci_high'], kind)}]")
        cells.append(str(int(block["runs"].iloc[0])))
        rows.append(cells)
    if not rows:
        return "<p>Not in the stored data (a comparison made before this was recorded).</p>"
    return _table(["setting", "group", "staff per run"]
                  + [label for label, _, _ in BREAKDOWN_METRICS.values()] + ["runs"], rows,
                  f"breakdown-{grouping.replace('_', '-')}")


def unit_spread(breakdowns: pd.DataFrame) -> str:
    """Across units: how far hidden coasting and commitment vary (10th to 90th percentile)."""
    part = breakdowns[breakdowns["grouping"] == "unit"]
    items = []
    for setting, block in part.groupby("setting", sort=False):
        hidden = block.loc[block["metric"] == "hidden_coasting_share", "mean"]
        commitment = block.loc[block["metric"] == "mean_commitment", "mean"]
        if hidden.empty:
            continue
        h10, h90 = np.quantile(hidden, [0.1, 0.9])
        c10, c90 = np.quantile(commitment, [0.1, 0.9])
        items.append(f"<li>{html.escape(setting_label(setting))}: across {len(hidden)} units, "
                     f"hidden coasting runs from {fmt(h10, 'share')} to {fmt(h90, 'share')} "
                     f"(10th to 90th percentile of units) and commitment from {c10:.3f} to "
                     f"{c90:.3f} (0-1 scale), means over {int(block['runs'].max())} runs."
                     "</li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


def breakdown_figure(breakdowns: pd.DataFrame) -> go.Figure:
    """Hidden coasting and idea use by level, and for customer-facing vs back-office staff."""
    panels = [("level", "hidden_coasting_share", "Hidden coasting by level"),
              ("level", "idea_use_share", "Idea use by level"),
              ("customer_facing", "hidden_coasting_share", "Hidden coasting: front / back")]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t for _, _, t in panels])
    settings = list(dict.fromkeys(breakdowns["setting"]))
    for col, (grouping, metric, _) in enumerate(panels, start=1):
        part = breakdowns[(breakdowns["grouping"] == grouping)
                          & (breakdowns["metric"] == metric)]
        for i, setting in enumerate(settings):
            b = part[part["setting"] == setting]
            fig.add_trace(go.Bar(x=b["group"], y=b["mean"], name=setting_label(setting),
                                 legendgroup=str(setting), showlegend=col == 1,
                                 marker_color=COLORS[i % len(COLORS)],
                                 error_y={"type": "data", "symmetric": False,
                                          "array": b["ci_high"] - b["mean"],
                                          "arrayminus": b["mean"] - b["ci_low"]}),
                          row=1, col=col)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_annotations(font_size=12)
    fig.update_layout(height=380, barmode="group", margin={"t": 40, "b": 40, "l": 50, "r": 20},
                      legend={"orientation": "h", "y": -0.2})
    return fig


# --- why they differ ----------------------------------------------------------
def attribution_figure(attribution: pd.DataFrame, metrics: list[str]) -> go.Figure:
    """Each lever's share of the difference, per explained metric, with 95% intervals."""
    fig = go.Figure()
    levers = list(dict.fromkeys(attribution["label"]))
    for i, lever in enumerate(levers):
        rows = attribution[(attribution["label"] == lever)
                           & attribution["metric"].isin(metrics)].set_index("metric")
        rows = rows.reindex([m for m in metrics if m in rows.index])
        fig.add_trace(go.Bar(
            y=[METRIC_BY_NAME[m].label for m in rows.index], x=rows["share"], name=lever,
            orientation="h", marker_color=COLORS[i % len(COLORS)],
            error_x={"type": "data", "symmetric": False, "array": rows["high"] - rows["share"],
                     "arrayminus": rows["share"] - rows["low"]}))
    fig.update_xaxes(tickformat=".0%", title_text="share of the difference B minus A")
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(height=120 + 70 * max(len(metrics), 1), barmode="group",
                      margin={"t": 20, "b": 40, "r": 20}, legend={"orientation": "h", "y": -0.25})
    return fig


def why_section(meta: dict, attribution: pd.DataFrame, metrics: list[str]
                ) -> tuple[str, list[str]]:
    """The 'Why they differ' section (without its chart) and its sentences."""
    by = meta.get("by")
    how = {"parameter": "each parameter that differs",
           "one-at-a-time": "each parameter that differs, switched alone"}.get(
        by, "each group of parameters that differ (the settings differ in more parameters "
        f"than the limit of {meta.get('limit', '?')}, so related parameters are switched "
        "together, by their declared group)")
    method = ("Each parameter was switched alone from A to B and alone from B to A (a "
              "parameter's share is the mean of the two changes; what they leave of the "
              "difference is shown as interactions between parameters)"
              if by == "one-at-a-time" else
              "Every combination of levers was simulated; a lever's share is its Shapley value, "
              "the change it makes averaged over every order of switching, so the shares add "
              "up to the whole difference")
    levers = "".join(f"<li><b>{html.escape(str(lv['label']))}</b>"
                     + (": " + html.escape(', '.join(p.replace('_', ' ')
                                                     for p in lv['parameters']))
                        if lv["parameters"] else "") + "</li>" for lv in meta["levers"])
    sentences = []
    for metric in metrics:
        rows = attribution[attribution["metric"] == metric]
        if rows.empty or not rows["clear"].iloc[0]:
            continue
        info = METRIC_BY_NAME[metric]
        difference = (f"{setting_label(meta['setting_b'])} minus "
                      f"{setting_label(meta['setting_a'])}: "
                      f"{fmt_change(rows['difference'].iloc[0], info)}")
        sentence = why_sentence(rows, info.label, difference)
        if sentence:
            sentences.append(sentence)
    items = "".join(f"<li>{html.escape(s)}</li>" for s in sentences)
    text = f"""<p class="caption">Each difference {html.escape(setting_label(meta['setting_b']))}
minus {html.escape(setting_label(meta['setting_a']))} is split among the levers switched from
one setting to the other: {how}. {method} ({int(meta['variants'])} variants,
{int(meta['replications'])} runs each with the same seeds, {int(meta['extra_runs'])} runs
beyond the comparison's own; a share above 100% or below 0 means other levers pull the
other way).
Intervals: 95% bootstrap over runs. The levers:</p><ul>{levers}</ul>
<ul class="findings">{items or '<li>No headline difference was clear enough to split.</li>'}
</ul>"""
    return text, sentences


def _chart(name: str, title: str, fig: go.Figure, caption: str) -> str:
    div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{name}",
                      config=PLOTLY_CONFIG)
    return (f'<div class="chart"><h3>{html.escape(title)}</h3><p class="caption">'
            f'{html.escape(caption)}</p>{div}</div>')


def _weeks(steps: object) -> str:
    try:
        weeks = int(steps)
    except (TypeError, ValueError):
        return "?"
    return f"{weeks} weeks (about {weeks / 52:.1f} years)"


def build_report(out: Path, location: Path | None = None,
                 focus: list[str] | None = None) -> Path:
    """Write out/report.html from the stored comparison in ``out``; return its path.

    ``location``: where the directory will be once it is in place (``out`` may be the
    temporary directory it is built in); the reproduce command points at its settings.
    ``focus``: the measures the client asks about (default: those stored with the data)."""
    manifest, tables, parameter_files = read_comparison(out)
    focus = check_focus(manifest.get("focus", []) if focus is None else focus)
    settings = manifest["settings"]
    labels = {name: setting_label(name) for name in settings}
    intervals, differences, sentences = report_statistics(tables["runs"])
    runs = with_derived_metrics(tables["runs"])
    km, km_pairs = time_to_half_km(runs), time_to_half_logrank(runs)
    adequacy = replication_adequacy(runs, [m for m in HEADLINE_METRICS if m in runs])
    summary = summary_findings(differences, km, km_pairs, focus=focus)
    tradeoffs = trade_offs(differences)
    breakdowns = group_breakdowns(tables["employees"])
    explained = read_explanation(out)
    attribution = pd.DataFrame()
    why_html, why = "", []
    if explained is not None:
        meta, variant_runs = explained
        manifest = {**manifest, "explain": meta}
        attribution = attribution_table(meta, variant_runs)
        shown = list(dict.fromkeys([m for m in summary["metric"] if m in
                                    set(attribution["metric"])] + [
            m for m in HEADLINE_METRICS if m in set(attribution["metric"])]))
        why_html, why = why_section(meta, attribution, shown)
        why_html += _chart("why", "Why they differ", attribution_figure(attribution, shown),
                           "Share of each difference due to each lever (bars), with 95% "
                           "intervals (whiskers).")
    for name, table in (("intervals", intervals), ("differences", differences),
                        ("findings", sentences), ("time_to_half_km", km),
                        ("replications", adequacy), ("summary", summary),
                        ("breakdowns", breakdowns)) + ((("attribution", attribution),)
                                                        if explained is not None else ()):
        atomic_write(out / f"{name}.csv", lambda p, t=table: t.to_csv(p, index=False))
    params = parameter_differences(parameter_files, out)
    sizes = setting_sizes(runs) or {name: manifest["employees"] for name in settings}
    mixed = len(set(sizes.values())) > 1
    figures = {
        "adoption": ("Spread of ideas", adoption_figure(tables["timeseries"]),
                     "How far and how fast ideas spread: the tracer good idea (left) and any "
                     "idea born during the run (right), as a share of staff by week; lines are "
                     "means across runs, bands their 95% intervals."),
        "coasting": ("Coasting", coasting_figure(tables["timeseries"]),
                     "Share of staff coasting by week: unnoticed (nobody who could act has "
                     "noticed, solid) and noticed (dashed); means with 95% bands."),
        "commitment": ("Commitment", commitment_figure(tables["employees"]),
                       "Distribution of employees' commitment (0-1) at the end of the run, "
                       "all runs pooled (box: quartiles; line: mean)."),
        "breakdown": ("Where it happens", breakdown_figure(breakdowns),
                      "Hidden coasting and idea use by level of the hierarchy (0 = top) and "
                      "for customer-facing vs back-office staff, at the end of the run; bars "
                      "are means over runs, whiskers 95% intervals."),
        "network": ("Who talks to whom", network_figure(tables["network"], tables["employees"]),
                    "Who actually talked to whom in the last weeks of run 1; grey: working, "
                    "red: coasting unnoticed, orange: coasting noticed; diamonds: formal "
                    "leaders."),
    }
    mark_time_charts(out, [figures["adoption"][1], figures["coasting"][1]])  # roadmaps
    items = "".join(f'<li{"" if clear else " class=unclear"}>{html.escape(sentence)}</li>'
                    for sentence, clear in zip(sentences["sentence"], sentences["clear"],
                                               strict=True))
    summary_items = "".join(f"<li>{html.escape(s)}</li>" for s in summary["sentence"])
    charts = "".join(_chart(name, title, fig, caption)
                     for name, (title, fig, caption) in figures.items())
    seeds = manifest["seeds"]
    esc = {key: html.escape(str(manifest.get(key, "?")))  # stored values are escaped
           for key in ("replications", "root_seed", "model_version", "created")}
    descriptions = manifest.get("descriptions", {})
    settings_list = "".join(f"<li><b>{html.escape(labels[name])}</b> ({sizes.get(name, '?'):,} "
                            f"employees; file settings/{html.escape(name)}.toml): "
                            f"{html.escape(descriptions.get(name, '') or 'a user setting')}</li>"
                            for name in settings)
    size_words = "; ".join(f"{html.escape(labels[n])}: {sizes.get(n, '?'):,} employees"
                           for n in settings)
    size_note = ("<p>The settings differ in size, so every finding uses per-employee figures "
                 "(shares of staff, ideas per employee); raw counts are not compared.</p>"
                 if mixed else "")
    location = Path(location) if location is not None else out
    squash = squash_note(intervals)
    data = {"intervals": _records(intervals), "differences": _records(differences),
            "findings": _records(sentences), "time_to_half_km": _records(km),
            "replications": _records(adequacy), "summary": _records(summary),
            "trade_offs": tradeoffs, "why": why, "sizes": sizes,
            "breakdowns": _records(breakdowns), "attribution": _records(attribution)}
    single = len(settings) == 1
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(' vs '.join(labels.values()))}: scenario comparison</title>
<style>{CSS}</style><script>{get_plotlyjs()}</script></head><body>
<h1>What changes between {html.escape(' and '.join(labels.values()))}</h1>
<p class="sub">{size_words}. Each setting simulated {esc['replications']} times over
{_weeks(manifest.get('steps'))}; one step of the model is one week. Runs of different
settings share their random seeds (root seed {esc['root_seed']}): common random numbers.{
html.escape(" Replication k of every setting ran with the k-th draw of fitted parameters "
            "from the calibration in " + str(manifest["posterior"]) + " (posterior_draws.csv "
            "beside the data), so intervals include what the calibration data leave "
            "uncertain.") if manifest.get("posterior") else ""}</p>
<section id="summary"><h2>Summary</h2>
<p class="caption">{"Only one setting: its levels are under Details." if single else
"The largest clear differences, ranked by size and relevance (at most five). Every 'between' "
"is a 95% interval; every difference is the first-named setting minus the other."}
{html.escape(" Asked about first: " + ", ".join(
    METRIC_BY_NAME[f].label if f in METRIC_BY_NAME else "time for a good idea to reach half "
    "the staff" for f in focus) + ".") if focus else ""}</p>
<ol class="summary">{summary_items or ("" if single else
                                         "<li>No clear difference between the settings.</li>")}
</ol>
{"".join(f'<p class="tradeoff">{html.escape(t)}</p>' for t in tradeoffs)}
{"".join(f'<p class="why">{html.escape(w)}</p>' for w in why[:1])}
{size_note}</section>
{f'<section id="why"><h2>Why they differ</h2>{why_html}</section>' if why_html else ''}
<section id="details"><h2>Details</h2>
<h3>What was compared</h3><ul>{settings_list}</ul>
<h3>All findings</h3><ul class="findings">{items or "<li>Only one setting: see its intervals."
                                                    "</li>"}</ul>
{f'<p class="caption">{html.escape(squash)}</p>' if squash else ''}
<h3>Time for a good idea to reach half the staff</h3>
<p class="caption">Kaplan-Meier estimate over all runs: a run in which the tracer idea
never reached half the staff counts as censored at the end of the run, not as missing.
"not within N weeks" means the curve (or its interval) never fell to one half.</p>
{km_table(km, km_pairs)}
<h3>Each setting: mean [95% interval]</h3>{intervals_table(intervals)}
<h3>Differences between settings (B minus A)</h3>{differences_table(differences)}
<h3>By level of the hierarchy (end of the run)</h3>{breakdown_table(breakdowns, "level")}
<h3>Customer-facing vs back office (end of the run)</h3>
{breakdown_table(breakdowns, "customer_facing")}
<h3>Across units</h3>{unit_spread(breakdowns)}
{chart_unit_table(tables.get("breakdown"))}
{roadmap_table(tables.get("interventions"), tables["runs"])}
<h2>Charts</h2>{charts}
<h2>Parameters that differ between the settings</h2>{parameters_table(params, settings)}
<h2>Glossary</h2>{glossary()}
<h2>Method</h2>
<p>Each setting was simulated {esc['replications']} times. Replication k of every
setting used the same seed (common random numbers), and each mechanism draws from its own
random stream, so the settings differ through their mechanisms rather than through luck.
Intervals of a share are t intervals on the logit scale (they stay within 0-100%); the
chance that a good idea reaches half the staff, a share of runs, has Wilson's interval;
other levels have t intervals across replications (cut at zero where a value cannot be
negative). Differences are B minus A, the setting listed second minus the one listed first,
paired by replication (t interval; a difference of two shares is cut to -100..+100 points);
the ratio B / A has Fieller's interval from the same t statistic, so a ratio interval
excludes 1 exactly when the difference interval excludes 0. Effect sizes are Cohen's d
(difference over the pooled standard deviation of the two settings). The time for a good
idea to reach half the staff is a Kaplan-Meier median (lifelines) over all runs, those where
it never got there counted as censored, with its 95% interval, and settings are compared by
a log-rank test; it is never averaged over the runs that got there. The summary ranks clear
differences by relevance (a fixed weight per measure) times size (the difference over the
larger of the two levels), one per family of measures. Findings are generated from these
numbers only; a difference is called clear when its 95% interval excludes zero.
{"Where settings differ in size, raw counts are left out of the comparison." if mixed else ""}
</p>
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
made {esc['created']}. Bootstrap intervals use {BOOTSTRAP_RESAMPLES:,} resamples.</p>
<p>Reproduce with one command, from the settings stored beside the data{
" (a setting with its own organization chart or roadmap is rerun from its own file, which "
"holds them: the stored copy holds parameters only, and never the chart's original ids)"
if manifest.get("setting_files") else ""}:
<code>{html.escape(reproduce_command(manifest, location))}</code>.
Rebuild this page from the data beside it: <code>python run.py report DIR</code>. The data:
runs (one row per setting and replication), timeseries (per week), employees (final state),
network (conversation ties), as Parquet and CSV.</p>
</section>
<script type="application/json" id="report-data">{_script_json(data)}</script>
{PRINT_SCRIPT}
</body></html>
"""
    path = out / "report.html"
    atomic_write(path, lambda p: p.write_text(page, encoding="utf-8"))
    return path
