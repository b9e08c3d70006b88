"""What changed since the lock: each note's and note type's modification time.

Anki updates a note on import only if the package's copy is strictly newer than its own,
and skips it when the times are equal. So an unchanged note keeps the time the lock
recorded (Anki leaves it alone), a changed one gets a time newer than that, and a note
that left the notes becomes a retired tombstone with a newer time still. The new lock
holds every note's time; the package takes them from there.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from deckgen.lock import Lock, NoteEntries, NoteEntry, NotetypeEntry
from deckgen.notetypes import NOTE_TYPES, NoteType
from deckgen.records import Deck, Record, Stamp, tombstone


class NoteChange(NamedTuple):
    """A note whose id the lock knew as something else: another kind, or a removed note."""

    note_id: str
    old: str
    new: str


@dataclass(frozen=True)
class Revision:
    """What a build writes beside the notes, and what it changed since the lock."""

    lock: Lock  # every note's and note type's time
    tombstones: tuple[Record, ...]  # the retired notes the package ships (none if dropped)
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()  # retired by this build
    schema_changes: tuple[str, ...] = ()
    kind_changes: tuple[NoteChange, ...] = ()
    # Declared types that look renamed without their id: (old key, old name, its id, new
    # name).
    renamed_types: tuple[tuple[str, str, int, str], ...] = ()
    # Retired ids given to a note with other content: it would inherit the old reviews.
    reused_ids: tuple[NoteChange, ...] = ()
    had_lock: bool = True
    key_change: tuple[str, str] | None = None

    def mod(self, note_id: str) -> int:
        """A note's modification time, as the package gives it."""
        return self.lock.notes.mod(note_id)

    @property
    def notetype_mods(self) -> dict[str, int]:
        return {kind: entry.mod for kind, entry in self.lock.notetypes.items()}


def shipped(deck: Deck, revision: Revision) -> Iterator[Record]:
    """The notes a package of this revision holds, in study order, then its tombstones."""
    return itertools.chain(deck.records(), revision.tombstones)


def _newer(entry: NoteEntry | NotetypeEntry | None, now: int) -> int:
    return now if entry is None else max(now, entry.mod + 1)


def notetype_entries(
    before: Lock, now: int, note_types: Mapping[str, NoteType]
) -> tuple[dict[str, NotetypeEntry], list[str]]:
    """Each note type's entry in the new lock (its time the lock's if it is unchanged),
    and how the schema of each changed."""
    notetypes: dict[str, NotetypeEntry] = {}
    schema_changes: list[str] = []
    for kind, note_type in note_types.items():
        old_type = before.notetypes.get(kind)
        same = old_type is not None and old_type.digest == note_type.digest
        mod = old_type.mod if old_type is not None and same else _newer(old_type, now)
        if old_type is not None and old_type.schema.structure != note_type.schema.structure:
            changes = ", ".join(note_type.schema.changes_from(old_type.schema))
            schema_changes.append(f"{note_type.name}: {changes}")
        notetypes[kind] = NotetypeEntry(kind, mod, note_type.digest, note_type.schema)
    return notetypes, schema_changes


def revise(
    deck: Deck,
    previous: Lock | None,
    now: int,
    note_types: Mapping[str, NoteType] = NOTE_TYPES,
    *,
    drop_retired: bool = False,
) -> Revision:
    """Stamp every note and note type against the previous lock; None: all is new."""
    reviser = Reviser(previous, now, note_types)
    for result in deck.results():
        reviser.add(result.stamps)
    return reviser.revision(deck, drop_retired=drop_retired)


