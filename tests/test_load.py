"""Large decks: files read in parallel and remembered by content, with exactly the results
of reading them one by one; the cache belongs to its notes folder."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import genanki
import pytest
from click.testing import CliRunner
from conftest import write_notes
from generate import generate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deckgen import apkg, source
from deckgen import load as load_module
from deckgen.apkg import guid_for
from deckgen.cli import main
from deckgen.load import CACHE_DIR, Loaded, load


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic deck of over a megabyte of YAML, so the large-deck paths are taken."""
    notes = generate(4_500, tmp_path_factory.mktemp("big") / "notes")
    assert sum(p.stat().st_size for p in notes.glob("*.yaml")) > load_module.LARGE
    return notes


def one_by_one(notes: Path, monkeypatch: pytest.MonkeyPatch) -> Loaded:
    """The general path: every file read here, in turn, nothing remembered."""
    with monkeypatch.context() as patched:
        patched.setattr(load_module, "LARGE", float("inf"))
        return load(notes, cache=False)


def cache_of(notes: Path) -> Path:
    [folder] = (notes.resolve().parent / CACHE_DIR).glob(f"{notes.name}-*")
    return folder


# Edits people make between builds, as (file, text replaced, replacement): a note edited,
# one broken, a warning added, an id used twice across files, a file emptied.
EDITS = st.sampled_from(
    [
        ("d03.yaml", "- id: note-", "- id: renamed-note-"),
        ("d11.yaml", "fact: >-", "fcat: >-"),
        ("d05.yaml", "means: >-\n        ", "means: >-\n        Item 2 of 1. "),
        ("d07.yaml", "- id: note-001", "- id: note-000"),
        ("d02.yaml", "- id:", "- id: ''\n  x:"),
        ("d19.yaml", "\n", "\n\t"),
    ]
)


@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(EDITS, max_size=3, unique=True))
def test_parallel_and_cached_reading_gives_what_one_by_one_gives(
    big: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    edits: list[tuple[str, str, str]],
) -> None:
    notes = Path(shutil.copytree(big, tmp_path_factory.mktemp("edited") / "notes"))
    load(notes)  # read in parallel, then remembered
    for name, old, new in edits:
        path = notes / name
        path.write_text(path.read_text().replace(old, new, 1))
    general = one_by_one(notes, monkeypatch)

    edited = load(notes)  # from the cache, but for the edited files
    again = load(notes)  # all from the cache
    uncached = load(notes, cache=False)  # in parallel, nothing remembered

    for other in (edited, again, uncached):
        assert other == general
    if general.deck is not None:
        assert sum(1 for _ in general.deck.records()) == general.deck.size == 4_500


def kept(notes: Path) -> set[str]:
    """The keys of the results kept in a notes folder's cache: one file, all results."""
    [index] = cache_of(notes).iterdir()
    assert index.name == "results.pickle"
    found = pickle.loads(index.read_bytes())
    assert all(isinstance(data, bytes) for data in found.values())
    return set(found)


def test_the_cache_follows_the_files(big: Path, tmp_path: Path) -> None:
    notes = Path(shutil.copytree(big, tmp_path / "notes"))
    load(notes)
    cache = cache_of(notes)
    assert (cache.parent / ".gitignore").read_text() == "*\n"
    entries = kept(notes)
    assert len(entries) == 20
    written = (cache / "results.pickle").stat().st_mtime_ns
    load(notes)  # nothing changed: nothing written
    assert (cache / "results.pickle").stat().st_mtime_ns == written

    edited = notes / "d03.yaml"
    edited.write_text(edited.read_text().replace("- id: note-", "- id: renamed-note-", 1))
    changed = load(notes)

    assert changed.deck is not None
    assert any(r.note_id.startswith("renamed-note-") for r in changed.deck.records())
    after = kept(notes)
    assert len(after) == 20 and len(after - entries) == 1


