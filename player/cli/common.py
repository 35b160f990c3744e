"""Small helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from player.library import Database, open_library


def open_db(args: argparse.Namespace) -> Database:
    return open_library(args.db)


def refuse_own_file(args: argparse.Namespace, path: str | Path) -> None:
    """A file named on the command line must not be the library DB (or its -wal/-shm)."""
    from player.config import default_db_path, refuse_library_file

    refuse_library_file(path, args.db if args.db is not None else default_db_path())


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=False) + "\n")
    sys.stdout.flush()


class ProgressBar:
    """A tqdm bar (rate and ETA) on an interactive terminal, nothing otherwise.

    ``callback`` is handed to long jobs as ``progress(done, total)``; the bar appears on
    the first call. Use as a context manager so it is closed whatever happens.
    """

    def __init__(self, unit: str, desc: str, *, enabled: bool) -> None:
        self.unit = unit
        self.desc = desc
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None

    @property
    def callback(self) -> Callable[[int, int], None] | None:
        return self._update if self.enabled else None

    def _update(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=self.unit, desc=self.desc, dynamic_ncols=True)
        self._bar.update(done - self._bar.n)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
