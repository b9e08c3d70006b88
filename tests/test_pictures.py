"""Pictures and formulas, through real Anki: each picture reaches the collection's media
folder with its bytes, a picture drawn again reaches everyone who has the deck, and the
package is the same bytes on any day."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import pytest
from anki.collection import Collection
from click.testing import CliRunner
from conftest import build, import_package, write_notes
from hypothesis import given, settings
from hypothesis import strategies as st

from deckgen.cli import main
from deckgen.markup import escape, to_html

T0 = 1_700_000_000.0
PNG = b"\x89PNG\r\n\x1a\n" + b"a picture of traffic"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect/></svg>'

NOTES = {
    "mlops.yaml": """\
- id: blue-green
  fact: "{{c1::Blue-green}} switches all traffic at once: ![blue-green](<pictures/rollout ü.png>)"
- id: canary
  trap: A canary sends all traffic to the new model
  reality: "A small share first: ![canary](pictures/canary.svg)"
  extra: "Compare: ![blue-green](<pictures/rollout ü.png>)"
- id: words-only
  fact: "JS divergence is bounded: \\\\( 0 \\\\le JS(P \\\\| Q) \\\\le {{c1::1}} \\\\)"
""",
}


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = write_notes(tmp_path / "notes", NOTES)
    (folder / "pictures").mkdir()
    (folder / "pictures" / "rollout ü.png").write_bytes(PNG)
    (folder / "pictures" / "canary.svg").write_bytes(SVG)
    return folder


def _media(col: Collection) -> dict[str, bytes]:
    folder = Path(col.media.dir())
    return {name: (folder / name).read_bytes() for name in os.listdir(folder)}


def _pictures_shown(col: Collection) -> dict[str, list[str]]:
    """Each note's ID and the pictures its cards show."""
    shown: dict[str, list[str]] = {}
    for cid in col.find_cards(""):
        card = col.get_card(cid)
        html = card.question() + card.answer()
        names = re.findall(r'<img src="([^"]+)"', html)
        shown.setdefault(card.note()["ID"], []).extend(names)
    return {note_id: sorted(set(names)) for note_id, names in shown.items()}


def test_pictures_reach_the_collection_and_a_redrawn_one_reaches_it_again(
    notes: Path, tmp_path: Path, collection: Collection
) -> None:
    build(notes, tmp_path / "v1.apkg", T0)
    with zipfile.ZipFile(tmp_path / "v1.apkg") as package:
        media = json.loads(package.read("media"))
        # Shown by two notes, stored once.
        names = [f"rollout-ü.{_hash(PNG)}.png", f"canary.{_hash(SVG)}.svg"]
        assert sorted(media.values()) == sorted(names)
        assert {package.read(index) for index in media} == {PNG, SVG}
    log = import_package(collection, tmp_path / "v1.apkg")
    assert len(log.new) == 3
    png, svg = f"rollout-ü.{_hash(PNG)}.png", f"canary.{_hash(SVG)}.svg"
    assert _media(collection) == {png: PNG, svg: SVG}
    assert _pictures_shown(collection) == {
        "blue-green": [png],
        "canary": sorted([png, svg]),
        "words-only": [],
    }
    card = collection.get_card(collection.find_cards('"ID:blue-green"')[0])
    card.start_timer()
    collection.sched.answerCard(card, 3)
    card.load()
    studied = (card.id, card.ivl, card.due)

    # The picture drawn again, under the same name, in notes whose text did not change.
    redrawn = PNG + b", drawn again"
    (notes / "pictures" / "rollout ü.png").write_bytes(redrawn)
    build(notes, tmp_path / "v2.apkg", T0 + 60)
    log = import_package(collection, tmp_path / "v2.apkg")
    assert list(log.new) == [] and list(log.conflicting) == []
    assert sorted(note.fields[-2] for note in log.updated) == ["blue-green", "canary"]
    new_png = f"rollout-ü.{_hash(redrawn)}.png"
    assert _media(collection)[new_png] == redrawn
    assert _pictures_shown(collection) == {
        "blue-green": [new_png],
        "canary": sorted([new_png, svg]),
        "words-only": [],
    }
    again = collection.get_card(studied[0])
    assert (again.id, again.ivl, again.due) == studied


