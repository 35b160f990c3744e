"""``segue scan [DIR...]``: add music folders and bring the library up to date."""

from __future__ import annotations

import argparse
from typing import Any

from player.cli.common import ProgressBar, open_db, print_json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="add music folders and scan them (no folder: rescan the known ones)",
        description="Add music folders to the library and scan them. With no folder, "
        "rescan every known folder; unchanged files are not opened again.",
    )
    parser.add_argument("folders", nargs="*", metavar="DIR", help="music folder to add and scan")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object")
    parser.add_argument(
        "--workers", type=int, default=None, metavar="N", help="parser processes (default: cores)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from player.errors import SegueError
    from player.scanner import Scanner

    if args.workers is not None and args.workers < 1:
        raise SegueError("--workers must be at least 1")
    db = open_db(args)
    bar = ProgressBar("file", "Scanning", enabled=not args.json)
    scanner = Scanner(db, workers=args.workers, progress=bar.callback)
    try:
        only = scanner.add_roots(args.folders) if args.folders else None
        if only is None and not scanner.store.roots():
            raise SegueError("no music folders yet: run 'segue scan DIR' to add one")
        with bar:
            summary = scanner.scan(only)
    finally:
        db.close()
    if args.json:
        print_json(summary.as_dict())
    else:
        print(
            f"{summary.added} added, {summary.updated} updated, {summary.moved} moved, "
            f"{summary.unchanged} unchanged, {summary.missing} missing, "
            f"{summary.errors} with errors ({summary.seconds:.1f} s)"
        )
        for root in summary.offline:
            print(f"offline: {root} (not reachable; its tracks were kept)")
        for root in summary.denied:
            print(f"permission denied: {root} (cannot be read; its tracks were kept)")
        if summary.errors:
            print("see 'segue library' for the files that could not be read")
    return 0
