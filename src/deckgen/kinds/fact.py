"""fact: a statement whose key terms are clozes, `{{c1::term}}`: a card per cloze number."""

from __future__ import annotations

import re

from deckgen.notes import Fact
from deckgen.shapes import Checker, Entries, Fields
from deckgen.source import Scalar

KEYS = ("fact",)
NOTE = Fact


def check(checker: Checker, entries: Entries) -> Fields | None:
    text = checker.text(entries, "fact")
    if text is None:
        return None
    node = entries["fact"][1]
    assert type(node) is Scalar  # text() said so
    clozes = checker.clozes(node)
    if clozes is None:
        return None
    if not clozes.numbers:
        term = max(re.findall(r"\w+", text), key=len, default="term")  # of its own words
        message = f"a fact needs at least one cloze on its key term, e.g. {{{{c1::{term}}}}}"
        checker.report(node.position, "cloze-missing", message)
        return None
    return {"text": text}
