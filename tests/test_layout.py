"""The layout: dependencies point one way, and the command line starts without the engine.

dashboards -> experiments -> scenarios -> model (agents: Mesa handles over model). Every
import counts, at module level or inside a function.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("model", "agents", "scenarios", "experiments", "dashboards")
ALLOWED = {
    "model": {"model", "agents"},  # Mesa's model.agents: handles made on first use
    "agents": {"agents", "model"},
    "scenarios": {"scenarios", "model"},
    "experiments": {"experiments", "scenarios", "model"},
    "dashboards": {"dashboards", "experiments", "scenarios", "model", "agents"},
}
# The engine knows no file format, screen or command line.
NOT_IN_ENGINE = {"typer", "rich", "plotly", "solara", "matplotlib", "tomllib", "tomli_w",
                 "pyarrow", "run"}
HEAVY = ("mesa", "numba", "scipy", "pandas", "plotly", "pyarrow", "solara")


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every module a file imports (absolute imports)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def package_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_dependencies_point_one_way(package):
    files = package_files(package)
    assert files, f"{package}/ has no Python files"
    wrong = {f"{path.relative_to(ROOT)} imports {name}"
             for path in files for name in imported_packages(path)
             if name in PACKAGES and name not in ALLOWED[package]}
    assert not wrong, sorted(wrong)


def test_the_engine_knows_no_file_format_screen_or_command_line():
    wrong = {f"{path.relative_to(ROOT)} imports {name}"
             for path in package_files("model") for name in imported_packages(path)
             if name in NOT_IN_ENGINE}
    assert not wrong, sorted(wrong)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from experiments.compare import x\n    import dashboards\n")
    assert imported_packages(sample) == {"experiments", "dashboards"}


@pytest.mark.parametrize("argv", [["--help"], ["settings"], ["parameters"], ["run", "--help"],
                                  ["compare", "nosuch"]])
def test_light_commands_load_none_of_the_engine(argv):
    """--help, settings, parameters and early errors import no heavy package."""
    code = ("import contextlib, io, json, sys, run\n"
            "with contextlib.redirect_stdout(io.StringIO()), "
            "contextlib.redirect_stderr(io.StringIO()):\n"
            f"    run.main({argv!r})\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
