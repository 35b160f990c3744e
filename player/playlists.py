"""Automatic and user playlists as the app and the CLI use them.

Automatic playlists (Discover, Forgotten Favourites, the mixes, Calm, Energetic) are built
from the library by ``recommender.playlists``; user playlists (imported or saved) and smart
playlists (saved queries) come from the library DB. Building also refreshes the taste map
file beside the DB that the desktop app draws.

Names, one rule: a playlist you save (create, import, rename, ``smart --save``) never takes
the name of an automatic playlist, so a name always reaches one playlist. A file imported
without ``--name`` whose own name is taken by an automatic playlist is saved as
"NAME (imported)"; and a mix that a later rebuild happens to name like one of yours is
shown as "NAME (automatic)". A saved name is replaced only when asked (``--replace``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from player.library.db import Database
    from player.library.playlists import LibraryArrays
    from player.playlist_io import ExportEntry
    from recommender.playlists import Playlist, PlaylistEngine


# -- building ----------------------------------------------------------------------------


@dataclass
class _Built:
    signature: tuple[float, ...]  # of the library it was built from
    engine: PlaylistEngine
    arrays: LibraryArrays
    saved: bool  # its mix names and taste map are in the files beside the DB


_BUILT: dict[Path, _Built] = {}
_BUILDING = threading.Lock()  # the app builds on worker threads: one build at a time


def load_engine(db: Database, *, save: bool = True) -> tuple[PlaylistEngine, LibraryArrays]:
    """The playlist engine over the whole library; keeps mix names and the taste map
    (files beside the DB) up to date when ``save``. Built again only when what it is
    built from changed (``library.playlists.library_signature``: new plays or verdicts,
    a scan, an analysis, a wipe or an import); an unchanged library answers from the
    last build, so asking again costs a few cheap queries."""
    return _load(db, save=save)[:2]


def refresh_engine(db: Database) -> bool:
    """Bring the playlist engine, the mix names and the taste map up to date with the
    library (the app, after an analysis or a scan). True when it was built again."""
    return _load(db, save=True)[2]


def _load(db: Database, *, save: bool) -> tuple[PlaylistEngine, LibraryArrays, bool]:
    from player.library.playlists import library_signature

    with _BUILDING:
        # Read before the build: what changes while it runs is built next time.
        signature = library_signature(db)
        built = _BUILT.get(db.path)
        rebuilt = built is None or built.signature != signature
        if built is None or rebuilt:
            engine, arrays = _build_engine(db, save=save)
            built = _BUILT[db.path] = _Built(signature, engine, arrays, save)
        elif save and not built.saved:
            _save_files(db, built.engine, built.arrays)
            built.saved = True
        return built.engine, built.arrays, rebuilt


def _build_engine(db: Database, *, save: bool) -> tuple[PlaylistEngine, LibraryArrays]:
    import time

    import numpy as np
    from threadpoolctl import threadpool_limits

    from player.errors import SegueError
    from player.library.playlists import MIXES_FILE, load_arrays, sidecar_path
    from recommender.audio import N_FEATURES
    from recommender.collab.signals import KIND_CODES, EventLog
    from recommender.content.metadata import split_artists
    from recommender.playlists import LibraryState, PlaylistEngine
    from recommender.ranking.reasons import labels_from_arrays

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
            _save_files(db, engine, arrays)
    return engine, arrays


def _save_files(db: Database, engine: PlaylistEngine, arrays: LibraryArrays) -> None:
    """The mix names (so the next build keeps them) and the taste map, beside the DB."""
    from threadpoolctl import threadpool_limits

    from player.library.playlists import MIXES_FILE, sidecar_path

    with threadpool_limits(limits=1):
        _save_mixes(sidecar_path(db, MIXES_FILE), arrays.track_ids, engine)
        update_map(db, engine, arrays)


def _previous_mix_names(path: Path) -> list[str]:
    import numpy as np

    if not path.exists():
        return []
    try:
        with np.load(path, allow_pickle=False) as data:
            return [str(s) for s in data["names"]]
    except (OSError, ValueError, KeyError):
        return []


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
    from recommender.content.tastemap import TasteMap, build_map

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


# -- names -------------------------------------------------------------------------------

FIXED_AUTOMATIC = ("Discover", "Forgotten Favourites", "Calm", "Energetic")
FIXED_KEYS = ("discover", "forgotten", "calm", "energetic")


def automatic_names(db: Database) -> set[str]:
    """The automatic playlists' names and keys (casefolded): the fixed ones and the mixes
    as last built (their names are kept beside the DB), without building anything."""
    from player.library.playlists import MIXES_FILE, sidecar_path

    names = {n.casefold() for n in (*FIXED_AUTOMATIC, *FIXED_KEYS)}
    mixes = _previous_mix_names(sidecar_path(db, MIXES_FILE))
    return names | {m.casefold() for m in mixes}


def check_new_name(db: Database, name: str) -> str:
    """``name`` stripped, or a one-line SegueError when an automatic playlist has it."""
    from player.errors import SegueError

    name = name.strip()
    if name.casefold() in automatic_names(db):
        raise SegueError(f"'{name}' is the name of an automatic playlist; give yours another name")
    return name


def imported_name(db: Database, wanted: str | None, from_file: str) -> str:
    """The name an imported playlist gets: ``wanted`` if given, else the file's own name,
    kept apart from an automatic playlist's (``Mellow Mix`` → ``Mellow Mix (imported)``)."""
    if wanted is not None:
        return check_new_name(db, wanted)
    if from_file.strip().casefold() in automatic_names(db):
        return f"{from_file.strip()} (imported)"
    return from_file.strip()


