"""`deckgen init --from`: a deck that lives in Anki, brought into a notes folder.

From a package Anki exported: deck.yaml (the deck's name, a key, its tree of subdecks as
domains, its tags, and the note types its notes use, declared with the ids, fields,
templates, CSS and settings Anki has), a notes file per subdeck (each note with its Anki
GUID, an id made from its text, its fields and tags), the media its notes show, and a lock
that gives every note and note type the modification time Anki has for it: a build right
after brings nothing new to the collection it came from, and updates nothing there.

Field text is Markdown where converting it loses nothing (the one converter pull uses,
checked by rendering it back), else, for the whole note type, HTML, cleaned as a build
cleans it. Scheduling, reviews, flags and suspensions stay in the collection.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import html
import json
import os
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from deckgen import exported, lock, schema
from deckgen.apkg import LATEX_POST, LATEX_PRE
from deckgen.children import Alongside
from deckgen.declared import loads, resolve
from deckgen.diagnostics import has_errors
from deckgen.files import made_folders, write_all
from deckgen.fromanki import (
    Converter,
    Media,
    Taken,
    comes_back,
    convert,
    markdown,
    media_named,
    note_entries,
    said,
    slug_for,
)
from deckgen.init import beside
from deckgen.load import domain_file, load
from deckgen.lock import Lock, NoteEntries, NoteEntry, NotetypeEntry
from deckgen.markup import visible_text
from deckgen.media import NAME
from deckgen.notetypes import NOTE_TYPES
from deckgen.records import Deck, guid, tag_key
from deckgen.revision import notetype_entries
from deckgen.sanitize import clean
from deckgen.shapes import slug_of
from deckgen.source import MAX_VALUE
from deckgen.unmarkup import Converted
from deckgen.yamledit import note_text, one_line

MEDIA_FOLDER = "media"


class BringError(Exception):
    """What `init --from` refuses, in the user's words."""


@dataclass
class Brought:
    """What was written, and what was changed on the way (each said at its note)."""

    files: list[Path] = field(default_factory=list)
    notes: int = 0
    notices: list[str] = field(default_factory=list)


