"""Queries behind the desktop app's library views: the song list, albums and artists.

The song list is fetched in two steps so that 100,000 tracks scroll smoothly: the
ordered ids of everything that matches (one cheap query, run off the GUI thread), then
the rows of the ids on screen, a page at a time, by primary key.
"""

from __future__ import annotations

from dataclasses import dataclass

from player.library.db import Database
from player.library.paths import from_db
from player.library.tracks import tracks_stamp

# The song list's order: artist, album, disc, track, title (case-insensitive).
_ORDER = (
    "COALESCE(albumartist, artist, '') COLLATE NOCASE, album COLLATE NOCASE, "
    "COALESCE(disc_number, 0), COALESCE(track_number, 0), title COLLATE NOCASE, id"
)
# Untagged tracks: an album or artist filter of "" means "Unknown album/artist".
UNKNOWN = ""
UNKNOWN_ALBUM = "Unknown album"
UNKNOWN_ARTIST = "Unknown artist"
_WHO = "COALESCE(NULLIF(albumartist, ''), NULLIF(artist, ''), '')"
# ``heard_tags``: what the music network heard ("jazz=0.71;mellow=0.05"), so the search
# box finds an untagged track by how it sounds.
_SEARCHED = ("title", "artist", "album", "genre", "heard_tags")
_FROM = "tracks LEFT JOIN track_features ON track_features.track_id = tracks.id"


@dataclass(frozen=True)
class SongRow:
    id: int
    title: str
    artist: str
    album: str
    genre: str
    duration: float | None
    track_number: int | None
    year: int | None
    missing: bool
    path: str
    heard: tuple[tuple[str, float], ...] = ()  # tags heard in the audio, likeliest first


@dataclass(frozen=True)
class AlbumRow:
    album: str
    artist: str
    year: int | None
    tracks: int
    # A track of the album, whose file (or folder) gives the cover.
    cover_track_id: int
    cover_path: str

    @property
    def title(self) -> str:
        """The album as shown ("Unknown album" for untagged tracks)."""
        return self.album or UNKNOWN_ALBUM

    @property
    def by(self) -> str:
        return self.artist or UNKNOWN_ARTIST


@dataclass(frozen=True)
class ArtistRow:
    artist: str
    tracks: int
    albums: int

    @property
    def name(self) -> str:
        """The artist as shown ("Unknown artist" for untagged tracks)."""
        return self.artist or UNKNOWN_ARTIST


def _where(
    text: str, artist: str | None, album: str | None, missing: bool
) -> tuple[str, list[object]]:
    clauses: list[str] = ["removed = 0"] if missing else ["missing = 0", "removed = 0"]
    params: list[object] = []
    for word in text.split():
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in _SEARCHED) + ")")
        params += [pattern] * len(_SEARCHED)
    if artist == UNKNOWN:
        clauses.append(f"{_WHO} = ''")
    elif artist is not None:
        clauses.append("(artist = ? COLLATE NOCASE OR albumartist = ? COLLATE NOCASE)")
        params += [artist, artist]
    if album == UNKNOWN:
        clauses.append("COALESCE(album, '') = ''")
    elif album is not None:
        clauses.append("album = ? COLLATE NOCASE")
        params.append(album)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def song_ids(
    db: Database,
    text: str = "",
    *,
    artist: str | None = None,
    album: str | None = None,
    include_missing: bool = False,
) -> list[int]:
    """Ids of the tracks matching every word of ``text`` (in title, artist, album or
    genre) and the optional artist/album filter, in the song list's order."""
    where, params = _where(text, artist, album, include_missing)
    return [
        r[0]
        for r in db.conn.execute(f"SELECT tracks.id FROM {_FROM}{where} ORDER BY {_ORDER}", params)
    ]


