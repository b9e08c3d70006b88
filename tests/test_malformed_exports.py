"""Exports that are not what Anki writes: a real export, each value of its note types and
decks (the JSON of the legacy format, the tables and protobuf settings of the current
one) replaced by values of other types, nesting and size. Every one is read to the end
or refused with a clear message; through the command, exit 1 and nothing written."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard
from anki.collection import Collection
from click.testing import CliRunner
from conftest import ONE_OF_EACH, build, import_package, write_notes
from test_pull import _edit_reality, _export

from deckgen import exported
from deckgen.cli import main


class _Raw(str):
    """JSON text put in as it is: nesting deeper than Python's own encoder goes."""


def _deep(depth: int, leaf: Any = 0) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


# Values of every JSON type, nested deep and large.
OTHERS: list[Any] = [
    None,
    True,
    0,
    -(2**63),
    2**70,
    1.5,
    "",
    "text",
    "x" * 200_000,
    [],
    [1, "a", None],
    {},
    {"name": 1, "ord": "x"},
    _Raw("[" * 5_000 + "]" * 5_000),
    {"a": _deep(100, {"b": {}})},
]


def _other_types(value: Any) -> list[Any]:
    same = type(value)
    return [other for other in OTHERS if type(other) is not same]


_PLACE = "\u0000raw\u0000"


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every value's path in a JSON document, containers included."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> str:
    """The document as JSON text, with the value at `path` replaced."""
    copy = json.loads(json.dumps(document))
    here = copy
    for key in path[:-1]:
        here = here[key]
    here[path[-1]] = _PLACE if isinstance(value, _Raw) else value
    text = json.dumps(copy)
    return text.replace(json.dumps(_PLACE), value) if isinstance(value, _Raw) else text


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A notes folder, and its export with one edit, in both formats, unpacked."""
    folder = tmp_path_factory.mktemp("exports")
    notes = write_notes(folder / "notes", ONE_OF_EACH)
    build(notes, folder / "v1.apkg", 1_700_000_000)
    col = Collection(str(folder / "user.anki2"))
    try:
        import_package(col, folder / "v1.apkg")
        _edit_reality(col)
        found = {"notes": notes}
        for legacy in (True, False):  # a deck's export of each format
            name = "legacy" if legacy else "current"
            package = _export(col, folder / f"{name}.apkg", legacy)
            with zipfile.ZipFile(package) as archive:
                if legacy:
                    data = archive.read("collection.anki21")
                else:
                    stream = archive.open("collection.anki21b")
                    data = zstandard.ZstdDecompressor().stream_reader(stream).read()
            (folder / f"{name}.db").write_bytes(data)
            # Each change written into the file itself, as a package's collection has it
            # (deckgen reads it as immutable: a write-ahead log would go unseen).
            with sqlite3.connect(folder / f"{name}.db") as db:
                db.execute("PRAGMA journal_mode = DELETE")
            db.close()
            found[name] = folder / f"{name}.db"
    finally:
        col.close()
    return found


def _package(database: Path, out: Path) -> Path:
    """A legacy-format package around a collection (stored: quick to make and read)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.write(database, "collection.anki21")
    return out


def _read(database: Path) -> str | None:
    """What reading the collection ends in: None if it is read, else the message. (The
    collection as a package's would be once unpacked: the command's tests unpack it.)"""
    try:
        exported._query(database)
    except exported.PackageError as error:
        return str(error)
    return None


def _json_mutations(database: Path) -> Iterator[tuple[str, tuple[Any, ...], Any, str]]:
    """Each value of the note types' and decks' JSON, with each value of another type."""
    with sqlite3.connect(database) as db:
        models, decks = db.execute("SELECT models, decks FROM col").fetchone()
    for column, document in (("models", json.loads(models)), ("decks", json.loads(decks))):
        yield column, (), [1, 2], "[1, 2]"  # the whole document a list, or text
        yield column, (), "text", '"text"'
        for path in _paths(document):
            for other in _other_types(_at(document, path)):
                yield column, path, other, _replaced(document, path, other)


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


# What deckgen reads of a legacy note type, and of its fields and templates: a change to
# any other value changes nothing.
_READ = {"name", "flds", "tmpls", "css", "mod", "type", "sortf", *exported.TYPE_DEFAULTS}
_READ_OF_EACH = {
    "name",
    "ord",
    "id",
    "qfmt",
    "afmt",
    *exported.FIELD_DEFAULTS,
    *exported.TEMPLATE_DEFAULTS,
}


def _is_read(column: str, path: tuple[Any, ...]) -> bool:
    """Whether deckgen reads the value at `path` (or what holds it)."""
    if not path or len(path) == 1:
        return True  # the document, or a note type or deck in it
    keys = [key for key in path[1:] if isinstance(key, str)]
    if column == "decks":
        return keys in (["name"], ["desc"])
    if keys[:1] in (["flds"], ["tmpls"]):
        return len(path) <= 3 or (len(keys) == 2 and keys[1] in _READ_OF_EACH)
    return len(keys) == 1 and keys[0] in _READ


