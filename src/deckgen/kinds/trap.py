"""trap: a tempting wrong belief, and the reality: one card, the trap asking for the reality."""

from __future__ import annotations

from deckgen.notes import Trap
from deckgen.shapes import Checker, Entries, Fields

KEYS = ("trap", "reality")
NOTE = Trap


def check(checker: Checker, entries: Entries) -> Fields | None:
    trap, reality = checker.text(entries, "trap"), checker.text(entries, "reality")
    if trap is None or reality is None:
        return None
    return {"trap": trap, "reality": reality}