def test_a_file_edited_while_it_is_read_is_kept_under_the_bytes_read(
    big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file's result is kept under the key of the bytes its reader read: a file edited
    again between the look-up of its key and its reading (an editor saving during a build)
    is never kept under the key of what it held before, so that putting that text back
    reads it again rather than finding the later text's notes."""
    notes = Path(shutil.copytree(big, tmp_path / "notes"))
    load(notes)  # the cache holds every file
    edited = notes / "d05.yaml"
    original = edited.read_text(encoding="utf-8")
    first = original.replace("- id: note-", "- id: first-", 1)
    later = original.replace("- id: note-", "- id: later-", 1)
    edited.write_text(first, encoding="utf-8")  # not in the cache: it is read
    looked_up = load_module._Cache.key

    def key_then_save_again(self: load_module._Cache, path: Path, domain: object) -> object:
        key = looked_up(self, path, domain)  # type: ignore[arg-type]
        if path == edited:
            edited.write_text(later, encoding="utf-8")  # saved again, before it is read
        return key

    with monkeypatch.context() as patched:
        patched.setattr(load_module._Cache, "key", key_then_save_again)
        during = load(notes)
    assert during.deck is not None
    assert any(r.note_id.startswith("later-") for r in during.deck.records())
    edited.write_text(first, encoding="utf-8")  # the text the key was looked up for
    again = load(notes)
    assert again.deck is not None
    ids = [r.note_id for r in again.deck.records()]
    assert any(i.startswith("first-") for i in ids)
    assert not any(i.startswith("later-") for i in ids)


def test_two_notes_folders_side_by_side_keep_their_own_cache(big: Path, tmp_path: Path) -> None:
    first = Path(shutil.copytree(big, tmp_path / "notes"))
    second = Path(shutil.copytree(big, tmp_path / "other"))
    (second / "d00.yaml").write_text((second / "d00.yaml").read_text().replace("Model", "Mod"))
    load(first)
    before = kept(first)

    load(second)
    load(second)

    assert kept(first) == before
    assert len(kept(second)) == 20
    assert cache_of(first) != cache_of(second)


def test_a_build_of_the_current_folder_keeps_its_cache_outside_the_notes(
    big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = Path(shutil.copytree(big, tmp_path / "notes"))
    monkeypatch.chdir(notes)

    result = CliRunner().invoke(main, ["build", ".", "-o", str(tmp_path / "deck.apkg")])

    assert result.exit_code == 0, result.output
    assert not (notes / CACHE_DIR).exists()
    assert len(kept(notes)) == 20


@pytest.mark.parametrize(
    "damage",
    ["not a pickle", "an entry that is not", "a list", "a folder", "an entry per file"],
)
def test_a_damaged_cache_is_read_again_from_the_files(
    big: Path, tmp_path: Path, damage: str
) -> None:
    notes = Path(shutil.copytree(big, tmp_path / "notes"))
    first = load(notes)
    index = cache_of(notes) / "results.pickle"
    if damage == "not a pickle":
        index.write_bytes(b"not a pickle")
    elif damage == "an entry that is not":
        index.write_bytes(pickle.dumps(dict.fromkeys(kept(notes), b"not a pickle")))
    elif damage == "a list":
        index.write_bytes(pickle.dumps([1, 2]))
    elif damage == "a folder":
        index.unlink()
        index.mkdir()
    else:  # as an older deckgen kept them: they go
        (cache_of(notes) / "0123.pickle").write_bytes(b"old")
        index.unlink()
    assert load(notes) == first
    if damage != "a folder":
        assert len(kept(notes)) == 20


@settings(max_examples=500, derandomize=True)
@given(st.text(max_size=30), st.text(max_size=30))
def test_guids_are_genankis(key: str, note_id: str) -> None:
    assert guid_for(key, note_id) == genanki.guid_for(key, note_id)


@pytest.mark.parametrize(
    "number",
    [0, 1, 90, 91, 8280, 8281, 2**64 - 1] + [91**k + d for k in range(2, 10) for d in (-1, 0, 1)],
)
def test_base91_writes_a_number_as_genanki_does(number: int) -> None:
    """Digits that a GUID's hash seldom gives: zeros in the lead, the largest number."""
    digits, left = [], number
    while left > 0:  # genanki's loop
        left, digit = divmod(left, 91)
        digits.append(apkg._BASE91[digit])
    assert apkg.base91(number) == "".join(reversed(digits))


def test_every_file_is_read_once_whatever_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A domain split into a folder, the old file left behind: 600 ids used twice, and a
    # warning in every pair. Reporting them read each file again, twice per duplicate.
    pair = (
        "  pair:\n    - {name: Data drift, means: P(X) shifts unlike concept drift}\n"
        "    - {name: Concept drift, means: P(Y|X) shifts}\n  difference: Inputs.\n"
    )
    notes = "".join(f"- id: n{n}\n{pair}" for n in range(600))
    folder = write_notes(tmp_path / "notes", {"mlops.yaml": notes})
    (folder / "mlops").mkdir()
    (folder / "mlops" / "part-1.yaml").write_text(notes)
    composed: list[str] = []
    real = source._compose

    def counting(text: str) -> source.Node | None:
        composed.append(text[:10])
        return real(text)

    monkeypatch.setattr(source, "_compose", counting)
    problems = load(folder).problems

    assert len(composed) == 3  # deck.yaml and the two notes files
    duplicates = [p for p in problems if p.code == "duplicate-id"]
    assert len(duplicates) == 600
    assert str(duplicates[599]) == (
        f"{folder}/mlops/part-1.yaml:2996:7: error: duplicate id 'n599': already used at"
        f" {folder}/mlops.yaml:2996:7 [duplicate-id]"
    )
    assert sum(p.code == "name-in-meaning" for p in problems) == 1000  # shown; all counted:
    assert sum(p.counts for p in problems if p.level == "warning") == 1200


def test_a_picture_drawn_again_is_seen_through_the_cache(big: Path, tmp_path: Path) -> None:
    notes = Path(shutil.copytree(big, tmp_path / "notes"))
    with (notes / "d00.yaml").open("a", encoding="utf-8") as file:
        file.write("\n- id: with-a-picture\n  fact: '{{c1::x}} ![p](p.png)'\n")
    (notes / "p.png").write_bytes(b"\x89PNG\r\n\x1a\nfirst")
    first = load(notes)
    assert first.deck is not None and len(first.deck.pictures) == 1
    (notes / "p.png").write_bytes(b"\x89PNG\r\n\x1a\nsecond")
    again = load(notes)  # d00.yaml is unchanged: its cache entry is kept, but not used
    assert again.deck is not None
    assert again.deck.pictures != first.deck.pictures
    [record] = [r for r in again.deck.records() if r.note_id == "with-a-picture"]
    assert again.deck.pictures[0].name in record.fields
    assert load(notes, cache=False) == again


def test_a_second_run_reads_every_file_from_the_cache(big: Path, tmp_path: Path) -> None:
    """Across processes: what the cache is keyed by holds nothing a process makes anew
    (the addresses of its functions, say), or no run would ever find a result kept."""
    notes = Path(shutil.copytree(big, tmp_path / "notes"))
    check = [sys.executable, "-m", "deckgen", "check", str(notes)]
    subprocess.run(check, check=True, capture_output=True)
    index = cache_of(notes) / "results.pickle"
    first = (index.read_bytes(), index.stat().st_mtime_ns)
    subprocess.run(check, check=True, capture_output=True)
    assert (index.read_bytes(), index.stat().st_mtime_ns) == first  # nothing new to keep


@pytest.mark.parametrize("order", ["guid-first", "id-first", "one-file"])
def test_a_guid_that_is_the_one_made_for_another_id_is_an_error(tmp_path: Path, order: str) -> None:
    """A note naming as its own GUID the one deckgen makes for another note's id (two
    notes Anki would take for one): an error at the GUID, whichever file is read first,
    or in one file (the GUIDs made for the ids are made as the files come, those of a
    file with a GUID of its own where it is read)."""
    named = (
        f'- id: brought\n  guid: "{guid_for("test-deck", "made-here")}"\n  fact: A {{{{c1::b}}}}\n'
    )
    made = "- id: made-here\n  fact: The {{c1::made}} one\n"
    files = {"mlops.yaml": named, "general.yaml": made}
    if order == "id-first":
        files = {"mlops.yaml": made, "general.yaml": named}
    elif order == "one-file":
        files = {"mlops.yaml": named + made}
    notes = write_notes(tmp_path / "notes", files)
    loaded = load(notes, cache=False)
    assert loaded.deck is None
    where = "general.yaml:2:9" if order == "id-first" else "mlops.yaml:2:9"
    assert [f"{Path(p.path).name}:{p.position.line}:{p.position.col}" for p in loaded.problems] == [
        where
    ]
    assert "is the one deckgen makes for the note 'made-here'" in loaded.problems[0].message


def test_records_are_packed_as_zstandard_packs_them_in_every_thread(
    big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file's records are packed by a compressor made once for each thread: the bytes of
    Zstandard's own one-shot `compress` at level 1 (a new compressor each time), for files
    of no note, one note and a thousand, packed and unpacked by eight threads at once."""
    import threading

    import zstandard

    from deckgen.records import pack, unpack

    deck = one_by_one(big, monkeypatch).deck
    assert deck is not None
    records = list(deck.records())
    shapes = [records[:0], records[:1], records[:1000], records[1000:1003], records[7:8]]
    failures: list[str] = []

    def work(seed: int) -> None:
        for round_ in range(40):
            batch = shapes[(seed + round_) % len(shapes)]
            packed = pack(batch)
            expected = pickle.dumps([tuple(r) for r in batch], protocol=5)
            if packed != zstandard.compress(expected, 1) or unpack(packed) != batch:
                failures.append(f"thread {seed}, round {round_}")

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
