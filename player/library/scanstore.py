"""The SQL the scanner needs: what is known about each path, and batched writes."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from player.library.db import Database
from player.library.paths import from_db, stored_prefixes, to_db

# Tag columns written from a TrackRecord's ``tags`` dict, in a fixed order.
TAG_COLUMNS: tuple[str, ...] = (
    "title",
    "artist",
    "album",
    "albumartist",
    "genre",
    "year",
    "track_number",
    "track_total",
    "disc_number",
    "disc_total",
    "composer",
    "comment",
    "lyrics",
    "rg_track_gain",
    "rg_track_peak",
    "rg_album_gain",
    "rg_album_peak",
    "mb_track_id",
    "mb_album_id",
    "mb_artist_id",
    "mb_albumartist_id",
    "has_cover",
    "tag_playcount",
    "tag_rating",
)
FILE_COLUMNS: tuple[str, ...] = (
    "root_id",
    "size",
    "mtime",
    "fingerprint",
    "format",
    "codec",
    "duration",
    "bitrate",
    "sample_rate",
    "channels",
    "has_audio",
)
WRITE_COLUMNS = FILE_COLUMNS + TAG_COLUMNS


@dataclass(frozen=True)
class Root:
    id: int
    path: str


@dataclass(frozen=True)
class KnownTrack:
    id: int
    size: int
    mtime: float
    fingerprint: str
    missing: bool
    root_id: int | None


@dataclass(frozen=True)
class Candidate:
    """A track that may be where a new file came from."""

    id: int
    path: str
    missing: bool
    root_id: int | None


@dataclass(frozen=True)
class KnownError:
    size: int | None
    mtime: float | None


@dataclass(frozen=True)
class ScanError:
    path: str
    kind: str
    message: str
    size: int | None = None
    mtime: float | None = None


class ScanStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- roots ------------------------------------------------------------------------

    def add_roots(self, paths: Iterable[str]) -> None:
        now = time.time()
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO library_roots (path, added_at) VALUES (?, ?)",
                [(to_db(p), now) for p in paths],
            )

    def unremove(self, track_ids: Sequence[int]) -> None:
        """Undo "remove from library" for tracks the user explicitly opened again."""
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE tracks SET removed = 0 WHERE id = ? AND removed = 1",
                [(tid,) for tid in track_ids],
            )

    def unremove_under(self, folders: Iterable[str]) -> None:
        """Undo "remove from library" for every track under folders the user explicitly
        added (or scanned by name) again."""
        with self.db.transaction() as conn:
            for folder in folders:
                for prefix in stored_prefixes(folder):
                    conn.execute(
                        "UPDATE tracks SET removed = 0 "
                        "WHERE removed = 1 AND substr(path, 1, ?) = ?",
                        (len(prefix), prefix),
                    )

    def roots(self) -> list[Root]:
        rows = self.db.query("SELECT id, path FROM library_roots ORDER BY path")
        return [Root(r["id"], from_db(r["path"])) for r in rows]

    def mark_root(self, root_id: int, *, online: bool) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE library_roots SET online = ?, last_scan_at = "
                "CASE WHEN ? THEN ? ELSE last_scan_at END WHERE id = ?",
                (int(online), int(online), time.time(), root_id),
            )

    # -- what is known ----------------------------------------------------------------

    def known_under(self, folders: Sequence[str]) -> dict[str, KnownTrack]:
        """Every track whose path lies under one of ``folders``, whatever root it is filed
        under (a music folder added inside another is scanned as part of it)."""
        # Each folder is a range of paths ("<folder>/" up to "<folder>0"), in both stored
        # forms. One pass over the table: the walked folders usually hold most of it, and
        # the path index would cost a table look-up per row on top.
        ranges = [
            (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1))
            for folder in folders
            for prefix in stored_prefixes(folder)
        ]
        if not ranges:
            return {}
        where = " OR ".join("(path >= ? AND path < ?)" for _ in ranges)
        rows = self.db.conn.execute(
            "SELECT id, path, size, mtime, fingerprint, missing, root_id FROM tracks "
            f"NOT INDEXED WHERE {where}",
            [bound for pair in ranges for bound in pair],
        )
        return {
            from_db(path): KnownTrack(tid, size, mtime, fp, bool(missing), root_id)
            for tid, path, size, mtime, fp, missing, root_id in rows
        }

    def known_track_by_path(self, paths: Sequence[str]) -> dict[str, KnownTrack]:
        """Tracks at these paths whatever their root (a path may move between roots)."""
        found: dict[str, KnownTrack] = {}
        for start in range(0, len(paths), 500):
            chunk = [to_db(p) for p in paths[start : start + 500]]
            marks = ",".join("?" * len(chunk))
            for tid, path, size, mtime, fp, missing, root_id in self.db.conn.execute(
                "SELECT id, path, size, mtime, fingerprint, missing, root_id FROM tracks "
                f"WHERE path IN ({marks})",
                chunk,
            ):
                found[from_db(path)] = KnownTrack(tid, size, mtime, fp, bool(missing), root_id)
        return found

    def known_errors(self) -> dict[str, KnownError]:
        rows = self.db.conn.execute("SELECT path, size, mtime FROM scan_errors")
        return {from_db(p): KnownError(size, mtime) for p, size, mtime in rows}

    def missing_by_fingerprint(self) -> dict[str, list[int]]:
        """Tracks already marked missing, by fingerprint: candidates for a move."""
        found: dict[str, list[int]] = {}
        for tid, fp in self.db.conn.execute(
            "SELECT id, fingerprint FROM tracks WHERE missing = 1 ORDER BY id"
        ):
            found.setdefault(fp, []).append(tid)
        return found

    def by_fingerprint(self, fingerprints: Sequence[str]) -> dict[str, list[Candidate]]:
        """Every track with one of these fingerprints (oldest first): where a file that is
        new at its path may have come from."""
        found: dict[str, list[Candidate]] = {}
        unique = sorted(set(fingerprints))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for tid, path, fp, missing, root_id in self.db.conn.execute(
                "SELECT id, path, fingerprint, missing, root_id FROM tracks "
                f"WHERE fingerprint IN ({marks}) ORDER BY id",
                chunk,
            ):
                found.setdefault(fp, []).append(
                    Candidate(tid, from_db(path), bool(missing), root_id)
                )
        return found

    def missing_twins(self) -> list[tuple[Candidate, int]]:
        """Pairs (a missing track, the one present track with its fingerprint) where the
        fingerprint belongs to those two tracks only, neither was removed from the
        library and the present one has no listening history: a file moved where an
        older scan did not look for it, added again as a new track."""
        rows = self.db.conn.execute(
            "SELECT m.id, m.path, m.root_id, p.id FROM tracks m "
            "JOIN tracks p ON p.fingerprint = m.fingerprint AND p.id != m.id "
            "WHERE m.missing = 1 AND m.removed = 0 AND p.missing = 0 AND p.removed = 0 "
            "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.track_id = p.id) "
            "AND (SELECT COUNT(*) FROM tracks t WHERE t.fingerprint = m.fingerprint) = 2 "
            "ORDER BY m.id"
        )
        return [
            (Candidate(old, from_db(path), True, root_id), new) for old, path, root_id, new in rows
        ]

    def join_twin(self, old_id: int, new_id: int) -> bool:
        """Give the missing track ``old_id`` the file, values, playlist entries and (where
        it has none) analysis of the history-less track ``new_id``, then delete that one:
        one track again, with the history. False (nothing changed) if the pair no longer
        qualifies."""
        cols = ", ".join(WRITE_COLUMNS)
        sets = ", ".join(f"{c} = ?" for c in WRITE_COLUMNS)
        with self.db.transaction() as conn:
            row = conn.execute(
                f"SELECT path, {cols} FROM tracks WHERE id = ? AND missing = 0 AND removed = 0 "
                "AND NOT EXISTS (SELECT 1 FROM events WHERE track_id = ?)",
                (new_id, new_id),
            ).fetchone()
            old = conn.execute(
                "SELECT 1 FROM tracks WHERE id = ? AND missing = 1", (old_id,)
            ).fetchone()
            if row is None or old is None:
                return False
            conn.execute(
                "UPDATE playlist_entries SET track_id = ? WHERE track_id = ?", (old_id, new_id)
            )
            for table in ("track_features", "analysis_failures"):
                conn.execute(
                    f"UPDATE OR IGNORE {table} SET track_id = ? WHERE track_id = ?",
                    (old_id, new_id),
                )
            conn.execute("DELETE FROM tracks WHERE id = ?", (new_id,))
            conn.execute(
                f"UPDATE tracks SET path = ?, {sets}, updated_at = ?, missing = 0, "
                "missing_since = NULL WHERE id = ?",
                (*tuple(row), time.time(), old_id),
            )
        return True

    # -- writes -----------------------------------------------------------------------

    def write_batch(
        self,
        *,
        inserts: Sequence[tuple[str, dict[str, Any]]] = (),
        updates: Sequence[tuple[int, str, dict[str, Any]]] = (),
        errors: Sequence[ScanError] = (),
        clear_errors: Sequence[str] = (),
        mark_missing: Sequence[int] = (),
        restore: Sequence[int] = (),
    ) -> None:
        """One transaction: new tracks, changed or moved tracks (id, new path, values),
        error rows to record or clear, tracks now missing or back again."""
        now = time.time()
        cols = ", ".join(WRITE_COLUMNS)
        marks = ", ".join("?" * len(WRITE_COLUMNS))
        sets = ", ".join(f"{c} = ?" for c in WRITE_COLUMNS)
        with self.db.transaction() as conn:
            if inserts:
                # ON CONFLICT: another scan (the app's and a cron job's at once) added the
                # same new file since this one read the library; the row is refreshed.
                conn.executemany(
                    f"INSERT INTO tracks (path, {cols}, added_at, updated_at) "
                    f"VALUES (?, {marks}, ?, ?) ON CONFLICT(path) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in WRITE_COLUMNS)
                    + ", updated_at = excluded.updated_at",
                    [
                        (to_db(path), *(values.get(c) for c in WRITE_COLUMNS), now, now)
                        for path, values in inserts
                    ],
                )
            if updates:
                conn.executemany(
                    f"UPDATE tracks SET path = ?, {sets}, updated_at = ?, missing = 0, "
                    "missing_since = NULL WHERE id = ?",
                    [
                        (to_db(path), *(values.get(c) for c in WRITE_COLUMNS), now, tid)
                        for tid, path, values in updates
                    ],
                )
            if clear_errors:
                conn.executemany(
                    "DELETE FROM scan_errors WHERE path = ?", [(to_db(p),) for p in clear_errors]
                )
            if errors:
                conn.executemany(
                    "INSERT INTO scan_errors (path, kind, message, time, size, mtime) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
                    "kind = excluded.kind, message = excluded.message, time = excluded.time, "
                    "size = excluded.size, mtime = excluded.mtime",
                    [(to_db(e.path), e.kind, e.message, now, e.size, e.mtime) for e in errors],
                )
            if mark_missing:
                conn.executemany(
                    "UPDATE tracks SET missing = 1, missing_since = ? WHERE id = ? AND missing = 0",
                    [(now, tid) for tid in mark_missing],
                )
            if restore:
                conn.executemany(
                    "UPDATE tracks SET missing = 0, missing_since = NULL WHERE id = ?",
                    [(tid,) for tid in restore],
                )
