"""The notes as Anki will store them: GUID, note type, field values, tags, deck and cards."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import pickle
import re
import struct
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import zstandard

from deckgen.apkg import guid_for
from deckgen.diagnostics import Diagnostic, Position
from deckgen.media import Picture
from deckgen.notes import Domain, Note, kind_of
from deckgen.notetypes import FINGERPRINTED, NOTE_TYPES, NoteType
from deckgen.shapes import RESERVED_TAG_PREFIXES

# A str as JSON, non-ASCII kept (json's own C function): see `_content`.
_QUOTE = json.encoder.encode_basestring

RETIRED_TAG = "deckgen::retired"
RETIRED_MARK = "retired"
FIELD_SEPARATOR = "\x1f"  # between the field values, as Anki stores them


class Record(NamedTuple):
    """One Anki note: what the package holds for it, and a hash of what Anki stores.
    (A tuple: quick to make, to pickle and to read back from the cache.)"""

    note_id: str
    kind: str
    domain: str
    guid: str
    fields: str  # the field values, joined by FIELD_SEPARATOR, as Anki's notes table has them
    tags: tuple[str, ...]
    deck: str  # the subdeck its cards go to
    ords: tuple[int, ...]  # its cards; none for a retired note
    retired: bool
    digest: str  # of the field values, tags and deck (see `record`)

    @property
    def values(self) -> list[str]:
        """The field values, in the note type's order."""
        return self.fields.split(FIELD_SEPARATOR)


def record(
    note_id: str,
    kind: str,
    domain: str,
    values: Sequence[str],
    tags: tuple[str, ...],
    deck: str,
    ords: tuple[int, ...],
    guid: str,
    retired: bool = False,
) -> Record:
    """A note's record, with its hash made here, once."""
    digest = hashlib.sha256(_content(kind, values, tags, deck).encode()).hexdigest()[:16]
    fields = FIELD_SEPARATOR.join(values)
    return Record(note_id, kind, domain, guid, fields, tags, deck, ords, retired, digest)


def _content(kind: str, values: Sequence[str], tags: Sequence[str], deck: str) -> str:
    """What a note's hash covers, as `json.dumps([kind, values, tags, deck],
    ensure_ascii=False)` writes it (the hashes in every lock are of that), without making
    a JSON encoder for each of a deck's notes."""
    quoted_values, quoted_tags = ", ".join(map(_QUOTE, values)), ", ".join(map(_QUOTE, tags))
    return f"[{_QUOTE(kind)}, [{quoted_values}], [{quoted_tags}], {_QUOTE(deck)}]"


class Fingerprint(NamedTuple):
    """What a note was as built: a hash of each field a user writes (in the note type's
    order) and of its own tags. Every built note carries it at the end of its Domain
    field (which deckgen fills, and cards show as a label), inside an HTML comment no card
    shows, so that `deckgen pull` can tell an edit made in Anki (fields against their own
    fingerprint) from an older build (a fingerprint other than the current build's). The
    hashes are CRC-32s, packed and in base 64 (a few bytes a note, a few microseconds):
    they tell changes apart, they guard nothing."""

    fields: tuple[int, ...]
    tags: int

    @staticmethod
    def mark(values: Iterable[str], tags: tuple[str, ...]) -> str:
        """The fingerprint of a note's written fields and own tags, as it carries it."""
        hashes = [*map(field_hash, values), tags_hash(tags)]
        packed = _packer(len(hashes)).pack(*hashes)
        return "<!--deckgen " + binascii.b2a_base64(packed, newline=False).decode() + "-->"

    @classmethod
    def find(cls, field: str) -> Fingerprint | None:
        """The fingerprint at the end of a field, if it has one."""
        found = _MARK.search(field)
        if found is None:
            return None
        try:
            packed = base64.b64decode(found[1], validate=True)
        except ValueError:  # binascii.Error: a mark someone edited
            return None
        if len(packed) % 4 or len(packed) < 8:
            return None
        *fields, tags = struct.unpack(f"<{len(packed) // 4}I", packed)
        return cls(tuple(fields), tags)


_MARKS = re.compile(r"<!--deckgen ([A-Za-z0-9+/]{1,600}={0,2})-->")
_MARK = re.compile(_MARKS.pattern + r"\Z")  # at the end of a field


def without_mark(field: str) -> str:
    """A field, or a card rendered from fields, as a user sees it: without fingerprints."""
    return _MARKS.sub("", field) if "<!--deckgen " in field else field


def field_hash(text: str) -> int:
    """A field's part of a fingerprint."""
    return zlib.crc32(text.encode())


@functools.cache
def _packer(count: int) -> struct.Struct:
    return struct.Struct(f"<{count}I")


