"""The null backend: no sound, an in-memory clock.

Used by the tests (the clock moves only when ``advance()`` is called, so a test controls
time exactly) and by the app on machines without libVLC (``realtime=True``: a small
thread advances the clock by wall time, so the queue, the listening log and the UI keep
working and the user is told that playback is unavailable).

It behaves like an engine: a track lasts its real length (read with mutagen), a file that
holds no audio fails with a reason, a prepared next track starts with no gap.
Listeners run on the thread that advanced the clock (the test's, or the ticker thread).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from player.playback.backend import PlaybackBackend, State, clamp_volume, output_amplitude
from player.playback.probe import probe_audio

_Emit = Callable[[], None]


@dataclass
class _Track:
    path: str
    gain: float
    duration: float | None
    error: str | None


class NullBackend(PlaybackBackend):
    name = "none"

    def __init__(self, *, realtime: bool = False, tick_seconds: float = 0.05) -> None:
        super().__init__()
        # Re-entrant: listeners run after the lock is released, but may call back in.
        self._lock = threading.RLock()
        self._state = State.IDLE
        self._current: _Track | None = None
        self._next: _Track | None = None
        self._position = 0.0
        self._volume = 1.0
        self._muted = False
        self._closed = threading.Event()
        self._ticker: threading.Thread | None = None
        if realtime:
            self._ticker = threading.Thread(
                target=self._tick, args=(tick_seconds,), name="segue-null-clock", daemon=True
            )
            self._ticker.start()

    # -- the clock -------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the clock forward; a playing track moves on, ends, and hands over."""
        emits: list[_Emit] = []
        with self._lock:
            if self._state is State.PLAYING and self._current is not None:
                self._position += max(0.0, seconds)
                while self._state is State.PLAYING and self._current is not None:
                    length = self._current.duration or 0.0
                    if self._position < length:
                        break
                    leftover = self._position - length
                    ended = self._current.path
                    emits.append(lambda p=ended: self._emit_end(p))  # type: ignore[misc]
                    self._continue_with_next(emits, leftover)
        self._fire(emits)

    def _tick(self, tick_seconds: float) -> None:
        last = time.monotonic()
        while not self._closed.wait(tick_seconds):
            now = time.monotonic()
            self.advance(now - last)
            last = now

    # -- commands --------------------------------------------------------------------------

    def load(self, path: str, gain: float = 1.0) -> None:
        track = self._make_track(path, gain)
        emits: list[_Emit] = []
        with self._lock:
            self._current = track
            self._position = 0.0
            self._set_state(State.LOADED, emits)
        self._fire(emits)

    def set_next(self, path: str | None, gain: float = 1.0) -> None:
        track = None if path is None else self._make_track(path, gain)
        with self._lock:
            self._next = track

    def play(self) -> None:
        emits: list[_Emit] = []
        with self._lock:
            track = self._current
            if track is None or self._state is State.PLAYING:
                return
            if self._state is State.PAUSED:
                self._set_state(State.PLAYING, emits)
            elif track.error is not None:
                self._fail_current(emits)
            else:
                if self._state is State.STOPPED:
                    self._position = 0.0
                self._set_state(State.PLAYING, emits)
                emits.append(lambda p=track.path: self._emit_start(p))  # type: ignore[misc]
        self._fire(emits)

    def pause(self) -> None:
        emits: list[_Emit] = []
        with self._lock:
            if self._state is State.PLAYING:
                self._set_state(State.PAUSED, emits)
        self._fire(emits)

    def stop(self) -> None:
        emits: list[_Emit] = []
        with self._lock:
            if self._current is not None and self._state in (State.PLAYING, State.PAUSED):
                self._position = 0.0
                self._set_state(State.LOADED, emits)
        self._fire(emits)

    def seek(self, seconds: float) -> None:
        with self._lock:
            if self._current is None or self._current.duration is None:
                return
            self._position = max(0.0, min(float(seconds), self._current.duration))
        # Seeking to the very end ends the track, as it does in a real engine.
        self.advance(0.0)

    def set_volume(self, volume: float) -> None:
        with self._lock:
            self._volume = clamp_volume(volume)

    def set_muted(self, muted: bool) -> None:
        with self._lock:
            self._muted = bool(muted)

    def close(self) -> None:
        self._closed.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join(timeout=2.0)
        with self._lock:
            self._current = self._next = None
            self._state = State.IDLE

    # -- queries ---------------------------------------------------------------------------

    def state(self) -> State:
        with self._lock:
            return self._state

    def current_path(self) -> str | None:
        with self._lock:
            return None if self._current is None else self._current.path

    def next_path(self) -> str | None:
        with self._lock:
            return None if self._next is None else self._next.path

    def position(self) -> float:
        with self._lock:
            return self._position if self._current is not None else 0.0

    def duration(self) -> float | None:
        with self._lock:
            return None if self._current is None else self._current.duration

    def volume(self) -> float:
        with self._lock:
            return self._volume

    def muted(self) -> bool:
        with self._lock:
            return self._muted

    def effective_volume(self) -> float:
        with self._lock:
            gain = 1.0 if self._current is None else self._current.gain
            return output_amplitude(self._volume, gain)

    # -- internals (called with the lock held; listeners go into ``emits``) ---------------

    @staticmethod
    def _make_track(path: str, gain: float) -> _Track:
        probe = probe_audio(path)
        return _Track(path=path, gain=float(gain), duration=probe.duration, error=probe.error)

    def _set_state(self, state: State, emits: list[_Emit]) -> None:
        if state is not self._state:
            self._state = state
            emits.append(lambda s=state: self._emit_state(s))  # type: ignore[misc]

    def _fail_current(self, emits: list[_Emit]) -> None:
        track = self._current
        assert track is not None and track.error is not None
        emits.append(lambda p=track.path, r=track.error: self._emit_error(p, r))  # type: ignore[misc]
        self._continue_with_next(emits, 0.0)

    def _continue_with_next(self, emits: list[_Emit], leftover: float) -> None:
        """The current track is over: start the prepared one, or stop."""
        nxt, self._next = self._next, None
        self._position = 0.0
        if nxt is None:
            self._set_state(State.STOPPED, emits)
            return
        self._current = nxt
        if nxt.error is not None:
            self._fail_current(emits)
            return
        self._position = leftover
        self._set_state(State.PLAYING, emits)
        emits.append(lambda p=nxt.path: self._emit_start(p))  # type: ignore[misc]

    @staticmethod
    def _fire(emits: list[_Emit]) -> None:
        for emit in emits:
            emit()
