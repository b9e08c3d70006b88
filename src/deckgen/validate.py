"""Composed YAML -> typed notes and diagnostics; never stops at the first problem."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml

from deckgen import source
from deckgen.diagnostics import START, Diagnostic, Level, Position, has_errors
from deckgen.markup import parse_clozes
from deckgen.notes import KINDS, Domain, Note, PairItem
from deckgen.notetypes import NOTE_TYPES
from deckgen.records import Record, records_of

DECK_FILE = "deck.yaml"

# The YAML keys of each kind of note; the first one names the kind.
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "fact": ("fact",),
    "trap": ("trap", "reality"),
    "pair": ("pair", "difference"),
    "scenario": ("scenario", "answer", "distractor", "why_not"),
}
COMMON_KEYS = ("id", "tags", "extra")
DECK_KEYS = ("name", "key", "description", "source", "domains", "tags")
DOMAIN_KEYS = ("key", "name", "weight")
PAIR_ITEM_KEYS = ("name", "means")
RESERVED_TAG_PREFIXES = ("domain::", "kind::", "deckgen::")
_NOTE_KEYS = COMMON_KEYS + tuple(key for keys in KIND_KEYS.values() for key in keys)

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_STR = "tag:yaml.org,2002:str"
_YAML_TYPES = {
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:null": "null",
}

Entries = dict[str, tuple[yaml.ScalarNode, yaml.Node]]
Fields = dict[str, Any]  # a kind's own fields, as keyword arguments of its note class


class FileResult(NamedTuple):
    """What one notes file holds: its notes, its problems, and each note id where it stands
    (duplicates across files are found once all files are read)."""

    notes: tuple[Note, ...]
    problems: tuple[Diagnostic, ...]
    # None where the file was read without positions (see `id_position`).
    ids: tuple[tuple[str, Position | None], ...]
    records: tuple[Record, ...] | None = None  # as Anki will store the notes, if asked


def check_header(path: Path) -> tuple[DeckHeader | None, list[Diagnostic]]:
    """Read and check deck.yaml."""
    if not path.is_file():
        message = f"no {DECK_FILE} in {path.parent}: it names the deck and its domains"
        return None, [Diagnostic(str(path), START, Level.ERROR, "missing-deck", message)]
    header, _, problems = _read_and_check(path, _Checker.deck_header)
    return header, problems


def check_file(
    path: Path,
    domain: Domain,
    vocabulary: tuple[str, ...] | None,
    deck: tuple[str, str] | None = None,
) -> FileResult:
    """Read and check one notes file, and with `deck` (its key and name) make its records.
    A result without problems may know no positions of its ids (see `_read_and_check`):
    `id_position` finds one when a message needs it."""
    notes, checker, problems = _read_and_check(
        path, lambda checker: checker.notes(domain), vocabulary
    )
    if checker is None or notes is None:
        return FileResult((), tuple(problems), ())
    made = None
    if deck is not None and not has_errors(problems):
        made = tuple(records_of(*deck, notes, NOTE_TYPES))
    return FileResult(tuple(notes), tuple(problems), tuple(checker.ids), made)


def _read_and_check(
    path: Path, check: Callable[[_Checker], _T], vocabulary: tuple[str, ...] | None = None
) -> tuple[_T | None, _Checker | None, list[Diagnostic]]:
    """Read a file with the fastest reader that can vouch for it (without positions, if
    it is plain text), and check it. A file with any problem, even a warning, is read
    again by PyYAML's own parser, whose messages and positions are the reference."""
    for precise in (False, True):
        parsed, problems = source.read(path, str(path), precise=precise, positions=precise)
        if parsed is None:
            if precise:
                return None, None, problems
            continue
        checker = _Checker(parsed, vocabulary)
        value = check(checker)
        if precise or not checker.problems:
            return value, checker, problems + checker.problems
    raise AssertionError("unreachable")


_T = TypeVar("_T")


class DeckHeader(NamedTuple):
    """What deck.yaml says."""

    name: str
    key: str
    description: str
    source: str
    domains: tuple[Domain, ...]
    tags: tuple[str, ...] | None  # the tags notes may use; None: any


