"""What changed since the lock: each note's and note type's modification time.

Anki updates a note on import only if the package's copy is strictly newer than its own,
and skips it when the times are equal. So an unchanged note keeps the time the lock
recorded (Anki leaves it alone), a changed one gets a time newer than that, and a note
that left the notes becomes a retired tombstone with a newer time still.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from deckgen.diagnostics import Position
from deckgen.lock import Lock, NoteEntry, NotetypeEntry, Schema
from deckgen.notes import Deck, Note
from deckgen.notetypes import NOTE_TYPES, NoteType, css
from deckgen.records import Record, records, tombstone


class Stamped(NamedTuple):
    """A note as the package holds it, with the modification time Anki compares."""

    record: Record
    mod: int


class NoteChange(NamedTuple):
    """A note whose id the lock knew as something else: another kind, or a removed note."""

    note_id: str
    old: str
    new: str
    origin: tuple[str, Position | None] | None = None


@dataclass(frozen=True)
class Revision:
    """Everything a build writes, and what it changed since the lock."""

    notes: tuple[Stamped, ...]  # live notes in study order, then tombstones
    notetype_mods: dict[str, int]
    lock: Lock
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()  # retired by this build
    schema_changes: tuple[str, ...] = ()
    kind_changes: tuple[NoteChange, ...] = ()
    # Retired ids given to a note with other content: it would inherit the old reviews.
    reused_ids: tuple[NoteChange, ...] = ()
    had_lock: bool = True
    key_change: tuple[str, str] | None = field(default=None)


def schema(note_type: NoteType) -> Schema:
    return Schema(
        tuple((f.id, f.name) for f in note_type.fields),
        tuple((t.id, t.name) for t in note_type.templates),
    )


def notetype_digest(note_type: NoteType) -> str:
    """A hash of everything Anki stores for a note type: names, templates, CSS."""
    content = [
        note_type.model_id,
        note_type.name,
        note_type.is_cloze,
        [(f.id, f.name) for f in note_type.fields],
        [(t.id, t.name, t.html(t.front), t.html(t.back)) for t in note_type.templates],
        css(),
    ]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:16]


def revise(
    deck: Deck,
    previous: Lock | None,
    now: int,
    note_types: Mapping[str, NoteType] = NOTE_TYPES,
    *,
    drop_retired: bool = False,
    live: list[Record] | None = None,
) -> Revision:
    """Stamp every note and note type against the previous lock; None: all is new.
    `live` are the deck's records when already made (they follow from deck and types)."""
    reviser = Reviser(previous, now, note_types)
    live = records(deck, note_types) if live is None else live
    for note, record in zip(deck.notes, live, strict=True):
        reviser.stamp(note, record)
    return reviser.finish(deck.key, drop_retired=drop_retired)


