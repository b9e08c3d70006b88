"""Every dimension of input is bounded: past a bound, one diagnostic where it goes past,
exit 1, nothing written, and no hang, crash or traceback on the way."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import yaml
from click.testing import CliRunner
from conftest import write_notes
from hypothesis import given, settings
from hypothesis import strategies as st

from deckgen import diagnostics, files, lock, media, source, validate
from deckgen import load as load_module
from deckgen.cli import main
from deckgen.diagnostics import Level
from deckgen.load import load

FACT = "- id: {id}\n  fact: '{{{{c1::x}}}}'\n"


def check(folder: Path) -> tuple[int, str]:
    """`deckgen check` of a folder, as its exit code and what it printed, paths shortened."""
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stderr.replace(f"{folder}/", "")


def notes(tmp_path: Path, text: str) -> Path:
    return write_notes(tmp_path / "notes", {"mlops.yaml": text})


def test_a_value_past_its_length(tmp_path: Path) -> None:
    value = "x" * (source.MAX_VALUE + 1)
    folder = notes(tmp_path, f"- id: a\n  fact: >-\n    {value[:9000]}\n    {value[9000:]}\n")
    assert check(folder) == (
        1,
        "mlops.yaml:2:9: error: a value of 10,002 characters; deckgen takes values of up to"
        " 10,000: a card should be read in seconds, so split it [too-long]\n"
        f"{folder}: 1 error; nothing written\n",
    )


def test_a_line_past_its_length(tmp_path: Path) -> None:
    folder = notes(tmp_path, "- id: a\n  fact: '{{c1::x}}'\n# " + "#" * files.MAX_LINE + "\n")
    assert check(folder) == (
        1,
        "mlops.yaml:3:20001: error: a line of over 20,000 characters: break it (YAML text can"
        " span lines) [too-long]\n"
        f"{folder}: 1 error; nothing written\n",
    )


# Pieces of text: runs of characters, and each line break str.splitlines knows.
_LINE_PIECES = st.lists(
    st.one_of(
        st.integers(0, 30).map("a".__mul__),
        st.sampled_from(["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "é"]),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=1500, derandomize=True)
@given(_LINE_PIECES, st.integers(2, 24))
def test_the_longest_line_is_found_as_measuring_every_line_finds_it(text: str, most: int) -> None:
    """The line-length bound looks at a few places of a text, and measures its lines only
    where one of them has no "\n": the same line as measuring every line, whatever the
    line breaks and the bound."""
    with mock.patch.object(files, "MAX_LINE", most):
        lines = text.splitlines()
        measured = next((n for n, line in enumerate(lines, 1) if len(line) > most), None)
        assert files.first_long_line(text) == measured


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("- id: a\n  fact: " + "[" * 600 + "]" * 600 + "\n", "2:23"),  # flow
        ("".join("  " * n + "- x:\n" for n in range(3000)), "9:17"),  # block
        ("- " * 5000 + "x\n", "1:33"),  # block, on one line
    ],
)
def test_nesting_past_its_depth(tmp_path: Path, text: str, where: str) -> None:
    folder = notes(tmp_path, text)
    assert check(folder) == (
        1,
        f"mlops.yaml:{where}: error: lists and mappings nested over 16 deep; notes need 4 at"
        " most [too-deep]\n"
        f"{folder}: 1 error; nothing written\n",
    )


def test_a_mapping_past_its_keys(tmp_path: Path) -> None:
    keys = "".join(f"  k{n}: v\n" for n in range(source.MAX_KEYS + 1))
    folder = notes(tmp_path, "- id: a\n" + keys)
    assert check(folder) == (
        1,
        f"mlops.yaml:{source.MAX_KEYS + 1}:3: error: a mapping of over 100 keys: no notes"
        " file needs so many, so split it [too-many]\n"
        f"{folder}: 1 error; nothing written\n",
    )


def test_a_list_past_its_items(tmp_path: Path) -> None:
    folder = notes(tmp_path, "- x\n" * (source.MAX_ITEMS + 1))
    assert check(folder) == (
        1,
        f"mlops.yaml:{source.MAX_ITEMS + 1}:3: error: a list of over 100,000 items: no notes"
        " file needs so many, so split it [too-many]\n"
        f"{folder}: 1 error; nothing written\n",
    )


def test_a_tag_past_its_length_and_one_with_a_control_character(tmp_path: Path) -> None:
    folder = notes(
        tmp_path, f"- id: a\n  fact: '{{{{c1::x}}}}'\n  tags: [{'t' * 101}, \"a\\x07\"]\n"
    )
    assert check(folder) == (
        1,
        "mlops.yaml:3:10: error: a tag of 101 characters; tags have 100 at most [bad-tag]\n"
        "mlops.yaml:3:113: error: a tag holds a control character: remove it [bad-tag]\n"
        f"{folder}: 2 errors; nothing written\n",
    )


def test_text_with_a_control_character(tmp_path: Path) -> None:
    folder = notes(tmp_path, '- id: a\n  fact: "{{c1::x}} and\\x1fy"\n')
    assert check(folder) == (
        1,
        "mlops.yaml:2:9: error: 'fact' holds a control character, U+001F, which Anki reads"
        " as a field separator: remove it [control-character]\n"
        f"{folder}: 1 error; nothing written\n",
    )


def test_a_deck_past_its_declared_tags_and_domains(tmp_path: Path) -> None:
    tags = ", ".join(f"t{n}" for n in range(validate.MAX_DECK_TAGS + 1))
    domains = "".join(f"  - {{key: d{n}, name: D{n}}}\n" for n in range(validate.MAX_DOMAINS + 1))
    deck = f"name: T\nkey: t\ndomains:\n{domains}tags: [{tags}]\n"
    folder = write_notes(tmp_path / "notes", {"deck.yaml": deck})
    assert check(folder) == (
        1,
        "deck.yaml:4:3: error: over 100 domains: a deck has 100 at most [too-many]\n"
        "deck.yaml:105:7: error: over 1,000 tags: a deck declares 1,000 at most [too-many]\n"
        f"{folder}: 2 errors; nothing written\n",
    )


def test_a_deck_past_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_module.MAX_FILES == 100_000  # a hundred thousand files take a while to write
    monkeypatch.setattr(load_module, "MAX_FILES", 50)
    folder = write_notes(tmp_path / "notes", {})
    (folder / "mlops").mkdir()
    for n in range(51):
        (folder / "mlops" / f"{n:04}.yaml").write_text(FACT.format(id=f"n{n}"))
    assert check(folder) == (
        1,
        f"{folder}:1:1: error: over 50 notes files: merge some (a file can hold thousands)"
        " [too-many]\n"
        f"{folder}: 1 error; nothing written\n",
    )


def test_a_deck_of_a_file_per_note_builds(tmp_path: Path) -> None:
    """As tools that keep one note per file do: thousands of files are a plausible deck
    (the benchmark builds 20,000 of them, in time that grows as the notes do)."""
    folder = write_notes(tmp_path / "notes", {})
    (folder / "mlops").mkdir()
    comment = "# " + "a comment that makes the deck large enough to read in parallel " * 6
    for n in range(3_000):
        (folder / "mlops" / f"{n:04}.yaml").write_text(comment + "\n" + FACT.format(id=f"n{n}"))
    assert sum(f.stat().st_size for f in (folder / "mlops").iterdir()) > load_module.LARGE
    out = tmp_path / "deck.apkg"
    result = CliRunner().invoke(main, ["build", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}: 3000 notes (3000 fact," in result.output
    result = CliRunner().invoke(main, ["build", str(folder), "-o", str(out)])  # from the cache
    assert result.exit_code == 0 and "0 changed, 0 new" in result.output


def test_a_deck_past_its_size_is_refused_before_any_of_it_is_read(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "notes", {})
    (folder / "mlops").mkdir()
    for n in range(5):  # sparse files: reading them would fault in 80 MiB
        with open(folder / "mlops" / f"{n}.yaml", "wb") as file:
            file.truncate(16 * 2**20)
    assert check(folder) == (
        1,
        f"{folder}:1:1: error: 80 MiB of notes: deckgen builds decks of up to 64 MiB of YAML"
        " [too-large]\n"
        f"{folder}: 1 error; nothing written\n",
    )


def test_a_deck_past_its_notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_module, "MAX_NOTES", 30)  # 200,000 notes take a while to write
    folder = write_notes(
        tmp_path / "notes",
        {
            "mlops.yaml": "".join(FACT.format(id=f"m{n}") for n in range(20)),
            "general.yaml": "".join(FACT.format(id=f"g{n}") for n in range(20)),
        },
    )
    assert check(folder) == (
        1,
        "general.yaml:21:7: error: over 30 notes: deckgen builds decks of up to 30 [too-many]\n"
        f"{folder}: 1 error; nothing written\n",
    )


def test_past_the_errors_shown_the_rest_are_counted(tmp_path: Path) -> None:
    """1,500 ids used twice: the first 1,000 are shown, and the summary gives the truth."""
    folder = write_notes(tmp_path / "notes", {})
    (folder / "mlops").mkdir()
    notes = "".join(f"- id: note-{n}\n  fact: '{{{{c1::{n}}}}}'\n" for n in range(1_500))
    for name in ("a", "b"):
        (folder / "mlops" / f"{name}.yaml").write_text(notes)
    code, output = check(folder)
    lines = output.splitlines()
    assert code == 1 and len(lines) == diagnostics.MAX_SHOWN + 2
    assert all("[duplicate-id]" in line for line in lines[:-2])
    assert lines[-2] == (
        "mlops/b.yaml:2001:7: error: 500 more errors past the first 1,000, not"
        " shown: fix these first [too-many]"
    )
    assert lines[-1] == f"{folder}: 1,500 errors, the first 1,000 shown; nothing written"


def test_errors_past_the_limit_are_counted_across_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(diagnostics, "MAX_SHOWN", 3)
    folder = write_notes(tmp_path / "notes", {})
    (folder / "mlops").mkdir()
    for name in ("a", "b", "c"):
        bad = f"- id: {name}1\n  fact: no cloze\n- id: {name}2\n  fact: no cloze\n"
        (folder / "mlops" / f"{name}.yaml").write_text(bad)
    problems = load(folder).problems
    names = [(p.path.rsplit("/", 1)[-1], p.code, p.counts) for p in problems]
    assert names == [
        ("a.yaml", "cloze-missing", 1),
        ("a.yaml", "cloze-missing", 1),
        ("b.yaml", "cloze-missing", 1),
        ("b.yaml", "too-many", 3),
    ]
    assert diagnostics.summary(problems) == "6 errors, the first 3 shown"


def test_warnings_alike_past_a_few_are_counted(tmp_path: Path) -> None:
    found = diagnostics.Collected(limit=15)
    at = diagnostics.Position(3, 3)
    for n in range(200_000):
        found.add(diagnostics.Diagnostic("x.yaml", at, "undeclared-tag", f"tag {n}", Level.WARNING))
    for n in range(30):
        where = diagnostics.Position(10 + n, 1)
        found.add(diagnostics.Diagnostic("x.yaml", where, "other", "other", Level.WARNING))
    shown = found.shown_problems()
    assert [d.message for d in shown[:10]] == [f"tag {n}" for n in range(10)]
    assert [shown[10], shown[-1]] == [
        diagnostics.Diagnostic(
            "x.yaml",
            at,
            "undeclared-tag",
            "199,990 more warnings like the 10 above, not shown",
            Level.WARNING,
            199_990,
        ),
        diagnostics.Diagnostic(
            "x.yaml",
            diagnostics.Position(15, 1),
            "too-many",
            "25 more warnings past the first 15, not shown: fix these first",
            Level.WARNING,
            25,
        ),
    ]
    assert len(shown) == 17
    assert diagnostics.summary(shown) == "0 errors, 200,030 warnings, the first 15 shown"


def run_with_a_deadline(folder: Path) -> subprocess.CompletedProcess[str]:
    """`deckgen check` in a process of its own: what must not hang is given 20 seconds."""
    command = [sys.executable, "-m", "deckgen", "check", str(folder)]
    return subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)


def test_a_fifo_a_device_a_socket_and_a_symlink_loop_are_not_notes(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "notes", {})
    os.mkfifo(folder / "mlops.yaml")
    (folder / "general.yaml").symlink_to("/dev/zero")
    (folder / "loop.yml").symlink_to(folder / "loop.yml")
    (folder / "mlops").mkdir()
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(folder / "mlops" / "s.yaml"))
        domains = "".join(f"  - {{key: {k}, name: {k}}}\n" for k in ("mlops", "general", "loop"))
        write_notes(folder, {"deck.yaml": f"name: T\nkey: t\ndomains:\n{domains}"})
        done = run_with_a_deadline(folder)
    finally:
        listener.close()
    assert done.returncode == 1
    assert done.stderr.replace(f"{folder}/", "") == (
        "general.yaml:1:1: error: this is a character device, not a file of notes: deckgen"
        " reads regular files only [not-a-file]\n"
        "loop.yml:1:1: error: cannot read file: Too many levels of symbolic links [unreadable]\n"
        "mlops.yaml:1:1: error: this is a FIFO (named pipe), not a file of notes: deckgen"
        " reads regular files only [not-a-file]\n"
        "mlops/s.yaml:1:1: error: this is a socket, not a file of notes: deckgen reads"
        " regular files only [not-a-file]\n"
        f"{folder}: 4 errors; nothing written\n"
    )


def test_a_fifo_in_a_deck_read_in_parallel_and_cached_is_not_waited_on(tmp_path: Path) -> None:
    """A large deck's files are hashed for the cache before they are read: that too reads
    regular files only."""
    folder = write_notes(tmp_path / "notes", {})
    (folder / "mlops").mkdir()
    notes = "".join(FACT.format(id=f"n{n}") for n in range(40_000))
    (folder / "mlops" / "big.yaml").write_text(notes)
    assert len(notes) > load_module.LARGE
    os.mkfifo(folder / "mlops" / "pipe.yaml")
    done = run_with_a_deadline(folder)
    assert done.returncode == 1
    assert done.stderr.replace(f"{folder}/", "") == (
        "mlops/pipe.yaml:1:1: error: this is a FIFO (named pipe), not a file of notes: deckgen"
        " reads regular files only [not-a-file]\n"
        f"{folder}: 1 error; nothing written\n"
    )


def test_text_made_to_slow_the_checks_that_advise_costs_no_more_than_its_length(
    tmp_path: Path,
) -> None:
    """What looks for pictures that are not (a space in the path) and for text that needed
    quotes reads a value once: a value of many picture starts, and a line of trailing
    spaces in a syntax error, are checked within the deadline (the first took a minute)."""
    folder = write_notes(tmp_path / "notes", {})
    (folder / "mlops").mkdir()
    starts = "![](x " * 1_600
    (folder / "mlops" / "a.yaml").write_text(f"- id: a\n  trap: '{starts}'\n  reality: r\n")
    (folder / "mlops" / "b.yaml").write_text("- id: b\n  trap: x: y" + " " * 19_000 + "\n")
    done = run_with_a_deadline(folder)
    assert done.returncode == 1
    assert done.stderr.replace(f"{folder}/", "").splitlines() == [
        "mlops/b.yaml:2:9: error: invalid YAML: text with ': ' in it must be in quotes, or"
        ' YAML reads a key there: write trap: "x: y" [yaml-syntax]',
        f"{folder}: 1 error; nothing written",
    ]


def test_a_lock_that_is_not_a_file_or_is_too_large(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "notes", {"mlops.yaml": FACT.format(id="a")})
    os.mkfifo(folder / "deck.lock")
    assert lock.read(folder / "deck.lock")[1][0].code == "not-a-file"
    (folder / "deck.lock").unlink()
    with open(folder / "deck.lock", "wb") as file:
        file.truncate(lock.MAX_BYTES + 1)
    assert lock.read(folder / "deck.lock")[1][0].code == "too-large"


def test_a_lock_with_many_malformed_lines_shows_the_first_few_and_counts_all(
    tmp_path: Path,
) -> None:
    found, problems = lock.parse("note x\n" * 100_000, "deck.lock")
    assert found is None and len(problems) == 21
    assert problems[-1].message == (
        "99,980 more errors past the first 20, not shown: fix these first"
    )
    assert diagnostics.summary(problems) == "100,000 errors, the first 20 shown"
    assert [p.position.line for p in problems] == list(range(1, 22))


def test_deeply_nested_json_in_a_lock_is_a_malformed_line() -> None:
    found, problems = lock.parse("notetype fact 1 ab " + "[" * 10_000 + "\n", "deck.lock")
    assert found is None and [p.code for p in problems] == ["lock-syntax"]


@pytest.mark.parametrize("loader", ["CSafeLoader", "SafeLoader"])
def test_a_control_character_in_the_file_is_placed_by_either_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: str
) -> None:
    # libyaml counts bytes where PyYAML's own parser counts characters.
    monkeypatch.setattr(source, "_LOADER", getattr(yaml, loader))
    folder = notes(tmp_path, "- id: a\n  fact: '{{c1::x}}'\n  extra: café \x07 bell\n")
    assert check(folder) == (
        1,
        "mlops.yaml:3:15: error: a control character, U+0007, which YAML does not allow in"
        " a file: remove it [control-character]\n"
        f"{folder}: 1 error; nothing written\n",
    )


def test_merge_conflict_markers_past_the_first_hundred_are_not_listed(tmp_path: Path) -> None:
    folder = notes(tmp_path, "- id: a\n" + "<<<<<<< ours\n=======\n>>>>>>> theirs\n" * 200)
    code, output = check(folder)
    lines = output.splitlines()
    assert code == 1 and len(lines) == source.MAX_MARKERS + 1
    assert lines[0].startswith("mlops.yaml:2:1: error: an unresolved git merge conflict")
    assert lines[-2].startswith("mlops.yaml:101:1: error: an unresolved git merge conflict")


def test_a_deck_yaml_or_lock_that_links_to_itself_is_reported_not_taken_for_missing(
    tmp_path: Path,
) -> None:
    folder = write_notes(tmp_path / "notes", {"mlops.yaml": FACT.format(id="a")})
    (folder / "deck.lock").symlink_to(folder / "deck.lock")
    assert [p.code for p in lock.read(folder / "deck.lock")[1]] == ["unreadable"]
    (folder / "deck.yaml").unlink()
    (folder / "deck.yaml").symlink_to(folder / "deck.yaml")
    assert check(folder) == (
        1,
        "deck.yaml:1:1: error: cannot read file: Too many levels of symbolic links"
        " [unreadable]\n"
        f"{folder}: 1 error; nothing written\n",
    )


def test_a_picture_past_its_size_and_a_deck_past_its_pictures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = notes(tmp_path, "- id: a\n  fact: '{{c1::x}} ![big](big.png)'\n")
    (folder / "big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * media.MAX_BYTES)
    assert check(folder) == (
        1,
        "mlops.yaml:2:27: error: 'big.png' is over 5 MiB: make it smaller (every card that"
        " shows it loads it, on every phone) [picture-too-large]\n"
        f"{folder}: 1 error; nothing written\n",
    )
    monkeypatch.setattr(load_module, "MAX_PICTURES", 2)  # 10,000 pictures take a while
    pictures = "".join(f"- id: p{n}\n  fact: '{{{{c1::x}}}} ![p](p{n}.png)'\n" for n in range(3))
    folder = notes(tmp_path / "more", pictures)
    for n in range(3):
        (folder / f"p{n}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([n]))
    assert check(folder) == (
        1,
        f"{folder}:1:1: error: 3 pictures: a deck ships 2 at most [too-many]\n"
        f"{folder}: 1 error; nothing written\n",
    )


def test_a_picture_that_is_a_fifo_or_a_folder_is_not_read(tmp_path: Path) -> None:
    folder = notes(tmp_path, "- id: a\n  fact: '{{c1::x}} ![f](f.png) ![d](d.png)'\n")
    os.mkfifo(folder / "f.png")
    (folder / "d.png").mkdir()
    assert check(folder) == (
        1,
        "mlops.yaml:2:25: error: 'f.png': not a file, from this file's folder [picture-missing]\n"
        "mlops.yaml:2:37: error: 'd.png': not a file, from this file's folder [picture-missing]\n"
        f"{folder}: 2 errors; nothing written\n",
    )


@pytest.fixture(scope="module")
def large_notes_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A notes file of 5,000 notes as the benchmark writes them."""
    from generate import generate

    folder = generate(5_000, tmp_path_factory.mktemp("large") / "notes")
    return max((p.read_text(encoding="utf-8") for p in folder.glob("d*.yaml")), key=len)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.floats(0, 1),
    st.integers(files.MAX_LINE - 2, files.MAX_LINE + 2),
    st.sampled_from(["\n", "\r\n", "\r", "\u2028"]),
)
def test_the_longest_line_of_a_large_file_is_found_as_measuring_every_line_finds_it(
    large_notes_text: str, where: float, length: int, end: str
) -> None:
    """The same on a file of thousands of notes, whose line ends are changed, with a line
    of about the bound's length put anywhere in it."""
    lines = large_notes_text.split("\n")
    at = int(where * len(lines))
    text = end.join([*lines[:at], "#" * length, *lines[at:]])
    measured = next(
        (n for n, line in enumerate(text.splitlines(), 1) if len(line) > files.MAX_LINE), None
    )
    assert files.first_long_line(text) == measured
