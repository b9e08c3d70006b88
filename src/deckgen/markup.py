"""Note text -> safe HTML: Markdown with raw HTML off, pictures deckgen ships, formulas
passed to Anki's MathJax untouched, and the cloze syntax Anki reads."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Text with none of these characters, and not starting like a list item or a block of
# code, is one plain paragraph whose only Markdown is code spans: it skips the parser
# (most note text), and a property test holds the result to the parser's.
_MARKUP = re.compile(r"[\\\n\r\t\0\x0b\x0c]")
_BACKTICKS = re.compile(r"`+")
# (The lookahead lets the engine skip ahead to a `*` or `_`: a third less time on a line.)
_DELIMITERS = re.compile(r"(?=[*_])(?:\*+|_+)")
_LIST_START = re.compile(r"\s*(?:[-+*]|\d{1,9}[.)])(?:\s|\Z)")


@cache
def _markdown(pictures: bool = True) -> MarkdownIt:
    """Only what notes need: code spans and blocks, bold, emphasis, line breaks, simple
    lists, formulas and (in notes, not in deck.yaml) pictures. Raw HTML, links and entities stay
    off, so every `<` in a note is text."""
    from markdown_it import MarkdownIt

    markdown = MarkdownIt("zero", {"breaks": True, "html": False, "highlight": _highlight}).enable(
        ["backticks", "emphasis", "escape", "list", "newline", "fence"]
    )
    markdown.inline.ruler.before("escape", "formula", _formula)
    markdown.add_render_rule("formula", _render_formula)
    if pictures:
        markdown.enable("image")
        # A path as written: Anki matches a picture's name as written, never decoded.
        markdown.normalizeLink = lambda url: url  # type: ignore[method-assign]
        markdown.validateLink = lambda url: True  # type: ignore[method-assign]
        markdown.add_render_rule("image", _render_picture)
    return markdown


def _highlight(code: str, language: str, attributes: str) -> str:
    """A fenced block of code, highlighted (highlight.py)."""
    from deckgen.highlight import code_block

    return code_block(code, language)


# A formula for Anki's MathJax: `\( ... \)` inline, `\[ ... \]` for a block.
FORMULA = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)


def formulas(text: str) -> list[tuple[int, int]]:
    """Where the formulas of a text stand: (start, end) offsets."""
    return [match.span() for match in FORMULA.finditer(text)] if "\\" in text else []


def _formula(state: Any, silent: bool) -> bool:
    """Markdown's inline rule for a formula: kept whole, as text, so that no emphasis,
    code or backslash escape happens inside it."""
    if not state.src.startswith(("\\(", "\\["), state.pos):
        return False
    closer = "\\)" if state.src[state.pos + 1] == "(" else "\\]"
    end = state.src.find(closer, state.pos + 2, state.posMax)
    if end < 0:
        return False
    if not silent:
        token = state.push("formula", "", 0)
        token.content = state.src[state.pos : end + 2]
    state.pos = end + 2
    return True


def _render_formula(self: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
    return escape(tokens[index].content)


def _render_picture(self: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
    """A picture deckgen ships (its name made from its bytes, see media.py); anything
    else that reads as a picture is shown as the text it is."""
    from deckgen.media import NAME

    token = tokens[index]
    src = str(token.attrs.get("src", ""))
    alt = self.renderInlineAsText(token.children or [], options, env)
    if not NAME.match(src):
        return escape(f"![{alt}]({src})")
    return f'<img src="{escape(src)}" alt="{escape(alt)}">'


def pictures_in(text: str) -> list[str]:
    """The path of each picture a note's text shows, as written, in order."""
    if "![" not in text:
        return []
    found = []
    for block in _markdown().parse(text.strip()):
        for token in block.children or ():
            if token.type == "image":
                found.append(str(token.attrs.get("src", "")))
    return found


def to_html(text: str, pictures: bool = True) -> str:
    """Render a note's Markdown; a single paragraph comes out inline, without `<p>`.
    Without `pictures` (deck.yaml's text), `![...](...)` is text."""
    if not text:
        return ""
    text = text.strip()
    plain = (
        "\\" not in text
        # (Printable text has none of _MARKUP's other characters: a quicker test.)
        and (text.isprintable() or not _MARKUP.search(text))
        and not _LIST_START.match(text)
        and "![" not in text
        and not text.startswith(("```", "~~~"))  # a block of code, however short
    )
    if plain:
        if "`" not in text and "*" not in text and "_" not in text:
            return escape(text)
        fast = _inline(text)
        if fast is not None:
            return fast
    markdown = _markdown(pictures)
    tokens = markdown.parse(text)
    if not tokens:
        return ""
    if len(tokens) == 3 and tokens[0].type == "paragraph_open":
        tokens = tokens[1].children or []
    rendered: str = markdown.renderer.render(tokens, markdown.options, {})
    return rendered.strip()


