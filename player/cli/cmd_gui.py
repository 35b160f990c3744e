"""``segue gui``: the desktop app (also what plain ``segue`` starts)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from player.errors import SegueError

VIEWS = ("songs", "albums", "artists", "playlists", "taste", "stats", "welcome")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gui",
        help="start the desktop app",
        description="Open the Segue window on the current library.",
    )
    parser.add_argument(
        "--screenshot",
        metavar="FILE.png",
        help="wait until the window is loaded, save a screenshot to FILE.png and exit",
    )
    parser.add_argument(
        "--view", choices=VIEWS, help="the view to open (songs, albums, artists, …)"
    )
    parser.add_argument("--size", metavar="WxH", help="window size for --screenshot, e.g. 1280x800")
    parser.add_argument(
        "--play", type=int, metavar="TRACK_ID", help="start playing this track (see segue tracks)"
    )
    parser.add_argument("--no-audio", action="store_true", help="start without sound output")
    parser.add_argument("files", nargs="*", metavar="FILE", help="audio files to play")
    parser.set_defaults(func=run)


def _has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True  # macOS and Windows always have their window system
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _require_a_display() -> None:
    """Qt aborts the process when it has no screen; say so in one line instead."""
    if os.environ.get("QT_QPA_PLATFORM") or _has_display():
        return
    raise SegueError(
        "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset): "
        "start Segue from your desktop, or use 'segue play' in a terminal"
    )


def run(args: argparse.Namespace) -> int:
    from player.config import default_db_path

    screenshot = getattr(args, "screenshot", None)
    if screenshot and not str(screenshot).lower().endswith((".png", ".jpg", ".jpeg")):
        raise SegueError("--screenshot needs a .png (or .jpg) file name")
    size = None
    raw_size = getattr(args, "size", None)
    if raw_size:
        try:
            w, h = (int(v) for v in str(raw_size).lower().split("x"))
        except ValueError:
            raise SegueError("--size must look like 1280x800") from None
        size = (w, h)
    if screenshot is None:
        _require_a_display()
    elif not os.environ.get("QT_QPA_PLATFORM") and not _has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    try:
        from player.ui.app import run as run_app
        from player.ui.single_instance import start
    except ImportError as exc:
        raise SegueError(f"the desktop app cannot start: {exc}") from None
    db_path = str(args.db) if getattr(args, "db", None) else str(default_db_path())
    launch = start(db_path, getattr(args, "files", None) or [], single=screenshot is None)
    if launch is None:
        return 0  # the files went to the Segue already running
    return run_app(
        db_path,
        screenshot=screenshot,
        view=getattr(args, "view", None),
        audio=not getattr(args, "no_audio", False),
        size=size,
        play=getattr(args, "play", None),
        on_loaded=launch.attach,
    )
