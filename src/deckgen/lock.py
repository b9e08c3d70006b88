"""The lock file: when each note and note type last changed, so that Anki updates exactly those.

Plain text next to the notes, one entry per line, sorted, so that two people who edit
different notes merge it without conflict:

    deck <key>
    note <id> <kind> <domain> <mod> <hash> [retired <hash when last in the notes>]
    notetype <kind> <mod> <hash> <schema as JSON>
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, KeysView, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from deckgen.diagnostics import Collected, Diagnostic, Level, Position
from deckgen.files import conflict_markers, read_text, replacing
from deckgen.notetypes import Schema

LOCK_FILE = "deck.lock"

_HEADER = """\
# deckgen lock: when each note and note type last changed, so that Anki updates exactly
# what changed. Written by `deckgen build`; commit it with the notes; do not edit it.
"""
# The largest lock read: some 300,000 notes, past any deck deckgen builds.
MAX_BYTES = 64 * 2**20
_MAX_ERRORS = 20  # malformed entries shown (all are counted): it is not hand-written


class NoteEntry(NamedTuple):
    id: str
    kind: str
    domain: str
    mod: int
    digest: str
    retired: bool = False
    live_digest: str = ""  # for a retired note, its hash when it was last in the notes

    def rest(self) -> str:
        """Its line after `note <id> `."""
        retired = f" retired {self.live_digest}".rstrip() if self.retired else ""
        return f"{self.kind} {self.domain} {self.mod} {self.digest}{retired}"

    @classmethod
    def parse(cls, note_id: str, rest: str) -> NoteEntry:
        """The entry a line holds, given its text after `note <id> `."""
        kind, domain, mod, digest, *retired = _words(rest)
        live = retired[1] if len(retired) == 2 else ""
        return cls(note_id, kind, domain, int(mod), digest, bool(retired), live)

    @staticmethod
    def normal(rest: str) -> str:
        """A line's text after `note <id> `, checked as `parse` checks it, with single
        spaces: what `rest` gives for the entry it holds."""
        words = _words(rest)
        words[2] = str(int(words[2]))
        return " ".join(words)


def _words(rest: str) -> list[str]:
    words = rest.split()
    if len(words) not in (4, 5, 6) or (len(words) > 4 and words[4] != "retired"):
        raise ValueError("expected 'note <id> <kind> <domain> <mod> <hash> [retired]'")
    return words


class NoteEntries(Mapping[str, NoteEntry]):
    """Each note's entry by id, kept as the text of its line and read when looked up:
    for the 100,000 notes of a large deck, half the memory of the entries themselves.
    An entry that did not change is the same text in the old lock and the new."""

    def __init__(self, entries: Iterable[NoteEntry] = ()) -> None:
        self._rests: dict[str, str] = {}
        for entry in entries:
            self.put(entry)

    def put(self, entry: NoteEntry) -> None:
        self._rests[entry.id] = entry.rest()

    def merge(self, note_id: str, rest: str) -> None:
        """Keep an entry as the lock's line has it (see `NoteEntry.normal`), unless the
        one kept is newer (both sides of a git merge)."""
        if note_id not in self._rests or self.mod(note_id) < int(rest.split(" ", 3)[2]):
            self._rests[note_id] = rest

    def unchanged(self, note_id: str, kind: str, domain: str, digest: str) -> bool:
        """Whether a note's entry says it is this kind, in this domain, with this hash,
        and not retired: `<kind> <domain> <mod> <digest>`, read without taking it apart."""
        rest = self._rests.get(note_id)
        return (
            rest is not None
            and rest.startswith(f"{kind} {domain} ")
            and rest.endswith(f" {digest}")
            and rest.count(" ") == 3
        )

    def keep(self, note_id: str, old: NoteEntries) -> None:
        """The entry `old` has for a note, unchanged."""
        self._rests[note_id] = old._rests[note_id]

    def mod(self, note_id: str) -> int:
        """A note's time: its entry's fourth word, `<kind> <domain> <mod> ...`."""
        return int(self._rests[note_id].split(" ", 3)[2])

    def __getitem__(self, note_id: str) -> NoteEntry:
        return NoteEntry.parse(note_id, self._rests[note_id])

    def __contains__(self, note_id: object) -> bool:
        return note_id in self._rests

    def __iter__(self) -> Iterator[str]:
        return iter(self._rests)

    def ids(self) -> KeysView[str]:
        """The ids of the entries, as a set (compared with another's at C speed)."""
        return self._rests.keys()

    def __len__(self) -> int:
        return len(self._rests)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NoteEntries):
            return self._rests == other._rests
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, so not hashable

    def lines(self) -> Iterator[str]:
        """Each entry's line, by id: in the order that sorting the lines would give, as
        an id's next character, if any, sorts after the space that ends a shorter one."""
        return (f"note {note_id} {self._rests[note_id]}" for note_id in sorted(self._rests))


