"""Read listening history: Segue's own export, or what other services exported.

Formats: Segue's ``history export`` (one JSON object ``{"segue_history_version": 1,
"events": [...]}``, or the app's JSON Lines export, one event per line), which restores
every kind of event (plays, skips, likes...) with its positions and session; a
ListenBrainz export (a JSON array of listens, or JSON Lines, as the site's "export
listens" gives); a Last.fm scrobble CSV (with or without a header row, the shape of
the common Last.fm export tools: artist, album, title, date); and a Spotify streaming
history (the account-data ``StreamingHistory*.json`` or the extended
``Streaming_History_Audio_*.json``; one file or the folder that holds them). Anything
else is refused with one line naming the file and these formats.
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
from player.library.events import KINDS
from player.library.paths import from_db

EXPECTED = (
    "expected Segue's history export (JSON), a ListenBrainz export (JSON), a Last.fm "
    "scrobble CSV or a Spotify streaming history (JSON)"
)


@dataclass(frozen=True)
class Listen:
    ts: float
    artist: str | None
    title: str | None
    album: str | None
    mbid: str | None  # MusicBrainz recording id
    # Segue's own export carries the whole event; other services' listens are plays.
    kind: str = "play"
    path: str | None = None
    position_ms: int | None = None
    duration_ms: int | None = None
    session_id: str | None = None
    source: str | None = None
    ms_played: float | None = None  # how much was heard, when the export says
    skipped: bool | None = None  # whether the listener skipped it, when the export says

    def outcome(self, duration_ms: int | None) -> tuple[str, int | None]:
        """(kind, position_ms) of the event another service's listen becomes, for a
        library track of ``duration_ms``: a skip where the export says the listener
        skipped, else a play; heard up to ``ms_played`` where the export says how much
        (Spotify), else to the end (ListenBrainz and Last.fm log only what was played)."""
        kind = "skip" if self.skipped else "play"
        if self.ms_played is None:
            return kind, duration_ms
        heard = int(self.ms_played)
        return kind, min(heard, duration_ms) if duration_ms else heard


def _refuse(path: Path, why: str = "") -> SegueError:
    return SegueError(f"{path} is not a listening history{why}: {EXPECTED}")


def read_listens(path: Path) -> tuple[str, list[Listen]]:
    """Return (source name, listens) for a Segue, ListenBrainz, Last.fm or Spotify
    streaming-history file (or a folder of Spotify history files)."""
    if path.is_dir():
        return "spotify", _spotify_folder(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SegueError(f"no such file: {path}") from None
    except UnicodeDecodeError:
        raise _refuse(path, " (it is not text)") from None
    except OSError as exc:
        raise SegueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if "\x00" in text:
        raise _refuse(path, " (it is not text)")
    stripped = text.lstrip()
    if not stripped:
        raise _refuse(path, " (it is empty)")
    if stripped.startswith("["):
        spotify = _spotify(stripped, path)
        if spotify is not None:
            return "spotify", spotify
    if stripped.startswith(("[", "{")):
        items = _json_items(stripped, path)
        segue = [_segue_event(item) for item in items]
        if items and all(event is not None for event in segue):
            return "segue", [e for e in segue if e is not None]
        listens = [listen for listen in map(_listenbrainz, items) if listen is not None]
        if items and not listens:
            raise _refuse(path, " (no listen or event in it)")
        return "listenbrainz", listens
    try:
        return "lastfm", list(_lastfm(text, path))
    except csv.Error:
        raise _refuse(path) from None


def _json_items(text: str, path: Path) -> list[Any]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        try:  # JSON Lines
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise _refuse(path, f" (bad JSON: {exc.msg})") from None
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and "segue_history_version" in data:
        events = data.get("events")
        if not isinstance(events, list):
            raise _refuse(path, " (no events list)")
        return events
    if isinstance(data, dict) and isinstance(data.get("payload"), dict):
        return list(data["payload"].get("listens", []))
    return [data]


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _path_or_none(value: Any) -> str | None:
    """An exported path: as written, or the ``bytes:`` form of a name that is not UTF-8."""
    text = _text_or_none(value)
    return from_db(text) if text is not None else None


def _segue_event(item: Any) -> Listen | None:
    """One event of Segue's own export, or None when ``item`` is not one."""
    if not isinstance(item, dict) or item.get("kind") not in KINDS:
        return None
    ts = item.get("ts")
    if not isinstance(ts, int | float) or isinstance(ts, bool):
        return None
    if not any(_text_or_none(item.get(k)) for k in ("path", "title", "mb_track_id")):
        return None
    return Listen(
        ts=float(ts),
        artist=_text_or_none(item.get("artist")),
        title=_text_or_none(item.get("title")),
        album=_text_or_none(item.get("album")),
        mbid=_text_or_none(item.get("mb_track_id")),
        kind=str(item["kind"]),
        path=_path_or_none(item.get("path")),
        position_ms=_int_or_none(item.get("position_ms")),
        duration_ms=_int_or_none(item.get("duration_ms")),
        session_id=_text_or_none(item.get("session_id")),
        source=_text_or_none(item.get("source")),
    )


