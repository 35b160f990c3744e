"""The libVLC backend (python-vlc).

Threads: libVLC sends its events on its own threads, while holding its player lock, so
calling libVLC from an event callback deadlocks. Here the callbacks do nothing but put
the event on a queue; one worker thread ("segue-vlc") owns every libVLC object and runs,
in order, both the commands of the public methods and the events. Public methods only
enqueue and read a cache the worker keeps, so they never block (libVLC's ``stop`` joins
its input thread and may take a while) and may be called from any thread, listeners
included. Listeners run on the worker thread.

Gapless: two media players take turns. ``set_next`` opens the next file in the idle one
with ``:start-paused``: libVLC opens the file, starts its decoder and holds it paused at
the first sample. When the current track ends, the worker un-pauses the prepared player,
so the next track starts without opening, probing or buffering anything. (Ogg files are
only opened and parsed ahead, and start decoding at the switch: see ``_holds_cleanly``.)
What remains of the gap is libVLC 3's own end-of-stream detection: measured into a PCM
sink paced like a sound card, the end event comes 20-100 ms after the last sample (the
switch itself takes under a millisecond), so the gap is 20-100 ms depending on format.

Stale events: each player has an *epoch*, bumped (after ``stop``, before new media) every
time its media changes or stops. Events carry the epoch they were sent under; the worker
drops those of an older epoch, so a late "end" of a replaced track never skips a song.

Seeking: an Ogg file is sought by position, every other by time (see ``_seek_player``).

Unplayable files: libVLC reports a file it cannot open with an error event, and a file in
which it finds no audio by simply "ending" without a length or a single time update. Both
become an error (path + one-line reason), and playback moves on to the prepared next.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from player.playback.backend import (
    PlaybackBackend,
    State,
    clamp_volume,
    engine_level,
    output_amplitude,
)
from player.playback.oggpages import byte_fraction

log = logging.getLogger(__name__)

# Offline and predictable: no video, no interface, no user vlcrc, no Lua scripts (the
# art/metadata fetchers are Lua), no network metadata, and ReplayGain only our own.
DEFAULT_VLC_ARGS: tuple[str, ...] = (
    "--no-video",
    "--quiet",
    "--ignore-config",
    "--no-metadata-network-access",
    "--no-lua",
    "--no-stats",
    "--audio-replay-gain-mode=none",
)

PcmSink = Callable[[bytes], None]

_NO_AUDIO = "libVLC found no playable audio in the file"
_CANNOT_OPEN = "libVLC could not open or decode the file"
_STARTED = (State.PLAYING, State.PAUSED)  # libVLC takes a seek in these states only


class VlcUnavailable(RuntimeError):
    """libVLC could not be loaded or started; the message says why, in one line."""


def _reason(path: str, engine_says: str) -> str:
    """A one-line reason, naming the plain cause when there is one."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"cannot read the file ({exc.strerror or exc})"
    return "the file is empty" if size == 0 else engine_says


def _is_ogg(path: str | None) -> bool:
    """Whether the file is an Ogg stream (Vorbis, Opus, Speex, FLAC...), told by its magic
    bytes whatever it is called."""
    if path is None:
        return False
    try:
        with open(path, "rb") as file:
            return file.read(4) == b"OggS"
    except OSError:
        return False  # libVLC will report what is wrong with it


def _holds_cleanly(path: str | None) -> bool:
    """Whether libVLC 3 can hold this file paused at its start without playing any of it.

    Measured: with ``:start-paused``, the Ogg demuxer (Vorbis, Opus, Speex...) hands its
    first packets to the decoder while opening, before the pause; the audio output is
    created after the pause and is never paused, so about a second of the prepared track
    plays at once, muted, and is lost. MP3, FLAC, WAV, AIFF, MP4 (AAC/ALAC) and WMA hold
    cleanly. The container is told by its magic bytes, whatever the file is called.
    """
    return not _is_ogg(path)