def bring(package: Path, folder: Path, deck: str | None = None) -> Brought:
    """Bring the deck `deck` (the package's one top deck, if it has one) into `folder`,
    a new folder; BringError (nothing written) if it cannot be done."""
    if folder.is_dir() and any(folder.iterdir()):
        raise BringError(f"{folder} is not empty: init --from writes a new folder only")
    try:
        found = exported.read(package)
    except exported.PackageError as error:
        raise BringError(str(error)) from error
    top, notes = _chosen(found, deck)
    brought = Brought()
    types = {ntid: found.notetypes.get(ntid) for ntid in dict.fromkeys(n.notetype for n in notes)}
    missing = [ntid for ntid, t in types.items() if t is None]
    if missing:
        raise BringError(f"a note type of its notes is not in the package ({missing[0]})")
    declared = {ntid: t for ntid, t in types.items() if t is not None and ntid not in _KINDS}
    # deckgen's own note types come back as its kinds; the notes retired from them, not.
    # (A kind's note's fields by name, made once: its id and its YAML are made from them.)
    named_all = [_named(n, found) if n.notetype in _KINDS else {} for n in notes]
    kept = [(n, f) for n, f in zip(notes, named_all, strict=True) if not f.get("Retired")]
    notes, named = [n for n, _ in kept], [f for _, f in kept]
    key = slug_of(top, 40) or "deck"  # (a kind's note whose GUID it did not make keeps it)
    decks = sorted({_deck_of(note, top) for note in notes}, key=_deck_order)
    domains = _domains(decks, notes, top, found)
    media_names = _media_names(notes)
    pictures = Media(_media_paths(media_names))
    # The notes' pictures and sounds in media/ (by the names they had, for those a build
    # named by their bytes), what templates and CSS load (a font, a background) beside
    # deck.yaml, under the names they use, so that they load them as they are.
    faces = [t.css for t in declared.values()]
    faces += [side for t in declared.values() for tm in t.templates for side in (tm.front, tm.back)]
    targets = {name: folder / path for name, path in pictures.items()}
    targets = {n: p for n, p in targets.items() if not n.endswith(_NOT_MEDIA)}
    targets.update({src: folder / src for face in faces for src in loads(face) if _beside(src)})
    existed = folder.is_dir()
    made = made_folders([folder / "deck.yaml"])
    written: dict[Path, bytes] = {}
    media: _Beside | None = None
    try:
        for path in reversed(made):
            path.mkdir()
        with Converter(pictures, sum(len(note.fields) for note in notes)) as converter:
            # The media written while the notes are converted: first of the converter's
            # work, while this process gives the notes their ids (in a thread, if the
            # converter has no processes; they are started already: none is started
            # while a thread runs).
            media = _Beside(converter, exported.media, package, targets)
            ids, by_domain, notices, kept_tags, html_types = _notes_yaml_by_domain(
                notes, named, declared, converter, key, lambda n: domains[_deck_of(n, top)][0]
            )
            brought.notices += notices
        files = {
            domain_file(folder, domain) or folder / domain / "notes.yaml": "\n".join(texts) + "\n"
            for domain, texts in by_domain.items()
        }
        tags = sorted(kept_tags, key=tag_key)
        description, told = convert(found.descriptions.get(top, ""), "the deck's description")
        brought.notices += [message for _, message in told]
        text = description.text if description is not None else ""
        long_faces: dict[str, str] = {}  # templates and stylesheets too long for deck.yaml
        files[folder / "deck.yaml"] = _deck_yaml(
            top, key, text, domains, declared, html_types, tags, long_faces
        )
        files.update({folder / path: face for path, face in long_faces.items()})
        # Beside the notes, as `deckgen init` writes one: git leaves out what builds make.
        files.update(beside(folder))
        # Each file names its schema, written once the notes read back (below).
        written = {
            path: (schema.modeline(folder, path) + text if path.parent == folder else text).encode()
            for path, text in files.items()
        }
        more = made_folders(list(written))
        made = more + made
        for path in reversed(more):
            path.mkdir()
        write_all(written)
        media.result()
        mods = {note_id: note.mod for note_id, note in zip(ids, notes, strict=True)}
        schemas = schema.write(folder, _lock(folder, mods, types))
    except BaseException as error:
        if media is not None:
            media.join()
        _undo(folder, existed, written, made)
        if isinstance(error, (OSError, exported.PackageError)):
            raise BringError(str(error)) from error
        raise
    brought.files = sorted(p for p in [*written, *schemas] if p.parent == folder)
    brought.notes = len(notes)
    return brought


class _Beside:
    """A function run beside the notes' conversion: in one of the converter's processes,
    where it has them (its work then runs on a core of its own, not in this process, whose
    interpreter the conversion keeps busy), else in a thread; what it raises, raised
    again by `result`."""

    def __init__(self, converter: Converter, function: Callable[..., object], *args: object):
        self.future = converter.submit(function, *args)
        self.thread = Alongside(function, *args) if self.future is None else None

    def result(self) -> None:
        if self.future is not None:
            self.future.result()
        elif self.thread is not None:
            self.thread.result()

    def join(self) -> None:
        """Wait for it to end, whatever the end."""
        if self.future is not None:
            concurrent.futures.wait([self.future])
        elif self.thread is not None:
            self.thread.join()


