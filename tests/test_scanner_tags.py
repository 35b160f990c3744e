"""Tags are read from every format and normalised to one set of fields."""

from __future__ import annotations

from pathlib import Path

import mutagen
import pytest
from mutagen.id3 import ID3, POPM, TCON, TDRC, TIT2, TPE1, TRCK, TXXX, Encoding

from player.library.db import Database
from player.scanner.tags import parse_number_pair, parse_year, read_track, title_from_filename
from tests.audiogen import tag, write_audio
from tests.scanhelp import scan, tracks

FORMATS = [
    ("mp3", "mp3", {}),
    ("flac", "flac", {}),
    ("ogg", "ogg", {}),
    ("opus", "opus", {"sr": 48000}),
    ("m4a", "m4a", {}),
    ("wav", "wav", {}),
    ("aiff", "aiff", {}),
    ("wma", "wma", {}),
]


@pytest.mark.parametrize(("ext", "expected_format", "kwargs"), FORMATS)
def test_every_format_gives_the_same_normalised_fields(
    tmp_path: Path, ext: str, expected_format: str, kwargs: dict[str, int]
) -> None:
    path = write_audio(tmp_path / f"song.{ext}", seconds=1.5, channels=2, **kwargs)
    tag(
        path,
        title="Blue in Green",
        artist=["Miles Davis", "Bill Evans"],
        album="Kind of Blue",
        genre="Jazz",
        date="1959-08-17",
        tracknumber="3/5",
    )
    record = read_track(str(path), path.stat().st_size, path.stat().st_mtime)
    assert record.format == expected_format
    assert record.has_audio
    assert record.duration == pytest.approx(1.5, abs=0.1)
    assert record.channels == 2
    assert record.tags["title"] == "Blue in Green"
    assert record.tags["artist"] == "Miles Davis; Bill Evans"
    assert record.tags["album"] == "Kind of Blue"
    assert record.tags["genre"] == "Jazz"
    assert record.tags["year"] == 1959
    assert record.tags["track_number"] == 3
    if ext != "wma":  # ASF keeps only the number
        assert record.tags["track_total"] == 5


def test_alac_in_m4a_is_indexed_with_its_codec(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "lossless.m4a", fmt="alac", seconds=1.0)
    tag(path, title="Lossless")
    record = read_track(str(path), path.stat().st_size, path.stat().st_mtime)
    assert (record.format, record.codec, record.tags["title"]) == ("m4a", "alac", "Lossless")


def test_id3_details_genre_numbers_gains_ratings(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "x.mp3", seconds=1.0)
    tags = ID3()
    tags.add(TIT2(encoding=Encoding.UTF8, text=["Song"]))
    tags.add(TPE1(encoding=Encoding.UTF8, text=["A", "B"]))
    tags.add(TCON(encoding=Encoding.LATIN1, text=["(17)"]))  # ID3v1 genre number: Rock
    tags.add(TDRC(encoding=Encoding.UTF8, text=["2004-05-06"]))
    tags.add(TRCK(encoding=Encoding.UTF8, text=["7/12"]))
    tags.add(TXXX(encoding=Encoding.UTF8, desc="REPLAYGAIN_TRACK_GAIN", text=["-6.50 dB"]))
    tags.add(TXXX(encoding=Encoding.UTF8, desc="REPLAYGAIN_TRACK_PEAK", text=["0.98"]))
    tags.add(TXXX(encoding=Encoding.UTF8, desc="MusicBrainz Album Id", text=["abc-123"]))
    tags.add(POPM(email="no@email", rating=255, count=42))
    tags.save(str(path))
    record = read_track(str(path), path.stat().st_size, path.stat().st_mtime)
    t = record.tags
    assert (t["artist"], t["genre"], t["year"]) == ("A; B", "Rock", 2004)
    assert (t["track_number"], t["track_total"]) == (7, 12)
    assert t["rg_track_gain"] == pytest.approx(-6.5)
    assert t["rg_track_peak"] == pytest.approx(0.98)
    assert t["mb_album_id"] == "abc-123"
    assert t["tag_playcount"] == 42
    assert t["tag_rating"] == pytest.approx(1.0)


def test_vorbis_multi_value_fields_and_numeric_genre(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "x.flac", seconds=1.0)
    audio = mutagen.File(str(path))
    audio["ARTIST"] = ["Artist One", "Artist Two"]
    audio["GENRE"] = ["8"]  # an ID3v1 number written by a careless tagger: Jazz
    audio["DATE"] = ["May 1971"]
    audio["TRACKNUMBER"] = ["4"]
    audio["TRACKTOTAL"] = ["9"]
    audio["DISCNUMBER"] = ["2/2"]
    audio.save()
    record = read_track(str(path), path.stat().st_size, path.stat().st_mtime)
    t = record.tags
    assert t["artist"] == "Artist One; Artist Two"
    assert t["genre"] == "Jazz"
    assert t["year"] == 1971
    assert (t["track_number"], t["track_total"], t["disc_number"], t["disc_total"]) == (
        4,
        9,
        2,
        2,
    )


