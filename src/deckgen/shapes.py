"""The shapes every YAML file of deckgen shares: mappings, lists, text, slugs and tags.

A `Checker` reads one file's nodes and collects each problem where it stands; the rules
of deck.yaml and of each kind of note (validate.py, kinds/) are written with it.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from deckgen.diagnostics import Collected, Diagnostic, Level, Position
from deckgen.markup import Clozes, parse_clozes, pictures_in
from deckgen.media import SOUND_FORMATS, Pictures, Refusal
from deckgen.source import MERGE, NULL, STR, Mapping, Node, Scalar, Sequence, SourceFile

Entries = dict[str, tuple[Scalar, Node]]  # a mapping's key and value nodes, by key
Fields = dict[str, Any]  # a kind's own fields, as keyword arguments of its note class

DECK_FILE = "deck.yaml"
RESERVED_TAG_PREFIXES = ("domain::", "kind::", "deckgen::")
MAX_TAG = 100  # characters in a tag

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_SPACE = re.compile(r"\s")
# Control characters other than tab and line breaks: YAML's escapes ("\x1f") let them in.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_YAML_TYPES = {
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:null": "null",
}
# `![alt](path)` as written, to tell one whose path has a space (Markdown reads it as
# text, not a picture). One class a part, so that no text makes it try more than once.
# Anki's sound reference, `[sound:path]`, as written.
_SOUND = re.compile(r"\[sound:([^\]\n]+)\]")
# A picture's path in cleaned HTML (nh3 writes every attribute in double quotes).
_IMG_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]*)(")')
# A fenced block of code's opening line, and the language it names.
_FENCE = re.compile(r"^ {0,3}(?:`{3,}|~{3,})[ \t]*([^\s`{]+)", re.MULTILINE)
_LOOKS_LIKE_A_PICTURE = re.compile(r"!\[([^\]\n]*)\]\(([^)<>\n]*)\)")


class Checker:
    """Checks one file's nodes, collecting every problem with its position (the first
    of each level shown, every one counted: diagnostics.Collected)."""

    def __init__(
        self,
        source: SourceFile,
        vocabulary: frozenset[str] | None = None,
        pictures: Pictures | None = None,
    ) -> None:
        self.source = source
        self.vocabulary = vocabulary  # the tags notes may use; None: any
        self.pictures = pictures  # of a notes file: its text may show pictures
        self.collected = Collected()

    @property
    def problems(self) -> list[Diagnostic]:
        return self.collected.shown_problems()

    def report(
        self, position: Position, code: str, message: str, level: Level = Level.ERROR
    ) -> None:
        self.collected.add(Diagnostic(self.source.path, position, code, message, level))

    def mapping(
        self,
        node: Node,
        what: str,
        allowed: tuple[str, ...],
        explain: Callable[[str], str | None] = lambda key: None,
    ) -> Entries | None:
        """A mapping's entries by key; reports duplicate and unknown keys."""
        if type(node) is not Mapping:
            self.report(node.position, "wrong-type", f"{what} must be a mapping of keys to values")
            return None
        entries: Entries = {}
        for key_node, value_node in node.entries:
            if type(key_node) is not Scalar or key_node.tag != STR:
                message = (
                    "merge keys ('<<') are not supported: write the keys out"
                    if type(key_node) is Scalar and key_node.tag == MERGE
                    else f"keys of {what} must be plain words"
                )
                self.report(key_node.position, "wrong-type", message)
                continue
            key = key_node.value
            if key in entries:
                first = entries[key][0].position
                message = f"duplicate key '{key}' (first at line {first.line}, column {first.col})"
                self.report(key_node.position, "duplicate-key", message)
                continue
            entries[key] = (key_node, value_node)
            if key not in allowed:
                message = explain(key) or unknown(f"key '{key}'", key, allowed, 0.6)
                self.report(key_node.position, "unknown-key", message)
        return entries

    def sequence(self, node: Node, what: str, example: str) -> list[Node] | None:
        if type(node) is not Sequence:
            self.report(node.position, "wrong-type", f"{what} must be a list, e.g. {example}")
            return None
        return node.items

    def text(
        self, entries: Entries, key: str, *, required: bool = True, markdown: bool = True
    ) -> str | None:
        """The text under `key`; reports a non-text value, and empty text if required.
        Its Markdown pictures (unless it is not `markdown`) by their names in the package."""
        if key not in entries:
            return None
        key_node, node = entries[key]
        if type(node) is Scalar and node.tag == STR:
            if not node.value.strip():
                if required:
                    self.report(node.position, "empty-text", f"'{key}' is empty")
                return None
            # Only the escapes of double quotes let one in: YAML allows none in a file.
            control = _CONTROL.search(node.value) if node.style == '"' else None
            if control is not None:
                code = f"U+{ord(control.group()):04X}"
                why = "Anki reads as a field separator" if code == "U+001F" else "no card shows"
                message = f"'{key}' holds a control character, {code}, which {why}: remove it"
                self.report(node.position, "control-character", message)
                return None
            text = node.value
            if markdown and ("```" in text or "~~~" in text):
                self._code_blocks(node)
            if self.pictures is not None and markdown and "![" in text:
                text = self._pictures(node, self.pictures)
            if self.pictures is not None and "[sound:" in text:
                text = self._sounds(node, text, self.pictures)
            return text
        if type(node) is Scalar and node.tag == NULL:
            if required:
                self.report(key_node.position, "empty-text", f"'{key}' has no value")
            return None
        self.report(node.position, "wrong-type", self.not_text(f"'{key}'", node))
        return None

    def field(self, entries: Entries, key: str, *, holds_html: bool) -> str | None:
        """A field's text (None if empty): Markdown, or HTML cleaned (sanitize.py), what
        cleaning removed warned of, and its pictures given their names in the package."""
        if not holds_html:
            return self.text(entries, key, required=False)
        node = entries[key][1]
        text = self.text(entries, key, required=False, markdown=False)
        if text is None:
            return None
        from deckgen.sanitize import clean  # (nh3 loaded only for a deck that needs it)

        cleaned = clean(text)
        if cleaned.removed:
            message = f"'{key}' held HTML a card must not run or load; removed: " + ", ".join(
                cleaned.removed
            )
            self.report(node.position, "html-cleaned", message, Level.WARNING)
        return self._html_pictures(node, cleaned.html) if self.pictures else cleaned.html

    def _html_pictures(self, node: Node, html: str) -> str:
        """Each `<img src>` of the notes folder, by its name in the package."""
        assert self.pictures is not None

        def named(match: re.Match[str]) -> str:
            src = match.group(2)
            found = self.pictures.resolve(src) if self.pictures else None
            if isinstance(found, Refusal):
                self.report(node.position, found.code, found.message)
                return match.group(0)
            assert found is not None
            return f"{match.group(1)}{found.name}{match.group(3)}"

        return _IMG_SRC.sub(named, html)

    def _sounds(self, node: Scalar, text: str, pictures: Pictures) -> str:
        """Anki's `[sound:path]`, each checked at its path's place, and given the sound's
        name in the package."""
        for match in _SOUND.finditer(node.value):
            src = match.group(1)
            found = pictures.resolve(src, SOUND_FORMATS)
            if isinstance(found, Refusal):
                [position] = self.source.positions_in(node, [match.start(1)])
                self.report(position, found.code.replace("picture", "sound"), found.message)
            else:
                text = text.replace(match.group(0), f"[sound:{found.name}]")
        return text

    def _pictures(self, node: Scalar, pictures: Pictures) -> str:
        """A text's pictures checked, each at its path's place; the text with each path
        given as the picture's name in the package."""
        text = node.value
        edits: list[tuple[int, int, str]] = []
        searched = 0
        shown = pictures_in(text)
        for src in shown:
            at = text.find(src, searched) if src else -1
            searched = at + len(src) if at >= 0 else searched
            found = pictures.resolve(src)
            if isinstance(found, Refusal):
                offset = at if at >= 0 else 0
                [position] = self.source.positions_in(node, [offset])
                self.report(position, found.code, found.message)
            elif at >= 0:
                edits.append((at, at + len(src), found.name))
            else:
                message = f"'{src}' is written with escapes: write the path as it is"
                self.report(node.position, "picture-missing", message)
        for start, end, name in reversed(edits):
            text = text[:start] + name + text[end:]
        self._not_pictures(node, shown)
        return text

    def _not_pictures(self, node: Scalar, shown: list[str]) -> None:
        """What looks like a picture and is not one (`shown`: the paths of those that
        are): a path with a space, which Markdown takes only in angle brackets (the card
        would show the text)."""
        text = node.value
        ticks, counted = 0, 0  # backticks before the match: in code, it is meant as text
        for match in _LOOKS_LIKE_A_PICTURE.finditer(text):
            path = match.group(2)
            ticks += text.count("`", counted, match.start())
            counted = match.start()
            if " " not in path.strip() or ticks % 2 or path.split()[0] in shown:
                continue  # one path; in code, meant as text; or a picture with a title
            [position] = self.source.positions_in(node, [match.start(2)])
            fixed = f"![{match.group(1)}](<{path}>)"
            message = (
                f"this is not a picture, and the card shows it as text: a path with a space"
                f" goes in angle brackets, {fixed}"
            )
            self.report(position, "picture-space", message, Level.WARNING)

    def _code_blocks(self, node: Scalar) -> None:
        """Warn of a fenced block of code that will not show as meant: in folded text,
        whose line breaks YAML takes away, or in a language Pygments does not know."""
        if node.style == ">":
            message = (
                "a block of code in folded text ('>'), which joins its lines: write the text"
                " with '|', which keeps them"
            )
            self.report(node.position, "code-folded", message, Level.WARNING)
            return
        from deckgen.highlight import known, languages

        for match in _FENCE.finditer(node.value):
            language = match.group(1)
            if known(language):
                continue
            [position] = self.source.positions_in(node, [match.start(1)])
            hint = _close(language.lower(), languages(), 0.7)
            advice = f"did you mean '{hint}'?" if hint else "see Pygments' list of languages"
            message = (
                f"'{language}' is not a language deckgen highlights ({advice}): the code is"
                " shown without colours"
            )
            self.report(position, "unknown-language", message, Level.WARNING)

    def clozes(self, node: Scalar) -> Clozes | None:
        """A text's clozes, read as written (so their offsets are the file's); each
        problem reported at its place, and None, if it has any."""
        clozes = parse_clozes(node.value)
        if not clozes.problems:
            return clozes
        offsets = [problem.offset for problem in clozes.problems]
        places = self.source.positions_in(node, offsets)
        for problem, position in zip(clozes.problems, places, strict=True):
            self.report(position, problem.code, problem.message)
        return None

    def required(self, entries: Entries, keys: tuple[str, ...], owner: Node, what: str) -> None:
        for key in keys:
            if key not in entries:
                self.report(owner.position, "missing-key", f"{what} needs '{key}'")

    def slug(self, entries: Entries, key: str) -> str | None:
        value = self.text(entries, key)
        if value is not None and not _SLUG.match(value):
            example = slug_of(value, 40) or "my-note"
            message = (
                f"'{key}' must be a slug of lowercase letters, digits and single hyphens,"
                f" like '{example}'"
            )
            self.report(entries[key][1].position, "bad-id", message)
            return None
        return value

    def tags(self, entries: Entries) -> tuple[str, ...] | None:
        """A list of tags: each a word of levels (`topic::drift`), one the deck declares."""
        if "tags" not in entries:
            return ()
        items = self.sequence(entries["tags"][1], "'tags'", "[topic::basics]")
        if items is None:
            return None
        tags: dict[str, None] = {}
        valid = True
        for item in items:
            if type(item) is not Scalar or item.tag != STR:
                self.report(item.position, "wrong-type", self.not_text("a tag", item))
                valid = False
                continue
            problem = self.tag_problem(item.value)
            if problem is not None:
                self.report(item.position, *problem)
                valid = False
            tags[item.value] = None
        return tuple(tags) if valid else None

    def not_text(self, label: str, node: Node) -> str:
        """Why a node is not the text asked for: YAML read it as something else (the
        advice shows the whole value as written, quoted)."""
        if type(node) is not Scalar:
            shape = "a list" if type(node) is Sequence else "a mapping"
            return f"{label} must be text, not {shape}"
        written = self.source.text[node.start : node.end]
        quoted = json.dumps(written, ensure_ascii=False)
        if node.tag in _YAML_TYPES:  # read as a value: the value is what to quote
            kind = _YAML_TYPES[node.tag]
            reads = f"YAML reads '{node.value}' as {kind}"
            return f"{label} must be text, but {reads}: put it in quotes, {json.dumps(node.value)}"
        tag = written.split()[0]
        if node.style is not None:  # the tag stands before text quoted or in a block
            return f"{label} must be text, but YAML reads '{tag}' as a tag on it: remove the tag"
        return (
            f"{label} must be text, but YAML reads the '{tag}' it starts with as a tag: put"
            f" it in quotes, {quoted}"
        )

    def tag_problem(self, tag: str) -> tuple[str, str] | None:
        """What is wrong with a tag, if anything."""
        return _tag_problem(tag, self.vocabulary)


