"""The data behind the app's taste map: each analysed track's feature vector, genre and
play count. The 2-D layout itself is computed by the recommender (or, until its taste
map is available, by a projection in the UI's worker thread)."""

from __future__ import annotations

from dataclasses import dataclass

from player.library.db import Database


@dataclass(frozen=True)
class TastePoint:
    track_id: int
    title: str
    artist: str
    genre: str
    plays: int
    vector: bytes


def taste_points(db: Database, limit: int = 20000) -> list[TastePoint]:
    """Analysed, present tracks with their raw float32 vectors (newest version first)."""
    try:
        rows = db.conn.execute(
            "SELECT t.id, COALESCE(t.title, ''), COALESCE(t.artist, ''), COALESCE(t.genre, ''),"
            " COALESCE(p.n, 0) + COALESCE(t.tag_playcount, 0), f.vector "
            "FROM track_features f JOIN tracks t ON t.id = f.track_id "
            "LEFT JOIN (SELECT track_id, COUNT(*) AS n FROM events WHERE kind = 'play' "
            "GROUP BY track_id) p ON p.track_id = t.id "
            "WHERE t.missing = 0 AND t.removed = 0 ORDER BY f.version DESC, t.id LIMIT ?",
            (limit,),
        ).fetchall()
    except Exception:
        return []  # an older library without the features table
    return [
        TastePoint(
            int(r[0]),
            r[1],
            r[2],
            (r[3].split(";")[0].strip() or "Unknown"),
            int(r[4]),
            bytes(r[5]),
        )
        for r in rows
    ]
