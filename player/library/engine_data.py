"""The bulk reads the recommender is built from (player.recommend.EngineHost)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from player.library.db import Database


def catalog_rows(db: Database, size: int = 8192) -> Iterator[tuple[Any, ...]]:
    """Every track's tags, heard tags (``heard_tags``, or NULL) and state, by id, as plain
    tuples (id, title, artist, albumartist, album, genre, year, comment, lyrics, duration,
    missing, has_audio, removed, heard_tags), read in chunks: a list of 100,000
    sqlite3.Row objects would only add to the build's peak."""
    cursor = db.conn.cursor()
    cursor.row_factory = None
    cursor.execute(
        "SELECT t.id, t.title, t.artist, t.albumartist, t.album, t.genre, t.year, t.comment, "
        "t.lyrics, t.duration, t.missing, t.has_audio, t.removed, f.heard_tags FROM tracks t "
        "LEFT JOIN track_features f ON f.track_id = t.id ORDER BY t.id"
    )
    while rows := cursor.fetchmany(size):
        yield from rows


def catalog_signature(db: Database) -> tuple[float, ...]:
    """What changes when tracks arrive, vanish, are removed from the library or gain (or
    upgrade) audio vectors: (tracks, highest id, missing, removed, analysed, latest
    analysis). It scans the tracks table: ask :func:`data_version` first."""
    row = db.conn.execute(
        "SELECT count(*), coalesce(max(id), 0), coalesce(sum(missing), 0), "
        "coalesce(sum(removed), 0) FROM tracks"
    ).fetchone()
    analysed, latest = (
        db.conn.execute(
            "SELECT count(*), coalesce(max(analysed_at), 0) FROM track_features"
        ).fetchone()
        if has_features(db)
        else (0, 0.0)
    )
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(analysed), float(latest))


def data_version(db: Database) -> int:
    """SQLite's ``PRAGMA data_version``: changes when ANOTHER connection commits (a scan,
    an analysis, "remove from library" in the app), not for this connection's own writes
    (the session's log, which never changes the catalogue). Costs nothing to ask."""
    return int(db.conn.execute("PRAGMA data_version").fetchone()[0])


def event_chunks(db: Database, size: int = 65536) -> Iterator[list[tuple[Any, ...]]]:
    """The listening log in time order, in chunks of plain tuples (track_id, ts, kind,
    position_ms, duration_ms, session_id): a million sqlite3.Row objects cost seconds."""
    cursor = db.conn.cursor()
    cursor.row_factory = None
    cursor.execute(
        "SELECT track_id, ts, kind, position_ms, duration_ms, session_id FROM events "
        "WHERE track_id IS NOT NULL ORDER BY ts, id"
    )
    while rows := cursor.fetchmany(size):
        yield rows


def tag_history(db: Database, like_rating: float) -> Iterator[tuple[int, int, float, float, float]]:
    """(track id, tag play count, tag rating, added_at, duration) of the tracks whose tags
    carry a play count or a rating of at least ``like_rating``."""
    yield from db.conn.execute(
        "SELECT id, tag_playcount, tag_rating, added_at, duration FROM tracks "
        "WHERE tag_playcount > 0 OR tag_rating >= ?",
        (like_rating,),
    )


def has_features(db: Database) -> bool:
    return bool(
        db.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'track_features'")
    )


def tempo_and_energy(db: Database) -> Iterator[tuple[int, float | None, float | None]]:
    """(track id, bpm, energy) of every analysed track."""
    yield from db.conn.execute("SELECT track_id, bpm, energy FROM track_features")
