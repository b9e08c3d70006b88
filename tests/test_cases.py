"""Invalid notes folders under tests/cases/, each next to the exact diagnostics it must produce."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from deckgen.cli import main

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_gives_its_expected_diagnostics(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case)
    expected = (case / "expected.txt").read_text(encoding="utf-8")

    result = CliRunner().invoke(main, ["check", "notes"])

    assert result.exit_code == 1
    assert result.stderr == expected
    assert result.stdout == ""


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_builds_nothing(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case)
    out = tmp_path / "deck.apkg"
    out.write_bytes(b"the previous deck")

    result = CliRunner().invoke(main, ["build", "notes", "-o", str(out)])

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert out.read_bytes() == b"the previous deck"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.apkg"]
