"""The typed notes of a deck, as the user wrote them (text is Markdown, not yet HTML)."""

from __future__ import annotations

from typing import NamedTuple, TypeAlias


class Domain(NamedTuple):
    """An exam domain (or any part of a deck): a subdeck and a tag."""

    key: str
    name: str
    weight: int | None = None
    # Its Anki deck below the top deck, levels joined by `::` ("" for the top deck
    # itself); None: its name.
    deck: str | None = None

    @property
    def label(self) -> str:
        """How a card names its domain: `MLOps · 44% of exam`."""
        return self.name if self.weight is None else f"{self.name} · {self.weight}% of exam"

    def subdeck(self, deck_name: str) -> str:
        """The Anki deck its cards go to: `Databricks ML Professional::MLOps`, or one as
        deep as its `deck` says, or the top deck itself."""
        below = self.name if self.deck is None else self.deck
        return f"{deck_name}::{below}" if below else deck_name


# Each kind of note is an immutable tuple of named fields (made, for each note of a deck,
# in under half the time of a frozen dataclass; always by keyword). What every note has: a
# permanent id, a domain, tags, optional extra text, and a GUID only if it was kept from
# Anki for a note added there (else it is made from the id); each kind's own fields come
# first, as they have no default.


class Fact(NamedTuple):
    """A statement with cloze deletions on its key terms."""

    id: str
    domain: Domain
    text: str
    tags: tuple[str, ...] = ()
    extra: str = ""
    guid: str | None = None


class Trap(NamedTuple):
    """A tempting wrong belief and what is actually true."""

    id: str
    domain: Domain
    trap: str
    reality: str
    tags: tuple[str, ...] = ()
    extra: str = ""
    guid: str | None = None


class PairItem(NamedTuple):
    """One of the things a confusing pair tells apart."""

    name: str
    means: str


class Pair(NamedTuple):
    """Two or three things that are easy to confuse, and what tells them apart."""

    id: str
    domain: Domain
    items: tuple[PairItem, ...]
    difference: str
    tags: tuple[str, ...] = ()
    extra: str = ""
    guid: str | None = None


class Scenario(NamedTuple):
    """An exam-style situation, its answer, and the tempting distractor with why it is wrong."""

    id: str
    domain: Domain
    scenario: str
    answer: str
    distractor: str
    why_not: str
    tags: tuple[str, ...] = ()
    extra: str = ""
    guid: str | None = None


class Custom(NamedTuple):
    """A note of a type the deck declares: its text for each of the type's fields that it
    fills, by field name, as written (Markdown, or HTML for a type that holds HTML)."""

    id: str
    domain: Domain
    type: str  # the key of its note type (NoteType.kind)
    values: tuple[tuple[str, str], ...]
    tags: tuple[str, ...] = ()
    extra: str = ""
    guid: str | None = None


Note: TypeAlias = Fact | Trap | Pair | Scenario | Custom


def kind_of(note: Note) -> str:
    """The key of a note's note type: its kind's, or its declared type's."""
    return note.type if isinstance(note, Custom) else _KINDS[type(note)]


_KINDS: dict[type, str] = {Fact: "fact", Trap: "trap", Pair: "pair", Scenario: "scenario"}
