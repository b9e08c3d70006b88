"""Read notes files: YAML text -> composed nodes that keep their positions."""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import yaml

from deckgen.diagnostics import START, Diagnostic, Level, Position


class SourceFile(NamedTuple):
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

# libyaml's parser ported to Rust (ryaml), returning plain values: several times quicker
# again, but it keeps no positions and reads scalars by YAML 1.2's rules.
_plain_loads: Callable[[str], object] | None
try:
    from ryaml import loads as _plain_loads  # type: ignore[attr-defined]  # not re-exported
except ImportError:  # a speed-up only: without it, libyaml reads every file
    _plain_loads = None


def read(
    path: Path, shown_as: str, *, precise: bool = True, positions: bool = True
) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Parse one file; on failure return no file and the reasons, positioned.

    `precise=False` lets libyaml parse it; its error messages differ a little from
    PyYAML's, so a file with a problem is read again precisely for the report. With
    `positions=False` too, a file of nothing but text may be read without marks: its
    nodes' `start_mark` is None (see `_plain_nodes`), so it must be read again, with
    positions, for anything that reports where.
    """
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            message = (
                f"the file is {size / 2**20:.1f} MiB; deckgen reads notes files of up to"
                f" {MAX_BYTES // 2**20} MiB: split it into files in a folder named after"
                " its domain"
            )
            return None, [_problem(shown_as, START, "too-large", message)]
        data = path.read_bytes()
    except OSError as error:
        message = f"cannot read file: {error.strerror or error}"
        return None, [_problem(shown_as, START, "unreadable", message)]
    text, problems = _decode(data, shown_as)
    if text is None:
        return None, problems
    root = None if precise or positions else _plain_nodes(text)
    if root is None:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader if precise else _FAST_LOADER)
        except yaml.MarkedYAMLError as error:
            return None, [_problem(shown_as, *_yaml_problem(error))]
        except yaml.YAMLError as error:
            return None, [_problem(shown_as, START, "yaml-syntax", f"invalid YAML: {error}")]
    # Only an anchor (`&name`) lets aliases share nodes: without one, nothing to count.
    bomb = _alias_bomb(root) if "&" in text else None
    if bomb is not None:
        node, size = bomb
        message = (
            f"aliases here repeat {size:,} nodes: aliases may share small things (a list"
            " of tags), not multiply a file"
        )
        return None, [_problem(shown_as, Position.of_mark(node.start_mark), "alias-bomb", message)]
    return SourceFile(shown_as, text, root), []


# The largest notes file read; a domain can spread over many files in its own folder.
MAX_BYTES = 16 * 2**20
# How far aliases may expand a file beyond its own nodes before it counts as a bomb.
ALIAS_ALLOWANCE = 10_000

_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}
_CONFLICT = re.compile(r"^(?:<{7}|={7}|>{7}|\|{7})(?: |$)", re.MULTILINE)


def _decode(data: bytes, shown_as: str) -> tuple[str | None, list[Diagnostic]]:
    """The file's text: UTF-8 (a byte-order mark is fine), no NUL, no unresolved merge."""
    for bom, encoding in _BOMS.items():
        if data.startswith(bom):
            message = f"the file is {encoding}; save it as UTF-8"
            return None, [_problem(shown_as, START, "encoding", message)]
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\0" in data:
        position = _position_of_offset(data, data.index(b"\0"))
        message = "a NUL byte: notes are text, and this looks like a binary file"
        return None, [_problem(shown_as, position, "nul-byte", message)]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        position = _position_of_offset(data, error.start)
        message = (
            f"not UTF-8: byte 0x{data[error.start]:02x} cannot be decoded; save the file as UTF-8"
        )
        return None, [_problem(shown_as, position, "encoding", message)]
    markers = [
        _problem(
            shown_as,
            Position(text.count("\n", 0, match.start()) + 1, 1),
            "merge-conflict",
            f"an unresolved git merge conflict ('{match.group().strip()}'): keep the lines you"
            " want and delete the markers",
        )
        for match in _CONFLICT.finditer(text)
    ]
    return (None, markers) if markers else (text, [])


_STR, _SEQ, _MAP = (f"tag:yaml.org,2002:{name}" for name in ("str", "seq", "map"))
# PyYAML's rules for plain scalars that are not text (`no`, `1.10`, `0123`, `~`, dates),
# keyed by first character, as its resolver looks them up.
_ANY_START = tuple(p for _, p in yaml.resolver.Resolver.yaml_implicit_resolvers.get(None, ()))
_IMPLICIT = {
    first: tuple(p for _, p in rules) + _ANY_START
    for first, rules in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    if first is not None
}
# Anchors (`&a`) and tags (`!t`, or `!` alone) begin a token: they follow the start of
# the text, a space or line break, a byte-order mark (libyaml skips one at a line start),
# `[`, `{`, `,` or (in a flow mapping) `:`. Directives (`%YAML`) begin a line.
_PROPERTY = re.compile(r"[&!]")
_BEFORE_TOKEN = frozenset("[{,:\ufeff")
_DIRECTIVE = re.compile(r"[\n\r\x85\u2028\u2029]%")