@dataclass
class _Slot:
    """One of the two media players, and what the worker knows about its media."""

    player: Any
    epoch: int = 0
    path: str | None = None
    media: Any = None
    gain: float = 1.0
    length_ms: int = 0
    saw_time: bool = False
    started: bool = False  # the start event was sent for this media
    ready: bool = False  # a prepared next track is open and paused at its start
    failed: str | None = None  # a prepared next track failed while opening
    start_when_ready: bool = False
    pending_seek_ms: int | None = None
    volume_set: bool = False  # libVLC accepted the volume for this media
    volume_retry: bool = False
    # PCM sink only: closed while libVLC has paused this player's output, so samples
    # decoded ahead wait (as in a paused sound card) instead of being heard.
    pcm_open: threading.Event = field(default_factory=threading.Event)
    lazy: bool = False  # prepared without decoding (Ogg, see ``_holds_cleanly``)
    ogg: bool = False  # sought by position, never by time (see ``_seek_player``)


class VlcBackend(PlaybackBackend):
    def __init__(
        self,
        args: Sequence[str] = DEFAULT_VLC_ARGS,
        *,
        pcm_sink: PcmSink | None = None,
        pcm_rate: int = 44100,
        pcm_channels: int = 2,
    ) -> None:
        """``pcm_sink``, when given, receives the decoded output (signed 16-bit native,
        interleaved, at ``pcm_rate``/``pcm_channels``) instead of a sound device: for
        visualisers, measurements and tests. It is called on libVLC's audio thread and
        must not call the backend; when it returns, libVLC sends the next buffer."""
        super().__init__()
        try:
            import vlc
        except ImportError:
            raise VlcUnavailable("the python-vlc package is missing") from None
        except (Exception, SystemExit):  # python-vlc may even call sys.exit()
            raise VlcUnavailable("libVLC was not found; install VLC 3 (libvlc5)") from None
        self._vlc: Any = vlc
        self.args = tuple(args)  # the options libVLC was started with
        instance = vlc.Instance(list(args))
        if instance is None:
            options = " ".join(args)
            raise VlcUnavailable(f"libVLC failed to start with the options {options}")
        self._instance: Any = instance
        version = vlc.libvlc_get_version()
        self.name = f"libVLC {version.decode() if isinstance(version, bytes) else version}"

        self._inbox: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._slots = [_Slot(instance.media_player_new()), _Slot(instance.media_player_new())]
        self._cur = 0
        for index, slot in enumerate(self._slots):
            self._attach_events(index, slot.player)
        self._pcm_callbacks: list[Any] = []  # ctypes callbacks must outlive the players
        if pcm_sink is not None:
            for slot in self._slots:
                self._route_pcm(slot, pcm_sink, pcm_rate, pcm_channels)

        # The cache that queries read; written by the worker thread only.
        self._lock = threading.Lock()
        self._state = State.IDLE
        self._path: str | None = None
        self._next_path: str | None = None
        self._duration: float | None = None
        self._time = 0.0
        self._volume = 1.0
        self._muted = False
        self._effective = 1.0
        self._closed = False

        self._worker = threading.Thread(target=self._run, name="segue-vlc", daemon=True)
        self._worker.start()

    # -- public commands: enqueue only -------------------------------------------------------

    def load(self, path: str, gain: float = 1.0) -> None:
        self._submit(lambda: self._do_load(str(path), float(gain)))

    def set_next(self, path: str | None, gain: float = 1.0) -> None:
        self._submit(lambda: self._do_set_next(None if path is None else str(path), gain))

    def play(self) -> None:
        self._submit(self._do_play)

    def pause(self) -> None:
        self._submit(self._do_pause)

    def stop(self) -> None:
        self._submit(self._do_stop)

    def seek(self, seconds: float) -> None:
        self._submit(lambda: self._do_seek(float(seconds)))

    def set_volume(self, volume: float) -> None:
        value = clamp_volume(volume)
        with self._lock:
            self._volume = value
        self._submit(lambda: self._apply_volume(self._slots[self._cur]))

    def set_muted(self, muted: bool) -> None:
        with self._lock:
            self._muted = bool(muted)
        self._submit(lambda: self._apply_volume(self._slots[self._cur]))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._inbox.put(self._do_close)
        self._inbox.put(None)
        if threading.current_thread() is not self._worker:
            self._worker.join(timeout=10.0)

    # -- queries: read the cache -------------------------------------------------------------

    def state(self) -> State:
        with self._lock:
            return self._state

    def current_path(self) -> str | None:
        with self._lock:
            return self._path

    def next_path(self) -> str | None:
        with self._lock:
            return self._next_path

    def position(self) -> float:
        with self._lock:
            if self._state not in (State.PLAYING, State.PAUSED, State.LOADED):
                return 0.0
            if self._duration is not None:
                return min(self._time, self._duration)
            return self._time

    def duration(self) -> float | None:
        with self._lock:
            return self._duration

    def volume(self) -> float:
        with self._lock:
            return self._volume

    def muted(self) -> bool:
        with self._lock:
            return self._muted

    def effective_volume(self) -> float:
        with self._lock:
            return self._effective

    # -- the worker --------------------------------------------------------------------------

    def _submit(self, command: Callable[[], None]) -> None:
        self._inbox.put(command)

    def _run(self) -> None:
        while True:
            command = self._inbox.get()
            if command is None:
                return
            try:
                command()
            except Exception:  # one bad command must not kill playback
                log.exception("playback command failed")

    def _attach_events(self, index: int, player: Any) -> None:
        types = self._vlc.EventType
        manager = player.event_manager()
        kinds = {
            types.MediaPlayerPlaying: "playing",
            types.MediaPlayerPaused: "paused",
            types.MediaPlayerEndReached: "end",
            types.MediaPlayerEncounteredError: "error",
            types.MediaPlayerTimeChanged: "time",
            types.MediaPlayerLengthChanged: "length",
        }
        for event_type, kind in kinds.items():
            manager.event_attach(event_type, self._on_vlc_event, index, kind)

    def _route_pcm(self, slot: _Slot, sink: PcmSink, rate: int, channels: int) -> None:
        import ctypes

        frame_bytes = 2 * channels
        player = slot.player

        decorators = self._vlc.CallbackDecorators
        slot.pcm_open.set()

        @decorators.AudioPlayCb  # type: ignore[misc,untyped-decorator]
        def play(_opaque: Any, samples: Any, count: int, _pts: int) -> None:
            if not slot.volume_set and not slot.volume_retry:
                # This output only exists once samples flow, so a volume given before
                # was refused: the worker gives it again now.
                slot.volume_retry = True
                self._inbox.put(lambda: self._apply_volume(slot))
            slot.pcm_open.wait()
            sink(ctypes.string_at(samples, count * frame_bytes))

        @decorators.AudioPauseCb  # type: ignore[misc,untyped-decorator]
        def pause(_opaque: Any, _pts: int) -> None:
            slot.pcm_open.clear()

        @decorators.AudioResumeCb  # type: ignore[misc,untyped-decorator]
        def resume(_opaque: Any, _pts: int) -> None:
            slot.pcm_open.set()

        self._pcm_callbacks += [play, pause, resume]
        player.audio_set_callbacks(play, pause, resume, None, None, None)
        player.audio_set_format("S16N", rate, channels)

    def _on_vlc_event(self, event: Any, index: int, kind: str) -> None:
        # On a libVLC thread with its locks held: read plain values and hand off. Nothing
        # here may call libVLC.
        value = 0
        if kind == "time":
            value = int(event.u.new_time)
        elif kind == "length":
            value = int(event.u.new_length)
        epoch = self._slots[index].epoch
        self._inbox.put(lambda: self._on_event(index, epoch, kind, value))

    def _on_event(self, index: int, epoch: int, kind: str, value: int) -> None:
        slot = self._slots[index]
        if epoch != slot.epoch:
            return  # an event of media this player no longer holds
        if index != self._cur:
            self._on_prepared_event(slot, kind, value)
            return
        if kind == "playing":
            self._on_playing(slot)
        elif kind == "paused":
            if slot.start_when_ready:
                self._start_prepared(slot)
            else:
                self._set_state(State.PAUSED)
        elif kind == "time":
            slot.saw_time = slot.saw_time or value > 0
            if not slot.volume_set:
                self._apply_volume(slot)
            with self._lock:
                self._time = value / 1000.0
            self._maybe_emit_start(slot)
        elif kind == "length":
            slot.length_ms = max(slot.length_ms, value)
            if value > 0:
                with self._lock:
                    self._duration = value / 1000.0
                if slot.pending_seek_ms is not None and self.state() in _STARTED:
                    self._seek_player(slot, slot.pending_seek_ms)  # it waited for the length
                self._maybe_emit_start(slot)
        elif kind == "end":
            if slot.length_ms <= 0 and not slot.saw_time:
                self._fail_current(slot, _reason(slot.path or "", _NO_AUDIO))
            else:
                assert slot.path is not None
                self._emit_end(slot.path)
                self._advance()
        elif kind == "error":
            self._fail_current(slot, _reason(slot.path or "", _CANNOT_OPEN))

    def _on_prepared_event(self, slot: _Slot, kind: str, value: int) -> None:
        if kind == "paused":
            slot.ready = True
        elif kind == "length":
            slot.length_ms = max(slot.length_ms, value)
        elif kind == "error":
            slot.failed = _reason(slot.path or "", _CANNOT_OPEN)
        elif kind == "end":
            # A prepared track holds at its start; ending instead means no audio in it.
            slot.failed = _reason(slot.path or "", _NO_AUDIO)

    def _on_playing(self, slot: _Slot) -> None:
        if slot.start_when_ready:
            return  # the prepared player's own start; it pauses next, then we resume it
        if slot.pending_seek_ms is not None:
            self._seek_player(slot, slot.pending_seek_ms)
        self._apply_volume(slot)
        self._set_state(State.PLAYING)
        self._maybe_emit_start(slot)

    def _maybe_emit_start(self, slot: _Slot) -> None:
        """Send *start* once the current track plays and is known to hold audio, so a
        file that turns out empty gets an error only, never a start."""
        if slot.started or slot.path is None or self.state() is not State.PLAYING:
            return
        if slot.length_ms > 0 or slot.saw_time:
            slot.started = True
            self._emit_start(slot.path)

    # -- commands, on the worker -------------------------------------------------------------

    def _reset(self, slot: _Slot, path: str | None, gain: float, *, prepare: bool) -> None:
        slot.pcm_open.set()  # a sink callback waiting on a pause must let libVLC stop
        slot.player.stop()
        slot.epoch += 1  # after stop: whatever it sent while stopping is now stale
        slot.path, slot.gain, slot.media = path, gain, None
        slot.length_ms, slot.saw_time, slot.started = 0, False, False
        slot.ready, slot.failed, slot.start_when_ready = False, None, False
        slot.pending_seek_ms, slot.volume_set, slot.volume_retry = None, False, False
        slot.ogg = _is_ogg(path)
        slot.lazy = prepare and slot.ogg
        if path is None:
            return
        media = self._instance.media_new_path(path)
        if prepare and not slot.lazy:
            media.add_option(":start-paused")
        slot.media = media
        slot.player.set_media(media)
        if not prepare or slot.lazy:
            self._parse_duration(slot, media)

    def _parse_duration(self, slot: _Slot, media: Any) -> None:
        """Read the length from the file's headers now, so it is known before playing."""
        index, epoch = self._slots.index(slot), slot.epoch

        def on_duration(event: Any) -> None:  # a libVLC thread: hand off only
            value = int(event.u.new_duration)
            self._inbox.put(lambda: self._on_event(index, epoch, "length", value))

        media.event_manager().event_attach(self._vlc.EventType.MediaDurationChanged, on_duration)
        media.parse_with_options(self._vlc.MediaParseFlag.local, 0)

    def _do_load(self, path: str, gain: float) -> None:
        slot = self._slots[self._cur]
        self._reset(slot, path, gain, prepare=False)
        with self._lock:
            self._path, self._duration, self._time = path, None, 0.0
        self._set_state(State.LOADED)
        self._apply_volume(slot)

    def _do_set_next(self, path: str | None, gain: float) -> None:
        slot = self._slots[1 - self._cur]
        self._reset(slot, path, gain, prepare=True)
        with self._lock:
            self._next_path = path
        if path is None:
            return
        if slot.lazy:
            slot.ready = True  # opened and parsed; it starts decoding at the switch
        else:
            slot.player.audio_set_mute(True)  # silent while it holds at its start
            slot.player.play()

    def _do_play(self) -> None:
        slot = self._slots[self._cur]
        if slot.path is None:
            return
        state = self.state()
        if state is State.PAUSED:
            slot.player.set_pause(0)
        elif state in (State.LOADED, State.STOPPED):
            if state is State.STOPPED:
                # Replaying a finished track: fresh media and epoch, as after a load.
                self._reset(slot, slot.path, slot.gain, prepare=False)
                with self._lock:
                    self._time = 0.0
            self._apply_volume(slot)
            slot.player.play()

    def _do_pause(self) -> None:
        if self.state() is State.PLAYING:
            self._slots[self._cur].player.set_pause(1)

    def _do_stop(self) -> None:
        slot = self._slots[self._cur]
        if slot.path is None or self.state() not in (State.PLAYING, State.PAUSED):
            return
        self._reset(slot, slot.path, slot.gain, prepare=False)
        with self._lock:
            self._time = 0.0
        self._set_state(State.LOADED)

    def _do_seek(self, seconds: float) -> None:
        slot = self._slots[self._cur]
        if slot.path is None:
            return
        with self._lock:
            length = self._duration
        target = max(0.0, seconds if length is None else min(seconds, length))
        ms = int(target * 1000)
        with self._lock:
            self._time = target
        if self.state() in _STARTED:
            self._seek_player(slot, ms)
        else:
            slot.pending_seek_ms = ms  # libVLC can only seek once the file plays

    def _seek_player(self, slot: _Slot, ms: int) -> None:
        """Make the playing ``slot`` jump to ``ms``.

        An Ogg file is sought by position (``ms`` over the length), never by time: libVLC
        3's Ogg demuxer turns a time into a byte offset with the bitrate the Vorbis header
        announces, which real files do not keep, so a seek by time lands seconds away from
        the asked time (7.5 s late at 1 min in a 2-min recording, measured on the decoded
        output), and beyond the end of a file quieter than announced, which then simply
        ends. A seek by position bisects the file by its granule positions and lands
        where asked.

        When libVLC cannot tell the length, it takes a position as a fraction of the
        file's bytes: ``oggpages`` finds the fraction where the asked time lies. Where it
        cannot (an Ogg codec other than Vorbis and Opus), the seek waits for a length.
        """
        if slot.ogg:
            length = slot.length_ms or max(0, int(slot.player.get_length()))
            fraction = ms / length if length > 0 else byte_fraction(slot.path or "", ms / 1000)
            if fraction is None:
                slot.pending_seek_ms = ms
                return
            slot.player.set_position(min(1.0, max(0.0, fraction)))
        else:
            slot.player.set_time(ms)
        slot.pending_seek_ms = None

    def _do_close(self) -> None:
        for slot in self._slots:
            slot.pcm_open.set()
            slot.player.stop()
            slot.epoch += 1
            slot.player.release()
        self._instance.release()
        with self._lock:
            self._state, self._path, self._next_path = State.IDLE, None, None

    # -- transitions -------------------------------------------------------------------------

    def _fail_current(self, slot: _Slot, reason: str) -> None:
        assert slot.path is not None
        self._emit_error(slot.path, reason)
        self._advance()

    def _advance(self) -> None:
        """The current track is over: switch to the prepared player, or stop."""
        old = self._slots[self._cur]
        old.epoch += 1  # its remaining events (stopped...) are of no interest
        nxt = self._slots[1 - self._cur]
        if nxt.path is None:
            with self._lock:
                self._time = 0.0
            self._set_state(State.STOPPED)
            return
        self._cur = 1 - self._cur
        old.path = None
        with self._lock:
            self._path, self._next_path = nxt.path, None
            self._duration = nxt.length_ms / 1000.0 if nxt.length_ms > 0 else None
            self._time = 0.0
        if nxt.failed is not None:
            self._fail_current(nxt, nxt.failed)
        elif nxt.ready:
            self._start_prepared(nxt)
        else:
            nxt.start_when_ready = True  # still opening: resume it when it holds

    def _start_prepared(self, slot: _Slot) -> None:
        slot.start_when_ready = False
        self._apply_volume(slot)
        if slot.lazy:
            slot.player.play()
        else:
            slot.player.set_pause(0)
        self._set_state(State.PLAYING)
        self._maybe_emit_start(slot)

    def _apply_volume(self, slot: _Slot) -> None:
        with self._lock:
            amplitude = output_amplitude(self._volume, slot.gain)
            muted = self._muted
            if slot is self._slots[self._cur]:
                self._effective = amplitude
        # -1 while the player has no audio output yet (some outputs are only created when
        # the first samples are decoded): retried on the next time update.
        slot.volume_set = slot.player.audio_set_volume(round(engine_level(amplitude) * 100)) == 0
        slot.player.audio_set_mute(muted)

    def _set_state(self, state: State) -> None:
        with self._lock:
            changed, self._state = self._state is not state, state
        if changed:
            self._emit_state(state)
