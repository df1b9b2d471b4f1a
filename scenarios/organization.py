"""Read a client's org chart and collaboration network (CSV, or GEXF for the network).

``[organization] chart = "acme_chart.csv"`` (columns ``id, manager_id`` and optional
``unit``, ``customer_facing``, ``level``) and optional ``network = "acme_ties.csv"``
(``source, target[, weight]``, or a ``.gexf`` file), relative to the setting file. Every
data-quality problem is one line naming the file, the line and the value
(:class:`ParameterError`, exit 2). The result is a :class:`model.chart.OrgChart`: positions
in breadth-first order, and a stable pseudonym (salted SHA-256) instead of every id, so
no original id (a name, an email) reaches the engine or any output.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import xml.etree.ElementTree as ET
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from model.chart import OrgChart
from model.errors import ParameterError

CHART_COLUMNS = ("id", "manager_id")
OPTIONAL_CHART_COLUMNS = ("unit", "customer_facing", "level")
NETWORK_COLUMNS = ("source", "target")
ORGANIZATION_KEYS = {"chart", "network", "salt"}
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}


def pseudonym(identifier: str, salt: str) -> str:
    """Stable pseudonym of an id: the first 12 hex digits of SHA-256(salt, id)."""
    return "e" + hashlib.sha256(f"{salt}\x00{identifier}".encode()).hexdigest()[:12]


def _text(path: Path) -> tuple[str, bytes]:
    from scenarios.settings import regular_file

    regular_file(path, "organization file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ParameterError(f"{path}: line {line}: not UTF-8 text (byte "
                             f"0x{data[err.start]:02x}); save the file as UTF-8") from None
    if not text.strip():
        raise ParameterError(f"{path}: empty file (expected a header line and one row per "
                             "employee or tie)")
    return text, data


def _rows(path: Path, required: tuple[str, ...]) -> tuple[list[tuple[int, dict]], list[str],
                                                            bytes]:
    """(line number, row) of every data row, the columns, and the raw bytes."""
    text, data = _text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    reader.fieldnames = columns
    missing = [c for c in required if c not in columns]
    if missing:
        raise ParameterError(f"{path}: line 1: missing column '{missing[0]}' (columns: "
                             f"{', '.join(columns) or 'none'}; required: {', '.join(required)})")
    rows = []
    for row in reader:
        if None in row:
            raise ParameterError(f"{path}: line {reader.line_num}: more values than columns "
                                 f"({row[None]!r} extra)")
        if not any((v or "").strip() for v in row.values()):
            continue
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
    if not rows:
        raise ParameterError(f"{path}: empty file (a header line but no rows)")
    return rows, columns, data


def read_chart(path: Path, network: Path | None = None, salt: str | None = None
               ) -> tuple[OrgChart, str]:
    """The checked chart (and network) as an :class:`OrgChart`, and one summary line of
    what was given and what was inferred."""
    rows, columns, data = _rows(path, CHART_COLUMNS)
    salt = hashlib.sha256(data).hexdigest() if salt is None else salt
    line_of: dict[str, int] = {}
    for line, row in rows:
        ident = row["id"]
        if not ident:
            raise ParameterError(f"{path}: line {line}: empty id")
        if ident in line_of:
            raise ParameterError(f"{path}: line {line}: duplicate id {ident!r} (also on line "
                                 f"{line_of[ident]})")
        line_of[ident] = line
    manager = {}
    for line, row in rows:
        ident, boss = row["id"], row["manager_id"]
        if boss == ident:
            raise ParameterError(f"{path}: line {line}: id {ident!r} is its own manager")
        if boss and boss not in line_of:
            raise ParameterError(f"{path}: line {line}: manager_id {boss!r} is not an "
                                 "employee id in the chart")
        manager[ident] = boss
    order = _breadth_first(path, rows, manager, line_of)
    index = {ident: k for k, ident in enumerate(order)}
    parent = np.array([index[manager[i]] if manager[i] else -1 for i in order], np.int64)
    depth = np.zeros(len(order), np.int64)
    for k in range(len(order)):
        depth[k] = depth[parent[k]] + 1 if parent[k] >= 0 else 0
    by_id = {row["id"]: (line, row) for line, row in rows}
    tops = int((parent < 0).sum())
    notes = []
    if "level" in columns:
        level = tuple(by_id[i][1]["level"] or f"L{depth[k]}" for k, i in enumerate(order))
        notes.append("levels from the level column")
    else:
        level = tuple(f"L{d}" for d in depth)
        notes.append("levels from depth")
    if "unit" in columns:
        unit = tuple(by_id[i][1]["unit"] or "(none)" for i in order)
        notes.append(f"{len(set(unit))} units from the unit column")
    else:
        unit = _division_units(parent, order, salt)
        notes.append(f"{len(set(unit))} units inferred (the top's direct reports' branches)")
    facing = None
    if "customer_facing" in columns:
        facing = np.array([_boolean(path, *by_id[i], "customer_facing") for i in order])
        notes.append(f"customer-facing {facing.mean():.0%} (from the column)")
    else:
        notes.append("customer-facing drawn from customer_facing_share")
    spans = np.bincount(parent[parent >= 0], minlength=len(order))
    spans = spans[spans > 0]
    join = ("1 top" if tops == 1 else f"{tops} tops (no common manager: joined as one top "
            "team, a unit of peers)")
    summary = (f"{path.name}: {len(order)} employees, {join}, depth {depth.max()}, spans "
               f"{spans.min() if len(spans) else 0}-{spans.max() if len(spans) else 0} "
               f"(mean {spans.mean() if len(spans) else 0:.1f}); {'; '.join(notes)}")
    ties: dict[str, Any] = {}
    if network is not None:
        ties, note = read_network(network, index)
        summary += f"; {note}"
    else:
        summary += "; informal ties generated (no network file)"
    chart = OrgChart(parent=parent, pseudonym=tuple(pseudonym(i, salt) for i in order),
                     unit=unit, level=level, customer_facing=facing, **ties)
    return chart, summary


def _boolean(path: Path, line: int, row: dict, column: str) -> bool:
    value = row[column].lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ParameterError(f"{path}: line {line}: {column} = {row[column]!r}: must be true or "
                         "false")


def _breadth_first(path: Path, rows: list[tuple[int, dict]], manager: dict[str, str],
                   line_of: dict[str, int]) -> list[str]:
    """Ids in breadth-first order from the tops (file order among siblings); a cycle is
    named by the ids on it."""
    reports: dict[str, list[str]] = {}
    for _, row in rows:
        if row["manager_id"]:
            reports.setdefault(row["manager_id"], []).append(row["id"])
    queue = deque(row["id"] for _, row in rows if not row["manager_id"])
    order: list[str] = []
    while queue:
        ident = queue.popleft()
        order.append(ident)
        queue.extend(reports.get(ident, ()))
    if len(order) < len(rows):
        reached = set(order)
        start = next(row["id"] for _, row in rows if row["id"] not in reached)
        seen: list[str] = []
        while start not in seen:
            seen.append(start)
            start = manager[start]
        cycle = seen[seen.index(start):] + [start]
        raise ParameterError(f"{path}: line {line_of[cycle[0]]}: reporting lines form a "
                             f"cycle: {' -> '.join(map(repr, cycle))}"
                             + ("" if order else " (and no top: every id has a manager)"))
    return order


def _division_units(parent: np.ndarray, order: list[str], salt: str) -> tuple[str, ...]:
    """Units inferred from the tree: the branch under each direct report of a top."""
    unit = []
    for k in range(len(order)):
        if parent[k] < 0:
            unit.append("top")
        elif parent[parent[k]] < 0:
            unit.append(f"unit-{pseudonym(order[k], salt)}")
        else:
            unit.append(unit[parent[k]])
    return tuple(unit)


def read_network(path: Path, index: dict[str, int]) -> tuple[dict[str, Any], str]:
    """Ties between chart ids (positions), merged per pair (weights summed)."""
    where = "line"
    if path.suffix.lower() == ".gexf":
        rows, has_weight, where = _gexf_rows(path), True, "edge"
    else:
        rows, columns, _ = _rows(path, NETWORK_COLUMNS)
        has_weight = "weight" in columns
    pairs: dict[tuple[int, int], float] = {}
    for line, row in rows:
        ends = []
        for column in NETWORK_COLUMNS:
            ident = row[column]
            if ident not in index:
                raise ParameterError(f"{path}: {where} {line}: {column} {ident!r} is not an "
                                     "employee id in the chart")
            ends.append(index[ident])
        if ends[0] == ends[1]:
            raise ParameterError(f"{path}: {where} {line}: tie from {row['source']!r} to "
                                 "itself")
        weight = 1.0
        if has_weight and row.get("weight", ""):
            try:
                weight = float(row["weight"])
            except ValueError:
                weight = math.nan
            if not math.isfinite(weight) or weight < 0:
                problem = "is negative" if weight < 0 else "is not a number"
                raise ParameterError(f"{path}: {where} {line}: weight = {row['weight']!r} "
                                     f"{problem} (weights are non-negative numbers)")
        key = (min(ends), max(ends))
        pairs[key] = pairs.get(key, 0.0) + weight
    keys = np.array(sorted(pairs), np.int64).reshape(-1, 2)
    weights = np.array([pairs[tuple(k)] for k in keys.tolist()])
    merged = len(rows) - len(keys)
    note = (f"{path.name}: {len(keys)} ties"
            + (f" ({merged} repeated pairs merged, weights summed)" if merged else "")
            + ("; weights scaled so the heaviest tie has strength 1" if has_weight
               else "; every tie at initial_tie_strength"))
    return {"tie_u": keys[:, 0], "tie_v": keys[:, 1],
            "tie_weight": weights if has_weight else None}, note


def _gexf_rows(path: Path) -> list[tuple[int, dict]]:
    """Edges of a GEXF file as rows numbered by edge (1 = the first <edge>). Parsed
    without resolving external entities (Python's expat refuses them)."""
    text, _ = _text(path)
    try:
        root = ET.fromstring(text.encode())
    except ET.ParseError as err:
        raise ParameterError(f"{path}: line {err.position[0]}: malformed GEXF ({err})") from None
    rows = []
    for edge in root.iter():
        if edge.tag.rsplit("}", 1)[-1] != "edge":
            continue
        rows.append((len(rows) + 1, {key: edge.get(key, "")
                                     for key in ("source", "target", "weight")}))
    if not rows:
        raise ParameterError(f"{path}: empty file (no <edge> elements)")
    return rows


def _csv_text(columns: list[str], rows: Any) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def chart_csv(chart: OrgChart, parent: np.ndarray | None = None,
              customer_facing: np.ndarray | None = None) -> str:
    """The chart as CSV text by pseudonym (never an original id), in breadth-first order,
    so that reading it back gives the same positions; columns without values are left
    out (customer_facing where it was drawn)."""
    table = chart.table(parent, customer_facing)
    columns = [c for c in table if table[c]]
    table["customer_facing"] = [str(f).lower() for f in table["customer_facing"]]
    return _csv_text(columns, zip(*(table[c] for c in columns), strict=True))


def ties_csv(chart: OrgChart) -> str | None:
    """The imported ties as CSV text by pseudonym (source, target[, weight]); None where
    the chart has no network. Weights are written exactly (shortest round-trip form)."""
    if chart.tie_u is None:
        return None
    names = chart.pseudonym
    ends = ([names[u] for u in chart.tie_u.tolist()], [names[v] for v in chart.tie_v.tolist()])
    if chart.tie_weight is None:
        return _csv_text(["source", "target"], zip(*ends, strict=True))
    return _csv_text(["source", "target", "weight"],
                     zip(*ends, [repr(w) for w in chart.tie_weight.tolist()], strict=True))
