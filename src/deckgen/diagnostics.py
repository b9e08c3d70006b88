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
    """One problem at one place, printed as `path:line:col: level: message [code]`; or,
    with `counts`, the problems of a run past what it shows, counted there."""

    path: str
    position: Position
    code: str
    message: str
    level: Level = Level.ERROR
    counts: int = 1  # the problems it stands for: more than one only for those not shown

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

    def github(self) -> str:
        """As a GitHub Actions workflow command: an annotation on the file's line, shown
        on the changed lines of a pull request."""
        where = ",".join(
            [
                f"file={_property(self.path)}",
                f"line={self.position.line}",
                f"col={self.position.col}",
                f"title={_property(f'deckgen {self.code}')}",
            ]
        )
        return f"::{self.level.value} {where}::{_data(self.message)}"

    def to_json(self) -> dict[str, str | int]:
        """One object per problem, for other tools (`counts`: the problems it stands for,
        more than one only for those counted and not shown)."""
        return {
            "file": self.path,
            "line": self.position.line,
            "column": self.position.col,
            "severity": self.level.value,
            "code": self.code,
            "message": self.message,
            "count": self.counts,
        }


def _data(text: str) -> str:
    """A workflow command's message, escaped as the runner reads it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    """Whether any of the diagnostics stops the build."""
    return any(d.level is Level.ERROR for d in diagnostics)


# The problems a run shows, of each level: past them, the rest are counted, not shown
# (a compiler's error limit; a screenful of one mistake helps no one).
MAX_SHOWN = 1_000
MAX_ALIKE = 10  # warnings with one code at one place (a note): the first few show the rest


class Collected:
    """Problems as they are found, in order: the first MAX_SHOWN of each level kept (of
    warnings alike, the first MAX_ALIKE), every one counted; `shown_problems()` gives those kept
    and, for each level past its bound, one diagnostic that counts the rest."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_SHOWN if limit is None else limit
        self.kept: list[Diagnostic] = []
        self.shown = {Level.ERROR: 0, Level.WARNING: 0}
        self.hidden: dict[Level, Diagnostic] = {}  # each level's count of the rest
        self.alike: dict[tuple[str, Position, str], int] = {}
        self.alike_hidden: dict[tuple[str, Position, str], Diagnostic] = {}
        self.errors = 0  # every one, shown or not

    def add(self, problem: Diagnostic) -> None:
        level = problem.level
        if level is Level.ERROR:
            self.errors += problem.counts
        if problem.counts == 1 and level is Level.WARNING:
            key = (problem.path, problem.position, problem.code)
            seen = self.alike.get(key, 0) + 1
            self.alike[key] = seen
            if seen > MAX_ALIKE:
                self.alike_hidden[key] = _counting(self.alike_hidden.get(key), problem, 1)
                return
        if problem.counts == 1 and self.shown[level] < self.limit:
            self.shown[level] += 1
            self.kept.append(problem)
        else:
            self.hidden[level] = _counting(self.hidden.get(level), problem, problem.counts)

    def extend(self, problems: Iterable[Diagnostic]) -> None:
        for problem in problems:
            self.add(problem)

    def shown_problems(self) -> list[Diagnostic]:
        """What is shown: the problems kept, then a diagnostic counting each rest."""
        shown: list[Diagnostic] = []
        alike = dict(self.alike_hidden)
        seen: dict[tuple[str, Position, str], int] = {}
        for problem in self.kept:  # each count of warnings alike right after them
            shown.append(problem)
            key = (problem.path, problem.position, problem.code)
            seen[key] = seen.get(key, 0) + 1
            if key in alike and seen[key] == MAX_ALIKE:
                shown.append(_alike(alike.pop(key)))
        counted = [_alike(rest) for rest in alike.values()]
        for level, rest in self.hidden.items():
            noun = f"{rest.counts:,} more {level.value}s"
            message = f"{noun} past the first {self.limit:,}, not shown: fix these first"
            counted.append(
                rest if rest.counts == 1 else rest._replace(code="too-many", message=message)
            )
        return shown + counted


def _alike(rest: Diagnostic) -> Diagnostic:
    """The count of warnings alike not shown (or the one, if one)."""
    message = f"{rest.counts:,} more warnings like the {MAX_ALIKE} above, not shown"
    return rest if rest.counts == 1 else rest._replace(message=message)


def _counting(counted: Diagnostic | None, problem: Diagnostic, count: int) -> Diagnostic:
    """A count of problems not shown, at the first of them (which is shown if it is the
    only one)."""
    if counted is None:
        return problem._replace(counts=count)
    return counted._replace(counts=counted.counts + count)


def capped(problems: Iterable[Diagnostic], limit: int | None = None) -> list[Diagnostic]:
    """The problems a run shows of these (see Collected), in order."""
    collected = Collected(limit)
    collected.extend(problems)
    return collected.shown_problems()


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    """`2 errors, 1 warning`, for the last line of a failed run; the true counts, and
    how many are shown where not all are: `1,500 errors, the first 1,000 shown`."""
    parts = []
    for level in (Level.ERROR, Level.WARNING):
        found = [d for d in diagnostics if d.level is level]
        total = sum(d.counts for d in found)
        shown = sum(d.counts == 1 for d in found)
        if level is Level.WARNING and not total:
            continue
        part = _plural(total, level.value)
        if shown < total:
            part += f", the first {shown:,} shown"
        parts.append(part)
    return ", ".join(parts)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"
