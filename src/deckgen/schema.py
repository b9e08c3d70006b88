"""The notes' format as JSON Schema, for editors: what `deckgen check` takes, told to any
editor that reads schemas (VS Code's YAML extension, any yaml-language-server client), so
that keys complete and a misspelt key or a wrong type is underlined as one types.

Made from the same values the checks use (validate.py's keys, each kind's KEYS, declared
note types, the deck's tags, the bounds of source.py), for one deck: `deckgen schema`
writes it into the deck's folder, and each file names it in its first line. A schema
only ever accepts more than `check` does: what it cannot say stays with `check` (a
cloze's syntax, duplicate ids, pictures), and so do YAML 1.1's readings (editors read
YAML 1.2: `no` is text to them, `1e3` a number; deckgen reads them the other way round).
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from yaml.resolver import Resolver

from deckgen import declared, validate
from deckgen.files import read_bytes, write_all
from deckgen.kinds import KINDS, pair
from deckgen.notetypes import NoteType
from deckgen.shapes import DECK_FILE, MAX_TAG, RESERVED_TAG_PREFIXES
from deckgen.source import BOOL, MAX_ITEMS, MAX_KEYS, MAX_VALUE

DECK_SCHEMA = "deck.schema.json"
NOTES_SCHEMA = "notes.schema.json"
_DRAFT = "http://json-schema.org/draft-07/schema#"


# Python's whitespace (what `str.strip` and `\s` remove: str.isspace), spelled for any
# regex dialect: a schema's patterns are ECMA-262's, whose `\s` differs (it holds U+FEFF,
# say). test_schema holds it to every code point.
SPACE = (
    "\\u0009\\u000a\\u000b\\u000c\\u000d\\u001c\\u001d\\u001e\\u001f\\u0020\\u0085\\u00a0"
    "\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
_SLUG = "^[a-z0-9]+(?:-[a-z0-9]+)*$"
_GUID = "^[!-~]{1,64}$"
# YAML 1.1's booleans, as deckgen reads them (PyYAML's rule, as source.py resolves plain
# values), that a YAML 1.2 editor reads as text: the rule's words, without its spacing.
_YES_NO = "".join(
    next(rule.pattern for tag, rule in Resolver.yaml_implicit_resolvers["y"] if tag == BOOL).split()
)
_MAX_ID = 2**63 - 1


class Deck(Protocol):
    """What the notes' schema is made from: deck.yaml as checked (its DeckHeader), or a
    deck as loaded."""

    @property
    def name(self) -> str: ...
    @property
    def tags(self) -> frozenset[str] | None: ...
    @property
    def note_types(self) -> Mapping[str, NoteType]: ...


_MODELINE = "# yaml-language-server: $schema="


def modeline(notes_dir: Path, path: Path) -> str:
    """The first line of a file of the deck, naming its schema (from the file's folder)."""
    name = DECK_SCHEMA if path == notes_dir / DECK_FILE else NOTES_SCHEMA
    return f"{_MODELINE}{'../' if path.parent != notes_dir else ''}{name}\n"


def names_schema(text: str) -> bool:
    """Whether a file's text names a schema (in any of its first lines of comments)."""
    for line in text.lstrip("\ufeff").splitlines():
        if not line.startswith("#"):
            return False
        if line.startswith(_MODELINE):
            return True
    return False


def files(notes_dir: Path, deck: Deck) -> dict[Path, bytes]:
    """Both schemas of the deck, by where they go in its folder."""
    return {
        notes_dir / DECK_SCHEMA: _dumps(deck_schema()),
        notes_dir / NOTES_SCHEMA: _dumps(notes_schema(deck)),
    }


def write(notes_dir: Path, deck: Deck) -> list[Path]:
    """Both schemas of the deck, into its folder; the files written (none that already
    held what they would hold)."""
    made = files(notes_dir, deck)
    changed = {path: data for path, data in made.items() if not _holds(path, data)}
    if changed:
        write_all(changed)
    return list(changed)


def refresh(notes_dir: Path, deck: Deck) -> list[Path]:
    """The schemas made again for the deck as it is now, if its folder has them (a build
    keeps them up to date with deck.yaml's tags and note types); the files written."""
    if not (notes_dir / NOTES_SCHEMA).is_file() or (notes_dir / NOTES_SCHEMA).is_symlink():
        return []  # (a deck without schemas is given none)
    return write(notes_dir, deck)


def _dumps(schema: dict[str, Any]) -> bytes:
    return (json.dumps(schema, indent=2, ensure_ascii=False) + "\n").encode()


def _holds(path: Path, data: bytes) -> bool:
    """Whether a file (a regular one, not a link) holds these bytes: never read past
    their length, nor waited on (files.read_bytes)."""
    try:
        if path.is_symlink():
            return False
        kind, _, content = read_bytes(path, len(data))
    except OSError:
        return False
    return kind == stat.S_IFREG and content == data


# What every value is: text, as deckgen reads it (or a number, as an editor may read it).
def _text(description: str = "", *, required: bool = True) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "type": ["string", "number"] if required else ["string", "number", "null"],
        "maxLength": MAX_VALUE,
    }
    if required:  # not empty, nor only spaces
        shape["pattern"] = f"[^{SPACE}]"
    if description:
        shape["description"] = description
    return shape


