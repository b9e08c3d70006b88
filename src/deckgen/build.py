"""A build: notes and lock -> a package and a new lock, or the reasons it cannot be done.

`prepare` reads and checks everything and decides every note's time; nothing is written
until `write`, and then the package and the lock are each replaced whole. `build` does
both, and writes the package's notes into a scratch file while the notes are still read.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from deckgen import lock, package
from deckgen.children import Alongside
from deckgen.declared import resolve
from deckgen.diagnostics import START, Diagnostic, has_errors
from deckgen.files import not_a_package, replacing, scratch_dir
from deckgen.load import Progress, load
from deckgen.lock import LOCK_FILE, Lock
from deckgen.notetypes import NOTE_TYPES, NoteType
from deckgen.records import Deck, FileResult, unpack
from deckgen.revision import NoteChange, Reviser, Revision, revise
from deckgen.shapes import DECK_FILE
from deckgen.validate import DeckHeader


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
    note_types: Mapping[str, NoteType] | None = None,
    progress: Progress | None = None,
    streamed: Streamed | None = None,
    read_lock: Callable[[Path], tuple[Lock | None, list[Diagnostic]]] = lock.read,
) -> tuple[Build | None, list[Diagnostic]]:
    """Check the notes and the lock, and stamp every note; nothing is written (but for
    `streamed`: the package's collection, in a scratch folder, as the files are read).
    The note types are the deck's (with the ids its lock keeps), unless given. The lock
    read by `read_lock` (preview --watch reads it again only when its bytes change)."""
    lock_path = notes_dir / LOCK_FILE
    # The notes first: the processes that read a large deck start from a small one.
    loaded = load(notes_dir, progress=progress, each=streamed.add if streamed else None)
    previous, problems = streamed.lock() if streamed else read_lock(lock_path)
    problems = sorted(loaded.problems + problems)
    if loaded.deck is None or has_errors(problems):
        return None, problems
    if options.new_key:
        previous = None
    drop = options.drop_retired
    if note_types is None:
        note_types = resolve(loaded.deck.note_types, previous)
    revision = (
        streamed.revision(loaded.deck, drop)
        if streamed is not None and streamed.note_types == note_types
        else revise(loaded.deck, previous, now, note_types, drop_retired=drop)
    )
    problems += _refusals(revision, loaded.deck, notes_dir, lock_path, options)
    if has_errors(problems):
        return None, problems
    return Build(loaded.deck, revision, lock_path, options, note_types), problems


def build(
    notes_dir: Path,
    out: Path | Callable[[Deck], Path],
    now: int,
    options: Options = DEFAULTS,
    *,
    progress: Progress | None = None,
    check_reproducible_at: int | None = None,
) -> tuple[Build | None, list[Diagnostic]]:
    """`prepare`, then `write` to `out` (or where it says, for the deck): the package's
    notes are written while the files are still being read (see Streamed). Nothing is
    written if there is an error; OSError or NotReproducible if the writing fails."""
    with scratch_dir() as work:
        streamed = Streamed(work, notes_dir / LOCK_FILE, now, options)
        try:
            made, problems = prepare(notes_dir, now, options, progress=progress, streamed=streamed)
            if made is not None:
                target = out(made.deck) if callable(out) else out
                refused = not_a_package(target)
                if refused is not None:
                    return None, [
                        *problems,
                        Diagnostic(str(target), START, "cannot-write", refused),
                    ]
                write(made, target, check_reproducible_at=check_reproducible_at, streamed=streamed)
        finally:
            streamed.close()
    return made, problems


class Streamed:
    """The package's collection, written in a thread of its own while the notes files are
    still read (by the processes that read a large deck: the build's own process is free
    meanwhile), by the one package.Writer, each note with the time `revise` gives it (the
    revision is made here, a file at a time, against the lock this thread reads). Ended by
    `write`, or dropped."""

    BATCH = 500  # notes handed to the thread at a time, at least

    def __init__(self, work: Path, lock_path: Path, now: int, options: Options) -> None:
        self.work, self.lock_path, self.now, self.options = work, lock_path, now, options
        # The files' results go to the thread in batches of a few hundred notes or more (a
        # file each, for files of as many): handed over one by one, a deck of a file per
        # note would wait on the thread once for each note. A few batches ahead at most:
        # where they come faster than they are written (from the cache), reading waits
        # rather than holding every file's notes at once.
        self.files: queue.Queue[list[FileResult] | None] = queue.Queue(maxsize=4)
        self.batch: list[FileResult] = []
        self.batched = 0  # the notes of the batch
        self.header: DeckHeader | None = None
        self.thread: threading.Thread | None = None
        self.read = threading.Event()  # once the lock is read
        self.previous: tuple[Lock | None, list[Diagnostic]] = (None, [])
        self.writer: package.Writer | None = None
        self.reviser: Reviser | None = None
        self.note_types: Mapping[str, NoteType] | None = None  # as the writer has them
        self.failed: BaseException | None = None
        self.made: Revision | None = None  # the revision of what was written

    def add(self, header: DeckHeader, result: FileResult) -> None:
        """The next file's result: written in the thread, started with the first batch
        (once the processes that read the files have started, as a process must not fork
        while a thread of it runs)."""
        self.header = header
        self.batch.append(result)
        self.batched += len(result.stamps)
        if self.batched >= self.BATCH:
            self._hand_over()

    def _hand_over(self) -> None:
        """The batch so far, to the thread (started with the first)."""
        if not self.batch:
            return
        if self.thread is None:
            assert self.header is not None, "given with each file"
            self.thread = threading.Thread(
                target=self._write, args=(self.header,), name="deckgen-writer", daemon=True
            )
            self.thread.start()
        self.files.put(self.batch)
        self.batch, self.batched = [], 0

    def _write(self, header: DeckHeader) -> None:
        try:
            self.previous = lock.read(self.lock_path)
            self.read.set()
            previous = None if self.options.new_key else self.previous[0]
            self.note_types = resolve(header.note_types, previous or Lock())
            self.reviser = Reviser(previous, self.now, self.note_types)
            mods = {kind: entry.mod for kind, entry in self.reviser.notetypes.items()}
            self.writer = package.Writer(
                self.work / "collection.anki2", header, mods, self.note_types
            )
            while (batch := self.files.get()) is not None:
                for result in batch:
                    self.writer.add(unpack(result.records), self.reviser.add(result.stamps))
        except BaseException as error:  # said by `finish`, in the build's own thread
            self.failed = error
            while self.files.get() is not None:  # what is still to come
                pass
        finally:
            self.read.set()

    def lock(self) -> tuple[Lock | None, list[Diagnostic]]:
        """The lock, as the writing thread read it (read here, if no file came)."""
        self._hand_over()  # what is left of the files
        if self.thread is None:  # no notes file was read: no thread to wait for
            return lock.read(self.lock_path)
        self.read.wait()
        return self.previous

    def revision(self, deck: Deck, drop_retired: bool) -> Revision:
        """The revision of every file written (all of the deck's)."""
        self._stop()
        if self.failed is not None:
            raise self.failed
        assert self.reviser is not None
        self.made = self.reviser.revision(deck, drop_retired=drop_retired)
        return self.made

    def finish(self, build: Build, path: Path) -> None:
        """The package at `path`, from what was written and the build's retired notes."""
        self._stop()
        if self.failed is not None:
            raise self.failed
        assert self.writer is not None and build.revision is self.made, "this revision's"
        self.writer.finish(build.revision, build.deck.pictures, path)

    def _stop(self) -> None:
        self._hand_over()
        if self.thread is not None:
            self.files.put(None)
            self.thread.join()
            self.thread = None

    def close(self) -> None:
        """Stop writing (the build failed, or it is done) and let go of the collection."""
        self.batch = []  # (left only where the build failed: not worth writing)
        self._stop()
        if self.writer is not None:
            self.writer.close()


def write(
    build: Build,
    out: Path,
    *,
    check_reproducible_at: int | None = None,
    streamed: Streamed | None = None,
) -> None:
    """The package first, then the lock: each replaced whole, never half-written.

    With `check_reproducible_at`, the package is first made again at that time, from the
    new lock, and nothing is written unless the two are the same bytes."""
    # The new lock's text is written beside the old one while the package is made (its
    # lines are the interpreter's work, the package's deflating is not), and put in its
    # place once the package is in its own.
    with replacing(build.lock_path) as lock_partial:
        text = Alongside(lock.write_text, lock_partial, build.revision.lock)
        try:
            with replacing(out) as partial:
                if streamed is not None and build.note_types == streamed.note_types:
                    streamed.finish(build, partial)
                else:
                    package.write(build.deck, build.revision, partial, build.note_types)
                if check_reproducible_at is not None:
                    _check_reproducible(build, partial, check_reproducible_at)
                text.result()
        finally:
            text.join()


def _check_reproducible(build: Build, written: Path, at: int) -> None:
    """NotReproducible unless the package made again at time `at`, from the new lock, is
    the same bytes as `written`."""
    again = revise(
        build.deck,
        build.revision.lock,
        at,
        build.note_types,
        drop_retired=build.options.drop_retired,
    )
    with scratch_dir() as work:
        package.write(build.deck, again, work / "again.apkg", build.note_types)
        same = again.lock == build.revision.lock and _same_bytes(written, work / "again.apkg")
    if not same:
        raise NotReproducible("two builds from the same notes and lock differ")


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

    deck_file = str(notes_dir / DECK_FILE)
    problems = [
        Diagnostic(
            deck_file,
            START,
            "type-renamed",
            f"the note type '{old}' is no longer declared, and notes of it are now of"
            f" '{new}': if you renamed it, give '{new}' the id Anki knows it by, `id: {old_id}`,"
            " so that Anki renames it and updates its notes in place",
        )
        for _, old, old_id, new in revision.renamed_types
    ]
    renamed = {old_kind for old_kind, _, _, _ in revision.renamed_types}
    problems += [
        at_note(
            change,
            "kind-changed",
            f"note '{change.note_id}' was a {change.old} note and is now a {change.new} note:"
            " Anki cannot change a note's type on import, so collections that have it would"
            " keep the old one. Give it a new id (the old note is then retired)",
        )
        for change in revision.kind_changes
        if change.old not in renamed
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