def _hash(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()[:8]


def test_a_build_with_pictures_is_the_same_bytes_on_any_day(notes: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["build", str(notes), "-o", str(tmp_path / "deck.apkg"), "--check-reproducible"]
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "deck.apkg") as package:
        infos = package.infolist()
    assert [i.filename for i in infos] == ["collection.anki2", "0", "1", "media"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_diff_names_the_notes_whose_pictures_changed(notes: Path, tmp_path: Path) -> None:
    build(notes, tmp_path / "v1.apkg", T0)
    (notes / "pictures" / "canary.svg").write_bytes(SVG.replace(b"4", b"8"))
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "v1.apkg"), "-n", str(notes)])
    assert result.exit_code == 0, result.output
    old, new = f"canary.{_hash(SVG)}.svg", f"canary.{_hash(SVG.replace(b'4', b'8'))}.svg"
    assert "  changed     canary: Anki updates it in place\n" in result.stdout
    assert f"      Reality: pictures: [-{old}-] {{+{new}+}}\n" in result.stdout
    assert "0 unchanged" not in result.stdout and "2 unchanged, 1 changed" in result.stdout


def test_a_formula_reaches_the_card_untouched() -> None:
    text = r"\( a_1 * b_2 < c \) and \[ \frac{x}{y} \] cost $5, or *$10*"
    assert to_html(text) == (
        r"\( a_1 * b_2 &lt; c \) and \[ \frac{x}{y} \] cost $5, or <em>$10</em>"
    )


@settings(max_examples=1000, derandomize=True)
@given(
    st.text(alphabet=st.sampled_from(list("ab_*`\\{}<>&^$ 12()[]")), max_size=30).filter(
        lambda t: "\\)" not in t
    )
)
def test_whatever_a_formula_holds_reaches_the_card_as_written(tex: str) -> None:
    formula = f"\\( {tex} \\)"
    assert to_html(f"before *this* {formula} after") == (
        f"before <em>this</em> {escape(formula)} after"
    )


def test_a_picture_path_with_a_space_outside_angle_brackets_is_a_warning_with_the_fix(
    notes: Path,
) -> None:
    mlops = notes / "mlops.yaml"
    mlops.write_text(
        mlops.read_text().replace("<pictures/rollout ü.png>", "pictures/rollout ü.png", 1)
    )
    result = CliRunner().invoke(main, ["check", str(notes)])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"{mlops}:2:73: warning: this is not a picture, and the card shows it as text: a path"
        " with a space goes in angle brackets, ![blue-green](<pictures/rollout ü.png>)"
        " [picture-space]\n"
    )
    in_code = "`![blue-green](pictures/rollout ü.png)` is how not to write it"
    mlops.write_text(mlops.read_text() + f"- id: in-code\n  trap: '{in_code}'\n  reality: r\n")
    result = CliRunner().invoke(main, ["check", str(notes)])
    assert result.stderr.count("[picture-space]") == 1  # code is text, meant as it is


SVG_HEAD = b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'


