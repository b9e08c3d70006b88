"""`deckgen preview`: every card as Anki itself renders it, on one static page.

The package is built in memory and imported into a throwaway collection with the `anki`
library (Anki's own Rust engine), and each card's question and answer HTML is taken
from there, so the page cannot drift from what Anki shows.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from string import Template

from deckgen import package
from deckgen.build import Build
from deckgen.files import read_head, scratch_dir
from deckgen.markup import FORMULA, visible_text
from deckgen.media import NAME_PATTERN
from deckgen.notetypes import NoteType
from deckgen.records import Record, without_mark

ASSETS = ("preview.css", "preview.js")
SERVED = (*ASSETS, "watch.js")  # by preview --watch, which keeps the page up to date


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
    with Renderer() as renderer:
        notes, css = renderer.render(build, list(build.deck.records()), note_types)
    return Preview(tuple(notes), css)


class Renderer:
    """A throwaway collection that cards are rendered in: notes are imported into it as
    Anki imports a package (one deckgen wrote), and each card's question and answer
    taken from there. Kept between renders by `preview --watch`, which imports only the
    notes that changed; each import newer than the last, so that Anki updates them."""

    def __init__(self) -> None:
        try:
            from anki.collection import Collection
        except ImportError as error:
            raise AnkiMissing(str(error)) from error
        self.work = tempfile.TemporaryDirectory(prefix="deckgen-preview-")
        self.col = Collection(str(Path(self.work.name) / "collection.anki2"))
        self.clock = 0  # the time of the last import: each is newer

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.col.close()
        self.work.cleanup()

    def render(
        self,
        build: Build,
        records: Sequence[Record],
        note_types: Mapping[str, NoteType] | None = None,
    ) -> tuple[list[NoteView], tuple[tuple[str, str], ...]]:
        """The notes of these records (of the build's deck), each card as Anki renders
        it; and the stylesheets of their note types (deckgen's, and each declared one's
        by its key)."""
        from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
        from anki.notes import NoteId

        note_types = build.note_types if note_types is None else note_types
        self.clock = max(self.clock + 1, int(time.time()))
        apkg = Path(self.work.name) / "deck.apkg"
        with scratch_dir() as work:
            mods = dict.fromkeys(note_types, self.clock)
            writer = package.Writer(work / "collection.anki2", build.deck, mods, note_types)
            try:
                writer.add(records, [self.clock] * len(records))
                writer.finish(replace(build.revision, tombstones=()), build.deck.pictures, apkg)
            finally:
                writer.close()
        request = ImportAnkiPackageRequest(
            package_path=str(apkg), options=ImportAnkiPackageOptions()
        )
        self.col.import_anki_package(request)
        self.col.models._clear_cache()  # (its note types as the import left them)
        assert self.col.db is not None
        note_ids: dict[str, NoteId] = {
            guid: NoteId(nid) for guid, nid in self.col.db.all("select guid, id from notes")
        }
        notes = []
        css: dict[tuple[str, str], None] = {}
        for record in records:
            note = self.col.get_note(note_ids[record.guid])
            note_type = note.note_type()
            assert note_type is not None
            own = note_types[record.kind]
            css[record.kind if own.declared else "", note_type["css"]] = None
            # (Cards the note made in an earlier import, and no longer makes, are left out.)
            cards = tuple(
                CardView(
                    f"Cloze {card.ord + 1}"
                    if own.is_cloze
                    else note_type["tmpls"][card.ord]["name"],
                    _body(card.question()),
                    _body(card.answer()),
                )
                for card in sorted(note.cards(), key=lambda c: c.ord)
                if card.ord in record.ords
            )
            notes.append(NoteView(record.note_id, record.kind, record.domain, record.tags, cards))
        return notes, tuple(css)


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


def not_a_preview(out: Path) -> str | None:
    """Why the page may not be written into `out`, if it may not: a folder that holds
    files and no page of deckgen's (a site of one's own, the notes), whose index.html,
    assets/ and media/ it would write over."""
    try:
        if not out.is_dir() or not any(out.iterdir()):
            return None
        index = out / "index.html"
        head = read_head(index, 4096) if os.path.lexists(index) else b""
    except OSError as error:
        return f"cannot write into it: {error.strerror or error}"
    if _OURS in head:
        return None
    return (
        "the folder holds files, and no page of deckgen's: the page would write over its"
        " index.html, assets/ and media/; give an empty or new folder"
    )


# What every page deckgen writes has in its head (a folder holding one is deckgen's).
_OURS = b'<link rel="stylesheet" href="assets/preview.css">'


def write_site(build: Build, preview: Preview, out: Path) -> Path:
    """Write index.html and its assets into `out`; return the page's path."""
    out.mkdir(parents=True, exist_ok=True)
    assets = out / "assets"
    assets.mkdir(exist_ok=True)
    for name in ASSETS:
        (assets / name).write_text(asset(name), encoding="utf-8")
    (assets / "cards.css").write_text(stylesheet(preview), encoding="utf-8")
    if build.deck.pictures:
        media = out / "media"
        media.mkdir(exist_ok=True)
        for picture in build.deck.pictures:
            shutil.copyfile(picture.path, media / picture.name)
    index = out / "index.html"
    index.write_text(
        page(build.deck.name, summary(preview), body_html(build, preview)), encoding="utf-8"
    )
    return index


def page(
    title: str, summary: str, body: str, *, watch: int | None = None, errors: Sequence[str] = ()
) -> str:
    """The page around the cards. `watch`: the version of the notes it shows, served by
    preview --watch, which keeps it up to date (and shows the notes' `errors` above the
    cards until they are fixed)."""
    scripts = '<script src="assets/preview.js"></script>'
    shown = ""
    if watch is not None:
        scripts += f'\n<script src="assets/watch.js" data-version="{watch}"></script>'
        items = "".join(f"<li>{html.escape(error)}</li>" for error in errors)
        hidden = "" if errors else " hidden"
        shown = f'<ul id="pv-errors" class="pv-errors" role="alert"{hidden}>{items}</ul>'
    return Template(asset("index.html")).substitute(
        title=html.escape(title),
        summary=html.escape(summary),
        errors=shown,
        body=body,
        scripts=scripts,
    )


def stylesheet(preview: Preview) -> str:
    """The cards' CSS: deckgen's for the page, each declared type's nested in its own
    cards' class, so that one type's `.card` rules do not style another's cards."""
    return "\n".join(
        f".pv-type-{scope} {{\n{css}\n}}" if scope else css for scope, css in preview.css
    )


def asset(name: str) -> str:
    return (resources.files("deckgen") / "templates" / "preview" / name).read_text(encoding="utf-8")


def summary(preview: Preview) -> str:
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


def body_html(build: Build, preview: Preview) -> str:
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
            parts += [note_html(note) for note in of_kind]
            parts.append("</section>")
        parts.append("</section>")
    return "\n".join(parts)


def note_html(note: NoteView) -> str:
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
