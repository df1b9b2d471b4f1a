"""Write docs/VALIDATION.md, with tidy tables, plotly HTML and PNG figures per experiment.

Everything in the report comes from the run: numbers are never edited by hand.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments.provenance import model_version  # noqa: E402
from experiments.validation.core import Outcome, Plan, markdown_table  # noqa: E402


def save_png(figure, path: Path) -> None:
    """A static matplotlib copy of a plotly figure (line/marker traces, one panel per x axis)."""
    axes_names = sorted({(t.xaxis or "x") for t in figure.data},
                        key=lambda a: int(a[1:] or 1))
    cols = min(len(axes_names), 2)
    rows = -(-len(axes_names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.2 * rows), squeeze=False)
    layout = figure.layout
    for k, name in enumerate(axes_names):
        ax = axes[k // cols, k % cols]
        suffix = name[1:]
        for trace in (t for t in figure.data if (t.xaxis or "x") == name):
            mode = trace.mode or "lines"
            style = ("-" if "lines" in mode else "") + ("o" if "markers" in mode else "")
            if trace.marker is not None and trace.marker.symbol == "x":
                style = "x"
            err = trace.error_y.array if trace.error_y is not None else None
            color = (trace.line.color if trace.line is not None and trace.line.color
                     else getattr(trace.marker, "color", None))
            ax.errorbar(list(trace.x), list(trace.y), yerr=err, fmt=style or "-",
                        label=trace.name, markersize=5, capsize=2,
                        color=color if isinstance(color, str) else None)
        xaxis = layout[f"xaxis{suffix}"]
        yaxis = layout[f"yaxis{suffix}"]
        ax.set_xlabel(xaxis.title.text or "")
        ax.set_ylabel(yaxis.title.text or "")
        if xaxis.type == "log":
            ax.set_xscale("log")
        if len(axes_names) > 1 and k < len(layout.annotations):
            ax.set_title(layout.annotations[k].text, fontsize=10)
        if figure.layout.showlegend is not False:
            ax.legend(fontsize=7)
    fig.suptitle(layout.title.text or "", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(outcome: Outcome, figures: Path) -> None:
    """Tidy CSVs, interactive HTML (plotly.js once beside it, so pages open offline) and a
    PNG of one experiment."""
    figures.mkdir(parents=True, exist_ok=True)
    outcome.table.to_csv(figures / f"{outcome.name}.csv", index=False)
    for name, frame in outcome.extra_tables.items():
        frame.to_csv(figures / f"{name}.csv", index=False)
    outcome.figure.write_html(figures / f"{outcome.name}.html", include_plotlyjs="directory")
    save_png(outcome.figure, figures / f"{outcome.name}.png")


def checks_table(outcome: Outcome) -> str:
    import pandas as pd

    rows = [{"check": c.name, "published target": c.target, "model": c.model,
             "tolerance": c.tolerance, "result": c.verdict} for c in outcome.checks]
    return markdown_table(pd.DataFrame(rows))


def section(outcome: Outcome) -> str:
    verdict = "passes" if outcome.passed else "FAILS"
    params = json.dumps(outcome.parameters, indent=1, default=str)
    parts = [
        f"## {outcome.title} (`{outcome.name}`): {verdict}",
        outcome.design,
        checks_table(outcome),
        f"![{outcome.name}](validation/{outcome.name}.png)\n\n"
        f"Interactive figure: [validation/{outcome.name}.html](validation/{outcome.name}.html)"
        f"; tidy results: [validation/{outcome.name}.csv](validation/{outcome.name}.csv).",
    ]
    if outcome.notes:
        parts.append(outcome.notes)
    parts += [f"Parameters (besides the defaults):\n\n```json\n{params}\n```",
              f"Replication seeds: {', '.join(map(str, outcome.seeds))}.",
              "Sources:\n\n" + "\n".join(f"- {s}" for s in outcome.sources)]
    return "\n\n".join(parts)


HEADING = re.compile(r"^## .* \(`(\w+)`\): (?:passes|FAILS)$", re.MULTILINE)
VERDICT = re.compile(r"\| (PASS|FAIL|info) \|$", re.MULTILINE)


def kept_sections(path: Path, outcomes: list[Outcome]) -> dict[str, str]:
    """Sections of an existing VALIDATION.md for experiments not run now (a run of some
    experiments replaces their sections and keeps the others)."""
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    ran = {o.name for o in outcomes}
    starts = [(m.start(), m.group(1)) for m in HEADING.finditer(text)]
    found = {}
    for (start, name), (end, _) in zip(starts, starts[1:] + [(len(text), "")], strict=True):
        if name not in ran:
            found[name] = text[start:end].strip()
    return found


def merged_sections(outcomes: list[Outcome], path: Path) -> list[str]:
    """Every section in the registry's order: new ones from ``outcomes``, the others kept."""
    from experiments.validation.registry import EXPERIMENTS

    new = {o.name: section(o) for o in outcomes}
    kept = kept_sections(path, outcomes)
    order = list(EXPERIMENTS) + [n for n in [*new, *kept] if n not in EXPERIMENTS]
    return [new.get(name) or kept[name] for name in order if name in new or name in kept]


