"""Read a YAML file: its text (files.py) -> nodes that know their line and column.

One reader for every file: libyaml's event stream (PyYAML's own parser where PyYAML was
built without libyaml), composed here into nodes that keep their position from the
start. Every dimension of a file is bounded, and a file past a bound is refused with one
diagnostic where it goes past, before any more of it is read.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from pathlib import Path
from typing import Any, NamedTuple, NoReturn, Protocol, TypeAlias

import yaml

from deckgen.diagnostics import START, Diagnostic, Position
from deckgen.files import BOM, conflict_markers, decode, position_of_byte, read_text

# The bounds of a notes file (its size and lines: files.py; a deck's: load.py).
MAX_MARKERS = 100  # merge conflict markers reported in a file: the first show what to do
MAX_VALUE = 10_000  # characters in a value: a card is read in seconds
MAX_DEPTH = 16  # lists and mappings inside each other; notes need 4
MAX_KEYS = 100  # keys in one mapping; a note has at most 7
MAX_ITEMS = 100_000  # items in one list: notes in a file, tags of a note
# Aliases may add as many nodes as the file has of its own, or this many, whichever is
# more: enough to share a list of tags in every note, not to multiply a file.
ALIAS_ALLOWANCE = 10_000

STR = "tag:yaml.org,2002:str"
MERGE = "tag:yaml.org,2002:merge"
INT = "tag:yaml.org,2002:int"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"


class Mark(Protocol):
    """Where the parser found something (0-based): libyaml's mark, or PyYAML's. A node
    keeps its marks, and its position is read from them only when asked (most never are)."""

    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def index(self) -> int: ...  # the offset in the file's text


class Scalar(NamedTuple):
    """A value as written: its text, its YAML type (tag), and where it stands."""

    value: str
    tag: str
    mark: Mark  # where its source starts
    style: str | None  # None for plain text, or one of ' " | >
    end_mark: Mark  # where its source ends

    @property
    def position(self) -> Position:
        return _position(self.mark)

    @property
    def start(self) -> int:
        """The offset of its source in the file's text (`end`: of its end)."""
        return self.mark.index

    @property
    def end(self) -> int:
        return self.end_mark.index


class Mapping(NamedTuple):
    entries: list[tuple[Node, Node]]
    mark: Mark

    @property
    def position(self) -> Position:
        return _position(self.mark)


class Sequence(NamedTuple):
    items: list[Node]
    mark: Mark

    @property
    def position(self) -> Position:
        return _position(self.mark)


Node: TypeAlias = "Scalar | Mapping | Sequence"


class SourceFile(NamedTuple):
    """One parsed file: its text, and its root node (None for an empty file)."""

    path: str
    text: str
    root: Node | None
    bom: bool = False  # the file starts with a UTF-8 byte-order mark (not in `text`)

    def positions_in(self, node: Scalar, offsets: list[int]) -> list[Position]:
        """Where characters of a scalar's value stand in the file, by offset.

        Each source line of the scalar is found again in its value, which is exact for
        plain, quoted, literal and folded text; where a line cannot be found (escapes,
        odd folding), the scalar's own start is the answer from there on.
        """
        lines = self.text[node.start : node.end].splitlines()
        line, col = node.position
        block = node.style in ("|", ">")
        quote = node.style in ("'", '"')
        found_at: list[int] = []  # offset in the value where each segment starts
        places: list[Position] = []
        searched = 0
        for number, raw in enumerate(lines):
            if block and number == 0:
                continue
            column = col - 1 if number == 0 else len(raw) - len(raw.lstrip())
            content = raw if number == 0 else raw.lstrip()
            if quote and number == 0:
                content, column = content[1:], column + 1
            if quote and number == len(lines) - 1:
                content = content.rstrip()[:-1]
            content = content.rstrip()
            if not content:
                continue
            found = node.value.find(content, searched)
            if found < 0:
                break
            found_at.append(found)
            places.append(Position(line + number, column + 1))
            searched = found + len(content)
        result = []
        for offset in offsets:
            index = bisect.bisect_right(found_at, offset) - 1
            if index < 0:
                result.append(node.position)
            else:
                at = places[index]
                result.append(Position(at.line, at.col + offset - found_at[index]))
        return result


