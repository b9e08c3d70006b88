"""Loading a notes folder: typed notes in study order, and problems at exact positions."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from conftest import write_notes

from deckgen.cli import main
from deckgen.load import load
from deckgen.notes import Domain, Fact, Pair, PairItem, Scenario, Trap
from deckgen.source import read
from deckgen.validate import check_notes

MLOPS = Domain("mlops", "MLOps", 44)
GENERAL = Domain("general", "Exam Strategy")
ZERO = "cloze numbers start at 1: write {{c1::...}} [cloze-number]"


def problems(folder: Path) -> list[str]:
    return [str(p) for p in load(folder).problems]


def test_every_kind_loads_as_its_typed_note(tmp_path: Path) -> None:
    folder = write_notes(
        tmp_path / "notes",
        {
            "mlops.yaml": """\
- id: refresh
  fact: Drift metrics are computed on {{c1::REFRESH}}
  tags: [topic::drift]
  extra: Not in real time.
- id: ks-on-categorical
  trap: Applying the KS test to categorical features
  reality: Use Chi-squared.
- id: data-vs-concept-drift
  pair:
    - {name: Data drift, means: P(X) shifts}
    - {name: Concept drift, means: P(Y|X) shifts}
  difference: Inputs versus the relationship.
- id: dev-to-prod
  scenario: How to move a pipeline to production?
  answer: Promote the code.
  distractor: Promote the model artifact.
  why_not: It embeds dev data characteristics.
""",
        },
    )
    loaded = load(folder)
    parsed, _ = read(folder / "mlops.yaml", "mlops.yaml")
    assert parsed is not None
    checked = check_notes(parsed, MLOPS, None)

    assert loaded.problems == checked.problems == []
    deck = loaded.deck
    assert deck is not None
    assert (deck.name, deck.key, deck.domains) == ("Test deck", "test-deck", (MLOPS,))
    assert [r.note_id for r in deck.records()] == [n.id for n in checked.notes]
    assert [(n, p.line, p.col) for n, p in checked.ids] == [
        ("refresh", 1, 7),
        ("ks-on-categorical", 5, 7),
        ("data-vs-concept-drift", 8, 7),
        ("dev-to-prod", 13, 7),
    ]
    assert checked.notes == [
        Fact(
            id="refresh",
            domain=MLOPS,
            tags=("topic::drift",),
            extra="Not in real time.",
            text="Drift metrics are computed on {{c1::REFRESH}}",
        ),
        Trap(
            id="ks-on-categorical",
            domain=MLOPS,
            trap="Applying the KS test to categorical features",
            reality="Use Chi-squared.",
        ),
        Pair(
            id="data-vs-concept-drift",
            domain=MLOPS,
            items=(
                PairItem("Data drift", "P(X) shifts"),
                PairItem("Concept drift", "P(Y|X) shifts"),
            ),
            difference="Inputs versus the relationship.",
        ),
        Scenario(
            id="dev-to-prod",
            domain=MLOPS,
            scenario="How to move a pipeline to production?",
            answer="Promote the code.",
            distractor="Promote the model artifact.",
            why_not="It embeds dev data characteristics.",
        ),
    ]


def test_notes_follow_domain_order_then_file_order(tmp_path: Path) -> None:
    folder = write_notes(
        tmp_path / "notes",
        {
            "general.yaml": "- id: g1\n  fact: '{{c1::59}} questions'\n",
            "mlops.yaml": "- id: m1\n  fact: '{{c1::a}}'\n- id: m2\n  fact: '{{c1::b}}'\n",
        },
    )
    deck = load(folder).deck
    assert deck is not None
    assert [record.note_id for record in deck.records()] == ["m1", "m2", "g1"]


def test_a_warning_does_not_stop_the_deck(tmp_path: Path) -> None:
    folder = write_notes(
        tmp_path / "notes",
        {
            "mlops.yaml": """\
- id: drifts
  pair:
    - {name: Data drift, means: P(X) shifts unlike concept drift}
    - {name: Concept drift, means: P(Y|X) shifts}
  difference: Inputs versus the relationship.
""",
        },
    )
    deck, found = load(folder)[:2]
    assert deck is not None
    assert [str(p) for p in found] == [
        f"{folder}/mlops.yaml:3:33: warning: the meaning of 'Data drift' mentions 'Concept drift',"
        " which gives the answer away on its Which-is-it card [name-in-meaning]"
    ]


def test_cloze_problem_in_a_literal_block_points_at_its_line_and_column(tmp_path: Path) -> None:
    folder = write_notes(
        tmp_path / "notes",
        {"mlops.yaml": "- id: block\n  fact: |\n    first line\n    then {{c0::zero}}\n"},
    )
    assert problems(folder) == [f"{folder}/mlops.yaml:4:10: error: {ZERO}"]


def test_cloze_problem_in_a_folded_block_points_at_its_line_and_column(tmp_path: Path) -> None:
    folder = write_notes(
        tmp_path / "notes",
        {"mlops.yaml": "- id: folded\n  fact: >-\n    first line\n    then {{c0::zero}}\n"},
    )
    assert problems(folder) == [f"{folder}/mlops.yaml:4:10: error: {ZERO}"]


def test_cloze_problem_in_multiline_plain_and_quoted_text(tmp_path: Path) -> None:
    folder = write_notes(
        tmp_path / "notes",
        {
            "mlops.yaml": """\
- id: plain
  fact: first line
    then {{c0::zero}}
- id: quoted
  fact: "first line
    then {{c1::}}"
""",
        },
    )
    assert problems(folder) == [
        f"{folder}/mlops.yaml:3:10: error: {ZERO}",
        f"{folder}/mlops.yaml:6:10: error: empty cloze: nothing to hide [cloze-empty]",
    ]


def test_crlf_line_ends_are_accepted(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "notes", {})
    (folder / "mlops.yaml").write_bytes(b"- id: crlf\r\n  fact: Deploy {{c1::CODE}}\r\n")
    deck, found = load(folder)[:2]
    assert found == []
    assert deck is not None and [r.note_id for r in deck.records()] == ["crlf"]


def test_invalid_utf8_names_the_line_and_column(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "notes", {})
    (folder / "mlops.yaml").write_bytes(b"- id: bad\n  fact: caf\xe9 {{c1::x}}\n")
    assert problems(folder) == [
        f"{folder}/mlops.yaml:2:12: error: not UTF-8: byte 0xe9 cannot be decoded;"
        " save the file as UTF-8 [encoding]"
    ]


def test_a_suggested_id_keeps_the_letters_of_the_one_written(tmp_path: Path) -> None:
    folder = write_notes(
        tmp_path / "notes", {"mlops.yaml": "- id: Café Crème\n  trap: t\n  reality: r\n"}
    )
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 1
    assert (
        "'id' must be a slug of lowercase letters, digits and single hyphens, like"
        " 'cafe-creme' [bad-id]"
    ) in result.stderr


def test_a_domain_with_no_notes_yet_is_a_warning_at_the_domain(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "notes", {"mlops.yaml": "- id: a\n  trap: t\n  reality: r\n"})
    deck = folder / "deck.yaml"
    deck.write_text(deck.read_text() + "  - {key: deployment, name: Deployment}\n")
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 0
    assert result.stderr == (
        f"{deck}:5:5: warning: the domain 'deployment' has no notes yet: its notes go in"
        " deployment.yaml beside deck.yaml (or in files in a folder deployment/) [empty-domain]\n"
    )
