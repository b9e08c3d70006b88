"""Many rounds of the edit loop against real Anki, with default import options.

Each round edits notes (front and back), adds some, removes one, relabels a field or a
template and changes the CSS, rebuilds and re-imports into the same collection; after
every round Anki must have updated exactly what changed and kept every review.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from anki.collection import Collection
from anki.import_export_pb2 import ImportResponse
from conftest import DECK_YAML, build, import_package

from deckgen import notetypes
from deckgen.notetypes import NOTE_TYPES, NoteType
from deckgen.records import RETIRED_TAG

T0 = 1_700_000_000


def fact(note_id: str, text: str) -> dict[str, Any]:
    return {"id": note_id, "fact": text, "tags": ["topic::drift"]}


def trap(note_id: str, front: str, back: str) -> dict[str, Any]:
    return {"id": note_id, "trap": front, "reality": back}


def pair(note_id: str, *items: tuple[str, str]) -> dict[str, Any]:
    return {
        "id": note_id,
        "pair": [{"name": name, "means": means} for name, means in items],
        "difference": f"How {note_id} differ.",
    }


def scenario(note_id: str, answer: str) -> dict[str, Any]:
    return {
        "id": note_id,
        "scenario": f"Situation {note_id}?",
        "answer": answer,
        "distractor": f"Not {answer}",
        "why_not": "Because.",
    }


class Notes:
    """The notes of a test deck as data, written out as YAML files after every edit."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        (folder / "deck.yaml").write_text(DECK_YAML, encoding="utf-8")
        self.files: dict[str, list[dict[str, Any]]] = {
            "mlops": [
                fact("refresh", "Drift metrics are computed on {{c1::REFRESH}}"),
                fact(
                    "ks-numerical",
                    "KS is for {{c1::numerical}} and chi-squared {{c2::categorical}}",
                ),
                trap("ks-categorical", "KS test on categorical features", "Use chi-squared."),
                trap("inference-tables", "Inference tables as dashboards", "They hold raw logs."),
                pair("drifts", ("Data drift", "P(X) shifts"), ("Concept drift", "P(Y|X) shifts")),
                pair(
                    "tests",
                    ("Unit test", "one function"),
                    ("Integration test", "components"),
                    ("End-to-end test", "everything"),
                ),
                scenario("dev-to-prod", "Promote the code"),
            ],
            "general": [
                fact("timing", "{{c1::59}} questions in {{c2::120}} minutes"),
                scenario("guessing", "Always guess"),
            ],
        }
        self.save()

    def save(self) -> None:
        for name, notes in self.files.items():
            text = yaml.safe_dump(notes, allow_unicode=True, sort_keys=False)
            (self.folder / f"{name}.yaml").write_text(text, encoding="utf-8")

    def find(self, note_id: str) -> dict[str, Any]:
        return next(n for notes in self.files.values() for n in notes if n["id"] == note_id)

    def remove(self, note_id: str) -> None:
        for notes in self.files.values():
            notes[:] = [n for n in notes if n["id"] != note_id]