class _Checker:
    """Checks one file's nodes, collecting every problem with its position."""

    def __init__(
        self, parsed: source.SourceFile, vocabulary: tuple[str, ...] | None = None
    ) -> None:
        self.source = parsed
        self.problems: list[Diagnostic] = []
        self.ids: list[tuple[str, Position | None]] = []  # each note id, where it stands
        self.vocabulary = vocabulary

    # -- reporting -------------------------------------------------------------

    def report(
        self, node: yaml.Node | None, code: str, message: str, level: Level = Level.ERROR
    ) -> None:
        # Without positions (never shown: such a file is read again, see `check_file`).
        position = (_where(node) if node is not None else None) or START
        self.problems.append(Diagnostic(self.source.path, position, level, code, message))

    def report_at(self, node: yaml.ScalarNode, offset: int, code: str, message: str) -> None:
        position = START if node.start_mark is None else self.source.position_in(node, offset)
        self.problems.append(Diagnostic(self.source.path, position, Level.ERROR, code, message))

    # -- shapes ----------------------------------------------------------------

    def mapping(
        self,
        node: yaml.Node | None,
        what: str,
        allowed: tuple[str, ...],
        explain: Callable[[str], str | None] = lambda key: None,
    ) -> Entries | None:
        """A mapping's entries by key; reports duplicate and unknown keys."""
        if not isinstance(node, yaml.MappingNode):
            self.report(node, "wrong-type", f"{what} must be a mapping of keys to values")
            return None
        entries: Entries = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                self.report(key_node, "wrong-type", f"keys of {what} must be plain words")
                continue
            key = key_node.value
            if key in entries:
                first = _where(entries[key][0]) or START
                message = f"duplicate key '{key}' (first at line {first.line}, column {first.col})"
                self.report(key_node, "duplicate-key", message)
                continue
            entries[key] = (key_node, value_node)
            if key not in allowed:
                self.report(key_node, "unknown-key", explain(key) or _unknown_key(key, allowed))
        return entries

    def sequence(self, node: yaml.Node, what: str, example: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.report(node, "wrong-type", f"{what} must be a list, e.g. {example}")
            return None
        return list(node.value)

    def text(self, entries: Entries, key: str, *, required: bool = True) -> str | None:
        """The text under `key`; reports a missing key, a non-text value or empty text."""
        if key not in entries:
            return None
        node = entries[key][1]
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR:
            if not node.value.strip():
                if required:
                    self.report(node, "empty-text", f"'{key}' is empty")
                return None
            return str(node.value)
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            if required:
                self.report(entries[key][0], "empty-text", f"'{key}' has no value")
            return None
        self.report(node, "wrong-type", _not_text(key, node))
        return None

    def required(
        self, entries: Entries, keys: tuple[str, ...], owner: yaml.Node, what: str
    ) -> None:
        for key in keys:
            if key not in entries:
                self.report(owner, "missing-key", f"{what} needs '{key}'")

    # -- deck.yaml -------------------------------------------------------------

    def deck_header(self) -> DeckHeader | None:
        root = self.source.root
        if root is None:
            self.report(
                None, "empty-file", "the file is empty: it must name the deck and its domains"
            )
            return None
        entries = self.mapping(root, DECK_FILE, DECK_KEYS)
        if entries is None:
            return None
        self.required(entries, ("name", "key", "domains"), root, DECK_FILE)
        name = self.text(entries, "name")
        key = self.slug(entries, "key")
        description = self.text(entries, "description", required=False) or ""
        attribution = self.text(entries, "source", required=False) or ""
        domains = self.domains(entries["domains"][1]) if "domains" in entries else None
        vocabulary = self.tags(entries)
        if name is None or key is None or domains is None or vocabulary is None:
            return None
        allowed = vocabulary if "tags" in entries else None
        return DeckHeader(name, key, description, attribution, domains, allowed)

    def domains(self, node: yaml.Node) -> tuple[Domain, ...] | None:
        items = self.sequence(node, "'domains'", "[{key: mlops, name: MLOps, weight: 44}]")
        if items is None:
            return None
        if not items:
            self.report(node, "empty-text", "'domains' is empty: a deck needs at least one domain")
            return None
        domains: list[Domain] = []
        seen: dict[str, yaml.Node] = {}
        for item in items:
            entries = self.mapping(item, "a domain", DOMAIN_KEYS)
            if entries is None:
                continue
            self.required(entries, ("key", "name"), item, "a domain")
            key = self.slug(entries, "key")
            name = self.text(entries, "name")
            weight = self.weight(entries)
            if key is not None and key in seen:
                first = _where(seen[key]) or START
                message = (
                    f"duplicate domain '{key}' (first at line {first.line}, column {first.col})"
                )
                self.report(entries["key"][1], "duplicate-domain", message)
            elif key is not None and name is not None:
                seen[key] = entries["key"][1]
                domains.append(Domain(key, name, weight))
        return tuple(domains) if len(domains) == len(items) else None

    def weight(self, entries: Entries) -> int | None:
        if "weight" not in entries:
            return None
        node = entries["weight"][1]
        if isinstance(node, yaml.ScalarNode) and node.value.isdigit():
            value = int(node.value)
            if node.tag == "tag:yaml.org,2002:int" and 0 <= value <= 100:
                return value
        self.report(node, "wrong-type", "'weight' must be a whole percentage from 0 to 100")
        return None

    def slug(self, entries: Entries, key: str) -> str | None:
        value = self.text(entries, key)
        if value is not None and not _SLUG.match(value):
            message = (
                f"'{key}' must be a slug of lowercase letters, digits and single hyphens,"
                f" like '{_slugify(value)}'"
            )
            self.report(entries[key][1], "bad-id", message)
            return None
        return value

    # -- notes files -----------------------------------------------------------

    def notes(self, domain: Domain) -> list[Note]:
        root = self.source.root
        if root is None:
            self.report(None, "empty-file", "the file is empty: it must hold a list of notes")
            return []
        items = self.sequence(root, "a notes file", "'- id: my-note'")
        if items is None:
            return []
        notes: list[Note] = []
        for item in items:
            note = self.note(item, domain)
            if note is not None:
                notes.append(note)
        return notes

    def note(self, node: yaml.Node, domain: Domain) -> Note | None:
        if not isinstance(node, yaml.MappingNode):
            self.report(node, "wrong-type", "a note must be a mapping with an 'id' and a kind")
            return None
        kinds: dict[str, yaml.ScalarNode] = {}  # kind key -> its first key node
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value in KIND_KEYS:
                kinds.setdefault(key_node.value, key_node)
        kind = next(iter(kinds), None)
        allowed, explain = _ALLOWED_KEYS[kind]
        entries = self.mapping(node, "a note", allowed, explain)
        if entries is None:
            return None
        note_id = self.note_id(entries, node)
        if kind is None:
            kinds_list = ", ".join(KIND_KEYS)
            self.report(node, "no-kind", f"a note needs exactly one kind key: {kinds_list}")
            return None
        for other, key_node in list(kinds.items())[1:]:
            message = f"a note has one kind, but this one has '{kind}' and '{other}': split it"
            self.report(key_node, "two-kinds", message)
        self.required(entries, KIND_KEYS[kind], kinds[kind], f"a {kind} note")
        tags = self.tags(entries)
        extra = self.text(entries, "extra", required=False) or ""
        fields = _KIND_FIELDS[kind](self, entries)
        if fields is None or note_id is None or tags is None or len(kinds) > 1:
            return None
        origin = (self.source.path, self.ids[-1][1])  # the position may be unknown
        return _KIND_CLASSES[kind](
            id=note_id, domain=domain, tags=tags, extra=extra, origin=origin, **fields
        )

    def note_id(self, entries: Entries, node: yaml.Node) -> str | None:
        if "id" not in entries:
            self.report(
                node, "missing-key", "a note needs an 'id', a permanent slug like 'my-note'"
            )
            return None
        note_id = self.slug(entries, "id")
        if note_id is not None:
            self.ids.append((note_id, _where(entries["id"][1])))
        return note_id

    def tags(self, entries: Entries) -> tuple[str, ...] | None:
        if "tags" not in entries:
            return ()
        items = self.sequence(entries["tags"][1], "'tags'", "[topic::mlflow]")
        if items is None:
            return None
        tags: dict[str, None] = {}
        valid = True
        for item in items:
            if not (isinstance(item, yaml.ScalarNode) and item.tag == _STR):
                self.report(item, "wrong-type", _not_text("a tag", item))
                valid = False
                continue
            problem = _tag_problem(item.value, self.vocabulary)
            if problem is not None:
                self.report(item, *problem)
                valid = False
            tags[item.value] = None
        return tuple(tags) if valid else None

    def fact(self, entries: Entries) -> Fields | None:
        text = self.text(entries, "fact")
        if text is None:
            return None
        node = entries["fact"][1]
        assert isinstance(node, yaml.ScalarNode)
        clozes = parse_clozes(node.value)
        for problem in clozes.problems:
            self.report_at(node, problem.offset, problem.code, problem.message)
        if clozes.problems:
            return None
        if not clozes.numbers:
            message = (
                "a fact needs at least one cloze on its key term, e.g. {{c1::VectorAssembler}}"
            )
            self.report(node, "cloze-missing", message)
            return None
        return {"text": text}

    def trap(self, entries: Entries) -> Fields | None:
        trap, reality = self.text(entries, "trap"), self.text(entries, "reality")
        if trap is None or reality is None:
            return None
        return {"trap": trap, "reality": reality}

    def pair(self, entries: Entries) -> Fields | None:
        difference = self.text(entries, "difference")
        items = self.pair_items(entries["pair"][1])
        if items is None or difference is None:
            return None
        return {"items": items, "difference": difference}

    def pair_items(self, node: yaml.Node) -> tuple[PairItem, ...] | None:
        nodes = self.sequence(node, "'pair'", "[{name: A, means: ...}, {name: B, means: ...}]")
        if nodes is None:
            return None
        if not 2 <= len(nodes) <= 3:
            message = f"a pair compares 2 or 3 items, not {len(nodes)}"
            self.report(node, "pair-size", message)
            return None
        items: list[PairItem] = []
        meanings: list[yaml.Node] = []
        for item_node in nodes:
            entries = self.mapping(item_node, "a pair item", PAIR_ITEM_KEYS)
            if entries is None:
                continue
            self.required(entries, PAIR_ITEM_KEYS, item_node, "a pair item")
            name, means = self.text(entries, "name"), self.text(entries, "means")
            if name is None or means is None:
                continue
            if any(name.casefold() == item.name.casefold() for item in items):
                self.report(entries["name"][1], "duplicate-name", f"the pair names '{name}' twice")
                continue
            items.append(PairItem(name, means))
            meanings.append(entries["means"][1])
        for item, meaning in zip(items, meanings, strict=True):
            for other in items:
                if other.name.casefold() in item.means.casefold():
                    message = (
                        f"the meaning of '{item.name}' mentions '{other.name}',"
                        " which gives the answer away on its Which-is-it card"
                    )
                    self.report(meaning, "name-in-meaning", message, Level.WARNING)
        return tuple(items) if len(items) == len(nodes) else None

    def scenario(self, entries: Entries) -> Fields | None:
        values = [self.text(entries, key) for key in KIND_KEYS["scenario"]]
        scenario, answer, distractor, why_not = values
        if scenario is None or answer is None or distractor is None or why_not is None:
            return None
        if answer.strip() == distractor.strip():
            message = "the distractor is the same as the answer: the card could not be answered"
            self.report(entries["distractor"][1], "same-options", message)
            return None
        return {
            "scenario": scenario,
            "answer": answer,
            "distractor": distractor,
            "why_not": why_not,
        }


def _misplaced(kind: str | None) -> Callable[[str], str | None]:
    """Explain a key that belongs to another kind of note, rather than calling it unknown."""

    def explain(key: str) -> str | None:
        owner = next((k for k, keys in KIND_KEYS.items() if key in keys[1:]), None)
        if kind is None or owner is None or owner == kind:
            return None
        return f"'{key}' belongs to {owner} notes, not to {kind} notes"

    return explain


# What each kind of note has beyond the common keys, and the class that holds it.
_KIND_CLASSES: dict[str, type[Note]] = {cls.kind: cls for cls in KINDS}
# The keys a note may have once its kind is known, and how to explain any other: other
# kinds' own keys are reported as a second kind or as misplaced, not as unknown keys.
_ALLOWED_KEYS: dict[str | None, tuple[tuple[str, ...], Callable[[str], str | None]]] = {
    None: (_NOTE_KEYS, _misplaced(None)),
    **{
        kind: (COMMON_KEYS + tuple(KIND_KEYS) + keys[1:], _misplaced(kind))
        for kind, keys in KIND_KEYS.items()
    },
}
_KIND_FIELDS: dict[str, Callable[[_Checker, Entries], Fields | None]] = {
    "fact": _Checker.fact,
    "trap": _Checker.trap,
    "pair": _Checker.pair,
    "scenario": _Checker.scenario,
}


def _where(node: yaml.Node) -> Position | None:
    """Where a node starts; None if its file was read without positions."""
    return None if node.start_mark is None else Position.of_mark(node.start_mark)


def id_position(path: str, note_id: str, occurrence: int = 0) -> Position:
    """Where a note id stands in a notes file (its `occurrence`-th use there, from 0),
    for the messages about a note as a whole when the file was read without positions:
    the file is read again, by libyaml, which keeps them."""
    parsed, _ = source.read(Path(path), path, precise=False)
    items = parsed.root.value if parsed and isinstance(parsed.root, yaml.SequenceNode) else []
    found = [
        Position.of_mark(value.start_mark)
        for item in items
        if isinstance(item, yaml.MappingNode)
        for key, value in item.value
        if key.value == "id" and value.value == note_id
    ]
    return found[occurrence] if occurrence < len(found) else START


def _unknown_key(key: str, allowed: tuple[str, ...]) -> str:
    import difflib  # only when there is a problem to explain

    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = (
        f" (did you mean '{close[0]}'?)" if close else f" (expected one of: {', '.join(allowed)})"
    )
    return f"unknown key '{key}'{hint}"


def _not_text(what: str, node: yaml.Node) -> str:
    label = what if what.startswith("a ") else f"'{what}'"
    if isinstance(node, yaml.ScalarNode):
        kind = _YAML_TYPES.get(node.tag, f"the type {node.tag}")
        return (
            f"{label} must be text, but YAML reads '{node.value}' as {kind}:"
            f' put it in quotes, "{node.value}"'
        )
    shape = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
    return f"{label} must be text, not {shape}"


@functools.lru_cache(maxsize=4096)
def _tag_problem(tag: str, vocabulary: tuple[str, ...] | None) -> tuple[str, str] | None:
    """What is wrong with a tag, if anything (remembered: decks reuse a few tags a lot)."""
    if any(ch.isspace() for ch in tag):
        return "bad-tag", f"tag '{tag}' has a space; Anki splits tags on spaces: use '-' instead"
    if any(not part for part in tag.split("::")):
        return "bad-tag", f"tag '{tag}' has an empty level: write levels as 'topic::mlflow'"
    if tag.casefold().startswith(RESERVED_TAG_PREFIXES):
        return (
            "reserved-tag",
            f"tag '{tag}' is reserved: deckgen adds domain::, kind:: and deckgen:: tags",
        )
    if vocabulary is not None and tag not in vocabulary:
        import difflib

        close = difflib.get_close_matches(tag, vocabulary, n=1, cutoff=0.8)
        hint = f"did you mean '{close[0]}'?" if close else f"add it to 'tags' in {DECK_FILE}"
        return "unknown-tag", f"tag '{tag}' is not one of the deck's tags ({hint})"
    return None


def _slugify(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-") or "my-note"
