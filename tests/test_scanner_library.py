"""Scanning folders: every file accounted for, incremental rescans, moves, offline roots."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from player.library.db import Database
from player.library.paths import from_db, to_db
from player.scanner import scan as scan_module
from tests.audiogen import tag, write_audio
from tests.scanhelp import errors, scan, tracks


def _music(folder: Path, n: int = 3) -> list[Path]:
    paths = []
    for i in range(n):
        ext = ("mp3", "flac", "ogg")[i % 3]
        path = write_audio(folder / f"album/track{i}.{ext}", seconds=0.5, freq=220.0 + 40 * i)
        tag(path, title=f"Song {i}", artist="Band", album="Record")
        paths.append(path)
    return paths


def _log_play(db: Database, track_id: int) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO events (ts, track_id, kind) VALUES (?, ?, 'play')", (time.time(), track_id)
        )


def test_every_file_of_the_real_test_corpus_is_accounted_for(
    library: Database, shared_data: Path
) -> None:
    folder = shared_data / "tags"
    summary = scan(library, folder, workers=2)
    files = {str(p) for p in folder.iterdir() if p.is_file()}
    indexed, failed = set(tracks(library)), set(errors(library))
    assert files == indexed | failed, "every file is a track or has a recorded reason"
    assert summary.added == len(indexed)
    assert summary.added + summary.errors == len(files)
    assert len(indexed) >= 170
    for path, row in errors(library).items():
        assert row["message"].strip() and "\n" not in row["message"], path
    assert errors(library)[str(folder / "empty_file.mp3")]["kind"] == "empty"
    assert errors(library)[str(folder / "REUSE.toml")]["kind"] == "not_audio"
    # Tags without audio are listed (their tags show) but flagged unplayable.
    assert tracks(library)[str(folder / "utf16be.mp3")]["has_audio"] == 0
    # A second scan opens nothing and changes nothing.
    again = scan(library)
    assert (again.added, again.updated, again.unchanged) == (0, 0, len(indexed))


def test_rescan_does_not_open_unchanged_files(
    library: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _music(tmp_path / "music")
    scan(library, tmp_path / "music")
    opened: list[str] = []
    real = scan_module.read_track
    monkeypatch.setattr(
        scan_module, "read_track", lambda p, s, m: opened.append(p) or real(p, s, m)
    )
    summary = scan(library)
    assert (summary.unchanged, opened) == (3, [])

    tag(paths[0], title="Renamed Song")
    os.utime(paths[0], (time.time() + 5, time.time() + 5))
    summary = scan(library)
    assert (summary.updated, summary.unchanged, opened) == (1, 2, [str(paths[0])])
    assert tracks(library)[str(paths[0])]["title"] == "Renamed Song"


def test_vanished_file_is_marked_missing_and_keeps_history(
    library: Database, tmp_path: Path
) -> None:
    paths = _music(tmp_path / "music")
    scan(library, tmp_path / "music")
    track_id = tracks(library)[str(paths[1])]["id"]
    _log_play(library, track_id)
    paths[1].unlink()
    summary = scan(library)
    assert summary.missing == 1
    row = tracks(library)[str(paths[1])]
    assert row["missing"] == 1 and row["missing_since"] is not None
    assert library.scalar("SELECT COUNT(*) FROM events WHERE track_id = ?", (track_id,)) == 1


def test_moved_and_renamed_file_keeps_its_id_and_history(library: Database, tmp_path: Path) -> None:
    paths = _music(tmp_path / "music")
    scan(library, tmp_path / "music")
    old = tracks(library)[str(paths[2])]
    _log_play(library, old["id"])
    new_path = tmp_path / "music" / "elsewhere" / "renamed.ogg"
    new_path.parent.mkdir()
    shutil.move(paths[2], new_path)
    summary = scan(library)
    assert (summary.moved, summary.added, summary.missing) == (1, 0, 0)
    after = tracks(library)
    assert str(paths[2]) not in after
    assert after[str(new_path)]["id"] == old["id"]
    assert library.scalar("SELECT COUNT(*) FROM events WHERE track_id = ?", (old["id"],)) == 1


def test_file_moved_after_it_was_marked_missing_comes_back(
    library: Database, tmp_path: Path
) -> None:
    paths = _music(tmp_path / "music")
    scan(library, tmp_path / "music")
    old_id = tracks(library)[str(paths[0])]["id"]
    parked = tmp_path / "parked.mp3"
    shutil.move(paths[0], parked)
    assert scan(library).missing == 1
    shutil.move(parked, tmp_path / "music" / "back.mp3")
    summary = scan(library)
    assert summary.moved == 1
    row = tracks(library)[str(tmp_path / "music" / "back.mp3")]
    assert (row["id"], row["missing"]) == (old_id, 0)


def test_unreachable_root_is_offline_not_emptied(library: Database, tmp_path: Path) -> None:
    drive = tmp_path / "usb"
    _music(drive)
    scan(library, drive)
    unplugged = tmp_path / "usb-unplugged"
    drive.rename(unplugged)
    summary = scan(library)
    assert summary.offline == [str(drive)]
    assert summary.missing == 0
    assert all(row["missing"] == 0 for row in tracks(library).values())
    assert library.scalar("SELECT online FROM library_roots") == 0
    unplugged.rename(drive)
    summary = scan(library)
    assert (summary.offline, summary.unchanged) == ([], 3)
    assert library.scalar("SELECT online FROM library_roots") == 1


def test_hostile_folder_contents(library: Database, tmp_path: Path) -> None:
    music = tmp_path / "music"
    good = write_audio(music / "good.flac", seconds=0.5)
    (music / "loop").symlink_to(music)  # a symlink loop
    (music / "dangling.mp3").symlink_to(tmp_path / "nowhere.mp3")
    (music / "zero.mp3").write_bytes(b"")
    (music / "garbage.flac").write_bytes(os.urandom(5000))
    truncated = write_audio(tmp_path / "full.mp3", seconds=2.0).read_bytes()
    (music / "truncated.mp3").write_bytes(truncated[:300])
    shutil.copy(write_audio(tmp_path / "real.ogg", seconds=0.5), music / "actually_ogg.mp3")
    shutil.copy(write_audio(tmp_path / "real2.mp3", seconds=0.5), music / "no_extension.x")
    (music / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    (music / ".hidden.mp3").write_bytes(b"junk")
    undecodable = os.fsdecode(b"caf\xe9 \xff.wav")
    shutil.copy(
        write_audio(tmp_path / "plain.wav", seconds=0.5),
        os.path.join(os.fsencode(music).decode(), undecodable),
    )

    summary = scan(library, music)
    got, bad = tracks(library), errors(library)
    assert str(good) in got
    assert got[str(music / "actually_ogg.mp3")]["format"] == "ogg"
    assert got[str(music / "no_extension.x")]["format"] == "mp3"
    assert str(music / "loop" / "good.flac") not in got, "a loop is walked once"
    weird = os.path.join(str(music), undecodable)
    assert weird in got and to_db(weird).startswith("bytes:")
    assert from_db(to_db(weird)) == weird
    assert bad[str(music / "dangling.mp3")]["kind"] == "broken_link"
    assert bad[str(music / "zero.mp3")]["kind"] == "empty"
    assert bad[str(music / "garbage.flac")]["kind"] in {"corrupt", "not_audio"}
    assert str(music / "truncated.mp3") in bad or got[str(music / "truncated.mp3")]
    assert str(music / "cover.jpg") not in bad and summary.ignored == 1
    assert not any(".hidden" in p for p in list(got) + list(bad))
    assert scan(library).unchanged == summary.added


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file whatever its mode")
def test_unreadable_file_and_folder_are_recorded(library: Database, tmp_path: Path) -> None:
    music = tmp_path / "music"
    locked = write_audio(music / "locked.mp3", seconds=0.5)
    write_audio(music / "closed" / "inside.mp3", seconds=0.5)
    locked.chmod(0)
    (music / "closed").chmod(0)
    try:
        scan(library, music)
        bad = errors(library)
        assert bad[str(locked)]["kind"] == "unreadable"
        assert bad[str(music / "closed")]["kind"] == "unreadable_folder"
    finally:
        (music / "closed").chmod(0o755)


def test_error_row_clears_when_the_file_is_fixed(library: Database, tmp_path: Path) -> None:
    music = tmp_path / "music"
    broken = music / "song.ogg"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"OggS" + os.urandom(300))
    scan(library, music)
    assert str(broken) in errors(library)
    write_audio(broken, seconds=0.5)
    os.utime(broken, (time.time() + 5, time.time() + 5))
    summary = scan(library)
    assert summary.added == 1
    assert str(broken) not in errors(library)


def test_nested_root_is_not_scanned_twice(library: Database, tmp_path: Path) -> None:
    _music(tmp_path / "music")
    scan(library, tmp_path / "music")
    summary = scan(library, tmp_path / "music" / "album")
    assert summary.added == 0
    assert len(tracks(library)) == 3


def test_a_music_folder_inside_another_is_scanned_with_it(
    library: Database, tmp_path: Path
) -> None:
    """`segue scan ~/Music/NewAlbum` inside ~/Music: full scans still see that folder, so
    a file deleted there goes missing and one moved out of it keeps its history."""
    music = tmp_path / "music"
    _music(music)
    scan(library, music)
    new_album = music / "NewAlbum"
    kept = write_audio(new_album / "kept.ogg", seconds=0.5, freq=600.0)
    deleted = write_audio(new_album / "deleted.ogg", seconds=0.5, freq=700.0)
    moving = write_audio(new_album / "moving.ogg", seconds=0.5, freq=800.0)
    assert scan(library, new_album).added == 3
    moving_id = tracks(library)[str(moving)]["id"]
    _log_play(library, moving_id)

    deleted.unlink()
    sorted_path = music / "Sorted" / "moving.ogg"
    sorted_path.parent.mkdir()
    shutil.move(moving, sorted_path)
    summary = scan(library)
    assert (summary.missing, summary.moved, summary.added, summary.unchanged) == (1, 1, 0, 4)
    rows = tracks(library)
    assert rows[str(deleted)]["missing"] == 1
    assert rows[str(kept)]["missing"] == 0
    assert (rows[str(sorted_path)]["id"], rows[str(sorted_path)]["missing"]) == (moving_id, 0)
    assert str(moving) not in rows and len(rows) == 6
    assert library.scalar("SELECT COUNT(*) FROM events WHERE track_id = ?", (moving_id,)) == 1
    # Walked once, as part of the outer folder: a second scan finds nothing to do.
    again = scan(library)
    assert (again.added, again.updated, again.moved, again.missing) == (0, 0, 0, 0)


def test_a_music_folder_inside_another_that_is_gone_keeps_its_tracks(
    library: Database, tmp_path: Path
) -> None:
    """Like any music folder that cannot be reached (an unplugged drive mounted inside the
    music folder), it is reported offline and its tracks are not marked missing."""
    music = tmp_path / "music"
    _music(music)
    scan(library, music)
    drive = music / "drive"
    write_audio(drive / "song.ogg", seconds=0.5, freq=600.0)
    scan(library, drive)
    drive.rename(tmp_path / "unplugged")
    summary = scan(library)
    assert (summary.missing, summary.offline) == (0, [str(drive)])
    assert not any(t["missing"] for t in tracks(library).values())


def test_parallel_and_inline_parsing_agree(tmp_path: Path) -> None:
    from player.library import open_library

    music = tmp_path / "music"
    music.mkdir()
    base = write_audio(tmp_path / "base.mp3", seconds=0.3)
    for i in range(80):  # over the inline limit, so the process pool runs
        shutil.copy(base, music / f"{i}.mp3")
    results = []
    for workers in (1, 2):
        with open_library(tmp_path / f"w{workers}.db") as db:
            summary = scan(db, music, workers=workers)
            results.append(
                (
                    summary.added,
                    summary.errors,
                    sorted((p, r["duration"]) for p, r in tracks(db).items()),
                )
            )
    assert results[0] == results[1]
    assert results[0][0] == 80


def test_a_removed_track_stays_out_until_the_user_adds_it_again(
    library: Database, tmp_path: Path
) -> None:
    """ "Remove from library" hides a track from the counts, the analysis and the taste
    map; a plain rescan keeps it hidden; naming its folder or opening the file brings
    it back."""
    import numpy as np

    from player.library import stats, track_info
    from player.library.features import FeatureStore, StoredFeatures
    from player.library.taste_points import taste_points
    from player.scanner import Scanner
    from player.scanner.files import add_files

    music = tmp_path / "music"
    paths = _music(music)
    scan(library, music)
    ids = {from_db(r["path"]): int(r["id"]) for r in library.query("SELECT id, path FROM tracks")}
    gone = ids[str(paths[0])]
    store = FeatureStore(library)
    store.save(
        1,
        [StoredFeatures(t, "fp", np.ones(4, np.float32), *[0.5] * 10) for t in ids.values()],
        [],
    )
    assert track_info.remove_from_library(library, [gone]) == 1

    assert stats.overview(library).tracks == 2
    assert gone not in {t.id for t in store.pending(99)}
    assert store.pending_count(99) == 2
    assert gone not in {p.track_id for p in taste_points(library)}
    scan(library)  # "Rescan library": not an explicit add
    assert track_info.remove_from_library(library, [gone]) == 0  # still removed

    scan(library, music / "album")  # segue scan PATH / Add music folder
    assert stats.overview(library).tracks == 3
    assert track_info.remove_from_library(library, [gone]) == 1
    Scanner(library, workers=1).scan()
    assert add_files(library, [str(paths[0])]).track_ids == [gone]  # segue FILE
    assert stats.overview(library).tracks == 3


def test_adding_a_folder_again_brings_back_a_removed_file_with_an_undecodable_name(
    library: Database, tmp_path: Path
) -> None:
    """A file whose name is not UTF-8, in a folder with a non-ASCII name, comes back
    when the user adds the folder again, like any other removed file."""
    from player.library import stats, track_info

    folder = tmp_path / "Café Ré"
    folder.mkdir()
    odd = folder / os.fsdecode(b"caf\xe9 \xff.wav")
    shutil.copy(write_audio(tmp_path / "odd.wav", seconds=0.5), odd)
    plain = write_audio(folder / "plain.wav", seconds=0.5, freq=330.0)
    scan(library, folder)
    ids = {from_db(r["path"]): int(r["id"]) for r in library.query("SELECT id, path FROM tracks")}
    assert track_info.remove_from_library(library, [ids[str(odd)], ids[str(plain)]]) == 2
    assert stats.overview(library).tracks == 0

    scan(library, folder)  # Add music folder / segue scan PATH, again
    assert stats.overview(library).tracks == 2


def test_an_unreadable_subfolder_keeps_its_tracks(
    library: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied on a folder inside a readable music folder: its tracks stay in
    the library (not missing), and the scan says which folder it could not read."""
    from player.scanner import walk as walk_module

    music = tmp_path / "music"
    _music(music)
    write_audio(music / "open.mp3", seconds=0.5)
    scan(library, music)
    assert len(tracks(library)) == 4
    closed = str(music / "album")
    real_scandir = os.scandir

    def scandir(path: str) -> object:  # chmod 0 does not stop root: deny it here
        if str(path) == closed:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(walk_module.os, "scandir", scandir)
    summary = scan(library)
    assert summary.missing == 0 and summary.denied == [closed]
    assert not any(t["missing"] for t in tracks(library).values())
    assert errors(library)[closed]["kind"] == "unreadable_folder"


def test_two_scans_at_once_add_each_new_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app and a cron job scan the same new files at once: the one that writes second
    refreshes the rows the first added instead of failing on tracks.path's uniqueness."""
    from player.library.scanstore import ScanStore

    music = tmp_path / "music"
    _music(music)
    db_path = tmp_path / "library.db"
    app, cron = Database(db_path), Database(db_path)
    lookup = ScanStore.known_track_by_path
    raced: list[bool] = []

    def read_then_lose_the_race(self: ScanStore, paths: list[str]) -> dict[str, Any]:
        found = lookup(self, paths)  # read before the cron job's scan lands
        if self.db is app and not raced:
            raced.append(True)
            scan(cron, music)
        return found

    monkeypatch.setattr(ScanStore, "known_track_by_path", read_then_lose_the_race)
    summary = scan(app, music)
    assert raced
    rows = tracks(app)
    assert len(rows) == 3 and summary.errors == 0
    assert sorted(r["title"] for r in rows.values()) == ["Song 0", "Song 1", "Song 2"]
    app.close()
    cron.close()
