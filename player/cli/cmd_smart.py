"""``segue smart "QUERY" [--save NAME] [-n K] [--json]``: tracks that match a query.

Example: ``segue smart 'genre:jazz plays>5 last_played<30d rating>=4 bpm:90..120'``.
See :mod:`player.smartquery` for the language.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "smart",
        help="tracks matching a query such as 'genre:jazz plays>5 last_played<30d'",
        description="Fields: genre artist album albumartist title composer comment path format "
        "(text: ':' contains, '=' exact); year plays skips rating bpm energy duration (numbers, "
        "'lo..hi' ranges); last_played added (ages: 12h 30d 2w 6m 1y); liked disliked (yes/no). "
        "A leading '-' negates a term; 'a|b' matches either.",
    )
    parser.add_argument("query", metavar="QUERY")
    parser.add_argument("--save", metavar="NAME", help="save the query as a smart playlist")
    parser.add_argument(
        "--replace", action="store_true", help="with --save: replace a playlist of that name"
    )
    parser.add_argument("-n", type=int, default=None, metavar="K", help="show at most K tracks")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from player.cli.cmd_playlist import print_tracks
    from player.cli.common import open_db, print_json
    from player.errors import SegueError
    from player.library import playlists
    from player.playlists import save_smart, track_dicts
    from player.smartquery import parse

    if args.n is not None and args.n < 1:
        raise SegueError("-n must be at least 1")
    query = parse(args.query)
    with open_db(args) as db:
        ids = playlists.select_smart(db, query)
        if args.save:
            save_smart(db, args.save, args.query, replace=args.replace)
        shown = ids if args.n is None else ids[: args.n]
        tracks = track_dicts(db, shown, [f"matches {args.query}"] * len(shown))
    name = args.save or "Smart query"
    if args.json:
        print_json(
            {
                "name": name,
                "query": args.query,
                "size": len(ids),
                "saved": bool(args.save),
                "tracks": tracks,
            }
        )
    else:
        print_tracks(name, f"tracks matching {args.query}", tracks)
        if args.save:
            print(f"saved as smart playlist '{args.save}'")
    return 0
