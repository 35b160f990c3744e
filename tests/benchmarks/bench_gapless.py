"""Gapless playback: the silence between two tracks through the libVLC backend.

The decoded output goes to a PCM sink that takes each buffer at the pace of a sound card
(it blocks for the buffer's duration), so the wall time between the last buffer of one
track and the first of the next is the underrun a device would hear. Measured with the
prepared next player (set_next) and without it (load + play from the end listener).
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
import threading
import time
from pathlib import Path

from player.playback.vlc_backend import DEFAULT_VLC_ARGS, VlcBackend
from tests.audiogen import write_audio
from tests.benchmarks.common import report

RATE = 44100
RUNS = 5


def gap_ms(first: str, second: str, prepared: bool) -> tuple[float, float]:
    """The longest silence between two buffers, and the seconds of audio delivered."""
    buffers: list[tuple[float, float, int]] = []

    def sink(pcm: bytes) -> None:
        start = time.monotonic()
        time.sleep(len(pcm) / 4 / RATE)  # stereo s16: 4 bytes a frame
        buffers.append((start, time.monotonic(), len(pcm) // 4))

    done = threading.Event()
    with VlcBackend(DEFAULT_VLC_ARGS, pcm_sink=sink) as backend:

        def on_end(path: str) -> None:
            if path == second:
                done.set()
            elif not prepared:
                backend.load(second)
                backend.play()

        backend.add_end_listener(on_end)
        backend.load(first)
        if prepared:
            backend.set_next(second)
        backend.play()
        if not done.wait(60):
            raise RuntimeError("the second track never ended")
    gap = max(b[0] - a[1] for a, b in itertools.pairwise(buffers))
    return 1000.0 * gap, sum(b[2] for b in buffers) / RATE


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("ogg", "opus", "mp3", "flac", "wav", "m4a"):
            rate = 48000 if fmt == "opus" else RATE
            first = str(write_audio(Path(tmp) / f"a.{fmt}", seconds=1.5, sr=rate))
            second = str(write_audio(Path(tmp) / f"b.{fmt}", seconds=1.5, sr=rate, freq=660))
            for prepared in (True, False):
                runs = [gap_ms(first, second, prepared) for _ in range(RUNS)]
                gaps = [gap for gap, _ in runs]
                report(
                    f"gapless_{fmt}_{'prepared' if prepared else 'cold'}",
                    gap_ms_median=round(statistics.median(gaps), 1),
                    gap_ms_min=round(min(gaps), 1),
                    gap_ms_max=round(max(gaps), 1),
                    runs=RUNS,
                    audio_s=sorted({round(seconds, 2) for _, seconds in runs}),  # 3.0: none lost
                )


if __name__ == "__main__":
    main()
