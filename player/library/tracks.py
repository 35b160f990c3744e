"""Looking tracks up: by id, by path, and by the metadata other players export."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from player.errors import SegueError
from player.library.db import Database
from player.library.paths import from_db, to_db


@dataclass(frozen=True)
class TrackInfo:
    id: int
    path: str
    title: str | None
    artist: str | None
    album: str | None
    duration: float | None
    missing: bool
    has_cover: bool = False
    has_audio: bool = True  # False: the scanner found no playable audio in the file


_COLUMNS = "id, path, title, artist, album, duration, missing, has_cover, has_audio"


def _info(row: object) -> TrackInfo:
    r = row  # sqlite3.Row
    return TrackInfo(
        id=r["id"],  # type: ignore[index]
        path=from_db(r["path"]),  # type: ignore[index]
        title=r["title"],  # type: ignore[index]
        artist=r["artist"],  # type: ignore[index]
        album=r["album"],  # type: ignore[index]
        duration=r["duration"],  # type: ignore[index]
        missing=bool(r["missing"]),  # type: ignore[index]
        has_cover=bool(r["has_cover"]),  # type: ignore[index]
        has_audio=bool(r["has_audio"]),  # type: ignore[index]
    )


def by_id(db: Database, track_id: int) -> TrackInfo | None:
    rows = db.query(f"SELECT {_COLUMNS} FROM tracks WHERE id = ?", (track_id,))
    return _info(rows[0]) if rows else None


def by_ids(db: Database, track_ids: Sequence[int]) -> dict[int, TrackInfo]:
    """The tracks with these ids, by id (ids not in the library are left out)."""
    out: dict[int, TrackInfo] = {}
    ids = sorted({int(t) for t in track_ids})
    for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for r in db.query(f"SELECT {_COLUMNS} FROM tracks WHERE id IN ({marks})", chunk):
            out[int(r["id"])] = _info(r)
    return out


def by_path(db: Database, path: str) -> TrackInfo | None:
    rows = db.query(f"SELECT {_COLUMNS} FROM tracks WHERE path = ?", (to_db(path),))
    return _info(rows[0]) if rows else None


def replaygain(db: Database, track_id: int) -> dict[str, float | None] | None:
    """The track's ReplayGain columns (rg_track_gain, rg_track_peak, rg_album_...)."""
    rows = db.query(
        "SELECT rg_track_gain, rg_track_peak, rg_album_gain, rg_album_peak FROM tracks "
        "WHERE id = ?",
        (track_id,),
    )
    return dict(rows[0]) if rows else None


def count_present(db: Database) -> int:
    """Tracks the library holds and can play (neither missing nor removed)."""
    return int(db.scalar("SELECT COUNT(*) FROM tracks WHERE missing = 0 AND removed = 0"))


def tracks_stamp(db: Database) -> tuple[float, ...]:
    """Changes when a track is added, rescanned (new tags), goes missing or is removed:
    count, highest id, missing, removed, latest change. One pass over the tracks table."""
    row = db.conn.execute(
        "SELECT count(*), coalesce(max(id), 0), coalesce(sum(missing), 0), "
        "coalesce(sum(removed), 0), coalesce(max(updated_at), 0) FROM tracks"
    ).fetchone()
    return tuple(float(v) for v in row)


def most_played_by_artist(db: Database, name: str) -> int | None:
    """The playable track most listened to among those whose artist contains ``name``."""
    rows = db.query(
        "SELECT t.id FROM tracks t LEFT JOIN events e ON e.track_id = t.id "
        "WHERE t.missing = 0 AND t.removed = 0 AND t.has_audio = 1 AND t.artist LIKE ? "
        "GROUP BY t.id ORDER BY COUNT(e.id) DESC, t.id LIMIT 1",
        (f"%{name}%",),
    )
    return int(rows[0]["id"]) if rows else None


def resolve(db: Database, ref: str) -> TrackInfo:
    """A track from what a user typed: a library id or a file path."""
    if ref.isdigit():
        found = by_id(db, int(ref))
        if found is not None:
            return found
    path = os.path.abspath(os.path.expanduser(ref))
    found = by_path(db, path)
    if found is None and os.path.exists(path):
        found = by_path(db, os.path.realpath(path))
    if found is None:
        if ref.isdigit():
            raise SegueError(f"no track with id {ref} in the library")
        if os.path.exists(path):
            raise SegueError(f"{ref} is not in the library: run 'segue scan' on its folder")
        raise SegueError(f"no such track: {ref}")
    return found


# -- matching other players' listens to library tracks ---------------------------------

_FEAT = re.compile(r"\s*[\(\[]?\s*(feat\.?|ft\.?|featuring)\s.*$", re.IGNORECASE)
_BRACKETS = re.compile(r"\s*[\(\[][^)\]]*(remaster|version|edit|mono|stereo)[^)\]]*[\)\]]", re.I)
_NON_WORD = re.compile(r"[^\w]+")


def match_key(artist: str | None, title: str | None) -> str | None:
    """Normalised "artist|title": case, accents, punctuation, "The", feat. and remaster
    notes removed, so "The Beatles – Let It Be (Remastered 2009)" matches "beatles|let it be"."""
    if not artist or not title:
        return None

    def norm(text: str, *, drop_the: bool) -> str:
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
        text = text.replace("&", " and ")
        text = _NON_WORD.sub(" ", text).strip()
        if drop_the and text.startswith("the "):
            text = text[4:]
        return text

    first_artist = re.split(r"\s*;\s*", artist)[0]
    clean_title = _BRACKETS.sub("", _FEAT.sub("", title))
    return f"{norm(_FEAT.sub('', first_artist), drop_the=True)}|{norm(clean_title, drop_the=False)}"


@dataclass
class TrackMatcher:
    """Finds library tracks by MusicBrainz recording id, then by artist + title."""

    by_mbid: dict[str, int]
    by_key: dict[str, int]
    durations: dict[int, float | None]

    @classmethod
    def load(cls, db: Database) -> TrackMatcher:
        by_mbid: dict[str, int] = {}
        by_key: dict[str, int] = {}
        durations: dict[int, float | None] = {}
        # Present files first, so a missing duplicate never wins over a playable one.
        for row in db.query(
            "SELECT id, mb_track_id, artist, title, duration FROM tracks ORDER BY missing, id"
        ):
            durations[row["id"]] = row["duration"]
            if row["mb_track_id"]:
                by_mbid.setdefault(row["mb_track_id"].strip().lower(), row["id"])
            key = match_key(row["artist"], row["title"])
            if key:
                by_key.setdefault(key, row["id"])
        return cls(by_mbid, by_key, durations)

    def match(self, mbid: str | None, artist: str | None, title: str | None) -> int | None:
        if mbid:
            found = self.by_mbid.get(mbid.strip().lower())
            if found is not None:
                return found
        key = match_key(artist, title)
        return self.by_key.get(key) if key else None


def playable_ids(db: Database, track_ids: Sequence[int]) -> set[int]:
    """Which of these tracks can still play (present, holding audio, in the library)."""
    wanted = sorted({int(t) for t in track_ids})
    found: set[int] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            row[0]
            for row in db.query(
                f"SELECT id FROM tracks WHERE id IN ({marks}) "
                "AND missing = 0 AND has_audio = 1 AND removed = 0",
                chunk,
            )
        )
    return found
