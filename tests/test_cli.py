"""The command line, compared whole, as a user sees it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ONE_OF_EACH, REPO, write_notes
from generate import generate

from deckgen.cli import main


@pytest.fixture
def notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return write_notes(tmp_path / "notes", ONE_OF_EACH)


def test_build_writes_the_package_and_says_what_is_in_it(notes: Path) -> None:
    result = CliRunner().invoke(main, ["build"])

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Wrote dist/test-deck.apkg: 5 notes (2 fact, 1 trap, 1 pair, 1 scenario),"
        " 9 cards (3 fact, 1 trap, 4 pair, 1 scenario); 0 changed, 5 new, 0 retired\n"
        "Next: import dist/test-deck.apkg into Anki (File > Import); then edit the notes,"
        " build again and import again: your reviews stay\n"
    )
    # Once there is a lock, the build says what changed, and no more.
    again = CliRunner().invoke(main, ["build"])
    assert again.stdout.endswith("0 changed, 0 new, 0 retired\n")
    assert result.stderr == (
        "notes/deck.lock: no lock yet, so every note counts as changed; it is written now\n"
    )
    with zipfile.ZipFile(notes.parent / "dist" / "test-deck.apkg") as archive:
        assert sorted(archive.namelist()) == ["collection.anki2", "media"]


def test_build_to_a_chosen_file(notes: Path) -> None:
    result = CliRunner().invoke(main, ["build", "notes", "-o", "out/my.apkg"])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Wrote out/my.apkg: 5 notes")
    assert [p.name for p in (notes.parent / "out").iterdir()] == ["my.apkg"]


def test_build_leaves_no_temporary_file_behind(notes: Path) -> None:
    scratch = Path(tempfile.gettempdir())
    before = set(scratch.iterdir())

    assert CliRunner().invoke(main, ["build"]).exit_code == 0

    assert [p.name for p in (notes.parent / "dist").iterdir()] == ["test-deck.apkg"]
    assert set(scratch.iterdir()) - before == set()


def test_check_writes_nothing(notes: Path) -> None:
    result = CliRunner().invoke(main, ["check", "notes"])

    assert (result.exit_code, result.stdout) == (0, "notes: 5 notes, no errors\n")
    assert sorted(p.name for p in notes.parent.iterdir()) == ["notes"]


def test_stats_table(notes: Path) -> None:
    result = CliRunner().invoke(main, ["stats"])

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Domain         facts  traps  pairs  scenarios  notes  cards\n"
        "-------------  -----  -----  -----  ---------  -----  -----\n"
        "MLOps              1      1      1          1      4      8\n"
        "Exam Strategy      1      0      0          0      1      1\n"
        "-------------  -----  -----  -----  ---------  -----  -----\n"
        "Total              2      1      1          1      5      9\n"
    )


def test_an_error_exits_1_and_keeps_the_previous_package(notes: Path) -> None:
    assert CliRunner().invoke(main, ["build"]).exit_code == 0
    package = notes.parent / "dist" / "test-deck.apkg"
    previous = package.read_bytes()
    (notes / "mlops.yaml").write_text("- id: broken\n  fact: no cloze here\n", encoding="utf-8")

    result = CliRunner().invoke(main, ["build"])

    assert result.exit_code == 1
    assert result.stderr == (
        "notes/mlops.yaml:2:9: error: a fact needs at least one cloze on its key term,"
        " e.g. {{c1::cloze}} [cloze-missing]\n"
        "notes: 1 error; nothing written\n"
    )
    assert package.read_bytes() == previous
    assert [p.name for p in package.parent.iterdir()] == ["test-deck.apkg"]


def test_a_missing_folder_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "nowhere"])

    assert result.exit_code == 2
    assert "Directory 'nowhere' does not exist." in result.stderr


@pytest.mark.parametrize("command", ["build", "check", "stats"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])

    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: deckgen {command} [OPTIONS] [NOTES_DIR]\n")
    assert f"  Example:\n    deckgen {command} notes" in result.stdout


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deckgen", "check", str(REPO / "notes")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("notes, no errors\n")


@pytest.mark.parametrize(
    ("arguments", "code", "stream", "end"),
    [
        (["check", "cases/duplicate-id/notes"], 1, "stderr", "2 errors; nothing written\n"),
        (["check", "no-such-folder"], 2, "stderr", "does not exist.\n"),
        (["build", "cases/duplicate-id/notes", "-o", "-/x.apkg"], 1, "stderr", "written\n"),
        (["--version"], 0, "stdout", "0.1.0\n"),
    ],
)
def test_the_command_ends_with_its_exit_code_and_all_its_output(
    arguments: list[str], code: int, stream: str, end: str
) -> None:
    # The console command ends the process itself once its output is flushed.
    result = subprocess.run(
        [sys.executable, "-m", "deckgen", *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO / "tests",
    )
    assert result.returncode == code, result.stderr
    assert getattr(result, stream).endswith(end)


def test_diagnostics_are_coloured_on_a_terminal(tmp_path: Path) -> None:
    folder = write_notes(tmp_path / "notes", {"mlops.yaml": "- id: x\n  fact: no cloze\n"})
    result = CliRunner().invoke(main, ["check", str(folder)], color=True)
    assert result.exit_code == 1
    assert "\x1b[31m\x1b[1merror:\x1b[0m" in result.stderr


def test_no_colour_when_piped_or_with_no_color(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_notes(tmp_path / "notes", {"mlops.yaml": "- id: x\n  fact: no cloze\n"})
    assert "\x1b[" not in CliRunner().invoke(main, ["check", str(folder)]).stderr
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in CliRunner().invoke(main, ["check", str(folder)], color=True).stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _big_deck(folder: Path) -> Path:
    """Over a megabyte of notes: what makes a build slow enough for a progress bar."""
    return generate(4_500, folder)


def test_a_large_build_shows_progress_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _big_deck(tmp_path / "notes")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    main(["build", str(folder), "-o", str(tmp_path / "big.apkg")], standalone_mode=False)

    assert "Building" in terminal.getvalue() and "100%" in terminal.getvalue()


def test_no_progress_when_not_a_terminal(tmp_path: Path) -> None:
    folder = _big_deck(tmp_path / "notes")
    result = CliRunner().invoke(main, ["build", str(folder), "-o", str(tmp_path / "big.apkg")])
    assert result.exit_code == 0
    assert "Building" not in result.stderr


def test_shell_completion_completes_commands() -> None:
    env = {
        **os.environ,
        "_DECKGEN_COMPLETE": "bash_complete",
        "COMP_WORDS": "deckgen b",
        "COMP_CWORD": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "deckgen"], env=env, capture_output=True, text=True, check=False
    )
    assert result.stdout.splitlines() == ["plain,build"]
