"""Generated documentation: the parameter table of docs/ODD.md comes from the declaration.

    python -m dashboards.parameter_docs          # rewrite the tables between the markers
    python -m dashboards.parameter_docs --check  # exit 1 if docs/ODD.md is out of date

The example extension's table in docs/extending/EXTENDING.md (its own parameters only)
is generated and checked the same way, between the same markers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from model.parameters import GROUPS, Parameters, parameter_specs

ODD = Path(__file__).resolve().parent.parent / "docs" / "ODD.md"
EXTENDING = ODD.parent / "extending" / "EXTENDING.md"
START, END = "<!-- parameters:start -->", "<!-- parameters:end -->"


def _bounds(spec) -> str:
    if spec.choices:
        return " / ".join(f"`{c}`" for c in spec.choices)
    return f"{_number(spec.minimum)} – {_number(spec.maximum)}"


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) >= 1000 else f"{x:g}"


def parameter_table(parameters_class: type[Parameters] | None = None,
                    only: set[str] | None = None) -> str:
    """Markdown tables of every parameter (or those named in ``only``), one per group."""
    lines = []
    specs = [s for s in parameter_specs(parameters_class) if only is None or s.name in only]
    for group in GROUPS:
        if not any(s.group == group for s in specs):
            continue
        lines += [f"**{group.capitalize()}**", "",
                  "| name | default | range | unit | meaning |", "|---|---|---|---|---|"]
        for spec in specs:
            if spec.group == group:
                default = f"`{spec.default}`"
                lines.append(f"| `{spec.name}` | {default} | {_bounds(spec)} | {spec.unit} | "
                             f"{spec.meaning} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def extension_table(parameters_class: type[Parameters]) -> str:
    """The tables of an extension's own parameters (those the built-in model lacks)."""
    return parameter_table(parameters_class,
                           set(parameters_class.model_fields) - set(Parameters.model_fields))


def render(text: str, table: str | None = None) -> str:
    """``text`` with the generated table placed between the markers."""
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{parameter_table() if table is None else table}{END}{tail}"


def _example_table() -> str:
    from docs.extending.recognition import RecognitionParameters  # the project root's docs/

    return extension_table(RecognitionParameters)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ODD.parent.parent))  # so that docs.extending imports
    stale = 0
    for path, table in ((ODD, None), (EXTENDING, _example_table())):
        text = path.read_text(encoding="utf-8")
        if START not in text or END not in text:
            print(f"{path}: markers {START} / {END} missing", file=sys.stderr)
            return 1
        new = render(text, table)
        if "--check" not in argv:
            path.write_text(new, encoding="utf-8")
        elif new != text:
            print(f"{path}: parameter table out of date; run python -m "
                  "dashboards.parameter_docs", file=sys.stderr)
            stale = 1
    return stale


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
