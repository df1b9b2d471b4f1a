"""Command line: compare settings into a report, run one setting, list settings.

    python run.py                         # main job: hierarchical vs shared_authority report
    python run.py compare hierarchical heroes_programme -r 20 --out out/heroes
    python run.py report out/heroes       # rebuild the report from the stored data
    python run.py run hierarchical --out out/h
    python run.py organization scenarios/company/acme.toml   # check a client chart
    python run.py settings
    python run.py parameters
    python run.py sweep sweeps/span_visibility_grid.toml --workers 2
    python run.py sensitivity out/sweeps/sobol_example --metric hidden_coasting_share
    python run.py plot out/sweeps/span_visibility_grid --metric hidden_coasting_share
    python run.py discover out/sweeps/lhs_example --metric hidden_coasting_share --above 0.1
    python run.py calibrate hierarchical calibrations/gallup_example.toml --out out/fit
    python run.py compare out/fit/calibrated.toml shared_authority --posterior out/fit
    python run.py validate --quick       # validation suite (docs/VALIDATION.md)

Every user mistake ends with one line on stderr and exit code 2. Options may come before
or after the command. Every command that writes builds its output in a hidden temporary
sibling and moves it into place atomically, holding a lock on it (experiments/outputs.py).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from model.errors import ParameterError

app = typer.Typer(add_completion=False, invoke_without_command=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Simulate how organizations self-organize under constraints and power "
                       "relations.")
console = Console(width=None if sys.stdout.isatty() else 110)

REFERENCE_SETTINGS = ("hierarchical", "shared_authority")
HEADLINE = ("hidden_coasting_share", "coasting_share", "mean_time_hidden",
            "probe_share_26w", "probe_share_52w", "probe_adoption_auc", "probe_reached_half",
            "time_to_50pct_adoption", "probe_final_share", "ideas_generated",
            "ideas_per_employee_year",
            "ideas_adopted_widely_share", "ideas_squashed_share", "mean_adopted_idea_value",
            "mean_commitment", "output", "mean_fit", "cross_unit_conversation_share",
            "informal_leader_overlap")

Employees = Annotated[int | None, typer.Option("--employees", "-n",
                                               help="Number of employees (overrides the setting).")]
Steps = Annotated[int | None, typer.Option("--steps", "-t", help="Steps to simulate.")]
SEED_MAX = 2**63 - 1  # one range for every seed (as experiments.outputs.SEED_MAX)
Seed = Annotated[int, typer.Option("--seed", "-s", help="Root random seed (0..2^63-1).", min=0,
                                   max=SEED_MAX)]
Sets = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a parameter: name=value (repeatable; see `run.py parameters`).")]
ModelOption = Annotated[str | None, typer.Option(
    "--model", help="A model extension as module:Class (a subclass of OrganizationModel; "
                    "see docs/extending/EXTENDING.md).")]


def _model_class(spec: str | None):
    """The class --model names, or None for the built-in model (imports nothing then)."""
    if not spec:
        return None
    from experiments.plugins import load_model_class

    return load_model_class(spec, "--model")


def _overrides(employees: int | None, steps: int | None, sets: list[str] | None,
               parameters_class=None) -> dict:
    from scenarios.settings import parse_overrides

    values = parse_overrides(sets, parameters_class)
    if employees is not None:
        values["n_employees"] = employees
    if steps is not None:
        values["steps"] = steps
    return values


Replications = Annotated[int, typer.Option("--replications", "-r",
                                           help="Replications per setting (>= 2).")]
Workers = Annotated[int | None, typer.Option("--workers", "-w", min=1,
                                             help="Processes (default: all local cores).")]
Force = Annotated[bool, typer.Option("--force", help="Replace the earlier output in --out.")]
CompareOut = Annotated[Path | None, typer.Option(
    "--out", help="Output directory (default: the next free out/compare-NNN).")]
Explain = Annotated[bool, typer.Option(
    "--explain", help="Split each difference among the parameters that differ (common "
                      "random numbers): Shapley, (2^k - 2) x R more runs for k <= 5 levers, or "
                      "one at a time, 2k x R; writes attribution.csv and a 'Why they differ' "
                      "section.")]
ExplainBy = Annotated[str, typer.Option(
    "--explain-by", help="Levers for --explain: parameter or group (Shapley, at most 5), "
                         "auto (parameters if at most 5 differ, else groups), or "
                         "one-at-a-time (each parameter alone A->B and B->A plus "
                         "interactions, at most 16).")]
ExplainReplications = Annotated[int | None, typer.Option(
    "--explain-replications", min=2, help="Replications of each --explain variant "
                                          "(default: --replications).")]
Pdf = Annotated[bool, typer.Option("--pdf", help="Also write report.pdf (Debian's chromium).")]
Png = Annotated[bool, typer.Option("--png", help="Also write charts/<name>.png for slides.")]
Paper = Annotated[str, typer.Option("--paper", help="Paper size of --pdf: a4 or letter.")]
Focus = Annotated[list[str] | None, typer.Option(
    "--focus", help="A measure the client asks about (e.g. mean_commitment; repeatable): "
                    "leads the summary where its difference is clear.")]


@app.callback()
def main_job(ctx: typer.Context, replications: Replications = 20,
             employees: Employees = None, steps: Steps = None, seed: Seed = 2026,
             sets: Sets = None, workers: Workers = None, out: CompareOut = None,
             force: Force = False, explain: Explain = False, explain_by: ExplainBy = "auto",
             explain_replications: ExplainReplications = None, pdf: Pdf = False,
             png: Png = False, paper: Paper = "a4", focus: Focus = None) -> None:
    """With no command: compare the reference settings and write the consultants' report."""
    if ctx.invoked_subcommand is not None:
        return
    compare_command(list(REFERENCE_SETTINGS), replications, employees, steps, seed, sets,
                    workers, out, force, explain, explain_by, explain_replications, pdf, png,
                    paper, focus)


