"""Is there any audio output? A machine with no sound card and no sound server makes
libVLC's ALSA output print thousands of error lines while nothing is heard."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def audio_output_problem(
    snd_dir: Path = Path("/dev/snd"), runtime_dir: str | None = None
) -> str | None:
    """None when some audio output can work; otherwise why not, in one line. Linux only
    (elsewhere the system's own output is taken as working)."""
    if not sys.platform.startswith("linux"):
        return None
    if os.environ.get("PULSE_SERVER") or os.environ.get("PIPEWIRE_REMOTE"):
        return None
    runtime = Path(runtime_dir or os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}")
    for server in ("pulse/native", "pipewire-0"):
        if (runtime / server).exists():
            return None
    try:
        playback = [
            p.name for p in snd_dir.iterdir() if p.name.startswith("pcm") and p.name.endswith("p")
        ]
    except OSError:
        playback = []
    if playback:
        return None
    return (
        "no audio output works here: no sound card (nothing in /dev/snd) and no "
        "PulseAudio or PipeWire server; music plays silently"
    )
