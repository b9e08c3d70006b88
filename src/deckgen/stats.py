"""Counts of notes and cards by domain and kind, for `deckgen stats` and the build summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from deckgen.notes import KINDS
from deckgen.records import Deck, Record

KIND_NAMES = tuple(kind.kind for kind in KINDS)


def notes_by(deck: Deck) -> Counter[tuple[str, str]]:
    """Notes per (domain key, kind)."""
    return Counter((record.domain, record.kind) for record in deck.records())


def cards_by(deck: Deck) -> Counter[tuple[str, str]]:
    """Cards per (domain key, kind), as Anki will generate them."""
    cards: Counter[tuple[str, str]] = Counter()
    for record in deck.records():
        cards[record.domain, record.kind] += len(record.ords)
    return cards


def summary(records: Iterable[Record]) -> str:
    """`8 notes (2 fact, ...), 14 cards (3 fact, ...)`: one line for the end of a build."""
    notes: Counter[str] = Counter()
    cards: Counter[str] = Counter()
    for record in records:
        if not record.retired:
            notes[record.kind] += 1
            cards[record.kind] += len(record.ords)

    def by_kind(counts: Counter[str], noun: str) -> str:
        parts = ", ".join(f"{counts[kind]} {kind}" for kind in KIND_NAMES)
        return f"{sum(counts.values())} {noun} ({parts})"

    return f"{by_kind(notes, 'notes')}, {by_kind(cards, 'cards')}"


def table(deck: Deck) -> str:
    """Notes by domain and kind, with each domain's cards; one row per domain and a total."""
    notes, cards = notes_by(deck), cards_by(deck)
    header = ["Domain", *(f"{kind}s" for kind in KIND_NAMES), "notes", "cards"]
    rows = []
    for domain in deck.domains:
        counts = [notes[domain.key, kind] for kind in KIND_NAMES]
        domain_cards = sum(cards[domain.key, kind] for kind in KIND_NAMES)
        rows.append([domain.name, *map(str, counts), str(sum(counts)), str(domain_cards)])
    totals = [sum(int(row[i]) for row in rows) for i in range(1, len(header))]
    rows.append(["Total", *map(str, totals)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *map(line, rows[:-1]), rule, line(rows[-1])])
