"""`deckgen diff`: each kind of change, and what Anki will do with it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from anki.collection import Collection
from click.testing import CliRunner
from conftest import ONE_OF_EACH, build, import_package, write_notes

from deckgen import notetypes, package
from deckgen.build import Options, prepare
from deckgen.cli import main
from deckgen.diff import compare
from deckgen.notetypes import NOTE_TYPES

T0 = 1_700_000_000


@pytest.fixture
def notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = write_notes(tmp_path / "notes", ONE_OF_EACH)
    build(folder, tmp_path / "old.apkg", T0)
    mlops = folder / "mlops.yaml"
    text = mlops.read_text().replace("Use Chi-squared.", "Use Chi-squared, never KS.")
    text = (
        text.split("- id: three-tests")[0]
        + "- id: dev-to-prod"
        + text.split("- id: dev-to-prod")[1]
    )
    mlops.write_text(text + "- id: added-fact\n  fact: A {{c1::new}} fact\n")
    return folder


def test_diff_as_markdown_says_the_same_for_a_release_page(notes: Path) -> None:
    result = CliRunner().invoke(main, ["diff", "old.apkg", "--format", "markdown"])

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Against old\\.apkg, with Anki's default import options:"
        " 3 unchanged, 1 changed, 1 added, 1 retired.\n"
        "\n### Added (1)\n\n"
        "- `added-fact`: Anki adds it\n"
        "\n### Changed (1)\n\n"
        "- `ks-on-categorical`: Anki updates it in place\n"
        "  - Reality: Use ~~Chi\\-squared\\.~~ **Chi\\-squared, never KS\\.**\n"
        "\n### Retired (1)\n\n"
        "- `three-tests`: Anki empties its cards; Tools \\> Empty Cards clears them\n"
    )


def test_markdown_shows_note_text_as_text(notes: Path) -> None:
    """What a note holds is never Markdown or HTML on the release page."""
    mlops = notes / "mlops.yaml"
    _save = mlops.read_text().replace("Use Chi-squared, never KS.", "Use <b>*this*</b> [x](y)")
    mlops.write_text(_save)
    result = CliRunner().invoke(main, ["diff", "old.apkg", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    # (the words a card shows: the emphasis is formatting, the tag and link are text)
    assert "Use ~~Chi\\-squared\\.~~ **\\<b\\>this\\</b\\> \\[x\\]\\(y\\)**\n" in result.stdout


def test_diff_lists_each_note_change_and_what_anki_does(notes: Path) -> None:
    result = CliRunner().invoke(main, ["diff", "old.apkg"])

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Against old.apkg, with Anki's default import options:\n"
        "  changed     ks-on-categorical: Anki updates it in place\n"
        "      Reality: Use [-Chi-squared.-] {+Chi-squared, never KS.+}\n"
        "  added       added-fact: Anki adds it\n"
        "  retired     three-tests: Anki empties its cards; Tools > Empty Cards clears them\n"
        "3 unchanged, 1 changed, 1 added, 1 retired\n"
    )


def test_diff_as_json(notes: Path) -> None:
    result = CliRunner().invoke(main, ["diff", "old.apkg", "--json"])

    report = json.loads(result.stdout)
    assert report["counts"] == {"unchanged": 3, "changed": 1, "added": 1, "retired": 1}
    assert [(n["id"], n["status"]) for n in report["notes"]] == [
        ("ks-on-categorical", "changed"),
        ("added-fact", "added"),
        ("three-tests", "retired"),
    ]
    assert report["notes"][0]["fields"] == [
        {"name": "Reality", "diff": "Use [-Chi-squared.-] {+Chi-squared, never KS.+}"}
    ]


def test_diff_says_what_anki_did(notes: Path, tmp_path: Path, collection: Collection) -> None:
    """The report's claims, checked against a real import of the same build."""
    import_package(collection, tmp_path / "old.apkg")
    made, _ = prepare(notes, T0 + 100)
    assert made is not None
    report = compare(tmp_path / "old.apkg", made)
    package.write(made.deck, made.revision, tmp_path / "new.apkg")

    log = import_package(collection, tmp_path / "new.apkg")

    def ids(notes: object) -> set[str]:
        return {collection.get_note(n.id.nid)["ID"] for n in notes}  # type: ignore[attr-defined]

    by_status: dict[str, set[str]] = {}
    for change in report.notes:
        by_status.setdefault(change.status, set()).add(change.id)
    assert ids(log.updated) == by_status["changed"] | by_status["retired"]
    assert ids(log.new) == by_status["added"]
    assert len(log.duplicate) == report.unchanged


