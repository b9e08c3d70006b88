"""Large decks: files checked in parallel and remembered by content, same results as one by one."""

from __future__ import annotations

from pathlib import Path

import genanki
import pytest
from generate import generate

from deckgen import load as load_module
from deckgen.apkg import guid_for
from deckgen.load import CACHE_DIR, load


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic deck of over a megabyte of YAML, so the large-deck paths are taken."""
    notes = generate(4_000, tmp_path_factory.mktemp("big") / "notes")
    assert sum(p.stat().st_size for p in notes.glob("*.yaml")) > load_module.LARGE
    return notes


def test_parallel_and_cached_reading_gives_what_one_by_one_gives(
    big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parallel = load(big, cache=False, records=True)
    cached_first = load(big, cache=True, records=True)
    cached_again = load(big, cache=True, records=True)
    monkeypatch.setattr(load_module, "LARGE", float("inf"))
    one_by_one = load(big, cache=False, records=True)

    assert one_by_one.deck is not None and len(one_by_one.deck.notes) == 4_000
    for other in (parallel, cached_first, cached_again):
        assert other.deck == one_by_one.deck
        assert other.records == one_by_one.records
        assert other.problems == one_by_one.problems == []


def test_the_cache_follows_the_files(big: Path) -> None:
    load(big, records=True)
    cache = big.parent / CACHE_DIR
    assert (cache / ".gitignore").read_text() == "*\n"
    entries = set(cache.glob("*.pickle"))
    assert len(entries) == 20

    edited = big / "d03.yaml"
    original = edited.read_text()
    edited.write_text(original.replace("- id: note-", "- id: renamed-note-", 1))
    try:
        changed = load(big, records=True)
        assert changed.deck is not None
        assert any(n.id.startswith("renamed-note-") for n in changed.deck.notes)
        after = set(cache.glob("*.pickle"))
        assert len(after) == 20 and len(after - entries) == 1
    finally:
        edited.write_text(original)


def test_a_damaged_cache_entry_is_read_again_from_the_file(big: Path) -> None:
    load(big, records=True)
    for entry in (big.parent / CACHE_DIR).glob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    again = load(big, records=True)
    assert again.deck is not None and len(again.deck.notes) == 4_000


def test_a_problem_in_a_large_deck_is_reported_as_precisely_as_in_a_small_one(
    big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = big / "d11.yaml"
    original = broken.read_text()
    broken.write_text(original.replace("fact: >-", "fcat: >-", 1))
    try:
        large = load(big)
        monkeypatch.setattr(load_module, "LARGE", float("inf"))
        small = load(big, cache=False)
    finally:
        broken.write_text(original)
    assert large.deck is None
    assert [str(p) for p in large.problems] == [str(p) for p in small.problems]
    assert any("did you mean 'fact'?" in str(p) for p in large.problems)


@pytest.mark.parametrize(
    "values", [("databricks-ml-professional", "apply-vs-map-in-pandas"), ("k", "x"), ("é", "ü")]
)
def test_guids_are_genankis(values: tuple[str, str]) -> None:
    assert guid_for(*values) == genanki.guid_for(*values)
