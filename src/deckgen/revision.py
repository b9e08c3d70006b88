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
from collections.abc import Iterator, Mapping
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


def note_mod(before: Lock, stamp: Stamp, now: int) -> int:
    """A note's time in the package (as `revise` gives it): the lock's if the note is
    unchanged, else later than both the lock's and `now`."""
    note_id, kind, domain, digest = stamp
    if before.notes.unchanged(note_id, kind, domain, digest):
        return before.notes.mod(note_id)
    return _newer(before.notes.get(note_id), now)


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
    before = previous or Lock()
    notetypes, schema_changes = notetype_entries(before, now, note_types)
    entries = NoteEntries()
    added: list[str] = []
    changed: list[str] = []
    kind_changes: list[NoteChange] = []
    reused: list[NoteChange] = []
    # A declared type renamed (its id given, so the same note type): its notes' old key.
    ids = {t.model_id: kind for kind, t in note_types.items() if t.declared}
    renamed = {
        old_kind: ids[entry.schema.model_id]
        for old_kind, entry in before.notetypes.items()
        if entry.schema.model_id in ids and ids[entry.schema.model_id] != old_kind
    }
    names = {t.name for t in note_types.values()}
    renamed_types: dict[tuple[str, str, int, str], None] = {}
    for stamped_id, kind, domain, digest in deck.stamps():
        note_id = sys.intern(stamped_id)  # one string, here and in the old lock
        if before.notes.unchanged(note_id, kind, domain, digest):
            entries.keep(note_id, before.notes)  # unchanged: its time stays
            continue
        entry = before.notes.get(note_id)
        if entry is not None and entry.kind != kind and renamed.get(entry.kind) != kind:
            kind_changes.append(NoteChange(note_id, entry.kind, kind))
            gone = before.notetypes.get(entry.kind)
            old_id = gone.schema.model_id if gone is not None else None
            if gone is not None and old_id is not None and gone.schema.name not in names:
                rename = (entry.kind, gone.schema.name, old_id, note_types[kind].name)
                renamed_types.setdefault(rename, None)
        elif entry is not None and entry.retired and entry.live_digest not in ("", digest):
            reused.append(NoteChange(note_id, entry.kind, kind))
        (added if entry is None else changed).append(note_id)
        mod = _newer(entry, now)
        entries.put(NoteEntry(note_id, kind, domain, mod, digest))

    # The notes the lock knows and the notes no longer have: retired.
    stones: list[Record] = []
    retired: list[str] = []
    for note_id in sorted(note_id for note_id in before.notes if note_id not in entries):
        entry = before.notes[note_id]
        if entry.kind not in note_types or note_types[entry.kind].declared:
            # A note type of the deck's own has no field to retire a note with: the note
            # stays in collections as it is (import never deletes).
            continue
        stone = tombstone(deck.key, note_id, entry.kind, entry.domain, note_types)
        if entry.retired and entry.digest == stone.digest:
            entries.keep(note_id, before.notes)
        else:
            retired.append(note_id)
            live_digest = entry.live_digest if entry.retired else entry.digest
            mod = _newer(entry, now)
            entries.put(
                NoteEntry(note_id, entry.kind, entry.domain, mod, stone.digest, True, live_digest)
            )
        stones.append(stone)

    key_change = None
    if previous is not None and previous.key is not None and previous.key != deck.key:
        key_change = (previous.key, deck.key)
    return Revision(
        lock=Lock(deck.key, entries, notetypes),
        tombstones=() if drop_retired else tuple(stones),
        added=tuple(added),
        changed=tuple(changed),
        retired=tuple(retired),
        schema_changes=tuple(schema_changes),
        kind_changes=tuple(kind_changes),
        renamed_types=tuple(renamed_types),
        reused_ids=tuple(reused),
        had_lock=previous is not None,
        key_change=key_change,
    )
