"""Plotly figures of the dashboard, built from the model's arrays (no widgets here).

Charts read the per-step results table; the network draws employees at positions from a
layout of the formal structure computed once per organization (:class:`NetworkView`), so a
redraw only recolours nodes and redraws the informal ties that are currently strong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboards.markers import marker_layout
from model.employees import DETECTED, HIDDEN, WORKING
from model.organization import OrganizationModel

CHART_HEIGHT = 360  # pixels; widths follow the page (plotly autosize)
NETWORK_HEIGHT = 460
MAX_NODES = 2_000  # above this the network shows a fixed random sample of employees
STRONG_TIE = 0.3  # informal ties at least this strong are drawn
TOP_IDEAS = 5
DASHES = ("solid", "dash")
COASTING_COLOURS = {WORKING: "#4c78a8", HIDDEN: "#e45756", DETECTED: "#f58518"}
COASTING_NAMES = {WORKING: "working", HIDDEN: "coasting, hidden", DETECTED: "coasting, noticed"}
COASTING_SCALE = [[0.0, COASTING_COLOURS[WORKING]], [0.33, COASTING_COLOURS[WORKING]],
                  [0.33, COASTING_COLOURS[HIDDEN]], [0.67, COASTING_COLOURS[HIDDEN]],
                  [0.67, COASTING_COLOURS[DETECTED]], [1.0, COASTING_COLOURS[DETECTED]]]
COLOUR_MODES = ("coasting", "ideas in use", "commitment")
FIRST_NODE_TRACE = 2  # after the informal and formal ties

CHARTS = {
    "adoption": ("Adoption of ideas",
                 "Share of employees using an idea born at the customer interface: thick, any "
                 "idea; dotted, the tracer good idea; thin, the most used single ideas."),
    "coasting": ("Coasting",
                 "Share of employees coasting (effort below the threshold): hidden means "
                 "nobody able to act has noticed, noticed means a manager or peer who can act "
                 "has seen it."),
    "commitment": ("Commitment",
                   "Mean commitment to the organization; the band holds the middle 80% of "
                   "employees."),
    "output": ("Output",
               "Mean output per employee: effort x skill x how well practices fit what "
               "customers need now."),
}


def _series(model: OrganizationModel, name: str) -> tuple[np.ndarray, np.ndarray]:
    res = model.results
    return np.arange(res.rows), res.values[: res.rows, res.names.index(name)]


def make_figure(traces: list[dict], layout: dict) -> dict:
    """A plotly.js figure as a plain ``{"data", "layout"}`` dict: the live page sends it as
    JSON as it is (no plotly objects, validation or copies on every frame);
    ``go.Figure(figure)`` makes a plotly figure of it where one is wanted."""
    return {"data": traces, "layout": layout}


def _chart_layout(title: str, y_title: str, y_max: float | None = 1.0) -> dict:
    """Shares keep a fixed 0-1 axis (so 0.6% never looks like a crisis); time in weeks."""
    yaxis = {"title": {"text": y_title}}
    yaxis.update({"range": [0, y_max]} if y_max is not None else {"rangemode": "tozero"})
    return {"title": {"text": title, "x": 0.01}, "height": CHART_HEIGHT, "autosize": True,
            "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
            "xaxis": {"title": {"text": "week"}}, "yaxis": yaxis,
            "legend": {"orientation": "h", "y": -0.25, "font": {"size": 10}},
            "uirevision": "keep"}


def _line(x, y, name: str, colour: str, dash: str, width: float = 2, **extra) -> dict:
    return {"type": "scatter", "x": x, "y": y, "name": name, "mode": "lines",
            "line": {"color": colour, "dash": dash, "width": width}, **extra}


def idea_series(model: OrganizationModel, k: int = TOP_IDEAS) -> list[tuple[int, np.ndarray]]:
    """Adoption share over time of the ``k`` ideas with the highest peak so far."""
    ideas, n = model.ideas, model.people.n
    if ideas.n == 0:
        return []
    top = np.argsort(-ideas.peak[: ideas.n], kind="stable")[:k]
    rows = []
    for idea in top:
        counts = np.array([h[idea] if idea < len(h) else 0 for h in ideas.history])
        rows.append((int(idea), counts / n))
    return rows


def adoption_figure(runs: list[tuple[str, OrganizationModel]]) -> dict:
    traces = []
    for (label, model), dash in zip(runs, DASHES, strict=False):
        for rank, (idea, share) in enumerate(idea_series(model)):
            traces.append(_line(np.arange(len(share)), share, f"{label}: most used ideas",
                                "#9ecae9", dash, 1, legendgroup=f"{label} ideas",
                                showlegend=rank == 0,
                                hovertemplate=f"idea {idea}: %{{y:.2f}}<extra></extra>"))
        traces.append(_line(*_series(model, "idea_use_share"), f"{label}: any idea",
                            "#1f77b4", dash, 3))
        traces.append(_line(*_series(model, "probe_adoption_share"), f"{label}: tracer idea",
                            "#2ca02c", "dot" if dash == "solid" else "dashdot"))
    return make_figure(traces, _chart_layout(CHARTS["adoption"][0], "share of employees"))


def coasting_figure(runs: list[tuple[str, OrganizationModel]]) -> dict:
    traces = []
    for (label, model), dash in zip(runs, DASHES, strict=False):
        traces += [_line(*_series(model, "coasting_share"), f"{label}: coasting", "#7f7f7f",
                         dash),
                   _line(*_series(model, "hidden_coasting_share"), f"{label}: hidden",
                         COASTING_COLOURS[HIDDEN], dash),
                   _line(*_series(model, "detected_coasting_share"), f"{label}: noticed",
                         COASTING_COLOURS[DETECTED], dash)]
    return make_figure(traces, _chart_layout(CHARTS["coasting"][0], "share of employees"))


def commitment_figure(runs: list[tuple[str, OrganizationModel]]) -> dict:
    traces = []
    for (label, model), dash, colour in zip(runs, DASHES, ("#9467bd", "#8c564b"), strict=False):
        x, low = _series(model, "commitment_p10")
        _, high = _series(model, "commitment_p90")
        traces.append({"type": "scatter", "x": np.concatenate([x, x[::-1]]),
                       "y": np.concatenate([high, low[::-1]]), "fill": "toself",
                       "fillcolor": colour, "opacity": 0.15, "line": {"width": 0},
                       "mode": "lines", "name": f"{label}: middle 80%", "hoverinfo": "skip"})
        traces.append(_line(*_series(model, "mean_commitment"), f"{label}: mean", colour, dash))
    return make_figure(traces, _chart_layout(CHARTS["commitment"][0], "commitment (0-1)"))


def output_figure(runs: list[tuple[str, OrganizationModel]]) -> dict:
    traces = [_line(*_series(model, "output"), f"{label}: output", "#17becf", dash)
              for (label, model), dash in zip(runs, DASHES, strict=False)]
    return make_figure(traces, _chart_layout(CHARTS["output"][0], "output per employee", None))


def _marked(build):
    """``build`` with a dotted line at each week the roadmap (or a student) changed the
    first organization's parameters."""
    def figure(runs: list[tuple[str, OrganizationModel]]) -> dict:
        made = build(runs)
        log = runs[0][1].roadmap_log if runs else []
        if log:
            made["layout"] = {**made["layout"], **marker_layout(log)}
        return made

    figure.__doc__ = build.__doc__
    return figure


