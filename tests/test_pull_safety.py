"""Nothing a user has is touched by accident: `deckgen pull` (and `diff`, `init`) on notes
folders and packages that are not what they seem, through the real command: exit code,
message, and every file byte for byte, with its mode and owner, afterwards."""

from __future__ import annotations

import contextlib
import os
import pickle
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard
from anki.collection import Collection
from click.testing import CliRunner
from conftest import ONE_OF_EACH, import_package, write_notes
from test_pull import _edit_reality, _exported_copy, _note

import deckgen.diff
import deckgen.pull
from deckgen.cli import main

NOBODY = 65534
DEADLINE = 30  # seconds: what never ends is cut short here, and fails the test


def _files(folder: Path) -> dict[str, tuple[bytes, int, int, int]]:
    """Every regular file under `folder` (no link followed): its bytes, mode and owner."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            found[str(path.relative_to(folder))] = (
                path.read_bytes(),
                stat.S_IMODE(info.st_mode),
                info.st_uid,
                info.st_gid,
            )
    return found


def _deckgen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, in a process of its own, cut short past the deadline."""
    command = [sys.executable, "-m", "deckgen", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=DEADLINE, check=False, cwd=cwd
    )


def _adding(*facts: tuple[str, str]) -> Callable[[Any], None]:
    """An edit in Anki: facts (text, deck) added, as a user adds them."""

    def add(col: Any) -> None:
        for text, deck in facts:
            fact = col.new_note(col.models.by_name("deckgen Fact"))
            fact["Text"] = text
            col.add_note(fact, col.decks.id(deck))

    return add


@pytest.fixture
def edited(tmp_path: Path) -> tuple[Path, Path]:
    """A notes folder, and an export of it from Anki with one edit to bring back."""
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)
    return notes, _exported_copy(tmp_path, notes, "old", _edit_reality)


def test_what_the_folder_holds_besides_notes_is_never_copied_or_read(
    edited: tuple[Path, Path],
) -> None:
    notes, package = edited
    pictures = notes / "pictures"
    pictures.mkdir()
    (pictures / "usr").symlink_to("/usr")  # once copied whole, for minutes
    (pictures / "loop").symlink_to(pictures / "loop")
    os.mkfifo(pictures / "pipe")
    (notes / "deck.lock").unlink()
    os.mkfifo(notes / "deck.lock")
    started = time.monotonic()
    result = _deckgen("pull", str(package), str(notes))
    assert time.monotonic() - started < 10
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Wrote 1 file(s)" in result.stdout
    assert "  reality: Use Chi-squared (edited in Anki).\n" in (notes / "mlops.yaml").read_text()
    assert stat.S_ISFIFO((notes / "deck.lock").lstat().st_mode)
    assert (pictures / "usr").is_symlink() and stat.S_ISFIFO((pictures / "pipe").lstat().st_mode)


