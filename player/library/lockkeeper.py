"""A second process that holds the library DB's shared lock for as long as the app runs.

Why: SQLite's locks are POSIX advisory locks, and on POSIX closing *any* descriptor of a
file drops every lock the process holds on it. Should anything in the app's process ever
open and close the DB's files (a file dialog's icon lookup did, see player/ui/filedialogs.py),
the app's connections would silently lose their locks; the next ``segue`` command to close
its connection would then see no other user, checkpoint, and delete the ``-wal`` and
``-shm`` files under the running app, losing what the app writes afterwards.

This keeper is a separate process, so no close in the app can drop *its* locks: an idle
WAL connection keeps a shared lock on the DB, and while it does no other process can take
the exclusive lock that deleting the WAL needs. It holds no read transaction, so
checkpoints go on as usual. It reads nothing but SQLite and its stdin, and exits when the
app closes that pipe (or dies).

Run as ``python -m player.library.lockkeeper DB`` (the frozen build allows this module).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

READY = "ready"


def hold(db_path: str) -> int:
    """The keeper process: open, read once (taking the shared lock), wait for EOF."""
    if not os.path.isfile(db_path):
        return 1
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=30.0)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        sys.stdout.write(READY + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # returns when the app closes the pipe or exits
    finally:
        conn.close()
    return 0


class LockKeeper:
    """The app's handle on its keeper process."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    @classmethod
    def start(cls, db_path: str | Path) -> LockKeeper | None:
        """Start a keeper for ``db_path``; None when it cannot run (the app goes on)."""
        if str(db_path) == ":memory:" or not Path(db_path).is_file():
            return None
        # The keeper runs from the package's folder, so a relative path (segue --db
        # lib.db) must be made absolute here, against the app's own working directory.
        absolute = os.path.abspath(db_path)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "player.library.lockkeeper", absolute],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                cwd=str(Path(__file__).resolve().parent.parent.parent),
            )
        except OSError:
            return None
        keeper = cls(proc)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != READY:  # holds the lock once this returns
            keeper.stop()
            return None
        return keeper

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


if __name__ == "__main__":
    sys.exit(hold(sys.argv[1]))