def save_user(
    db: Database,
    name: str,
    track_ids: list[int],
    *,
    source: str | None = None,
    replace: bool = False,
) -> int:
    from player.library import playlists

    return playlists.save_user(
        db, _saved_name(db, name, replace), track_ids, source=source, replace=replace
    )


def save_smart(db: Database, name: str, query: str, *, replace: bool = False) -> int:
    from player.library import playlists

    return playlists.save_smart(db, _saved_name(db, name, replace), query, replace=replace)


def _saved_name(db: Database, name: str, replace: bool) -> str:
    """The name to save under: only a NEW name must stay clear of the automatic
    playlists'. Rewriting one of the user's own playlists (add, reorder, remove, import
    --replace) keeps its name even when a mix has since been given the same one."""
    from player.library import playlists

    if replace and playlists.find(db, name.strip()) is not None:
        return name.strip()
    return check_new_name(db, name)


def rename_user(db: Database, old: str, new: str) -> None:
    """Rename a user playlist; the new name follows the same rule as a new playlist's."""
    from player.errors import SegueError
    from player.library import playlists

    found = playlists.find(db, old)
    if found is None or found.kind != "user":
        raise SegueError(f"no playlist of yours named '{old}'")
    new = check_new_name(db, new)
    other = playlists.find(db, new)
    if other is not None and other.id != found.id:
        raise SegueError(f"a playlist named '{new}' exists already (choose another name)")
    ids = playlists.entries(db, found.id)
    with db.transaction():
        playlists.delete(db, found.name)
        playlists.save_user(db, new, ids, source=found.source)


def automatic(db: Database, engine: PlaylistEngine) -> list[Playlist]:
    """Every automatic playlist, none under the name of one of the user's."""
    from dataclasses import replace

    from player.library import playlists

    taken = {p.name.casefold() for p in playlists.saved(db)}
    return [
        replace(p, name=f"{p.name} (automatic)") if p.name.casefold() in taken else p
        for p in engine.build_all()
    ]


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
    built = automatic(db, engine)
    for playlist in built:
        if wanted in (playlist.name.casefold(), playlist.key.casefold()):
            return as_tracks(playlist, arrays)
    known = [p.name for p in built] + [p.name for p in playlists.saved(db)]
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
    if filtered.items.size == 0:
        filtered.how = mood_shortfall(engine, rows, mood, f"'{name}'")
    return as_tracks(filtered, arrays)


def mood_shortfall(engine: Any, rows: Any, mood: str, what: str) -> str:
    """Why a mood filter kept nothing: how many tracks had no known energy (not analysed,
    and a genre that does not tell) and how many were of the other mood."""
    import numpy as np

    from player.text import plural

    energy = engine.energy[np.asarray(rows, dtype=np.int64)]
    unknown = int(np.count_nonzero(~np.isfinite(energy)))
    other = int(energy.size - unknown)
    if energy.size == 0:
        return f"no {mood} tracks: {what} has no tracks"
    parts = []
    if other:
        parts.append(f"{other} {'is' if other == 1 else 'are'} not {mood} enough")
    if unknown:
        parts.append(
            f"{unknown} {'has' if unknown == 1 else 'have'} no known energy "
            "(run 'segue analyze' so Segue hears how they sound)"
        )
    return f"no {mood} tracks among the {plural(energy.size, 'track')} of {what}: " + "; ".join(
        parts
    )


def as_tracks(
    playlist: Playlist, arrays: LibraryArrays
) -> tuple[str, str, str, list[int], list[str]]:
    ids = [int(arrays.track_ids[i]) for i in playlist.items.tolist()]
    return playlist.name, playlist.kind, playlist.how, ids, list(playlist.reasons)


def track_dicts(db: Database, ids: list[int], reasons: list[str]) -> list[dict[str, Any]]:
    from player.library import tracks
    from player.library.paths import display

    rows = tracks.by_ids(db, ids)
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


def export_entries(db: Database, ids: list[int]) -> list[ExportEntry]:
    """What an exported playlist file lists for these tracks, in order (tracks no longer
    in the library are left out)."""
    from player.library import tracks
    from player.playlist_io import ExportEntry

    rows = tracks.by_ids(db, ids)
    return [
        ExportEntry(r.path, r.title, r.artist, r.album, r.duration)
        for r in (rows[t] for t in ids if t in rows)
    ]
