"""What Anki itself makes of the package: imported with the `anki` library, as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest
from anki.collection import Collection
from conftest import ONE_OF_EACH, REPO, build, import_package, visible, write_notes

from deckgen import stats
from deckgen.notetypes import NOTE_TYPES, answer_first

T0 = 1_700_000_000.0


def card(col: Collection, note_id: str, ord_: int) -> tuple[str, str]:
    """The visible question and answer of one card of the note with deckgen id `note_id`."""
    [nid] = col.find_notes(f'"ID:{note_id}"')
    [found] = [c for c in col.get_note(nid).cards() if c.ord == ord_]
    question, answer = found.question(), found.answer()
    for rendered in (question, answer):
        assert "{{" not in rendered and "}}" not in rendered
        assert "no field called" not in rendered and "has a problem" not in rendered
    return visible(question), visible(answer)


@pytest.fixture
def sample(tmp_path: Path, collection: Collection) -> Collection:
    """The repo's own deck, built and imported into a fresh collection."""
    apkg = tmp_path / "sample.apkg"
    build(REPO / "notes", apkg, T0)
    log = import_package(collection, apkg)
    assert len(log.new) > 0 and not log.conflicting
    return collection


@pytest.fixture
def one_of_each(tmp_path: Path, collection: Collection) -> Collection:
    apkg = tmp_path / "one-of-each.apkg"
    build(write_notes(tmp_path / "notes", ONE_OF_EACH), apkg, T0)
    import_package(collection, apkg)
    return collection


def test_note_types_arrive_with_their_permanent_ids(sample: Collection) -> None:
    for note_type in NOTE_TYPES.values():
        model = sample.models.by_name(note_type.name)
        assert model is not None, note_type.name
        assert model["id"] == note_type.model_id
        assert model["type"] == (1 if note_type.is_cloze else 0)
        assert [(f["name"], f["id"]) for f in model["flds"]] == [
            (f.name, f.id) for f in note_type.fields
        ]
        assert [(t["name"], t["id"]) for t in model["tmpls"]] == [
            (t.name, t.id) for t in note_type.templates
        ]
        assert ".nightMode" in model["css"]


def test_every_note_makes_the_cards_we_count_and_none_is_empty(sample: Collection) -> None:
    deck = build(REPO / "notes", Path(sample.path).parent / "again.apkg", T0)
    predicted = stats.cards_by(deck)
    for kind in NOTE_TYPES:
        expected = sum(n for (_, k), n in predicted.items() if k == kind)
        assert len(sample.find_cards(f"tag:kind::{kind}")) == expected, kind
    assert sample.note_count() == deck.size
    assert list(sample.get_empty_cards().notes) == []


def test_cards_per_kind_in_a_known_deck(one_of_each: Collection) -> None:
    counts = {kind: len(one_of_each.find_cards(f"tag:kind::{kind}")) for kind in NOTE_TYPES}
    assert counts == {"fact": 3, "trap": 1, "pair": 4, "scenario": 1}
    assert list(one_of_each.get_empty_cards().notes) == []


def test_a_two_item_pair_makes_no_third_which_card(sample: Collection) -> None:
    [nid] = sample.find_notes('"ID:apply-vs-map-in-pandas"')
    assert sorted(c.ord for c in sample.get_note(nid).cards()) == [0, 1, 2]


def test_decks_and_subdecks_by_domain(sample: Collection) -> None:
    names = {d.name for d in sample.decks.all_names_and_ids()} - {"Default"}
    assert names == {
        "Databricks ML Professional",
        "Databricks ML Professional::Exam Strategy",
        "Databricks ML Professional::Model Development",
        "Databricks ML Professional::MLOps",
        "Databricks ML Professional::Model Deployment",
    }
    [nid] = sample.find_notes('"ID:apply-vs-map-in-pandas"')
    [did] = {c.did for c in sample.get_note(nid).cards()}
    assert sample.decks.name(did) == "Databricks ML Professional::Model Development"


def test_tags_by_domain_kind_and_topic(sample: Collection) -> None:
    [nid] = sample.find_notes('"ID:ks-test-on-categorical-features"')
    assert sample.get_note(nid).tags == ["domain::mlops", "kind::trap", "topic::drift"]
    assert len(sample.find_notes("tag:domain::mlops")) == len(sample.find_notes("deck:*::MLOps"))


def test_fact_card_hides_one_cloze(one_of_each: Collection) -> None:
    question, answer = card(one_of_each, "refresh", 0)
    assert question == "MLOps · 44% of exam Drift metrics are computed on [...], not continuously"
    assert answer == "MLOps · 44% of exam Drift metrics are computed on REFRESH, not continuously"
    question, _ = card(one_of_each, "refresh", 1)
    assert question == "MLOps · 44% of exam Drift metrics are computed on REFRESH, not [...]"


