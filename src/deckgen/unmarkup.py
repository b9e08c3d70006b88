"""Anki's HTML -> deckgen's Markdown: what a user wrote in Anki's editor, as note text.

Bold, emphasis, code (a block of it fenced), line breaks, `<div>`s, paragraphs and lists
become their Markdown; entities become characters; cloze syntax stays as it is. Anything
else (colours, fonts, links, pictures, spans) is reduced to its text, and said so; active
content (scripts, styles, frames) is dropped with what it holds. The result is held to the
renderer: it renders (markup.to_html) to the same text, or it is given again as plain text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import NamedTuple

from deckgen.markup import escape, formulas, to_html

# Tags whose meaning comes back as Markdown, as inline formats.
_FORMATS = {"b": "**", "strong": "**", "i": "*", "em": "*"}
# Tags that end a line, or a paragraph.
_LINES = frozenset({"div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr"})
_PARAGRAPHS = frozenset({"p", "blockquote", "table", "section", "article", "header", "footer"})
# Tags that come back without a word said: structure, as Markdown, or nothing to see.
_QUIET = frozenset({*_FORMATS, "code", "div", "br", "p", "ul", "ol", "li", "span"})
# Tags dropped with all they hold: active content, or nothing a reader sees.
_DROPPED = frozenset(
    {
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "template",
        "noscript",
        "svg",
        "math",
        "head",
        "title",
        "audio",
        "video",
        "canvas",
        "select",
        "textarea",
        "button",
    }
)
_VOID = frozenset({"br", "hr", "img", "input", "wbr", "meta", "link", "source", "area", "col"})


class Converted(NamedTuple):
    text: str  # deckgen Markdown
    html: str  # what deckgen renders it to (markup.to_html)
    reduced: tuple[str, ...]  # what did not come back as it was: `<span style> reduced to its text`


def to_markdown(html: str, pictures: Mapping[str, str] | None = None) -> Converted:
    """A field's HTML as note text, and what of it was reduced or dropped. `pictures`:
    the deck's pictures a note may show, each name in the package with its path as the
    note's file gives it (`<img src="a.3f2a9c1e.png">` comes back as `![](pictures/a.png)`)."""
    if not html:  # (an empty field, as most of a note's optional ones are)
        return Converted("", "", ())
    if not _NOT_SIMPLE.search(html) and "![" not in html:
        # Plain words (most fields): their Markdown is themselves, each run of spaces one
        # space, unless they start like a list item; they render escaped. (What the rest
        # of this function makes of them: a property test holds the two together.)
        text = _SPACE.sub(" ", html).strip()
        if not _LIST_LIKE.match(text):
            return Converted(text, escape(text), ())
    return _inline_formats(html) or _converted(html, pictures)


# What makes a field more than plain words: a tag, an entity, an escape or formula, code,
# emphasis, a fence, a line break or a control character.
_NOT_SIMPLE = re.compile(r"[<&\\`*_~\n\r\t\f\v\0]")


def _converted(html: str, pictures: Mapping[str, str] | None) -> Converted:
    reader = _Reader(pictures or {})
    if "<" in html or "&" in html:
        reader.feed(html)
        reader.close()
    else:  # no tag, no entity: what the parser would pass on, as one piece of text
        reader.handle_data(html)
    lines = reader.finish()
    plain = _text_of_plain(_plain(lines))
    # As few escapes as Markdown needs, where they render as all of them would; then,
    # where formatting cannot be held (bold that starts inside a word before a bracket,
    # say), the same without it. (The text with the pictures' paths is the text the
    # renderer reads, its pictures by name, where there are none; and with every escape,
    # the same, where there is nothing to escape.)
    shown = any(kind == "picture" for line in lines if line for kind, _ in line[1])
    escapes = any(
        kind == "text" and _SPECIAL.search(v) for line in lines if line for kind, v in line[1]
    )
    for candidate in (lines, _unformatted(lines)):
        rendered = _markdown(candidate, True)
        text = _markdown(candidate, True, pictures) if shown and pictures else rendered
        html = to_html(rendered)
        if escapes and html != (full_html := to_html(_markdown(candidate, False))):
            text, html = _markdown(candidate, False, pictures), full_html
        if _text_of(html) == plain:
            reduced = reader.reduced if candidate is lines else [*reader.reduced, _FORMATS_LOST]
            return Converted(text, html, tuple(dict.fromkeys(reduced)))
    # The text alone, exactly.
    text = "\n".join(_unlist(_escape(line, minimal=False)) for line in _plain(lines).split("\n"))
    reduced = [*reader.reduced, _FORMATS_LOST]
    return Converted(text, to_html(text), tuple(dict.fromkeys(reduced)))


