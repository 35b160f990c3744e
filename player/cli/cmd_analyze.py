"""``segue analyze``: describe how every track sounds, for "sounds like" recommendations."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from player.cli.common import ProgressBar, open_db, print_json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="analyse the audio of every track that needs it (for similarity)",
        description="Analyse the audio of every track lacking current features: recently "
        "played tracks first. Interrupt it any time; the next run resumes.",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="analysis processes (default: cores - 1, at least 1)",
    )
    parser.add_argument(
        "--background",
        action="store_true",
        help="one worker at the lowest CPU priority, so playback never stutters",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="give up on a file after S seconds (default: 60)",
    )
    parser.add_argument(
        "--failures", action="store_true", help="list the files that could not be analysed"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON summary object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from player.analysis import FILE_TIMEOUT_S, Analyzer
    from player.errors import SegueError
    from player.library.features import FeatureStore
    from player.library.paths import display

    if args.workers is not None and args.workers < 1:
        raise SegueError("--workers must be at least 1")
    if args.timeout is not None and args.timeout <= 0:
        raise SegueError("--timeout must be a positive number of seconds")
    db = open_db(args)
    bar = ProgressBar("track", "Analysing", enabled=not args.json)
    try:
        if args.failures:
            failures = FeatureStore(db).failures()
            if args.json:
                for path, f in failures:
                    print_json(
                        {"id": f.track_id, "path": path, "kind": f.kind, "reason": f.message}
                    )
            else:
                for path, f in failures:
                    print(f"{display(path)}: {f.message} [{f.kind}]")
            return 0
        analyzer = Analyzer(
            db,
            workers=1 if args.background else args.workers,
            timeout=args.timeout or FILE_TIMEOUT_S,
            low_priority=args.background,
            progress=bar.callback,
        )
        if analyzer.model_problem:
            print(f"segue: {analyzer.model_problem}", file=sys.stderr)
        with bar:
            summary = analyzer.run()
    finally:
        db.close()
    if summary.network_fallback:  # onnxruntime missing (no wheel here), or turned off
        print(
            f"segue: the music network ran on numpy, slower than with onnxruntime: "
            f"{summary.network_fallback}",
            file=sys.stderr,
        )
    if args.json:
        print_json(summary.as_dict())
        return 0
    print(
        f"{summary.analysed} analysed, {summary.failed} could not be analysed, "
        f"{summary.pending} pending ({summary.seconds:.1f} s, "
        f"{summary.tracks_per_second:.1f} tracks/s)"
    )
    if summary.failures:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.failures.items()))
        print(f"not analysed: {kinds}; see 'segue analyze --failures'")
    return 0
