"""`deckgen init`: a deck of one's own that checks, builds and imports into Anki."""

from __future__ import annotations

from pathlib import Path

import pytest
from anki.collection import Collection
from click.testing import CliRunner
from conftest import import_package

from deckgen.cli import main


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout, result.stderr


def test_a_new_folder_named_relatively_below_a_new_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`init deck/notes` (and `init --from`) where neither folder exists yet: the
    folders are made once each, though the notes are named relatively and what goes
    beside them absolutely (before, mkdir of `deck` twice: "File exists")."""
    monkeypatch.chdir(tmp_path)
    code, _, err = _run("init", "deck/notes")
    assert (code, err) == (0, "")
    assert {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()} >= {
        "deck/notes/deck.yaml",
        "deck/notes/first-domain.yaml",
        "deck/.gitignore",
        "deck/.github/workflows/deck.yml",
    }
    assert _run("build", "deck/notes")[0] == 0
    code, _, err = _run("init", "brought/notes", "--from", "deck/dist/my-exam.apkg")
    assert (code, err) == (0, "")
    assert (tmp_path / "brought" / "notes" / "first-domain.yaml").is_file()
    assert (tmp_path / "brought" / ".github" / "workflows" / "deck.yml").is_file()
    assert _run("build", "brought/notes")[0] == 0


def test_a_new_deck_checks_builds_and_imports_into_anki(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collection: Collection
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run("init", "--name", "AWS Solutions Architect")
    assert (code, err) == (0, "")
    assert out == (
        "Created notes/: deck.yaml, first-domain.yaml (one note of each kind, ready to edit)\n"
        "Created notes/: deck.schema.json, notes.schema.json (for an editor to check and"
        " complete the notes: see `deckgen schema --help`)\n"
        "Created .gitignore: git leaves out dist/ and the cache\n"
        "Created .github/workflows/deck.yml: GitHub checks and builds the deck on every push,"
        " and releases it on a version tag\n"
        "Next: edit them, then `deckgen build notes`, and import the package into Anki\n"
    )
    assert (tmp_path / ".gitignore").read_text() == (
        "# What deckgen makes from the notes: the package and preview, and its cache.\n"
        "dist/\n.deckgen_cache/\n"
    )
    deck = (tmp_path / "notes" / "deck.yaml").read_text()
    assert "name: AWS Solutions Architect\nkey: aws-solutions-architect\n" in deck
    assert "tags: []\n" in deck
    notes = (tmp_path / "notes" / "first-domain.yaml").read_text()
    for kind in ("fact", "trap", "pair", "scenario"):
        assert f"\n  {kind}:" in notes
    assert notes.count("\n# A ") == 4  # a comment above each note: what its cards look like

    assert _run("check")[:2] == (0, "notes: 4 notes, no errors\n")
    code, out, _ = _run("build")
    assert code == 0
    assert out.splitlines()[-1] == (
        "Next: import dist/aws-solutions-architect.apkg into Anki (File > Import); then edit"
        " the notes, build again and import again: your reviews stay"
    )
    log = import_package(collection, tmp_path / "dist" / "aws-solutions-architect.apkg")
    assert len(log.new) == 4
    assert collection.card_count() == 7
    assert collection.decks.id_for_name("AWS Solutions Architect::First Domain")


def test_a_folder_that_holds_notes_is_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "mlops.yaml").write_text("- id: mine\n")
    code, out, err = _run("init", str(folder))
    assert (code, out) == (1, "")
    assert err == (
        f"Error: {folder} already holds notes: deckgen init starts a new deck, and leaves"
        " existing notes alone (name another folder); nothing written\n"
    )
    assert [p.name for p in folder.iterdir()] == ["mlops.yaml"]


def test_an_empty_folder_is_fine_and_a_key_must_be_a_slug(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run("init", str(empty), "--name", "Prüfung: Teil 1", "--key", "teil-1")[0] == 0
    assert 'name: "Prüfung: Teil 1"\nkey: teil-1\n' in (empty / "deck.yaml").read_text()
    assert _run("check", str(empty))[0] == 0
    code, _, err = _run("init", str(tmp_path / "other"), "--key", "Not A Slug")
    assert code == 1
    assert "the key 'Not A Slug' is not a slug" in err and "like 'not-a-slug'" in err
    assert not (tmp_path / "other").exists()


def test_a_gitignore_already_there_is_left_as_it_is(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_bytes(b"*.pyc\r\n")
    code, out, _ = _run("init", str(tmp_path / "deck"))
    assert code == 0 and ".gitignore" not in out
    assert (tmp_path / ".gitignore").read_bytes() == b"*.pyc\r\n"


def test_what_git_ignores_beside_the_notes_is_what_builds_make_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built from elsewhere, or from inside the notes, the package, the preview and the
    cache go beside the notes folder, where its .gitignore leaves them out of git."""
    import subprocess

    project = tmp_path / "project"
    assert _run("init", str(project / "notes"))[0] == 0
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run("build", "project/notes")
    assert code == 0 and out.startswith("Wrote project/dist/my-exam.apkg:")
    monkeypatch.chdir(project / "notes")
    code, out, _ = _run("build", ".")
    assert code == 0 and out.startswith("Wrote ../dist/my-exam.apkg:")
    assert not (tmp_path / "dist").exists() and not (project / "notes" / "dist").exists()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sorted(status.splitlines()) == [
        "?? .github/workflows/deck.yml",
        "?? .gitignore",
        "?? notes/deck.lock",
        "?? notes/deck.schema.json",
        "?? notes/deck.yaml",
        "?? notes/first-domain.yaml",
        "?? notes/notes.schema.json",
    ]


def test_the_note_type_example_in_a_new_deck_works_as_written(tmp_path: Path) -> None:
    """deck.yaml's commented example of a declared note type, and of a note of it,
    uncommented: the deck checks."""
    notes = tmp_path / "notes"
    assert CliRunner().invoke(main, ["init", str(notes)]).exit_code == 0
    deck = (notes / "deck.yaml").read_text(encoding="utf-8")
    start = deck.index("# note_types:")
    example, note = deck[start:].split("# and a note of it: ")
    uncommented = "\n".join(line[2:] for line in example.splitlines())
    (notes / "deck.yaml").write_text(deck[:start] + uncommented + "\n", encoding="utf-8")
    with open(notes / "first-domain.yaml", "a", encoding="utf-8") as file:
        file.write("\n" + note.strip().strip("`") + "\n")
    result = CliRunner().invoke(main, ["check", str(notes)])
    assert result.exit_code == 0 and "5 notes, no errors" in result.output, result.output
