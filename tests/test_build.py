"""Whole builds: reproducible bytes, what is refused and why, and the first-time importer."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition
from click.testing import CliRunner
from conftest import ONE_OF_EACH, build, import_package, write_notes
from generate import generate

from deckgen import package
from deckgen.build import Options, prepare
from deckgen.cli import main
from deckgen.notetypes import NOTE_TYPES, Field, NoteType
from deckgen.records import Deck

T0 = 1_700_000_000


@pytest.fixture
def notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return write_notes(tmp_path / "notes", ONE_OF_EACH)


def test_same_notes_and_lock_give_the_same_bytes_on_any_day(notes: Path, tmp_path: Path) -> None:
    build(notes, tmp_path / "first.apkg", T0)
    clone = Path(shutil.copytree(notes, tmp_path / "clone" / "notes"))

    build(notes, tmp_path / "again.apkg", T0 + 86_400)
    build(clone, tmp_path / "clone.apkg", T0 + 3 * 86_400)

    first = (tmp_path / "first.apkg").read_bytes()
    assert (tmp_path / "again.apkg").read_bytes() == first
    assert (tmp_path / "clone.apkg").read_bytes() == first
    assert (clone / "deck.lock").read_bytes() == (notes / "deck.lock").read_bytes()


def test_a_large_deck_arrives_whole_and_builds_the_same_bytes_on_another_day(
    tmp_path: Path, collection: Collection
) -> None:
    # 2,500 notes in 20 files: note ids collide now and then in their range, and rows
    # go in by id; Anki must still find every note and card, and a day later, from the
    # new lock, the same bytes.
    notes = generate(2_500, tmp_path / "notes")
    build(notes, tmp_path / "big.apkg", T0)
    build(notes, tmp_path / "again.apkg", T0 + 86_400)
    assert (tmp_path / "again.apkg").read_bytes() == (tmp_path / "big.apkg").read_bytes()

    made, problems = prepare(notes, T0 + 86_400)
    assert made is not None and problems == []
    log = import_package(collection, tmp_path / "big.apkg")
    assert len(log.new) == 2_500 and not log.conflicting
    cards = sum(len(record.ords) for record in made.deck.records())
    assert collection.card_count() == cards
    guids = sorted(collection.db.list("SELECT guid FROM notes"))
    assert guids == sorted(record.guid for record in made.deck.records())


def test_check_reproducible(notes: Path) -> None:
    result = CliRunner().invoke(main, ["build", "--check-reproducible"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Wrote dist/test-deck.apkg (reproducible): 5 notes")


def test_a_build_that_is_not_reproducible_writes_nothing(
    notes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CliRunner().invoke(main, ["build"]).exit_code == 0
    before = {p: p.read_bytes() for p in notes.parent.rglob("*") if p.is_file()}
    (notes / "general.yaml").write_text("- id: timing\n  fact: '{{c1::59}} questions'\n")
    before[notes / "general.yaml"] = (notes / "general.yaml").read_bytes()
    real, builds = package.write, iter(range(2))

    def drifting(deck: Deck, *args: Any) -> None:  # as if a clock leaked into the package
        real(dataclasses.replace(deck, description=f"build {next(builds)}"), *args)

    monkeypatch.setattr(package, "write", drifting)
    result = CliRunner().invoke(main, ["build", "--check-reproducible"])

    assert (result.exit_code, result.stderr) == (
        1,
        "Error: two builds from the same notes and lock differ\n",
    )
    assert {p: p.read_bytes() for p in notes.parent.rglob("*") if p.is_file()} == before


def test_a_missing_lock_still_builds_and_says_so(notes: Path) -> None:
    assert CliRunner().invoke(main, ["build"]).exit_code == 0
    (notes / "deck.lock").unlink()

    result = CliRunner().invoke(main, ["build"])

    assert result.exit_code == 0
    assert "no lock yet, so every note counts as changed" in result.stderr
    assert "; 0 changed, 5 new, 0 retired\n" in result.stdout
    assert (notes / "deck.lock").exists()


def test_the_summary_counts_changes_since_the_lock(notes: Path) -> None:
    assert CliRunner().invoke(main, ["build"]).exit_code == 0
    (notes / "general.yaml").write_text("- id: timing\n  fact: '{{c1::59}} questions'\n")
    (notes / "mlops.yaml").write_text(
        (notes / "mlops.yaml").read_text().split("- id: ks-on-categorical")[0]
    )

    result = CliRunner().invoke(main, ["build"])

    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("1 changed, 0 new, 3 retired\n")


def test_a_note_that_changes_kind_is_refused(notes: Path) -> None:
    assert CliRunner().invoke(main, ["build"]).exit_code == 0
    (notes / "general.yaml").write_text("- id: timing\n  trap: 59 questions\n  reality: yes, 59\n")

    result = CliRunner().invoke(main, ["build"])

    assert result.exit_code == 1
    assert result.stderr == (
        "notes/general.yaml:1:7: error: note 'timing' was a fact note and is now a trap note:"
        " Anki cannot change a note's type on import, so collections that have it would keep"
        " the old one. Give it a new id (the old note is then retired) [kind-changed]\n"
        "notes: 1 error; nothing written\n"
    )


def test_a_changed_deck_key_is_refused_unless_new_key(notes: Path) -> None:
    assert CliRunner().invoke(main, ["build"]).exit_code == 0
    deck_yaml = notes / "deck.yaml"
    deck_yaml.write_text(deck_yaml.read_text().replace("key: test-deck", "key: other-deck"))
    lock_before = (notes / "deck.lock").read_bytes()

    refused = CliRunner().invoke(main, ["build"])
    assert refused.exit_code == 1
    assert "the deck key changed from 'test-deck' to 'other-deck'" in refused.stderr
    assert (notes / "deck.lock").read_bytes() == lock_before

    accepted = CliRunner().invoke(main, ["build", "--new-key"])
    assert accepted.exit_code == 0, accepted.output
    assert "deck other-deck" in (notes / "deck.lock").read_text()


def _with_a_new_field() -> dict[str, NoteType]:
    trap = NOTE_TYPES["trap"]
    fill = trap.fill
    return {
        **NOTE_TYPES,
        "trap": dataclasses.replace(
            trap,
            fields=(*trap.fields, Field("Source", 1234567890123)),
            fill=lambda note: {**fill(note), "Source": ""},
        ),
    }


def test_a_schema_change_is_refused_with_what_users_must_do(notes: Path) -> None:
    build(notes, notes.parent / "v1.apkg", T0)
    made, problems = prepare(notes, T0 + 100, note_types=_with_a_new_field())
    assert made is None
    assert [str(p) for p in problems] == [
        f"{notes}/deck.lock:1:1: error: note type fields or templates changed (deckgen Trap:"
        " field 'Source' added). Anki imports a changed note type as a copy named 'Name+'"
        " and skips every note of it, unless the user ticks 'Merge note types' and sets"
        " 'Update notes' to 'Always' on import. Build with --allow-schema-change to ship it"
        " anyway, and tell your users [schema-changed]"
    ]


def test_an_allowed_schema_change_imports_with_the_advised_options(
    notes: Path, tmp_path: Path, collection: Collection
) -> None:
    build(notes, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    types = _with_a_new_field()
    build(notes, tmp_path / "v2.apkg", T0 + 100, Options(allow_schema_change=True), types)
    assert '"Source"' in (notes / "deck.lock").read_text()

    options = ImportAnkiPackageOptions(
        merge_notetypes=True,
        update_notes=ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_ALWAYS,
    )
    request = ImportAnkiPackageRequest(package_path=str(tmp_path / "v2.apkg"), options=options)
    log = collection.import_anki_package(request).log

    assert (len(log.new), len(log.conflicting)) == (0, 0)
    names = [m.name for m in collection.models.all_names_and_ids()]
    assert "deckgen Trap+" not in names
    collection.models._clear_cache()
    trap = collection.models.by_name("deckgen Trap")
    assert trap is not None and [f["name"] for f in trap["flds"]][-1] == "Source"


def test_a_first_time_importer_never_meets_a_retired_note(
    notes: Path, tmp_path: Path, collection: Collection
) -> None:
    build(notes, tmp_path / "v1.apkg", T0)
    (notes / "general.yaml").unlink()
    build(notes, tmp_path / "with-tombstone.apkg", T0 + 100)
    build(notes, tmp_path / "dropped.apkg", T0 + 100, Options(drop_retired=True))

    log = import_package(collection, tmp_path / "with-tombstone.apkg")
    [nid] = collection.find_notes("tag:deckgen::retired")
    assert collection.card_ids_of_note(nid) == []
    assert len(log.new) == 5
    assert list(collection.get_empty_cards().notes) == []

    fresh = Collection(str(tmp_path / "fresh.anki2"))
    try:
        assert len(import_package(fresh, tmp_path / "dropped.apkg").new) == 4
        assert fresh.find_notes("tag:deckgen::retired") == []
    finally:
        fresh.close()


def _new_card_order(collection: Collection) -> list[str]:
    rows = collection.db.all(
        "select n.flds from cards c join notes n on n.id = c.nid order by c.due, c.id"
    )
    return list(dict.fromkeys(row[0].split("\x1f")[-2] for row in rows))


def test_new_cards_interleave_the_domains_by_weight_each_in_written_order(
    notes: Path, tmp_path: Path, collection: Collection
) -> None:
    """MLOps weighs 44; Exam Strategy, without a weight, shares the other 56: its one
    note comes first, then MLOps's, in the order written."""
    build(notes, tmp_path / "deck.apkg", T0)
    import_package(collection, tmp_path / "deck.apkg")
    order = _new_card_order(collection)
    assert order == ["timing", "refresh", "ks-on-categorical", "three-tests", "dev-to-prod"]


