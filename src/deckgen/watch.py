"""`deckgen preview --watch`: the preview page served on 127.0.0.1, updated in place on
every save in the notes folder.

The folder is read again by the build's own path (`build.prepare`, its cache for a large
deck) whenever a file in it changes; only the notes whose records changed are imported
and rendered again, in one collection kept for the session (preview.Renderer); the page
asks for what changed since the version it shows (a long poll) and replaces those notes
where they stand. A folder with errors keeps its last good cards on the page, and shows
the errors above them until they are fixed. Nothing is written into the notes folder.

Every dimension is bounded: the files looked at per scan, the pages waiting for a change,
the changes kept for a page that falls behind (it reloads instead), and what one answer
carries (a change of most notes, or of a note type, makes the page reload).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from deckgen import build as build_
from deckgen import lock, preview
from deckgen.build import Build
from deckgen.diagnostics import START, Diagnostic, has_errors
from deckgen.load import MAX_FILES
from deckgen.preview import NoteView, Renderer

POLL = 0.02  # seconds between looks at the notes folder: a save shows within a few of them
WAIT = 20.0  # seconds a page's question waits for a change before it is answered "none"
MAX_WAITING = 32  # pages waiting at once (each a thread); more are told to try again
KEPT = 64  # changes kept for a page that asks for them late; older: it reloads
MAX_IN_PLACE = 200  # notes changed at once that the page replaces in place; more: reload
MAX_ERRORS_SHOWN = 50


@dataclass
class Change:
    """What one rebuild changed on the page."""

    version: int
    notes: dict[str, str] = field(default_factory=dict)  # note id -> its new HTML
    reload: bool = False  # notes added, removed or moved, or note types changed
    errors: list[str] = field(default_factory=list)  # the folder's errors, if it has any


class Session:
    """The notes folder as last rendered: its build, each note's record digest and view,
    and the changes since the page was first served."""

    def __init__(self, notes_dir: Path) -> None:
        self.notes_dir = notes_dir
        self.renderer = Renderer()
        self.build: Build | None = None
        self.views: dict[str, NoteView] = {}
        self.digests: dict[str, str] = {}
        self.order: list[str] = []
        self.types: dict[str, str] = {}  # each note type's digest
        self.css: tuple[tuple[str, str], ...] = ()
        self.errors: list[str] = []
        self.version = 0
        self.changes: deque[Change] = deque(maxlen=KEPT)
        self.changed = threading.Condition()
        # The lock is parsed again only when its text changes (a build in another terminal).
        self.read_lock = functools.partial(
            lock.read, parser=functools.lru_cache(maxsize=1)(lock.parse)
        )

    def close(self) -> None:
        self.renderer.close()

    def rebuild(self) -> tuple[list[Diagnostic], int]:
        """Read the folder again and render what changed: its problems, and how many
        notes the page shows anew."""
        try:
            made, problems = build_.prepare(
                self.notes_dir, int(time.time()), read_lock=self.read_lock
            )
        except OSError as error:  # the folder gone, or unreadable, mid-read
            made = None
            problems = [Diagnostic(str(self.notes_dir), START, "unreadable", str(error))]
        errors = [p.format() for p in problems if p.level.value == "error"]
        if made is None or has_errors(problems):
            self._publish(Change(self.version + 1, errors=errors[:MAX_ERRORS_SHOWN]))
            return problems, 0
        records = list(made.deck.records())
        types = {kind: t.digest for kind, t in made.note_types.items()}
        # Rendered all anew: at first, when a note type changed, or when the first note of
        # a declared type comes (its stylesheet is the page's from then on).
        scopes = {scope for scope, _ in self.css}
        fresh = (
            types != self.types
            or self.build is None
            or any(r.kind not in scopes and made.note_types[r.kind].declared for r in records)
        )
        if fresh and self.build is not None:  # a note type changed: render all anew
            self.renderer.close()
            self.renderer = Renderer()
        todo = [r for r in records if fresh or self.digests.get(r.note_id) != r.digest]
        order = [r.note_id for r in records]
        views, css = self.renderer.render(made, todo) if todo else ([], self.css)
        # The page's state made anew, then swapped in whole: the server reads it meanwhile.
        # (The stylesheets: every note type's that has notes, as the render of all gave them.)
        css = css if fresh else self.css
        shown = {} if fresh else dict(self.views)
        shown.update((view.note_id, view) for view in views)
        moved = order != self.order or len(views) > MAX_IN_PLACE
        change = Change(self.version + 1, reload=fresh or moved)
        if not change.reload:
            change.notes = {view.note_id: preview.note_html(view) for view in views}
        with self.changed:
            self.digests = {r.note_id: r.digest for r in records}
            self.views = {i: shown[i] for i in order if i in shown}
            self.build, self.order, self.types, self.css = made, order, types, css
        if change.notes or change.reload or self.errors:
            self._publish(change)
        return problems, len(views)

    def _publish(self, change: Change) -> None:
        with self.changed:
            self.version = change.version
            self.errors = change.errors
            self.changes.append(change)
            self.changed.notify_all()

    def since(self, version: int) -> dict[str, Any]:
        """What changed since the page's version: the notes to replace, the errors now,
        or that it must reload (what it needs is no longer kept, or is too much)."""
        with self.changed:
            if version > self.version or (
                version < self.version and self.changes[0].version > version + 1
            ):
                return {"version": self.version, "reload": True}
            notes: dict[str, str] = {}
            reload = False
            for change in self.changes:
                if change.version > version:
                    notes.update(change.notes)
                    reload = reload or change.reload
            reload = reload or len(notes) > MAX_IN_PLACE
            answer: dict[str, Any] = {"version": self.version, "errors": self.errors}
            if reload:
                answer["reload"] = True
            else:
                answer["notes"] = notes
            return answer

    def wait(self, version: int, seconds: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.version != version, timeout=seconds)

    def page(self) -> str:
        """The whole page, as the notes are now (the errors above the cards)."""
        with self.changed:
            made, views, version = self.build, self.views, self.version
            errors = list(self.errors)
        if made is None:
            body = '<p class="pv-empty">No cards yet: the notes have errors.</p>'
            summary = ""
            title = self.notes_dir.name
        else:
            shown = preview.Preview(tuple(views[i] for i in self.order if i in views), self.css)
            body = preview.body_html(made, shown)
            summary = preview.summary(shown)
            title = made.deck.name
        return preview.page(title, summary, body, watch=version, errors=errors)

    def stylesheet(self) -> str:
        return preview.stylesheet(preview.Preview((), self.css))

    def picture(self, name: str) -> Path | None:
        made = self.build
        found = [p.path for p in made.deck.pictures if p.name == name] if made else []
        return Path(found[0]) if found else None


def snapshot(notes_dir: Path) -> tuple[Any, ...] | str:
    """What changes when a file of the notes folder is saved: each entry's name, kind,
    size and time, the folder's and its subfolders' (where a domain's files are); or why
    the folder cannot be looked at."""
    seen: list[tuple[str, int, int, int, int]] = []
    try:
        folders = [notes_dir]
        while folders:
            folder = folders.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    info = entry.stat(follow_symlinks=False)
                    seen.append(
                        (entry.path, info.st_mode, info.st_size, info.st_mtime_ns, info.st_ino)
                    )
                    if len(seen) > 2 * MAX_FILES:  # past any deck: the build says so
                        return tuple(seen)
                    if folder == notes_dir and stat.S_ISDIR(info.st_mode):
                        folders.append(Path(entry.path))
    except OSError as error:
        return f"{notes_dir}: {error.strerror or error}"
    return tuple(sorted(seen))


def serve(session: Session, port: int) -> ThreadingHTTPServer:
    """The page, its assets and its questions, on 127.0.0.1 (`port` 0: a free one), in a
    thread of their own."""
    waiting = threading.BoundedSemaphore(MAX_WAITING)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal is the user's
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            route = url.path
            if route in ("/", "/index.html"):
                self._send(session.page().encode(), "text/html; charset=utf-8")
            elif route == "/changes":
                self._changes(parse_qs(url.query).get("since", ["0"])[0])
            elif route == "/assets/cards.css":
                self._send(session.stylesheet().encode(), "text/css; charset=utf-8")
            elif route.startswith("/assets/") and route[8:] in preview.SERVED:
                kind = "text/css" if route.endswith(".css") else "text/javascript"
                self._send(preview.asset(route[8:]).encode(), f"{kind}; charset=utf-8")
            elif route.startswith("/media/") and (found := session.picture(route[7:])):
                self._file(found)
            else:
                self.send_error(HTTPStatus.NOT_FOUND)

        def _changes(self, since: str) -> None:
            version = int(since) if since.isdigit() and len(since) < 12 else 0
            if not waiting.acquire(blocking=False):
                self.send_error(HTTPStatus.SERVICE_UNAVAILABLE, "too many pages waiting")
                return
            try:
                session.wait(version, WAIT)
            finally:
                waiting.release()
            self._send(json.dumps(session.since(version)).encode(), "application/json")

        def _file(self, path: Path) -> None:
            try:
                data = path.read_bytes()
            except OSError:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            kind = "image/svg+xml" if path.suffix == ".svg" else "application/octet-stream"
            # A picture opened on its own (an SVG is a document then) runs no script.
            self._send(data, kind, "sandbox")

        def _send(self, data: bytes, kind: str, policy: str = "") -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            if policy:
                self.send_header("Content-Security-Policy", policy)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            with contextlib.suppress(OSError):  # the page went away meanwhile
                self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="deckgen-serve", daemon=True).start()
    return server


def watch(
    notes_dir: Path,
    port: int,
    report: Callable[[list[Diagnostic], int, bool], None],
    started: Callable[[str], None],
    stop: threading.Event | None = None,
) -> None:
    """Serve the preview of `notes_dir` and keep it up to date until `stop` is set (or
    Ctrl-C). `report`: each rebuild's problems, the notes rendered anew, and whether it
    was the first; `started`: the page's address, once it is served."""
    stop = stop or threading.Event()
    session = Session(notes_dir)
    server = None
    try:
        # The folder as it was before the first build: what changes from then on, while
        # it is built and served too, is built again.
        last = snapshot(notes_dir)
        problems, count = session.rebuild()
        report(problems, count, True)
        server = serve(session, port)
        started(f"http://127.0.0.1:{server.server_address[1]}/")
        while not stop.wait(POLL):
            now = snapshot(notes_dir)
            if now == last:
                continue
            last = now
            if isinstance(now, str):  # the folder is gone: said once, until it is back
                session._publish(Change(session.version + 1, errors=[now]))
                report([Diagnostic(str(notes_dir), START, "unreadable", now)], 0, False)
                continue
            problems, count = session.rebuild()
            report(problems, count, False)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        session.close()
