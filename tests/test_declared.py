"""Note types a deck declares: checked, built, imported by real Anki, edited in place."""

from __future__ import annotations

import hashlib
import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection, ExportAnkiPackageOptions
from click.testing import CliRunner
from conftest import build, import_package, visible

from deckgen.cli import main

T0 = 1_700_000_000.0
# A note type is updated on import only if it is newer than the collection's copy, whose
# time is when it was first imported: an edit is built after that, as it is in life.
LATER = time.time() + 3600

# Anki's stock note types, as Anki defines them (fields, templates), and the two.
NOTE_TYPES = """\
note_types:
  - name: Vocabulary
    fields: [Word, Meaning, Example]
    templates:
      - name: Recognise
        front: "{{Word}}"
        back: "{{FrontSide}}<hr id=answer>{{Meaning}}<br>{{Example}}"
      - name: Recall
        front: "{{Meaning}}"
        back: "{{FrontSide}}<hr id=answer>{{Word}}"
    css: ".card { font-family: serif; }"
  - name: Cloze with source
    cloze: true
    fields: [Text, Source]
    templates:
      - name: Cloze
        front: "{{cloze:Text}}"
        back: "{{cloze:Text}}<br>{{Source}}"
  - name: Basic
    fields: [Front, Back]
    templates:
      - name: Card 1
        front: "{{Front}}"
        back: "{{FrontSide}}\\n\\n<hr id=answer>\\n\\n{{Back}}"
  - name: Basic (and reversed card)
    fields: [Front, Back]
    templates:
      - name: Card 1
        front: "{{Front}}"
        back: "{{FrontSide}}\\n\\n<hr id=answer>\\n\\n{{Back}}"
      - name: Card 2
        front: "{{Back}}"
        back: "{{FrontSide}}\\n\\n<hr id=answer>\\n\\n{{Front}}"
  - name: Basic (type in the answer)
    fields: [Front, Back]
    templates:
      - name: Card 1
        front: "{{Front}}\\n\\n{{type:Back}}"
        back: "{{Front}}\\n\\n<hr id=answer>\\n\\n{{type:Back}}"
  - name: Rich
    html: true
    fields: [Front, Back]
    templates:
      - name: Card 1
        front: "{{Front}}"
        back: "{{FrontSide}}<hr id=answer>{{Back}}"
"""

DECK = f"""\
name: Languages
key: languages
domains:
  - {{key: words, name: Words}}
{NOTE_TYPES}"""

WORDS = """\
- id: ubiquitous
  type: Vocabulary
  Word: ubiquitous
  Meaning: present, appearing or found *everywhere*
  tags: [topic::adjectives]
- id: capital
  type: Cloze with source
  Text: "{{c1::Paris}} is the capital of {{c2::France}}"
  Source: an atlas
- id: hello
  type: Basic
  Front: hello
  Back: bonjour
- id: cat
  type: Basic (and reversed card)
  Front: cat
  Back: chat
- id: dog
  type: Basic (type in the answer)
  Front: dog
  Back: chien
- id: colour
  type: Rich
  Front: '<span style="color: red">rouge</span>'
  Back: '<table><tr><td>red</td><td>rouge</td></tr></table>'
- id: one-fact
  fact: "{{c1::Bonjour}} means hello"
"""