def words_of(text: str) -> list[str]:
    """A text's words as a slug has them: lower case, letters with an ASCII form (`café`
    -> `cafe`) and digits."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _WORD.findall(plain.lower())


_WORD = re.compile(r"[a-z0-9]+")


def slug_of(text: str, most: int) -> str:
    """A slug from a text's words, of up to `most` characters ("" if it has none)."""
    slug = ""
    for word in words_of(text):
        if slug and len(slug) + 1 + len(word) > most:
            break
        slug = f"{slug}-{word}" if slug else word[:most]
    return slug


@functools.lru_cache(maxsize=4096)
def _tag_problem(tag: str, vocabulary: frozenset[str] | None) -> tuple[str, str] | None:
    """(Remembered: a deck uses a few tags many times.)"""
    if len(tag) > MAX_TAG:
        return "bad-tag", f"a tag of {len(tag):,} characters; tags have {MAX_TAG} at most"
    if _CONTROL.search(tag):
        return "bad-tag", "a tag holds a control character: remove it"
    if _SPACE.search(tag):
        return "bad-tag", f"tag '{tag}' has a space; Anki splits tags on spaces: use '-' instead"
    if any(not part for part in tag.split("::")):
        levels = "::".join(part for part in tag.split("::") if part)
        fix = f"did you mean '{levels}'?" if levels else "levels are words, as in 'topic::basics'"
        return "bad-tag", f"tag '{tag}' has an empty level ({fix})"
    if tag.casefold().startswith(RESERVED_TAG_PREFIXES):
        return (
            "reserved-tag",
            f"tag '{tag}' is reserved: deckgen adds domain::, kind:: and deckgen:: tags",
        )
    if vocabulary is not None and tag not in vocabulary:
        hint = _close(tag, vocabulary, 0.8)
        advice = f"did you mean '{hint}'?" if hint else f"add it to 'tags' in {DECK_FILE}"
        return "unknown-tag", f"tag '{tag}' is not one of the deck's tags ({advice})"
    return None


def unknown(what: str, word: str, known: tuple[str, ...], cutoff: float = 0.6) -> str:
    """`unknown key 'x' (did you mean 'y'?)`, or the words known."""
    hint = _close(word, known, cutoff)
    advice = f"did you mean '{hint}'?" if hint else f"expected one of: {', '.join(known)}"
    return f"unknown {what} ({advice})"


@functools.lru_cache(maxsize=4096)
def _close(word: str, known: tuple[str, ...] | frozenset[str], cutoff: float) -> str | None:
    """The known word most like `word`, if one is close enough. (Words far longer than any
    known one are not compared: their likeness would cost time and find nothing.)"""
    if not known or len(word) > 2 * max(map(len, known)):
        return None
    import difflib  # only when there is a problem to explain

    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=cutoff)
    return close[0] if close else None
