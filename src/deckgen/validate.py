"""Nodes -> deck.yaml's header, or a file's typed notes; never stops at the first problem.

What every note has (an id, tags, extra text) is checked here; what each kind has, by
that kind's module in kinds/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from collections.abc import Mapping as Lookup
from pathlib import Path
from typing import Literal, NamedTuple

from deckgen.declared import check_note_types, cloze_fields, unknown
from deckgen.diagnostics import START, Diagnostic, Position
from deckgen.kinds import KINDS
from deckgen.media import Pictures
from deckgen.notes import Custom, Domain, Note
from deckgen.notetypes import NOTE_TYPES, NoteType
from deckgen.shapes import DECK_FILE, Checker, Entries
from deckgen.source import INT, STR, Mapping, Node, Scalar, SourceFile, read

COMMON_KEYS = ("id", "tags", "extra", "guid")
CUSTOM_KEYS = ("id", "type", "tags", "guid")  # a declared type's note: and its fields
DECK_KEYS = ("name", "key", "description", "source", "domains", "tags", "note_types")
DECK_REQUIRED = ("name", "key", "domains")
DOMAIN_KEYS = ("key", "name", "weight", "deck")
DOMAIN_REQUIRED = ("key", "name")
MAX_DOMAINS = 100
MAX_DECK_TAGS = 1_000  # the tags a deck declares: each unknown tag is compared with them


class DeckHeader(NamedTuple):
    """What deck.yaml says."""

    name: str
    key: str
    description: str
    source: str
    domains: tuple[Domain, ...]
    tags: frozenset[str] | None  # the tags notes may use; None: any
    places: tuple[Position, ...] = ()  # where each domain stands in deck.yaml
    # The kinds and the note types it declares, by key (declared.py).
    note_types: Lookup[str, NoteType] = NOTE_TYPES


class Checked(NamedTuple):
    """One notes file's typed notes, each note id where it stands (of every note that
    has one, whatever else is wrong with it), and the file's problems."""

    notes: list[Note]
    ids: list[tuple[str, Position]]
    problems: list[Diagnostic]
    guids: list[tuple[str, Position]]  # of the notes that name their own


def check_header(path: Path) -> tuple[DeckHeader | None, list[Diagnostic]]:
    """Read and check deck.yaml."""
    if not os.path.lexists(path):  # a symlink to nowhere, or a loop, is reported by reading it
        message = f"no {DECK_FILE} in {path.parent}: it names the deck and its domains"
        return None, [Diagnostic(str(path), START, "missing-deck", message)]
    parsed, problems = read(path, str(path))
    if parsed is None:
        return None, problems
    checker = Checker(parsed)
    return _header(checker, path.parent), checker.problems


def check_notes(
    parsed: SourceFile,
    domain: Domain,
    vocabulary: frozenset[str] | None,
    pictures: Pictures | None = None,
    note_types: Lookup[str, NoteType] = NOTE_TYPES,
) -> Checked:
    """A notes file's typed notes, if it has no errors; its problems in any case. Their
    text shows `pictures` (of the notes folder), each by its name in the package."""
    checker = Checker(parsed, vocabulary, pictures)
    notes: list[Note] = []
    ids: list[tuple[str, Position]] = []
    guids: list[tuple[str, Position]] = []
    if parsed.root is None:
        message = "the file is empty: it must hold a list of notes"
        checker.report(START, "empty-file", message)
    else:
        by_name = {t.name: t for t in note_types.values() if t.declared}
        for item in checker.sequence(parsed.root, "a notes file", "'- id: my-note'") or ():
            if _has_key(item, "type"):
                note: Note | None = _custom(checker, item, domain, ids, by_name)
            else:
                note = _note(checker, item, domain, ids)
            if note is not None:
                notes.append(note)
                if note.guid is not None:
                    guids.append((note.guid, _entries_position(item, "guid")))
    return Checked(notes, ids, checker.problems, guids)


