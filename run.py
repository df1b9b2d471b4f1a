"""Command line: run a setting, list settings, or (no arguments) compare the reference settings.

    python run.py                         # main job: hierarchical vs shared_authority
    python run.py run hierarchical --out out/h
    python run.py settings
    python run.py parameters

Every user mistake ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from model.parameters import ParameterError, parameter_specs
from model.runner import compare, comparison_table, run_once, write_run
from model.settings import available_settings, load_setting, parse_overrides

app = typer.Typer(add_completion=False, invoke_without_command=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Simulate how organizations self-organize under constraints and power "
                       "relations.")
console = Console(width=None if sys.stdout.isatty() else 110)

REFERENCE_SETTINGS = ("hierarchical", "shared_authority")
HEADLINE = ("hidden_coasting_share", "coasting_share", "mean_time_hidden",
            "time_to_50pct_adoption", "probe_final_share", "ideas_generated",
            "ideas_adopted_widely_share", "ideas_squashed_share", "mean_adopted_idea_value",
            "mean_commitment", "output", "mean_fit", "cross_unit_conversation_share",
            "informal_leader_overlap")

Employees = Annotated[int | None, typer.Option("--employees", "-n",
                                               help="Number of employees (overrides the setting).")]
Steps = Annotated[int | None, typer.Option("--steps", "-t", help="Steps to simulate.")]
Seed = Annotated[int, typer.Option("--seed", "-s", help="Root random seed.", min=0)]
Sets = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a parameter: name=value (repeatable; see `run.py parameters`).")]


def _overrides(employees: int | None, steps: int | None, sets: list[str] | None) -> dict:
    values = parse_overrides(sets)
    if employees is not None:
        values["n_employees"] = employees
    if steps is not None:
        values["steps"] = steps
    return values


@app.callback()
def main_job(ctx: typer.Context,
             replications: Annotated[int, typer.Option(help="Replications per setting.",
                                                       min=1)] = 5,
             employees: Employees = None, steps: Steps = None, seed: Seed = 2026,
             sets: Sets = None) -> None:
    """With no command: compare the reference settings over a few replications."""
    if ctx.invoked_subcommand is not None:
        return
    overrides = _overrides(employees, steps, sets)
    params = {name: load_setting(name).parameters(overrides) for name in REFERENCE_SETTINGS}
    total = replications * len(params)
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("simulating", total=total)
        runs = compare(params, replications, seed, progress=lambda: bar.advance(task))
    table = comparison_table(runs, list(HEADLINE))
    shown = Table(title=f"{' vs '.join(REFERENCE_SETTINGS)}: mean (sd) over {replications} "
                        f"replications, {runs['employees'].iloc[0]} employees, "
                        f"{runs['steps'].iloc[0]} steps, seed {seed}")
    shown.add_column("metric")
    for name in params:
        shown.add_column(name, justify="right")
    for metric in HEADLINE:
        cells = []
        for name in params:
            mean, sd = table.loc[metric, (name, "mean")], table.loc[metric, (name, "sd")]
            never = runs.loc[runs.setting == name, metric].isna().sum()
            cell = f"{mean:.3f} ({sd:.3f})" if mean == mean else "never"
            if never and mean == mean:
                cell += f" [{never} never]"
            cells.append(cell)
        shown.add_row(metric, *cells)
    console.print(shown)
    console.print("time_to_50pct_adoption: steps for the tracer good idea to reach half the "
                  "organization ('never' = not within the run).")


@app.command("run")
def run_command(setting: Annotated[str, typer.Argument(help="Setting name or path to a TOML "
                                                       "file.")],
                employees: Employees = None, steps: Steps = None, seed: Seed = 2026,
                sets: Sets = None,
                out: Annotated[Path, typer.Option(help="Output directory.")] = Path("out/run"),
                ) -> None:
    """Run one setting and write timeseries, ideas, summary.json and parameters.toml."""
    chosen = load_setting(setting)
    params = chosen.parameters(_overrides(employees, steps, sets))
    _check_writable(out)
    with console.status(f"simulating {chosen.name}: {params.n_employees} employees, "
                        f"{params.steps} steps"):
        result = run_once(params, seed, chosen.name)
    write_run(result, out, chosen.description)
    s = result.summary
    table = Table(title=f"{chosen.name} (seed {seed}) -> {out}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for metric in HEADLINE:
        value = s[metric]
        table.add_row(metric, "never" if value is None else f"{value:.3f}"
                      if isinstance(value, float) else str(value))
    console.print(table)


@app.command("settings")
def settings_command() -> None:
    """List the built-in settings with their descriptions."""
    for name in available_settings():
        console.print(f"[bold]{name}[/bold]: {load_setting(name).description}",
                      highlight=False)


@app.command("parameters")
def parameters_command() -> None:
    """List every parameter by group: default, range, unit and meaning."""
    from model.parameters import GROUPS

    specs = parameter_specs()
    for group in GROUPS:
        print(f"[{group}]")
        for spec in (s for s in specs if s.group == group):
            rng = (" | ".join(spec.choices) if spec.choices
                   else f"{spec.minimum:g}..{spec.maximum:g}")
            unit = f" {spec.unit}" if spec.unit else ""
            print(f"  {spec.name} = {spec.default}  ({rng}{unit})  {spec.meaning}")


# --- dashboard commands ---
@app.command("serve")
def serve_command(
        port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8765,
        host: Annotated[str, typer.Option(help="Address to bind (default: this machine "
                                          "only).")] = "127.0.0.1") -> None:
    """Open the students' dashboard in the browser (Ctrl+C stops the server)."""
    from dashboards.server import serve

    serve(host, port)


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ParameterError(f"--out {str(out)!r}: not writable ({err.strerror})") from None


def _given_value(err: Exception, argv: list[str] | None) -> str:
    """' (got VALUE)' for a bad option value, so the line names the value too."""
    args = list(sys.argv[1:] if argv is None else argv)
    for flag in getattr(getattr(err, "param", None), "opts", []):
        if flag in args and args.index(flag) + 1 < len(args):
            return f" (got {args[args.index(flag) + 1]!r})"
    return ""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user mistakes become one line on stderr and exit code 2."""
    try:
        app(args=argv, standalone_mode=False, prog_name="run.py")
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # click's exceptions (typer may vendor its own copy of click)
        kind = type(err).__name__
        if kind == "NoArgsIsHelpError":
            return 0
        if kind == "Exit":
            return int(getattr(err, "exit_code", 0))
        if kind == "Abort":
            print("error: aborted", file=sys.stderr)
            return 1
        if hasattr(err, "format_message"):
            print(f"error: {err.format_message()}{_given_value(err, argv)}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
