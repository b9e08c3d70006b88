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
import os
import sqlite3
import stat
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO, NamedTuple, TypeVar

import zstandard

from deckgen.apkg import LATEX_POST, LATEX_PRE
from deckgen.files import FILE_KINDS

# Bounds of a package: the collection inside, unpacked, and the notes it may hold (a
# whole collection's export may hold many decks besides this one).
MAX_PACKAGE = 4 * 2**30  # the file, pictures and sounds included (only its collection is read)
MAX_COLLECTION = 2**30
MAX_NOTES = 1_000_000
# The newest package format read here (Anki's `PackageMetadata.Version`: 1 anki2,
# 2 anki21, 3 anki21b).
NEWEST_FORMAT = 3
T = TypeVar("T")
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


# What else Anki keeps of a note type, a field or a template, by its name in the legacy
# JSON, with Anki's default: only what differs from that is given (Settings).
Settings = tuple[tuple[str, object], ...]
TYPE_DEFAULTS: dict[str, object] = {
    "latexPre": LATEX_PRE,
    "latexPost": LATEX_POST,
    "latexsvg": False,
}
FIELD_DEFAULTS: dict[str, object] = {
    "font": "Arial",
    "size": 20,
    "rtl": False,
    "sticky": False,
    "description": "",
    "plainText": False,
    "collapsed": False,
    "excludeFromSearch": False,
}
TEMPLATE_DEFAULTS: dict[str, object] = {"bqfmt": "", "bafmt": "", "bfont": "", "bsize": 0}


class Notetype(NamedTuple):
    name: str
    fields: tuple[str, ...]
    field_ids: tuple[int | None, ...] = ()
    templates: tuple[Template, ...] = ()
    css: str = ""
    mod: int = 0
    is_cloze: bool = False
    sort_field: int = 0
    settings: Settings = ()  # LaTeX, as it differs from Anki's defaults
    field_settings: tuple[Settings, ...] = ()  # each field's font, size, ...


class Template(NamedTuple):
    id: int | None
    name: str
    front: str
    back: str
    settings: Settings = ()  # the browser's appearance, as it differs from Anki's


def _differing(values: dict[str, object], defaults: dict[str, object]) -> Settings:
    """What of `values` differs from Anki's defaults, each of the type of its default."""
    found = []
    for key, default in defaults.items():
        value = values.get(key, default)
        if value is None:
            continue
        value = _typed(value, type(default), f"a setting '{key}'")
        if value != default:
            found.append((key, value))
    return tuple(found)


class Exported(NamedTuple):
    notes: dict[str, ExportedNote]  # by GUID, in the collection's note id order
    notetypes: dict[int, Notetype]
    decks: tuple[str, ...] = ()  # every deck's name, levels joined by "::"
    descriptions: Mapping[str, str] = MappingProxyType({})  # each deck's (HTML), by name


def read(path: Path) -> Exported:
    """Every note of the package, with its note type and decks; PackageError if it is not
    an Anki package deckgen can read."""
    try:
        with (
            _open(path) as file,
            zipfile.ZipFile(file) as archive,
            tempfile.TemporaryDirectory() as work,
        ):
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
    except OSError as error:
        raise PackageError(f"cannot read it: {error.strerror or error}") from None


MAX_MEDIA = 100_000  # files a package's media list may name


def media(path: Path, wanted: Mapping[str, Path]) -> dict[str, Path]:
    """The package's files of the names `wanted` maps, each written where it maps it
    (within the picture bound, unpacked as the format keeps it); each found name's path.
    PackageError if its list of files is not one Anki writes."""
    from deckgen.media import MAX_BYTES

    found: dict[str, Path] = {}
    folders: set[Path] = set()  # made already (a deck's thousands of files go in a few)
    try:
        with _open(path) as file, zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
            current = "collection.anki21b" in names
            listed = _media_list(archive, names, current)
            for entry, name in listed.items():
                if name not in wanted or entry not in names or not _safe_name(name):
                    continue
                info = archive.getinfo(entry)
                if info.file_size > 2 * MAX_BYTES:
                    continue
                with archive.open(entry) as source:
                    reader: Any = source
                    if current:
                        reader = zstandard.ZstdDecompressor().stream_reader(source)
                    data = reader.read(MAX_BYTES + 1)
                if len(data) > MAX_BYTES:
                    continue  # past the bound: the note that shows it says so at build
                target = wanted[name]
                if target.parent not in folders:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    folders.add(target.parent)
                target.write_bytes(data)
                found[name] = target
    except zipfile.BadZipFile:
        raise PackageError("not an Anki package: it is not a zip archive") from None
    except zstandard.ZstdError as error:
        raise PackageError(f"a file in it is damaged: {error}") from None
    except (ValueError, RecursionError) as error:
        raise PackageError(f"its list of files is not one Anki writes: {error}") from None
    return found


