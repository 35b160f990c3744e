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
import math
import time
from collections import Counter
from dataclasses import dataclass, field
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


# A time outside these bounds cannot be a real listen: it is skipped, and counted.
EARLIEST_TS = 631_152_000.0  # 1990-01-01 UTC, before any digital listening log
FUTURE_SLACK_S = 60.0  # as `segue log --at`: clocks of the machines may differ a little


class Skip(Exception):
    """One entry of a history that cannot be a listen; ``str()`` says why, in a few words."""


def listen_time(value: Any, now: float) -> float:
    """A listen's Unix time in seconds from a number an export gives, or :class:`Skip`.

    Milliseconds (Last.fm CSVs, some scripts), microseconds and nanoseconds are told by
    their size: anything past 1e11 (the year 5138 in seconds, 1973 in milliseconds) is
    divided by 1000 until it is not. NaN, infinities, times in the future (beyond the
    slack ``segue log --at`` allows) and before 1990 are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Skip("unreadable time")
    ts = float(value)
    if not math.isfinite(ts):
        raise Skip("unreadable time")
    for _ in range(3):  # ms, µs, ns
        if ts <= 1e11:
            break
        ts /= 1000.0
    if ts > now + FUTURE_SLACK_S:
        raise Skip("time in the future")
    if ts < EARLIEST_TS:
        raise Skip("time before 1990")
    return ts


@dataclass
class History:
    """What a history file holds: its source, the listens read and the entries skipped
    (how many, by reason)."""

    source: str
    listens: list[Listen]
    skipped: Counter[str] = field(default_factory=Counter)

    def skipped_line(self) -> str:
        """'3 skipped (2 time in the future, 1 unreadable time)', or '' when none were."""
        total = sum(self.skipped.values())
        if not total:
            return ""
        why = ", ".join(f"{n} {reason}" for reason, n in self.skipped.most_common())
        return f"{total} skipped ({why})"


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
    history = read_history(path)
    return history.source, history.listens


def read_history(path: Path, now: float | None = None) -> History:
    """The listens of a Segue, ListenBrainz, Last.fm or Spotify streaming-history file
    (or a folder of Spotify history files), with the entries skipped and why. ``now``
    (default: the clock) bounds the times accepted."""
    now = time.time() if now is None else now
    if path.is_dir():
        return _spotify_folder(path, now)
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
        spotify = _spotify(stripped, path, now)
        if spotify is not None:
            return spotify
    if stripped.startswith(("[", "{")):
        items, ours = _json_items(stripped, path)
        segue = History("segue", [])
        if ours:  # Segue's own document: whatever else is in its list is skipped
            for item in items:
                if not _read(segue, _segue_event, item, now):
                    segue.skipped["not an event"] += 1
            return segue
        if items and all(_read(segue, _segue_event, item, now) for item in items):
            return segue
        listenbrainz = History("listenbrainz", [])
        recognised = sum(_read(listenbrainz, _listenbrainz, item, now) for item in items)
        if items and not recognised:
            raise _refuse(path, " (no listen or event in it)")
        if recognised < len(items):
            listenbrainz.skipped["not a listen"] += len(items) - recognised
        return listenbrainz
    try:
        return _lastfm(text, path, now)
    except csv.Error:
        raise _refuse(path) from None


class _NotThisFormat(Exception):
    """The entry is not of the format tried (as opposed to one of it that is bad)."""


def _read(history: History, parse: Any, item: Any, now: float) -> bool:
    """Parse one entry into ``history``: True when it is of this format (read or skipped)."""
    try:
        history.listens.append(parse(item, now))
    except _NotThisFormat:
        return False
    except Skip as why:
        history.skipped[str(why)] += 1
    except (TypeError, ValueError, AttributeError, OverflowError):  # a field of a wrong type
        history.skipped["malformed entry"] += 1
    return True


def _json_items(text: str, path: Path) -> tuple[list[Any], bool]:
    """The entries of a JSON (or JSON Lines) history, and whether it is Segue's own
    export document."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        try:  # JSON Lines
            return [json.loads(line) for line in text.splitlines() if line.strip()], False
        except json.JSONDecodeError as exc:
            raise _refuse(path, f" (bad JSON: {exc.msg})") from None
    except RecursionError:
        raise _refuse(path, " (JSON nested too deep)") from None
    if isinstance(data, list):
        return data, False
    if isinstance(data, dict) and "segue_history_version" in data:
        events = data.get("events")
        if not isinstance(events, list):
            raise _refuse(path, " (no events list)")
        return events, True
    if isinstance(data, dict) and isinstance(data.get("payload"), dict):
        listens = data["payload"].get("listens", [])
        return (listens if isinstance(listens, list) else [listens]), False
    return [data], False


