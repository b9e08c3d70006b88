"""Problems found in the notes, as values: collected, sorted and printed in one place."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import NamedTuple


class Level(StrEnum):
    """How bad a problem is: an error stops the build, a warning does not."""

    ERROR = "error"
    WARNING = "warning"


class Position(NamedTuple):
    """A 1-based line and column in a source file."""

    line: int
    col: int


START = Position(1, 1)


class Diagnostic(NamedTuple):
    """One problem at one place, printed as `path:line:col: level: message [code]`."""

    path: str
    position: Position
    code: str
    message: str
    level: Level = Level.ERROR

    def __str__(self) -> str:
        return self.format()

    def format(self, style: Callable[[str, str], str] = lambda text, part: text) -> str:
        """The one line that shows it; `style` may dress each part (`where`, `error`,
        `warning`, `code`), as a terminal's colours do."""
        where = f"{self.path}:{self.position.line}:{self.position.col}:"
        level = self.level.value
        return " ".join(
            [
                style(where, "where"),
                style(f"{level}:", level),
                self.message,
                style(f"[{self.code}]", "code"),
            ]
        )


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
