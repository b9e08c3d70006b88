"""The edit loop: study, edit, rebuild, re-import; the note changes, its history stays."""

from __future__ import annotations

from pathlib import Path

from anki.collection import Collection
from conftest import ONE_OF_EACH, build, import_package, write_notes

T0 = 1_700_000_000.0
EDITED = "forgetting-vectorassembler"


def _note_id(col: Collection, deckgen_id: str) -> int:
    [nid] = col.find_notes(f'"ID:{deckgen_id}"')
    return nid


def test_edited_note_is_updated_in_place_and_keeps_its_reviews(
    notes_dir: Path, tmp_path: Path, collection: Collection
) -> None:
    build(notes_dir, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    nid = _note_id(collection, EDITED)
    [studied] = collection.get_note(nid).cards()
    studied.start_timer()
    collection.sched.answerCard(studied, 4)
    studied.load()
    assert studied.ivl > 0
    reviews = collection.db.scalar("select count() from revlog where cid = ?", studied.id)
    notes_before = collection.note_count()

    source = notes_dir / "model-development.yaml"
    text = source.read_text(encoding="utf-8")
    assert text.count("not at definition time.") == 1
    source.write_text(text.replace("not at definition time.", "never at definition time."))
    build(notes_dir, tmp_path / "v2.apkg", T0 + 60)
    log = import_package(collection, tmp_path / "v2.apkg")

    assert list(log.new) == []
    assert list(log.conflicting) == []
    assert [note.id.nid for note in log.updated].count(nid) == 1
    assert collection.note_count() == notes_before
    assert _note_id(collection, EDITED) == nid
    assert collection.get_note(nid)["Reality"].endswith("never at definition time.")
    after = collection.get_card(studied.id)
    assert (after.ivl, after.due, after.type, after.queue) == (
        studied.ivl,
        studied.due,
        studied.type,
        studied.queue,
    )
    assert collection.db.scalar("select count() from revlog where cid = ?", studied.id) == reviews


def test_importing_the_same_package_twice_adds_nothing(
    notes_dir: Path, tmp_path: Path, collection: Collection
) -> None:
    deck = build(notes_dir, tmp_path / "deck.apkg", T0)
    first = import_package(collection, tmp_path / "deck.apkg")
    cards = collection.card_count()

    again = import_package(collection, tmp_path / "deck.apkg")

    assert len(first.new) == deck.size
    assert (len(again.new), len(again.updated), len(again.conflicting)) == (0, 0, 0)
    assert len(again.duplicate) == deck.size
    assert collection.card_count() == cards


def test_a_renamed_deck_keeps_every_guid(
    notes_dir: Path, tmp_path: Path, collection: Collection
) -> None:
    deck = build(notes_dir, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    deck_yaml = notes_dir / "deck.yaml"
    deck_yaml.write_text(
        deck_yaml.read_text().replace("name: Databricks ML Professional", "name: ML Pro")
    )
    build(notes_dir, tmp_path / "v2.apkg", T0 + 60)

    log = import_package(collection, tmp_path / "v2.apkg")

    assert (len(log.new), len(log.updated)) == (0, deck.size)
    assert collection.note_count() == deck.size


def test_a_note_added_before_the_others_takes_nothing_from_them(
    tmp_path: Path, collection: Collection
) -> None:
    # Note ids follow study order, so the new first note comes with the id that the
    # first note had: Anki must add it under another id and leave the others alone.
    folder = write_notes(tmp_path / "notes", ONE_OF_EACH)
    build(folder, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    [nid] = collection.find_notes('"ID:refresh"')
    [card] = collection.get_note(nid).cards()[:1]
    card.start_timer()
    collection.sched.answerCard(card, 4)
    cards_before = collection.card_count()
    mlops = folder / "mlops.yaml"
    mlops.write_text("- id: first-now\n  fact: A {{c1::new}} first note\n" + mlops.read_text())
    build(folder, tmp_path / "v2.apkg", T0 + 60)

    log = import_package(collection, tmp_path / "v2.apkg")

    assert (len(log.new), len(log.updated), len(log.conflicting)) == (1, 0, 0)
    assert collection.note_count() == 6 and collection.card_count() == cards_before + 1
    assert collection.find_notes('"ID:refresh"') == [nid]
    assert collection.get_card(card.id).ivl > 0
    [new] = collection.find_notes('"ID:first-now"')
    assert collection.get_note(new)["Text"] == "A {{c1::new}} first note"