def test_an_svg_that_runs_a_script_is_refused_and_nothing_written(notes: Path) -> None:
    """A card shows an SVG with <img>, where no script runs; but the file goes with every
    copy of a shared deck, and opened on its own it would run one: refused at the note
    that shows it, exit 1, no package and no lock."""
    (notes / "pictures" / "canary.svg").write_bytes(
        SVG_HEAD + b'<rect width="4" height="4"/><script>fetch("https://x.example")</script></svg>'
    )
    out = notes.parent / "dist" / "deck.apkg"
    result = CliRunner().invoke(main, ["build", str(notes), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"{notes / 'mlops.yaml'}:5:44: error: 'pictures/canary.svg' holds a <script> element,"
        " which runs a script or loads a page; a card would show it as a picture, where none"
        " runs, but the file goes with every copy of the deck: take it out, or save the"
        f" picture as PNG [picture-script]\n{notes}: 1 error; nothing written\n"
    )
    assert not out.exists() and not (notes / "deck.lock").exists()


@pytest.mark.parametrize(
    ("svg", "found"),
    [
        (b"<script>alert(1)</script>", "holds a <script> element"),
        (b'<rect onclick="alert(1)"/>', "has an 'onclick' attribute"),
        (b'<g><set attributeName="onmouseover" to="alert(1)"/></g>', "'attributeName'"),
        (b'<a xlink:href=" &#x6A;ava&#9;script:alert(1)"><rect/></a>', "a link (href)"),
        (b'<a><set attributeName="href" to="JavaScript:alert(1)"/></a>', "a link (to)"),
        (b'<animate attributeName="href" values="#a;javascript:x()"/>', "a link (values)"),
        (b'<a href="data:text/html,&lt;script&gt;x()&lt;/script&gt;"><rect/></a>', "a link"),
        (
            b'<foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" src="x"/>'
            b"</foreignObject>",
            "holds a <iframe> element",
        ),
    ],
)
def test_what_in_an_svg_runs_a_script_is_found(svg: bytes, found: str) -> None:
    from deckgen.media import svg_problem

    problem = svg_problem(SVG_HEAD + svg + b"</svg>")
    assert problem is not None and problem[0] == "picture-script" and found in problem[1]


@pytest.mark.parametrize(
    ("svg", "found"),
    [
        (SVG_HEAD + b"<rect></svg>", "mismatched tag"),
        (SVG_HEAD + b"<g>" * 1_000 + b"</g>" * 1_000 + b"</svg>", "over 1,000 deep"),
        (SVG_HEAD + b"<g>" * 600_000 + b"</g>" * 600_000 + b"</svg>", "over 1,000 deep"),
    ],
)
def test_an_svg_no_card_can_show_is_refused(svg: bytes, found: str) -> None:
    """Not well-formed XML, or nested past what any drawing is (and past it, reading it
    would cost memory with each level): refused, as a picture of no format deckgen ships."""
    from deckgen.media import svg_problem

    problem = svg_problem(svg)
    assert problem is not None and problem[0] == "picture-format" and found in problem[1]
    assert svg_problem(SVG_HEAD + b"<g>" * 999 + b"</g>" * 999 + b"</svg>") is None


def test_an_svg_of_drawing_programs_ships() -> None:
    """What drawing programs write (their own namespaces, an embedded raster picture, a
    link to a page, text in a foreignObject, words like 'metadata:') is no script."""
    from deckgen.media import svg_problem

    svg = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- Created with Inkscape -->\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        b' xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="40"'
        b' height="40" inkscape:label="metadata: the chart" viewBox="0 0 40 40">'
        b'<style>.a { fill: url(#g); }</style><image xlink:href="data:image/png;base64,iVBO"/>'
        b'<a href="https://example.org/docs"><text x="1" y="9">docs</text></a>'
        b'<foreignObject width="40" height="20"><div xmlns="http://www.w3.org/1999/xhtml">'
        b'text</div></foreignObject><path d="M0 0L4 4" opacity="0.5"/></svg>'
    )
    assert svg_problem(svg) is None


def test_an_svg_whose_entities_multiply_is_refused_at_once() -> None:
    from deckgen.media import svg_problem

    entities = "".join(f'<!ENTITY e{n} "{("&e" + str(n - 1) + ";") * 10}">' for n in range(1, 10))
    svg = f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY e0 "lol">{entities}]>'
    svg += '<svg xmlns="http://www.w3.org/2000/svg"><text>&e9;</text></svg>'
    problem = svg_problem(svg.encode())
    assert problem is not None and "amplification" in problem[1]
