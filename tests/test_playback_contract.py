"""One contract, two engines: every test here runs against the null backend (its clock
advanced by the test) and the libVLC backend (real decoding, ``--aout=dummy``), on files
written by tests/audiogen.py and on the real recordings in ../shared/data/audio."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import soundfile as sf

from player.playback import NullBackend, PlaybackBackend, State
from player.playback.replaygain import ReplayGainMode, ReplayGainTags, gain_factor
from player.playback.vlc_backend import DEFAULT_VLC_ARGS, VlcBackend
from tests.audiogen import write_audio

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
RECORDINGS = sorted((DATA / "audio").glob("*.ogg"))
NO_RECORDINGS = pytest.mark.skip(reason="the real recordings of ../shared/data are not present")
TAGS = DATA / "tags"
FORMATS = ["wav", "flac", "ogg", "mp3", "m4a"]
VLC_TEST_ARGS = [*DEFAULT_VLC_ARGS, "--aout=dummy"]
TIMEOUT = 20.0  # generous: CI runs on 2 shared cores


class Harness:
    """A backend, the events its listeners heard, and a way to let time pass."""

    def __init__(self, backend: PlaybackBackend) -> None:
        self.backend = backend
        self.events: list[tuple[str, ...]] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()
        backend.add_start_listener(lambda p: self._record("start", p))
        backend.add_end_listener(lambda p: self._record("end", p))
        backend.add_error_listener(lambda p, r: self._record("error", p, r))

    def _record(self, *event: str) -> None:
        with self._lock:
            self.events.append(event)
            self.threads.add(threading.current_thread().name)

    def seen(self) -> list[tuple[str, ...]]:
        with self._lock:
            return list(self.events)

    def let_pass(self, seconds: float) -> None:
        if isinstance(self.backend, NullBackend):
            self.backend.advance(seconds)
        else:
            time.sleep(seconds)

    def wait_for(self, condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        waited = 0.0
        while not condition():
            if waited > timeout:
                raise AssertionError(f"timed out; events so far: {self.seen()}")
            self.let_pass(0.02)
            waited += 0.02

    def wait_event(self, *event: str) -> None:
        self.wait_for(lambda: event in [e[: len(event)] for e in self.seen()])


@pytest.fixture(params=["null", "vlc"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    backend: PlaybackBackend
    backend = NullBackend() if request.param == "null" else VlcBackend(VLC_TEST_ARGS)
    try:
        yield Harness(backend)
    finally:
        backend.close()


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """1.5 s files in every format the contract covers, plus a second wav to follow."""
    folder = tmp_path_factory.mktemp("tones")
    files = {fmt: write_audio(folder / f"tone.{fmt}", seconds=1.5) for fmt in FORMATS}
    files["aiff"] = write_audio(folder / "tone.aiff", seconds=1.5)
    files["opus"] = write_audio(folder / "tone.opus", seconds=1.5, sr=48000)
    files["alac"] = write_audio(folder / "tone-alac.m4a", seconds=1.5, fmt="alac")
    files["next"] = write_audio(folder / "next.wav", seconds=1.0, freq=660.0)
    files["third"] = write_audio(folder / "third.flac", seconds=1.0, freq=550.0)
    return files


@pytest.fixture(scope="module")
def long_track(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5.3 s track to pause and seek in: the real trumpet recording of ../shared/data
    when it is there (CI), else the same length generated here (anyone's clone)."""
    real = [p for p in RECORDINGS if "trumpet" in p.name]
    if real:
        return real[0]
    return write_audio(tmp_path_factory.mktemp("long") / "long.ogg", seconds=5.3)


