"""Declared note types, generated: whatever fields, templates (sections, negations,
filters) and text a deck declares, the cards deckgen ships are the ones Anki itself makes
for the same notes, none renders an empty front, and a second build changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from anki.collection import Collection
from conftest import build, import_package
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from deckgen.load import load as load_notes

FIELDS = ["Front", "Back", "Extra Info", "Hint", "Audio", "Picture"]
T0 = 1_700_000_000.0


@st.composite
def _template(draw: st.DrawFn, fields: list[str]) -> str:
    """A front: text, replacements, and sections (`{{#F}}`/`{{^F}}`), as users write them."""
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        field = draw(st.sampled_from(fields))
        shape = draw(st.sampled_from(["plain", "filter", "section", "negated", "text"]))
        if shape == "plain":
            parts.append(f"{{{{{field}}}}}")
        elif shape == "filter":
            parts.append(f"{{{{text:{field}}}}}")
        elif shape == "text":
            parts.append("<b>Q:</b> ")
        else:
            inner = draw(st.sampled_from(fields))
            mark = "#" if shape == "section" else "^"
            parts.append(f"{{{{{mark}{field}}}}}<i>{{{{{inner}}}}}</i>{{{{/{field}}}}}")
    if not any(f"{{{{{f}}}}}" in "".join(parts) for f in fields):
        parts.append(f"{{{{{fields[0]}}}}}")  # a front shows some field (checked otherwise)
    return "".join(parts)


@st.composite
def decks(draw: st.DrawFn) -> tuple[str, str]:
    count = draw(st.integers(2, 5))
    fields = FIELDS[:count]
    fronts = draw(st.lists(_template(fields), min_size=1, max_size=3, unique=True))
    html = draw(st.booleans())
    templates = "".join(
        f"      - name: Card {n}\n        front: {json.dumps(front)}\n"
        f"        back: {json.dumps('{{FrontSide}}<hr id=answer>' + fields[-1])}\n"
        for n, front in enumerate(fronts, start=1)
    )
    deck = (
        "name: Generated\nkey: generated\ndomains:\n  - {key: main, name: Main}\n"
        f"note_types:\n  - name: Generated type\n    html: {str(html).lower()}\n"
        f"    fields: {json.dumps(fields)}\n    templates:\n{templates}"
    )
    words = st.sampled_from(["alpha", "beta", "*gamma*", "`delta`", "<b>eps</b>", "zeta & eta"])
    value = st.one_of(st.just(""), st.lists(words, min_size=1, max_size=4).map(" ".join))
    notes = []
    for index in range(draw(st.integers(1, 8))):
        values = [draw(value) for _ in fields]
        values[0] = values[0] or "first"
        lines = [f"- id: note-{index}", "  type: Generated type"]
        lines += [f"  {name}: {json.dumps(v)}" for name, v in zip(fields, values, strict=True) if v]
        notes.append("\n".join(lines))
    return deck, "\n".join(notes) + "\n"


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(decks())
def test_the_cards_deckgen_ships_are_the_ones_anki_makes(
    tmp_path_factory: object, generated: tuple[str, str]
) -> None:
    deck, words = generated
    folder = tmp_path_factory.mktemp("generated")  # type: ignore[attr-defined]
    notes = folder / "notes"
    notes.mkdir()
    (notes / "deck.yaml").write_text(deck, encoding="utf-8")
    (notes / "main.yaml").write_text(words, encoding="utf-8")
    col = Collection(str(folder / "collection.anki2"))
    try:
        # A note whose fields leave every front empty is refused: Anki would give it one
        # card, with an empty front, that Empty Cards then deletes. Held to Anki's own rule.
        found = load_notes(notes)
        empty = {p.position for p in found.problems if p.code == "no-cards"}
        event("a note makes no card" if empty else "every note makes cards")
        if empty:
            model = _declared_model(col, notes)
            for note in _notes_at(notes / "main.yaml", empty):
                copy = col.new_note(model)
                copy.fields = note
                col.add_note(copy, col.decks.id("Scratch"))
            assert len(col.get_empty_cards().notes) == len(empty)
            col.close()
            return
        build(notes, folder / "v1.apkg", T0)
        log = import_package(col, folder / "v1.apkg")
        assert len(log.conflicting) == 0
        model = col.models.by_name("Generated type")
        assert model is not None
        for nid in col.find_notes(""):
            shipped = sorted(card.ord for card in col.get_note(nid).cards())
            # The same fields in a note Anki makes itself: the cards its rules give.
            copy = col.new_note(model)
            copy.fields = list(col.get_note(nid).fields)
            col.add_note(copy, col.decks.id("Generated::Main"))
            assert sorted(card.ord for card in copy.cards()) == shipped, copy.fields
        assert list(col.get_empty_cards().notes) == []
        # Built again (later), nothing changed: imported, nothing updated.
        build(notes, folder / "v2.apkg", T0 + 60)
        again = import_package(col, folder / "v2.apkg")
        assert (len(again.new), len(again.updated), len(again.conflicting)) == (0, 0, 0)
    finally:
        col.close()


def _declared_model(col: Collection, notes: Path) -> dict[str, object]:
    """The generated type, as Anki makes it from the package of a deck that uses it only
    in a note that shows its first field."""
    from deckgen.validate import check_header

    header, _ = check_header(notes / "deck.yaml")
    assert header is not None
    [own] = [t for t in header.note_types.values() if t.declared]
    model = col.models.new(own.name)
    for field in own.field_names:
        col.models.add_field(model, col.models.new_field(field))
    for template in own.templates:
        made = col.models.new_template(template.name)
        made["qfmt"], made["afmt"] = template.front, template.back
        col.models.add_template(model, made)
    col.models.add(model)
    return model


def _notes_at(path: Path, places: set[object]) -> list[list[str]]:
    """The fields of the generated notes that stand at `places`, in the type's order."""
    import yaml

    from deckgen.diagnostics import Position

    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    lines = path.read_text(encoding="utf-8").splitlines()
    starts = [n + 1 for n, line in enumerate(lines) if line.startswith("- id:")]
    chosen = [item for item, line in zip(items, starts, strict=True) if Position(line, 3) in places]
    return [[str(item.get(f, "")) for f in FIELDS if f in _field_names(path)] for item in chosen]


def _field_names(path: Path) -> list[str]:
    import yaml

    deck = yaml.safe_load((path.parent / "deck.yaml").read_text(encoding="utf-8"))
    return list(deck["note_types"][0]["fields"])
