"""`deckgen pull`: edits made in Anki come back into the notes.

The package is what a user exported from Anki. Each note of this deck in it is compared
with the notes, field by field, by its fingerprint (records.Fingerprint): a field that
differs from its own fingerprint was edited in Anki; a fingerprint that differs from the
current build's means the notes have moved on since the copy was built. So:

- not edited in Anki: nothing (an unedited copy of an older build never reverts a thing);
- edited in Anki, unchanged in the notes since: the edit comes back;
- edited in both (or a copy from before fingerprints that differs): a conflict, settled
  only by `prefer`.

Notes added in Anki with a deckgen note type, in one of the deck's subdecks, are added
to that domain's notes, with their Anki GUID. Every edit is made surgically (yamledit),
then the whole notes folder, as it would be written, is loaded again and held to what
Anki holds before anything is written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from deckgen import exported, lock
from deckgen.declared import resolve
from deckgen.diagnostics import START, Diagnostic, Level, Position, capped, has_errors
from deckgen.files import BOM
from deckgen.fromanki import KEYS, Media, Taken, convert, convert_field, note_entries, slug_for
from deckgen.load import domain_file, load
from deckgen.markup import parse_clozes, visible_text
from deckgen.notetypes import FINGERPRINTED, NOTE_TYPES, NoteType
from deckgen.records import (
    RETIRED_TAG,
    Deck,
    Fingerprint,
    Record,
    field_hash,
    guid,
    tag_key,
    tags_hash,
    unpack,
    user_tags,
)
from deckgen.source import Mapping, Node, Scalar, Sequence, SourceFile, read
from deckgen.yamledit import EditError, Edits

_OPTIONAL = frozenset({"Extra", "Item 3 Name", "Item 3 Meaning"})
MAX_LISTED = 20  # notes missing from the package, named before the rest are counted


class FieldChange(NamedTuple):
    name: str  # the field, or "tags"
    notes: str  # its text in the notes (tags joined by spaces)
    anki: str  # its text from Anki


class NoteChange(NamedTuple):
    note_id: str
    status: str  # edited, added, conflict
    path: str
    position: Position
    fields: tuple[FieldChange, ...]
    why: str = ""  # of a conflict


@dataclass
class Pulled:
    """What a pull finds and would write."""

    changes: list[NoteChange] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    unchanged: int = 0
    older: int = 0  # unedited copies of an older build
    skipped: dict[str, list[str]] = field(default_factory=dict)  # why -> each note, named
    missing: list[str] = field(default_factory=list)
    files: dict[Path, bytes] = field(default_factory=dict)  # what to write, file by file
    # Warnings about a note, placed once it is known where it stands: id, code, message.
    notices: list[tuple[str, str, str]] = field(default_factory=list)
    added_at: dict[str, tuple[str, Position]] = field(default_factory=dict)

    @property
    def conflicts(self) -> list[NoteChange]:
        return [c for c in self.changes if c.status == "conflict"]


@dataclass
class _Edit:
    """What comes back into one note."""

    record: Record
    path: str
    fields: dict[str, str] = field(default_factory=dict)  # field name -> note text
    tags: list[str] | None = None
    html: dict[str, str] = field(default_factory=dict)  # field name -> what it renders to


def pull(package: Path, notes_dir: Path, prefer: str | None = None) -> Pulled:
    """What pulling `package` into `notes_dir` changes; with `prefer` ("anki" or
    "notes"), conflicts settled that way. Nothing is written here."""
    result = Pulled()
    loaded = load(notes_dir)
    if loaded.deck is None:
        result.problems = loaded.problems
        return result
    deck = loaded.deck
    try:
        package_notes = exported.read(package)
    except exported.PackageError as error:
        result.problems.append(Diagnostic(str(package), START, "bad-package", str(error)))
        return result
    declared = {tag_key(t): t for t in deck.tags} if deck.tags is not None else None
    old_lock, _ = lock.read(notes_dir / lock.LOCK_FILE)
    taken = Taken(old_lock.notes if old_lock is not None else ())
    retired = {
        guid(deck.key, note_id)
        for note_id in taken
        if old_lock is not None and old_lock.notes[note_id].retired
    }
    current: dict[str, tuple[Record, str]] = {}
    last_file: dict[str, str] = {}  # domain -> the last file holding its notes
    # Each file's pictures: their names in the package, and their paths from the file.
    pictures: dict[str, dict[str, str]] = {}
    for file in deck.results():
        folder = os.path.dirname(file.path)
        pictures[file.path] = Media(
            {p.name: os.path.relpath(p.path, folder) for p in file.pictures}
        )
        for record in unpack(file.records):
            current[record.guid] = (record, file.path)
            last_file[record.domain] = file.path
            taken.add(record.note_id)
    edits: list[_Edit] = []
    added: list[tuple[str, str, _Edit]] = []  # domain, kind, the note
    subdecks = {d.subdeck(deck.name).casefold(): d.key for d in deck.domains}
    note_types = resolve(deck.note_types, old_lock)
    by_model = {t.model_id: t for t in note_types.values()}
    ours = 0
    for note in package_notes.notes.values():
        if note.guid in current:
            ours += 1
            record, path = current[note.guid]
            own_type = note_types[record.kind]
            if own_type.declared:
                built = (
                    old_lock.notes.mod(record.note_id)
                    if old_lock and record.note_id in old_lock.notes
                    else None
                )
                edit = _compare_declared(
                    note,
                    record,
                    own_type,
                    built,
                    path,
                    package_notes,
                    result,
                    prefer,
                    declared,
                    pictures[path],
                )
            else:
                edit = _compare(
                    note, record, path, package_notes, result, prefer, declared, pictures[path]
                )
            if edit is not None:
                edits.append(edit)
            continue
        note_type = by_model.get(note.notetype)
        in_deck = [subdecks[d.casefold()] for d in note.decks if d.casefold() in subdecks]
        if note.guid in retired or RETIRED_TAG in note.tags:
            _skip(result, "retired from the notes", note)
        elif note_type is None:
            name = package_notes.notetypes.get(note.notetype, exported.Notetype("?", ())).name
            _skip(result, f"of the note type '{name}', not one of the deck's", note)
        elif not in_deck:
            _skip(result, f"not in a subdeck of '{deck.name}'", note)
        elif (
            not note_type.declared
            and Fingerprint.find(_named(note, package_notes).get(FINGERPRINTED, "")) is not None
        ):
            _skip(result, "built by deckgen, but not from these notes", note)
        else:
            ours += 1
            made = _new_note(note, note_type, package_notes, result, taken, declared)
            if made is not None:
                domain = min(in_deck, key=[d.key for d in deck.domains].index)
                added.append((domain, note_type.kind, made))
    if not ours:
        message = (
            f"it holds no note of the deck '{deck.name}': export that deck from Anki"
            " (File > Export, Anki Deck Package)"
        )
        result.problems.append(Diagnostic(str(package), START, "bad-package", message))
        return result
    result.missing = [r.note_id for g, (r, _) in current.items() if g not in package_notes.notes]
    sources: dict[str, SourceFile | None] = {}  # each file read once, for both
    _place(deck, result, sources, note_types)
    if not result.conflicts or prefer is not None:
        _write(deck, notes_dir, edits, added, last_file, result, sources, note_types)
    _notices(deck, result)
    return result


def _notices(deck: Deck, result: Pulled) -> None:
    """The warnings about notes, each at its note's place (a note added from Anki: where
    it goes, once known)."""
    places = deck.where(note_id for note_id, _, _ in result.notices)
    places.update(result.added_at)
    for note_id, code, message in result.notices:
        path, position = places.get(note_id, ("(Anki)", START))
        result.problems.append(Diagnostic(path, position, code, message, Level.WARNING))
    result.problems = capped(sorted(result.problems))


def _place(
    deck: Deck,
    result: Pulled,
    sources: dict[str, SourceFile | None],
    note_types: dict[str, NoteType],
) -> None:
    """Each changed note's place in the notes, and its fields' text there."""
    kinds = {record.note_id: record.kind for record in _records_of(deck, result)}
    places = deck.where(change.note_id for change in result.changes)
    notes: dict[str, dict[str, Mapping]] = {}
    for index, change in enumerate(result.changes):
        path, position = places[change.note_id]
        if path not in notes:
            parsed = _source(path, result, sources)
            notes[path] = _notes_by_id(parsed.root if parsed else None)
        node = notes[path].get(change.note_id)
        note_type = note_types.get(kinds.get(change.note_id, ""))
        fields = tuple(
            field._replace(notes=field.notes or _text_in(node, _keys(note_type, field.name)))
            for field in change.fields
        )
        result.changes[index] = change._replace(path=path, position=position, fields=fields)


def _records_of(deck: Deck, result: Pulled) -> list[Record]:
    """The records of the notes a pull changes (found in one pass, only if any)."""
    wanted = {change.note_id for change in result.changes}
    return [r for r in deck.records() if r.note_id in wanted] if wanted else []


def _keys(note_type: NoteType | None, name: str) -> tuple[str, ...] | None:
    """Where a field a user writes is kept in a note: a kind's key for it (KEYS), or, for
    a declared type, the field's own name."""
    if note_type is not None and note_type.declared:
        return (name,) if name in note_type.field_names else None
    return KEYS.get(name)