def _notes_yaml_by_domain(
    notes: list[exported.ExportedNote],
    named: list[dict[str, str]],
    declared: dict[int, exported.Notetype],
    converter: Converter,
    key: str,
    domain_of: Callable[[exported.ExportedNote], str],
) -> tuple[list[str], dict[str, list[str]], list[str], set[str], set[int]]:
    """Each note's id (`_ids`; a kind's note's, of its fields `named`), and each note as
    its YAML holds it, by domain, in order; what to say of them, the tags they keep, and
    the declared types that hold HTML."""
    # Each declared type's fields as Markdown, if every one converts without loss; else
    # the type holds HTML. (Given to the processes that convert first: while they are
    # converted, each note is given its id here, and then the kinds' notes are written.)
    values = _declared_values(notes, declared)
    checks = {ntid: converter.lossless(texts) for ntid, texts in values.items()}
    ids = _ids(notes, named)
    kinds = converter.map(
        _notes_yaml,
        [
            _Job(note.notetype, note_id, note.guid, key, note.tags, _written(note, fields))
            for note, fields, note_id in zip(notes, named, ids, strict=True)
            if note.notetype in _KINDS
        ],
    )
    converted: dict[str, str] = {}
    html_types = {
        ntid for ntid, done in checks.items() if not _all_markdown(values[ntid], done, converted)
    }
    # A declared type's fields go to the processes as their Markdown, converted above (or,
    # for a type that holds HTML, as it is).
    jobs = []
    for note, note_id in zip(notes, ids, strict=True):
        if note.notetype not in _KINDS:
            note_type, holds = declared[note.notetype], note.notetype in html_types
            given = note.fields if holds else tuple(converted.get(v, "") for v in note.fields)
            declares = (note_type.name, note_type.fields)
            jobs.append(
                _Job(note.notetype, note_id, note.guid, key, note.tags, given, declares, holds)
            )
    others = converter.map(_notes_yaml, jobs)
    by_domain: dict[str, list[str]] = {}
    messages: list[str] = []
    kept_tags: set[str] = set()
    for note in notes:
        yaml, notices, tags = next(kinds if note.notetype in _KINDS else others)
        messages += notices
        kept_tags.update(tags)
        by_domain.setdefault(domain_of(note), []).append(yaml)
    return ids, by_domain, messages, kept_tags, html_types


# deckgen's own note types, by their ids: their notes come back as its kinds.
_KINDS = {t.model_id: t for t in NOTE_TYPES.values()}
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _named(note: exported.ExportedNote, found: exported.Exported) -> dict[str, str]:
    """A note's fields by name (empty for those its type in the package lacks)."""
    names = found.notetypes[note.notetype].fields
    named = dict.fromkeys(_KINDS[note.notetype].field_names, "") if note.notetype in _KINDS else {}
    named.update(zip(names, note.fields, strict=False))
    return named


def _own_tag(tag: str) -> bool:
    """A tag a build gives a kind's notes itself."""
    return tag.casefold().startswith(("domain::", "kind::", "deckgen::"))


def _media_paths(names: Iterable[str]) -> dict[str, str]:
    """Each file's path in the notes folder: `media/<its own name>`, or, for a second file
    of one name (two pictures a build named from `a/diagram.png` and `b/diagram.png`, or
    names that differ only in case, one file on macOS and Windows), `media/2/<it>`, and
    so on: never two files at one path, and each named by a build as the package has it."""
    own = {name: _own_name(name) for name in names}
    keys = {_file_key(name) for name in own.values()}  # (a folder 2/ beside a file 2)
    paths: dict[str, str] = {}
    seen: dict[str, int] = {}  # how many files have each own name so far
    for name, mine in own.items():
        key = _file_key(mine)
        seen[key] = count = seen.get(key, 0) + 1
        below = str(count)
        while _file_key(below) in keys:
            below += "_"
        paths[name] = f"{MEDIA_FOLDER}/{mine}" if count == 1 else f"{MEDIA_FOLDER}/{below}/{mine}"
    return paths


def _file_key(name: str) -> str:
    """A file's name as a file system may compare it: some ignore case."""
    return unicodedata.normalize("NFC", name).casefold()


def _own_name(name: str) -> str:
    """A file's own name: a picture deckgen named by its bytes (`sun.3f2a9c1e.png`) by the
    name it had (`sun.png`), which a build names the same way again."""
    found = re.fullmatch(r"(.+)\.[0-9a-f]{8}(\.[A-Za-z0-9]+)", name)
    return found.group(1) + found.group(2) if found and NAME.match(name) else name