def _listenbrainz(item: Any) -> Listen | None:
    if not isinstance(item, dict) or "listened_at" not in item:
        return None
    try:
        ts = float(item["listened_at"])
    except (TypeError, ValueError):
        return None
    meta = item.get("track_metadata") or {}
    info = meta.get("additional_info") or {}
    mapping = meta.get("mbid_mapping") or {}
    return Listen(
        ts=ts,
        artist=meta.get("artist_name"),
        title=meta.get("track_name"),
        album=meta.get("release_name"),
        mbid=info.get("recording_mbid") or mapping.get("recording_mbid"),
    )


def _spotify_folder(folder: Path) -> list[Listen]:
    files = sorted(
        p for p in folder.glob("*.json") if p.name.lower().startswith(("streaming", "endsong"))
    )
    if not files:
        raise SegueError(f"{folder} holds no Spotify streaming-history files (*.json)")
    listens: list[Listen] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SegueError(f"cannot read {file}: {exc}") from None
        found = _spotify(text.lstrip(), file)
        if found is None:
            raise SegueError(f"{file} is not a Spotify streaming-history file")
        listens.extend(found)
    listens.sort(key=lambda listen: listen.ts)
    return listens


def _spotify(text: str, path: Path) -> list[Listen] | None:
    """Spotify's streaming history, or None when the JSON is not one."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SegueError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return None
    first = data[0]
    if "endTime" in first and "trackName" in first:  # account data: end time to the minute
        listens = []
        for number, row in enumerate(data, start=1):
            end = _parse_date(str(row.get("endTime", "")))
            if end is None:
                raise SegueError(f"{path}: record {number} has no readable endTime")
            played = float(row.get("msPlayed") or 0.0)
            if row.get("trackName") and row.get("artistName"):
                listens.append(
                    Listen(
                        end - played / 1000.0,
                        row["artistName"],
                        row["trackName"],
                        None,
                        None,
                        ms_played=played,
                    )
                )
        return listens
    if "ts" in first and ("master_metadata_track_name" in first or "ms_played" in first):
        listens = []
        for number, row in enumerate(data, start=1):
            end = _parse_date(str(row.get("ts", "")).replace("Z", "+00:00"))
            if end is None:
                raise SegueError(f"{path}: record {number} has no readable ts")
            title = row.get("master_metadata_track_name")
            artist = row.get("master_metadata_album_artist_name")
            if not title or not artist:  # podcasts, audiobooks, unavailable tracks
                continue
            played = float(row.get("ms_played") or 0.0)
            skipped = bool(row.get("skipped")) or row.get("reason_end") == "fwdbtn"
            listens.append(
                Listen(
                    end - played / 1000.0,
                    artist,
                    title,
                    row.get("master_metadata_album_album_name"),
                    None,
                    ms_played=played,
                    skipped=skipped,
                )
            )
        return listens
    return None


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%d %b %Y %H:%M",
    "%d %b %Y, %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
)


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