def _slug(description: str) -> dict[str, Any]:
    return {"type": ["string", "number"], "pattern": _SLUG, "description": description}


def _flag(description: str) -> dict[str, Any]:
    return {
        "anyOf": [{"type": "boolean"}, {"type": "string", "pattern": _YES_NO}],
        "description": description,
    }


def _whole(low: int, high: int, description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high, "description": description}


def _anki_id(description: str) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": -_MAX_ID - 1,
        "maximum": _MAX_ID,
        "not": {"const": 0},
        "description": description,
    }


def _mapping(
    properties: dict[str, Any], required: Iterable[str] = (), description: str = ""
) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "maxProperties": MAX_KEYS,
    }
    if required := list(required):
        shape["required"] = required
    if description:
        shape["description"] = description
    return shape


def _list(items: dict[str, Any], description: str = "", most: int = MAX_ITEMS) -> dict[str, Any]:
    shape: dict[str, Any] = {"type": "array", "items": items, "maxItems": most}
    if description:
        shape["description"] = description
    return shape


def _tag(vocabulary: frozenset[str] | None) -> dict[str, Any]:
    """A tag: of the deck's tags, where it lists them; else a word of levels."""
    if vocabulary is not None:
        named: list[dict[str, Any]] = [{"type": "number"}]
        if vocabulary:
            named.insert(0, {"enum": sorted(vocabulary)})
        return {"anyOf": named, "description": f"one of the tags {DECK_FILE} lists"}
    reserved = "|".join(
        "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in prefix)
        for prefix in RESERVED_TAG_PREFIXES
    )
    return {
        "type": ["string", "number"],
        "minLength": 1,
        "maxLength": MAX_TAG,
        # No space; no empty level ('::' first, an even run of ':' last, or '::::').
        "pattern": f"^[^{SPACE}]*$",
        "not": {"type": "string", "pattern": f"^::|(?:^|[^:])(?:::)+$|::::|^(?:{reserved})"},
        "description": "a tag: words of levels joined by '::', as in topic::basics",
    }


def _tags(vocabulary: frozenset[str] | None) -> dict[str, Any]:
    return _list(_tag(vocabulary), "the note's tags, besides those deckgen adds")


def _common(vocabulary: frozenset[str] | None) -> dict[str, Any]:
    """What every note may have, whatever its kind or type."""
    return {
        "id": _slug(
            "the note's permanent identity: a slug, unique in the deck, never changed once"
            " the deck is shared"
        ),
        "tags": _tags(vocabulary),
        "guid": {
            "type": ["string", "number"],
            "pattern": _GUID,
            "description": "Anki's GUID of the note, as `deckgen pull` wrote it",
        },
    }


def _kind(kind: str, vocabulary: frozenset[str] | None) -> dict[str, Any]:
    rules = KINDS[kind]
    properties = _common(vocabulary)
    properties["extra"] = _text("more text, shown on the back", required=False)
    for key in rules.KEYS:
        properties[key] = _text(f"a {kind} note's {key.replace('_', ' ')}")
    if kind == "pair":
        item = _mapping(
            {key: _text(f"the item's {key}") for key in pair.ITEM_KEYS},
            pair.ITEM_KEYS,
            "one of the things easily confused",
        )
        properties["pair"] = {
            **_list(item, "2 or 3 things easily confused, each with what it means"),
            "minItems": 2,
            "maxItems": 3,
        }
    doc = (rules.__doc__ or "").strip().split("\n\n")[0]
    return _mapping(properties, ("id", *rules.KEYS), " ".join(doc.split()))


def _custom(note_type: NoteType, vocabulary: frozenset[str] | None) -> dict[str, Any]:
    properties = _common(vocabulary)
    properties["type"] = {"const": note_type.name, "description": "the note's type"}
    first, *others = note_type.field_names
    properties[first] = _text(f"the first field of {note_type.name}: never empty")
    for name in others:
        properties[name] = _text(f"a field of {note_type.name}", required=False)
    return _mapping(properties, ("id", "type", first), f"a note of type {note_type.name}")