CHART_BUILDERS = {name: _marked(build) for name, build in (
    ("adoption", adoption_figure), ("coasting", coasting_figure),
    ("commitment", commitment_figure), ("output", output_figure))}


MONITOR_LABELS = ("coasting nobody who can act has noticed", "ideas squashed so far",
                  "staff using the tracer good idea",
                  "output per employee (effort x skill x fit, 0-1)")


def monitor_values(model: OrganizationModel) -> list[tuple[str, str]]:
    """The numbers a student reads now: (label, formatted value), latest week."""
    res = model.results
    row = res.values[res.rows - 1]

    def now(name: str) -> float:
        return float(row[res.names.index(name)])

    born, squashed = int(now("ideas_total")), int(now("ideas_squashed"))
    share_squashed = f" ({squashed / born:.0%} of {born})" if born else ""
    values = (f"{now('hidden_coasting_share'):.1%}", f"{squashed}{share_squashed}",
              f"{now('probe_adoption_share'):.1%}", f"{now('output'):.3f}")
    return list(zip(MONITOR_LABELS, values, strict=True))


# --- the network -------------------------------------------------------------------
def _tree_layout(parent: np.ndarray, level: np.ndarray, child_start: np.ndarray,
                 n_children: np.ndarray) -> np.ndarray:
    """Leaves evenly spaced in depth-first order, managers above their reports' middle."""
    n = len(parent)
    x = np.zeros(n)
    order, stack = [], [int(p) for p in np.flatnonzero(parent < 0)[::-1]]
    while stack:
        p = stack.pop()
        order.append(p)
        start, count = int(child_start[p]), int(n_children[p])
        stack.extend(range(start + count - 1, start - 1, -1))
    leaves = [p for p in order if n_children[p] == 0]
    x[leaves] = np.linspace(0.0, 1.0, len(leaves)) if len(leaves) > 1 else 0.5
    for depth in range(int(level.max()), 0, -1):  # parents precede children
        kids = np.flatnonzero((level == depth) & (parent >= 0))
        sums = np.bincount(parent[kids], weights=x[kids], minlength=n)
        managers = np.flatnonzero(n_children > 0)
        x[managers] = np.where(level[managers] == depth - 1,
                               sums[managers] / n_children[managers], x[managers])
    return np.column_stack([x, -level.astype(float)])


