"""`deckgen preview`: every card as Anki itself renders it, on one static page.

The package is built in memory and imported into a throwaway collection with the `anki`
library (Anki's own Rust engine), and each card's question and answer HTML is taken
from there, so the page cannot drift from what Anki shows.
"""

from __future__ import annotations

import html
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from deckgen import package
from deckgen.build import Build
from deckgen.markup import FORMULA, visible_text
from deckgen.media import NAME_PATTERN
from deckgen.notetypes import NoteType
from deckgen.records import without_mark

ASSETS = ("preview.css", "preview.js")


class AnkiMissing(Exception):
    """The optional `anki` library, which renders the cards, is not installed."""


@dataclass(frozen=True)
class CardView:
    template: str
    question: str
    answer: str


@dataclass(frozen=True)
class NoteView:
    note_id: str
    kind: str
    domain: str
    tags: tuple[str, ...]
    cards: tuple[CardView, ...]


@dataclass(frozen=True)
class Preview:
    notes: tuple[NoteView, ...]
    # The note types' stylesheets, as Anki stores them: deckgen's, for the page; each
    # declared type's, for its own cards only (the key of its type).
    css: tuple[tuple[str, str], ...]


def render(build: Build, note_types: Mapping[str, NoteType] | None = None) -> Preview:
    """Import the build into a temporary collection and take Anki's rendering of each card."""
    note_types = build.note_types if note_types is None else note_types
    try:
        from anki.collection import (
            Collection,
            ImportAnkiPackageOptions,
            ImportAnkiPackageRequest,
        )
        from anki.notes import NoteId
    except ImportError as error:
        raise AnkiMissing(str(error)) from error

    with tempfile.TemporaryDirectory(prefix="deckgen-preview-") as work:
        apkg = Path(work) / "deck.apkg"
        package.write(build.deck, build.revision, apkg, note_types)
        col = Collection(str(Path(work) / "collection.anki2"))
        try:
            request = ImportAnkiPackageRequest(
                package_path=str(apkg), options=ImportAnkiPackageOptions()
            )
            col.import_anki_package(request)
            assert col.db is not None
            note_ids: dict[str, NoteId] = {
                guid: NoteId(nid) for guid, nid in col.db.all("select guid, id from notes")
            }
            notes = []
            css: dict[tuple[str, str], None] = {}
            for record in build.deck.records():
                note = col.get_note(note_ids[record.guid])
                note_type = note.note_type()
                assert note_type is not None
                own = note_types[record.kind]
                css[record.kind if own.declared else "", note_type["css"]] = None
                is_cloze = own.is_cloze
                cards = tuple(
                    CardView(
                        f"Cloze {card.ord + 1}"
                        if is_cloze
                        else note_type["tmpls"][card.ord]["name"],
                        _body(card.question()),
                        _body(card.answer()),
                    )
                    for card in sorted(note.cards(), key=lambda c: c.ord)
                )
                notes.append(
                    NoteView(record.note_id, record.kind, record.domain, record.tags, cards)
                )
        finally:
            col.close()
    return Preview(tuple(notes), tuple(css))


def _body(rendered: str) -> str:
    """A side's HTML without the stylesheet Anki puts in front of it (the page has it
    once), nor the fingerprint the Domain field carries (no one sees it on a card); its
    pictures from the page's `media/` folder, and each formula's TeX in a math style (the
    page has no MathJax: it works offline)."""
    side = re.sub(r"\A<style>.*?</style>", "", rendered, count=1, flags=re.DOTALL)
    side = _PICTURE.sub(r'<img src="media/\1"', without_mark(side))
    return FORMULA.sub(r'<span class="pv-tex">\g<0></span>', side).strip()


# A picture deckgen ships, as a card refers to it.
_PICTURE = re.compile(f'<img src="({NAME_PATTERN})"')


