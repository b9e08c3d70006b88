"""A note from Anki as notes text: each field converted to the text a note holds
(Markdown by the one converter, unmarkup.py; or, for a type that holds HTML, cleaned
HTML), and the keys a note's YAML holds it under. `deckgen pull` and `deckgen init --from`
both write notes with these, so what one brings back the other brings in alike.
"""

from __future__ import annotations

import os
import re

from deckgen.notetypes import NoteType
from deckgen.shapes import words_of
from deckgen.source import MAX_VALUE
from deckgen.unmarkup import Converted, to_markdown

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


def convert_field(
    value: str, name: str, note_type: NoteType, pictures: dict[str, str] | None = None
) -> tuple[Converted | None, list[tuple[str, str]]]:
    """A field from Anki as its note's text: Markdown (see _convert), or, for a type that
    holds HTML, the HTML cleaned as a build cleans it (its pictures by their paths)."""
    if not note_type.holds_html:
        return convert(value, name, pictures)
    if len(value) > MAX_VALUE:
        message = (
            f"{name} from Anki is over {MAX_VALUE:,} characters, the most a note's text"
            " holds: left as it is"
        )
        return None, [("too-long", message)]
    from deckgen.sanitize import clean

    cleaned = clean(value)
    said = [("html-cleaned", f"{name} from Anki held {', '.join(cleaned.removed)}: removed")]
    # A picture or sound by its name in the package, or by its file's own name (a deck
    # brought from Anki, whose notes there still name it so): as a build writes it, and
    # as the notes write it, by its path.
    html = text = cleaned.html
    for packaged, written in (pictures or {}).items():
        for named in dict.fromkeys((packaged, os.path.basename(written))):
            for before, after in (('src="{}"', 'src="{}"'), ("[sound:{}]", "[sound:{}]")):
                html = html.replace(before.format(named), after.format(packaged))
                text = text.replace(before.format(named), after.format(written))
    return Converted(text, html, ()), said if cleaned.removed else []


# The most HTML of a field converted: past it, its text could not fit in a note anyway.
MAX_FIELD_HTML = 20 * MAX_VALUE


def convert(
    value: str, name: str, pictures: dict[str, str] | None = None
) -> tuple[Converted | None, list[tuple[str, str]]]:
    """A field from Anki as note text (its pictures by their paths, see to_markdown), and
    what to say of it (code, message): what was reduced; or None, for one longer than a
    note's text can be."""
    converted = to_markdown(value, pictures) if len(value) <= MAX_FIELD_HTML else None
    if converted is not None and "[sound:" in converted.text:
        text = sound_paths(converted.text, pictures or {})
        converted = converted._replace(text=text, html=sound_names(converted.html, pictures or {}))
    if converted is None or len(converted.text) > MAX_VALUE:
        message = (
            f"{name} from Anki is over {MAX_VALUE:,} characters, the most a note's text"
            " holds: left as it is"
        )
        return None, [("too-long", message)]
    return converted, [("reduced", f"{name} from Anki: {what}") for what in converted.reduced]


def sound_paths(text: str, pictures: dict[str, str]) -> str:
    """Each `[sound:name]` of a sound the deck ships, by its path from the notes file (a
    sound named by its file's own name too, as a deck brought from Anki names it there)."""
    paths = {os.path.basename(path): path for path in pictures.values()}
    paths.update(pictures)
    return _SOUND.sub(lambda m: f"[sound:{paths.get(m.group(1), m.group(1))}]", text)


def sound_names(html: str, pictures: dict[str, str]) -> str:
    """Each `[sound:name]` of a sound the deck ships by its name in the package, as a build
    writes it (one named by its file's own name too)."""
    names = {os.path.basename(path): packaged for packaged, path in pictures.items()}
    return _SOUND.sub(lambda m: f"[sound:{names.get(m.group(1), m.group(1))}]", html)


_SOUND = re.compile(r"\[sound:([^\]\n]+)\]")


def slug_for(text: str, kind: str, taken: set[str]) -> str:
    """A note id from its text: its first words, lower case, unique in the deck."""
    plain = re.sub(r"\{\{c\d+::|::[^}]*\}\}|\}\}", " ", text)
    words = words_of(plain)
    base = ""
    for word in words:
        if len(base) + len(word) + 1 > 48 or base.count("-") >= 5:
            break
        base = f"{base}-{word}" if base else word
    base = base or f"{kind}-from-anki"
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


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