def _header(checker: Checker, folder: Path | None = None) -> DeckHeader | None:
    root = checker.source.root
    if root is None:
        message = "the file is empty: it must name the deck and its domains"
        checker.report(START, "empty-file", message)
        return None
    entries = checker.mapping(root, DECK_FILE, DECK_KEYS)
    if entries is None:
        return None
    checker.required(entries, DECK_REQUIRED, root, DECK_FILE)
    name = checker.text(entries, "name")
    key = checker.slug(entries, "key")
    description = checker.text(entries, "description", required=False) or ""
    attribution = checker.text(entries, "source", required=False) or ""
    places: list[Position] = []
    domains = _domains(checker, entries["domains"][1], places) if "domains" in entries else None
    vocabulary = checker.tags(entries)
    if vocabulary is not None and len(vocabulary) > MAX_DECK_TAGS:
        message = f"over {MAX_DECK_TAGS:,} tags: a deck declares {MAX_DECK_TAGS:,} at most"
        checker.report(entries["tags"][1].position, "too-many", message)
        return None
    declared = (
        check_note_types(checker, entries["note_types"][1], folder)
        if "note_types" in entries
        else {}
    )
    if name is None or key is None or domains is None or vocabulary is None or declared is None:
        return None
    allowed = frozenset(vocabulary) if "tags" in entries else None
    note_types = {**NOTE_TYPES, **declared} if declared else NOTE_TYPES
    return DeckHeader(
        name, key, description, attribution, domains, allowed, tuple(places), note_types
    )


def _domains(checker: Checker, node: Node, places: list[Position]) -> tuple[Domain, ...] | None:
    items = checker.sequence(node, "'domains'", "[{key: part-1, name: Part 1, weight: 50}]")
    if items is None:
        return None
    if not items:
        message = "'domains' is empty: a deck needs at least one domain"
        checker.report(node.position, "empty-text", message)
        return None
    if len(items) > MAX_DOMAINS:
        message = f"over {MAX_DOMAINS} domains: a deck has {MAX_DOMAINS} at most"
        checker.report(node.position, "too-many", message)
        return None
    domains: list[Domain] = []
    seen: dict[str, Position] = {}
    decks: dict[str, Position] = {}  # each domain's deck below the top one, as Anki compares
    for item in items:
        entries = checker.mapping(item, "a domain", DOMAIN_KEYS)
        if entries is None:
            continue
        checker.required(entries, DOMAIN_REQUIRED, item, "a domain")
        key = checker.slug(entries, "key")
        name = checker.text(entries, "name")
        weight = _weight(checker, entries)
        deck = _deck_path(checker, entries)
        where = (deck if isinstance(deck, str) else name or "").casefold()
        if key is not None and key in seen:
            first = seen[key]
            message = f"duplicate domain '{key}' (first at line {first.line}, column {first.col})"
            checker.report(entries["key"][1].position, "duplicate-domain", message)
        elif name is not None and where in decks:
            first = decks[where]
            shown = f"the deck '{deck or name}'" if where else "the top deck"
            message = (
                f"a second domain in {shown} (first at line {first.line}, column"
                f" {first.col}): each domain has a deck of its own"
            )
            checker.report(item.position, "duplicate-domain", message)
        elif key is not None and name is not None and deck is not False:
            seen[key] = entries["key"][1].position
            decks[where] = item.position
            domains.append(Domain(key, name, weight, deck))
            places.append(item.position)
    return tuple(domains) if len(domains) == len(items) else None


def _deck_path(checker: Checker, entries: Entries) -> str | Literal[False] | None:
    """A domain's deck below the top deck (`Part 1::Chapter 2`, or "" for the top deck
    itself); None if not given (its name is), False if wrong."""
    if "deck" not in entries:
        return None
    node = entries["deck"][1]
    if type(node) is Scalar and node.tag == STR and not node.value.strip():
        return ""
    value = checker.text(entries, "deck")
    if value is None:
        return False
    levels = value.split("::")
    if any(not level.strip() or level != level.strip() for level in levels):
        message = (
            "'deck' is the domain's deck below the top deck, its levels joined by '::'"
            " ('Part 1::Chapter 2'), each level a name; or '' for the top deck itself"
        )
        checker.report(node.position, "bad-deck", message)
        return False
    return value


