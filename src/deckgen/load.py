"""Read a notes folder: deck.yaml, then every notes file, then what spans files.

Each notes file is checked on its own (so large decks can check files in parallel and
reuse what they checked last time); duplicate ids across files are found afterwards.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from deckgen import __version__
from deckgen.diagnostics import START, Diagnostic, Level, Position, has_errors
from deckgen.files import write_atomic
from deckgen.notes import Deck, Domain, Note
from deckgen.records import Record
from deckgen.validate import (
    DECK_FILE,
    DeckHeader,
    FileResult,
    check_file,
    check_header,
    id_position,
)

Progress = Callable[[int, int], None]  # (bytes of notes read, bytes in all)

# Below this much YAML, reading everything afresh in one process is quicker than
# starting workers or reading a cache.
LARGE = 1 << 20
CACHE_DIR = ".deckgen_cache"


class Loaded(NamedTuple):
    deck: Deck | None  # only if nothing is an error
    problems: list[Diagnostic]
    records: list[Record] | None = None  # the deck's, if asked for, with deckgen's note types


def load_deck(notes_dir: Path, *, cache: bool = True) -> tuple[Deck | None, list[Diagnostic]]:
    """Read and check every file of a notes folder; the deck only if nothing is an error."""
    loaded = load(notes_dir, cache=cache)
    return loaded.deck, loaded.problems


def load(
    notes_dir: Path,
    *,
    cache: bool = True,
    records: bool = False,
    on_file: Callable[[DeckHeader, FileResult], None] | None = None,
    progress: Progress | None = None,
) -> Loaded:
    """Read and check every file of a notes folder, and with `records`, make the records
    of its notes too (in the same pass, so that large decks make them in parallel).
    `on_file` is given each file's result as soon as it is there, in study order, and
    `progress` the bytes of YAML read so far and in all."""
    deck_yaml = notes_dir / DECK_FILE
    header, problems = check_header(deck_yaml)
    domains = {domain.key: domain for domain in header.domains} if header else {}
    files = _notes_files(notes_dir, list(domains))
    for key, path in files:
        if header is not None and key not in domains:
            known = ", ".join(domains) or "none"
            message = (
                f"unknown domain '{key}': notes files are named after a domain key of"
                f" {DECK_FILE} ({known}), or kept in a folder so named"
            )
            problems.append(Diagnostic(str(path), START, Level.ERROR, "unknown-domain", message))
    jobs = [(path, domains.get(key) or Domain(key, key)) for key, path in files]
    vocabulary = header.tags if header else None
    deck = (header.key, header.name) if header and records else None
    results: list[FileResult] = []
    seen: dict[str, tuple[str, Position | None]] = {}  # each id's first use
    notes: list[Note] = []
    sizes = [_size(path) for path, _ in jobs]
    checked = _check_all(jobs, sizes, vocabulary, deck, deck_yaml, cache)
    done = 0
    for (path, domain), result, size in zip(jobs, checked, sizes, strict=True):
        results.append(result)
        if on_file is not None and header is not None and domain.key in domains:
            on_file(header, result)
        done += size
        if progress is not None:
            progress(done, sum(sizes))
        problems += result.problems
        notes += result.notes
        uses: dict[str, int] = {}  # of each id in this file so far
        for note_id, position in result.ids:
            uses[note_id] = uses.get(note_id, 0) + 1
            if note_id not in seen:
                seen[note_id] = (str(path), position)
                continue
            first_path, first = seen[note_id]
            first = first or id_position(first_path, note_id)
            here = position or id_position(str(path), note_id, uses[note_id] - 1)
            message = (
                f"duplicate id '{note_id}': already used at {first_path}:{first.line}:{first.col}"
            )
            problems.append(Diagnostic(str(path), here, Level.ERROR, "duplicate-id", message))

    problems.sort()
    if header is None or has_errors(problems):
        return Loaded(None, problems)
    made = [r for result in results for r in result.records or ()] if deck else None
    return Loaded(_deck(header, notes), problems, made)


def is_large(notes_dir: Path) -> bool:
    """Whether the notes are enough YAML to be worth more than one process."""
    try:
        files = _notes_files(notes_dir, [])
    except OSError:
        return False
    return sum(_size(path) for _, path in files) >= LARGE


def _notes_files(notes_dir: Path, domain_order: list[str]) -> list[tuple[str, Path]]:
    """Each notes file with its domain key, in study order: `<domain>.yaml`, then the files
    of a folder `<domain>/` by name (a large domain can be split over several files)."""
    found: list[tuple[str, Path]] = []
    for entry in notes_dir.iterdir():
        if entry.is_dir() and not entry.name.startswith("."):
            found += [(entry.name, f) for f in entry.iterdir() if f.suffix in _YAML]
        elif entry.suffix in _YAML and entry.name != DECK_FILE:
            found.append((entry.stem, entry))
    order = {key: index for index, key in enumerate(domain_order)}
    return sorted(
        found,
        key=lambda kp: (order.get(kp[0], len(order)), kp[0], kp[1].parent != notes_dir, kp[1].name),
    )


_YAML = (".yaml", ".yml")


def _deck(header: DeckHeader, notes: list[Note]) -> Deck:
    order = {domain.key: index for index, domain in enumerate(header.domains)}
    ordered = sorted(notes, key=lambda note: order[note.domain.key])  # stable: file order kept
    return Deck(
        header.name, header.key, header.description, header.source, header.domains, tuple(ordered)
    )


def _check_all(
    jobs: list[tuple[Path, Domain]],
    sizes: list[int],
    vocabulary: tuple[str, ...] | None,
    deck: tuple[str, str] | None,
    deck_yaml: Path,
    use_cache: bool,
) -> Iterator[FileResult]:
    """Each file's result, in the order of `jobs`, each as soon as it is ready."""
    if sum(sizes) < LARGE:
        yield from (check_file(path, domain, vocabulary, deck) for path, domain in jobs)
        return
    cache = _Cache(deck_yaml, vocabulary) if use_cache else None
    entries = [cache.entry(path, domain) if cache else None for path, domain in jobs]
    cached = [_Cache.get(entry, deck is not None) if entry else None for entry in entries]
    work = [
        (*job, vocabulary, deck, entry)
        for job, entry, hit in zip(jobs, entries, cached, strict=True)
        if hit is None
    ]
    workers = min(len(work), os.cpu_count() or 1)
    pool = None
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        from deckgen.children import follow_parent

        pool = ProcessPoolExecutor(workers, initializer=follow_parent)
    try:
        # Every file goes to the workers at once; results come back in order, pickled
        # once, for the cache and for the way back.
        pending = pool.map(_check_and_keep, work) if pool else map(_check_and_keep, work)
        for hit in cached:
            yield hit if hit is not None else _unpickle(next(pending))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if cache is not None:
        cache.prune()


