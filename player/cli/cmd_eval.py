"""``segue eval --events FILE.tsv``: replay a real listening log and compare Segue's
recommender with standard baselines (HR@10, MRR@10, catalogue coverage)."""

from __future__ import annotations

import argparse
from typing import Any

from player.cli.common import print_json

DESCRIPTION = (
    "Replay a listening log (TSV with header 'user session track artist timestamp'; an empty "
    "session splits at 30-minute gaps) in time order: each play after the first of its session "
    "is predicted from everything before it, then learned. The catalogue is every track in the "
    "file. 'segue' is the app's hybrid scorer (session CF + artist back-off + recency), without "
    "the up-next queue's constraints (no artist twice in a row, no repeats within hours), which "
    "would forbid the same-artist runs and repeats real listeners make. Baselines: popularity, "
    "artist_popularity, item_knn, session_knn, and als/bpr when implicit is installed."
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure the recommender on a listening log against baselines",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "--events", required=True, metavar="FILE.tsv", help="the listening log to replay"
    )
    parser.add_argument(
        "--mode",
        choices=("stream", "per-user"),
        default="stream",
        help="stream: all sessions as one listener (default); per-user: one model per user",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from player.errors import SegueError
    from recommender.evaluation import LogFormatError, evaluate, parse_log

    try:
        with open(args.events, encoding="utf-8") as fh:
            log = parse_log(fh)
    except FileNotFoundError:
        raise SegueError(f"no such events file: {args.events}") from None
    except IsADirectoryError:
        raise SegueError(f"{args.events} is a folder, not an events file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SegueError(f"cannot read {args.events}: {exc}") from None
    except LogFormatError as exc:
        raise SegueError(f"{args.events}: {exc}") from None
    result = evaluate(log, args.mode)
    if args.json:
        print_json({"file": args.events, **result.as_dict()})
        return 0
    print(f"{args.events}: {result.predictions} predictions, mode {result.mode}")
    print(f"{'strategy':<18} {'HR@10':>7} {'MRR@10':>7} {'coverage':>9}")
    for name, m in result.strategies.items():
        print(f"{name:<18} {m['hr@10']:7.3f} {m['mrr@10']:7.3f} {m['coverage']:9.3f}")
    for note in result.notes:
        print(f"note: {note}")
    return 0