def _text_in(node: Mapping | None, keys: tuple[str, ...] | None) -> str:
    """A field's text as the notes hold it."""
    if node is None or keys is None:
        return ""
    found: Node | None = node
    for key in keys:
        if type(found) is Sequence and key.isdigit():
            found = found.items[int(key)] if int(key) < len(found.items) else None
        elif type(found) is Mapping:
            found = next(
                (v for k, v in found.entries if type(k) is Scalar and k.value == key), None
            )
        else:
            found = None
    return found.value if type(found) is Scalar else ""


def _declared(
    tags: Iterable[str], declared: dict[str, str] | None, note_id: str, result: Pulled
) -> list[str]:
    """A note's tags from Anki that deck.yaml declares (in its spelling); the others are
    reported and left out."""
    kept = []
    for tag in user_tags(tags):
        if declared is None:
            kept.append(tag)
        elif tag_key(tag) in declared:
            kept.append(declared[tag_key(tag)])
        else:
            message = (
                f"'{note_id}': the tag '{tag}' from Anki is not declared in deck.yaml: left out"
            )
            result.notices.append((note_id, "undeclared-tag", message))
    return kept


def _skip(result: Pulled, why: str, note: exported.ExportedNote) -> None:
    result.skipped.setdefault(why, []).append(_first_words(note))


