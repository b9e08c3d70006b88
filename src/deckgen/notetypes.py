"""The four Anki note types: permanent ids, fields, templates, and how a note fills them.

Every field and template carries a permanent id, so Anki treats a renamed field as the
same field. Adding, removing or reordering fields changes the schema, which costs every
user their updates: the field sets below are meant never to change.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import NamedTuple

from deckgen.markup import to_html
from deckgen.media import Picture
from deckgen.notes import Custom, Domain, Fact, Note, Pair, Scenario, Trap

# What else Anki keeps of a note type, a field or a template, as its JSON names it, kept
# as written (a deck brought from Anki keeps its fonts, browser templates and LaTeX).
Settings = tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class Field:
    name: str
    id: int
    settings: Settings = ()  # font, size, rtl, sticky, description, plainText, ...


@dataclass(frozen=True)
class Template:
    """A card template: its front and back, as HTML (`inline`), or the names of deckgen's
    template files, whose `%N%` `item` fills (Which-is-it cards)."""

    name: str
    id: int
    front: str
    back: str
    item: int | None = None
    inline: bool = False
    settings: Settings = ()  # bqfmt, bafmt (the browser's), bfont, bsize

    def html(self, face: str) -> str:
        if self.inline:
            return face
        text = _template_file(face)
        return text if self.item is None else text.replace("%N%", str(self.item))


class Schema(NamedTuple):
    """A note type's fields and templates, as (permanent id, name) in order; for a type a
    deck declares, also its name and id (which the lock keeps: declared.resolve)."""

    fields: tuple[tuple[int, str], ...]
    templates: tuple[tuple[int, str], ...]
    name: str = ""
    model_id: int | None = None

    @property
    def structure(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """What Anki compares: the ids in order. Names may change freely."""
        return tuple(i for i, _ in self.fields), tuple(i for i, _ in self.templates)

    def to_json(self) -> str:
        value: dict[str, object] = {"fields": self.fields, "templates": self.templates}
        if self.model_id is not None:
            value.update(name=self.name, id=self.model_id)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Schema:
        value = json.loads(text)
        model_id = value.get("id")
        return cls(
            tuple((int(i), str(n)) for i, n in value["fields"]),
            tuple((int(i), str(n)) for i, n in value["templates"]),
            str(value["name"]) if model_id is not None else "",
            int(model_id) if model_id is not None else None,
        )

    def changes_from(self, old: Schema) -> list[str]:
        """What changed since `old`, in the user's words: `field 'Source' added`."""
        changes: list[str] = []
        for what, before, after in (
            ("field", old.fields, self.fields),
            ("template", old.templates, self.templates),
        ):
            old_names, new_names = dict(before), dict(after)
            for item_id, name in after:
                if item_id not in old_names:
                    changes.append(f"{what} '{name}' added")
                elif old_names[item_id] != name:
                    changes.append(f"{what} '{old_names[item_id]}' renamed '{name}'")
            changes += [f"{what} '{n}' removed" for i, n in before if i not in new_names]
            kept_before = [i for i, _ in before if i in new_names]
            kept_after = [i for i, _ in after if i in old_names]
            if kept_before != kept_after:
                changes.append(f"{what}s reordered")
        return changes


