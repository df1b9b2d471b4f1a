"""What the inspector shows about one employee: traits, state, ideas and who sees their work."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from model.organization import OrganizationModel

MAX_LISTED = 12


def _ids(values: np.ndarray) -> str:
    shown = ", ".join(str(int(v)) for v in values[:MAX_LISTED])
    return shown + (f" and {len(values) - MAX_LISTED} more" if len(values) > MAX_LISTED else "")


def unit_colleagues(model: OrganizationModel, employee: int) -> np.ndarray:
    """Employees in the same unit (positions of the unit's range), the employee excluded."""
    s = model.structure
    pos = model.people.position[employee]
    start = s.unit_start[pos]
    members = model.occupant[start:start + s.unit_size[pos]]
    return members[members != employee]


def who_sees_work(model: OrganizationModel, employee: int) -> list[str]:
    """The observers of monitoring (process 6) and their chance per step of seeing the work
    (per-unit parameters as they hold for this employee)."""
    s = model.structure
    p = SimpleNamespace(**{name: float(model.per_employee(name)[employee]) for name in (
        "monitoring_capacity", "work_visibility", "manager_sanction_power",
        "peer_sanction_power")})
    lines = []
    boss = int(model.manager_of(np.array([employee]))[0])
    if boss >= 0:
        reports = max(int(s.n_children[model.people.position[boss]]), 1)
        watch = min(1.0, p.monitoring_capacity / reports)
        chance = 1 - (1 - watch) * (1 - p.work_visibility)
        acts = "can sanction" if p.manager_sanction_power > 0 else "cannot act on it"
        lines.append(f"manager {boss}: sees the work with chance {chance:.2f} per step "
                     f"({acts})")
    colleagues = unit_colleagues(model, employee)
    if len(colleagues):
        acts = "can hold them to account" if p.peer_sanction_power > 0 else "cannot act on it"
        lines.append(f"{len(colleagues)} unit colleagues ({_ids(colleagues)}): each sees the "
                     f"work with chance {p.work_visibility:.2f} per step ({acts})")
    lines.append("anyone who talks with them this step may see their work too")
    return lines


def describe(model: OrganizationModel, employee: int) -> dict[str, list[str]]:
    """Sections of the inspector, each a list of short lines."""
    e = model.employee(employee)
    people = model.people
    role = ("manager/coordinator" if e.is_formal_leader else "front line") + (
        ", HERO" if e.hero else "")
    ideas = e.ideas_in_use
    tracer = {int(k) for k in np.flatnonzero(model.ideas.is_probe[: model.ideas.n])}
    idea_lines = [f"idea {k}" + (" (the tracer good idea)" if k in tracer else "")
                  + f", born at step {int(model.ideas.birth[k])}" for k in ideas[:MAX_LISTED]]
    return {
        "Role": [f"employee {employee}: {role}, level {e.level}",
                 f"manager: {e.manager if e.manager >= 0 else 'none'}"],
        "Traits": [f"motive {e.motive:.2f}", f"skill {e.skill:.2f}",
                   f"resourcefulness {float(people.resourcefulness[employee]):.2f}"],
        "State": [f"effort {e.effort:.2f} ({e.coasting})", f"commitment {e.commitment:.2f}",
                  f"opportunity {e.opportunity:.2f}",
                  f"expects a sanction if coasting with chance {e.watch_belief:.2f}",
                  f"reputation {e.reputation:.2f}, influence {e.influence:.2f}"],
        "Ideas in use": idea_lines or ["none of the ideas born in this run"],
        "Who can see their work": who_sees_work(model, employee),
    }
