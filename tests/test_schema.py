"""The JSON Schemas an editor reads (`deckgen schema`), judged against `deckgen check`.

A standard validator (jsonschema, reading the YAML as an editor does: YAML 1.2, by
ruamel.yaml) and `deckgen check` judge the same files: every notes folder of the tests'
cases, the repository's notes, generated decks and the structural mistakes below.
Wherever the schema rejects a file, `check` rejects it too; the structural mistakes
(unknown key, wrong type, missing key) are rejected by both.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from generate import generate
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from deckgen import schema
from deckgen.cli import main
from deckgen.diagnostics import Level
from deckgen.load import load
from deckgen.shapes import _tag_problem
from deckgen.validate import check_header

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted(p / "notes" for p in (ROOT / "tests" / "cases").iterdir() if p.is_dir())


def _yaml_12(path: Path) -> object:
    """A file as an editor reads it: YAML 1.2."""
    return YAML(typ="safe", pure=True).load(io.StringIO(path.read_text(encoding="utf-8-sig")))


def _rejected(path: Path, shape: dict[str, object]) -> list[str]:
    """What the schema finds wrong in a file (its YAML, if it is not YAML 1.2)."""
    try:
        instance = _yaml_12(path)
    except Exception as error:  # not YAML an editor reads
        return [f"not YAML 1.2: {type(error).__name__}"]
    validator = jsonschema.Draft7Validator(shape)
    return [error.message for error in validator.iter_errors(instance)]


def _check_errors(notes_dir: Path) -> set[Path]:
    """The files `deckgen check` finds an error in."""
    loaded = load(notes_dir, cache=False)
    return {Path(p.path).resolve() for p in loaded.problems if p.level is Level.ERROR}


def _judged(notes_dir: Path) -> dict[Path, list[str]]:
    """Each YAML file of a notes folder, with what the schema finds wrong in it (the notes
    files only if deck.yaml checks: their schema is made from it)."""
    verdicts: dict[Path, list[str]] = {}
    deck_file = notes_dir / "deck.yaml"
    if deck_file.is_file():
        verdicts[deck_file.resolve()] = _rejected(deck_file, schema.deck_schema())
    header, problems = check_header(deck_file)
    if header is None or any(p.level is Level.ERROR for p in problems):
        return verdicts
    notes_shape = schema.notes_schema(header)
    for path in sorted([*notes_dir.glob("*.y*ml"), *notes_dir.glob("*/*.y*ml")]):
        if path.name != "deck.yaml" and path.is_file() and not path.is_symlink():
            verdicts[path.resolve()] = _rejected(path, notes_shape)
    return verdicts


def _agree(notes_dir: Path) -> dict[Path, list[str]]:
    """Assert that check rejects every file the schema rejects; the verdicts."""
    verdicts = _judged(notes_dir)
    errors = _check_errors(notes_dir)
    for path, wrong in verdicts.items():
        if wrong:
            assert path in errors, f"the schema rejects {path} ({wrong}), check takes it"
    return verdicts


def test_the_schemas_are_valid_draft_7() -> None:
    header, _ = check_header(ROOT / "notes" / "deck.yaml")
    assert header is not None
    for shape in (schema.deck_schema(), schema.notes_schema(header)):
        jsonschema.Draft7Validator.check_schema(shape)


@pytest.mark.parametrize("case", CASES, ids=[c.parent.name for c in CASES])
def test_the_schema_rejects_no_case_check_takes(case: Path) -> None:
    _agree(case)


def test_the_repository_notes_pass_both() -> None:
    verdicts = _agree(ROOT / "notes")
    assert len(verdicts) == 5
    assert all(not wrong for wrong in verdicts.values()), verdicts
    assert not _check_errors(ROOT / "notes")


@pytest.mark.parametrize(
    "options", [{}, {"warnings": True}, {"file_per_note": True}], ids=["plain", "warned", "spread"]
)
def test_generated_decks_pass_both(tmp_path: Path, options: dict[str, bool]) -> None:
    """The benchmark's decks: the kinds, three declared types (one of HTML), many files."""
    notes = generate(600, tmp_path / "notes", **options)
    verdicts = _agree(notes)
    assert len(verdicts) >= 21
    assert all(not wrong for wrong in verdicts.values())