@app.command("compare")
def compare_command(
        settings: Annotated[list[str], typer.Argument(help="Setting names or TOML paths.")],
        replications: Replications = 20, employees: Employees = None, steps: Steps = None,
        seed: Seed = 2026,
        sets: Annotated[list[str] | None, typer.Option(
            "--set", help="Override a parameter for all settings (name=value) or for one "
                          "(SETTING:name=value); repeatable.")] = None,
        workers: Workers = None, out: CompareOut = None, force: Force = False,
        explain: Explain = False, explain_by: ExplainBy = "auto",
        explain_replications: ExplainReplications = None, pdf: Pdf = False, png: Png = False,
        paper: Paper = "a4", focus: Focus = None, model: ModelOption = None,
        posterior: Annotated[Path | None, typer.Option(
            "--posterior", help="Calibration directory (run.py calibrate): each replication "
                                "draws the fitted parameters from its posterior.")] = None
) -> None:
    """Compare settings over replications with common random numbers; write report.html."""
    from scenarios.settings import resolve_settings

    model_class = _model_class(model)
    common = _overrides(employees, steps, None)
    resolve_settings(settings, sets, common,  # a bad setting is named before the engine loads
                     model_class.parameters_class if model_class else None)
    _check_export(pdf, png, paper)
    from experiments.summary import check_focus

    check_focus(focus)
    from dashboards.report import build_report, read_report_data
    from experiments.compare import compare_settings, is_comparison, next_free_directory
    from experiments.outputs import replace_directory

    out = out or next_free_directory(Path("out"))
    command = _reproduce(settings, replications, employees, steps, seed, sets,
                         explain_by if explain else None, explain_replications, focus, model)
    command += f" --posterior {shlex.quote(str(posterior))}" if posterior else ""
    with replace_directory(out, force=force, is_ours=is_comparison,
                           kind="a comparison (manifest.json)") as building:
        with _progress() as bar:
            def start(what: str):
                def begin(total: int):
                    task = bar.add_task(what, total=total)
                    return lambda: bar.advance(task)
                return begin

            compare_settings(settings, replications, seed, building, sets, common, workers,
                             force, command, start("simulating"),
                             explain_by if explain else None, explain_replications,
                             start("explaining"), focus, model=model or "",
                             posterior=posterior)
        failed = None
        try:
            report = build_report(building, location=out)
            findings = read_report_data(report)
            exported = _export(report, pdf, png, paper)
        except OSError:
            raise  # a full or failing disk: nothing is kept (outputs.replace_directory)
        except Exception as err:  # noqa: BLE001 - the data stay: the report can be rebuilt
            failed = err
    if failed is not None:
        raise ParameterError(f"report: {type(failed).__name__}: {failed}; the simulated data "
                             f"are kept in {out}: rebuild with `python run.py report {out}`"
                             ) from failed
    _print_findings(findings)
    console.print(f"report: {out / 'report.html'}{exported}\ndata: {out}/ (runs, timeseries, "
                  "employees, network; Parquet and CSV)", highlight=False)


def _check_export(pdf: bool, png: bool, paper: str) -> None:
    if (pdf or png) and paper.lower() not in ("a4", "letter"):
        raise ParameterError(f"--paper {paper!r}: choose a4 or letter")


def _export(report: Path, pdf: bool, png: bool, paper: str) -> str:
    """Write report.pdf / chart PNGs beside the report; the words saying what was written."""
    if not (pdf or png):
        return ""
    from dashboards.export import export_report

    with console.status("exporting through chromium"):
        done = export_report(report, pdf=pdf, png=png, paper=paper.lower())
    names = sorted({p.name if p.suffix == ".pdf" else "charts/*.png" for p in done["written"]})
    return f" (+ {', '.join(names)}, {done['seconds']:.0f} s)"