class Reviser:
    """`revise`, a file's notes at a time, as they are read: each note's time as soon as
    its file is read (for the package's writer), the revision once every file is."""

    def __init__(
        self, previous: Lock | None, now: int, note_types: Mapping[str, NoteType] = NOTE_TYPES
    ) -> None:
        self.previous, self.now, self.note_types = previous, now, note_types
        self.before = before = previous or Lock()
        self.notetypes, self.schema_changes = notetype_entries(before, now, note_types)
        self.entries = NoteEntries()
        self.added: list[str] = []
        self.changed: list[str] = []
        self.kind_changes: list[NoteChange] = []
        self.reused: list[NoteChange] = []
        self.stamped = 0
        # A declared type renamed (its id given, so the same note type): its notes' old key.
        ids = {t.model_id: kind for kind, t in note_types.items() if t.declared}
        self.renamed = {
            old_kind: ids[entry.schema.model_id]
            for old_kind, entry in before.notetypes.items()
            if entry.schema.model_id in ids and ids[entry.schema.model_id] != old_kind
        }
        self.names = {t.name for t in note_types.values()}
        self.renamed_types: dict[tuple[str, str, int, str], None] = {}

    def add(self, stamps: Iterable[Stamp]) -> list[int]:
        """The next notes, in study order: the time each gets (the lock's, if unchanged)."""
        before, entries, now = self.before, self.entries, self.now
        unchanged, known = before.notes.unchanged, before.notes
        times = []
        for stamped_id, kind, domain, digest in stamps:
            note_id = sys.intern(stamped_id)  # one string, here and in the old lock
            if unchanged(note_id, kind, domain, digest):
                entries.keep(note_id, known)  # unchanged: its time stays
                times.append(known.mod(note_id))
                continue
            entry = known.get(note_id)
            if entry is not None and entry.kind != kind and self.renamed.get(entry.kind) != kind:
                self.kind_changes.append(NoteChange(note_id, entry.kind, kind))
                gone = before.notetypes.get(entry.kind)
                old_id = gone.schema.model_id if gone is not None else None
                if gone is not None and old_id is not None and gone.schema.name not in self.names:
                    rename = (entry.kind, gone.schema.name, old_id, self.note_types[kind].name)
                    self.renamed_types.setdefault(rename, None)
            elif entry is not None and entry.retired and entry.live_digest not in ("", digest):
                self.reused.append(NoteChange(note_id, entry.kind, kind))
            (self.added if entry is None else self.changed).append(note_id)
            mod = _newer(entry, now)
            entries.put(NoteEntry(note_id, kind, domain, mod, digest))
            times.append(mod)
        self.stamped += len(times)
        return times

    def revision(self, deck: Deck, *, drop_retired: bool = False) -> Revision:
        """The revision, once every note of `deck` was added."""
        assert self.stamped == deck.size, "every note stamped, once"
        before, entries, note_types = self.before, self.entries, self.note_types
        # The notes the lock knows and the notes no longer have: retired.
        stones: list[Record] = []
        retired: list[str] = []
        for note_id in sorted(before.notes.ids() - entries.ids()):
            entry = before.notes[note_id]
            if entry.kind not in note_types or note_types[entry.kind].declared:
                # A note type of the deck's own has no field to retire a note with: the
                # note stays in collections as it is (import never deletes).
                continue
            stone = tombstone(deck.key, note_id, entry.kind, entry.domain, note_types)
            if entry.retired and entry.digest == stone.digest:
                entries.keep(note_id, before.notes)
            else:
                retired.append(note_id)
                live_digest = entry.live_digest if entry.retired else entry.digest
                mod = _newer(entry, self.now)
                entries.put(
                    NoteEntry(
                        note_id, entry.kind, entry.domain, mod, stone.digest, True, live_digest
                    )
                )
            stones.append(stone)

        previous = self.previous
        key_change = None
        if previous is not None and previous.key is not None and previous.key != deck.key:
            key_change = (previous.key, deck.key)
        return Revision(
            lock=Lock(deck.key, entries, self.notetypes),
            tombstones=() if drop_retired else tuple(stones),
            added=tuple(self.added),
            changed=tuple(self.changed),
            retired=tuple(retired),
            schema_changes=tuple(self.schema_changes),
            kind_changes=tuple(self.kind_changes),
            renamed_types=tuple(self.renamed_types),
            reused_ids=tuple(self.reused),
            had_lock=previous is not None,
            key_change=key_change,
        )
