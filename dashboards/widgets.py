"""Push a freshly built figure into a live plotly widget, changing only what moves.

Rebuilding a widget's traces on every step is slow (each trace is validated and sent
whole); when the new figure has the same traces, only their data are replaced.
"""

from __future__ import annotations

import plotly.graph_objects as go

LIVE_TRACE_PROPERTIES = ("x", "y", "customdata", "hovertemplate")
LIVE_MARKER_PROPERTIES = ("color", "cmax")


def same_shape(widget: go.FigureWidget, fig: go.Figure) -> bool:
    """Whether the widget holds the same traces (type, name, meta; in order) as ``fig``."""
    return len(widget.data) == len(fig.data) and all(
        (w.type, w.name, w.meta) == (f.type, f.name, f.meta)
        for w, f in zip(widget.data, fig.data, strict=True))


def _update_trace(target, source) -> None:
    for name in LIVE_TRACE_PROPERTIES:
        value = getattr(source, name, None)
        if value is not None:
            setattr(target, name, value)
    if getattr(source, "marker", None) is not None:
        for name in LIVE_MARKER_PROPERTIES:
            value = getattr(source.marker, name, None)
            if value is not None:
                setattr(target.marker, name, value)


def sync_widget(widget: go.FigureWidget, fig: go.Figure) -> None:
    """Make ``widget`` show ``fig``: data only when the traces match, else everything."""
    if same_shape(widget, fig):
        with widget.batch_update():
            for target, source in zip(widget.data, fig.data, strict=True):
                _update_trace(target, source)
            if widget.layout.title.text != fig.layout.title.text:
                widget.layout.title.text = fig.layout.title.text
        return
    with widget.batch_update():
        widget.layout = fig.layout
        widget.data = ()
        widget.add_traces(fig.data)