def _first_words(note: exported.ExportedNote) -> str:
    """How a note is named to a user: the first words of its first field with text."""
    # (The start of each field is enough to name it, whatever its length.)
    text = next((t for t in (visible_text(f[:2_000]) for f in note.fields[:10]) if t), "")
    text = _CLOZE.sub(r"\1", text)  # the words a card shows
    if not text:
        return f"(no text; GUID {note.guid})"
    named = " ".join(text.split()[:8])[:60]
    return f"'{named}…'" if named != text else f"'{named}'"


_CLOZE = re.compile(r"\{\{c\d+::(.*?)(?:::[^{}]*)?\}\}")

# What to do with notes pull leaves out, by why (the start of it).
_SKIPPED_ADVICE = {
    "not in a subdeck": (
        "in Anki, move them into one of its subdecks (Browse, Change Deck), then export"
        " again and pull"
    ),
    "of the note type": (
        "pull brings back notes of the deck's note types (deckgen's kinds and those"
        " deck.yaml declares); declare that note type in deck.yaml's note_types, or add"
        " them again as one of the deck's (Add, Type), to have them in the notes"
    ),
    "of another note type": (
        "in Anki, change them back to their deckgen note type (Browse, Notes, Change Note Type)"
    ),
}


def _named(note: exported.ExportedNote, package: exported.Exported) -> dict[str, str]:
    names = package.notetypes.get(note.notetype, exported.Notetype("", ())).fields
    return dict(zip(names, note.fields, strict=False))


