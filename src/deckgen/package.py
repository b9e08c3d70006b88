"""Stamped notes -> .apkg bytes: the same notes and lock always give the same bytes.

Every time and id in the package comes from the lock or the GUID, never the clock.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
import zipfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from deckgen import apkg
from deckgen.files import scratch_dir
from deckgen.markup import to_html
from deckgen.notes import Deck
from deckgen.notetypes import NOTE_TYPES, NoteType, css
from deckgen.records import subdeck_name
from deckgen.revision import Revision

# Zip entries carry this date instead of the wall clock, so equal input gives equal bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Deflate's fastest level: a quarter of the time of the default, for a file a tenth larger.
_LEVEL = 1
# Note and card ids are hashed into this range of millisecond times (2001 to 2033), where
# Anki's own ids live; Anki matches notes by GUID and renumbers ids that collide.
_ID_BASE, _ID_SPAN = 1_000_000_000_000, 1_000_000_000_000
_CARD_SLOTS = 8  # more than any note type's templates


Progress = Callable[[int, int], None]  # (notes done, notes in all)


def render(
    deck: Deck,
    revision: Revision,
    note_types: Mapping[str, NoteType] = NOTE_TYPES,
    progress: Progress | None = None,
) -> bytes:
    """The .apkg file for a revision of the deck, as bytes."""
    with scratch_dir() as work:
        path = work / "collection.anki2"
        connection = sqlite3.connect(path)
        # A scratch file, read once when complete: no journal, no waiting for the disk.
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        try:
            with connection:
                _write_collection(connection, deck, revision, note_types, progress)
        finally:
            connection.close()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            with (
                open(path, "rb") as collection,
                archive.open(_entry("collection.anki2"), "w") as entry,
            ):
                shutil.copyfileobj(collection, entry, 1 << 20)
            archive.writestr(_entry("media"), b"{}", compresslevel=_LEVEL)
    return buffer.getvalue()


def _write_collection(
    db: sqlite3.Connection,
    deck: Deck,
    revision: Revision,
    note_types: Mapping[str, NoteType],
    progress: Progress | None,
) -> None:
    db.executescript(apkg.SCHEMA)
    top_id = deck_id(deck.key)
    decks = {str(top_id): apkg.deck_json(top_id, deck.name, _description(deck))}
    deck_ids = {}
    for domain in deck.domains:
        name = subdeck_name(deck, domain)
        deck_ids[name] = deck_id(deck.key, domain.key)
        decks[str(deck_ids[name])] = apkg.deck_json(deck_ids[name], name)
    models = {
        str(t.model_id): model_json(t, revision.notetype_mods[kind], top_id)
        for kind, t in note_types.items()
    }
    db.execute(
        "INSERT INTO col VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", apkg.collection_row(models, decks)
    )
    model_ids = {kind: t.model_id for kind, t in note_types.items()}
    note_ids: list[int] = []
    used: set[int] = set()
    total = len(revision.notes)

    def notes() -> Iterator[tuple[object, ...]]:
        """Rows made as SQLite takes them, so that a large deck is never held twice."""
        for position, stamped in enumerate(revision.notes, start=1):
            record = stamped.record
            note_id = _note_id(used, record.guid)
            note_ids.append(note_id)
            tags = f" {' '.join(record.tags)} "
            fields = "\x1f".join(record.fields)
            mid = model_ids[record.kind]
            yield (
                note_id,
                record.guid,
                mid,
                stamped.mod,
                -1,
                tags,
                fields,
                record.fields[0],
                0,
                0,
                "",
            )
            if progress is not None and position % 1000 == 0:
                progress(position, total)

    def cards() -> Iterator[tuple[object, ...]]:
        pairs = zip(revision.notes, note_ids, strict=True)
        for position, (stamped, note_id) in enumerate(pairs, start=1):
            for ord_ in stamped.record.ords:
                did = deck_ids[stamped.record.deck]
                # Note ids are _CARD_SLOTS apart, so a note's cards take the ids after it.
                yield (
                    note_id + ord_,
                    note_id,
                    did,
                    ord_,
                    stamped.mod,
                    -1,
                    0,
                    0,
                    position,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    "",
                )

    db.executemany("INSERT INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)", notes())
    db.executemany("INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards())
    db.executescript(apkg.INDEXES)
    if progress is not None:
        progress(total, total)


def deck_id(*keys: str) -> int:
    """A stable deck id (Anki matches decks by name; the id only has to be stable and unique)."""
    digest = hashlib.sha256("::".join(keys).encode()).digest()
    return int.from_bytes(digest[:6], "big") | 1 << 40


def _note_id(used: set[int], guid: str) -> int:
    """A note id from its GUID, a multiple of _CARD_SLOTS, so that its cards can take the
    ids after it; a collision moves on to the next free slot."""
    digest = hashlib.sha256(guid.encode()).digest()
    candidate = _ID_BASE + int.from_bytes(digest[:8], "big") % _ID_SPAN // _CARD_SLOTS * _CARD_SLOTS
    while candidate in used:
        candidate += _CARD_SLOTS
    used.add(candidate)
    return candidate


def model_json(note_type: NoteType, mod: int, deck_id: int = 1) -> dict[str, Any]:
    """The note type as the package stores it, with its modification time."""
    return apkg.notetype_json(
        model_id=note_type.model_id,
        name=note_type.name,
        is_cloze=note_type.is_cloze,
        fields=[(f.id, f.name) for f in note_type.fields],
        templates=[(t.id, t.name, t.html(t.front), t.html(t.back)) for t in note_type.templates],
        css=css(),
        mod=mod,
        deck_id=deck_id,
    )


def _description(deck: Deck) -> str:
    parts = [to_html(deck.description)] if deck.description else []
    if deck.source:
        parts.append(f"Source: {to_html(deck.source)}")
    return "<br><br>".join(parts)


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry whose date and permissions are fixed, not taken from the clock."""
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3
    info._compresslevel = _LEVEL  # type: ignore[attr-defined]  # ZipFile.open reads this
    return info
