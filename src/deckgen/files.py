"""Files read and written safely. Read: a regular file only (never a FIFO or device that
could make a read wait or never end), of a bounded size, as UTF-8 text of bounded lines.
Written: so that a reader, or a build killed at any moment, never sees half a file, and
what a killed build leaves behind is cleared by the next one."""

from __future__ import annotations

import codecs
import contextlib
import glob
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from deckgen.diagnostics import START, Diagnostic, Position

_PREFIX = "deckgen-"
MAX_BYTES = 16 * 2**20  # a notes file: a domain can spread over many files in a folder
MAX_LINE = 20_000  # characters in a line


def read_text(
    path: Path,
    shown_as: str,
    limit: int = MAX_BYTES,
    advice: str = "split it into files in a folder named after its domain",
    *,
    keep_bom: bool = False,
    what: str = "a file of notes",
) -> tuple[str | None, list[Diagnostic]]:
    """A file's text: a regular file (not a FIFO, device or socket, which could make a
    read wait or never end) of at most `limit` bytes of UTF-8, no NUL, no line longer
    than MAX_LINE characters; its byte-order mark left out, unless `keep_bom`. `what`
    the file should be, as a message names it."""
    try:
        kind, size, data = read_bytes(path, limit)
    except OSError as error:
        message = f"cannot read file: {error.strerror or error}"
        return None, [Diagnostic(shown_as, START, "unreadable", message)]
    if kind != stat.S_IFREG:
        found = FILE_KINDS.get(kind, "not a regular file")
        message = f"this is {found}, not {what}: deckgen reads regular files only"
        return None, [Diagnostic(shown_as, START, "not-a-file", message)]
    return decode(data, shown_as, limit, advice, keep_bom=keep_bom, size=size)


def decode(
    data: bytes,
    shown_as: str,
    limit: int = MAX_BYTES,
    advice: str = "split it into files in a folder named after its domain",
    *,
    keep_bom: bool = False,
    size: int = 0,
) -> tuple[str | None, list[Diagnostic]]:
    """A file's bytes as text, held to the bounds `read_text` holds a file to (`size`:
    the file's own, if it said more than was read)."""
    if size > limit or len(data) > limit:
        size = max(size, len(data))
        message = (
            f"the file is {size / 2**20:.1f} MiB; deckgen reads files of up to"
            f" {limit // 2**20} MiB: {advice}"
        )
        return None, [Diagnostic(shown_as, START, "too-large", message)]
    text, problems = _decode(data, shown_as)
    if keep_bom and text is not None and data.startswith(codecs.BOM_UTF8):
        text = BOM + text
    return text, problems


BOM = "\ufeff"


def read_bytes(path: Path | str, limit: int) -> tuple[int, int, bytes]:
    """A file's kind (stat.S_IFMT), size, and bytes: read only from a regular file of at
    most `limit` bytes, and then no more than `limit + 1` of them, even if it grows; never
    waiting, should a FIFO have taken the file's place. OSError if it cannot be read."""
    with _opened(path) as (fd, info):
        kind = stat.S_IFMT(info.st_mode)
        if fd is None:
            return kind, 0, b""
        regular = info.st_size <= limit
        return kind, info.st_size, _read_up_to(fd, limit + 1) if regular else b""


def read_head(path: Path | str, size: int) -> bytes:
    """The first `size` bytes of a regular file, however large (nothing of anything else,
    and never waiting on a FIFO). OSError if it cannot be read."""
    with _opened(path) as (fd, _):
        return b"" if fd is None else _read_up_to(fd, size)