def read(
    path: Path, shown_as: str, data: bytes | None = None
) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Parse one YAML file (or `data`, the bytes it would hold: read as the file would
    be); on failure, no file and the reasons, positioned."""
    if data is None:
        text, problems = read_text(path, shown_as, keep_bom=True)
    else:
        text, problems = decode(data, shown_as, keep_bom=True)
    if text is None:
        return None, problems
    bom = text.startswith(BOM)
    return parse(text[1:] if bom else text, shown_as, bom)


def parse(
    text: str, shown_as: str, bom: bool = False
) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Parse a file's text (its byte-order mark, if it had one, left out)."""
    markers = [
        Diagnostic(
            shown_as,
            Position(line, 1),
            "merge-conflict",
            f"an unresolved git merge conflict ('{marker}'): keep the lines you want and"
            " delete the markers",
        )
        for line, marker in itertools.islice(conflict_markers(text), MAX_MARKERS)
    ]
    if markers:
        return None, markers
    try:
        return SourceFile(shown_as, text, _compose(text), bom), []
    except _Refused as refusal:
        position, code, message = refusal.args
        if code == "undefined-alias":  # text that starts with `*`, more likely than not
            advice = _needs_quotes(text, position, "")
            return None, [Diagnostic(shown_as, *(advice or (position, "yaml-syntax", message)))]
        return None, [Diagnostic(shown_as, position, code, message)]
    except yaml.reader.ReaderError as error:  # a character YAML does not allow in a file
        offset = error.position  # libyaml counts the UTF-8 bytes; PyYAML, the characters
        if _LOADER is yaml.SafeLoader:
            offset = len(text[:offset].encode())
        where = position_of_byte(text.encode(), offset)
        message = (
            f"a control character, U+{error.character:04X}, which YAML does not allow in a"
            " file: remove it"
        )
        return None, [Diagnostic(shown_as, where, "control-character", message)]
    except yaml.MarkedYAMLError as error:
        return None, [Diagnostic(shown_as, *_syntax_error(error, text))]
    except yaml.YAMLError as error:
        return None, [Diagnostic(shown_as, START, "yaml-syntax", f"invalid YAML: {error}")]


class _Refused(Exception):
    """A file past one of the bounds, or not YAML: (position, code, message)."""


# libyaml's parser, where PyYAML was built with it: the same events, faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# PyYAML's rules for plain scalars that are not text (`no`, `1.10`, `~`, dates), by first
# character, each with the rules for any first character after it, as its resolver has them.
_ANY_START: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    yaml.resolver.Resolver.yaml_implicit_resolvers.get(None, ())
)
_IMPLICIT = {
    first: (*rules, *_ANY_START)
    for first, rules in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    if first is not None
}


def resolves(value: str) -> bool:
    """Whether YAML reads `value`, written plain, as something other than text (a number,
    a boolean, null, a date), by PyYAML's rules."""
    return any(pattern.match(value) for _, pattern in _IMPLICIT.get(value[:1], _ANY_START))


# Tuples made without the Python-level __new__ of a NamedTuple: half the time, for the
# hundreds of thousands of values of a large deck.
_new = tuple.__new__