def _compare(
    note: exported.ExportedNote,
    record: Record,
    path: str,
    package: exported.Exported,
    result: Pulled,
    prefer: str | None,
    declared: dict[str, str] | None,
    pictures: dict[str, str],
) -> _Edit | None:
    """What of a note of this deck comes back, by its fingerprints."""
    note_type = NOTE_TYPES[record.kind]
    if note.notetype != note_type.model_id:
        _skip(result, "of another note type in Anki than in the notes", note)
        return None
    anki = _named(note, package)
    built = dict(zip(note_type.field_names, record.values, strict=True))
    then = Fingerprint.find(anki.get(FINGERPRINTED, ""))
    now = Fingerprint.find(built[FINGERPRINTED])
    assert now is not None
    if then is not None and len(then.fields) != len(now.fields):
        then = None  # from a deckgen whose note type had other fields: cannot tell
    edit = _Edit(record, path)
    conflicts: list[FieldChange] = []
    changes: list[FieldChange] = []
    older = False
    for index, name in enumerate(note_type.written):
        value = anki.get(name, "")
        if value == built[name]:
            continue
        converted, said = convert(value, name, pictures)
        unfit = _unfit(name, converted.text) if converted is not None else None
        if unfit is not None:
            said.append(unfit)
            converted = None
        result.notices += [(record.note_id, code, f"'{record.note_id}': {m}") for code, m in said]
        if converted is None or converted.html == built[name]:
            continue  # the same, up to how Anki's editor writes it
        if then is not None and field_hash(value) == then.fields[index]:
            older = True  # as that build made it: not an edit
            continue
        change = FieldChange(name, "", converted.text)
        if then is None or then.fields[index] != now.fields[index]:
            conflicts.append(change)
        else:
            changes.append(change)
        edit.fields[name] = converted.text
        edit.html[name] = converted.html
    anki_tags = _declared(note.tags, declared, record.note_id, result)
    own_tags = user_tags(record.tags)
    if {tag_key(t) for t in anki_tags} != {tag_key(t) for t in own_tags}:
        if then is not None and tags_hash(tuple(anki_tags)) == then.tags:
            older = True
        else:
            edit.tags = _merged_tags(own_tags, anki_tags)
            change = FieldChange("tags", " ".join(own_tags), " ".join(edit.tags))
            both = then is None or then.tags != now.tags
            (conflicts if both else changes).append(change)
    if not changes and not conflicts:
        if older:
            result.older += 1
        else:
            result.unchanged += 1
        return None
    if conflicts:
        why = (
            "exported from a build made before deckgen kept fingerprints, so an edit in"
            " Anki cannot be told from an older copy"
            if then is None
            else "edited in Anki, and changed in the notes since the build it came from"
        )
        result.changes.append(
            NoteChange(record.note_id, "conflict", path, START, (*changes, *conflicts), why)
        )
        if prefer != "anki":
            if prefer is None:
                return None
            for change in conflicts:
                edit.fields.pop(change.name, None)
                if change.name == "tags":
                    edit.tags = None
            if not changes:
                return None
    else:
        result.changes.append(NoteChange(record.note_id, "edited", path, START, tuple(changes)))
    return edit


def _merged_tags(own: Iterable[str], anki: list[str]) -> list[str]:
    """A note's tags as Anki has them: the notes' order for the tags kept, then Anki's new
    ones."""
    keys = {tag_key(t) for t in anki}
    kept = [t for t in own if tag_key(t) in keys]
    known = {tag_key(t) for t in kept}
    return kept + [t for t in anki if tag_key(t) not in known]


