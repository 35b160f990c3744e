"""Heard tags: what the music network hears becomes words a listener searches by, sees
in the song list, reads in reasons and mix names."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from player.library import browse
from player.library.db import Database
from player.library.features import FeatureStore, StoredFeatures
from player.library.paths import from_db
from player.library.playlists import select_smart
from player.smartquery import SmartQueryError, parse
from recommender.audio import tags
from recommender.audio.musicnn import MSD_LABELS, MTT_LABELS
from tests.audiogen import write_audio
from tests.clihelp import segue
from tests.scanhelp import scan


def _probs(**named: float) -> np.ndarray:
    p = np.full(len(MSD_LABELS), 0.001)
    for label, value in named.items():
        p[MSD_LABELS.index(label.replace("_", " "))] = value
    return p


def test_likely_tags_and_telling_moods_are_heard() -> None:
    heard = tags.heard_tags(_probs(jazz=0.71, instrumental=0.16, Mellow=0.06, happy=0.004))
    # jazz and instrumental are likely; "mellow" is 5x its typical value; "happy" is not.
    assert heard == [("jazz", pytest.approx(0.71)), ("instrumental", pytest.approx(0.16)),
                     ("mellow", pytest.approx(0.06))]  # fmt: skip
    assert tags.heard_tags(_probs(rock=0.05)) == []  # nothing stands out: nothing heard
    assert tags.heard_tags(_probs(jazz=0.19)) == []  # "jazz" is said of everything a bit
    # ... and of orchestral and solo instrumental music (the network knows no "classical")
    # at 0.25-0.50, where real jazz gets 0.6 and more.
    orchestra = tags.heard_tags(_probs(jazz=0.37, instrumental=0.26, easy_listening=0.10))
    assert [t for t, _ in orchestra] == ["instrumental", "easy listening"]
    assert tags.heard_tags(_probs(jazz=0.62))[0][0] == "jazz"
    many = tags.heard_tags(_probs(rock=0.5, pop=0.4, indie=0.3, dance=0.3, punk=0.2, soul=0.2))
    assert len(many) == tags.MAX_HEARD and many[0][0] == "rock"
    both = tags.heard_tags(_probs(female_vocalists=0.3, female_vocalist=0.2))
    assert [t for t, _ in both] == ["female vocalists"]
    assert tags.heard_tags(np.full(50, np.nan)) == []


def _mtt(**named: float) -> np.ndarray:
    q = np.array([tags.MTT_TYPICAL[label] for label in MTT_LABELS])  # nothing stands out
    for label, value in named.items():
        q[MTT_LABELS.index(label.replace("_", " "))] = value
    return q


def test_the_mtt_network_adds_classical_and_instruments() -> None:
    """MSD's tags know no "classical": a string orchestra was "instrumental, easy
    listening" (and "jazz" at 0.37-0.55); MTT's words join them, likeliest first, and its
    "classical" silences a half-hearted "jazz" (real jazz, >= 0.6, stays)."""
    orchestra = _probs(jazz=0.50, instrumental=0.24, easy_listening=0.12)
    assert [t for t, _ in tags.heard_tags(orchestra)] == ["jazz", "instrumental", "easy listening"]
    heard = tags.heard_tags(orchestra, _mtt(classical=0.80, strings=0.55, violin=0.6))
    assert [t for t, _ in heard] == ["classical", "strings", "instrumental", "easy listening"]
    assert heard[0][1] == pytest.approx(0.80)
    jazz_quartet = tags.heard_tags(_probs(jazz=0.72), _mtt(classical=0.45, piano=0.5))
    assert [t for t, _ in jazz_quartet] == ["jazz", "piano", "classical"]
    # Only the words that measured well, each once, never a second "female vocalists".
    voices = _mtt(female=0.9, woman=0.8, female_vocal=0.7, choir=0.3, choral=0.4, opera=0.5)
    assert [t for t, _ in tags.heard_tags(_probs(female_vocalists=0.3), voices)] == [
        "choir",
        "female vocalists",
    ]
    # Rare MTT tags are not heard at a few times their tiny typical value (the MSD moods are).
    assert tags.heard_tags(_probs(), _mtt(choir=0.05, harpsichord=0.05)) == []
    # A track analysed before the MTT network ran keeps its MSD words exactly.
    msd_only = _probs(jazz=0.71, instrumental=0.16, Mellow=0.06)
    assert tags.heard_tags(msd_only, None) == tags.heard_tags(msd_only)
    assert tags.heard_text(msd_only, np.full(50, np.nan)) == tags.heard_text(msd_only)


def test_stored_text_round_trips_and_reads_as_words() -> None:
    text = tags.format_heard([("jazz", 0.714), ("female vocalists", 0.2)])
    assert text == "jazz=0.71;female vocalists=0.20"
    assert tags.parse_heard(text) == [("jazz", 0.71), ("female vocalists", 0.2)]
    assert tags.with_heard(None, text) == "jazz; female vocalists"
    assert tags.with_heard("Lounge", text) == "Lounge; jazz; female vocalists"
    assert tags.with_heard("Lounge", None) == "Lounge"
    assert tags.phrase(["mellow", "jazz", "female vocalists"]) == (
        "mellow, jazzy, with female vocals"
    )
    assert tags.phrase(["classical", "strings"]) == "classical, with strings"
    assert tags.phrase(["strings", "classical", "piano"]) == "classical, with strings and piano"


def _library_with_heard(db: Database, folder: Path) -> dict[str, int]:
    for name in ("calm", "loud", "plain"):
        write_audio(folder / f"{name}.wav", seconds=2.0)
    scan(db, folder)
    ids = {Path(from_db(r["path"])).stem: int(r["id"]) for r in db.query("SELECT * FROM tracks")}
    store = FeatureStore(db)
    heard = {"calm": "chillout=0.31;mellow=0.06", "loud": "hard rock=0.40;rock=0.30"}
    rows = []
    for name, tid in ids.items():
        fp = str(db.scalar("SELECT fingerprint FROM tracks WHERE id = ?", (tid,)))
        rows.append(
            StoredFeatures(
                tid,
                fp,
                np.zeros(4, np.float32),
                100.0,
                0.5,
                0,
                1,
                0.5,
                0.5,
                0.5,
                0.5,
                0.5,
                -20.0,
                heard_tags=heard.get(name),
            )
        )
    store.save(2, rows, [])
    return ids


def test_smart_playlists_and_search_find_heard_tags(library: Database, tmp_path: Path) -> None:
    ids = _library_with_heard(library, tmp_path / "music")
    assert select_smart(library, parse("tag:chillout")) == [ids["calm"]]
    assert select_smart(library, parse("mood:mellow")) == [ids["calm"]]
    assert sorted(select_smart(library, parse("tag:rock"))) == [ids["loud"]]  # "hard rock"
    assert select_smart(library, parse("tag=rock")) == [ids["loud"]]
    assert select_smart(library, parse("tag=hard")) == []  # exact means the whole tag
    assert sorted(select_smart(library, parse("-tag:rock"))) == sorted([ids["calm"], ids["plain"]])
    assert select_smart(library, parse("tag:0.31")) in ([], [ids["calm"]])  # never an error
    with pytest.raises(SmartQueryError, match="unknown mood 'angry'"):
        parse("mood:angry")
    # The song list's search box and rows: heard tags are found, and kept apart.
    assert browse.song_ids(library, "chillout") == [ids["calm"]]
    row = browse.songs(library, [ids["calm"]])[0]
    assert row.genre == "" and row.heard == (("chillout", 0.31), ("mellow", 0.06))


def test_albums_and_artists_views_search_heard_tags(library: Database, tmp_path: Path) -> None:
    # The Albums and Artists views share the search box with the song list.
    _library_with_heard(library, tmp_path / "music")
    with library.transaction() as conn:
        conn.execute(
            "UPDATE tracks SET artist = 'Calm Band', album = 'Quiet' WHERE path LIKE '%calm%'"
        )
    assert [a.album for a in browse.albums(library, "chillout")] == ["Quiet"]
    assert [a.artist for a in browse.artists(library, "mellow")] == ["Calm Band"]
    assert browse.albums(library, "nothing-heard-like-this") == []
    assert sum(a.tracks for a in browse.artists(library)) == 3


def test_mix_names_read_heard_moods_as_adjectives() -> None:
    from recommender.playlists.mixes import name_clusters

    labels = np.array([0] * 6 + [1] * 6)
    genres = [tags.with_heard(None, "jazz=0.7;mellow=0.06")] * 6 + [
        tags.with_heard(None, "metal=0.6;hard rock=0.3")
    ] * 6
    names = name_clusters(labels, 2, genres)
    assert names[0] == "Mellow Jazz"
    assert "Metal" in names[1]
    # One genre a kind of the other reads once, as the more specific.
    genres[6:] = [tags.with_heard(None, "metal=0.6;heavy metal=0.5")] * 6
    assert name_clusters(labels, 2, genres)[1] == "Heavy Metal"


def test_a_reason_names_the_tags_both_tracks_share() -> None:
    from recommender.api import Context
    from recommender.ranking.reasons import labels_from_arrays
    from recommender.ranking.sources import ContentSource

    class Index:
        def distances(self, item: int) -> np.ndarray:
            rows = {0: [0.0, 0.1, 0.9], 1: [0.1, 0.0, 0.8], 2: [0.9, 0.8, 0.0]}
            return np.array(rows[item], dtype=np.float32)

        def explain(self, a: int, b: int) -> str:
            return "similar timbre"

    heard = [["mellow", "jazz", "instrumental"], ["jazz", "mellow"], []]
    source = ContentSource(Index(), 3, heard=heard)  # type: ignore[arg-type]
    describe = labels_from_arrays(["Vibe Ace", "Other", "Third"])
    context = Context(current=0)
    assert source.reason(1, context, describe) == "sounds like Vibe Ace: mellow, jazzy"
    plain = ContentSource(Index(), 3)  # type: ignore[arg-type]
    assert plain.reason(1, context, describe) == "sounds like Vibe Ace: similar timbre"


def test_real_recordings_get_heard_tags_end_to_end(
    library: Database, tmp_path: Path, shared_data: Path
) -> None:
    from player.analysis import Analyzer

    music = tmp_path / "music"
    music.mkdir()
    for name in ("Kevin_MacLeod_-_Vibe_Ace.ogg", "sorohanro_-_solo-trumpet-06.ogg"):
        shutil.copy(shared_data / "audio" / name, music / name)
    scan(library, music)
    Analyzer(library, workers=1).run()
    ids = {
        Path(from_db(r["path"])).stem: int(r["id"]) for r in library.query("SELECT * FROM tracks")
    }
    heard = FeatureStore(library).heard_tags(list(ids.values()))
    trumpet = tags.heard_words(heard[ids["sorohanro_-_solo-trumpet-06"]])
    assert "jazz" in trumpet  # a solo jazz trumpet (TensorFlow's musicnn agrees: 0.6-0.9)
    assert ids["sorohanro_-_solo-trumpet-06"] in select_smart(library, parse("tag:jazz"))


CLASSICAL = (
    "Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra)",
    "Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy",
)


def test_classical_recordings_are_heard_as_classical_with_strings_not_jazz(
    library: Database, db_path: Path, tmp_path: Path, shared_data: Path
) -> None:
    """A string orchestra and Tchaikovsky, analysed as the app analyses them: heard as
    "classical" (never "jazz", which MSD's network alone said of the orchestra), found by
    ``segue smart "tag:classical"``, shown as heard in the song list and Song info, and
    named in a "sounds like" reason."""
    from player.analysis import Analyzer
    from player.library import track_info
    from player.ui.models import _genre_text
    from player.ui.trackinfo import info_rows
    from recommender.api import Context
    from recommender.ranking.reasons import labels_from_arrays
    from recommender.ranking.sources import ContentSource

    music = tmp_path / "music"
    music.mkdir()
    for stem in (*CLASSICAL, "sorohanro_-_solo-trumpet-06"):
        shutil.copy(shared_data / "audio" / f"{stem}.ogg", music / f"{stem}.ogg")
    scan(library, music)
    Analyzer(library, workers=1).run()
    ids = {
        Path(from_db(r["path"])).stem: int(r["id"]) for r in library.query("SELECT * FROM tracks")
    }
    stored = FeatureStore(library).heard_tags(list(ids.values()))
    words = {stem: tags.heard_words(stored[ids[stem]]) for stem in ids}
    for stem in CLASSICAL:
        assert words[stem][0] == "classical" and "strings" in words[stem]
        assert "jazz" not in words[stem]
    trumpet = words["sorohanro_-_solo-trumpet-06"]
    assert "jazz" in trumpet and "classical" not in trumpet

    out = segue("smart", "tag:classical", "--json", db=db_path)
    assert out.returncode == 0, out.stderr
    import json

    found = {t["id"] for t in json.loads(out.stdout)["tracks"]}
    assert found == {ids[stem] for stem in CLASSICAL}

    orchestra = ids[CLASSICAL[0]]
    row = browse.songs(library, [orchestra])[0]
    assert row.genre == ""  # the file has no genre tag: what was heard shows instead
    assert _genre_text(row).startswith("heard: classical, strings")
    details = track_info.details(library, orchestra)
    assert details is not None and details.heard[0][0] == "classical"
    sound = dict(dict(info_rows(details))["How it sounds"])
    assert sound["Heard in the audio"].startswith("classical ")

    class Index:
        def distances(self, item: int) -> np.ndarray:
            return np.array([[0.0, 0.1], [0.1, 0.0]][item], dtype=np.float32)

        def explain(self, a: int, b: int) -> str:
            return "similar timbre"

    heard = [words[CLASSICAL[0]], words[CLASSICAL[1]]]
    source = ContentSource(Index(), 2, heard=heard)  # type: ignore[arg-type]
    reason = source.reason(1, Context(current=0), labels_from_arrays(["Hungarian Dance", "x"]))
    assert reason.startswith("sounds like Hungarian Dance: classical, ")
    assert reason.endswith("with strings") or "with strings and " in reason


def test_an_untagged_library_gets_text_similarity_from_heard_tags() -> None:
    """The metadata source reads heard tags as genre words (as EngineHost hands them)."""
    from recommender.content.metadata import MetadataIndex

    heard = ["jazz=0.7;mellow=0.06", "jazz=0.5;mellow=0.04", "metal=0.6;hard rock=0.3", None]
    untagged = MetadataIndex(artists=[None] * 4, genres=[tags.with_heard(None, h) for h in heard])
    sims = untagged.similarities(0)
    assert sims[1] > 0 and sims[1] > sims[2] and sims[3] == 0
    blind = MetadataIndex(artists=[None] * 4, genres=[None] * 4)
    assert blind.similarities(0)[1] == 0  # without them: nothing to go on


def test_the_song_list_marks_heard_tags_as_heard() -> None:
    from player.ui.models import _genre_text

    heard = (("jazz", 0.71), ("mellow", 0.06))
    untagged = browse.SongRow(1, "t", "a", "b", "", None, None, None, False, "/x", heard)
    tagged = browse.SongRow(2, "t", "a", "b", "Jazz;Swing", None, None, None, False, "/y", heard)
    assert _genre_text(untagged) == "heard: jazz, mellow"
    assert _genre_text(tagged) == "Jazz, Swing"  # the file's own tags come first


def test_song_info_shows_heard_tags_marked_as_heard(library: Database, tmp_path: Path) -> None:
    from player.library import track_info
    from player.ui.trackinfo import info_rows

    ids = _library_with_heard(library, tmp_path / "music")
    calm = track_info.details(library, ids["calm"])
    assert calm is not None and calm.heard == [("chillout", 0.31), ("mellow", 0.06)]
    sound = dict(dict(info_rows(calm))["How it sounds"])
    assert sound["Heard in the audio"].startswith("chillout 31%, mellow 6%")
    assert "not the file's tags" in sound["Heard in the audio"]
    plain = track_info.details(library, ids["plain"])
    assert plain is not None and plain.heard == []
    assert "Heard in the audio" not in dict(dict(info_rows(plain))["How it sounds"])
