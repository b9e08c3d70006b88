"""A build: notes and lock -> a package and a new lock, or the reasons it cannot be done."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from deckgen import lock, package
from deckgen.diagnostics import START, Diagnostic, Level, has_errors
from deckgen.files import write_atomic
from deckgen.load import Progress, is_large, load
from deckgen.lock import LOCK_FILE
from deckgen.notes import Deck
from deckgen.notetypes import NOTE_TYPES, NoteType
from deckgen.revision import NoteChange, Reviser, Revision, revise
from deckgen.validate import DECK_FILE, DeckHeader, FileResult, id_position


class Options(NamedTuple):
    drop_retired: bool = False
    allow_schema_change: bool = False
    new_key: bool = False


DEFAULTS = Options()


class Build(NamedTuple):
    """A package made in memory, and the lock to write beside the notes with it."""

    deck: Deck
    revision: Revision
    data: bytes
    lock_path: Path
    options: Options


def prepare(
    notes_dir: Path,
    now: int,
    options: Options = DEFAULTS,
    note_types: Mapping[str, NoteType] = NOTE_TYPES,
    progress: Progress | None = None,
) -> tuple[Build | None, list[Diagnostic]]:
    """Check the notes and the lock and make the package; nothing is written yet.

    With deckgen's own note types, each file's notes are stamped and written into the
    package as soon as the file is read, while the next files are still being read."""
    lock_path = notes_dir / LOCK_FILE
    previous, problems = lock.read(lock_path)
    if options.new_key:
        previous = None
    reviser = Reviser(previous, now, note_types)
    streaming = note_types is NOTE_TYPES and not has_errors(problems)
    writer: package.Writer | None = None
    # A large deck's package is written by a process of its own, beside the reading.
    # Started first: before the processes that read, and before any thread.
    own_process = streaming and (os.cpu_count() or 1) > 1 and is_large(notes_dir)
    collection = package.CollectionProcess() if own_process else None

    def on_file(header: DeckHeader, result: FileResult) -> None:
        nonlocal writer, streaming
        if not streaming or result.records is None or has_errors(result.problems):
            streaming = False
            return
        if writer is None:
            info = package.DeckInfo.of(header)
            writer = package.Writer(info, reviser.notetype_mods, note_types, collection)
        writer.add([reviser.stamp(n, r) for n, r in zip(result.notes, result.records, strict=True)])

    try:
        loaded = load(
            notes_dir,
            records=streaming,
            on_file=on_file if streaming else None,
            progress=progress,
        )
        deck = loaded.deck
        problems = loaded.problems + problems
        if deck is None or has_errors(problems):
            return None, sorted(problems)
        if streaming and writer is not None:
            stones = reviser.tombstones(deck.key)
            revision = reviser.finish(deck.key, drop_retired=options.drop_retired, stones=stones)
        else:
            revision = revise(deck, previous, now, note_types, drop_retired=options.drop_retired)
        problems += _refusals(revision, notes_dir, lock_path, options)
        if has_errors(problems):
            return None, problems
        if streaming and writer is not None:
            if not options.drop_retired:
                writer.add(stones)
            data = writer.finish()
        else:
            data = package.render(deck, revision, note_types)
    finally:
        if writer is not None:
            writer.close()
        if collection is not None:
            collection.close()
    return Build(deck, revision, data, lock_path, options), problems


def write(build: Build, out: Path) -> None:
    """The package first, then the lock: each replaced whole, never half-written."""
    write_atomic(out, build.data)
    lock.write(build.lock_path, build.revision.lock)


def is_reproducible(
    build: Build, later: int, note_types: Mapping[str, NoteType] = NOTE_TYPES
) -> bool:
    """Whether building again from the same notes and the new lock, at a later time, gives
    the same bytes: every time and id must come from the lock, none from the clock."""
    drop = build.options.drop_retired
    again = revise(build.deck, build.revision.lock, later, note_types, drop_retired=drop)
    return again.lock == build.revision.lock and (
        package.render(build.deck, again, note_types) == build.data
    )


def _refusals(
    revision: Revision, notes_dir: Path, lock_path: Path, options: Options
) -> list[Diagnostic]:
    problems = []
    if revision.key_change is not None:
        old, new = revision.key_change
        message = (
            f"the deck key changed from '{old}' to '{new}': every note would get a new GUID,"
            " so Anki would add the whole deck again beside the old one. Put the key back,"
            " or build with --new-key to start a new deck on purpose"
        )
        problems.append(_error(str(notes_dir / DECK_FILE), "key-changed", message))
        return problems

    def at_note(change: NoteChange, code: str, message: str) -> Diagnostic:
        path, position = change.origin or (str(notes_dir), START)
        if position is None:
            position = id_position(path, change.note_id)
        return Diagnostic(path, position, Level.ERROR, code, message)

    problems += [
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
        problems.append(_error(str(lock_path), "schema-changed", message))
    return problems


def _error(path: str, code: str, message: str) -> Diagnostic:
    return Diagnostic(path, START, Level.ERROR, code, message)
