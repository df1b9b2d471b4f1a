"""Guided experiments for students, read from ``lessons.toml`` beside this file.

A lesson is data: a question, the choices for a prediction, a setting, the parameters it
changes, what to compare with, how many weeks to run, which live numbers to read and an
explanation of the mechanism. Nothing here decides an outcome; the page runs the model.
Teachers add a lesson by adding a ``[[lesson]]`` table (checked when the page loads).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from dashboards.figures import MONITOR_LABELS
from dashboards.session import WITHOUT_CHANGES, setting_names
from model.errors import ParameterError
from model.parameters import parameter_specs

LESSONS_FILE = Path(__file__).resolve().parent / "lessons.toml"
COMPARE_WITHOUT_CHANGES = "without changes"
KEYS = {"title", "question", "predictions", "setting", "compare_with", "weeks", "read", "why",
        "changes"}


@dataclass(frozen=True)
class Lesson:
    """One guided experiment."""

    title: str
    question: str
    predictions: tuple[str, ...]
    setting: str
    compare_with: str
    weeks: int
    read: tuple[str, ...]
    why: str
    changes: dict[str, Any] = field(default_factory=dict)

    def page_choices(self) -> dict[str, Any]:
        """The page's setting, changes, comparison and seed for this lesson."""
        other = WITHOUT_CHANGES if self.compare_with == COMPARE_WITHOUT_CHANGES else (
            self.compare_with)
        return {"setting": self.setting, "overrides": {**self.changes, "steps": self.weeks},
                "compare_with": other}


def _check(raw: dict[str, Any], where: str) -> Lesson:
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ParameterError(f"{where}: unknown key '{unknown[0]}' (allowed: "
                             f"{', '.join(sorted(KEYS))})")
    missing = sorted(KEYS - {"changes"} - set(raw))
    if missing:
        raise ParameterError(f"{where}: missing key '{missing[0]}'")
    names = {spec.name for spec in parameter_specs()}
    bad = [name for name in raw.get("changes", {}) if name not in names]
    if bad:
        raise ParameterError(f"{where}: changes.{bad[0]} is not a parameter")
    settings = setting_names()
    if raw["setting"] not in settings:
        raise ParameterError(f"{where}: setting '{raw['setting']}' is not a built-in setting")
    if raw["compare_with"] not in (*settings, COMPARE_WITHOUT_CHANGES):
        raise ParameterError(f"{where}: compare_with '{raw['compare_with']}' is neither a "
                             f"setting nor '{COMPARE_WITHOUT_CHANGES}'")
    unread = [label for label in raw["read"] if label not in MONITOR_LABELS]
    if unread:
        raise ParameterError(f"{where}: read '{unread[0]}' is not a live number")
    weeks = raw["weeks"]
    if not isinstance(weeks, int) or isinstance(weeks, bool) or weeks < 1:
        raise ParameterError(f"{where}: weeks {weeks!r} should be a whole number >= 1")
    return Lesson(raw["title"], raw["question"], tuple(raw["predictions"]), raw["setting"],
                  raw["compare_with"], weeks, tuple(raw["read"]), raw["why"],
                  dict(raw.get("changes", {})))


@cache
def lessons(path: Path = LESSONS_FILE) -> tuple[Lesson, ...]:
    """Every lesson in the file, checked (ParameterError naming the lesson and key)."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return tuple(_check(raw, f"{path.name}, lesson {k + 1}")
                 for k, raw in enumerate(data.get("lesson", [])))
