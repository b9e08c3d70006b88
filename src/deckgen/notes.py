"""The typed notes of a deck, as the user wrote them (text is Markdown, not yet HTML)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple, TypeAlias


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


@dataclass(frozen=True, kw_only=True)
class NoteBase:
    """What every note has: a permanent id, a domain, tags and optional extra text."""

    kind: ClassVar[str]

    id: str
    domain: Domain
    tags: tuple[str, ...] = ()
    extra: str = ""
    guid: str | None = None  # kept from Anki for a note added there; else made from the id


@dataclass(frozen=True, kw_only=True)
class Fact(NoteBase):
    """A statement with cloze deletions on its key terms."""

    kind: ClassVar[str] = "fact"

    text: str


@dataclass(frozen=True, kw_only=True)
class Trap(NoteBase):
    """A tempting wrong belief and what is actually true."""

    kind: ClassVar[str] = "trap"

    trap: str
    reality: str


class PairItem(NamedTuple):
    """One of the things a confusing pair tells apart."""

    name: str
    means: str


@dataclass(frozen=True, kw_only=True)
class Pair(NoteBase):
    """Two or three things that are easy to confuse, and what tells them apart."""

    kind: ClassVar[str] = "pair"

    items: tuple[PairItem, ...]
    difference: str


@dataclass(frozen=True, kw_only=True)
class Scenario(NoteBase):
    """An exam-style situation, its answer, and the tempting distractor with why it is wrong."""

    kind: ClassVar[str] = "scenario"

    scenario: str
    answer: str
    distractor: str
    why_not: str


@dataclass(frozen=True, kw_only=True)
class Custom(NoteBase):
    """A note of a type the deck declares: its text for each of the type's fields that it
    fills, by field name, as written (Markdown, or HTML for a type that holds HTML)."""

    kind: ClassVar[str] = "custom"

    type: str  # the key of its note type (NoteType.kind)
    values: tuple[tuple[str, str], ...]


Note: TypeAlias = Fact | Trap | Pair | Scenario | Custom


def kind_of(note: Note) -> str:
    """The key of a note's note type: its kind's, or its declared type's."""
    return note.type if isinstance(note, Custom) else note.kind