def _compare_declared(
    note: exported.ExportedNote,
    record: Record,
    note_type: NoteType,
    built_at: int | None,
    path: str,
    package: exported.Exported,
    result: Pulled,
    prefer: str | None,
    declared: dict[str, str] | None,
    pictures: dict[str, str],
) -> _Edit | None:
    """What of a note of a declared type comes back. Such a type has no field of deckgen's
    to carry a fingerprint, so its copy in Anki is told by its time: changed in Anki after
    the notes last changed it (`built_at`, the lock's time), it is an edit; from before,
    it could be an older copy or an edit of one, and is a conflict, never pulled unasked."""
    if note.notetype != note_type.model_id:
        _skip(result, "of another note type in Anki than in the notes", note)
        return None
    anki = _named(note, package)
    built = dict(zip(note_type.field_names, record.values, strict=True))
    edit = _Edit(record, path)
    changes: list[FieldChange] = []
    for name in note_type.field_names:
        value = anki.get(name, "")
        if value == built[name]:
            continue
        converted, said = convert_field(value, name, note_type, pictures)
        if converted is not None and not converted.text and name == note_type.field_names[0]:
            said.append(("empty-text", f"{name} is empty in Anki: the notes keep their text"))
            converted = None
        result.notices += [(record.note_id, code, f"'{record.note_id}': {m}") for code, m in said]
        if converted is None or converted.html == built[name]:
            continue  # the same, up to how Anki's editor writes it
        changes.append(FieldChange(name, "", converted.text))
        edit.fields[name] = converted.text
        edit.html[name] = converted.html
    anki_tags = _declared(note.tags, declared, record.note_id, result)
    own_tags = user_tags(record.tags)
    if {tag_key(t) for t in anki_tags} != {tag_key(t) for t in own_tags}:
        edit.tags = _merged_tags(own_tags, anki_tags)
        changes.append(FieldChange("tags", " ".join(own_tags), " ".join(edit.tags)))
    if not changes:
        result.unchanged += 1
        return None
    if built_at is not None and note.mod > built_at:
        result.changes.append(NoteChange(record.note_id, "edited", path, START, tuple(changes)))
        return edit
    why = (
        "its copy in Anki is no newer than the notes' last change to it, and its note type"
        " has no field for deckgen's fingerprint, so an edit in Anki cannot be told from an"
        " older copy"
    )
    result.changes.append(NoteChange(record.note_id, "conflict", path, START, tuple(changes), why))
    return edit if prefer == "anki" else None


def _new_note(
    note: exported.ExportedNote,
    note_type: NoteType,
    package: exported.Exported,
    result: Pulled,
    taken: Taken,
    declared: dict[str, str] | None,
) -> _Edit | None:
    anki = _named(note, package)
    made = {name: convert_field(anki.get(name, ""), name, note_type) for name in note_type.written}
    first = made[note_type.written[0]][0]
    note_id = slug_for(first.text if first else "", note_type.kind, taken)
    taken.add(note_id)
    for _, said in made.values():
        result.notices += [(note_id, code, f"'{note_id}' (added in Anki): {m}") for code, m in said]
    converted = {name: field for name, (field, _) in made.items() if field is not None}
    if len(converted) < len(made):
        _skip(result, "added in Anki, with a field too long for a note", note)
        return None
    if _unfit_note(note_type, {name: field.text for name, field in converted.items()}):
        _skip(result, "added in Anki, with a field empty, or a fact without a cloze", note)
        return None
    record = Record(note_id, note_type.kind, "", note.guid, "", (), "", (), False, "")
    fields = {name: field.text for name, field in converted.items()}
    html = {name: field.html for name, field in converted.items()}
    return _Edit(record, "", fields, _declared(note.tags, declared, note_id, result), html)