@dataclass(frozen=True)
class NoteType:
    """One Anki note type: its name and permanent ids, fields, card templates and CSS, and
    how a note fills its fields. deckgen's four kinds are note types with rules of their
    own on top (their notes' YAML keys, in kinds/; fields deckgen fills; a fingerprint);
    a deck's declared ones (declared.py) hold what their notes say, field by field."""

    kind: str  # its key: in the lock, and in each note's record
    model_id: int
    name: str
    fields: tuple[Field, ...]
    templates: tuple[Template, ...]
    # How a note fills its fields: code, told apart by the rest of the value (a declared
    # type's is made anew, equal, each time deck.yaml is read).
    fill: Callable[[Note], dict[str, str]] = field(compare=False)
    is_cloze: bool = False
    style: str | None = None  # its CSS; None: deckgen's (templates/style.css)
    declared: bool = False  # a deck's own: no fields or tags of deckgen's
    sort_field: int = 0  # the field Anki's browser sorts and shows by
    holds_html: bool = False  # its notes' text is HTML (cleaned), not Markdown
    media: tuple[Picture, ...] = ()  # the files its templates and CSS load, shipped with it
    settings: Settings = ()  # latexPre, latexPost, latexsvg

    field_names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    # The fields a user writes (what `deckgen pull` brings back), not those deckgen derives.
    written: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_names", tuple(f.name for f in self.fields))
        derived = () if self.declared else DERIVED
        written = tuple(name for name in self.field_names if name not in derived)
        object.__setattr__(self, "written", written)

    @cached_property
    def schema(self) -> Schema:
        return Schema(
            tuple((f.id, f.name) for f in self.fields),
            tuple((t.id, t.name) for t in self.templates),
            self.name if self.declared else "",
            self.model_id if self.declared else None,
        )

    @property
    def faces(self) -> tuple[tuple[int, str, str, str], ...]:
        """Each template as Anki stores it: id, name, front and back HTML."""
        return tuple((t.id, t.name, t.html(t.front), t.html(t.back)) for t in self.templates)

    @property
    def css(self) -> str:
        return css() if self.style is None else self.style

    @property
    def digest(self) -> str:
        """A hash of everything Anki stores for the note type: names, templates, CSS."""
        content = [
            self.model_id,
            self.name,
            self.is_cloze,
            self.schema.fields,
            self.faces,
            self.css,
        ]
        if self.sort_field:
            content.append(self.sort_field)
        settings = [self.settings, *(f.settings for f in self.fields)]
        settings += [t.settings for t in self.templates]
        if any(settings):
            content.append(settings)
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:16]

    def values(self, note: Note) -> list[str]:
        """The note's field values, in field order, as HTML."""
        filled = self.fill(note)
        if not self.declared:
            filled.update(_common(note))
        try:
            return [filled[name] for name in self.field_names]
        except KeyError as missing:
            raise ValueError(f"{self.name}: no value for field {missing}") from None

    def card_ords(self, note: Note) -> list[int]:
        """The cards the note makes, as Anki numbers them: one per cloze number (c1 is 0),
        or one per template whose front it fills (a two-item pair has no third Which card)."""
        if isinstance(note, Fact):
            # The notes are checked before cards are counted, so every opener is a cloze.
            numbers = {int(n) for n in _CLOZE_NUMBER.findall(note.text)}
            return [number - 1 for number in sorted(numbers) if number > 0]
        if isinstance(note, Pair):
            return list(range(1 + len(note.items)))
        if isinstance(note, Custom):
            return self.cards(note)
        return list(range(len(self.templates)))

    def cards(self, note: Custom) -> list[int]:
        """Which cards a note of a declared type makes (declared.cards_of)."""
        from deckgen.declared import cards_of

        return cards_of(self)(note)

    def card_rule(self) -> Callable[[Note], list[int]]:
        """`card_ords`, for the many notes of this type (a declared type's rule found once)."""
        if not self.declared:
            return self.card_ords
        from deckgen.declared import cards_of

        rule = cards_of(self)

        def ords(note: Note) -> list[int]:
            assert isinstance(note, Custom)
            return rule(note)

        return ords


_CLOZE_NUMBER = re.compile(r"\{\{c(\d+)::", re.IGNORECASE)

# Shared by every note type, after its own fields: deckgen's id of the note, the domain
# shown on every card, optional extra text, and the retired marker that empties every front.
_COMMON = ("Extra", "Domain", "ID", "Retired")
# The fields deckgen fills itself, from the note's id, domain and place.
DERIVED = frozenset({"Domain", "ID", "Retired", "Answer First"})
# The field that carries a built note's fingerprint (records.Fingerprint): one a user has
# no reason to edit or search, whose value is a label on every card.
FINGERPRINTED = "Domain"


@cache
def _label(domain: Domain) -> str:
    return html.escape(domain.label)


def _common(note: Note) -> dict[str, str]:
    return {
        "Extra": to_html(note.extra),
        "Domain": _label(note.domain),
        "ID": html.escape(note.id),
        "Retired": "",
    }


def _fields(*named: tuple[str, int]) -> tuple[Field, ...]:
    return tuple(Field(name, field_id) for name, field_id in named)


def _fill_fact(note: Note) -> dict[str, str]:
    assert isinstance(note, Fact)
    return {"Text": to_html(note.text)}


def _fill_trap(note: Note) -> dict[str, str]:
    assert isinstance(note, Trap)
    return {"Trap": to_html(note.trap), "Reality": to_html(note.reality)}


def _fill_pair(note: Note) -> dict[str, str]:
    assert isinstance(note, Pair)
    values = {"Difference": to_html(note.difference)}
    for number in (1, 2, 3):
        item = note.items[number - 1] if number <= len(note.items) else None
        values[f"Item {number} Name"] = to_html(item.name) if item else ""
        values[f"Item {number} Meaning"] = to_html(item.means) if item else ""
    return values


