"""``segue playlist list|show|export|import|map``: automatic and user playlists.

Automatic playlists (Discover, Forgotten Favourites, the mixes, Calm, Energetic) are built
from the library each time they are asked for; user playlists (imported or saved) and smart
playlists (saved queries) come from the library DB. Building also refreshes the taste map
file beside the DB that the desktop app draws.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from player.playlists import (
    automatic,
    export_entries,
    load_engine,
    resolve,
    track_dicts,
    update_map,
)
from player.text import plural


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("playlist", help="list, show, export or import playlists")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    lister = actions.add_parser("list", help="every automatic and user playlist")
    lister.add_argument("--json", action="store_true", help="one JSON object")
    lister.set_defaults(func=run_list)
    show = actions.add_parser("show", help="a playlist's tracks, each with its reason")
    show.add_argument("name", metavar="NAME")
    show.add_argument("-n", type=int, default=None, metavar="K", help="at most K tracks")
    show.add_argument(
        "--mood", choices=("calm", "energetic"), help="only the calm or the energetic tracks"
    )
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(func=run_show)
    export = actions.add_parser("export", help="write a playlist as M3U8 or XSPF to stdout")
    export.add_argument("name", metavar="NAME")
    export.add_argument("--format", choices=("m3u8", "xspf"), default="m3u8")
    export.add_argument(
        "--relative-to",
        metavar="DIR",
        help="write paths relative to DIR (the folder the playlist file will be in)",
    )
    export.set_defaults(func=run_export)
    imp = actions.add_parser("import", help="import an M3U, M3U8 or XSPF file")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--name", help="the playlist's name (default: the file's)")
    imp.add_argument("--replace", action="store_true", help="replace a playlist of that name")
    imp.add_argument("--json", action="store_true", help="one JSON summary object")
    imp.set_defaults(func=run_import)
    tastemap = actions.add_parser("map", help="rebuild the taste map the desktop app draws")
    tastemap.add_argument("--json", action="store_true", help="one JSON summary object")
    tastemap.set_defaults(func=run_map)


def print_tracks(name: str, how: str, tracks: list[dict[str, Any]]) -> None:
    print(f"{name}: {how} ({plural(len(tracks), 'track')})")
    for i, t in enumerate(tracks, 1):
        label = f"{t['artist']} – {t['title']}" if t["artist"] else (t["title"] or t["path"])
        print(f"{i:3}. {label}  [{t['reason']}]")


# -- actions -----------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    from player.cli.common import open_db, print_json
    from player.library import playlists

    with open_db(args) as db:
        engine, _ = load_engine(db)
        rows: list[dict[str, Any]] = [
            {"name": p.name, "kind": p.kind, "size": len(p), "how": p.how}
            for p in automatic(db, engine)
        ]
        for saved in playlists.saved(db):
            if saved.kind == "smart":
                size = len(playlists.select_smart(db, _parse(saved.query)))
                how = f"smart query: {saved.query}"
            else:
                size = saved.size
                how = f"imported from {saved.source}" if saved.source else "made by you"
            rows.append({"name": saved.name, "kind": saved.kind, "size": size, "how": how})
    if args.json:
        print_json({"playlists": rows})
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['kind']:<5} {r['size']:>5}  {r['how']}")
    return 0


def _parse(query: str | None) -> Any:
    from player.smartquery import parse

    return parse(query or "")


def run_show(args: argparse.Namespace) -> int:
    from player.cli.common import open_db, print_json
    from player.errors import SegueError

    if args.n is not None and args.n < 1:
        raise SegueError("-n must be at least 1")
    with open_db(args) as db:
        name, kind, how, ids, reasons = resolve(db, args.name, args.mood)
        if args.n is not None:
            ids, reasons = ids[: args.n], reasons[: args.n]
        tracks = track_dicts(db, ids, reasons)
    if args.json:
        print_json({"name": name, "kind": kind, "how": how, "tracks": tracks})
    else:
        print_tracks(name, how, tracks)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from player.cli.common import open_db
    from player.playlist_io import export

    with open_db(args) as db:
        name, _, _, ids, _ = resolve(db, args.name)
        entries = export_entries(db, ids)
    relative = Path(args.relative_to) if args.relative_to else None
    text = export(args.format, name, entries, relative)
    # surrogateescape: a file name that is not valid UTF-8 is written as its own bytes.
    sys.stdout.buffer.write(text.encode("utf-8", errors="surrogateescape"))
    sys.stdout.flush()
    return 0


def run_import(args: argparse.Namespace) -> int:
    from player.cli.common import open_db, print_json, refuse_own_file
    from player.errors import SegueError
    from player.library import playlists, tracks
    from player.playlist_io import match_entries, read_playlist
    from player.playlists import imported_name, save_user

    refuse_own_file(args, args.file)
    path = Path(args.file)
    parsed = read_playlist(path)
    with open_db(args) as db:
        outcome = match_entries(
            parsed, path.parent, playlists.track_paths(db), tracks.TrackMatcher.load(db)
        )
        if not outcome.matched:
            raise SegueError(
                f"none of the {len(parsed.entries)} entries of {parsed.source} is in the library; "
                "nothing imported"
            )
        name = imported_name(db, args.name, outcome.name)
        save_user(db, name, outcome.matched, source=parsed.source, replace=args.replace)
    summary = {
        "name": name,
        "entries": len(parsed.entries),
        "matched": len(outcome.matched),
        "unmatched": [{"entry": e, "reason": why} for e, why in outcome.unmatched],
    }
    if args.json:
        print_json(summary)
        return 0
    print(
        f"imported '{name}': {len(outcome.matched)} of {len(parsed.entries)} entries matched "
        "library tracks"
    )
    for entry, why in outcome.unmatched:
        print(f"  not matched: {entry} ({why})")
    return 0


def run_map(args: argparse.Namespace) -> int:
    from threadpoolctl import threadpool_limits

    from player.cli.common import open_db, print_json
    from player.library.playlists import taste_map_path

    with open_db(args) as db:
        taste_map_path(db).unlink(missing_ok=True)  # a full rebuild
        engine, arrays = load_engine(db, save=False)
        with threadpool_limits(limits=1):
            taste_map = update_map(db, engine, arrays)
        path = taste_map_path(db)
    summary = {
        "path": str(path),
        "tracks": len(taste_map),
        "method": taste_map.method,
        "neighbours_kept": taste_map.kept,
        "regions": taste_map.region_labels,
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"taste map of {len(taste_map)} tracks ({taste_map.method} layout) written to {path}; "
            f"regions: {', '.join(taste_map.region_labels)}"
        )
    return 0
