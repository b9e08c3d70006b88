"""Fenced code in notes: highlighted at build time, clozes inside it whole, colours in the
card's CSS (light and night), warnings for what will not show as meant, and code edited
in Anki back as a fenced block (through real Anki)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from anki.collection import Collection
from click.testing import CliRunner
from conftest import build, import_package, visible, write_notes
from hypothesis import given
from hypothesis import strategies as st
from test_pull import _export, _note, _pull, _snapshot

from deckgen import highlight
from deckgen.cli import main
from deckgen.markup import to_html
from deckgen.notetypes import css
from deckgen.unmarkup import to_markdown

FACT = """\
- id: group-rows
  fact: |
    Sum per group:

    ```python
    df.{{c1::groupBy}}("team").agg(F.sum("points"))  # one row per team
    ```
"""
T0 = 1_700_000_000.0


def _spans_removed(rendered: str) -> str:
    return re.sub(r'<span class="[\w-]+">|</span>', "", rendered)


def test_the_card_stylesheet_ends_with_the_code_colours_pygments_makes() -> None:
    """style.css holds them (Pygments is not loaded to build a deck without code): made
    again here, so that a Pygments upgrade or a style change cannot leave them stale."""
    assert css().endswith("\n\n" + highlight.stylesheet()), (
        "run: python -c 'from deckgen import highlight; print(highlight.stylesheet())'"
        " and put its output at the end of src/deckgen/templates/style.css"
    )
    night = ", ".join(f"{selector} .code .k" for selector in highlight.NIGHT_SELECTORS)
    assert f"\n{night} {{ color: " in css()  # keywords, coloured at night too
    assert "\n.code .k { color: " in css()


def test_a_block_of_code_is_highlighted_and_its_cloze_kept_whole() -> None:
    rendered = to_html(FACT.split("|\n", 1)[1].replace("\n    ", "\n").strip())
    assert rendered.startswith('<p>Sum per group:</p>\n<pre class="code">')
    assert '<code class="language-python">' in rendered
    assert (
        '<span class="n">df</span><span class="o">.</span>{{c1::<span class="n">groupBy</span>}}'
        in (rendered)
    )
    assert '<span class="c1"># one row per team</span>' in rendered
    assert "<script" not in rendered and "style=" not in rendered


def test_a_cloze_with_a_hint_in_code_keeps_its_hint() -> None:
    rendered = highlight.code_block("x = {{c2::len::a <built-in>}}(y)", "python")
    assert '{{c2::<span class="nb">len</span>::a &lt;built-in&gt;}}' in rendered


def test_an_unknown_language_is_shown_as_plain_escaped_code() -> None:
    rendered = highlight.code_block("a < b && {{c1::c}}\n", "no-such-language")
    assert rendered == (
        '<pre class="code"><code class="language-no-such-language">a &lt; b &amp;&amp;'
        " {{c1::c}}\n</code></pre>"
    )


def test_inline_code_stays_a_code_span() -> None:
    assert to_html("Use `df.groupBy()` here") == "Use <code>df.groupBy()</code> here"


@st.composite
def _code_with_clozes(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Code of pieces of text (with what HTML and code make much of) and clozes."""
    text = st.text(alphabet="ab (){}:=\"'<&>#\n\t1.", max_size=12).filter(
        lambda t: "{{" not in t and "}}" not in t and not t.endswith("}") and not t.startswith("{")
    )
    pieces, terms = [], []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            pieces.append(draw(text))
        else:
            term = draw(st.text(alphabet='ab1(.) "<', min_size=1, max_size=8))
            terms.append(term)
            pieces.append(f"{{{{c{len(terms)}::{term}}}}}")
    return "".join(pieces), terms


@given(_code_with_clozes(), st.sampled_from(["python", "sql", "bash", "javascript", "", "nope"]))
def test_highlighting_loses_nothing_and_never_cuts_a_cloze(
    case: tuple[str, list[str]], language: str
) -> None:
    code, _ = case
    rendered = highlight.code_block(code, language)
    inside = rendered.split(">", 2)[2].removesuffix("</code></pre>")
    # Every character of the code, in order: the spans only add colour.
    assert html.unescape(_spans_removed(inside)) == code
    # Each cloze's markup stands outside every span: Anki finds it whole.
    depth = 0
    for token in re.findall(r'<span class="[\w-]+">|</span>|\{\{c\d+::|\}\}', inside):
        if token.startswith("<span"):
            depth += 1
        elif token == "</span>":
            depth -= 1
        else:
            assert depth == 0, (code, rendered)


