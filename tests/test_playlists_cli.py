"""`segue playlist`, `segue radio` and `segue smart` on a real scanned library."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from player.library import Database, events
from tests.audiogen import tag, write_audio
from tests.clihelp import segue
from tests.scanhelp import scan

DAY = 86400.0
GENRES = ("Jazz", "Heavy Metal", "Ambient")


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("cli")
    music = root / "music"
    for g, genre in enumerate(GENRES):
        for i in range(8):
            tag(
                write_audio(music / genre / f"{i}.wav", seconds=0.3, freq=200.0 + 50 * i),
                title=f"{genre} {i}",
                artist=f"{genre} Band {i % 3}",
                album=f"{genre} Album",
                genre=genre,
                date=str(1970 + 10 * g),
            )
    db_path = root / "library.db"
    now = time.time()
    with Database(db_path) as db:
        scan(db, music)
        ids = {r["title"]: int(r["id"]) for r in db.query("SELECT id, title FROM tracks")}
        # Jazz 0 loved long ago; Jazz 1 played lately; Heavy Metal 2 disliked.
        for k in range(6):
            events.append(db, events.NewEvent(ids["Jazz 0"], "play", ts=now - 200 * DAY - k))
        for k in range(4):
            events.append(db, events.NewEvent(ids["Jazz 1"], "play", ts=now - DAY - k))
        events.append(db, events.NewEvent(ids["Heavy Metal 2"], "dislike", ts=now - DAY))
    return db_path, ids


def test_playlist_list_names_every_playlist_with_size_and_how(lib) -> None:
    db, _ = lib
    assert segue("smart", "genre:ambient", "--save", "Only ambient", db=db).returncode == 0
    out = segue("playlist", "list", "--json", db=db)
    assert out.returncode == 0, out.stderr
    rows = {p["name"]: p for p in json.loads(out.stdout)["playlists"]}
    assert {"Discover", "Forgotten Favourites", "Calm", "Energetic", "Only ambient"} <= set(rows)
    assert rows["Only ambient"]["size"] == 8 and rows["Only ambient"]["kind"] == "smart"
    assert rows["Forgotten Favourites"]["size"] == 1
    assert all(r["how"] for r in rows.values())
    mixes = [
        r
        for r in rows.values()
        if r["kind"] == "auto"
        and r["name"] not in ("Discover", "Forgotten Favourites", "Calm", "Energetic")
    ]
    assert mixes, "the library has mixes"
    # The taste map the GUI loads was written beside the DB.
    data = np.load(db.with_name("library.tastemap.npz"))
    assert data["xy"].shape == (24, 2)
    rebuilt = json.loads(segue("playlist", "map", "--json", db=db).stdout)
    assert rebuilt["tracks"] == 24 and rebuilt["regions"]
    kept = rebuilt["neighbours_kept"]
    assert rebuilt["method"] == max(kept, key=kept.get)  # the layout that keeps more


def test_playlist_show_json_tracks_carry_reasons(lib) -> None:
    db, ids = lib
    out = segue("playlist", "show", "forgotten favourites", "--json", db=db)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert [t["id"] for t in shown["tracks"]] == [ids["Jazz 0"]]
    track = shown["tracks"][0]
    assert set(track) == {"id", "path", "title", "artist", "reason"}
    assert track["path"].endswith("Jazz/0.wav") and "6 times" in track["reason"]
    calm = json.loads(segue("playlist", "show", "Calm", "-n", "3", "--json", db=db).stdout)
    assert len(calm["tracks"]) == 3
    assert all(t["title"].startswith("Ambient") for t in calm["tracks"])
    saved = segue("smart", "genre:ambient", "--save", "Only ambient", "--replace", db=db)
    assert saved.returncode == 0, saved.stderr
    energetic = segue("playlist", "show", "Only ambient", "--mood", "energetic", "--json", db=db)
    assert json.loads(energetic.stdout)["tracks"] == []  # ambient is calm by its genre
    discover = json.loads(segue("playlist", "show", "Discover", "--json", db=db).stdout)
    found = {t["id"] for t in discover["tracks"]}
    assert ids["Heavy Metal 2"] not in found and ids["Jazz 0"] not in found


def test_radio_from_a_track_and_an_artist(lib) -> None:
    db, ids = lib
    out = segue("radio", str(ids["Jazz 3"]), "-n", "5", "--json", db=db)
    assert out.returncode == 0, out.stderr
    radio = json.loads(out.stdout)
    assert radio["tracks"][0]["id"] == ids["Jazz 3"] and len(radio["tracks"]) == 5
    assert ids["Heavy Metal 2"] not in [t["id"] for t in radio["tracks"]]
    by_artist = json.loads(segue("radio", "Ambient Band 1", "-n", "4", "--json", db=db).stdout)
    assert any(t["artist"] == "Ambient Band 1" for t in by_artist["tracks"])
    calm = json.loads(segue("radio", str(ids["Jazz 3"]), "--mood", "calm", "--json", db=db).stdout)
    assert calm["tracks"] and all(
        t["title"].split()[0] in ("Jazz", "Ambient") for t in calm["tracks"]
    )
    missing = segue("radio", "Nobody At All", db=db)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "no track, artist or album 'Nobody At All'" in missing.stderr


def test_smart_prints_exactly_the_matching_tracks(lib) -> None:
    db, ids = lib
    out = segue("smart", "genre:jazz plays>3", "--json", db=db)
    assert out.returncode == 0, out.stderr
    assert {t["id"] for t in json.loads(out.stdout)["tracks"]} == {ids["Jazz 0"], ids["Jazz 1"]}
    bad = segue("smart", "plays>>3", db=db)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    unknown = segue("playlist", "show", "No Such List", db=db)
    assert unknown.returncode == 1 and "no playlist named 'No Such List'" in unknown.stderr


def test_an_empty_library_says_what_to_do(tmp_path: Path) -> None:
    for args in (("playlist", "list"), ("radio", "anything"), ("playlist", "show", "Discover")):
        result = segue(*args, db=tmp_path / "empty.db")
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "run 'segue scan DIR' first" in result.stderr


def _mix_name(db: Path) -> str:
    listed = json.loads(segue("playlist", "list", "--json", db=db).stdout)["playlists"]
    fixed = {"Discover", "Forgotten Favourites", "Calm", "Energetic"}
    return next(p["name"] for p in listed if p["kind"] == "auto" and p["name"] not in fixed)


def test_a_saved_playlist_never_takes_an_automatic_playlists_name(lib, tmp_path: Path) -> None:
    """Issue 14: importing the M3U8 of an automatic mix made a second playlist of that name,
    which then hid the mix from `show` and `export`."""
    db, _ = lib
    mix = _mix_name(db)
    for fmt in ("m3u8", "xspf"):
        out = segue("playlist", "export", mix, "--format", fmt, db=db)
        assert out.returncode == 0, out.stderr
        (tmp_path / f"mix.{fmt}").write_text(out.stdout)

    imported = segue("playlist", "import", str(tmp_path / "mix.m3u8"), db=db)
    assert imported.returncode == 0, imported.stderr
    assert f"imported '{mix} (imported)'" in imported.stdout
    again = segue("playlist", "import", str(tmp_path / "mix.xspf"), db=db)  # same rule
    assert again.returncode == 1 and "exists already" in again.stderr
    assert (
        segue("playlist", "import", str(tmp_path / "mix.xspf"), "--replace", db=db).returncode == 0
    )

    shown = json.loads(segue("playlist", "show", mix, "--json", db=db).stdout)
    assert shown["name"] == mix and shown["kind"] == "auto"
    copy = json.loads(segue("playlist", "show", f"{mix} (imported)", "--json", db=db).stdout)
    assert copy["kind"] == "user" and [t["id"] for t in copy["tracks"]] == [
        t["id"] for t in shown["tracks"]
    ]

    for args in (
        ("playlist", "import", str(tmp_path / "mix.m3u8"), "--name", "discover"),
        ("playlist", "import", str(tmp_path / "mix.m3u8"), "--name", mix),
        ("smart", "genre:jazz", "--save", "Calm"),
        ("smart", "genre:jazz", "--save", mix, "--replace"),
    ):
        refused = segue(*args, db=db)
        assert refused.returncode == 1, args
        assert refused.stderr.strip().endswith(
            "is the name of an automatic playlist; give yours another name"
        )
    names = [
        p["name"]
        for p in json.loads(segue("playlist", "list", "--json", db=db).stdout)["playlists"]
    ]
    assert len(names) == len(set(names))


def test_the_app_neither_overwrites_nor_renames_onto_a_taken_name(lib) -> None:
    from player.errors import SegueError
    from player.ui import playlists_view

    db, ids = lib
    mix = _mix_name(db)
    playlists_view.save_tracks(str(db), "Road trip", [ids["Jazz 1"]], how="new")
    with pytest.raises(SegueError, match="exists already"):  # "New playlist…" twice
        playlists_view.save_tracks(str(db), "road trip", [ids["Jazz 2"]], how="new")
    assert playlists_view.user_tracks(str(db), "Road trip") == [ids["Jazz 1"]]
    for taken in ("Energetic", mix):
        with pytest.raises(SegueError, match="automatic playlist"):
            playlists_view.save_tracks(str(db), taken, [ids["Jazz 2"]], how="new")
        with pytest.raises(SegueError, match="automatic playlist"):
            playlists_view.rename(str(db), "Road trip", taken)
    playlists_view.rename(str(db), "Road trip", "Road Trip 2")
    assert playlists_view.user_tracks(str(db), "Road Trip 2") == [ids["Jazz 1"]]


def test_a_mix_named_like_an_older_saved_playlist_is_kept_apart(lib) -> None:
    """A DB from before the rule (or a mix renamed by a rebuild) may hold a saved playlist
    under a mix's name: both stay reachable, the mix as "NAME (automatic)"."""
    from player.library import playlists

    db, ids = lib
    mix = _mix_name(db)
    with Database(db) as lib_db:
        playlists.save_user(lib_db, mix, [ids["Ambient 1"]])  # below the rule, as old DBs did
    listed = json.loads(segue("playlist", "list", "--json", db=db).stdout)["playlists"]
    kinds = {p["name"]: p["kind"] for p in listed}
    assert kinds[mix] == "user" and kinds[f"{mix} (automatic)"] == "auto"
    auto = json.loads(segue("playlist", "show", f"{mix} (automatic)", "--json", db=db).stdout)
    assert auto["kind"] == "auto"

    # ...and the user's own playlist stays editable in the app: add, reorder, remove.
    from player.ui import playlists_view

    playlists_view.save_tracks(str(db), mix, [ids["Jazz 1"]], how="append")
    assert playlists_view.user_tracks(str(db), mix) == [ids["Ambient 1"], ids["Jazz 1"]]
    playlists_view.save_tracks(str(db), mix, [ids["Jazz 1"]], how="set")
    assert playlists_view.user_tracks(str(db), mix) == [ids["Jazz 1"]]