def _inline(text: str) -> str | None:
    """One line of text whose only Markdown is code spans and at most one plain emphasis,
    as CommonMark renders it; None for anything more. A run of backticks opens a span that
    the next run of the same length closes, one space each side of the content is
    dropped, and an unmatched run is text; a `*` or `_` that can neither open nor close
    emphasis is text too."""
    runs = [run.span() for run in _BACKTICKS.finditer(text)] if "`" in text else []
    following: list[int | None] = [None] * len(runs)  # the next run of the same length
    last: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        length = runs[index][1] - runs[index][0]
        following[index] = last.get(length)
        last[length] = index
    spans: list[tuple[int, int, int, int]] = []  # opener start and end, closer start and end
    index = 0
    while index < len(runs):
        closer = following[index]
        if closer is None:
            index += 1
            continue
        spans.append((*runs[index], *runs[closer]))
        index = closer + 1
    active: list[re.Match[str]] = []  # marks that may open or close emphasis
    span = 0
    for mark in _DELIMITERS.finditer(text) if "*" in text or "_" in text else ():
        at = mark.start()
        while span < len(spans) and spans[span][3] <= at:
            span += 1
        inside = span < len(spans) and spans[span][0] < at
        if inside or _inert(text, at, mark.end()):
            continue
        active.append(mark)
        if len(active) > 2:
            return None
    # What becomes a tag: each code span (its content kept), then the emphasis, in order.
    edits = [(start, end, "code", text[c_start:c_end]) for start, c_start, c_end, end in spans]
    if active:
        opener, closer = active[0].start(), active[-1].start()
        if len(active) != 2 or not _emphasis(text, opener, closer):
            return None
        emphasis = [(opener, opener + 1, "<em>", ""), (closer, closer + 1, "</em>", "")]
        edits = sorted(edits + emphasis) if edits else emphasis
    # (Most text has nothing to escape: then its pieces are not looked through again.)
    escaped = escape if "&" in text or "<" in text or ">" in text or '"' in text else str
    out: list[str] = []
    done = 0
    for start, end, what, content in edits:
        out.append(escaped(text[done:start]))
        if what == "code":
            if content.startswith(" ") and content.endswith(" ") and content.strip():
                content = content[1:-1]
            out += ["<code>", escaped(content), "</code>"]
        else:
            out.append(what)
        done = end
    out.append(escaped(text[done:]))
    return "".join(out)


# Neighbours of an emphasis mark whose meaning is plain: ASCII letters and digits, spaces,
# and common punctuation. Anything else is left to the parser.
_PUNCTUATION = frozenset(".,;:!?()[]'\"")


def _emphasis(text: str, opener: int, closer: int) -> bool:
    """Whether single `*` at `opener` and `closer` plainly make one emphasis: the first
    can only open (space or punctuation before, a letter after) and the second can only
    close (a letter before, space or punctuation after)."""
    if text[opener] != "*" or text[closer] != "*" or closer - opener < 2:
        return False
    before = text[opener - 1] if opener > 0 else " "
    after = text[closer + 1] if closer + 1 < len(text) else " "
    first, last = text[opener + 1], text[closer - 1]
    return (
        (before == " " or before in _PUNCTUATION)
        and first.isascii()
        and first.isalnum()
        and last.isascii()
        and last.isalnum()
        and (after == " " or after in _PUNCTUATION)
    )


def _inert(text: str, start: int, end: int) -> bool:
    """Whether a run of `*` or `_` can neither open nor close emphasis: spaces (or the
    text's ends) on both sides, or for `_` only, letters or digits on both sides."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before.isspace() and after.isspace():
        return True
    return (
        text[start] == "_"
        and set(text[start:end]) == {"_"}
        and before.isalnum()
        and after.isalnum()
    )


def visible_text(fragment: str) -> str:
    """The text a reader sees in some HTML: tags dropped, entities decoded, spaces folded."""
    import html

    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


_TAG = re.compile(r"<[^>]+>")


def escape(text: str) -> str:
    """Escape text as Markdown's renderer does: &, <, > and double quotes."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


_CLOZE_OPEN = re.compile(r"\{\{c(\d+)::", re.IGNORECASE)
_BRACES = re.compile(r"\{\{|\}\}")
_NOT_A_CLOZE = "'{{' does not open a cloze: write {{c1::term}}"
_IN_FORMULA = (
    "inside a formula, a cloze that ends in '}' closes too early: Anki takes the first"
    " '}}' of '}}}' as its end; put a space before it, {{c1::\\frac{1}{2} }}"
)
_NUMBER_ZERO = "cloze numbers start at 1: write {{c1::...}}"
_NESTED = "a cloze inside another cloze is not supported"


class ClozeProblem(NamedTuple):
    """Malformed cloze markup at a character offset of the text."""

    offset: int
    code: str
    message: str


class Clozes(NamedTuple):
    """The cloze numbers a text uses (one card each) and what is wrong with its markup."""

    numbers: frozenset[int]
    problems: tuple[ClozeProblem, ...]


def _spans_test(spans: list[tuple[int, int]]) -> Callable[[int], bool]:
    """Whether an offset is inside one of some (sorted, apart) spans."""
    starts = [start for start, _ in spans]

    def inside(at: int) -> bool:
        index = bisect.bisect_right(starts, at) - 1
        return index >= 0 and at < spans[index][1]

    return inside


def parse_clozes(text: str) -> Clozes:
    """Read `{{cN::term}}` and `{{cN::term::hint}}` as Anki does; report what it would choke on."""
    numbers: set[int] = set()
    problems: list[ClozeProblem] = []
    spans = formulas(text)
    in_formula = _spans_test(spans) if spans else None

    # Open clozes: (offset, number or None for a malformed opener, where the term starts).
    stack: list[tuple[int, int | None, int]] = []
    for brace in _BRACES.finditer(text):
        offset = brace.start()
        if brace.group() == "{{":
            opener = _CLOZE_OPEN.match(text, offset)
            if opener is None and in_formula and in_formula(offset):
                continue  # TeX's own braces, which Anki leaves alone
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
            if not (in_formula and in_formula(offset)):
                problems.append(ClozeProblem(offset, "cloze-syntax", "'}}' closes no cloze"))
        else:
            if in_formula and text[offset + 2 : offset + 3] == "}" and in_formula(offset):
                problems.append(ClozeProblem(offset, "cloze-in-formula", _IN_FORMULA))
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