def answer_first(note_id: str) -> bool:
    """Whether a scenario's answer is option A: fixed per note, about half the notes each way."""
    return hashlib.sha256(note_id.encode()).digest()[0] % 2 == 0


def _fill_scenario(note: Note) -> dict[str, str]:
    assert isinstance(note, Scenario)
    return {
        "Scenario": to_html(note.scenario),
        "Answer": to_html(note.answer),
        "Distractor": to_html(note.distractor),
        "Why Not": to_html(note.why_not),
        "Answer First": "yes" if answer_first(note.id) else "",
    }


def _common_fields(extra: int, domain: int, note_id: int, retired: int) -> tuple[Field, ...]:
    return _fields(*zip(_COMMON, (extra, domain, note_id, retired), strict=True))


FACT = NoteType(
    kind="fact",
    model_id=1478620953,
    name="deckgen Fact",
    fields=_fields(("Text", 2559320330268681005))
    + _common_fields(
        2659115204333730058, 3664151469442485086, 3823025794080537808, 2264578558737060255
    ),
    templates=(Template("Cloze", 3017729385647671287, "fact-front.html", "fact-back.html"),),
    fill=_fill_fact,
    is_cloze=True,
)

TRAP = NoteType(
    kind="trap",
    model_id=1276015709,
    name="deckgen Trap",
    fields=_fields(("Trap", 3964280690328150662), ("Reality", 4107782868930679851))
    + _common_fields(
        2778340106265691221, 4494452879697185866, 1890453340046226830, 4058760000572574733
    ),
    templates=(
        Template("Reality check", 2055130171064715217, "trap-front.html", "trap-back.html"),
    ),
    fill=_fill_trap,
)

PAIR = NoteType(
    kind="pair",
    model_id=1402529501,
    name="deckgen Confusing Pair",
    fields=_fields(
        ("Item 1 Name", 1521086393762154660),
        ("Item 1 Meaning", 4463365415087463952),
        ("Item 2 Name", 4282718342474982267),
        ("Item 2 Meaning", 4477545698799412479),
        ("Item 3 Name", 1292878991567226328),
        ("Item 3 Meaning", 3412688191082933504),
        ("Difference", 421656426387470827),
    )
    + _common_fields(
        2119053523126131252, 783660648274165827, 2633827756989737161, 1237715782404030899
    ),
    templates=(
        Template(
            "Compare", 2623781265875114489, "pair-compare-front.html", "pair-compare-back.html"
        ),
        Template(
            "Which is it? 1",
            1145528677696523861,
            "pair-which-front.html",
            "pair-which-back.html",
            1,
        ),
        Template(
            "Which is it? 2",
            1600024292180136948,
            "pair-which-front.html",
            "pair-which-back.html",
            2,
        ),
        Template(
            "Which is it? 3",
            1212997208572876517,
            "pair-which-front.html",
            "pair-which-back.html",
            3,
        ),
    ),
    fill=_fill_pair,
)

SCENARIO = NoteType(
    kind="scenario",
    model_id=2061039241,
    name="deckgen Scenario",
    fields=_fields(
        ("Scenario", 4026180579845443385),
        ("Answer", 2802379643667685780),
        ("Distractor", 3279310254417404727),
        ("Why Not", 1738463928465748227),
        ("Answer First", 3996528401625730191),
    )
    + _common_fields(
        2870218832165519563, 1108563913838157283, 4386711207440627313, 2337461842014617799
    ),
    templates=(
        Template("Exam question", 3140287759226713681, "scenario-front.html", "scenario-back.html"),
    ),
    fill=_fill_scenario,
)

NOTE_TYPES: dict[str, NoteType] = {t.kind: t for t in (FACT, TRAP, PAIR, SCENARIO)}


_TEMPLATES = Path(__file__).parent / "templates"


@cache
def _template_file(name: str) -> str:
    # Beside this module, as installed (importlib.resources would add 40 ms to start-up).
    return (_TEMPLATES / name).read_text(encoding="utf-8")


def css() -> str:
    return _template_file("style.css")


CODE_CSS_START = "/* Code blocks, highlighted by Pygments"


def code_css() -> str:
    """The colours of highlighted code (the end of style.css, highlight.stylesheet()):
    also the CSS of a declared note type that gives none of its own, after Anki's."""
    style = css()
    return style[style.index(CODE_CSS_START) :]
