"""``segue log {play,skip,like,dislike} TRACK``: record an event, for scripts and other players."""

from __future__ import annotations

import argparse
import math
import time
from datetime import datetime
from typing import Any

FUTURE_SLACK_S = 60.0  # clocks of the machines a script reports from may differ a little
END_SLACK_S = 0.5  # durations in tags are rounded


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "log",
        help="record a listening event (play, skip, like, dislike) for a track",
        description="Record an event in the listening log, as if it happened in Segue. "
        "A dislike bans the track from automatic picks.",
    )
    parser.add_argument("kind", choices=("play", "skip", "like", "dislike", "unlike", "undislike"))
    parser.add_argument("track", metavar="TRACK", help="library id or file path")
    parser.add_argument("--at", metavar="ISO-TIME", help="when it happened (default: now)")
    parser.add_argument(
        "--position", type=float, metavar="SECONDS", help="where playback stopped (play/skip)"
    )
    parser.set_defaults(func=run)


def _timestamp(value: str | None) -> float | None:
    from player.errors import SegueError

    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise SegueError(f"--at {value!r} is not an ISO time like 2026-11-28T09:30") from None
    ts = when.timestamp() if when.tzinfo else when.astimezone().timestamp()
    if ts > time.time() + FUTURE_SLACK_S:
        raise SegueError(f"--at {value} is in the future; a listen can only be logged once heard")
    return ts


def run(args: argparse.Namespace) -> int:
    from player.cli.common import open_db
    from player.errors import SegueError
    from player.library import events, tracks

    ts = _timestamp(args.at)
    if args.position is not None and not (math.isfinite(args.position) and args.position >= 0):
        raise SegueError("--position must be zero or more seconds")
    with open_db(args) as db:
        track = tracks.resolve(db, args.track)
        if (
            args.position is not None
            and track.duration
            and args.position > track.duration + END_SLACK_S
        ):
            raise SegueError(
                f"--position {args.position:g} s is past the end of the track "
                f"({track.duration:.1f} s long)"
            )
        duration_ms = int(track.duration * 1000) if track.duration else None
        position_ms = None
        if args.kind in ("play", "skip"):
            if args.position is not None:
                position_ms = int(args.position * 1000)
            elif args.kind == "play":
                position_ms = duration_ms  # a logged play with no position was heard through
            else:
                position_ms = 0
        event_id = events.append(
            db,
            events.NewEvent(
                track_id=track.id,
                kind=args.kind,
                ts=ts,
                position_ms=position_ms,
                duration_ms=duration_ms,
                source="cli",
            ),
        )
    label = " – ".join(p for p in (track.artist, track.title) if p) or track.path
    print(f"logged {args.kind} of {label} (event {event_id})")
    return 0
