"""Shared writer safety (experiments/outputs.py): locks, atomic swaps, cleanup, limits."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import outputs
from experiments.outputs import (
    OutputError,
    atomic_write,
    check_memory,
    lock_path,
    output_lock,
    replace_directory,
)
from model.errors import ParameterError

ROOT = Path(__file__).resolve().parent.parent


def ours(path: Path) -> bool:
    return (path / "mark").is_file()


def make(out: Path, text: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "mark").write_text(text)
    (out / "data").write_text(text * 3)


def test_replace_swaps_a_complete_directory_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "out"
    make(out, "old")
    with replace_directory(out, force=True, is_ours=ours, kind="test output") as building:
        assert building != out and building.parent == out.parent
        assert (out / "mark").read_text() == "old"  # readers see the old output meanwhile
        make(building, "new")
    assert (out / "mark").read_text() == "new" and sorted(p.name for p in out.iterdir()) == [
        "data", "mark"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]


def test_an_error_keeps_the_old_output_and_removes_the_temporary(tmp_path):
    out = tmp_path / "out"
    make(out, "old")
    with pytest.raises(RuntimeError):
        with replace_directory(out, force=True, is_ours=ours, kind="test output") as building:
            make(building, "new")
            raise RuntimeError("boom")
    assert (out / "mark").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]


def test_a_full_disk_becomes_one_line_and_removes_the_temporary(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="No space left on device.*temporary files removed"):
        with replace_directory(out, force=False, is_ours=ours, kind="test output") as building:
            make(building, "new")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == [".out.lock"]


def test_non_empty_or_foreign_directories_are_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ParameterError, match="not empty .*notes.txt.*--force"):
        with replace_directory(out, force=False, is_ours=ours, kind="test output"):
            pass
    with pytest.raises(ParameterError, match="does not hold test output"):
        with replace_directory(out, force=True, is_ours=ours, kind="test output"):
            pass
    assert (out / "notes.txt").read_text() == "mine"


def test_current_directory_and_empty_paths_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for path in (Path(""), Path("."), tmp_path.parent):
        with pytest.raises(ParameterError, match="--out"):
            with replace_directory(path, force=True, is_ours=ours, kind="x"):
                pass


def test_stale_temporaries_of_a_killed_writer_are_removed_by_the_next(tmp_path):
    out = tmp_path / "out"
    stale = tmp_path / ".out.tmp-99999999"
    make(stale, "half")
    with replace_directory(out, force=False, is_ours=ours, kind="x") as building:
        assert not stale.exists()
        make(building, "new")


def test_a_second_writer_gets_the_holders_pid(tmp_path):
    out = tmp_path / "out"
    with output_lock(out):
        assert lock_path(out).read_text().strip() == str(os.getpid())
        code = ("import sys; from pathlib import Path; from experiments.outputs import "
                f"output_lock\nwith output_lock(Path({str(out)!r})): pass")
        other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                               text=True, timeout=60)
        assert other.returncode != 0
        assert f"in use by another writer (pid {os.getpid()})" in other.stderr
    with output_lock(out):  # released
        pass


def test_atomic_write_removes_its_temporary_on_error(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")

    def fail(path: Path) -> None:
        path.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(target, fail)
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]
    assert target.read_text() == "old"


def test_memory_refusal_names_the_job_and_the_estimate(monkeypatch):
    monkeypatch.setattr(outputs, "available_memory", lambda: 1e9)
    check_memory(1e8, "small")
    with pytest.raises(ParameterError, match=r"n_employees = 9: needs about 5\.3 GB.*only "
                                             r"1\.0 GB available"):
        check_memory(5e9, "n_employees = 9")
