"""`deckgen preview`: one entry per card, rendered by Anki, escaped, styled, offline."""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ONE_OF_EACH, REPO, load, write_notes

from deckgen import stats
from deckgen.cli import main

HOSTILE = """\
- id: hostile
  trap: <script>alert(1)</script> and <img src=x onerror=alert(2)>
  reality: "[link](javascript:alert(3))"
"""


class Page(HTMLParser):
    """The parts of the page the tests look at: elements by class, scripts, links."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.classes: dict[str, int] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        for name in (dict(attrs).get("class") or "").split():
            self.classes[name] = self.classes.get(name, 0) + 1


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    notes = write_notes(tmp_path / "notes", {**ONE_OF_EACH, "general.yaml": HOSTILE})
    result = CliRunner().invoke(main, ["preview", str(notes), "-o", "site"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "Wrote site/index.html: 5 notes, 9 cards\n"
    return tmp_path / "site"


def test_one_entry_per_card_with_front_and_back(site: Path) -> None:
    page = Page((site / "index.html").read_text())
    assert page.classes["pv-sides"] == 9
    assert page.classes["pv-side"] == 18
    assert page.classes["pv-note"] == 5
    templates = [a["data-template"] for t, a in page.tags if "pv-sides" in (a.get("class") or "")]
    assert templates == [
        "Cloze 1",
        "Cloze 2",
        "Reality check",
        "Compare",
        "Which is it? 1",
        "Which is it? 2",
        "Which is it? 3",
        "Exam question",
        "Reality check",
    ]


def test_every_note_has_an_anchor_its_id_and_tags(site: Path) -> None:
    text = (site / "index.html").read_text()
    assert '<article class="pv-note" id="note-three-tests" data-kind="pair"' in text
    assert '<a class="pv-id" href="#note-three-tests">three-tests</a>' in text
    assert '<span class="pv-tags">domain::mlops kind::pair</span>' in text
    assert '<p class="pv-summary">5 notes, 9 cards (2 fact, 2 trap, 4 pair, 1 scenario)</p>' in text


def test_cards_are_fully_rendered_by_anki(site: Path) -> None:
    text = (site / "index.html").read_text()
    assert "{{" not in text and "}}" not in text
    for error in ("no field called", "has a problem", "Error in card template"):
        assert error not in text
    assert '<span class="cloze" data-cloze="REFRESH" data-ordinal="1">[...]</span>' in text
    css = (site / "assets" / "cards.css").read_text()
    assert ".nightMode" in css and ".deckgen" in css
    # The fingerprint every note carries in its Domain field is not shown.
    assert "<!--deckgen" not in text and "MLOps · 44% of exam" in text


def test_raw_html_from_notes_is_escaped(site: Path) -> None:
    text = (site / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    page = Page(text)
    assert [a.get("src") for t, a in page.tags if t == "script"] == ["assets/preview.js"]
    assert not any(t in ("img", "iframe") or "onerror" in a for t, a in page.tags)
    assert not any((a.get("href") or "").startswith("javascript:") for _, a in page.tags)


def test_the_page_needs_no_network(site: Path) -> None:
    files = [p for p in site.rglob("*") if p.is_file()]
    assert sorted(p.relative_to(site).as_posix() for p in files) == [
        "assets/cards.css",
        "assets/preview.css",
        "assets/preview.js",
        "index.html",
    ]
    for file in files:
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", file.read_text()), file


def test_the_repo_deck_previews_every_card(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["preview", str(REPO / "notes"), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    cards = sum(stats.cards_by(load(REPO / "notes")).values())
    assert Page((tmp_path / "index.html").read_text()).classes["pv-sides"] == cards


@pytest.mark.parametrize(
    ("prefix", "advice"),
    [
        ("/home/me/.local/share/pipx/venvs/deckgen-anki", "pipx inject deckgen-anki 'anki>=25.2'"),
        (
            "/home/me/.local/share/uv/tools/deckgen-anki",
            "uv tool install --reinstall --with 'anki>=25.2' <where you installed deckgen from>",
        ),
        ("/home/me/deck/.venv", "{python} -m pip install 'anki>=25.2'"),
    ],
    ids=["pipx", "uv", "venv"],
)
def test_without_anki_it_says_how_to_add_it_to_this_install(
    site: Path, monkeypatch: pytest.MonkeyPatch, prefix: str, advice: str
) -> None:
    monkeypatch.setitem(sys.modules, "anki.collection", None)
    monkeypatch.setattr(sys, "prefix", prefix)
    result = CliRunner().invoke(main, ["preview", "notes", "-o", "elsewhere"])
    assert result.exit_code == 3  # an optional part missing, as the README says
    assert result.stderr.endswith(
        " package, which is not installed (import of anki.collection halted; None in"
        f" sys.modules). Add it with:\n  {advice.format(python=sys.executable)}\n"
    )
    assert not Path("elsewhere").exists()


def test_open_with_no_browser_to_open_says_so(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")  # no xdg-open, no browser
    result = CliRunner().invoke(main, ["preview", "notes", "-o", "page", "--open"])
    assert result.exit_code == 0
    page = (Path("page") / "index.html").resolve().as_uri()
    assert result.stderr == f"No browser could be opened here: open {page} in one\n"


def test_pictures_are_shown_from_the_page_and_formulas_set_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shown = (
        "- id: shown\n"
        "  fact: '{{c1::Canary}} ![traffic](<pictures/a b.svg>) and \\( 0 \\le JS \\le 1 \\)'\n"
    )
    notes = write_notes(tmp_path / "notes", {"mlops.yaml": shown})
    (notes / "pictures").mkdir()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect/></svg>'
    (notes / "pictures" / "a b.svg").write_bytes(svg)
    result = CliRunner().invoke(main, ["preview", str(notes), "-o", "site"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "site" / "index.html").read_text()
    [name] = [p.name for p in (tmp_path / "site" / "media").iterdir()]
    assert (tmp_path / "site" / "media" / name).read_bytes() == svg
    assert re.fullmatch(r"a-b\.[0-9a-f]{8}\.svg", name)
    assert page.count(f'<img src="media/{name}" alt="traffic">') == 2  # front and back
    assert page.count('<span class="pv-tex">\\( 0 \\le JS \\le 1 \\)</span>') == 2


def test_the_page_is_never_written_over_a_folder_of_ones_own(site: Path) -> None:
    """`-o` naming a folder that holds files and no page of deckgen's (a site of one's
    own, the notes): exit 1, nothing written there; a folder with deckgen's page in it
    (the one written above, a large one too) is written again."""
    notes = site.parent / "notes"
    own = site.parent / "own-site"
    own.mkdir()
    (own / "index.html").write_text("<p>My own page</p>\n", encoding="utf-8")
    for folder in (own, notes):
        before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        result = CliRunner().invoke(main, ["preview", str(notes), "-o", str(folder)])
        assert result.exit_code == 1, result.output
        assert f"Error: {folder}: the folder holds files, and no page of deckgen's" in result.stderr
        assert result.stderr.endswith("; nothing written\n")
        assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    index = site / "index.html"
    index.write_text(index.read_text(encoding="utf-8") + " " * 100_000, encoding="utf-8")
    result = CliRunner().invoke(main, ["preview", str(notes), "-o", str(site)])
    assert result.exit_code == 0, result.output
