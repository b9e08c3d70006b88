"""Read notes files: YAML text -> composed nodes that keep their positions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from deckgen.diagnostics import START, Diagnostic, Level, Position


@dataclass(frozen=True)
class SourceFile:
    """One parsed YAML file: its text, and its root node (None for an empty file)."""

    path: str
    text: str
    root: yaml.Node | None

    def position_in(self, node: yaml.ScalarNode, offset: int) -> Position:
        """Where character `offset` of a scalar's value stands in the file.

        Each source line of the scalar is found again in its value, which is exact for
        plain, quoted, literal and folded text; where a line cannot be found (escapes,
        odd folding), the scalar's own start is the answer.
        """
        start = node.start_mark
        source = self.text[start.index : node.end_mark.index].splitlines()
        block = node.style in ("|", ">")
        quote = node.style in ("'", '"')  # libyaml marks a plain scalar '' and PyYAML None
        segments: list[tuple[int, int, int]] = []  # (offset in value, line, column), 0-based
        searched = 0
        for number, raw in enumerate(source):
            if block and number == 0:
                continue
            column = start.column if number == 0 else len(raw) - len(raw.lstrip())
            content = raw if number == 0 else raw.lstrip()
            if quote and number == 0:
                content, column = content[1:], column + 1
            if quote and number == len(source) - 1:
                content = content.rstrip()[:-1]
            content = content.rstrip()
            if not content:
                continue
            found = node.value.find(content, searched)
            if found < 0:
                return Position.of_mark(start)
            segments.append((found, start.line + number, column))
            searched = found + len(content)
        for found, line, column in reversed(segments):
            if offset >= found:
                return Position(line + 1, column + offset - found + 1)
        return Position.of_mark(start)


# libyaml's parser, where PyYAML was built with it: the same nodes, marks and tags, faster.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read(
    path: Path, shown_as: str, *, precise: bool = True
) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Parse one file; on failure return no file and the reason, positioned.

    `precise=False` lets libyaml parse it; its error messages differ a little from
    PyYAML's, so a file with a problem is read again precisely for the report.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        return None, [
            _problem(shown_as, START, "unreadable", f"cannot read file: {error.strerror}")
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        position = _position_of_offset(data, error.start)
        message = (
            f"not UTF-8: byte 0x{data[error.start]:02x} cannot be decoded; save the file as UTF-8"
        )
        return None, [_problem(shown_as, position, "encoding", message)]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader if precise else _FAST_LOADER)
    except yaml.MarkedYAMLError as error:
        return None, [_problem(shown_as, *_yaml_problem(error))]
    except yaml.YAMLError as error:
        return None, [_problem(shown_as, START, "yaml-syntax", f"invalid YAML: {error}")]
    return SourceFile(shown_as, text, root), []


def _yaml_problem(error: yaml.MarkedYAMLError) -> tuple[Position, str, str]:
    """PyYAML's problem, at its position, with the context it names (where a quote opened)."""
    mark = error.problem_mark or error.context_mark
    position = Position.of_mark(mark) if mark is not None else START
    message = error.problem or error.context or "invalid YAML"
    if error.context and error.problem and error.context_mark is not None:
        where = Position.of_mark(error.context_mark)
        message += f" ({error.context} at line {where.line}, column {where.col})"
    return position, "yaml-syntax", f"invalid YAML: {message}"


def _position_of_offset(data: bytes, offset: int) -> Position:
    before = data[:offset]
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace"))
    return Position(before.count(b"\n") + 1, column + 1)


def _problem(path: str, position: Position, code: str, message: str) -> Diagnostic:
    return Diagnostic(path, position, Level.ERROR, code, message)
