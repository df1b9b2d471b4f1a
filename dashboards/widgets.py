"""Push a freshly built figure into a live plotly widget, changing only what moves.

Rebuilding a widget's traces on every step is slow (each trace is validated and sent
whole); when the new figure has the same traces, only their data are replaced.
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

LIVE_TRACE_PROPERTIES = ("x", "y", "customdata", "hovertemplate")
LIVE_MARKER_PROPERTIES = ("color", "cmax")
LIVE_LAYOUT_PROPERTIES = ("title.text", "width", "height", "xaxis.range", "yaxis.range")


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


def _update_layout(target, source) -> None:
    """Title, size and fixed axis ranges (the figure may be redrawn at another size)."""
    for path in LIVE_LAYOUT_PROPERTIES:
        value = source[path]
        if value is not None and target[path] != value:
            target[path] = value


def sync_widget(widget: go.FigureWidget, fig: go.Figure) -> None:
    """Make ``widget`` show ``fig``: data only when the traces match, else everything."""
    if same_shape(widget, fig):
        with widget.batch_update():
            for target, source in zip(widget.data, fig.data, strict=True):
                _update_trace(target, source)
            _update_layout(widget.layout, fig.layout)
        return
    with widget.batch_update():
        widget.layout = fig.layout
        widget.data = ()
        widget.add_traces(fig.data)


PLOTLY_BUNDLE_DIR = Path(go.__file__).resolve().parent.parent / "package_data"


class SharedFigureWidget(go.FigureWidget):
    """A FigureWidget whose 5 MB of JavaScript the browser fetches once (then caches) from
    the server's assets, instead of receiving it inside every widget on every page load.
    The server must serve ``PLOTLY_BUNDLE_DIR`` as assets (see dashboards.server)."""

    _esm = """
const url = new URL("static/assets/widgetbundle.js", document.baseURI).href;
const bundle = await import(url);
export default bundle.default;
"""