def test_without_weights_new_cards_come_in_the_order_written(
    notes: Path, tmp_path: Path, collection: Collection
) -> None:
    deck = notes / "deck.yaml"
    deck.write_text(deck.read_text().replace(", weight: 44", ""))
    build(notes, tmp_path / "deck.apkg", T0)
    import_package(collection, tmp_path / "deck.apkg")
    order = _new_card_order(collection)
    assert order == ["refresh", "ks-on-categorical", "three-tests", "dev-to-prod", "timing"]


@pytest.mark.parametrize("named", ["mlops.yaml", "deck.yaml", "../README.md"])
def test_a_package_is_never_written_over_a_file_that_is_not_one(tmp_path: Path, named: str) -> None:
    """`-o` naming a notes file by mistake, or any file that is not an Anki package: exit
    1, said at that path, nothing written (its bytes, the lock); a package there is
    replaced as ever."""
    folder = write_notes(tmp_path / "notes", ONE_OF_EACH)
    (tmp_path / "README.md").write_text("# My deck\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    target = folder / named
    result = CliRunner().invoke(main, ["build", str(folder), "-o", str(target)])
    assert result.exit_code == 1, result.output
    assert f"{target}:1:1: error:" in result.stderr and "[cannot-write]" in result.stderr
    assert "nothing written" in result.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    package = tmp_path / "deck.apkg"
    for _ in range(2):  # written, then replaced
        result = CliRunner().invoke(main, ["build", str(folder), "-o", str(package)])
        assert result.exit_code == 0, result.output


def test_a_lock_that_cannot_be_written_leaves_the_package_as_it_was(
    notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new lock is written while the package is made, and each is put in place only
    once both are written: a lock that cannot be written (a full disk, say) leaves the
    package and the lock as they were, exit 1."""
    from deckgen import lock

    out = tmp_path / "deck.apkg"
    assert CliRunner().invoke(main, ["build", str(notes), "-o", str(out)]).exit_code == 0
    before = out.read_bytes(), (notes / "deck.lock").read_bytes()
    mlops = notes / "mlops.yaml"
    mlops.write_text(mlops.read_text(encoding="utf-8").replace("KS", "K-S", 1), encoding="utf-8")

    def full(path: Path, content: lock.Lock) -> None:
        path.write_text("half a lo", encoding="utf-8")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lock, "write_text", full)
    result = CliRunner().invoke(main, ["build", str(notes), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "No space left on device" in result.output
    assert (out.read_bytes(), (notes / "deck.lock").read_bytes()) == before
    assert sorted(p.name for p in notes.iterdir() if p.name.startswith(".")) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".deck")) == []
