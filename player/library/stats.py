"""Library overview queries for ``segue library`` and the app's status line."""

from __future__ import annotations

from dataclasses import dataclass, field

from player.library.db import Database
from player.library.paths import from_db
from player.text import plural


@dataclass
class LibraryOverview:
    tracks: int  # files in the library and found at the last scan: what can be played
    missing: int  # known files not found (kept with their history, shown apart)
    total_seconds: float
    by_format: dict[str, int]
    roots: list[tuple[str, bool]]
    error_count: int
    latest_errors: list[tuple[str, str, str]] = field(default_factory=list)


def counts_text(tracks: int, missing: int) -> str:
    """The one way Segue states its track counts (``segue library``, ``segue doctor``)."""
    text = plural(tracks, "track")
    return f"{text} ({missing} missing)" if missing else text


def overview(db: Database, *, errors: int = 10) -> LibraryOverview:
    row = db.query(
        "SELECT COUNT(*) AS n, COALESCE(SUM(duration), 0) AS secs FROM tracks "
        "WHERE missing = 0 AND removed = 0"
    )[0]
    by_format = {
        (r["format"] or "unknown"): r["n"]
        for r in db.query(
            "SELECT format, COUNT(*) AS n FROM tracks WHERE missing = 0 AND removed = 0 "
            "GROUP BY format ORDER BY n DESC, format"
        )
    }
    latest = [
        (from_db(r["path"]), r["kind"], r["message"])
        for r in db.query(
            "SELECT path, kind, message FROM scan_errors ORDER BY time DESC, id DESC LIMIT ?",
            (errors,),
        )
    ]
    return LibraryOverview(
        tracks=row["n"],
        missing=db.scalar("SELECT COUNT(*) FROM tracks WHERE missing = 1 AND removed = 0"),
        total_seconds=float(row["secs"]),
        by_format=by_format,
        roots=[
            (from_db(r["path"]), bool(r["online"]))
            for r in db.query("SELECT path, online FROM library_roots ORDER BY path")
        ],
        error_count=db.scalar("SELECT COUNT(*) FROM scan_errors"),
        latest_errors=latest,
    )
