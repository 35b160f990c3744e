"""The listening log: append-only events, and the user's privacy controls over it.

Kinds written by Segue: ``play`` (a listen that ended; ``position_ms`` says how far),
``skip`` and ``stop`` (at ``position_ms``), ``fail`` (the file would not play), and the
user's verdicts ``like``, ``unlike``, ``dislike`` (a ban from automatic picks) and
``undislike``. Each event is committed on its own, at once, so a crash loses at most the
track that was playing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from player.errors import SegueError
from player.library.db import Database
from player.library.paths import from_db

KINDS = frozenset({"play", "skip", "stop", "fail", "like", "unlike", "dislike", "undislike"})


@dataclass(frozen=True)
class NewEvent:
    track_id: int
    kind: str
    ts: float | None = None
    position_ms: int | None = None
    duration_ms: int | None = None
    session_id: str | None = None
    source: str | None = None


def _insert(conn: sqlite3.Connection, event: NewEvent) -> int:
    if event.kind not in KINDS:
        raise SegueError(f"unknown event kind {event.kind!r}")
    cur = conn.execute(
        "INSERT INTO events (ts, track_id, kind, position_ms, duration_ms, session_id, source)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            event.ts if event.ts is not None else time.time(),
            event.track_id,
            event.kind,
            event.position_ms,
            event.duration_ms,
            event.session_id,
            event.source,
        ),
    )
    return int(cur.lastrowid or 0)


def append(db: Database, event: NewEvent) -> int:
    """Record one event and commit it. Returns its id."""
    with db.transaction() as conn:
        return _insert(conn, event)


IMPORT_CHUNK = 2000  # events per transaction of a history import


def append_new(db: Database, events: Sequence[NewEvent], *, chunk: int = IMPORT_CHUNK) -> int:
    """Record the events that are not logged yet (history import); return how many.

    An event identical in time, track, kind and source to one already logged (or to an
    earlier one of ``events``) is left out, so importing the same file twice, or again
    after an interrupted import, adds nothing twice. The events go in oldest first, a few
    thousand per transaction: each holds the write lock for a moment (the look-up is one
    range of the ``events_ts`` index and a set), so the app keeps logging listens while a
    big history is imported."""
    for event in events:
        if event.kind not in KINDS:
            raise SegueError(f"unknown event kind {event.kind!r}")
    now = time.time()
    pending = sorted(events, key=lambda e: now if e.ts is None else e.ts)
    added = 0
    for start in range(0, len(pending), chunk):
        part = pending[start : start + chunk]
        rows = [
            (
                now if e.ts is None else float(e.ts),
                e.track_id,
                e.kind,
                e.position_ms,
                e.duration_ms,
                e.session_id,
                e.source,
            )
            for e in part
        ]
        with db.transaction() as conn:
            logged = set(
                map(
                    tuple,
                    conn.execute(
                        "SELECT ts, track_id, kind, source FROM events INDEXED BY events_ts "
                        "WHERE ts BETWEEN ? AND ?",
                        (rows[0][0], rows[-1][0]),
                    ),
                )
            )
            new = []
            for row in rows:
                key = (row[0], row[1], row[2], row[6])
                if key not in logged:
                    logged.add(key)
                    new.append(row)
            conn.executemany(
                "INSERT INTO events (ts, track_id, kind, position_ms, duration_ms, session_id,"
                " source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                new,
            )
        added += len(new)
    return added


def forget(db: Database, event_id: int, logged: NewEvent | None = None) -> bool:
    """ "Forget this play": the one privacy-driven exception to append-only. ``logged``:
    the event as it was written; only that row goes (ids are reused after a wipe, so the
    id alone may by now be another program's event)."""
    with db.transaction() as conn:
        if logged is None:
            return conn.execute("DELETE FROM events WHERE id = ?", (event_id,)).rowcount > 0
        return (
            conn.execute(
                "DELETE FROM events WHERE id = ? AND ts = ? AND track_id = ? AND kind = ?",
                (event_id, logged.ts, logged.track_id, logged.kind),
            ).rowcount
            > 0
        )


def forget_last_listen(db: Database, track_id: int) -> bool:
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT id FROM events WHERE track_id = ? AND kind IN ('play', 'skip', 'stop') "
            "ORDER BY ts DESC, id DESC LIMIT 1",
            (track_id,),
        ).fetchone()
        if row is None:
            return False
        conn.execute("DELETE FROM events WHERE id = ?", (row[0],))
        return True


