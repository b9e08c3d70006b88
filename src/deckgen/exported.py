"""What a user exported from Anki: the notes, their note types and decks, of any package
Anki writes (File > Export > Anki Deck Package, on desktop or phone), read with zipfile,
sqlite3 and a zstd decoder alone.

Formats: the current one (`collection.anki21b`: a zstd stream of an SQLite collection of
schema 18, whose `meta` entry names version 3), and the legacy ones that "Support older
Anki versions" writes (`collection.anki21`, or `collection.anki2`, schema 11). A package
of the current format also holds a dummy `collection.anki2` ("please update"), so the
newest collection inside is the one read.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import zstandard

# Bounds of a package: the collection inside, unpacked, and the notes it may hold (a
# whole collection's export may hold many decks besides this one).
MAX_COLLECTION = 2**30
MAX_NOTES = 1_000_000
# The newest package format read here (Anki's `PackageMetadata.Version`: 1 anki2,
# 2 anki21, 3 anki21b).
NEWEST_FORMAT = 3
_COLLECTIONS = (
    ("collection.anki21b", True),
    ("collection.anki21", False),
    ("collection.anki2", False),
)


class PackageError(Exception):
    """The package cannot be read: why, in the user's words."""


class ExportedNote(NamedTuple):
    guid: str
    notetype: int
    mod: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    decks: frozenset[str]  # the decks its cards are in, levels joined by "::"


class Notetype(NamedTuple):
    name: str
    fields: tuple[str, ...]
    field_ids: tuple[int | None, ...] = ()
    templates: tuple[Template, ...] = ()
    css: str = ""
    mod: int = 0


class Template(NamedTuple):
    id: int | None
    name: str
    front: str
    back: str


class Exported(NamedTuple):
    notes: dict[str, ExportedNote]  # by GUID, in the collection's note id order
    notetypes: dict[int, Notetype]


def read(path: Path) -> Exported:
    """Every note of the package, with its note type and decks; PackageError if it is not
    an Anki package deckgen can read."""
    try:
        with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as work:
            names = set(archive.namelist())
            _check_format(archive, names)
            name, compressed = next(((n, c) for n, c in _COLLECTIONS if n in names), (None, False))
            if name is None:
                raise PackageError(
                    "no Anki collection inside: export it from Anki with File > Export, as"
                    " an Anki Deck Package (.apkg)"
                )
            database = Path(work) / "collection"
            _unpack(archive, name, compressed, database)
            return _query(database)
    except zipfile.BadZipFile:
        raise PackageError("not an Anki package: it is not a zip archive") from None
    except IsADirectoryError:
        raise PackageError("this is a folder, not an Anki package") from None
    except OSError as error:
        raise PackageError(f"cannot read it: {error.strerror or error}") from None


def _check_format(archive: zipfile.ZipFile, names: set[str]) -> None:
    if "meta" not in names:
        return  # written before Anki 2.1.50: a legacy format
    meta = archive.read("meta") if archive.getinfo("meta").file_size < 1024 else b""
    # Anki's `PackageMetadata`: field 1 is the version.
    try:
        version = _varint(_message(meta), 1)
    except ValueError:
        version = None
    if version is None or version > NEWEST_FORMAT:
        raise PackageError(
            "it was written by a newer Anki, in a format deckgen cannot read yet: export"
            " it again with 'Support older Anki versions' ticked"
        )


def _unpack(archive: zipfile.ZipFile, name: str, compressed: bool, target: Path) -> None:
    """The collection, unpacked into `target`, refused past MAX_COLLECTION bytes (its
    zstd frames carry no content size, so it is decompressed as a stream and counted)."""
    too_large = PackageError(
        f"its collection is over {MAX_COLLECTION // 2**30} GiB unpacked: export just the"
        " deck, not the whole collection"
    )
    if archive.getinfo(name).file_size > MAX_COLLECTION:
        raise too_large
    with archive.open(name) as source, open(target, "wb") as out:
        reader: Any = source
        if compressed:
            reader = zstandard.ZstdDecompressor().stream_reader(source)
        written = 0
        try:
            while chunk := reader.read(1 << 20):
                written += len(chunk)
                if written > MAX_COLLECTION:
                    raise too_large
                out.write(chunk)
        except zstandard.ZstdError as error:
            raise PackageError(f"its collection is damaged: {error}") from None


def _query(database: Path) -> Exported:
    uri = f"{database.as_uri()}?mode=ro&immutable=1"
    try:
        db = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as error:
        raise PackageError(f"its collection cannot be opened: {error}") from None
    try:
        # Anki's own collation, for names: plain sqlite3 has none of that name.
        db.create_collation("unicase", _unicase)
        return _tables(db)
    except sqlite3.DatabaseError as error:
        raise PackageError(f"its collection is damaged or not Anki's: {error}") from None
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise PackageError(f"its collection is not one Anki writes: {error!r}") from None
    finally:
        db.close()


