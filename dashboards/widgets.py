"""A lean live plotly view for the dashboard: one JSON message per redraw, nothing back.

plotly's own ``FigureWidget`` keeps a Python copy of every property, validates each
update, and has the browser echo every trace back after each redraw; on a played model
those echoes queue ahead of a student's Pause click and cost the server most of its time
(and raise on numpy arrays). :class:`PlotlyView` instead sends the figure as JSON and lets
plotly.js redraw it in place (``Plotly.react``); the only message coming back is a click
on a point. plotly.js is fetched once from the server's assets and cached by the browser.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import anywidget
import numpy as np
import orjson
import plotly.graph_objects as go
import traitlets

PLOTLY_BUNDLE_DIR = Path(go.__file__).resolve().parent.parent / "package_data"
PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["sendDataToCloud", "lasso2d", "select2d"]}


def _plain(value):
    """What orjson cannot write itself: strided arrays, numpy scalars, plotly objects."""
    if isinstance(value, np.ndarray):
        return np.ascontiguousarray(value).tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "to_plotly_json"):
        return value.to_plotly_json()
    raise TypeError(f"cannot draw a {type(value).__name__}")


def figure_json(fig: dict | go.Figure) -> str:
    """The figure as plotly.js JSON (numpy arrays as lists, NaN as null), without plotly's
    Python-side validation and copies (a plain ``{"data", "layout"}`` dict goes as is)."""
    if isinstance(fig, go.Figure):
        fig = fig.to_plotly_json()
    return orjson.dumps(fig, default=_plain, option=orjson.OPT_SERIALIZE_NUMPY).decode()


class DrawGate:
    """Counts figures sent to one browser page and not yet drawn there, so the play loop
    sends a new frame only once the page has drawn the last (a slow browser gets fewer
    frames instead of a growing backlog that delays every click)."""

    def __init__(self):
        self._pending = 0
        self._changed = threading.Condition()

    def sent(self) -> None:
        with self._changed:
            self._pending += 1

    def drawn(self, count: int = 1) -> None:
        with self._changed:
            self._pending = max(0, self._pending - count)
            self._changed.notify_all()

    def idle(self, timeout: float = 0.0) -> bool:
        """Whether every sent figure has been drawn (waiting up to ``timeout`` seconds)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout)

    def forget(self) -> None:
        """Stop waiting for figures that a replaced page part will never draw."""
        with self._changed:
            self._pending = 0
            self._changed.notify_all()


class PlotlyView(anywidget.AnyWidget):
    """A plotly.js chart drawn from ``figure`` (JSON text); ``click`` holds the last
    clicked point (trace index, point index and a counter, so repeated clicks count)."""

    _esm = """
let loading = null;
function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL("static/assets/plotly.min.js", document.baseURI).href;
      script.onload = () => resolve(window.Plotly);
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }
  return loading;
}
// Tells the server which figures the page has drawn, one message for all the charts a
// frame redraws (counts gathered for ACK_MS): each message costs the server a round of
// kernel bookkeeping, so one per chart would cost five per frame.
const ACK_MS = 30;
const acks = window.__orgselfAcks || (window.__orgselfAcks = {count: 0, model: null, timer: null});
function acknowledge(model) {
  acks.count += 1;
  acks.model = model;
  if (acks.timer !== null) return;
  acks.timer = setTimeout(() => {
    const target = acks.model, count = acks.count;
    acks.count = 0; acks.model = null; acks.timer = null;
    target.set("drawn", target.get("drawn") + count);
    target.save_changes();
  }, ACK_MS);
}
function render({ model, el }) {
  const div = document.createElement("div");
  div.style.width = "100%";
  el.appendChild(div);
  let clicks = 0;
  const draw = (Plotly) => {
    const text = model.get("figure");
    if (!text) return;
    const fig = JSON.parse(text);
    Plotly.react(div, fig.data, fig.layout, JSON.parse(model.get("config")))
      .then(() => acknowledge(model));
  };
  loadPlotly().then((Plotly) => {
    draw(Plotly);
    model.on("change:figure", () => draw(Plotly));
    div.on("plotly_click", (event) => {
      const point = event.points[0];
      clicks += 1;
      model.set("click", {trace: point.curveNumber, point: point.pointIndex, n: clicks});
      model.save_changes();
    });
  });
  const resize = new ResizeObserver(() => {
    if (window.Plotly && div.data) window.Plotly.Plots.resize(div);
  });
  resize.observe(el);
  return () => { resize.disconnect(); if (window.Plotly) window.Plotly.purge(div); };
}
export default { render };
"""
    figure = traitlets.Unicode("").tag(sync=True)
    config = traitlets.Unicode(json.dumps(PLOT_CONFIG)).tag(sync=True)
    # Set by the browser only: never echoed back (each echo is a message per frame).
    click = traitlets.Dict().tag(sync=True, echo_update=False)
    # Counted up by the browser by the number of figures drawn (on any view of the page).
    drawn = traitlets.Int(0).tag(sync=True, echo_update=False)

    gate: DrawGate | None = None

    def attach(self, gate: DrawGate) -> None:
        """Report this view's sent and drawn figures to ``gate`` (once)."""
        if self.gate is None:
            self.gate = gate
            self.observe(lambda change: gate.drawn(max(0, change["new"] - change["old"])),
                         names="drawn")

    def show(self, fig: dict | go.Figure) -> None:
        """Draw ``fig`` (sent only if it differs from what is shown)."""
        text = figure_json(fig)
        if text != self.figure:
            if self.gate is not None:
                self.gate.sent()
            self.figure = text

    def shown(self) -> go.Figure:
        """What the view shows, as a plotly figure (for tests and inspection)."""
        return go.Figure(json.loads(self.figure or "{}"), skip_invalid=True)
