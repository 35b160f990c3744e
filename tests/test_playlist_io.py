"""Playlist files: M3U8 and XSPF export, M3U/M3U8/XSPF import, through `segue playlist`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

import pytest

from player.library import Database, playlists
from player.playlist_io import XSPF_NS, entry_path
from tests.audiogen import tag, write_audio
from tests.clihelp import ROOT, segue
from tests.scanhelp import scan

NAMES = ["Ça plane pour moi.flac", "日本の歌.ogg", "plain name.wav", "sub dir/Ölfarbe.mp3"]


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, list[int], list[str]]:
    music = tmp_path / "music"
    for i, name in enumerate(NAMES):
        tag(write_audio(music / name, seconds=0.5), title=f"Song {i} é", artist=f"Artist {i}")
    db_path = tmp_path / "library.db"
    with Database(db_path) as db:
        scan(db, music)
        by_path = playlists.track_paths(db)
        order = [by_path[str(music / n)] for n in reversed(NAMES)]  # not the scan order
        playlists.save_user(db, "Mixtape ünicode", order)
    return db_path, order, [str(music / n) for n in reversed(NAMES)]


def imported(db_path: Path, name: str) -> list[int]:
    with Database(db_path) as db:
        found = playlists.find(db, name)
        assert found is not None
        return playlists.entries(db, found.id)


def test_m3u8_round_trips_with_absolute_paths(library, tmp_path: Path) -> None:
    db, order, paths = library
    out = segue("playlist", "export", "Mixtape ünicode", "--format", "m3u8", db=db)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "#EXTM3U"
    assert [ln for ln in lines if not ln.startswith("#")] == paths
    assert "#EXTINF:1,Artist 3 - Song 3 é" in lines or "#EXTINF:0,Artist 3 - Song 3 é" in lines
    target = tmp_path / "elsewhere" / "copy.m3u8"
    target.parent.mkdir()
    target.write_text(out.stdout, encoding="utf-8")
    result = segue("playlist", "import", str(target), "--name", "Copy", "--json", db=db)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["matched"], summary["unmatched"]) == (4, [])
    assert imported(db, "Copy") == order


def test_relative_m3u8_opens_from_its_folder(library, tmp_path: Path) -> None:
    db, order, _ = library
    folder = tmp_path / "lists"
    folder.mkdir()
    out = segue("playlist", "export", "Mixtape ünicode", "--relative-to", str(folder), db=db)
    assert out.returncode == 0, out.stderr
    entries = [ln for ln in out.stdout.splitlines() if not ln.startswith("#")]
    assert all(not os.path.isabs(e) and e.startswith("../music/") for e in entries)
    # What a player does: resolve each entry against the playlist's folder.
    assert all((folder / e).resolve().is_file() for e in entries)
    (folder / "rel.m3u8").write_text(out.stdout, encoding="utf-8")
    assert (
        segue("playlist", "import", str(folder / "rel.m3u8"), "--name", "Rel", db=db).returncode
        == 0
    )
    assert imported(db, "Rel") == order


def test_xspf_is_valid_xml_in_the_xspf_namespace_and_round_trips(library, tmp_path) -> None:
    db, order, paths = library
    out = segue("playlist", "export", "Mixtape ünicode", "--format", "xspf", db=db)
    assert out.returncode == 0, out.stderr
    root = ET.fromstring(out.stdout.encode("utf-8"))
    assert root.tag == f"{{{XSPF_NS}}}playlist" and root.get("version") == "1"
    ns = {"x": XSPF_NS}
    assert root.findtext("x:title", None, ns) == "Mixtape ünicode"
    locations = [
        t.findtext("x:location", None, ns) for t in root.iterfind("x:trackList/x:track", ns)
    ]
    assert all(loc and loc.startswith("file:///") and loc.isascii() for loc in locations)
    assert [unquote(urlsplit(loc).path) for loc in locations] == paths
    assert root.find("x:trackList/x:track/x:creator", ns) is not None
    file = tmp_path / "list.xspf"
    file.write_text(out.stdout, encoding="utf-8")
    assert segue("playlist", "import", str(file), "--name", "X", db=db).returncode == 0
    assert imported(db, "X") == order


def test_unmatched_entries_are_reported_never_dropped(library, tmp_path: Path) -> None:
    db, order, paths = library
    stray = tmp_path / "not-scanned.wav"
    write_audio(stray, seconds=0.2)
    legacy = tmp_path / "old.m3u"
    legacy.write_bytes(
        "\n".join(
            [
                "#EXTM3U",
                paths[0],
                "http://radio.example/stream",
                str(tmp_path / "gone.mp3"),
                str(stray),
                "#EXTINF:200,Artist 2 - Song 2 é",
                "moved/away.flac",  # not there, but its artist and title are in the library
            ]
        ).encode("cp1252", errors="replace")
        + b"\n"
    )
    result = segue("playlist", "import", str(legacy), "--json", db=db)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["entries"] == 5 and summary["matched"] == 2
    reasons = {u["entry"]: u["reason"] for u in summary["unmatched"]}
    assert set(reasons) == {"http://radio.example/stream", str(tmp_path / "gone.mp3"), str(stray)}
    assert "remote" in reasons["http://radio.example/stream"]
    assert "not in the library" in reasons[str(stray)]
    assert imported(db, "old") == [order[0], order[1]]
    text = segue("playlist", "import", str(legacy), "--name", "again", db=db)
    assert text.stdout.count("not matched:") == 3


def test_a_file_with_nothing_in_the_library_is_an_error(library, tmp_path: Path) -> None:
    db, _, _ = library
    empty = tmp_path / "none.m3u8"
    empty.write_text("#EXTM3U\n/nowhere/a.mp3\n", encoding="utf-8")
    result = segue("playlist", "import", str(empty), db=db)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "nothing imported" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_file_uris_decode_percent_encoded_bytes(tmp_path: Path) -> None:
    assert entry_path("file:///music/%C3%87a%20plane.flac", tmp_path) == "/music/Ça plane.flac"
    assert entry_path("a%20b/c.mp3", tmp_path) == str(tmp_path / "a b" / "c.mp3")
    assert entry_path("https://example.org/x.mp3", tmp_path) is None
    assert entry_path("sub\\dir\\x.mp3", tmp_path) == str(tmp_path / "sub" / "dir" / "x.mp3")


def _vlc_entries(playlist: Path) -> list[str]:
    """The files libVLC (what VLC itself runs on) finds in a playlist file."""
    import time

    vlc = pytest.importorskip("vlc")
    try:
        instance = vlc.Instance("--no-video", "--quiet")
    except Exception:  # python-vlc without libVLC on this machine
        instance = None
    if instance is None:
        pytest.skip("libVLC is not installed")
    media = instance.media_new_path(str(playlist))
    media.parse_with_options(vlc.MediaParseFlag.local, 10_000)
    for _ in range(100):
        if media.get_parsed_status() == vlc.MediaParsedStatus.done:
            break
        time.sleep(0.05)
    items = media.subitems()
    mrls = [items.item_at_index(i).get_mrl() for i in range(items.count())] if items else []
    return [os.fsdecode(unquote_to_bytes(urlsplit(m).path)) for m in mrls]


@pytest.mark.parametrize(("fmt", "relative"), [("m3u8", True), ("xspf", False), ("xspf", True)])
def test_vlc_opens_the_exported_file(library, tmp_path: Path, fmt: str, relative: bool) -> None:
    db, _, paths = library
    folder = tmp_path / "lists"
    folder.mkdir()
    extra = ["--relative-to", str(folder)] if relative else []
    out = segue("playlist", "export", "Mixtape ünicode", "--format", fmt, *extra, db=db)
    assert out.returncode == 0, out.stderr
    file = folder / f"mix.{fmt}"
    file.write_text(out.stdout, encoding="utf-8")
    assert _vlc_entries(file) == paths


def _segue_bytes(*args: str, db: Path) -> subprocess.CompletedProcess[bytes]:
    """``segue`` with its output kept as bytes (a playlist may hold any file name)."""
    return subprocess.run(
        [sys.executable, "-m", "player", "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )


UNDECODABLE = os.fsdecode(b"caf\xe9 latin-1.ogg")  # not UTF-8: a lone surrogate in Python


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
@pytest.mark.parametrize("relative", [False, True])
def test_m3u8_round_trips_a_file_name_that_is_not_utf8(
    library, tmp_path: Path, relative: bool
) -> None:
    db, order, paths = library
    odd = tmp_path / "music" / "sub dir" / UNDECODABLE
    plain = tag(write_audio(tmp_path / "plain.ogg", seconds=0.5), title="Odd", artist="Latin")
    os.rename(plain, odd)
    with Database(db) as conn:
        scan(conn)
        odd_id = playlists.track_paths(conn)[str(odd)]
        playlists.save_user(conn, "Odd one", [order[0], odd_id, order[1]])
    folder = tmp_path / "lists"
    folder.mkdir()
    extra = ["--relative-to", str(folder)] if relative else []
    out = _segue_bytes("playlist", "export", "Odd one", "--format", "m3u8", *extra, db=db)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode("utf-8")  # M3U8 is UTF-8, whatever the names in it
    written = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    if relative:
        assert written[1] == "../music/sub%20dir/caf%E9%20latin-1.ogg"
    else:
        assert written[1] == "file://" + quote(os.fsencode(str(odd)), safe="/")
    assert written[0] == (os.path.relpath(paths[0], folder) if relative else paths[0])
    (folder / "odd.m3u8").write_bytes(out.stdout)
    with contextlib.suppress(pytest.skip.Exception):  # where libVLC is installed
        assert _vlc_entries(folder / "odd.m3u8") == [paths[0], str(odd), paths[1]]
    result = segue("playlist", "import", str(folder / "odd.m3u8"), "--name", "Back", db=db)
    assert result.returncode == 0, result.stderr
    assert imported(db, "Back") == [order[0], odd_id, order[1]]


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_a_playlist_file_whose_own_name_is_not_utf8_imports(library, tmp_path: Path) -> None:
    """Named after its file, shown with U+FFFD where the name's bytes are not text."""
    db, order, paths = library
    file = tmp_path / os.fsdecode(b"mix \xff.m3u8")
    file.write_text(f"#EXTM3U\n{paths[0]}\n{paths[1]}\n", encoding="utf-8")
    result = _segue_bytes("playlist", "import", str(file), db=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8").startswith("imported 'mix \ufffd': 2 of 2 entries")
    assert imported(db, "mix \ufffd") == order[:2]
    with Database(db) as conn:
        found = playlists.find(conn, "mix \ufffd")
        assert found is not None and found.source == "mix \ufffd.m3u8"