def _compose(text: str) -> Node | None:
    """Events -> nodes, as PyYAML's composer makes them, but with positions kept in the
    nodes, without recursion, and with every bound checked. (One loop, with no more work
    per value than it must do: it runs for every value of every file.)"""
    loader = _LOADER(text)
    next_event = loader.get_event
    root: Node | None = None
    # Each anchor's node, and its size once complete (None while it is being read).
    anchors: dict[str, tuple[Node, int | None]] = {}
    own = 0  # nodes in the file
    aliased = 0  # nodes that aliases repeat: checking the file walks own + aliased
    # The lists and mappings open around the next node: each as [node, its items (a
    # mapping's keys and values in turn, paired when it ends), anchor, own and aliased
    # when it began]; `items` is the innermost one's.
    stack: list[list[Any]] = []
    items: list[Any] | None = None
    documents = 0
    # Looked up once, not for every event.
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    starts = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    implicit, any_start, new = _IMPLICIT.get, _ANY_START, _new
    # What each plain value that some rule might match resolved to: keys and tags come
    # again and again, and a rule's pattern costs more than looking one up.
    resolved: dict[str, str] = {}
    try:
        while (event := next_event()) is not None:
            kind = type(event)
            if kind is scalar_event:
                value = event.value
                if len(value) > MAX_VALUE:
                    message = (
                        f"a value of {len(value):,} characters; deckgen takes values of up to"
                        f" {MAX_VALUE:,}: a card should be read in seconds, so split it"
                    )
                    raise _Refused(_position(event.start_mark), "too-long", message)
                tag = event.tag
                if tag is None or tag == "!":
                    tag = STR
                    if event.implicit[0] and (rules := implicit(value[:1], any_start)):
                        known = resolved.get(value)
                        if known is None:
                            for rule_tag, pattern in rules:
                                if pattern.match(value):
                                    tag = rule_tag
                                    break
                            resolved[value] = tag
                        else:
                            tag = known
                style = event.style or None
                node: Node = new(Scalar, (value, tag, event.start_mark, style, event.end_mark))
                own += 1
                if event.anchor is not None:
                    _anchor(anchors, event.anchor, node, 1)
            elif kind in starts:
                mark = event.start_mark
                if len(stack) >= MAX_DEPTH:
                    message = (
                        f"lists and mappings nested over {MAX_DEPTH} deep; notes need 4 at most"
                    )
                    raise _Refused(_position(mark), "too-deep", message)
                children: list[Any] = []
                node = (
                    new(Mapping, (children, mark))
                    if kind is yaml.MappingStartEvent
                    else new(Sequence, (children, mark))
                )
                if event.anchor is not None:
                    _anchor(anchors, event.anchor, node, None)
                own += 1
                stack.append([node, children, event.anchor, own, aliased])
                items = children
                continue
            elif kind in ends:
                node, children, anchor, own_before, aliased_before = stack.pop()
                items = stack[-1][1] if stack else None
                if type(node) is Mapping:
                    if len(children) > 2 * MAX_KEYS:
                        _too_many(children[2 * MAX_KEYS], f"a mapping of over {MAX_KEYS} keys")
                    pairs = iter(children)  # keys and values in turn (libyaml's are paired)
                    children[:] = zip(pairs, pairs, strict=True)
                elif len(children) > MAX_ITEMS:
                    _too_many(children[MAX_ITEMS], f"a list of over {MAX_ITEMS:,} items")
                if anchor is not None:
                    size = 1 + own - own_before + aliased - aliased_before
                    anchors[anchor] = (node, size)
            elif kind is alias_event:
                name, position = event.anchor, _position(event.start_mark)
                if name not in anchors:
                    message = f"invalid YAML: the alias '*{name}' names no anchor before it"
                    raise _Refused(position, "undefined-alias", message)
                node, size = anchors[name]
                if size is None:
                    message = (
                        f"the alias '*{name}' is inside the node it names, which would never end"
                    )
                    raise _Refused(position, "alias-cycle", message)
                aliased += size
                if aliased > max(ALIAS_ALLOWANCE, own):
                    message = (
                        f"aliases here expand the file to {own + aliased:,} nodes from the"
                        f" {own:,} it has: aliases may share small things (a list of tags),"
                        " not multiply a file"
                    )
                    raise _Refused(position, "alias-bomb", message)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    message = (
                        "invalid YAML: a second YAML document starts here: a notes file"
                        " holds one, so remove the '---'"
                    )
                    raise _Refused(_position(event.start_mark), "yaml-syntax", message)
                continue
            else:
                continue
            # A complete node: into the list or mapping open around it, or the root.
            if items is None:
                root = node
            else:
                items.append(node)
    finally:
        loader.dispose()
    return root


def _too_many(first_past: Node, what: str) -> NoReturn:
    """Refuse a list or mapping of more items than any notes file needs (checked once it
    ends: until then it costs no more than the text it was read from), at its first item
    past the bound."""
    message = f"{what}: no notes file needs so many, so split it"
    raise _Refused(first_past.position, "too-many", message)


def _anchor(
    anchors: dict[str, tuple[Node, int | None]], name: str, node: Node, size: int | None
) -> None:
    if name in anchors:
        first = anchors[name][0].position
        message = (
            f"invalid YAML: the anchor '&{name}' is defined twice (first at line"
            f" {first.line}, column {first.col}): give each anchor its own name"
        )
        raise _Refused(node.position, "yaml-syntax", message)
    anchors[name] = (node, size)


def _position(mark: Mark) -> Position:
    """PyYAML's 0-based mark made 1-based: here and nowhere else."""
    return _new(Position, (mark.line + 1, mark.column + 1))


