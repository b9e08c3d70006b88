"""Surgical edits of a notes file: a value replaced in the style it was written in, a key
or a list item added or removed, a note appended; every other byte (comments, blank lines,
key order, other notes) left as it was.

Where the style a value had cannot hold the new text (a plain value that would read as a
number, a folded one with a line break in it), the next style that can is used, down to a
double-quoted one, which holds any text. Which style can hold which text is decided by
YAML's rules, conservatively (a property test holds every style to PyYAML's own parser
and to libyaml), and `deckgen pull` loads the notes as they would be written before it
writes them.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from collections.abc import Sequence as Seq

from deckgen.files import BOM
from deckgen.source import Mapping, Node, Scalar, Sequence, SourceFile, parse, resolves

WIDTH = 88  # where folded text is wrapped, as the repo's own notes are


class EditError(Exception):
    """An edit this file's layout does not allow (a note written as a flow mapping): the
    message says what to do by hand."""


class Edits:
    """The edits of one file, made on its text at the end, all at once. A file with
    Windows line ends (CRLF) is edited as its text with plain ones, and given back with
    the line ends it had, its new lines with the ones it uses most, and its byte-order
    mark if it had one: every byte not edited stays as it was."""

    def __init__(self, source: SourceFile) -> None:
        self.original = source.text
        self.bom = BOM if source.bom else ""
        # Where the text without "\r" had a "\r" before its "\n": offsets in it.
        self.returns = [m.start() - n for n, m in enumerate(re.finditer("\r\n", source.text))]
        self.newline = "\n"
        if self.returns:
            lf = source.text.replace("\r\n", "\n")
            parsed, _ = parse(lf, source.path, source.bom)
            assert parsed is not None, "the same YAML, with other line ends"
            source = parsed
            if 2 * len(self.returns) >= source.text.count("\n"):
                self.newline = "\r\n"
        self.source = source
        self.text = source.text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        self.splices: list[tuple[int, int, str]] = []

    # Where things are.
    def offset(self, node: Node) -> int:
        if type(node) is Scalar:
            return node.start
        line, col = node.position
        return self.line_starts[line - 1] + col - 1

    def _line_end(self, offset: int) -> int:
        end = self.text.find("\n", offset)
        return len(self.text) if end < 0 else end

    def _line_start(self, offset: int) -> int:
        return self.line_starts[bisect.bisect_right(self.line_starts, offset) - 1]

    def _end(self, node: Node) -> int:
        """Where a node's own text ends (a block scalar's trailing blank lines not counted)."""
        if type(node) is Scalar:
            if node.style in ("|", ">"):
                return node.start + len(self.text[node.start : node.end].rstrip(" \n"))
            return node.end
        items = node.items if type(node) is Sequence else [v for _, v in _entries(node)]
        if self._flow(node):
            closer = "]" if type(node) is Sequence else "}"
            after = self._end(items[-1]) if items else self.offset(node) + 1
            found = self.text.find(closer, after)
            return found + 1
        return self._end(items[-1]) if items else self.offset(node)

    def _flow(self, node: Node) -> bool:
        return type(node) is not Scalar and self.text[self.offset(node)] in "[{"

    def _column(self, node: Node) -> int:
        """The 0-based column a node starts at."""
        return node.position.col - 1

    # The edits.
    def set_value(self, mapping: Mapping, key: str, value: str) -> None:
        """Replace the text under `key`, or add the key (at the end of the mapping)."""
        found = _entry(mapping, key)
        if found is not None:
            key_node, node = found
            if type(node) is not Scalar:
                raise EditError(f"'{key}' holds a list or mapping, not text")
            self._replace_scalar(key_node, node, value, flow=self._flow(mapping))
            return
        if self._flow(mapping) or not mapping.entries:
            raise EditError(f"cannot add '{key}' to a mapping written in braces: add it by hand")
        column = self._column(mapping.entries[0][0])
        at = self._line_end(self._end(mapping.entries[-1][1]))
        self.splices.append((at, at, "\n" + " " * column + key + ": " + _fresh(value, column)))

    def remove_key(self, mapping: Mapping, key: str) -> None:
        found = _entry(mapping, key)
        if found is None:
            return
        key_node, node = found
        start = self._line_start(key_node.start)
        if self.text[start : key_node.start].strip() or self._flow(mapping):
            raise EditError(f"cannot remove '{key}' from where it stands: remove it by hand")
        end = self._line_end(self._end(node))
        self.splices.append((start, min(end + 1, len(self.text)), ""))

    def set_list(self, mapping: Mapping, key: str, values: Seq[str]) -> None:
        """Replace the list under `key` (tags), in the style it had; add it if absent;
        remove it if `values` is empty."""
        found = _entry(mapping, key)
        if not values:
            self.remove_key(mapping, key)
            return
        items = [v if _plain(v, flow=True) else _double(v, ascii=False) for v in values]
        if found is None:
            column = self._column(mapping.entries[0][0])
            at = self._line_end(self._end(mapping.entries[-1][1]))
            line = "\n" + " " * column + key + ": [" + ", ".join(items) + "]"
            self.splices.append((at, at, line))
            return
        _, node = found
        if type(node) is Sequence and not self._flow(node) and node.items:
            column = self._column(node)
            start = self._line_start(self.offset(node))
            end = self._line_end(self._end(node))
            block = "\n".join(" " * column + "- " + item for item in items)
            self.splices.append((start, end, block))
            return
        start = self.offset(node)
        end = self._end(node)
        self.splices.append((start, end, "[" + ", ".join(items) + "]"))

    def append_item(self, sequence: Sequence, entries: Seq[tuple[str, object]]) -> None:
        """Add a mapping at the end of a block list (a pair's items)."""
        if self._flow(sequence) or not sequence.items:
            raise EditError("cannot add an item to a list written in brackets: add it by hand")
        at = self._line_end(self._end(sequence.items[-1]))
        self.splices.append((at, at, "\n" + _mapping_item(entries, self._dash(sequence))))

    def remove_item(self, sequence: Sequence, index: int) -> None:
        item = sequence.items[index]
        start = self._line_start(self.offset(item))
        if self._flow(sequence) or self.text[start : self.offset(item)].strip() not in ("-", ""):
            raise EditError("cannot remove an item from where it stands: remove it by hand")
        end = self._line_end(self._end(item))
        self.splices.append((start, min(end + 1, len(self.text)), ""))

    def append_note(self, entries: Seq[tuple[str, object]]) -> None:
        """Add a note at the end of the file's list of notes."""
        root = self.source.root
        if root is not None and (type(root) is not Sequence or self._flow(root)):
            raise EditError("the notes are not a list of '- id: ...' items: add it by hand")
        if root is None or not root.items:
            at = len(self.text)
            lead = "" if not self.text or self.text.endswith("\n") else "\n"
            self.splices.append((at, at, lead + _mapping_item(entries, 0) + "\n"))
            return
        at = self._line_end(self._end(root.items[-1]))
        spaced = "\n\n" if self._spaced(root.items) else "\n"
        self.splices.append((at, at, spaced + _mapping_item(entries, self._dash(root))))

    def _dash(self, sequence: Sequence) -> int:
        """The column of a block list's dashes."""
        first = self.offset(sequence.items[0])
        dash = self.text.rfind("-", self._line_start(first), first)
        return dash - self._line_start(dash) if dash >= 0 else 0

    def _spaced(self, items: list[Node]) -> bool:
        """Whether a list's items are set apart by blank lines (or it has one item)."""
        if len(items) < 2:
            return True
        return "\n\n" in self.text[self._end(items[0]) : self.offset(items[1])].replace(" ", "")

    def _replace_scalar(self, key_node: Node, node: Scalar, value: str, flow: bool) -> None:
        column = self._column(key_node)
        old_block = node.style in ("|", ">")
        end = self._end(node)
        if old_block:
            # The comment on a block's first line, if any, stays there.
            header_end = self._line_end(node.start)
            indicator = re.match(r"[|>][-+0-9]*", self.text[node.start : header_end])
            assert indicator is not None
            comment = self.text[node.start + indicator.end() : header_end]
        elif flow:
            comment = ""  # what follows is the rest of the list or mapping
        else:
            comment = self.text[end : self._line_end(end)]  # a comment after the value
            end = self._line_end(end)
        for style in _styles(node.style, value, flow):
            written = _render(value, style, column, self.text[node.start : end], flow)
            if written is None:
                continue
            if style in ("|", ">"):  # the comment goes on its first line
                header, _, body = written.partition("\n")
                written = header + comment + "\n" + body
            else:
                written += comment
            self.splices.append((node.start, end, written))
            return
        raise AssertionError("a double-quoted value holds any text")

    def result(self) -> str:
        """The file's text with every edit made (its byte-order mark and line ends as
        they were): in one pass, in the order of the text (and of two at one place, in
        the order they were made)."""
        parts: list[str] = [self.bom]
        done = 0
        order = sorted(range(len(self.splices)), key=lambda i: (*self.splices[i][:2], i))
        for index in order:
            start, end, new = self.splices[index]
            assert start >= done, "edits of one file never overlap"
            parts += [self._kept(done, start), new.replace("\n", self.newline)]
            done = end
        parts.append(self._kept(done, len(self.text)))
        return "".join(parts)

    def _kept(self, start: int, end: int) -> str:
        """The text between two offsets, as the file has it (its "\r"s back)."""
        if not self.returns:
            return self.text[start:end]
        before = bisect.bisect_left
        return self.original[start + before(self.returns, start) : end + before(self.returns, end)]


def _entries(node: Node) -> list[tuple[Node, Node]]:
    return node.entries if type(node) is Mapping else []


def _entry(mapping: Mapping, key: str) -> tuple[Scalar, Node] | None:
    for key_node, value in mapping.entries:
        if type(key_node) is Scalar and key_node.value == key:
            return key_node, value
    return None


def _styles(style: str | None, value: str, flow: bool) -> list[str | None]:
    """The styles to try, best first: the one it had, then what holds more."""
    if flow:
        return [style if style in ("'", '"') else None, '"', "ascii"]
    return [style, "|" if "\n" in value else ">", '"', "ascii"]


def _render(value: str, style: str | None, column: int, old: str, flow: bool = False) -> str | None:
    """The value written in `style`, for a key at `column` (a block indented as it was,
    or by two); None if it cannot be."""
    indent = " " * (column + 2)
    if old[:1] in ("|", ">") and style in ("|", ">"):
        first = next((line for line in old.split("\n")[1:] if line.strip()), "")
        if first:
            indent = first[: len(first) - len(first.lstrip(" "))]
    if style is None:
        return value if _plain(value, flow) else None
    if style == "'":
        # (A tab libyaml reads in quotes, but PyYAML's own parser may not.)
        fits = value and _printable(value) and not {"\n", "\t"} & set(value)
        return "'" + value.replace("'", "''") + "'" if fits else None
    if style == '"':
        return _double(value, ascii=False)
    if style == "ascii":
        return _double(value, ascii=True)
    if flow or not value or not _printable(value) or value[0] in " \t":
        return None
    if any(line != line.rstrip() for line in value.split("\n")):
        return None
    # A block keeps the chomping it had (`|` or `|-`): the text is the same either way.
    chomp = "" if old[:1] == style and old[1:2] not in ("-", "+") else "-"
    if style == "|":
        lines = "\n".join(indent + line if line else "" for line in value.split("\n"))
        return f"|{chomp}\n{lines}"
    # Folded: each line break is an empty line, and long lines are wrapped at spaces, as
    # wide as the text was; the lines it had that still hold the same words stay, so
    # that `git diff` shows the words that changed, not a paragraph wrapped anew. (A line
    # that starts with a space or tab, or spaces in a row, would not fold back as they are.)
    if "  " in value or "\t" in value or any(line[:1] == " " for line in value.split("\n")):
        return None
    old_lines = old.split("\n")[1:] if old[:1] == ">" else []
    width = max([WIDTH, *map(len, old_lines)])
    if old_lines and "\n" not in value and all(line.strip() for line in old_lines):
        kept = [line.strip().split(" ") for line in old_lines]
        return f">{chomp}\n" + "\n".join(_refold(value.split(" "), kept, indent, width))
    out: list[str] = []
    for index, line in enumerate(value.split("\n")):
        if index:
            out.append("")
        if line:
            out += _wrap(line, indent, width)
    return f">{chomp}\n" + "\n".join(out)


def _refold(words: list[str], old: list[list[str]], indent: str, width: int) -> list[str]:
    """`words` folded: the old lines at the start and the end that hold the same words
    kept, the words between them wrapped anew."""
    head, start = 0, 0
    while head < len(old) and words[start : start + len(old[head])] == old[head]:
        start += len(old[head])
        head += 1
    tail, end = 0, len(words)
    while tail < len(old) - head:
        line = old[len(old) - 1 - tail]
        if end - len(line) < start or words[end - len(line) : end] != line:
            break
        end -= len(line)
        tail += 1
    middle = _wrap(" ".join(words[start:end]), indent, width) if start < end else []
    kept_tail = old[len(old) - tail :]
    return (
        [indent + " ".join(line) for line in [*old[:head]]]
        + middle
        + [indent + " ".join(line) for line in kept_tail]
    )


def _wrap(line: str, indent: str, width: int) -> list[str]:
    words = line.split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        if current and len(indent) + len(current) + 1 + len(word) > width:
            lines.append(indent + current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(indent + current)
    return lines


def one_line(value: str) -> str:
    """A text as one line of YAML: plain where YAML reads it back as itself, else quoted."""
    return value if _plain(value) else _double(value, ascii=False)


def _double(value: str, ascii: bool) -> str:
    """A double-quoted YAML scalar: JSON's escapes are YAML's; the line breaks YAML knows
    beyond JSON's (NEL, LS, PS) escaped too."""
    text = json.dumps(value, ensure_ascii=ascii)
    return text.replace("\x85", "\\N").replace("\u2028", "\\L").replace("\u2029", "\\P")


# What a plain value may not start with, and what it may not hold in brackets.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW = frozenset(",[]{}?")
# What YAML does not allow in a file unescaped, or reads as a line break (NEL, LS, PS).
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]"
)


