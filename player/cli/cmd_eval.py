"""``segue eval --events FILE.tsv``: replay a real listening log and compare Segue's
recommender with standard baselines (HR@10, MRR@10, catalogue coverage)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from player.cli.common import print_json
from player.errors import SegueError

DESCRIPTION = (
    "Replay a listening history in time order: each play after the first of its session is "
    "predicted from everything before it, then learned. FILE is a TSV log whose header names "
    "its columns (track, artist, timestamp in Unix seconds; optional user, session, ms_played, "
    "skipped; names or integer ids; an empty session splits at 30-minute gaps), a ListenBrainz "
    "JSON/JSONL export, a Last.fm scrobble CSV, or a Spotify streaming-history JSON file or "
    "folder. The catalogue is every track in the file. 'segue' is the app's ranking, by the "
    "app's own code: session CF, tags (here the artist), taste and the personal model "
    "(re-listening, session, time of day, latent factors, skips, blended by a small network "
    "that learns as it goes, with the session CF as one of its inputs), weighed as the app "
    "weighs them, minus the recency penalty; no audio vectors, and without the up-next "
    "queue's constraints (no artist twice in a row, no repeats within hours), which would "
    "forbid the runs and repeats real listeners make. Baselines: popularity, "
    "artist_popularity, item_knn, session_knn, session_item_knn, bll (ACT-R base-level "
    "learning), bll_knn, and als/bpr when implicit is installed. Where the file marks skips, "
    "skip_auc is the chance a completed play was ranked above a skipped one."
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure the recommender on a listening log against baselines",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "--events",
        required=True,
        metavar="FILE",
        help="the listening history to replay (TSV, ListenBrainz, Last.fm, Spotify file or folder)",
    )
    parser.add_argument(
        "--mode",
        choices=("stream", "per-user"),
        default="stream",
        help="stream: all sessions as one listener (default); per-user: one model per user",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        choices=(1, 2),
        default=2,
        help="processes replaying at once: 2 (default) replays Segue and the baselines side "
        "by side, 1 all in this process; the numbers are the same",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _from_listens(path: Path) -> Any:
    """Another service's export (ListenBrainz, Last.fm, Spotify) as a replayable log."""
    import numpy as np

    from player.history_import import read_listens
    from recommender.evaluation.log import from_arrays

    source, listens = read_listens(path)
    listens = [x for x in listens if x.title and x.artist]
    if not listens:
        raise SegueError(f"{path}: no listens with a track and an artist found ({source})")
    n = len(listens)
    played = [np.nan if x.ms_played is None else x.ms_played for x in listens]
    skipped = [np.nan if x.skipped is None else float(x.skipped) for x in listens]
    return from_arrays(
        np.zeros(n, dtype=np.int64),
        np.full(n, -1, dtype=np.int64),
        [f"{x.artist} - {x.title}" for x in listens],
        [str(x.artist) for x in listens],
        [x.ts for x in listens],
        ms_played=played,
        skipped=skipped,
    )


def _is_tsv(path: Path) -> bool:
    """A TSV log has a tab in its first line; JSON and CSV exports do not."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline()
    return "\t" in first or not first.strip()


def load_log(path: Path) -> Any:
    """Read any log ``segue eval`` accepts, or raise a one-line SegueError."""
    from recommender.evaluation import LogFormatError, parse_log

    try:
        if path.is_dir() or not _is_tsv(path):
            return _from_listens(path)
        with open(path, encoding="utf-8") as fh:
            return parse_log(fh)
    except FileNotFoundError:
        raise SegueError(f"no such events file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SegueError(f"cannot read {path}: {exc}") from None
    except LogFormatError as exc:
        raise SegueError(f"{path}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from recommender.evaluation import evaluate
    from recommender.evaluation.replay import ReplayError

    log = load_log(Path(args.events))
    try:
        result = evaluate(log, args.mode, workers=args.jobs)
    except ReplayError as exc:
        raise SegueError(str(exc)) from None
    if args.json:
        print_json({"file": args.events, **result.as_dict()})
        return 0
    print(f"{args.events}: {result.predictions} predictions, mode {result.mode}")
    skips = any("skip_auc" in m for m in result.strategies.values())
    print(
        f"{'strategy':<18} {'HR@10':>7} {'MRR@10':>7} {'coverage':>9}"
        + (f" {'skip AUC':>9}" if skips else "")
        + f" {'seconds':>8}"
    )
    for name, m in result.strategies.items():
        auc = f" {m.get('skip_auc', float('nan')):9.3f}" if skips else ""
        print(
            f"{name:<18} {m['hr@10']:7.3f} {m['mrr@10']:7.3f} {m['coverage']:9.3f}{auc}"
            f" {result.seconds.get(name, 0.0):8.1f}"
        )
    best = result.best_baseline()
    if best is not None and "segue" in result.strategies:
        ratio = result.strategies["segue"]["hr@10"] / max(result.strategies[best]["hr@10"], 1e-9)
        print(f"segue / best baseline ({best}): {ratio:.2f}x HR@10")
    for note in result.notes:
        print(f"note: {note}")
    return 0