MAX_MS = 2**31 - 1  # 24.8 days: no position in, or length of, a track is longer


def _ms(value: Any, what: str) -> float | None:
    """A position or length in milliseconds (None when absent), or :class:`Skip`."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise Skip(f"unreadable {what}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Skip(f"unreadable {what}")
    if not (math.isfinite(value) and 0 <= value <= MAX_MS):
        raise Skip(f"impossible {what}")
    return float(value)


def _int_ms(value: Any, what: str) -> int | None:
    ms = _ms(value, what)
    return None if ms is None else int(ms)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _path_or_none(value: Any) -> str | None:
    """An exported path: as written, or the ``bytes:`` form of a name that is not UTF-8."""
    text = _text_or_none(value)
    return from_db(text) if text is not None else None


def _segue_event(item: Any, now: float) -> Listen:
    """One event of Segue's own export."""
    if not isinstance(item, dict) or item.get("kind") not in KINDS or "ts" not in item:
        raise _NotThisFormat
    ts = listen_time(item["ts"], now)
    if not any(_text_or_none(item.get(k)) for k in ("path", "title", "mb_track_id")):
        raise _NotThisFormat
    return Listen(
        ts=ts,
        artist=_text_or_none(item.get("artist")),
        title=_text_or_none(item.get("title")),
        album=_text_or_none(item.get("album")),
        mbid=_text_or_none(item.get("mb_track_id")),
        kind=str(item["kind"]),
        path=_path_or_none(item.get("path")),
        position_ms=_int_ms(item.get("position_ms"), "position"),
        duration_ms=_int_ms(item.get("duration_ms"), "duration"),
        session_id=_text_or_none(item.get("session_id")),
        source=_text_or_none(item.get("source")),
    )


def _listenbrainz(item: Any, now: float) -> Listen:
    if not isinstance(item, dict) or "listened_at" not in item:
        raise _NotThisFormat
    try:
        ts = float(item["listened_at"])
    except (TypeError, ValueError):
        raise Skip("unreadable time") from None
    ts = listen_time(ts, now)
    meta = _object(item.get("track_metadata"))
    info = _object(meta.get("additional_info"), nested=True)
    mapping = _object(meta.get("mbid_mapping"), nested=True)
    listen = Listen(
        ts=ts,
        artist=_text_or_none(meta.get("artist_name")),
        title=_text_or_none(meta.get("track_name")),
        album=_text_or_none(meta.get("release_name")),
        mbid=_text_or_none(info.get("recording_mbid"))
        or _text_or_none(mapping.get("recording_mbid")),
    )
    if listen.title is None and listen.mbid is None:
        raise Skip("no track name")
    return listen


def _object(value: Any, nested: bool = False) -> dict[str, Any]:
    """A JSON object of an entry ({} when absent; a nested extra of another type is
    ignored, the entry itself of another type is skipped)."""
    if isinstance(value, dict):
        return value
    if value is None or nested:
        return {}
    raise Skip("malformed entry")


