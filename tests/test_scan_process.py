"""A real `segue scan` process: its parser workers never outlive it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.audiogen import write_audio

ROOT = Path(__file__).resolve().parent.parent


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_scan_workers_end_when_the_scan_is_killed(tmp_path: Path) -> None:
    music = tmp_path / "music"
    base = write_audio(tmp_path / "base.ogg", seconds=0.3)
    for folder in range(30):
        (music / str(folder)).mkdir(parents=True)
        for i in range(100):
            shutil.copy(base, music / str(folder) / f"{i}.ogg")
    proc = subprocess.Popen(
        [sys.executable, "-m", "player", "--db", str(tmp_path / "l.db"), "scan", str(music)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not workers and proc.poll() is None and time.monotonic() < deadline:
            workers = [w for c in _children(proc.pid) for w in _children(c)]
            time.sleep(0.05)
        assert workers, "the scan ended before its workers were seen"
        helpers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_running(p) for p in workers + helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in workers + helpers if _running(p)]
    finally:
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
