"""The listening log from the command line: log, export, wipe, import, forget."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from player.library import events
from player.library.db import Database, open_library
from tests.audiogen import tag, write_audio

ROOT = Path(__file__).resolve().parent.parent


def segue(db: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "player", "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    music = tmp_path / "music"
    files = {
        "blue": tag(
            write_audio(music / "blue.mp3", seconds=2.0),
            title="Blue in Green",
            artist="Miles Davis",
        ),
        "let": tag(
            write_audio(music / "let.flac", seconds=2.0), title="Let It Be", artist="The Beatles"
        ),
        "jolene": tag(
            write_audio(music / "jolene.ogg", seconds=2.0), title="Jolene", artist="Dolly Parton"
        ),
    }
    db = tmp_path / "lib.db"
    assert segue(db, "scan", str(music)).returncode == 0
    return db, files


def _events(db_path: Path) -> list[dict[str, object]]:
    with open_library(db_path) as db:
        return list(events.export(db))


def test_log_records_events_by_path_or_id(scanned: tuple[Path, dict[str, Path]]) -> None:
    db, files = scanned
    result = segue(db, "log", "play", str(files["blue"]), "--at", "2026-01-02T03:04:05+00:00")
    assert result.returncode == 0, result.stderr
    assert "Miles Davis – Blue in Green" in result.stdout
    logged = _events(db)
    assert logged[0]["kind"] == "play" and logged[0]["ts"] == 1767323045.0
    assert logged[0]["position_ms"] == logged[0]["duration_ms"] == 2000
    track_id = str(logged[0]["track_id"])
    assert segue(db, "log", "skip", track_id, "--position", "0.5").returncode == 0
    assert segue(db, "log", "dislike", track_id).returncode == 0
    kinds = [(e["kind"], e["position_ms"]) for e in _events(db)]
    assert kinds[1:] == [("skip", 500), ("dislike", None)]
    with open_library(db) as lib:
        assert events.verdicts(lib)["dislike"] == {int(track_id)}


def test_log_rejects_unknown_tracks_and_bad_times(scanned: tuple[Path, dict[str, Path]]) -> None:
    db, files = scanned
    for args, fragment in (
        (("log", "play", "/no/such/file.mp3"), "no such track"),
        (("log", "play", "999"), "no track with id 999"),
        (("log", "play", str(files["blue"]), "--at", "yesterday"), "not an ISO time"),
    ):
        result = segue(db, *args)
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr
    assert _events(db) == []


def test_export_then_wipe(scanned: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    db, files = scanned
    for name in ("blue", "let"):
        segue(db, "log", "play", str(files[name]))
    exported = json.loads(segue(db, "history", "export").stdout)
    assert [e["title"] for e in exported["events"]] == ["Blue in Green", "Let It Be"]
    assert exported["events"][0]["path"] == str(files["blue"])

    refused = segue(db, "history", "wipe")  # no terminal to confirm on: refuse
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert len(_events(db)) == 2
    # What was learned from the log beside the DB: the personal model's state, the
    # taste map and the mixes (fitted on the log's co-occurrences). The content index
    # is fitted on audio alone and stays.
    from player.personal_cache import save_state, state_path

    save_state(db, {"w": np.ones(3)})
    learned = [state_path(db), db.with_name(f"{db.stem}.tastemap.npz")]
    learned.append(db.with_name(f"{db.stem}.mixes.npz"))
    for path in learned[1:]:
        np.savez(path, ids=np.arange(3))
    content = db.with_name(f"{db.stem}.content.npz")
    np.savez(content, ids=np.arange(3))
    done = segue(db, "history", "wipe", "--yes")
    assert done.returncode == 0 and "deleted 2" in done.stdout
    assert _events(db) == []
    assert [p.name for p in learned if p.exists()] == [], "nothing learned from it survives"
    assert content.exists()
    with open_library(db) as lib:
        assert lib.scalar("SELECT COUNT(*) FROM tracks") == 3, "wiping history keeps the library"


def test_forget_this_play(tmp_path: Path) -> None:
    with open_library(tmp_path / "lib.db") as db:
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO tracks (path, size, mtime, fingerprint, added_at, "
                "updated_at) VALUES ('/a.mp3', 1, 1, 'f', 0, 0)"
            )
        first = events.append(db, events.NewEvent(track_id=1, kind="play", ts=1.0))
        second = events.append(db, events.NewEvent(track_id=1, kind="play", ts=2.0))
        assert events.forget_last_listen(db, 1)
        assert [e.id for e in events.all_events(db)] == [first]
        assert events.forget(db, first) and not events.forget(db, second)
        assert events.count(db) == 0


def test_import_listenbrainz_matches_by_mbid_then_artist_title(
    scanned: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    db, _ = scanned
    with open_library(db) as lib, lib.transaction() as conn:
        conn.execute("UPDATE tracks SET mb_track_id = 'aaaa-1111' WHERE title = 'Jolene'")
    export = [
        {
            "listened_at": 1700000000,
            "track_metadata": {
                "artist_name": "Someone Else",
                "track_name": "Wrong Name",
                "additional_info": {"recording_mbid": "AAAA-1111"},
            },
        },
        {
            "listened_at": 1700000300,
            "track_metadata": {
                "artist_name": "Beatles",
                "track_name": "Let It Be (Remastered 2009)",
            },
        },
        {
            "listened_at": 1700000600,
            "track_metadata": {
                "artist_name": "Miles Davis feat. Bill Evans",
                "track_name": "blue in green",
            },
        },
        {
            "listened_at": 1700000900,
            "track_metadata": {"artist_name": "Nobody", "track_name": "Not In Library"},
        },
    ]
    source = tmp_path / "listens.json"
    source.write_text(json.dumps(export))
    result = segue(db, "history", "import", str(source), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["source"], summary["matched"], summary["added"]) == ("listenbrainz", 3, 3)
    assert summary["unmatched_tracks"] == [{"track": "Nobody – Not In Library", "listens": 1}]
    titles = [e["title"] for e in _events(db)]
    assert titles == ["Jolene", "Let It Be", "Blue in Green"]
    again = json.loads(segue(db, "history", "import", str(source), "--json").stdout)
    assert (again["added"], again["already_imported"]) == (0, 3)


def test_import_lastfm_csv_with_and_without_header(
    scanned: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    db, _ = scanned
    plain = tmp_path / "scrobbles.csv"
    plain.write_text(
        "Dolly Parton,Jolene,Jolene,31 Jan 2021 12:34\nUnknown Band,,Mystery,31 Jan 2021 12:40\n",
        encoding="utf-8",
    )
    summary = json.loads(segue(db, "history", "import", str(plain), "--json").stdout)
    assert (summary["source"], summary["matched"], summary["unmatched"]) == ("lastfm", 1, 1)
    headed = tmp_path / "headed.csv"
    headed.write_text(
        "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n"
        "1612096440,31 Jan 2021,The Beatles,,Let It Be,,Let It Be,\n"
    )
    summary = json.loads(segue(db, "history", "import", str(headed), "--json").stdout)
    assert summary["added"] == 1
    assert _events(db)[0]["ts"] == 1612096440.0


def test_import_spotify_keeps_how_much_was_heard_and_skips(
    scanned: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    """A Spotify stream says how long it played and whether it was skipped: a skip after
    0.4 s is a skip at 400 ms, not a full play; a stream heard to the end is a play."""
    db, _ = scanned
    rows = [
        {
            "ts": "2024-03-01T10:00:00Z",
            "ms_played": 400,
            "master_metadata_track_name": "Jolene",
            "master_metadata_album_artist_name": "Dolly Parton",
            "skipped": True,
            "reason_end": "fwdbtn",
        },
        {
            "ts": "2024-03-01T10:05:00Z",
            "ms_played": 2000,
            "master_metadata_track_name": "Let It Be",
            "master_metadata_album_artist_name": "The Beatles",
            "skipped": False,
            "reason_end": "trackdone",
        },
        {
            "ts": "2024-03-01T10:09:00Z",
            "ms_played": 900,
            "master_metadata_track_name": "Blue in Green",
            "master_metadata_album_artist_name": "Miles Davis",
            "skipped": None,
            "reason_end": "logout",
        },
    ]
    export = tmp_path / "Streaming_History_Audio_2024.json"
    export.write_text(json.dumps(rows), encoding="utf-8")
    summary = json.loads(segue(db, "history", "import", str(export), "--json").stdout)
    assert (summary["source"], summary["added"]) == ("spotify", 3)
    logged = sorted(_events(db), key=lambda e: float(e["ts"]))  # type: ignore[arg-type]
    assert [(e["kind"], e["position_ms"]) for e in logged] == [
        ("skip", 400),
        ("play", 2000),
        ("play", 900),  # stopped part-way: a partial play, weighed by how much was heard
    ]


def test_import_of_a_wrong_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.csv"
    bad.write_text("hello,world\nfoo,bar\n")
    result = segue(tmp_path / "lib.db", "history", "import", str(bad))
    assert result.returncode == 1
    assert "not a Last.fm scrobble CSV" in result.stderr
    missing = segue(tmp_path / "lib.db", "history", "import", str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_verdicts_latest_wins(library: Database) -> None:
    with library.transaction() as conn:
        for i in (1, 2):
            conn.execute(
                "INSERT INTO tracks (path, size, mtime, fingerprint, added_at, "
                "updated_at) VALUES (?, 1, 1, 'f', 0, 0)",
                (f"/{i}.mp3",),
            )
    for ts, kind, track in ((1, "like", 1), (2, "dislike", 2), (3, "unlike", 1), (4, "like", 2)):
        events.append(library, events.NewEvent(track_id=track, kind=kind, ts=float(ts)))
    assert events.verdicts(library) == {"like": {2}, "dislike": set()}


def test_segue_export_restores_every_event_once(
    scanned: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    """Issue 14: importing Segue's own export imported 0 listens. Now it restores the
    events as they were (kind, time, position, source), and a second import adds nothing."""
    db, files = scanned
    segue(db, "log", "play", str(files["blue"]), "--at", "2026-01-02T03:04:05+00:00")
    segue(db, "log", "skip", str(files["let"]), "--position", "0.5")
    segue(db, "log", "like", str(files["jolene"]))
    with open_library(db) as lib:  # an event from the app, with its session
        track = lib.scalar("SELECT id FROM tracks ORDER BY id LIMIT 1")
        events.append(lib, events.NewEvent(track, "stop", 1.5e9, 700, 2000, "s-1", "app"))
    before = _events(db)
    export = tmp_path / "history.json"
    assert segue(db, "history", "export", "-o", str(export)).returncode == 0
    assert segue(db, "history", "wipe", "--yes").returncode == 0

    restored = segue(db, "history", "import", str(export))
    assert restored.returncode == 0, restored.stderr
    assert "4 new" in restored.stdout
    after = _events(db)
    keys = ("ts", "kind", "track_id", "position_ms", "duration_ms", "session_id", "source")
    assert [[e[k] for k in keys] for e in after] == [[e[k] for k in keys] for e in before]

    again = segue(db, "history", "import", str(export))
    assert again.returncode == 0 and "0 new, 4 already imported" in again.stdout
    assert len(_events(db)) == 4


def test_the_apps_json_lines_export_restores_too(
    scanned: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    db, files = scanned
    segue(db, "log", "like", str(files["blue"]))
    lines = tmp_path / "segue-history.jsonl"
    with open_library(db) as lib:
        lines.write_text("".join(json.dumps(e) + "\n" for e in events.export(lib)))
    segue(db, "history", "wipe", "--yes")
    assert segue(db, "history", "import", str(lines)).returncode == 0
    assert [e["kind"] for e in _events(db)] == ["like"]


@pytest.mark.parametrize(
    "name, content",
    [
        ("junk.json", b'{"foo": 1}'),
        ("list.json", b'[{"foo": 1}, 2]'),
        ("empty.json", b""),
        ("song.wav", None),
        ("silence.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64)),
    ],
    ids=["junk-json", "list-of-junk", "empty", "wav", "silent-wav-header"],
)
def test_a_file_that_is_no_history_is_refused_in_one_line(
    tmp_path: Path, name: str, content: bytes | None
) -> None:
    path = tmp_path / name
    if content is None:
        write_audio(path, seconds=0.5)
    else:
        path.write_bytes(content)
    result = segue(tmp_path / "lib.db", "history", "import", str(path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    assert "expected Segue's history export (JSON), a ListenBrainz export" in lines[0]


def test_log_refuses_the_future_and_a_position_past_the_end(
    scanned: tuple[Path, dict[str, Path]],
) -> None:
    db, files = scanned
    for args, fragment in (
        (("--at", "2999-01-01T00:00:00+00:00"), "in the future"),
        (("--position", "99"), "past the end of the track (2.0 s long)"),
    ):
        result = segue(db, "log", "play", str(files["blue"]), *args)
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr
    assert segue(db, "log", "play", str(files["blue"]), "--position", "2.0").returncode == 0
    assert len(_events(db)) == 1


@pytest.fixture
def odd_names(tmp_path: Path) -> tuple[Path, list[int]]:
    """A library whose files include a name that is not UTF-8, with a listen on each."""
    music = tmp_path / "music"
    music.mkdir()
    plain = tag(write_audio(tmp_path / "plain.wav", seconds=1.0), title="Plain", artist="A")
    shutil.copy(plain, music / "plain.wav")
    shutil.copy(plain, os.path.join(str(music), os.fsdecode(b"caf\xe9 \xff.wav")))
    shutil.copy(plain, music / "zz.wav")
    db = tmp_path / "lib.db"
    assert segue(db, "scan", str(music)).returncode == 0
    with open_library(db) as lib:
        rows = lib.query("SELECT id, path FROM tracks ORDER BY path")
        assert any(str(r["path"]).startswith("bytes:") for r in rows)
        ids = [int(r["id"]) for r in rows]
        for n, track in enumerate(ids):  # the odd one in the middle of the log
            events.append(lib, events.NewEvent(track, "play", 1.6e9 + n, 1000, 1000, "s", "app"))
    return db, ids


def _by_track(db: Path) -> list[tuple[object, ...]]:
    keys = ("ts", "kind", "track_id", "position_ms", "duration_ms", "session_id", "source")
    return [tuple(e[k] for k in keys) for e in _events(db)]


def test_an_export_with_a_name_that_is_not_utf8_imports_back_exactly(
    odd_names: tuple[Path, list[int]], tmp_path: Path
) -> None:
    """An export to stdout held a raw \\xff byte (and import refused the whole backup);
    with -o it was a traceback and an empty file. Now both are UTF-8 and round-trip."""
    db, _ = odd_names
    before = _by_track(db)
    assert len(before) == 3
    out = subprocess.run(
        [sys.executable, "-m", "player", "--db", str(db), "history", "export"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"},
    )
    assert out.returncode == 0, out.stderr
    printed = tmp_path / "printed.json"
    printed.write_bytes(out.stdout)
    assert len(json.loads(out.stdout.decode("utf-8"))["events"]) == 3
    written = tmp_path / "written.json"
    result = segue(db, "history", "export", "-o", str(written))
    assert result.returncode == 0, result.stderr
    for backup in (printed, written):
        assert segue(db, "history", "wipe", "--yes").returncode == 0
        restored = segue(db, "history", "import", str(backup))
        assert restored.returncode == 0, restored.stderr
        assert "3 new" in restored.stdout and "0 not in the library" in restored.stdout
        assert _by_track(db) == before


def test_the_apps_export_writes_every_event_of_odd_names(
    odd_names: tuple[Path, list[int]], tmp_path: Path
) -> None:
    """Settings → Export stopped at the first event of a name that is not UTF-8."""
    from player.ui.settings import export_history

    db, _ = odd_names
    before = _by_track(db)
    target = tmp_path / "segue-history.jsonl"
    assert export_history(str(db), str(target)) == 3
    assert len(target.read_text(encoding="utf-8").splitlines()) == 3
    assert segue(db, "history", "wipe", "--yes").returncode == 0
    assert segue(db, "history", "import", str(target)).returncode == 0
    assert _by_track(db) == before


def test_a_failed_export_leaves_the_old_file(
    odd_names: tuple[Path, list[int]], tmp_path: Path
) -> None:
    from player.errors import SegueError
    from player.history_export import write_atomically

    db, _ = odd_names
    old = tmp_path / "backup.json"
    old.write_text("the older export\n")

    def disk_fills() -> Iterator[str]:
        yield "x" * 100_000
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(SegueError, match="No space left on device"):
        write_atomically(old, disk_fills())
    assert old.read_text() == "the older export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    for target, fragment in (
        (tmp_path / "no" / "such" / "dir" / "h.json", "does not exist"),
        (tmp_path, "it is a folder"),
    ):
        result = segue(db, "history", "export", "-o", str(target))
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert fragment in result.stderr and str(target) in result.stderr
    assert old.read_text() == "the older export\n"


def test_import_reads_milliseconds_and_skips_impossible_times(
    scanned: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    """A Last.fm date in milliseconds (1700000000000) was stored as the year 55841 and
    broke every recommendation after it. Milliseconds are now read as such; a time in the
    future, NaN or before 1990 is skipped and counted, never stored."""
    db, _ = scanned
    csv_file = tmp_path / "scrobbles.csv"
    csv_file.write_text(
        "artist,album,title,date\n"
        "Dolly Parton,,Jolene,1700000000000\n"  # milliseconds: 2023-11-14
        "Dolly Parton,,Jolene,99999999999999999999\n"  # the future, whatever the unit
        "Dolly Parton,,Jolene,4102444800\n"  # 2100
        "Dolly Parton,,Jolene,0001-01-01 00:00\n"
        "Dolly Parton,,Jolene,yesterday\n"
    )
    result = segue(db, "history", "import", str(csv_file))
    assert result.returncode == 0, result.stderr
    assert "4 skipped (2 time in the future, 1 time before 1990, 1 unreadable date)" in (
        result.stdout
    )
    assert [e["ts"] for e in _events(db)] == [1700000000.0]

    for name, body in (
        (
            "lb.json",
            '[{"listened_at": 1e300, "track_metadata": {"artist_name": '
            '"Dolly Parton", "track_name": "Jolene"}}]',
        ),
        (
            "lb_nan.json",
            '[{"listened_at": "nan", "track_metadata": {"artist_name": '
            '"Dolly Parton", "track_name": "Jolene"}}]',
        ),
        (
            "segue.json",
            '{"segue_history_version": 1, "events": [{"kind": "play", '
            '"ts": 1e308, "title": "Jolene", "artist": "Dolly Parton"}, {"kind": "play", '
            '"ts": NaN, "title": "Jolene", "artist": "Dolly Parton"}]}',
        ),
    ):
        path = tmp_path / name
        path.write_text(body)
        result = segue(db, "history", "import", str(path), "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["added"] == 0 and summary["skipped"] >= 1, summary
    assert [e["ts"] for e in _events(db)] == [1700000000.0]
    upnext = segue(db, "upnext")
    assert upnext.returncode == 0, upnext.stderr


_JOLENE = '"artist_name": "Dolly Parton", "track_name": "Jolene"'


@pytest.mark.parametrize(
    "name, body, added, skipped",
    [
        ("lb.json", '[{"listened_at": 1700000000, "track_metadata": "x"}]', 0, "1 malformed entry"),
        (
            "lb.json",
            '[{"listened_at": "nan", "track_metadata": {' + _JOLENE + "}}]",
            0,
            "1 unreadable time",
        ),
        (
            "lb.json",
            '[{"listened_at": 1700000000, "track_metadata": '
            '{"artist_name": 123, "track_name": ["Jolene"]}}]',
            0,
            "1 no track name",
        ),
        (
            "lb.json",
            '[{"listened_at": 1700000000, "track_metadata": {' + _JOLENE + '}}, "oops"]',
            1,
            "1 not a listen",
        ),
        (
            "segue.json",
            '{"segue_history_version": 1, "events": [{"kind": "play", "ts": 1700000000, '
            '"title": "Jolene", "artist": "Dolly Parton", "position_ms": 1e30}, 7, '
            '{"kind": "play", "ts": 1700000100, "title": "Jolene", "artist": "Dolly Parton"}]}',
            1,
            "2 skipped (1 impossible position, 1 not an event)",
        ),
        (
            "sp.json",
            '[{"endTime": "2024-01-01 10:00", "artistName": "Dolly Parton", '
            '"trackName": "Jolene", "msPlayed": "abc"}]',
            0,
            "1 unreadable play length",
        ),
        (
            "sp.json",
            '[{"endTime": "2024-01-01 10:00", "artistName": "Dolly Parton", '
            '"trackName": "Jolene", "msPlayed": 1000}, "oops"]',
            1,
            "1 malformed entry",
        ),
        (
            "sp.json",
            '[{"ts": "2024-01-01T10:00:00Z", "master_metadata_track_name": "Jolene", '
            '"master_metadata_album_artist_name": "Dolly Parton", "ms_played": "x"}]',
            0,
            "1 unreadable play length",
        ),
        (
            "lf.csv",
            "artist,album,title,date\nDolly Parton,,Jolene,01 Jan 2024 10:00\n"
            "Dolly Parton,,Jolene,yesterday\nDolly Parton,,Jolene\n"
            "Dolly Parton,,Jolene,2024-13-45 10:00\n",
            1,
            "3 skipped (2 unreadable date, 1 short row)",
        ),
    ],
)
def test_bad_entries_are_skipped_and_counted_never_a_traceback(
    scanned: tuple[Path, dict[str, Path]],
    tmp_path: Path,
    name: str,
    body: str,
    added: int,
    skipped: str,
) -> None:
    """Non-numeric msPlayed, an entry that is no object, NaN times, names of the wrong type,
    a position of 1e30: each was a traceback (or an IntegrityError), and a Last.fm CSV with
    3 of 4 dates unreadable said "1 listens" and nothing more. Each is now a skipped entry,
    counted with its reason on the summary line, and the good entries beside it import."""
    db, _ = scanned
    path = tmp_path / name
    path.write_text(body)
    result = segue(db, "history", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stdout.strip().splitlines()) == 1, result.stdout
    assert f"({added} new," in result.stdout and skipped in result.stdout, result.stdout
    assert len(_events(db)) == added
    summary = json.loads(segue(db, "history", "import", str(path), "--json").stdout)
    assert summary["skipped"] == sum(summary["skipped_why"].values()) >= 1


def test_import_commits_in_chunks_and_a_rerun_adds_nothing_twice(tmp_path: Path) -> None:
    """`history import` held the write lock for the whole file (31 s for 60k events into a
    60k log), locking out the app's listen logging. It now writes a few thousand events per
    transaction; what an interrupted import committed is not added again by a re-run."""
    from player.errors import WriteRefusedError

    with open_library(tmp_path / "lib.db") as db:
        with db.transaction() as conn:
            for n in range(3):
                conn.execute(
                    "INSERT INTO tracks (path, size, mtime, fingerprint, added_at, updated_at) "
                    "VALUES (?, 1, 1, 'f', 0, 0)",
                    (f"/m/{n}.mp3",),
                )
        events.append(db, events.NewEvent(2, "play", 1.6e9 + 4, source="lastfm"))  # logged
        wanted = [events.NewEvent(1 + n % 3, "play", 1.6e9 + n, source="lastfm") for n in range(9)]
        twice = [*wanted, wanted[2]]  # the file holds one listen twice
        broken = [*twice, events.NewEvent(99, "play", 1.6e9 + 100, source="lastfm")]
        with pytest.raises(WriteRefusedError):  # no track 99: the last chunk fails
            events.append_new(db, broken, chunk=3)
        assert events.count(db) == 1 + 7, "the chunks before the failure are kept"
        assert events.append_new(db, twice, chunk=3) == 1, "the re-run adds only the rest"
        assert events.append_new(db, list(reversed(twice)), chunk=4) == 0
        logged = [(e.ts, e.track_id) for e in events.all_events(db)]
        assert logged == [(w.ts, w.track_id) for w in wanted]
