"""Safe outputs, shared by every command that writes: locks, atomic moves, cleanup, limits.

- :func:`output_lock`: one writer per output. An exclusive ``fcntl.flock`` on a hidden
  sibling file ``.NAME.lock`` (it stays; removing lock files races); a second writer gets
  one line naming the holder's pid.
- :func:`replace_directory`: a directory output (run, compare, report, validation/) is
  built in a hidden temporary sibling ``.NAME.tmp-PID`` and swapped into place in one
  step (``renameat2(RENAME_EXCHANGE)`` on Linux), so a reader sees the old complete
  output or the new complete one. On any error the temporary sibling is removed; a
  writer killed with SIGKILL leaves it behind and the next writer (holding the lock)
  removes it.
- :func:`atomic_write`: one file via a temporary sibling and ``os.replace``.
- :func:`check_memory`: refuse a job that cannot fit in this machine's available memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import glob
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from model.errors import ParameterError

SEED_MAX = 2**63 - 1  # one range for every seed (sweep files, --seed, manifests)
_HELD_LOCKS: set[int] = set()  # descriptors a forked worker must not keep open
DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG}


class OutputError(ParameterError):
    """Writing an output failed (full disk, read-only, ...); nothing was changed."""


def lock_path(out: Path) -> Path:
    out = Path(out)
    return out.parent / f".{out.name}.lock"


def _holder(path: Path) -> str:
    for _ in range(20):  # the holder writes its pid right after locking
        with contextlib.suppress(OSError, ValueError):
            return str(int(path.read_text().strip()))
        time.sleep(0.01)
    return "unknown"


@contextmanager
def output_lock(out: Path, option: str = "--out") -> Iterator[None]:
    """Hold the exclusive lock of ``out`` (one writer at a time)."""
    out = Path(out)
    path = lock_path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise ParameterError(f"{option} {str(out)!r}: not writable ({err.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ParameterError(f"{option} {str(out)!r}: in use by another writer (pid "
                             f"{_holder(path)}); wait for it or choose another {option}") from None
    _HELD_LOCKS.add(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        _HELD_LOCKS.discard(fd)
        os.close(fd)


def close_inherited_locks() -> None:
    """In a forked worker: drop the parent's lock descriptors (the lock is the parent's)."""
    for fd in list(_HELD_LOCKS):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_LOCKS.clear()


# --- paths ---------------------------------------------------------------------------------
def check_output_path(out: Path, option: str = "--out") -> Path:
    """Refuse an empty path, the current directory or one of its ancestors, or a file."""
    if str(out) in ("", "."):
        raise ParameterError(f"{option} {str(out)!r}: give a directory (not the current one)")
    resolved = Path(out).resolve()
    if Path.cwd().resolve().is_relative_to(resolved):
        raise ParameterError(f"{option} {str(out)!r}: is the current directory or contains it; "
                             "choose a new directory")
    if resolved.exists() and not resolved.is_dir():
        raise ParameterError(f"{option} {str(out)!r}: is not a directory")
    return resolved if Path(out).is_symlink() else Path(out)  # a link: work beside its target


def _remove_stale(out: Path) -> None:
    """Temporary siblings left by a killed writer (we hold the lock: none is live)."""
    pattern = re.compile(rf"\.{re.escape(out.name)}\.tmp-\d+(-old)?")
    for stale in out.parent.glob(f".{glob.escape(out.name)}.tmp-*"):
        if not pattern.fullmatch(stale.name):
            continue  # another output's (e.g. of a directory named NAME.tmp-x)
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def _seed(source: Path, target: Path, link: bool) -> None:
    """Fill ``target`` with ``source``'s files: hard links (cheap) or copies."""
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir() and not path.is_symlink():
            dest.mkdir(exist_ok=True)
            continue
        if link:
            try:
                os.link(path, dest, follow_symlinks=False)
                continue
            except OSError:
                pass
        shutil.copy2(path, dest, follow_symlinks=False)


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where unsupported."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _commit(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.rename(tmp, out)
        return
    if not _exchange(tmp, out):  # elsewhere: a short moment with no output, never a mix
        old = out.with_name(f".{out.name}.tmp-{os.getpid()}-old")
        os.rename(out, old)
        os.rename(tmp, out)
        tmp = old
    shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old output


