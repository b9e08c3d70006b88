"""The legacy Anki collection format inside an .apkg (schema 11): tables, and the JSON of
the collection, its decks and note types. Written here rather than through genanki, so a
build imports nothing it does not need and every byte is decided by the notes and lock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

# The tables, without Anki's indexes: a package's collection is only read into another
# by an importer, and the collection it goes into has its own (Anki imports it as
# quickly without them). A package is a sixth smaller without them, and made sooner.
SCHEMA = """
CREATE TABLE col (id integer primary key, crt integer not null, mod integer not null,
  scm integer not null, ver integer not null, dty integer not null, usn integer not null,
  ls integer not null, conf text not null, models text not null, decks text not null,
  dconf text not null, tags text not null);
CREATE TABLE notes (id integer primary key, guid text not null, mid integer not null,
  mod integer not null, usn integer not null, tags text not null, flds text not null,
  sfld integer not null, csum integer not null, flags integer not null, data text not null);
CREATE TABLE cards (id integer primary key, nid integer not null, did integer not null,
  ord integer not null, mod integer not null, usn integer not null, type integer not null,
  queue integer not null, due integer not null, ivl integer not null, factor integer not null,
  reps integer not null, lapses integer not null, left integer not null, odue integer not null,
  odid integer not null, flags integer not null, data text not null);
CREATE TABLE revlog (id integer primary key, cid integer not null, usn integer not null,
  ease integer not null, ivl integer not null, lastIvl integer not null,
  factor integer not null, time integer not null, type integer not null);
