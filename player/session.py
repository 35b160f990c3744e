"""The listening session: plays the queue, logs what happened, and keeps Up Next fresh.

It joins four parts: a playback backend, the play queue, the listening log (SQLite) and
the recommender. It records what happened to every track the moment it happens
(completed, skipped at position p, stopped, failed), feeds each event to the recommender,
and replaces the automatic tail of the queue with the re-ranked picks.

Threading: the session owns one worker thread. Every public command only posts work to it
and returns at once, so a GUI never waits on the disk or the recommender. The DB
connection, the queue and the recommender live on that thread alone. Backend callbacks
(libVLC's threads, the null backend's clock) are posted there too. Listeners receive a
:class:`SessionUpdate` on the worker thread: a Qt GUI re-emits it through a queued signal.
"""

from __future__ import annotations

import logging
import queue as queue_module
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from player.errors import DatabaseError, WriteRefusedError
from player.library import events, player_state, tracks
from player.library.db import BUSY_TIMEOUT_S, Database
from player.playback.backend import PlaybackBackend, State
from player.playback.replaygain import ReplayGainMode, ReplayGainTags, gain_factor
from player.queue import AutoItem, Entry, FillRequest, Origin, PlayQueue, Repeat

log = logging.getLogger(__name__)

T = TypeVar("T")

USER_REASON = "queued by you"

# An event the library cannot take now (another program holds its write lock past the busy
# timeout, or it cannot be written at all) waits in memory, in order, and is written at the
# next chance: with the next event, or on a retry every HISTORY_RETRY_S. While writes keep
# failing, a write waits at most HISTORY_RETRY_WAIT_S for the lock, so commands stay quick;
# at close the session waits up to HISTORY_CLOSE_WAIT_S to write what is left.
HISTORY_RETRY_S = 3.0
HISTORY_RETRY_WAIT_S = 0.25
HISTORY_CLOSE_WAIT_S = 10.0

_VERDICT_KINDS = frozenset({"like", "unlike", "dislike", "undislike"})

# A track the library knows no audio for that ends sooner than this after it started
# played nothing: a failed play, not a listen.
_MOMENT_S = 1.0
_NO_AUDIO = "the file holds no playable audio"


