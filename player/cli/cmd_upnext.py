"""``segue upnext``: what would play next, each pick with its reason."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "upnext",
        help="print what would play next, with a reason for each pick",
        description="Rank the tracks that would follow SEED (default: the last track you "
        "played), as the app's up-next queue would, with a reason for each.",
    )
    parser.add_argument("--seed", metavar="TRACK", help="library id or file path to start from")
    parser.add_argument("-n", type=int, default=10, metavar="K", help="how many (default 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from player.cli.common import open_db, print_json
    from player.errors import SegueError
    from player.library import tracks
    from player.recommend import EngineHost

    if args.n < 1:
        raise SegueError("-n must be at least 1")
    with open_db(args) as db:
        if not tracks.count_present(db):
            raise SegueError("the library is empty: run 'segue scan DIR' first")
        seed = tracks.resolve(db, args.seed) if args.seed else _last_played(db)
        # A one-shot command: rank as the app does, with the personal model learnt.
        host = EngineHost(db, background=False)
        picks = host.recommend(seed.id if seed else None, count=args.n)
        infos = {t: tracks.by_id(db, t) for t, _ in picks}
    entries: list[dict[str, Any]] = []
    for track_id, reason in picks:
        info = infos[track_id]
        assert info is not None
        entries.append(
            {
                "id": track_id,
                "path": info.path,
                "title": info.title,
                "artist": info.artist,
                "reason": reason,
            }
        )
    if args.json:
        seed_obj = (
            None
            if seed is None
            else {"id": seed.id, "path": seed.path, "title": seed.title, "artist": seed.artist}
        )
        print_json({"seed": seed_obj, "upnext": entries})
        return 0
    if seed is not None:
        print(f"after {_label(seed.artist, seed.title)}:")
    for number, entry in enumerate(entries, 1):
        print(f"{number:2}. {_label(entry['artist'], entry['title'])}  — {entry['reason']}")
    return 0


def _label(artist: str | None, title: str | None) -> str:
    return " – ".join(p for p in (artist, title) if p) or "?"


def _last_played(db: Any) -> Any:
    from player.library import events, tracks

    track_id = events.last_listened_track(db)
    return None if track_id is None else tracks.by_id(db, track_id)