def _weight(checker: Checker, entries: Entries) -> int | None:
    if "weight" not in entries:
        return None
    node = entries["weight"][1]
    value = node.value if type(node) is Scalar and node.tag == INT else ""
    if value.isascii() and value.isdigit() and len(value) <= 3 and int(value) <= 100:
        return int(value)
    message = "'weight' must be a whole percentage from 0 to 100"
    checker.report(node.position, "wrong-type", message)
    return None


def _note(
    checker: Checker, node: Node, domain: Domain, ids: list[tuple[str, Position]]
) -> Note | None:
    if type(node) is not Mapping:
        message = "a note must be a mapping with an 'id' and a kind"
        checker.report(node.position, "wrong-type", message)
        return None
    kinds: dict[str, Scalar] = {}  # kind key -> its first key node
    for key_node, _ in node.entries:
        if type(key_node) is Scalar and key_node.value in KINDS:
            kinds.setdefault(key_node.value, key_node)
    kind = next(iter(kinds), None)
    allowed, explain = _ALLOWED_KEYS[kind]
    entries = checker.mapping(node, "a note", allowed, explain)
    if entries is None:
        return None
    note_id = _note_id(checker, entries, node)
    if note_id is not None:
        ids.append((note_id, entries["id"][1].position))
    if kind is None:
        message = f"a note needs exactly one kind key: {', '.join(KINDS)}"
        checker.report(node.position, "no-kind", message)
        return None
    for other, key_node in list(kinds.items())[1:]:
        message = f"a note has one kind, but this one has '{kind}' and '{other}': split it"
        checker.report(key_node.position, "two-kinds", message)
    rules = KINDS[kind]
    checker.required(entries, rules.KEYS, kinds[kind], f"a {kind} note")
    tags = checker.tags(entries)
    extra = checker.text(entries, "extra", required=False) or ""
    guid = _guid(checker, entries)
    fields = rules.check(checker, entries)
    if fields is None or note_id is None or tags is None or len(kinds) > 1 or guid is False:
        return None
    return rules.NOTE(id=note_id, domain=domain, tags=tags, extra=extra, guid=guid, **fields)


def _has_key(node: Node, key: str) -> bool:
    if type(node) is Mapping:
        for key_node, _ in node.entries:  # (a loop: for every note, and quicker than any())
            if type(key_node) is Scalar and key_node.value == key:
                return True
    return False


def _custom(
    checker: Checker,
    node: Node,
    domain: Domain,
    ids: list[tuple[str, Position]],
    declared: Lookup[str, NoteType],
) -> Custom | None:
    """A note of a declared type: `type: <its name>`, and its fields by name (`declared`:
    the deck's declared types, by name)."""
    assert type(node) is Mapping
    type_node = next(v for k, v in node.entries if type(k) is Scalar and k.value == "type")
    note_type = None
    if type(type_node) is Scalar and type_node.tag == STR:
        note_type = declared.get(type_node.value)
        if note_type is None:
            known = list(declared)
            if type_node.value in KINDS:
                message = (
                    f"'{type_node.value}' is a kind: write it as the note's key"
                    f" ('{type_node.value}: ...'), not as its type"
                )
            elif known:
                message = unknown("note type", type_node.value, known)
            else:
                message = (
                    f"an unknown note type '{type_node.value}': deck.yaml declares none"
                    " (see 'note_types' in the README)"
                )
            checker.report(type_node.position, "unknown-type", message)
    else:
        checker.report(type_node.position, "wrong-type", checker.not_text("'type'", type_node))
    if note_type is None:
        entries = checker.mapping(
            node, "a note", tuple(k.value for k, _ in node.entries if type(k) is Scalar)
        )
        if entries is not None:
            note_id = _note_id(checker, entries, node)
            if note_id is not None:
                ids.append((note_id, entries["id"][1].position))
        return None
    names = note_type.field_names
    allowed = CUSTOM_KEYS + names
    entries = checker.mapping(node, f"a {note_type.name} note", allowed)
    if entries is None:
        return None
    note_id = _note_id(checker, entries, node)
    if note_id is not None:
        ids.append((note_id, entries["id"][1].position))
    tags = checker.tags(entries)
    guid = _guid(checker, entries)
    values: list[tuple[str, str]] = []
    valid = True
    for name in names:
        if name not in entries:
            continue
        errors = checker.collected.errors
        text = checker.field(entries, name, holds_html=note_type.holds_html)
        valid = valid and checker.collected.errors == errors
        if text is not None:
            values.append((name, text))
    filled = dict(values)
    first = names[0]
    if valid and not filled.get(first, "").strip():
        where = entries[first][1].position if first in entries else node.position
        message = (
            f"'{first}', the first field of {note_type.name}, is empty: Anki needs it"
            " filled (it shows the note in its browser)"
        )
        checker.report(where, "empty-first-field", message)
        valid = False
    if valid and note_type.is_cloze:
        valid = _has_cloze(checker, entries, note_type, node)
    if not valid or note_id is None or tags is None or guid is False:
        return None
    note = Custom(
        id=note_id, domain=domain, tags=tags, guid=guid, type=note_type.kind, values=tuple(values)
    )
    if not note_type.is_cloze and not note_type.card_ords(note):
        message = (
            f"this note makes no card: every template of {note_type.name} shows, on its"
            " front, only fields this note leaves empty. Fill one, or it is never studied"
        )
        checker.report(node.position, "no-cards", message)
        return None
    return note


