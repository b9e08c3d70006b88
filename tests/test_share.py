"""What a study group's deck repository runs: `check --format github|json` for a workflow
and other tools, the pre-commit hook, and the workflow `init` writes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import ONE_OF_EACH, write_notes

from deckgen.cli import main
from deckgen.diagnostics import Diagnostic, Level, Position

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
