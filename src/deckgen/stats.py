"""Counts of notes and cards by domain and kind (or declared note type), for `deckgen
stats` and the build summary."""

from __future__ import annotations

from collections import Counter

from deckgen.kinds import KINDS
from deckgen.records import Deck

KIND_NAMES = tuple(KINDS)


def notes_by(deck: Deck) -> Counter[tuple[str, str]]:
    """Notes per (domain key, kind)."""
    return Counter({key: notes for key, (notes, _) in deck.counts.items()})


def cards_by(deck: Deck) -> Counter[tuple[str, str]]:
    """Cards per (domain key, kind), as Anki will generate them."""
    return Counter({key: cards for key, (_, cards) in deck.counts.items()})


def columns(deck: Deck) -> list[tuple[str, str]]:
    """The kinds and types to count, as (key, label): the four kinds, for a deck of them
    alone; else each kind and declared type that has notes."""
    declared = [(kind, t.name) for kind, t in deck.note_types.items() if t.declared]
    if not declared:
        return [(kind, kind) for kind in KIND_NAMES]
    used = {kind for (_, kind), (notes, _) in deck.counts.items() if notes}
    return [
        (kind, label) for kind, label in [*((k, k) for k in KIND_NAMES), *declared] if kind in used
    ]


def summary(deck: Deck) -> str:
    """`8 notes (2 fact, ...), 14 cards (3 fact, ...)`: one line for the end of a build."""
    notes: Counter[str] = Counter()
    cards: Counter[str] = Counter()
    for (_, kind), (note_count, card_count) in deck.counts.items():
        notes[kind] += note_count
        cards[kind] += card_count
    shown = columns(deck)

    def by_kind(counts: Counter[str], noun: str) -> str:
        parts = ", ".join(f"{counts[kind]} {label}" for kind, label in shown)
        return f"{sum(counts.values())} {noun} ({parts})"

    return f"{by_kind(notes, 'notes')}, {by_kind(cards, 'cards')}"


def table(deck: Deck) -> str:
    """Notes by domain and kind, with each domain's cards; one row per domain and a total."""
    notes, cards = notes_by(deck), cards_by(deck)
    shown = columns(deck)
    kinds = [kind for kind, _ in shown]
    labels = [f"{label}s" if label in KIND_NAMES else label for _, label in shown]
    header = ["Domain", *labels, "notes", "cards"]
    rows = []
    for domain in deck.domains:
        counts = [notes[domain.key, kind] for kind in kinds]
        domain_cards = sum(cards[domain.key, kind] for kind in kinds)
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
