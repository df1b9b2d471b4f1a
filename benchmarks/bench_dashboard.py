"""Dashboard redraw benchmark: one step plus redraw at 1,000 employees (Python side).

A redraw is what the page does after a step: build the four charts and the network
figure, then serialise them into the page's live plotly views. The baseline, in the same process, is
the model step alone; the page's target is a median step plus redraw <= 100 ms.

The client's chart (scenarios/company/acme.toml, 1,200 people, its own collaboration
network) is then timed against a built-in setting of the same size: reading the setting,
building the page's organization, and a page step (step plus redraw); ratios printed.

    .venv/bin/python benchmarks/bench_dashboard.py [--employees 1000] [--steps 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import plotly.graph_objects as go  # noqa: E402

from dashboards import figures  # noqa: E402
from dashboards.scopes import unit_breakdown  # noqa: E402
from dashboards.session import Classroom  # noqa: E402
from dashboards.widgets import PlotlyView  # noqa: E402


def build_figures(room: Classroom, views: list[figures.NetworkView]) -> list[go.Figure]:
    runs = [(r.label, r.model) for r in room.runs]
    charts = [build(runs) for build in figures.CHART_BUILDERS.values()]
    return charts + [view.figure(run.label) for view, run in zip(views, room.runs,
                                                                    strict=True)]


def timed(action, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def page_stepper(room: Classroom):
    """One page step: the model step, then every figure redrawn and the breakdown by unit
    (an imported chart's only) recomputed."""
    views = [figures.NetworkView(r.model) for r in room.runs]
    widgets = [PlotlyView() for _ in build_figures(room, views)]

    def step_and_redraw() -> None:
        room.step()
        for widget, fig in zip(widgets, build_figures(room, views), strict=True):
            widget.show(fig)
        unit_breakdown(room.main)

    return step_and_redraw


def measure(employees: int, steps: int, compare: bool) -> dict[str, float]:
    kwargs = {"overrides": {"n_employees": employees},
              "compare_with": "shared_authority" if compare else None}
    baseline = Classroom(**kwargs)
    step_only = timed(baseline.step, steps)
    redraw = timed(page_stepper(Classroom(**kwargs)), steps)
    return {"step": statistics.median(step_only), "step+redraw": statistics.median(redraw)}


def measure_client(steps: int, repeats: int = 5) -> dict[str, dict[str, float]]:
    """The example company's page against hierarchical at the same size (ms, medians; the
    two sides interleaved, so a noisy machine slows both alike): the setting read (chart,
    network and checks; the page reads a file once per version), the page's organization
    built, and a page step."""
    from dashboards.session import page_setting
    from scenarios.settings import load_setting

    company = str(ROOT / "scenarios" / "company" / "acme.toml")
    size = load_setting(company).chart.n
    sides = {"acme (imported chart)": (company, {}),
             f"hierarchical at {size:,}": ("hierarchical", {"n_employees": size})}
    times: dict[str, dict[str, list[float]]] = {k: {"read": [], "build": [], "page step": []}
                                                for k in sides}
    for _ in range(repeats):
        for label, (setting, overrides) in sides.items():
            times[label]["read"] += timed(lambda setting=setting: load_setting(setting), 1)
            page_setting(setting)
            times[label]["build"] += timed(lambda setting=setting, overrides=overrides:
                                           Classroom(setting, overrides), 1)
    steppers = {label: page_stepper(Classroom(setting, overrides))
                for label, (setting, overrides) in sides.items()}
    for _ in range(steps):
        for label, stepper in steppers.items():
            times[label]["page step"] += timed(stepper, 1)
    return {label: {k: statistics.median(v) for k, v in row.items()}
            for label, row in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    Classroom(overrides={"n_employees": 100}).step()  # compile kernels first
    print(f"{args.employees:,} employees, median of {args.steps} steps (ms)")
    for compare in (False, True):
        result = measure(args.employees, args.steps, compare)
        label = "two settings side by side" if compare else "one setting"
        print(f"  {label:27s} step alone {result['step']:6.1f}   step + redraw "
              f"{result['step+redraw']:6.1f}   redraw share "
              f"{1 - result['step'] / result['step+redraw']:.0%}   target <= 100")
    client = measure_client(args.steps)
    (acme, a), (builtin, b) = client.items()
    print(f"client chart vs a built-in setting of the same size, median ms "
          f"({args.steps} page steps, 5 reads and builds, interleaved)")
    for label, row in client.items():
        print(f"  {label:27s} read {row['read']:6.1f}   build {row['build']:6.1f}   "
              f"page step {row['page step']:6.1f}")
    print(f"  ratio acme / {builtin}: build {a['build'] / b['build']:.2f}   page step "
          f"{a['page step'] / b['page step']:.2f}   (the chart's read, once per file "
          f"version: {a['read']:.0f} ms)")


if __name__ == "__main__":
    main()
