"""The way back: Anki's HTML -> note text -> the HTML deckgen builds. The law: after a
pull and a build, each field renders to what Anki holds, up to the normalisation pull
makes (Anki's <b>/<i>/<div> as Markdown, entities as characters, the rest as its text)."""

from __future__ import annotations

import html

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from deckgen.markup import to_html
from deckgen.source import _compose
from deckgen.unmarkup import to_markdown
from deckgen.yamledit import Edits, SourceFile

# Text as people type it, with every character Markdown or HTML could read.
WORDS = st.text(
    alphabet=st.sampled_from(list("ab xy_*`\\&<>\"'{}:1.-+#|[]()é\u00a0")), min_size=1, max_size=12
)


@st.composite
def anki_html(draw: st.DrawFn, depth: int = 0) -> str:
    """HTML as Anki's editor (or a paste) writes it."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(
                [
                    "text",
                    "text",
                    "b",
                    "i",
                    "code",
                    "br",
                    "div",
                    "span",
                    "ul",
                    "cloze",
                    "nbsp",
                    "formula",
                ]
            )
        )
        text = html.escape(draw(WORDS), quote=False)
        if kind == "text" or depth > 2:
            parts.append(text)
        elif kind in ("b", "i", "code"):
            inner = draw(anki_html(depth + 1)) if kind != "code" else text
            parts.append(f"<{kind}>{inner}</{kind}>")
        elif kind == "br":
            parts.append("<br>")
        elif kind == "div":
            parts.append(f"<div>{draw(anki_html(depth + 1))}</div>")
        elif kind == "span":
            parts.append(f'<span style="color: red">{text}</span>')
        elif kind == "ul":
            items = "".join(f"<li>{html.escape(draw(WORDS))}</li>" for _ in range(2))
            parts.append(f"<ul>{items}</ul>")
        elif kind == "cloze":
            parts.append("{{c1::" + text + "}}")
        elif kind == "formula":
            parts.append(draw(st.sampled_from(["\\(", "\\["])) + text + " \\) \\]")
        else:
            parts.append("&nbsp;")
    return "".join(parts)


def _words(rendered: str) -> str:
    """What a reader sees, as words: tags gone, entities decoded."""
    import re

    inline = re.sub(r"</?(?:strong|em|code|b|i|span[^>]*)>", "", rendered)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(anki_html())
def test_pulled_text_renders_to_what_anki_holds(field: str) -> None:
    text = to_markdown(field).text
    built = to_html(text)
    # The same words, in the same order, as Anki shows.
    assert _words(built) == _words(field)
    # Pulled again once built, it shows the same, and from then on it is a fixed point
    # (a bold inside a bold, say, is one bold once pulled).
    again = to_html(to_markdown(built).text)
    assert _words(again) == _words(built)
    assert to_html(to_markdown(again).text) == again


# (A no-break space comes back as a space: Anki's editor writes one for every second space.)
TYPED = WORDS.map(lambda w: w.replace("\u00a0", " "))
MARKDOWN = st.lists(
    st.one_of(
        TYPED,
        TYPED.map(lambda w: f"**{w.strip() or 'x'}**"),
        TYPED.map(lambda w: f"*{w.strip() or 'x'}*"),
        TYPED.map(lambda w: f"`{w.replace('`', '') or 'x'}`"),
        st.just("\n"),
        TYPED.map(lambda w: "\n- " + (w.strip() or "x")),
        st.just("{{c1::term}}"),
        TYPED.map(lambda w: f"\\( {w} \\)"),
    ),
    min_size=1,
    max_size=10,
).map("".join)


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(MARKDOWN)
def test_a_field_deckgen_built_comes_back_as_it_renders(text: str) -> None:
    built = to_html(text)
    again = to_html(to_markdown(built).text)
    assert _words(again) == _words(built)
    # Exactly, once what shows alike is written alike (spaces in a row as one, an
    # emphasis inside an emphasis as one).
    assert to_html(to_markdown(again).text) == again


def test_what_cannot_come_back_is_named() -> None:
    pulled = to_markdown('<span style="color:red">red</span> <script>alert(1)</script>ok')
    assert pulled.text == "red ok"
    assert pulled.reduced == (
        "<span style>: its style left out",
        "<script> left out, with all it holds",
    )
    assert to_markdown("a <b>bold </b>x &amp; <i>it</i>").text == "a **bold** x & *it*"
    assert to_markdown("- not a list").text == "\\- not a list"
    assert to_markdown("<ol start=3><li>x</li></ol>").text == "3. x"
    # What a dropped tag holds goes with it, even a tag left open inside it.
    assert to_markdown("<template><p>x</template>after").text == "after"
    # A format left open is closed where the field ends.
    assert to_markdown("a <b>open").text == "a **open**"
    # After a list inside an item, the item goes on, at its indent (Markdown reads the
    # line as going on with the inner item: the words are the same).
    nested = "<ul><li>a<ul><li>b</li></ul>more</li><li>c</li></ul>"
    assert to_markdown(nested).text == "- a\n  - b\n  more\n- c"


VALUES = st.text(
    alphabet=st.sampled_from(list("ab :#'\"\\-?|>{}[],&*!%@`\n\té\u2028\x85")), max_size=30
).map(str.strip)
STYLES = [
    "plain",
    "'quoted'",
    '"double"',
    ">-\n    folded",
    ">-\n    folded over\n    two lines",
    ">\n      folded deeper",
    "|-\n    literal",
]


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(st.sampled_from(STYLES), VALUES.filter(bool), st.booleans())
def test_a_value_written_back_reads_as_itself_and_nothing_else_moves(
    style: str, value: str, commented: bool
) -> None:
    comment = "  # keep" if commented and not style.startswith((">", "|")) else ""
    text = f"# head\n- id: a\n  fact: {style}{comment}\n  tags: [x]\n\n- id: b\n  fact: other\n"
    source = SourceFile("f.yaml", text, _compose(text))
    editor = Edits(source)
    editor.set_value(source.root.items[0], "fact", value)  # type: ignore[union-attr]
    written = editor.result()
    notes = yaml.safe_load(written)
    assert notes[0]["fact"].rstrip("\n") == value
    assert notes[0]["tags"] == ["x"] and notes[1] == {"id": "b", "fact": "other"}
    assert written.startswith("# head\n- id: a\n  fact: ")
    assert written.endswith("  tags: [x]\n\n- id: b\n  fact: other\n")
    assert comment in written


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(VALUES.filter(bool), VALUES.filter(bool), st.sampled_from(["plain", "'q'", '"d"']))
def test_values_in_brackets_new_keys_and_new_notes_read_as_themselves(
    name: str, extra: str, style: str
) -> None:
    text = f"- id: a\n  pair:\n    - {{name: {style}, means: m}}\n    - {{name: b, means: n}}\n"
    source = SourceFile("f.yaml", text, _compose(text))
    editor = Edits(source)
    note = source.root.items[0]  # type: ignore[union-attr]
    pair = note.entries[1][1]
    editor.set_value(pair.items[0], "name", name)
    editor.set_value(note, "extra", extra)
    editor.set_list(note, "tags", [name.replace(" ", "-") or "x", "topic::drift"])
    editor.append_note([("id", "c"), ("guid", name), ("fact", extra), ("tags", [name])])
    written = editor.result()
    for read in (yaml.safe_load(written), yaml.load(written, Loader=yaml.CSafeLoader)):
        assert read[0]["pair"] == [{"name": name, "means": "m"}, {"name": "b", "means": "n"}]
        assert read[0]["extra"] == extra
        assert read[0]["tags"] == [name.replace(" ", "-") or "x", "topic::drift"]
        assert read[1] == {"id": "c", "guid": name, "fact": extra, "tags": [name]}


NAMES = st.sampled_from(["a.png", "b c.png", "x.mp3", "sun.3f2a9c1e.png", "ü.png", "a.pn"])


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(
    st.lists(
        st.one_of(
            NAMES.map(lambda n: f'<img src="{n}">'),
            NAMES.map(lambda n: f"[sound:{n}]"),
            NAMES.map(lambda n: f'<a data-src="{n}" title="{n}">'),
            st.sampled_from(["src=", '"', "[sound:", "]", " ", "text", "\n"]),
        ),
        max_size=12,
    ).map("".join),
    # (paths, as a deck's are: a name in the package never holds a `/`)
    st.dictionaries(NAMES, st.sampled_from(["media/a.png", "p/b c.png", "m/x.mp3", "../z.png"])),
)
def test_media_named_in_one_pass_as_by_each_name_in_turn(html: str, names: dict[str, str]) -> None:
    """Pictures and sounds given their paths in one pass, as replacing each name in turn
    did (a pass over the field for each file of the deck: with 5,000 pictures, init
    --from took 39 s)."""
    from deckgen.fromanki import media_named

    expected = html
    for name, new in names.items():
        expected = expected.replace(f'src="{name}"', f'src="{new}"')
        expected = expected.replace(f"[sound:{name}]", f"[sound:{new}]")
    assert media_named(html, names) == expected


# Fields of plain words, and of what is nearly plain: every character that decides whether
# a field is plain words, spaces of every kind, list-like starts, cloze and sound syntax.
NEARLY_PLAIN = st.lists(
    st.sampled_from(
        [
            *"ab Zé9.-+)#>\"'!:{}[]()|=\u00a0\u2003\x85\u2028\x1c",
            *["{{c1::", "[sound:a.mp3]", "1.", "- ", "![", "<", "&", "\\", "`", "*", "_", "~"],
            *["\n", "\r", "\t", "\f", "\v", "\0", "&amp;", "<b>", "&lt;"],
        ]
    ),
    max_size=30,
).map("".join)
PLAIN = st.text(alphabet=st.sampled_from(list("ab Zé9.-+)#>\"'!:{}[]()|=\u00a0\u2003\x85\u2028")))


@settings(max_examples=3000, derandomize=True, deadline=None)
@given(st.one_of(PLAIN, NEARLY_PLAIN), st.booleans())
def test_plain_words_come_back_as_the_whole_converter_brings_them(
    field: str, pictures: bool
) -> None:
    """The shortcut for a field of plain words gives what the whole converter gives."""
    from deckgen.unmarkup import _converted

    shown = {"a.png": "media/a.png"} if pictures else None
    assert to_markdown(field, shown) == _converted(field, shown)


# Fields of words and a few formats: every tag the shortcut takes (and some with
# attributes, nested, empty or unclosed), with spaces just inside them or doubled, and
# every character Markdown reads, or the reader changes, in the words and formats.
FORMAT_WORDS = st.lists(
    st.sampled_from(
        [*"ab Zé9.,-+)(#>!:[]{}|=\u00a0\u2003\t\n\0*_`~\\&<", "  ", "{{c1::", "}}", "1.", "- "]
    ),
    max_size=6,
).map("".join)
FORMAT_TAGS = st.sampled_from(["code", "em", "strong", "b", "i"])


@st.composite
def formatted(draw: st.DrawFn) -> str:
    """Words with formats, most of them as the shortcut takes them."""
    parts = [draw(FORMAT_WORDS)]
    for _ in range(draw(st.integers(0, 4))):
        tag = draw(FORMAT_TAGS)
        shape = draw(st.sampled_from(["plain"] * 6 + ["nested", "attribute", "unclosed", "other"]))
        inner = draw(FORMAT_WORDS)
        if shape == "nested":
            inner = f"<{draw(FORMAT_TAGS)}>{inner}</{draw(FORMAT_TAGS)}>"
        opening = f'<{tag} class="x">' if shape == "attribute" else f"<{tag}>"
        closed = draw(FORMAT_TAGS) if shape == "other" else tag
        closing = "" if shape == "unclosed" else f"</{closed}>"
        parts += [opening, inner, closing, draw(FORMAT_WORDS)]
    return "".join(parts)


# Nearly all plain: the words the shortcut takes, most of them.
PLAIN_FORMAT_WORDS = st.text(alphabet=st.sampled_from([*"abZé9.,-+)(#!:[]{}|=", " "]), max_size=8)


@st.composite
def plainly_formatted(draw: st.DrawFn) -> str:
    parts = [draw(PLAIN_FORMAT_WORDS)]
    for _ in range(draw(st.integers(1, 4))):
        tag = draw(FORMAT_TAGS)
        parts += [f"<{tag}>", draw(PLAIN_FORMAT_WORDS.filter(bool)), f"</{tag}>"]
        parts.append(draw(PLAIN_FORMAT_WORDS))
    return "".join(parts)


# What the shortcut must see and leave to the whole converter (or take, rightly).
SPOILERS = [
    *["&amp;", "&lt;", "&copy;", "&", "<", ">", "\\", "\\.", "\\[", "`", "*", "_", "~"],
    *["\0", "  ", "\t", "\n", "\u00a0", "\u2003", " ", "- ", "1. ", "# ", "[a](b)", "\\(x\\)"],
    # (what sends Markdown to its parser, which reads entities, and with one)
    *["![a](b)", "![a](b)&amp;", "~~~", "```", "\x7f", "\u2028"],
]


@st.composite
def nearly_plainly_formatted(draw: st.DrawFn) -> str:
    """A field the shortcut would take, but for one or two things, anywhere in it."""
    field = draw(plainly_formatted())
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(field)))
        if field[:at].count("<") > field[:at].count(">"):
            continue  # (not inside a tag)
        field = field[:at] + draw(st.sampled_from(SPOILERS)) + field[at:]
    return field


@settings(max_examples=6000, derandomize=True, deadline=None)
@given(st.one_of(formatted(), plainly_formatted(), nearly_plainly_formatted()), st.booleans())
def test_words_with_a_few_formats_come_back_as_the_whole_converter_brings_them(
    field: str, pictures: bool
) -> None:
    """The shortcut for words with bold, emphasis and code gives what the whole converter
    (the HTML parser, the reader, and the render check) gives."""
    from deckgen.unmarkup import _converted

    shown = {"a.png": "media/a.png"} if pictures else None
    assert to_markdown(field, shown) == _converted(field, shown)


def test_the_shortcut_for_a_few_formats_takes_the_fields_it_is_for() -> None:
    """Fields as a build writes them take the shortcut (the test above holds it to the
    whole converter on them): emphasis and code among words, clozes around code."""
    from deckgen.unmarkup import _converted, _inline_formats

    for field in [
        "Drift champion catalog, <em>retrain</em>.",
        "Search refresh {{c1::<code>trial</code>}} serving {{c2::refresh}} group",
        "<b>Bold</b> then <i>it</i> and <strong>strong</strong>: <code>a*b_c\\d</code>",
        "1. <em>not</em> a list",
    ]:
        assert _inline_formats(field) == _converted(field, None), field
    for field in ["a  <em>b</em>", "<em> b</em>", "<em>a<code>b</code></em>", "a<br>b"]:
        assert _inline_formats(field) is None, field


def test_a_declaration_pythons_parser_cannot_read_is_read_as_a_browser_reads_it() -> None:
    """`<![` not followed by what Python's HTML parser expects made it raise (a traceback
    from pull and init --from): as a browser does, it is a comment up to the next `>`
    (said), or, with none after it, text."""
    assert to_markdown("a <![ b > c") == ("a c", "a c", ("a malformed <![ ...> left out",))
    assert to_markdown("a <![%x b") == ("a <![%x b", "a &lt;![%x b", ())
    assert to_markdown("<![if !supportLists]>x<![endif]>").text == "x"  # (Word's, as ever)


@settings(max_examples=2000, derandomize=True, deadline=None)
@given(st.one_of(PLAIN, NEARLY_PLAIN.map(lambda t: t.replace("<", "").replace("&", ""))))
def test_text_without_a_tag_or_entity_is_read_as_the_parser_reads_it(text: str) -> None:
    """Text with no `<` and no `&` is given to the reader as one piece, not through the
    parser: the lines read are the parser's."""
    from deckgen.unmarkup import _Reader

    parsed = _Reader({})
    parsed.feed(text)
    parsed.close()
    given_ = _Reader({})
    given_.handle_data(text)
    assert given_.finish() == parsed.finish()
