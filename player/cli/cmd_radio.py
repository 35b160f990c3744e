"""``segue radio SEED -n K [--json]``: tracks that go with a track, an artist or an album."""

from __future__ import annotations

import argparse
import os
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "radio",
        help="a playlist that goes with a track, an artist or an album",
        description="SEED is a track (a path or a track id), an artist's name or an album's "
        "title. A track's radio starts with the track.",
    )
    parser.add_argument("seed", metavar="SEED")
    parser.add_argument("-n", type=int, default=25, metavar="K", help="how many (default 25)")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--artist", action="store_true", help="SEED is an artist's name")
    kind.add_argument("--album", action="store_true", help="SEED is an album's title")
    parser.add_argument(
        "--mood", choices=("calm", "energetic"), help="only the calm or the energetic tracks"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.set_defaults(func=run)


def _seed_rows(arrays: Any, db: Any, args: argparse.Namespace) -> tuple[list[int], str, str]:
    """The seed's rows in the engine, its label and its stable key."""
    from player.errors import SegueError
    from player.library import tracks
    from recommender.content.metadata import split_artists

    seed: str = args.seed
    row_of = {int(t): i for i, t in enumerate(arrays.track_ids.tolist())}
    if not (args.artist or args.album) and (seed.isdigit() or os.path.exists(seed)):
        track = tracks.resolve(db, seed)
        label = f"{track.artist} – {track.title}" if track.artist else (track.title or seed)
        return [row_of[track.id]], label, f"radio:track:{track.id}"
    wanted = seed.strip().casefold()
    if not args.album:
        key = split_artists(seed)
        rows = [
            i
            for i, artist in enumerate(arrays.artists)
            if artist and key and key[0] in split_artists(artist)
        ]
        if rows:
            return rows, seed, f"radio:artist:{wanted}"
    if not args.artist:
        rows = [i for i, a in enumerate(arrays.albums) if a and a.strip().casefold() == wanted]
        if rows:
            return rows, seed, f"radio:album:{wanted}"
    what = "artist" if args.artist else "album" if args.album else "track, artist or album"
    raise SegueError(f"no {what} '{seed}' in the library")


def run(args: argparse.Namespace) -> int:
    from player.cli.cmd_playlist import print_tracks
    from player.cli.common import open_db, print_json
    from player.errors import SegueError
    from player.playlists import load_engine, mood_shortfall, track_dicts

    if args.n < 1:
        raise SegueError("-n must be at least 1")
    with open_db(args) as db:
        engine, arrays = load_engine(db, save=False)
        if arrays.track_ids.size == 0:
            raise SegueError("the library is empty: run 'segue scan DIR' first")
        rows, label, key = _seed_rows(arrays, db, args)
        if args.mood:
            # Filter a longer radio, then cut: the mood keeps only part of it.
            wide = engine.radio(rows, label, key, length=args.n * 4)
            playlist = engine.filter_mood(wide, args.mood)
            playlist.items, playlist.reasons = playlist.items[: args.n], playlist.reasons[: args.n]
            if playlist.items.size == 0:
                playlist.how = mood_shortfall(engine, wide.items, args.mood, f"{label}'s radio")
        else:
            playlist = engine.radio(rows, label, key, length=args.n)
        ids = [int(arrays.track_ids[i]) for i in playlist.items.tolist()]
        tracks = track_dicts(db, ids, playlist.reasons)
    if args.json:
        print_json({"name": playlist.name, "kind": "radio", "how": playlist.how, "tracks": tracks})
    else:
        print_tracks(playlist.name, playlist.how, tracks)
    return 0
