"""A deck and its revision -> an .apkg file: the same notes and lock give the same bytes.

Every time and id in the package comes from the lock or the GUID, never the clock.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import shutil
import sqlite3
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from deckgen import apkg
from deckgen.files import scratch_dir
from deckgen.markup import to_html
from deckgen.media import Picture
from deckgen.notes import Domain
from deckgen.notetypes import NOTE_TYPES, NoteType
from deckgen.records import FIELD_SEPARATOR, Deck, Record
from deckgen.revision import Revision

# Zip entries carry this date instead of the wall clock, so equal input gives equal bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Deflate's fastest level: a quarter of the time of the default, for a file a tenth larger.
_LEVEL = 1
# Note and card ids are millisecond times from 2001 on (Anki's own ids are times too);
# Anki matches notes by GUID, and gives a new note another id if its own is taken. Notes
# take one id each in study order, and cards, which a fact may have hundreds of (one per
# cloze number), one each in study order, from their own base.
_ID_BASE = 1_000_000_000_000
_CARD_BASE = _ID_BASE + 10_000_000_000
_BATCH = 1000  # notes written at a time, then their cards


def write(
    deck: Deck,
    revision: Revision,
    path: Path,
    note_types: Mapping[str, NoteType] = NOTE_TYPES,
) -> None:
    """Write the .apkg file for a revision of the deck at `path`."""
    with scratch_dir() as work:
        writer = Writer(work / "collection.anki2", deck, revision.notetype_mods, note_types)
        try:
            for records in deck.record_files():
                writer.add(records, [revision.mod(record.note_id) for record in records])
            writer.finish(revision, deck.pictures, path)
        finally:
            writer.close()


class Identity(Protocol):
    """What names a deck in a package: deck.yaml's header, or the deck read from it."""

    @property
    def name(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def domains(self) -> tuple[Domain, ...]: ...


class Writer:
    """A package's collection, written a thousand notes at a time in study order as they
    come (a file's notes at a time, while the next files are read, or all at once), then
    its retired notes, and the package around it. The same notes and times give
    the same bytes, however they are handed in."""

    def __init__(
        self,
        collection: Path,
        deck: Identity,
        notetype_mods: Mapping[str, int],
        note_types: Mapping[str, NoteType] = NOTE_TYPES,
    ) -> None:
        self.collection = collection
        top_id = deck_id(deck.key)
        decks = {str(top_id): apkg.deck_json(top_id, deck.name, _description(deck))}
        self.subdecks: dict[str, int] = {deck.name: top_id}
        # Each domain's deck (the top deck itself for some), then each level on the way
        # to one that no domain has (Anki needs a deck's parents).
        for domain in deck.domains:
            name = domain.subdeck(deck.name)
            if name != deck.name:
                self.subdecks[name] = deck_id(deck.key, domain.key)
        for name in list(self.subdecks):
            levels = name.split("::")
            for depth in range(2, len(levels)):
                parent = "::".join(levels[:depth])
                self.subdecks.setdefault(parent, deck_id(deck.key, "::", *levels[1:depth]))
        for name, did in self.subdecks.items():
            if did != top_id:
                decks[str(did)] = apkg.deck_json(did, name)
        # The deck's own options preset: new cards gathered by position across its
        # subdecks, in the order gathered (see Positions).
        preset = preset_id(deck.key)
        for deck_row in decks.values():
            deck_row["conf"] = preset
        self.positions = Positions(deck.domains)
        models = {
            str(t.model_id): model_json(t, notetype_mods[kind], top_id)
            for kind, t in note_types.items()
        }
        self.model_ids = {kind: t.model_id for kind, t in note_types.items()}
        self.pending: list[tuple[Record, int]] = []
        self.position = self.card = 0
        # Used by one thread at a time: the one that feeds it, then the one that ends it.
        self.db: sqlite3.Connection | None = sqlite3.connect(collection, check_same_thread=False)
        # A scratch file, read once when complete: no journal, no waiting for the disk.
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.executescript(apkg.SCHEMA)
        row = apkg.collection_row(models, decks, {str(preset): apkg.preset_json(preset, deck.name)})
        self.db.execute("INSERT INTO col VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", row)

    def add(self, records: Sequence[Record], mods: Sequence[int]) -> None:
        """The next notes in study order, with their times."""
        self.pending += zip(records, mods, strict=True)
        while len(self.pending) >= _BATCH:
            self._rows(self.pending[:_BATCH])
            del self.pending[:_BATCH]

    def _rows(self, batch: list[tuple[Record, int]]) -> None:
        """A batch of notes, then their cards. Note ids follow study order, so the rows
        of both tables go in in id order, each page written once; a note's cards take
        the ids after its own."""
        assert self.db is not None
        notes = [record for record, _ in batch]
        mods = [mod for _, mod in batch]
        positions = range(self.position, self.position + len(batch))
        self.db.executemany(_NOTE_ROW, _note_rows(positions, notes, mods, self.model_ids))
        dues = [self.positions.due(record) for record in notes]
        rows = _card_rows(positions, notes, mods, self.subdecks, self.card, dues)
        self.db.executemany(_CARD_ROW, rows)
        self.position += len(batch)
        self.card += sum(len(record.ords) for record in notes)

    def finish(self, revision: Revision, pictures: Sequence[Picture], path: Path) -> None:
        """The retired notes after the others, and the package at `path`."""
        assert self.db is not None
        stones = revision.tombstones
        self.add(stones, [revision.mod(stone.note_id) for stone in stones])
        if self.pending:
            self._rows(self.pending)
            self.pending = []
        self.db.commit()
        self.close()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            with (
                open(self.collection, "rb") as source,
                archive.open(_entry("collection.anki2"), "w") as entry,
                _Deflate(source) as pieces,
            ):
                # The collection deflated a piece per core at a time (see _Deflate): zipfile
                # counts and checks what is written, and writes what was deflated.
                entry._compressor = pieces  # type: ignore[attr-defined]
                while piece := pieces.next_piece():
                    entry.write(piece)
            # The pictures, by their names (each made from its bytes), in a fixed order.
            media = {}
            for index, picture in enumerate(pictures):
                media[str(index)] = picture.name
                stored = not picture.name.endswith(".svg")  # the others are compressed
                with (
                    open(picture.path, "rb") as source,
                    archive.open(_entry(str(index), stored), "w") as entry,
                ):
                    shutil.copyfileobj(source, entry, 1 << 20)
            archive.writestr(_entry("media"), json.dumps(media).encode(), compresslevel=_LEVEL)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


class _Deflate:
    """A file deflated in pieces on every core, as pigz does: each piece with the 32 KiB
    before it as its dictionary, ended on a byte (a sync flush), the last one finished:
    one deflate stream, the same bytes however many cores made it. It stands in for the
    compressor of a zip entry: `compress` gives, for each piece written, its deflated
    bytes, made ahead by a few threads (zlib lets go of the interpreter meanwhile)."""

    PIECE = 1 << 20

    def __init__(self, source: BinaryIO) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.source = source
        workers = max(1, min(4, os.cpu_count() or 1))
        self.pool = ThreadPoolExecutor(workers)
        self.ahead: collections.deque[tuple[bytes, Future[bytes]]] = collections.deque()
        self.before = b""  # the end of the last piece read: the next one's dictionary
        self.done = False
        for _ in range(2 * workers):  # pieces deflated ahead: a few, not the whole file
            self._read_one()

    def __enter__(self) -> _Deflate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(cancel_futures=True)

    def _read_one(self) -> None:
        if self.done:
            return
        piece = self.source.read(self.PIECE)
        last = len(piece) < self.PIECE
        if piece or last:  # (a file that ends on a piece's end ends with an empty one)
            self.ahead.append((piece, self.pool.submit(_deflate, piece, self.before, last)))
        self.before = piece[-32768:] if piece else self.before
        self.done = last

    def next_piece(self) -> bytes:
        """The next piece of the file to write ("" at its end)."""
        return self.ahead[0][0] if self.ahead else b""

    def compress(self, piece: bytes) -> bytes:
        """The deflated bytes of the piece just written (the next in order)."""
        written, deflated = self.ahead.popleft()
        assert written is piece, "the pieces are written in the order they were read"
        self._read_one()
        return deflated.result()

    def flush(self) -> bytes:
        """The end of the stream: the empty last piece, if the file ended on a piece's end."""
        return self.ahead.popleft()[1].result() if self.ahead else b""


def _deflate(piece: bytes, before: bytes, last: bool) -> bytes:
    """A piece of a deflate stream, as zipfile's own compressor makes it (raw deflate, the
    fastest level), its predecessor's end as dictionary."""
    compressor = (
        zlib.compressobj(_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=before)
        if before
        else zlib.compressobj(_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    )
    end = zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
    return compressor.compress(piece) + compressor.flush(end)


def _note_id(position: int) -> int:
    return _ID_BASE + position


# A row of each table: what differs from note to note, and what is the same for all
# (usn -1: not synced; new cards, in no learning step, of no review, flags and data).
_NOTE_ROW = "INSERT INTO notes VALUES (?, ?, ?, ?, -1, ?, ?, ?, 0, 0, '')"
_CARD_ROW = "INSERT INTO cards VALUES (?, ?, ?, ?, ?, -1, 0, 0, ?, 0, 0, 0, 0, 0, 0, 0, 0, '')"


def _note_rows(
    positions: range, notes: Sequence[Record], mods: list[int], model_ids: Mapping[str, int]
) -> Iterator[tuple[Any, ...]]:
    """Each note: id, GUID, note type, time, tags, fields, sort field."""
    for position, record, mod in zip(positions, notes, mods, strict=True):
        tags = f" {' '.join(record.tags)} "
        first = record.fields.partition(FIELD_SEPARATOR)[0]
        yield (
            _note_id(position),
            record.guid,
            model_ids[record.kind],
            mod,
            tags,
            record.fields,
            first,
        )


def _card_rows(
    positions: range,
    notes: Sequence[Record],
    mods: list[int],
    subdecks: Mapping[str, int],
    first: int,
    dues: list[int],
) -> Iterator[tuple[int, ...]]:
    """Each note's cards, numbered on from `first`: id, note, deck, template, time, and
    the position it is due at as a new card (Positions)."""
    card_id = _CARD_BASE + first
    for position, record, mod, due in zip(positions, notes, mods, dues, strict=True):
        if record.ords:
            did, note_id = subdecks[record.deck], _note_id(position)
            for o in record.ords:
                yield (card_id, note_id, did, o, mod, due)
                card_id += 1


class Positions:
    """The position each note's new cards are due at, so that new cards gathered by
    position (the deck's preset) interleave the domains by their weights: a domain of
    weight w puts its cards at steps of 1/w, as a stride scheduler does, so that in any
    run of new cards each domain's share is its weight's, and its own cards come in the
    order they are written. Without weights, the order written: domain after domain. A
    domain without a weight shares what the others' leave of 100% (none left: its cards
    come after theirs, as a weight of 0 does)."""

    _LATE = 1 << 30  # past every weighted card (Anki keeps a position in 32 bits)

    def __init__(self, domains: Sequence[Domain]) -> None:
        given = [d.weight for d in domains if d.weight is not None]
        missing = len(domains) - len(given)
        share = max(0, 100 - sum(given)) // missing if missing else 0
        self.weights: dict[str, int] | None = (
            {d.key: share if d.weight is None else d.weight for d in domains} if given else None
        )
        self.cards: dict[str, int] = {}  # each domain's cards so far
        self.notes = 0

    def due(self, record: Record) -> int:
        self.notes += 1
        if self.weights is None:
            return self.notes  # the order written
        weight = self.weights.get(record.domain, 0)
        if weight <= 0:
            return self._LATE + self.notes
        before = self.cards.get(record.domain, 0)
        count = max(1, len(record.ords))
        self.cards[record.domain] = before + count
        # The middle of its cards' span, in steps of 1/weight (of 100): rising within a
        # domain, since each note's span starts where the last one's ended.
        return 1 + (2 * before + count) * 100 // (2 * weight)


def preset_id(key: str) -> int:
    """The id of the deck's options preset: made from its key (never 1, Anki's Default),
    the same in every package of the deck, and in no collection unless it came from one."""
    return deck_id(key, "preset")


def deck_id(*keys: str) -> int:
    """A stable deck id (Anki matches decks by name; the id only has to be stable and unique)."""
    digest = hashlib.sha256("::".join(keys).encode()).digest()
    return int.from_bytes(digest[:6], "big") | 1 << 40


def model_json(note_type: NoteType, mod: int, deck_id: int = 1) -> dict[str, Any]:
    """The note type as the package stores it, with its modification time."""
    return apkg.notetype_json(
        model_id=note_type.model_id,
        name=note_type.name,
        is_cloze=note_type.is_cloze,
        fields=note_type.schema.fields,
        templates=note_type.faces,
        css=note_type.css,
        mod=mod,
        deck_id=deck_id,
        sort_field=note_type.sort_field,
        settings=note_type.settings,
        field_settings=[f.settings for f in note_type.fields],
        template_settings=[t.settings for t in note_type.templates],
    )


def _description(deck: Identity) -> str:
    parts = [to_html(deck.description, pictures=False)] if deck.description else []
    if deck.source:
        parts.append(f"Source: {to_html(deck.source, pictures=False)}")
    return "<br><br>".join(parts)


def _entry(name: str, stored: bool = False) -> zipfile.ZipInfo:
    """A zip entry whose date and permissions are fixed, not taken from the clock."""
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3
    info._compresslevel = _LEVEL  # type: ignore[attr-defined]  # ZipFile.open reads this
    return info
