"""Pictures in notes: `![alt](path)` found, checked, named by their content, shipped.

A picture's name in the package is made from its bytes (`blue-green.3f2a9c1e.png`), so a
picture drawn again is a new file, the notes that show it change, and Anki (which brings
in a file only with a note it adds or updates, and never replaces a name it has) updates
those notes and takes the new file. Its format is told by its bytes, not its name.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import NamedTuple

from deckgen.files import read_bytes

MAX_BYTES = 5 * 2**20  # a picture: Anki syncs no file over 100 MiB, and a card loads fast
MAX_PICTURES = 10_000  # in a deck


class Picture(NamedTuple):
    name: str  # in the package and in the cards: stem.<hash>.ext
    path: str  # the file it is read from
    digest: str  # SHA-256 of its bytes, in hex


class Refusal(NamedTuple):
    code: str
    message: str


# What each format's bytes start with (SVG: its text, see `_format`).
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"ID3", "mp3"),
    (b"\xff\xfb", "mp3"),
    (b"\xff\xf3", "mp3"),
    (b"\xff\xf2", "mp3"),
    (b"OggS", "ogg"),
    (b"fLaC", "flac"),
    (b"wOFF", "woff"),
    (b"wOF2", "woff2"),
    (b"\x00\x01\x00\x00", "ttf"),
    (b"OTTO", "otf"),
)
# What a note's text or a note type's templates and CSS may ship, by what it is.
PICTURE_FORMATS = frozenset({"png", "jpg", "gif", "webp", "svg"})
SOUND_FORMATS = frozenset({"mp3", "ogg", "flac", "wav", "m4a"})
FONT_FORMATS = frozenset({"woff", "woff2", "ttf", "otf"})
_NOUNS = {PICTURE_FORMATS: "picture", SOUND_FORMATS: "sound"}
_FORMAT_NAMES = {
    PICTURE_FORMATS: "a PNG, JPEG, GIF, WebP or SVG picture",
    SOUND_FORMATS: "an MP3, Ogg, FLAC, WAV or M4A sound",
}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:|//")
_NOT_IN_NAME = re.compile(r"[^\w.-]+")
# The names deckgen gives pictures: what the card renderer takes as a picture's src.
NAME_PATTERN = r"[\w.-]+\.[0-9a-f]{8}\.(?:png|jpg|gif|webp|svg)"
NAME = re.compile(NAME_PATTERN + r"\Z")


class Pictures:
    """The pictures of one notes file: each path as written, resolved from the file's
    folder, inside the notes folder, read once."""

    def __init__(self, notes_dir: Path, file: Path) -> None:
        self.notes_dir, self.file = notes_dir, file
        self.found: dict[str, Picture | Refusal] = {}

    # Made when a picture is first looked for: most files show none, and a deck of a
    # file per note makes tens of thousands of these.
    @functools.cached_property
    def root(self) -> Path:
        return Path(os.path.abspath(self.notes_dir))

    @functools.cached_property
    def folder(self) -> Path:
        return Path(os.path.abspath(self.file)).parent

    def resolve(self, src: str, formats: frozenset[str] = PICTURE_FORMATS) -> Picture | Refusal:
        """The file `src` names, if it is one of `formats` (pictures unless told)."""
        if src not in self.found:
            self.found[src] = self._resolve(src)
        found = self.found[src]
        unknown = isinstance(found, Refusal) and found.code == "picture-format"
        if (formats != PICTURE_FORMATS and unknown) or (
            isinstance(found, Picture) and found.name.rsplit(".", 1)[-1] not in formats
        ):
            noun = _NOUNS.get(formats, "media")
            what = _FORMAT_NAMES.get(formats, f"a file of one of {', '.join(sorted(formats))}")
            message = f"'{src}' is not {what} (told by its bytes, not its name)"
            return Refusal(f"{noun}-format", message)
        return found

    def used(self) -> tuple[Picture, ...]:
        """Each picture the file shows, once."""
        pictures = {p.name: p for p in self.found.values() if isinstance(p, Picture)}
        return tuple(pictures[name] for name in sorted(pictures))

    def _resolve(self, src: str) -> Picture | Refusal:
        if _URL.match(src):
            return Refusal(
                "picture-url",
                f"'{src}' is a URL: deckgen fetches nothing, and a card must not either;"
                " save the picture in the notes folder and give its path",
            )
        if os.path.isabs(src) or src.startswith("\\"):
            return Refusal(
                "picture-outside",
                f"'{src}' is an absolute path: give the picture's path from this file,"
                " inside the notes folder",
            )
        path = Path(os.path.normpath(self.folder / src))
        real = Path(os.path.realpath(path))
        if not _within(path, self.root) or not _within(real, Path(os.path.realpath(self.root))):
            return Refusal(
                "picture-outside",
                f"'{src}' is outside the notes folder: keep pictures inside it, so that the"
                " notes and their pictures travel together",
            )
        if not path.is_file():
            what = "no such file" if not path.exists() else "not a file"
            return Refusal("picture-missing", f"'{src}': {what}, from this file's folder")
        read = _read(str(path))
        if read is None:
            return Refusal("picture-missing", f"'{src}': cannot be read as a regular file")
        size, data = read
        if size > MAX_BYTES:
            return Refusal(
                "picture-too-large",
                f"'{src}' is over {MAX_BYTES // 2**20} MiB: make it smaller (every card that"
                " shows it loads it, on every phone)",
            )
        kind = _format(data)
        if kind is None:
            return Refusal(
                "picture-format",
                f"'{src}' is not a PNG, JPEG, GIF, WebP or SVG picture (told by its bytes,"
                " not its name)",
            )
        if kind == "svg":
            problem = svg_problem(data)
            if problem is not None:
                code, message = problem
                return Refusal(code, f"'{src}' {message}")
        digest = hashlib.sha256(data).hexdigest()
        return Picture(f"{_stem(path)}.{digest[:8]}.{kind}", str(path), digest)


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _format(data: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] in (b"WEBP", b"WAVE"):
        return "webp" if data[8:12] == b"WEBP" else "wav"
    if data[4:8] == b"ftyp" and data[8:11] in (b"M4A", b"mp4", b"iso"):
        return "m4a"
    if data[:4] == b"true":
        return "ttf"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<svg", b"<?xml", b"<!--", b"<!DOCTYPE svg")) and b"<svg" in head:
        return "svg"
    return None


# What in an SVG runs a script, or loads a document that may, when the file is opened on
# its own (a card shows a picture with <img>, where nothing runs; but a shared deck carries
# the file): these elements, an `on...` attribute (or an animation of one), and a
# javascript:, vbscript: or data: URL other than a picture's in any attribute, at its
# start or after a `;`, `=`, `(` or `,` (an animation's `values` can set a link's).
_SCRIPTING = frozenset(
    {"script", "handler", "listener", "iframe", "frame", "embed", "object", "applet"}
)
_URL_SCHEMES = re.compile(r"(?:^|[;=(,])(?:javascript|vbscript|data(?!:image/)):", re.IGNORECASE)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")  # (what browsers drop from a URL, and spaces)


def svg_problem(data: bytes) -> tuple[str, str] | None:
    """Why an SVG picture cannot ship in a deck, if it cannot (code, message): something in
    it runs a script, or it is not well-formed XML (nothing shows it then) or nests past
    what any drawing does."""
    from xml.parsers import expat

    # Read by expat as it goes, keeping nothing: no external entity is ever loaded, and
    # entities that multiply are refused. (Names come as `namespace}name`.)
    parser = expat.ParserCreate(namespace_separator="}")
    found: list[str] = []
    depth = 0

    def element(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > _MAX_SVG_DEPTH:
            raise expat.ExpatError(f"elements nested over {_MAX_SVG_DEPTH:,} deep")
        problem = _scripting(name, attributes)
        if problem is not None:
            found.append(problem)
            raise _Found

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    def instruction(target: str, data: str) -> None:
        if target == "xml-stylesheet":
            found.append("asks for a stylesheet (xml-stylesheet), which may run a script")
            raise _Found

    parser.StartElementHandler = element
    parser.EndElementHandler = end
    parser.ProcessingInstructionHandler = instruction
    try:
        parser.Parse(data, True)
    except _Found:
        return "picture-script", (
            f"{found[0]}; a card would show it as a picture, where none runs, but the file"
            " goes with every copy of the deck: take it out, or save the picture as PNG"
        )
    except expat.ExpatError as error:
        message = f"is not an SVG a card can show ({error}): save it again from the program"
        return "picture-format", f"{message} that drew it"
    return None


_MAX_SVG_DEPTH = 1_000  # elements inside one another: a drawing has a few dozen at most
# (Past it, expat's memory would grow with each: 70 MiB for 600,000 in a 5 MiB file.)


class _Found(Exception):
    """Something in an SVG that runs a script: reading it ends there."""


def _scripting(tag: str, attributes: dict[str, str]) -> str | None:
    """What in an element of an SVG runs a script, if anything."""
    name = tag.rpartition("}")[2]
    if name.lower() in _SCRIPTING:
        return f"holds a <{name}> element, which runs a script or loads a page"
    for attribute, value in attributes.items():
        attribute = attribute.rpartition("}")[2]
        if attribute.lower().startswith("on") or (
            attribute == "attributeName" and value.strip().lower().startswith("on")
        ):
            return f"has an '{attribute}' attribute, which runs a script"
        if _URL_SCHEMES.search(_INVISIBLE.sub("", value)):
            return f"has a link ({attribute}) to a script or a document other than a picture"
    return None


def _stem(path: Path) -> str:
    """A picture's name as written, fit for a file name in any collection: letters of any
    script, digits, `-`, `_` and `.`; never starting with `_` (Anki never replaces such
    files) or `.`."""
    stem = _NOT_IN_NAME.sub("-", unicodedata.normalize("NFC", path.stem)).strip("-._")
    return stem[:80] or "picture"


def _read(path: str) -> tuple[int, bytes] | None:
    """A regular file's size and bytes (none past MAX_BYTES: see files.read_bytes); None
    if it is not a regular file or cannot be read."""
    try:
        kind, size, data = read_bytes(path, MAX_BYTES)
    except OSError:
        return None
    return (max(size, len(data)), data) if stat.S_ISREG(kind) else None


def digest_of(path: str) -> str | None:
    """The SHA-256 of a picture's bytes now, or None if it cannot be read whole."""
    read = _read(path)
    return hashlib.sha256(read[1]).hexdigest() if read and read[0] <= MAX_BYTES else None