def _unit_layout(unit: np.ndarray, is_manager: np.ndarray) -> np.ndarray:
    """Units on a grid, members on a circle round their unit, coordinators in the middle."""
    units, index, sizes = np.unique(unit, return_inverse=True, return_counts=True)
    cols = int(np.ceil(np.sqrt(len(units))))
    centre = np.column_stack([index % cols, -(index // cols)]).astype(float)
    rank = np.zeros(len(unit))
    order = np.argsort(index, kind="stable")
    starts = np.cumsum(sizes) - sizes
    rank[order] = np.arange(len(unit)) - np.repeat(starts, sizes)
    angle = 2 * np.pi * rank / sizes[index]
    radius = np.where(is_manager, 0.0, 0.35)
    return centre + np.column_stack([np.cos(angle), np.sin(angle)]) * radius[:, None]


def position_layout(model: OrganizationModel) -> np.ndarray:
    """Coordinates of every formal position (n x 2)."""
    s = model.structure
    if (s.parent >= 0).any() and model.p.formal_structure == "tree":
        return _tree_layout(s.parent, s.level, s.child_start, s.n_children)
    return _unit_layout(s.unit, s.is_manager)


def _segments(xy: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y arrays of line segments a-b separated by gaps (NaN)."""
    gap = np.full(len(a), np.nan)
    xs = np.column_stack([xy[a, 0], xy[b, 0], gap]).ravel()
    ys = np.column_stack([xy[a, 1], xy[b, 1], gap]).ravel()
    return xs, ys


def ideas_in_use_count(model: OrganizationModel) -> np.ndarray:
    """Distinct ideas each employee uses (their anchor belief comes from the idea)."""
    src = model.beliefs.source
    anchor = model.ideas.anchor[np.maximum(src, 0)]
    return ((src >= 0) & (anchor == np.arange(src.shape[1]))).sum(axis=1)


@dataclass
class NetworkView:
    """Cached drawing geometry of one organization (layout, sample, formal ties)."""

    model: OrganizationModel

    def __post_init__(self) -> None:
        m = self.model
        n = m.people.n
        self.layout = position_layout(m)
        self.shown = (np.arange(n) if n <= MAX_NODES else
                      np.sort(m.streams["dashboard"].choice(n, MAX_NODES, replace=False)))
        self._mask = np.zeros(n, dtype=bool)
        self._mask[self.shown] = True
        self._roles_version = -1
        self._formal = (np.zeros(0), np.zeros(0))

    def axis_range(self, axis: int) -> list[float]:
        """Fixed range of one axis around every position (no autorange, so the first
        partial draw of the browser cannot fix a wrong view)."""
        lo, hi = float(self.layout[:, axis].min()), float(self.layout[:, axis].max())
        pad = 0.04 * (hi - lo) or 0.5
        return [lo - pad, hi + pad]

    @property
    def sampled(self) -> bool:
        return len(self.shown) < self.model.people.n

    def employee_xy(self) -> np.ndarray:
        return self.layout[self.model.people.position]

    def formal_segments(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = self.model
        if self._roles_version != m.roles_version:
            boss = m.manager_of(self.shown)
            keep = (boss >= 0) & self._mask[np.maximum(boss, 0)]
            self._formal = _segments(xy, self.shown[keep], boss[keep])
            self._roles_version = m.roles_version
        return self._formal

    def informal_segments(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        net = self.model.network
        strong = (net.strength >= STRONG_TIE) & self._mask[net.u] & self._mask[net.v]
        return _segments(xy, net.u[strong], net.v[strong])

    def node_colours(self, mode: str) -> np.ndarray:
        """Numeric colour value of every shown employee (coasting state, ideas, commitment)."""
        people = self.model.people
        if mode == "coasting":
            return people.coast_state[self.shown].astype(float)
        if mode == "ideas in use":
            return ideas_in_use_count(self.model)[self.shown].astype(float)
        return people.commitment[self.shown]

    def role_groups(self) -> list[tuple[str, str, np.ndarray]]:
        """(name, marker symbol, indexes into ``shown``) of managers, HEROes and the rest."""
        m, shown = self.model, self.shown
        manager = m.structure.is_manager[m.people.position[shown]]
        hero = m.people.hero[shown] & ~manager
        rest = ~manager & ~hero
        return [("managers/coordinators", "square", np.flatnonzero(manager)),
                ("HEROes", "diamond", np.flatnonzero(hero)),
                ("others", "circle", np.flatnonzero(rest))]

    def figure(self, label: str, mode: str = "coasting") -> dict:
        """The network: formal ties dark, strong informal ties green; one trace per role
        (managers squares, HEROes diamonds, the rest circles), coloured by ``mode``."""
        m, shown = self.model, self.shown
        xy = self.employee_xy()
        fx, fy = self.formal_segments(xy)
        ix, iy = self.informal_segments(xy)
        traces = [{"type": "scattergl", "x": ix, "y": iy, "mode": "lines", "hoverinfo": "skip",
                   "name": "informal tie (strong)",
                   "line": {"color": "rgba(44,160,44,0.3)", "width": 1}},
                  {"type": "scattergl", "x": fx, "y": fy, "mode": "lines", "hoverinfo": "skip",
                   "name": "formal tie", "line": {"color": "rgba(60,60,60,0.6)", "width": 1}}]
        colour = self.node_colours(mode)
        size = 5 if len(shown) > 500 else 8
        if mode == "coasting":
            scale = {"colorscale": COASTING_SCALE, "cmin": 0, "cmax": 2}
        else:
            scale = {"colorscale": "Viridis", "cmin": 0,
                     "cmax": 1 if mode == "commitment" else max(1.0, float(colour.max())),
                     "colorbar": {"title": {"text": mode, "side": "right"}, "thickness": 10}}
        for first, (name, symbol, index) in enumerate(self.role_groups()):
            ids = shown[index]
            traces.append({
                "type": "scatter", "x": xy[ids, 0], "y": xy[ids, 1], "mode": "markers",
                "name": name, "meta": mode, "showlegend": False,
                "marker": {"color": colour[index], "size": size, "symbol": symbol,
                           "line": {"width": 0}, "showscale": first == 0 and mode != "coasting",
                           **scale},
                "customdata": np.column_stack([ids, m.people.effort[ids],
                                               m.people.commitment[ids]]),
                "hovertemplate": "employee %{customdata[0]}<br>effort %{customdata[1]:.2f}"
                                 "<br>commitment %{customdata[2]:.2f}<extra></extra>"})
        # legend entries drawn apart from the data, so a shape's marker is neutral grey and
        # a colour's marker is its colour (not whatever the first employee happens to be)
        traces += [{"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                    "name": name, "marker": {"color": "#888", "size": 8, "symbol": symbol}}
                   for name, symbol, _ in self.role_groups()]
        if mode == "coasting":
            traces += [{"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                        "name": COASTING_NAMES[k], "marker": {"color": c, "size": 8}}
                       for k, c in COASTING_COLOURS.items()]
        title = f"{label}: {m.people.n:,} employees"
        if self.sampled:
            title += f" (showing a sample of {len(shown):,})"
        layout = {"title": {"text": title, "x": 0.01}, "height": NETWORK_HEIGHT,
                  "autosize": True, "clickmode": "event",
                  "margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "hovermode": "closest",
                  "xaxis": {"visible": False, "range": self.axis_range(0)},
                  "yaxis": {"visible": False, "range": self.axis_range(1)},
                  "legend": {"orientation": "h", "y": -0.02, "font": {"size": 10}},
                  "uirevision": "keep", "plot_bgcolor": "white"}
        return make_figure(traces, layout)

    def employee_at(self, trace: int, point_index: int) -> int | None:
        """Employee id of a clicked point (None if the trace holds no employees)."""
        groups = self.role_groups()
        role = trace - FIRST_NODE_TRACE
        if not 0 <= role < len(groups) or point_index >= len(groups[role][2]):
            return None
        return int(self.shown[groups[role][2][point_index]])