def songs(db: Database, ids: list[int]) -> list[SongRow]:
    """The rows of ``ids``, in the given order (ids no longer in the library are left out)."""
    from recommender.audio.tags import parse_heard

    if not ids:
        return []
    found: dict[int, SongRow] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        for r in db.conn.execute(
            "SELECT id, title, artist, album, genre, duration, track_number, year, missing, path, "
            f"heard_tags FROM {_FROM} WHERE id IN ({marks})",
            chunk,
        ):
            found[r[0]] = SongRow(
                id=r[0],
                title=r[1] or "",
                artist=r[2] or "",
                album=r[3] or "",
                genre=r[4] or "",
                duration=r[5],
                track_number=r[6],
                year=r[7],
                missing=bool(r[8]),
                path=from_db(r[9]),
                heard=tuple(parse_heard(r[10])),
            )
    return [found[i] for i in ids if i in found]


def albums(db: Database, text: str = "") -> list[AlbumRow]:
    """Every album (grouped by title and album artist), sorted by artist then title.
    Tracks without an album tag make one "Unknown album" (album ``UNKNOWN``), listed
    last; an unknown artist is ``UNKNOWN`` too."""
    where, params = _where(text, None, None, False)
    rows = db.conn.execute(
        "SELECT COALESCE(album, '') AS album_title, "
        f"CASE WHEN COALESCE(album, '') = '' THEN '' ELSE {_WHO} END AS who, "
        f"MAX(year), COUNT(*), MIN(tracks.id), MIN(path) FROM {_FROM}{where} "
        "GROUP BY album_title COLLATE NOCASE, who COLLATE NOCASE "
        "ORDER BY album_title = '', who = '', who COLLATE NOCASE, album_title COLLATE NOCASE",
        params,
    )
    return [
        AlbumRow(
            album=r[0],
            artist=r[1],
            year=r[2],
            tracks=r[3],
            cover_track_id=r[4],
            cover_path=from_db(r[5]),
        )
        for r in rows
    ]


def artists(db: Database, text: str = "") -> list[ArtistRow]:
    """Every artist with their track and album counts, sorted by name; tracks without
    an artist tag make one "Unknown artist" (artist ``UNKNOWN``), listed last."""
    where, params = _where(text, None, None, False)
    rows = db.conn.execute(
        f"SELECT {_WHO} AS who, COUNT(*), COUNT(DISTINCT NULLIF(album, '')) "
        f"FROM {_FROM}{where} "
        "GROUP BY who COLLATE NOCASE ORDER BY who = '', who COLLATE NOCASE",
        params,
    )
    return [ArtistRow(artist=r[0], tracks=r[1], albums=r[2]) for r in rows]


def library_stamp(db: Database) -> tuple[float, ...]:
    """Changes when the library views would show something else: tracks added, rescanned
    (new tags), gone missing, removed, or analysed (heard tags, a new feature version).
    One pass over the tracks table and the analysis's version index (never the vectors);
    the app asks every half-minute, on a worker."""
    analysed = db.conn.execute(
        "SELECT count(*), coalesce(sum(version), 0) FROM track_features"
    ).fetchone()
    return (*tracks_stamp(db), *(float(v) for v in analysed))


def track_path(db: Database, track_id: int) -> str | None:
    row = db.conn.execute("SELECT path FROM tracks WHERE id = ?", (track_id,)).fetchone()
    return from_db(row[0]) if row else None


def root_folders(db: Database) -> list[tuple[str, bool]]:
    """The music folders (path, online)."""
    return [
        (from_db(r[0]), bool(r[1]))
        for r in db.conn.execute("SELECT path, online FROM library_roots ORDER BY path")
    ]


def remove_root(db: Database, path: str) -> None:
    """Forget a music folder; its tracks stay (with their history) but are marked missing."""
    from player.library.paths import to_db

    with db.transaction() as conn:
        row = conn.execute("SELECT id FROM library_roots WHERE path = ?", (to_db(path),)).fetchone()
        if row is None:
            return
        conn.execute(
            "UPDATE tracks SET missing = 1, missing_since = strftime('%s','now'), root_id = NULL "
            "WHERE root_id = ?",
            (row[0],),
        )
        conn.execute("DELETE FROM library_roots WHERE id = ?", (row[0],))