# A format's tags, without attributes, and their Markdown marks.
_FORMAT_TAG = re.compile(r"<(/?)(code|em|strong|b|i)>")
_FORMAT_MARK = {"code": "`", "em": "*", "i": "*", "strong": "**", "b": "**"}
_AS_RENDERED = {"b": "strong", "i": "em"}
# What the text between the tags, or a format's content, must not hold: what the reader
# gives Markdown escaped (code spans keep theirs), or changes (a run of spaces, a space
# other than ' '). Anything else that would differ differs in rendering (below); `<` and
# `&` always do (another tag, an entity), and are looked for first, to stop at once.
_NOT_PLAIN_TEXT = re.compile(r"[<&`*_]|  |(?! )\s")
_NOT_PLAIN_CODE = re.compile(r"[<&]|  |(?! )\s")


def _inline_formats(html: str) -> Converted | None:
    """A line of words with a few formats (bold, emphasis, code; none inside another),
    without entities, attributes or anything else Markdown reads, as `_converted` brings
    it, without the HTML parser (a property test holds the two together); None for any
    other field."""
    parts = _FORMAT_TAG.split(html)  # text, then a tag's slash and name, and text, in turn
    out: list[str] = []
    for index in range(0, len(parts), 6):
        text = parts[index]
        if _NOT_PLAIN_TEXT.search(text):
            return None
        out.append(_unlist(text) if index == 0 else text)
        if index + 1 == len(parts):
            break
        name, content = parts[index + 2], parts[index + 3]  # (its closing tag: see below)
        if (_NOT_PLAIN_CODE if name == "code" else _NOT_PLAIN_TEXT).search(content):
            return None
        mark = _FORMAT_MARK[name]
        out += [mark, content, mark]
    # Taken only where it renders as the field shows (<b> as <strong>): each tag where it
    # opens or closes its format, none empty, none with a space just inside it; no space
    # at either end; no entity, `<`, or backslash that Markdown would read.
    text = "".join(out)
    rendered = to_html(text)
    shown = _FORMAT_TAG.sub(lambda tag: f"<{tag[1]}{_AS_RENDERED.get(tag[2], tag[2])}>", html)
    return Converted(text, rendered, ()) if rendered == shown else None


_FORMATS_LOST = "formatting Markdown cannot hold here reduced to the text"


def _unformatted(lines: list[_Line]) -> list[_Line]:
    return [
        None if line is None else (line[0], [p for p in line[1] if p[0] not in ("open", "close")])
        for line in lines
    ]


# A line: its list marker or indent, and its pieces: ("text", s), ("code", s), or a
# format mark ("open"/"close", "**" or "*"). A blank line is None.
_Piece = tuple[str, str]
_Line = tuple[str, list[_Piece]] | None


