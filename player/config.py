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
