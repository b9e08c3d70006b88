"""A note from Anki as notes text: each field converted to the text a note holds
(Markdown by the one converter, unmarkup.py; or, for a type that holds HTML, cleaned
HTML), and the keys a note's YAML holds it under. `deckgen pull` and `deckgen init --from`
both write notes with these, so what one brings back the other brings in alike.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, TypeGuard, TypeVar

from deckgen.notetypes import NoteType
from deckgen.shapes import words_of
from deckgen.source import MAX_VALUE
from deckgen.unmarkup import Converted, to_markdown

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")

# Where each field a user writes is kept in a note: its key, or a pair item's index and key.
KEYS: dict[str, tuple[str, ...]] = {
    "Text": ("fact",),
    "Trap": ("trap",),
    "Reality": ("reality",),
    "Difference": ("difference",),
    "Scenario": ("scenario",),
    "Answer": ("answer",),
    "Distractor": ("distractor",),
    "Why Not": ("why_not",),
    "Extra": ("extra",),
    **{f"Item {n} Name": ("pair", str(n - 1), "name") for n in (1, 2, 3)},
    **{f"Item {n} Meaning": ("pair", str(n - 1), "means") for n in (1, 2, 3)},
}


class Media(dict[str, str]):
    """The deck's pictures and sounds, each name in the package with its path from the
    notes file; and, made once for all its notes, each by either of its names (a deck
    brought from Anki names a file there by its file's own name) with its path, or with
    its name in the package."""

    @functools.cached_property
    def paths(self) -> dict[str, str]:
        paths = {os.path.basename(path): path for path in self.values()}
        paths.update(self)
        return paths

    @functools.cached_property
    def packaged(self) -> dict[str, str]:
        names = {os.path.basename(path): name for name, path in self.items()}
        names.update({name: name for name in self})
        return names


def media(pictures: Mapping[str, str] | None) -> Media:
    return pictures if isinstance(pictures, Media) else Media(pictures or {})


def convert_field(
    value: str, name: str, note_type: NoteType, pictures: dict[str, str] | None = None
) -> tuple[Converted | None, list[tuple[str, str]]]:
    """A field from Anki as its note's text: Markdown (see _convert), or, for a type that
    holds HTML, the HTML cleaned as a build cleans it (its pictures by their paths)."""
    if not note_type.holds_html:
        return convert(value, name, pictures)
    if len(value) > MAX_VALUE:
        return said(None, name)
    from deckgen.sanitize import clean

    cleaned = clean(value)
    told = [("html-cleaned", f"{name} from Anki held {', '.join(cleaned.removed)}: removed")]
    # A picture or sound by its name in the package, or by its file's own name (a deck
    # brought from Anki, whose notes there still name it so): as a build writes it, and
    # as the notes write it, by its path.
    files = media(pictures)
    html, text = media_named(cleaned.html, files.packaged), media_named(cleaned.html, files.paths)
    return Converted(text, html, ()), told if cleaned.removed else []


# The most HTML of a field converted: past it, its text could not fit in a note anyway.
MAX_FIELD_HTML = 20 * MAX_VALUE


def convert(
    value: str, name: str, pictures: dict[str, str] | None = None
) -> tuple[Converted | None, list[tuple[str, str]]]:
    """A field from Anki as note text (its pictures by their paths, see to_markdown), and
    what to say of it (code, message): what was reduced; or None, for one longer than a
    note's text can be."""
    return said(markdown(value, pictures), name)


def markdown(value: str, pictures: dict[str, str] | None = None) -> Converted | None:
    """A field from Anki as note text, or None for one longer than a note's text can be
    (the work of `convert`, which Converter does in a process per core for many)."""
    converted = to_markdown(value, pictures) if len(value) <= MAX_FIELD_HTML else None
    if converted is not None and "[sound:" in converted.text:
        files = media(pictures)
        text = sound_paths(converted.text, files)
        converted = converted._replace(text=text, html=sound_names(converted.html, files))
    return None if converted is None or len(converted.text) > MAX_VALUE else converted


def said(converted: Converted | None, name: str) -> tuple[Converted | None, list[tuple[str, str]]]:
    """A converted field, and what to say of it (code, message): what was reduced, or that
    it is too long (None)."""
    if converted is None:
        message = (
            f"{name} from Anki is over {MAX_VALUE:,} characters, the most a note's text"
            " holds: left as it is"
        )
        return None, [("too-long", message)]
    return converted, [("reduced", f"{name} from Anki: {what}") for what in converted.reduced]


class Converter:
    """The work on a deck's fields (each converted by `markdown`, each note written), in
    order: for a deck of many fields, in a process per core, a chunk at a time, while
    the caller uses what is done (the same functions, whichever process runs them)."""

    CHUNK = 256  # fields, or notes, a process takes at a time
    MANY = 4_000  # fields: from this many on, processes

    def __init__(self, pictures: Mapping[str, str], fields: int) -> None:
        self.pictures = media(pictures)
        workers = min(os.cpu_count() or 1, 4) if fields >= self.MANY else 1
        self.pool: ProcessPoolExecutor | None = None
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(workers, initializer=_start, initargs=(self.pictures,))
            # Its processes started now, all of them (by the first task given): none is
            # started once the caller has started a thread beside them.
            self.pool.submit(int)

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def submit(self, function: Callable[..., R], *args: object) -> Future[R] | None:
        """`function(*args)` run in one of the processes, if there are any (None if not)."""
        return self.pool.submit(function, *args) if self.pool is not None else None

    def lossless(self, values: list[str]) -> Generator[Converted | None, None, None]:
        """Each value converted (its pictures as none of the deck's: as HTML), up to the
        first that does not come back as it was (`comes_back`), or a little past it: each
        chunk stops at its first."""
        return self.map(_while_lossless, values)

    def map(
        self, function: Callable[[list[T], Media], list[R]], items: list[T]
    ) -> Generator[R, None, None]:
        """What `function` makes of each chunk of the items, given the deck's pictures, in
        order: a chunk not yet begun is never begun once the caller stops asking."""
        chunks = [items[i : i + self.CHUNK] for i in range(0, len(items), self.CHUNK)]
        if self.pool is None:
            return (result for chunk in chunks for result in function(chunk, self.pictures))
        return _results([self.pool.submit(_run, function, chunk) for chunk in chunks])


def _results(futures: list[Future[list[R]]]) -> Generator[R, None, None]:
    try:
        for future in futures:
            yield from future.result()
    finally:
        for future in futures:
            future.cancel()


_PICTURES = Media()  # (in a converting process: the deck's pictures)


def _start(pictures: Media) -> None:
    from deckgen.children import follow_parent

    follow_parent()
    global _PICTURES
    _PICTURES = pictures


def _run(function: Callable[[list[T], Media], list[R]], items: list[T]) -> list[R]:
    return function(items, _PICTURES)


def comes_back(converted: Converted | None, value: str) -> TypeGuard[Converted]:
    """Whether a field's Markdown renders as the field is."""
    return converted is not None and converted.html == value


def _while_lossless(values: list[str], pictures: Media) -> list[Converted | None]:
    converted = []
    for value in values:
        converted.append(done := markdown(value))
        if not comes_back(done, value):
            break
    return converted


def sound_paths(text: str, pictures: Mapping[str, str]) -> str:
    """Each `[sound:name]` of a sound the deck ships, by its path from the notes file (a
    sound named by its file's own name too, as a deck brought from Anki names it there)."""
    paths = media(pictures).paths
    return _SOUND.sub(lambda m: f"[sound:{paths.get(m.group(1), m.group(1))}]", text)


def sound_names(html: str, pictures: Mapping[str, str]) -> str:
    """Each `[sound:name]` of a sound the deck ships by its name in the package, as a build
    writes it (one named by its file's own name too)."""
    names = media(pictures).packaged
    return _SOUND.sub(lambda m: f"[sound:{names.get(m.group(1), m.group(1))}]", html)


_SOUND = re.compile(r"\[sound:([^\]\n]+)\]")


def media_named(html: str, names: Mapping[str, str]) -> str:
    """Each picture (`src="name"`) and sound (`[sound:name]`) of a field's HTML that `names`
    holds, by the name it gives it: in one pass, however many files the deck has (each
    `src="` and `[sound:` looked at where it stands, as `str.replace` of each would)."""
    if not names or ("src=" not in html and "[sound:" not in html):
        return html
    out: list[str] = []
    done = 0
    for match in _NAMED.finditer(html):
        picture, sound = match.group(1, 2)
        name = picture if picture is not None else sound
        new = names.get(name)
        if new is None or match.start() < done:
            continue
        start = match.start() + (len('src="') if picture is not None else len("[sound:"))
        out += [html[done:start], new]
        done = start + len(name)
    out.append(html[done:])
    return "".join(out)


# Where each `src="..."` or `[sound:...]` begins, however they overlap (a lookahead).
_NAMED = re.compile(r'(?=src="([^"]*)"|\[sound:([^\]]*)\])')


class Taken(set[str]):
    """The note ids a deck has taken, and, for each id made from a note's first words,
    the number its next namesake is tried at: where many notes start alike (`Which of
    the following ...`), each number is tried once, not again for every note. (Ids are
    only ever added: a number found taken stays taken.)"""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        super().__init__(ids)
        self.tried: dict[str, int] = {}

    def unique(self, base: str) -> str:
        """`base`, or the first of `base-2`, `base-3`, ... not taken."""
        if base not in self:
            return base
        number = self.tried.get(base, 2)
        while f"{base}-{number}" in self:
            number += 1
        self.tried[base] = number
        return f"{base}-{number}"


_CLOZE_MARKUP = re.compile(r"\{\{c\d+::|::[^}]*\}\}|\}\}")  # what a slug leaves out of a cloze


def slug_for(text: str, kind: str, taken: Taken) -> str:
    """A note id from its text: its first words, lower case, unique in the deck."""
    plain = _CLOZE_MARKUP.sub(" ", text)
    words = words_of(plain)
    base = ""
    for word in words:
        if len(base) + len(word) + 1 > 48 or base.count("-") >= 5:
            break
        base = f"{base}-{word}" if base else word
    return taken.unique(base or f"{kind}-from-anki")


def note_entries(
    note_type: NoteType,
    note_id: str,
    guid: str | None,
    fields: dict[str, str],
    tags: list[str],
) -> list[tuple[str, object]]:
    """A note's keys and values as its YAML holds them, from its fields' text by field
    name: a declared type's by name, a kind's under its own keys (a pair's items)."""
    entries: list[tuple[str, object]] = [("id", note_id)]
    if guid is not None:
        entries.append(("guid", guid))
    if note_type.declared:
        entries.append(("type", note_type.name))
        entries += [(name, fields[name]) for name in note_type.field_names if fields.get(name)]
        return [*entries, ("tags", tags)] if tags else entries
    if note_type.kind == "pair":
        items = []
        for n in (1, 2, 3):
            name, means = fields.get(f"Item {n} Name", ""), fields.get(f"Item {n} Meaning", "")
            if name or means:
                items.append([("name", name), ("means", means)])
        entries.append(("pair", items))
    for name in note_type.written:
        keys, text = KEYS[name], fields.get(name, "")
        if len(keys) == 1 and text:
            entries.append((keys[0], text))
    if tags:
        entries.append(("tags", tags))
    return entries
