"""Stamped notes -> .apkg bytes: the same notes and lock always give the same bytes.

genanki supplies the collection schema and the note type and deck JSON; the rows are
written here, so that every time and id comes from the lock or the GUID, never the clock.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import genanki
from genanki.apkg_col import APKG_COL
from genanki.apkg_schema import APKG_SCHEMA

from deckgen.markup import to_html
from deckgen.notes import Deck
from deckgen.notetypes import NOTE_TYPES, NoteType, css
from deckgen.records import subdeck_name
from deckgen.revision import Revision, Stamped

# Zip entries carry this date instead of the wall clock, so equal input gives equal bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Note and card ids are hashed into this range of millisecond times (2001 to 2033), where
# Anki's own ids live; Anki matches notes by GUID and renumbers ids that collide.
_ID_BASE, _ID_SPAN = 1_000_000_000_000, 1_000_000_000_000


Progress = Callable[[int, int], None]  # (notes done, notes in all)


def render(
    deck: Deck,
    revision: Revision,
    note_types: Mapping[str, NoteType] = NOTE_TYPES,
    progress: Progress | None = None,
) -> bytes:
    """The .apkg file for a revision of the deck, as bytes."""
    with tempfile.TemporaryDirectory(prefix="deckgen-") as work:
        path = Path(work) / "collection.anki2"
        connection = sqlite3.connect(path)
        try:
            with connection:
                _write_collection(connection, deck, revision, note_types, progress)
        finally:
            connection.close()
        collection = path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "collection.anki2", collection)
        _add(archive, "media", b"{}")
    return buffer.getvalue()


def _write_collection(
    db: sqlite3.Connection,
    deck: Deck,
    revision: Revision,
    note_types: Mapping[str, NoteType],
    progress: Progress | None,
) -> None:
    db.executescript(APKG_SCHEMA)
    db.executescript(APKG_COL)
    top = genanki.Deck(deck_id(deck.key), deck.name, description=_description(deck))
    decks = [top] + [
        genanki.Deck(deck_id(deck.key, d.key), subdeck_name(deck, d)) for d in deck.domains
    ]
    deck_ids = {d.name: d.deck_id for d in decks}
    (decks_json,) = db.execute("SELECT decks FROM col").fetchone()
    all_decks = json.loads(decks_json) | {str(d.deck_id): d.to_json() for d in decks}
    models = {
        str(t.model_id): model_json(t, revision.notetype_mods[kind], top.deck_id)
        for kind, t in note_types.items()
    }
    db.execute("UPDATE col SET decks = ?, models = ?", (json.dumps(all_decks), json.dumps(models)))

    used: set[int] = set()
    for position, stamped in enumerate(revision.notes, start=1):
        note_id = _unique_id(used, stamped.record.guid)
        db.execute(
            "INSERT INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            _note_row(note_id, stamped, note_types),
        )
        for ord_ in stamped.record.ords:
            card_id = _unique_id(used, stamped.record.guid, str(ord_))
            did = deck_ids[stamped.record.deck]
            db.execute(
                "INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    card_id,
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
                ),
            )
        if progress is not None and position % 500 == 0:
            progress(position, len(revision.notes))
    if progress is not None:
        progress(len(revision.notes), len(revision.notes))


def _note_row(
    note_id: int, stamped: Stamped, note_types: Mapping[str, NoteType]
) -> tuple[object, ...]:
    record = stamped.record
    tags = f" {' '.join(record.tags)} "
    model_id = note_types[record.kind].model_id
    fields = "\x1f".join(record.fields)
    return (
        note_id,
        record.guid,
        model_id,
        stamped.mod,
        -1,
        tags,
        fields,
        record.fields[0],
        0,
        0,
        "",
    )


def deck_id(*keys: str) -> int:
    """A stable deck id (Anki matches decks by name; the id only has to be stable and unique)."""
    digest = hashlib.sha256("::".join(keys).encode()).digest()
    return int.from_bytes(digest[:6], "big") | 1 << 40


def _unique_id(used: set[int], *parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    candidate = _ID_BASE + int.from_bytes(digest[:8], "big") % _ID_SPAN
    while candidate in used:
        candidate += 1
    used.add(candidate)
    return candidate


def model_json(note_type: NoteType, mod: int, deck_id: int = 1) -> dict[str, Any]:
    """The note type as the package stores it (genanki's JSON), with its modification time."""
    model: dict[str, Any] = _genanki_model(note_type).to_json(mod, deck_id)
    return model


def _genanki_model(note_type: NoteType) -> genanki.Model:
    return genanki.Model(
        note_type.model_id,
        note_type.name,
        fields=[{"name": f.name, "id": f.id} for f in note_type.fields],
        templates=[
            {"name": t.name, "id": t.id, "qfmt": t.html(t.front), "afmt": t.html(t.back)}
            for t in note_type.templates
        ],
        css=css(),
        model_type=genanki.Model.CLOZE if note_type.is_cloze else genanki.Model.FRONT_BACK,
    )


def _description(deck: Deck) -> str:
    parts = [to_html(deck.description)] if deck.description else []
    if deck.source:
        parts.append(f"Source: {to_html(deck.source)}")
    return "<br><br>".join(parts)


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3
    archive.writestr(info, data)
