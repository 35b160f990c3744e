"""One track in full (the Song info dialog, `segue tracks --json`), and "Remove from
library", which keeps the file and its listening history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from player.library.db import Database
from player.library.paths import from_db

# The tags shown, in order, with their labels.
TAGS: tuple[tuple[str, str], ...] = (
    ("title", "Title"),
    ("artist", "Artist"),
    ("album", "Album"),
    ("albumartist", "Album artist"),
    ("genre", "Genre"),
    ("year", "Year"),
    ("track_number", "Track"),
    ("track_total", "Tracks"),
    ("disc_number", "Disc"),
    ("disc_total", "Discs"),
    ("composer", "Composer"),
    ("comment", "Comment"),
    ("mb_track_id", "MusicBrainz track"),
    ("mb_album_id", "MusicBrainz album"),
    ("mb_artist_id", "MusicBrainz artist"),
    ("tag_playcount", "Play count in tags"),
    ("tag_rating", "Rating in tags"),
)
# How the track sounds, as the analysis measured it.
DESCRIPTORS: tuple[tuple[str, str], ...] = (
    ("bpm", "Tempo (BPM)"),
    ("musical_key", "Key"),
    ("energy", "Energy"),
    ("brightness", "Brightness"),
    ("pulse_strength", "Pulse strength"),
    ("acousticness", "Acousticness"),
    ("loudness_db", "Loudness (dB)"),
)
_KEYS = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")


@dataclass(frozen=True)
class TrackDetails:
    id: int
    path: str
    tags: dict[str, Any]
    format: str | None
    codec: str | None
    duration: float | None
    bitrate: int | None  # bits per second
    sample_rate: int | None
    channels: int | None
    replaygain: dict[str, float | None]
    plays: int
    skips: int
    last_played: float | None
    liked: bool
    disliked: bool
    missing: bool
    removed: bool
    descriptors: dict[str, Any] = field(default_factory=dict)
    # What the music network heard in the audio, most likely first: (tag, probability).
    heard: list[tuple[str, float]] = field(default_factory=list)
    # Why the last analysis of this file failed (None: it did not, or was never tried).
    analysis_failure: str | None = None


def key_name(key: int | None, mode: int | None) -> str | None:
    if key is None or not 0 <= int(key) < 12:
        return None
    return f"{_KEYS[int(key)]} {'major' if mode == 1 else 'minor' if mode == 0 else ''}".strip()


def details(db: Database, track_id: int) -> TrackDetails | None:
    row = db.conn.execute("SELECT * FROM tracks WHERE id = ?", (track_id,)).fetchone()
    if row is None:
        return None
    listens = db.conn.execute(
        "SELECT SUM(kind = 'play'), SUM(kind = 'skip'), "
        "MAX(CASE WHEN kind IN ('play', 'skip', 'stop') THEN ts END) "
        "FROM events WHERE track_id = ?",
        (track_id,),
    ).fetchone()
    verdict = db.conn.execute(
        "SELECT kind FROM events WHERE track_id = ? "
        "AND kind IN ('like', 'unlike', 'dislike', 'undislike') ORDER BY ts DESC, id DESC LIMIT 1",
        (track_id,),
    ).fetchone()
    from recommender.audio.tags import parse_heard

    descriptors: dict[str, Any] = {}
    heard: list[tuple[str, float]] = []
    failure: str | None = None
    has_features = db.scalar(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'track_features'"
    )
    if has_features:
        features = db.conn.execute(
            "SELECT * FROM track_features WHERE track_id = ?", (track_id,)
        ).fetchone()
        if features is not None:
            for name, _ in DESCRIPTORS:
                descriptors[name] = features[name]
            descriptors["musical_key"] = key_name(features["musical_key"], features["mode"])
            heard = parse_heard(features["heard_tags"])
        failed = db.conn.execute(
            "SELECT message FROM analysis_failures WHERE track_id = ?", (track_id,)
        ).fetchone()
        failure = None if failed is None else str(failed[0])
    return TrackDetails(
        id=row["id"],
        path=from_db(row["path"]),
        tags={name: row[name] for name, _ in TAGS},
        format=row["format"],
        codec=row["codec"],
        duration=row["duration"],
        bitrate=row["bitrate"],
        sample_rate=row["sample_rate"],
        channels=row["channels"],
        replaygain={
            name: row[name]
            for name in ("rg_track_gain", "rg_track_peak", "rg_album_gain", "rg_album_peak")
        },
        plays=int(listens[0] or 0),
        skips=int(listens[1] or 0),
        last_played=listens[2],
        liked=verdict is not None and verdict[0] == "like",
        disliked=verdict is not None and verdict[0] == "dislike",
        missing=bool(row["missing"]),
        removed=bool(row["removed"]),
        descriptors=descriptors,
        heard=heard,
        analysis_failure=failure,
    )


def remove_from_library(db: Database, track_ids: list[int]) -> int:
    """Hide these tracks from the library: the files stay on disk and their listening
    history stays in the log. Returns how many were removed."""
    with db.transaction() as conn:
        return sum(
            conn.execute(
                "UPDATE tracks SET removed = 1 WHERE id = ? AND removed = 0", (track_id,)
            ).rowcount
            for track_id in track_ids
        )
