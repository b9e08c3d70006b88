"""`deckgen diff`: what a build would change against a package users already have.

For each note and note type: what changed (which fields, as a short word diff), and
what Anki will do with it on import with default options, by Anki's own rules: a note is
matched by GUID and updated only if strictly newer and of the same note type; a note
type is updated in place if its field and template ids are unchanged and it is newer.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from deckgen import exported
from deckgen.build import Build
from deckgen.exported import ExportedNote, Notetype
from deckgen.markup import visible_text
from deckgen.notetypes import NoteType, Schema
from deckgen.records import without_mark
from deckgen.revision import shipped

# A word diff, in parts: ("same", words), ("removed", words), ("added", words), ("said",
# what deckgen says of it) or ("end", ";"); shown as text, JSON or Markdown from the one list.
Part = tuple[str, str]


@dataclass(frozen=True)
class FieldChange:
    name: str
    parts: tuple[Part, ...]

    @property
    def diff(self) -> str:
        """`… computed on [-REFRESH-] {+scheduled REFRESH+} …`, as the terminal shows it."""
        marks = {"removed": "[-{}-]", "added": "{{+{}+}}"}
        return _joined((kind, marks.get(kind, "{}").format(text)) for kind, text in self.parts)

    def markdown(self) -> str:
        """The same, as Markdown: what went struck through, what came in bold."""
        marks = {"removed": "~~{}~~", "added": "**{}**", "said": "*{}*"}
        return _joined((kind, marks.get(kind, "{}").format(_md(text))) for kind, text in self.parts)


def _joined(parts: Iterable[tuple[str, str]]) -> str:
    """Parts one space apart; the `;` that ends the words of a field, right after them."""
    out = ""
    for kind, shown in parts:
        out += shown if kind == "end" or not out else " " + shown
    return out


@dataclass(frozen=True)
class NoteChange:
    id: str
    status: str  # added, changed, retired, stale, conflicting, missing
    anki: str
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class NotetypeChange:
    name: str
    changes: tuple[str, ...]
    anki: str


@dataclass(frozen=True)
class Report:
    package: str
    notes: tuple[NoteChange, ...]
    notetypes: tuple[NotetypeChange, ...]
    unchanged: int

    def counts(self) -> dict[str, int]:
        counts = {"unchanged": self.unchanged}
        for note in self.notes:
            counts[note.status] = counts.get(note.status, 0) + 1
        return counts

    def to_json(self) -> str:
        report = asdict(self)
        for note, changed in zip(report["notes"], self.notes, strict=True):
            note["fields"] = [{"name": f.name, "diff": f.diff} for f in changed.fields]
        return json.dumps({**report, "counts": self.counts()}, indent=2, ensure_ascii=False)

    def to_markdown(self) -> str:
        """The report as Markdown, for a release page or a pull request's comment: the
        notes by what Anki does with them, each with its fields' word diffs."""
        counts = self.counts()
        lines = [
            f"Against {_md(Path(self.package).name)}, with Anki's default import options:"
            f" {', '.join(f'{n} {status}' for status, n in counts.items())}.",
        ]
        for status in _ORDER:
            notes = [note for note in self.notes if note.status == status]
            if not notes:
                continue
            lines += ["", f"### {_HEADINGS[status]} ({len(notes)})", ""]
            for note in notes:
                lines.append(f"- `{note.id}`: {_md(note.anki)}")
                lines += [f"  - {_md(f.name)}: {f.markdown()}" for f in note.fields]
        if self.notetypes:
            lines += ["", f"### Note types ({len(self.notetypes)})", ""]
            for notetype in self.notetypes:
                lines.append(f"- {_md(notetype.name)}: {_md(notetype.anki)}")
                lines += [f"  - {_md(change)}" for change in notetype.changes]
        return "\n".join(lines)

    def to_text(self) -> str:
        lines = [f"Against {self.package}, with Anki's default import options:"]
        for note in self.notes:
            lines.append(f"  {note.status:<11} {note.id}: {note.anki}")
            lines += [f"      {change.name}: {change.diff}" for change in note.fields]
        for notetype in self.notetypes:
            lines.append(f"  note type   {notetype.name}: {notetype.anki}")
            lines += [f"      {change}" for change in notetype.changes]
        counts = self.counts()
        lines.append(", ".join(f"{n} {status}" for status, n in counts.items()))
        return "\n".join(lines)


