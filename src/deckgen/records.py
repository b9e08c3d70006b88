"""The notes as Anki will store them: GUID, note type, field values, tags, deck and cards."""

from __future__ import annotations

import functools
import hashlib
import json
import pickle
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from deckgen.apkg import guid_for
from deckgen.diagnostics import Diagnostic, Position
from deckgen.notes import Domain, Note
from deckgen.notetypes import NoteType

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


def guid(deck_key: str, note_id: str) -> str:
    """A note's permanent GUID: from the deck key and the note id only, never its text."""
    return guid_for(deck_key, note_id)


def records_of(
    deck_key: str, deck_name: str, notes: Iterable[Note], note_types: Mapping[str, NoteType]
) -> list[Record]:
    """Notes as Anki will store them, in a deck of that key and name. What many notes
    share (their subdeck, card numbers, tags) is made once and shared."""
    shared: dict[object, Any] = {}
    made = []
    for note in notes:
        note_type = note_types[note.kind]
        domain = note.domain.key
        own = _own_tags(domain, note.kind)
        tags = (*own, *note.tags) if note.tags else own
        ords = tuple(note_type.card_ords(note))
        made.append(
            Record(
                note.id,
                note.kind,
                domain,
                guid(deck_key, note.id),
                tuple(note_type.values(note)),
                shared.setdefault(tags, tags),
                _subdeck(note.domain, deck_name),
                shared.setdefault(ords, ords),
            )
        )
    return made


@functools.cache
def _subdeck(domain: Domain, deck_name: str) -> str:
    return domain.subdeck(deck_name)


@functools.cache
def _own_tags(domain: str, kind: str) -> tuple[str, str]:
    """The tags deckgen gives every note of a domain and kind."""
    return f"domain::{domain}", f"kind::{kind}"


class FileResult(NamedTuple):
    """What one notes file holds: each note id where it stands, the notes as Anki will
    store them (if the file has no errors), and the file's problems."""

    path: str
    ids: tuple[tuple[str, Position], ...]
    records: tuple[Record, ...]
    problems: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class Deck:
    """The whole deck: its identity, its domains in order, and its notes as Anki will
    store them, in study order. The notes are kept as each file's result, pickled, and
    made again as they are read: a large deck takes a third of the memory that way."""

    name: str
    key: str
    description: str
    source: str
    domains: tuple[Domain, ...]
    files: tuple[bytes, ...]  # pickled FileResults, in study order
    size: int  # notes

    def results(self) -> Iterator[FileResult]:
        for data in self.files:
            result = pickle.loads(data)
            assert isinstance(result, FileResult)
            yield result

    def records(self) -> Iterator[Record]:
        for result in self.results():
            yield from result.records

    def where(self, note_id: str) -> tuple[str, Position]:
        """The file and position of a note's id (looked up only for messages)."""
        for result in self.results():
            for found, position in result.ids:
                if found == note_id:
                    return result.path, position
        raise KeyError(note_id)


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
    tags = (RETIRED_TAG, *_own_tags(domain, kind))
    return Record(note_id, kind, domain, guid(deck_key, note_id), fields, tags, "", (), True)
