"""Stamped notes -> .apkg bytes: the same notes and lock always give the same bytes.

Every time and id in the package comes from the lock or the GUID, never the clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import sqlite3
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from deckgen import apkg
from deckgen.files import scratch_dir
from deckgen.markup import to_html
from deckgen.notes import Deck, Domain
from deckgen.notetypes import NOTE_TYPES, NoteType, css
from deckgen.revision import Revision, Stamped
from deckgen.validate import DeckHeader

# Zip entries carry this date instead of the wall clock, so equal input gives equal bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Deflate's fastest level: a quarter of the time of the default, for a file a tenth larger.
_LEVEL = 1
# Note and card ids are hashed into this range of millisecond times (2001 to 2033), where
# Anki's own ids live; Anki matches notes by GUID and renumbers ids that collide.
_ID_BASE, _ID_SPAN = 1_000_000_000_000, 1_000_000_000_000
_CARD_SLOTS = 8  # more than any note type's templates
# Notes written at a time, each batch followed by its cards: a large build writes most
# cards while later files are still being read, not all at the end.
_BATCH = 1000


def render(
    deck: Deck, revision: Revision, note_types: Mapping[str, NoteType] = NOTE_TYPES
) -> bytes:
    """The .apkg file for a revision of the deck, as bytes."""
    writer = Writer(DeckInfo.of(deck), revision.notetype_mods, note_types)
    try:
        writer.add(revision.notes)
        return writer.finish()
    finally:
        writer.close()


class DeckInfo(NamedTuple):
    """What the package says of the deck itself: its decks and their description."""

    key: str
    name: str
    description: str
    source: str
    domains: tuple[Domain, ...]

    @classmethod
    def of(cls, deck: Deck | DeckHeader) -> DeckInfo:
        return cls(deck.key, deck.name, deck.description, deck.source, deck.domains)


class Writer:
    """Writes a package note by note, so that a large build can write the notes of one
    file while the next is still being read. The rows go in the same order however the
    notes arrive (note type and deck rows; the notes a batch at a time, each batch's
    cards after it; the indexes), so the bytes are the same for the same notes.

    The collection file is written here, or by a `CollectionProcess` given."""

    def __init__(
        self,
        deck: DeckInfo,
        notetype_mods: Mapping[str, int],
        note_types: Mapping[str, NoteType] = NOTE_TYPES,
        collection: CollectionProcess | None = None,
    ) -> None:
        top_id = deck_id(deck.key)
        decks = {str(top_id): apkg.deck_json(top_id, deck.name, _description(deck))}
        self._deck_ids: dict[str, int] = {}
        for domain in deck.domains:
            name = f"{deck.name}::{domain.name}"
            self._deck_ids[name] = deck_id(deck.key, domain.key)
            decks[str(self._deck_ids[name])] = apkg.deck_json(self._deck_ids[name], name)
        models = {
            str(t.model_id): model_json(t, notetype_mods[kind], top_id)
            for kind, t in note_types.items()
        }
        self._collection = collection or _Collection()
        self._collection.start(apkg.collection_row(models, decks))
        self._model_ids = {kind: t.model_id for kind, t in note_types.items()}
        self._used: set[int] = set()
        self._pending: list[Stamped] = []  # notes not yet written: less than a batch
        self._written = 0

    def add(self, notes: Iterable[Stamped]) -> None:
        self._pending += notes
        while len(self._pending) >= _BATCH:
            self._write(self._pending[:_BATCH])
            del self._pending[:_BATCH]

    def _write(self, notes: list[Stamped]) -> None:
        """Some notes, then their cards, each in id order: ids are random, and in order
        each page of the table is visited once."""
        cards: list[tuple[int, int, tuple[int, ...], int, int]] = []
        rows = sorted(self._rows(notes, cards), key=_first)
        cards.sort(key=_first)
        self._collection.write(
            rows,
            [
                # Note ids are _CARD_SLOTS apart, so a note's cards take the ids after it.
                (note_id + o, note_id, did, o, mod, -1, 0, 0, pos, 0, 0, 0, 0, 0, 0, 0, 0, "")
                for note_id, did, ords, mod, pos in cards
                for o in ords
            ],
        )

    def _rows(
        self, notes: list[Stamped], cards: list[tuple[int, int, tuple[int, ...], int, int]]
    ) -> Iterator[_Row]:
        for stamped in notes:
            record = stamped.record
            note_id = _note_id(self._used, record.guid)
            self._written += 1
            did = self._deck_ids[record.deck] if record.ords else 0
            cards.append((note_id, did, record.ords, stamped.mod, self._written))
            tags = f" {' '.join(record.tags)} "
            fields = "\x1f".join(record.fields)
            mid = self._model_ids[record.kind]
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

    def finish(self) -> bytes:
        """Write the last notes and the indexes; the package as bytes."""
        self._write(self._pending)
        self._pending.clear()
        return self._collection.finish()

    def close(self) -> None:
        """Let go of the scratch file, finished or not."""
        self._collection.close()


_Row = tuple[Any, ...]


class _Collection:
    """The package's collection file, as rows are written into it."""

    def start(self, row: _Row) -> None:
        """A new file with Anki's tables and the collection row (decks, note types)."""
        self._scratch = scratch_dir()
        self._path = self._scratch.__enter__() / "collection.anki2"
        self._db = sqlite3.connect(self._path)
        # A scratch file, read once when complete: no journal, no waiting for the disk.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        # KiB, taken as pages are used: a 20,000-note collection (13 MB) fits whole, and a
        # larger one, whose notes go to random pages, is not slowed by reading them again.
        self._db.execute("PRAGMA cache_size = -65536")
        # Notes go in by id, which is random: with pages of 16 KiB instead of 4, far fewer
        # are split and written again (a third less time for 20,000 notes).
        self._db.execute("PRAGMA page_size = 16384")
        self._db.executescript(apkg.SCHEMA)
        self._db.execute("INSERT INTO col VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", row)

    def write(self, notes: list[_Row], cards: list[_Row]) -> None:
        self._db.executemany("INSERT INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)", notes)
        self._db.executemany(
            "INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards
        )

    def finish(self) -> bytes:
        """The indexes, then the package: the file zipped with an empty media list."""
        self._db.executescript(apkg.INDEXES)
        self._db.commit()
        self._db.close()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            with (
                open(self._path, "rb") as collection,
                archive.open(_entry("collection.anki2"), "w") as entry,
            ):
                shutil.copyfileobj(collection, entry, 1 << 20)
            archive.writestr(_entry("media"), b"{}", compresslevel=_LEVEL)
        return buffer.getvalue()

    def close(self) -> None:
        if hasattr(self, "_db"):  # started
            self._db.close()
            self._scratch.__exit__(None, None, None)