def _syntax_error(error: yaml.MarkedYAMLError, text: str) -> tuple[Position, str, str]:
    """The parser's problem, at its position, with the context it names (where a quote
    opened); where the mistake is text that needed quotes, that, and the text quoted."""
    mark = error.problem_mark or error.context_mark
    position = _position(mark) if mark is not None else START
    problem = error.problem or error.context or "invalid YAML"
    if "tab" in problem or "'\\t'" in problem:
        message = "a tab in the indentation: YAML indents with spaces only"
    else:
        quoting = _needs_quotes(text, position, problem)
        if quoting is not None:
            return quoting
        message = problem
        if error.context and error.problem and error.context_mark is not None:
            where = _position(error.context_mark)
            message += f" ({error.context} at line {where.line}, column {where.col})"
    return position, "yaml-syntax", f"invalid YAML: {message}"


# A line that gives a key a value: `key: value`, or `- key: value` as a list's item.
_KEY_LINE = re.compile(r" *(?:- +)*([A-Za-z_][\w-]*):(?: +(.*))?\Z")
# What a plain value cannot start with, and what YAML reads there instead.
_STARTS = {
    "!": "YAML reads a tag",
    "&": "YAML reads an anchor",
    "*": "YAML reads an alias",
    "[": "YAML reads a list",
    "{": "YAML reads a mapping",
    "@": "YAML reserves it",
    "`": "YAML reserves it",
    "%": "YAML reads a directive",
    "|": "YAML reads a block of text",
    ">": "YAML reads a block of text",
    '"': "YAML reads quoted text",
    "'": "YAML reads quoted text",
}
_LOOKED_BACK = 50  # lines: how far up the start of a value over many lines is looked for


def _needs_quotes(text: str, position: Position, problem: str) -> tuple[Position, str, str] | None:
    """Where the parser stopped in what a user meant as text, but wrote plain with a `: `
    in it, or starting with a character YAML reads as syntax: the value's place, and the
    advice to quote it, with the whole value as it would be quoted."""
    lines = text.split("\n")
    number = position.line - 1
    if number >= len(lines):
        return None
    start = _value_line(lines, number)
    match = _KEY_LINE.match(lines[start].rstrip("\r")) if start is not None else None
    if start is None or match is None or not match.group(2):
        return None
    key, column = match.group(1), match.start(1)
    parts = [match.group(2).rstrip()]
    for line in lines[start + 1 :]:  # the lines a plain value goes on over
        line = line.rstrip("\r")
        if not line.strip() or len(line) - len(line.lstrip(" ")) <= column:
            break
        parts.append(line.strip())
    value = " ".join(parts)
    if " #" in value:  # YAML reads a comment from there
        value = value[: value.index(" #")]
    if not value:
        return None
    first = value[0]
    after_start = start == number and position.col - 1 > match.start(2) + 1
    if "mapping values are not allowed" in problem and (": " in value or value.endswith(":")):
        why = "text with ': ' in it must be in quotes, or YAML reads a key there"
    elif first in "[{\"'" and not (after_start and "expected" in problem):
        return None  # a list, a mapping or quoted text that is not closed: not this
    elif first in "\"'":
        why = "text that starts with a quote but goes on after it must be in quotes as a whole"
    elif first in _STARTS:
        why = f"text that starts with '{first}' must be in quotes ({_STARTS[first]})"
    else:
        return None
    quoted = json.dumps(value, ensure_ascii=False)
    place = Position(start + 1, match.start(2) + 1)
    return place, "yaml-syntax", f"invalid YAML: {why}: write {key}: {quoted}"


def _value_line(lines: list[str], number: int) -> int | None:
    """The line where the value on line `number` starts: that line, or the key line
    above it whose plain text goes on over the lines down to it."""
    indent = len(lines[number]) - len(lines[number].lstrip(" "))
    for above in range(number - 1, max(-1, number - _LOOKED_BACK), -1):
        line = lines[above].rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            break
        match = _KEY_LINE.match(line)
        if match is None:
            if len(line) - len(line.lstrip(" ")) > 0:
                continue  # a line of text that goes on from above
            break
        value = match.group(2) or ""
        if value and value[0] not in _STARTS and indent > match.start(1):
            return above
        break
    return number if _KEY_LINE.match(lines[number].rstrip("\r")) else None