def _unicase(first: str, second: str) -> int:
    a, b = first.casefold(), second.casefold()
    return (a > b) - (a < b)


def _tables(db: sqlite3.Connection) -> Exported:
    (version,) = db.execute("SELECT ver FROM col").fetchone()
    if version >= 15:  # note types, fields and decks in tables of their own
        notetypes = _notetypes(db)
        decks = {
            did: name.replace("\x1f", "::")
            for did, name in db.execute("SELECT id, name FROM decks")
        }
    else:
        models_json, decks_json = db.execute("SELECT models, decks FROM col").fetchone()
        notetypes = {
            int(ntid): _notetype_of(model) for ntid, model in json.loads(models_json).items()
        }
        decks = {int(did): deck["name"] for did, deck in json.loads(decks_json).items()}
    in_decks: dict[int, set[str]] = {}
    for nid, did in db.execute("SELECT nid, did FROM cards"):
        in_decks.setdefault(nid, set()).add(decks.get(did, ""))
    notes: dict[str, ExportedNote] = {}
    rows = db.execute(
        "SELECT id, guid, mid, mod, flds, tags FROM notes ORDER BY id LIMIT ?", (MAX_NOTES + 1,)
    )
    for nid, guid, mid, mod, flds, tags in rows:
        if len(notes) == MAX_NOTES:
            raise PackageError(
                f"it holds over {MAX_NOTES:,} notes: export just the deck, not the whole collection"
            )
        notes[str(guid)] = ExportedNote(
            str(guid),
            int(mid),
            int(mod),
            tuple(str(flds).split("\x1f")),
            tuple(str(tags).split()),
            frozenset(in_decks.get(nid, ())),
        )
    return Exported(notes, notetypes)


def _notetype_of(model: dict[str, Any]) -> Notetype:
    """A note type as schema 11 keeps it: JSON."""
    fields = sorted(model["flds"], key=lambda f: int(f["ord"]))
    templates = sorted(model["tmpls"], key=lambda t: int(t["ord"]))
    return Notetype(
        str(model["name"]),
        tuple(str(f["name"]) for f in fields),
        tuple(_id(f.get("id")) for f in fields),
        tuple(
            Template(_id(t.get("id")), str(t["name"]), str(t["qfmt"]), str(t["afmt"]))
            for t in templates
        ),
        str(model.get("css", "")),
        int(model.get("mod", 0)),
    )


def _id(value: object) -> int | None:
    return None if value is None else int(str(value))


def _notetypes(db: sqlite3.Connection) -> dict[int, Notetype]:
    """Note types as schema 18 keeps them: tables, each row's settings a protobuf message
    (Anki's `Notetype.Config`: css is field 3; `Field.Config`: id is 9;
    `Template.Config`: front 1, back 2, id 8)."""
    fields: dict[int, list[tuple[str, int | None]]] = {}
    for ntid, name, config in db.execute(
        "SELECT ntid, name, config FROM fields ORDER BY ntid, ord"
    ):
        fields.setdefault(ntid, []).append((str(name), _varint(_message(config), 9)))
    templates: dict[int, list[Template]] = {}
    rows = db.execute("SELECT ntid, name, config FROM templates ORDER BY ntid, ord")
    for ntid, name, config in rows:
        message = _message(config)
        front, back = _text(message, 1), _text(message, 2)
        templates.setdefault(ntid, []).append(Template(_varint(message, 8), str(name), front, back))
    notetypes = {}
    for ntid, name, mod, config in db.execute("SELECT id, name, mtime_secs, config FROM notetypes"):
        own = fields.get(ntid, [])
        notetypes[int(ntid)] = Notetype(
            str(name),
            tuple(n for n, _ in own),
            tuple(i for _, i in own),
            tuple(templates.get(ntid, [])),
            _text(_message(config), 3),
            int(mod),
        )
    return notetypes


def _message(data: bytes) -> dict[int, list[int | bytes]]:
    """A protobuf message's fields by number: varints as ints, the rest as bytes (the
    little of the wire format Anki's settings use)."""
    fields: dict[int, list[int | bytes]] = {}
    at = 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, at = _read_varint(data, at)
        elif wire == 2:
            size, at = _read_varint(data, at)
            value, at = bytes(data[at : at + size]), at + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, at = int.from_bytes(data[at : at + width], "little"), at + width
        else:
            raise ValueError(f"a protobuf field of wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("a truncated protobuf varint")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if byte < 0x80:
            return value, at


def _varint(message: dict[int, list[int | bytes]], number: int) -> int | None:
    values = message.get(number)
    if not values or not isinstance(values[-1], int):
        return None
    value = values[-1]
    return value - 2**64 if value >= 2**63 else value  # an int64


def _text(message: dict[int, list[int | bytes]], number: int) -> str:
    values = message.get(number)
    return values[-1].decode("utf-8") if values and isinstance(values[-1], bytes) else ""
