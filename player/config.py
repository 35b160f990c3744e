"""Where Segue keeps its data.

The library DB lives in the platform's user-data directory (platformdirs), unless
``--db PATH`` or the ``SEGUE_DB`` environment variable says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "Segue"
DB_ENV_VAR = "SEGUE_DB"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    env = os.environ.get(DB_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return data_dir() / "library.db"


# SQLite's own files beside the DB. Opening and closing any of them in this process drops
# the process's POSIX locks on it (see player/ui/filedialogs.py), so nothing but SQLite may.
DB_COMPANION_SUFFIXES = ("", "-wal", "-shm", "-journal")


def is_library_file(candidate: str | Path, db_path: str | Path) -> bool:
    """True when ``candidate`` is the library DB at ``db_path`` or one of its companions.

    Compared by path and, for files that exist, by device and inode (symlinks, hard links
    and other spellings of the same file count), using ``stat`` only, never ``open``.
    """
    if str(db_path) == ":memory:":
        return False
    target = Path(candidate).expanduser()
    base = Path(db_path).expanduser()
    try:
        target_stat = os.stat(target)
    except OSError:
        target_stat = None
    for suffix in DB_COMPANION_SUFFIXES:
        companion = base.with_name(base.name + suffix)
        if os.path.abspath(target) == os.path.abspath(companion):
            return True
        if target_stat is not None:
            try:
                other = os.stat(companion)
            except OSError:
                continue
            if (other.st_dev, other.st_ino) == (target_stat.st_dev, target_stat.st_ino):
                return True
    return False


def refuse_library_file(candidate: str | Path, db_path: str | Path) -> None:
    """Raise a one-line SegueError when a file the user named is the library DB's own."""
    if is_library_file(candidate, db_path):
        from player.errors import SegueError

        raise SegueError(f"{candidate} is Segue's own library database; choose another file")


class OwnFiles:
    """The library DB's own files, to skip while walking many files (a cheap test per path)."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = db_path
        self.name = Path(db_path).name

    def contains(self, path: str) -> bool:
        # Only names that start like the DB's are stat'ed: a walk pays nothing for the rest.
        return os.path.basename(path).startswith(self.name) and is_library_file(path, self.db_path)