@contextlib.contextmanager
def _opened(path: Path | str) -> Iterator[tuple[int | None, os.stat_result]]:
    """A regular file opened to read (None for anything else), with what fstat says of
    it: opened without waiting, should a FIFO take its place between the two looks."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        yield None, info
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        yield (fd if stat.S_ISREG(info.st_mode) else None), info
    finally:
        os.close(fd)


FILE_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _read_up_to(fd: int, size: int) -> bytes:
    chunks = []
    while size > 0 and (chunk := os.read(fd, min(size, 1 << 20))):
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}


def _decode(data: bytes, shown_as: str) -> tuple[str | None, list[Diagnostic]]:
    """The file's text: UTF-8 (a byte-order mark is fine), no NUL, no overlong line."""
    for bom, encoding in _BOMS.items():
        if data.startswith(bom):
            message = f"the file is {encoding}; save it as UTF-8"
            return None, [Diagnostic(shown_as, START, "encoding", message)]
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\0" in data:
        position = position_of_byte(data, data.index(b"\0"))
        message = "a NUL byte: notes are text, and this looks like a binary file"
        return None, [Diagnostic(shown_as, position, "nul-byte", message)]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        position = position_of_byte(data, error.start)
        message = (
            f"not UTF-8: byte 0x{data[error.start]:02x} cannot be decoded; save the file as UTF-8"
        )
        return None, [Diagnostic(shown_as, position, "encoding", message)]
    number = first_long_line(text)
    if number is not None:
        message = f"a line of over {MAX_LINE:,} characters: break it (YAML text can span lines)"
        return None, [Diagnostic(shown_as, Position(number, MAX_LINE + 1), "too-long", message)]
    return text, []


def first_long_line(text: str) -> int | None:
    """The number of the first line of over MAX_LINE characters, if any (lines broken at
    every break YAML knows, and a few more: as str.splitlines breaks them)."""
    # Such a line holds the whole of one of the pieces of half that length the text is cut
    # into, and no line break: if each piece has a "\n" (as a rule), there is none.
    step = MAX_LINE // 2
    pieces = range(0, len(text) - step + 1, step)
    if all(text.find("\n", start, start + step) >= 0 for start in pieces):
        return None
    lines = text.splitlines()
    return next((n for n, line in enumerate(lines, 1) if len(line) > MAX_LINE), None)


_MARKERS = ("<" * 7, "=" * 7, ">" * 7, "|" * 7)
_CONFLICT = re.compile(r"^(<{7}|={7}|>{7}|\|{7})(?: |$)", re.MULTILINE)


def conflict_markers(text: str) -> Iterator[tuple[int, str]]:
    """The lines (1-based) that git left as merge conflict markers, and each marker."""
    if not any(marker in text for marker in _MARKERS):  # as a rule: quicker to tell
        return
    line, counted = 1, 0  # lines are counted on from the last marker: linear, however many
    for match in _CONFLICT.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        yield line, match.group(1)