class SessionRecommender(Protocol):
    """What the session needs from the recommender (see player.recommend.EngineHost)."""

    def fill(self, request: FillRequest) -> list[AutoItem]:
        """Picks (track id, reason) to extend the automatic tail."""

    def observe(self, event: events.NewEvent) -> None:
        """A logged event (or a like/dislike), so the next ranking reflects it."""

    def steer(self, track_id: int, strength: float) -> None:
        """ "More like this" (> 0) or "less like this" (< 0), for this session only."""

    def set_discover(self, value: float) -> None: ...

    def reset_history(self, *, forget_learned: bool = False) -> None:
        """The log was wiped or replaced: learn it again as it is now."""

    def configure(
        self,
        *,
        skip_threshold_s: float | None = None,
        repeat_window_s: float | None = None,
        artist_spacing: int | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class TrackView:
    """A track as the UI shows it."""

    id: int
    path: str
    title: str
    artist: str
    album: str
    duration: float | None
    has_cover: bool = False
    has_audio: bool = True  # as the scanner found it


@dataclass(frozen=True)
class QueueEntry:
    uid: int
    track: TrackView
    pinned: bool  # placed by the user
    reason: str


@dataclass(frozen=True)
class SessionState:
    now_playing: TrackView | None = None
    liked: bool = False
    disliked: bool = False
    play_state: str = "idle"
    position: float = 0.0
    duration: float | None = None
    upnext: tuple[QueueEntry, ...] = ()
    discover: float = 0.3
    history_paused: bool = False
    autofill: bool = True
    repeat: str = "off"
    shuffle: bool = False
    volume: float = 1.0
    muted: bool = False
    playback_note: str | None = None
    last_error: str | None = None
    # Shown while listens wait to be written because the library cannot take them now.
    history_note: str | None = None


@dataclass(frozen=True)
class SessionUpdate:
    kind: str  # "now_playing" | "queue" | "state" | "verdict" | "error" | "settings"
    state: SessionState


@dataclass
class SessionSettings:
    skip_threshold_s: float = 30.0
    repeat_window_s: float = 4 * 3600.0
    artist_spacing: int = 1
    replaygain: ReplayGainMode = ReplayGainMode.TRACK
    upnext_length: int = 10


@dataclass
class _Playing:
    entry: Entry
    track: TrackView
    started_at: float
    session_id: str
    forget: bool = False  # "forget this play": its outcome is not logged
    # False for a track put back by restore() until the user presses play: it was not
    # heard in this run, so stopping, skipping past or quitting logs nothing.
    heard: bool = True


@dataclass(eq=False)  # compared by identity: two equal events are still two listens
class _Logged:
    """An event of this session: waiting to be written, or written as ``event_id``."""

    event: events.NewEvent
    event_id: int | None = None
    # The file the event is about: a scan that joins a moved track's two rows deletes
    # the newer id, and the event then goes to the track that now holds this file.
    path: str | None = None


@dataclass
class _Worker:
    tasks: queue_module.Queue[Callable[[], object] | None] = field(
        default_factory=queue_module.Queue
    )
    thread: threading.Thread | None = None


class ListeningSession:
    def __init__(
        self,
        db_path: Path | str,
        backend: PlaybackBackend,
        *,
        recommender: Callable[[Database], SessionRecommender] | None = None,
        settings: SessionSettings | None = None,
        playback_note: str | None = None,
        clock: Callable[[], float] = time.time,
        autofill: bool = True,
        remember: bool = False,
        busy_timeout: float = BUSY_TIMEOUT_S,
        retry_s: float = HISTORY_RETRY_S,
    ) -> None:
        """``remember``: save what plays, where, and the queue as they change, so that
        ``restore()`` at the next start puts them back (the app does; ``segue play``
        leaves the app's saved state alone). ``busy_timeout``: how long a write waits for
        another program's lock; ``retry_s``: how often waiting events are tried again."""
        self._db_path = Path(db_path)
        self._busy_timeout = busy_timeout
        self._retry_s = retry_s
        self._backend = backend
        self._make_recommender = recommender
        self._settings = settings or SessionSettings()
        self._clock = clock
        self._listeners: list[Callable[[SessionUpdate], None]] = []
        self._listeners_lock = threading.Lock()
        self._state = SessionState(playback_note=playback_note, autofill=autofill)
        self._state_lock = threading.Lock()
        self._worker = _Worker()
        # Owned by the worker thread once started:
        self._db: Database | None = None
        self._recommender: SessionRecommender | None = None
        self._queue = PlayQueue(self._fill, auto_fill=autofill, target=self._settings.upnext_length)
        self._playing: _Playing | None = None
        self._tracks: dict[int, TrackView] = {}
        self._verdicts: dict[str, set[int]] = {"like": set(), "dislike": set()}
        # The log as this session last saw it (its own writes included), to notice when
        # another program changed it: check_history.
        self._log_version = -1
        self._log_stamp = (0, 0)
        # (id, time) of an event the session knows is logged (the first): gone means wiped.
        self._log_first: tuple[int, float] | None = None
        self._session_id = uuid.uuid4().hex[:12]
        self._last_activity = clock()
        self._remember = remember
        self._resume_at: float | None = None  # a restored track waits here, paused
        self._restoring = False  # no saves while half restored (the position is not set yet)
        # Events not written yet, oldest first; the last listen this session logged (what
        # "forget this play" removes once it has ended); writes failing since the last
        # success; the player state waiting to be saved; the pending retry.
        self._unwritten: deque[_Logged] = deque()
        self._write_due = False
        self._last_listen: _Logged | None = None
        self._write_failures = 0
        self._state_unsaved = False
        # At close: the player state as the user left it, saved even if the library only
        # takes writes after the playing track has been stopped (position 0).
        self._closing_state: dict[str, Any] | None = None
        self._retry_timer: threading.Timer | None = None
        self._unsubscribe = [
            backend.add_start_listener(lambda p: self._post(lambda: self._on_start(p))),
            backend.add_end_listener(lambda p: self._post(lambda: self._on_end(p))),
            backend.add_error_listener(lambda p, r: self._post(lambda: self._on_error(p, r))),
            backend.add_state_listener(lambda s: self._post(lambda: self._on_state(s))),
        ]
        self._worker.thread = threading.Thread(target=self._run, name="segue-session", daemon=True)
        self._worker.thread.start()
        self._post(self._open)

    # -- plumbing ----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            task = self._worker.tasks.get()
            if task is None:
                break
            for step in (task, self._write_due_events):
                try:
                    step()
                except Exception as exc:  # one bad command must not kill the session
                    log.exception("session task failed")
                    self._publish("error", last_error=f"{type(exc).__name__}: {exc}")
        if self._db is not None:
            if self._unwritten:  # the last chance: wait longer for the lock
                self._write_events(wait=HISTORY_CLOSE_WAIT_S)
            if self._unwritten:
                log.error(
                    "%d listening events could not be written to %s",
                    len(self._unwritten),
                    self._db_path,
                )
            self._db.close()
        timer = self._retry_timer
        if timer is not None:
            timer.cancel()

    def _post(self, task: Callable[[], object]) -> None:
        self._worker.tasks.put(task)

    def call(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run ``fn`` on the session thread and wait for its result (CLI and tests)."""
        future: Future[T] = Future()

        def task() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self._post(task)
        return future.result(timeout)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until every command posted so far has been handled."""
        self.call(lambda: None, timeout)

    def add_listener(self, listener: Callable[[SessionUpdate], None]) -> Callable[[], None]:
        with self._listeners_lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def snapshot(self) -> SessionState:
        with self._state_lock:
            state = self._state
        play_state = self._backend.state()
        resume_at = self._resume_at
        if resume_at is not None and play_state is not State.PLAYING:
            # Restored at start: shown paused where it was left, until played.
            return replace(state, position=resume_at, play_state=State.PAUSED.value)
        return replace(
            state,
            position=self._backend.position(),
            play_state=play_state.value,
            duration=self._backend.duration() or state.duration,
        )

    def _publish(self, kind: str, **changes: Any) -> None:
        with self._state_lock:
            self._state = replace(self._state, **changes)
        update = SessionUpdate(kind, self.snapshot())
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(update)
            except Exception:
                log.exception("session listener failed")

    # -- setup and teardown ------------------------------------------------------------------

    def _open(self) -> None:
        self._db = Database(self._db_path, busy_timeout=self._busy_timeout)
        self._verdicts = events.verdicts(self._db)
        self._note_log()
        if self._make_recommender is not None:
            self._recommender = self._make_recommender(self._db)
            self._recommender.set_discover(self._state.discover)
            self._apply_settings()
        self._queue.add_listener(self._queue_changed)

    def close(self) -> None:
        """Log how the playing track ended ("stop" at its position) and shut down."""
        if self._worker.thread is None or not self._worker.thread.is_alive():
            return
        self._post(self._freeze_state)
        self._post(self._save_state)
        self._post(lambda: self._finish_current("stop"))
        self._post(self._backend.stop)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._worker.tasks.put(None)
        self._worker.thread.join(timeout=30)

    # -- remembering --------------------------------------------------------------------------

    def restore(self) -> None:
        """Put back what the last remembering session left: the track (loaded, paused at
        its position), the queue with its pins and reasons, repeat and shuffle."""
        self._post(self._restore)

    def _restore(self) -> None:
        self._restoring = True
        try:
            self._restore_saved()
        finally:
            self._restoring = False
        self._save_state()  # whole again: what a kill right now would leave

    def _restore_saved(self) -> None:
        assert self._db is not None
        saved = player_state.load(self._db)
        if not saved or self._playing is not None:
            return
        playable = tracks.playable_ids(self._db, _saved_ids(saved))

        def keep(items: object) -> list[int]:
            return [int(i) for i in items if i in playable] if isinstance(items, list) else []

        queue = saved.get("queue") or {}
        current = queue.get("current")
        current = current if current in playable else None
        auto = [
            (int(pair[0]), str(pair[1]))
            for pair in queue.get("auto") or []
            if isinstance(pair, list) and len(pair) == 2 and pair[0] in playable
        ]
        discover = saved.get("discover")
        if isinstance(discover, int | float) and 0.0 <= discover <= 1.0:
            if self._recommender is not None:
                self._recommender.set_discover(float(discover))
            self._publish("settings", discover=float(discover))
        volume = saved.get("volume")
        if isinstance(volume, int | float) and 0.0 <= volume <= 1.0:
            self._backend.set_volume(float(volume))
            self._publish("settings", volume=float(volume))
        repeat = saved.get("repeat")
        if repeat in {r.value for r in Repeat}:
            self._queue.set_repeat(Repeat(repeat))
            self._publish("settings", repeat=repeat)
        if saved.get("shuffle") is True:
            self._queue.set_shuffle(True)
            self._publish("settings", shuffle=True)
        entry = self._queue.restore(
            current,
            keep(queue.get("front")),
            keep(queue.get("added")),
            auto,
            keep(queue.get("history")),
        )
        if entry is None:
            return
        track = self._track(entry.item)
        self._playing = _Playing(entry, track, self._clock(), self._session_id, heard=False)
        self._backend.load(track.path, self._gain(track.id))
        position = saved.get("position")
        if isinstance(position, int | float) and position > 0:
            self._backend.seek(float(position))
            self._resume_at = float(position)
        self._prepare_next()
        self._announce_now_playing()

    def _state_now(self) -> dict[str, Any]:
        position = self._resume_at
        if position is None:
            position = self._backend.position() if self._playing is not None else 0.0
        return {
            "queue": self._queue.saved(),
            "position": round(float(position or 0.0), 3),
            "repeat": self._queue.repeat.value,
            "shuffle": self._queue.shuffle,
            "discover": self._state.discover,
            "volume": self._state.volume,
        }

    def _freeze_state(self) -> None:
        if self._remember and self._db is not None and not self._restoring:
            self._closing_state = self._state_now()

    def _save_state(self) -> None:
        if not self._remember or self._db is None or self._restoring:
            return
        if self._unwritten:  # the library is not taking writes: saved once events are
            self._state_unsaved = True
            return
        state = self._closing_state or self._state_now()
        try:
            with self._db.waiting_at_most(self._write_wait()):
                player_state.save(self._db, state)
        except DatabaseError as exc:
            self._state_unsaved = True
            self._write_failed(exc)
            return
        self._state_unsaved = False
        self._write_failures = 0

    # -- commands (thread-safe, return at once) ----------------------------------------------

    def play_track(self, track_id: int) -> None:
        self._post(lambda: self._play_now(track_id))

    def play_next(self, track_id: int) -> None:
        self._post(lambda: self._queue.play_next(track_id))

    def enqueue(self, track_id: int) -> None:
        self._post(lambda: self._queue.add(track_id))

    def move(self, track_id: int, dst: int, uid: int | None = None) -> None:
        """Move ``track_id``'s up-next entry to ``dst``. Commands name the track, not a
        row: a re-rank between the click and this task must not move another song; a
        track that left Up Next meanwhile moves nothing. ``uid`` picks the entry while it
        is still there (the same track queued twice)."""

        def task() -> None:
            entry = self._upnext_entry(track_id, uid)
            if entry is not None:
                self._queue.move(entry.uid, dst)

        self._post(task)

    def remove(self, track_id: int, uid: int | None = None) -> None:
        """Remove ``track_id``'s up-next entry (see ``move``)."""

        def task() -> None:
            entry = self._upnext_entry(track_id, uid)
            if entry is not None:
                self._queue.remove(entry.uid)

        self._post(task)

    def _upnext_entry(self, track_id: int, uid: int | None) -> Entry | None:
        upcoming = self._queue.upcoming
        same = [e for e in upcoming if e.item == track_id]
        return next((e for e in same if e.uid == uid), same[0] if same else None)

    def next(self) -> None:
        self._post(self._next)

    def previous(self) -> None:
        self._post(self._previous)

    def toggle_pause(self) -> None:
        def task() -> None:
            state = self._backend.state()
            if state is State.PLAYING:
                self._backend.pause()
                self._save_state()
            elif self._playing is not None:
                if not self._playing.heard:  # a restored track: its listen starts now
                    self._new_session_if_idle()
                    self._playing = replace(
                        self._playing,
                        heard=True,
                        started_at=self._clock(),
                        session_id=self._session_id,
                    )
                self._backend.play()
                self._resume_at = None
            elif self._queue.current is not None:
                self._start_entry(self._queue.current)  # after a stop: from the start
            else:
                self._next()

        self._post(task)

    def stop(self) -> None:
        """Stop: the track's listen is logged as stopped where it was; pressing play
        starts it again from the beginning."""

        def task() -> None:
            if self._playing is None:
                return
            # The track stays current in the queue and on show; play starts it over.
            self._finish_current("stop")
            self._backend.stop()
            self._resume_at = None
            self._publish("state", play_state=State.STOPPED.value)

        self._post(task)

    def seek_by(self, seconds: float) -> None:
        """Jump ``seconds`` forward (or back, when negative) in the playing track."""

        def task() -> None:
            if self._playing is not None:
                self._backend.seek(max(0.0, self._backend.position() + seconds))

        self._post(task)

    def seek(self, seconds: float) -> None:
        # Seeking within a track is not a skip: nothing is logged.
        self._post(lambda: self._backend.seek(seconds))

    def _then_publish(self, action: Callable[[], object], **changes: Any) -> None:
        def task() -> None:
            action()
            self._publish("settings", **changes)

        self._post(task)

    def set_volume(self, volume: float) -> None:
        value = min(max(volume, 0.0), 1.0)
        self._then_publish(lambda: self._backend.set_volume(value), volume=value)

    def set_muted(self, muted: bool) -> None:
        self._then_publish(lambda: self._backend.set_muted(muted), muted=muted)

    def like(self, track_id: int | None = None) -> None:
        self._post(lambda: self._verdict("like", track_id))

    def dislike(self, track_id: int | None = None) -> None:
        self._post(lambda: self._verdict("dislike", track_id))

    def unlike(self, track_id: int | None = None) -> None:
        self._post(lambda: self._verdict("unlike", track_id))

    def undislike(self, track_id: int | None = None) -> None:
        self._post(lambda: self._verdict("undislike", track_id))

    def more_like_this(self, track_id: int) -> None:
        self._post(lambda: self._steer(track_id, 1.0))

    def less_like_this(self, track_id: int) -> None:
        self._post(lambda: self._steer(track_id, -1.0))

    def set_discover(self, value: float) -> None:
        value = min(max(value, 0.0), 1.0)

        def task() -> None:
            changed = value != self._state.discover
            if self._recommender is not None:
                self._recommender.set_discover(value)
            self._publish("settings", discover=value)
            if changed:
                self._rerank()

        self._post(task)

    def configure(
        self,
        *,
        skip_threshold: float | None = None,
        repeat_window_minutes: float | None = None,
        artist_spacing: int | None = None,
        replaygain: str | None = None,
    ) -> None:
        """The listening settings: seconds before a stop counts as a skip, minutes before
        a track may repeat, picks before an artist may play again, ReplayGain mode."""

        def task() -> None:
            settings = self._settings
            before = replace(settings)
            if skip_threshold is not None:
                settings.skip_threshold_s = max(0.0, float(skip_threshold))
            if repeat_window_minutes is not None:
                settings.repeat_window_s = max(0.0, float(repeat_window_minutes) * 60.0)
            if artist_spacing is not None:
                settings.artist_spacing = max(0, int(artist_spacing))
            if replaygain is not None:
                settings.replaygain = ReplayGainMode(replaygain)
            self._apply_settings()
            if settings != before:  # the same settings again (the app's start): no re-rank
                self._rerank()

        self._post(task)

    def _apply_settings(self) -> None:
        if self._recommender is not None:
            self._recommender.configure(
                skip_threshold_s=self._settings.skip_threshold_s,
                repeat_window_s=self._settings.repeat_window_s,
                artist_spacing=self._settings.artist_spacing,
            )

    def set_autofill(self, on: bool) -> None:
        self._then_publish(lambda: self._queue.set_auto_fill(on), autofill=on)

    def set_repeat(self, mode: str) -> None:
        repeat = Repeat(mode)
        self._then_publish(lambda: self._queue.set_repeat(repeat), repeat=repeat.value)

    def set_shuffle(self, on: bool) -> None:
        self._then_publish(lambda: self._queue.set_shuffle(on), shuffle=on)

    def set_history_paused(self, paused: bool) -> None:
        """While paused, no listening history is logged (likes and dislikes, which are
        explicit choices rather than history, still are)."""
        self._post(lambda: self._publish("settings", history_paused=paused))

    def history_replaced(self, *, wiped: bool = False) -> None:
        """The listening log changed under the session (Settings ▸ Wipe listening
        history, a history import): likes and bans are read again, the recommender
        learns the log as it is now (dropping what it learned from the old one) and Up
        Next is re-ranked, so the heart and the list reflect it at once. ``wiped``: the
        events still waiting to be written were recorded before the wipe and go too, and
        so does what the personal model learned and saved."""
        self._post(lambda: self._history_replaced(wiped))

    def check_history(self) -> None:
        """Take in a log another program changed (``segue history import`` or ``wipe``,
        ``segue log like`` in a terminal) as ``history_replaced`` does. Free while nobody
        else wrote (SQLite's data_version); the app asks every half-minute."""
        self._post(self._check_history)

    def _note_log(self) -> None:
        """What the log holds now, as this session last saw it."""
        assert self._db is not None
        self._log_version = events.data_version(self._db)
        self._log_stamp = events.stamp(self._db)
        self._log_first = events.earliest(self._db)

    def _check_history(self) -> None:
        if self._db is None:
            return
        version = events.data_version(self._db)
        if version == self._log_version:
            return  # nobody else committed anything
        self._log_version = version
        stamp = events.stamp(self._db)
        # A wipe deletes every event, the first one the session knew too, whatever was
        # logged since (by this session before the check, or an import: ids are reused,
        # so the count and the highest id may even come back to what they were).
        gone = self._log_first is not None and not events.holds(self._db, self._log_first)
        if gone or stamp != self._log_stamp:  # not only this session's own events
            self._history_replaced(wiped=gone or stamp[0] == 0)

    def _history_replaced(self, wiped: bool) -> None:
        if self._db is None:
            return
        self._note_log()
        if wiped:
            self._unwritten.clear()
        self._last_listen = None  # "forget this play" has nothing left to forget
        verdicts = events.verdicts(self._db)
        for logged in self._unwritten:  # still to be written: they hold on top
            if logged.event.kind in _VERDICT_KINDS:
                verdicts = _with_verdict(verdicts, logged.event.track_id, logged.event.kind)
        self._verdicts = verdicts
        reset = getattr(self._recommender, "reset_history", None)
        if reset is not None:
            assert self._recommender is not None
            reset(forget_learned=wiped)
            for logged in self._unwritten:
                self._recommender.observe(logged.event)
        self._rerank()
        self._announce_now_playing()

    def forget_current_play(self) -> None:
        """Forget the playing track's listen (it will not be logged), or, when nothing
        plays, the listen this session logged for the play that just ended (nothing when
        that play was not logged, e.g. while history was paused)."""

        def task() -> None:
            if self._playing is not None:
                self._playing.forget = True
                return
            logged = self._last_listen
            if logged is None or self._db is None:
                return
            if logged in self._unwritten:  # not written yet: it never will be
                self._unwritten.remove(logged)
            elif logged.event_id is not None and events.forget(
                self._db, logged.event_id, logged.event
            ):
                self._forgotten(logged.event_id)
            self._last_listen = None

        self._post(task)

    def _forgotten(self, event_id: int) -> None:
        """This session deleted one event of its own: the log as the session knew it, less
        that row (re-reading the log would take in other programs' changes unseen)."""
        assert self._db is not None
        count, highest = self._log_stamp
        if event_id == highest:
            highest = events.highest_below(self._db, event_id)
        self._log_stamp = (max(0, count - 1), highest)
        if self._log_first is not None and self._log_first[0] == event_id:
            self._log_first = events.next_after(self._db, event_id)

    # -- the worker's side -------------------------------------------------------------------

    def _track(self, track_id: int) -> TrackView:
        cached = self._tracks.get(track_id)
        if cached is not None:
            return cached
        assert self._db is not None
        info = tracks.by_id(self._db, track_id)
        if info is None:
            view = TrackView(track_id, "", f"track {track_id}", "", "", None)
        else:
            view = TrackView(
                info.id,
                info.path,
                info.title or "",
                info.artist or "",
                info.album or "",
                info.duration,
                info.has_cover,
                info.has_audio,
            )
        if len(self._tracks) > 5000:
            self._tracks.clear()
        self._tracks[track_id] = view
        return view

    def _gain(self, track_id: int) -> float:
        assert self._db is not None
        row = tracks.replaygain(self._db, track_id)
        if row is None:
            return 1.0
        return gain_factor(ReplayGainTags.from_row(row), self._settings.replaygain)

    def _new_session_if_idle(self) -> None:
        # A listening session splits after 30 minutes without playback.
        now = self._clock()
        if now - self._last_activity > 30 * 60:
            self._session_id = uuid.uuid4().hex[:12]
        self._last_activity = now

    def _start_entry(self, entry: Entry | None) -> None:
        """Make ``entry`` the playing track (load + play), or stop when it is None."""
        if entry is None:
            self._playing = None
            self._resume_at = None
            self._backend.stop()
            self._publish(
                "now_playing", now_playing=None, liked=False, disliked=False, duration=None
            )
            return
        track = self._track(entry.item)
        self._new_session_if_idle()
        self._resume_at = None
        self._playing = _Playing(entry, track, self._clock(), self._session_id)
        self._backend.load(track.path, self._gain(track.id))
        self._backend.play()
        self._prepare_next()
        self._announce_now_playing()

    def _announce_now_playing(self) -> None:
        track = self._playing.track if self._playing else None
        self._publish(
            "now_playing",
            now_playing=track,
            liked=track is not None and track.id in self._verdicts["like"],
            disliked=track is not None and track.id in self._verdicts["dislike"],
            duration=track.duration if track else None,
        )

    def _prepare_next(self) -> None:
        upcoming = self._queue.peek()
        if upcoming is None:
            self._backend.set_next(None)
            return
        track = self._track(upcoming.item)
        self._backend.set_next(track.path, self._gain(track.id))

    def _play_now(self, track_id: int) -> None:
        if self._state.last_error is not None:  # the user moved on: old news
            self._publish("error", last_error=None)
        self._finish_current("skip")
        self._start_entry(self._queue.play_now(track_id))
        self._rerank()

    def _next(self) -> None:
        self._finish_current("skip")
        self._start_entry(self._queue.next())
        self._rerank()  # up next follows what plays now, and has learnt from the skip

    def _previous(self) -> None:
        if not self._queue.history:
            self._backend.seek(0.0)
            return
        self._finish_current("stop")
        self._start_entry(self._queue.previous())
        self._rerank()

    def _finish_current(self, kind: str) -> None:
        """Log how the playing track ended, at its current position."""
        if self._playing is None:
            return
        position = self._backend.position()
        self._log_outcome(kind, position)

    def _log_outcome(self, kind: str, position: float | None) -> None:
        playing = self._playing
        if playing is None:
            return
        self._playing = None
        self._last_listen = None
        # The library's duration: by the time an "end" arrives, the backend may already
        # report the next track's.
        duration = playing.track.duration or self._backend.duration()
        if not playing.heard or playing.forget or self._state.history_paused:
            return
        if self._db is None:
            return
        event = events.NewEvent(
            track_id=playing.track.id,
            kind=kind,
            ts=self._clock(),
            position_ms=None if position is None else int(position * 1000),
            duration_ms=None if duration is None else int(duration * 1000),
            session_id=playing.session_id,
            source="segue",
        )
        self._last_listen = self._log(event, playing.track.path)
        if self._recommender is not None:
            self._recommender.observe(event)

    # -- writing the log -----------------------------------------------------------------

    def _log(self, event: events.NewEvent, path: str | None = None) -> _Logged:
        """Queue ``event`` behind any still unwritten; they are written once the current
        command is done, so what plays moves on at once whatever the library does."""
        logged = _Logged(event, path=path)
        self._unwritten.append(logged)
        self._write_due = True
        return logged

    def _write_wait(self) -> float | None:
        """How long a write may wait for the lock: briefly while writes keep failing."""
        return HISTORY_RETRY_WAIT_S if self._write_failures else None

    def _write_due_events(self) -> None:
        """After each command: what plays has moved on already."""
        if self._write_due:
            self._write_due = False
            self._write_events()

    def _write_events(self, wait: float | None = None) -> None:
        """Write the unwritten events, in order, in one transaction; on failure keep
        them all for the next chance (a failed transaction wrote none of them)."""
        if self._db is None or not self._unwritten:
            return
        batch = list(self._unwritten)
        try:
            with self._db.waiting_at_most(wait or self._write_wait()), self._db.transaction():
                ids = [events.append(self._db, logged.event) for logged in batch]
        except WriteRefusedError:
            # One of them can never be written (its track is gone): one at a time, so
            # the refused one is set aside instead of holding back the rest for good.
            self._write_singly(wait)
            return
        except DatabaseError as exc:
            self._write_failed(exc)
            return
        for logged, event_id in zip(batch, ids, strict=True):
            logged.event_id = event_id
            self._unwritten.popleft()
        self._written(batch)

    def _write_singly(self, wait: float | None) -> None:
        assert self._db is not None
        batch = list(self._unwritten)
        while self._unwritten:
            logged = self._unwritten[0]
            try:
                with self._db.waiting_at_most(wait or self._write_wait()):
                    logged.event_id = events.append(self._db, self._rehomed(logged).event)
            except WriteRefusedError as exc:
                log.error("listening event %s refused by the library: %s", logged.event, exc)
            except DatabaseError as exc:
                self._write_failed(exc)
                return
            self._unwritten.popleft()
        self._written(batch)

    def _rehomed(self, logged: _Logged) -> _Logged:
        """``logged`` for the track that holds its file now, if its own id is gone (a scan
        joined the track with its moved twin while it played)."""
        assert self._db is not None
        if logged.path is None or tracks.by_id(self._db, logged.event.track_id) is not None:
            return logged
        found = tracks.by_path(self._db, logged.path)
        if found is not None:
            logged.event = replace(logged.event, track_id=found.id)
        return logged

    def _written(self, batch: list[_Logged]) -> None:
        assert self._db is not None
        self._write_failures = 0
        ids = [logged.event_id for logged in batch if logged.event_id is not None]
        if ids:  # this session's own events: not a change made elsewhere
            count, highest = self._log_stamp
            self._log_stamp = (count + len(ids), max(highest, *ids))
            if self._log_first is None:
                self._log_first = events.earliest(self._db)
        if any(logged.event.kind in _VERDICT_KINDS for logged in batch):
            self._verdicts = events.verdicts(self._db)
        if self._state.history_note is not None:
            self._publish("state", history_note=None)
        if self._state_unsaved:
            self._save_state()

    def _write_failed(self, exc: DatabaseError) -> None:
        self._write_failures += 1
        log.warning("library write postponed: %s", exc)
        if self._unwritten and self._write_failures >= 2 and self._state.history_note is None:
            self._publish(
                "state",
                history_note="Listening history will be saved when the library is free",
            )
        if self._retry_timer is None:
            timer = threading.Timer(self._retry_s, lambda: self._post(self._retry))
            timer.daemon = True
            self._retry_timer = timer
            timer.start()

    def _retry(self) -> None:
        self._retry_timer = None
        if self._unwritten:
            self._write_events()
        elif self._state_unsaved:
            self._save_state()

    def _on_start(self, path: str) -> None:
        if self._playing is not None and self._playing.track.path == path:
            return
        # The backend moved on to the prepared next track by itself (gapless).
        entry = self._queue.current
        if entry is not None and self._track(entry.item).path == path:
            track = self._track(entry.item)
            self._new_session_if_idle()
            self._playing = _Playing(entry, track, self._clock(), self._session_id)
            self._prepare_next()
            self._announce_now_playing()

    def _on_end(self, path: str) -> None:
        if self._playing is None or self._playing.track.path != path:
            return
        if self._played_nothing(self._playing):
            # Not a listen: logged as a failed play (which stats and the recommender
            # ignore), said once, and the queue moves on (repeat-one would only fail again).
            self._log_outcome("fail", None)
            name = Path(path).name
            self._publish("error", last_error=f"could not play {name}: {_NO_AUDIO}")
            entry = self._queue.next()
        else:
            self._log_outcome("play", self._playing.track.duration or self._backend.duration())
            entry = self._queue.advance()
        if entry is None:
            self._start_entry(None)
            return
        track = self._track(entry.item)
        if self._backend.current_path() == track.path and self._backend.state() is State.PLAYING:
            self._on_start(track.path)  # the backend already switched (gapless)
        else:
            self._start_entry(entry)
        self._rerank()

    def _played_nothing(self, playing: _Playing) -> bool:
        """A track that ended within a moment of starting, and that the library knows no
        audio or no length for: the engine opened the file and found nothing to play
        (libVLC "plays" a file of tags alone for a few milliseconds)."""
        track = playing.track
        return (not track.has_audio or not track.duration) and (
            self._clock() - playing.started_at < _MOMENT_S
        )

    def _on_error(self, path: str, reason: str) -> None:
        name = Path(path).name if path else "a track"
        message = f"could not play {name}: {reason}"
        if self._playing is not None and self._playing.track.path == path:
            self._log_outcome("fail", None)
            self._publish("error", last_error=message)
            self._start_entry(self._queue.next())
            return
        self._publish("error", last_error=message)

    def _on_state(self, state: State) -> None:
        self._publish("state", play_state=state.value)

    def _verdict(self, kind: str, track_id: int | None) -> None:
        if track_id is None:  # the playing track (or the stopped one on show)
            current = self._queue.current
            if self._playing is not None:
                track_id = self._playing.track.id
            elif current is not None:
                track_id = current.item
            else:
                return
        event = events.NewEvent(track_id=track_id, kind=kind, ts=self._clock(), source="segue")
        self._log(event)
        self._verdicts = _with_verdict(self._verdicts, track_id, kind)
        if self._recommender is not None:
            self._recommender.observe(event)
        if kind == "dislike":
            # The user's own entries go now; automatic ones leave at the re-rank below
            # (the ban keeps them out). Removing those would also bar the track from this
            # queue for good, even once the ban is lifted or the history wiped.
            for entry in self._queue.upcoming:
                if entry.item == track_id and entry.origin is not Origin.AUTO:
                    self._queue.remove(entry.uid)
            if self._playing is not None and self._playing.track.id == track_id:
                self._next()  # a disliked song stops at once
        self._rerank()
        self._announce_now_playing()

    def _steer(self, track_id: int, strength: float) -> None:
        if self._recommender is not None:
            self._recommender.steer(track_id, strength)
        if strength < 0:
            for entry in self._queue.auto_tail:
                if entry.item == track_id:
                    self._queue.remove(entry.uid)
        self._rerank()

    def _fill(self, request: FillRequest) -> list[AutoItem]:
        if self._recommender is None:
            return []
        return self._recommender.fill(request)

    def _rerank(self) -> None:
        """Replace the automatic tail with a fresh ranking (after every event)."""
        if self._recommender is None or not self._queue.auto_fill:
            return
        current = self._queue.current
        pinned = self._queue.pinned
        request = FillRequest(
            current=current.item if current else None,
            history=tuple(e.item for e in self._queue.history[-50:]),
            queued=tuple(e.item for e in pinned),
            exclude=frozenset({e.item for e in pinned} | ({current.item} if current else set())),
            count=self._settings.upnext_length,
        )
        self._queue.set_auto_tail(self._recommender.fill(request))
        warm = getattr(self._recommender, "warm", None)
        if warm is not None:
            # After this task has published the list: off the event path.
            self._post(warm)

    def _queue_changed(self) -> None:
        entries = tuple(
            QueueEntry(
                uid=e.uid,
                track=self._track(e.item),
                pinned=e.origin is not Origin.AUTO,
                reason=e.reason if e.origin is Origin.AUTO else USER_REASON,
            )
            for e in self._queue.upcoming
        )
        if self._playing is not None:
            self._prepare_next()
        self._publish("queue", upnext=entries)
        self._save_state()


def _saved_ids(saved: dict[str, Any]) -> list[int]:
    """Every track id a saved state names (to check which still play)."""
    queue = saved.get("queue") or {}
    ids: list[Any] = [queue.get("current")]
    for key in ("front", "added", "history"):
        ids.extend(queue.get(key) or [])
    ids.extend(pair[0] for pair in queue.get("auto") or [] if isinstance(pair, list) and pair)
    return [i for i in ids if isinstance(i, int)]


def _with_verdict(verdicts: dict[str, set[int]], track_id: int, kind: str) -> dict[str, set[int]]:
    """The likes and dislikes after one more verdict (events.verdicts' rule), for while it
    waits to be written."""
    liked, disliked = set(verdicts["like"]), set(verdicts["dislike"])
    if kind == "like":
        liked.add(track_id)
        disliked.discard(track_id)
    elif kind == "dislike":
        disliked.add(track_id)
        liked.discard(track_id)
    elif kind == "unlike":
        liked.discard(track_id)
    else:
        disliked.discard(track_id)
    return {"like": liked, "dislike": disliked}
