"""The rules of each kind of note, a module each: its YAML keys, what they must hold, and
the typed note they make. validate.py runs them."""

from __future__ import annotations

from typing import Protocol

from deckgen.kinds import fact, pair, scenario, trap
from deckgen.notes import Note
from deckgen.shapes import Checker, Entries, Fields


class Rules(Protocol):
    """What each kind's module has."""

    KEYS: tuple[str, ...]  # its YAML keys; the first names the kind
    NOTE: type[Note]

    def check(self, checker: Checker, entries: Entries) -> Fields | None:
        """The note's own fields, if they are as its kind needs them; problems reported."""
        ...


# In the order the README lists them.
KINDS: dict[str, Rules] = {module.KEYS[0]: module for module in (fact, trap, pair, scenario)}
