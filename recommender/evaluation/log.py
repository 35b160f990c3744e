"""The listening-log format ``segue eval`` reads: a TSV with the header
``user session track artist timestamp`` (integer ids, Unix seconds; an empty session field
means sessions split at 30-minute gaps)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recommender.signals import DEFAULT_SESSION_GAP_S, session_ids

HEADER = ("user", "session", "track", "artist", "timestamp")
IntArray = npt.NDArray[np.int64]


class LogFormatError(ValueError):
    """The log is not in the expected format; the message names the line."""


@dataclass
class ListeningLog:
    """A log in time order with dense ids: items and artists 0..n-1, sessions 0..S-1."""

    user: IntArray
    session: IntArray
    item: IntArray
    artist: IntArray
    ts: npt.NDArray[np.float64]
    item_artist: IntArray  # each catalogue item's artist
    n_items: int
    n_artists: int

    def __len__(self) -> int:
        return int(self.item.size)

    def subset(self, rows: IntArray) -> ListeningLog:
        """Some rows (kept in time order) over the same catalogue."""
        return ListeningLog(
            self.user[rows],
            self.session[rows],
            self.item[rows],
            self.artist[rows],
            self.ts[rows],
            self.item_artist,
            self.n_items,
            self.n_artists,
        )


def parse_log(lines: Iterable[str], gap_s: float = DEFAULT_SESSION_GAP_S) -> ListeningLog:
    """Parse the TSV lines (header first). Raises :class:`LogFormatError` on bad input."""
    it = iter(lines)
    header = next(it, None)
    if header is None:
        raise LogFormatError(
            "the file is empty (expected the header 'user session track artist timestamp')"
        )
    fields = header.lstrip("\ufeff").rstrip("\r\n").split("\t")  # tolerate a BOM and CRLF
    if tuple(f.strip().lower() for f in fields) != HEADER:
        raise LogFormatError(
            "line 1: expected the tab-separated header 'user session track artist timestamp'"
        )
    users: list[int] = []
    sessions: list[int] = []
    tracks: list[int] = []
    artists: list[int] = []
    stamps: list[float] = []
    for number, line in enumerate(it, start=2):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        fields = text.split("\t")
        if len(fields) != 5:
            raise LogFormatError(
                f"line {number}: expected 5 tab-separated fields, got {len(fields)}"
            )
        try:
            users.append(int(fields[0]))
            sessions.append(int(fields[1]) if fields[1].strip() else -1)
            tracks.append(int(fields[2]))
            artists.append(int(fields[3]))
            stamps.append(float(fields[4]))
        except ValueError:
            raise LogFormatError(
                f"line {number}: user, session, track and artist must be integers and the "
                "timestamp Unix seconds"
            ) from None
    if not tracks:
        raise LogFormatError("the log has a header but no plays")
    return from_arrays(users, sessions, tracks, artists, stamps, gap_s)


def from_arrays(
    users: npt.ArrayLike,
    sessions: npt.ArrayLike,
    tracks: npt.ArrayLike,
    artists: npt.ArrayLike,
    stamps: npt.ArrayLike,
    gap_s: float = DEFAULT_SESSION_GAP_S,
) -> ListeningLog:
    """Dense ids, dense sessions (explicit or split at gaps per user) and time order."""
    u = np.asarray(users, dtype=np.int64)
    s = np.asarray(sessions, dtype=np.int64)
    t = np.asarray(tracks, dtype=np.int64)
    a = np.asarray(artists, dtype=np.int64)
    ts = np.asarray(stamps, dtype=np.float64)
    # Sessionise in (user, time) order; the file's order breaks ties between equal stamps.
    by_user = np.lexsort((np.arange(u.size), ts, u))
    sess = np.empty(u.size, dtype=np.int64)
    sess[by_user] = session_ids(ts[by_user], users=u[by_user], explicit=s[by_user], gap_s=gap_s)
    order = np.argsort(ts, kind="stable")
    item_ids, item = _shuffled_codes(t)
    artist_ids, artist = _shuffled_codes(a)
    item_artist = np.zeros(item_ids.size, dtype=np.int64)
    item_artist[item] = artist  # a track's artist: its last row wins
    return ListeningLog(
        user=u[order],
        session=sess[order],
        item=item[order].astype(np.int64),
        artist=artist[order].astype(np.int64),
        ts=ts[order],
        item_artist=item_artist,
        n_items=int(item_ids.size),
        n_artists=int(artist_ids.size),
    )


def _shuffled_codes(values: IntArray) -> tuple[IntArray, IntArray]:
    """Dense codes in a fixed pseudo-random order, not in the order of the file's ids.

    Ids in real logs carry structure (a catalogue numbers an album's tracks consecutively);
    ranking ties must not be broken by it, or a strategy scores for knowing the numbering.
    """
    ids, codes = np.unique(values, return_inverse=True)
    perm = np.random.default_rng(0).permutation(ids.size)
    return ids[np.argsort(perm)], perm[codes].astype(np.int64)
