"""How file paths are stored.

Paths are absolute and stored as TEXT. A POSIX file name need not be valid UTF-8, and
SQLite text must be, so a path that holds undecodable bytes (Python keeps them as lone
surrogates) is stored percent-encoded behind a ``bytes:`` prefix. Real absolute paths
never start with that prefix, so the two forms cannot collide and both round-trip.
"""

from __future__ import annotations

import os
from urllib.parse import quote_from_bytes, unquote_to_bytes

_BYTES_PREFIX = "bytes:"


def to_db(path: str) -> str:
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return _BYTES_PREFIX + quote_from_bytes(os.fsencode(path), safe="/")


def stored_prefixes(folder: str) -> tuple[str, ...]:
    """What every stored path under ``folder`` starts with: its plain form and, for the
    files in it whose names hold undecodable bytes, its ``bytes:`` form (the whole path is
    percent-encoded then, the folder's part included)."""
    folder = os.path.join(folder, "")
    encoded = _BYTES_PREFIX + quote_from_bytes(os.fsencode(folder), safe="/")
    plain = to_db(folder)
    return (plain,) if plain == encoded else (plain, encoded)


def from_db(stored: str) -> str:
    if stored.startswith(_BYTES_PREFIX):
        return os.fsdecode(unquote_to_bytes(stored[len(_BYTES_PREFIX) :]))
    return stored


def display(path: str) -> str:
    """A printable form of a path (undecodable bytes shown as U+FFFD)."""
    return os.fsencode(path).decode("utf-8", errors="replace")
