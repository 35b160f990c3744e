"""Connection, transactions and migrations for the library DB.

SQLite via sqlite-utils, in WAL mode with a busy timeout and foreign keys on. Every write
goes through :meth:`Database.transaction`, which takes the write lock up front
(``BEGIN IMMEDIATE``) so a concurrent writer waits for the busy timeout instead of
failing half-way through.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from player.errors import DatabaseError, WriteRefusedError
from player.library.migrations import LATEST_VERSION, MIGRATIONS

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_S = 5.0
BACKUPS_KEPT = 3


def describe_error(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return "it is locked by another program (is another Segue scanning?)"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return "it is damaged or not a Segue library"
    if "readonly" in text or "read-only" in text:
        return "it is read-only"
    if "disk is full" in text or "disk full" in text:
        return "the disk is full"
    if "disk I/O error" in text:
        return "the disk reported an I/O error"
    if "unable to open" in text:
        return "it cannot be opened (check the folder exists and is writable)"
    return text


def _megabytes(size: int) -> str:
    return f"{max(1, -(-size // 1_000_000))} MB"


def _foreign(conn: sqlite3.Connection) -> bool:
    """True for another program's SQLite DB: something in it, but no schema_migrations
    (every Segue library records its migrations from its first one on). Only reads."""
    names = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
    }
    return bool(names) and "schema_migrations" not in names


class Database:
    """One open library DB. Not shared between threads: open one per thread."""

    def __init__(
        self, path: Path | str, *, migrate: bool = True, busy_timeout: float = BUSY_TIMEOUT_S
    ) -> None:
        self.path = Path(path)
        try:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"cannot create the library folder {self.path.parent}: {exc.strerror}"
            ) from None
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, see transaction().
            self.conn = sqlite3.connect(
                str(self.path),
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            self.conn.row_factory = sqlite3.Row
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            if str(self.path) != ":memory:" and _foreign(self.conn):
                self.conn.close()
                raise DatabaseError(f"{self.path} is not a Segue library; it was left untouched")
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(self.path) != ":memory:" and mode.lower() != "wal":
                raise DatabaseError(f"cannot use library DB {self.path}: WAL mode unavailable")
            self.conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"cannot open library DB {self.path}: {describe_error(exc)}"
            ) from None
        self._busy_ms = int(busy_timeout * 1000)
        self._depth = 0
        self._lock = threading.RLock()
        if migrate:
            self.migrate()

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils' view of the same connection, for table introspection and queries.

        Built on first use: importing sqlite-utils pulls in numpy, which the hot CLI paths
        (``segue scan`` of an unchanged library) do not need.
        """
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    # -- transactions ---------------------------------------------------------------

    @contextmanager
    def waiting_at_most(self, seconds: float | None) -> Iterator[None]:
        """Writes in here wait at most ``seconds`` for another writer's lock (None: the
        connection's own busy timeout), e.g. a retry that must not hold its thread up."""
        if seconds is None:
            yield
            return
        with self._lock:
            self.conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
            try:
                yield
            finally:
                self.conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes happen in here. Nested calls become savepoints."""
        with self._lock:
            depth = self._depth
            try:
                if depth == 0:
                    self.conn.execute("BEGIN IMMEDIATE")
                else:
                    self.conn.execute(f"SAVEPOINT sp{depth}")
            except sqlite3.Error as exc:
                raise DatabaseError(
                    f"cannot write to library DB {self.path}: {describe_error(exc)}"
                ) from None
            self._depth += 1
            try:
                yield self.conn
            except BaseException as exc:
                self._depth -= 1
                try:
                    if depth == 0:
                        self.conn.execute("ROLLBACK")
                    else:
                        self.conn.execute(f"ROLLBACK TO sp{depth}")
                        self.conn.execute(f"RELEASE sp{depth}")
                except sqlite3.Error:
                    pass  # SQLite rolled back already (a full disk, an I/O error)
                if isinstance(exc, sqlite3.Error):  # one line for the user, not a traceback
                    refused = isinstance(exc, sqlite3.IntegrityError)
                    raise (WriteRefusedError if refused else DatabaseError)(
                        f"cannot write to library DB {self.path}: {describe_error(exc)}"
                    ) from exc
                raise
            self._depth -= 1
            try:
                if depth == 0:
                    self.conn.execute("COMMIT")
                else:
                    self.conn.execute(f"RELEASE sp{depth}")
            except sqlite3.Error as exc:
                if depth == 0 and self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise DatabaseError(
                    f"cannot write to library DB {self.path}: {describe_error(exc)}"
                ) from None

    # -- reads ----------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "no such" in str(exc):
                raise
            raise DatabaseError(
                f"cannot read library DB {self.path}: {describe_error(exc)}"
            ) from None

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    # -- schema ---------------------------------------------------------------------

    def schema_version(self) -> int:
        try:
            has_table = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
            ).fetchone()
            if not has_table:
                return 0
            return int(
                self.conn.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
                ).fetchone()[0]
            )
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(
                f"cannot open library DB {self.path}: {describe_error(exc)}"
            ) from None

    def migrate(self, target: int = LATEST_VERSION) -> int:
        """Apply pending numbered migrations; return the resulting version."""
        current = self.schema_version()
        if current > LATEST_VERSION:
            raise DatabaseError(
                f"library DB {self.path} was written by a newer Segue (schema {current}, "
                f"this version knows {LATEST_VERSION}); it was left untouched"
            )
        pending = [m for m in MIGRATIONS if current < m.version <= target]
        if not pending:
            return current
        if current > 0:
            self.backup(f"v{current}")
        with self.transaction() as conn:
            # Read again under the write lock: another process (the app and a CLI command
            # opening an older DB at once) may have applied these migrations since the
            # read above, and applying them twice fails ("duplicate column").
            current = self.schema_version()
            pending = [m for m in pending if m.version > current]
            if not pending:
                return current
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            for migration in pending:
                for statement in migration.statements:
                    conn.execute(statement)
                if migration.data is not None:
                    migration.data(conn)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, time.time()),
                )
        return pending[-1].version

    def backup(self, label: str) -> Path | None:
        """Copy the DB aside before a migration changes it; keep the newest few copies."""
        if str(self.path) == ":memory:" or not self.path.exists():
            return None
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")  # sorts chronologically
        target = self.path.with_name(f"{self.path.name}.backup-{stamp}-{label}")
        try:
            dest = sqlite3.connect(str(target))
            try:
                self.conn.backup(dest)
            finally:
                dest.close()
        except (sqlite3.Error, OSError) as exc:
            # A full disk: no partial copy is left behind, and no upgrade without a backup.
            for partial in (target, target.with_name(f"{target.name}-journal")):
                partial.unlink(missing_ok=True)
            reason = describe_error(exc) if isinstance(exc, sqlite3.Error) else exc.strerror
            raise DatabaseError(
                f"cannot upgrade library DB {self.path}: its backup could not be written "
                f"({reason}); free at least {_megabytes(self._size())} in {self.path.parent} "
                "and start again (the library was left untouched)"
            ) from None
        backups = sorted(self.path.parent.glob(f"{self.path.name}.backup-*"))
        for old in backups[:-BACKUPS_KEPT]:
            old.unlink(missing_ok=True)
        return target

    def _size(self) -> int:
        """Bytes a full copy of the DB takes (its pages, the WAL's included)."""
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(page_size)

    def integrity_ok(self) -> bool:
        return bool(self.scalar("PRAGMA integrity_check") == "ok")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_library(path: Path | str | None = None) -> Database:
    """Open (creating and migrating as needed) the library DB at ``path`` or the default."""
    from player.config import default_db_path

    return Database(path if path is not None else default_db_path())
