"""Single files handed to Segue ("Open with Segue", ``segue FILE...``): each is found in
the library or read and added to it, without scanning the folder it sits in.

A file under a library folder is filed under that folder; any other file is added on its
own (no folder), so a later ``segue scan`` leaves it alone and never marks it missing. A
file new at its path whose fingerprint a track with a gone file has is that track, moved.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from player.config import is_library_file
from player.library.db import Database
from player.library.scanstore import ScanError, ScanStore
from player.scanner.scan import MovedAway, parse_one, track_values


@dataclass
class OpenedFiles:
    track_ids: list[int] = field(default_factory=list)  # in the order given, playable
    added: int = 0  # new to the library
    problems: list[str] = field(default_factory=list)  # one line per file left out


def _root_of(path: str, roots: Sequence[tuple[int, str]]) -> int | None:
    best: tuple[int, str] | None = None
    for root_id, root in roots:
        inside = path == root or path.startswith(root.rstrip(os.sep) + os.sep)
        if inside and (best is None or len(root) > len(best[1])):
            best = (root_id, root)
    return best[0] if best else None


def add_files(db: Database, paths: Sequence[str]) -> OpenedFiles:
    """The library's track ids for ``paths``, reading and adding the files it lacks."""
    store = ScanStore(db)
    finder = MovedAway(store, store.roots())
    roots = [(r.id, r.path) for r in store.roots()]
    wanted = [os.path.abspath(os.path.expanduser(p)) for p in paths]
    known = store.known_track_by_path(wanted)
    result = OpenedFiles()
    for path in wanted:
        try:
            st = os.stat(path)
        except OSError as exc:
            result.problems.append(f"{path}: {exc.strerror or exc}")
            continue
        if not os.path.isfile(path):
            result.problems.append(f"{path}: not a file")
            continue
        if is_library_file(path, db.path):  # reading it would drop the DB's locks
            result.problems.append(f"{path}: Segue's own library database, not music")
            continue
        track = known.get(path)
        if track is not None and track.size == st.st_size and track.mtime == st.st_mtime:
            if track.missing:
                store.write_batch(restore=[track.id])
            result.track_ids.append(track.id)
            continue
        parsed = parse_one(path, st.st_size, st.st_mtime)
        if isinstance(parsed, ScanError):
            store.write_batch(errors=[parsed])
            result.problems.append(f"{path}: {parsed.message}")
            continue
        values = track_values(parsed, 0)
        values["root_id"] = _root_of(path, roots)
        clear = [path] if parsed.warning is None else []
        moved_from = None if track is not None else finder.claim([parsed.fingerprint])[0]
        if track is not None:
            store.write_batch(updates=[(track.id, path, values)], clear_errors=clear)
        elif moved_from is not None:  # moved here from elsewhere: the same track
            store.write_batch(updates=[(moved_from, path, values)], clear_errors=clear)
        else:
            store.write_batch(inserts=[(path, values)], clear_errors=clear)
            result.added += 1
        stored = store.known_track_by_path([path]).get(path)
        if stored is not None:
            result.track_ids.append(stored.id)
    # Opening a file is adding it: one the user removed from the library comes back.
    store.unremove(result.track_ids)
    return result
