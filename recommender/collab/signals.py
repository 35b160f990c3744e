"""From listening events to learning signal, and from timestamps to sessions.

A play is an implicit positive weighted by how much of the track was heard: a completed
play counts far more than a partial one. A skip (stopping within the first
``skip_seconds``, or before half of a track shorter than twice that) is a negative. Seeking
inside a track is not a skip: only where playback finally stopped counts. A like is a strong
positive; a dislike bans the track from automatic picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from recommender import api

SEEK = "seek"  # a position change inside a track: never a skip, never a play
DEFAULT_SESSION_GAP_S = 30 * 60.0


class Signal(Enum):
    PLAY = "play"  # a positive listen (complete or partial)
    SKIP = "skip"  # a negative: abandoned early
    LIKE = "like"
    UNLIKE = "unlike"
    BAN = "ban"
    IGNORE = "ignore"  # seeks and unknown kinds: nothing to learn


@dataclass(frozen=True)
class SignalConfig:
    skip_seconds: float = 30.0
    complete_fraction: float = 0.9  # heard this much: a completed play
    complete_weight: float = 1.0
    partial_weight: float = 0.4  # the most a partial play can weigh (scaled by the fraction)
    skip_weight: float = -1.0
    like_weight: float = 3.0


@dataclass(frozen=True)
class Weighted:
    signal: Signal
    weight: float


def skip_threshold_s(duration_s: float | None, config: SignalConfig) -> float:
    """Stopping before this many seconds is a skip: N s, or half of a short track."""
    if duration_s is None or duration_s <= 0:
        return config.skip_seconds
    return min(config.skip_seconds, duration_s / 2.0)


def weigh(event: api.Event, config: SignalConfig | None = None) -> Weighted:
    """Classify one event and give its learning weight (negative for skips)."""
    cfg = config or SignalConfig()
    kind = event.kind
    if kind == api.LIKE:
        return Weighted(Signal.LIKE, cfg.like_weight)
    if kind == api.UNLIKE:
        return Weighted(Signal.UNLIKE, -cfg.like_weight)
    if kind == api.DISLIKE:
        return Weighted(Signal.BAN, 0.0)
    if kind not in (api.PLAY, api.SKIP):
        return Weighted(Signal.IGNORE, 0.0)
    position = event.position_s
    if position is None:
        # A play with no stop position ran to its end; a bare skip is a skip.
        if kind == api.SKIP:
            return Weighted(Signal.SKIP, cfg.skip_weight)
        return Weighted(Signal.PLAY, cfg.complete_weight)
    if position < skip_threshold_s(event.duration_s, cfg):
        return Weighted(Signal.SKIP, cfg.skip_weight)
    if event.duration_s is None or event.duration_s <= 0:
        # Heard past the skip threshold of a track of unknown length: a partial play at best
        # if the user pressed "next", a full one if it simply ended.
        weight = cfg.partial_weight if kind == api.SKIP else cfg.complete_weight
        return Weighted(Signal.PLAY, weight)
    fraction = min(1.0, position / event.duration_s)
    if fraction >= cfg.complete_fraction:
        return Weighted(Signal.PLAY, cfg.complete_weight)
    return Weighted(Signal.PLAY, cfg.partial_weight * fraction)


class Sessioniser:
    """Incremental session keys: a new session at an explicit id change or a long gap."""

    def __init__(self, gap_s: float = DEFAULT_SESSION_GAP_S) -> None:
        self.gap_s = gap_s
        self.current = -1
        self._last_ts: float | None = None
        self._last_explicit: str | int | None = None

    def key(self, ts: float, explicit: str | int | None = None) -> int:
        """The dense session number of an event at ``ts`` (events arrive in time order)."""
        first = self._last_ts is None
        if explicit is not None:
            # Explicit ids are authoritative: a long pause inside one session does not split it.
            new = first or explicit != self._last_explicit
        else:
            new = (
                first
                or self._last_explicit is not None
                or (self._last_ts is not None and ts - self._last_ts > self.gap_s)
            )
        if new:
            self.current += 1
        self._last_ts = ts
        self._last_explicit = explicit
        return self.current


def session_ids(
    ts: npt.ArrayLike,
    users: npt.ArrayLike | None = None,
    explicit: npt.ArrayLike | None = None,
    gap_s: float = DEFAULT_SESSION_GAP_S,
) -> npt.NDArray[np.int64]:
    """Vectorised sessionisation of a log in (user, time) order.

    A session starts at the first row, where the user changes, where the explicit session id
    changes (when given; use -1 for "none") or after a gap longer than ``gap_s``.
    Returns dense session numbers 0..S-1 in row order.
    """
    t = np.asarray(ts, dtype=np.float64)
    if t.size == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.zeros(t.size, dtype=bool)
    start[0] = True
    start[1:] = np.diff(t) > gap_s
    if explicit is not None:
        e = np.asarray(explicit)
        has = e >= 0
        # Explicit ids are authoritative where present; the gap rule covers the rest.
        start[1:] = np.where(has[1:] & has[:-1], e[1:] != e[:-1], start[1:] | (has[1:] != has[:-1]))
    if users is not None:
        u = np.asarray(users)
        start[1:] |= u[1:] != u[:-1]
    result: npt.NDArray[np.int64] = np.cumsum(start) - 1
    return result


# Integer codes of event kinds, for logs held as arrays.
KIND_CODES: dict[str, int] = {
    api.PLAY: 0,
    api.SKIP: 1,
    api.LIKE: 2,
    api.DISLIKE: 3,
    api.UNLIKE: 4,
    SEEK: 5,
}
SIGNAL_CODES: dict[Signal, int] = {s: i for i, s in enumerate(Signal)}


@dataclass
class EventLog:
    """An events log as parallel arrays (what the player reads from its DB in one query).

    ``session`` is -1 where there is no explicit session id; ``position_s``/``duration_s`` are
    NaN where unknown; ``artist``/``album`` are -1 where unknown.
    """

    item: npt.NDArray[np.int64]
    ts: npt.NDArray[np.float64]
    kind: npt.NDArray[np.int8]
    session: npt.NDArray[np.int64]
    position_s: npt.NDArray[np.float64]
    duration_s: npt.NDArray[np.float64]
    artist: npt.NDArray[np.int64]
    album: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.item.size)

    def take(self, rows: npt.NDArray[np.integer]) -> EventLog:
        """These rows (in this order) as a log of their own (fresh arrays)."""
        return EventLog(
            item=self.item[rows],
            ts=self.ts[rows],
            kind=self.kind[rows],
            session=self.session[rows],
            position_s=self.position_s[rows],
            duration_s=self.duration_s[rows],
            artist=self.artist[rows],
            album=self.album[rows],
        )

    @classmethod
    def plays(
        cls,
        item: npt.ArrayLike,
        ts: npt.ArrayLike,
        session: npt.ArrayLike | None = None,
        artist: npt.ArrayLike | None = None,
    ) -> EventLog:
        """A log of completed plays (what a listening history file holds)."""
        items = np.asarray(item, dtype=np.int64)
        n = items.size

        def ints(values: npt.ArrayLike | None) -> npt.NDArray[np.int64]:
            if values is None:
                return np.full(n, -1, dtype=np.int64)
            return np.asarray(values, dtype=np.int64)

        return cls(
            item=items,
            ts=np.asarray(ts, dtype=np.float64),
            kind=np.zeros(n, dtype=np.int8),
            session=ints(session),
            position_s=np.full(n, np.nan),
            duration_s=np.full(n, np.nan),
            artist=ints(artist),
            album=np.full(n, -1, dtype=np.int64),
        )

    @classmethod
    def from_events(cls, events: list[api.Event] | tuple[api.Event, ...]) -> EventLog:
        """Arrays from event objects; string session ids become dense integers."""
        session_codes: dict[str | int, int] = {}
        sessions = [
            -1 if e.session is None else session_codes.setdefault(e.session, len(session_codes))
            for e in events
        ]
        nan = float("nan")
        return cls(
            item=np.fromiter((e.item for e in events), np.int64, len(events)),
            ts=np.fromiter((e.ts for e in events), np.float64, len(events)),
            kind=np.fromiter((KIND_CODES.get(e.kind, -1) for e in events), np.int8, len(events)),
            session=np.asarray(sessions, dtype=np.int64),
            position_s=np.fromiter(
                (nan if e.position_s is None else e.position_s for e in events),
                np.float64,
                len(events),
            ),
            duration_s=np.fromiter(
                (nan if e.duration_s is None else e.duration_s for e in events),
                np.float64,
                len(events),
            ),
            artist=np.fromiter(
                (-1 if e.artist is None else e.artist for e in events), np.int64, len(events)
            ),
            album=np.fromiter(
                (-1 if e.album is None else e.album for e in events), np.int64, len(events)
            ),
        )


def weigh_log(
    log: EventLog, config: SignalConfig | None = None
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64]]:
    """Vectorised :func:`weigh`: each row's signal code (``SIGNAL_CODES``) and weight."""
    cfg = config or SignalConfig()
    n = len(log)
    code = {s: SIGNAL_CODES[s] for s in Signal}
    signal = np.full(n, code[Signal.IGNORE], dtype=np.int8)
    weight = np.zeros(n, dtype=np.float64)
    k = log.kind
    signal[k == KIND_CODES[api.LIKE]] = code[Signal.LIKE]
    weight[k == KIND_CODES[api.LIKE]] = cfg.like_weight
    signal[k == KIND_CODES[api.UNLIKE]] = code[Signal.UNLIKE]
    weight[k == KIND_CODES[api.UNLIKE]] = -cfg.like_weight
    signal[k == KIND_CODES[api.DISLIKE]] = code[Signal.BAN]

    is_play, is_skip = k == KIND_CODES[api.PLAY], k == KIND_CODES[api.SKIP]
    listen = is_play | is_skip
    pos, dur = log.position_s, log.duration_s
    known_dur = np.isfinite(dur) & (dur > 0)
    threshold = np.where(known_dur, np.minimum(cfg.skip_seconds, dur / 2.0), cfg.skip_seconds)
    known_pos = np.isfinite(pos)
    skipped = listen & ((known_pos & (pos < threshold)) | (~known_pos & is_skip))
    played = listen & ~skipped
    fraction = np.where(
        known_dur & known_pos, np.minimum(1.0, pos / np.where(known_dur, dur, 1)), 1
    )
    w_play = np.where(
        fraction >= cfg.complete_fraction, cfg.complete_weight, cfg.partial_weight * fraction
    )
    # Past the threshold with no known length: "next" makes it partial, the end makes it full.
    w_play = np.where(known_pos & ~known_dur & is_skip, cfg.partial_weight, w_play)
    signal[played] = code[Signal.PLAY]
    weight[played] = w_play[played]
    signal[skipped] = code[Signal.SKIP]
    weight[skipped] = cfg.skip_weight
    return signal, weight
