"""The library DB: migrations, transactions, append-only history, damaged and locked DBs."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from player.errors import DatabaseError
from player.library.db import Database, open_library
from player.library.migrations import LATEST_VERSION, MIGRATIONS


def _add_track(conn: sqlite3.Connection, path: str = "/music/a.mp3") -> int:
    now = time.time()
    cur = conn.execute(
        "INSERT INTO tracks (path, size, mtime, fingerprint, title, added_at, updated_at) "
        "VALUES (?, 1, 1.0, 'fp', 'A', ?, ?)",
        (path, now, now),
    )
    return int(cur.lastrowid or 0)


def test_new_db_is_at_latest_version_with_wal_and_foreign_keys(db_path: Path) -> None:
    with open_library(db_path) as db:
        assert db.schema_version() == LATEST_VERSION
        assert db.scalar("PRAGMA journal_mode") == "wal"
        assert db.scalar("PRAGMA foreign_keys") == 1
        recorded = [r["version"] for r in db.query("SELECT version FROM schema_migrations")]
        assert recorded == [m.version for m in MIGRATIONS]
        for table in ("tracks", "scan_errors", "library_roots", "events"):
            assert db.db[table].exists()


def test_version_1_db_migrates_to_latest_and_keeps_its_rows(db_path: Path) -> None:
    old = Database(db_path, migrate=False)
    assert old.migrate(target=1) == 1
    with old.transaction() as conn:
        track_id = _add_track(conn)
        conn.execute(
            "INSERT INTO events (ts, track_id, kind, position_ms, duration_ms, session_id, source)"
            " VALUES (?, ?, 'play', 1000, 2000, 's1', 'test')",
            (time.time(), track_id),
        )
    old.close()

    with open_library(db_path) as db:
        assert db.schema_version() == LATEST_VERSION
        row = db.query(
            "SELECT title, has_audio, tag_playcount FROM tracks WHERE id = ?", (track_id,)
        )[0]
        assert (row["title"], row["has_audio"], row["tag_playcount"]) == ("A", 1, None)
        assert db.scalar("SELECT COUNT(*) FROM events WHERE track_id = ?", (track_id,)) == 1
    backups = list(db_path.parent.glob("library.db.backup-*"))
    assert len(backups) == 1, "an existing DB is backed up before a migration changes it"


def test_upgrading_re_derives_heard_tags_so_orchestral_music_is_no_longer_called_jazz(
    db_path: Path,
) -> None:
    """A library analysed under the older rule (a genre heard at 2x its typical
    probability) said "jazz" of a string orchestra at 0.37; after the upgrade the stored
    words follow the stricter rule, from the probabilities already stored: no re-analysis."""
    from recommender.audio.features import (
        MTT_TAG_SLICE,
        N_DEEP_FEATURES,
        N_FEATURES,
        N_MTT_FEATURES,
        TAG_SLICE,
    )
    from recommender.audio.musicnn import MSD_LABELS, MTT_LABELS
    from recommender.audio.tags import MTT_TYPICAL

    old = Database(db_path, migrate=False)
    assert old.migrate(target=6) == 6
    orchestral = np.zeros(N_DEEP_FEATURES, dtype="<f4")
    probs = orchestral[TAG_SLICE]
    probs[:] = 0.001
    for label, p in (("jazz", 0.37), ("instrumental", 0.26), ("easy listening", 0.10)):
        probs[MSD_LABELS.index(label)] = p
    jazz = orchestral.copy()
    jazz[TAG_SLICE][MSD_LABELS.index("jazz")] = 0.62
    rows = [
        ("/music/dance.ogg", orchestral, "jazz=0.37;instrumental=0.26;easy listening=0.10"),
        ("/music/jazz.ogg", jazz, "jazz=0.62;instrumental=0.26;easy listening=0.10"),
        ("/music/old.ogg", np.zeros(N_FEATURES, dtype="<f4"), None),  # no network: no words
    ]
    # With the MTT network's columns too (version 3), its words join MSD's.
    both = np.concatenate([orchestral, np.zeros(N_MTT_FEATURES - N_DEEP_FEATURES, "<f4")])
    both[MTT_TAG_SLICE] = [MTT_TYPICAL[label] for label in MTT_LABELS]
    both[MTT_TAG_SLICE][MTT_LABELS.index("classical")] = 0.8
    both[MTT_TAG_SLICE][MTT_LABELS.index("strings")] = 0.55
    rows.append(("/music/orchestra.ogg", both, "instrumental=0.26;easy listening=0.10"))
    with old.transaction() as conn:
        ids = []
        for path, vector, heard in rows:
            ids.append(_add_track(conn, path))
            conn.execute(
                "INSERT INTO track_features (track_id, version, fingerprint, dims, vector, "
                "analysed_at, heard_tags) VALUES (?, 2, 'fp', ?, ?, 0, ?)",
                (ids[-1], vector.size, vector.tobytes(), heard),
            )
    old.close()

    with open_library(db_path) as db:
        heard = {
            r["track_id"]: r["heard_tags"]
            for r in db.query("SELECT track_id, heard_tags FROM track_features")
        }
    assert heard[ids[0]] == "instrumental=0.26;easy listening=0.10"
    assert heard[ids[1]] == "jazz=0.62;instrumental=0.26;easy listening=0.10"
    assert heard[ids[2]] is None
    assert heard[ids[3]] == "classical=0.80;strings=0.55;instrumental=0.26;easy listening=0.10"


def test_two_processes_upgrading_an_old_db_at_once_apply_each_migration_once(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app and a CLI command open a schema-4 DB at the same moment: the second to take
    the write lock finds the work done instead of failing with "duplicate column"."""
    old = Database(db_path, migrate=False)
    assert old.migrate(target=4) == 4
    old.close()
    app, cli = Database(db_path, migrate=False), Database(db_path, migrate=False)
    backup = Database.backup

    def backup_then_lose_the_race(self: Database, label: str) -> Path | None:
        made = backup(self, label)
        if self is app:
            assert cli.migrate() == LATEST_VERSION  # the CLI upgrades meanwhile
        return made

    monkeypatch.setattr(Database, "backup", backup_then_lose_the_race)
    assert app.migrate() == LATEST_VERSION
    applied = [r[0] for r in app.conn.execute("SELECT version FROM schema_migrations")]
    assert applied == sorted(set(applied)) and applied[-1] == LATEST_VERSION
    app.close()
    cli.close()


