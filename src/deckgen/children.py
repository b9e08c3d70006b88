"""The processes a build starts end with it: on Ctrl-C, and even when it is killed. And
work run in a thread beside the caller's, its error raised again in the caller's.

Ctrl-C reaches every process of the terminal's group; the build itself stops its
children then, so they leave it to the build rather than each print a traceback.
A child forked from a build waits on pipes that its siblings, forked from the same
build, also hold open: if the build is killed, no end-of-file ever comes, and the child
would wait forever. So each child watches its parent instead.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable


def follow_parent() -> None:
    """In a child process: leave Ctrl-C to the parent, and exit as soon as the parent
    is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.name != "posix":  # no fork there: a child's pipes close with its parent
        return
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:  # an orphan is adopted by another process
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="deckgen-parent-watch", daemon=True).start()


class Alongside(threading.Thread):
    """A function run in a thread of its own; what it raises, raised again once joined."""

    def __init__(self, function: Callable[..., object], *args: object) -> None:
        super().__init__(name="deckgen-alongside", daemon=True)
        self.function, self.args = function, args
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.function(*self.args)
        except BaseException as error:  # raised by `result`, in the thread that asks
            self.error = error

    def result(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error
