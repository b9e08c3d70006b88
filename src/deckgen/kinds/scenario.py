"""scenario: an exam question, its answer, the distractor to avoid and why it is wrong."""

from __future__ import annotations

from deckgen.notes import Scenario
from deckgen.shapes import Checker, Entries, Fields

KEYS = ("scenario", "answer", "distractor", "why_not")
NOTE = Scenario


def check(checker: Checker, entries: Entries) -> Fields | None:
    scenario, answer, distractor, why_not = (checker.text(entries, key) for key in KEYS)
    if scenario is None or answer is None or distractor is None or why_not is None:
        return None
    if answer.strip() == distractor.strip():
        message = "the distractor is the same as the answer: the card could not be answered"
        checker.report(entries["distractor"][1].position, "same-options", message)
        return None
    return {"scenario": scenario, "answer": answer, "distractor": distractor, "why_not": why_not}
