"""A stand-in listening session, used only while ``player.session`` is not available.

It speaks the same commands and snapshot shape as ``player.session.ListeningSession``
(play, queue, pause, seek, volume, like), without the recommender: Up Next holds only
what the user queued. The app prefers the real session whenever it can be imported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from player.library.db import Database
from player.library.tracks import by_id
from player.playback.backend import PlaybackBackend, State


@dataclass(frozen=True)
class NowPlaying:
    track_id: int
    title: str
    artist: str
    album: str
    path: str
    duration: float | None
    liked: bool = False
    disliked: bool = False


@dataclass(frozen=True)
class UpNextEntry:
    track_id: int
    title: str
    artist: str
    pinned: bool = True
    reason: str | None = None


@dataclass(frozen=True)
class SessionState:
    now_playing: NowPlaying | None = None
    position: float = 0.0
    duration: float | None = None
    play_state: str = "stopped"
    up_next: tuple[UpNextEntry, ...] = ()
    discover: float = 0.3
    history_paused: bool = False
    note: str | None = None
    volume: float = 1.0
    muted: bool = False
    shuffle: bool = False
    repeat: str = "off"
    autofill: bool = True


@dataclass(frozen=True)
class SessionUpdate:
    kind: str
    state: SessionState


@dataclass
class _Entry:
    info: NowPlaying
    liked: bool = False
    disliked: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class LocalSession:
    def __init__(self, db_path: str, backend: PlaybackBackend, note: str | None = None) -> None:
        self.db = Database(db_path, migrate=False)
        self.backend = backend
        self.note = note
        self._lock = threading.RLock()
        self._listeners: list[Callable[[SessionUpdate], None]] = []
        self._queue: list[NowPlaying] = []
        self._history: list[NowPlaying] = []
        self._current: NowPlaying | None = None
        self._discover = 0.3
        self._flags: dict[str, Any] = {"history_paused": False, "shuffle": False, "repeat": "off"}
        backend.add_end_listener(self._on_end)
        backend.add_state_listener(lambda _s: self._emit("state"))

    # -- listeners ------------------------------------------------------------------------

    def add_listener(self, fn: Callable[[SessionUpdate], None]) -> Callable[[], None]:
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def _emit(self, kind: str) -> None:
        update = SessionUpdate(kind, self.snapshot())
        for fn in list(self._listeners):
            fn(update)

    def snapshot(self) -> SessionState:
        with self._lock:
            state = {State.PLAYING: "playing", State.PAUSED: "paused"}.get(
                self.backend.state, "stopped"
            )
            return SessionState(
                now_playing=self._current,
                position=self.backend.position if self._current else 0.0,
                duration=(
                    self.backend.duration or (self._current.duration if self._current else None)
                ),
                play_state=state,
                up_next=tuple(UpNextEntry(t.track_id, t.title, t.artist) for t in self._queue),
                discover=self._discover,
                history_paused=bool(self._flags["history_paused"]),
                note=self.note,
                volume=self.backend.volume,
                muted=self.backend.muted,
                shuffle=bool(self._flags["shuffle"]),
                repeat=str(self._flags["repeat"]),
            )

    # -- commands -------------------------------------------------------------------------

    def _info(self, track_id: int) -> NowPlaying | None:
        t = by_id(self.db, track_id)
        if t is None:
            return None
        return NowPlaying(
            t.id, t.title or "Untitled", t.artist or "", t.album or "", t.path, t.duration
        )

    def _start(self, info: NowPlaying) -> None:
        if self._current is not None:
            self._history.append(self._current)
        self._current = info
        self.backend.load(info.path)
        self.backend.play()

    def play_track(self, track_id: int) -> None:
        with self._lock:
            info = self._info(track_id)
            if info is not None:
                self._start(info)
        self._emit("track")

    def play_next(self, track_id: int) -> None:
        with self._lock:
            info = self._info(track_id)
            if info is not None:
                self._queue.insert(0, info)
        self._emit("queue")

    def enqueue(self, track_id: int) -> None:
        with self._lock:
            info = self._info(track_id)
            if info is not None:
                self._queue.append(info)
        self._emit("queue")

    def move(self, src: int, dst: int) -> None:
        with self._lock:
            if 0 <= src < len(self._queue):
                item = self._queue.pop(src)
                self._queue.insert(max(0, min(dst, len(self._queue))), item)
        self._emit("queue")

    def remove(self, index: int) -> None:
        with self._lock:
            if 0 <= index < len(self._queue):
                del self._queue[index]
        self._emit("queue")

    def next(self) -> None:
        with self._lock:
            if self._queue:
                self._start(self._queue.pop(0))
            else:
                self.backend.stop()
        self._emit("track")

    def previous(self) -> None:
        with self._lock:
            if self._history:
                prev = self._history.pop()
                if self._current is not None:
                    self._queue.insert(0, self._current)
                self._current = None
                self._start(prev)
        self._emit("track")

    def _on_end(self, _path: str) -> None:
        self.next()

    def toggle_pause(self) -> None:
        with self._lock:
            if self.backend.state == State.PLAYING:
                self.backend.pause()
            elif self._current is not None:
                self.backend.play()
            elif self._queue:
                self._start(self._queue.pop(0))
        self._emit("state")

    def seek(self, seconds: float) -> None:
        self.backend.seek(seconds)
        self._emit("position")

    def set_volume(self, volume: float) -> None:
        self.backend.set_volume(volume)
        self._emit("volume")

    def set_muted(self, muted: bool) -> None:
        self.backend.set_muted(muted)
        self._emit("volume")

    def _verdict(self, liked: bool, disliked: bool) -> None:
        with self._lock:
            if self._current is not None:
                self._current = replace(self._current, liked=liked, disliked=disliked)
        self._emit("verdict")

    def like(self, track_id: int | None = None) -> None:
        cur = self._current
        self._verdict(not (cur.liked if cur else False), False)

    def dislike(self, track_id: int | None = None) -> None:
        self._verdict(False, True)
        self.next()

    def more_like_this(self, track_id: int) -> None:
        self._emit("queue")

    def less_like_this(self, track_id: int) -> None:
        self._emit("queue")

    def set_discover(self, value: float) -> None:
        self._discover = value
        self._emit("discover")

    def set_autofill(self, on: bool) -> None:
        self._emit("queue")

    def set_repeat(self, mode: str) -> None:
        self._flags["repeat"] = mode
        self._emit("state")

    def set_shuffle(self, on: bool) -> None:
        self._flags["shuffle"] = on
        self._emit("state")

    def set_history_paused(self, paused: bool) -> None:
        self._flags["history_paused"] = paused
        self._emit("state")

    def forget_current_play(self) -> None:
        self._emit("state")

    def close(self) -> None:
        self.backend.close()
        self.db.close()