DECK = """\
name: Mistakes
key: mistakes
domains:
  - {key: one, name: One}
tags: [topic::a, topic::b]
note_types:
  - name: Vocabulary
    fields: [Word, Meaning]
    templates:
      - {name: Recognise, front: "{{Word}}", back: "{{Meaning}}"}
"""
GOOD = """\
- id: a-fact
  fact: The {{c1::term}} is here
  tags: [topic::a]
- id: a-word
  type: Vocabulary
  Word: ubiquitous
  Meaning: ~
- id: a-pair
  pair:
    - {name: A, means: first}
    - {name: B, means: second}
  difference: order
"""

# Structural mistakes: (file, text), each rejected by the schema and by check.
MISTAKES = {
    "unknown key in a note": ("one.yaml", "- id: x\n  fact: A {{c1::b}}\n  tgas: [topic::a]\n"),
    "unknown key of another kind": ("one.yaml", "- id: x\n  trap: a\n  reality: b\n  answer: c\n"),
    "missing key of a kind": ("one.yaml", "- id: x\n  scenario: s\n  answer: a\n"),
    "missing id": ("one.yaml", "- fact: A {{c1::b}}\n"),
    "no kind": ("one.yaml", "- id: x\n  tags: [topic::a]\n"),
    "text as a list": ("one.yaml", "- id: x\n  trap: [a]\n  reality: b\n"),
    "text as a mapping": ("one.yaml", "- id: x\n  trap: {a: b}\n  reality: b\n"),
    "empty required text": ("one.yaml", "- id: x\n  trap: ''\n  reality: b\n"),
    "boolean text": ("one.yaml", "- id: x\n  trap: true\n  reality: b\n"),
    "a note as text": ("one.yaml", "- just text\n"),
    "a file as a mapping": ("one.yaml", "id: x\nfact: A {{c1::b}}\n"),
    "bad id": ("one.yaml", "- id: Not A Slug\n  fact: A {{c1::b}}\n"),
    "unknown tag": ("one.yaml", "- id: x\n  fact: A {{c1::b}}\n  tags: [topic::c]\n"),
    "tags as text": ("one.yaml", "- id: x\n  fact: A {{c1::b}}\n  tags: topic::a\n"),
    "pair of one": ("one.yaml", "- id: x\n  pair: [{name: A, means: a}]\n  difference: d\n"),
    "pair item key": (
        "one.yaml",
        "- id: x\n  pair: [{name: A, mean: a}, {name: B, means: b}]\n  difference: d\n",
    ),
    "unknown type": ("one.yaml", "- id: x\n  type: Vocab\n  Word: w\n"),
    "unknown field": ("one.yaml", "- id: x\n  type: Vocabulary\n  Word: w\n  Meening: m\n"),
    "missing first field": ("one.yaml", "- id: x\n  type: Vocabulary\n  Meaning: m\n"),
    "deck: unknown key": ("deck.yaml", DECK.replace("key: mistakes", "key: mistakes\nkye: x")),
    "deck: missing name": ("deck.yaml", DECK.replace("name: Mistakes\n", "")),
    "deck: domains as text": (
        "deck.yaml",
        DECK.replace("domains:\n  - {key: one, name: One}", "domains: one"),
    ),
    "deck: weight as text": (
        "deck.yaml",
        DECK.replace("{key: one, name: One}", "{key: one, name: One, weight: half}"),
    ),
    "deck: weight over 100": (
        "deck.yaml",
        DECK.replace("{key: one, name: One}", "{key: one, name: One, weight: 120}"),
    ),
    "deck: domain without name": ("deck.yaml", DECK.replace("{key: one, name: One}", "{key: one}")),
    "deck: template without back": ("deck.yaml", DECK.replace(', back: "{{Meaning}}"', "")),
    "deck: field of a wrong key": ("deck.yaml", DECK.replace("[Word, Meaning]", "[{nam: Word}]")),
    "deck: cloze as a number": ("deck.yaml", DECK.replace("fields:", "cloze: 3\n    fields:")),
    "deck: reserved tag": ("deck.yaml", DECK.replace("topic::b", "kind::b")),
}


