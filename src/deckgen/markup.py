"""Note text -> safe HTML: Markdown with raw HTML off, and the cloze syntax Anki reads."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt

# Only what notes need: code spans, bold, emphasis, line breaks and simple lists.
# Raw HTML, links, images and entities stay off, so every `<` in a note is shown as text.
_MARKDOWN = MarkdownIt("zero", {"breaks": True, "html": False}).enable(
    ["backticks", "emphasis", "escape", "list", "newline"]
)


def to_html(text: str) -> str:
    """Render a note's Markdown; a single paragraph comes out inline, without `<p>`."""
    tokens = _MARKDOWN.parse(text.strip())
    if not tokens:
        return ""
    if len(tokens) == 3 and tokens[0].type == "paragraph_open":
        tokens = tokens[1].children or []
    rendered: str = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})
    return rendered.strip()


_CLOZE_OPEN = re.compile(r"\{\{c(\d+)::", re.IGNORECASE)
_BRACES = re.compile(r"\{\{|\}\}")
_NOT_A_CLOZE = "'{{' does not open a cloze: write {{c1::term}}"
_NUMBER_ZERO = "cloze numbers start at 1: write {{c1::...}}"
_NESTED = "a cloze inside another cloze is not supported"


@dataclass(frozen=True)
class ClozeProblem:
    """Malformed cloze markup at a character offset of the text."""

    offset: int
    code: str
    message: str


@dataclass(frozen=True)
class Clozes:
    """The cloze numbers a text uses (one card each) and what is wrong with its markup."""

    numbers: frozenset[int]
    problems: tuple[ClozeProblem, ...]


def parse_clozes(text: str) -> Clozes:
    """Read `{{cN::term}}` and `{{cN::term::hint}}` as Anki does; report what it would choke on."""
    numbers: set[int] = set()
    problems: list[ClozeProblem] = []
    # Open clozes: (offset, number or None for a malformed opener, where the term starts).
    stack: list[tuple[int, int | None, int]] = []
    for brace in _BRACES.finditer(text):
        offset = brace.start()
        if brace.group() == "{{":
            opener = _CLOZE_OPEN.match(text, offset)
            if opener is None:
                problems.append(ClozeProblem(offset, "cloze-syntax", _NOT_A_CLOZE))
                stack.append((offset, None, brace.end()))
                continue
            if int(opener.group(1)) == 0:
                problems.append(ClozeProblem(offset, "cloze-number", _NUMBER_ZERO))
            if stack:
                problems.append(ClozeProblem(offset, "cloze-nested", _NESTED))
            stack.append((offset, int(opener.group(1)), opener.end()))
        elif not stack:
            problems.append(ClozeProblem(offset, "cloze-syntax", "'}}' closes no cloze"))
        else:
            start, opened, term_start = stack.pop()
            if opened is None:
                continue
            if not text[term_start:offset].split("::", 1)[0].strip():
                problems.append(ClozeProblem(start, "cloze-empty", "empty cloze: nothing to hide"))
            elif opened > 0:
                numbers.add(opened)
    for start, opened, _ in stack:
        if opened is not None:
            message = f"cloze {{{{c{opened}:: is never closed with '}}}}'"
            problems.append(ClozeProblem(start, "cloze-unclosed", message))
    return Clozes(frozenset(numbers), tuple(sorted(problems, key=lambda p: p.offset)))
