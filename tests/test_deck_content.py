"""The repo's deck: every item of the source is a typed, tagged note, studiable in Anki."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
from anki.collection import Collection
from click.testing import CliRunner
from conftest import REPO, build, import_package, load, visible

from deckgen.build import prepare
from deckgen.cli import main
from deckgen.markup import visible_text
from deckgen.notetypes import NOTE_TYPES
from deckgen.records import Deck

# The source's items by domain, section and kind, as counted in the source text.
SOURCE_COUNTS = {
    ("general", "source::exam-tips", "fact"): 9,
    ("model-development", "source::must-know", "fact"): 16,
    ("model-development", None, "trap"): 8,
    ("model-development", None, "pair"): 6,
    ("model-development", None, "scenario"): 5,
    ("model-development", "source::last-minute", "fact"): 8,
    ("mlops", "source::must-know", "fact"): 15,
    ("mlops", None, "trap"): 8,
    ("mlops", None, "pair"): 6,
    ("mlops", None, "scenario"): 6,
    ("mlops", "source::last-minute", "fact"): 10,
    ("model-deployment", "source::must-know", "fact"): 9,
    ("model-deployment", None, "trap"): 5,
    ("model-deployment", None, "pair"): 4,
    ("model-deployment", None, "scenario"): 4,
    ("model-deployment", "source::last-minute", "fact"): 7,
}

THREE_WAY_PAIRS = {
    "snapshot-vs-time-series-vs-inference-log-monitor": (
        "Snapshot monitor",
        "Time series monitor",
        "Inference log monitor",
    ),
    "unit-vs-integration-vs-end-to-end-tests": ("Unit test", "Integration test", "End-to-end test"),
    "ks-vs-chi-squared-vs-jensen-shannon": (
        "KS test",
        "Chi-squared test",
        "Jensen-Shannon divergence",
    ),
}


@pytest.fixture(scope="module")
def deck() -> Deck:
    return load(REPO / "notes")


def _section(tags: tuple[str, ...]) -> str | None:
    sections = [tag for tag in tags if tag.startswith("source::")]
    assert len(sections) <= 1, tags
    return sections[0] if sections else None


def test_every_source_item_is_a_note(deck: Deck) -> None:
    counts = Counter((r.domain, _section(r.tags), r.kind) for r in deck.records())
    assert counts == SOURCE_COUNTS
    assert deck.size == sum(SOURCE_COUNTS.values()) == 126


def test_the_committed_lock_matches_the_notes() -> None:
    """A shared build must start from the lock in git: notes, templates or CSS changed
    without `make deck` would give the next builder different times."""
    made, problems = prepare(REPO / "notes", int(time.time()))
    assert made is not None, [str(p) for p in problems]
    committed = (REPO / "notes" / "deck.lock").read_text(encoding="utf-8")
    assert made.revision.lock.dump() == committed, (
        "notes/deck.lock is out of date: run `make deck` and commit notes/deck.lock"
    )


def test_stats_shows_the_counts_by_domain_and_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code == 0, result.output
    rows = {line[:17].strip(): line[17:].split()[:5] for line in result.stdout.splitlines()}
    assert rows["Exam Strategy"] == ["9", "0", "0", "0", "9"]
    assert rows["Model Development"] == ["24", "8", "6", "5", "43"]
    assert rows["MLOps"] == ["25", "8", "6", "6", "45"]
    assert rows["Model Deployment"] == ["16", "5", "4", "4", "29"]
    assert rows["Total"] == ["74", "21", "16", "15", "126"]


def test_every_note_has_a_topic(deck: Deck) -> None:
    untopical = [
        r.note_id for r in deck.records() if not any(t.startswith("topic::") for t in r.tags)
    ]
    assert untopical == []


def test_each_fact_asks_one_to_three_things(deck: Deck) -> None:
    facts = [r for r in deck.records() if r.kind == "fact"]
    assert {r.note_id: len(r.ords) for r in facts if not 1 <= len(r.ords) <= 3} == {}


def test_three_way_pairs_keep_all_three_items(deck: Deck) -> None:
    names = [NOTE_TYPES["pair"].field_names.index(f"Item {n} Name") for n in (1, 2, 3)]
    pairs = {
        r.note_id: tuple(visible_text(r.values[i]) for i in names if r.values[i])
        for r in deck.records()
        if r.kind == "pair"
    }
    for pair_id, names in THREE_WAY_PAIRS.items():
        assert pairs[pair_id] == names
    assert sum(len(names) == 3 for names in pairs.values()) == 3


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collection]:
    """The repo's deck imported into a fresh collection, shared by the read-only tests below."""
    folder = tmp_path_factory.mktemp("deck")
    build(REPO / "notes", folder / "deck.apkg", 1_700_000_000.0)
    col = Collection(str(folder / "collection.anki2"))
    try:
        import_package(col, folder / "deck.apkg")
        yield col
    finally:
        col.close()


def test_every_note_makes_its_cards_in_anki_and_none_is_empty(
    deck: Deck, imported: Collection
) -> None:
    assert imported.note_count() == 126
    assert list(imported.get_empty_cards().notes) == []
    domains = {domain.key: domain for domain in deck.domains}
    for record in deck.records():
        [nid] = imported.find_notes(f'"ID:{record.note_id}"')
        cards = imported.get_note(nid).cards()
        assert sorted(card.ord for card in cards) == list(record.ords), record.note_id
        label = domains[record.domain].label
        for card in cards:
            question = visible(card.question())
            assert question.startswith(label), record.note_id
            assert question[len(label) :].strip(), record.note_id
            if record.kind == "fact":
                assert "[...]" in question, record.note_id


def test_three_way_pairs_make_three_which_cards(imported: Collection) -> None:
    for pair_id, names in THREE_WAY_PAIRS.items():
        [nid] = imported.find_notes(f'"ID:{pair_id}"')
        cards = sorted(imported.get_note(nid).cards(), key=lambda c: c.ord)
        assert [c.ord for c in cards] == [0, 1, 2, 3]
        for card, name in zip(cards[1:], names, strict=True):
            question, answer = visible(card.question()), visible(card.answer())
            assert not any(n in question for n in names), (pair_id, question)
            assert name in answer


def test_the_night_before_set_is_one_search(imported: Collection) -> None:
    assert len(imported.find_notes("tag:source::last-minute")) == 8 + 10 + 7
