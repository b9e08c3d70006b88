"""Typed notes -> .apkg: genanki writes the collection, we write the package around it."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import genanki

from deckgen.markup import to_html
from deckgen.notes import Deck, Domain, Note
from deckgen.notetypes import NOTE_TYPES, NoteType, css, note_type

# Zip entries carry this date instead of the wall clock, so equal input gives equal bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def guid(deck: Deck, note: Note) -> str:
    """A note's permanent GUID: from the deck key and the note id only, never its text."""
    return str(genanki.guid_for(deck.key, note.id))


def tags(note: Note) -> list[str]:
    """Anki tags: domain and kind (hierarchical with `::`), then the note's own."""
    return [f"domain::{note.domain.key}", f"kind::{note.kind}", *note.tags]


def subdeck_name(deck: Deck, domain: Domain) -> str:
    return f"{deck.name}::{domain.name}"


def write(deck: Deck, out: Path, *, timestamp: float | None = None) -> None:
    """Write the deck to `out`, replacing it only once the new package is complete."""
    now = time.time() if timestamp is None else timestamp
    out.parent.mkdir(parents=True, exist_ok=True)
    with _replacing(out) as partial, tempfile.TemporaryDirectory(prefix="deckgen-") as work:
        collection = Path(work) / "collection.anki2"
        connection = sqlite3.connect(collection)
        try:
            with connection:
                genanki.Package(_genanki_decks(deck)).write_to_db(
                    connection.cursor(), now, itertools.count(int(now * 1000))
                )
        finally:
            connection.close()
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            _add(archive, "collection.anki2", collection.read_bytes())
            _add(archive, "media", b"{}")


def _genanki_decks(deck: Deck) -> list[genanki.Deck]:
    models = {kind: _genanki_model(t) for kind, t in NOTE_TYPES.items()}
    top = genanki.Deck(_deck_id(deck.key), deck.name, description=_description(deck))
    subdecks = {
        domain.key: genanki.Deck(_deck_id(deck.key, domain.key), subdeck_name(deck, domain))
        for domain in deck.domains
    }
    for position, note in enumerate(deck.notes, start=1):
        kind = note_type(note)
        subdecks[note.domain.key].add_note(
            _Note(
                model=models[note.kind],
                fields=kind.values(note),
                guid=guid(deck, note),
                tags=tags(note),
                due=position,
                ords=kind.card_ords(note),
            )
        )
    return [top, *subdecks.values()]


class _Note(genanki.Note):  # type: ignore[misc]
    """A genanki note whose cards are the ones our note type declares.

    genanki guesses cards from the front templates with its own Mustache renderer, which
    reads `{{^Retired}}` wrongly and would give our standard note types no cards at all.
    """

    def __init__(self, *, ords: list[int], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._ords = ords

    @property
    def cards(self) -> list[genanki.Card]:
        return [genanki.Card(ord_) for ord_ in self._ords]


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


def _deck_id(*keys: str) -> int:
    """A stable deck id (Anki matches decks by name; the id only has to be stable and unique)."""
    digest = hashlib.sha256("::".join(keys).encode()).digest()
    return int.from_bytes(digest[:6], "big") | 1 << 40


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


@contextlib.contextmanager
def _replacing(out: Path) -> Iterator[Path]:
    """A temporary file beside `out`, moved over it on success and removed on failure."""
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        os.chmod(partial, 0o644)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