def _ids(notes: list[exported.ExportedNote], named: list[dict[str, str]]) -> list[str]:
    """Each note's id, unique in the deck, in the notes' order: a kind's note's ID field
    (of its fields `named`), where it is a slug not taken; else one made from its first
    words."""
    taken = Taken()
    ids = []
    for note, fields in zip(notes, named, strict=True):
        written = html.unescape(fields.get("ID", "")) if note.notetype in _KINDS else ""
        note_id = (
            written if SLUG.fullmatch(written) and written not in taken else _slug(note, taken)
        )
        taken.add(note_id)
        ids.append(note_id)
    return ids


class _Job(NamedTuple):
    """A note to write, as the process that converts its fields needs it."""

    notetype: int
    note_id: str
    guid: str  # its GUID in Anki
    key: str  # the deck's
    tags: tuple[str, ...]
    # A kind's note: its fields `_written`; a declared type's: their text (its Markdown,
    # or the HTML of a type that holds HTML) and the type's name and fields.
    texts: tuple[str, ...]
    declared: tuple[str, tuple[str, ...]] | None = None
    html: bool = False


def _written(note: exported.ExportedNote, named: dict[str, str]) -> tuple[str, ...]:
    """The fields of a kind's note its YAML holds (of its fields `named`), in its kind's
    order."""
    return tuple(named.get(name, "") for name in _KINDS[note.notetype].written)


def _notes_yaml(jobs: list[_Job], pictures: Media) -> list[tuple[str, list[str], list[str]]]:
    """Each note as its YAML holds it, what to say of it, and its tags (in a process that
    converts, for a large deck)."""
    return [_note_yaml(job, pictures) for job in jobs]


def _note_yaml(job: _Job, pictures: Media) -> tuple[str, list[str], list[str]]:
    note_id = job.note_id
    notices: list[str] = []
    if job.declared is None:  # one of deckgen's kinds: its text as Markdown, as pull brings it
        note_type = _KINDS[job.notetype]
        # (without the tags a build gives its notes itself)
        tags = [t for t in job.tags if not _own_tag(t)]
        fields = {}
        for name, value in zip(note_type.written, job.texts, strict=True):
            done, told = said(markdown(value, pictures), name)
            notices += [f"'{note_id}': {message}" for _, message in told]
            if done is not None and done.text:
                fields[name] = done.text
        own = guid(job.key, note_id) == job.guid
        written = note_entries(note_type, note_id, None if own else job.guid, fields, tags)
        return note_text(written), notices, tags
    # A declared type's: its GUID, type and fields by name.
    entries: list[tuple[str, object]] = [
        ("id", note_id),
        ("guid", job.guid),
        ("type", job.declared[0]),
    ]
    for name, value in zip(job.declared[1], job.texts, strict=False):
        text = _field_text(value, job.html, pictures, notices, note_id)
        if text:
            entries.append((name, text))
    tags = list(job.tags)
    if tags:
        entries.append(("tags", tags))
    return note_text(entries), notices, tags


def _chosen(found: exported.Exported, deck: str | None) -> tuple[str, list[exported.ExportedNote]]:
    """The top deck to bring, and its notes (those with a card in it or below it)."""
    tops = Counter(d.split("::")[0] for note in found.notes.values() for d in note.decks)
    if not tops:
        raise BringError("it holds no notes: export a deck that has some")
    if deck is None:
        if len(tops) > 1:
            listed = ", ".join(f"'{name}' ({n} notes)" for name, n in sorted(tops.items()))
            raise BringError(f"it holds several decks: name one with --deck: {listed}")
        deck = next(iter(tops))
    if deck not in tops:
        listed = ", ".join(f"'{name}'" for name in sorted(tops))
        raise BringError(f"it holds no deck '{deck}': it holds {listed}")
    notes = [
        note
        for note in found.notes.values()
        if any(d == deck or d.startswith(deck + "::") for d in note.decks)
    ]
    return deck, notes


