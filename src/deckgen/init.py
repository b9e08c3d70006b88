"""`deckgen init`: a deck of one's own, ready to edit: a deck.yaml and one note of each kind,
each with a comment saying what its cards will look like."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from deckgen import schema
from deckgen.files import made_folders, write_all
from deckgen.notetypes import NOTE_TYPES, NoteType
from deckgen.shapes import slug_of
from deckgen.yamledit import one_line

DOMAIN = "first-domain"

_DECK = """\
# The deck: its name in Anki, its permanent key, and its domains in study order.
# `key` is the namespace of every note's GUID: never change it once the deck is shared,
# even to rename the deck.
name: {name}
key: {key}
description: My notes for the exam, kept in YAML and built into Anki cards with deckgen.
domains:
  # Each domain is a subdeck and a tag, `domain::<key>`; its notes are in <key>.yaml beside
  # this file. List the exam's domains in the order to study them, with their weights.
  - key: {domain}
    name: First Domain
    weight: 100   # % of the exam, shown on every card (optional)
# The tags notes may use, besides the domain:: and kind:: tags deckgen adds itself, one per
# line, e.g. `  - topic::networking`. A tag not listed here is an error, so a typo cannot
# split a topic in two. (Remove `tags` altogether to allow any.)
tags: []
# Notes that are none of deckgen's four kinds (a term and its definition, say) may be of
# note types the deck declares: any fields, card templates and CSS (see the README's
# "Note types of your own"). For example:
# note_types:
#   - name: Vocabulary
#     fields: [Word, Meaning]
#     templates:
#       - name: Recognise
#         front: "{{{{Word}}}}"
#         back: "{{{{FrontSide}}}}<hr id=answer>{{{{Meaning}}}}"
# and a note of it: `- {{id: ubiquitous, type: Vocabulary, Word: ubiquitous, Meaning: all over}}`
"""

_NOTES = """\
# The notes of the domain "First Domain", one per item, in the order to study them. Each
# has an `id`: a slug, unique in the deck, that must never change once the deck is shared
# (it is the note's identity in Anki). Text is Markdown: `code`, **bold**, *emphasis*.

# A fact: a statement with its key terms in clozes. One card per cloze number: it hides
# that term, `[...]`, and asks for it.
- id: spacing-beats-cramming
  fact: >-
    Reviews spread over days ({{c1::spaced repetition}}) are remembered far longer than
    the same time spent {{c2::cramming}} the night before

# A trap: a tempting wrong belief, and the reality. One card: it shows the trap and asks
# for the reality.
- id: rereading-is-not-studying
  trap: Re-reading the notes until they feel familiar
  reality: >-
    Familiarity is not recall. Answer from memory first, then check: retrieving an
    answer is what makes it stick.

# A confusing pair: 2 or 3 things that are easy to mix up. A Compare card (how do they
# differ?), and a Which-is-it card per item: its meaning, the names hidden.
- id: recall-vs-recognition
  pair:
    - name: Recall
      means: Producing the answer from memory, with nothing to choose from.
    - name: Recognition
      means: Picking the answer out of options that are shown.
  difference: Producing an answer versus picking one; exams reward the first.

# A scenario: an exam-style question, its answer, and the tempting distractor. One card:
# both as options A and B, in an order fixed per note; the back marks the answer and says
# why the other is wrong.
- id: ten-minutes-left
  scenario: Ten minutes before the exam, with a stack of cards not yet reviewed.
  answer: Review the cards you keep missing, answering from memory.
  distractor: Read through the whole stack once more.
  why_not: >-
    Reading feels productive but tests nothing; the cards you miss are where the points
    are.
"""


# Beside the notes: what a build makes, which git need not keep.
GITIGNORE = """\
# What deckgen makes from the notes: the package and preview, and its cache.
dist/
.deckgen_cache/
"""


WORKFLOW = Path(".github") / "workflows" / "deck.yml"


def beside(folder: Path) -> dict[Path, str]:
    """What init writes beside the notes folder (in its parent, a repository's root),
    where there is none yet (one the user has is theirs, left as it is): a .gitignore
    for what builds make, and the workflow that checks, builds and releases the deck."""
    root = folder.absolute().parent
    files: dict[Path, str] = {}
    if not os.path.lexists(root / ".gitignore"):
        files[root / ".gitignore"] = GITIGNORE
    if not os.path.lexists(root / WORKFLOW):
        files[root / WORKFLOW] = workflow(folder.name)
    return files


# Read with the module, as every template is read before init writes anything: nothing
# of deckgen's own is read between deciding what to write and writing it.
_WORKFLOW = (Path(__file__).parent / "templates" / "deck-workflow.yml").read_text("utf-8")


def workflow(notes: str) -> str:
    """The workflow, for a notes folder of this name at the repository's root: deckgen
    installed as this version, under its own distribution name."""
    from deckgen import __version__

    return _WORKFLOW.replace("@NOTES@", notes).replace("@INSTALL@", f"deckgen-anki=={__version__}")


class _Deck(NamedTuple):
    name: str
    tags: frozenset[str] | None
    note_types: Mapping[str, NoteType]


class InitError(Exception):
    """What init refuses, in the user's words."""


def init(folder: Path, name: str, key: str | None) -> list[Path]:
    """Write a new deck into `folder` (and beside it a .gitignore and a workflow, where
    there are none); the files written. Refuses a folder that holds notes already,
    writing nothing."""
    for above in [folder, *folder.parents]:
        if os.path.lexists(above) and not above.is_dir():
            where = "is" if above == folder else f"lies below {above}, which is"
            raise InitError(f"{folder} {where} a file, not a folder")
    if folder.is_dir() and any(
        p.suffix in (".yaml", ".yml") or p.name == "deck.lock" for p in folder.rglob("*")
    ):
        raise InitError(
            f"{folder} already holds notes: deckgen init starts a new deck, and leaves"
            " existing notes alone (name another folder)"
        )
    key = key if key is not None else slug(name)
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", key):
        raise InitError(
            f"the key '{key}' is not a slug: lowercase letters, digits and single hyphens,"
            f" like '{slug(key)}'"
        )
    if not name.strip() or "\n" in name or len(name) > 200:
        raise InitError("the deck's name must be one line of text, of up to 200 characters")
    files = {
        folder / "deck.yaml": _DECK.format(name=one_line(name), key=key, domain=DOMAIN),
        folder / f"{DOMAIN}.yaml": _NOTES,
    }
    # Each file names its schema (made for the deck as written: no tags, no note types
    # of its own), so that an editor completes and checks it from the start.
    files = {path: schema.modeline(folder, path) + text for path, text in files.items()}
    deck = _Deck(name, frozenset(), NOTE_TYPES)
    files.update({path: data.decode() for path, data in schema.files(folder, deck).items()})
    files.update(beside(folder))
    made = made_folders(list(files))
    try:
        for path in reversed(made):
            path.mkdir()
        write_all({path: text.encode("utf-8") for path, text in files.items()})
    except OSError as error:
        for path in made:  # the folders made for it, innermost first: as they were
            with contextlib.suppress(OSError):
                path.rmdir()
        raise InitError(
            f"cannot write {error.filename or folder}: {error.strerror or error}"
        ) from None
    return list(files)


def slug(name: str) -> str:
    """A deck key from its name: `AWS Solutions Architect` -> `aws-solutions-architect`."""
    return slug_of(name, 60) or "my-deck"