@functools.lru_cache(maxsize=4096)
def tags_hash(tags: tuple[str, ...]) -> int:
    """The tags' part of a fingerprint: of the set, as Anki compares tags (it sorts them,
    and takes no account of case). Many notes share their tags: each set hashed once."""
    return field_hash(" ".join(sorted({tag_key(tag) for tag in tags})))


def tag_key(tag: str) -> str:
    """A tag as Anki compares it: without regard to case."""
    return tag.casefold()


def guid(deck_key: str, note_id: str) -> str:
    """A note's permanent GUID: from the deck key and the note id only, never its text."""
    return guid_for(deck_key, note_id)


_Alike = tuple[NoteType, tuple[str, ...], str, int, list[int], Callable[[Note], list[int]]]


def records_of(
    deck_key: str, deck_name: str, notes: Iterable[Note], note_types: Mapping[str, NoteType]
) -> list[Record]:
    """Notes as Anki will store them, in a deck of that key and name. What many notes
    share (their subdeck, card numbers, tags) is made once and shared."""
    shared: dict[object, Any] = {}
    # What every note of a domain and kind shares: its note type, tags and subdeck, which
    # of its fields are written by a user and which carries the fingerprint, and the rule
    # of its cards.
    alike: dict[tuple[str, str], _Alike] = {}
    made = []
    for note in notes:
        domain, kind = note.domain.key, kind_of(note)
        if (domain, kind) not in alike:
            note_type = note_types[kind]
            subdeck = note.domain.subdeck(deck_name)
            names = note_type.field_names
            written = [names.index(name) for name in note_type.written]
            # A declared type's notes carry their own tags only, and no fingerprint (it
            # has no field of deckgen's to carry one).
            own_tags = () if note_type.declared else _own_tags(domain, kind)
            marked = -1 if note_type.declared else names.index(FINGERPRINTED)
            card_ords = note_type.card_rule()
            alike[domain, kind] = (note_type, own_tags, subdeck, marked, written, card_ords)
        note_type, own, subdeck, marked, written, card_ords = alike[domain, kind]
        tags = (*own, *note.tags) if note.tags else own
        ords = tuple(card_ords(note))
        values = note_type.values(note)
        if marked >= 0:
            values[marked] += Fingerprint.mark([values[i] for i in written], note.tags)
        made.append(
            record(
                note.id,
                kind,
                domain,
                values,
                shared.setdefault(tags, tags),
                subdeck,
                shared.setdefault(ords, ords),
                note.guid or guid(deck_key, note.id),
            )
        )
    return made


@functools.cache
def _own_tags(domain: str, kind: str) -> tuple[str, str]:
    """The tags deckgen gives every note of a domain and kind."""
    return f"domain::{domain}", f"kind::{kind}"


def user_tags(tags: Iterable[str]) -> list[str]:
    """A note's tags without those deckgen gives it itself (those above, and RETIRED_TAG:
    the prefixes notes may not use), whatever their case in Anki."""
    return [tag for tag in tags if not tag_key(tag).startswith(RESERVED_TAG_PREFIXES)]


# What the lock keeps of a note, what tells whether it changed: id, kind, domain, hash.
Stamp = tuple[str, str, str, str]
# Where a note's id stands: the id, its line and column. (Plain tuples, both, in what is
# kept of a file: a NamedTuple is pickled and made again by Python code, each one.)
Place = tuple[str, int, int]


class FileResult(NamedTuple):
    """What one notes file holds: each note id where it stands, the notes as Anki will
    store them (if the file has no errors) and what the lock keeps of them, how many of
    each kind and their cards, and the file's problems."""

    path: str
    ids: tuple[Place, ...]
    guids: tuple[Place, ...]  # the GUIDs notes name themselves (kept from Anki by pull)
    records: bytes  # packed: see `pack`
    stamps: tuple[Stamp, ...]  # of the records, in order
    counts: tuple[tuple[str, str, int, int], ...]  # domain, kind, notes, cards
    problems: tuple[Diagnostic, ...]
    pictures: tuple[Picture, ...]  # that its notes show, each once
    # Of a file where a note names its own GUID: the GUID deckgen makes for each note's
    # id (its record's, unless it names its own), to tell a GUID named twice.
    made_guids: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        path: str,
        ids: Iterable[tuple[str, Position]],
        records: Sequence[Record],
        problems: Iterable[Diagnostic],
        guids: Iterable[tuple[str, Position]] = (),
        pictures: tuple[Picture, ...] = (),
        *,
        deck_key: str,
    ) -> FileResult:
        counts: dict[tuple[str, str], list[int]] = {}
        for record in records:
            count = counts.setdefault((record.domain, record.kind), [0, 0])
            count[0] += 1
            count[1] += len(record.ords)
        by_kind = tuple((*key, notes, cards) for key, (notes, cards) in counts.items())
        places = tuple((note_id, *position) for note_id, position in ids)
        own = tuple((guid, *position) for guid, position in guids)
        stamps = tuple((r.note_id, r.kind, r.domain, r.digest) for r in records)
        named = {guid for guid, _, _ in own}
        made = tuple(
            (r.note_id, guid(deck_key, r.note_id) if r.guid in named else r.guid)
            for r in (records if named else ())
        )
        packed = pack(records)
        return cls(path, places, own, packed, stamps, by_kind, tuple(problems), pictures, made)