@app.command("report")
def report_command(
        directory: Annotated[Path, typer.Argument(help="Directory written by compare.")],
        force: Annotated[bool, typer.Option("--force", help="Replace report.html instead of "
                                            "keeping the earlier one beside it.")] = False,
        pdf: Pdf = False, png: Png = False, paper: Paper = "a4", focus: Focus = None,
) -> None:
    """Rebuild report.html from a comparison's stored data (keeps an earlier report)."""
    from dashboards.report import build_report, read_report_data
    from experiments.compare import is_comparison, read_comparison
    from experiments.outputs import output_lock, replace_directory

    option = "DIRECTORY"
    _check_export(pdf, png, paper)
    from experiments.summary import check_focus

    check_focus(focus)
    if not is_comparison(directory):
        read_comparison(directory)  # says what is wrong (before a lock file is made beside)
    with output_lock(directory, option):
        read_comparison(directory)  # checks the directory before anything is built
        with replace_directory(directory, force=True, is_ours=is_comparison, option=option,
                               kind="a comparison (manifest.json)", seed="link",
                               locked=True) as building:
            earlier = building / "report.html"
            kept = None
            if earlier.exists() and not force:
                stamp = time.strftime("%Y%m%d-%H%M%S",
                                      time.localtime(earlier.stat().st_mtime))
                kept = earlier.with_name(f"report-{stamp}.html")
                k = 1
                while kept.exists():  # never replace a report kept earlier
                    k += 1
                    kept = earlier.with_name(f"report-{stamp}-{k}.html")
                earlier.replace(kept)
            report = build_report(building, location=directory, focus=focus)
            findings = read_report_data(report)
            exported = _export(report, pdf, png, paper)
    if kept is not None:
        console.print(f"kept the earlier report as {directory / kept.name}", highlight=False)
    _print_findings(findings)
    console.print(f"report: {directory / 'report.html'}{exported}", highlight=False)


def _progress() -> Progress:
    return Progress("[progress.description]{task.description}", BarColumn(),
                    MofNCompleteColumn(), "runs", TimeElapsedColumn(), "left",
                    TimeRemainingColumn(), console=console, transient=True)


def _reproduce(settings: list[str], replications: int, employees: int | None,
               steps: int | None, seed: int, sets: list[str] | None,
               explain_by: str | None = None, explain_replications: int | None = None,
               focus: list[str] | None = None, model: str | None = None) -> str:
    """The command as given (shell-quoted); the report shows one that reads the stored
    settings instead."""
    parts = ["python", "run.py", "compare", *settings, "--replications", str(replications),
             "--seed", str(seed)]
    parts += ["--employees", str(employees)] if employees is not None else []
    parts += ["--steps", str(steps)] if steps is not None else []
    for item in sets or []:
        parts += ["--set", item]
    if explain_by is not None:
        parts += ["--explain", "--explain-by", explain_by]
        parts += (["--explain-replications", str(explain_replications)]
                  if explain_replications else [])
    for name in focus or []:
        parts += ["--focus", name]
    parts += ["--model", model] if model else []
    return shlex.join(parts)


def _print_findings(data: dict) -> None:
    """The report's summary (and trade-offs), and how many findings the page holds."""
    console.print("[bold]Summary[/bold]")
    for item in data["summary"]:
        console.print(f"- {item['sentence']}", highlight=False)
    for sentence in data.get("trade_offs", []):
        console.print(sentence, highlight=False)
    if data["findings"]:
        console.print(f"({len(data['findings'])} findings under Details in the report)",
                      highlight=False)


