"""The processes a build starts end with it, even when it is killed.

A child forked from a build waits on pipes that its siblings, forked from the same
build, also hold open: if the build is killed, no end-of-file ever comes, and the child
would wait forever. So each child watches its parent instead.
"""

from __future__ import annotations

import os
import threading
import time


def end_with_parent() -> None:
    """In a child process: exit as soon as the process that started it is gone."""
    if os.name != "posix":  # no fork there: a child's pipes close with its parent
        return
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:  # an orphan is adopted by another process
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="deckgen-parent-watch", daemon=True).start()