def _may_have_properties(text: str) -> bool:
    """Whether the text has an anchor, tag or directive, or something like one, or
    starts with a byte-order mark (a second one: `_decode` took the first), which the two
    readers skip differently. Most files have none of `&`, `!` or a `%` at a line start,
    which is quick to tell."""
    if text.startswith(("%", "\ufeff")) or ("%" in text and _DIRECTIVE.search(text)):
        return True
    if "&" not in text and "!" not in text:
        return False
    for match in _PROPERTY.finditer(text):
        start = match.start()
        if start == 0 or text[start - 1].isspace() or text[start - 1] in _BEFORE_TOKEN:
            return True
    return False


class _NotPlain(Exception):
    """A value that the plain reader cannot vouch for: libyaml reads the file instead."""


def _plain_nodes(text: str) -> yaml.Node | None:
    """The file's nodes, read by ryaml, when every key and value is text that PyYAML
    would read as text too; None when ryaml is missing, the file is empty or anything
    in it is not such text: a number, a boolean, null, a date, anything that looks like
    one (quoted or not, as ryaml does not say), an anchor, alias, tag or directive, a
    duplicate key, a second document, a syntax error. Both are libyaml's parser, so
    text they both read as text has the same value; the rest is left to libyaml."""
    if _plain_loads is None or _may_have_properties(text):
        return None
    try:
        value = _plain_loads(text)
        return None if value is None else _Nodes().node(value)
    except _NotPlain:
        return None
    except Exception:  # ryaml's errors (syntax, duplicate key, ...) differ by kind: any will do
        return None


class _Nodes:
    """Plain values -> nodes. Keys and tags repeat from note to note: one node each."""

    def __init__(self) -> None:
        self.known: dict[object, yaml.ScalarNode] = {}

    def node(self, value: object) -> yaml.Node:
        if isinstance(value, str):
            return _text(value)
        if isinstance(value, dict):
            return _Mapping(
                [
                    (self.word(k), _text(v) if isinstance(v, str) else self.node(v))
                    for k, v in value.items()
                ]
            )
        if isinstance(value, list):
            return _Sequence([self.word(v) if isinstance(v, str) else self.node(v) for v in value])
        raise _NotPlain

    def word(self, value: object) -> yaml.ScalarNode:
        return self.known.get(value) or self.known.setdefault(value, _text(value))


def _text(value: object) -> yaml.ScalarNode:
    if not isinstance(value, str):
        raise _NotPlain
    for pattern in _IMPLICIT.get(value[:1], _ANY_START):
        if pattern.match(value):
            raise _NotPlain
    return _Text(value)


# Nodes read without positions: tag, marks and style are the class's, so that making
# one sets only its value (a large file has hundreds of thousands).
class _Text(yaml.ScalarNode):
    tag, start_mark, end_mark, style = _STR, None, None, None

    def __init__(self, value: str) -> None:
        self.value = value


class _Mapping(yaml.MappingNode):
    tag, start_mark, end_mark, flow_style = _MAP, None, None, None

    def __init__(self, value: list[tuple[yaml.Node, yaml.Node]]) -> None:
        self.value = value


class _Sequence(yaml.SequenceNode):
    tag, start_mark, end_mark, flow_style = _SEQ, None, None, None

    def __init__(self, value: list[yaml.Node]) -> None:
        self.value = value


def _alias_bomb(root: yaml.Node | None) -> tuple[yaml.Node, int] | None:
    """The node where aliases multiply the file (billion laughs), and to what size."""
    if root is None:
        return None
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a cycle counts once
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        sizes[id(node)] = total
        return total

    limit = ALIAS_ALLOWANCE
    try:
        expanded = size(root)
    except RecursionError:
        return root, sys.maxsize
    if expanded <= len(sizes) + limit:
        return None
    node = root
    while True:
        children = (
            list(node.value)
            if isinstance(node, yaml.SequenceNode)
            else [v for pair in node.value for v in pair]
            if isinstance(node, yaml.MappingNode)
            else []
        )
        big = next((child for child in children if sizes[id(child)] > limit), None)
        if big is None:
            return node, sizes[id(node)]
        node = big


def _yaml_problem(error: yaml.MarkedYAMLError) -> tuple[Position, str, str]:
    """PyYAML's problem, at its position, with the context it names (where a quote opened)."""
    mark = error.problem_mark or error.context_mark
    position = Position.of_mark(mark) if mark is not None else START
    message = error.problem or error.context or "invalid YAML"
    if error.context and error.problem and error.context_mark is not None:
        where = Position.of_mark(error.context_mark)
        message += f" ({error.context} at line {where.line}, column {where.col})"
    if error.problem == "but found another document":
        message = "a second YAML document starts here: a notes file holds one, so remove the '---'"
    elif "'\\t'" in message:
        message += "; YAML cannot indent with tabs: use spaces"
    return position, "yaml-syntax", f"invalid YAML: {message}"


def _position_of_offset(data: bytes, offset: int) -> Position:
    before = data[:offset]
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace"))
    return Position(before.count(b"\n") + 1, column + 1)


def _problem(path: str, position: Position, code: str, message: str) -> Diagnostic:
    return Diagnostic(path, position, Level.ERROR, code, message)
