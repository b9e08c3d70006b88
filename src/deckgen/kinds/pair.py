"""pair: 2 or 3 easily confused things, what each means, and the key difference: a Compare
card, and a Which-is-it card per item."""

from __future__ import annotations

from deckgen.diagnostics import Level
from deckgen.notes import Pair, PairItem
from deckgen.shapes import Checker, Entries, Fields
from deckgen.source import Node

KEYS = ("pair", "difference")
NOTE = Pair
ITEM_KEYS = ("name", "means")


def check(checker: Checker, entries: Entries) -> Fields | None:
    difference = checker.text(entries, "difference")
    items = _items(checker, entries["pair"][1])
    if items is None or difference is None:
        return None
    return {"items": items, "difference": difference}


def _items(checker: Checker, node: Node) -> tuple[PairItem, ...] | None:
    nodes = checker.sequence(node, "'pair'", "[{name: A, means: ...}, {name: B, means: ...}]")
    if nodes is None:
        return None
    if not 2 <= len(nodes) <= 3:
        checker.report(
            node.position, "pair-size", f"a pair compares 2 or 3 items, not {len(nodes)}"
        )
        return None
    items: list[PairItem] = []
    meanings: list[Node] = []
    for item_node in nodes:
        entries = checker.mapping(item_node, "a pair item", ITEM_KEYS)
        if entries is None:
            continue
        checker.required(entries, ITEM_KEYS, item_node, "a pair item")
        name, means = checker.text(entries, "name"), checker.text(entries, "means")
        if name is None or means is None:
            continue
        if any(name.casefold() == item.name.casefold() for item in items):
            message = f"the pair names '{name}' twice"
            checker.report(entries["name"][1].position, "duplicate-name", message)
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
                checker.report(meaning.position, "name-in-meaning", message, Level.WARNING)
    return tuple(items) if len(items) == len(nodes) else None