def write_site(build: Build, preview: Preview, out: Path) -> Path:
    """Write index.html and its assets into `out`; return the page's path."""
    out.mkdir(parents=True, exist_ok=True)
    assets = out / "assets"
    assets.mkdir(exist_ok=True)
    for name in ASSETS:
        source = resources.files("deckgen") / "templates" / "preview" / name
        (assets / name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (assets / "cards.css").write_text(_stylesheet(preview), encoding="utf-8")
    if build.deck.pictures:
        media = out / "media"
        media.mkdir(exist_ok=True)
        for picture in build.deck.pictures:
            shutil.copyfile(picture.path, media / picture.name)
    page = Template(_asset("index.html")).substitute(
        title=html.escape(build.deck.name),
        summary=html.escape(_summary(preview)),
        body=_body_html(build, preview),
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _stylesheet(preview: Preview) -> str:
    """The cards' CSS: deckgen's for the page, each declared type's nested in its own
    cards' class, so that one type's `.card` rules do not style another's cards."""
    return "\n".join(
        f".pv-type-{scope} {{\n{css}\n}}" if scope else css for scope, css in preview.css
    )


def _asset(name: str) -> str:
    return (resources.files("deckgen") / "templates" / "preview" / name).read_text(encoding="utf-8")


def _summary(preview: Preview) -> str:
    notes = Counter(n.kind for n in preview.notes)
    cards = Counter(n.kind for n in preview.notes for _ in n.cards)
    by_kind = ", ".join(f"{cards[k]} {k}" for k in notes)
    return f"{len(preview.notes)} notes, {sum(cards.values())} cards ({by_kind})"


_KIND_TITLES = {
    "fact": "Facts",
    "trap": "Traps",
    "pair": "Confusing pairs",
    "scenario": "Scenarios",
}


def _body_html(build: Build, preview: Preview) -> str:
    parts = []
    titles = {
        **_KIND_TITLES,
        **{kind: t.name for kind, t in build.deck.note_types.items() if t.declared},
    }
    for domain in build.deck.domains:
        in_domain = [n for n in preview.notes if n.domain == domain.key]
        if not in_domain:
            continue
        parts.append(f'<section class="pv-domain" data-domain="{_attr(domain.key)}">')
        deck = domain.subdeck(build.deck.name)
        parts.append(f"<h2>{html.escape(domain.label)} <small>{html.escape(deck)}</small></h2>")
        for kind, title in titles.items():
            of_kind = [n for n in in_domain if n.kind == kind]
            if not of_kind:
                continue
            cards = sum(len(n.cards) for n in of_kind)
            parts.append(f'<section class="pv-kind" data-kind="{kind}">')
            parts.append(f"<h3>{title} <small>{len(of_kind)} notes, {cards} cards</small></h3>")
            parts += [_note_html(note) for note in of_kind]
            parts.append("</section>")
        parts.append("</section>")
    return "\n".join(parts)


def _note_html(note: NoteView) -> str:
    anchor = f"note-{note.note_id}"
    text = " ".join(
        [
            note.note_id,
            *(visible_text(c.question) + " " + visible_text(c.answer) for c in note.cards),
        ]
    ).lower()
    tags = " ".join(note.tags)
    lines = [
        f'<article class="pv-note" id="{anchor}" data-kind="{note.kind}"'
        f' data-domain="{_attr(note.domain)}" data-tags="{_attr(tags.lower())}"'
        f' data-text="{_attr(text)}">',
        f'<header class="pv-meta"><a class="pv-id" href="#{anchor}">{html.escape(note.note_id)}</a>'
        f' <span class="pv-tags">{html.escape(tags)}</span></header>',
    ]
    for card in note.cards:
        lines.append(
            f'<div class="pv-sides pv-type-{_attr(note.kind)}"'
            f' data-template="{_attr(card.template)}">'
            f'<p class="pv-template">{html.escape(card.template)}</p>'
            f'<figure class="pv-side"><figcaption>Front</figcaption>'
            f'<div class="card">{card.question}</div></figure>'
            f'<figure class="pv-side"><figcaption>Back</figcaption>'
            f'<div class="card">{card.answer}</div></figure></div>'
        )
    lines.append("</article>")
    return "\n".join(lines)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)