def test_untagged_file_takes_its_title_from_the_file_name(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "03 - Morning_Light.wav", seconds=1.0)
    record = read_track(str(path), path.stat().st_size, path.stat().st_mtime)
    assert record.tags["title"] == "Morning Light"
    assert record.tags["artist"] is None


@pytest.mark.parametrize(
    ("raw", "year"),
    [
        ("2004", 2004),
        ("2004-05-06", 2004),
        ("06/05/2004", 2004),
        ("May 1971", 1971),
        ("20040506", 2004),
        ("1995-00-00T00:00:00", 1995),
        ("unknown", None),
        ("", None),
    ],
)
def test_year_comes_from_any_date_string(raw: str, year: int | None) -> None:
    assert parse_year([raw]) == year


@pytest.mark.parametrize(
    ("raw", "pair"),
    [
        ("3/12", (3, 12)),
        ("3", (3, None)),
        (" 03 / 12 ", (3, 12)),
        ("4 of 10", (4, 10)),
        ("0", (None, None)),
        ("x", (None, None)),
    ],
)
def test_number_pairs(raw: str, pair: tuple[int | None, int | None]) -> None:
    assert parse_number_pair([raw]) == pair


def test_title_from_filename_keeps_names_that_are_only_numbers() -> None:
    assert title_from_filename("/m/1999.mp3") == "1999"
    assert title_from_filename("/m/07. Song Name.flac") == "Song Name"
    assert title_from_filename("/m/147793__setuniman__sweet-waltz.ogg") == (
        "147793 setuniman sweet-waltz"
    )


def test_untagged_artist_and_title_from_an_artist_dash_title_name(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "admiralbob77_-_Choice_-_Drum-bass.wav", seconds=0.5)
    record = read_track(str(path), path.stat().st_size, path.stat().st_mtime)
    assert (record.tags["artist"], record.tags["title"]) == ("admiralbob77", "Choice - Drum-bass")
    numbered = write_audio(tmp_path / "01 - Intro.wav", seconds=0.5)
    record = read_track(str(numbered), numbered.stat().st_size, numbered.stat().st_mtime)
    assert (record.tags["artist"], record.tags["title"]) == (None, "Intro")


def test_real_tagged_files_are_read_correctly(library: Database, shared_data: Path) -> None:
    folder = shared_data / "tags"
    scan(library, folder, workers=2)
    got = tracks(library)

    def row(name: str) -> dict[str, object]:
        return got[str(folder / name)]

    chinese = row("chinese_id3.mp3")  # GBK bytes in frames marked Latin-1
    assert (chinese["title"], chinese["artist"], chinese["genre"]) == (
        "角落之歌",
        "苏云",
        "休闲音乐",
    )
    utf16 = row("utf16be.mp3")
    assert (utf16["title"], utf16["artist"], utf16["album"]) == (
        "52-girls",
        "The B52s",
        "party mix",
    )
    assert (utf16["genre"], utf16["year"], utf16["track_number"]) == ("Rock", 1981, 6)
    multi = row("multi_value.m4a")
    assert multi["artist"] == "some artist; another artist; yet another artist"
    assert multi["composer"] == "yet another composer; last composer"
    v22 = row("id3v22-test.mp3")
    assert (v22["title"], v22["artist"], v22["album"]) == (
        "cosmic american",
        "Anais Mitchell",
        "Hymns for the Exiled",
    )
    assert (v22["track_number"], v22["track_total"], v22["year"]) == (3, 11, 2004)
    assert v22["comment"].startswith("Waterbug Records")  # iTunes' machine comments skipped
    ogg = row("composer.ogg")
    assert (ogg["composer"], ogg["title"], ogg["year"]) == ("some composer", "A Title", 2007)
    non_ascii = row("non_ascii_filename_äää.mp3")
    assert non_ascii["title"] == "non ascii filename äää"
    assert non_ascii["duration"] == pytest.approx(5.04, abs=0.05)
    riff = row("test-riff-tags.wav")  # RIFF INFO chunk, which mutagen does not read
    assert (riff["title"], riff["artist"], riff["genre"]) == ("thetitle", "theartisst", "Acid")
    wma = row("multiple_values_images.wma")
    assert wma["artist"] == "some artist; another artist; yet another artist"
    assert wma["has_cover"] == 1
    mp1 = row("mpeg1_44_1khz.mp1")  # MPEG layer I: mutagen cannot, the decoder can
    assert mp1["has_audio"] == 1
