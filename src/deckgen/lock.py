"""The lock file: when each note and note type last changed, so that Anki updates exactly those.

Plain text next to the notes, one entry per line, sorted, so that two people who edit
different notes merge it without conflict:

    deck <key>
    note <id> <kind> <domain> <mod> <hash> [retired <hash when last in the notes>]
    notetype <kind> <mod> <hash> <schema as JSON>
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from deckgen.diagnostics import Diagnostic, Level, Position
from deckgen.files import write_atomic

LOCK_FILE = "deck.lock"

_HEADER = """\
# deckgen lock: when each note and note type last changed, so that Anki updates exactly
# what changed. Written by `deckgen build`; commit it with the notes; do not edit it.
"""
_CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")


class Schema(NamedTuple):
    """A note type's fields and templates, as (permanent id, name) in order."""

    fields: tuple[tuple[int, str], ...]
    templates: tuple[tuple[int, str], ...]

    @property
    def structure(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """What Anki compares: the ids in order. Names may change freely."""
        return tuple(i for i, _ in self.fields), tuple(i for i, _ in self.templates)

    def to_json(self) -> str:
        value = {"fields": self.fields, "templates": self.templates}
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Schema:
        value = json.loads(text)
        return cls(
            tuple((int(i), str(n)) for i, n in value["fields"]),
            tuple((int(i), str(n)) for i, n in value["templates"]),
        )


class NoteEntry(NamedTuple):
    id: str
    kind: str
    domain: str
    mod: int
    digest: str
    retired: bool = False
    live_digest: str = ""  # for a retired note, its hash when it was last in the notes

    def line(self) -> str:
        retired = f" retired {self.live_digest}".rstrip() if self.retired else ""
        return f"note {self.id} {self.kind} {self.domain} {self.mod} {self.digest}{retired}"


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
    notes: dict[str, NoteEntry] = field(default_factory=dict)
    notetypes: dict[str, NotetypeEntry] = field(default_factory=dict)

    def dump(self) -> str:
        lines = [f"deck {self.key}"] if self.key else []
        lines += [e.line() for e in self.notes.values()]
        lines += [e.line() for e in self.notetypes.values()]
        return _HEADER + "".join(f"{line}\n" for line in sorted(lines))


def read(path: Path) -> tuple[Lock | None, list[Diagnostic]]:
    """The lock at `path`; None if there is none (every note then counts as changed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, []
    except (OSError, UnicodeDecodeError) as error:
        return None, [_error(path, 1, 1, f"cannot read the lock: {error}")]
    return parse(text, str(path))


def parse(text: str, path: str) -> tuple[Lock | None, list[Diagnostic]]:
    key: str | None = None
    notes: dict[str, NoteEntry] = {}
    notetypes: dict[str, NotetypeEntry] = {}
    problems: list[Diagnostic] = []
    merged = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(_CONFLICT_MARKERS):
            merged = True
            continue
        if not line.strip() or line.startswith("#"):
            continue
        try:
            entry = _entry(line)
        except (ValueError, KeyError, TypeError, IndexError) as error:
            message = (
                f"malformed lock entry: {error}; if the lock cannot be mended, delete it"
                " (every note then counts as changed once)"
            )
            problems.append(_error(Path(path), number, 1, message))
            continue
        # After a merge both sides' lines may be there: the newer of each wins.
        if isinstance(entry, str):
            key = entry
        elif isinstance(entry, NoteEntry):
            if entry.id not in notes or notes[entry.id].mod < entry.mod:
                notes[entry.id] = entry
        elif entry.kind not in notetypes or notetypes[entry.kind].mod < entry.mod:
            notetypes[entry.kind] = entry
    if merged:
        message = (
            "merge conflict markers in the lock: both sides' entries are kept, the newer of"
            " each wins, and the next build writes it clean"
        )
        problems.append(Diagnostic(path, Position(1, 1), Level.WARNING, "lock-merged", message))
    if any(p.level is Level.ERROR for p in problems):
        return None, problems
    return Lock(key, notes, notetypes), problems


def _entry(line: str) -> str | NoteEntry | NotetypeEntry:
    kind, _, rest = line.partition(" ")
    if kind == "deck" and rest.strip():
        return rest.strip()
    if kind == "note":
        parts = rest.split()
        if len(parts) not in (5, 6, 7) or (len(parts) > 5 and parts[5] != "retired"):
            raise ValueError("expected 'note <id> <kind> <domain> <mod> <hash> [retired]'")
        note_id, note_kind, domain, mod, digest = parts[:5]
        live = parts[6] if len(parts) == 7 else ""
        return NoteEntry(note_id, note_kind, domain, int(mod), digest, len(parts) > 5, live)
    if kind == "notetype":
        parts = rest.split(" ", 3)
        if len(parts) != 4:
            raise ValueError("expected 'notetype <kind> <mod> <hash> <schema>'")
        note_kind, mod, digest, schema = parts
        return NotetypeEntry(note_kind, int(mod), digest, Schema.from_json(schema))
    raise ValueError(f"unknown entry '{kind}'")


def write(path: Path, lock: Lock) -> None:
    """Replace the lock in one step: a reader sees the old lock or the new, never half."""
    write_atomic(path, lock.dump().encode("utf-8"))


def _error(path: Path, line: int, col: int, message: str) -> Diagnostic:
    return Diagnostic(str(path), Position(line, col), Level.ERROR, "lock-syntax", message)
