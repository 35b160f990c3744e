"""The personal model's learned state (its blender's weights and the chosen decay), kept
beside the library DB as ``library.personal.npz`` so the app does not relearn them at every
start. Everything else in the model is counted again from the log; a missing or damaged
file only means the model learns from the log once more."""

from __future__ import annotations

import contextlib
import os
import threading
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

State = dict[str, npt.NDArray[np.float64]]

# The personal thread (a replay is ready) and the session thread (an event) may both save.
_saving = threading.Lock()


def state_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.stem + ".personal.npz")


def load_state(db_path: Path | None) -> State | None:
    if db_path is None or str(db_path) == ":memory:":
        return None
    with (
        contextlib.suppress(OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile),
        np.load(state_path(db_path)) as data,
    ):
        return {name: np.asarray(data[name], dtype=np.float64) for name in data.files}
    return None


def save_state(db_path: Path | None, state: State) -> None:
    if db_path is None or str(db_path) == ":memory:":
        return
    path = state_path(db_path)
    with _saving, contextlib.suppress(OSError):  # a read-only folder only costs relearning
        # One temporary per process (the app and the CLI may both be saving), one writer
        # of it at a time within the process.
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **state)  # type: ignore[arg-type]
        os.replace(tmp, path)


def learned_paths(db_path: Path) -> list[Path]:
    """Every file beside the DB that holds something learned from the listening log: the
    personal model's state, and the playlists' joint embedding as the taste map's
    positions and the mixes' clusters (both fitted on the log's co-occurrences). The
    content index (``library.content.npz``) is fitted on audio vectors only."""
    from player.library.playlists import MIXES_FILE, TASTE_MAP_FILE

    return [
        state_path(db_path),
        *(db_path.with_name(f"{db_path.stem}.{what}") for what in (TASTE_MAP_FILE, MIXES_FILE)),
    ]


def forget_state(db_path: Path | None) -> None:
    """Drop everything learned from the listening log that is kept beside the DB (the
    history it was learned from was wiped); the playlists build theirs again."""
    if db_path is None or str(db_path) == ":memory:":
        return
    with _saving:
        for path in learned_paths(db_path):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
