"""Background work for the GUI, in the Picard style: ``run_task(fn, on_done)``.

``fn`` runs on a worker thread of a QThreadPool; its result (or exception) comes back to
``on_done`` on the GUI thread through a queued signal. Tests use :class:`SyncPool`, which
runs the task at once on the calling thread, so they need no waiting.

A :class:`~player.library.Database` connection belongs to one thread: tasks that read
the library call :func:`thread_db`, which keeps one connection per worker thread.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from player.library.db import Database

_local = threading.local()


def thread_db(path: str | Path) -> Database:
    """This thread's connection to the library at ``path`` (opened on first use)."""
    cache: dict[str, Database] | None = getattr(_local, "dbs", None)
    if cache is None:
        cache = _local.dbs = {}
    key = str(path)
    db = cache.get(key)
    if db is None:
        db = cache[key] = Database(path, migrate=False)
    return db


class _Relay(QObject):
    finished = Signal(object, object, object)  # callback, result, error

    @Slot(object, object, object)
    def deliver(self, callback: Any, result: Any, error: Any) -> None:
        if callback is None:
            if error is not None:
                _report(error)
        elif getattr(callback, "_wants_error", False):
            callback(result, error)
        elif error is None:
            callback(result)
        else:
            _report(error)


def _report(error: BaseException) -> None:
    traceback.print_exception(type(error), error, error.__traceback__)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay, on_done: Any) -> None:
        super().__init__()
        self.fn, self.relay, self.on_done = fn, relay, on_done

    def run(self) -> None:
        try:
            result, error = self.fn(), None
        except BaseException as exc:  # reported on the GUI thread
            result, error = None, exc
        self.relay.finished.emit(self.on_done, result, error)


def with_error(callback: Callable[[Any, BaseException | None], None]) -> Any:
    """Mark ``callback`` as taking ``(result, error)`` instead of ``result`` alone."""
    callback._wants_error = True  # type: ignore[attr-defined]
    return callback


class TaskPool(QObject):
    """Runs short tasks (queries, cover thumbnails) on a few worker threads."""

    def __init__(self, threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.pool.setExpiryTimeout(-1)  # threads keep their DB connections
        self.relay = _Relay()
        self.relay.finished.connect(self.relay.deliver)  # queued: emitted on workers

    def run_task(self, fn: Callable[[], Any], on_done: Any = None) -> None:
        self.pool.start(_Runnable(fn, self.relay, on_done))

    def wait(self, ms: int = 5000) -> bool:
        return self.pool.waitForDone(ms)


class SyncPool:
    """The tests' pool: runs each task at once, on the calling thread."""

    def run_task(self, fn: Callable[[], Any], on_done: Any = None) -> None:
        try:
            result, error = fn(), None
        except Exception as exc:
            result, error = None, exc
        _Relay().deliver(on_done, result, error)

    def wait(self, ms: int = 0) -> bool:
        return True