class NotetypeEntry(NamedTuple):
    kind: str
    mod: int
    digest: str
    schema: Schema

    def line(self) -> str:
        return f"notetype {self.kind} {self.mod} {self.digest} {self.schema.to_json()}"


@dataclass(frozen=True)
class Lock:
    key: str | None = None  # the deck key every GUID was made with
    notes: NoteEntries = field(default_factory=NoteEntries)
    notetypes: dict[str, NotetypeEntry] = field(default_factory=dict)

    def lines(self) -> Iterator[str]:
        """The lock's text, a line at a time, its entries sorted."""
        yield _HEADER
        if self.key:
            yield f"deck {self.key}\n"
        yield from (f"{line}\n" for line in self.notes.lines())
        yield from sorted(f"{entry.line()}\n" for entry in self.notetypes.values())

    def dump(self) -> str:
        return "".join(self.lines())


def read(
    path: Path, parser: Callable[[str, str], tuple[Lock | None, list[Diagnostic]]] | None = None
) -> tuple[Lock | None, list[Diagnostic]]:
    """The lock at `path`; None if there is none (every note then counts as changed).
    `parser`: `parse`, or one that remembers (preview --watch: the lock seldom changes)."""
    if not os.path.lexists(path):  # a symlink to nowhere, or a loop, is reported by reading it
        return None, []
    advice = "delete it (every note then counts as changed once)"
    text, problems = read_text(path, str(path), MAX_BYTES, advice)
    if text is None:
        return None, problems
    return (parser or parse)(text, str(path))


def parse(text: str, path: str) -> tuple[Lock | None, list[Diagnostic]]:
    key: str | None = None
    notes = NoteEntries()
    notetypes: dict[str, NotetypeEntry] = {}
    problems = Collected(_MAX_ERRORS)
    markers = {line for line, _ in conflict_markers(text)}
    merge = notes.merge
    # (A match at a time: a list of every line would take as much memory as the lock.)
    for number, found in enumerate(_LINE.finditer(text), start=1):
        note_id, rest, line = found.groups()
        if note_id is not None:  # a note's line as written: `_entry` would give it as it is
            merge(sys.intern(note_id), rest)
            continue
        line = line.rstrip("\r")
        if number in markers or not line.strip() or line.startswith("#"):
            continue
        try:
            entry = _entry(line)
        except (ValueError, KeyError, TypeError, IndexError, RecursionError) as error:
            message = (
                f"malformed lock entry: {error}; if the lock cannot be mended, delete it"
                " (every note then counts as changed once)"
            )
            problems.add(Diagnostic(path, Position(number, 1), "lock-syntax", message))
            continue
        # After a merge both sides' lines may be there: the newer of each wins.
        if isinstance(entry, str):
            key = entry
        elif isinstance(entry, NotetypeEntry):
            if entry.kind not in notetypes or notetypes[entry.kind].mod < entry.mod:
                notetypes[entry.kind] = entry
        else:
            notes.merge(*entry)
    if markers:
        message = (
            "merge conflict markers in the lock: both sides' entries are kept, the newer of"
            " each wins, and the next build writes it clean"
        )
        problems.add(Diagnostic(path, Position(1, 1), "lock-merged", message, Level.WARNING))
    if problems.errors:
        return None, problems.shown_problems()
    return Lock(key, notes, notetypes), problems.shown_problems()


# Each line of a lock: a note's, as a build writes it (single spaces, its time without
# leading zeros, not retired: what `_entry` gives back unchanged), in its id and the rest;
# any other, whole, for `_entry`. One pattern over the text, not a line at a time in Python
# (the lock of a large deck is read by every build).
_LINE = re.compile(r"^note (\S+) (\S+ \S+ (?:0|[1-9][0-9]*) \S+)$|^(.*)$", re.MULTILINE)


def _entry(line: str) -> str | tuple[str, str] | NotetypeEntry:
    """A line's entry: the deck key, a note's id and the rest of its line, or a note type."""
    kind, _, rest = line.partition(" ")
    if kind == "deck" and rest.strip():
        return rest.strip()
    if kind == "note":
        note_id, _, rest = rest.strip().partition(" ")
        return sys.intern(note_id), NoteEntry.normal(rest)  # one id string, as in the notes
    if kind == "notetype":
        parts = rest.split(" ", 3)
        if len(parts) != 4:
            raise ValueError("expected 'notetype <kind> <mod> <hash> <schema>'")
        note_kind, mod, digest, schema = parts
        return NotetypeEntry(note_kind, int(mod), digest, Schema.from_json(schema))
    raise ValueError(f"unknown entry '{kind}'")


def write(path: Path, lock: Lock) -> None:
    """Replace the lock in one step: a reader sees the old lock or the new, never half."""
    with replacing(path) as partial:
        write_text(partial, lock)


def write_text(path: Path, lock: Lock) -> None:
    """The lock's text, written to `path` (the hidden file `files.replacing` gives)."""
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.writelines(lock.lines())
