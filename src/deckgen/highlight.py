"""Fenced code in note text -> highlighted HTML, at build time (Pygments): the colours are
classes the card's CSS gives (templates/style.css, light and night), so that they show
on every client, AnkiMobile included, with no script in the card.

A cloze in code (`df.{{c1::groupBy}}("x")`) hides exactly its span: the code is read
without the cloze markup, and the markup is put back between the highlighted pieces,
never inside one, so Anki finds it whole.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from deckgen.notetypes import CODE_CSS_START

if TYPE_CHECKING:
    from pygments.token import _TokenType

# The light and night styles the card's CSS holds (see test_highlight: style.css is
# what Pygments makes of them).
LIGHT_STYLE = "default"
NIGHT_STYLE = "github-dark"
CODE_CLASS = "code"  # of the <pre> around a block of code
NIGHT_SELECTORS = (".nightMode", ".night_mode")  # Anki's desktop and mobile; AnkiDroid's

_OPEN = re.compile(r"\{\{c\d+::", re.IGNORECASE)
_LANGUAGE = re.compile(r"[\w+#.-]{1,40}\Z")


class _Mark(NamedTuple):
    at: int  # where it stands in the code without the cloze markup
    html: str  # the markup itself, as the card holds it


def code_block(code: str, language: str) -> str:
    """A block of code, highlighted as `language` (or only escaped, for a language Pygments
    does not know), with its clozes whole."""
    from deckgen.markup import escape

    plain, marks = _without_clozes(code)
    # Pieces of code, each with its class and how many of the marks come before it.
    runs: list[list[Any]] = []
    at = 0
    index = 0
    for kind, value in _tokens(plain, language):
        while value:
            # A cloze's markup that falls inside this token splits it.
            while index < len(marks) and marks[index].at <= at:
                index += 1
            upto = marks[index].at - at if index < len(marks) else len(value)
            piece, value = value[:upto], value[upto:]
            name = _class_of(kind)
            if runs and runs[-1][0] == name and runs[-1][2] == index:
                runs[-1][1] += piece  # the same class as the piece before: one span
            else:
                runs.append([name, piece, index])
            at += len(piece)
    pieces: list[str] = []
    marked = 0
    for name, text, before in runs:
        while marked < before:
            pieces.append(marks[marked].html)
            marked += 1
        pieces.append(f'<span class="{name}">{escape(text)}</span>' if name else escape(text))
    pieces += [mark.html for mark in marks[marked:]]
    named = f' class="language-{language}"' if _LANGUAGE.match(language) else ""
    return f'<pre class="{CODE_CLASS}"><code{named}>{"".join(pieces)}</code></pre>'


def _without_clozes(code: str) -> tuple[str, list[_Mark]]:
    """The code as it reads once answered, and where each cloze's markup stands in it:
    `{{c1::` before the term, `::hint}}` or `}}` after. (Clozes that do not close are
    left as text: check says what is wrong with them, in fields that hold clozes.)"""
    from deckgen.markup import escape

    plain: list[str] = []
    marks: list[_Mark] = []
    length = 0
    done = 0
    for opener in _OPEN.finditer(code):
        if opener.start() < done:
            continue  # inside the cloze before
        end = code.find("}}", opener.end())
        if end < 0:
            break
        term, hint = code[opener.end() : end], ""
        if "::" in term:
            term, hint = term.split("::", 1)
        before = code[done : opener.start()]
        plain.append(before)
        length += len(before)
        marks.append(_Mark(length, escape(opener.group())))
        plain.append(term)
        length += len(term)
        marks.append(_Mark(length, escape(f"::{hint}}}}}" if hint else "}}")))
        done = end + 2
    plain.append(code[done:])
    return "".join(plain), marks


def _tokens(code: str, language: str) -> list[tuple[_TokenType, str]]:
    from pygments.lexers import get_lexer_by_name
    from pygments.token import Token
    from pygments.util import ClassNotFound

    try:
        # The text as written: no newline added or taken away, tabs kept.
        lexer = get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return [(Token.Text, code)]
    return list(lexer.get_tokens(code))


def _class_of(kind: _TokenType) -> str:
    """The CSS class Pygments' HTML formatter gives a token (its nearest standard type's
    short name, and the rest of its name), "" for plain text."""
    from pygments.token import STANDARD_TYPES

    suffix = ""
    name = STANDARD_TYPES.get(kind)
    while name is None and kind.parent is not None:  # (the root, Token, is standard)
        suffix = kind[-1] + suffix
        kind = kind.parent
        name = STANDARD_TYPES.get(kind)
    return (name or "") + suffix


def known(language: str) -> bool:
    """Whether Pygments highlights a language of this name."""
    from pygments.lexers import find_lexer_class_by_name
    from pygments.util import ClassNotFound

    try:
        find_lexer_class_by_name(language)
    except ClassNotFound:
        return False
    return True


@functools.cache
def languages() -> frozenset[str]:
    """Every name of a language Pygments highlights (for a suggestion, when one is not)."""
    from pygments.lexers import get_all_lexers

    return frozenset(alias for _, aliases, _, _ in get_all_lexers() for alias in aliases)


def stylesheet() -> str:
    """The CSS of highlighted code, light and night: what style.css ends with (made by
    Pygments, its rules for the code blocks only)."""
    from pygments.formatters import HtmlFormatter

    scope = f".{CODE_CLASS}"
    light: str = HtmlFormatter(style=LIGHT_STYLE).get_style_defs(scope)  # type: ignore[no-untyped-call]
    nights = [f"{night} {scope}" for night in NIGHT_SELECTORS]
    night: str = HtmlFormatter(style=NIGHT_STYLE).get_style_defs(nights)  # type: ignore[no-untyped-call]
    rules = [
        line
        for line in (*light.splitlines(), *night.splitlines())
        if line.startswith((scope, *nights))
    ]
    return "\n".join(
        [
            f"{CODE_CSS_START}: {LIGHT_STYLE}, and {NIGHT_STYLE} at night."
            " Made by deckgen.highlight.stylesheet(). */",
            f"{scope} {{",
            "  border-radius: 6px;",
            "  padding: 0.6em 0.8em;",
            "  white-space: pre-wrap;",  # a long line wraps: no scrolling sideways on a phone
            "  text-align: left;",
            "  line-height: 1.4;",
            "}",
            f"{scope} code {{",
            "  background: none;",
            "  padding: 0;",
            "}",
            *rules,
            "",
        ]
    )
