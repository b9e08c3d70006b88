"""The plain reader (ryaml) against PyYAML: it vouches for a file only when every value
is one PyYAML reads the same, and positions it does not keep are found when needed."""

from __future__ import annotations

import importlib.util
import platform
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, write_notes
from generate import generate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deckgen import source
from deckgen.cli import main
from deckgen.load import load
from deckgen.validate import check_file, id_position


def shape(node: yaml.Node | None) -> object:
    """A node tree as comparable values: tags, text, and the order of keys and items."""
    if isinstance(node, yaml.ScalarNode):
        return (node.tag, node.value)
    if isinstance(node, yaml.SequenceNode):
        return (node.tag, [shape(item) for item in node.value])
    if isinstance(node, yaml.MappingNode):
        return (node.tag, [(shape(k), shape(v)) for k, v in node.value])
    return node


def reference(text: str, loader: type = yaml.CSafeLoader) -> object:
    """What PyYAML makes of the text, with libyaml (deckgen's reader before ryaml) or its
    own parser; the exception's type if it refuses the text."""
    try:
        return shape(yaml.compose(text, Loader=loader))
    except yaml.YAMLError as error:
        return type(error)


# For the tests that the plain reader is taken: where pyproject.toml asks for ryaml, the
# test just below fails if it is missing, so this skips only where it is not asked for.
needs_ryaml = pytest.mark.skipif(
    source._plain_loads is None, reason="ryaml is not installed (no wheel for this machine)"
)


def test_ryaml_is_installed_where_it_ships_as_a_wheel_and_used_where_installed() -> None:
    # Without it deckgen still works, reading every file with libyaml; with it, the
    # README's speed figures. pyproject.toml asks for it on these machines.
    assert (source._plain_loads is not None) == (importlib.util.find_spec("ryaml") is not None)
    if platform.python_implementation() == "CPython" and platform.machine() in (
        "x86_64", "AMD64", "aarch64", "arm64", "ARM64"
    ):  # fmt: skip
        assert source._plain_loads is not None


@needs_ryaml
def test_an_ordinary_notes_file_is_read_by_the_plain_reader() -> None:
    text = (REPO / "notes" / "mlops.yaml").read_text(encoding="utf-8")
    nodes = source._plain_nodes(text)
    assert nodes is not None
    assert shape(nodes) == reference(text)


@needs_ryaml
@pytest.mark.parametrize(
    "text",
    [
        "- fact: R&D, Q&A and 44% {{c1::done}}!\n",
        "- fact: 'Wow! {{c1::x}}'\n  tags: [a_&b]\n",
        "- fact: |\n    100%\n    % not a directive here\n",
    ],
)
def test_ampersands_bangs_and_percents_in_text_are_still_plain(text: str) -> None:
    nodes = source._plain_nodes(text)
    assert nodes is not None
    assert shape(nodes) == reference(text)


# Plain scalars that YAML 1.1 (PyYAML) and YAML 1.2 (ryaml) read differently, or that are
# not text in either: the plain reader must leave every one of them to libyaml.
PITFALLS = [
    "no", "No", "yes", "on", "OFF", "true", "~", "null", "", "1.10", "0123",
    "0o17", "0x1F", "0b101", "1_000", "190:20:30", "-.inf", ".NaN", "1e3", "2001-12-14",
    "2001-12-14 21:59:43.10 -5", "<<", "=", "123456789012345678901234567890",
]  # fmt: skip


@pytest.mark.parametrize("value", PITFALLS)
@pytest.mark.parametrize("quote", ["", "'", '"'])
def test_values_that_yaml_versions_read_differently_are_left_to_libyaml(
    value: str, quote: str
) -> None:
    text = f"- id: a\n  fact: {quote}{value}{quote}\n"
    nodes = source._plain_nodes(text)
    assert nodes is None or shape(nodes) == reference(text)
    if not quote:
        assert nodes is None  # plain: PyYAML reads it as something other than text


@pytest.mark.parametrize(
    "text",
    [
        "- &a x\n- *a\n",  # anchors and aliases
        "- !!str x\n",  # tags
        "- a: !foo x\n",
        "%YAML 1.1\n---\n- x\n",  # directives
        "# a comment\n%YAML 1.1\n---\n- x\n",
        "- [a, &b c]\n",
        "- {a: !t b}\n",
        '- {"a":&b c}\n',
        "- a: x\n  a: y\n",  # a duplicate key
        "- x\n---\n- y\n",  # a second document
        "- a: [x\n",  # a syntax error
        "? [a, b]\n: x\n",  # a key that is not text
        "",  # nothing
        "# only a comment\n",
    ],
)
def test_what_the_plain_reader_cannot_vouch_for_is_left_to_libyaml(text: str) -> None:
    assert source._plain_nodes(text) is None


TEXT = st.sampled_from(
    [
        "ok", "no", "yes", "1.10", "0123", "~", "null", "2025-09-01", "<<", "=", "R&D",
        "&a x", "*a", "!t x", "Wow!", "a # b", "#c", "a: b", "- x", "[a, b]", "{a: b}",
        "{{c1::x}}", "x\ty", "é", "\u2028", "\x85", "\ufeff", "\x07", "'", '"', "\\", "%",
        "@x", "`x`", "?", ":", "-", ",", "a, b", "x  ", " x", "3", "-1", ".5",
    ]
)  # fmt: skip
KEY = st.sampled_from(["id", "fact", "tags", "x", "no", "a b"])
STYLE = st.sampled_from(["plain", "single", "double", "literal", "folded", "flow"])