@pytest.fixture(scope="module")
def eight_seconds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """8 s files to seek in, written as the other fixtures are (libsndfile, PyAV)."""
    folder = tmp_path_factory.mktemp("eight")
    files = {fmt: write_audio(folder / f"eight.{fmt}", seconds=8.0) for fmt in FORMATS}
    files["opus"] = write_audio(folder / "eight.opus", seconds=8.0, sr=48000)
    return files


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files no engine can play: made here, and real damaged files from ../shared/data."""
    folder = tmp_path_factory.mktemp("broken")
    empty = folder / "empty.flac"
    empty.write_bytes(b"")
    garbage = folder / "garbage.mp3"
    garbage.write_bytes(b"\x00garbage" * 2000)
    text = folder / "notes.ogg"
    text.write_text("these are shopping notes, not music\n" * 50)
    return {
        "missing": folder / "gone.mp3",
        "empty": empty,
        "garbage": garbage,
        "text": text,
        "real-empty-mp3": TAGS / "empty_file.mp3",
        "real-invalid-ogg": TAGS / "invalid_file.ogg",
        "real-magic-bytes-only": TAGS / "magic_bytes_only_mp3.x",
        "real-ogg-without-audio": TAGS / "no_audio.ogg",
        "real-unknown-format": TAGS / "there_is_no_such_ext.bogus",
    }


# -- playing real files ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [*FORMATS, "aiff", "opus", "alac"])
def test_each_format_plays_to_its_end(harness: Harness, tones: dict[str, Path], fmt: str) -> None:
    backend, path = harness.backend, str(tones[fmt])
    backend.load(path)
    harness.wait_for(lambda: backend.duration() is not None)
    assert backend.duration() == pytest.approx(1.5, abs=0.1)
    assert backend.state() is State.LOADED
    assert backend.current_path() == path

    backend.play()
    harness.wait_event("end", path)
    assert [e for e in harness.seen() if e[1] == path] == [("start", path), ("end", path)]
    harness.wait_for(lambda: backend.state() is State.STOPPED)
    assert backend.position() == 0.0


@pytest.mark.parametrize(
    "recording",
    RECORDINGS or [pytest.param(None, marks=NO_RECORDINGS)],
    ids=lambda p: p.stem[:24] if p else "none",
)
def test_real_recordings_report_their_length_and_finish(harness: Harness, recording: Path) -> None:
    backend, path = harness.backend, str(recording)
    truth = sf.info(path).duration  # libsndfile's count of the decoded frames
    backend.load(path)
    backend.play()
    harness.wait_event("start", path)
    harness.wait_for(lambda: backend.duration() is not None)
    assert backend.duration() == pytest.approx(truth, rel=0.01, abs=0.05)
    # Jump close to the end rather than listen for two minutes.
    backend.seek(truth - 0.4)
    harness.wait_event("end", path)
    assert ("error", path) not in [e[:2] for e in harness.seen()]


def test_pause_holds_the_position_and_play_resumes(harness: Harness, long_track: Path) -> None:
    backend = harness.backend
    path = str(long_track)  # 5.3 s
    backend.load(path)
    backend.play()
    harness.wait_for(lambda: backend.position() > 0.2)
    backend.pause()
    harness.wait_for(lambda: backend.state() is State.PAUSED)
    held = backend.position()
    harness.let_pass(0.5)
    assert backend.position() == pytest.approx(held, abs=0.05)
    assert backend.state() is State.PAUSED

    backend.play()
    harness.wait_for(lambda: backend.state() is State.PLAYING)
    harness.wait_for(lambda: backend.position() > held + 0.1)
    assert [e[0] for e in harness.seen()] == ["start"]  # resuming is not a new start


def _seek_and_check_landing(harness: Harness, path: str, target: float) -> None:
    """Seek to ``target`` in the playing ``path``; the position reported next must be where
    the track plays from: at ``target``, plus at most the time since the seek (libVLC's
    time comes from the decoded audio, so a seek that lands elsewhere shows)."""
    backend = harness.backend
    before = backend.position()
    assert abs(target - before) > 1.0
    backend.seek(target)
    asked = time.monotonic()

    def fresh() -> bool:  # not the target the backend shows at once, and moved
        position = backend.position()
        return position != pytest.approx(target, abs=1e-3) and abs(position - before) > 0.5

    harness.wait_for(fresh)
    since = time.monotonic() - asked
    position = backend.position()
    assert target - 0.25 <= position <= target + 1.2 * since + 0.5, (target, position, since)
    assert ("end", path) not in harness.seen()
    assert backend.state() is State.PLAYING


@pytest.mark.parametrize(
    "recording",
    RECORDINGS or [pytest.param(None, marks=NO_RECORDINGS)],
    ids=lambda p: p.stem[:24] if p else "none",
)
def test_seek_lands_where_asked_in_real_recordings(harness: Harness, recording: Path) -> None:
    """libVLC 3 seeks in Ogg by time with the bitrate the Vorbis header announces: in
    these recordings that landed up to 8 s after the asked time."""
    backend, path = harness.backend, str(recording)
    length = sf.info(path).duration
    backend.load(path)
    backend.play()
    harness.wait_event("start", path)
    harness.wait_for(lambda: backend.duration() is not None)
    _seek_and_check_landing(harness, path, round(length / 2, 2))


@pytest.mark.parametrize("fmt", [*FORMATS, "opus"])
def test_seek_lands_where_asked_in_each_format(
    harness: Harness, eight_seconds: dict[str, Path], fmt: str
) -> None:
    """In libsndfile's Ogg Vorbis a tone is coded far below the announced bitrate: a seek
    by time ran past the end and the track ended at once."""
    backend, path = harness.backend, str(eight_seconds[fmt])
    backend.load(path)
    backend.play()
    harness.wait_event("start", path)
    harness.wait_for(lambda: backend.duration() is not None)
    _seek_and_check_landing(harness, path, 4.0)
    _seek_and_check_landing(harness, path, 1.5)  # and back


@pytest.mark.parametrize("fmt", ["ogg", "opus", "flac"])
def test_seek_lands_where_asked_in_a_track_that_followed_by_itself(
    harness: Harness, eight_seconds: dict[str, Path], tones: dict[str, Path], fmt: str
) -> None:
    """Most tracks start as the prepared next one (Ogg ones are only opened ahead)."""
    backend, first, path = harness.backend, str(tones["wav"]), str(eight_seconds[fmt])
    backend.load(first)
    backend.set_next(path)
    backend.play()
    harness.wait_event("start", path)
    harness.wait_for(lambda: backend.duration() == pytest.approx(8.0, abs=0.1))
    _seek_and_check_landing(harness, path, 4.0)


@pytest.mark.parametrize("fmt", [*FORMATS, "opus"])
def test_a_seek_given_before_playing_starts_there(
    harness: Harness, eight_seconds: dict[str, Path], fmt: str
) -> None:
    """As when the app restores where the user left a track: load, seek, play."""
    backend, path = harness.backend, str(eight_seconds[fmt])
    backend.load(path)
    backend.seek(5.0)
    backend.play()
    harness.wait_event("start", path)
    harness.wait_for(lambda: backend.position() > 5.05)
    assert backend.position() < 7.5
    assert ("end", path) not in harness.seen()


@pytest.mark.parametrize("fmt", ["ogg", "flac", "mp3"])
def test_seeking_past_the_end_goes_on_to_the_prepared_track(
    harness: Harness, eight_seconds: dict[str, Path], tones: dict[str, Path], fmt: str
) -> None:
    backend, path, after = harness.backend, str(eight_seconds[fmt]), str(tones["next"])
    backend.load(path)
    backend.set_next(after)
    backend.play()
    harness.wait_event("start", path)
    harness.wait_for(lambda: backend.duration() is not None)
    backend.seek(999.0)
    harness.wait_event("start", after)
    assert [e[:2] for e in harness.seen()][:3] == [("start", path), ("end", path), ("start", after)]


def test_seek_moves_the_position(harness: Harness, long_track: Path) -> None:
    backend = harness.backend
    path = str(long_track)
    backend.load(path)
    backend.play()
    harness.wait_event("start", path)
    backend.seek(3.0)
    harness.wait_for(lambda: backend.position() >= 3.0)
    assert backend.position() < 5.4
    # Seeking past the end is clamped to the end: the track finishes.
    backend.seek(999.0)
    harness.wait_event("end", path)


def test_stop_keeps_the_track_and_play_starts_it_again(
    harness: Harness, tones: dict[str, Path]
) -> None:
    backend, path = harness.backend, str(tones["ogg"])
    backend.load(path)
    backend.play()
    harness.wait_event("start", path)
    backend.stop()
    harness.wait_for(lambda: backend.state() is State.LOADED)
    assert backend.current_path() == path
    assert backend.position() == 0.0
    backend.play()
    harness.wait_event("end", path)
    assert [e[0] for e in harness.seen()] == ["start", "start", "end"]


def test_a_finished_track_plays_again_from_the_start(
    harness: Harness, tones: dict[str, Path]
) -> None:
    backend, path = harness.backend, str(tones["flac"])
    backend.load(path)
    backend.play()
    harness.wait_event("end", path)
    harness.wait_for(lambda: backend.state() is State.STOPPED)
    backend.play()
    harness.wait_for(lambda: [e[0] for e in harness.seen()] == ["start", "end", "start", "end"])


# -- the prepared next track -----------------------------------------------------------------


def test_prepared_next_tracks_follow_without_a_call(
    harness: Harness, tones: dict[str, Path]
) -> None:
    backend = harness.backend
    first, second, third = str(tones["mp3"]), str(tones["next"]), str(tones["third"])
    # The listener prepares the following track as each one starts, as the app does.
    backend.add_start_listener(lambda p: backend.set_next(third) if p == second else None)
    backend.load(first)
    backend.set_next(second)
    harness.wait_for(lambda: backend.next_path() == second)
    backend.play()
    harness.wait_event("end", third)
    assert harness.seen() == [
        ("start", first),
        ("end", first),
        ("start", second),
        ("end", second),
        ("start", third),
        ("end", third),
    ]
    assert backend.current_path() == third
    assert backend.next_path() is None
    harness.wait_for(lambda: backend.state() is State.STOPPED)


def test_forgetting_the_prepared_track_stops_after_the_current(
    harness: Harness, tones: dict[str, Path]
) -> None:
    backend, path = harness.backend, str(tones["wav"])
    backend.load(path)
    backend.set_next(str(tones["next"]))
    backend.set_next(None)
    backend.play()
    harness.wait_event("end", path)
    harness.wait_for(lambda: backend.state() is State.STOPPED)
    assert [e[0] for e in harness.seen()] == ["start", "end"]


# -- files that cannot be played -------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "empty",
        "garbage",
        "text",
        "real-empty-mp3",
        "real-invalid-ogg",
        "real-magic-bytes-only",
        "real-ogg-without-audio",
        "real-unknown-format",
    ],
)
def test_an_unplayable_file_is_skipped_with_a_reason(
    harness: Harness, tones: dict[str, Path], broken: dict[str, Path], kind: str
) -> None:
    if kind.startswith("real-") and not broken[kind].exists():
        pytest.skip("the real damaged files of ../shared/data are not present")
    backend, bad, good = harness.backend, str(broken[kind]), str(tones["ogg"])
    backend.load(bad)
    backend.set_next(good)
    backend.play()
    harness.wait_event("end", good)
    events = harness.seen()
    assert events[1:] == [("start", good), ("end", good)]
    assert events[0][:2] == ("error", bad)
    reason = events[0][2]
    assert reason and "\n" not in reason and len(reason) < 120
    if kind == "missing":
        assert reason == "file not found"
    if kind == "empty":
        assert reason == "the file is empty"


def test_an_unplayable_prepared_track_is_reported_and_playback_stops(
    harness: Harness, tones: dict[str, Path], broken: dict[str, Path]
) -> None:
    backend, good, bad = harness.backend, str(tones["wav"]), str(broken["garbage"])
    backend.load(good)
    backend.set_next(bad)
    backend.play()
    harness.wait_event("error", bad)
    harness.wait_for(lambda: backend.state() is State.STOPPED)
    assert [e[:2] for e in harness.seen()] == [("start", good), ("end", good), ("error", bad)]


# -- volume, mute, ReplayGain ----------------------------------------------------------------


def test_volume_and_mute_are_kept_and_clamped(harness: Harness, tones: dict[str, Path]) -> None:
    backend = harness.backend
    backend.set_volume(0.5)
    backend.set_muted(True)
    assert backend.volume() == 0.5
    assert backend.muted()
    backend.set_volume(7.0)
    assert backend.volume() == 1.0
    backend.set_volume(-1.0)
    assert backend.volume() == 0.0
    backend.set_muted(False)
    assert not backend.muted()


def test_replaygain_scales_the_volume_per_track(harness: Harness, tones: dict[str, Path]) -> None:
    backend = harness.backend
    quiet = gain_factor(ReplayGainTags(track_gain=-6.0, track_peak=0.5), ReplayGainMode.TRACK)
    huge = gain_factor(ReplayGainTags(track_gain=+30.0, track_peak=0.01), ReplayGainMode.TRACK)
    # The slider is perceptual (amplitude = volume³, libVLC's curve); the gain multiplies
    # the amplitude.
    backend.set_volume(0.8)
    backend.load(str(tones["flac"]), gain=quiet)
    harness.wait_for(lambda: backend.effective_volume() == pytest.approx(0.8**3 * quiet))
    backend.set_volume(0.4)
    harness.wait_for(lambda: backend.effective_volume() == pytest.approx(0.4**3 * quiet))
    # The engine's limit (200 %, amplitude x8) caps a big boost.
    backend.set_volume(1.0)
    backend.load(str(tones["wav"]), gain=huge)
    harness.wait_for(lambda: backend.effective_volume() == pytest.approx(8.0))
    # The prepared track's gain takes over when it starts.
    backend.set_next(str(tones["next"]), gain=quiet)
    backend.play()
    harness.wait_event("start", str(tones["next"]))
    harness.wait_for(lambda: backend.effective_volume() == pytest.approx(quiet))


# -- the threading rule ----------------------------------------------------------------------


def test_listeners_may_drive_the_backend_from_inside_a_callback(
    harness: Harness, tones: dict[str, Path]
) -> None:
    """The app reacts to an end by loading and playing the next track from the listener
    itself; with libVLC that happens off its event thread, so it must not deadlock."""
    backend, first, second = harness.backend, str(tones["wav"]), str(tones["next"])

    def on_end(path: str) -> None:
        if path == first:
            backend.load(second)
            backend.play()

    backend.add_end_listener(on_end)
    backend.load(first)
    backend.play()
    harness.wait_event("end", second)
    assert [e[0] for e in harness.seen()] == ["start", "end", "start", "end"]


def test_a_failing_listener_does_not_stop_playback(
    harness: Harness, tones: dict[str, Path]
) -> None:
    backend, first, second = harness.backend, str(tones["wav"]), str(tones["next"])

    def broken(path: str) -> None:
        raise RuntimeError("a bug in some listener")

    backend.add_end_listener(broken)
    backend.add_start_listener(broken)
    backend.load(first)
    backend.set_next(second)
    backend.play()
    harness.wait_event("end", second)
    assert [e[0] for e in harness.seen()] == ["start", "end", "start", "end"]


def test_a_removed_listener_hears_nothing(harness: Harness, tones: dict[str, Path]) -> None:
    heard: list[str] = []
    remove = harness.backend.add_start_listener(heard.append)
    remove()
    harness.backend.load(str(tones["wav"]))
    harness.backend.play()
    harness.wait_event("end", str(tones["wav"]))
    assert heard == []


# -- the null backend in the app: wall-clock time --------------------------------------------


def test_null_backend_in_realtime_mode_plays_by_wall_time(tmp_path: Path) -> None:
    path = str(write_audio(tmp_path / "short.wav", seconds=0.3))
    ended = threading.Event()
    with NullBackend(realtime=True, tick_seconds=0.01) as backend:
        backend.add_end_listener(lambda p: ended.set())
        backend.load(path)
        backend.play()
        assert ended.wait(TIMEOUT)
        assert backend.state() is State.STOPPED


# -- ReplayGain rules ------------------------------------------------------------------------


def test_replaygain_modes_choose_track_or_album_values_with_fallbacks() -> None:
    both = ReplayGainTags(track_gain=-6.0, track_peak=0.1, album_gain=-3.0, album_peak=0.1)
    assert gain_factor(both, ReplayGainMode.TRACK) == pytest.approx(10 ** (-6 / 20))
    assert gain_factor(both, ReplayGainMode.ALBUM) == pytest.approx(10 ** (-3 / 20))
    assert gain_factor(both, ReplayGainMode.OFF) == 1.0
    track_only = ReplayGainTags(track_gain=-4.0, track_peak=0.2)
    assert gain_factor(track_only, ReplayGainMode.ALBUM) == pytest.approx(10 ** (-4 / 20))
    album_only = ReplayGainTags(album_gain=-2.0, album_peak=0.2)
    assert gain_factor(album_only, ReplayGainMode.TRACK) == pytest.approx(10 ** (-2 / 20))
    untagged = ReplayGainTags()
    assert gain_factor(untagged, ReplayGainMode.TRACK) == 1.0
    assert gain_factor(untagged, ReplayGainMode.TRACK, fallback_db=-6.0) == pytest.approx(
        10 ** (-6 / 20)
    )
    assert gain_factor(both, ReplayGainMode.TRACK, preamp_db=6.0) == pytest.approx(1.0)


def test_replaygain_never_lets_the_peak_clip() -> None:
    # +6 dB would double the level, but the loudest sample is already at 0.8 of full scale.
    hot = ReplayGainTags(track_gain=6.0, track_peak=0.8)
    assert gain_factor(hot, ReplayGainMode.TRACK) == pytest.approx(1 / 0.8)
    assert gain_factor(hot, ReplayGainMode.TRACK) * 0.8 <= 1.0 + 1e-9
    assert gain_factor(hot, ReplayGainMode.TRACK, prevent_clipping=False) == pytest.approx(
        10 ** (6 / 20)
    )
    # A quiet gain is left alone by the peak.
    assert gain_factor(ReplayGainTags(-8.0, 0.9), ReplayGainMode.TRACK) == pytest.approx(
        10 ** (-8 / 20)
    )


def test_replaygain_reads_the_library_columns() -> None:
    row = {
        "path": "/music/a.flac",
        "rg_track_gain": -7.5,
        "rg_track_peak": 0.98,
        "rg_album_gain": None,
        "rg_album_peak": "nonsense",
    }
    tags = ReplayGainTags.from_row(row)
    assert tags == ReplayGainTags(track_gain=-7.5, track_peak=0.98)
    assert ReplayGainTags.from_row({}) == ReplayGainTags()