@app.command("run")
def run_command(setting: Annotated[str, typer.Argument(help="Setting name or path to a TOML "
                                                       "file.")],
                employees: Employees = None, steps: Steps = None, seed: Seed = 2026,
                sets: Sets = None,
                out: Annotated[Path, typer.Option(help="Output directory.")] = Path("out/run"),
                force: Force = False, model: ModelOption = None) -> None:
    """Run one setting and write timeseries, ideas, summary.json and parameters.toml."""
    from scenarios.settings import load_setting

    model_class = _model_class(model)
    block = model_class.parameters_class if model_class else None
    chosen = load_setting(setting, block)
    params = chosen.parameters(_overrides(employees, steps, sets, block), parameters_class=block)
    roadmap = chosen.roadmap(params, block)
    if chosen.chart_summary:
        console.print(chosen.chart_summary, highlight=False, soft_wrap=True)
    from experiments.outputs import (
        check_memory,
        human_seconds,
        replace_directory,
        run_bytes,
        run_seconds,
    )
    from experiments.runner import is_run_output, run_once, write_run

    n, t = params.n_employees, params.steps
    check_memory(run_bytes(n, t), f"n_employees = {n} (x {t} steps)", run_seconds(n, t))
    with replace_directory(out, force=force, is_ours=is_run_output,
                           kind="a run's output (summary.json)") as building:
        with console.status(f"simulating {chosen.name}: {n} employees, {t} steps (about "
                            f"{human_seconds(run_seconds(n, t))})"):
            result = run_once(params, seed, chosen.name, model_class, chosen.chart, roadmap)
        write_run(result, building, chosen.description, model or "", chosen)
    s = result.summary
    table = Table(title=f"{chosen.name} (seed {seed}) -> {out}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for metric in HEADLINE:
        value = s[metric]
        table.add_row(metric, "never" if value is None else f"{value:.3f}"
                      if isinstance(value, float) else str(value))
    console.print(table)


@app.command("organization")
def organization_command(
        setting: Annotated[str, typer.Argument(help="Setting file with [organization].")],
        export: Annotated[Path | None, typer.Option(
            "--export", help="Write the checked chart, by pseudonym, to this CSV file.")]
        = None) -> None:
    """Check a setting's org chart and network (and roadmap); say what was inferred."""
    from scenarios.settings import load_setting

    chosen = load_setting(setting)  # every data-quality problem: one line, exit 2
    if chosen.chart is None:
        raise ParameterError(f"{setting}: no [organization] chart in this setting")
    console.print(chosen.chart_summary, highlight=False, soft_wrap=True)
    if chosen.interventions:
        console.print(f"roadmap: {len(chosen.interventions)} interventions, checked",
                      highlight=False)
    if export is not None:
        from experiments.outputs import atomic_write
        from scenarios.organization import chart_csv

        text = chart_csv(chosen.chart)
        atomic_write(export, lambda p: p.write_text(text, encoding="utf-8"))
        console.print(f"wrote {export} (pseudonyms only)", highlight=False)


@app.command("settings")
def settings_command() -> None:
    """List the built-in settings with their descriptions."""
    from scenarios.settings import available_settings, load_setting

    for name in available_settings():
        console.print(f"[bold]{name}[/bold]: {load_setting(name).description}",
                      highlight=False)


@app.command("parameters")
def parameters_command(model: ModelOption = None) -> None:
    """List every parameter by group: default, range, unit and meaning."""
    from model.parameters import FIXED_DURING_RUN, GROUPS, parameter_specs, per_unit_parameters

    model_class = _model_class(model)
    block = model_class.parameters_class if model_class else None
    specs = parameter_specs(block)
    scoped = set(per_unit_parameters(block))
    for group in GROUPS:
        print(f"[{group}]")
        for spec in (s for s in specs if s.group == group):
            rng = (" | ".join(spec.choices) if spec.choices
                   else f"{spec.minimum:g}..{spec.maximum:g}")
            unit = f" {spec.unit}" if spec.unit else ""
            roadmap = (" [roadmap: per unit]" if spec.name in scoped else
                       " [fixed during a run]" if spec.name in FIXED_DURING_RUN else "")
            print(f"  {spec.name} = {spec.default}  ({rng}{unit})  {spec.meaning}{roadmap}")


# --- sweep commands ---
CPUS = os.cpu_count() or 1


class RunRate(ProgressColumn):
    """Runs (or other units) per second of a sweep's progress bar."""

    def __init__(self, unit: str = "runs"):
        super().__init__()
        self.unit = unit

    def render(self, task) -> Text:
        return Text(f"{task.speed:.2f} {self.unit}/s" if task.speed else f"-- {self.unit}/s")


def _sweep_bar(unit: str = "runs") -> tuple[Progress, Callable[[int, int], None]]:
    """A progress bar started on the first report (runs done, total, rate, time left)."""
    bar = Progress("[progress.description]{task.description}", BarColumn(),
                   MofNCompleteColumn(), RunRate(unit), TimeElapsedColumn(),
                   TimeRemainingColumn(), console=console)
    task: list = []

    def update(done: int, total: int) -> None:
        if not task:  # runs finished before a resume do not count toward the rate
            bar.start()
            task.append(bar.add_task(unit, total=total, completed=done))
        bar.update(task[0], completed=done, total=total)  # a grown design has a new total

    return bar, update


@app.command("sweep")
def sweep_command(
        file: Annotated[Path, typer.Argument(help="Sweep file (TOML), e.g. sweeps/*.toml.")],
        workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Local worker "
                                             "processes (default: CPU count).")] = CPUS,
        out: Annotated[Path | None, typer.Option(help="Output directory (default: "
                                                 "out/sweeps/<file name>).")] = None,
        resume: Annotated[bool, typer.Option(help="Skip runs already finished in --out.")] = False,
        allow_version_change: Annotated[bool, typer.Option(
            "--allow-version-change", help="Resume even if the model or package versions "
                                           "differ from the sweep's start.")] = False,
        scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address "
                                                      "(tcp://HOST:PORT) to run on a "
                                                      "cluster.")] = None,
        chunk_size: Annotated[int | None, typer.Option(min=1, help="Runs per chunk (default: "
                                                       "about 8 chunks per worker, <= 25).")]
        = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and show the "
                                              "design; run nothing.")] = False,
        add_replications: Annotated[int | None, typer.Option(
            "--add-replications", min=1, help="Add K replications to the sweep in --out "
            "(existing runs and files untouched).")] = None,
        until_ci: Annotated[float | None, typer.Option(
            "--until-ci", help="Add replications in rounds until every point's 95% interval "
            "of --metric is narrower than this width.")] = None,
        metric: Annotated[str | None, typer.Option("--metric", "-m", help="Metric of "
                                                   "--until-ci.")] = None,
        max_replications: Annotated[int, typer.Option(
            "--max-replications", min=1, help="Most replications --until-ci may reach.")]
        = 64) -> None:
    """Run a parameter sweep into a resumable Parquet dataset (one file per chunk).

    A larger `replications` or `design.samples` in FILE with --resume, or
    --add-replications, grows a finished sweep: only the new runs are run."""
    from experiments.outputs import check_output_path
    from experiments.sweep import check_sweep_memory, run_sweep
    from experiments.sweep_spec import load_sweep

    if out is not None:
        check_output_path(out)
    if (until_ci is None) != (metric is None):
        raise ParameterError("--until-ci and --metric: give both (the width and the metric "
                             "whose interval it bounds) or neither")
    sweep = load_sweep(file)
    out = out or Path("out/sweeps") / file.stem
    if add_replications:
        from experiments.grow import saved_replications
        from experiments.sweep_spec import with_size

        sweep = with_size(sweep, replications=saved_replications(out) + add_replications)
        resume = True
    if scheduler is None:  # a cluster's workers have their own memory
        check_sweep_memory(sweep, workers)
    if dry_run:
        from experiments.outputs import human_seconds, run_seconds

        took = run_seconds(sweep.base["n_employees"], sweep.base["steps"], len(sweep.runs),
                           workers)
        console.print(f"{file}: {sweep.method} design, {len(sweep.points)} points x "
                      f"{sweep.replications} replications = {len(sweep.runs)} runs of "
                      f"{sweep.base['n_employees']} employees x {sweep.base['steps']} steps; "
                      f"varied: {', '.join(f.name for f in sweep.factors)}; about "
                      f"{human_seconds(took)} on {workers} workers", highlight=False,
                      soft_wrap=True)
        _print_skipped(sweep)
        return
    bar, update = _sweep_bar()
    options = {"workers": workers, "scheduler": scheduler, "chunk_size": chunk_size,
               "progress": update, "allow_version_change": allow_version_change}
    with _stopping(bar, f"interrupted: finished chunks are saved in {out}; continue with "
                        "--resume"):
        if until_ci is not None:
            from experiments.grow import run_until_ci

            rounds, outcome = run_until_ci(sweep, out, metric, until_ci, max_replications,
                                           report=lambda r: bar.console.print(
                                               _round_line(r, metric, until_ci),
                                               highlight=False),
                                           resume=resume, **options)
        else:
            outcome = run_sweep(sweep, out, resume=resume, **options)  # holds the lock of out
    console.print(f"{outcome.ran} runs in {outcome.parts} chunks ({outcome.skipped} already "
                  f"done) of {outcome.total} -> {out}  (pandas.read_parquet('{out}'))",
                  highlight=False)
    _print_skipped(sweep)
    if until_ci is not None and rounds[-1]["worst_width"] >= until_ci:
        console.print(f"--until-ci {until_ci:g}: stopped at --max-replications "
                      f"{max_replications}; {rounds[-1]['points_too_wide']} points still wider",
                      highlight=False)