@pytest.fixture
def restyle(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Change what the template files say (CSS, field references), as a new deckgen would."""
    replacements: list[tuple[str, str]] = []
    original = notetypes._template_file

    def patched(name: str) -> str:
        text = original(name)
        for old, new in replacements:
            text = text.replace(old, new)
        return text

    monkeypatch.setattr(notetypes, "_template_file", patched)
    return lambda old, new: replacements.append((old, new))


def relabel_field(types: dict[str, NoteType], kind: str, old: str, new: str) -> None:
    """Rename a field, keeping its permanent id, and fill it under its new name."""
    note_type = types[kind]
    fill = note_type.fill

    def renamed(note: Any) -> dict[str, str]:
        return {new if k == old else k: v for k, v in fill(note).items()}

    fields = tuple(
        dataclasses.replace(f, name=new) if f.name == old else f for f in note_type.fields
    )
    types[kind] = dataclasses.replace(note_type, fields=fields, fill=renamed)


def relabel_template(types: dict[str, NoteType], kind: str, old: str, new: str) -> None:
    note_type = types[kind]
    templates = tuple(
        dataclasses.replace(t, name=new) if t.name == old else t for t in note_type.templates
    )
    types[kind] = dataclasses.replace(note_type, templates=templates)


def notetype(col: Collection, name: str) -> dict[str, Any]:
    """The note type as Anki stores it now (the Python side caches note types; an import
    does not clear that cache)."""
    col.models._clear_cache()
    found = col.models.by_name(name)
    assert found is not None, name
    return found


def by_id(col: Collection) -> dict[str, int]:
    """Anki's note id for each deckgen id; fails on a duplicate."""
    ids: dict[str, int] = {}
    for nid in col.find_notes(""):
        key = col.get_note(nid)["ID"]
        assert key not in ids, f"duplicate note {key}"
        ids[key] = nid
    return ids


def history(col: Collection) -> tuple[dict[int, tuple[int, ...]], list[tuple[Any, ...]]]:
    cards = {
        cid: (ivl, due, type_, queue, reps)
        for cid, ivl, due, type_, queue, reps in col.db.all(
            "select id, ivl, due, type, queue, reps from cards"
        )
    }
    return cards, col.db.all("select * from revlog order by id")


def deckgen_ids(col: Collection, notes: Any) -> set[str]:
    return {col.get_note(n.id.nid)["ID"] for n in notes}


def test_edit_loop(
    tmp_path: Path, collection: Collection, restyle: Callable[[str, str], None]
) -> None:
    notes = Notes(tmp_path / "notes")
    types = dict(NOTE_TYPES)
    build(notes.folder, tmp_path / "v0.apkg", T0, note_types=types)
    first = import_package(collection, tmp_path / "v0.apkg")
    assert len(first.new) == 9
    for cid in collection.find_cards(""):
        card = collection.get_card(cid)
        card.start_timer()
        collection.sched.answerCard(card, 4)
    reviewed, revlog = history(collection)
    assert len(revlog) == len(reviewed) == collection.card_count()
    assert all(ivl > 0 for ivl, *_ in reviewed.values())

    retired: set[str] = set()

    def cycle(number: int, edited: set[str], added: set[str], removed: str) -> ImportResponse.Log:
        for note_id in sorted(added):
            notes.files["mlops"].append(fact(note_id, f"New fact {{{{c1::{note_id}}}}}"))
        notes.remove(removed)
        notes.save()
        apkg = tmp_path / f"v{number}.apkg"
        build(notes.folder, apkg, T0 + 1000 * number, note_types=types)
        log = import_package(collection, apkg)

        assert list(log.conflicting) == []
        assert deckgen_ids(collection, log.updated) == edited | {removed}
        assert deckgen_ids(collection, log.new) == added
        unchanged = set(by_id(collection)) - edited - added - retired - {removed}
        assert deckgen_ids(collection, log.duplicate) == unchanged | retired
        retired.add(removed)

        names = [m.name for m in collection.models.all_names_and_ids()]
        assert not [name for name in names if name.endswith("+")]
        assert sum(name.startswith("deckgen ") for name in names) == 4
        ids = by_id(collection)
        assert retired <= set(ids)
        now_cards, now_revlog = history(collection)
        assert now_revlog == revlog
        assert {cid: now_cards[cid] for cid in reviewed} == reviewed

        retired_nids = {ids[note_id] for note_id in retired}
        for nid in retired_nids:
            assert RETIRED_TAG in collection.get_note(nid).tags
        empty = collection.get_empty_cards()
        assert {n.note_id for n in empty.notes} == retired_nids
        retired_cards = {cid for nid in retired_nids for cid in collection.card_ids_of_note(nid)}
        assert {cid for n in empty.notes for cid in n.card_ids} == retired_cards

        fresh = Collection(str(tmp_path / f"fresh-{number}.anki2"))
        try:
            import_package(fresh, apkg)
            for nid in fresh.find_notes(f"tag:{RETIRED_TAG}"):
                assert fresh.card_ids_of_note(nid) == []
            assert len(fresh.find_notes(f"tag:{RETIRED_TAG}")) == len(retired)
        finally:
            fresh.close()
        return log

    # Round 1: a fact's front, a trap's back; a new fact; a pair removed; a field
    # relabelled; the CSS changed.
    notes.find("refresh")["fact"] = "Drift metrics are computed on scheduled {{c1::REFRESH}}"
    notes.find("ks-categorical")["reality"] = "Use chi-squared, never KS."
    relabel_field(types, "trap", "Reality", "Truth")
    restyle("{{Reality}}", "{{Truth}}")
    restyle(".card {", ".card { outline: none;")
    cycle(1, {"refresh", "ks-categorical"}, {"new-fact-1"}, "drifts")
    ids = by_id(collection)
    assert "scheduled" in collection.get_note(ids["refresh"])["Text"]
    assert collection.get_note(ids["ks-categorical"])["Truth"] == "Use chi-squared, never KS."
    assert "outline: none" in notetype(collection, "deckgen Trap")["css"]

    # Round 2: a pair's meaning (a Which-is-it front), a scenario's answer; two new
    # facts; a trap removed; a template relabelled; the CSS changed again.
    notes.find("tests")["pair"][0]["means"] = "one function, in isolation"
    notes.find("dev-to-prod")["answer"] = "Promote the code, not the model"
    relabel_template(types, "pair", "Compare", "Compare them")
    restyle(".card {", ".card { caret-color: auto;")
    cycle(2, {"tests", "dev-to-prod"}, {"new-fact-2", "new-fact-3"}, "inference-tables")
    ids = by_id(collection)
    assert collection.get_note(ids["tests"])["Item 1 Meaning"] == "one function, in isolation"
    pair_type = notetype(collection, "deckgen Confusing Pair")
    assert pair_type["tmpls"][0]["name"] == "Compare them"
    assert "caret-color: auto" in pair_type["css"]

    # Round 3: a note added in round 1 edited, a fact removed, nothing relabelled.
    notes.find("new-fact-1")["fact"] = "Edited {{c1::new fact}}"
    cycle(3, {"new-fact-1"}, set(), "timing")
    assert collection.get_note(by_id(collection)["new-fact-1"])["Text"] == "Edited {{c1::new fact}}"