@st.composite
def scalar(draw: st.DrawFn, indent: str) -> str:
    words = " ".join(draw(st.lists(TEXT, min_size=1, max_size=3)))
    style = draw(STYLE)
    if style == "single":
        return "'" + words.replace("'", "''") + "'"
    if style == "double":
        escaped = words.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + escaped + draw(st.sampled_from(["", "\\n", "\\t", "\\u00e9", "\\/"])) + '"'
    if style in ("literal", "folded"):
        head = "|" if style == "literal" else ">"
        chomp = draw(st.sampled_from(["", "-", "+"]))
        lines = draw(st.lists(TEXT, min_size=1, max_size=3))
        return head + chomp + "".join(f"\n{indent}  {line}" for line in lines)
    if style == "flow":
        return "[" + ", ".join(draw(st.lists(TEXT, min_size=0, max_size=3))) + "]"
    return words


@st.composite
def yaml_text(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        keys = draw(st.lists(KEY, min_size=1, max_size=3))
        for index, key in enumerate(keys):
            lead = "- " if index == 0 else "  "
            lines.append(f"{lead}{key}: {draw(scalar('  '))}")
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))


@settings(max_examples=3000, derandomize=True, deadline=None)
@given(yaml_text())
def test_what_the_plain_reader_reads_is_what_pyyaml_reads(text: str) -> None:
    nodes = source._plain_nodes(text)
    if nodes is not None:
        assert shape(nodes) == reference(text), text
        # PyYAML's own parser refuses some text libyaml takes (a tab inside plain text);
        # where it reads the text, it reads the same.
        precise = reference(text, yaml.SafeLoader)
        assert precise == shape(nodes) or isinstance(precise, type), text


# Characters and fragments YAML treats specially, in any order: line breaks of every
# kind (YAML 1.1's too), byte-order marks, control and private-use characters, tags,
# anchors, indicators, escapes, document markers.
SOUP = st.sampled_from(
    [
        "a", "b", " ", "\r", "\n", "\r\n", "\t", ":", "-", "'", '"', "#", "\x0b", "\x1f",
        "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "é", "😀", "\\", "|", ">", "[", "]",
        "{", "}", ",", "?", "x: ", "- ", "  ", "---", "...\n", "\ue000", "\ufffe", "*a",
        "@", "`", "!", "&", "%", "0", "1.5", "no", "\\n", "\\x", "''", '""', "y: |",
        "z: >-", "\n  ", "}!", "]&", "\ufeff!", '"!', "'&", ".!", "-!", "?&", ")!",
    ]
)  # fmt: skip


@settings(max_examples=4000, derandomize=True, deadline=None)
@given(st.lists(SOUP, min_size=1, max_size=30).map("".join))
def test_on_any_text_the_plain_reader_reads_what_libyaml_reads_or_declines(text: str) -> None:
    nodes = source._plain_nodes(text)
    if nodes is not None:
        assert shape(nodes) == reference(text), text


@pytest.mark.parametrize(
    "text",
    [
        "\ufeff\ufeff- \u00e9\t\n",  # a second byte-order mark: libyaml skips it too
        "! \u00e9\n",  # the non-specific tag
        "- !  x\n",
        "!\u2028x\n",
        "- a\n\ufeff!t x\n",  # libyaml skips a byte-order mark at a line start
    ],
)
def test_cases_the_soup_found(text: str) -> None:
    nodes = source._plain_nodes(text)
    assert nodes is None or shape(nodes) == reference(text)


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(yaml_text())
def test_a_file_reads_the_same_with_or_without_ryaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    folder = tmp_path / "same"
    write_notes(folder, {"mlops.yaml": text})
    with_ryaml = load(folder, cache=False, records=True)
    monkeypatch.setattr(source, "_plain_loads", None)
    without = load(folder, cache=False, records=True)
    monkeypatch.undo()
    assert with_ryaml == without


@needs_ryaml
def test_positions_not_kept_are_found_again(tmp_path: Path) -> None:
    notes = generate(300, tmp_path / "notes")
    path = next(notes.glob("d*.yaml"))
    domain = load(notes).deck.domains[0]  # type: ignore[union-attr]
    fast = check_file(path, domain, None)
    parsed, _ = source.read(path, str(path), precise=True)
    assert parsed is not None and isinstance(parsed.root, yaml.SequenceNode)
    exact = [
        (value.value, (value.start_mark.line + 1, value.start_mark.column + 1))
        for item in parsed.root.value
        for key, value in item.value
        if key.value == "id"
    ]

    assert [position for _, position in fast.ids] == [None] * len(exact)
    found = [id_position(str(path), note_id) for note_id, _ in fast.ids]
    assert [(p.line, p.col) for p in found] == [position for _, position in exact]


def test_an_id_used_twice_in_one_good_file_is_reported_where_each_use_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_notes(
        tmp_path / "notes",
        {
            "mlops.yaml": (
                "- id: twice\n  fact: '{{c1::one}}'\n"
                "- id: other\n  fact: '{{c1::two}}'\n"
                "-   id: twice\n    fact: '{{c1::three}}'\n"
            )
        },
    )

    result = CliRunner().invoke(main, ["check", "notes"])

    assert result.exit_code == 1
    assert result.stderr == (
        "notes/mlops.yaml:5:9: error: duplicate id 'twice': already used at"
        " notes/mlops.yaml:1:7 [duplicate-id]\n"
        "notes: 1 error; nothing written\n"
    )