def _printable(value: str) -> bool:
    return _UNPRINTABLE.search(value) is None


def _plain(value: str, flow: bool = False) -> bool:
    """Whether `value` may be written plain (conservatively): one line, nothing YAML
    reads as syntax, and not a number, boolean, null or date."""
    if not value or value != value.strip() or not _printable(value):
        return False
    if "\n" in value or "\t" in value or value[0] in _INDICATORS:
        return False
    if ": " in value or " #" in value or value.endswith(":"):
        return False
    if flow and (_FLOW & set(value) or (":" in value and not _TAG.match(value))):
        return False
    return not resolves(value)


# A tag, with its `::` levels, which YAML reads as text in brackets too.
_TAG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*(?:::[a-z0-9]+(?:-[a-z0-9]+)*)*\Z")


def _fresh(value: str, column: int) -> str:
    """A new value, in the style the repo's notes use: plain, or folded when long."""
    if _plain(value):  # (the first style tried, and most values')
        return value
    long = len(value) + column + 2 > WIDTH
    styles = [None, "|" if "\n" in value else None, ">" if long else None, '"', "ascii"]
    for style in dict.fromkeys(styles):
        written = _render(value, style, column, "")
        if written is not None:
            return written
    raise AssertionError("a double-quoted value holds any text")