def test_diff_reports_note_type_changes(
    notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = notetypes._template_file
    monkeypatch.setattr(
        notetypes,
        "_template_file",
        lambda name: (
            original(name).replace("{{Reality}}", "{{Truth}}")
            + ("\n/* new */" if name == "style.css" else "")
        ),
    )
    trap = NOTE_TYPES["trap"]
    fill = trap.fill
    renamed = dataclasses.replace(
        trap,
        fields=tuple(
            dataclasses.replace(f, name="Truth") if f.name == "Reality" else f for f in trap.fields
        ),
        fill=lambda note: {("Truth" if k == "Reality" else k): v for k, v in fill(note).items()},
    )
    types = {**NOTE_TYPES, "trap": renamed}
    made, _ = prepare(notes, T0 + 100, Options(), types)
    assert made is not None

    report = compare(tmp_path / "old.apkg", made, types)

    changes = {t.name: (t.changes, t.anki) for t in report.notetypes}
    assert changes["deckgen Trap"] == (
        ("field 'Reality' renamed 'Truth'", "card templates changed", "CSS changed"),
        "Anki updates it in place",
    )
    assert changes["deckgen Fact"] == (("CSS changed",), "Anki updates it in place")


def test_diff_reports_notes_missing_from_a_build_without_tombstones(
    notes: Path, tmp_path: Path
) -> None:
    made, _ = prepare(notes, T0 + 100, Options(drop_retired=True))
    assert made is not None
    [missing] = [n for n in compare(tmp_path / "old.apkg", made).notes if n.status == "missing"]
    assert missing.id == "three-tests"


def test_diff_without_a_package_to_compare_with(notes: Path) -> None:
    result = CliRunner().invoke(main, ["diff"])
    assert result.exit_code == 2
    assert "no package at dist/test-deck.apkg to compare with" in result.stderr


@pytest.mark.parametrize("legacy", [False, True], ids=["anki21b", "legacy"])
def test_diff_reads_what_anki_exports(notes: Path, tmp_path: Path, legacy: bool) -> None:
    """A user's own export, in either format: the same report as against the package it
    came from (a current one also holds a dummy collection.anki2, which is not read)."""
    from anki.collection import ExportAnkiPackageOptions

    col = Collection(str(tmp_path / "user.anki2"))
    try:
        import_package(col, tmp_path / "old.apkg")
        options = ExportAnkiPackageOptions(with_scheduling=True, legacy=legacy)
        col.export_anki_package(out_path=str(tmp_path / "export.apkg"), options=options, limit=None)
    finally:
        col.close()
    ours = CliRunner().invoke(main, ["diff", "old.apkg", "--json"])
    theirs = CliRunner().invoke(main, ["diff", "export.apkg", "--json"])
    assert theirs.exit_code == 0, theirs.output
    assert json.loads(theirs.stdout)["counts"] == json.loads(ours.stdout)["counts"]
    assert json.loads(theirs.stdout)["notes"] == json.loads(ours.stdout)["notes"]
    assert json.loads(theirs.stdout)["notetypes"] == json.loads(ours.stdout)["notetypes"]


def test_a_line_break_or_formatting_changed_is_shown(notes: Path) -> None:
    mlops = notes / "mlops.yaml"
    text = mlops.read_text()
    text = text.replace(
        "reality: Use Chi-squared, never KS.", "reality: |-\n    Use Chi-squared,\n    never KS."
    )
    text = text.replace("answer: Promote the code.", "answer: Promote the **code**.")
    mlops.write_text(text)
    result = CliRunner().invoke(main, ["diff", "old.apkg"])
    assert result.exit_code == 0, result.output
    assert "      Reality: Use [-Chi-squared.-] {+Chi-squared, ↵ never KS.+}\n" in result.output
    assert "      Answer: the same words, formatted otherwise\n" in result.output