CREATE TABLE graves (usn integer not null, oid integer not null, type integer not null);
"""

# Fixed times for what the notes do not decide: equal input, equal bytes.
_EPOCH = 1_420_070_400  # 2015-01-01

_CONF = {
    "activeDecks": [1],
    "addToCur": True,
    "collapseTime": 1200,
    "curDeck": 1,
    "dueCounts": True,
    "estTimes": True,
    "newBury": True,
    "newSpread": 0,
    "nextPos": 1,
    "sortBackwards": False,
    "sortType": "noteFld",
    "timeLim": 0,
}

_DECK_CONFIG = {
    "1": {
        "autoplay": True,
        "id": 1,
        "lapse": {"delays": [10], "leechAction": 0, "leechFails": 8, "minInt": 1, "mult": 0},
        "maxTaken": 60,
        "mod": 0,
        "name": "Default",
        "new": {
            "bury": True,
            "delays": [1, 10],
            "initialFactor": 2500,
            "ints": [1, 4, 7],
            "order": 1,
            "perDay": 20,
            "separate": True,
        },
        "replayq": True,
        "rev": {
            "bury": True,
            "ease4": 1.3,
            "fuzz": 0.05,
            "ivlFct": 1,
            "maxIvl": 36500,
            "minSpace": 1,
            "perDay": 100,
        },
        "timer": 0,
        "usn": 0,
    }
}

# Anki's LaTeX around a formula, for a new note type.
LATEX_PRE = (
    "\\documentclass[12pt]{article}\n\\special{papersize=3in,5in}\n"
    "\\usepackage[utf8]{inputenc}\n\\usepackage{amssymb,amsmath}\n"
    "\\pagestyle{empty}\n\\setlength{\\parindent}{0in}\n\\begin{document}\n"
)
LATEX_POST = "\\end{document}"

_BASE91 = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
)


# Two base-91 digits at a time: a GUID's ten digits are five of these.
_PAIRS = [high + low for high in _BASE91 for low in _BASE91]


def guid_for(*values: str) -> str:
    """Anki's style of GUID for some values: the first 8 bytes of their SHA-256, in base 91
    (the same as genanki's `guid_for`, so GUIDs stay what they were)."""
    digest = hashlib.sha256("__".join(values).encode("utf-8")).digest()
    return base91(int.from_bytes(digest[:8], "big"))


def base91(number: int) -> str:
    """A number below 2**64 in Anki's base 91, without leading zero digits (0 is "")."""
    # Ten digits at most (91**10 > 2**64): five pairs of them.
    number, fifth = divmod(number, 91 * 91)
    number, fourth = divmod(number, 91 * 91)
    number, third = divmod(number, 91 * 91)
    first, second = divmod(number, 91 * 91)
    pairs = _PAIRS[first] + _PAIRS[second] + _PAIRS[third] + _PAIRS[fourth] + _PAIRS[fifth]
    return pairs.lstrip(_BASE91[0])


def deck_json(deck_id: int, name: str, description: str = "") -> dict[str, Any]:
    return {
        "collapsed": False,
        "conf": 1,
        "desc": description,
        "dyn": 0,
        "extendNew": 0,
        "extendRev": 50,
        "id": deck_id,
        "lrnToday": [0, 0],
        "mod": _EPOCH,
        "name": name,
        "newToday": [0, 0],
        "revToday": [0, 0],
        "timeToday": [0, 0],
        "usn": -1,
    }


def notetype_json(
    *,
    model_id: int,
    name: str,
    is_cloze: bool,
    fields: Sequence[tuple[int, str]],
    templates: Sequence[tuple[int, str, str, str]],
    css: str,
    mod: int,
    deck_id: int,
    sort_field: int = 0,
    settings: Sequence[tuple[str, object]] = (),
    field_settings: Sequence[Sequence[tuple[str, object]]] = (),
    template_settings: Sequence[Sequence[tuple[str, object]]] = (),
) -> dict[str, Any]:
    """A note type as schema 11 stores it. Every field and template carries its permanent
    id, which Anki uses to tell a renamed field from a new one; `settings` and those of
    each field and template, what else a deck says of them (Anki's defaults otherwise)."""
    model: dict[str, Any] = {
        "css": css,
        "did": deck_id,
        "flds": [
            {
                "font": "Arial",
                "id": field_id,
                "media": [],
                "name": field_name,
                "ord": ord_,
                "rtl": False,
                "size": 20,
                "sticky": False,
            }
            for ord_, (field_id, field_name) in enumerate(fields)
        ],
        "id": model_id,
        "latexPost": LATEX_POST,
        "latexPre": LATEX_PRE,
        "latexsvg": False,
        "mod": mod,
        "name": name,
        "sortf": sort_field,
        "tags": [],
        "tmpls": [
            {
                "afmt": back,
                "bafmt": "",
                "bqfmt": "",
                "did": None,
                "id": template_id,
                "name": template_name,
                "ord": ord_,
                "qfmt": front,
            }
            for ord_, (template_id, template_name, front, back) in enumerate(templates)
        ],
        "type": 1 if is_cloze else 0,
        "usn": -1,
        "vers": [],
    }
    model.update(settings)
    for field, own in zip(model["flds"], field_settings, strict=False):
        field.update(own)
    for template, own in zip(model["tmpls"], template_settings, strict=False):
        template.update(own)
    return model


def preset_json(preset_id: int, name: str) -> dict[str, Any]:
    """A deck options preset (schema 11): Anki's defaults, but for new cards, gathered by
    position across the subdecks (lowest first) and shown in the order gathered (not
    sorted by card type first)."""
    return {
        **_DECK_CONFIG["1"],
        "id": preset_id,
        "name": name,
        "newGatherPriority": _GATHER_LOWEST_POSITION,
        "newSortOrder": _SORT_AS_GATHERED,
    }


# Anki's DeckConfig.Config enums: NEW_CARD_GATHER_PRIORITY_LOWEST_POSITION, and
# NEW_CARD_SORT_ORDER_NO_SORT ("order gathered").
_GATHER_LOWEST_POSITION = 1
_SORT_AS_GATHERED = 1


def collection_row(
    models: dict[str, Any], decks: dict[str, Any], presets: dict[str, Any] | None = None
) -> tuple[object, ...]:
    """The single row of the `col` table; the default deck "1" is always there, and so is
    the Default preset, "1"."""
    all_decks = {"1": deck_json(1, "Default"), **decks}
    return (
        1,
        _EPOCH,
        _EPOCH * 1000,
        _EPOCH * 1000,
        11,
        0,
        0,
        0,
        _json(_CONF),
        _json(models),
        _json(all_decks),
        _json({**_DECK_CONFIG, **(presets or {})}),
        "{}",
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