def _media_list(archive: zipfile.ZipFile, names: set[str], current: bool) -> dict[str, str]:
    """Each entry of the zip that holds a file, with the file's name: the legacy `media`
    JSON ({"0": "name"}), or the current format's zstd protobuf (`MediaEntries`: each
    entry 1 a message whose name is 1, in the order of the numbered entries)."""
    if "media" not in names or archive.getinfo("media").file_size > 64 * 2**20:
        return {}
    data = archive.read("media")
    if current:
        data = zstandard.ZstdDecompressor().stream_reader(data).read(256 * 2**20)
        entries = _message(data).get(1, [])
        listed = {}
        for index, entry in enumerate(entries[:MAX_MEDIA]):
            name = _text(_message(_typed(entry, bytes, "a file's entry")), 1)
            listed[str(index)] = name
        return listed
    value = json.loads(data.decode("utf-8")) if data else {}
    return {
        str(k): _typed(v, str, "a file's name")
        for k, v in list(_typed(value, dict, "the list of files").items())[:MAX_MEDIA]
    }


def _safe_name(name: str) -> bool:
    """A file name as Anki keeps one: no folder, nothing that climbs out."""
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\x00")


def _open(path: Path) -> BinaryIO:
    """The package, opened only if it is a regular file within the bound: never waiting
    on a FIFO or reading a device, even one that took the file's place."""
    kind = stat.S_IFMT(os.stat(path).st_mode)
    if kind == stat.S_IFREG:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
        info = os.fstat(fd)
        kind = stat.S_IFMT(info.st_mode)
        if kind == stat.S_IFREG and info.st_size <= MAX_PACKAGE:
            return os.fdopen(fd, "rb")
        os.close(fd)
        if kind == stat.S_IFREG:
            raise PackageError(
                f"it is {info.st_size / 2**30:.1f} GiB; deckgen reads packages of up to"
                f" {MAX_PACKAGE // 2**30} GiB: export just the deck"
            )
    what = FILE_KINDS.get(kind, "not a regular file")
    raise PackageError(f"this is {what}, not an Anki package: deckgen reads regular files only")


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
    except _Malformed as error:
        raise PackageError(f"its collection is not one Anki writes: {error}") from None
    except (ValueError, RecursionError) as error:  # JSON or text that does not decode
        raise PackageError(f"its collection is not one Anki writes: {error}") from None
    finally:
        db.close()


class _Malformed(ValueError):
    """A value of the collection is not of the type Anki writes there."""


_TYPE_NAMES = {
    int: "a number",
    str: "text",
    bytes: "a blob",
    dict: "an object",
    list: "a list",
    bool: "true or false",
}