def test_every_json_value_of_another_type_is_read_or_refused(
    exports: dict[str, Path], tmp_path: Path
) -> None:
    database = Path(shutil.copyfile(exports["legacy"], tmp_path / "collection.db"))
    mutations = list(_json_mutations(exports["legacy"]))
    read_by_deckgen = [m for m in mutations if _is_read(m[0], m[1])]
    others = [m for m in mutations if not _is_read(m[0], m[1])]
    with sqlite3.connect(database) as db:
        models, decks = db.execute("SELECT models, decks FROM col").fetchone()
    db.close()
    refused = read = 0
    for column, path, other, document in [
        *read_by_deckgen,
        *random.Random(21).sample(others, 300),
    ]:
        with sqlite3.connect(database) as db:
            db.execute("UPDATE col SET models = ?, decks = ?", (models, decks))
            db.execute(f"UPDATE col SET {column} = ?", (document,))
        db.close()
        message = _read(database)
        if message is None:  # (a field or template may have no id: older Ankis)
            # (nor settings: a null one is Anki's default)
            optional = {"id", "desc", *exported.TYPE_DEFAULTS, *exported.FIELD_DEFAULTS}
            optional |= set(exported.TEMPLATE_DEFAULTS)
            absent_id = path[-1] in optional and other is None
            assert not _is_read(column, path) or absent_id, (column, path, document[:200])
            read += 1
        else:
            assert message.startswith("its collection is not one Anki writes: "), message
            assert len(message) < 300
            # A value it does not read refuses it only when too deep to parse at all.
            assert _is_read(column, path) or isinstance(other, _Raw), (column, path, message)
            refused += 1
    assert refused > 1_000 and read > 250, (refused, read)


def _protobuf(fields: list[tuple[int, int, int | bytes]]) -> bytes:
    out = bytearray()
    for number, wire, value in fields:
        out += _varint((number << 3) | wire)
        if wire == 0:
            assert isinstance(value, int)
            out += _varint(value)
        else:
            assert isinstance(value, bytes)
            out += _varint(len(value)) + value
    return bytes(out)


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= 2**64 - 1
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields_of(data: bytes) -> list[tuple[int, int, int | bytes]]:
    message = exported._message(data)
    found: list[tuple[int, int, int | bytes]] = []
    for number, values in message.items():
        for value in values:
            found.append((number, 0 if isinstance(value, int) else 2, value))
    return found