def _unfit_note(note_type: NoteType, fields: dict[str, str]) -> bool:
    """Whether a note added in Anki cannot be a note: a kind's rules (_unfit), or, for a
    declared type, its first field empty, or a cloze type's note with no cloze."""
    if not note_type.declared:
        return any(_unfit(name, text) for name, text in fields.items())
    if not fields.get(note_type.field_names[0]):
        return True
    if note_type.is_cloze:
        from deckgen.declared import cloze_fields

        found = [parse_clozes(fields.get(name, "")) for name in cloze_fields(note_type)]
        return not any(c.numbers for c in found) or any(c.problems for c in found)
    return False


def _unfit(name: str, text: str) -> tuple[str, str] | None:
    """Why a field's text from Anki cannot be a note's (code, message): empty where the
    note needs text, or a fact's text with no cloze, or a malformed one."""
    if not text and name not in _OPTIONAL:
        return "empty-text", f"{name} is empty in Anki: the notes keep their text"
    if name == "Text":
        clozes = parse_clozes(text)
        if clozes.problems or not clozes.numbers:
            why = clozes.problems[0].message if clozes.problems else "it has no cloze"
            return "cloze-syntax", f"Text from Anki: {why}; the notes keep their text"
    return None


def _write(
    deck: Deck,
    notes_dir: Path,
    edits: list[_Edit],
    added: list[tuple[str, str, _Edit]],
    last_file: dict[str, str],
    result: Pulled,
    sources: dict[str, SourceFile | None],
    note_types: dict[str, NoteType],
) -> None:
    """Make the edits on the files' texts, and hold them to what Anki holds."""
    by_file: dict[str, list[_Edit]] = {}
    for edit in edits:
        by_file.setdefault(edit.path, []).append(edit)
    new_in: dict[str, list[tuple[str, _Edit]]] = {}
    for domain, kind, edit in added:
        path = last_file.get(domain) or str(_new_file(notes_dir, domain))
        new_in.setdefault(path, []).append((kind, edit))
    texts: dict[str, str] = {}
    for path in sorted({*by_file, *new_in}):
        if not _inside(Path(path), notes_dir):
            message = (
                "pull writes only regular files inside the notes folder, and this is a"
                " symlink or lies outside it: make the edits by hand"
            )
            result.problems.append(Diagnostic(path, START, "not-a-file", message))
            continue
        source = _source(path, result, sources)
        if source is None:
            continue
        editor = Edits(source)
        notes = _notes_by_id(editor.source.root)
        for edit in by_file.get(path, ()):
            node = notes.get(edit.record.note_id)
            if node is None:
                continue
            try:
                _apply(editor, node, edit, result, path, note_types[edit.record.kind])
            except EditError as error:
                message = f"'{edit.record.note_id}': {error}"
                result.problems.append(Diagnostic(path, node.position, "cannot-edit", message))
        appended = []
        for kind, edit in new_in.get(path, ()):
            try:
                editor.append_note(_entries(note_types[kind], edit))
                appended.append(edit)
            except EditError as error:
                result.problems.append(Diagnostic(path, START, "cannot-edit", str(error)))
        texts[path] = text = editor.result()
        places = _ids_in(text, {edit.record.note_id for edit in appended})
        for edit in appended:
            note_id = edit.record.note_id
            where = places.get(note_id, START)
            result.added_at[note_id] = (path, where)
            fields = tuple(FieldChange(n, "", t) for n, t in edit.fields.items() if t)
            result.changes.append(NoteChange(note_id, "added", path, where, fields))
    if has_errors(result.problems):
        return
    written = {Path(p): t.encode("utf-8") for p, t in texts.items() if t != _text_of(sources[p])}
    _verify(deck, notes_dir, written, edits, added, result, note_types)
    if not has_errors(result.problems):
        result.files = written


_ID_LINE = re.compile(r"^( *- )id: (\S+)\r?$", re.MULTILINE)