def summary_rows(outcomes: list[Outcome], path: Path) -> list[dict[str, object]]:
    """Checks passed, failed and reported per experiment (kept sections counted from their
    checks tables)."""
    from experiments.validation.registry import EXPERIMENTS

    rows = {o.name: {"experiment": o.name,
                     "checks passed": sum(c.passed is True for c in o.checks),
                     "checks failed": sum(c.passed is False for c in o.checks),
                     "reported only": sum(c.passed is None for c in o.checks)}
            for o in outcomes}
    for name, text in kept_sections(path, outcomes).items():
        verdicts = VERDICT.findall(text)
        rows[name] = {"experiment": name, "checks passed": verdicts.count("PASS"),
                      "checks failed": verdicts.count("FAIL"),
                      "reported only": verdicts.count("info")}
    order = list(EXPERIMENTS) + [n for n in rows if n not in EXPERIMENTS]
    return [rows[name] for name in order if name in rows]


def write_report(outcomes: list[Outcome], plan: Plan, docs: Path) -> Path:
    """Write VALIDATION.md and docs/validation/* for the given outcomes.

    validation/ is rebuilt in a temporary sibling (from a copy of the old one) and swapped
    in at once; VALIDATION.md is then replaced atomically. The caller holds the lock.
    """
    from experiments.outputs import atomic_write, replace_directory

    with replace_directory(docs / "validation", force=True, is_ours=lambda _: True,
                           kind="validation figures", option="--docs", seed="copy",
                           locked=True) as figures:
        for outcome in outcomes:
            write_outputs(outcome, figures)
    summary = summary_rows(outcomes, docs / "VALIDATION.md")
    import pandas as pd

    head = [
        "# Validation: does the model reproduce what is known?",
        "Generated by `python run.py validate"
        + ("" if not plan.quick else " --quick") + f" --seed {plan.seed}`; do not edit by hand "
        "(rerun it whenever a mechanism changes). Each experiment sets parameters, never "
        "outcomes, and compares the model with a published target within a stated tolerance. "
        "Lines marked *info* are reported comparisons that are not pass/fail criteria.",
        f"- Model version: {model_version()}\n- Root seed: {plan.seed} (replication seeds "
        f"derived per experiment by numpy SeedSequence; listed in each section)\n"
        f"- Mode: {'quick (CI sizes)' if plan.quick else 'full'}\n"
        f"- Made: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        markdown_table(pd.DataFrame(summary)),
        "Tolerances: statistical ones are a few standard errors of the replication mean at "
        "the size used (stated per check); shape and direction checks state their margin. "
        "Figures: PNG inline, interactive plotly HTML linked (plotly.min.js sits beside them: "
        "they open offline).",
    ]
    path = docs / "VALIDATION.md"
    text = "\n\n".join(head + merged_sections(outcomes, path)) + "\n"
    atomic_write(path, lambda p: p.write_text(text))
    return path
