"""The SQL of playlists: user playlists, saved smart playlists, smart-query selection,
and the one read that gives the playlist engine the whole library as arrays.

Automatic playlists are not stored: they are built from the library on demand (seconds for
100,000 tracks). Only what the user made is: a user playlist's tracks in order, or a smart
playlist's query text (evaluated each time it is opened, so it follows the library).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from player.errors import SegueError
from player.library.db import Database
from player.library.paths import from_db
from player.library.tracks import tracks_stamp
from player.smartquery import AGE, FLAG, NUMBER, TEXT, Condition, SmartQuery

# -- saved playlists ---------------------------------------------------------------------


@dataclass(frozen=True)
class SavedPlaylist:
    id: int
    name: str
    kind: str  # "user" or "smart"
    query: str | None
    source: str | None  # where a user playlist came from (an imported file)
    size: int  # tracks of a user playlist; 0 for a smart one (evaluated on use)


def _saved(row: Any) -> SavedPlaylist:
    return SavedPlaylist(
        int(row["id"]), row["name"], row["kind"], row["query"], row["source"], int(row["size"])
    )


_SAVED = (
    "SELECT p.id, p.name, p.kind, p.query, p.source, "
    "(SELECT COUNT(*) FROM playlist_entries e WHERE e.playlist_id = p.id) AS size "
    "FROM playlists p"
)


def saved(db: Database) -> list[SavedPlaylist]:
    return [_saved(r) for r in db.query(f"{_SAVED} ORDER BY p.name COLLATE NOCASE")]


def find(db: Database, name: str) -> SavedPlaylist | None:
    rows = db.query(f"{_SAVED} WHERE p.name = ? COLLATE NOCASE", (name,))
    return _saved(rows[0]) if rows else None


def _replace(conn: Any, name: str, replace: bool) -> None:
    found = conn.execute("SELECT id FROM playlists WHERE name = ? COLLATE NOCASE", (name,))
    row = found.fetchone()
    if row is None:
        return
    if not replace:
        raise SegueError(f"a playlist named '{name}' exists already (choose another name)")
    conn.execute("DELETE FROM playlists WHERE id = ?", (row[0],))


def save_user(
    db: Database,
    name: str,
    track_ids: Sequence[int],
    *,
    source: str | None = None,
    replace: bool = False,
) -> int:
    """Store a user playlist (tracks in order, repeats allowed). Returns its id."""
    if not name.strip():
        raise SegueError("a playlist needs a name")
    now = time.time()
    with db.transaction() as conn:
        _replace(conn, name, replace)
        cur = conn.execute(
            "INSERT INTO playlists (name, kind, source, created_at, updated_at) "
            "VALUES (?, 'user', ?, ?, ?)",
            (name, source, now, now),
        )
        playlist_id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO playlist_entries (playlist_id, position, track_id) VALUES (?, ?, ?)",
            [(playlist_id, i, int(t)) for i, t in enumerate(track_ids)],
        )
    return playlist_id


def append_user(db: Database, name: str, track_ids: Sequence[int]) -> int | None:
    """Add tracks to the end of the user playlist ``name``, all in one write transaction
    (its last position is read under the lock, so two adds at once both land). Returns
    its id, or None when there is no user playlist of that name."""
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT id FROM playlists WHERE name = ? COLLATE NOCASE AND kind = 'user'", (name,)
        ).fetchone()
        if row is None:
            return None
        playlist_id = int(row[0])
        end = conn.execute(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM playlist_entries WHERE playlist_id = ?",
            (playlist_id,),
        ).fetchone()[0]
        conn.executemany(
            "INSERT INTO playlist_entries (playlist_id, position, track_id) VALUES (?, ?, ?)",
            [(playlist_id, int(end) + i, int(t)) for i, t in enumerate(track_ids)],
        )
        conn.execute("UPDATE playlists SET updated_at = ? WHERE id = ?", (time.time(), playlist_id))
    return playlist_id


def save_smart(db: Database, name: str, query: str, *, replace: bool = True) -> int:
    if not name.strip():
        raise SegueError("a smart playlist needs a name")
    now = time.time()
    with db.transaction() as conn:
        _replace(conn, name, replace)
        cur = conn.execute(
            "INSERT INTO playlists (name, kind, query, created_at, updated_at) "
            "VALUES (?, 'smart', ?, ?, ?)",
            (name, query, now, now),
        )
        return int(cur.lastrowid or 0)


def delete(db: Database, name: str) -> bool:
    with db.transaction() as conn:
        cur = conn.execute("DELETE FROM playlists WHERE name = ? COLLATE NOCASE", (name,))
        return cur.rowcount > 0


def entries(db: Database, playlist_id: int) -> list[int]:
    rows = db.query(
        "SELECT track_id FROM playlist_entries WHERE playlist_id = ? ORDER BY position",
        (playlist_id,),
    )
    return [int(r[0]) for r in rows]


# -- tracks, for importing ---------------------------------------------------------------


def track_paths(db: Database) -> dict[str, int]:
    """Every library path (as stored, decoded) to its track id, present files first."""
    out: dict[str, int] = {}
    for r in db.query("SELECT id, path FROM tracks ORDER BY missing DESC, id"):
        out[from_db(r["path"])] = int(r["id"])
    return out


# -- smart queries -----------------------------------------------------------------------

# The last verdict per track decides: like / dislike, or neither after unlike / undislike.
_STATS = """
WITH stats AS (
    SELECT track_id,
           SUM(kind = 'play') AS plays,
           SUM(kind = 'skip') AS skips,
           MAX(CASE WHEN kind IN ('play', 'skip', 'stop') THEN ts END) AS last_played
    FROM events WHERE track_id IS NOT NULL GROUP BY track_id
),
verdict AS (
    SELECT track_id, kind FROM (
        SELECT track_id, kind,
               ROW_NUMBER() OVER (PARTITION BY track_id ORDER BY ts DESC, id DESC) AS rn
        FROM events WHERE kind IN ('like', 'unlike', 'dislike', 'undislike')
    ) WHERE rn = 1
)
"""

_EXPRESSIONS: dict[str, str] = {
    "genre": "t.genre",
    "artist": "t.artist",
    "album": "t.album",
    "albumartist": "t.albumartist",
    "title": "t.title",
    "composer": "t.composer",
    "comment": "t.comment",
    "path": "t.path",
    "format": "t.format",
    "year": "t.year",
    "plays": "(COALESCE(s.plays, 0) + COALESCE(t.tag_playcount, 0))",
    "skips": "COALESCE(s.skips, 0)",
    # Stars 0-5: the file's rating tag, else a like counts 5 and a dislike 1.
    "rating": "COALESCE(t.tag_rating * 5.0, CASE v.kind WHEN 'like' THEN 5.0 "
    "WHEN 'dislike' THEN 1.0 END)",
    "bpm": "f.bpm",
    "energy": "f.energy",
    "duration": "t.duration",
    "last_played": "s.last_played",
    "added": "t.added_at",
    "liked": "(COALESCE(v.kind, '') = 'like')",
    "disliked": "(COALESCE(v.kind, '') = 'dislike')",
}
_ANY_TEXT = ("t.title", "t.artist", "t.album")
_HEARD = "f.heard_tags"  # "jazz=0.71;mellow=0.05" (recommender.audio.tags.format_heard)
_TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "any": _ANY_TEXT,
    "tag": ("t.genre", _HEARD),
    "mood": (_HEARD,),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(value: str) -> str:
    return f"%{_escape(value)}%"


def _condition_sql(c: Condition, now: float, params: list[Any]) -> str:
    if c.kind == TEXT:
        columns = _TEXT_COLUMNS.get(c.field) or (_EXPRESSIONS[c.field],)
        alternatives = []
        for value in c.values:
            for column in columns:
                if column == _HEARD:
                    # "tag:rock" finds rock and hard rock; "tag=rock" the tag rock alone.
                    alternatives.append(f"(';' || {column}) LIKE ? ESCAPE '\\'")
                    exact = c.op == "="
                    params.append(f"%;{_escape(str(value))}=%" if exact else _like(str(value)))
                elif c.op == "=":
                    alternatives.append(f"{column} = ? COLLATE NOCASE")
                    params.append(value)
                else:
                    alternatives.append(f"{column} LIKE ? ESCAPE '\\'")
                    params.append(_like(str(value)))
        sql = " OR ".join(alternatives)
    elif c.kind == FLAG:
        sql = f"{_EXPRESSIONS[c.field]} = ?"
        params.append(int(c.values[0] or 0))
    elif c.kind == AGE:
        # An age compares "how long ago": older means a smaller timestamp. Never played
        # is infinitely long ago.
        column = _EXPRESSIONS[c.field]
        parts = []
        if c.op == "range":
            low, high = c.values
            if low is not None:
                parts.append(f"({column} IS NULL OR {column} <= ?)")
                params.append(now - float(low))
            if high is not None:
                parts.append(f"{column} >= ?")
                params.append(now - float(high))
            sql = " AND ".join(parts)
        else:
            alternatives = []
            for value in c.values:
                cutoff = now - float(value or 0)
                if c.op in ("<", "<="):
                    alternatives.append(f"{column} {'>' if c.op == '<' else '>='} ?")
                elif c.op in (">", ">="):
                    alternatives.append(
                        f"({column} IS NULL OR {column} {'<' if c.op == '>' else '<='} ?)"
                    )
                else:
                    # "=": on that day (within a day of the age).
                    alternatives.append(f"{column} BETWEEN ? AND ?")
                    params.append(cutoff - 43200.0)
                    cutoff += 43200.0
                params.append(cutoff)
            sql = " OR ".join(alternatives)
    else:
        assert c.kind == NUMBER
        column = _EXPRESSIONS[c.field]
        if c.op == "range":
            low, high = c.values
            parts = []
            if low is not None:
                parts.append(f"{column} >= ?")
                params.append(low)
            if high is not None:
                parts.append(f"{column} <= ?")
                params.append(high)
            sql = " AND ".join(parts)
        else:
            sql = " OR ".join(f"{column} {c.op} ?" for _ in c.values)
            params.extend(c.values)
    # NULL (unknown) never matches a term, and so always matches its negation.
    return f"NOT COALESCE(({sql}), 0)" if c.negate else f"COALESCE(({sql}), 0)"


def select_smart(db: Database, query: SmartQuery, now: float | None = None) -> list[int]:
    """Ids of the present tracks that match every condition, in album order."""
    moment = time.time() if now is None else now
    params: list[Any] = []
    where = [_condition_sql(c, moment, params) for c in query.conditions]
    sql = (
        f"{_STATS} SELECT t.id FROM tracks t "
        "LEFT JOIN stats s ON s.track_id = t.id "
        "LEFT JOIN verdict v ON v.track_id = t.id "
        "LEFT JOIN track_features f ON f.track_id = t.id "
        f"WHERE t.missing = 0 AND t.removed = 0 AND {' AND '.join(where) or '1'} "
        "ORDER BY t.albumartist COLLATE NOCASE, t.artist COLLATE NOCASE, "
        "t.album COLLATE NOCASE, t.disc_number, t.track_number, t.path"
    )
    return [int(r[0]) for r in db.query(sql, params)]


# -- the whole library as arrays, for the playlist engine --------------------------------

# Player event kinds as the engine knows them: a stop is where playback ended (a skip or
# a partial play, by position); "undislike" clears a ban like the engine's "unlike".
_ENGINE_KINDS = {
    "play": "play",
    "skip": "skip",
    "stop": "skip",
    "like": "like",
    "unlike": "unlike",
    "dislike": "dislike",
    "undislike": "unlike",
}


@dataclass
class LibraryArrays:
    track_ids: npt.NDArray[np.int64]  # row i of every array is track track_ids[i]
    titles: list[str | None]
    artists: list[str | None]
    albums: list[str | None]
    genres: list[str | None]
    years: npt.NDArray[np.float32]
    available: npt.NDArray[np.bool_]  # present, with audio
    event_rows: npt.NDArray[np.int64]  # the events, by row
    event_ts: npt.NDArray[np.float64]
    event_kind: list[str]
    event_position_s: npt.NDArray[np.float64]
    event_duration_s: npt.NDArray[np.float64]
    event_session: list[str | None]
    feature_rows: npt.NDArray[np.int64]
    feature_vectors: npt.NDArray[np.float32]
    bpm: npt.NDArray[np.float32]
    energy: npt.NDArray[np.float32]
    acousticness: npt.NDArray[np.float32]


def load_arrays(db: Database, feature_dims: int | None = None) -> LibraryArrays:
    """One pass over tracks, events and features. ``feature_dims``: the vector length to
    serve (``recommender.audio.N_FEATURES``); None skips the vectors."""
    from recommender.audio.tags import with_heard

    rows = db.query(
        "SELECT t.id, t.title, t.artist, t.album, t.genre, t.year, t.missing, t.has_audio, "
        "t.removed, f.heard_tags FROM tracks t LEFT JOIN track_features f ON f.track_id = t.id "
        "ORDER BY t.id"
    )
    ids = np.fromiter((r["id"] for r in rows), np.int64, len(rows))
    n = ids.size

    def row_of(track_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Each id's row (``ids`` is sorted), -1 for ids not in the tracks table."""
        if n == 0:
            return np.full(track_ids.size, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(ids, track_ids), n - 1)
        found: npt.NDArray[np.int64] = np.where(ids[pos] == track_ids, pos, -1)
        return found

    events = db.query(
        "SELECT track_id, ts, kind, position_ms, duration_ms, session_id FROM events "
        "WHERE track_id IS NOT NULL AND kind IN "
        "('play', 'skip', 'stop', 'like', 'unlike', 'dislike', 'undislike') ORDER BY ts, id"
    )
    nan = float("nan")
    event_tracks = np.fromiter((e["track_id"] for e in events), np.int64, len(events))
    event_rows = row_of(event_tracks) if len(events) else np.zeros(0, np.int64)
    keep = event_rows >= 0
    kept = [e for e, k in zip(events, keep.tolist(), strict=True) if k]

    scalars = db.query(
        "SELECT track_id, bpm, energy, acousticness FROM track_features ORDER BY track_id"
    )
    bpm = np.full(n, np.nan, np.float32)
    energy = np.full(n, np.nan, np.float32)
    acoustic = np.full(n, np.nan, np.float32)
    if scalars:
        srow = row_of(np.fromiter((r["track_id"] for r in scalars), np.int64, len(scalars)))
        ok = srow >= 0
        for target, column in ((bpm, "bpm"), (energy, "energy"), (acoustic, "acousticness")):
            values = np.array([nan if r[column] is None else r[column] for r in scalars])
            target[srow[ok]] = values[ok]
    feature_rows = np.zeros(0, np.int64)
    vectors = np.zeros((0, feature_dims or 0), np.float32)
    if feature_dims:
        from player.library.features import FeatureStore

        serving = FeatureStore(db).serving(feature_dims)
        if serving.vectors.shape[1] == feature_dims and serving.track_ids.size:
            frow = row_of(serving.track_ids)
            ok = frow >= 0
            feature_rows, vectors = frow[ok], serving.vectors[ok]
    return LibraryArrays(
        track_ids=ids,
        titles=[r["title"] for r in rows],
        artists=[r["artist"] for r in rows],
        albums=[r["album"] for r in rows],
        # The file's genre and the tags heard in the audio: mix names and moods read both.
        genres=[with_heard(r["genre"], r["heard_tags"]) for r in rows],
        years=np.array([nan if r["year"] is None else r["year"] for r in rows], np.float32),
        available=np.array(
            [not r["missing"] and not r["removed"] and bool(r["has_audio"]) for r in rows], bool
        ),
        event_rows=event_rows[keep],
        event_ts=np.array([e["ts"] for e in kept], np.float64),
        event_kind=[_ENGINE_KINDS[e["kind"]] for e in kept],
        event_position_s=np.array(
            [nan if e["position_ms"] is None else e["position_ms"] / 1000 for e in kept]
        ),
        event_duration_s=np.array(
            [nan if e["duration_ms"] is None else e["duration_ms"] / 1000 for e in kept]
        ),
        event_session=[e["session_id"] for e in kept],
        feature_rows=feature_rows,
        feature_vectors=vectors,
        bpm=bpm,
        energy=energy,
        acousticness=acoustic,
    )


