"""Note types a deck declares in deck.yaml (`note_types:`), as data: a name, fields, card
templates and CSS, each with a permanent id. They become NoteType values like the four
kinds, and go through the one build.

    note_types:
      - name: Vocabulary
        fields: [Word, Meaning, Example]     # or {name: Word, id: 1234} to keep Anki's id
        templates:
          - {name: Recognise, front: "{{Word}}", back: "{{FrontSide}}<hr id=answer>{{Meaning}}"}
        css: ".card { font-family: serif; }"
        cloze: false    # true: Anki's Cloze kind, a card per cloze number
        html: false     # true: field text is HTML, cleaned (sanitize.py), not Markdown
        sort_field: Word

Ids: the type's, each field's and each template's are given (`id:`), or taken from the
lock (by the type's name; a field renamed in place keeps its place's id), or made from
the names once and kept in the lock from then on (`resolve`).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, NamedTuple

from deckgen import shapes
from deckgen.diagnostics import Diagnostic, Position
from deckgen.files import read_text
from deckgen.markup import parse_clozes, to_html
from deckgen.media import FONT_FORMATS, PICTURE_FORMATS, SOUND_FORMATS, Picture, Pictures, Refusal
from deckgen.notes import Custom, Note
from deckgen.notetypes import NOTE_TYPES, Field, NoteType, Settings, Template, code_css
from deckgen.shapes import Checker, Entries, slug_of
from deckgen.source import BOOL, INT, NULL, STR, Node, Scalar
from deckgen.source import Mapping as MappingNode

if TYPE_CHECKING:
    from deckgen.lock import Lock

# What else Anki keeps of a note type, a field or a template: each key as deck.yaml writes
# it, as Anki's JSON names it, and what it holds.
TYPE_SETTINGS = {
    "latex_pre": ("latexPre", "text"),
    "latex_post": ("latexPost", "text"),
    "latex_svg": ("latexsvg", "bool"),
}
FIELD_SETTINGS = {
    "font": ("font", "text"),
    "size": ("size", "size"),
    "rtl": ("rtl", "bool"),
    "sticky": ("sticky", "bool"),
    "description": ("description", "text"),
    "plain_text": ("plainText", "bool"),
    "collapsed": ("collapsed", "bool"),
    "exclude_from_search": ("excludeFromSearch", "bool"),
}
TEMPLATE_SETTINGS = {
    "browser_front": ("bqfmt", "text"),
    "browser_back": ("bafmt", "text"),
    "browser_font": ("bfont", "text"),
    "browser_font_size": ("bsize", "size"),
}
NOTE_TYPE_KEYS = (
    "name",
    "id",
    "fields",
    "templates",
    "css",
    "cloze",
    "html",
    "sort_field",
    *TYPE_SETTINGS,
)
NOTE_TYPE_REQUIRED = ("name", "fields", "templates")
TEMPLATE_KEYS = ("name", "id", "front", "back", *TEMPLATE_SETTINGS)
TEMPLATE_REQUIRED = ("name", "front", "back")
FIELD_KEYS = ("name", "id", *FIELD_SETTINGS)
MAX_NOTE_TYPES = 100
MAX_FIELDS = 100
MAX_TEMPLATES = 100
MAX_FONT_SIZE = 1000  # a font size, in points
# What a template or stylesheet may load: pictures, sounds and fonts.
MEDIA_FORMATS = PICTURE_FORMATS | SOUND_FORMATS | FONT_FORMATS
MAX_FACE = 1 << 20  # bytes of a template side or stylesheet kept in a file of its own
# What a note's YAML uses for itself, so no field may be named so.
NOTE_KEYS = ("id", "type", "tags", "guid")
# Names a template may use besides the fields: Anki fills them itself.
SPECIAL_FIELDS = frozenset(
    {"FrontSide", "Tags", "Type", "Deck", "Subdeck", "Card", "CardFlag", "CardID"}
)
# Anki's CSS for a new note type.
ANKI_CSS = """\
.card {
    font-family: arial;
    font-size: 20px;
    line-height: 1.5;
    text-align: center;
    color: black;
    background-color: white;
}
"""
_MAX_ID = 2**63 - 1
# Characters Anki does not take in a field name (it reads them as template syntax).
_BAD_FIELD_NAME = re.compile(r'[:{}"]|^[#/^]')


def check_note_types(
    checker: Checker, node: Node, folder: Path | None = None
) -> dict[str, NoteType] | None:
    """deck.yaml's `note_types`: each a NoteType (its ids as given, else 0: `resolve` gives
    them), by its key; None if any is wrong (each problem reported). `folder`: the notes
    folder, where a template or stylesheet may be kept in a file of its own."""
    items = checker.sequence(node, "'note_types'", "[{name: Vocabulary, fields: [Word], ...}]")
    if items is None:
        return None
    if len(items) > MAX_NOTE_TYPES:
        message = f"over {MAX_NOTE_TYPES} note types: a deck declares {MAX_NOTE_TYPES} at most"
        checker.report(node.position, "too-many", message)
        return None
    declared: dict[str, NoteType] = {}
    names: dict[str, Position] = {}
    valid = True
    for item in items:
        note_type = _note_type(checker, item, names, folder)
        if note_type is None:
            valid = False
            continue
        taken = {t.model_id for t in (*NOTE_TYPES.values(), *declared.values())}
        if note_type.model_id and note_type.model_id in taken:
            message = f"the id {note_type.model_id} is another note type's: each has its own"
            checker.report(item.position, "duplicate-id", message)
            valid = False
            continue
        if note_type.kind in declared or note_type.kind in NOTE_TYPES:
            message = (
                f"the note type '{note_type.name}' has the key '{note_type.kind}' of"
                f" {'another' if note_type.kind in declared else 'a built-in kind'}: name it"
                " otherwise"
            )
            checker.report(item.position, "duplicate-type", message)
            valid = False
            continue
        declared[note_type.kind] = note_type
    return declared if valid else None


def _note_type(
    checker: Checker, node: Node, names: dict[str, Position], folder: Path | None
) -> NoteType | None:
    entries = checker.mapping(node, "a note type", NOTE_TYPE_KEYS)
    if entries is None:
        return None
    checker.required(entries, NOTE_TYPE_REQUIRED, node, "a note type")
    name = checker.text(entries, "name")
    if name is not None:
        where = entries["name"][1].position
        taken = name in names or name in {t.name for t in NOTE_TYPES.values()}
        if taken:
            message = f"a second note type named '{name}': each needs its own name"
            checker.report(where, "duplicate-type", message)
            name = None
        else:
            names[name] = where
    model_id = _id(checker, entries)
    settings = _settings(checker, entries, TYPE_SETTINGS)
    is_cloze = _flag(checker, entries, "cloze")
    holds_html = _flag(checker, entries, "html")
    css = _face(checker, entries, "css", folder) if "css" in entries else None
    shipped: dict[str, Picture] = {}  # the files its templates and CSS load, by name
    style = ANKI_CSS + "\n" + code_css() if "css" not in entries else None
    if css is not None:
        style = _ship_media(checker, css, folder, shipped) if folder else css.text
    fields = _fields(checker, entries["fields"][1]) if "fields" in entries else None
    if name is None or model_id is False or is_cloze is None or holds_html is None:
        return None
    if fields is None or style is None or "templates" not in entries:
        return None
    kind = slug_of(name, 40) or "type-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    named = [f.name for f in fields]
    templates = _templates(checker, entries["templates"][1], named, is_cloze, folder, shipped)
    sort_field = _sort_field(checker, entries, named)
    if templates is None or sort_field is None or settings is None:
        return None
    fill = functools.partial(_fill, names=tuple(named), holds_html=holds_html)
    return NoteType(  # ids not given are 0 until `resolve` gives them
        kind=kind,
        model_id=model_id or 0,
        name=name,
        fields=tuple(fields),
        templates=templates,
        fill=fill,
        is_cloze=is_cloze,
        style=style,
        declared=True,
        sort_field=sort_field,
        holds_html=holds_html,
        media=tuple(shipped[name] for name in sorted(shipped)),
        settings=settings,
    )


def _id(checker: Checker, entries: Entries, key: str = "id") -> int | bool | None:
    """An `id:` as Anki has it (a 64-bit integer other than 0; Anki's field and template
    ids may be below 0); None if none, False if wrong."""
    if key not in entries:
        return None
    node = entries[key][1]
    digits = node.value.removeprefix("-") if type(node) is Scalar else ""
    if type(node) is Scalar and node.tag == INT and digits.isdigit() and len(digits) < 20:
        number = int(node.value)
        if number and -_MAX_ID - 1 <= number <= _MAX_ID:
            return number
    message = f"'{key}' must be a whole number, not 0, of 64 bits, as Anki gives ids"
    checker.report(node.position, "wrong-type", message)
    return False


def _flag(checker: Checker, entries: Entries, key: str) -> bool | None:
    if key not in entries:
        return False
    node = entries[key][1]
    if type(node) is Scalar and node.tag == BOOL:
        return node.value.lower() in ("true", "yes", "on", "y")
    checker.report(node.position, "wrong-type", f"'{key}' must be true or false")
    return None


def _fields(checker: Checker, node: Node) -> list[Field] | None:
    items = checker.sequence(node, "'fields'", "[Front, Back]")
    if items is None:
        return None
    if not items:
        checker.report(node.position, "empty-text", "'fields' is empty: a note type needs one")
        return None
    if len(items) > MAX_FIELDS:
        message = f"over {MAX_FIELDS} fields: a note type has {MAX_FIELDS} at most"
        checker.report(node.position, "too-many", message)
        return None
    fields: list[Field] = []
    seen: set[str] = set()
    valid = True
    for item in items:
        found = _named(checker, item, "a field", FIELD_KEYS)
        if found is None:
            valid = False
            continue
        name, given, where, settings = found
        problem = None
        if name in seen:
            problem = f"a second field named '{name}'"
        elif given and given in {f.id for f in fields}:
            problem = f"the id {given} is another field's: each field has its own"
        elif name in NOTE_KEYS:
            problem = f"a field may not be named '{name}': notes use that key for their own {name}"
        elif _BAD_FIELD_NAME.search(name) or name != name.strip():
            problem = (
                f"Anki does not take '{name}' as a field name: no ':', braces or quotes, no '#',"
                " '/' or '^' first, no spaces at either end"
            )
        if problem is not None:
            checker.report(where, "bad-field", problem)
            valid = False
            continue
        seen.add(name)
        fields.append(Field(name, given or 0, settings))
    return fields if valid else None


def _named(
    checker: Checker, node: Node, what: str, keys: tuple[str, ...]
) -> tuple[str, int | None, Position, Settings] | None:
    """A name, written alone or as `{name: ..., id: ..., font: ...}`, with its id and
    settings if given."""
    if type(node) is Scalar and node.tag == STR and node.value.strip():
        return node.value, None, node.position, ()
    if type(node) is Scalar:
        checker.report(node.position, "wrong-type", checker.not_text(what, node))
        return None
    entries = checker.mapping(node, what, keys)
    if entries is None:
        return None
    checker.required(entries, ("name",), node, what)
    name = checker.text(entries, "name")
    given = _id(checker, entries)
    settings = _settings(checker, entries, FIELD_SETTINGS)
    if name is None or given is False or settings is None:
        return None
    return name, given, entries["name"][1].position, settings


def _settings(
    checker: Checker, entries: Entries, known: Mapping[str, tuple[str, str]]
) -> Settings | None:
    """The settings written among `entries`, as Anki's JSON has them; None if one is
    wrong (reported)."""
    found: list[tuple[str, object]] = []
    valid = True
    for key, (json_key, kind) in known.items():
        if key not in entries:
            continue
        node = entries[key][1]
        value: object
        if kind == "bool":
            value = _flag(checker, entries, key)
        elif kind == "size":
            number = node.value if type(node) is Scalar and node.tag == INT else ""
            value = int(number) if number.isdigit() and 0 < int(number) <= MAX_FONT_SIZE else None
            if value is None:
                message = f"'{key}' must be a whole number of points from 1 to {MAX_FONT_SIZE}"
                checker.report(node.position, "wrong-type", message)
        else:
            value = checker.text(entries, key, required=False)
            if value is None and type(node) is Scalar and node.tag in (STR, NULL):
                value = ""
        if value is None:
            valid = False
        else:
            found.append((json_key, value))
    return tuple(found) if valid else None


def _templates(
    checker: Checker,
    node: Node,
    fields: list[str],
    is_cloze: bool,
    folder: Path | None,
    shipped: dict[str, Picture],
) -> tuple[Template, ...] | None:
    items = checker.sequence(node, "'templates'", "[{name: Card 1, front: '{{Front}}', ...}]")
    if items is None:
        return None
    if not items or len(items) > MAX_TEMPLATES or (is_cloze and len(items) != 1):
        most = "exactly one" if is_cloze else f"from 1 to {MAX_TEMPLATES}"
        what = "a cloze note type" if is_cloze else "a note type"
        message = f"{what} has {most} card templates, not {len(items)}"
        checker.report(node.position, "too-many" if items else "empty-text", message)
        return None
    templates: list[Template] = []
    seen: set[str] = set()
    valid = True
    for item in items:
        entries = checker.mapping(item, "a card template", TEMPLATE_KEYS)
        if entries is None:
            valid = False
            continue
        checker.required(entries, TEMPLATE_REQUIRED, item, "a card template")
        name = checker.text(entries, "name")
        given = _id(checker, entries)
        settings = _settings(checker, entries, TEMPLATE_SETTINGS)
        front = _face(checker, entries, "front", folder) if "front" in entries else None
        back = _face(checker, entries, "back", folder) if "back" in entries else None
        if name is not None and name in seen:
            message = f"a second card template named '{name}'"
            checker.report(entries["name"][1].position, "duplicate-template", message)
            name = None
        same = next((t for t in templates if front is not None and t.front == front.text), None)
        if same is not None:
            message = (
                f"this front is the same as the template '{same.name}''s: Anki refuses a note"
                " type two of whose cards would be the same card"
            )
            checker.report(entries["front"][1].position, "duplicate-template", message)
            name = None
        if given and given in {t.id for t in templates}:
            message = f"the id {given} is another template's: each template has its own"
            checker.report(entries["id"][1].position, "duplicate-id", message)
            name = None
        if name is None or given is False or front is None or back is None:
            valid = False
            continue
        seen.add(name)
        front_ok = _check_face(checker, front, fields, front=True, cloze=is_cloze)
        back_ok = _check_face(checker, back, fields, front=False, cloze=is_cloze)
        front_text = _ship_media(checker, front, folder, shipped) if folder else front.text
        back_text = _ship_media(checker, back, folder, shipped) if folder else back.text
        if not (front_ok and back_ok) or front_text is None or back_text is None:
            valid = False
            continue
        if settings is None:
            valid = False
            continue
        own = Template(name, given or 0, front_text, back_text, inline=True, settings=settings)
        templates.append(own)
    return tuple(templates) if valid else None


def _sort_field(checker: Checker, entries: Entries, fields: list[str]) -> int | None:
    if "sort_field" not in entries:
        return 0
    name = checker.text(entries, "sort_field")
    if name is None:
        return None
    if name not in fields:
        node = entries["sort_field"][1]
        checker.report(node.position, "unknown-field", unknown("field", name, fields))
        return None
    return fields.index(name)


def _made_id(*names: str) -> int:
    """An id made from names: the same for the same names, on every machine; kept in the
    lock once made, so that a rename keeps it."""
    digest = hashlib.sha256("\x1f".join(names).encode()).digest()
    return int.from_bytes(digest[:7], "big") | 1 << 56  # 57 bits: never 0, never negative


# Template syntax, as Anki reads it: `{{name}}`, `{{filter:name}}`, `{{#name}}` ... `{{/name}}`.
_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


class _Tag(NamedTuple):
    kind: str  # "" (a replacement), "#", "^" or "/"
    name: str  # the field, without filters
    filters: tuple[str, ...]
    start: int  # where `{{` is, in the template


def _tags(template: str) -> Iterator[_Tag]:
    for match in _TAG.finditer(template):
        inside = match.group(1).strip()
        kind = inside[:1] if inside[:1] in "#^/" else ""
        *filters, name = (inside[1:] if kind else inside).split(":")
        yield _Tag(kind, name.strip(), tuple(f.strip() for f in filters), match.start())


class Face(NamedTuple):
    """A template side or a stylesheet: its text, and where it was written (in deck.yaml,
    or in a file of its own beside the notes)."""

    text: str
    node: Scalar  # its value in deck.yaml, or the `file:` naming its file
    path: str | None = None  # the file that holds it, if one does

    def position(self, checker: Checker, offset: int) -> tuple[str, Position]:
        if self.path is None:
            [position] = checker.source.positions_in(self.node, [offset])
            return checker.source.path, position
        line = self.text.count("\n", 0, offset) + 1
        return self.path, Position(line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1)


def _face(checker: Checker, entries: Entries, key: str, folder: Path | None) -> Face | None:
    """A template side or stylesheet: text, or `{file: path}`, a file beside the notes
    (`note-types/vocabulary/front.html`) for one too long to keep in deck.yaml."""
    node = entries[key][1]
    if type(node) is not MappingNode:
        text = checker.text(entries, key, required=key != "css")
        if text is None:
            return Face("", node) if type(node) is Scalar and key == "css" else None
        assert type(node) is Scalar
        return Face(text, node)
    inner = checker.mapping(node, f"'{key}'", ("file",))
    if inner is None:
        return None
    checker.required(inner, ("file",), node, f"'{key}'")
    written = checker.text(inner, "file")
    if written is None or folder is None:
        return None
    where = inner["file"][1]
    assert type(where) is Scalar
    path = folder / written
    if PurePath(written).is_absolute() or ".." in PurePath(written).parts:
        message = f"'{written}': a file of the deck is named from the notes folder, inside it"
        checker.report(where.position, "bad-path", message)
        return None
    advice = "keep templates and CSS short"
    text, problems = read_text(path, str(path), MAX_FACE, advice, what="a template or CSS file")
    for problem in problems:
        checker.collected.add(problem)
    return None if text is None else Face(text, where, str(path))


# What a template or stylesheet loads: `url(...)` in CSS, `src=`/`href=` in HTML.
_LOADS = re.compile(
    r"""url\(\s*(?P<q1>['"]?)(?P<url>[^'")\s]+)(?P=q1)\s*\)"""
    r"""|\b(?:src|href)\s*=\s*(?P<q2>['"])(?P<ref>[^'"]+)(?P=q2)""",
    re.IGNORECASE,
)
_ELSEWHERE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)|\{\{", re.IGNORECASE)


def loads(text: str) -> list[str]:
    """The files of the deck a template or stylesheet loads, as it names them."""
    found = [m.group("url") or m.group("ref") for m in _LOADS.finditer(text)]
    return [src for src in found if not _ELSEWHERE.search(src)]


def _ship_media(
    checker: Checker, face: Face, folder: Path, shipped: dict[str, Picture]
) -> str | None:
    """A template's or stylesheet's text with each file of the deck it loads (a font, a
    background, a sound) given its name in the package: `_` first, so that Anki keeps it
    though no note shows it, and made from its bytes, so that changed bytes are a new
    file (Anki never replaces a file whose name starts with `_`). None if one is wrong."""
    pictures = Pictures(folder, Path(face.path) if face.path else folder / "deck.yaml")
    text, edits, valid = face.text, [], True
    for match in _LOADS.finditer(text):
        group = "url" if match.group("url") else "ref"
        src = match.group(group)
        if _ELSEWHERE.search(src):
            continue  # a link, a URL, or a field's value: not a file of the deck
        found = pictures.resolve(src, MEDIA_FORMATS)
        if isinstance(found, Refusal):
            path, position = face.position(checker, match.start(group))
            code = found.code.replace("picture", "media")
            checker.collected.add(Diagnostic(path, position, code, found.message))
            valid = False
            continue
        static = found._replace(name=f"_{found.name}")
        shipped[static.name] = static
        edits.append((match.start(group), match.end(group), static.name))
    for start, end, name in reversed(edits):
        text = text[:start] + name + text[end:]
    return text if valid else None


def _check_face(
    checker: Checker, face_of: Face, fields: list[str], *, front: bool, cloze: bool
) -> bool:
    """A template's field names, sections and (for a front) that it can show something."""
    template = face_of.text
    face = "front" if front else "back"
    valid = True
    opened: list[_Tag] = []
    shows_field = False
    has_cloze = False

    def report(offset: int, code: str, message: str) -> None:
        nonlocal valid
        path, position = face_of.position(checker, offset)
        checker.collected.add(Diagnostic(path, position, code, message))
        valid = False

    for tag in _tags(template):
        known = tag.name in fields or (tag.name in SPECIAL_FIELDS and tag.kind == "")
        if tag.name == "FrontSide" and front:
            report(tag.start, "unknown-field", "{{FrontSide}} belongs on the back, not the front")
            continue
        if not known and not (tag.kind == "" and not tag.name and tag.filters):
            report(
                tag.start, "unknown-field", f"the {face} names {unknown('field', tag.name, fields)}"
            )
            continue
        if tag.kind in ("#", "^"):
            opened.append(tag)
        elif tag.kind == "/":
            if not opened or opened[-1].name != tag.name:
                expected = f"{{{{/{opened[-1].name}}}}}" if opened else "no closing tag here"
                report(
                    tag.start,
                    "template-syntax",
                    f"'{{{{/{tag.name}}}}}' closes nothing open: expected {expected}",
                )
                continue
            opened.pop()
        elif tag.name in fields:
            shows_field = True
            has_cloze = has_cloze or "cloze" in tag.filters
    for tag in opened:
        report(
            tag.start,
            "template-syntax",
            f"'{{{{{tag.kind}{tag.name}}}}}' is never closed with '{{{{/{tag.name}}}}}'",
        )
    if valid and front and not shows_field:
        message = (
            "this front shows no field, so no note would ever have a card of it: name one,"
            f" e.g. {{{{{fields[0]}}}}}"
        )
        report(0, "empty-front", message)
    if valid and front and cloze and not has_cloze:
        message = f"a cloze note type's front needs a cloze field, e.g. {{{{cloze:{fields[0]}}}}}"
        report(0, "cloze-missing", message)
    return valid


def cloze_fields(note_type: NoteType) -> tuple[str, ...]:
    """The fields a cloze type's front clozes (`{{cloze:Text}}`)."""
    front = note_type.templates[0].front if note_type.templates else ""
    return _clozed(front, note_type.field_names)


@functools.lru_cache(maxsize=256)
def _clozed(front: str, fields: tuple[str, ...]) -> tuple[str, ...]:
    found = {tag.name for tag in _tags(front) if "cloze" in tag.filters}
    return tuple(name for name in fields if name in found)


def unknown(what: str, name: str, known: list[str] | tuple[str, ...]) -> str:
    """`unknown field 'Wrd' (did you mean 'Word'?)`."""
    return shapes.unknown(f"{what} '{name}'", name, tuple(known))


# -- Notes of declared types -------------------------------------------------------------


def _fill(note: Note, names: tuple[str, ...], holds_html: bool) -> dict[str, str]:
    """A note's fields as HTML: Markdown made HTML, or (a type that holds HTML) as cleaned
    when it was checked."""
    assert isinstance(note, Custom)
    given = dict(note.values)
    if holds_html:
        return {name: given.get(name, "") for name in names}
    return {name: to_html(given[name]) if name in given else "" for name in names}


# Anki's test for an empty field: nothing but white space and line breaks.
_EMPTY = re.compile(r"^(?:[\s\u00a0]|</?(?:br|div)\s*/?>)*$", re.IGNORECASE)


def field_is_empty(html: str) -> bool:
    return _EMPTY.match(html) is not None


def cards_of(note_type: NoteType) -> Callable[[Custom], list[int]]:
    """Which cards a note of a declared type makes, as Anki decides: for a cloze type, one
    per cloze number in the fields its front clozes (c1 is 0); else one per template whose
    front shows a field the note fills."""
    return _card_rule(note_type.is_cloze, tuple(t.front for t in note_type.templates))


@functools.lru_cache(maxsize=256)
def _card_rule(is_cloze: bool, faces: tuple[str, ...]) -> Callable[[Custom], list[int]]:
    fronts = [_parse(face) for face in faces]
    if is_cloze:
        clozed = {tag.name for tag in _tags(faces[0]) if "cloze" in tag.filters}

        def clozes(note: Custom) -> list[int]:
            numbers: set[int] = set()
            for name, text in note.values:
                if name in clozed:
                    numbers.update(parse_clozes(text).numbers)
            return [n - 1 for n in sorted(numbers) if n > 0]

        return clozes

    def cards(note: Custom) -> list[int]:
        filled = {name for name, text in note.values if not field_is_empty(text)}
        return [ord_ for ord_, front in enumerate(fronts) if _shows(front, filled)]

    return cards


_Node = tuple[str, str, list["_Node"]]  # (kind, field, children) as _tags has them


def _parse(template: str) -> list[_Node]:
    """A checked template as a tree of sections and replacements."""
    root: list[_Node] = []
    stack = [root]
    for tag in _tags(template):
        if tag.kind in ("#", "^"):
            node: _Node = (tag.kind, tag.name, [])
            stack[-1].append(node)
            stack.append(node[2])
        elif tag.kind == "/":
            if len(stack) > 1:
                stack.pop()
        else:
            stack[-1].append(("", tag.name, []))
    return root


def _shows(nodes: list[_Node], filled: set[str]) -> bool:
    """Whether a template shows a filled field: Anki's test for an empty front."""
    for kind, name, children in nodes:
        if kind == "" and name in filled:
            return True
        if kind == "#" and name in filled and _shows(children, filled):
            return True
        if kind == "^" and name not in filled and _shows(children, filled):
            return True
    return False


# -- Ids: given, from the lock, or made once ----------------------------------------------


def resolve(note_types: Mapping[str, NoteType], lock: Lock | None) -> dict[str, NoteType]:
    """The deck's note types with every id: a declared type's as given, else as the lock
    keeps it (found by its given id, or by its name), else made from its name; a field's
    or template's likewise, found in the lock by its name or, renamed in place (its name
    new, the old one at its place gone), by its place."""
    entries = list(lock.notetypes.values()) if lock is not None else []
    by_id = {e.schema.model_id: e.schema for e in entries if e.schema.model_id is not None}
    by_name = {e.schema.name: e.schema for e in entries if e.schema.name}
    resolved: dict[str, NoteType] = {}
    for kind, note_type in note_types.items():
        if not note_type.declared:
            resolved[kind] = note_type
            continue
        given = note_type.model_id
        old = by_id.get(given) if given else by_name.get(note_type.name)
        model_id = given or (old.model_id if old and old.model_id else 0)
        # (A made note type id is kept under 2^31, as genanki advises for note types.)
        model_id = model_id or _made_id("notetype", note_type.name) % (1 << 30) + (1 << 30)
        fields = [(f.id, f.name) for f in note_type.fields]
        templates = [(t.id, t.name) for t in note_type.templates]
        field_ids = _ids(fields, old.fields if old else (), str(model_id), "field")
        template_ids = _ids(templates, old.templates if old else (), str(model_id), "template")
        resolved[kind] = replace(
            note_type,
            model_id=model_id,
            fields=tuple(
                replace(f, id=i) for f, i in zip(note_type.fields, field_ids, strict=True)
            ),
            templates=tuple(
                replace(t, id=i) for t, i in zip(note_type.templates, template_ids, strict=True)
            ),
        )
    return resolved


def _ids(
    items: list[tuple[int, str]], old: tuple[tuple[int, str], ...], *made_from: str
) -> list[int]:
    """Each item's id: given (not 0), the old one of its name, the old one at its place if
    that one's name is gone (renamed in place), or made from its name."""
    old_by_name = dict((name, item_id) for item_id, name in old)
    names = {name for _, name in items}
    ids: list[int] = []
    for place, (given, name) in enumerate(items):
        if given:
            ids.append(given)
        elif name in old_by_name:
            ids.append(old_by_name[name])
        elif place < len(old) and old[place][1] not in names:
            ids.append(old[place][0])
        else:
            ids.append(_made_id(*made_from, name))
    return ids