class Reviser:
    """Stamps notes one at a time, as they are read (see `revise`); then the tombstones
    and the new lock once every note has been seen."""

    def __init__(
        self, previous: Lock | None, now: int, note_types: Mapping[str, NoteType] = NOTE_TYPES
    ) -> None:
        self.previous = previous
        self.before = previous or Lock()
        self.now = now
        self.note_types = note_types
        self.stamped: list[Stamped] = []
        self.entries: dict[str, NoteEntry] = {}
        self.added: list[str] = []
        self.changed: list[str] = []
        self.retired: list[str] = []  # retired by this build
        self.kind_changes: list[NoteChange] = []
        self.reused: list[NoteChange] = []
        # Note types do not depend on the notes: known before the first note is read.
        self.notetypes: dict[str, NotetypeEntry] = {}
        self.schema_changes: list[str] = []
        for kind, note_type in note_types.items():
            digest, now_schema = notetype_digest(note_type), schema(note_type)
            old = self.before.notetypes.get(kind)
            mod = old.mod if old is not None and old.digest == digest else self._newer(old)
            if old is not None and old.schema.structure != now_schema.structure:
                change = describe_schema_change(note_type.name, old.schema, now_schema)
                self.schema_changes.append(change)
            self.notetypes[kind] = NotetypeEntry(kind, mod, digest, now_schema)

    @property
    def notetype_mods(self) -> dict[str, int]:
        return {kind: entry.mod for kind, entry in self.notetypes.items()}

    def _newer(self, entry: NoteEntry | NotetypeEntry | None) -> int:
        return self.now if entry is None else max(self.now, entry.mod + 1)

    def stamp(self, note: Note, record: Record) -> Stamped:
        entry = self.before.notes.get(record.note_id)
        if entry is not None and entry.kind != record.kind:
            change = NoteChange(record.note_id, entry.kind, record.kind, note.origin)
            self.kind_changes.append(change)
        elif entry is not None and entry.retired and entry.live_digest not in ("", record.digest):
            self.reused.append(NoteChange(record.note_id, entry.kind, record.kind, note.origin))
        if entry is not None and not entry.retired and entry.digest == record.digest:
            mod = entry.mod
        else:
            mod = self._newer(entry)
            (self.added if entry is None else self.changed).append(record.note_id)
        stamped = Stamped(record, mod)
        self.stamped.append(stamped)
        self.entries[record.note_id] = NoteEntry(
            record.note_id, record.kind, record.domain, mod, record.digest
        )
        return stamped

    def tombstones(self, deck_key: str) -> list[Stamped]:
        """The notes the lock knows and the notes no longer have, retired."""
        stones: list[Stamped] = []
        for note_id in sorted(set(self.before.notes) - set(self.entries)):
            entry = self.before.notes[note_id]
            if entry.kind not in self.note_types:
                continue
            stone = tombstone(deck_key, note_id, entry.kind, entry.domain, self.note_types)
            if entry.retired and entry.digest == stone.digest:
                mod = entry.mod
            else:
                mod = self._newer(entry)
                self.retired.append(note_id)
            live_digest = entry.live_digest if entry.retired else entry.digest
            self.entries[note_id] = NoteEntry(
                note_id, entry.kind, entry.domain, mod, stone.digest, True, live_digest
            )
            stones.append(Stamped(stone, mod))
        return stones

    def finish(
        self, deck_key: str, *, drop_retired: bool = False, stones: list[Stamped] | None = None
    ) -> Revision:
        """The revision: every note stamped so far, then the tombstones (made here unless
        `stones` are the ones already made)."""
        if stones is None:
            stones = self.tombstones(deck_key)
        shipped = [] if drop_retired else stones
        key_change = None
        previous = self.previous
        if previous is not None and previous.key is not None and previous.key != deck_key:
            key_change = (previous.key, deck_key)
        return Revision(
            notes=(*self.stamped, *shipped),
            notetype_mods=self.notetype_mods,
            lock=Lock(deck_key, self.entries, self.notetypes),
            added=tuple(self.added),
            changed=tuple(self.changed),
            retired=tuple(self.retired),
            schema_changes=tuple(self.schema_changes),
            kind_changes=tuple(self.kind_changes),
            reused_ids=tuple(self.reused),
            had_lock=previous is not None,
            key_change=key_change,
        )


def describe_schema_change(name: str, old: Schema, new: Schema) -> str:
    """`deckgen Trap: field 'Source' added` and the like, in the user's words."""
    parts = []
    for what, before, after in (
        ("field", old.fields, new.fields),
        ("template", old.templates, new.templates),
    ):
        old_ids, new_ids = dict(before), dict(after)
        parts += [f"{what} '{n}' added" for i, n in after if i not in old_ids]
        parts += [f"{what} '{n}' removed" for i, n in before if i not in new_ids]
        kept_before = [i for i, _ in before if i in new_ids]
        kept_after = [i for i, _ in after if i in old_ids]
        if kept_before != kept_after:
            parts.append(f"{what}s reordered")
    return f"{name}: {', '.join(parts)}"
