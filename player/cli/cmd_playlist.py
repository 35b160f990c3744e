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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from player.library.db import Database
    from player.library.playlists import LibraryArrays
    from recommender.playlists import Playlist, PlaylistEngine


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


# -- building ----------------------------------------------------------------------------


_BUILT: dict[Path, tuple[PlaylistEngine, LibraryArrays]] = {}


def load_engine(db: Database, *, save: bool = True) -> tuple[PlaylistEngine, LibraryArrays]:
    """The playlist engine over the whole library; keeps mix names and the taste map
    (files beside the DB) up to date when ``save``. Built once per command."""
    built = _BUILT.get(db.path)
    if built is None:
        built = _BUILT[db.path] = _build_engine(db, save=save)
    return built


def _build_engine(db: Database, *, save: bool) -> tuple[PlaylistEngine, LibraryArrays]:
    import time

    import numpy as np
    from threadpoolctl import threadpool_limits

    from player.errors import SegueError
    from player.library.playlists import MIXES_FILE, load_arrays, sidecar_path
    from recommender.audio import N_FEATURES
    from recommender.metadata import split_artists
    from recommender.playlists import LibraryState, PlaylistEngine
    from recommender.reasons import labels_from_arrays
    from recommender.signals import KIND_CODES, EventLog

    arrays = load_arrays(db, N_FEATURES)
    n = arrays.track_ids.size
    if n == 0:
        raise SegueError("the library is empty: run 'segue scan DIR' first")
    artist_code: dict[str, int] = {}
    artist_ids = np.array(
        [
            artist_code.setdefault(names[0], len(artist_code)) if names else -1
            for names in (split_artists(a or "") for a in arrays.artists)
        ],
        dtype=np.int64,
    )
    album_code: dict[tuple[str, int], int] = {}
    album_ids = np.array(
        [
            album_code.setdefault((album.strip().casefold(), int(artist)), len(album_code))
            if album and album.strip()
            else -1
            for album, artist in zip(arrays.albums, artist_ids.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    session_code: dict[str, int] = {}
    m = arrays.event_rows.size
    log = EventLog(
        item=arrays.event_rows,
        ts=arrays.event_ts,
        kind=np.array([KIND_CODES[k] for k in arrays.event_kind], dtype=np.int8),
        session=np.array(
            [
                -1 if s is None else session_code.setdefault(s, len(session_code))
                for s in arrays.event_session
            ],
            dtype=np.int64,
        ),
        position_s=arrays.event_position_s,
        duration_s=arrays.event_duration_s,
        artist=artist_ids[arrays.event_rows] if m else np.zeros(0, np.int64),
        album=album_ids[arrays.event_rows] if m else np.zeros(0, np.int64),
    )
    state = LibraryState(
        n_items=n,
        artist_ids=artist_ids,
        album_ids=album_ids,
        genres=arrays.genres,
        log=log,
        now=time.time(),
        describe=labels_from_arrays(arrays.titles, arrays.artists, arrays.albums),
        years=arrays.years,
        content_items=arrays.feature_rows if arrays.feature_rows.size else None,
        content_vectors=arrays.feature_vectors if arrays.feature_rows.size else None,
        bpm=arrays.bpm,
        energy=arrays.energy,
        acousticness=arrays.acousticness,
        available=arrays.available,
    )
    previous = _previous_mixes(sidecar_path(db, MIXES_FILE), arrays.track_ids)
    # One BLAS thread, as the player runs the engine: on a busy machine, threaded BLAS
    # over these small products was 4x slower (tests/benchmarks/bench_playlists.py).
    with threadpool_limits(limits=1):
        engine = PlaylistEngine(state, previous_mixes=previous)
        if save:
            _save_mixes(sidecar_path(db, MIXES_FILE), arrays.track_ids, engine)
            update_map(db, engine, arrays)
    return engine, arrays


def _previous_mixes(path: Path, track_ids: Any) -> tuple[Any, list[str]] | None:
    import numpy as np

    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            old_ids, old_labels = data["track_ids"], data["labels"]
            names = [str(s) for s in data["names"]]
    except (OSError, ValueError, KeyError):
        return None  # an unreadable file only costs the names' continuity
    order = np.argsort(old_ids)
    pos = np.searchsorted(old_ids[order], track_ids)
    pos[pos >= old_ids.size] = 0
    hit = old_ids.size > 0
    aligned = np.full(len(track_ids), -1, dtype=np.int64)
    if hit:
        found = old_ids[order][pos] == track_ids
        aligned[found] = old_labels[order][pos][found]
    return aligned, names


def _save_mixes(path: Path, track_ids: Any, engine: PlaylistEngine) -> None:
    import numpy as np

    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(
        tmp,
        track_ids=track_ids,
        labels=engine.clustering.labels,
        names=np.asarray(engine.mix_names or [""], dtype=np.str_)[: len(engine.mix_names)],
    )
    tmp.replace(path)


def update_map(db: Database, engine: PlaylistEngine, arrays: LibraryArrays) -> Any:
    """Place new tracks on the stored map (nothing else moves), or build it."""
    from player.library.playlists import taste_map_path
    from recommender.tastemap import TasteMap, build_map

    path = taste_map_path(db)
    vectors = engine.embedding.vectors
    previous = None
    if path.exists():
        try:
            previous = TasteMap.load(path)
        except (OSError, ValueError, KeyError):
            previous = None
    if previous is not None:
        taste_map = previous.update(arrays.track_ids, vectors, arrays.genres)
    else:
        taste_map = build_map(arrays.track_ids, vectors, arrays.genres)
    taste_map.save(path)
    return taste_map


# -- finding a playlist ------------------------------------------------------------------


def resolve(
    db: Database, name: str, mood: str | None = None
) -> tuple[str, str, str, list[int], list[str]]:
    """(name, kind, how, track ids, reasons) of a saved or automatic playlist, with only
    its calm or energetic tracks when ``mood`` is given."""
    if mood is not None:
        return _with_mood(db, resolve(db, name), mood)
    from player.errors import SegueError
    from player.library import playlists
    from player.smartquery import parse

    found = playlists.find(db, name)
    if found is not None:
        if found.kind == "smart":
            ids = playlists.select_smart(db, parse(found.query or ""))
            reason = f"matches {found.query}"
            return found.name, "smart", f"smart query: {found.query}", ids, [reason] * len(ids)
        ids = playlists.entries(db, found.id)
        how = f"imported from {found.source}" if found.source else "made by you"
        return found.name, "user", how, ids, ["in your playlist"] * len(ids)
    engine, arrays = load_engine(db)
    wanted = name.casefold()
    automatic = engine.build_all()
    for playlist in automatic:
        if wanted in (playlist.name.casefold(), playlist.key.casefold()):
            return _as_tracks(playlist, arrays)
    known = [p.name for p in automatic] + [p.name for p in playlists.saved(db)]
    raise SegueError(f"no playlist named '{name}' (known: {', '.join(known) or 'none'})")


def _with_mood(
    db: Database, found: tuple[str, str, str, list[int], list[str]], mood: str
) -> tuple[str, str, str, list[int], list[str]]:
    import numpy as np

    from recommender.playlists import Playlist

    name, kind, how, ids, reasons = found
    engine, arrays = load_engine(db, save=False)
    row_of = {int(t): i for i, t in enumerate(arrays.track_ids.tolist())}
    rows = np.array([row_of[t] for t in ids if t in row_of], dtype=np.int64)
    kept_reasons = [r for t, r in zip(ids, reasons, strict=True) if t in row_of]
    filtered = engine.filter_mood(Playlist(name, name, kind, how, rows, kept_reasons), mood)
    return _as_tracks(filtered, arrays)


def _as_tracks(
    playlist: Playlist, arrays: LibraryArrays
) -> tuple[str, str, str, list[int], list[str]]:
    ids = [int(arrays.track_ids[i]) for i in playlist.items.tolist()]
    return playlist.name, playlist.kind, playlist.how, ids, list(playlist.reasons)


def track_dicts(db: Database, ids: list[int], reasons: list[str]) -> list[dict[str, Any]]:
    from player.library.paths import display
    from player.library.playlists import track_rows

    rows = track_rows(db, ids)
    out = []
    for track_id, reason in zip(ids, reasons, strict=True):
        row = rows.get(track_id)
        out.append(
            {
                "id": track_id,
                "path": display(row.path) if row else "",
                "title": row.title if row else None,
                "artist": row.artist if row else None,
                "reason": reason,
            }
        )
    return out


def print_tracks(name: str, how: str, tracks: list[dict[str, Any]]) -> None:
    print(f"{name}: {how} ({len(tracks)} tracks)")
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
            for p in engine.build_all()
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
    from player.library.playlists import track_rows
    from player.playlist_io import ExportEntry, export

    with open_db(args) as db:
        name, _, _, ids, _ = resolve(db, args.name)
        rows = track_rows(db, ids)
    entries = [
        ExportEntry(r.path, r.title, r.artist, r.album, r.duration)
        for r in (rows[t] for t in ids if t in rows)
    ]
    relative = Path(args.relative_to) if args.relative_to else None
    text = export(args.format, name, entries, relative)
    # surrogateescape: a file name that is not valid UTF-8 is written as its own bytes.
    sys.stdout.buffer.write(text.encode("utf-8", errors="surrogateescape"))
    sys.stdout.flush()
    return 0


def run_import(args: argparse.Namespace) -> int:
    from player.cli.common import open_db, print_json
    from player.errors import SegueError
    from player.library import playlists, tracks
    from player.playlist_io import match_entries, read_playlist

    path = Path(args.file)
    parsed = read_playlist(path)
    with open_db(args) as db:
        outcome = match_entries(
            parsed, path.parent, playlists.track_paths(db), tracks.TrackMatcher.load(db)
        )
        name = args.name or outcome.name
        if not outcome.matched:
            raise SegueError(
                f"none of the {len(parsed.entries)} entries of {path.name} is in the library; "
                "nothing imported"
            )
        playlists.save_user(db, name, outcome.matched, source=str(path.name), replace=args.replace)
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