@functools.lru_cache(maxsize=1024)
def _key(name: str) -> str:
    """A key as written: plain, or quoted where YAML would read it as something else (a
    field named `yes`, say). (Remembered: a deck's notes share a few keys.)"""
    return name if _plain(name) and not resolves(name) else _double(name, ascii=False)


@functools.lru_cache(maxsize=4096)
def _tag(tag: str) -> str:
    """A tag in a list in brackets: plain where it may be. (Remembered: a deck's notes
    share their tags.)"""
    return tag if _plain(tag, flow=True) else _double(tag, ascii=False)


def note_text(entries: Seq[tuple[str, object]]) -> str:
    """A new note, as a file's list holds it: `- key: value` lines (see _mapping_item)."""
    return _mapping_item(entries, 0)


def _mapping_item(entries: Seq[tuple[str, object]], dash_column: int) -> str:
    """`- key: value` lines of a new list item whose dash is at `dash_column`: a value is
    text, a list of tags, or a list of items (each a list of keys and text)."""
    column = dash_column + 2
    lines = []
    for index, (name, value) in enumerate(entries):
        lead = " " * dash_column + "- " if index == 0 else " " * column
        key = _key(name)
        if isinstance(value, list) and value and isinstance(value[0], list):
            lines.append(lead + key + ":")
            lines += [_mapping_item(item, column + 2) for item in value]
        elif isinstance(value, list):
            lines.append(lead + key + ": [" + ", ".join(map(_tag, value)) + "]")
        elif key == "guid":
            lines.append(lead + key + ": " + _double(str(value), ascii=True))
        else:
            lines.append(lead + key + ": " + _fresh(str(value), column))
    return "\n".join(lines)
