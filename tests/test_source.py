"""The one YAML reader: PyYAML's own composer's nodes, with positions, on any document."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import write_notes
from hypothesis import given, settings
from hypothesis import strategies as st

from deckgen import source
from deckgen.load import load


def ours(node: source.Node | None) -> object:
    """A node tree as comparable values: types, text, positions, order of keys and items."""
    if isinstance(node, source.Scalar):
        return ("scalar", node.tag, node.value, tuple(node.position), node.style)
    if isinstance(node, source.Sequence):
        return ("list", tuple(node.position), [ours(item) for item in node.items])
    if isinstance(node, source.Mapping):
        pairs = [(ours(k), ours(v)) for k, v in node.entries]
        return ("map", tuple(node.position), pairs)
    return node


def pyyaml(node: yaml.Node | None) -> object:
    """The same of PyYAML's own `compose`, its 0-based marks made 1-based."""
    if node is None:
        return None
    where = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.value, where, node.style or None)
    if isinstance(node, yaml.SequenceNode):
        return ("list", where, [pyyaml(item) for item in node.value])
    pairs = [(pyyaml(k), pyyaml(v)) for k, v in node.value]
    return ("map", where, pairs)


def values(shape: object) -> object:
    """A shape without its positions."""
    if isinstance(shape, tuple) and shape and shape[0] == "scalar":
        return shape[:3]
    if isinstance(shape, tuple) and shape and shape[0] in ("list", "map"):
        return (shape[0], values(shape[2]))
    if isinstance(shape, list | tuple):
        return [values(item) for item in shape]
    return shape


def composed(text: str) -> object:
    """What deckgen reads, or that it refuses the text."""
    try:
        return ours(source._compose(text))
    except (yaml.YAMLError, source._Refused):
        return "refused"


def reference(text: str, loader: type = yaml.CSafeLoader) -> object:
    """What PyYAML composes; a loop that an alias inside its own anchor makes counts as
    refused: deckgen refuses it."""
    try:
        return pyyaml(yaml.compose(text, Loader=loader))
    except (yaml.YAMLError, RecursionError):
        return "refused"


# Plain, quoted and block text, YAML 1.1's other types (`no`, `1.10`, dates, `~`), tags,
# anchors with aliases to them, flow and block collections, comments, directives and
# document markers, odd characters and line breaks.
WORDS = st.sampled_from(
    [
        "ok", "no", "yes", "On", "1.10", "0123", "0x1F", "1_000", "~", "null", "2025-09-01",
        "2001-12-14 21:59:43.10 -5", "-.inf", ".NaN", "<<", "=", "R&D", "Wow!", "a # b",
        "{{c1::x}}", "é", "😀", "x\ty", "100%", "`x`", "a, b", "3", "-1", ".5", "'", "\\",
    ]
)  # fmt: skip
KEYS = st.sampled_from(["id", "fact", "tags", "no", "1", "<<", "a b", "? k", "'q'"])
PROPERTIES = st.sampled_from(["", "", "", "!!str ", "!!int ", "!x ", "! ", "&a ", "&b "])


@st.composite
def scalar(draw: st.DrawFn, indent: str) -> str:
    words = " ".join(draw(st.lists(WORDS, min_size=1, max_size=3)))
    style = draw(st.sampled_from(["plain", "single", "double", "literal", "folded"]))
    prefix = draw(PROPERTIES)
    if style == "single":
        return prefix + "'" + words.replace("'", "''") + "'"
    if style == "double":
        escaped = words.replace("\\", "\\\\").replace('"', '\\"')
        return prefix + '"' + escaped + draw(st.sampled_from(["", "\\n", "\\u00e9", "\\t"])) + '"'
    if style in ("literal", "folded"):
        head = ("|" if style == "literal" else ">") + draw(st.sampled_from(["", "-", "+"]))
        lines = draw(st.lists(WORDS, min_size=1, max_size=3))
        return prefix + head + "".join(f"\n{indent}  {line}" for line in lines)
    return prefix + words


@st.composite
def value(draw: st.DrawFn, indent: str, depth: int) -> str:
    kind = draw(st.sampled_from(["scalar", "scalar", "alias", "flow", "block"][: 5 - depth]))
    if kind == "alias":
        return draw(st.sampled_from(["*a", "*b", "*c"]))
    if kind == "flow":
        items = draw(st.lists(WORDS, max_size=3))
        if draw(st.booleans()):
            return draw(PROPERTIES) + "[" + ", ".join(items) + "]"
        return "{" + ", ".join(f"k{n}: {item}" for n, item in enumerate(items)) + "}"
    if kind == "block":
        return draw(st.sampled_from(["&c", ""])) + "\n" + draw(block(indent + "  ", depth + 1))
    return draw(scalar(indent))


@st.composite
def block(draw: st.DrawFn, indent: str, depth: int) -> str:
    lines = []
    as_list = draw(st.booleans())
    for _ in range(draw(st.integers(1, 3))):
        key = draw(KEYS)
        lead = f"{indent}- " if as_list else indent
        lines.append(f"{lead}{key}: {draw(value(indent + '  ', depth))}")
        if draw(st.integers(0, 5)) == 0:
            lines.append(f"{indent}# a comment")
    return "\n".join(lines)


@st.composite
def document(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(["", "", "---\n", "%YAML 1.1\n---\n", "\ufeff", "# top\n"]))
    tail = draw(st.sampled_from(["", "\n", "\r\n", "\n...\n", "\n---\n- x\n"]))
    return head + draw(block("", 0)) + tail