def _typed(value: Any, kind: type[T], what: str) -> T:
    """`value`, if it is of the type Anki writes for `what`."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        found = "null" if value is None else _TYPE_NAMES.get(type(value), type(value).__name__)
        raise _Malformed(f"{what} is {found}, where Anki writes {_TYPE_NAMES[kind]}")
    return value


def _unicase(first: str, second: str) -> int:
    a, b = first.casefold(), second.casefold()
    return (a > b) - (a < b)


def _tables(db: sqlite3.Connection) -> Exported:
    row = db.execute("SELECT ver FROM col").fetchone()
    version = _typed(row[0] if row else None, int, "the collection's version")
    descriptions: dict[str, str] = {}
    if version >= 15:  # note types, fields and decks in tables of their own
        notetypes = _notetypes(db)
        decks = {}
        for did, name, kind in db.execute("SELECT id, name, kind FROM decks"):
            named = _typed(name, str, "a deck's name").replace("\x1f", "::")
            decks[_typed(did, int, "a deck's id")] = named
            # Anki's `Deck.kind`: a normal deck is 1, whose description is 4.
            normal = _message(_typed(kind, bytes, "a deck's kind")).get(1)
            if normal:
                inner = _message(_typed(normal[-1], bytes, "a normal deck's settings"))
                descriptions[named] = _text(inner, 4)
    else:
        row = db.execute("SELECT models, decks FROM col").fetchone()
        models = _json(row[0], "the note types")
        notetypes = {
            _id(ntid, "a note type's id"): _notetype_of(_typed(model, dict, "a note type"))
            for ntid, model in models.items()
        }
        decks = {}
        for did, deck in _json(row[1], "the decks").items():
            named = _typed(_typed(deck, dict, "a deck").get("name"), str, "a deck's name")
            decks[_id(did, "a deck's id")] = named
            descriptions[named] = _typed(deck.get("desc", ""), str, "a deck's description")
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
        # (Each value as `_typed` would return it, told at a glance; else it says why not.)
        if not (type(guid) is str and type(mid) is int and type(mod) is int):
            guid = _typed(guid, str, "a note's GUID")
            _typed(mid, int, "a note's note type")
            _typed(mod, int, "a note's modification time")
        if not (type(flds) is str and type(tags) is str):
            _typed(flds, str, "a note's fields")
            _typed(tags, str, "a note's tags")
        notes[guid] = ExportedNote(
            guid,
            mid,
            mod,
            tuple(flds.split("\x1f")),
            tuple(tags.split()),
            frozenset(in_decks.get(nid, ())),
        )
    return Exported(notes, notetypes, tuple(sorted(decks.values())), descriptions)


def _json(value: Any, what: str) -> dict[str, Any]:
    """An object of JSON, as schema 11 keeps note types and decks."""
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return _typed(json.loads(_typed(value, str, what)), dict, what)


def _notetype_of(model: dict[str, Any]) -> Notetype:
    """A note type as schema 11 keeps it: JSON."""
    fields = _ordered(model.get("flds"), "a note type's fields")
    templates = _ordered(model.get("tmpls"), "a note type's templates")
    return Notetype(
        _typed(model.get("name"), str, "a note type's name"),
        tuple(_typed(f.get("name"), str, "a field's name") for f in fields),
        tuple(_optional_id(f.get("id"), "a field's id") for f in fields),
        tuple(
            Template(
                _optional_id(t.get("id"), "a template's id"),
                _typed(t.get("name"), str, "a template's name"),
                _typed(t.get("qfmt"), str, "a template's front"),
                _typed(t.get("afmt"), str, "a template's back"),
                _differing(t, TEMPLATE_DEFAULTS),
            )
            for t in templates
        ),
        _typed(model.get("css", ""), str, "a note type's CSS"),
        _typed(model.get("mod", 0), int, "a note type's modification time"),
        _typed(model.get("type", 0), int, "a note type's kind") == 1,
        _typed(model.get("sortf", 0), int, "a note type's sort field"),
        _differing(model, TYPE_DEFAULTS),
        tuple(_differing(f, FIELD_DEFAULTS) for f in fields),
    )


def _ordered(value: Any, what: str) -> list[dict[str, Any]]:
    """A note type's fields or templates, in the order of their `ord`."""
    items = [_typed(item, dict, what[:-1]) for item in _typed(value, list, what)]
    return sorted(items, key=lambda item: _typed(item.get("ord"), int, f"{what[:-1]}'s ord"))


def _id(value: Any, what: str) -> int:
    """An id, as JSON keeps it: a number, or a number written as text (an object's keys)."""
    if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) < 20:
        return int(value)
    return _typed(value, int, what)


def _optional_id(value: Any, what: str) -> int | None:
    """A field's or template's id: none before Anki 2.1.67."""
    return None if value is None else _id(value, what)