def _deck_of(note: exported.ExportedNote, top: str) -> str:
    """The deck a note's cards are in, below the top deck ("" for the top deck itself);
    of a note whose cards are in several, the first in Anki's order."""
    return _first_deck(note.decks, top)


@functools.lru_cache(maxsize=4096)
def _first_deck(decks: frozenset[str], top: str) -> str:
    """(Remembered: a deck's notes share their set of decks.)"""
    inside = [d for d in decks if d == top or d.startswith(top + "::")]
    return min(inside, key=_deck_order)[len(top) + 2 :] if inside else ""


def _deck_order(name: str) -> list[str]:
    return [level.casefold() for level in name.split("::")]


def _domains(
    decks: list[str], notes: list[exported.ExportedNote], top: str, found: exported.Exported
) -> dict[str, tuple[str, str, int | None]]:
    """Each deck below the top one: a domain's key (unique; the one deckgen gave its kinds'
    notes, `domain::<key>`, where they have one), name and weight (as their cards show it,
    `MLOps · 44% of exam`)."""
    known: dict[str, tuple[str, int | None]] = {}
    for note in notes:
        if note.notetype in _KINDS and _deck_of(note, top) not in known:
            tag = next((t for t in note.tags if t.casefold().startswith("domain::")), "")
            label = html.unescape(_named(note, found).get("Domain", "")).split("<!--")[0]
            shown = re.search(r" · (\d{1,3})% of exam$", label)
            if tag[8:] and SLUG.fullmatch(tag[8:]):
                known.setdefault(_deck_of(note, top), (tag[8:], int(shown[1]) if shown else None))
    domains: dict[str, tuple[str, str, int | None]] = {}
    keys = Taken()
    for deck in decks:
        base, weight = known.get(deck, ("", None))
        base = base or slug_of(deck.replace("::", " "), 40) or ("top" if not deck else "part")
        key = keys.unique(base)
        keys.add(key)
        domains[deck] = (key, deck.split("::")[-1] if deck else "Main", weight)
    return domains


def _media_names(notes: Iterable[exported.ExportedNote]) -> list[str]:
    """The files the notes show: pictures and sounds, by the names Anki gives them."""
    names: dict[str, None] = {}
    for note in notes:
        for value in note.fields:
            if "<" not in value and "[sound:" not in value:  # (neither a picture nor a sound)
                continue
            if "<i" not in value and "<I" not in value and "[" not in value:
                continue  # (what _MEDIA finds starts so: most HTML here is <code>, <em>)
            for match in _MEDIA.finditer(value):
                names[match.group(1) or match.group(2)] = None
    return list(names)


_SOUND = re.compile(r"\[sound:([^\]\n]+)\]")
_MEDIA = re.compile(r"""<img[^>]*?\ssrc=["']([^"']+)["']|\[sound:([^\]]+)\]""", re.IGNORECASE)


def _declared_values(
    notes: Iterable[exported.ExportedNote], declared: Mapping[int, exported.Notetype]
) -> dict[int, list[str]]:
    """The fields of each declared type's notes: each text once, none empty."""
    values: dict[int, dict[str, None]] = {ntid: {} for ntid in declared}
    for note in notes:
        if note.notetype in values:
            values[note.notetype].update(dict.fromkeys(v for v in note.fields if v))
    return {ntid: list(texts) for ntid, texts in values.items()}


def _all_markdown(
    values: list[str],
    converted: Generator[Converted | None, None, None],
    markdown: dict[str, str],
) -> bool:
    """Whether every one of these fields converts to Markdown and back unchanged (each
    one's Markdown kept in `markdown`, by its HTML), from `Converter.lossless`: at the
    first that does not, what is still to convert is left."""
    try:
        for value, done in zip(values, converted, strict=True):
            if not comes_back(done, value):
                return False
            markdown[value] = done.text
        return True
    finally:
        converted.close()


