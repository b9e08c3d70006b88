"""The README cannot drift from deckgen: its command reference is what the commands take,
its YAML examples are notes deckgen checks, and each diagnostic it shows is one deckgen
prints for an input in tests/cases/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner
from conftest import REPO

from deckgen.cli import main

README = (REPO / "README.md").read_text(encoding="utf-8")
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def _blocks(language: str) -> list[str]:
    """The README's fenced blocks of a language (`""`: of none), in order."""
    blocks: list[tuple[str, list[str]]] = []
    inside = False
    for line in README.splitlines():
        if line.startswith("```"):
            if not inside:
                blocks.append((line[3:].strip(), []))
            inside = not inside
        elif inside:
            blocks[-1][1].append(line)
    return ["\n".join(lines) + "\n" for kind, lines in blocks if kind == language]


def _reference() -> tuple[dict[str, set[str]], str]:
    """Each command the README's command reference names, with the options it lists; and
    its line for deckgen itself."""
    [block] = [b for b in _blocks("") if b.startswith("deckgen init")]
    commands: dict[str, set[str]] = {}
    current, top = "", ""
    for line in block.splitlines():
        if line.startswith("deckgen --"):
            top = line
            continue
        named = re.match(r"deckgen (\w+)", line)
        if named:
            current = named.group(1)
            commands[current] = set()
        commands[current] |= set(_OPTION.findall(line))
    return commands, top


def _options(*command: str) -> set[str]:
    """The options `deckgen COMMAND --help` lists."""
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    return set(_OPTION.findall(result.stdout.split("Options:", 1)[1])) - {"--help"}


def test_the_command_reference_lists_every_command_and_option_and_no_other() -> None:
    documented, top = _reference()
    assert documented == {name: _options(name) for name in main.commands}
    assert set(_OPTION.findall(top)) == _options() | {"--help"}


def test_every_yaml_example_is_notes_deckgen_checks(tmp_path: Path) -> None:
    examples = _blocks("yaml")
    assert len(examples) >= 3
    # The deck that declares note types: the one the examples of their notes are checked in.
    [declaring] = [e for e in examples if "note_types" in (yaml.safe_load(e) or {})]
    for number, example in enumerate(examples):
        folder = tmp_path / f"example-{number}"
        folder.mkdir()
        data = yaml.safe_load(example)
        if isinstance(data, dict):  # a deck.yaml
            (folder / "deck.yaml").write_text(example, encoding="utf-8")
        else:  # a notes file, in a deck of its own, with the repo's pictures beside it
            deck = "name: Example\nkey: example\ndomains:\n  - {key: mlops, name: MLOps}\n"
            if any("type" in note for note in data):
                deck = declaring
            (folder / "deck.yaml").write_text(deck, encoding="utf-8")
            (folder / "mlops.yaml").write_text(example, encoding="utf-8")
            shutil.copytree(REPO / "notes" / "pictures", folder / "pictures")
        result = CliRunner().invoke(main, ["check", str(folder)])
        assert result.exit_code == 0, (example, result.output)


def test_every_diagnostic_the_readme_shows_is_one_deckgen_prints() -> None:
    shown = re.findall(
        r"^\S+:\d+:\d+: (?:error|warning): .+ \[[a-z-]+\]$", "\n".join(_blocks("")), re.M
    )
    assert len(shown) >= 2
    printed = {
        line
        for case in (REPO / "tests" / "cases").iterdir()
        for line in (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    }
    assert [line for line in shown if line not in printed] == []


def test_no_message_speaks_of_the_sample_deck() -> None:
    """deckgen is for any exam: what it says to a user (every string in its code that is
    not a docstring) names nothing of the Databricks deck this repository holds."""
    import ast

    sample = re.compile(r"databricks|mlflow|mlops|vectorassembler|spark|drift", re.IGNORECASE)
    found = []
    for path in sorted((REPO / "src" / "deckgen").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            said = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if said and id(node) not in docstrings and sample.search(node.value):
                found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    assert found == []
