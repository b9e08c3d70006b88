"""Read a notes folder: deck.yaml, then every notes file, then what spans files.

`load` orchestrates: the header, the folder's files in study order (each read, checked
and made into records by `_file`, or taken from the cache), then the checks across
files. It writes nothing but the cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import stat
import sys
from collections import Counter
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import NamedTuple

from deckgen import __version__
from deckgen.diagnostics import START, Collected, Diagnostic, Level, Position, has_errors
from deckgen.files import MAX_BYTES, clear_partials, read_bytes, replacing
from deckgen.media import MAX_PICTURES, Picture, Pictures, digest_of
from deckgen.notes import Domain
from deckgen.records import Deck, FileResult, Record, guid, records_of
from deckgen.shapes import DECK_FILE
from deckgen.source import read
from deckgen.validate import DeckHeader, check_header, check_notes

# The bounds of a deck (a file's own are in files.py and source.py).
MAX_FILES = 100_000
MAX_DECK_BYTES = 64 * 2**20
MAX_NOTES = 200_000

Progress = Callable[[int, int], None]  # (bytes of notes read, bytes in all)

# From this much YAML, checked files are remembered by content (a rebuild then reads
# only the files that changed); below it, reading them is as quick as the cache.
LARGE = 1 << 20
CACHE_DIR = ".deckgen_cache"


class Loaded(NamedTuple):
    deck: Deck | None  # only if nothing is an error
    problems: list[Diagnostic]


def load(
    notes_dir: Path,
    *,
    cache: bool = True,
    progress: Progress | None = None,
    texts: Mapping[Path, bytes] | None = None,
    each: Callable[[DeckHeader, FileResult], None] | None = None,
) -> Loaded:
    """Read and check every file of a notes folder, and make the records of its notes.
    `texts`: notes files as they would be (what `pull` is to write), read in place of
    what the folder holds, as the files would be read. `each`: given each file's result
    as it comes, in study order."""
    texts = texts or {}
    header, problems = check_header(notes_dir / DECK_FILE)
    files, sizes, bounds = _notes_files(notes_dir, header, problems, texts)
    if header is None or bounds:
        return Loaded(None, sorted(problems))
    total = sum(sizes)
    ids = _Ids(header.key)
    kept: list[bytes] = []
    counts: Counter[tuple[str, str]] = Counter()
    cards: Counter[tuple[str, str]] = Counter()
    found = Collected()  # every problem counted, the first of each level kept
    found.extend(problems)
    done = 0
    pictures: dict[str, Picture] = {}  # each picture the deck shows, by its name
    large = total >= LARGE
    results = _results(notes_dir, header, files, texts, large, cache=cache and large)
    try:
        for size, data in zip(sizes, results, strict=True):
            result: FileResult = pickle.loads(data)
            found.extend(result.problems)
            found.extend(ids.check(result, kept))
            found.extend(ids.check_guids(result))
            ids.make_guids(result)  # (while the other files are still read)
            kept.append(data)
            if each is not None:
                each(header, result)
            for picture in result.pictures:
                pictures.setdefault(picture.name, picture)
            for domain, kind, notes, made in result.counts:
                counts[domain, kind] += notes
                cards[domain, kind] += made
            done += size
            if progress is not None:
                progress(done, total)
            if ids.full:
                break
    finally:
        results.close()
    if not found.errors:
        found.extend(ids.made_guids())
    for note_type in header.note_types.values():  # what templates and CSS load
        for picture in note_type.media:
            pictures.setdefault(picture.name, picture)
    if len(pictures) > MAX_PICTURES:
        message = f"{len(pictures):,} pictures: a deck ships {MAX_PICTURES:,} at most"
        found.add(Diagnostic(str(notes_dir), START, "too-many", message))
    problems = sorted(found.shown_problems())
    if has_errors(problems):
        return Loaded(None, problems)
    deck = Deck(
        header.name,
        header.key,
        header.description,
        header.source,
        header.domains,
        tuple(kept),
        len(ids.first),  # every id once: no error
        {key: (notes, cards[key]) for key, notes in counts.items()},
        header.tags,
        tuple(pictures[name] for name in sorted(pictures)),
        len(ids.guids),
        header.note_types,
    )
    return Loaded(deck, problems)


class _Ids:
    """The note ids of every file read so far: each one's first use, so that another is
    reported with where the first stands (found again, a file at most once, only then)."""

    def __init__(self, deck_key: str) -> None:
        self.deck_key = deck_key
        self.first: dict[str, int] = {}  # the index of the file where each is first used
        self.paths: list[str] = []
        self.positions: dict[int, dict[str, Position]] = {}
        self.full = False  # past the deck's bound on notes
        self.guids: dict[str, tuple[str, Position]] = {}  # notes' own GUIDs: where each is
        # The GUID deckgen makes for each id, once any note names its own (to compare).
        self.made: dict[str, str] = {}

    def check_guids(self, result: FileResult) -> list[Diagnostic]:
        """The errors of the GUIDs a file's notes name themselves: each must be unique."""
        problems = []
        for own, line, col in result.guids:
            here = Position(line, col)
            first = self.guids.setdefault(own, (result.path, here))
            if first != (result.path, here):
                path, where = first
                message = (
                    f"duplicate guid '{own}': already used at {path}:{where.line}:{where.col};"
                    " two notes with one GUID are one note in Anki"
                )
                problems.append(Diagnostic(result.path, here, "duplicate-guid", message))
        return problems

    def make_guids(self, result: FileResult) -> None:
        """The GUID deckgen makes for each id of a file just read (and of those before, at
        the first that names its own GUID), once any note names its own."""
        if not self.guids:
            return
        ids = self.first if not self.made else (note_id for note_id, _, _ in result.ids)
        self.made.update(result.made_guids)  # (those made where the file was read)
        for note_id in ids:
            if note_id not in self.made:
                self.made[note_id] = guid(self.deck_key, note_id)

    def made_guids(self) -> list[Diagnostic]:
        """A GUID a note names itself that is the one deckgen makes for another's id."""
        problems = []
        for note_id in self.first if self.guids else ():
            made = self.made.get(note_id) or guid(self.deck_key, note_id)
            clash = self.guids.get(made)
            if clash is not None:
                path, where = clash
                message = f"this guid is the one deckgen makes for the note '{note_id}'"
                problems.append(Diagnostic(path, where, "duplicate-guid", message))
        return problems

    def check(self, result: FileResult, kept: list[bytes]) -> list[Diagnostic]:
        """The errors of a file's ids: used before, or past the deck's bound."""
        index = len(self.paths)
        self.paths.append(result.path)
        problems: list[Diagnostic] = []
        here: set[str] = set()
        for note_id, line, col in result.ids:
            note_id = sys.intern(note_id)  # one string for the id, here and in the lock
            first = self.first.setdefault(note_id, index)
            if first != index or note_id in here:
                where = self._positions(first, result, kept)[note_id]
                message = (
                    f"duplicate id '{note_id}': already used at"
                    f" {self.paths[first]}:{where.line}:{where.col}"
                )
                here_at = Position(line, col)
                problems.append(Diagnostic(result.path, here_at, "duplicate-id", message))
            elif len(self.first) > MAX_NOTES:
                message = f"over {MAX_NOTES:,} notes: deckgen builds decks of up to {MAX_NOTES:,}"
                problems.append(Diagnostic(result.path, Position(line, col), "too-many", message))
                self.full = True
                break
            here.add(note_id)
        return problems

    def _positions(self, index: int, current: FileResult, kept: list[bytes]) -> dict[str, Position]:
        """Where each id of a file is first used in it."""
        if index not in self.positions:
            result = current if index == len(kept) else pickle.loads(kept[index])
            found: dict[str, Position] = {}
            for note_id, line, col in result.ids:
                found.setdefault(note_id, Position(line, col))
            self.positions[index] = found
        return self.positions[index]


