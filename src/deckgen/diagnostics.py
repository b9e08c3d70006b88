"""Problems found in the notes, as values: collected, sorted and printed in one place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum
from typing import NamedTuple

import yaml


class Level(str, Enum):
    """How bad a problem is: an error stops the build, a warning does not."""

    ERROR = "error"
    WARNING = "warning"


class Position(NamedTuple):
    """A 1-based line and column in a source file."""

    line: int
    col: int

    @classmethod
    def of_mark(cls, mark: yaml.Mark) -> Position:
        """Convert PyYAML's 0-based mark; the one place where that conversion happens."""
        return cls(mark.line + 1, mark.column + 1)


START = Position(1, 1)


class Diagnostic(NamedTuple):
    """One problem at one place, printed as `path:line:col: level: message [code]`."""

    path: str
    position: Position
    level: Level
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.position.line}:{self.position.col}"
        return f"{where}: {self.level.value}: {self.message} [{self.code}]"


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    """Whether any of the diagnostics stops the build."""
    return any(d.level is Level.ERROR for d in diagnostics)


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    """`2 errors, 1 warning`, for the last line of a failed run."""
    errors = sum(d.level is Level.ERROR for d in diagnostics)
    warnings = len(diagnostics) - errors
    parts = [_plural(errors, "error")]
    if warnings:
        parts.append(_plural(warnings, "warning"))
    return ", ".join(parts)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