def disk_error(err: OSError, out: Path, option: str) -> OutputError:
    return OutputError(f"{option} {str(out)!r}: writing failed ({err.strerror or err}); "
                       "nothing changed, temporary files removed")


@contextmanager
def replace_directory(out: Path, *, force: bool, is_ours: Callable[[Path], bool],
                      kind: str, option: str = "--out", seed: str | None = None,
                      locked: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``out``; on success it becomes ``out`` atomically.

    A non-empty ``out`` is refused without ``force``, and with it unless ``is_ours`` says
    it holds this command's kind of output. ``seed`` ("link" or "copy") starts the
    temporary directory from ``out``'s files (writers must then replace files, never
    write into them). On any error the temporary directory is removed.
    """
    out = check_output_path(out, option)
    with contextlib.ExitStack() as stack:
        if not locked:
            stack.enter_context(output_lock(out, option))
        _remove_stale(out)
        if out.exists() and any(out.iterdir()):
            if not force:
                raise ParameterError(f"{option} {str(out)!r}: not empty (holds "
                                     f"{sorted(p.name for p in out.iterdir())[0]}); use --force "
                                     f"to replace it or choose another {option}")
            if not is_ours(out):
                raise ParameterError(f"{option} {str(out)!r}: does not hold {kind}; refusing "
                                     "to replace it (choose another directory)")
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        try:
            tmp.mkdir()
            if seed and out.exists():
                _seed(out, tmp, link=seed == "link")
            yield tmp
            _commit(tmp, out)
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise disk_error(err, out, option) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write one file through a temporary sibling and ``os.replace`` (removed on error)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary file (mkstemp makes it private)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# --- workers die with their parent ----------------------------------------------------------
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Worker initializer: exit when ``parent`` dies (kill -9 included).

    Linux: the kernel sends SIGKILL on the parent's death (prctl PR_SET_PDEATHSIG);
    everywhere: a watchdog thread exits once the parent pid changes (within a second).
    """
    close_inherited_locks()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's handler unwinds the CLI
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


# --- limits ----------------------------------------------------------------------------------
BASE_BYTES = 350e6  # interpreter, numpy, numba, pandas
EMPLOYEE_BYTES = 1.8e3  # one employee: state, networks, memories, tables (1.75 KB at 400k)
STEP_BYTES = 1.2e3  # one recorded step of the results table
AGENT_STEPS_PER_SECOND = 2e6  # per core, conservative


def available_memory() -> float | None:
    """Bytes this machine can still give (MemAvailable), or None if unknown."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/meminfo") as handle:
            line = next(x for x in handle if x.startswith("MemAvailable:"))
        return float(line.split()[1]) * 1024
    with contextlib.suppress(ImportError, AttributeError):
        import psutil

        return float(psutil.virtual_memory().available)
    return None


def run_bytes(n_employees: int, steps: int) -> float:
    """Estimated peak memory of one run (beyond the interpreter)."""
    return n_employees * EMPLOYEE_BYTES + (steps + 1) * STEP_BYTES


def run_seconds(n_employees: int, steps: int, runs: int = 1, workers: int = 1) -> float:
    return n_employees * steps * runs / (AGENT_STEPS_PER_SECOND * max(1, workers))


def human_bytes(value: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{value:.0f} B"
        value /= 1000
    return f"{value:.1f} TB"


def human_seconds(value: float) -> str:
    if value < 90:
        return f"{value:.0f} s"
    if value < 5400:
        return f"{value / 60:.0f} min"
    return f"{value / 3600:.1f} h"


def check_memory(needed: float, what: str, seconds: float | None = None) -> None:
    """Refuse a job whose estimate does not fit in the available memory."""
    free = available_memory()
    if free is None or needed + BASE_BYTES <= free:
        return
    took = f", about {human_seconds(seconds)} of computing" if seconds else ""
    raise ParameterError(f"{what}: needs about {human_bytes(needed + BASE_BYTES)} of memory"
                         f"{took}; only {human_bytes(free)} available")