_Job = tuple[Path, Domain, "tuple[str, ...] | None", "tuple[str, str] | None", "Path | None"]


def _check_and_keep(job: _Job) -> bytes:
    """Check one file (in a worker), keep the result in the cache entry given, and
    return it pickled."""
    import pickle

    path, domain, vocabulary, deck, entry = job
    data = pickle.dumps(check_file(path, domain, vocabulary, deck), protocol=5)
    if entry is not None:
        _Cache.put(entry, data)
    return data


def _unpickle(data: bytes) -> FileResult:
    import pickle

    result = pickle.loads(data)
    assert isinstance(result, FileResult)
    return result


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _Cache:
    """Checked files by content: a file whose bytes, deck.yaml and deckgen version are
    unchanged is not parsed again. Kept beside the notes folder, never committed."""

    def __init__(self, deck_yaml: Path, vocabulary: tuple[str, ...] | None) -> None:
        self.folder = deck_yaml.parent.parent / CACHE_DIR
        context = repr((__version__, _code_stamp(), vocabulary)).encode() + _read(deck_yaml)
        self.context = hashlib.sha256(context).hexdigest()
        self.used: set[Path] = set()

    def entry(self, path: Path, domain: Domain) -> Path:
        """Where the result for this file, as it is now, is kept."""
        key = hashlib.sha256(
            self.context.encode() + repr(domain).encode() + str(path).encode() + _read(path)
        ).hexdigest()
        entry = self.folder / f"{key}.pickle"
        self.used.add(entry)
        return entry

    def prune(self) -> None:
        """Forget entries this run did not use: older versions of the files."""
        for entry in self.folder.glob("*.pickle"):
            if entry not in self.used:
                entry.unlink(missing_ok=True)

    @staticmethod
    def get(entry: Path, with_records: bool) -> FileResult | None:
        import pickle  # only large decks have a cache

        try:
            with open(entry, "rb") as file:
                result = pickle.load(file)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        if not isinstance(result, FileResult) or (with_records and result.records is None):
            return None
        return result

    @staticmethod
    def put(entry: Path, pickled: bytes) -> None:
        """Keep a pickled FileResult."""
        try:
            if not entry.parent.exists():
                entry.parent.mkdir(parents=True, exist_ok=True)
                (entry.parent / ".gitignore").write_text("*\n", encoding="utf-8")
            write_atomic(entry, pickled, durable=False)
        except OSError:
            pass  # a cache that cannot be written only costs time


def _code_stamp() -> list[tuple[str, int, int]]:
    """deckgen's own files by size and time, so that a changed deckgen never reuses what
    an older one checked, released or not."""
    package = Path(__file__).parent
    files = sorted([*package.glob("*.py"), *package.glob("templates/*")])
    return [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
