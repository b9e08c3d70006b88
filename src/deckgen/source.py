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

        Exact for plain and quoted scalars on one line and for literal blocks,
        whose text is the file's text; otherwise the scalar's own start.
        """
        start = node.start_mark
        if node.style in (None, "'", '"') and start.line == node.end_mark.line:
            quote = 0 if node.style is None else 1
            raw = self.text[start.index + quote : start.index + quote + offset]
            if raw == node.value[:offset]:
                return Position(start.line + 1, start.column + quote + offset + 1)
        elif node.style == "|":
            before = node.value[:offset]
            line = start.line + 1 + before.count("\n")
            lines = self.text.splitlines()
            if line < len(lines):
                content = lines[line]
                indent = len(content) - len(content.lstrip(" "))
                return Position(line + 1, indent + len(before.rsplit("\n", 1)[-1]) + 1)
        return Position.of_mark(start)


def read(path: Path, shown_as: str) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Parse one file; on failure return no file and the reason, positioned."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return None, [_problem(shown_as, START, "unreadable", f"cannot read file: {error.strerror}")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        position = _position_of_offset(data, error.start)
        message = f"not UTF-8: byte 0x{data[error.start]:02x} cannot be decoded; save the file as UTF-8"
        return None, [_problem(shown_as, position, "encoding", message)]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = Position.of_mark(mark) if mark is not None else START
        message = " ".join(part for part in (error.context, error.problem) if part)
        return None, [_problem(shown_as, position, "yaml-syntax", f"invalid YAML: {message}")]
    except yaml.YAMLError as error:
        return None, [_problem(shown_as, START, "yaml-syntax", f"invalid YAML: {error}")]
    return SourceFile(shown_as, text, root), []


def _position_of_offset(data: bytes, offset: int) -> Position:
    before = data[:offset]
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace"))
    return Position(before.count(b"\n") + 1, column + 1)


def _problem(path: str, position: Position, code: str, message: str) -> Diagnostic:
    return Diagnostic(path, position, Level.ERROR, code, message)