def wipe(db: Database) -> int:
    with db.transaction() as conn:
        return conn.execute("DELETE FROM events").rowcount


def last_listened_track(db: Database) -> int | None:
    """The track of the latest listen (played, skipped or stopped), if any."""
    value = db.scalar(
        "SELECT track_id FROM events WHERE kind IN ('play', 'skip', 'stop') "
        "ORDER BY ts DESC, id DESC LIMIT 1"
    )
    return None if value is None else int(value)


def count(db: Database) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM events"))


def stamp(db: Database) -> tuple[int, int]:
    """(events, highest id): changes whenever an event is added or deleted."""
    row = db.conn.execute("SELECT count(*), coalesce(max(id), 0) FROM events").fetchone()
    return int(row[0]), int(row[1])


def earliest(db: Database) -> tuple[int, float] | None:
    """(id, time) of the log's first event: a wipe deletes it whatever is logged after."""
    row = db.conn.execute("SELECT id, ts FROM events ORDER BY id LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), float(row[1]))


def holds(db: Database, event: tuple[int, float]) -> bool:
    """Whether the event (id, time) is still logged (ids alone are reused after a wipe)."""
    return (
        db.conn.execute("SELECT 1 FROM events WHERE id = ? AND ts = ?", event).fetchone()
        is not None
    )


def next_after(db: Database, event_id: int) -> tuple[int, float] | None:
    """(id, time) of the first event logged after ``event_id``."""
    row = db.conn.execute(
        "SELECT id, ts FROM events WHERE id > ? ORDER BY id LIMIT 1", (event_id,)
    ).fetchone()
    return None if row is None else (int(row[0]), float(row[1]))


def highest_below(db: Database, event_id: int) -> int:
    return int(db.scalar("SELECT coalesce(max(id), 0) FROM events WHERE id < ?", (event_id,)))


def data_version(db: Database) -> int:
    """SQLite's ``PRAGMA data_version``: moves when ANOTHER connection commits."""
    return int(db.conn.execute("PRAGMA data_version").fetchone()[0])


def export(db: Database) -> Iterator[dict[str, Any]]:
    """Every event with its track's path and tags, oldest first, for `history export`."""
    cursor = db.conn.execute(
        "SELECT e.id, e.ts, e.kind, e.position_ms, e.duration_ms, e.session_id, e.source, "
        "t.id AS track_id, t.path, t.title, t.artist, t.album, t.mb_track_id "
        "FROM events e LEFT JOIN tracks t ON t.id = e.track_id ORDER BY e.ts, e.id"
    )
    columns = [c[0] for c in cursor.description]
    for row in cursor:
        item = dict(zip(columns, row, strict=True))
        if item["path"] is not None:
            item["path"] = from_db(item["path"])
        yield item


def verdicts(db: Database) -> dict[str, set[int]]:
    """The user's current likes and dislikes. The latest verdict per track wins, and like
    and dislike exclude each other: liking a banned track lifts the ban."""
    liked: dict[int, bool] = {}
    disliked: dict[int, bool] = {}
    for track_id, kind in db.conn.execute(
        "SELECT track_id, kind FROM events WHERE kind IN "
        "('like', 'unlike', 'dislike', 'undislike') ORDER BY ts, id"
    ):
        if kind == "like":
            liked[track_id], disliked[track_id] = True, False
        elif kind == "dislike":
            liked[track_id], disliked[track_id] = False, True
        elif kind == "unlike":
            liked[track_id] = False
        else:
            disliked[track_id] = False
    return {
        "like": {t for t, on in liked.items() if on},
        "dislike": {t for t, on in disliked.items() if on},
    }


@dataclass(frozen=True)
class LoggedEvent:
    id: int
    ts: float
    track_id: int
    kind: str
    position_ms: int | None
    duration_ms: int | None
    session_id: str | None


def all_events(db: Database, since: float | None = None) -> list[LoggedEvent]:
    rows = db.conn.execute(
        "SELECT id, ts, track_id, kind, position_ms, duration_ms, session_id FROM events "
        "WHERE track_id IS NOT NULL AND ts >= ? ORDER BY ts, id",
        (since if since is not None else float("-inf"),),
    )
    return [LoggedEvent(*row) for row in rows]