def _ids_in(text: str, wanted: set[str]) -> dict[str, Position]:
    """Where the notes pull added stand in a file's new text (one pass over it)."""
    places: dict[str, Position] = {}
    line, counted = 1, 0
    for found in _ID_LINE.finditer(text) if wanted else ():
        if found[2] in wanted:
            line += text.count("\n", counted, found.start())
            counted = found.start()
            places[found[2]] = Position(line, len(found[1]) + 1)
    return places


def _text_of(source: SourceFile | None) -> str | None:
    """A file's text as it is, its byte-order mark included."""
    return None if source is None else (BOM if source.bom else "") + source.text


def _inside(path: Path, notes_dir: Path) -> bool:
    """Whether a file to write is a regular file (or none yet) inside the notes folder,
    no symlink on the way."""
    if path.is_symlink() or path.parent.is_symlink():
        return False
    try:
        path.resolve().relative_to(notes_dir.resolve())
    except ValueError:
        return False
    return True


def _new_file(notes_dir: Path, domain: str) -> Path:
    folder, beside = notes_dir / domain, domain_file(notes_dir, domain)
    return folder / "from-anki.yaml" if folder.is_dir() or beside is None else beside


def _source(path: str, result: Pulled, sources: dict[str, SourceFile | None]) -> SourceFile | None:
    """A notes file, parsed (read once); an empty one for a file pull is to make."""
    if path not in sources:
        if not Path(path).exists():
            sources[path] = SourceFile(path, "", None)
        else:
            parsed, problems = read(Path(path), path)
            result.problems += problems
            sources[path] = parsed
    return sources[path]


def _notes_by_id(root: Node | None) -> dict[str, Mapping]:
    found: dict[str, Mapping] = {}
    if type(root) is not Sequence:
        return found
    for item in root.items:
        if type(item) is Mapping:
            for key, value in item.entries:
                if type(key) is Scalar and key.value == "id" and type(value) is Scalar:
                    found.setdefault(value.value, item)
    return found


def _apply(
    editor: Edits, node: Mapping, edit: _Edit, result: Pulled, path: str, note_type: NoteType
) -> None:
    note_id = edit.record.note_id
    items: dict[int, dict[str, str]] = {}
    for name, text in edit.fields.items():
        keys = _keys(note_type, name)
        assert keys is not None
        if len(keys) == 3:
            items.setdefault(int(keys[1]), {})[keys[2]] = text
        elif text:
            editor.set_value(node, keys[0], text)
        else:  # only an optional field comes back empty (see _compare)
            editor.remove_key(node, keys[0])
    if items:
        _apply_items(editor, node, items, note_id, result, path)
    if edit.tags is not None:
        editor.set_list(node, "tags", edit.tags)


def _apply_items(
    editor: Edits,
    node: Mapping,
    items: dict[int, dict[str, str]],
    note_id: str,
    result: Pulled,
    path: str,
) -> None:
    pair = next((v for k, v in node.entries if type(k) is Scalar and k.value == "pair"), None)
    if type(pair) is not Sequence:
        return
    for index, changed in sorted(items.items()):
        if index < len(pair.items) and type(pair.items[index]) is Mapping:
            item = pair.items[index]
            assert type(item) is Mapping
            if index == 2 and all(not changed.get(k, "x") for k in ("name", "means")):
                editor.remove_item(pair, index)
                continue
            for key, text in changed.items():
                if text:
                    editor.set_value(item, key, text)
        elif index == len(pair.items) == 2 and changed.get("name") and changed.get("means"):
            editor.append_item(pair, [("name", changed["name"]), ("means", changed["means"])])
        else:
            message = f"'{note_id}': item {index + 1} of the pair is incomplete in Anki: left out"
            result.problems.append(
                Diagnostic(path, node.position, "pair-size", message, Level.WARNING)
            )


def _entries(note_type: NoteType, edit: _Edit) -> list[tuple[str, object]]:
    return note_entries(
        note_type, edit.record.note_id, edit.record.guid, edit.fields, edit.tags or []
    )