def _field_text(
    value: str, holds_html: bool, pictures: dict[str, str], notices: list[str], note_id: str
) -> str:
    """A field's text as its note gives it: its Markdown (converted by _all_markdown,
    without the pictures, which are HTML) with the sounds' paths, or the HTML, cleaned as
    a build cleans it (what was removed, said)."""
    if not holds_html:
        return _SOUND.sub(lambda m: f"[sound:{pictures.get(m.group(1), m.group(1))}]", value)
    cleaned = clean(value)
    if cleaned.removed:
        notices.append(f"'{note_id}': removed from its HTML: {', '.join(cleaned.removed)}")
    return media_named(cleaned.html, pictures)


def _slug(note: exported.ExportedNote, taken: Taken) -> str:
    """An id from the note's first words (of its first field with any), unique in the
    deck, as pull makes one for a note added in Anki."""
    text = next((t for t in (visible_text(f[:2_000]) for f in note.fields) if t), "")
    return slug_for(text, "note", taken)


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _deck_yaml(
    top: str,
    key: str,
    description: str,
    domains: dict[str, tuple[str, str, int | None]],
    types: dict[int, exported.Notetype],
    html_types: set[int],
    tags: list[str],
    faces: dict[str, str],
) -> str:
    """deck.yaml: the deck, its domains (a deck each), its tags and its note types (each
    template side or stylesheet too long for a value of deck.yaml put in `faces`, by the
    path of the file that holds it)."""
    lines = [
        "# Brought from Anki by `deckgen init --from`. `key` is the namespace of every note's",
        "# GUID: never change it (a note brought from Anki keeps its own GUID).",
        f"name: {one_line(top)}",
        f"key: {key}",
        *([f"description: {_q(description)}"] if description else []),
        "domains:",
    ]
    for deck, (domain_key, name, weight) in domains.items():
        weighed = f", weight: {weight}" if weight is not None else ""
        lines.append(f"  - {{key: {domain_key}, name: {_q(name)}, deck: {_q(deck)}{weighed}}}")
    if tags:
        lines.append("tags:")
        lines += [f"  - {_q(tag)}" for tag in tags]
    if types:
        lines.append("note_types:")
    for ntid, note_type in types.items():
        lines += _note_type_yaml(ntid, note_type, ntid in html_types, faces)
    return "\n".join(lines) + "\n"


def _face(text: str, path: str, faces: dict[str, str]) -> str:
    """A template side or stylesheet as deck.yaml holds it: its text, or, past what a
    value may hold, `{file: path}`, the file (beside the notes) that holds it as it is."""
    if len(text) <= MAX_VALUE:
        return _q(text)
    faces[path] = text
    return f"{{file: {_q(path)}}}"


def _note_type_yaml(
    ntid: int, note_type: exported.Notetype, holds_html: bool, faces: dict[str, str]
) -> list[str]:
    where = f"note-types/{slug_of(note_type.name, 40) or 'type'}-{ntid}"
    lines = [f"  - name: {_q(note_type.name)}", f"    id: {ntid}"]
    if note_type.is_cloze:
        lines.append("    cloze: true")
    if holds_html:
        lines.append("    html: true")
    if note_type.sort_field:
        lines.append(f"    sort_field: {_q(note_type.fields[note_type.sort_field])}")
    lines += _settings_yaml(note_type.settings, "    ")
    lines.append("    fields:")
    ids = note_type.field_ids or (None,) * len(note_type.fields)
    settings = note_type.field_settings or ((),) * len(note_type.fields)
    for name, field_id, own in zip(note_type.fields, ids, settings, strict=True):
        lines.append(f"      - name: {_q(name)}")
        if field_id:
            lines.append(f"        id: {field_id}")
        lines += _settings_yaml(own, "        ")
    lines.append("    templates:")
    for number, template in enumerate(note_type.templates, start=1):
        lines.append(f"      - name: {_q(template.name)}")
        if template.id:
            lines.append(f"        id: {template.id}")
        lines.append(
            f"        front: {_face(template.front, f'{where}/card-{number}-front.html', faces)}"
        )
        lines.append(
            f"        back: {_face(template.back, f'{where}/card-{number}-back.html', faces)}"
        )
        lines += _settings_yaml(template.settings, "        ")
    lines.append(f"    css: {_face(note_type.css, f'{where}/style.css', faces)}")
    return lines


