"""A warm process that forks run.py commands and SIGKILLs them at a given moment.

Importing the engine takes ~3 s and is not what a kill test is about: this process
imports and warms everything once, then for each request (one JSON line on stdin:
``[args, delay]``) forks a child that runs ``run.main(args)`` in its own session, kills
the child's whole session with SIGKILL after ``delay`` seconds unless it has ended, and
answers one JSON line: ``{"code": exit code or null if killed, "seconds": its life}``.
A request may add ``[directory, glob, count]``: the delay then starts once ``count`` files
match ``glob`` in ``directory`` (e.g. a sweep's part files).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import run  # noqa: E402


def warm() -> None:
    """Import and compile everything the commands use, once."""
    with tempfile.TemporaryDirectory() as tmp:
        small = ["-n", "30", "-t", "5", "-w", "1"]
        sweep = Path(tmp) / "s.toml"
        sweep.write_text("steps = 5\n[parameters]\nn_employees = 20\n[vary]\n"
                         "work_visibility = [0.1]\n")
        for args in (["compare", "hierarchical", "shared_authority", "-r", "2", *small, "--out",
                      f"{tmp}/c"], ["report", f"{tmp}/c"], ["run", "hierarchical",
                                                           *small[:4], "--out", f"{tmp}/r"],
                     ["sweep", str(sweep), *small[4:], "--out", f"{tmp}/s"]):
            if run.main(args) != 0:
                raise SystemExit(f"warm-up failed: {args}")


def child(args: list[str]) -> None:
    os.setsid()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        code = run.main(args)
    except BaseException:  # noqa: BLE001 - any crash is a failure code, never a hang
        code = 99
    os._exit(code)


def serve() -> None:
    saved = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the warm-up's printing goes nowhere
    warm()
    os.dup2(saved, 1)
    print("ready", flush=True)
    warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
    for line in sys.stdin:
        args, delay, watch = [*json.loads(line), None][:3]
        began = time.monotonic()
        armed = began if watch is None else None
        pid = os.fork()
        if pid == 0:
            child(args)
        code = None
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                break
            if armed is None and len(list(Path(watch[0]).glob(watch[1]))) >= watch[2]:
                armed = time.monotonic()
            if armed is not None and time.monotonic() - armed >= delay:
                try:
                    os.killpg(pid, signal.SIGKILL)  # the child's session: it and its workers
                except ProcessLookupError:
                    pass
                _, status = os.waitpid(pid, 0)
                code = None if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.002)
        print(json.dumps({"code": code, "seconds": time.monotonic() - began}), flush=True)


if __name__ == "__main__":
    serve()
