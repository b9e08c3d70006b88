"""The package written while the notes are read (build.build) is the package written
after (build.prepare, then build.write): the same Writer, fed sooner. Held to each other,
byte for byte, on large generated decks through edits, removals and a changed lock; and
the deflate made on every core is one deflate stream, whatever the file's size."""

from __future__ import annotations

import io
import os
import threading
import zipfile
from pathlib import Path

import pytest
from conftest import build as plain_build
from generate import generate
from hypothesis import given, settings
from hypothesis import strategies as st

from deckgen import build, load, package

T0 = 1_700_000_000


def _both(notes: Path, tmp_path: Path, now: int, name: str) -> tuple[bytes, bytes]:
    """The package (and the lock) a streamed build writes, and those a plain one writes,
    each from the same notes and lock."""
    lock = notes / "deck.lock"
    before = lock.read_bytes() if lock.exists() else None
    streamed, problems = build.build(notes, tmp_path / f"{name}-streamed.apkg", now)
    assert streamed is not None, [str(p) for p in problems]
    streamed_lock = lock.read_bytes()
    if before is None:
        lock.unlink()
    else:
        lock.write_bytes(before)
    plain_build(notes, tmp_path / f"{name}-plain.apkg", now)
    assert lock.read_bytes() == streamed_lock
    return (
        (tmp_path / f"{name}-streamed.apkg").read_bytes(),
        (tmp_path / f"{name}-plain.apkg").read_bytes(),
    )


@pytest.mark.parametrize(
    "size, spread",
    [
        (300, False),  # read in one process
        (6_000, False),  # in parallel, cached
        # A file per note: handed to the writing thread Streamed.BATCH notes at a time,
        # the last few with the lock (1,700 notes: three batches and 200 left).
        (1_700, True),
    ],
    ids=["small", "large", "a-file-per-note"],
)
def test_a_streamed_build_is_the_plain_one_byte_for_byte(
    tmp_path: Path, size: int, spread: bool
) -> None:
    notes = generate(size, tmp_path / "deck" / "notes", file_per_note=spread)
    if not spread:
        large = sum(p.stat().st_size for p in notes.glob("*.yaml")) >= load.LARGE
        assert large == (size > 1000)
    else:
        assert size % build.Streamed.BATCH and size > 2 * build.Streamed.BATCH
    streamed, plain = _both(notes, tmp_path, T0, "first")
    assert streamed == plain
    # Edited, a note removed (a tombstone), another added, a day later: again the same.
    first = notes / "d00.yaml" if not spread else notes / "d00" / "note-000001.yaml"
    text = first.read_text()
    first.write_text(
        text.replace("Model", "Modelled", 3).replace("- id: note-000001\n", "- id: brand-new\n", 1)
    )
    streamed, plain = _both(notes, tmp_path, T0 + 86_400, "second")
    assert streamed == plain
    with zipfile.ZipFile(io.BytesIO(streamed)) as archive:
        assert archive.testzip() is None


def test_a_streamed_build_with_an_error_writes_nothing_and_leaves_no_thread(
    tmp_path: Path,
) -> None:
    notes = generate(6_000, tmp_path / "deck" / "notes")
    last = sorted(notes.glob("d[0-9]*.yaml"))[-1]
    last.write_text(last.read_text() + "\n- id: broken\n  fact: no cloze\n")
    out = tmp_path / "deck.apkg"
    made, problems = build.build(notes, out, T0)
    assert made is None and any(p.code == "cloze-missing" for p in problems), problems[:3]
    assert not out.exists() and not (notes / "deck.lock").exists()
    assert [t for t in threading.enumerate() if t.name == "deckgen-writer"] == []
    (notes / "deck.yaml").write_text("name: [broken\n")  # no notes file read at all
    assert build.build(notes, out, T0)[0] is None and not out.exists()


def test_a_streamed_build_that_cannot_write_says_so(tmp_path: Path) -> None:
    notes = generate(300, tmp_path / "deck" / "notes")
    out = tmp_path / "a-folder.apkg"
    out.mkdir()
    with pytest.raises(OSError):
        build.build(notes, out, T0)
    assert not (notes / "deck.lock").exists()
    assert [t for t in threading.enumerate() if t.name == "deckgen-writer"] == []


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.sampled_from([0, 1, 2, 3]),
    st.integers(-2, 2),
    st.sampled_from(["zeros", "random", "text"]),
)
def test_the_deflate_made_in_pieces_is_one_stream_of_the_file(
    pieces: int, off: int, content: str
) -> None:
    size = max(0, pieces * package._Deflate.PIECE + off)
    if content == "zeros":
        data = bytes(size)
    elif content == "random":
        data = os.urandom(size)
    else:
        data = (b"note text, " * (size // 11 + 1))[:size]
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(package._entry("x"), "w") as entry,
        package._Deflate(io.BytesIO(data)) as deflate,
    ):
        entry._compressor = deflate  # type: ignore[attr-defined]
        while piece := deflate.next_piece():
            entry.write(piece)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        assert archive.read("x") == data  # zipfile checks the CRC as it reads
