"""HTML a note holds, cleaned by a real sanitizer (nh3, the binding to Rust's ammonia)
before it reaches a card: no scripts, event handlers, `javascript:` links, frames, objects,
forms, or anything that loads from the network; formatting, tables, colours, ruby and the
deck's own pictures stay as written.

A shared deck is studied on other people's phones: what a note says must never run.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import nh3

# What a card's text may hold: ammonia's safe set, and what Anki's editor writes.
TAGS = frozenset(nh3.ALLOWED_TAGS | {"font", "ruby", "rt", "rp", "rb", "span", "div"})
_GENERIC = {"style", "class", "title", "lang", "dir"}
ATTRIBUTES = {
    **{tag: set(names) | _GENERIC for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    **{tag: set(_GENERIC) for tag in TAGS if tag not in nh3.ALLOWED_ATTRIBUTES},
}
ATTRIBUTES["font"] = _GENERIC | {"color", "face", "size"}
ATTRIBUTES["td"] = ATTRIBUTES["td"] | {"valign", "bgcolor"}
ATTRIBUTES["th"] = ATTRIBUTES["th"] | {"valign", "bgcolor"}
# CSS properties a `style` may set: how text looks and is laid out, nothing that loads.
STYLE_PROPERTIES = frozenset(
    {
        "color",
        "background-color",
        "font-family",
        "font-size",
        "font-style",
        "font-weight",
        "font-variant",
        "text-align",
        "text-decoration",
        "text-decoration-line",
        "text-transform",
        "vertical-align",
        "white-space",
        "line-height",
        "letter-spacing",
        "margin",
        "margin-left",
        "margin-right",
        "margin-top",
        "margin-bottom",
        "padding",
        "padding-left",
        "padding-right",
        "padding-top",
        "padding-bottom",
        "border",
        "border-collapse",
        "border-color",
        "border-style",
        "border-width",
        "width",
        "height",
        "max-width",
        "max-height",
        "display",
        "direction",
    }
)
# Links may go to the web (following one is the learner's choice); pictures may not.
_SCHEMES = {"http", "https", "mailto"}
_REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


# What a style's value may not hold, whatever the property: a load, a script (old
# browsers' `expression()`), or an escape that could spell either.
_STYLE_LOADS = re.compile(r"url\s*\(|image-set|expression|@import|\\", re.IGNORECASE)


def _attribute(tag: str, name: str, value: str) -> str | None:
    if tag == "img" and name == "src" and _REMOTE.match(value):
        return None  # a picture from the network: it would tell someone who studies when
    if name == "style" and _STYLE_LOADS.search(value):
        kept = [part for part in value.split(";") if not _STYLE_LOADS.search(part)]
        return ";".join(kept) or None
    return value


class Cleaned(NamedTuple):
    html: str
    removed: tuple[str, ...]  # what was taken out, in words: "<script>", "onclick", ...


def clean(html: str) -> Cleaned:
    """The HTML with everything that could run or load removed, and what that was."""
    cleaned = _cleaner().clean(html)
    # (What cleaning only wrote otherwise, `<br/>` as `<br>`, is not a removal.)
    return Cleaned(cleaned, _removed(html, cleaned) if cleaned != html else ())


@functools.cache
def _cleaner() -> nh3.Cleaner:
    """The sanitizer, made once: made for each text, its settings cost twenty times the
    cleaning."""
    return nh3.Cleaner(
        tags=set(TAGS),
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        attribute_filter=_attribute,
        strip_comments=True,
        link_rel=None,
        url_schemes=_SCHEMES,
        filter_style_properties=set(STYLE_PROPERTIES),
    )


_OPEN_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")
_ATTRIBUTE = re.compile(r"""\s([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=""")
_SCRIPT_URL = re.compile(r"(?:java|vb)script\s*:", re.IGNORECASE)
_REMOTE_PICTURE = re.compile(r"""<img\b[^>]*\bsrc\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|//)""", re.I)
_STYLE_URL = re.compile(r"url\s*\(|expression\s*\(|@import", re.IGNORECASE)


def _removed(before: str, after: str) -> tuple[str, ...]:
    """In words, what cleaning took out: tags, attributes, script links, remote loads."""
    removed: list[str] = []
    kept_tags = {t.lower() for t in _OPEN_TAG.findall(after)}
    for tag in dict.fromkeys(t.lower() for t in _OPEN_TAG.findall(before)):
        if tag not in kept_tags:
            removed.append(f"<{tag}>")
    kept_attributes = {a.lower() for a in _ATTRIBUTE.findall(after)}
    for name in dict.fromkeys(a.lower() for a in _ATTRIBUTE.findall(before)):
        if name not in kept_attributes:
            removed.append(f"'{name}' attributes")
    if _SCRIPT_URL.search(before) and not _SCRIPT_URL.search(after):
        removed.append("script links")
    if _STYLE_URL.search(before) and not _STYLE_URL.search(after):
        removed.append("styles that load from the network")
    if len(_REMOTE_PICTURE.findall(before)) > len(_REMOTE_PICTURE.findall(after)):
        removed.append("pictures from the network")
    return tuple(removed)