def position_of_byte(data: bytes, offset: int) -> Position:
    """Where a byte of a file stands, as line and column (of characters)."""
    before = data[:offset]
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace"))
    return Position(before.count(b"\n") + 1, column + 1)


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to `path` in one step: readers see the old file or the new, whole.
    `durable=False` is for files that only save time (a cache whose damaged entries are
    ignored): no waiting for the disk, and what killed runs left beside them is cleared
    by their owner at once (`clear_partials`), not at every write."""
    write_all({path: data}, durable=durable)


def write_all(contents: Mapping[Path, bytes], *, durable: bool = True) -> None:
    """Write several files, all or none: each first to a hidden file beside it, with the
    mode and owner the file it replaces has; only once every one is written are they
    renamed into place (the folders they go in made first, if not there). OSError (and
    nothing replaced, no folder made) if one cannot be written."""
    partials: list[tuple[Path, Path]] = []
    made = made_folders(contents)
    try:
        for folder in reversed(made):  # outermost first
            folder.mkdir()
        for path, data in contents.items():
            partial = _partial(path, clear=durable)
            partials.append((partial, path))
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            _settle(partial, path, durable)
        for partial, path in partials:
            os.replace(partial, path)
        made = []
    finally:
        for partial, _ in partials:
            partial.unlink(missing_ok=True)
        for folder in made:  # (innermost first) what was made for files not written
            with contextlib.suppress(OSError):
                folder.rmdir()


def made_folders(paths: Iterable[Path]) -> list[Path]:
    """The folders that writing these files makes (none there yet), innermost first:
    each once, however its files were named (`deck/notes/deck.yaml` beside
    `/home/me/deck/.gitignore`)."""
    made: dict[Path, None] = {}
    for path in paths:
        for above in path.absolute().parents:
            if os.path.lexists(above):
                break
            made[above] = None
    return sorted(made, key=lambda p: len(p.parts), reverse=True)


@contextlib.contextmanager
def replacing(path: Path, *, durable: bool = True) -> Iterator[Path]:
    """A hidden path beside `path` to write the new file at; once the block ends, the
    new file replaces `path` in one step (keeping its mode and owner), and if the block
    fails, it is removed.

    A build killed in the middle leaves the hidden file, which the next write to `path`
    removes (it carries the dead process's id).
    """
    partial = _partial(path, clear=durable)
    try:
        yield partial
        _settle(partial, path, durable)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _partial(path: Path, clear: bool) -> Path:
    """The hidden path to write `path` at; those left by killed processes removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if clear:
        clear_partials(path.parent, path.name)
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def clear_partials(folder: Path, name: str = "*") -> None:
    """Remove the hidden files that processes now gone left while writing `name` (any
    file, by default) in `folder`."""
    pattern = "*" if name == "*" else glob.escape(name)
    for stale in folder.glob(f".{pattern}.*.partial"):
        pid = stale.name[: -len(".partial")].rsplit(".", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _settle(partial: Path, path: Path, durable: bool) -> None:
    """The new file given the mode and owner of the one it replaces, and on disk."""
    try:
        old = os.stat(path)
    except FileNotFoundError:
        old = None
    if old is not None:
        os.chmod(partial, stat.S_IMODE(old.st_mode))
        new = os.stat(partial)
        if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
            os.chown(partial, old.st_uid, old.st_gid)
    if durable:
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def unwritable(path: Path) -> str | None:
    """Why `path` cannot be written in place, keeping its mode and owner, if it cannot:
    a read-only file or folder, a file of another user, or not a regular file."""
    folder = path.parent
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as error:
        return f"cannot write it: {error.strerror or error}"
    if info is not None:
        if not stat.S_ISREG(info.st_mode):
            return "it is not a regular file: deckgen writes regular files only"
        if not os.access(path, os.W_OK):
            mode = stat.S_IMODE(info.st_mode)
            return f"the file is read-only (mode {mode:o}): make it writable, then run again"
        if os.name == "posix" and os.geteuid() not in (0, info.st_uid):
            return "the file belongs to another user, whose it would no longer be: copy it first"
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent  # (made when the file is written: write_all)
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is read-only: make it writable, then run again"
    return None


# What an Anki package holds, one of: a file at the output that has none is not one.
_COLLECTIONS = ("collection.anki21b", "collection.anki21", "collection.anki2")


def not_a_package(path: Path) -> str | None:
    """Why a package may not be written at `path`, if it may not: a file there that is
    not an Anki package (a notes file named by mistake, say), which it would replace.
    (What cannot be written at all, the writing says.)"""
    import zipfile

    try:
        with _opened(path) as (fd, _):
            if fd is None:
                return None
            with os.fdopen(os.dup(fd), "rb") as file, zipfile.ZipFile(file) as archive:
                names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        names = set()
    except OSError:
        return None
    if names.isdisjoint(_COLLECTIONS):
        return (
            "a file that is not an Anki package is there, and a build would replace it:"
            " give the package another name (.apkg), or move the file away"
        )
    return None


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary folder named after this process; folders left by killed builds (whose
    process is gone) are removed first."""
    base = Path(tempfile.gettempdir())
    for stale in base.glob(f"{_PREFIX}*"):
        pid = stale.name[len(_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"{_PREFIX}{os.getpid()}-") as work:
        yield Path(work)


def _alive(pid: int) -> bool:
    """Whether a process runs. Only asked where signal 0 only asks: on Windows, os.kill
    would end the process, so there every process counts as alive and nothing is cleared."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
