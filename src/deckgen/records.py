"""The notes as Anki will store them: GUID, note type, field values, tags, deck and cards."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from deckgen.apkg import guid_for
from deckgen.notes import Deck, Domain, Note
from deckgen.notetypes import NOTE_TYPES, NoteType

# json.dumps(value, ensure_ascii=False), without making an encoder for every note.
_JSON = json.JSONEncoder(ensure_ascii=False).encode

RETIRED_TAG = "deckgen::retired"
RETIRED_MARK = "retired"


class _Record(NamedTuple):
    note_id: str
    kind: str
    domain: str
    guid: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    deck: str  # the subdeck its cards go to
    ords: tuple[int, ...]  # its cards; none for a retired note
    retired: bool
    # A hash of everything Anki stores for the note (fields, tags, deck), made once.
    digest: str


class Record(_Record):
    """One Anki note: what the package holds for it, and what its content hash covers.
    (A tuple: quick to make, to pickle and to read back from the cache.)"""

    __slots__ = ()

    def __new__(
        cls,
        note_id: str,
        kind: str,
        domain: str,
        guid: str,
        fields: tuple[str, ...],
        tags: tuple[str, ...],
        deck: str,
        ords: tuple[int, ...],
        retired: bool = False,
        digest: str | None = None,  # given only by pickle, which had it made here
    ) -> Record:
        if digest is None:
            content = _JSON([kind, fields, tags, deck])
            digest = hashlib.sha256(content.encode()).hexdigest()[:16]
        return super().__new__(
            cls, note_id, kind, domain, guid, fields, tags, deck, ords, retired, digest
        )

    def _replace(self, **changes: Any) -> Record:
        """A copy with some fields changed, and its hash made again."""
        values = {**self._asdict(), **changes}
        del values["digest"]
        return Record(**values)


def guid(deck_key: str, note_id: str) -> str:
    """A note's permanent GUID: from the deck key and the note id only, never its text."""
    return guid_for(deck_key, note_id)


def subdeck_name(deck: Deck, domain: Domain) -> str:
    return f"{deck.name}::{domain.name}"


def records(deck: Deck, note_types: Mapping[str, NoteType] = NOTE_TYPES) -> list[Record]:
    """Every note of the deck as Anki will store it, in study order."""
    return records_of(deck.key, deck.name, deck.notes, note_types)


def records_of(
    deck_key: str, deck_name: str, notes: Iterable[Note], note_types: Mapping[str, NoteType]
) -> list[Record]:
    """Some notes as Anki will store them, in a deck of that key and name."""
    return [
        Record(
            note_id=note.id,
            kind=note.kind,
            domain=note.domain.key,
            guid=guid(deck_key, note.id),
            fields=tuple(note_types[note.kind].values(note)),
            tags=(f"domain::{note.domain.key}", f"kind::{note.kind}", *note.tags),
            deck=f"{deck_name}::{note.domain.name}",
            ords=tuple(note_types[note.kind].card_ords(note)),
        )
        for note in notes
    ]


def tombstone(
    deck_key: str, note_id: str, kind: str, domain: str, note_types: Mapping[str, NoteType]
) -> Record:
    """What replaces a note removed from the notes: same GUID and note type, its `Retired`
    field set, so that every card of it renders an empty front (Tools > Empty Cards clears
    them), and no cards of its own. The first field, which Anki's browser shows, says what
    it is, and carries no cloze, so a retired fact has no card either."""
    values = {"ID": note_id, "Retired": RETIRED_MARK}
    names = note_types[kind].field_names
    fields = (f"(retired) {note_id}", *(values.get(name, "") for name in names[1:]))
    tags = (RETIRED_TAG, f"domain::{domain}", f"kind::{kind}")
    return Record(note_id, kind, domain, guid(deck_key, note_id), fields, tags, "", (), True)
