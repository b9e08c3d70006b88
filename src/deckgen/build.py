"""A build: notes and lock -> a package and a new lock, or the reasons it cannot be done.

`prepare` reads and checks everything and decides every note's time; nothing is written
until `write`, and then the package and the lock are each replaced whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from deckgen import lock, package
from deckgen.diagnostics import START, Diagnostic, has_errors
from deckgen.files import replacing, scratch_dir
from deckgen.load import Progress, load
from deckgen.lock import LOCK_FILE
from deckgen.notetypes import NOTE_TYPES, NoteType
from deckgen.records import Deck
from deckgen.revision import NoteChange, Revision, revise
from deckgen.shapes import DECK_FILE


class Options(NamedTuple):
    drop_retired: bool = False
    allow_schema_change: bool = False
    new_key: bool = False


DEFAULTS = Options()


class Build(NamedTuple):
    """A deck and its revision against the lock: what the package and new lock will hold."""

    deck: Deck
    revision: Revision
    lock_path: Path
    options: Options
    note_types: Mapping[str, NoteType] = NOTE_TYPES


class NotReproducible(Exception):
    """Two builds from the same notes and lock differ."""


def prepare(
    notes_dir: Path,
    now: int,
    options: Options = DEFAULTS,
    note_types: Mapping[str, NoteType] = NOTE_TYPES,
    progress: Progress | None = None,
) -> tuple[Build | None, list[Diagnostic]]:
    """Check the notes and the lock, and stamp every note; nothing is written."""
    lock_path = notes_dir / LOCK_FILE
    # The notes first: the processes that read a large deck start from a small one.
    loaded = load(notes_dir, progress=progress)
    previous, problems = lock.read(lock_path)
    problems = sorted(loaded.problems + problems)
    if loaded.deck is None or has_errors(problems):
        return None, problems
    if options.new_key:
        previous = None
    drop = options.drop_retired
    revision = revise(loaded.deck, previous, now, note_types, drop_retired=drop)
    problems += _refusals(revision, loaded.deck, notes_dir, lock_path, options)
    if has_errors(problems):
        return None, problems
    return Build(loaded.deck, revision, lock_path, options, note_types), problems


def write(build: Build, out: Path, *, check_reproducible_at: int | None = None) -> None:
    """The package first, then the lock: each replaced whole, never half-written.

    With `check_reproducible_at`, the package is first made again at that time, from the
    new lock, and nothing is written unless the two are the same bytes."""
    with replacing(out) as partial:
        package.write(build.deck, build.revision, partial, build.note_types)
        if check_reproducible_at is not None:
            again = revise(
                build.deck,
                build.revision.lock,
                check_reproducible_at,
                build.note_types,
                drop_retired=build.options.drop_retired,
            )
            with scratch_dir() as work:
                package.write(build.deck, again, work / "again.apkg", build.note_types)
                same = again.lock == build.revision.lock and _same_bytes(
                    partial, work / "again.apkg"
                )
            if not same:
                raise NotReproducible("two builds from the same notes and lock differ")
    lock.write(build.lock_path, build.revision.lock)


def _same_bytes(first: Path, second: Path) -> bool:
    import filecmp

    return filecmp.cmp(first, second, shallow=False)


def _refusals(
    revision: Revision,
    deck: Deck,
    notes_dir: Path,
    lock_path: Path,
    options: Options,
) -> list[Diagnostic]:
    if revision.key_change is not None:
        old, new = revision.key_change
        message = (
            f"the deck key changed from '{old}' to '{new}': every note would get a new GUID,"
            " so Anki would add the whole deck again beside the old one. Put the key back,"
            " or build with --new-key to start a new deck on purpose"
        )
        return [Diagnostic(str(notes_dir / DECK_FILE), START, "key-changed", message)]

    places = deck.where(c.note_id for c in (*revision.kind_changes, *revision.reused_ids))

    def at_note(change: NoteChange, code: str, message: str) -> Diagnostic:
        return Diagnostic(*places[change.note_id], code, message)

    problems = [
        at_note(
            change,
            "kind-changed",
            f"note '{change.note_id}' was a {change.old} note and is now a {change.new} note:"
            " Anki cannot change a note's type on import, so collections that have it would"
            " keep the old one. Give it a new id (the old note is then retired)",
        )
        for change in revision.kind_changes
    ]
    problems += [
        at_note(
            reuse,
            "id-reused",
            f"id '{reuse.note_id}' belonged to a note removed earlier, and this note's text is"
            " not that note's: in every collection that had it, this note would inherit the"
            " old note's reviews. Give this note a new id (if it is the old note come back,"
            " restore its old text, build once, then edit it)",
        )
        for reuse in revision.reused_ids
    ]
    if revision.schema_changes and not options.allow_schema_change:
        changes = "; ".join(revision.schema_changes)
        message = (
            f"note type fields or templates changed ({changes}). Anki imports a changed note"
            " type as a copy named 'Name+' and skips every note of it, unless the user ticks"
            " 'Merge note types' and sets 'Update notes' to 'Always' on import. Build with"
            " --allow-schema-change to ship it anyway, and tell your users"
        )
        problems.append(Diagnostic(str(lock_path), START, "schema-changed", message))
    return problems