@contextlib.contextmanager
def _stopping(bar: Progress, message: str):
    """Stop the progress bar on the way out; Ctrl+C/SIGTERM says what was kept."""
    try:
        yield
    except KeyboardInterrupt:
        bar.stop()
        raise Interrupted(message) from None
    finally:
        bar.stop()


def _round_line(record: dict, metric: str, width: float) -> str:
    return (f"round {record['round']}: {record['replications']} replications, "
            f"{record['runs']} runs; widest 95% interval of {metric} "
            f"{record['worst_width']:.4g} (target < {width:g}); "
            f"{record['points_too_wide']} of {record['points']} points wider")


def _print_skipped(sweep) -> None:
    """How many design points were skipped, and why (their list is in the manifest)."""
    if not sweep.skipped:
        return
    by_constraint = sum(s["reason"].startswith("constraint") for s in sweep.skipped)
    console.print(f"skipped {len(sweep.skipped)} of {len(sweep.points)} design points "
                  f"({by_constraint} by a constraint, {len(sweep.skipped) - by_constraint} "
                  f"refused by the model, e.g. point {sweep.skipped[0]['point_id']}: "
                  f"{sweep.skipped[0]['reason']}); listed in _manifest.json", highlight=False,
                  soft_wrap=True)


@app.command("sensitivity")
def sensitivity_command(
        directory: Annotated[Path, typer.Argument(help="Output directory of a finished "
                                                  "sweep (any design).")],
        metric: Annotated[list[str], typer.Option("--metric", "-m", help="Summary metric to "
                                                  "analyse (repeatable).")]) -> None:
    """Sobol (S1, ST), Morris (mu*, sigma) or, for LHS and grids, RBD-FAST (S1) and PAWN
    indices with 95% bootstrap intervals and a dummy factor's noise floor, as tables and
    plotly charts."""
    from dashboards.sweep_plots import write_sensitivity_charts
    from experiments.outputs import output_lock
    from experiments.sensitivity import write_sensitivity
    from experiments.sweep import ANALYSIS_DIR, read_manifest

    read_manifest(directory)
    with output_lock(directory / ANALYSIS_DIR, "DIRECTORY"):
        table, written = write_sensitivity(directory, metric)
        written += write_sensitivity_charts(directory, table)
    columns = ["metric", "parameter", "index", "value", "conf", "noise_floor", "warning"]
    shown = Table(title=f"sensitivity indices ({directory}; conf: half-width of the 95% "
                        "bootstrap interval; noise floor: the inert dummy factor's index + "
                        "conf)")
    for column in columns:
        shown.add_column(column, justify="right" if column in ("value", "conf", "noise_floor")
                         else "left")
    for row in table[columns].itertuples(index=False):
        shown.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
    console.print(shown)
    for name, part in table.groupby("metric", sort=False):
        warned = part[part["warning"].isin(["within noise floor", "interval wider than value"])]
        console.print(f"{name}: {part['points'].iloc[0]} design points, {part['runs'].iloc[0]} "
                      f"runs; {len(warned)} warnings" + "".join(
                          f"\n  warning: {w.parameter} {w.index} = {w.value:.4g} "
                          f"(conf {w.conf:.3g}, floor {w.noise_floor:.3g}): {w.warning}"
                          for w in warned.itertuples()), highlight=False, soft_wrap=True)
    console.print(f"wrote {len(written)} files to {directory / '_analysis'}", highlight=False)


