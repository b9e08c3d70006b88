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
        return _MARKDOWN.renderer.render(tokens[1].children or [], _MARKDOWN.options, {})
    return _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {}).strip()


_CLOZE_OPEN = re.compile(r"\{\{c(\d+)::", re.IGNORECASE)
_BRACES = re.compile(r"\{\{|\}\}")


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
    """Read `{{cN::term}}` and `{{cN::term::hint}}` as Anki does, reporting what Anki would choke on."""
    numbers: set[int] = set()
    problems: list[ClozeProblem] = []
    # (offset, number or None for a malformed opener, where the term starts)
    open_clozes: list[tuple[int, int | None, int]] = []
    for brace in _BRACES.finditer(text):
        offset = brace.start()
        if brace.group() == "{{":
            opener = _CLOZE_OPEN.match(text, offset)
            if opener is None:
                problems.append(
                    ClozeProblem(offset, "cloze-syntax", "'{{' does not open a cloze: write {{c1::term}}")
                )
                open_clozes.append((offset, None, brace.end()))
                continue
            number = int(opener.group(1))
            if number == 0:
                problems.append(
                    ClozeProblem(offset, "cloze-number", "cloze numbers start at 1: write {{c1::...}}")
                )
            if open_clozes:
                problems.append(
                    ClozeProblem(offset, "cloze-nested", "a cloze inside another cloze is not supported")
                )
            open_clozes.append((offset, number, opener.end()))
        elif open_clozes:
            start, number, term_start = open_clozes.pop()
            if number is None:
                continue
            if not text[term_start:offset].split("::", 1)[0].strip():
                problems.append(ClozeProblem(start, "cloze-empty", "empty cloze: nothing to hide"))
            elif number > 0:
                numbers.add(number)
        else:
            problems.append(ClozeProblem(offset, "cloze-syntax", "'}}' closes no cloze"))
    for start, number, _ in open_clozes:
        if number is None:
            continue
        problems.append(
            ClozeProblem(start, "cloze-unclosed", f"cloze {{{{c{number}:: is never closed with '}}}}'")
        )
    return Clozes(frozenset(numbers), tuple(sorted(problems, key=lambda p: p.offset)))
