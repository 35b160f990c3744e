"""Write listening history out: ``segue history export`` and the app's Settings → Export.

Each event is one JSON object encoded as UTF-8. A file name that is not valid UTF-8 (a
POSIX name with undecodable bytes, held by Python as lone surrogates) cannot be written as
UTF-8 text, so its path goes out in the form the library stores it in
(``bytes:`` + percent-encoded bytes, see :mod:`player.library.paths`), which
:mod:`player.history_import` turns back into the very same path. Any other text that is not
valid Unicode falls back to JSON's ``\\u`` escapes, so every export is valid UTF-8 JSON and
imports back exactly.

Files are written atomically: into a temporary file in the target's folder, flushed to
disk, then renamed over the target. A failure (a full disk, permission denied...) leaves an
older export there untouched and is one :class:`SegueError` line. A file replaced keeps its
mode; a new one is readable by its owner only (it is the user's listening history).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from player.errors import SegueError
from player.library.paths import to_db


def event_json(item: dict[str, Any]) -> str:
    """One exported event as JSON text that encodes to UTF-8 and imports back exactly."""
    if isinstance(item.get("path"), str):
        item = {**item, "path": to_db(item["path"])}
    text = json.dumps(item, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a tag with lone surrogates: escape them
        text = json.dumps(item, ensure_ascii=True)
    return text


def document_chunks(items: Iterable[dict[str, Any]]) -> Iterable[str]:
    """Segue's export document (``{"segue_history_version": 1, "events": [...]}``), one
    event a line, in pieces."""
    yield '{"segue_history_version": 1, "events": [\n'
    first = True
    for item in items:
        yield ("" if first else ",\n") + event_json(item)
        first = False
    yield "\n]}\n"


def lines_chunks(items: Iterable[dict[str, Any]]) -> Iterable[str]:
    """JSON Lines, one event a line (the app's export)."""
    for item in items:
        yield event_json(item) + "\n"


def _cannot(target: Path, exc: OSError) -> SegueError:
    return SegueError(f"cannot write {target}: {exc.strerror or exc}")


def write_atomically(target: str | Path, chunks: Iterable[str]) -> None:
    """Write ``chunks`` as UTF-8 to ``target`` all or nothing: an existing file there stays
    as it was unless the whole new content reached the disk."""
    target = Path(target)
    if target.is_dir():
        raise SegueError(f"cannot write {target}: it is a folder; name a file to write to")
    final = Path(os.path.realpath(target))  # write through a symlink, as open() would
    folder = final.parent
    if not folder.is_dir():
        raise SegueError(f"cannot write {target}: folder {target.parent} does not exist")
    if final.exists() and not os.access(final, os.W_OK):  # as open() would refuse
        raise SegueError(f"cannot write {target}: Permission denied")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise _cannot(target, exc) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):  # keep the mode of the file replaced
            os.chmod(tmp, final.stat().st_mode & 0o7777)
        os.replace(tmp, final)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _cannot(target, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