class CollectionProcess:
    """A `_Collection` written by a process of its own, so that SQLite and deflate run
    beside the reading and stamping of notes (which, in a rebuild from the cache, is
    all this process does). Start it before any thread: it is forked where fork is the
    default. A failure there is raised here by `finish`."""

    def __init__(self) -> None:
        import multiprocessing

        self._connection, theirs = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_serve, args=(theirs,), daemon=True)
        self._process.start()
        theirs.close()

    def start(self, row: _Row) -> None:
        self._send(("start", row))

    def write(self, notes: list[_Row], cards: list[_Row]) -> None:
        self._send(("write", notes, cards))

    def finish(self) -> bytes:
        self._send(("finish",))
        try:
            outcome, value = self._connection.recv()
        except (EOFError, OSError):
            raise _stopped() from None
        if outcome == "error":
            raise value
        assert isinstance(value, bytes)
        return value

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            self._connection.send(message)
        except OSError:  # a broken pipe: the process is gone
            raise _stopped() from None

    def close(self) -> None:
        """Stop the process, finished or not; its scratch file goes with it."""
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                self._connection.send(None)
            self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._connection.close()


def _stopped() -> OSError:
    return OSError("the process writing the package stopped before it was done")


def _serve(connection: Any) -> None:
    """The body of a `CollectionProcess`: messages in, a package or an error out. An
    error is kept until `finish`, which is the one message answered."""
    from deckgen.children import follow_parent

    follow_parent()  # if killed with the build, the next build removes its scratch file
    collection = _Collection()
    actions: dict[str, Callable[..., None]] = {
        "start": collection.start,
        "write": collection.write,
    }
    failure: Exception | None = None
    try:
        while (message := _receive(connection)) is not None:
            action, *values = message
            if action == "finish":
                connection.send(_outcome(collection, failure))
            elif failure is None:
                try:
                    actions[action](*values)
                except Exception as error:
                    failure = error
    finally:
        collection.close()


def _receive(connection: Any) -> Any:
    """The next message; None once the build is done, or gone."""
    try:
        return connection.recv()
    except EOFError:
        return None


def _outcome(collection: _Collection, failure: Exception | None) -> tuple[str, Any]:
    if failure is None:
        try:
            return "done", collection.finish()
        except Exception as error:
            failure = error
    return "error", failure


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]


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


def _description(deck: DeckInfo) -> str:
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
