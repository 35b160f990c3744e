"""The listening-log format ``segue eval`` reads: a TSV whose header names its columns.

Required: ``track``, ``artist`` and ``timestamp`` (Unix seconds). Optional: ``user`` (one
listener when absent), ``session`` (empty or absent: sessions split at 30-minute gaps),
``ms_played`` and ``skipped`` (1/0/empty), used when present. Track, artist, user and
session may be integer ids or names (real exports hold names); other columns are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from recommender.collab.signals import DEFAULT_SESSION_GAP_S, session_ids

HEADER = ("user", "session", "track", "artist", "timestamp")
REQUIRED = ("track", "artist", "timestamp")
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class LogFormatError(ValueError):
    """The log is not in the expected format; the message names the line."""


def _nan(n: int) -> FloatArray:
    return np.full(n, np.nan, dtype=np.float64)


@dataclass
class ListeningLog:
    """A log in time order with dense ids: items and artists 0..n-1, sessions 0..S-1.

    ``ms_played`` and ``skipped`` (1.0 / 0.0) are NaN where the log does not say."""

    user: IntArray
    session: IntArray
    item: IntArray
    artist: IntArray
    ts: FloatArray
    item_artist: IntArray  # each catalogue item's artist
    n_items: int
    n_artists: int
    ms_played: FloatArray = field(default_factory=lambda: _nan(0))
    skipped: FloatArray = field(default_factory=lambda: _nan(0))
    item_names: list[str] = field(default_factory=list)  # by dense item, when known

    def __post_init__(self) -> None:
        n = int(self.item.size)
        if self.ms_played.size != n:
            self.ms_played = _nan(n)
        if self.skipped.size != n:
            self.skipped = _nan(n)

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
            self.ms_played[rows],
            self.skipped[rows],
            self.item_names,
        )


def _number(text: str) -> float:
    """An optional numeric field: NaN when empty."""
    text = text.strip()
    return float(text) if text else np.nan


def _skip_flag(text: str) -> float:
    text = text.strip().lower()
    if not text:
        return np.nan
    if text in ("1", "true", "yes"):
        return 1.0
    if text in ("0", "false", "no"):
        return 0.0
    raise ValueError(text)


def parse_log(lines: Iterable[str], gap_s: float = DEFAULT_SESSION_GAP_S) -> ListeningLog:
    """Parse the TSV lines (header first). Raises :class:`LogFormatError` on bad input."""
    it = iter(lines)
    header = next(it, None)
    while header is not None and not header.strip():
        header = next(it, None)
    if header is None:
        raise LogFormatError(
            "the file is empty (expected a tab-separated header with track, artist and "
            "timestamp columns)"
        )
    names = [f.strip().lower() for f in header.lstrip("\ufeff").rstrip("\r\n").split("\t")]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise LogFormatError(
            f"line 1: no {' or '.join(repr(m) for m in missing)} column in the header "
            "(expected tab-separated columns user, session, track, artist, timestamp; "
            "optional ms_played, skipped)"
        )
    col = {name: names.index(name) for name in (*HEADER, "ms_played", "skipped") if name in names}
    width = len(names)
    columns: dict[str, list[str]] = {name: [] for name in col if name != "timestamp"}
    stamps: list[float] = []
    played: list[float] = []
    skipped: list[float] = []
    for number, line in enumerate(it, start=2):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        fields = text.split("\t")
        if len(fields) < width:
            raise LogFormatError(
                f"line {number}: expected {width} tab-separated fields, got {len(fields)}"
            )
        try:
            stamps.append(float(fields[col["timestamp"]]))
        except ValueError:
            raise LogFormatError(
                f"line {number}: the timestamp {fields[col['timestamp']]!r} is not a number "
                "(Unix seconds)"
            ) from None
        for name, values in columns.items():
            values.append(fields[col[name]].strip())
        if not columns["track"][-1]:
            raise LogFormatError(f"line {number}: the track field is empty")
        try:
            if "ms_played" in col:
                played.append(_number(fields[col["ms_played"]]))
            if "skipped" in col:
                skipped.append(_skip_flag(fields[col["skipped"]]))
        except ValueError:
            raise LogFormatError(
                f"line {number}: ms_played must be a number and skipped 1, 0 or empty"
            ) from None
    if not stamps:
        raise LogFormatError("the log has a header but no plays")
    n = len(stamps)
    return from_arrays(
        _codes(columns.get("user", [""] * n)),
        _codes(columns.get("session", [""] * n), empty=-1),
        columns["track"],
        columns["artist"],
        stamps,
        gap_s,
        ms_played=played or None,
        skipped=skipped or None,
    )


def _codes(values: Sequence[str], empty: int | None = None) -> IntArray:
    """Integer ids as they are; names as codes in order of appearance; empty as ``empty``."""
    try:
        return np.asarray(
            [int(v) if v else (empty if empty is not None else 0) for v in values], dtype=np.int64
        )
    except ValueError:
        pass
    seen: dict[str, int] = {}
    return np.asarray(
        [
            (empty if (not v and empty is not None) else seen.setdefault(v, len(seen)))
            for v in values
        ],
        dtype=np.int64,
    )


def _ids(values: Sequence[str] | npt.ArrayLike) -> tuple[npt.NDArray[np.generic], bool]:
    """Integer ids where every value is one, else the names (as a string array)."""
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.astype(np.int64), False
    try:
        return np.asarray([int(v) for v in array.tolist()], dtype=np.int64), False
    except (ValueError, TypeError):
        return array.astype(np.str_), True


def from_arrays(
    users: npt.ArrayLike,
    sessions: npt.ArrayLike,
    tracks: Sequence[str] | npt.ArrayLike,
    artists: Sequence[str] | npt.ArrayLike,
    stamps: npt.ArrayLike,
    gap_s: float = DEFAULT_SESSION_GAP_S,
    *,
    ms_played: npt.ArrayLike | None = None,
    skipped: npt.ArrayLike | None = None,
) -> ListeningLog:
    """Dense ids, dense sessions (explicit or split at gaps per user) and time order.

    Tracks and artists may be integer ids or names; a track is its (track, artist) pair
    when they are names, so two artists' songs of the same title stay apart."""
    u = np.asarray(users, dtype=np.int64)
    s = np.asarray(sessions, dtype=np.int64)
    t, named = _ids(tracks)
    a, _ = _ids(artists)
    if named:
        t = np.char.add(np.char.add(a.astype(str), "\x1f"), t.astype(str))
    ts = np.asarray(stamps, dtype=np.float64)
    n = int(ts.size)
    played = _nan(n) if ms_played is None else np.asarray(ms_played, dtype=np.float64)
    skip = _nan(n) if skipped is None else np.asarray(skipped, dtype=np.float64)
    # Sessionise in (user, time) order; the file's order breaks ties between equal stamps.
    by_user = np.lexsort((np.arange(u.size), ts, u))
    sess = np.empty(u.size, dtype=np.int64)
    sess[by_user] = session_ids(ts[by_user], users=u[by_user], explicit=s[by_user], gap_s=gap_s)
    order = np.argsort(ts, kind="stable")
    item_ids, item = _shuffled_codes(t)
    artist_ids, artist = _shuffled_codes(a)
    item_artist = np.zeros(item_ids.size, dtype=np.int64)
    item_artist[item] = artist  # a track's artist: its last row wins
    names = [str(v).split("\x1f", 1)[-1] for v in item_ids.tolist()] if named else []
    return ListeningLog(
        user=u[order],
        session=sess[order],
        item=item[order].astype(np.int64),
        artist=artist[order].astype(np.int64),
        ts=ts[order],
        item_artist=item_artist,
        n_items=int(item_ids.size),
        n_artists=int(artist_ids.size),
        ms_played=played[order],
        skipped=skip[order],
        item_names=names,
    )


def _shuffled_codes(
    values: npt.NDArray[np.generic],
) -> tuple[npt.NDArray[np.generic], IntArray]:
    """Dense codes in a fixed pseudo-random order, not in the order of the file's ids.

    Ids in real logs carry structure (a catalogue numbers an album's tracks consecutively);
    ranking ties must not be broken by it, or a strategy scores for knowing the numbering.
    """
    ids, codes = np.unique(values, return_inverse=True)
    perm = np.random.default_rng(0).permutation(ids.size)
    return ids[np.argsort(perm)], perm[codes].astype(np.int64)