def library_signature(db: Database) -> tuple[float, ...]:
    """What the automatic playlists and the taste map are built from, in a few numbers
    that change when it does: the tracks (count, highest id, missing, removed, latest
    change), their analysis (count, latest) and the listening log (count, highest id,
    latest time: new plays and verdicts, a forgotten play, a wipe or an import). The log
    counts by an index; the rest is one pass over the tracks table."""
    features_row = db.conn.execute(
        "SELECT count(*), coalesce(max(analysed_at), 0) FROM track_features"
    ).fetchone()
    events_row = db.conn.execute(
        "SELECT count(*), coalesce(max(id), 0), coalesce(max(ts), 0) FROM events"
    ).fetchone()
    return (*tracks_stamp(db), *(float(v) for v in (*features_row, *events_row)))


TASTE_MAP_FILE = "tastemap.npz"  # recommender.content.tastemap's file: what the GUI's map draws
MIXES_FILE = "mixes.npz"  # the last build's mix per track and names, so names carry over


def taste_map_path(db: Database) -> Path:
    """The taste map file of this library (load it with
    ``recommender.content.tastemap.load_layout``: ids, positions, regions and their
    labels; about 1 ms for 100,000 tracks)."""
    return sidecar_path(db, TASTE_MAP_FILE)


def sidecar_path(db: Database, what: str) -> Path:
    """Where derived data lives: beside the DB (``library.tastemap.npz`` next to
    ``library.db``), so another library keeps its own."""
    if str(db.path) == ":memory:":
        raise SegueError("an in-memory library has no folder for its taste map")
    return db.path.with_name(f"{db.path.stem}.{what}")