@given(_code_with_clozes(), st.sampled_from(["python", "sql", ""]))
def test_a_block_of_code_comes_back_from_its_html_as_written(
    case: tuple[str, list[str]], language: str
) -> None:
    """What pull reads back (unmarkup) from what a build wrote: the same fenced block."""
    code, _ = case
    code = code.strip("\n") or "x"
    if "```" in code or any(line.startswith((" " * 4, "\t")) for line in code.split("\n")):
        return  # (kept as written too, but Markdown would read such lines otherwise)
    text = f"Before:\n\n```{language}\n{code}\n```"
    converted = to_markdown(to_html(text))
    assert converted.reduced == ()
    assert to_html(converted.text) == to_html(text)


def test_a_code_cloze_hides_exactly_its_term_in_anki(
    tmp_path: Path, collection: Collection
) -> None:
    notes = write_notes(tmp_path / "notes", {"mlops.yaml": FACT})
    build(notes, tmp_path / "deck.apkg", T0)
    log = import_package(collection, tmp_path / "deck.apkg")
    assert len(log.new) == 1
    [card_id] = collection.find_cards("")
    card = collection.get_card(card_id)
    question, answer = card.question(), card.answer()
    assert 'df.[...]("team").agg(F.sum("points")) # one row per team' in visible(question)
    assert '<span class="n">df</span><span class="o">.</span><span class="cloze"' in question
    assert '<span class="s2">&quot;team&quot;</span>' in question
    assert re.search(r'<span class="cloze"[^>]*><span class="n">groupBy</span></span>', answer)
    assert '<span class="c1"># one row per team</span>' in answer
    model = collection.models.get(card.note().mid)
    assert model is not None and ".nightMode .code .k, .night_mode .code .k {" in model["css"]


def test_code_edited_in_anki_comes_back_as_a_fenced_block(tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", {"mlops.yaml": FACT})
    build(notes, tmp_path / "deck.apkg", T0)
    col = Collection(str(tmp_path / "anki.anki2"))
    try:
        import_package(col, tmp_path / "deck.apkg")
        note = _note(col, "group-rows")
        # In Anki's editor: a line added to the code, the comment reworded.
        note["Text"] = (
            note["Text"]
            .replace("one row per team", "a row for each team")
            .replace(
                '<code class="language-python">', '<code class="language-python">df = load()<br>'
            )
        )
        col.update_note(note)
        package = _export(col, tmp_path / "export.apkg", legacy=False)
    finally:
        col.close()
    code, _, err = _pull(str(package), str(notes))
    assert code == 0, err
    assert _snapshot(notes)["mlops.yaml"] == FACT.replace(
        "    df.{{c1::groupBy}}", "    df = load()\n    df.{{c1::groupBy}}"
    ).replace("one row per team", "a row for each team")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- id: a\n  trap: |\n    ```pyhton\n    x = 1\n    ```\n  reality: b\n",
            "mlops.yaml:3:8: warning: 'pyhton' is not a language deckgen highlights (did you"
            " mean 'python'?): the code is shown without colours [unknown-language]",
        ),
        (
            "- id: a\n  trap: >\n    ```python\n    x = 1\n    ```\n  reality: b\n",
            "mlops.yaml:2:9: warning: a block of code in folded text ('>'), which joins its"
            " lines: write the text with '|', which keeps them [code-folded]",
        ),
    ],
    ids=["misspelt language", "folded text"],
)
def test_code_that_will_not_show_as_meant_is_warned_of(
    tmp_path: Path, text: str, expected: str
) -> None:
    notes = write_notes(tmp_path / "notes", {"mlops.yaml": text})
    result = CliRunner().invoke(main, ["check", str(notes)])
    assert result.exit_code == 0
    assert result.stderr == f"{notes}/{expected}\n"


def test_a_declared_type_without_css_colours_code_too(
    tmp_path: Path, collection: Collection
) -> None:
    deck = (
        "name: Commands\nkey: commands\ndomains:\n  - {key: mlops, name: MLOps}\n"
        "note_types:\n  - name: Command\n    fields: [Task, Code]\n    templates:\n"
        '      - {name: Recall, front: "{{Task}}", back: "{{Code}}"}\n'
    )
    notes = write_notes(
        tmp_path / "notes",
        {
            "deck.yaml": deck,
            "mlops.yaml": "- id: list-runs\n  type: Command\n  Task: List the runs\n"
            "  Code: |\n    ```bash\n    mlflow runs list --experiment-id 1\n    ```\n",
        },
    )
    build(notes, tmp_path / "deck.apkg", T0)
    import_package(collection, tmp_path / "deck.apkg")
    [card_id] = collection.find_cards("")
    card = collection.get_card(card_id)
    assert '<pre class="code"><code class="language-bash">' in card.answer()
    model = collection.models.get(card.note().mid)
    assert model is not None
    assert model["css"].startswith(".card {\n    font-family: arial;")  # Anki's, then the code's
    assert model["css"].endswith(highlight.stylesheet())