def notes_schema(header: Deck) -> dict[str, Any]:
    """A notes file of the deck: a list of notes, each of a kind or of a declared type."""
    vocabulary = header.tags
    definitions = {kind: _kind(kind, vocabulary) for kind in KINDS}
    types = [t for t in header.note_types.values() if t.declared]
    # Which shape a note must have: by its `type` if it has one, else by its kind's key.
    untyped = {"not": {"required": ["type"]}}
    chosen: list[dict[str, Any]] = [
        {"if": {"required": [kind], **untyped}, "then": {"$ref": f"#/definitions/{kind}"}}
        for kind in KINDS
    ]
    known: list[dict[str, Any]] = [{"required": [kind], **untyped} for kind in KINDS]
    for note_type in types:
        key = f"type-{note_type.kind}"
        definitions[key] = _custom(note_type, vocabulary)
        chosen.append(
            {
                "if": {"required": ["type"], "properties": {"type": {"const": note_type.name}}},
                "then": {"$ref": f"#/definitions/{key}"},
            }
        )
    if types:
        names = [t.name for t in types]
        known.append({"required": ["type"], "properties": {"type": {"enum": names}}})
    # Every key a note may have, for editors to offer (each shape above says what it holds).
    every: dict[str, Any] = {}
    for shape in definitions.values():
        for key, value in shape["properties"].items():
            every.setdefault(key, {"description": value.get("description", "")})
    note = {
        "type": "object",
        "properties": every,
        "allOf": chosen,
        "anyOf": known,
        "description": "a note: an id, and a kind's key ("
        + ", ".join(KINDS)
        + (") or a type of the deck" if types else ")"),
    }
    return {
        "$schema": _DRAFT,
        "title": f"Notes of {header.name} (deckgen)",
        "description": "A notes file: the notes of a domain, in the order to study them."
        f" Made by `deckgen schema` from {DECK_FILE}; `deckgen check` checks the rest.",
        **_list({"$ref": "#/definitions/note"}),
        "definitions": {"note": note, **definitions},
    }


def deck_schema() -> dict[str, Any]:
    """deck.yaml: the deck's name and key, its domains, tags and note types."""
    domain = _mapping(
        {
            "key": _slug("the domain's key: its notes are in <key>.yaml, its tag domain::<key>"),
            "name": _text("the domain's name, its subdeck unless `deck` says otherwise"),
            "weight": _whole(0, 100, "% of the exam, shown on every card"),
            "deck": {
                "type": ["string", "number"],
                "description": "the domain's deck below the top deck ('Part 1::Chapter 2'),"
                " or '' for the top deck itself",
            },
        },
        validate.DOMAIN_REQUIRED,
        "a domain: a subdeck and a tag",
    )
    face = {
        "anyOf": [
            _text(),
            _mapping({"file": _text("a file of the notes folder")}, ("file",)),
        ]
    }
    settings_shapes = {
        "text": _text(required=False),
        "bool": _flag(""),
        "size": _whole(1, declared.MAX_FONT_SIZE, "points"),
    }

    def settings(known: dict[str, tuple[str, str]]) -> dict[str, Any]:
        return {key: settings_shapes[kind] for key, (_, kind) in known.items()}

    field = {
        "anyOf": [
            _text("a field's name"),
            _mapping(
                {
                    "name": _text("the field's name"),
                    "id": _anki_id("the field's id in Anki"),
                    **settings(declared.FIELD_SETTINGS),
                },
                ("name",),
            ),
        ]
    }
    template = _mapping(
        {
            "name": _text("the card template's name"),
            "id": _anki_id("the template's id in Anki"),
            "front": {**face, "description": "the front: HTML and {{Field}}s"},
            "back": {**face, "description": "the back: HTML and {{Field}}s"},
            **settings(declared.TEMPLATE_SETTINGS),
        },
        declared.TEMPLATE_REQUIRED,
        "a card template: each note makes a card of each",
    )
    note_type = _mapping(
        {
            "name": _text("the note type's name in Anki, and in notes' `type`"),
            "id": _anki_id("the note type's id in Anki"),
            "fields": {
                **_list(field, "the fields, in order", declared.MAX_FIELDS),
                "minItems": 1,
            },
            "templates": {
                **_list(template, "the card templates", declared.MAX_TEMPLATES),
                "minItems": 1,
            },
            "css": {"anyOf": [_text(required=False), face["anyOf"][1]], "description": "CSS"},
            "cloze": _flag("a cloze note type"),
            "html": _flag("its fields hold HTML (cleaned), not Markdown"),
            "sort_field": _text("the field Anki's browser sorts by"),
            **settings(declared.TYPE_SETTINGS),
        },
        declared.NOTE_TYPE_REQUIRED,
        "a note type of the deck's own",
    )
    deck = _mapping(
        {
            "name": _text("the deck's name in Anki"),
            "key": _slug("the deck's permanent key: never changed once the deck is shared"),
            "description": _text("shown in Anki's deck overview", required=False),
            "source": _text("where the notes come from", required=False),
            "domains": {
                **_list(domain, "the domains, in study order", validate.MAX_DOMAINS),
                "minItems": 1,
            },
            "tags": {
                **_list(_tag(None), "the tags notes may use", validate.MAX_DECK_TAGS),
            },
            "note_types": _list(note_type, "note types of the deck's own", declared.MAX_NOTE_TYPES),
        },
        validate.DECK_REQUIRED,
    )
    return {
        "$schema": _DRAFT,
        "title": "deckgen's deck.yaml",
        "description": "The deck: its name, key and domains. `deckgen check` checks the rest.",
        **deck,
    }
