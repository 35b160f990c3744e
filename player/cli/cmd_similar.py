"""``segue similar TRACK [TRACK...] -n K [--json]``: the tracks that sound most alike."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from player.cli.common import open_db, print_json

# From this many analysed tracks, fitting or graph building takes seconds: say so.
SLOW_LIBRARY = 10_000


def _slow_step_note(step: str) -> None:
    print(f"segue: {step}...", file=sys.stderr, flush=True)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "similar",
        help="list the tracks that sound most like the given ones",
        description="For each TRACK (a path or a track id), list the K analysed tracks that "
        "sound most alike, with a distance and what made them close. Needs 'segue analyze'.",
    )
    parser.add_argument("tracks", nargs="+", metavar="TRACK", help="a file path or a track id")
    parser.add_argument("-n", type=int, default=10, metavar="K", help="how many (default 10)")
    parser.add_argument("--json", action="store_true", help="one JSON object per TRACK")
    parser.set_defaults(func=run)


def _resolve(store: Any, ref: str) -> tuple[int, str]:
    """A path (as typed, made absolute) or a track id; paths win when both could match."""
    from player.errors import SegueError

    found = store.track_by_path(os.path.abspath(ref))
    if found is None and os.path.exists(ref):
        found = store.track_by_path(os.path.realpath(ref))
    if found is None and ref.isdigit():
        found = store.track_by_id(int(ref))
    if found is None:
        raise SegueError(f"no track '{ref}' in the library (give a path or a track id)")
    return found  # type: ignore[no-any-return]


def _not_ready(store: Any, track_id: int, path: str) -> str:
    from player.library.paths import display

    failure = store.failure(track_id)
    if failure is not None:
        return f"{display(path)} could not be analysed: {failure.message}"
    return f"{display(path)} is not analysed yet: run 'segue analyze' first"


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from player.errors import SegueError
    from player.library.features import FeatureStore
    from player.library.paths import display
    from recommender.audio.features import N_INDEXED_FEATURES, layout_groups
    from recommender.audio.tags import heard_words

    if args.n < 1:
        raise SegueError("-n must be at least 1")
    from player.content_cache import fitted_index

    db = open_db(args)
    try:
        store = FeatureStore(db)
        queries = [_resolve(store, ref) for ref in args.tracks]
        serving = store.serving(N_INDEXED_FEATURES)
        groups = layout_groups(serving.vectors.shape[1])
        if groups is None:
            raise SegueError(
                "the stored features come from another Segue version: run 'segue analyze'"
            )
        row_of = {int(t): i for i, t in enumerate(serving.track_ids)}
        missing = [(tid, path) for tid, path in queries if tid not in row_of]
        not_ready = {tid: _not_ready(store, tid, path) for tid, path in missing}
        if len(queries) == 1 and missing:
            raise SegueError(not_ready[missing[0][0]])
        index: Any = None
        if len(serving.track_ids) > 1:
            index = fitted_index(
                db.path,
                serving.track_ids,
                serving.versions,
                serving.vectors,
                groups,
                with_graph=True,
                notify=_slow_step_note if len(serving.track_ids) >= SLOW_LIBRARY else None,
            )
        paths = store.paths([int(t) for t in serving.track_ids])
        heard = store.heard_tags([int(t) for t in serving.track_ids])
    finally:
        db.close()

    status = 0
    for tid, path in queries:
        if tid not in row_of:
            print(f"segue: {not_ready[tid]}", file=sys.stderr)
            status = 1
            continue
        row = row_of[tid]
        similar: list[dict[str, Any]] = []
        if index is not None:
            k = min(args.n, len(serving.track_ids) - 1)
            ids, distances = index.similar(row, k, exclude=np.array([row], dtype=np.int64))
            for other, dist in zip(ids.tolist(), distances.tolist(), strict=True):
                other_id = int(serving.track_ids[other])
                similar.append(
                    {
                        "id": other_id,
                        "path": paths.get(other_id, ""),
                        "distance": round(float(dist), 4),
                        "why": _why(index.explain(row, other), heard.get(tid), heard.get(other_id)),
                        "heard": heard_words(heard.get(other_id)),
                    }
                )
        if args.json:
            print_json(
                {
                    "track": {
                        "id": tid,
                        "path": display(path),
                        "heard": heard_words(heard.get(tid)),
                    },
                    "similar": [{**s, "path": display(s["path"])} for s in similar],
                }
            )
            continue
        mine = heard_words(heard.get(tid))
        print(f"{display(path)} (id {tid})" + (f"  [heard: {', '.join(mine)}]" if mine else ""))
        if not similar:
            print("  no other analysed track to compare with yet")
        for rank, s in enumerate(similar, 1):
            print(
                f"  {rank:>2}. {s['distance']:.3f}  {display(s['path'])} (id {s['id']}): {s['why']}"
            )
    return status


def _why(aspects: str, mine: str | None, theirs: str | None) -> str:
    """What the two share: the tags heard in both ("jazzy, instrumental"), then the
    index's aspects ("similar timbre and energy")."""
    from recommender.audio.tags import heard_words, phrase

    shared = [t for t in heard_words(theirs) if t in set(heard_words(mine))]
    return "; ".join(w for w in (phrase(shared), aspects) if w)