class _Reader(HTMLParser):
    def __init__(self, pictures: Mapping[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.pictures = pictures
        self.lines: list[_Line] = []
        self.prefix = ""  # of the line being read
        self.pieces: list[_Piece] = []
        self.open: list[str] = []  # formats open, outermost first
        self.depth: dict[str, int] = {}  # how many of each format tag are open
        self.code = 0  # <code> tags open
        self.code_text: list[str] = []
        # A block of code (<pre>): how deep inside, its language, and its text as written.
        self.pre = 0
        self.language = ""
        self.pre_text: list[str] = []
        self.dropped = 0  # how deep inside a dropped tag (counting only its own name)
        self.dropped_tag = ""
        # Lists open: [marker ("-", "*" or the next number), indent, number delimiter].
        self.lists: list[list[int | str]] = []
        self.continuation = ""  # the indent of a list item's further lines
        self.top_lists = 0  # lists begun at the top: each its own marker from the last's
        self.reduced: list[str] = []

    # Lines and blocks.
    def _break(self, force: bool = False) -> None:
        """End the line being read (if it has anything, or `force`: a `<br>`)."""
        if self.code:
            self.code_text.append(" ")
            return
        has_text = any(
            kind in ("code", "picture", "formula") or (kind == "text" and value.strip())
            for kind, value in self.pieces
        )
        if has_text or force:
            closing = [("close", mark) for mark in reversed(self.open)]
            self.lines.append((self.prefix, self.pieces + closing))
        self.prefix = self.continuation if (has_text or force) else self.prefix
        self.pieces = [("open", mark) for mark in self.open]

    def _blank(self) -> None:
        self._break()
        if not self.lists and self.lines and self.lines[-1] is not None:
            self.lines.append(None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.dropped:
            self.dropped += tag == self.dropped_tag
            return
        if tag in _DROPPED:
            self.dropped, self.dropped_tag = 1, tag
            self._reduce(f"<{tag}> left out, with all it holds")
            return
        values = dict(attrs)
        if self.pre:  # a block of code: its text, and its lines; the rest is highlighting
            self.pre += tag == "pre"
            if tag == "br" or (tag == "div" and self.pre_text):
                self.pre_text.append("\n")
            elif tag == "code" and not self.language:
                classes = (values.get("class") or "").split()
                named = [c.removeprefix("language-") for c in classes if c.startswith("language-")]
                self.language = named[0] if named else ""
            elif tag not in ("span", "code", "div"):
                self._reduce(f"<{tag}> in a block of code reduced to its text")
            return
        if tag == "pre":
            self._blank()
            self.pre, self.language, self.pre_text = 1, "", []
            return
        if tag == "img" and (values.get("src") or "") in self.pictures and not self.code:
            # A picture of the deck: back to its path.
            self.pieces.append(("picture", f"{values.get('alt') or ''}\0{values['src']}"))
            return
        kept = tag in _QUIET or tag in _LINES or tag in _PARAGRAPHS
        names = " ".join(name for name, _ in attrs if name != "start" or tag != "ol")
        if kept and names:
            self._reduce(f"<{tag} {names}>: its {names} left out")
        elif not kept:
            self._reduce(f"<{tag}{' ' + names if names else ''}> reduced to its text")
        if tag in _FORMATS:
            mark = _FORMATS[tag]
            self.depth[mark] = self.depth.get(mark, 0) + 1
            if self.depth[mark] == 1 and not self.code:
                self.open.append(mark)
                self.pieces.append(("open", mark))
        elif tag == "code":
            self.code += 1
        elif tag == "br":
            self._break(force=True)
        elif tag in ("ul", "ol"):
            self._blank()
            indent = self.continuation
            start = dict(attrs).get("start") or "1"
            marker: int | str = int(start) if tag == "ol" and start.isdigit() else "-"
            if tag == "ol" and marker == "-":
                marker = 1
            # Two lists in a row with one marker would be read as one list: the next
            # list at the top takes the other bullet (`*`) or number style (`1)`).
            other = not self.lists and self.top_lists % 2 == 1
            if not self.lists:
                self.top_lists += 1
            self.lists.append([marker, indent, ")" if other else "."])
            if other and marker == "-":
                self.lists[-1][0] = "*"
        elif tag == "li":
            self._break()
            if not self.lists:  # an item outside any list: a line
                return
            current = self.lists[-1]
            marker = current[0]
            indent = str(current[1])
            text = f"{marker} " if isinstance(marker, str) else f"{marker}{current[2]} "
            if isinstance(marker, int):
                current[0] = min(marker + 1, 999_999_999)
            self.prefix = indent + text
            self.continuation = indent + " " * len(text)
        elif tag in _PARAGRAPHS:
            self._blank()
        elif tag in _LINES:
            self._break()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.dropped:
            self.dropped -= tag == self.dropped_tag
            return
        if self.pre:
            self.pre -= tag == "pre"
            if not self.pre:
                self._fence()
            return
        if tag in _FORMATS:
            mark = _FORMATS[tag]
            if self.depth.get(mark, 0) == 0:
                return
            self.depth[mark] -= 1
            if self.depth[mark] == 0 and mark in self.open and not self.code:
                self.open.remove(mark)
                self.pieces.append(("close", mark))
        elif tag == "code" and self.code:
            self.code -= 1
            if not self.code:
                self.pieces.append(("code", "".join(self.code_text)))
                self.code_text = []
        elif tag in ("ul", "ol") and self.lists:
            self._break()
            closed = self.lists.pop()
            # Back to the item the list was in, if any: its further lines' indent.
            self.continuation = str(closed[1]) if self.lists else ""
            self.prefix = self.continuation
            if not self.lists:
                self._blank()
        elif tag == "li":
            self._break()
        elif tag in _PARAGRAPHS:
            self._blank()
        elif tag in _LINES:
            self._break()

    def _fence(self) -> None:
        """A block of code ends: a fenced block, its text as it was."""
        code = "".join(self.pre_text).removesuffix("\n")
        self.lines.append(("", [("fence", f"{self.language}\0{code}")]))
        self.lines.append(None)
        self.pre_text = []

    def handle_data(self, data: str) -> None:
        if self.dropped:
            return
        if self.pre:
            self.pre_text.append(data)
            return
        if self.code:
            self.code_text.append(data)
            return
        # A formula stays as it is (markup.py passes it to MathJax untouched).
        done = 0
        for start, end in formulas(data):
            self.pieces += [("text", data[done:start]), ("formula", data[start:end])]
            done = end
        self.pieces.append(("text", data[done:]))

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        """`<![...` that Python's parser cannot read (it raises AssertionError) read as a
        browser reads it: a comment, up to the next `>` (to the end, as text)."""
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i)
            if end < 0:
                return -1
            self._reduce("a malformed <![ ...> left out")
            return end + 1

    def _reduce(self, what: str) -> None:
        if what not in self.reduced:
            self.reduced.append(what)

    def finish(self) -> list[_Line]:
        """The lines read, each tidied; a format or code left open, closed."""
        if self.pre:
            self.pre = 0
            self._fence()
        if self.code:
            self.pieces.append(("code", "".join(self.code_text)))
            self.code = 0
        self._break()
        lines = self.lines
        while lines and lines[-1] is None:  # (a blank line is never the first)
            lines.pop()
        return [None if line is None else (line[0], _tidy(line[1])) for line in lines]


_SPACE = re.compile(r"[ \t\n\r\f\xa0]+")


def _tidy(pieces: list[_Piece]) -> list[_Piece]:
    """One line's pieces as HTML shows them: each run of spaces one space, none at either
    end, none just inside a format mark (Markdown would not read it), and no empty format.
    (Each step one pass: a field may hold thousands of pieces.)"""
    out = _joined(pieces)
    if any(kind in ("open", "close") for kind, _ in out):  # (without, the rest changes nothing)
        out = _joined(_unempty(out))
        out = _joined(_unempty(_outside(_outside(out, "open", 1), "close", -1)))
    # No space at the ends of the line, and none doubled across a mark.
    _strip_end(out, 0, str.lstrip)
    _strip_end(out, -1, str.rstrip)
    previous_space = False
    result: list[_Piece] = []
    for kind, value in out:
        if kind == "text":
            if previous_space and value.startswith(" "):
                value = value[1:]
            if not value:
                continue
            previous_space = value.endswith(" ")
        elif kind in ("code", "picture", "formula", "fence"):
            previous_space = False
        result.append((kind, value))
    return result


def _joined(pieces: list[_Piece]) -> list[_Piece]:
    """Text next to text (and code next to code: one span, not two) as one piece, each
    run of spaces in it one space; no empty text."""
    out: list[_Piece] = []
    for kind, value in pieces:
        if out and kind == out[-1][0] and kind in ("text", "code"):
            out[-1] = (kind, out[-1][1] + value)
        else:
            out.append((kind, value))
    spaced = [(k, _SPACE.sub(" ", v)) if k in ("text", "code") else (k, v) for k, v in out]
    return [(k, v) for k, v in spaced if v or k != "text"]


def _outside(pieces: list[_Piece], mark: str, direction: int) -> list[_Piece]:
    """A space just inside a run of opening marks moved before them (`direction` 1), or
    just inside a run of closing marks, after them (-1)."""
    ordered = pieces if direction == 1 else pieces[::-1]
    out: list[_Piece] = []
    pending: list[_Piece] = []
    for kind, value in ordered:
        if kind == mark:
            pending.append((kind, value))
            continue
        edge = value[:1] if direction == 1 else value[-1:]
        if kind == "text" and edge == " " and pending:
            out += [("text", " "), *pending, ("text", value[1:] if direction == 1 else value[:-1])]
        else:
            out += [*pending, (kind, value)]
        pending = []
    out += pending
    return out if direction == 1 else out[::-1]


def _unempty(pieces: list[_Piece]) -> list[_Piece]:
    """No empty format, and none that ends where the same begins again: matched as
    brackets are, so `<b><i></i></b>` goes whole."""
    out: list[_Piece] = []
    for kind, value in pieces:
        if kind == "text" and not value:
            continue
        last = out[-1] if out else None
        marks = ("open", "close")
        if last and kind in marks and last[0] in marks and last[1] == value and last[0] != kind:
            out.pop()
            continue
        out.append((kind, value))
    return out


def _strip_end(pieces: list[_Piece], index: int, strip: object) -> None:
    for i in range(len(pieces)) if index == 0 else range(len(pieces) - 1, -1, -1):
        kind, value = pieces[i]
        if kind == "text":
            stripped = value.lstrip() if index == 0 else value.rstrip()
            pieces[i] = (kind, stripped)
            if stripped:
                return
        elif kind in ("code", "picture", "formula", "fence"):
            return


def _markdown(lines: list[_Line], minimal: bool, pictures: Mapping[str, str] | None = None) -> str:
    """The lines as Markdown; each picture by its path as the notes give it (`pictures`),
    or without them, by its name in the package (what the renderer shows)."""
    out = []
    for line in lines:
        if line is None:
            out.append("")
            continue
        prefix, pieces = line
        parts: list[str] = []
        for index, (kind, value) in enumerate(pieces):
            if kind == "text":
                before = parts[-1][-1] if parts and parts[-1] else " "
                after = _next_char(pieces, index + 1)
                text = _escape(value, minimal, before, after)
                parts.append(_unlist(text) if index == 0 else text)
            elif kind == "code":
                parts.append(_code(value))
            elif kind == "formula":
                parts.append(" ".join(value.split("\n")))  # on the line it stands in
            elif kind == "fence":
                parts.append(_fenced(*value.split("\0", 1)))
            elif kind == "picture":
                alt, _, name = value.rpartition("\0")
                parts.append(_picture(alt, pictures[name] if pictures else name))
            else:
                parts.append(value)
        out.append(prefix + "".join(parts))
    return "\n".join(out).strip("\n")


def _fenced(language: str, code: str) -> str:
    """A fenced block of code holding `code` exactly: its fence longer than any run of
    backticks in it."""
    longest = max((len(run) for run in re.findall("`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"


def _picture(alt: str, path: str) -> str:
    """`![alt](path)`: the path in `<...>` where it holds spaces or brackets."""
    alt = re.sub(r"([\\\[\]])", r"\\\1", alt)
    if re.search(r"[\s()]", path):
        path = f"<{path}>"
    return f"![{alt}]({path})"


def _next_char(pieces: list[_Piece], start: int) -> str:
    """The first character after `start` in a line's pieces (a space at its end)."""
    for index in range(start, len(pieces)):
        kind, value = pieces[index]
        if value:
            return "`" if kind == "code" else value[0]
    return " "


def _code(content: str) -> str:
    """A code span holding `content` exactly: fenced by more backticks than it holds in a
    row, with a space inside each fence where the content starts or ends with a backtick
    or with spaces at both ends."""
    longest = max((len(run) for run in re.findall("`+", content)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if content[:1] == "`" or content[-1:] == "`" else ""
    if content.startswith(" ") and content.endswith(" ") and content.strip():
        pad = " "
    return f"{fence}{pad}{content}{pad}{fence}"


_LIST_LIKE = re.compile(r"(?:[-+*]|(\d{1,9})[.)])(?=\s|$)")


def _unlist(text: str) -> str:
    """A line's text that would start a list item, made not to."""
    found = _LIST_LIKE.match(text)
    if found is None:
        return text
    number = found.group(1)
    return "\\" + text if number is None else number + "\\" + text[len(number) :]


_SPECIAL = re.compile(r"[\\`*_]")


def _escape(text: str, minimal: bool, before: str = " ", after: str = " ") -> str:
    """Text as Markdown that shows it as it is: `\\`, backticks, `*` and `_` escaped
    (where `minimal`, only where Markdown could read them). `before` and `after` are the
    characters around it in its line."""
    if not _SPECIAL.search(text):
        return text  # most text: nothing Markdown reads in it
    out = []
    padded = before + text + after
    for i, char in enumerate(text, start=1):
        left, right = padded[i - 1], padded[i + 1]
        if char == "`":
            out.append("\\`")
        elif char == "\\":
            out.append(char if minimal and not _punctuation(right) else "\\\\")
        elif char == "*":
            out.append(char if minimal and left == " " and right == " " else "\\*")
        elif char == "_":
            inert = (left.isalnum() and right.isalnum()) or (left == " " and right == " ")
            out.append(char if minimal and inert else "\\_")
        else:
            out.append(char)
    return "".join(out)


def _punctuation(char: str) -> bool:
    return char.isascii() and not char.isalnum() and not char.isspace()


def _plain(lines: list[_Line]) -> str:
    return "\n".join(
        ""
        if line is None
        else "".join(
            v.split("\0", 1)[-1] if k == "fence" else v
            for k, v in line[1]
            if k in ("text", "code", "formula", "fence")
        )
        for line in lines
    )


_INLINE_TAGS = re.compile(r"</?(?:strong|em|code|span)(?:\s[^>]*)?>")
_OTHER_TAGS = re.compile(r"<[^>]+>")


def _text_of(html: str) -> str:
    """The words rendered HTML shows, for comparing: tags gone, entities decoded."""
    import html as entities

    text = _OTHER_TAGS.sub(" ", _INLINE_TAGS.sub("", html))
    return " ".join(entities.unescape(text).split())


def _text_of_plain(text: str) -> str:
    return " ".join(text.split())