def _deck(folder: Path, deck: str = DECK, words: str = WORDS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deck.yaml").write_text(deck, encoding="utf-8")
    (folder / "words.yaml").write_text(words, encoding="utf-8")
    return folder


def _cards(col: Collection) -> dict[tuple[str, int], tuple[str, str, str]]:
    """Each card by (note type, template number): its deck, question and answer as seen."""
    cards = {}
    for card_id in col.find_cards(""):
        card = col.get_card(card_id)
        key = (card.note().note_type()["name"], card.ord)  # type: ignore[index]
        cards[key] = (col.decks.name(card.did), visible(card.question()), visible(card.answer()))
    return cards


def test_declared_types_are_built_and_render_in_anki(
    tmp_path: Path, collection: Collection
) -> None:
    notes = _deck(tmp_path / "notes")
    build(notes, tmp_path / "deck.apkg", T0)
    log = import_package(collection, tmp_path / "deck.apkg")
    assert (len(log.new), len(log.updated), len(log.conflicting)) == (7, 0, 0)
    cards = _cards(collection)
    assert cards == {
        ("Vocabulary", 0): (
            "Languages::Words",
            "ubiquitous",
            "ubiquitous present, appearing or found everywhere",
        ),
        ("Vocabulary", 1): (
            "Languages::Words",
            "present, appearing or found everywhere",
            "present, appearing or found everywhere ubiquitous",
        ),
        ("Cloze with source", 0): (
            "Languages::Words",
            "[...] is the capital of France",
            "Paris is the capital of France an atlas",
        ),
        ("Cloze with source", 1): (
            "Languages::Words",
            "Paris is the capital of [...]",
            "Paris is the capital of France an atlas",
        ),
        # Named like Anki's stock types, which a collection has with other ids: "Name+".
        ("Basic+", 0): ("Languages::Words", "hello", "hello bonjour"),
        ("Basic (and reversed card)+", 0): ("Languages::Words", "cat", "cat chat"),
        ("Basic (and reversed card)+", 1): ("Languages::Words", "chat", "chat cat"),
        ("Basic (type in the answer)+", 0): (
            "Languages::Words",
            "dog [[type:Back]]",  # the reviewer's box to type in
            "dog [[type:Back]]",
        ),
        ("Rich", 0): ("Languages::Words", "rouge", "rouge red rouge"),
        ("deckgen Fact", 0): cards[("deckgen Fact", 0)],
    }
    # What a declared type's note holds: its fields as written (Markdown made HTML), its
    # own tags only, no fingerprint; the HTML type's as cleaned, formatting kept.
    [nid] = collection.find_notes("Word:ubiquitous")
    note = collection.get_note(nid)
    assert note.fields == ["ubiquitous", "present, appearing or found <em>everywhere</em>", ""]
    assert note.tags == ["topic::adjectives"]
    [nid] = collection.find_notes('"note:Rich"')
    assert collection.get_note(nid)["Front"] == '<span style="color:red">rouge</span>'
    model = collection.models.by_name("Vocabulary")
    assert model is not None and model["css"] == ".card { font-family: serif; }"


def _study(col: Collection, search: str) -> tuple[int, tuple[int, int, int, int], int]:
    [card_id] = col.find_cards(search)
    card = col.get_card(card_id)
    card.start_timer()
    col.sched.answerCard(card, 4)
    card.load()
    reviews = col.db.scalar("select count() from revlog where cid = ?", card.id)
    return card.id, (card.ivl, card.due, card.type, card.queue), reviews


def _kept(col: Collection, studied: tuple[int, tuple[int, int, int, int], int]) -> None:
    card_id, schedule, reviews = studied
    card = col.get_card(card_id)
    assert (card.ivl, card.due, card.type, card.queue) == schedule
    assert col.db.scalar("select count() from revlog where cid = ?", card_id) == reviews


def _types(col: Collection) -> dict[int, str]:
    return {m["id"]: m["name"] for m in _models(col)}


def _models(col: Collection) -> list[dict[str, Any]]:
    """The note types as the collection has them now (Anki's Python side keeps them
    cached across an import, as its desktop clears them only after an operation)."""
    col.models._clear_cache()
    return col.models.all()


def _model(col: Collection, name: str) -> dict[str, Any]:
    [model] = [m for m in _models(col) if m["name"] == name]
    return model


def test_template_and_css_edits_update_in_place(tmp_path: Path, collection: Collection) -> None:
    notes = _deck(tmp_path / "notes")
    build(notes, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    types = _types(collection)
    studied = _study(collection, "Word:ubiquitous card:Recognise")
    count = collection.note_count()

    edited = DECK.replace("font-family: serif", "font-family: sans-serif").replace(
        '"{{FrontSide}}<hr id=answer>{{Word}}"', '"{{FrontSide}}<hr id=answer><b>{{Word}}</b>"'
    )
    _deck(notes, edited)
    build(notes, tmp_path / "v2.apkg", LATER)
    log = import_package(collection, tmp_path / "v2.apkg")
    assert (len(log.new), len(log.conflicting)) == (0, 0)
    assert _types(collection).keys() == types.keys()  # no "Name+" copy
    assert collection.note_count() == count
    model = _model(collection, "Vocabulary")
    assert model["css"] == ".card { font-family: sans-serif; }"
    assert model["tmpls"][1]["afmt"] == "{{FrontSide}}<hr id=answer><b>{{Word}}</b>"
    _kept(collection, studied)


def test_a_field_renamed_in_place_keeps_its_id(tmp_path: Path, collection: Collection) -> None:
    notes = _deck(tmp_path / "notes")
    build(notes, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    types = _types(collection)
    studied = _study(collection, "Word:ubiquitous card:Recognise")
    [nid] = collection.find_notes("Word:ubiquitous")

    renamed = DECK.replace("fields: [Word, Meaning, Example]", "fields: [Term, Meaning, Example]")
    renamed = renamed.replace("{{Word}}", "{{Term}}")
    _deck(notes, renamed, WORDS.replace("  Word: ubiquitous", "  Term: ubiquitous"))
    build(notes, tmp_path / "v2.apkg", LATER)
    log = import_package(collection, tmp_path / "v2.apkg")
    # The note's text is as it was: only its type changed, in place, and the note with it.
    assert (len(log.new), len(log.updated), len(log.conflicting)) == (0, 0, 0)
    assert _types(collection).keys() == types.keys()  # no "Name+" copy
    assert _model(collection, "Vocabulary")["flds"][0]["name"] == "Term"
    assert collection.get_note(nid)["Term"] == "ubiquitous"
    _kept(collection, studied)


def test_a_type_renamed_with_its_id_is_the_same_type(
    tmp_path: Path, collection: Collection
) -> None:
    notes = _deck(tmp_path / "notes")
    build(notes, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    model = collection.models.by_name("Vocabulary")
    assert model is not None
    types = _types(collection)
    studied = _study(collection, "Word:ubiquitous card:Recognise")

    # Renamed without its id: refused at the notes, with the id to give.
    renamed = DECK.replace("- name: Vocabulary", "- name: Words")
    _deck(notes, renamed, WORDS.replace("type: Vocabulary", "type: Words"))
    result = CliRunner().invoke(main, ["build", str(notes), "-o", str(tmp_path / "v2.apkg")])
    assert result.exit_code == 1
    assert f"id: {model['id']}" in result.output
    assert not (tmp_path / "v2.apkg").exists()

    given = renamed.replace("- name: Words", f"- name: Words\n    id: {model['id']}")
    _deck(notes, given, WORDS.replace("type: Vocabulary", "type: Words"))
    build(notes, tmp_path / "v2.apkg", LATER)
    log = import_package(collection, tmp_path / "v2.apkg")
    assert (len(log.new), len(log.conflicting)) == (0, 0)
    assert _model(collection, "Words")["id"] == model["id"]
    assert _types(collection).keys() == types.keys()  # no "Name+" copy
    _kept(collection, studied)


def test_a_field_added_is_a_schema_change(tmp_path: Path) -> None:
    notes = _deck(tmp_path / "notes")
    build(notes, tmp_path / "v1.apkg", T0)
    added = DECK.replace(
        "fields: [Word, Meaning, Example]", "fields: [Word, Meaning, Example, Audio]"
    )
    _deck(notes, added)
    out = tmp_path / "v2.apkg"
    result = CliRunner().invoke(main, ["build", str(notes), "-o", str(out)])
    assert result.exit_code == 1
    assert "Vocabulary: field 'Audio' added" in result.output
    assert "--allow-schema-change" in result.output
    assert not out.exists()
    allowed = ["build", str(notes), "-o", str(out), "--allow-schema-change"]
    assert CliRunner().invoke(main, allowed).exit_code == 0


@pytest.mark.parametrize(
    ("words", "deck", "expected"),
    [
        (
            "- id: a\n  type: Vocabulary\n  Word: x\n  Meanin: y\n",
            DECK,
            "words.yaml:4:3: error: unknown key 'Meanin' (did you mean 'Meaning'?)",
        ),
        (
            "- id: a\n  type: Vocabulry\n  Word: x\n",
            DECK,
            "words.yaml:2:9: error: unknown note type 'Vocabulry' (did you mean 'Vocabulary'?)",
        ),
        (
            "- id: a\n  type: Vocabulary\n  Meaning: y\n",
            DECK,
            "words.yaml:1:3: error: 'Word', the first field of Vocabulary, is empty",
        ),
        (
            "- id: a\n  type: Cloze with source\n  Text: no cloze here\n",
            DECK,
            "words.yaml:1:3: error: a Cloze with source note needs a cloze",
        ),
        (
            "- id: a\n  type: Basic\n  Front: x\n",
            DECK.replace('front: "{{Word}}"', 'front: "{{Wrd}}"'),
            "deck.yaml:10:17: error: the front names unknown field 'Wrd' (did you mean 'Word'?)",
        ),
        (
            "- id: a\n  type: Basic\n  Front: x\n",
            DECK.replace('front: "{{Word}}"', 'front: "Which word?"'),
            "deck.yaml:10:17: error: this front shows no field",
        ),
        (
            "- id: a\n  type: Basic\n  Front: x\n",
            DECK.replace('front: "{{Word}}"', 'front: "{{#Word}}{{Word}}"'),
            "deck.yaml:10:17: error: '{{#Word}}' is never closed with '{{/Word}}'",
        ),
        (
            "- id: a\n  type: Basic\n  Front: x\n",
            DECK.replace("fields: [Word, Meaning, Example]", "fields: [Word, Meaning, Word]"),
            "deck.yaml:7:29: error: a second field named 'Word'",
        ),
        (
            "- id: a\n  type: Basic\n  Front: x\n",
            DECK.replace('front: "{{Meaning}}"', 'front: "{{Word}}"'),
            "deck.yaml:13:16: error: this front is the same as the template 'Recognise''s",
        ),
        (
            "- id: a\n  type: Vocabulary\n  Word: x\n  Meaning: ''\n",
            DECK.replace('front: "{{Word}}"', 'front: "{{Meaning}}{{Example}}"').replace(
                'front: "{{Meaning}}"', 'front: "{{Example}}"'
            ),
            "words.yaml:1:3: error: this note makes no card",
        ),
        (
            "- id: a\n  type: Basic\n  Front: x\n",
            DECK.replace(
                "fields: [Word, Meaning, Example]",
                "fields: [{name: Word, id: 7}, {name: Meaning, id: 7}, Example]",
            ),
            "deck.yaml:7:42: error: the id 7 is another field's",
        ),
        (
            "- id: a\n  type: Basic\n  Front: x\n",
            DECK.replace("  - name: Vocabulary\n", "  - name: Vocabulary\n    id: 1478620953\n"),
            "deck.yaml:6:5: error: the id 1478620953 is another note type's",
        ),
    ],
)
def test_mistakes_are_found_where_they_are(
    tmp_path: Path, words: str, deck: str, expected: str
) -> None:
    notes = _deck(tmp_path / "notes", deck, words)
    result = CliRunner().invoke(main, ["check", str(notes)])
    assert result.exit_code == 1
    assert f"{notes}/{expected}" in result.output, result.output


# Vectors from the sanitizer's own tests (ammonia's, html5lib's, OWASP's filter evasion
# cheat sheet): each must reach no card active.
HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://x/xss.js></SCRIPT>",
    '<img src="javascript:alert(1)">',
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    '<img src="jav&#x09;ascript:alert(1);">',
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<object data="x.swf"></object>',
    '<embed src="x.swf">',
    '<a href="javascript:alert(1)">click</a>',
    '<a href="  JAVASCRIPT:alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="background-image: url(https://evil.example/t.png)">x</div>',
    '<span style="width: expression(alert(1))">x</span>',
    "<style>@import 'https://evil.example/x.css';</style>",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<form action="https://evil.example"><input type=submit></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table>"
    "</mtext></math>",
    "<<script>script>alert(1)<</script>/script>",
    '<img src="https://evil.example/track.png">',
    '<video><source onerror="alert(1)"></video>',
    '<audio src="https://evil.example/a.mp3" autoplay></audio>',
    "<base href='https://evil.example/'>",
    '<details open ontoggle="alert(1)">x</details>',
    '<p title="</p><img src=x onerror=alert(1)>">x</p>',
    "<!--<script>alert(1)</script>-->",
]
# What would run or load, as a browser parses a card: elements, handlers, URLs.
_ACTIVE_TAGS = {
    "script",
    "iframe",
    "frame",
    "object",
    "embed",
    "form",
    "input",
    "link",
    "meta",
    "base",
    "svg",
    "math",
    "video",
    "audio",
    "source",
    "style",
}
_ACTIVE_URL = re.compile(r"^\s*(?:javascript|vbscript|data):|^\s*(?:https?:)?//", re.I)


class _Active(HTMLParser):
    """Every element and attribute of a card that could run or load."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(name)
            elif name in ("src", "href", "action", "background") and value:
                # A link to the web stays (following it is the learner's choice).
                if _ACTIVE_URL.match(value) and not (tag == "a" and value.startswith("http")):
                    self.found.append(f"{name}={value}")
            elif name == "style" and value and re.search(r"url\s*\(|expression", value, re.I):
                self.found.append(f"style={value}")


def _active(html: str) -> list[str]:
    parser = _Active()
    parser.feed(html)
    parser.close()
    return parser.found


def test_hostile_html_never_reaches_a_card_active(tmp_path: Path, collection: Collection) -> None:
    words = "".join(
        f"- id: hostile-{n}\n  type: Rich\n  Front: 'note {n}'\n  Back: {_quoted(vector)}\n"
        for n, vector in enumerate(HOSTILE)
    )
    notes = _deck(tmp_path / "notes", words=words)
    (notes / "x").write_bytes(b"\x89PNG\r\n\x1a\n" + b"a picture")  # `src=x`: the deck's own
    result = CliRunner().invoke(main, ["build", str(notes), "-o", str(tmp_path / "deck.apkg")])
    assert result.exit_code == 0, result.output
    assert result.output.count("[html-cleaned]") == len(HOSTILE), result.output
    import_package(collection, tmp_path / "deck.apkg")
    for card_id in collection.find_cards('"note:Rich"'):
        card = collection.get_card(card_id)
        answer = card.answer().split("</style>", 1)[-1]  # the note type's own CSS aside
        assert not _active(answer), answer


def test_what_the_sanitizer_keeps_renders_as_written(
    tmp_path: Path, collection: Collection
) -> None:
    kept = [
        "<b>bold</b> <i>it</i> <u>under</u> <s>struck</s> <sub>2</sub><sup>3</sup>",
        '<span style="color:#ff0000;background-color:yellow">colour</span>',
        '<font color="blue">blue</font>',
        "<table><tbody><tr><th>a</th><td>b</td></tr></tbody></table>",
        "<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>",
        "<ul><li>one</li><li>two</li></ul>",
        "line one<br>line two",
        '<a href="https://example.org/page">a link</a>',
    ]
    words = "".join(
        f"- id: kept-{n}\n  type: Rich\n  Front: 'kept {n}'\n  Back: {_quoted(html)}\n"
        for n, html in enumerate(kept)
    )
    notes = _deck(tmp_path / "notes", words=words)
    result = CliRunner().invoke(main, ["build", str(notes), "-o", str(tmp_path / "deck.apkg")])
    assert result.exit_code == 0 and "[html-cleaned]" not in result.output, result.output
    import_package(collection, tmp_path / "deck.apkg")
    for n, html in enumerate(kept):
        [nid] = collection.find_notes(f'"Front:kept {n}"')
        assert collection.get_note(nid)["Back"] == html


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _export(col: Collection, out: Path) -> Path:
    options = ExportAnkiPackageOptions(with_scheduling=True, with_media=True, legacy=False)
    col.export_anki_package(out_path=str(out), options=options, limit=None)
    return out


def _pull(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["pull", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def _edit_in_anki(col: Collection) -> None:
    """A user's edits in Anki's editor: a Markdown field, an HTML one, a tag, a new note."""
    [nid] = col.find_notes("Word:ubiquitous")
    note = col.get_note(nid)
    note["Meaning"] = "found <b>everywhere</b> at once"
    note.tags.append("topic::adjectives-common")
    col.update_note(note)
    [nid] = col.find_notes('"note:Rich"')
    rich = col.get_note(nid)
    rich["Back"] = '<span style="color: blue">bleu</span><script>alert(1)</script>'
    col.update_note(rich)
    model = _model(col, "Vocabulary")
    added = col.new_note(model)  # type: ignore[arg-type]
    added["Word"], added["Meaning"] = "ephemeral", "lasting a *very* short time"
    col.add_note(added, col.decks.id_for_name("Languages::Words"))  # type: ignore[arg-type]


def test_edits_to_declared_notes_come_back(tmp_path: Path, collection: Collection) -> None:
    notes = _deck(tmp_path / "notes")
    build(notes, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    _edit_in_anki(collection)
    package = _export(collection, tmp_path / "export.apkg")

    code, out, err = _pull(str(package), str(notes))
    assert code == 0, out + err
    text = (notes / "words.yaml").read_text(encoding="utf-8")
    assert "  Meaning: found **everywhere** at once\n" in text
    assert "  tags: [topic::adjectives, topic::adjectives-common]\n" in text
    assert """  Back: '<span style="color:blue">bleu</span>'\n""" in text
    assert "html-cleaned" in err and "<script>" in err
    assert "  type: Vocabulary\n  Word: ephemeral\n" in text
    assert "  Meaning: lasting a \\*very\\* short time\n" in text

    # Built and imported again: the edits in place, the added note the same note.
    build(notes, tmp_path / "v2.apkg", LATER)
    log = import_package(collection, tmp_path / "v2.apkg")
    assert (len(log.new), len(log.conflicting)) == (0, 0)
    code, out, _ = _pull(str(_export(collection, tmp_path / "again.apkg")), str(notes))
    assert code == 0 and "8 unchanged" in out, out
    assert (notes / "words.yaml").read_text(encoding="utf-8") == text


def test_an_older_copy_of_a_declared_note_is_a_conflict(
    tmp_path: Path, collection: Collection
) -> None:
    notes = _deck(tmp_path / "notes")
    build(notes, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    [nid] = collection.find_notes("Word:ubiquitous")
    note = collection.get_note(nid)
    note["Meaning"] = "edited in Anki"
    collection.update_note(note)
    package = _export(collection, tmp_path / "export.apkg")
    # The notes changed after that edit (built later than it was made).
    edited = WORDS.replace("found *everywhere*", "found *everywhere*, always")
    _deck(notes, words=edited)
    build(notes, tmp_path / "v2.apkg", LATER)
    before = (notes / "words.yaml").read_text(encoding="utf-8")

    code, _, err = _pull(str(package), str(notes))
    assert code == 1
    assert "'ubiquitous' conflicts" in err and "cannot be told from an older copy" in err
    assert (notes / "words.yaml").read_text(encoding="utf-8") == before
    code, out, _ = _pull(str(package), str(notes), "--prefer", "notes")
    assert code == 0 and (notes / "words.yaml").read_text(encoding="utf-8") == before
    assert "  conflict, the notes kept ubiquitous (" in out
    code, out, _ = _pull(str(package), str(notes), "--prefer", "anki")
    assert code == 0 and "  conflict, Anki kept ubiquitous (" in out
    assert "  Meaning: edited in Anki\n" in (notes / "words.yaml").read_text(encoding="utf-8")


TREE = DECK.replace(
    "  - {key: words, name: Words}\n",
    "  - {key: words, name: Words}\n"
    "  - {key: intro, name: Introduction, deck: ''}\n"
    "  - {key: irregular, name: Irregular verbs, deck: 'Grammar::Verbs::Irregular'}\n",
)


def test_domains_nest_to_any_depth_and_notes_may_sit_in_the_top_deck(
    tmp_path: Path, collection: Collection
) -> None:
    notes = _deck(tmp_path / "notes", TREE)
    (notes / "intro.yaml").write_text(
        "- id: welcome\n  type: Basic\n  Front: welcome\n  Back: bienvenue\n"
        "- id: intro-fact\n  fact: '{{c1::Bonjour}} is hello'\n",
        encoding="utf-8",
    )
    (notes / "irregular.yaml").write_text(
        "- id: etre\n  type: Basic\n  Front: to be\n  Back: être\n", encoding="utf-8"
    )
    build(notes, tmp_path / "deck.apkg", T0)
    log = import_package(collection, tmp_path / "deck.apkg")
    assert len(log.new) == 10 and len(log.conflicting) == 0
    decks = {
        visible(collection.get_card(c).question()): collection.decks.name(
            collection.get_card(c).did
        )
        for c in collection.find_cards('"note:Basic+"')
    }
    assert decks == {
        "hello": "Languages::Words",
        "welcome": "Languages",
        "to be": "Languages::Grammar::Verbs::Irregular",
    }
    [fact] = collection.find_cards('"ID:intro-fact"')
    assert collection.decks.name(collection.get_card(fact).did) == "Languages"
    assert collection.get_note(collection.get_card(fact).nid).tags == [
        "domain::intro",
        "kind::fact",
    ]
    names = {d.name for d in collection.decks.all_names_and_ids()}
    assert {"Languages::Grammar", "Languages::Grammar::Verbs"} <= names
    result = CliRunner().invoke(main, ["stats", str(notes)])
    assert result.exit_code == 0
    rows = {line.split("  ")[0]: line.split() for line in result.output.splitlines()}
    assert rows["Introduction"][-2:] == ["2", "2"] and rows["Irregular verbs"][-2:] == ["1", "1"]


@pytest.mark.parametrize(
    ("domains", "expected"),
    [
        (
            "  - {key: a, name: A, deck: 'X::Y'}\n  - {key: b, name: B, deck: 'x::y'}\n",
            "deck.yaml:6:5: error: a second domain in the deck 'x::y' (first at line 5, column 5)",
        ),
        (
            "  - {key: a, name: A, deck: ''}\n  - {key: b, name: B, deck: ''}\n",
            "deck.yaml:6:5: error: a second domain in the top deck",
        ),
        (
            "  - {key: a, name: A, deck: 'Part 1::::Chapter'}\n",
            "deck.yaml:5:29: error: 'deck' is the domain's deck below the top deck",
        ),
    ],
)
def test_domain_decks_are_checked(tmp_path: Path, domains: str, expected: str) -> None:
    deck = DECK.replace(
        "  - {key: words, name: Words}\n", "  - {key: words, name: Words}\n" + domains
    )
    notes = _deck(tmp_path / "notes", deck)
    result = CliRunner().invoke(main, ["check", str(notes)])
    assert result.exit_code == 1
    assert f"{notes}/{expected}" in result.output, result.output


def test_preview_shows_declared_notes_each_type_with_its_own_css(tmp_path: Path) -> None:
    notes = _deck(tmp_path / "notes")
    out = tmp_path / "preview"
    result = CliRunner().invoke(main, ["preview", str(notes), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count('<article class="pv-note"') == 7
    for title in ("Vocabulary", "Cloze with source", "Basic (type in the answer)", "Rich"):
        assert f"<h3>{title} <small>" in page
    css = (out / "assets" / "cards.css").read_text(encoding="utf-8")
    assert ".pv-type-vocabulary {\n.card { font-family: serif; }\n}" in css
    assert 'class="pv-sides pv-type-vocabulary"' in page


FILED = DECK.replace(
    '''      - name: Recall
        front: "{{Meaning}}"
        back: "{{FrontSide}}<hr id=answer>{{Word}}"
    css: ".card { font-family: serif; }"''',
    """      - name: Recall
        front: {file: note-types/vocabulary/recall-front.html}
        back: "{{FrontSide}}<hr id=answer>{{Word}}"
    css: {file: note-types/vocabulary/style.css}""",
)


def test_templates_and_css_may_live_in_files_beside_the_notes(
    tmp_path: Path, collection: Collection
) -> None:
    notes = _deck(tmp_path / "notes", FILED)
    folder = notes / "note-types" / "vocabulary"
    folder.mkdir(parents=True)
    (folder / "recall-front.html").write_text("<p>Which word?</p>\n{{Meaning}}\n")
    (folder / "style.css").write_text(".card {\n  font-family: serif;\n}\n")
    build(notes, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    model = _model(collection, "Vocabulary")
    assert model["css"] == ".card {\n  font-family: serif;\n}\n"
    assert model["tmpls"][1]["qfmt"] == "<p>Which word?</p>\n{{Meaning}}\n"
    [card] = collection.find_cards("Word:ubiquitous card:Recall")
    assert visible(collection.get_card(card).question()) == (
        "Which word? present, appearing or found everywhere"
    )
    # The file edited: the template updated in place.
    (folder / "recall-front.html").write_text("<p>Which word is it?</p>\n{{Meaning}}\n")
    build(notes, tmp_path / "v2.apkg", LATER)
    import_package(collection, tmp_path / "v2.apkg")
    assert _model(collection, "Vocabulary")["tmpls"][1]["qfmt"].startswith("<p>Which word is")

    # A mistake in the file is found where it is, in the file.
    (folder / "recall-front.html").write_text("<p>Which word?</p>\n  {{Meanin}}\n")
    result = CliRunner().invoke(main, ["check", str(notes)])
    assert result.exit_code == 1
    assert f"{folder}/recall-front.html:2:3: error: the front names unknown field 'Meanin'" in (
        result.output
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("../outside.html", "'../outside.html': a file of the deck is named from the notes"),
        ("/etc/passwd", "'/etc/passwd': a file of the deck is named from the notes folder"),
        ("missing.html", "missing.html:1:1: error: cannot read file"),
        (
            "fifo.html",
            "fifo.html:1:1: error: this is a FIFO (named pipe), not a template or CSS file",
        ),
    ],
)
def test_a_template_file_is_a_regular_file_inside_the_notes_folder(
    tmp_path: Path, written: str, expected: str
) -> None:
    deck = FILED.replace("note-types/vocabulary/recall-front.html", written)
    notes = _deck(tmp_path / "notes", deck)
    (notes / "note-types" / "vocabulary").mkdir(parents=True)
    (notes / "note-types" / "vocabulary" / "style.css").write_text(".card {}\n")
    (tmp_path / "outside.html").write_text("{{Meaning}}")
    os.mkfifo(notes / "fifo.html")
    result = CliRunner().invoke(main, ["check", str(notes)])
    assert result.exit_code == 1
    assert expected in result.output, result.output


WOFF2 = b"wOF2" + b"\x00" * 40 + b"a font"
MP3 = b"ID3" + b"\x00" * 20 + b"a sound"
PNG = b"\x89PNG\r\n\x1a\n" + b"a background"
MEDIA = FILED.replace(
    """        back: "{{FrontSide}}<hr id=answer>{{Meaning}}<br>{{Example}}\"""",
    """        back: '{{FrontSide}}<hr id=answer>{{Meaning}}<img src="media/bg.png">'""",
)


def test_media_of_fields_templates_and_css_ship_under_names_made_from_their_bytes(
    tmp_path: Path, collection: Collection
) -> None:
    notes = _deck(
        tmp_path / "notes",
        MEDIA,
        WORDS.replace(
            "  Word: ubiquitous\n", "  Word: ubiquitous\n  Example: '[sound:media/say.mp3]'\n"
        ),
    )
    folder = notes / "note-types" / "vocabulary"
    folder.mkdir(parents=True)
    (folder / "recall-front.html").write_text("{{Meaning}}")
    (folder / "style.css").write_text('@font-face { src: url("font.woff2"); }\n')
    (folder / "font.woff2").write_bytes(WOFF2)
    (notes / "media").mkdir()
    (notes / "media" / "bg.png").write_bytes(PNG)
    (notes / "media" / "say.mp3").write_bytes(MP3)
    build(notes, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")

    font, bg, say = (
        f"{stem}.{_sha(data)}.{ext}"
        for stem, data, ext in (("_font", WOFF2, "woff2"), ("_bg", PNG, "png"), ("say", MP3, "mp3"))
    )
    media = Path(collection.media.dir())
    assert {font, bg, say} <= {p.name for p in media.iterdir()}
    assert (media / font).read_bytes() == WOFF2 and (media / say).read_bytes() == MP3
    model = _model(collection, "Vocabulary")
    assert model["css"] == f'@font-face {{ src: url("{font}"); }}\n'
    assert f'<img src="{bg}">' in model["tmpls"][0]["afmt"]
    [nid] = collection.find_notes("Word:ubiquitous")
    assert collection.get_note(nid)["Example"] == f"[sound:{say}]"

    # The font redrawn: a new name, the stylesheet updated in place, the new file brought.
    (folder / "font.woff2").write_bytes(WOFF2 + b" v2")
    build(notes, tmp_path / "v2.apkg", LATER)
    import_package(collection, tmp_path / "v2.apkg")
    font2 = f"_font.{_sha(WOFF2 + b' v2')}.woff2"
    assert _model(collection, "Vocabulary")["css"] == f'@font-face {{ src: url("{font2}"); }}\n'
    assert (media / font2).read_bytes() == WOFF2 + b" v2"

    # What a template loads that is not there is found where it is written.
    (folder / "font.woff2").unlink()
    result = CliRunner().invoke(main, ["check", str(notes)])
    assert result.exit_code == 1
    assert f"{folder}/style.css:1:24: error: 'font.woff2': no such file" in result.output


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:8]


def test_a_sound_edited_around_in_anki_comes_back_by_its_path(
    tmp_path: Path, collection: Collection
) -> None:
    words = WORDS.replace(
        "  Word: ubiquitous\n", "  Word: ubiquitous\n  Example: '[sound:say.mp3]'\n"
    )
    notes = _deck(tmp_path / "notes", words=words)
    (notes / "say.mp3").write_bytes(MP3)
    build(notes, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    [nid] = collection.find_notes("Word:ubiquitous")
    note = collection.get_note(nid)
    note["Example"] = note["Example"] + " said aloud"
    collection.update_note(note)
    code, out, err = _pull(str(_export(collection, tmp_path / "e.apkg")), str(notes))
    assert code == 0, out + err
    assert "  Example: '[sound:say.mp3] said aloud'\n" in (notes / "words.yaml").read_text()


def test_diff_names_what_changed_in_declared_notes_and_types(tmp_path: Path) -> None:
    notes = _deck(tmp_path / "notes")
    build(notes, tmp_path / "dist" / "languages.apkg", T0)
    edited = WORDS.replace("Back: bonjour", "Back: salut")
    _deck(notes, DECK.replace("font-family: serif", "font-family: sans-serif"), edited)
    result = CliRunner().invoke(
        main, ["diff", str(tmp_path / "dist" / "languages.apkg"), "-n", str(notes)]
    )
    assert result.exit_code == 0, result.output
    assert "  changed     hello: Anki updates it in place\n      Back: [-bonjour-] {+salut+}\n" in (
        result.output
    )
    assert (
        "  note type   Vocabulary: Anki updates it in place\n      CSS changed\n" in result.output
    )


SETTINGS = DECK.replace(
    "    fields: [Word, Meaning, Example]\n",
    "    fields:\n"
    "      - {name: Word, font: Georgia, size: 28, sticky: true, description: The word}\n"
    "      - {name: Meaning, rtl: true, plain_text: true, collapsed: true}\n"
    "      - {name: Example, exclude_from_search: true}\n"
    "    latex_pre: '\\documentclass{article}\\begin{document}'\n"
    "    latex_svg: true\n",
).replace(
    "      - name: Recall\n",
    "      - name: Recall\n        browser_front: '{{Meaning}} (recall)'\n"
    "        browser_back: '{{Word}}'\n        browser_font: Courier\n"
    "        browser_font_size: 12\n",
)


def test_what_else_anki_keeps_of_a_type_is_declared_and_arrives(
    tmp_path: Path, collection: Collection
) -> None:
    notes = _deck(tmp_path / "notes", SETTINGS)
    build(notes, tmp_path / "v1.apkg", T0)
    import_package(collection, tmp_path / "v1.apkg")
    model = _model(collection, "Vocabulary")
    word, meaning, example = model["flds"]
    assert (word["font"], word["size"], word["sticky"], word["description"]) == (
        "Georgia",
        28,
        True,
        "The word",
    )
    assert (meaning["rtl"], meaning["plainText"], meaning["collapsed"]) == (True, True, True)
    assert example["excludeFromSearch"] is True
    recall = model["tmpls"][1]
    assert (recall["bqfmt"], recall["bafmt"], recall["bfont"], recall["bsize"]) == (
        "{{Meaning}} (recall)",
        "{{Word}}",
        "Courier",
        12,
    )
    assert model["latexPre"] == "\\documentclass{article}\\begin{document}"
    assert model["latexsvg"] is True
    # A setting changed: the type updated in place.
    _deck(notes, SETTINGS.replace("font: Georgia", "font: Garamond"))
    build(notes, tmp_path / "v2.apkg", LATER)
    import_package(collection, tmp_path / "v2.apkg")
    assert _model(collection, "Vocabulary")["flds"][0]["font"] == "Garamond"
    result = CliRunner().invoke(
        main, ["check", str(_deck(notes, SETTINGS.replace("size: 28", "size: big")))]
    )
    assert result.exit_code == 1 and "'size' must be a whole number of points" in result.output


_T = "templates: [{name: t, front: '{{B}}', back: x}]"
_FACE = "note_types: [{name: A, fields: [B], templates: [{name: t, %s}]}]"
HOSTILE_TYPES = [
    "note_types: 5",
    "note_types: {a: 1}",
    "note_types: [5]",
    "note_types: [{}]",
    "note_types: [{name: A}]",
    "note_types: [{name: A, fields: 3, templates: []}]",
    "note_types: [{name: A, fields: [], templates: []}]",
    "note_types: [{name: A, fields: [[1]], templates: [{}]}]",
    f"note_types: [{{name: A, fields: [{{name: B, id: 0}}], {_T}}}]",
    _FACE % "front: {file: 5}, back: x",
    _FACE % "front: {file: deck.yaml}, back: x",
    _FACE % "front: {file: .}, back: x",
    _FACE % "front: '{{#B}}{{/C}}', back: x",
    _FACE % "front: '{{/B}}{{B}}', back: '{{'",
    _FACE % "front: '{{B}}', back: 'url(x.png)'",
    f"note_types: [{{name: A, fields: [B], {_T}, css: 5}}]",
    f"note_types: [{{name: A, fields: [B], {_T}, cloze: 2}}]",
    f"note_types: [{{name: A, cloze: true, fields: [B], {_T}}}]",
    f"note_types: [{{name: A, fields: [B], sort_field: Z, {_T}}}]",
    f"note_types: [{{name: A, id: 99999999999999999999999, fields: [B], {_T}}}]",
    f"note_types: [{{name: A, fields: [{{name: B, size: -3, rtl: maybe}}], {_T}}}]",
]


@pytest.mark.parametrize("declared", HOSTILE_TYPES)
@pytest.mark.parametrize(
    "note",
    ["- id: n\n  type: A\n  B: x\n", "- id: n\n  type: [A]\n", "- id: n\n  type: A\n  B: [1]\n"],
)
def test_hostile_note_types_end_in_a_message_never_a_traceback(
    tmp_path: Path, declared: str, note: str
) -> None:
    notes = _deck(
        tmp_path / "notes", "name: X\nkey: x\ndomains:\n  - {key: a, name: A}\n" + declared + "\n"
    )
    (notes / "words.yaml").unlink()
    (notes / "a.yaml").write_text(note, encoding="utf-8")
    for command in (["check", str(notes)], ["build", str(notes), "-o", str(tmp_path / "o.apkg")]):
        result = CliRunner().invoke(main, command)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert result.exit_code in (0, 1)
        if result.exit_code == 1:
            assert re.search(r":\d+:\d+: error: ", result.output), result.output
            assert not (tmp_path / "o.apkg").exists()