@app.command("discover")
def discover_command(
        directory: Annotated[Path, typer.Argument(help="Output directory of a sweep.")],
        metric: Annotated[str, typer.Option("--metric", "-m", help="Summary metric.")],
        above: Annotated[float | None, typer.Option(help="Cases of interest: metric above "
                                                    "this value.")] = None,
        below: Annotated[float | None, typer.Option(help="Cases of interest: metric below "
                                                    "this value.")] = None,
        per_run: Annotated[bool, typer.Option("--per-run", help="Each run is a case (default: "
                                              "each design point, its mean over "
                                              "replications).")] = False,
        min_density: Annotated[float, typer.Option(
            "--min-density", min=0.0, max=1.0, help="Chosen PRIM box: highest coverage with "
            "at least this density.")] = 0.8) -> None:
    """Scenario discovery: PRIM boxes (peeling trajectory) and a CART tree of where the
    metric is above (below) a threshold; tidy CSV and an offline chart."""
    from dashboards.discovery_plots import write_discovery_chart
    from experiments.discovery import discover, write_discovery
    from experiments.outputs import output_lock
    from experiments.sweep import ANALYSIS_DIR, read_manifest

    if (above is None) == (below is None):
        raise ParameterError("--above/--below: give exactly one threshold")
    read_manifest(directory)
    threshold = above if above is not None else below
    with console.status("discovering (PRIM, CART)..."):
        result = discover(directory, metric, threshold, above is not None, per_run, min_density)
    with output_lock(directory / ANALYSIS_DIR, "DIRECTORY"):
        written = write_discovery(directory, result, metric)
        written.append(write_discovery_chart(directory, result, metric))
    found = result.found
    box = result.prim[result.prim["chosen"]]
    stats = box.iloc[0]
    missing = f", {found.missing} without a value left out" if found.missing else ""
    console.print(f"{found.rule}: {int(found.y.sum())} of {len(found.y)} {found.basis}s "
                  f"({found.runs} runs{missing})", highlight=False)
    console.print(f"PRIM box (step {result.chosen} of {result.prim['step'].max()}): coverage "
                  f"{stats.coverage:.2f}, density {stats.density:.2f}, mass {stats.mass:.2f}",
                  highlight=False)
    for row in box[box["restricted"]].itertuples():
        limits = row.values or f"{row.lower:.4g} .. {row.upper:.4g}"
        quasi_p = max((q for q in (row.qp_lower, row.qp_upper) if q == q), default=float("nan"))
        noise = "; likely noise" if quasi_p > 0.05 else ""
        console.print(f"  {row.parameter}: {limits}  (quasi-p {quasi_p:.2g}{noise})",
                      highlight=False)
    console.print("CART tree (class 1 = " + found.rule + "):\n" + result.tree, highlight=False)
    console.print(f"wrote {len(written)} files to {directory / ANALYSIS_DIR}", highlight=False)


@app.command("plot")
def plot_command(
        directory: Annotated[Path, typer.Argument(help="Output directory of a sweep.")],
        metric: Annotated[str, typer.Option("--metric", "-m", help="Metric to plot.")],
        x: Annotated[str | None, typer.Option("--x", help="Parameter on the x axis (default: "
                                              "the first varied one).")] = None,
        y: Annotated[str | None, typer.Option("--y", help="Second parameter: draw a "
                                              "heatmap.")] = None,
        by: Annotated[str | None, typer.Option("--by", help="Second parameter: one line per "
                                               "value.")] = None,
        over_time: Annotated[bool, typer.Option("--over-time", help="Plot the recorded time "
                                                "series of the metric.")] = False) -> None:
    """Chart a metric over one or two parameters (lines with bands, heatmap) as HTML."""
    from dashboards.sweep_plots import plot_sweep
    from experiments.outputs import output_lock
    from experiments.sweep import ANALYSIS_DIR, read_manifest

    read_manifest(directory)
    with output_lock(directory / ANALYSIS_DIR, "DIRECTORY"):
        path = plot_sweep(directory, metric, x, y, by, over_time)
    console.print(f"wrote {path}", highlight=False)