# deck.yaml's name of each setting, by the name Anki's JSON gives it.
_SETTING_KEYS = {
    "latexPre": "latex_pre",
    "latexPost": "latex_post",
    "latexsvg": "latex_svg",
    "font": "font",
    "size": "size",
    "rtl": "rtl",
    "sticky": "sticky",
    "description": "description",
    "plainText": "plain_text",
    "collapsed": "collapsed",
    "excludeFromSearch": "exclude_from_search",
    "bqfmt": "browser_front",
    "bafmt": "browser_back",
    "bfont": "browser_font",
    "bsize": "browser_font_size",
}


def _settings_yaml(settings: exported.Settings, indent: str) -> list[str]:
    lines = []
    for key, value in settings:
        if key in ("latexPre", "latexPost") and value in (LATEX_PRE, LATEX_POST):
            continue
        if isinstance(value, bool):
            written = "true" if value else "false"
        elif isinstance(value, int):
            written = str(value)
        else:
            written = _q(str(value))
        lines.append(f"{indent}{_SETTING_KEYS[key]}: {written}")
    return lines


def _lock(
    folder: Path,
    mods: Mapping[str, int],
    types: Mapping[int, exported.Notetype | None],
) -> Deck:
    """The lock that gives every note (`mods`, by its id) and note type the time Anki has
    for it, made from the notes folder as a build reads it (BringError if it does not
    read back whole); the deck read."""
    loaded = load(folder, cache=False)
    if loaded.deck is None or has_errors(loaded.problems):
        shown = "; ".join(str(p) for p in loaded.problems if p.level.name == "ERROR")[:2000]
        raise BringError(f"the notes it makes do not check: {shown}")
    deck = loaded.deck
    entries = NoteEntries()
    for note_id, kind, domain, digest in deck.stamps():
        entries.put(NoteEntry(note_id, kind, domain, mods[note_id], digest))
    note_types = resolve(deck.note_types, None)
    anki_mods = {ntid: t.mod for ntid, t in types.items() if t is not None}
    kinds = {k: t for k, t in note_types.items() if not t.declared}
    kept, _ = notetype_entries(Lock(), int(time.time()), kinds)
    for kind, note_type in note_types.items():
        mod = anki_mods.get(note_type.model_id)
        if mod is not None:  # a note type Anki has: its time there
            kept[kind] = NotetypeEntry(kind, mod, note_type.digest, note_type.schema)
    lock.write(folder / lock.LOCK_FILE, Lock(deck.key, entries, kept))
    return deck


def _undo(folder: Path, existed: bool, written: Mapping[Path, bytes], made: list[Path]) -> None:
    """The folder as it was before: what was written in it removed (it was empty, or
    not there, and is so again), and what was written beside it, and the folders made."""
    for path in written:
        if not path.is_relative_to(folder):
            path.unlink(missing_ok=True)
    for root, dirs, names in os.walk(folder, topdown=False):
        for name in names:
            os.unlink(os.path.join(root, name))
        for name in dirs:
            os.rmdir(os.path.join(root, name))
    if folder.is_dir() and not existed:
        folder.rmdir()
    for path in made:  # innermost first
        with contextlib.suppress(OSError):
            path.rmdir()


# What a file from the package may not be named: what deckgen reads as notes or a lock.
_NOT_MEDIA = (".yaml", ".yml", ".lock")


def _beside(name: str) -> bool:
    """Whether a file a template or stylesheet loads may be written beside deck.yaml under
    its own name: a plain name, none deckgen reads itself or writes there (its notes
    files, deck.yaml and the lock are YAML or a lock; the faces too long for deck.yaml go
    into note-types/)."""
    return (
        "/" not in name
        and not name.endswith(_NOT_MEDIA)
        and name not in (schema.DECK_SCHEMA, schema.NOTES_SCHEMA)
    )
