"""Numbered schema migrations. Each is applied once, in order, and recorded in
``schema_migrations``. Never edit a migration that has shipped: add a new one."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    # Rewrites data the statements cannot (derived values computed in Python), in the
    # same transaction, after the statements.
    data: Callable[[sqlite3.Connection], None] | None = None


def _rederive_heard_tags(conn: sqlite3.Connection) -> None:
    """Every stored heard-tags text again from the tag probabilities stored in the same
    row's vector, under the current rule (``recommender.audio.tags``): a vector with the
    MTT network's columns (version 3) gets words of both networks, an older one the MSD
    network's alone until re-analysis upgrades it."""
    from recommender.audio.features import N_DEEP_FEATURES, stored_heard_text

    rows = conn.execute(
        "SELECT track_id, vector FROM track_features WHERE dims >= ?", (N_DEEP_FEATURES,)
    ).fetchall()
    updates = []
    for track_id, blob in rows:
        heard = stored_heard_text(np.frombuffer(blob, dtype="<f4"))
        if heard is not None:
            updates.append((heard, track_id))
    conn.executemany("UPDATE track_features SET heard_tags = ? WHERE track_id = ?", updates)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "core schema: roots, tracks, scan errors, listening events",
        (
            """CREATE TABLE library_roots (
                id INTEGER PRIMARY KEY,
                path TEXT NOT NULL UNIQUE,
                added_at REAL NOT NULL,
                last_scan_at REAL,
                online INTEGER NOT NULL DEFAULT 1
            )""",
            """CREATE TABLE tracks (
                id INTEGER PRIMARY KEY,
                path TEXT NOT NULL UNIQUE,
                root_id INTEGER REFERENCES library_roots(id) ON DELETE SET NULL,
                size INTEGER NOT NULL,
                mtime REAL NOT NULL,
                fingerprint TEXT NOT NULL,
                format TEXT,
                codec TEXT,
                duration REAL,
                title TEXT,
                artist TEXT,
                album TEXT,
                albumartist TEXT,
                genre TEXT,
                year INTEGER,
                track_number INTEGER,
                track_total INTEGER,
                disc_number INTEGER,
                disc_total INTEGER,
                composer TEXT,
                comment TEXT,
                lyrics TEXT,
                bitrate INTEGER,
                sample_rate INTEGER,
                channels INTEGER,
                rg_track_gain REAL,
                rg_track_peak REAL,
                rg_album_gain REAL,
                rg_album_peak REAL,
                mb_track_id TEXT,
                mb_album_id TEXT,
                mb_artist_id TEXT,
                mb_albumartist_id TEXT,
                has_cover INTEGER NOT NULL DEFAULT 0,
                added_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                missing INTEGER NOT NULL DEFAULT 0,
                missing_since REAL
            )""",
            "CREATE INDEX tracks_fingerprint ON tracks(fingerprint)",
            "CREATE INDEX tracks_artist ON tracks(artist COLLATE NOCASE)",
            "CREATE INDEX tracks_album ON tracks(album COLLATE NOCASE)",
            "CREATE INDEX tracks_root ON tracks(root_id)",
            """CREATE TABLE scan_errors (
                id INTEGER PRIMARY KEY,
                path TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                message TEXT NOT NULL,
                time REAL NOT NULL,
                size INTEGER,
                mtime REAL
            )""",
            # The listening log is append-only: rows are added, never changed. (Deleting a
            # row stays possible for the user's "forget this play" privacy control.)
            """CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                ts REAL NOT NULL,
                track_id INTEGER REFERENCES tracks(id),
                kind TEXT NOT NULL,
                position_ms INTEGER,
                duration_ms INTEGER,
                session_id TEXT,
                source TEXT
            )""",
            "CREATE INDEX events_ts ON events(ts)",
            "CREATE INDEX events_track ON events(track_id)",
            """CREATE TRIGGER events_append_only BEFORE UPDATE ON events
               BEGIN SELECT RAISE(ABORT, 'the listening log is append-only'); END""",
            # Tracks are never deleted while they have history: they are marked missing.
            """CREATE TRIGGER tracks_keep_history BEFORE DELETE ON tracks
               WHEN EXISTS (SELECT 1 FROM events WHERE track_id = OLD.id)
               BEGIN SELECT RAISE(ABORT, 'track has listening history; mark it missing'); END""",
        ),
    ),
    Migration(
        2,
        "play counts and ratings from tags (cold start); files that hold no audio",
        (
            "ALTER TABLE tracks ADD COLUMN tag_playcount INTEGER",
            "ALTER TABLE tracks ADD COLUMN tag_rating REAL",
            # Files whose tags are readable but which hold no playable audio are listed
            # (their tags show) but never queued.
            "ALTER TABLE tracks ADD COLUMN has_audio INTEGER NOT NULL DEFAULT 1",
        ),
    ),
    Migration(
        3,
        "audio features: one float32 vector per track with its version and scalars; failures",
        (
            # One row per track, replaced in place when the track is re-analysed, so an
            # older-version vector keeps serving until its replacement is written.
            # ``fingerprint`` is the file's fingerprint when analysed: a changed file
            # is analysed again.
            """CREATE TABLE track_features (
                track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
                version INTEGER NOT NULL,
                fingerprint TEXT NOT NULL,
                dims INTEGER NOT NULL,
                vector BLOB NOT NULL,
                bpm REAL,
                bpm_confidence REAL,
                musical_key INTEGER,
                mode INTEGER,
                key_strength REAL,
                energy REAL,
                brightness REAL,
                pulse_strength REAL,
                acousticness REAL,
                loudness_db REAL,
                analysed_at REAL NOT NULL,
                cpu_seconds REAL
            )""",
            "CREATE INDEX track_features_version ON track_features(version)",
            # Files that could not be analysed, with a reason; tried again only when
            # the file or the feature version changes.
            """CREATE TABLE analysis_failures (
                track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
                version INTEGER NOT NULL,
                fingerprint TEXT NOT NULL,
                kind TEXT NOT NULL,
                message TEXT NOT NULL,
                time REAL NOT NULL
            )""",
        ),
    ),
    Migration(
        4,
        "user playlists and saved smart playlists",
        (
            # kind: 'user' (a list of tracks) or 'smart' (a saved query, evaluated on use).
            """CREATE TABLE playlists (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                kind TEXT NOT NULL CHECK (kind IN ('user', 'smart')),
                query TEXT,
                source TEXT,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )""",
            """CREATE TABLE playlist_entries (
                playlist_id INTEGER NOT NULL REFERENCES playlists(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
                PRIMARY KEY (playlist_id, position)
            )""",
            "CREATE INDEX playlist_entries_track ON playlist_entries(track_id)",
        ),
    ),
    Migration(
        5,
        "the player's saved state; tracks removed from the library",
        (
            # What played, where, and the queue with its pins, as the app left them:
            # one JSON document, restored at the next start.
            """CREATE TABLE player_state (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                state TEXT NOT NULL,
                saved_at REAL NOT NULL
            )""",
            # "Remove from library": the file and its listening history stay; the track
            # no longer shows or plays (until the user opens that file, or names its
            # folder in a scan, again: ScanStore.unremove / unremove_under).
            "ALTER TABLE tracks ADD COLUMN removed INTEGER NOT NULL DEFAULT 0",
        ),
    ),
    Migration(
        6,
        "heard tags: what the music network hears in a track, beside its vector",
        (
            # "jazz=0.71;mellow=0.05" (recommender.audio.tags.format_heard), written with
            # the version 2 vector it comes from and replaced with it; NULL for a track
            # analysed without the network.
            "ALTER TABLE track_features ADD COLUMN heard_tags TEXT",
        ),
    ),
    Migration(
        7,
        "heard tags: a genre is heard at 3x its typical probability, not 2x (no more "
        "'jazz' on orchestral music); stored tags re-derived from the stored probabilities",
        (),
        _rederive_heard_tags,
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version
