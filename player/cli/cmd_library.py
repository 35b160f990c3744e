"""``segue library``: what is in the library, and what could not be read."""

from __future__ import annotations

import argparse
from typing import Any

from player.cli.common import open_db, print_json
from player.text import plural


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "library", help="show counts by format, total duration and the latest scan errors"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--errors", type=int, default=10, metavar="N", help="how many recent errors to list"
    )
    parser.set_defaults(func=run)


def _duration(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h {minutes} min"
    return f"{hours} h {minutes} min"


def run(args: argparse.Namespace) -> int:
    from player.library.paths import display
    from player.library.stats import overview

    with open_db(args) as db:
        info = overview(db, errors=max(0, args.errors))
    if args.json:
        print_json(
            {
                "tracks": info.tracks,
                "missing": info.missing,
                "total_seconds": round(info.total_seconds, 1),
                "by_format": info.by_format,
                "roots": [{"path": display(p), "online": o} for p, o in info.roots],
                "errors": info.error_count,
                "latest_errors": [
                    {"path": display(p), "kind": k, "message": m} for p, k, m in info.latest_errors
                ],
            }
        )
        return 0
    print(f"{plural(info.tracks, 'track')}, {_duration(info.total_seconds)}", end="")
    print(f" ({info.missing} missing)" if info.missing else "")
    for fmt, count in info.by_format.items():
        print(f"  {fmt:<10} {count}")
    for path, is_online in info.roots:
        print(f"folder: {display(path)}{'' if is_online else '  (offline)'}")
    if info.error_count:
        print(f"{info.error_count} files could not be indexed; latest:")
        for path, kind, message in info.latest_errors:
            print(f"  {display(path)}: {message} [{kind}]")
    return 0
