"""Generated documentation: the parameter table of docs/ODD.md comes from the declaration.

    python -m dashboards.parameter_docs          # rewrite the tables between the markers
    python -m dashboards.parameter_docs --check  # exit 1 if docs/ODD.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from model.parameters import GROUPS, parameter_specs

ODD = Path(__file__).resolve().parent.parent / "docs" / "ODD.md"
START, END = "<!-- parameters:start -->", "<!-- parameters:end -->"


def _bounds(spec) -> str:
    if spec.choices:
        return " / ".join(f"`{c}`" for c in spec.choices)
    return f"{_number(spec.minimum)} – {_number(spec.maximum)}"


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) >= 1000 else f"{x:g}"


def parameter_table() -> str:
    """Markdown tables of every parameter, one per group."""
    lines = []
    specs = parameter_specs()
    for group in GROUPS:
        lines += [f"**{group.capitalize()}**", "",
                  "| name | default | range | unit | meaning |", "|---|---|---|---|---|"]
        for spec in specs:
            if spec.group == group:
                default = f"`{spec.default}`"
                lines.append(f"| `{spec.name}` | {default} | {_bounds(spec)} | {spec.unit} | "
                             f"{spec.meaning} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render(text: str) -> str:
    """``text`` with the generated table placed between the markers."""
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{parameter_table()}{END}{tail}"


def main(argv: list[str]) -> int:
    text = ODD.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"{ODD}: markers {START} / {END} missing", file=sys.stderr)
        return 1
    new = render(text)
    if "--check" in argv:
        if new != text:
            print(f"{ODD}: parameter table out of date; run python -m "
                  "dashboards.parameter_docs", file=sys.stderr)
            return 1
        return 0
    ODD.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