def test_the_check_of_a_pull_reads_no_file_it_does_not_need(
    edited: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The would-be notes are checked from memory, never from a copy of the folder."""
    import shutil

    notes, package = edited

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the notes folder was copied")

    monkeypatch.setattr(shutil, "copytree", refuse)
    monkeypatch.setattr(shutil, "copy2", refuse)
    result = CliRunner().invoke(main, ["pull", str(package), str(notes)])
    assert result.exit_code == 0, result.output
    assert "Use Chi-squared (edited in Anki)." in (notes / "mlops.yaml").read_text()


def test_a_file_with_a_bom_and_crlf_line_ends_keeps_them(edited: tuple[Path, Path]) -> None:
    notes, package = edited
    mlops = notes / "mlops.yaml"
    lines = ["# MLOps, written on Windows", *mlops.read_text().splitlines()]
    mlops.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    before = mlops.read_bytes()
    result = _deckgen("pull", str(package), str(notes))
    assert result.returncode == 0, result.stderr
    after = mlops.read_bytes()
    assert after.startswith(b"\xef\xbb\xbf")
    assert after.count(b"\n") == after.count(b"\r\n") == before.count(b"\r\n")
    old, new = before.split(b"\r\n"), after.split(b"\r\n")
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [
        (b"  reality: Use Chi-squared.", b"  reality: Use Chi-squared (edited in Anki).")
    ]
    assert _deckgen("pull", str(package), str(notes)).returncode == 0
    assert mlops.read_bytes() == after  # pulled twice: nothing more changes


def test_notes_added_to_a_crlf_file_get_its_line_ends(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)

    add = _adding(("A {{c1::new}} fact\nover two lines", "Test deck::MLOps"))
    package = _exported_copy(tmp_path, notes, "old", add)
    mlops = notes / "mlops.yaml"
    mlops.write_bytes(mlops.read_bytes().replace(b"\n", b"\r\n"))
    before = mlops.read_bytes()
    result = _deckgen("pull", str(package), str(notes))
    assert result.returncode == 0, result.stderr
    after = mlops.read_bytes()
    assert after.startswith(before)
    assert b"\n" not in after.replace(b"\r\n", b"")
    assert b"- id: a-new-fact-over-two-lines\r\n" in after


def test_a_read_only_file_keeps_its_mode_and_owner(edited: tuple[Path, Path]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: only root can write a read-only file or give it away")
    notes, package = edited
    mlops = notes / "mlops.yaml"
    mlops.chmod(0o440)
    os.chown(mlops, NOBODY, NOBODY)
    result = _deckgen("pull", str(package), str(notes))
    assert result.returncode == 0, result.stderr
    info = mlops.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o440, NOBODY, NOBODY)
    assert "Use Chi-squared (edited in Anki)." in mlops.read_text()


@contextlib.contextmanager
def _world_readable() -> Iterator[Path]:
    """A folder another user may enter (pytest's own are its owner's alone)."""
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        yield Path(folder)


def _as_another_user(run: Callable[[], Any]) -> Any:
    """`run()` in a process that is not root (root writes what is read-only): forked, so
    that every module it needs is already loaded, then made the user `nobody`."""
    if os.geteuid() != 0:
        return run()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child)
        os.close(read)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            data = pickle.dumps(("ok", run()))
        except BaseException as error:
            data = pickle.dumps(("failed", repr(error)))
        with os.fdopen(write, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as source:
        data = source.read()
    os.waitpid(child, 0)
    status, value = pickle.loads(data)
    assert status == "ok", value
    return value


def _pull_in_process(package: Path, notes: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["pull", str(package), str(notes)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def _give_away(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)


@pytest.mark.parametrize("what", ["file", "folder", "one of two folders"])
def test_what_cannot_be_written_is_found_before_anything_is_written(
    tmp_path: Path, what: str
) -> None:
    assert deckgen.pull and deckgen.diff  # loaded before the fork: nobody reads /root
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)

    def edit(col: Any) -> None:
        _edit_reality(col)
        timing = _note(col, "timing")
        timing["Text"] = "{{c1::59}} questions in 120 minutes (edited in Anki)"
        col.update_note(timing)

    package = _exported_copy(tmp_path, notes, "old", edit)
    with _world_readable() as folder:
        notes = write_notes(folder / "notes", ONE_OF_EACH)
        (notes / "general").mkdir()
        (notes / "general.yaml").rename(notes / "general" / "general.yaml")
        copy = folder / "old.apkg"
        copy.write_bytes(package.read_bytes())
        _give_away(folder)
        if what == "file":
            (notes / "mlops.yaml").chmod(0o444)
        elif what == "folder":
            notes.chmod(0o555)
        else:
            (notes / "general").chmod(0o555)
        before = _files(notes)
        code, output = _as_another_user(lambda: _pull_in_process(copy, notes))
        assert code == 1, output
        assert "Traceback" not in output
        assert _files(notes) == before
        assert output.endswith("1 error; nothing written\n")
        if what == "file":
            assert f"{notes}/mlops.yaml:1:1: error: the file is read-only (mode 444)" in output
        elif what == "folder":
            assert f"{notes}/mlops.yaml:1:1: error: the folder {notes} is read-only" in output
        else:
            assert f"{notes}/general/general.yaml:1:1: error: the folder" in output
        notes.chmod(0o755)


@pytest.mark.parametrize("command", ["pull", "diff"])
@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_package_that_is_not_a_regular_file_is_refused_at_once(
    edited: tuple[Path, Path], command: str, kind: str
) -> None:
    notes, _ = edited
    package = notes.parent / "package.apkg"
    if kind == "fifo":
        os.mkfifo(package)
    elif kind == "device":
        package.symlink_to("/dev/zero")
    else:
        package.mkdir()
    before = _files(notes)
    args = [command, str(package), str(notes)] if command == "pull" else [command, str(package)]
    result = _deckgen(*args, *(["--notes", str(notes)] if command == "diff" else []))
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    what = {"fifo": "a FIFO (named pipe)", "device": "a character device", "folder": "a folder"}[
        kind
    ]
    if kind == "folder":  # click's own check comes first
        assert "is a directory" in result.stderr
    else:
        assert f"this is {what}, not an Anki package" in result.stderr
    assert _files(notes) == before


def test_init_below_a_file_or_where_it_cannot_write_says_so(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = _deckgen("init", "afile/notes", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        "Error: afile/notes lies below afile, which is a file, not a folder; nothing written\n"
    )
    assert (tmp_path / "afile").read_text() == "x"

    def init_in_a_read_only_folder() -> tuple[int, str, list[str]]:
        result = CliRunner().invoke(main, ["init", str(locked / "deep" / "notes")])
        return result.exit_code, result.output, os.listdir(locked)

    with _world_readable() as folder:
        locked = folder / "locked"
        locked.mkdir(mode=0o555)
        code, output, left = _as_another_user(init_in_a_read_only_folder)
    assert code == 1, output
    assert "Permission denied; nothing written" in output
    assert left == []


def _declaring_tags(notes: Path) -> None:
    deck = notes / "deck.yaml"
    deck.write_text(deck.read_text() + "tags: [topic::drift]\n")


def test_two_hundred_thousand_undeclared_tags_are_a_few_lines_and_a_count(
    tmp_path: Path,
) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)
    _declaring_tags(notes)
    package = _exported_copy(tmp_path, notes, "old", _edit_reality)
    many = " ".join(f"t{n}" for n in range(200_000))
    with zipfile.ZipFile(package) as archive:
        data = zstandard.ZstdDecompressor().stream_reader(archive.open("collection.anki21b")).read()
    database = tmp_path / "collection.db"
    database.write_bytes(data)
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE notes SET tags = ? WHERE flds LIKE '%ks-on-categorical%'", (f" {many} ",)
        )
    db.close()
    tagged = tmp_path / "tagged.apkg"
    with zipfile.ZipFile(tagged, "w") as archive:
        archive.write(database, "collection.anki21")
    result = _deckgen("pull", str(tagged), str(notes))
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 11
    assert all("[undeclared-tag]" in line for line in lines)
    assert lines[-1].endswith(
        "warning: 199,990 more warnings like the 10 above, not shown [undeclared-tag]"
    )
    assert "Use Chi-squared (edited in Anki)." in (notes / "mlops.yaml").read_text()


def test_notes_left_out_are_named_with_what_to_do(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)

    text = "A {{c1::new}} fact added to the top deck itself, not to a subdeck of it"
    package = _exported_copy(tmp_path, notes, "old", _adding((text, "Test deck")))
    result = _deckgen("pull", str(package), str(notes))
    assert result.returncode == 0, result.stderr
    assert (
        "skipped 1 note(s) not in a subdeck of 'Test deck': in Anki, move them into one of its"
        " subdecks (Browse, Change Deck), then export again and pull:\n"
        "    'A new fact added to the top deck…'\n"
    ) in result.stdout


def test_a_build_after_a_pull_that_added_notes_says_anki_updates_them(tmp_path: Path) -> None:
    """Notes added in Anki are new to the notes, not to Anki: the build says why Anki
    reports them as updated."""
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)

    def add_a_minute_ago(col: Any) -> None:  # (the build comes later: a second is enough)
        _adding(("A {{c1::new}} fact", "Test deck::MLOps"))(col)
        col.db.execute("UPDATE notes SET mod = mod - 60 WHERE flds LIKE 'A {{c1::new}}%'")

    package = _exported_copy(tmp_path, notes, "old", add_a_minute_ago)
    assert _deckgen("pull", str(package), str(notes)).returncode == 0
    result = _deckgen("build", str(notes), "-o", str(tmp_path / "new.apkg"))
    assert result.returncode == 0, result.stderr
    assert (
        "; 0 changed, 1 new, 0 retired (1 of the new were pulled from Anki, which has them:"
        " it updates them, and counts them as updated)\n"
    ) in result.stdout
    col = Collection(str(tmp_path / "old.anki2"))  # the collection the note was added in
    try:
        log = import_package(col, tmp_path / "new.apkg")
        assert (len(log.new), len(log.updated), len(log.conflicting)) == (0, 1, 0)
        assert col.note_count() == 6  # the five built, and the one added: no copy
    finally:
        col.close()


def test_a_note_added_to_a_domain_with_no_file_yet_gets_one(tmp_path: Path) -> None:
    from conftest import DECK_YAML

    notes = write_notes(
        tmp_path / "notes", {"deck.yaml": DECK_YAML, "mlops.yaml": ONE_OF_EACH["mlops.yaml"]}
    )

    add = _adding(
        ("Answer the {{c1::easy}} questions first", "Test deck::MLOps"),
        ("Flag {{c1::long}} questions", "Test deck::Exam Strategy"),
    )
    package = _exported_copy(tmp_path, notes, "old", add)
    result = _deckgen("pull", str(package), str(notes))
    assert result.returncode == 0, result.stderr
    assert (notes / "general.yaml").read_text() == (
        "- id: flag-long-questions\n"
        f"  guid: {(notes / 'general.yaml').read_text().split('guid: ')[1].splitlines()[0]}\n"
        "  fact: Flag {{c1::long}} questions\n"
    )
    assert _deckgen("check", str(notes)).returncode == 0


def test_files_written_together_make_their_folders_and_unmake_them_if_one_fails(
    tmp_path: Path,
) -> None:
    """write_all makes the folders its files go in; if one file cannot be written, none
    is, and the folders it made are gone again."""
    from deckgen.files import write_all

    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(OSError):
        write_all({tmp_path / "new" / "deeper" / "x.yaml": b"x", tmp_path / "a-file" / "y": b"y"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    write_all({tmp_path / "new" / "deeper" / "x.yaml": b"x"})
    assert (tmp_path / "new" / "deeper" / "x.yaml").read_bytes() == b"x"
