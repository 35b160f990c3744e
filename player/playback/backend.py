"""The playback backend interface (Quod Libet style): one small surface, several engines.

A backend plays one *current* track and can hold one *prepared next* track, which it
starts by itself the moment the current one ends (gapless where the engine allows it).

Threading rule (read this before writing a listener)
-----------------------------------------------------
- Every public method is thread-safe and returns at once: it never waits for the audio
  engine. Queries (``state``, ``position``, ``duration``...) read values the backend
  keeps up to date; commands (``load``, ``play``, ``seek``...) may take effect a moment
  later, in the order they were given.
- Listeners are called on a thread the backend chooses: libVLC's events are handed to the
  VLC backend's own worker thread, the null backend calls them from whatever thread
  advances its clock. A listener must not assume it runs on the GUI thread (a Qt GUI
  re-emits through a queued signal), must return quickly, and may call the backend's
  public methods (they only enqueue work, so this cannot deadlock).
- Inside the VLC backend, nothing calls into libVLC from a libVLC event callback: the
  callback only puts the event on the worker's queue. Calling libVLC from its own event
  thread deadlocks (the player lock is held while events are sent).

Events
------
- *start*: a track began to play (after ``play()``, or the switch to the prepared next).
- *end*: the current track played to its end.
- *error*: a track could not be played; the listener gets the path and a one-line
  reason. The track is skipped: if a next track is prepared, playback continues with it.
- *state*: the state changed.
After an end or an error with nothing prepared, the state becomes ``STOPPED`` and the
caller decides what to load next.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import Enum
from typing import Generic, TypeVar

log = logging.getLogger(__name__)


class State(Enum):
    IDLE = "idle"  # nothing loaded
    LOADED = "loaded"  # a track is loaded and has not started (or was stopped)
    PLAYING = "playing"
    PAUSED = "paused"
    STOPPED = "stopped"  # the last track ended or failed, nothing followed


PathListener = Callable[[str], None]
ErrorListener = Callable[[str, str], None]
StateListener = Callable[[State], None]

_L = TypeVar("_L", bound=Callable[..., None])


class _ListenerSet(Generic[_L]):
    """Listeners of one kind; adding returns a function that removes the listener."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[_L] = []

    def add(self, listener: _L) -> Callable[[], None]:
        with self._lock:
            self._items.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._items:
                    self._items.remove(listener)

        return remove

    def snapshot(self) -> list[_L]:
        with self._lock:
            return list(self._items)


def _call(listener: Callable[..., None], *args: object) -> None:
    try:
        listener(*args)
    except Exception:
        log.exception("playback listener %r failed", listener)


class PlaybackBackend(ABC):
    """A playback engine. See the module docstring for the threading rule and events."""

    #: Human-readable engine name, e.g. "libVLC 3.0.21" or "none".
    name: str = "backend"

    def __init__(self) -> None:
        self._start_listeners: _ListenerSet[PathListener] = _ListenerSet()
        self._end_listeners: _ListenerSet[PathListener] = _ListenerSet()
        self._error_listeners: _ListenerSet[ErrorListener] = _ListenerSet()
        self._state_listeners: _ListenerSet[StateListener] = _ListenerSet()

    # -- listeners -------------------------------------------------------------------------

    def add_start_listener(self, listener: PathListener) -> Callable[[], None]:
        return self._start_listeners.add(listener)

    def add_end_listener(self, listener: PathListener) -> Callable[[], None]:
        return self._end_listeners.add(listener)

    def add_error_listener(self, listener: ErrorListener) -> Callable[[], None]:
        return self._error_listeners.add(listener)

    def add_state_listener(self, listener: StateListener) -> Callable[[], None]:
        return self._state_listeners.add(listener)

    # Implementations call these outside their own locks, so listeners may call back in.
    # A listener that raises is logged and skipped: it must not stop the switch to the
    # next track, nor keep the other listeners from hearing the event.
    def _emit_start(self, path: str) -> None:
        for listener in self._start_listeners.snapshot():
            _call(listener, path)

    def _emit_end(self, path: str) -> None:
        for listener in self._end_listeners.snapshot():
            _call(listener, path)

    def _emit_error(self, path: str, reason: str) -> None:
        for listener in self._error_listeners.snapshot():
            _call(listener, path, reason)

    def _emit_state(self, state: State) -> None:
        for listener in self._state_listeners.snapshot():
            _call(listener, state)

    # -- commands --------------------------------------------------------------------------

    @abstractmethod
    def load(self, path: str, gain: float = 1.0) -> None:
        """Make ``path`` the current track (stopping what plays), ready to ``play()``.

        ``gain`` is the linear ReplayGain factor for this track (see ``replaygain``); the
        backend multiplies the user's volume by it.
        """

    @abstractmethod
    def set_next(self, path: str | None, gain: float = 1.0) -> None:
        """Prepare the track that follows the current one (``None`` forgets it)."""

    @abstractmethod
    def play(self) -> None:
        """Start or resume the current track (from the start after an end or a stop)."""

    @abstractmethod
    def pause(self) -> None: ...

    @abstractmethod
    def stop(self) -> None:
        """Stop; the current track stays loaded and ``play()`` restarts it."""

    @abstractmethod
    def seek(self, seconds: float) -> None:
        """Jump to ``seconds`` into the current track (clamped to the track)."""

    @abstractmethod
    def set_volume(self, volume: float) -> None:
        """The user's volume, 0.0 to 1.0 (ReplayGain is applied on top of it)."""

    @abstractmethod
    def set_muted(self, muted: bool) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Stop and release everything; the backend is unusable afterwards."""

    # -- queries ---------------------------------------------------------------------------

    @abstractmethod
    def state(self) -> State: ...

    @abstractmethod
    def current_path(self) -> str | None: ...

    @abstractmethod
    def next_path(self) -> str | None: ...

    @abstractmethod
    def position(self) -> float:
        """Seconds into the current track (0.0 when nothing plays)."""

    @abstractmethod
    def duration(self) -> float | None:
        """Length of the current track in seconds, ``None`` while not yet known."""

    @abstractmethod
    def volume(self) -> float: ...

    @abstractmethod
    def muted(self) -> bool: ...

    @abstractmethod
    def effective_volume(self) -> float:
        """The amplitude factor the current track plays at: ``volume`` on the perceptual
        curve times its ReplayGain factor (see ``output_amplitude``)."""

    def __enter__(self) -> PlaybackBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# How the user's volume becomes loudness. libVLC's volume is perceptual: its software
# mixer and its outputs turn a volume v (1.0 = 100 %) into the amplitude factor v**3, and
# accept up to 200 % (x8, +18 dB). The user's slider (0..1) is that same v, and the
# ReplayGain factor multiplies the *amplitude*: amplitude = v**3 * gain. libVLC is then
# given v * cbrt(gain). Positive gains use the headroom above 100 %; the peak-based
# clipping prevention in ``replaygain`` keeps them safe.
MAX_ENGINE_LEVEL = 2.0


def output_amplitude(volume: float, gain: float) -> float:
    """The amplitude factor for a slider ``volume`` (0..1) and a ReplayGain ``gain``."""
    return min(MAX_ENGINE_LEVEL**3, max(0.0, volume) ** 3 * max(0.0, gain))


def engine_level(amplitude: float) -> float:
    """The libVLC volume (1.0 = 100 %) that plays at ``amplitude``."""
    return float(min(MAX_ENGINE_LEVEL, max(0.0, amplitude) ** (1.0 / 3.0)))


def clamp_volume(volume: float) -> float:
    return max(0.0, min(1.0, float(volume)))