def _deck(folder: Path, file: str = "", text: str = "") -> Path:
    notes = folder / "notes"
    notes.mkdir(parents=True)
    (notes / "deck.yaml").write_text(DECK, encoding="utf-8")
    (notes / "one.yaml").write_text(GOOD, encoding="utf-8")
    if file:
        (notes / file).write_text(text, encoding="utf-8")
    return notes


def test_a_good_deck_passes_both(tmp_path: Path) -> None:
    notes = _deck(tmp_path)
    verdicts = _agree(notes)
    assert verdicts and all(not wrong for wrong in verdicts.values())
    assert not _check_errors(notes)


@pytest.mark.parametrize("mistake", MISTAKES, ids=list(MISTAKES))
def test_a_structural_mistake_is_rejected_by_both(tmp_path: Path, mistake: str) -> None:
    file, text = MISTAKES[mistake]
    notes = _deck(tmp_path, file, text)
    verdicts = _agree(notes)
    assert verdicts[(notes / file).resolve()], f"the schema takes {mistake}"
    assert (notes / file).resolve() in _check_errors(notes)


@pytest.mark.parametrize(
    "value",
    # YAML 1.1 reads these as text, and deckgen with it; an editor's YAML 1.2 reads
    # numbers: the schema takes them (check decides), as it takes 1.1's booleans.
    ["1e3", "09", "0o17", "1.5e3", "no", "off"],
)
def test_what_yaml_versions_read_apart_is_left_to_check(tmp_path: Path, value: str) -> None:
    notes = _deck(tmp_path, "one.yaml", f"- id: x\n  trap: {value}\n  reality: b\n")
    _agree(notes)
    assert not _judged(notes)[(notes / "one.yaml").resolve()]


@given(st.text(alphabet=":a \u00a0\ufeffK", max_size=12))
def test_a_tag_the_schema_rejects_check_rejects(tag: str) -> None:
    """The tag rules written as patterns (spaces, empty levels, reserved prefixes), held
    to check's own on the characters where they could differ."""
    rejected = not jsonschema.Draft7Validator(schema._tag(None)).is_valid(tag)
    if rejected:
        assert _tag_problem(tag, None) is not None, tag
    if _tag_problem(tag, None) is None:
        assert not rejected


@given(st.sampled_from(["kind::", "KIND::", "Domain::", "deckgen::x", "kindly::"]))
def test_reserved_tags_are_rejected_by_both(tag: str) -> None:
    rejected = not jsonschema.Draft7Validator(schema._tag(None)).is_valid(tag)
    assert rejected == (_tag_problem(tag, None) is not None)