def test_smart_save_does_not_overwrite_without_replace(lib) -> None:
    db, _ = lib
    assert segue("smart", "genre:jazz", "--save", "Mine", db=db).returncode == 0
    refused = segue("smart", "genre:ambient", "--save", "Mine", db=db)
    assert refused.returncode == 1 and "exists already" in refused.stderr
    kept = json.loads(segue("playlist", "show", "Mine", "--json", db=db).stdout)
    assert all(t["title"].startswith("Jazz") for t in kept["tracks"])
    assert segue("smart", "genre:ambient", "--save", "Mine", "--replace", db=db).returncode == 0
    replaced = json.loads(segue("playlist", "show", "Mine", "--json", db=db).stdout)
    assert replaced["tracks"] and all(t["title"].startswith("Ambient") for t in replaced["tracks"])


def test_a_saved_smart_query_the_parser_now_refuses_breaks_only_its_own_row(lib) -> None:
    """A reversed range was accepted by older versions: the Playlists page still builds,
    the bad playlist says why on its own row, and the others show their tracks."""
    from player.library import playlists
    from player.ui import playlists_view

    db, ids = lib
    with Database(db) as lib_db:
        playlists.save_smart(lib_db, "Old nineties", "year:1999..1990")  # below the parser
        playlists.save_user(lib_db, "Still fine", [ids["Jazz 1"]])
    try:
        built = {p["key"]: p for p in playlists_view.build_playlists(str(db))}
        bad = built["user:Old nineties"]
        assert bad["tracks"] == [] and "range is reversed" in bad["error"]
        assert "\n" not in bad["error"]
        assert built["user:Still fine"]["error"] is None
        assert [t[0] for t in built["user:Still fine"]["tracks"]] == [ids["Jazz 1"]]
    finally:
        with Database(db) as lib_db:
            playlists.delete(lib_db, "Old nineties")
            playlists.delete(lib_db, "Still fine")


def test_two_quick_adds_to_a_playlist_while_another_program_writes_both_land(lib) -> None:
    """Each add reads the playlist's end and appends under one write lock: the second add
    no longer rewrites the playlist from a read made before the first one landed."""
    import sqlite3
    import threading

    from player.ui import playlists_view

    db, ids = lib
    first, second, third = ids["Ambient 2"], ids["Ambient 3"], ids["Ambient 4"]
    playlists_view.save_tracks(str(db), "Both land", [first], how="new")
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # a scan batch or a CLI command writing
    release = threading.Timer(1.0, lambda: other.execute("COMMIT"))
    release.start()
    adds = []
    for track in (second, third):
        add = threading.Thread(
            target=playlists_view.save_tracks,
            args=(str(db), "Both land", [track]),
            kwargs={"how": "append"},
        )
        add.start()
        adds.append(add)
        time.sleep(0.3)  # the user adds another track a moment later
    for add in adds:
        add.join()
    release.join()
    other.close()
    tracks = playlists_view.user_tracks(str(db), "Both land")
    assert tracks[0] == first and sorted(tracks[1:]) == sorted([second, third])
