"""A deck and its revision -> an .apkg file: the same notes and lock give the same bytes.

Every time and id in the package comes from the lock or the GUID, never the clock.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import sqlite3
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from deckgen import apkg
from deckgen.files import scratch_dir
from deckgen.markup import to_html
from deckgen.notetypes import NOTE_TYPES, NoteType, css
from deckgen.records import FIELD_SEPARATOR, Deck, Record
from deckgen.revision import Revision, shipped

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
    top_id = deck_id(deck.key)
    decks = {str(top_id): apkg.deck_json(top_id, deck.name, _description(deck))}
    subdecks: dict[str, int] = {}
    for domain in deck.domains:
        name = domain.subdeck(deck.name)
        subdecks[name] = deck_id(deck.key, domain.key)
        decks[str(subdecks[name])] = apkg.deck_json(subdecks[name], name)
    models = {
        str(t.model_id): model_json(t, revision.notetype_mods[kind], top_id)
        for kind, t in note_types.items()
    }
    model_ids = {kind: t.model_id for kind, t in note_types.items()}
    with scratch_dir() as work:
        collection = work / "collection.anki2"
        db = sqlite3.connect(collection)
        try:
            # A scratch file, read once when complete: no journal, no waiting for the disk.
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            db.executescript(apkg.SCHEMA)
            row = apkg.collection_row(models, decks)
            db.execute("INSERT INTO col VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
            # Note ids follow study order, so the rows of both tables go in in id order,
            # each page written once; a note's cards take the ids after its own.
            notes = shipped(deck, revision)
            position = card = 0
            while batch := list(itertools.islice(notes, _BATCH)):
                positions = range(position, position + len(batch))
                mods = [revision.mod(record.note_id) for record in batch]
                db.executemany(_NOTE_ROW, _note_rows(positions, batch, mods, model_ids))
                db.executemany(_CARD_ROW, _card_rows(positions, batch, mods, subdecks, card))
                position += len(batch)
                card += sum(len(record.ords) for record in batch)
            db.executescript(apkg.INDEXES)  # after the rows: quicker than keeping them up
            db.commit()
        finally:
            db.close()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            with (
                open(collection, "rb") as source,
                archive.open(_entry("collection.anki2"), "w") as entry,
            ):
                shutil.copyfileobj(source, entry, 1 << 20)
            # The pictures, by their names (each made from its bytes), in a fixed order.
            media = {}
            for index, picture in enumerate(deck.pictures):
                media[str(index)] = picture.name
                stored = not picture.name.endswith(".svg")  # the others are compressed
                with (
                    open(picture.path, "rb") as source,
                    archive.open(_entry(str(index), stored), "w") as entry,
                ):
                    shutil.copyfileobj(source, entry, 1 << 20)
            archive.writestr(_entry("media"), json.dumps(media).encode(), compresslevel=_LEVEL)


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
) -> Iterator[tuple[int, ...]]:
    """Each note's cards, numbered on from `first`: id, note, deck, template, time, and
    the position it is due at (new cards come in study order)."""
    card_id = _CARD_BASE + first
    for position, record, mod in zip(positions, notes, mods, strict=True):
        if record.ords:
            did, note_id = subdecks[record.deck], _note_id(position)
            for o in record.ords:
                yield (card_id, note_id, did, o, mod, position + 1)
                card_id += 1


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
        css=css(),
        mod=mod,
        deck_id=deck_id,
    )


def _description(deck: Deck) -> str:
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
