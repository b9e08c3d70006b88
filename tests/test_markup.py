"""Note text is data: Markdown's small subset becomes HTML, everything else is shown as text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deckgen.markup import _markdown, parse_clozes, to_html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("plain text", "plain text"),
        ("**bold** and *emphasis*", "<strong>bold</strong> and <em>emphasis</em>"),
        ("`mlflow.pyfunc.spark_udf()`", "<code>mlflow.pyfunc.spark_udf()</code>"),
        ("first line\nsecond line", "first line<br>\nsecond line"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"),
        ("one\n\ntwo", "<p>one</p>\n<p>two</p>"),
        ("timestamp_lookup_key", "timestamp_lookup_key"),
        ("{{c1::`VectorAssembler`}}", "{{c1::<code>VectorAssembler</code>}}"),
    ],
)
def test_markdown_subset(text: str, html: str) -> None:
    assert to_html(text) == html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("`<b>` in code", "<code>&lt;b&gt;</code> in code"),
        ("[click](javascript:alert(1))", "[click](javascript:alert(1))"),
        ("<https://example.com>", "&lt;https://example.com&gt;"),
        ("![x](https://example.com/x.png)", "![x](https://example.com/x.png)"),
        ("a &amp; b", "a &amp;amp; b"),
        ('say "hi"', "say &quot;hi&quot;"),
    ],
)
def test_raw_html_links_and_entities_come_out_as_text(text: str, html: str) -> None:
    assert to_html(text) == html


def test_cloze_numbers_are_the_cards_a_fact_makes() -> None:
    clozes = parse_clozes("{{c1::a}} {{c3::b::a hint}} {{c1::c}}")
    assert clozes.numbers == {1, 3}
    assert clozes.problems == ()


@pytest.mark.parametrize(
    ("text", "offset", "code"),
    [
        ("x {{c1::open", 2, "cloze-unclosed"),
        ("x }} y", 2, "cloze-syntax"),
        ("{{c1:one colon}}", 0, "cloze-syntax"),
        ("{{ c1::space}}", 0, "cloze-syntax"),
        ("ok {{c0::zero}}", 3, "cloze-number"),
        ("{{c1::}}", 0, "cloze-empty"),
        ("{{c1::::only a hint}}", 0, "cloze-empty"),
        ("{{c1::a {{c2::b}}}}", 8, "cloze-nested"),
    ],
)
def test_malformed_cloze_is_found_where_it_starts(text: str, offset: int, code: str) -> None:
    [problem] = parse_clozes(text).problems
    assert (problem.offset, problem.code) == (offset, code)


def parsed(text: str) -> str:
    """What the Markdown parser itself makes of a note's text."""
    markdown = _markdown()
    tokens = markdown.parse(text.strip())
    if len(tokens) == 3 and tokens[0].type == "paragraph_open":
        tokens = tokens[1].children or []
    return markdown.renderer.render(tokens, markdown.options, {}).strip() if tokens else ""


# Characters that matter to Markdown, or to the fast path's decision, and some that don't.
ANY_TEXT = st.lists(
    st.sampled_from([*"ab1 .-+)*_`\\<>&\"'[](){}!#~\n\t\r\u00a0\u3000", "é", "12."]),
    max_size=12,
).map("".join)
CODE_SPANS = st.lists(
    st.sampled_from(["`", "``", " ", "a", "<&", '"', "\u00a0", "{{c1::", "}}", "*", "_", "é"]),
    max_size=14,
).map("".join)
EMPHASIS = st.lists(
    st.sampled_from(["*", "**", "_", " ", "a", "B", "1", ".", "(", ")", "`", "é", "-", "&"]),
    max_size=12,
).map("".join)


@settings(max_examples=1500, derandomize=True)
@given(st.one_of(ANY_TEXT, CODE_SPANS, EMPHASIS))
def test_plain_text_and_code_spans_skip_the_parser_with_the_same_result(text: str) -> None:
    """The fast path for plain text and code spans gives what the parser would have."""
    assert to_html(text) == parsed(text)