def _setting_mutations(data: bytes) -> Iterator[bytes]:
    """A protobuf setting with each field given a value of another wire type, nesting or
    size; and the setting cut short, or not a message at all."""
    fields = _fields_of(data)
    for index, (number, wire, _) in enumerate(fields):
        for other in (
            (number, 2, b"\xff\xfe not UTF-8") if wire == 0 else (number, 0, 7),
            (number, 2, _protobuf([(1, 2, _protobuf([(1, 2, b"deep")] * 3))])),
            (number, 2, b"x" * 100_000),
            (number, 0, 2**64 - 1),
        ):
            yield _protobuf([*fields[:index], other, *fields[index + 1 :]])
    yield data[: len(data) // 2] + b"\x80"  # a truncated varint
    yield b"\x0b\x0c"  # wire types 3 and 4: groups, which Anki never writes
    yield bytes(range(256))


# The current format's values deckgen reads, by table: each replaced by other types.
_COLUMNS = {
    "notetypes": ("id", ["name", "mtime_secs", "config"]),
    "fields": ("ntid, ord", ["name", "config"]),
    "templates": ("ntid, ord", ["name", "config"]),
    "decks": ("id", ["name"]),
    "notes": ("id", ["guid", "mid", "mod", "flds", "tags"]),
    "col": ("id", ["ver"]),
}
_SQL_OTHERS: list[Any] = [None, 7, 2**62, 1.5, "text", "9" * 30, b"\x00\xff blob", "x" * 100_000]


def _current_mutations(database: Path) -> Iterator[tuple[str, str, str, tuple[Any, ...], Any]]:
    with sqlite3.connect(database) as db:
        db.create_collation("unicase", lambda a, b: (a > b) - (a < b))
        for table, (key, columns) in _COLUMNS.items():
            rows = db.execute(f"SELECT {key}, {', '.join(columns)} FROM {table}").fetchall()
            width = key.count(",") + 1
            for row in rows:
                where, values = tuple(row[:width]), row[width:]
                for column, value in zip(columns, values, strict=True):
                    others = [o for o in _SQL_OTHERS if type(o) is not type(value)]
                    if column == "config":
                        others += list(_setting_mutations(value))
                    for other in others:
                        yield table, key, column, where, other
    db.close()


# The fields of each table's protobuf settings deckgen reads (see exported._notetypes).
_SETTINGS_READ = {
    "notetypes": {1, 2, 3, 5, 6, 7},
    "fields": {1, 2, 3, 4, 5, 6, 7, 8, 9},
    "templates": {1, 2, 3, 4, 6, 7, 8},
}


def test_every_value_of_the_current_format_of_another_type_is_read_or_refused(
    exports: dict[str, Path], tmp_path: Path
) -> None:
    database = Path(shutil.copyfile(exports["current"], tmp_path / "collection.db"))
    refused = 0
    for table, key, column, where, other in _current_mutations(exports["current"]):
        condition = " AND ".join(f"{k.strip()} = ?" for k in key.split(","))
        with sqlite3.connect(database) as db:
            db.create_collation("unicase", lambda a, b: (a > b) - (a < b))
            (original, was) = db.execute(
                f"SELECT {column}, typeof({column}) FROM {table} WHERE {condition}", where
            ).fetchone()
            try:
                db.execute(f"UPDATE {table} SET {column} = ? WHERE {condition}", (other, *where))
            except sqlite3.IntegrityError:
                continue  # a NOT NULL column: Anki's schema itself refuses it
            (now,) = db.execute(
                f"SELECT typeof({column}) FROM {table} WHERE {condition}", where
            ).fetchone()
        db.close()
        message = _read(database)
        with sqlite3.connect(database) as db:
            db.create_collation("unicase", lambda a, b: (a > b) - (a < b))
            db.execute(f"UPDATE {table} SET {column} = ? WHERE {condition}", (original, *where))
        db.close()
        if message is not None:
            refused += 1
            assert message.startswith("its collection is not one Anki writes: "), message
            assert len(message) < 300
        elif now != was:  # stored as another type: always refused
            raise AssertionError((table, column, where, repr(other)[:100]))
        elif column == "config" and isinstance(other, bytes):
            changed = {n for n, _, v in _fields_of(other)} if _parses(other) else set()
            original_fields = dict((n, v) for n, _, v in _fields_of(original))
            for number in _SETTINGS_READ.get(table, set()) & changed:
                mine = dict((n, v) for n, _, v in _fields_of(other))
                assert type(mine[number]) is type(original_fields.get(number, mine[number]))
    assert refused > 300, refused


def _parses(data: bytes) -> bool:
    try:
        exported._message(data)
    except ValueError:
        return False
    return True


def _mutated_packages(
    exports: dict[str, Path], tmp_path: Path, seed: int, read: int, others: int
) -> Iterator[tuple[str, tuple[Any, ...], Any, Path]]:
    """A sample of the legacy export's mutations (`read` of values deckgen reads, `others`
    of the rest), each as a package: column, path, the value put in, the package."""
    database = tmp_path / "collection.db"
    mutations = list(_json_mutations(exports["legacy"]))
    rng = random.Random(seed)
    chosen = [
        *rng.sample([m for m in mutations if _is_read(m[0], m[1]) and m[2] is not None], read),
        *rng.sample([m for m in mutations if not _is_read(m[0], m[1])], others),
    ]
    for column, path, other, document in chosen:
        shutil.copyfile(exports["legacy"], database)
        with sqlite3.connect(database) as db:
            db.execute(f"UPDATE col SET {column} = ?", (document,))
        db.close()
        yield column, path, other, _package(database, tmp_path / "mutated.apkg")


def test_through_the_command_each_ends_in_a_clear_message_and_nothing_written(
    exports: dict[str, Path], tmp_path: Path
) -> None:
    notes = exports["notes"]
    before = {p.name: p.read_bytes() for p in notes.iterdir()}
    refused = 0
    for column, path, other, package in _mutated_packages(exports, tmp_path, 21, 40, 20):
        result = CliRunner().invoke(main, ["pull", str(package), str(notes)])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            column,
            path,
            result.exception,
        )
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 1:
            refused += 1
            assert f"{package}:1:1: error: its collection is not one Anki writes" in result.output
            assert result.output.endswith("1 error; nothing written\n"), result.output
        else:  # what the package holds is read as it is: the edit comes back
            assert "Reality: Use [-Chi-squared.-] {+Chi-squared (edited in Anki).+}" in (
                result.output
            )
            assert "(edited in Anki)" in (notes / "mlops.yaml").read_text()
            for name, data in before.items():
                (notes / name).write_bytes(data)
        assert (result.exit_code == 1) == (_is_read(column, path) or isinstance(other, _Raw))
        assert {p.name: p.read_bytes() for p in notes.iterdir()} == before
    assert refused >= 40


def test_init_from_a_malformed_export_ends_in_a_clear_message_and_writes_nothing(
    exports: dict[str, Path], tmp_path: Path
) -> None:
    """The same mutations through `deckgen init --from`: refused with the package's
    message (no folder left), or brought in whole (a value deckgen does not read)."""
    refused = 0
    mutated = _mutated_packages(exports, tmp_path, 23, 30, 10)
    for number, (column, path, other, package) in enumerate(mutated):
        brought = tmp_path / f"brought-{number}"
        result = CliRunner().invoke(main, ["init", str(brought), "--from", str(package)])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            column,
            path,
            result.exception,
        )
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 1:
            refused += 1
            assert f"Error: {package}: its collection is not one Anki writes" in result.output
            assert result.output.endswith("; nothing written\n"), result.output
            assert not brought.exists()
        else:
            assert (brought / "deck.lock").exists()
        assert (result.exit_code == 1) == (_is_read(column, path) or isinstance(other, _Raw))
    assert refused >= 25
