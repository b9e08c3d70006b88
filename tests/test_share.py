"""A study group's deck repository: `check --format github|json` for a workflow and other
tools, and a deck studied in the exam's proportions (its preset and its new cards'
positions, through real Anki)."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from click.testing import CliRunner
from conftest import ONE_OF_EACH, REPO, build, load, write_notes
from hypothesis import given, settings
from hypothesis import strategies as st

from deckgen.cli import main
from deckgen.diagnostics import Diagnostic, Level, Position
from deckgen.notes import Domain
from deckgen.package import Positions
from deckgen.records import Record

BROKEN = "- id: a-trap\n  trap: Thinking it\n  realty: It is not\n"


def _check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_check_prints_github_annotations(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", {"mlops.yaml": BROKEN})
    code, out, err = _check(str(notes), "--format", "github")
    assert code == 1
    mlops = notes / "mlops.yaml"
    assert out == (
        f"::error file={mlops},line=2,col=3,title=deckgen missing-key::a trap note needs"
        " 'reality'\n"
        f"::error file={mlops},line=3,col=3,title=deckgen unknown-key::unknown key 'realty'"
        " (did you mean 'reality'?)\n"
    )
    assert err == f"{notes}: 2 errors; nothing written\n"


def test_check_prints_json_one_object_per_problem(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", {"mlops.yaml": BROKEN})
    code, out, err = _check(str(notes), "--format", "json")
    assert code == 1
    assert json.loads(out) == [
        {
            "file": str(notes / "mlops.yaml"),
            "line": 2,
            "column": 3,
            "severity": "error",
            "code": "missing-key",
            "message": "a trap note needs 'reality'",
            "count": 1,
        },
        {
            "file": str(notes / "mlops.yaml"),
            "line": 3,
            "column": 3,
            "severity": "error",
            "code": "unknown-key",
            "message": "unknown key 'realty' (did you mean 'reality'?)",
            "count": 1,
        },
    ]
    assert err == f"{notes}: 2 errors; nothing written\n"


def test_a_good_deck_gives_no_annotation_and_an_empty_list(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", ONE_OF_EACH)
    code, out, _ = _check(str(notes), "--format", "github")
    assert (code, out) == (0, f"{notes}: 5 notes, no errors\n")
    code, out, _ = _check(str(notes), "--format", "json")
    assert (code, json.loads(out)) == (0, [])


def test_an_annotation_escapes_what_the_runner_reads() -> None:
    problem = Diagnostic(
        "notes/a,b:c.yaml",
        Position(2, 5),
        "odd",
        "100% sure\nnot: so",
        Level.WARNING,
    )
    assert problem.github() == (
        "::warning file=notes/a%2Cb%3Ac.yaml,line=2,col=5,title=deckgen odd::100%25 sure%0Anot: so"
    )


# Studied in the exam's proportions: the deck's preset and its new cards' positions.
TOP = "Databricks ML Professional"


def _first_new_cards(col: Collection, count: int) -> list[tuple[str, str]]:
    """The first new cards a learner meets from the top deck: (subdeck, note id)."""
    top = col.decks.id_for_name(TOP)
    assert top is not None
    config = col.decks.config_dict_for_deck_id(top)
    config["new"]["perDay"] = 1000  # (a day's limit aside: the order is the preset's)
    col.decks.update_config(config)
    col.decks.select(top)
    queued = col.sched.get_queued_cards(fetch_limit=count).cards
    cards = [col.get_card(q.card.id) for q in queued]
    return [(col.decks.name(c.did).split("::")[-1], c.note()["ID"]) for c in cards]


def _imported(
    tmp_path: Path, presets: bool, times: int = 1
) -> tuple[dict[str, Any], list[str], list[tuple[str, str]]]:
    """The repo deck imported into a fresh collection (with or without its preset): the
    top deck's preset, every preset's name, and the first 100 new cards."""
    package = tmp_path / "deck.apkg"
    build(REPO / "notes", package, 1_700_000_000)
    col = Collection(str(tmp_path / "a.anki2"))
    try:
        for _ in range(times):
            options = ImportAnkiPackageOptions(with_deck_configs=presets)
            request = ImportAnkiPackageRequest(package_path=str(package), options=options)
            col.import_anki_package(request)
        top = col.decks.id_for_name(TOP)
        assert top is not None
        config = dict(col.decks.config_dict_for_deck_id(top))
        names = [c["name"] for c in col.decks.all_config()]
        return config, names, _first_new_cards(col, 100)
    finally:
        col.close()


def test_with_its_preset_the_first_100_new_cards_follow_the_weights(tmp_path: Path) -> None:
    config, _, first = _imported(tmp_path, presets=True)
    assert (config["name"], config["newGatherPriority"], config["newSortOrder"]) == (TOP, 1, 1)
    shares = collections.Counter(subdeck for subdeck, _ in first)
    weights = {"Model Development": 44, "MLOps": 44, "Model Deployment": 12}
    assert set(shares) == set(weights)  # (Exam Strategy has no weight: after the others)
    for subdeck, weight in weights.items():
        assert abs(shares[subdeck] - weight) <= 3, shares
    # Each domain's notes in the order they are written.
    written = [r.note_id for r in load(REPO / "notes").records()]
    for subdeck in weights:
        seen = list(dict.fromkeys(note for deck, note in first if deck == subdeck))
        assert seen == sorted(seen, key=written.index)


def test_without_its_preset_the_deck_works_subdeck_by_subdeck(tmp_path: Path) -> None:
    config, names, first = _imported(tmp_path, presets=False)
    assert (config["id"], names) == (1, ["Default"])  # Anki's Default
    subdecks = list(dict.fromkeys(subdeck for subdeck, _ in first))
    assert subdecks == sorted(subdecks)  # Anki's default: subdeck by subdeck, alphabetically
    assert len(first) == 100


def test_imported_twice_the_preset_is_not_duplicated(tmp_path: Path) -> None:
    _, names, _ = _imported(tmp_path, presets=True, times=2)
    assert sorted(names) == sorted(["Default", TOP])


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.integers(1, 100), min_size=1, max_size=6),
    notes=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 4)), min_size=1, max_size=300),
)
def test_positions_give_each_domain_its_share_of_any_run_of_new_cards(
    weights: list[int], notes: list[tuple[int, int]]
) -> None:
    domains = [Domain(f"d{i}", f"D{i}", w) for i, w in enumerate(weights)]
    positions = Positions(domains)
    cards: list[tuple[int, int, int]] = []  # (due, written, domain)
    dues: dict[int, list[int]] = {}
    for written, (domain, count) in enumerate(notes):
        domain %= len(domains)
        record = Record(
            str(written), "fact", f"d{domain}", "g", "", (), "", tuple(range(count)), False, ""
        )
        due = positions.due(record)
        assert 0 < due < 2**31
        dues.setdefault(domain, []).append(due)
        cards += [(due, written, domain)] * count
    for own in dues.values():  # each domain's notes in the order written
        assert own == sorted(own) and len(set(own)) == len(own)
    cards.sort()  # by position, then as written (Anki: by card id, which follows it)
    total = sum(weights)
    most = max(count for _, count in notes)
    for domain, weight in enumerate(weights):
        if domain not in dues:
            continue
        have = sum(count for d, count in notes if d % len(domains) == domain)
        seen = 0
        for run, (_, _, d) in enumerate(cards, start=1):
            seen += d == domain
            fair = run * weight / total
            # Its share of any run, give or take a note's cards, until its cards run out.
            if seen < have:
                assert seen >= fair - 2 * most - 1, (domain, run, seen, fair)