def _spotify_folder(folder: Path, now: float) -> History:
    files = sorted(
        p for p in folder.glob("*.json") if p.name.lower().startswith(("streaming", "endsong"))
    )
    if not files:
        raise SegueError(f"{folder} holds no Spotify streaming-history files (*.json)")
    history = History("spotify", [])
    for file in files:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SegueError(f"cannot read {file}: {exc}") from None
        found = _spotify(text.lstrip(), file, now)
        if found is None:
            raise SegueError(f"{file} is not a Spotify streaming-history file")
        history.listens.extend(found.listens)
        history.skipped.update(found.skipped)
    history.listens.sort(key=lambda listen: listen.ts)
    return history


def _spotify(text: str, path: Path, now: float) -> History | None:
    """Spotify's streaming history, or None when the JSON is not one."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SegueError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return None
    first = data[0]
    if "endTime" in first and "trackName" in first:  # account data: end time to the minute
        parse = _spotify_account
    elif "ts" in first and ("master_metadata_track_name" in first or "ms_played" in first):
        parse = _spotify_extended
    else:
        return None
    history = History("spotify", [])
    for row in data:
        try:
            listen = parse(row, now)
        except Skip as why:
            history.skipped[str(why)] += 1
        except (TypeError, ValueError, AttributeError, OverflowError):
            history.skipped["malformed entry"] += 1
        else:
            if listen is not None:
                history.listens.append(listen)
    return history


def _spotify_end(value: Any) -> float:
    end = _parse_date(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    if end is None:
        raise Skip("unreadable date")
    return end


def _spotify_account(row: Any, now: float) -> Listen | None:
    """A record of the account data's StreamingHistory*.json."""
    if not isinstance(row, dict):
        raise Skip("malformed entry")
    end = _spotify_end(row.get("endTime"))
    played = _ms(row.get("msPlayed"), "play length") or 0.0
    title, artist = _text_or_none(row.get("trackName")), _text_or_none(row.get("artistName"))
    if not title or not artist:
        return None
    return Listen(
        listen_time(end - played / 1000.0, now), artist, title, None, None, ms_played=played
    )


def _spotify_extended(row: Any, now: float) -> Listen | None:
    """A record of the extended Streaming_History_Audio_*.json."""
    if not isinstance(row, dict):
        raise Skip("malformed entry")
    end = _spotify_end(row.get("ts"))
    title = _text_or_none(row.get("master_metadata_track_name"))
    artist = _text_or_none(row.get("master_metadata_album_artist_name"))
    if not title or not artist:  # podcasts, audiobooks, unavailable tracks
        return None
    played = _ms(row.get("ms_played"), "play length") or 0.0
    skipped = bool(row.get("skipped")) or row.get("reason_end") == "fwdbtn"
    return Listen(
        listen_time(end - played / 1000.0, now),
        artist,
        title,
        _text_or_none(row.get("master_metadata_album_album_name")),
        None,
        ms_played=played,
        skipped=skipped,
    )


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


def _lastfm(text: str, path: Path, now: float) -> History:
    history = History("lastfm", [])
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return history
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
    album_col = col.get("album")
    mbid_col = col.get("track_mbid", col.get("mbid"))

    def cell(row: list[str], i: int | None) -> str | None:
        return (row[i].strip() or None) if i is not None and i < len(row) else None

    unreadable = 0
    for row in body:
        if len(row) <= max(date_col, title_col, col["artist"]):
            history.skipped["short row"] += 1
            unreadable += 1
            continue
        ts = _parse_date(row[date_col])
        if ts is None:
            history.skipped["unreadable date"] += 1
            unreadable += 1
            continue
        try:
            ts = listen_time(ts, now)
        except Skip as why:
            history.skipped[str(why)] += 1
            continue
        history.listens.append(
            Listen(
                ts=ts,
                artist=cell(row, col["artist"]),
                title=cell(row, title_col),
                album=cell(row, album_col),
                mbid=cell(row, mbid_col),
            )
        )
    if unreadable and unreadable == len(body):
        raise SegueError(f"{path} is not a Last.fm scrobble CSV (no row has a date)")
    return history
