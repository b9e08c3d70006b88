"""Writing files so that a reader, or a build killed at any moment, never sees half a file,
and what a killed build leaves behind is cleared by the next one."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_PREFIX = "deckgen-"


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to `path` in one step: readers see the old file or the new, whole.
    `durable=False` skips waiting for the disk, for files that only save time (a cache
    whose damaged entries are ignored)."""
    with replacing(path, durable=durable) as partial:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


@contextlib.contextmanager
def replacing(path: Path, *, durable: bool = True) -> Iterator[Path]:
    """A hidden path beside `path` to write the new file at; once the block ends, the
    new file replaces `path` in one step, and if the block fails, it is removed.

    A build killed in the middle leaves the hidden file, which the next write to `path`
    removes (it carries the dead process's id).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.partial"):
        pid = stale.name[len(path.name) + 2 : -len(".partial")]
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield partial
        if durable:
            fd = os.open(partial, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


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
