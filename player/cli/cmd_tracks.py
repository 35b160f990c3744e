"""``segue tracks [QUERY] [-n K] [--json]``: list and find tracks (id, artist, title,
album, path), for ``segue play TRACK``, ``segue gui --play`` and scripts.

QUERY is words matched against title, artist, album and genre (every word must match),
as the app's search box does.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tracks",
        help="list or find tracks: id, artist, title, album, path",
        description="List the library's tracks, or those whose title, artist, album or "
        "genre contain every word of QUERY.",
    )
    parser.add_argument("query", metavar="QUERY", nargs="*", help="words to look for")
    parser.add_argument("-n", type=int, default=None, metavar="K", help="show at most K tracks")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from player.cli.common import open_db, print_json
    from player.errors import SegueError
    from player.library import browse, tracks
    from player.text import plural

    if args.n is not None and args.n < 1:
        raise SegueError("-n must be at least 1")
    text = " ".join(args.query)
    with open_db(args) as db:
        ids = browse.song_ids(db, text)
        total = len(ids)
        rows = browse.songs(db, ids if args.n is None else ids[: args.n])
        empty = tracks.count_present(db) == 0
    if args.json:
        for row in rows:
            print_json(
                {
                    "id": row.id,
                    "artist": row.artist or None,
                    "title": row.title or None,
                    "album": row.album or None,
                    "path": row.path,
                }
            )
        return 0
    if not rows:
        if empty:
            print("the library is empty: add music with 'segue scan DIR'")
        else:
            print(
                f"no track matches '{text}' (words are looked for in title, artist, album, genre)"
            )
        return 0
    width = len(str(max(row.id for row in rows)))
    for row in rows:
        name = f"{row.artist} – {row.title}" if row.artist else (row.title or "(untitled)")
        album = f"  [{row.album}]" if row.album else ""
        print(f"{row.id:>{width}}  {name}{album}  {row.path}")
    if len(rows) < total:
        print(f"… {plural(total, 'track')} in all (-n {total} shows them all)")
    return 0
