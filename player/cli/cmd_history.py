"""``segue history export|wipe|import``: the user's control over their listening data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("history", help="export, wipe or import listening history")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="print all listening data as JSON")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    export.set_defaults(func=run_export)
    wipe = actions.add_parser("wipe", help="delete all listening history (asks first)")
    wipe.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    wipe.set_defaults(func=run_wipe)
    imp = actions.add_parser(
        "import",
        help="restore Segue's own export, or import a ListenBrainz JSON export, a Last.fm "
        "scrobble CSV or a Spotify streaming history (file or folder)",
    )
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--json", action="store_true", help="print one JSON summary object")
    imp.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    from player.cli.common import open_db, refuse_own_file
    from player.history_export import document_chunks, write_atomically
    from player.library import events

    if args.output:
        refuse_own_file(args, args.output)
    with open_db(args) as db:
        logged = list(events.export(db))
    chunks = document_chunks(logged)
    if args.output:
        write_atomically(args.output, chunks)
        print(f"wrote {len(logged)} events to {args.output}", file=sys.stderr)
    else:  # UTF-8 whatever the locale says, as the file would be
        out = sys.stdout.buffer
        for chunk in chunks:
            out.write(chunk.encode("utf-8"))
        out.flush()
    return 0


def run_wipe(args: argparse.Namespace) -> int:
    from player.cli.common import open_db
    from player.errors import SegueError
    from player.library import events
    from player.personal_cache import forget_state

    with open_db(args) as db:
        total = events.count(db)
        if not args.yes:
            if not sys.stdin.isatty():
                raise SegueError("refusing to wipe history without confirmation: add --yes")
            answer = input(f"Delete all {total} listening events? This cannot be undone [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing deleted")
                return 1
        removed = events.wipe(db)
        # Nothing learned from the wiped log may come back at the next start.
        forget_state(db.path)
    print(f"deleted {removed} listening events")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from player.cli.common import open_db, print_json, refuse_own_file
    from player.history_import import read_history
    from player.library import events, tracks

    refuse_own_file(args, args.file)
    history = read_history(Path(args.file))
    source, listens = history.source, history.listens
    with open_db(args) as db:
        matcher = tracks.TrackMatcher.load(db)
        matched: list[events.NewEvent] = []
        unmatched: dict[str, int] = {}
        by_path: dict[str, int | None] = {}  # each path looked up once
        for listen in listens:
            track_id = None
            if listen.path:
                if listen.path not in by_path:
                    known = tracks.by_path(db, listen.path)
                    by_path[listen.path] = known.id if known else None
                track_id = by_path[listen.path]
            if track_id is None:
                track_id = matcher.match(listen.mbid, listen.artist, listen.title)
            if track_id is None:
                label = f"{listen.artist or '?'} – {listen.title or listen.path or '?'}"
                unmatched[label] = unmatched.get(label, 0) + 1
                continue
            if source == "segue":  # our own export: the event as it was logged
                matched.append(
                    events.NewEvent(
                        track_id=track_id,
                        kind=listen.kind,
                        ts=listen.ts,
                        position_ms=listen.position_ms,
                        duration_ms=listen.duration_ms,
                        session_id=listen.session_id,
                        source=listen.source,
                    )
                )
                continue
            duration = matcher.durations.get(track_id)
            ms = int(duration * 1000) if duration else None
            kind, position_ms = listen.outcome(ms)
            matched.append(
                events.NewEvent(
                    track_id=track_id,
                    kind=kind,
                    ts=listen.ts,
                    position_ms=position_ms,
                    duration_ms=ms,
                    source=source,
                )
            )
        # Everything above only read; now a few thousand events per short transaction.
        added = events.append_new(db, matched)
    summary = {
        "source": source,
        "listens": len(listens),
        "matched": len(matched),
        "added": added,
        "already_imported": len(matched) - added,
        "unmatched": sum(unmatched.values()),
        "skipped": sum(history.skipped.values()),
        "skipped_why": dict(history.skipped.most_common()),
        "unmatched_tracks": [
            {"track": k, "listens": v} for k, v in sorted(unmatched.items(), key=lambda x: -x[1])
        ],
    }
    if args.json:
        print_json(summary)
        return 0
    what = "events" if source == "segue" else "listens"
    print(
        f"{len(listens)} {what} from {source}: {len(matched)} matched to library tracks "
        f"({added} new, {len(matched) - added} already imported), "
        f"{summary['unmatched']} not in the library"
        + (f"; {history.skipped_line()}" if history.skipped else "")
    )
    for item in summary["unmatched_tracks"][:20]:  # type: ignore[index]
        print(f"  not found: {item['track']} ({item['listens']} listens)")
    if len(unmatched) > 20:
        print(f"  ... and {len(unmatched) - 20} more (see --json for all)")
    return 0