def _verify(
    deck: Deck,
    notes_dir: Path,
    written: dict[Path, bytes],
    edits: list[_Edit],
    added: list[tuple[str, str, _Edit]],
    result: Pulled,
    note_types: dict[str, NoteType],
) -> None:
    """Load the notes as they would be written (the files to write read from memory,
    the others from the folder, by the one reader), and hold each note to what it must
    be: the pulled fields rendering to what Anki holds (as normalised), every other note
    as it was."""
    loaded = load(notes_dir, cache=False, texts=written)
    if loaded.deck is None:
        for problem in loaded.problems:
            message = f"{problem.message} (in the text pulled from Anki; nothing written)"
            result.problems.append(problem._replace(message=message))
        return
    before = {record.guid: record for record in deck.records()}
    after = {record.guid: record for record in loaded.deck.records()}
    for lost in before.keys() - after.keys():
        message = f"'{before[lost].note_id}' would be lost by the pull"
        result.problems.append(Diagnostic(str(notes_dir), START, "pull-failed", message))
    expected = {edit.record.guid: edit for edit in edits}
    expected.update({edit.record.guid: edit for _, _, edit in added})
    for guid_, record in after.items():
        edit = expected.get(guid_)
        if edit is None:
            ok = guid_ in before and before[guid_].digest == record.digest
        else:
            ok = _holds(record, edit, note_types[record.kind])
        if not ok:
            message = f"'{record.note_id}' would not be what Anki holds after the pull"
            result.problems.append(Diagnostic(str(notes_dir), START, "pull-failed", message))


def _holds(record: Record, edit: _Edit, note_type: NoteType) -> bool:
    values = dict(zip(note_type.field_names, record.values, strict=True))
    for name, text in edit.fields.items():
        if text and values[name] != edit.html[name]:
            return False
    if edit.tags is not None:
        return {tag_key(t) for t in user_tags(record.tags)} == {tag_key(t) for t in edit.tags}
    return True


def report(pulled: Pulled, package: Path, notes_dir: Path, prefer: str | None = None) -> str:
    """What a pull changes, in the style of `deckgen diff` (conflicts, as `prefer`
    settled them)."""
    from deckgen.diff import word_diff

    settled = f"conflict, {'Anki' if prefer == 'anki' else 'the notes'} kept"
    lines = [f"From {package} into {notes_dir}:"]
    for change in pulled.changes:
        where = f"{change.path}:{change.position.line}:{change.position.col}"
        status = settled if change.status == "conflict" else change.status
        lines.append(f"  {status:<11} {change.note_id} ({where})")
        for field_change in change.fields:
            diff = word_diff(field_change.notes, field_change.anki)
            lines.append(f"      {field_change.name}: {diff}")
    counts = {"unchanged": pulled.unchanged}
    for change in pulled.changes:
        status = "conflicts settled" if change.status == "conflict" else change.status
        counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    if pulled.older:
        summary += f"; {pulled.older} unedited from an older build, left alone"
    lines.append(summary)
    for why, names in pulled.skipped.items():
        advice = next((a for start, a in _SKIPPED_ADVICE.items() if why.startswith(start)), "")
        lines.append(f"skipped {len(names)} note(s) {why}{': ' + advice if advice else ''}:")
        lines += [f"    {name}" for name in names[:MAX_LISTED]]
        if len(names) > MAX_LISTED:
            lines.append(f"    and {len(names) - MAX_LISTED:,} more")
    if pulled.missing:
        named = ", ".join(pulled.missing[:MAX_LISTED])
        more = (
            f" and {len(pulled.missing) - MAX_LISTED} more"
            if len(pulled.missing) > MAX_LISTED
            else ""
        )
        count = len(pulled.missing)
        lines.append(f"{count} note(s) of the notes are not in the package (kept): {named}{more}")
    return "\n".join(lines)