_ORDER = ("added", "changed", "retired", "stale", "conflicting", "missing")
_HEADINGS = {
    "added": "Added",
    "changed": "Changed",
    "retired": "Retired",
    "stale": "Not newer: Anki skips them",
    "conflicting": "Conflicting: Anki skips them",
    "missing": "No longer in the notes",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")


def _md(text: str) -> str:
    """Text shown as it is in Markdown (GitHub's): every punctuation Markdown or HTML
    could read, escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def compare(
    old_package: Path, build: Build, note_types: Mapping[str, NoteType] | None = None
) -> Report:
    note_types = build.note_types if note_types is None else note_types
    package = exported.read(old_package)
    notes, models = package.notes, package.notetypes
    changes: list[NoteChange] = []
    unchanged = 0
    seen: set[str] = set()
    for record in shipped(build.deck, build.revision):
        mod = build.revision.mod(record.note_id)
        seen.add(record.guid)
        note_type = note_types[record.kind]
        old = notes.get(record.guid)
        if old is None:
            anki = "Anki adds it, with no cards" if record.retired else "Anki adds it"
            changes.append(NoteChange(record.note_id, "added", anki))
            continue
        values = tuple(record.values)
        same = old.fields == values and old.tags == record.tags
        if old.notetype != note_type.model_id and not same:
            anki = "Anki skips it as conflicting: its note type is not the one users have"
            changes.append(NoteChange(record.note_id, "conflicting", anki))
        elif same and mod <= old.mod:
            unchanged += 1
        elif mod <= old.mod:
            anki = "Anki SKIPS it: it is no newer than the copy users have"
            changes.append(
                NoteChange(record.note_id, "stale", anki, _fields(old, values, note_type))
            )
        elif record.retired:
            anki = "Anki empties its cards; Tools > Empty Cards clears them"
            changes.append(NoteChange(record.note_id, "retired", anki))
        else:
            fields = _fields(old, values, note_type)
            if old.tags != record.tags:
                fields += (
                    FieldChange("tags", _word_diff(" ".join(old.tags), " ".join(record.tags))),
                )
            if not fields:  # built before fingerprints: only that is new
                fields = (FieldChange("fingerprint", (("said", "added, for `deckgen pull`"),)),)
            changes.append(
                NoteChange(record.note_id, "changed", "Anki updates it in place", fields)
            )
    for guid, old in notes.items():
        if guid not in seen:
            note_id = _field(old, "ID", models) or guid
            anki = "Anki keeps it as it is (no tombstone: built with --drop-retired?)"
            changes.append(NoteChange(note_id, "missing", anki))
    notetypes = []
    for kind, note_type in note_types.items():
        change = _notetype_change(
            models.get(note_type.model_id), note_type, build.revision.notetype_mods[kind]
        )
        if change is not None:
            notetypes.append(change)
    return Report(str(old_package), tuple(changes), tuple(notetypes), unchanged)


def _field(old: ExportedNote, name: str, models: Mapping[int, Notetype]) -> str | None:
    names = models[old.notetype].fields if old.notetype in models else ()
    return old.fields[names.index(name)] if name in names else None


def _fields(
    old: ExportedNote, new: tuple[str, ...], note_type: NoteType
) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(name, _field_diff(before, after))
        for name, before, after in zip(note_type.field_names, old.fields, new, strict=False)
        if without_mark(before) != without_mark(after)
    )


_PICTURE = re.compile(r'<img src="([^"]*)"')


# Where a card's text breaks its line: kept in a diff as a word of its own; and the
# tags that format words within a line, which part no words.
_LINE_BREAK = re.compile(r"<br\s*/?>|</(?:p|div|li)>", re.IGNORECASE)
_INLINE = re.compile(r"</?(?:b|i|u|s|em|strong|code|span|sub|sup|mark|font|a)\b[^>]*>", re.I)


def _shown(html: str) -> str:
    """The words a card shows, its line breaks among them."""
    spaced = " ".join(html.split())  # a line end in HTML is a space; only a break breaks
    return visible_text(_LINE_BREAK.sub(f" {BREAK} ", _INLINE.sub("", spaced)))


def _field_diff(before: str, after: str) -> tuple[Part, ...]:
    """The words that changed (a line break is one); and the pictures, which words do
    not show; or, for the same words, that only their formatting changed."""
    shown_before, shown_after = _shown(before), _shown(after)
    words = _word_diff(shown_before, shown_after)
    old, new = _PICTURE.findall(before), _PICTURE.findall(after)
    if old == new:
        if shown_before != shown_after:
            return words
        return (("said", "the same words, formatted otherwise"),)
    pictures = (("said", "pictures:"), *_word_diff(" ".join(old), " ".join(new)))
    return pictures if shown_before == shown_after else (*words, ("end", ";"), *pictures)


def _notetype_change(old: Notetype | None, note_type: NoteType, mod: int) -> NotetypeChange | None:
    if old is None:
        return NotetypeChange(note_type.name, (), "Anki adds it")
    # (A field or template without a permanent id, from before deckgen gave them, is a
    # changed one: 0 is no id deckgen gives.)
    before = Schema(
        tuple((i or 0, n) for i, n in zip(old.field_ids, old.fields, strict=False)),
        tuple((t.id or 0, t.name) for t in old.templates),
    )
    changes = note_type.schema.changes_from(before)
    faces = [(t.front, t.back) for t in old.templates]
    if faces != [(front, back) for _, _, front, back in note_type.faces]:
        changes.append("card templates changed")
    if old.css != note_type.css:
        changes.append("CSS changed")
    if not changes:
        return None
    if before.structure != note_type.schema.structure:
        anki = (
            "Anki adds a copy named 'Name+' and skips its notes, unless users tick 'Merge note"
            " types' and set 'Update notes' to 'Always'"
        )
    elif mod > old.mod:
        anki = "Anki updates it in place"
    else:
        anki = "Anki keeps its own: this one is no newer"
    return NotetypeChange(note_type.name, tuple(changes), anki)


# Words changed in a field past which they are shown as one replacement: finding the
# smallest edit between n and m words takes n * m steps, and a field has up to 2,000.
_MOST_COMPARED = 40_000


def _opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """How `b` differs from `a`, as difflib's opcodes; the words they start and end with
    alike are taken off first, so that the time spent is linear unless the rest is short."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    middle_a, middle_b = a[start : len(a) - end], b[start : len(b) - end]
    if len(middle_a) * len(middle_b) <= _MOST_COMPARED:
        matcher = difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=False)
        middle = [
            (tag, i1 + start, i2 + start, j1 + start, j2 + start)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        ]
    else:
        middle = [("replace", start, len(a) - end, start, len(b) - end)]
    head = [("equal", 0, start, 0, start)] if start else []
    tail = [("equal", len(a) - end, len(a), len(b) - end, len(b))] if end else []
    return head + middle + tail


BREAK = "↵"  # how a diff shows a line break


def _word_diff(before: str, after: str, context: int = 3) -> tuple[Part, ...]:
    """`... computed on [-REFRESH-] {+scheduled REFRESH+} ...`: the changed words in
    context, a line break among them as ↵ (in parts: FieldChange shows them)."""
    a, b = _words(before), _words(after)
    parts: list[Part] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes := _opcodes(a, b)):
        if tag == "equal":
            words = a[i1:i2]
            head = words[:context] if index > 0 else []
            tail = words[-context:] if index < len(opcodes) - 1 else []
            if len(words) > len(head) + len(tail):
                shown = [*head, "…", *tail] if head or tail else ["…"]
            else:
                shown = words
            parts.append(("same", " ".join(shown)))
            continue
        if i2 > i1:
            parts.append(("removed", " ".join(a[i1:i2])))
        if j2 > j1:
            parts.append(("added", " ".join(b[j1:j2])))
    return tuple(parts)


def word_diff(before: str, after: str) -> str:
    """The words that changed between two texts, as the terminal shows them."""
    return FieldChange("", _word_diff(before, after)).diff


def _words(text: str) -> list[str]:
    return [BREAK if word == "\n" else word for word in re.findall(r"\n|[^\s]+", text)]