def test_db_from_a_newer_segue_is_refused_and_left_untouched(db_path: Path) -> None:
    with open_library(db_path) as db, db.transaction() as conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)",
            (LATEST_VERSION + 1,),
        )
    before = db_path.read_bytes()
    with pytest.raises(DatabaseError, match="newer Segue"):
        open_library(db_path)
    assert db_path.read_bytes() == before


@pytest.mark.parametrize(
    "schema",
    [
        # beets: nothing of Segue's in it
        (
            "CREATE TABLE items (id INTEGER PRIMARY KEY, path BLOB, title TEXT)",
            "CREATE TABLE albums (id INTEGER PRIMARY KEY, album TEXT)",
            "INSERT INTO items (path, title) VALUES (x'2f6d2f612e6d7033', 'A')",
        ),
        # another player's DB with a table named like Segue's
        (
            "CREATE TABLE tracks (id INTEGER PRIMARY KEY, location TEXT)",
            "INSERT INTO tracks (location) VALUES ('/m/a.mp3')",
        ),
    ],
    ids=["beets", "tracks-table"],
)
def test_another_programs_db_is_refused_and_left_untouched(
    tmp_path: Path, schema: tuple[str, ...]
) -> None:
    """`--db` pointed at another program's SQLite file: refused in one line; not a byte
    changed (no Segue tables, no WAL mode, no -wal/-shm or backup beside it)."""
    from tests.clihelp import segue

    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    for statement in schema:
        conn.execute(statement)
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="is not a Segue library; it was left untouched"):
        open_library(path)
    with pytest.raises(DatabaseError, match="not a Segue library"):
        Database(path, migrate=False)
    result = segue("library", db=path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"segue: error: {path} is not a Segue library; it was left untouched"
    ]
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_an_empty_sqlite_file_becomes_a_library(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()  # 0 bytes: nothing in it to protect
    with open_library(path) as db:
        assert db.schema_version() == LATEST_VERSION


def test_failed_transaction_leaves_nothing_behind(library: Database) -> None:
    with pytest.raises(RuntimeError), library.transaction() as conn:
        _add_track(conn)
        raise RuntimeError("crash mid-write")
    assert library.scalar("SELECT COUNT(*) FROM tracks") == 0


def test_nested_transaction_rolls_back_only_the_inner_part(library: Database) -> None:
    with library.transaction() as conn:
        _add_track(conn, "/music/kept.mp3")
        with pytest.raises(ValueError), library.transaction() as inner:
            _add_track(inner, "/music/dropped.mp3")
            raise ValueError
    paths = [r["path"] for r in library.query("SELECT path FROM tracks")]
    assert paths == ["/music/kept.mp3"]


def test_listening_history_is_append_only_and_outlives_its_track(library: Database) -> None:
    with library.transaction() as conn:
        track_id = _add_track(conn)
        conn.execute(
            "INSERT INTO events (ts, track_id, kind) VALUES (?, ?, 'play')", (1.0, track_id)
        )
    with pytest.raises(DatabaseError, match="append-only"), library.transaction() as c:
        c.execute("UPDATE events SET kind = 'skip'")
    with pytest.raises(DatabaseError, match="history"), library.transaction() as c:
        c.execute("DELETE FROM tracks WHERE id = ?", (track_id,))
    assert library.scalar("SELECT COUNT(*) FROM events") == 1


def test_damaged_db_gives_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    path.write_bytes(b"this is not a database, just some text " * 200)
    with pytest.raises(DatabaseError) as caught:
        open_library(path)
    message = str(caught.value)
    assert "damaged or not a Segue library" in message
    assert "\n" not in message


def test_locked_db_gives_one_clear_error(db_path: Path) -> None:
    holder = open_library(db_path)
    holder.conn.execute("BEGIN IMMEDIATE")
    try:
        other = Database(db_path, busy_timeout=0.2)
        with pytest.raises(DatabaseError, match="locked by another program"), other.transaction():
            pass
        other.close()
    finally:
        holder.conn.execute("ROLLBACK")
        holder.close()


def test_an_error_inside_a_transaction_is_one_clear_line(library: Database) -> None:
    """A write the DB refuses half-way (here a full disk, as SQLite's page limit makes it)
    is rolled back and reported as a DatabaseError saying why, not a raw sqlite3 error."""
    pages = library.scalar("PRAGMA page_count")
    library.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(DatabaseError) as caught, library.transaction() as conn:
        for i in range(2000):
            _add_track(conn, f"/music/{i:04d}-{'x' * 200}.mp3")
    assert str(caught.value) == f"cannot write to library DB {library.path}: the disk is full"
    library.conn.execute("PRAGMA max_page_count = 1073741823")
    assert library.scalar("SELECT COUNT(*) FROM tracks") == 0
    with library.transaction() as conn:  # the connection is fine afterwards
        _add_track(conn)
    assert library.scalar("SELECT COUNT(*) FROM tracks") == 1


def test_no_upgrade_without_a_backup_and_no_partial_backup_left(db_path: Path) -> None:
    """A disk too full for the pre-upgrade backup (a file size limit stands in for it):
    the partial copy is removed, the DB stays at its old version, and the one line says
    how much space to free; each retry behaves the same, leaving nothing behind."""
    import resource
    import signal

    old = Database(db_path, migrate=False)
    assert old.migrate(target=LATEST_VERSION - 1) == LATEST_VERSION - 1
    with old.transaction() as conn:
        for i in range(300):
            _add_track(conn, f"/music/{i:04d}-{'x' * 200}.mp3")
    old.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    old.close()
    size = db_path.stat().st_size
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (size // 2, limits[1]))
    try:
        for _ in range(2):
            with pytest.raises(DatabaseError) as caught:
                open_library(db_path)
            message = str(caught.value)
            assert "its backup could not be written" in message and "\n" not in message
            assert f"free at least {-(-size // 1_000_000)} MB in {db_path.parent}" in message
            assert list(db_path.parent.glob("library.db.backup-*")) == []
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    with Database(db_path, migrate=False) as db:
        assert db.schema_version() == LATEST_VERSION - 1
    with open_library(db_path) as db:  # space again: backed up, then upgraded
        assert db.schema_version() == LATEST_VERSION
    assert len(list(db_path.parent.glob("library.db.backup-*"))) == 1


def test_only_the_newest_three_backups_are_kept(db_path: Path) -> None:
    with open_library(db_path) as db:
        made = []
        for i in range(5):
            made.append(db.backup(f"test{i}"))
    kept = sorted(db_path.parent.glob("library.db.backup-*"))
    assert kept == sorted(p for p in made[-3:] if p is not None)


def test_db_location_follows_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from player.config import default_db_path

    monkeypatch.setenv("SEGUE_DB", str(tmp_path / "custom.db"))
    assert default_db_path() == tmp_path / "custom.db"
    monkeypatch.delenv("SEGUE_DB")
    assert default_db_path().name == "library.db"
    assert "segue" in str(default_db_path()).lower()