def test_a_standard_checker_runs_the_written_schema(tmp_path: Path) -> None:
    """check-jsonschema, as a deck repository's hook would run it, on the written files."""
    notes = _deck(tmp_path)
    result = CliRunner().invoke(main, ["schema", str(notes)])
    assert result.exit_code == 0, result.output
    tool = Path(sys.executable).parent / "check-jsonschema"
    ok = subprocess.run(
        [tool, "--schemafile", notes / "notes.schema.json", notes / "one.yaml"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (notes / "one.yaml").write_text(MISTAKES["unknown field"][1], encoding="utf-8")
    bad = subprocess.run(
        [tool, "--schemafile", notes / "notes.schema.json", notes / "one.yaml"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert "'Meening' was unexpected" in bad.stdout


def test_schema_writes_both_files_once(tmp_path: Path) -> None:
    notes = _deck(tmp_path)
    first = CliRunner().invoke(main, ["schema", str(notes)])
    assert first.exit_code == 0
    assert first.stdout.splitlines()[0] == (
        f"Wrote {notes / 'deck.schema.json'}, {notes / 'notes.schema.json'}"
    )
    assert "# yaml-language-server: $schema=deck.schema.json" in first.stdout
    written = json.loads((notes / "notes.schema.json").read_text(encoding="utf-8"))
    header, _ = check_header(notes / "deck.yaml")
    assert header is not None
    assert written == schema.notes_schema(header)
    stamps = {p: p.stat().st_mtime_ns for p in notes.glob("*.json")}
    (notes / "deck.yaml").write_text(
        schema.modeline(notes, notes / "deck.yaml") + DECK, encoding="utf-8"
    )
    again = CliRunner().invoke(main, ["schema", str(notes)])
    assert again.exit_code == 0
    assert again.stdout == f"{notes}: the schemas are up to date\n"
    assert {p: p.stat().st_mtime_ns for p in notes.glob("*.json")} == stamps


def test_schema_of_a_broken_deck_writes_nothing(tmp_path: Path) -> None:
    notes = _deck(tmp_path, "deck.yaml", DECK.replace("key: mistakes", "key: Not A Slug"))
    result = CliRunner().invoke(main, ["schema", str(notes)])
    assert result.exit_code == 1
    assert f"{notes / 'deck.yaml'}:2:6: error: 'key' must be a slug" in result.stderr
    assert not list(notes.glob("*.json"))


def test_build_keeps_a_written_schema_up_to_date(tmp_path: Path) -> None:
    notes = _deck(tmp_path)
    out = tmp_path / "deck.apkg"
    built = CliRunner().invoke(main, ["build", str(notes), "-o", str(out)])
    assert built.exit_code == 0, built.output
    assert not list(notes.glob("*.json")), "a deck without schemas is given none"
    assert CliRunner().invoke(main, ["schema", str(notes)]).exit_code == 0
    (notes / "deck.yaml").write_text(DECK.replace("topic::b]", "topic::b, topic::c]"))
    (notes / "one.yaml").write_text(MISTAKES["unknown tag"][1], encoding="utf-8")
    rebuilt = CliRunner().invoke(main, ["build", str(notes), "-o", str(out)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"Updated {notes / 'notes.schema.json'} (from deck.yaml)" in rebuilt.stdout
    assert not _agree(notes)[(notes / "one.yaml").resolve()]


def test_init_writes_files_that_name_their_schemas(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    result = CliRunner().invoke(main, ["init", str(notes)])
    assert result.exit_code == 0, result.output
    for name, named in (
        ("deck.yaml", "deck.schema.json"),
        ("first-domain.yaml", "notes.schema.json"),
    ):
        first = (notes / name).read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema={named}"
        assert (notes / named).is_file()
    verdicts = _agree(notes)
    assert len(verdicts) == 2 and all(not wrong for wrong in verdicts.values())


def test_the_same_deck_gives_the_same_schema_bytes(tmp_path: Path) -> None:
    one, two = _deck(tmp_path / "a"), _deck(tmp_path / "b")
    for notes in (one, two):
        assert CliRunner().invoke(main, ["schema", str(notes)]).exit_code == 0
    for name in ("deck.schema.json", "notes.schema.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes()
        assert (one / name).read_bytes().endswith(b"}\n")


_KEYS = sorted(
    {"id", "tags", "extra", "guid", "type", "fact", "trap", "reality", "pair", "difference"}
    | {"scenario", "answer", "distractor", "why_not", "Word", "Meaning", "name", "means", "x"}
)
# Text YAML 1.1 and 1.2 read alike, and text they read apart.
_WORDS = ["a", "", " ", "no", "yes", "1e3", "09", "0o17", "12", "~", "null", "true", "1.5"]
_WORDS += ["topic::a", "kind::x", "a b", "A {{c1::b}}", "{{c1::x}}", "Vocabulary", "my-id"]
_SCALARS = st.one_of(
    st.sampled_from(_WORDS), st.integers(-3, 200), st.booleans(), st.none(), st.text(max_size=8)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4)
    ),
    max_leaves=8,
)
_NOTES = st.lists(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=6), max_size=4)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(notes=_NOTES)
def test_a_notes_file_the_schema_rejects_check_rejects(notes: list[dict[str, object]]) -> None:
    """Generated notes files, of every key notes have and values of every shape, written
    as YAML by PyYAML (which quotes only what YAML 1.1 would misread: `1e3` stays plain,
    a number to an editor's YAML 1.2)."""
    import tempfile

    import yaml

    with tempfile.TemporaryDirectory() as scratch:
        folder = _deck(Path(scratch), "one.yaml", yaml.safe_dump(notes, allow_unicode=True))
        _agree(folder)


_DECK_KEYS = sorted(
    {"name", "key", "description", "source", "domains", "tags", "note_types", "weight", "deck"}
    | {"fields", "templates", "css", "cloze", "html", "sort_field", "front", "back", "id"}
    | {"font", "size", "rtl", "file", "latex_svg", "browser_font_size", "x"}
)
_DECK_VALUES = st.recursive(
    st.one_of(_SCALARS, st.sampled_from(["{{Word}}", "{{cloze:Text}}", "Word", "one"])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_DECK_KEYS), inner, max_size=5)
    ),
    max_leaves=10,
)
_ONE_DOMAIN = st.just([{"key": "one", "name": "One"}])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    deck=st.fixed_dictionaries(
        {"name": st.sampled_from(["Deck", "", 12]), "key": st.sampled_from(["deck", "De ck"])},
        optional={
            "domains": st.one_of(_ONE_DOMAIN, _DECK_VALUES),
            "tags": _DECK_VALUES,
            "note_types": _DECK_VALUES,
            "description": _DECK_VALUES,
            "x": _DECK_VALUES,
        },
    )
)
def test_a_deck_file_the_schema_rejects_check_rejects(deck: dict[str, object]) -> None:
    import tempfile

    import yaml

    with tempfile.TemporaryDirectory() as scratch:
        folder = _deck(Path(scratch), "deck.yaml", yaml.safe_dump(deck, allow_unicode=True))
        _agree(folder)


def test_what_stands_where_a_schema_goes_is_never_waited_on(tmp_path: Path) -> None:
    """A FIFO named as a schema (reading it would wait for ever) is replaced, not read;
    a build never gives schemas to a deck whose schema is not a file."""
    notes = _deck(tmp_path)
    os.mkfifo(notes / "notes.schema.json")
    built = CliRunner().invoke(main, ["build", str(notes), "-o", str(tmp_path / "d.apkg")])
    assert built.exit_code == 0 and "Updated" not in built.stdout
    result = CliRunner().invoke(main, ["schema", str(notes)])
    assert result.exit_code == 0, result.output
    written = json.loads((notes / "notes.schema.json").read_text(encoding="utf-8"))
    assert written["title"] == "Notes of Mistakes (deckgen)"


def test_the_spaces_a_pattern_names_are_pythons() -> None:
    """What str.strip and check's `\\s` take for a space, every code point of it."""
    spaces = re.compile(f"[{schema.SPACE}]")
    for code in range(sys.maxunicode + 1):
        assert bool(spaces.match(chr(code))) == chr(code).isspace(), hex(code)


def test_the_repository_deck_keeps_its_schemas_up_to_date(tmp_path: Path) -> None:
    """What notes/ commits is what `deckgen schema` (and every build) writes for it."""
    notes = Path(shutil.copytree(ROOT / "notes", tmp_path / "notes"))
    result = CliRunner().invoke(main, ["schema", str(notes)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{notes}: the schemas are up to date\n"
