"""Provenance of every output: model version, git commit, package versions, Python, platform.

Each manifest (a run's summary.json, a comparison's manifest.json, a sweep's
_manifest.json) holds :func:`provenance` under "provenance". A sweep resumed under
another model version, commit or package version is refused unless allowed
(:func:`version_change` names what differs).
"""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Packages whose version can change a result (resuming across them is refused).
PACKAGES = ("mesa", "numpy", "pandas", "numba", "scipy", "SALib")
# Paths whose uncommitted changes make the commit '+dirty' (the code that makes results).
CODE_PATHS = ("model", "agents", "scenarios", "experiments", "pyproject.toml")
COMPARED = ("model_version", "commit")  # plus every package


@functools.cache  # reading a package's metadata costs ~20 ms; it does not change in a process
def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def git_commit() -> str | None:
    """The short commit of the project's checkout, '+dirty' if its code has uncommitted
    changes; None outside a git checkout (e.g. an installed package)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", *CODE_PATHS)
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def provenance() -> dict[str, Any]:
    """What made an output: versions of the model and main packages, Python, platform."""
    return {"model_version": _version("orgself") or "unknown", "commit": git_commit(),
            "packages": {name: _version(name) for name in PACKAGES},
            "python": platform.python_version(), "platform": platform.platform()}


def model_version() -> str:
    """One line: package version plus the commit, e.g. '0.1.0 (commit 1a2b3c4+dirty)'."""
    found = provenance()
    commit = found["commit"]
    return found["model_version"] + (f" (commit {commit})" if commit else "")


def version_change(saved: Any, current: dict[str, Any]) -> str | None:
    """What differs between a stored provenance and ``current`` (model version, commit or a
    package's version), as 'numpy 2.1.0 -> 2.2.0'; None if nothing does."""
    if not isinstance(saved, dict):
        return "no provenance recorded (started by an older version)"
    for key in COMPARED:
        if saved.get(key) != current[key]:
            return f"{key} {saved.get(key)} -> {current[key]}"
    packages = saved.get("packages") if isinstance(saved.get("packages"), dict) else {}
    for name in PACKAGES:
        if packages.get(name) != current["packages"][name]:
            return f"{name} {packages.get(name)} -> {current['packages'][name]}"
    return None