def test_trap_card_asks_for_the_reality(one_of_each: Collection) -> None:
    question, answer = card(one_of_each, "ks-on-categorical", 0)
    assert question == (
        "MLOps · 44% of exam Common trap Applying the KS test to categorical features"
        " What is the reality?"
    )
    assert answer == f"{question} Reality Use Chi-squared."


def test_pair_compare_card_names_all_three(one_of_each: Collection) -> None:
    question, answer = card(one_of_each, "three-tests", 0)
    assert question == (
        "MLOps · 44% of exam Confusing pair KS test vs Chi-squared test vs"
        " Jensen-Shannon divergence How do they differ?"
    )
    assert answer.endswith(
        "KS test numerical features only Chi-squared test categorical features only"
        " Jensen-Shannon divergence both, bounded [0,1]"
        " Key difference Which feature types each one handles."
    )


@pytest.mark.parametrize(
    ("ord_", "name", "means"),
    [
        (1, "KS test", "numerical features only"),
        (2, "Chi-squared test", "categorical features only"),
        (3, "Jensen-Shannon divergence", "both, bounded [0,1]"),
    ],
)
def test_pair_which_card_hides_every_name(
    one_of_each: Collection, ord_: int, name: str, means: str
) -> None:
    question, answer = card(one_of_each, "three-tests", ord_)
    assert question == f"MLOps · 44% of exam Which is it? {means}"
    for hidden in ("KS test", "Chi-squared test", "Jensen-Shannon divergence"):
        assert hidden not in question
    assert answer == f"{question} {name} Key difference Which feature types each one handles."


def test_scenario_card_offers_two_options_and_marks_the_right_one(one_of_each: Collection) -> None:
    question, answer = card(one_of_each, "dev-to-prod", 0)
    first, second = "Promote the code.", "Promote the model artifact."
    marked = ["✓ Right Promote the code.", "✗ Distractor Promote the model artifact."]
    if not answer_first("dev-to-prod"):
        first, second = second, first
        marked.reverse()
    assert question == (
        "MLOps · 44% of exam Exam scenario How to move a pipeline to production?"
        f" {first} {second} Which option is right?"
    )
    assert answer == (
        "MLOps · 44% of exam Exam scenario How to move a pipeline to production?"
        f" {marked[0]} {marked[1]}"
        " Why not the distractor It embeds dev data characteristics."
    )


def test_answer_is_not_always_the_first_option(sample: Collection) -> None:
    firsts = set()
    for nid in sample.find_notes("tag:kind::scenario"):
        note = sample.get_note(nid)
        firsts.add(bool(note["Answer First"]))
    assert firsts == {True, False}


def test_raw_html_in_a_note_is_shown_as_text(tmp_path: Path, collection: Collection) -> None:
    notes = write_notes(
        tmp_path / "notes",
        {
            "mlops.yaml": """\
- id: hostile
  trap: <script>alert(1)</script> and <img src=x onerror=alert(2)>
  reality: "[link](javascript:alert(3)) <iframe src=x></iframe>"
""",
        },
    )
    build(notes, tmp_path / "hostile.apkg", T0)
    import_package(collection, tmp_path / "hostile.apkg")

    [nid] = collection.find_notes('"ID:hostile"')
    note = collection.get_note(nid)
    assert note["Trap"] == (
        "&lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x onerror=alert(2)&gt;"
    )
    rendered = note.cards()[0].answer().lower()
    for active in ("<script", "<img", "<iframe", "<a "):
        assert active not in rendered
    question, _ = card(collection, "hostile", 0)
    assert "<script>alert(1)</script> and <img src=x onerror=alert(2)>" in question


def test_a_fact_with_many_cloze_numbers_makes_a_card_for_each(
    tmp_path: Path, collection: Collection
) -> None:
    many = " ".join(f"{{{{c{n}::term {n}}}}}" for n in range(1, 31))
    notes = write_notes(
        tmp_path / "notes",
        {"mlops.yaml": f"- id: many\n  fact: '{many}'\n- id: next\n  fact: '{{{{c1::x}}}}'\n"},
    )
    build(notes, tmp_path / "many.apkg", T0)
    log = import_package(collection, tmp_path / "many.apkg")
    assert len(log.new) == 2
    [nid] = collection.find_notes('"ID:many"')
    assert sorted(c.ord for c in collection.get_note(nid).cards()) == list(range(30))
    assert collection.card_count() == 31