# --- calibration ---
@app.command("calibrate")
def calibrate_command(
        setting: Annotated[str, typer.Argument(metavar="SETTING", help="Setting name or TOML "
                                               "path to start from.")],
        targets_file: Annotated[Path, typer.Argument(
            metavar="TARGETS", help="Targets file (TOML): priors of the fitted parameters and "
                                    "what was measured (see README, Calibration).")],
        out: Annotated[Path, typer.Option(help="Output directory (a rerun resumes it).")],
        budget: Annotated[int | None, typer.Option(min=2, help="Parameter points to try "
                                                   "(default: the file's, else 200).")] = None,
        workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Local worker "
                                             "processes.")] = 1,
        scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address "
                                                      "(tcp://HOST:PORT).")] = None,
        allow_version_change: Annotated[bool, typer.Option(
            "--allow-version-change", help="Resume even if the model or package versions "
                                           "differ from the calibration's start.")] = False,
        model: ModelOption = None
) -> None:
    """Fit the parameters named in TARGETS to its measurements: calibrated.toml, posterior
    samples (Parquet), fit.html and a manifest in --out; resumable after a kill."""
    from experiments.outputs import check_output_path
    from experiments.targets import read_targets
    from scenarios.settings import load_setting

    check_output_path(out)
    model_class = _model_class(model)
    block = model_class.parameters_class if model_class else None
    load_setting(setting, block)  # a bad setting is named before anything else
    read_targets(targets_file, parameters_class=block)  # before the engine loads
    from dashboards.calibration_page import write_fit_page
    from experiments.calibration import calibrate, observable_names

    targets = read_targets(targets_file, observable_names(model_class), block)
    command = (f"python run.py calibrate {shlex.quote(setting)} "
               f"{shlex.quote(str(targets_file))} --out {shlex.quote(str(out))}"
               + (f" --budget {budget}" if budget else "")
               + (f" --model {shlex.quote(model)}" if model else ""))
    bar, update = _sweep_bar("points")  # each point: the file's replications runs
    with _stopping(bar, f"interrupted: finished points are saved in {out}; run the same "
                        "command to continue"):
        fit, written = calibrate(setting, targets, out, budget=budget, workers=workers,
                                 scheduler=scheduler, progress=update, command=command,
                                 model=model, page=write_fit_page,
                                 allow_version_change=allow_version_change)
    from experiments.calibration import low_ess_warning, summary_rows

    table = Table(title=f"posterior ({len(fit.trials)} points x "
                        f"{targets.option('replications', 2)} runs; effective sample size "
                        f"{fit.ess:.1f})")
    for column in ("parameter", "prior", "mean", "median", "90% interval"):
        table.add_column(column, justify="left" if column == "parameter" else "right")
    for row in summary_rows(fit, targets):
        table.add_row(row["parameter"], f"{row['prior_low']:.4g}..{row['prior_high']:.4g}",
                      f"{row['mean']:.4g}", f"{row['median']:.4g}",
                      f"{row['q05']:.4g}..{row['q95']:.4g}")
    console.print(table)
    generations = ", ".join(f"{int(r.generation)}: {r.posterior_ess:.1f}"
                            for r in fit.generations.itertuples())
    console.print(f"posterior ESS after each generation (points) {generations}",
                  highlight=False)
    if warning := low_ess_warning(fit):
        console.print(warning, highlight=False)
    console.print(f"wrote {', '.join(p.name for p in written)} to {out}", highlight=False)


# --- validation commands ---
@app.command("validate")
def validate_command(
        names: Annotated[list[str] | None, typer.Argument(
            help="Experiments to run (default: all): bass, loafing, contagion, march, "
                 "mission, meanfield, size, robustness, recovery.")] = None,
        quick: Annotated[bool, typer.Option("--quick", help="CI sizes (what the tests run); "
                                            "writes no report unless --docs is given.")] = False,
        seed: Seed = 2026,
        workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 2,
        docs: Annotated[Path | None, typer.Option(
            help="Directory for VALIDATION.md and validation/ (default: docs for a full "
                 "run).")] = None,
) -> None:
    """Run validation experiments: one line per published target, pass or fail."""
    from dashboards.validation_report import write_report
    from experiments.outputs import check_output_path, output_lock
    from experiments.validation import Plan, run_experiments, select

    experiments = select(names)
    plan = Plan(quick=quick, seed=seed, workers=workers)
    out = docs if docs is not None else (None if quick else Path("docs"))
    with contextlib.ExitStack() as stack:
        if out is not None:
            check_output_path(out, "--docs")
            stack.enter_context(output_lock(out, "--docs"))
            _check_writable(out, "--docs")
        _validate(experiments, plan, out, write_report, run_experiments)


