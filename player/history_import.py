"""Read listening history exported by other services, so Segue starts out knowing you.

Formats: a ListenBrainz export (a JSON array of listens, or JSON Lines, as the site's
"export listens" gives) and a Last.fm scrobble CSV (with or without a header row, the
shape of the common Last.fm export tools: artist, album, title, date).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from player.errors import SegueError


@dataclass(frozen=True)
class Listen:
    ts: float
    artist: str | None
    title: str | None
    album: str | None
    mbid: str | None  # MusicBrainz recording id


def read_listens(path: Path) -> tuple[str, list[Listen]]:
    """Return (source name, listens) for a ListenBrainz JSON or Last.fm CSV file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SegueError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SegueError(f"cannot read {path}: {exc}") from None
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return "listenbrainz", list(_listenbrainz(stripped, path))
    return "lastfm", list(_lastfm(text, path))


def _listenbrainz(text: str, path: Path) -> Iterator[Listen]:
    try:
        data: Any = json.loads(text)
        items = data if isinstance(data, list) else data.get("payload", {}).get("listens", [data])
    except json.JSONDecodeError:
        try:  # JSON Lines
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise SegueError(f"{path} is not a ListenBrainz export: {exc.msg}") from None
    for item in items:
        if not isinstance(item, dict) or "listened_at" not in item:
            continue
        meta = item.get("track_metadata") or {}
        info = meta.get("additional_info") or {}
        mapping = meta.get("mbid_mapping") or {}
        yield Listen(
            ts=float(item["listened_at"]),
            artist=meta.get("artist_name"),
            title=meta.get("track_name"),
            album=meta.get("release_name"),
            mbid=info.get("recording_mbid") or mapping.get("recording_mbid"),
        )


_DATE_FORMATS = ("%d %b %Y %H:%M", "%d %b %Y, %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def _parse_date(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _lastfm(text: str, path: Path) -> Iterator[Listen]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return
    header = [c.strip().lower() for c in rows[0]]
    if {"artist", "title"} <= set(header) or {"artist", "track"} <= set(header):
        col = {name: i for i, name in enumerate(header)}
        title_col = col.get("title", col.get("track"))
        date_col = next(
            (col[n] for n in ("date", "uts", "timestamp", "utc_time") if n in col), None
        )
        body = rows[1:]
    else:
        col = {"artist": 0, "album": 1}
        title_col, date_col, body = 2, 3, rows
    if date_col is None or title_col is None:
        raise SegueError(f"{path} is not a Last.fm scrobble CSV (no date column)")
    bad = 0
    for row in body:
        if len(row) <= max(date_col, title_col):
            bad += 1
            continue
        ts = _parse_date(row[date_col])
        if ts is None:
            bad += 1
            continue
        album_col = col.get("album")
        mbid_col = col.get("track_mbid", col.get("mbid"))
        yield Listen(
            ts=ts,
            artist=row[col["artist"]] or None,
            title=row[title_col] or None,
            album=(row[album_col] or None) if album_col is not None else None,
            mbid=(row[mbid_col] or None) if mbid_col is not None and mbid_col < len(row) else None,
        )
    if bad and bad == len(body):
        raise SegueError(f"{path} is not a Last.fm scrobble CSV (no row has a date)")
