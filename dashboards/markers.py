"""Vertical markers for the roadmap's interventions on time charts (report, sweeps).

One dotted line per distinct (week, intervention) in a comparison's interventions table,
labelled with the intervention's number; a triggered intervention that fired in
different weeks across replications gets one line per week (at most ``MAX_MARKERS``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

MAX_MARKERS = 24


def intervention_weeks(interventions: pd.DataFrame | None) -> list[tuple[int, str]]:
    """Distinct (week, label) pairs to mark, earliest first ("#0": a change made mid-run
    on the dashboard)."""
    if interventions is None or interventions.empty:
        return []
    marks = interventions[["week", "intervention"]].drop_duplicates().sort_values(
        ["week", "intervention"])
    labels = marks.groupby("week", sort=True)["intervention"].apply(
        lambda s: "#" + ",".join(str(int(v)) for v in s))
    return [(int(week), label) for week, label in labels.items()][:MAX_MARKERS]


def add_intervention_markers(fig: go.Figure, interventions: pd.DataFrame | None) -> go.Figure:
    """``fig`` with a dotted vertical line at every intervention's week (all panels)."""
    for week, label in intervention_weeks(interventions):
        fig.add_vline(x=week, line_dash="dot", line_color="grey", line_width=1,
                      annotation_text=label, annotation_position="top",
                      annotation_font_size=10)
    return fig


def marker_layout(interventions: pd.DataFrame | list[dict] | None) -> dict:
    """Layout ``shapes`` and ``annotations`` of the markers, for a plain-dict figure (the
    dashboard's live charts)."""
    table = pd.DataFrame(interventions) if isinstance(interventions, list) else interventions
    marks = intervention_weeks(table if table is not None and len(table) else None)
    return {"shapes": [{"type": "line", "x0": week, "x1": week, "xref": "x", "y0": 0, "y1": 1,
                        "yref": "paper", "line": {"dash": "dot", "color": "grey", "width": 1}}
                       for week, _ in marks],
            "annotations": [{"x": week, "y": 1, "xref": "x", "yref": "paper", "text": label,
                             "showarrow": False, "yanchor": "bottom", "font": {"size": 10}}
                            for week, label in marks]}


def mark_time_charts(out: Path, figures: list[go.Figure]) -> None:
    """Add the markers of the comparison stored in ``out`` (if it has a roadmap)."""
    path = out / "interventions.parquet"
    if not path.is_file():
        return
    table = pd.read_parquet(path)
    for fig in figures:
        add_intervention_markers(fig, table)


def sweep_interventions(content: dict) -> pd.DataFrame:
    """The weeks a sweep's roadmap acts at (every value of a varied ``at``), as rows of an
    interventions table; triggered interventions have no fixed week and are left out."""
    rows = []
    for k, table in enumerate(content.get("interventions", ()), start=1):
        varied = content.get("vary", {}).get(f"intervention.{k}.at")
        weeks = (varied.get("values") or []) if varied else [table.get("at")]
        rows += [{"week": int(w), "intervention": k} for w in weeks if w is not None]
    return pd.DataFrame(rows, columns=["week", "intervention"])