def _has_cloze(checker: Checker, entries: Entries, note_type: NoteType, node: Node) -> bool:
    """A note of a cloze type: its clozes well formed, and at least one."""
    clozed = [name for name in cloze_fields(note_type) if name in entries]
    found = False
    for name in clozed:
        value = entries[name][1]
        assert type(value) is Scalar
        clozes = checker.clozes(value)
        if clozes is None:
            return False
        found = found or bool(clozes.numbers)
    if not found:
        fields = "' or '".join(cloze_fields(note_type))
        message = f"a {note_type.name} note needs a cloze, e.g. {{{{c1::term}}}}, in '{fields}'"
        checker.report(node.position, "cloze-missing", message)
    return found


def _note_id(checker: Checker, entries: Entries, node: Node) -> str | None:
    if "id" not in entries:
        message = "a note needs an 'id', a permanent slug like 'my-note'"
        checker.report(node.position, "missing-key", message)
        return None
    return checker.slug(entries, "id")


# What Anki's GUIDs are made of (printable ASCII, no space), and how long deckgen takes one.
_GUID = re.compile(r"[!-~]{1,64}\Z")


def _guid(checker: Checker, entries: Entries) -> str | Literal[False] | None:
    """A note's own GUID (one `deckgen pull` kept from Anki), None if it has none, False
    if it is wrong."""
    if "guid" not in entries:
        return None
    value = checker.text(entries, "guid")
    if value is not None and _GUID.match(value):
        return value
    if value is not None:
        message = (
            "'guid' must be Anki's GUID of the note, as `deckgen pull` wrote it: up to 64"
            " letters, digits and punctuation, no spaces"
        )
        checker.report(entries["guid"][1].position, "bad-guid", message)
    return False


def _entries_position(node: Node, key: str) -> Position:
    assert type(node) is Mapping
    for key_node, value in node.entries:
        if type(key_node) is Scalar and key_node.value == key:
            return value.position
    return node.position


def _misplaced(kind: str | None) -> Callable[[str], str | None]:
    """Explain a key that belongs to another kind of note, rather than calling it unknown."""

    def explain(key: str) -> str | None:
        owner = next((k for k, rules in KINDS.items() if key in rules.KEYS[1:]), None)
        if kind is None or owner is None or owner == kind:
            return None
        return f"'{key}' belongs to {owner} notes, not to {kind} notes"

    return explain


# The keys a note may have once its kind is known, and how to explain any other: other
# kinds' own keys are reported as a second kind or as misplaced, not as unknown keys.
_ALL_KEYS = COMMON_KEYS + tuple(key for rules in KINDS.values() for key in rules.KEYS)
_ALLOWED_KEYS: dict[str | None, tuple[tuple[str, ...], Callable[[str], str | None]]] = {
    None: (_ALL_KEYS, _misplaced(None)),
    **{
        kind: (COMMON_KEYS + tuple(KINDS) + rules.KEYS[1:], _misplaced(kind))
        for kind, rules in KINDS.items()
    },
}