def _validate(experiments, plan, out: Path | None, write_report, run_experiments) -> None:
    def show(outcome) -> None:
        for check in outcome.checks:
            print(f"{check.verdict:4}  {outcome.name}: {check.name}: target {check.target}; "
                  f"model {check.model}; tolerance {check.tolerance}", flush=True)

    outcomes = run_experiments(experiments, plan, show)
    if out is not None:
        console.print(f"report: {write_report(outcomes, plan, out)}", highlight=False)
    failed = [o.name for o in outcomes if not o.passed]
    if failed:
        console.print(f"failed: {', '.join(failed)}")
        raise typer.Exit(1)


# --- dashboard commands ---
@app.command("serve")
def serve_command(
        port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8765,
        host: Annotated[str, typer.Option(help="Address to bind (default: this machine "
                                          "only).")] = "127.0.0.1",
        allow_remote: Annotated[bool, typer.Option(
            "--allow-remote", help="Allow a --host other machines can reach (the dashboard "
                                   "has no login).")] = False,
        max_playing: Annotated[int | None, typer.Option(
            "--max-playing", min=1, max=10_000,
            help="Pages that may play at once; Play on one more page says the server is "
                 "busy (default: 6 per CPU core).")] = None,
        model: ModelOption = None,
        setting: Annotated[list[str] | None, typer.Option(
            "--setting", help="A setting file (or a directory of them) to add to the page's "
                              "choices, e.g. a client's chart and roadmap; repeatable. The "
                              "page opens on the first.")] = None) -> None:
    """Open the students' dashboard in the browser (Ctrl+C stops the server)."""
    from dashboards.server import is_loopback, serve

    chosen = _model_class(model)  # a bad name is refused here, not in the server
    from dashboards.session import setting_files

    # bad chart data stops here, in one line, before the server starts
    files = setting_files(setting or [], chosen.parameters_class if chosen else None)

    if not is_loopback(host):
        if not allow_remote:
            raise ParameterError(f"--host {host!r}: reachable from other machines and the "
                                 "dashboard has no login; add --allow-remote to serve anyway")
        print(f"warning: serving on {host}: anyone who can reach this address can use the "
              "dashboard (no login)", file=sys.stderr)
    serve(host, port, max_playing, model or "", [str(f) for f in files])


def _check_writable(out: Path, option: str = "--out") -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ParameterError(f"{option} {str(out)!r}: not writable ({err.strerror})") from None


# Options of the main job that take a value (all of them but --force): used to move
# options given before a command behind it, where that command accepts them or refuses
# them in one line; they are never silently dropped.
VALUE_OPTIONS = {"-r", "--replications", "-n", "--employees", "-t", "--steps", "-s", "--seed",
                 "--set", "-w", "--workers", "--out", "--explain-by", "--explain-replications",
                 "--paper", "--focus"}
PATH_OPTIONS = ("--out", "--docs")


def _arrange(args: list[str]) -> list[str]:
    """Options before a command move behind it; an empty --out or --docs is refused."""
    for i, arg in enumerate(args):
        for option in PATH_OPTIONS:
            if (arg == option and i + 1 < len(args) and not args[i + 1].strip()) or (
                    arg.startswith(option + "=") and not arg.split("=", 1)[1].strip()):
                raise ParameterError(f"{option} '': empty path (give a directory)")
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in commands:
            return [arg, *args[:i], *args[i + 1:]] if i else args
        if arg == "--" or not arg.startswith("-"):
            return args
        i += 2 if arg in VALUE_OPTIONS else 1
    return args


def _given_value(err: Exception, argv: list[str] | None) -> str:
    """' (got VALUE)' for a bad option value, so the line names the value too."""
    args = list(sys.argv[1:] if argv is None else argv)
    for flag in getattr(getattr(err, "param", None), "opts", []):
        if flag in args and args.index(flag) + 1 < len(args):
            return f" (got {args[args.index(flag) + 1]!r})"
    return ""


class Interrupted(Exception):
    """Ctrl+C or SIGTERM, with what the user should know (exit code 130)."""


INTERRUPTED = "error: interrupted; nothing half-written was kept"


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl+C: writers remove their temporaries


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user mistakes become one line on stderr and exit code 2."""
    import signal
    import threading

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    try:
        return _main(argv)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    try:
        args = _arrange(list(sys.argv[1:] if argv is None else argv))
        code = app(args=args, standalone_mode=False, prog_name="run.py")
        if code == 130:  # typer turns KeyboardInterrupt into Exit(130)
            print(INTERRUPTED, file=sys.stderr)
        if isinstance(code, int) and code:
            return code  # typer.Exit(code) returns its code when not standalone
    except Interrupted as err:
        print(err, file=sys.stderr)
        return 130
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # every writer is atomic and has removed its temporary files
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}; nothing half-written was kept",
              file=sys.stderr)
        return 2
    except Exception as err:  # click's exceptions (typer may vendor its own copy of click)
        kind = type(err).__name__
        if kind == "NoArgsIsHelpError":
            return 0
        if kind == "Exit":
            return int(getattr(err, "exit_code", 0))
        if kind == "Abort":
            print(INTERRUPTED, file=sys.stderr)
            return 130
        if hasattr(err, "format_message"):
            print(f"error: {err.format_message()}{_given_value(err, argv)}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
