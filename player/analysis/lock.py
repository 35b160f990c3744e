"""One analysis at a time per library, across processes (the app's background analysis and
``segue analyze`` would otherwise analyse the same backlog twice, on double the CPU).

An advisory lock on a file of its own beside the DB (``library.db.analysis.lock``), never
on the DB's own files: closing any descriptor of those would drop SQLite's POSIX locks
(see player/config.py). The lock goes with the process, so a crashed analysis never
leaves it held.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from player.errors import SegueError

BUSY = "analysis is already running in another Segue process"


def lock_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.analysis.lock")


@contextlib.contextmanager
def analysis_lock(
    db_path: str | Path, *, wait: bool = False, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the library's analysis lock for the block. ``wait``: until the other
    analysis ends (the app's background run; ``on_wait`` is told once, before it starts
    waiting, so the app can say why nothing moves); else a one-line SegueError (the CLI)."""
    if str(db_path) == ":memory:":
        yield
        return
    try:
        handle = open(lock_path(db_path), "a+b")  # noqa: SIM115 (held for the block)
    except OSError:
        yield  # a read-only folder: nothing to coordinate through, analyse anyway
        return
    try:
        try:
            _acquire(handle, wait=False)
        except SegueError:
            if not wait:
                raise
            if on_wait is not None:
                on_wait()
            _acquire(handle, wait=True)
        yield
    finally:
        handle.close()  # releases the lock


def _acquire(handle: IO[bytes], wait: bool) -> None:
    if sys.platform == "win32":
        import msvcrt

        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if not wait:
                    raise SegueError(BUSY) from None
                time.sleep(1.0)
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        raise SegueError(BUSY) from None
