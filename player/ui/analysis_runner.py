"""Runs the ``segue analyze`` pipeline for the desktop app, in its own process.

The GUI starts ``python -m player.ui.analysis_runner --db PATH`` with QProcess, so
librosa and numba are only ever imported here, never in the GUI process. Progress is
printed as JSON lines on stdout. The process leads its own process group, so the app can
pause (SIGSTOP), resume and cancel it together with its workers. With
``--follow-playing`` the app writes ``playing`` or ``idle`` lines on stdin, and while
music plays only one (low-priority) worker gets work.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from typing import TextIO


def _say(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


class PlayingFlag:
    """Whether the app says music plays, read from its ``playing``/``idle`` lines."""

    def __init__(self) -> None:
        self._playing = threading.Event()

    def __call__(self) -> bool:
        return self._playing.is_set()

    def follow(self, stream: TextIO) -> None:
        for line in stream:  # ends when the app closes the pipe (or quits)
            word = line.strip()
            if word == "playing":
                self._playing.set()
            elif word == "idle":
                self._playing.clear()

    def follow_in_background(self, stream: TextIO) -> None:
        threading.Thread(target=self.follow, args=(stream,), daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="segue-analysis")
    parser.add_argument("--db", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--background", action="store_true")
    parser.add_argument("--follow-playing", action="store_true")
    args = parser.parse_args(argv)
    playing = PlayingFlag()
    if args.follow_playing:
        playing.follow_in_background(sys.stdin)
    if hasattr(os, "setsid"):
        with contextlib.suppress(OSError):
            os.setsid()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        from player.analysis import Analyzer
        from player.library import open_library
    except ImportError as exc:
        _say(event="error", message=f"audio analysis is not available in this build ({exc})")
        return 2
    db = open_library(args.db)
    try:
        analyzer = Analyzer(
            db,
            workers=max(1, args.workers),
            low_priority=args.background,
            playing=playing if args.follow_playing else None,
            progress=lambda done, total: _say(event="progress", done=done, total=total),
        )
        # After `segue analyze` (or another window's analysis), if one is running.
        summary = analyzer.run(wait=True, on_wait=lambda: _say(event="waiting"))
    except KeyboardInterrupt:
        _say(event="cancelled")
        return 130
    finally:
        db.close()
    _say(event="done", **summary.as_dict())
    return 0


if __name__ == "__main__":
    sys.exit(main())
