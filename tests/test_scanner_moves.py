"""Moves between music folders keep a track's history whichever scan sees them first."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from player.library.db import Database
from player.library.scanstore import ScanStore
from player.scanner.files import add_files
from player.scanner.scan import parse_one, track_values
from player.scanner.tags import TrackRecord
from tests.audiogen import tag, write_audio
from tests.scanhelp import scan, tracks


def _song(path: Path, freq: float) -> Path:
    write_audio(path, seconds=0.5, freq=freq)
    tag(path, title=f"Song {freq:.0f}", artist="Band", album="Record")
    return path


def _log_play(db: Database, track_id: int) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO events (ts, track_id, kind) VALUES (?, ?, 'play')", (time.time(), track_id)
        )


def _plays(db: Database, track_id: int) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM events WHERE track_id = ?", (track_id,)))


def _two_folders(library: Database, tmp_path: Path) -> tuple[Path, Path, Path, int]:
    a, b = tmp_path / "A", tmp_path / "B"
    song = _song(a / "song.ogg", 300.0)
    _song(a / "other.ogg", 500.0)
    _song(b / "already.ogg", 700.0)
    scan(library, a, b)
    track_id = tracks(library)[str(song)]["id"]
    _log_play(library, track_id)
    return a, b, song, track_id


def test_a_move_seen_first_by_a_scan_of_the_new_folder_keeps_the_history(
    library: Database, tmp_path: Path
) -> None:
    _a, b, song, track_id = _two_folders(library, tmp_path)
    moved = b / "song.ogg"
    shutil.move(song, moved)

    summary = scan(library, b)  # `segue scan B`, or the app's add-folder scan
    assert (summary.moved, summary.added) == (1, 0)
    row = tracks(library)[str(moved)]
    assert (row["id"], row["missing"]) == (track_id, 0)
    assert _plays(library, track_id) == 1

    summary = scan(library)  # the next full scan: nothing split, nothing missing
    assert (summary.missing, summary.added, summary.moved) == (0, 0, 0)
    rows = tracks(library)
    assert str(song) not in rows and len(rows) == 3
    assert (rows[str(moved)]["id"], rows[str(moved)]["missing"]) == (track_id, 0)
    assert _plays(library, track_id) == 1


def test_opening_a_moved_file_finds_its_track(library: Database, tmp_path: Path) -> None:
    """`segue FILE` (Open with Segue) on a file moved out of a music folder."""
    _a, _b, song, track_id = _two_folders(library, tmp_path)
    moved = tmp_path / "Downloads" / "renamed.ogg"
    moved.parent.mkdir()
    shutil.move(song, moved)
    opened = add_files(library, [str(moved)])
    assert (opened.track_ids, opened.added) == ([track_id], 0)
    assert tracks(library)[str(moved)]["id"] == track_id
    assert scan(library).missing == 0
    assert _plays(library, track_id) == 1


def test_a_copy_is_not_a_move(library: Database, tmp_path: Path) -> None:
    """The file is still where it was: the new one is a second track, history stays."""
    _a, b, song, track_id = _two_folders(library, tmp_path)
    copy = b / "copy.ogg"
    shutil.copy(song, copy)
    summary = scan(library, b)
    assert (summary.moved, summary.added) == (0, 1)
    rows = tracks(library)
    assert rows[str(song)]["id"] == track_id and rows[str(copy)]["id"] != track_id


def _add_as_new(library: Database, path: Path) -> int:
    """What an older Segue did with a moved file seen first by a partial scan."""
    record = parse_one(str(path), path.stat().st_size, path.stat().st_mtime)
    assert isinstance(record, TrackRecord)
    ScanStore(library).write_batch(inserts=[(str(path), track_values(record, 2))])
    return int(tracks(library)[str(path)]["id"])


def test_a_track_split_by_an_older_scan_is_joined_again(library: Database, tmp_path: Path) -> None:
    _a, b, song, track_id = _two_folders(library, tmp_path)
    moved = b / "song.ogg"
    shutil.move(song, moved)
    twin = _add_as_new(library, moved)
    with library.transaction() as conn:  # the new track was put in a playlist meanwhile
        conn.execute(
            "INSERT INTO playlists (id, name, kind, created_at, updated_at) "
            "VALUES (1, 'Mine', 'user', 0, 0)"
        )
        conn.execute("INSERT INTO playlist_entries VALUES (1, 0, ?)", (twin,))

    summary = scan(library)
    assert (summary.missing, summary.moved, summary.added) == (0, 1, 0)
    rows = tracks(library)
    assert str(song) not in rows and len(rows) == 3
    assert (rows[str(moved)]["id"], rows[str(moved)]["missing"]) == (track_id, 0)
    assert _plays(library, track_id) == 1
    assert library.scalar("SELECT track_id FROM playlist_entries") == track_id


def test_a_twin_with_its_own_history_is_not_joined(library: Database, tmp_path: Path) -> None:
    """Both tracks have plays: joining them would rewrite the log, so both stay."""
    _a, b, song, track_id = _two_folders(library, tmp_path)
    moved = b / "song.ogg"
    shutil.move(song, moved)
    twin = _add_as_new(library, moved)
    _log_play(library, twin)
    summary = scan(library)
    assert (summary.missing, summary.moved) == (1, 0)
    rows = tracks(library)
    assert rows[str(song)]["missing"] == 1 and rows[str(moved)]["id"] == twin
    assert (_plays(library, track_id), _plays(library, twin)) == (1, 1)


def test_identical_files_are_each_checked_once(
    library: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many copies of one file (same fingerprint) added next to many already known: each
    known copy's file is looked for once, not once per new copy."""
    from player.scanner import scan as scan_module

    base = _song(tmp_path / "base.ogg", 440.0)
    for folder in ("A", "B"):
        (tmp_path / folder).mkdir()
    for i in range(60):
        shutil.copy(base, tmp_path / "A" / f"{i}.ogg")
    scan(library, tmp_path / "A")
    for i in range(60):
        shutil.copy(base, tmp_path / "B" / f"{i}.ogg")
    looked: list[str] = []
    real = scan_module.file_gone
    monkeypatch.setattr(scan_module, "file_gone", lambda p: looked.append(p) or real(p))
    summary = scan(library, tmp_path / "B")
    assert (summary.added, summary.moved) == (60, 0)
    assert len(looked) <= 60