def pack(records: Sequence[Record]) -> bytes:
    """Records, pickled and compressed: a large deck's notes take a tenth of the memory
    (and cache) of records as objects, and are made again, a file at a time, as read.
    (Zstandard's fastest level: a third of the time of zlib's, and a fourth to undo.)"""
    data = pickle.dumps([tuple(record) for record in records], protocol=5)
    return _ZSTD.compressor.compress(data)


def unpack(packed: bytes) -> list[Record]:
    return list(map(Record._make, pickle.loads(_ZSTD.decompressor.decompress(packed))))


class _Zstd(threading.local):
    """A compressor and a decompressor for each thread (neither may be shared between
    threads), made once: making them was most of the time for a file of a few notes, and
    a deck of a file per note packs thousands. The bytes are those of
    `zstandard.compress(data, 1)`, which makes a compressor each time (tested)."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(level=1)
        self.decompressor = zstandard.ZstdDecompressor()


_ZSTD = _Zstd()


@dataclass(frozen=True)
class Deck:
    """The whole deck: its identity, its domains in order, and its notes as Anki will
    store them, in study order, each file's result kept pickled (see `pack`)."""

    name: str
    key: str
    description: str
    source: str
    domains: tuple[Domain, ...]
    files: tuple[bytes, ...]  # pickled FileResults, in study order
    size: int  # notes
    counts: Mapping[tuple[str, str], tuple[int, int]]  # (domain, kind): (notes, cards)
    tags: frozenset[str] | None = None  # the tags notes may use (deck.yaml's); None: any
    pictures: tuple[Picture, ...] = ()  # that its notes show, by name
    own_guids: int = 0  # notes that name their own GUID (added in Anki, brought by pull)
    # Its note types: the four kinds and those deck.yaml declares (without the ids the
    # lock keeps: declared.resolve), by key.
    note_types: Mapping[str, NoteType] = field(default_factory=lambda: NOTE_TYPES)

    def pulled(self, note_ids: Iterable[str]) -> list[str]:
        """Which of these notes name their own GUID: notes Anki has already."""
        wanted = set(note_ids) if self.own_guids else set()
        return [
            r.note_id
            for r in (self.records() if wanted else ())
            if r.note_id in wanted and r.guid != guid(self.key, r.note_id)
        ]

    def results(self) -> Iterator[FileResult]:
        for data in self.files:
            result = pickle.loads(data)
            assert isinstance(result, FileResult)
            yield result

    def records(self) -> Iterator[Record]:
        for records in self.record_files():
            yield from records

    def record_files(self) -> Iterator[list[Record]]:
        """Each file's records, in study order."""
        for result in self.results():
            yield unpack(result.records)

    def stamps(self) -> Iterator[Stamp]:
        """What the lock keeps of each note, without making the notes again."""
        for result in self.results():
            yield from result.stamps

    def where(self, note_ids: Iterable[str]) -> dict[str, tuple[str, Position]]:
        """The file and position of some notes' ids (looked up, all in one pass, only for
        messages)."""
        wanted = set(note_ids)
        found: dict[str, tuple[str, Position]] = {}
        for result in self.results() if wanted else ():
            for note_id, line, col in result.ids:
                if note_id in wanted:
                    found.setdefault(note_id, (result.path, Position(line, col)))
        return found


def tombstone(
    deck_key: str, note_id: str, kind: str, domain: str, note_types: Mapping[str, NoteType]
) -> Record:
    """What replaces a note removed from the notes: same GUID and note type, its `Retired`
    field set, so that every card of it renders an empty front (Tools > Empty Cards clears
    them), and no cards of its own. The first field, which Anki's browser shows, says what
    it is, and carries no cloze, so a retired fact has no card either."""
    values = {"ID": note_id, "Retired": RETIRED_MARK}
    names = note_types[kind].field_names
    fields = [f"(retired) {note_id}", *(values.get(name, "") for name in names[1:])]
    tags = (RETIRED_TAG, *_own_tags(domain, kind))
    return record(note_id, kind, domain, fields, tags, "", (), guid(deck_key, note_id), True)