def _notetypes(db: sqlite3.Connection) -> dict[int, Notetype]:
    """Note types as schema 18 keeps them: tables, each row's settings a protobuf message
    (Anki's `Notetype.Config`: kind 1, sort field 2, css 3, LaTeX 5, 6 and 7;
    `Field.Config`: sticky 1, rtl 2, font 3, size 4, description 5, plain text 6,
    collapsed 7, excluded from search 8, id 9; `Template.Config`: front 1, back 2, the
    browser's front 3 and back 4, font 6 and size 7, id 8)."""
    fields: dict[int, list[tuple[str, int | None, Settings]]] = {}
    for ntid, name, config in db.execute(
        "SELECT ntid, name, config FROM fields ORDER BY ntid, ord"
    ):
        message = _message(_typed(config, bytes, "a field's settings"))
        settings = _from_message(message, _FIELD_MESSAGE, FIELD_DEFAULTS)
        fields.setdefault(ntid, []).append(
            (_typed(name, str, "a field's name"), _varint(message, 9), settings)
        )
    templates: dict[int, list[Template]] = {}
    rows = db.execute("SELECT ntid, name, config FROM templates ORDER BY ntid, ord")
    for ntid, name, config in rows:
        message = _message(_typed(config, bytes, "a template's settings"))
        front, back = _text(message, 1), _text(message, 2)
        name = _typed(name, str, "a template's name")
        settings = _from_message(message, _TEMPLATE_MESSAGE, TEMPLATE_DEFAULTS)
        templates.setdefault(ntid, []).append(
            Template(_varint(message, 8), name, front, back, settings)
        )
    notetypes = {}
    for ntid, name, mod, config in db.execute("SELECT id, name, mtime_secs, config FROM notetypes"):
        own = fields.get(ntid, [])
        message = _message(_typed(config, bytes, "a note type's settings"))
        notetypes[_typed(ntid, int, "a note type's id")] = Notetype(
            _typed(name, str, "a note type's name"),
            tuple(n for n, _, _ in own),
            tuple(i for _, i, _ in own),
            tuple(templates.get(ntid, [])),
            _text(message, 3),
            _typed(mod, int, "a note type's modification time"),
            _varint(message, 1) == 1,
            _varint(message, 2) or 0,
            _from_message(message, _TYPE_MESSAGE, TYPE_DEFAULTS),
            tuple(settings for _, _, settings in own),
        )
    return notetypes


# Where each setting is in Anki's protobuf messages: its number, by its legacy JSON name.
_TYPE_MESSAGE = {"latexPre": 5, "latexPost": 6, "latexsvg": 7}
_FIELD_MESSAGE = {
    "sticky": 1,
    "rtl": 2,
    "font": 3,
    "size": 4,
    "description": 5,
    "plainText": 6,
    "collapsed": 7,
    "excludeFromSearch": 8,
}
_TEMPLATE_MESSAGE = {"bqfmt": 3, "bafmt": 4, "bfont": 6, "bsize": 7}


def _from_message(
    message: dict[int, list[int | bytes]], numbers: dict[str, int], defaults: dict[str, object]
) -> Settings:
    """A message's settings, as the legacy JSON would name them (see `_differing`)."""
    values: dict[str, object] = {}
    for key, number in numbers.items():
        default = defaults[key]
        if isinstance(default, str):
            values[key] = _text(message, number)
        else:
            found = _varint(message, number) or 0
            values[key] = bool(found) if isinstance(default, bool) else found
    return _differing(values, defaults)


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
    """A message's int64 field (none if it is absent; _Malformed if it is not a varint)."""
    values = message.get(number)
    if not values:
        return None
    value = _typed(values[-1], int, f"field {number} of a setting")
    return value - 2**64 if value >= 2**63 else value  # an int64


def _text(message: dict[int, list[int | bytes]], number: int) -> str:
    """A message's text field ("" if it is absent; _Malformed if it is not text)."""
    values = message.get(number)
    if not values:
        return ""
    return _typed(values[-1], bytes, f"field {number} of a setting").decode("utf-8")