@settings(max_examples=3000, derandomize=True, deadline=None)
@given(document())
def test_the_reader_makes_pyyamls_nodes_with_pyyamls_positions(text: str) -> None:
    expected = reference(text)
    assert composed(text) == expected, text
    # PyYAML's own parser (where there is no libyaml) reads the same values wherever it
    # reads the text at all; the two place some empty values differently.
    slow = reference(text, yaml.SafeLoader)
    assert slow == "refused" or values(slow) == values(expected), text


SOUP = st.sampled_from(
    [
        "a", " ", "\r", "\n", "\r\n", "\t", ":", "-", "'", '"', "#", "\x85", "\u2028",
        "\ufeff", "é", "\\", "|", ">", "[", "]", "{", "}", ",", "?", "x: ", "- ", "  ",
        "---", "...\n", "*a", "&a", "!", "!!str", "%", "0", "no", "y: |", "\n  ",
    ]
)  # fmt: skip


@settings(max_examples=4000, derandomize=True, deadline=None)
@given(st.lists(SOUP, min_size=1, max_size=40).map("".join))
def test_on_any_text_the_reader_agrees_with_pyyaml_or_refuses(text: str) -> None:
    got = composed(text)
    assert got == "refused" or got == reference(text), text


def read(tmp_path: Path, text: str) -> list[str]:
    """What `deckgen check` says of a notes file holding the text."""
    folder = write_notes(tmp_path / "notes", {"mlops.yaml": text})
    return [str(p).replace(f"{folder}/", "") for p in load(folder).problems]


def test_anchors_aliases_and_tags_are_read_as_the_readme_says(tmp_path: Path) -> None:
    text = (
        "- id: a\n  fact: '{{c1::x}}'\n  tags: &shared [topic::a]\n"
        "- id: b\n  fact: !!str '{{c1::y}}'\n  tags: *shared\n"
        "- id: c\n  <<: {fact: '{{c1::z}}'}\n"
        "- id: d\n  fact: !custom '{{c1::w}}'\n"
    )
    assert read(tmp_path, text) == [
        "mlops.yaml:7:3: error: a note needs exactly one kind key: fact, trap, pair, scenario"
        " [no-kind]",
        "mlops.yaml:8:3: error: merge keys ('<<') are not supported: write the keys out"
        " [wrong-type]",
        "mlops.yaml:10:9: error: 'fact' must be text, but YAML reads '!custom' as a tag on it:"
        " remove the tag [wrong-type]",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- &a x\n- &a y\n",
            "mlops.yaml:2:3: error: invalid YAML: the anchor '&a' is defined twice (first at"
            " line 1, column 3): give each anchor its own name [yaml-syntax]",
        ),
        (
            "- *nowhere\n",
            "mlops.yaml:1:3: error: invalid YAML: the alias '*nowhere' names no anchor before"
            " it [yaml-syntax]",
        ),
        (
            "- &loop [a, *loop]\n",
            "mlops.yaml:1:13: error: the alias '*loop' is inside the node it names, which"
            " would never end [alias-cycle]",
        ),
        (
            "%YAML 1.1\n---\n- id: a\n  fact: '{{c1::x}}'\n---\n- id: b\n",
            "mlops.yaml:5:1: error: invalid YAML: a second YAML document starts here: a notes"
            " file holds one, so remove the '---' [yaml-syntax]",
        ),
    ],
)
def test_what_yaml_allows_and_a_notes_file_does_not(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert read(tmp_path, text) == [expected]


def test_ampersands_in_thousands_of_notes_that_share_a_tag_are_text(tmp_path: Path) -> None:
    # Read once by a reader that shared nodes, this crashed the alias check.
    notes = "".join(
        f"- id: n{i}\n  fact: R&D {{{{c1::x{i}}}}}\n  tags: [rd]\n" for i in range(2600)
    )
    folder = write_notes(tmp_path / "notes", {"mlops.yaml": notes})
    loaded = load(folder)
    assert loaded.problems == [] and loaded.deck is not None and loaded.deck.size == 2600


def test_many_notes_may_share_a_list_of_tags_by_an_alias(tmp_path: Path) -> None:
    head = "- id: n0\n  fact: '{{c1::x}}'\n  tags: &t [a, b, c, d, e]\n"
    rest = "".join(f"- id: n{i}\n  fact: '{{{{c1::x}}}}'\n  tags: *t\n" for i in range(1, 5000))
    folder = write_notes(tmp_path / "notes", {"mlops.yaml": head + rest})
    assert load(folder).problems == []


_MEANT = st.text(
    st.sampled_from(list("abc XYZ:!&*[]{}@`%|>\"'#,-?é")), min_size=1, max_size=30
).filter(lambda t: t.strip() == t and t.strip())


@settings(max_examples=1_500, derandomize=True)
@given(_MEANT, st.sampled_from(["  reality: {}\n", "  reality: first words\n    {}\n"]))
def test_text_that_needed_quotes_is_shown_quoted_and_the_quoted_text_reads_as_meant(
    meant: str, layout: str
) -> None:
    """Wherever the reader says to quote a value, the value it shows quoted reads back as
    the text that was written, whole."""
    line = layout.format(meant)
    text = "- id: a\n  trap: t\n" + line
    _, problems = source.parse(text, "x.yaml")
    advice = [p for p in problems if "must be in quotes" in p.message]
    if not advice:
        return
    [problem] = advice
    written = problem.message.split(": write reality: ", 1)[1]
    fixed, again = source.parse("- id: a\n  trap: t\n  reality: " + written + "\n", "x.yaml")
    assert fixed is not None and not again, (text, written)
    value = dict((k.value, v) for k, v in fixed.root.items[0].entries)["reality"]
    plain = meant if layout.count("\n") == 1 else f"first words {meant}"  # lines folded
    expected = plain.split(" #")[0]  # where YAML reads a comment, so does the advice
    assert value.value == expected
    assert problem.position.line == 3 and problem.position.col == 12
