"""Faults lose nothing: kill -9 at random moments, concurrent writers, a full disk, orphans.

Each writer is killed with SIGKILL at seeded random moments (20 trials per command, tiny
organizations); the output directory must then hold the old complete output or the new
complete one, and nothing else: no temporary file inside it, nothing visible beside it
(a killed writer's hidden temporary sibling is removed by the next writer). The commands
are forked from a warm process (tests/zygote.py), so the kill moments fall in the work and
the writing rather than in importing the engine, and 80 trials take about a minute.
"""

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from experiments.sweep import finished_runs
from tests.sweep_helpers import sorted_rows

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["-n", "30", "-t", "10"]
TRIALS = 20
PARALLEL = 2  # trials at a time, in separate directories
COMPARE = ["compare", "hierarchical", "shared_authority", "-r", "2", *SMALL, "-w", "1"]
SWEEP = ("steps = 10\nreplications = 4\nmetrics = [\"hidden_coasting_share\"]\n"
         "[parameters]\nn_employees = 30\n[vary]\n"
         "work_visibility = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]\n")


def start(args: list) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "run.py", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def finish(args: list) -> float:
    """Run a command to completion; its wall time."""
    began = time.monotonic()
    done = subprocess.run([sys.executable, "run.py", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - began


def kill_after(process: subprocess.Popen, delay: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=delay)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()


def signature(out: Path) -> dict[str, str]:
    """Every file of an output; what varies between identical runs (the creation time in
    the manifest and report) is reduced to the seed."""
    sig = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        name = str(path.relative_to(out))
        if name == "manifest.json":
            sig[name] = str(json.loads(path.read_text())["root_seed"])
        elif name == "report.html":
            text = path.read_text()
            sig[name] = re.search(r"\(root seed (\d+)\)", text)[1] + ("old" if "<!-- old -->"
                                                                      in text else "")
        else:
            sig[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return sig


def assert_clean_beside(out: Path) -> None:
    """Nothing visible beside the output, no temporary file inside it."""
    assert not [p for p in out.rglob(".*")], sorted(out.rglob(".*"))
    visible = [p.name for p in out.parent.iterdir() if not p.name.startswith(".")]
    assert visible == [out.name], visible
    hidden = {p.name for p in out.parent.iterdir() if p.name.startswith(".")}
    assert all(h == f".{out.name}.lock" or h.startswith(f".{out.name}.tmp-") for h in hidden)


class Zygote:
    """tests/zygote.py: forks warm run.py commands and SIGKILLs them at a given moment."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "zygote.py")],
                                        cwd=ROOT, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"

    def run(self, args: list, delay: float = 300.0, watch: list | None = None) -> dict:
        """Run ``args``; kill it after ``delay`` s (counted from when ``watch`` =
        [directory, glob, count] is met): {"code": exit code or None, "seconds"}."""
        request = [[str(a) for a in args], delay, *([watch] if watch else [])]
        self.process.stdin.write(json.dumps(request, default=str) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def finish(self, args: list) -> float:
        done = self.run(args)  # killed after 300 s: a hang fails instead of blocking
        assert done["code"] == 0, (args, done)
        return done["seconds"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.process.stdout.close()


@pytest.fixture(scope="module")
def zygote():
    warm = Zygote()
    yield warm
    warm.close()


def kill_trials(zygote: Zygote, tmp_path: Path, old: Path, write: list, seed: int,
                marker: str) -> tuple[int, int]:
    """Restore the old output, start ``write`` and kill it at a random moment, TRIALS times:
    half anywhere in its life, half once ``marker`` exists in its temporary output (the
    last writes, the swap and the removal of the old output). Returns how many trials left
    the old output and how many the new one."""
    out = tmp_path / "trial" / "out"
    out.parent.mkdir()
    shutil.copytree(old, out)
    old_sig = signature(out)
    took = zygote.finish([*write, out])
    new_sig = signature(out)
    assert new_sig != old_sig
    rng = random.Random(seed)
    seen = {"old": 0, "new": 0}
    for k in range(TRIALS):
        shutil.rmtree(out)
        shutil.copytree(old, out)
        if k % 2:
            zygote.run([*write, out], rng.uniform(0.0, 0.6) * took,
                       [out.parent, f".out.tmp-*/{marker}", 1])
        else:
            zygote.run([*write, out], rng.uniform(0.0, 1.1) * took)
        sig = signature(out)
        assert sig in (old_sig, new_sig), sorted(set(sig.items()) ^ set(old_sig.items()))
        seen["old" if sig == old_sig else "new"] += 1
        assert_clean_beside(out)
    zygote.finish([*write, out])  # the next writer removes what a killed one left beside
    assert sorted(p.name for p in out.parent.iterdir()) == [".out.lock", "out"]
    print(f"{write[0]}: {seen['old']} of {TRIALS} kills left the old output, {seen['new']} "
          "the new")
    return seen["old"], seen["new"]


@pytest.fixture(scope="module")
def old_comparison(tmp_path_factory, zygote) -> Path:
    out = tmp_path_factory.mktemp("old") / "comparison"
    zygote.finish([*COMPARE, "--seed", "1", "--out", out])
    return out


def test_run_killed_at_random_leaves_old_or_new(tmp_path, zygote):
    old = tmp_path / "old"
    zygote.finish(["run", "hierarchical", *SMALL, "--seed", "1", "--out", old])
    kill_trials(zygote, tmp_path, old, ["run", "hierarchical", *SMALL, "--seed", "2",
                                        "--force", "--out"], 1, "timeseries.parquet")


def test_compare_force_killed_at_random_leaves_old_or_new(tmp_path, old_comparison, zygote):
    kill_trials(zygote, tmp_path, old_comparison, [*COMPARE, "--seed", "2", "--force", "--out"],
                2, "manifest.json")


def test_report_killed_at_random_leaves_old_or_new(tmp_path, old_comparison, zygote):
    old = tmp_path / "old"
    shutil.copytree(old_comparison, old)
    page = old / "report.html"
    page.write_text(page.read_text() + "<!-- old -->\n")
    kill_trials(zygote, tmp_path, old, ["report", "--force"], 3, "manifest.json")


def test_sweep_killed_at_random_resumes_to_the_uninterrupted_result(tmp_path, zygote):
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP)
    reference = tmp_path / "reference"
    args = ["sweep", sweep, "--workers", "1", "--chunk-size", "1", "--out"]
    zygote.finish([*args, reference])
    out = tmp_path / "trial" / "out"
    out.parent.mkdir()
    rng = random.Random(4)
    finished = []
    for k in range(TRIALS):  # killed once 0-2 more chunks are saved, then 0-0.1 s later
        parts = len(list(out.glob("part-*.parquet")))
        zygote.run([*args, out, *(["--resume"] if k else [])], rng.uniform(0.0, 0.1),
                   [out, "part-*.parquet", parts + rng.randint(0, 2)])
        if out.exists():
            names = {p.name for p in out.iterdir() if not p.name.startswith(".")}
            assert names <= {"_manifest.json", "_setting"} | {p.name for p in
                                                               out.glob("part-*.parquet")}
            if (out / "_setting" / "setting.toml").exists():  # written last, whole
                assert "[parameters]" in (out / "_setting" / "setting.toml").read_text()
            ids = [pq.read_table(p, columns=["run_id"]).column(0).to_pylist()
                   for p in out.glob("part-*.parquet")]  # every part file is complete
            flat = [i for part in ids for i in set(part)]
            assert len(flat) == len(set(flat))  # no run twice
            finished.append(len(flat))
    assert finished == sorted(finished)  # never lost a finished chunk
    print("sweep: runs finished after each kill:", finished)
    zygote.finish([*args, out, "--resume"])
    assert len(finished_runs(out)) == 24
    assert sorted_rows(out).equals(sorted_rows(reference))
    assert not [p for p in out.iterdir() if p.name.startswith(".part")]


def test_concurrent_writers_one_at_a_time(tmp_path, old_comparison):
    """Two compares --force on one --out: each finishes or is refused in one line naming
    the other's pid; the output is one complete comparison."""
    out = tmp_path / "out"
    shutil.copytree(old_comparison, out)
    first = start([*COMPARE, "--seed", "2", "--force", "--out", out])
    second = start([*COMPARE, "--seed", "3", "--force", "--out", out])
    codes, errors = [], []
    for process in (first, second):
        codes.append(process.wait(timeout=300))
        errors.append(process.stderr.read().decode())
        process.stderr.close()
    for code, err in zip(codes, errors, strict=True):
        assert code == 0 or (code == 2 and "in use by another writer (pid" in err
                             and len(err.strip().splitlines()) == 1), err
    assert 0 in codes
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["root_seed"] in (2, 3)
    assert f"(root seed {manifest['root_seed']})" in (out / "report.html").read_text()
    assert_clean_beside(out)


# --- workers die with their parent ---------------------------------------------------------
def children(pid: int) -> set[int]:
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie has died


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_pool_workers_die_with_their_parent(signum, tmp_path):
    """The parent alone is signalled (not its process group) in the middle of its runs:
    its workers die too; on SIGTERM it also removes its temporary output and says so."""
    out = tmp_path / "c"
    process = start(["compare", "hierarchical", "shared_authority", "-r", "6", "-n", "400",
                     "-t", "300", "-w", "2", "--out", out])
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 120
        while len(workers) < 2 and process.poll() is None and time.monotonic() < deadline:
            workers = {c for c in children(process.pid)
                       if Path(f"/proc/{c}/cmdline").read_bytes().count(b"run.py")}
            time.sleep(0.05)
        assert len(workers) >= 2, "the pool never started"
        os.kill(process.pid, signum)
        code = process.wait(timeout=120)
        deadline = time.monotonic() + 30  # generous: "a few seconds" on a loaded machine
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(w) for w in workers)
        if signum == signal.SIGTERM:
            err = process.stderr.read().decode()
            assert code == 130 and len(err.strip().splitlines()) == 1, err
            assert "interrupted; nothing half-written was kept" in err
            assert [p.name for p in tmp_path.iterdir()] == [".c.lock"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.stderr.close()


# --- a full disk -------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs (the report alone needs ~5 MB); skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def run_cli(args: list) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_a_full_disk_gives_one_line_and_leaves_nothing(small_disk, tmp_path):
    done = run_cli([*COMPARE, "--out", small_disk / "c"])
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "No space left on device" in done.stderr and "temporary files removed" in done.stderr
    assert [p.name for p in small_disk.iterdir()] == [".c.lock"]
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (3 * 2**20 - 8192))
    done = run_cli(["run", "hierarchical", *SMALL, "--out", small_disk / "r"])
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "No space left on device" in done.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == [".c.lock", ".r.lock", "filler"]
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP)
    done = run_cli(["sweep", sweep, "-w", "1", "--out", small_disk / "s"])
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "No space left on device" in done.stderr
    assert not [p for p in small_disk.rglob("*tmp*")]


def _slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pytest.mark.parametrize("leave_by_error", [True, False])
def test_the_pool_thread_has_stopped_when_its_context_is_left(leave_by_error):
    """Python's exit hook writes to the pool thread's pipe; if that thread were still closing
    it, the user would see an EBADF traceback after the one-line message (seen once in CI).
    So process_pool returns only after its thread has stopped, on an error as on success."""
    from experiments.runner import process_pool

    with contextlib.suppress(KeyboardInterrupt):
        with process_pool(2) as pool:
            manager = pool._executor_manager_thread
            futures = [pool.submit(_slow, 2.0) for _ in range(4)]
            if leave_by_error:
                time.sleep(0.2)  # both workers busy
                raise KeyboardInterrupt
            assert [f.result() for f in futures] == [2.0] * 4
    assert manager is not None and not manager.is_alive()