def _results(
    notes_dir: Path,
    header: DeckHeader,
    files: list[tuple[Path, Domain]],
    texts: Mapping[Path, bytes],
    large: bool,
    *,
    cache: bool,
) -> Generator[bytes, None, None]:
    """Each file's result, pickled, in order. For a large deck: from the cache where the
    file is unchanged, and the others read by a process per core."""
    remembered = _Cache(notes_dir, header) if cache else None
    # Each file's key is of the bytes read: looked up first, where the cache holds any
    # result, and made again by the reader of each file not found, of the bytes it reads
    # (a file edited meanwhile is never kept under its old bytes' key; and a first build
    # reads each file once, as soon as the readers start).
    lookup = remembered is not None and bool(remembered.kept)
    keys = [
        remembered.key(path, domain) if remembered and lookup and path not in texts else None
        for path, domain in files
    ]
    cached = [remembered.get(key) if remembered and key else None for key in keys]
    context = remembered.context if remembered is not None else None
    work = [
        (path, domain, header, notes_dir, texts.get(path), None if path in texts else context)
        for (path, domain), hit in zip(files, cached, strict=True)
        if hit is None
    ]
    workers = min(len(work), os.cpu_count() or 1) if large else 1
    pool = None
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        from deckgen.children import follow_parent

        pool = ProcessPoolExecutor(workers, initializer=follow_parent)
    try:
        # Many small files go to the workers in batches: a file at a time, the passing
        # of each would cost more than reading it.
        batch = max(1, min(64, len(work) // (8 * workers))) if pool else 1
        read = pool.map(_read, work, chunksize=batch) if pool else map(_read, work)
        for key, hit in zip(keys, cached, strict=True):
            if hit is None:
                key, data = next(read)
            else:
                data = hit
            if remembered is not None and key is not None:
                remembered.put(key, data)
            yield data
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if remembered is not None:
        remembered.save()


def _read(
    job: tuple[Path, Domain, DeckHeader, Path, bytes | None, str | None],
) -> tuple[str | None, bytes]:
    """Read one file (in a worker, for a large deck): the key of the bytes it read, with
    the cache's `context` (none without one, or for a file not read whole: its reader
    says what it is), and its result, pickled (once, for the cache and the reader both)."""
    path, domain, header, notes_dir, text, context = job
    keyed = _keyed(context, domain, path) if text is None and context is not None else None
    key, text = keyed if keyed is not None else (None, text)
    return key, pickle.dumps(_file(path, domain, header, notes_dir, text), protocol=5)


def _keyed(context: str, domain: Domain, path: Path) -> tuple[str, bytes] | None:
    """A file's cache key, of deckgen and deck.yaml (`context`), its place and its bytes,
    and the bytes; None for what is not a regular file within the bound (its reader says
    what it is)."""
    try:
        kind, size, content = read_bytes(path, MAX_BYTES)
    except OSError:
        return None
    if kind != stat.S_IFREG or size > MAX_BYTES:
        return None
    place = repr((domain, str(path))).encode()
    return hashlib.sha256(context.encode() + place + content).hexdigest(), content


def _file(
    path: Path, domain: Domain, header: DeckHeader, notes_dir: Path, text: bytes | None = None
) -> FileResult:
    """Read, check and make the records of one notes file (or of `text`, the bytes it
    would hold): what it holds, whatever the other files hold."""
    parsed, problems = read(path, str(path), text)
    if parsed is None:
        return FileResult.of(str(path), (), (), problems, deck_key=header.key)
    pictures = Pictures(notes_dir, path)
    checked = check_notes(parsed, domain, header.tags, pictures, header.note_types)
    made: list[Record] = []
    if not has_errors(checked.problems):
        made = records_of(header.key, header.name, checked.notes, header.note_types)
    return FileResult.of(
        str(path),
        checked.ids,
        made,
        checked.problems,
        checked.guids,
        pictures.used(),
        deck_key=header.key,
    )


def _notes_files(
    notes_dir: Path,
    header: DeckHeader | None,
    problems: list[Diagnostic],
    texts: Mapping[Path, bytes],
) -> tuple[list[tuple[Path, Domain]], list[int], bool]:
    """Each notes file with its domain, in study order: the domains as deck.yaml lists
    them, each's `<domain>.yaml`, then the files of a folder `<domain>/` by name (a large
    domain can be split over several files); and each one's size. What is wrong goes into
    `problems`; True if the folder is past a bound, so that nothing in it is read. (Each
    file looked at once, and as few paths made as can be: a deck of a file per note has
    tens of thousands.)"""
    header_checks = not has_errors(problems)  # deck.yaml's: a domain it lists is meant
    found: list[tuple[str, Path, bool]] = []  # domain key, path, in the domain's folder
    for entry in notes_dir.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            found += [(entry.name, f, True) for f in entry.iterdir() if f.suffix in _YAML]
        elif entry.suffix in _YAML and entry.name != DECK_FILE:
            found.append((entry.stem, entry, False))
        if len(found) > MAX_FILES:
            message = f"over {MAX_FILES:,} notes files: merge some (a file can hold thousands)"
            problems.append(Diagnostic(str(notes_dir), START, "too-many", message))
            return [], [], True
    if texts:
        listed = {path for _, path, _ in found}
        for path in texts.keys() - listed:  # a file that is yet to be written
            folder = path.parent != notes_dir
            found.append((path.parent.name if folder else path.stem, path, folder))
    sizes = [len(texts[path]) if texts and path in texts else _size(path) for _, path, _ in found]
    total = sum(sizes)
    if total > MAX_DECK_BYTES:
        message = (
            f"{total / 2**20:.0f} MiB of notes: deckgen builds decks of up to"
            f" {MAX_DECK_BYTES // 2**20} MiB of YAML"
        )
        problems.append(Diagnostic(str(notes_dir), START, "too-large", message))
        return [], [], True
    domains = {domain.key: domain for domain in header.domains} if header else {}
    for key, path, _ in found:
        if header is not None and key not in domains:
            message = (
                f"unknown domain '{key}': notes files are named after a domain key of"
                f" {DECK_FILE} ({', '.join(domains) or 'none'}), or kept in a folder so named"
            )
            problems.append(Diagnostic(str(path), START, "unknown-domain", message))
    with_notes = {key for key, _, _ in found}
    for index, domain in enumerate(header.domains if header and header_checks else ()):
        if domain.key not in with_notes:
            assert header is not None
            where_to = f"files in a folder {domain.key}/"
            if domain_file(notes_dir, domain.key) is not None:
                where_to = f"{domain.key}.yaml beside {DECK_FILE} (or in {where_to})"
            message = f"the domain '{domain.key}' has no notes yet: its notes go in {where_to}"
            where = header.places[index] if index < len(header.places) else START
            deck_file = str(notes_dir / DECK_FILE)
            problems.append(Diagnostic(deck_file, where, "empty-domain", message, Level.WARNING))
    order = {key: index for index, key in enumerate(domains)}
    known = sorted(
        ((order[key], folder, path.name), path, domains[key], size)
        for (key, path, folder), size in zip(found, sizes, strict=True)
        if key in domains
    )
    return [(path, domain) for _, path, domain, _ in known], [size for *_, size in known], False


_YAML = (".yaml", ".yml")


def domain_file(notes_dir: Path, key: str) -> Path | None:
    """A domain's notes file beside deck.yaml, `<key>.yaml`; None for the key whose file
    that would be deck.yaml itself: that domain's notes go in files in a folder `deck/`."""
    path = notes_dir / f"{key}.yaml"
    return None if path.name == DECK_FILE else path


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _Cache:
    """Checked files by content: a file whose bytes, deck.yaml and deckgen are unchanged is
    not read again. One file of results for each notes folder (as black keeps its cache),
    beside the folder, read once and written once, whole, when what it holds changed;
    never committed. A cache that cannot be read or written only costs time."""

    MAX_BYTES = 8 * MAX_DECK_BYTES  # the results of the largest deck, several times over

    def __init__(self, notes_dir: Path, header: DeckHeader) -> None:
        where = notes_dir.resolve()
        name = hashlib.sha256(str(where).encode()).hexdigest()[:16]
        self.folder = where.parent / CACHE_DIR / f"{where.name}-{name}"
        self.index = self.folder / "results.pickle"
        # What decides a file's result besides its bytes: deckgen itself, and deck.yaml
        # (its note types by what they hold: their fill rules are code, in the stamp).
        types = tuple(
            (kind, t.digest, t.declared, t.holds_html, t.sort_field)
            for kind, t in header.note_types.items()
        )
        stable = header._replace(places=(), note_types={})
        context = repr((__version__, _code_stamp(), stable, types))
        self.context = hashlib.sha256(context.encode()).hexdigest()
        self.kept = self._read()
        self.used: dict[str, bytes] = {}

    def _read(self) -> dict[str, bytes]:
        try:
            kind, _, data = read_bytes(self.index, self.MAX_BYTES)
            kept = pickle.loads(data) if kind == stat.S_IFREG and data else {}
        except Exception:  # damaged, or of another deckgen: read the files again
            return {}
        return kept if isinstance(kept, dict) else {}

    def key(self, path: Path, domain: Domain) -> str | None:
        """The key of the result for this file, as it is now (none for what is not a
        regular file within the bound: its reader says what it is)."""
        keyed = _keyed(self.context, domain, path)
        return keyed[0] if keyed is not None else None

    def get(self, key: str) -> bytes | None:
        """A pickled FileResult, if one is kept for the key and reads back whole."""
        data = self.kept.get(key)
        try:
            result = pickle.loads(data) if isinstance(data, bytes) else None
        except Exception:  # a damaged result: the file is read again
            return None
        if isinstance(result, FileResult) and _pictures_as_they_were(result):
            return data
        return None

    def put(self, key: str, pickled: bytes) -> None:
        """Keep a pickled FileResult, as this run read or found it."""
        self.used[key] = pickled

    def save(self) -> None:
        """Keep the results this run used, and only them (older versions of the files
        are forgotten); nothing is written if they are what was kept."""
        if self.used.keys() == self.kept.keys():
            return
        try:
            if not self.folder.exists():
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder.parent / ".gitignore").write_text("*\n", encoding="utf-8")
            # Pickled straight into the file: no second copy of every result in memory.
            with replacing(self.index, durable=False) as partial, open(partial, "wb") as file:
                pickle.dump(self.used, file, protocol=5)
            for stale in self.folder.glob("*.pickle"):  # of an older deckgen: a file each
                if stale != self.index:
                    stale.unlink(missing_ok=True)
            clear_partials(self.folder)
        except OSError:
            pass


def _pictures_as_they_were(result: FileResult) -> bool:
    """Whether the pictures a file's notes show have the bytes they had (their names, and
    so the notes, come from them); a file whose pictures were refused is read again."""
    if any(problem.code.startswith("picture-") for problem in result.problems):
        return False
    return all(digest_of(picture.path) == picture.digest for picture in result.pictures)


# The libraries whose work a result holds: the YAML read, the HTML made and cleaned.
_MAKERS = ("yaml", "markdown_it", "nh3", "pygments")


def _code_stamp() -> list[tuple[str, int, int]]:
    """deckgen's own files by size and time, and those of the libraries that make its
    results (found, not imported), so that a changed deckgen, or a deckgen with another
    version of one of them, never reuses what an older one checked, released or not."""
    package = Path(__file__).parent
    files = sorted([*package.rglob("*.py"), *package.glob("templates/*")])
    stamp = [(str(f.relative_to(package)), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    for name in _MAKERS:
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        if origin is not None and origin.is_file():
            stamp.append((name, origin.stat().st_size, origin.stat().st_mtime_ns))
    return stamp
