"""Listening statistics for the desktop app's charts: plays per day, top artists, top
tracks over a period, and play counts per track (for sizing the taste map)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from player.library.db import Database


@dataclass(frozen=True)
class Ranked:
    label: str
    detail: str
    plays: int


def plays_per_day(db: Database, days: int, *, now: float | None = None) -> list[tuple[str, int]]:
    """(YYYY-MM-DD in local time, plays) for each of the last ``days`` days, oldest first,
    days without plays included."""
    end = time.time() if now is None else now
    since = end - days * 86400
    counts = {
        r[0]: r[1]
        for r in db.conn.execute(
            "SELECT date(ts, 'unixepoch', 'localtime') AS d, COUNT(*) FROM events "
            "WHERE kind = 'play' AND ts >= ? AND ts <= ? GROUP BY d",
            (since, end),
        )
    }
    out = []
    for back in range(days - 1, -1, -1):
        day = time.strftime("%Y-%m-%d", time.localtime(end - back * 86400))
        out.append((day, int(counts.get(day, 0))))
    return out


def top_artists(
    db: Database, days: int, limit: int = 10, *, now: float | None = None
) -> list[Ranked]:
    since = (time.time() if now is None else now) - days * 86400
    rows = db.conn.execute(
        "SELECT COALESCE(t.artist, 'Unknown artist') AS who, COUNT(*) AS n, "
        "COUNT(DISTINCT t.id) FROM events e JOIN tracks t ON t.id = e.track_id "
        "WHERE e.kind = 'play' AND e.ts >= ? GROUP BY who ORDER BY n DESC, who LIMIT ?",
        (since, limit),
    )
    return [Ranked(r[0], f"{r[2]} track{'s' if r[2] != 1 else ''}", int(r[1])) for r in rows]


def top_tracks(
    db: Database, days: int, limit: int = 10, *, now: float | None = None
) -> list[Ranked]:
    since = (time.time() if now is None else now) - days * 86400
    rows = db.conn.execute(
        "SELECT COALESCE(t.title, 'Untitled'), COALESCE(t.artist, ''), COUNT(*) AS n "
        "FROM events e JOIN tracks t ON t.id = e.track_id "
        "WHERE e.kind = 'play' AND e.ts >= ? GROUP BY t.id ORDER BY n DESC, t.title LIMIT ?",
        (since, limit),
    )
    return [Ranked(r[0], r[1], int(r[2])) for r in rows]


def play_counts(db: Database) -> dict[int, int]:
    """Plays per track over all time (logged plays plus play counts imported from tags)."""
    counts = {
        int(r[0]): int(r[1])
        for r in db.conn.execute(
            "SELECT track_id, COUNT(*) FROM events WHERE kind = 'play' GROUP BY track_id"
        )
    }
    for r in db.conn.execute("SELECT id, tag_playcount FROM tracks WHERE tag_playcount > 0"):
        counts[int(r[0])] = counts.get(int(r[0]), 0) + int(r[1])
    return counts


def genres(db: Database, ids: list[int]) -> dict[int, str]:
    """The first genre of each track (for colouring the taste map)."""
    out: dict[int, str] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        for r in db.conn.execute(f"SELECT id, genre FROM tracks WHERE id IN ({marks})", chunk):
            out[int(r[0])] = (r[1] or "").split(";")[0].strip() or "Unknown"
    return out
