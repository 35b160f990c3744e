"""What only the libVLC backend has to prove: how the app picks it (or falls back), its
threads, rapid skipping, and that it stays offline and Qt-free. Real libVLC, dummy audio
output; the shared contract is in test_playback_contract.py."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from player.playback import NullBackend, State, create_backend
from player.playback.replaygain import ReplayGainMode, ReplayGainTags, gain_factor
from player.playback.vlc_backend import DEFAULT_VLC_ARGS, VlcBackend
from tests.audiogen import tag, write_audio

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT.parent / "shared" / "data" / "audio"
TIMEOUT = 20.0


def _wait(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- choosing the engine ---------------------------------------------------------------------


def test_the_factory_picks_libvlc_when_it_loads() -> None:
    choice = create_backend(vlc_args=["--aout=dummy"])
    try:
        assert isinstance(choice.backend, VlcBackend)
        assert choice.unavailable_reason is None
        assert choice.backend.name.startswith("libVLC 3.")
    finally:
        choice.backend.close()


def test_no_audio_gives_the_null_backend_and_says_so() -> None:
    choice = create_backend(audio=False, realtime_fallback=False)
    assert isinstance(choice.backend, NullBackend)
    assert choice.unavailable_reason == "Playback is off (--no-audio)."


FALLBACK = (
    "from player.playback import create_backend, NullBackend\n"
    "c = create_backend(realtime_fallback=False)\n"
    "assert isinstance(c.backend, NullBackend), c\n"
    "print(c.unavailable_reason)\n"
)


def test_without_the_libvlc_library_the_app_starts_with_a_clear_reason() -> None:
    # python-vlc is told to load a library that is not there, as on a machine without VLC.
    result = run_python(FALLBACK, PYTHON_VLC_LIB_PATH="/nonexistent/libvlc.so.5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "Playback unavailable: libVLC was not found; install VLC 3 (libvlc5)."
    )


def test_without_python_vlc_the_app_starts_with_a_clear_reason() -> None:
    result = run_python("import sys; sys.modules['vlc'] = None\n" + FALLBACK)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Playback unavailable: the python-vlc package is missing."


def test_options_libvlc_refuses_fall_back_with_the_reason() -> None:
    choice = create_backend(vlc_args=["--no-such-option"], realtime_fallback=False)
    assert isinstance(choice.backend, NullBackend)
    assert choice.unavailable_reason is not None
    assert "--no-such-option" in choice.unavailable_reason
    assert "\n" not in choice.unavailable_reason


# -- threads ---------------------------------------------------------------------------------


def test_listeners_run_on_the_backend_worker_never_on_the_callers_or_libvlcs_thread(
    tmp_path: Path,
) -> None:
    path = str(write_audio(tmp_path / "a.wav", seconds=0.5))
    threads: list[str] = []
    ended = threading.Event()
    with VlcBackend([*DEFAULT_VLC_ARGS, "--aout=dummy"]) as backend:
        backend.add_start_listener(lambda p: threads.append(threading.current_thread().name))
        backend.add_state_listener(lambda s: threads.append(threading.current_thread().name))
        backend.add_end_listener(lambda p: (threads.append(threading.current_thread().name),
                                            ended.set()))  # fmt: skip
        backend.load(path)
        backend.play()
        assert ended.wait(TIMEOUT)
    assert threads and set(threads) == {"segue-vlc"}


def test_rapid_skipping_never_ends_or_skips_a_track_that_was_replaced(tmp_path: Path) -> None:
    # Vorbis decodes at about real speed even to the dummy output: every track is still
    # playing when the next load replaces it, so an "end" may only come for the last one.
    paths = [
        str(write_audio(tmp_path / f"t{i}.ogg", seconds=3.0, freq=300.0 + 50 * i)) for i in range(6)
    ]
    ends: list[str] = []
    errors: list[tuple[str, str]] = []
    last_ended = threading.Event()
    with VlcBackend([*DEFAULT_VLC_ARGS, "--aout=dummy"]) as backend:
        backend.add_end_listener(ends.append)
        backend.add_end_listener(lambda p: last_ended.set() if p == paths[-1] else None)
        backend.add_error_listener(lambda p, r: errors.append((p, r)))
        for path in paths:
            backend.load(path)
            backend.set_next(paths[0])
            backend.play()
        backend.set_next(None)
        backend.seek(2.5)
        assert last_ended.wait(TIMEOUT)
        assert backend.current_path() == paths[-1]
        assert backend.state() is State.STOPPED
    assert ends == [paths[-1]]
    assert errors == []


@pytest.mark.parametrize("source", ["generated", "real"])
def test_a_seek_in_an_ogg_file_of_unknown_length_lands_near_where_asked(
    tmp_path: Path, source: str
) -> None:
    """libVLC finds an Ogg file's length in its last pages: with more than 64 KB of
    something else after them it cannot tell it. A seek by time then guessed a byte offset
    from the announced bitrate: past the last page of the tone (the track ended at once),
    3.4 s late in the recording. Now it starts at the page that holds the asked time."""
    path = tmp_path / "tail.ogg"
    if source == "real":
        real = sorted(RECORDINGS.glob("*Vibe_Ace*.ogg"))
        if not real:
            pytest.skip("the real recordings of ../shared/data are not present")
        path.write_bytes(real[0].read_bytes())
        target = 30.0
    else:
        write_audio(path, seconds=8.0)  # pages of 1.2 s: it may start one page early
        target = 5.0
    with path.open("ab") as file:
        file.write(np.random.default_rng(0).bytes(300_000))
    started, ended = threading.Event(), threading.Event()
    with VlcBackend([*DEFAULT_VLC_ARGS, "--aout=dummy"]) as backend:
        backend.add_start_listener(lambda p: started.set())
        backend.add_end_listener(lambda p: ended.set())
        backend.load(str(path))
        backend.play()
        assert started.wait(TIMEOUT)
        time.sleep(0.5)
        assert backend.duration() is None  # libVLC cannot tell it
        before = backend.position()
        backend.seek(target)
        asked = time.monotonic()
        # A fresh report from libVLC: not the target the backend shows at once, and moved.
        _wait(
            lambda: (
                backend.position() != pytest.approx(target, abs=1e-3)
                and abs(backend.position() - before) > 1.0
            )
        )
        since = time.monotonic() - asked
        assert target - 1.3 <= backend.position() <= target + 1.2 * since + 0.5
        assert not ended.is_set()
        assert backend.state() is State.PLAYING
        backend.seek(999.0)  # past the end: the track ends (the app plays the next one)
        assert ended.wait(TIMEOUT)


def test_a_next_track_prepared_at_the_last_moment_still_follows(tmp_path: Path) -> None:
    # The first track is over in milliseconds, while the next is being prepared: the
    # switch must wait for the prepared player if needed, and never lose the track.
    blip = str(write_audio(tmp_path / "blip.wav", seconds=0.05))
    song = str(write_audio(tmp_path / "song.flac", seconds=0.5))
    events: list[tuple[str, str]] = []
    done = threading.Event()
    with VlcBackend([*DEFAULT_VLC_ARGS, "--aout=dummy"]) as backend:
        backend.add_start_listener(lambda p: events.append(("start", p)))
        backend.add_end_listener(lambda p: (events.append(("end", p)),
                                            done.set() if p == song else None))  # fmt: skip
        backend.load(blip)
        backend.play()
        backend.set_next(song)
        assert done.wait(TIMEOUT)
    assert events == [("start", blip), ("end", blip), ("start", song), ("end", song)]


def _dominant_hz(frames: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(len(frames))))
    return float(np.fft.rfftfreq(len(frames), 1 / rate)[int(np.argmax(spectrum))])


@pytest.mark.parametrize("fmt", ["ogg", "flac"])
def test_a_prepared_track_is_heard_whole_and_only_after_the_current(
    tmp_path: Path, fmt: str
) -> None:
    """Decoded output in order: all of the first track (440 Hz), then all of the prepared
    one (660 Hz). libVLC 3 would play the start of a prepared Ogg file while it is held
    paused; this catches it."""
    first = str(write_audio(tmp_path / f"a.{fmt}", seconds=2.0, freq=440.0))
    second = str(write_audio(tmp_path / f"b.{fmt}", seconds=2.0, freq=660.0))
    frames: list[np.ndarray] = []

    def sink(pcm: bytes) -> None:
        frames.append(np.frombuffer(pcm, dtype=np.int16)[::2].astype(np.float64))

    ended = threading.Event()
    with VlcBackend(DEFAULT_VLC_ARGS, pcm_sink=sink) as backend:
        backend.add_end_listener(lambda p: ended.set() if p == second else None)
        backend.load(first)
        backend.set_next(second)
        backend.play()
        assert ended.wait(TIMEOUT)
    mono = np.concatenate(frames)
    assert len(mono) == pytest.approx(4 * 44100, abs=2048)  # nothing lost, nothing twice
    blocks = [mono[i : i + 2048] for i in range(0, len(mono) - 2048, 2048)]
    pitches = [round(_dominant_hz(block, 44100) / 220) * 220 for block in blocks]
    switch = pitches.index(660)
    assert set(pitches[:switch]) == {440}
    assert set(pitches[switch + 1 :]) == {660}
    assert switch * 2048 == pytest.approx(2 * 44100, abs=2 * 2048)


# -- ReplayGain reaches the sound ------------------------------------------------------------


def _decoded_rms(path: str, gain: float) -> float:
    """Play ``path`` into a sink that takes the samples at the pace of a sound card, and
    return the RMS of what libVLC sent out."""
    chunks: list[np.ndarray] = []

    def sink(pcm: bytes) -> None:
        chunks.append(np.frombuffer(pcm, dtype=np.int16).astype(np.float64) / 32768.0)
        time.sleep(len(pcm) / 4 / 44100)  # a real device blocks while it plays

    ended = threading.Event()
    with VlcBackend(DEFAULT_VLC_ARGS, pcm_sink=sink) as backend:
        backend.add_end_listener(lambda p: ended.set())
        backend.load(path, gain=gain)
        backend.play()
        assert ended.wait(TIMEOUT)
    samples = np.concatenate(chunks)
    assert len(samples) == pytest.approx(2 * 44100 * 1.0, rel=0.02)  # all of it, stereo
    # A sink's output is only created when the first buffer flows, so that buffer may
    # leave before the output takes a volume: judge the second half.
    return float(np.sqrt(np.mean(samples[len(samples) // 2 :] ** 2)))


def test_replaygain_changes_the_amplitude_libvlc_outputs(tmp_path: Path) -> None:
    path = str(write_audio(tmp_path / "tone.flac", seconds=1.0))
    source, _ = sf.read(path)
    reference = float(np.sqrt(np.mean(source[len(source) // 2 :] ** 2)))
    assert _decoded_rms(path, 1.0) == pytest.approx(reference, rel=0.03)
    minus_12_db = gain_factor(ReplayGainTags(track_gain=-12.0), ReplayGainMode.TRACK)
    assert _decoded_rms(path, minus_12_db) == pytest.approx(reference * minus_12_db, rel=0.03)


# -- privacy and layering --------------------------------------------------------------------


def _socket_fds() -> set[str]:
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            fds.add(target)
    return fds


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux /proc")
def test_playing_a_tagged_file_opens_no_network_connection(tmp_path: Path) -> None:
    # Artist and album tags are what would make a media player look for cover art online.
    path = tmp_path / "tagged.mp3"
    write_audio(path, seconds=1.0)
    tag(path, title="Take Five", artist="The Dave Brubeck Quartet", album="Time Out")
    before = _socket_fds()
    ended = threading.Event()
    with VlcBackend([*DEFAULT_VLC_ARGS, "--aout=dummy"]) as backend:
        backend.add_end_listener(lambda p: ended.set())
        backend.load(str(path))
        backend.play()
        assert ended.wait(TIMEOUT)
        assert _socket_fds() <= before
    assert "--no-metadata-network-access" in DEFAULT_VLC_ARGS


def test_playback_and_queue_load_no_qt_and_no_sql(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "a.flac", seconds=0.3)
    code = (
        "import sys, threading\n"
        "from player.playback import create_backend\n"
        "import player.queue\n"
        "c = create_backend(vlc_args=['--aout=dummy'])\n"
        "done = threading.Event()\n"
        "c.backend.add_end_listener(lambda p: done.set())\n"
        f"c.backend.load({str(path)!r}); c.backend.play()\n"
        "assert done.wait(20), 'no end'\n"
        "c.backend.close()\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'sqlite3', 'player.ui'))]\n"
        "print(type(c.backend).__name__, bad)\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "VlcBackend []"
