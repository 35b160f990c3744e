"""Read one audio file into a normalised track record.

mutagen does the parsing; this module maps every tag family (ID3, Vorbis comments, MP4
atoms, ASF attributes, APEv2, RIFF INFO) onto one set of canonical fields, so that ID3
``TPE1``, Vorbis ``ARTIST`` and MP4 ``©ART`` all become ``artist``. It runs inside scanner
worker processes, so it must never raise for a bad file: :func:`read_track` returns a
:class:`TrackRecord` or raises :class:`UnreadableFile` with a one-line reason.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import mutagen
import mutagen.aiff
import mutagen.apev2
import mutagen.asf
import mutagen.dsdiff
import mutagen.dsf
import mutagen.flac
import mutagen.id3
import mutagen.monkeysaudio
import mutagen.mp3
import mutagen.mp4
import mutagen.musepack
import mutagen.oggflac
import mutagen.oggopus
import mutagen.oggspeex
import mutagen.oggvorbis
import mutagen.optimfrog
import mutagen.tak
import mutagen.trueaudio
import mutagen.wave
import mutagen.wavpack

from player.scanner.fingerprint import fingerprint

# Only audio containers: mutagen also knows MIDI and Ogg Theora video, which are not music
# files a listener's library means.
_AUDIO_TYPES: list[type[Any]] = [
    mutagen.mp3.MP3,
    mutagen.flac.FLAC,
    mutagen.oggvorbis.OggVorbis,
    mutagen.oggopus.OggOpus,
    mutagen.oggflac.OggFLAC,
    mutagen.oggspeex.OggSpeex,
    mutagen.mp4.MP4,
    mutagen.asf.ASF,
    mutagen.wave.WAVE,
    mutagen.aiff.AIFF,
    mutagen.wavpack.WavPack,
    mutagen.monkeysaudio.MonkeysAudio,
    mutagen.musepack.Musepack,
    mutagen.trueaudio.TrueAudio,
    mutagen.optimfrog.OptimFROG,
    mutagen.tak.TAK,
    mutagen.dsf.DSF,
    mutagen.dsdiff.DSDIFF,
]

_FORMAT_NAMES = {
    "MP3": "mp3",
    "FLAC": "flac",
    "OggVorbis": "ogg",
    "OggOpus": "opus",
    "OggFLAC": "flac",
    "OggSpeex": "speex",
    "MP4": "m4a",
    "ASF": "wma",
    "WAVE": "wav",
    "AIFF": "aiff",
    "WavPack": "wavpack",
    "MonkeysAudio": "ape",
    "Musepack": "musepack",
    "TrueAudio": "tta",
    "OptimFROG": "ofr",
    "TAK": "tak",
    "DSF": "dsf",
    "DSDIFF": "dff",
}


# Below 1 kbit/s no codec carries music: a longer claimed duration is a broken header.
_MIN_BYTES_PER_SECOND = 125


class UnreadableFile(Exception):
    """The file cannot be indexed. ``kind`` is a short machine word, str() the reason."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class TrackRecord:
    """Everything the scanner stores about one file (the ``tracks`` columns)."""

    path: str
    size: int
    mtime: float
    fingerprint: str
    format: str | None = None
    codec: str | None = None
    duration: float | None = None
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    has_audio: bool = True
    tags: dict[str, Any] = field(default_factory=dict)
    # A problem worth telling the user even though the file was indexed.
    warning: tuple[str, str] | None = None


# --------------------------------------------------------------------------------------
# Canonical field names, and where each tag family keeps them.
# --------------------------------------------------------------------------------------

_ID3_TEXT = {
    "TIT2": "title",
    "TPE1": "artist",
    "TALB": "album",
    "TPE2": "albumartist",
    "TCOM": "composer",
    "TDRC": "date",
    "TDOR": "originaldate",
    "TRCK": "tracknumber",
    "TPOS": "discnumber",
}

_ID3_TXXX = {
    "musicbrainz album id": "mb_album_id",
    "musicbrainz artist id": "mb_artist_id",
    "musicbrainz album artist id": "mb_albumartist_id",
    "musicbrainz release track id": "mb_releasetrack_id",
    "replaygain_track_gain": "rg_track_gain",
    "replaygain_track_peak": "rg_track_peak",
    "replaygain_album_gain": "rg_album_gain",
    "replaygain_album_peak": "rg_album_peak",
    "fmps_playcount": "playcount",
    "fmps_rating": "fmps_rating",
}

# Vorbis comments and APEv2 share most key names (case-insensitive).
_VORBIS = {
    "title": "title",
    "artist": "artist",
    "artists": "artist",
    "album": "album",
    "albumartist": "albumartist",
    "album artist": "albumartist",
    "album_artist": "albumartist",
    "genre": "genre",
    "date": "date",
    "year": "date",
    "originaldate": "originaldate",
    "tracknumber": "tracknumber",
    "track": "tracknumber",
    "tracktotal": "tracktotal",
    "totaltracks": "tracktotal",
    "discnumber": "discnumber",
    "disc": "discnumber",
    "disctotal": "disctotal",
    "totaldiscs": "disctotal",
    "composer": "composer",
    "comment": "comment",
    "description": "comment",
    "lyrics": "lyrics",
    "unsyncedlyrics": "lyrics",
    "musicbrainz_trackid": "mb_track_id",
    "musicbrainz_albumid": "mb_album_id",
    "musicbrainz_artistid": "mb_artist_id",
    "musicbrainz_albumartistid": "mb_albumartist_id",
    "replaygain_track_gain": "rg_track_gain",
    "replaygain_track_peak": "rg_track_peak",
    "replaygain_album_gain": "rg_album_gain",
    "replaygain_album_peak": "rg_album_peak",
    "r128_track_gain": "r128_track_gain",
    "r128_album_gain": "r128_album_gain",
    "fmps_playcount": "playcount",
    "fmps_rating": "fmps_rating",
    "rating": "rating",
}

_MP4 = {
    "\xa9nam": "title",
    "\xa9ART": "artist",
    "\xa9alb": "album",
    "aART": "albumartist",
    "\xa9gen": "genre",
    "\xa9day": "date",
    "\xa9wrt": "composer",
    "\xa9cmt": "comment",
    "\xa9lyr": "lyrics",
}

_MP4_FREEFORM = {
    "musicbrainz track id": "mb_track_id",
    "musicbrainz album id": "mb_album_id",
    "musicbrainz artist id": "mb_artist_id",
    "musicbrainz album artist id": "mb_albumartist_id",
    "replaygain_track_gain": "rg_track_gain",
    "replaygain_track_peak": "rg_track_peak",
    "replaygain_album_gain": "rg_album_gain",
    "replaygain_album_peak": "rg_album_peak",
    "fmps_playcount": "playcount",
    "fmps_rating": "fmps_rating",
}

_ASF = {
    "title": "title",
    "author": "artist",
    "wm/albumtitle": "album",
    "wm/albumartist": "albumartist",
    "wm/genre": "genre",
    "wm/year": "date",
    "wm/tracknumber": "tracknumber",
    "wm/partofset": "discnumber",
    "wm/composer": "composer",
    "description": "comment",
    "wm/lyrics": "lyrics",
    "musicbrainz/track id": "mb_track_id",
    "musicbrainz/album id": "mb_album_id",
    "musicbrainz/artist id": "mb_artist_id",
    "musicbrainz/album artist id": "mb_albumartist_id",
    "replaygain_track_gain": "rg_track_gain",
    "replaygain_track_peak": "rg_track_peak",
    "replaygain_album_gain": "rg_album_gain",
    "replaygain_album_peak": "rg_album_peak",
    "fmps/playcount": "playcount",
    "fmps/rating": "fmps_rating",
    "wm/shareduserrating": "rating",
}

# RIFF INFO chunk ids in WAV files (mutagen reads only ID3 there).
_RIFF_INFO = {
    b"INAM": "title",
    b"IART": "artist",
    b"IPRD": "album",
    b"IGNR": "genre",
    b"ICRD": "date",
    b"ITRK": "tracknumber",
    b"IPRT": "tracknumber",
    b"ICMT": "comment",
    b"IMUS": "composer",
}

_COVER_KEYS = {"metadata_block_picture", "coverart", "cover art (front)", "wm/picture", "covr"}


# --------------------------------------------------------------------------------------
# Text clean-up helpers.
# --------------------------------------------------------------------------------------

_HIGH_RUN = re.compile(rb"[\x80-\xff]+")


def _fix_latin1(text: str) -> str:
    """Undo the common mislabelling of UTF-8 or GBK text as ID3 Latin-1.

    Taggers on Chinese Windows wrote GBK bytes into frames marked Latin-1. We re-decode
    only when it is unambiguous: valid UTF-8, or every run of high bytes has even length
    and decodes as GB18030 (real Latin-1 names like "Björk" have lone high bytes).
    """
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return text
    if not _HIGH_RUN.search(raw):
        return text
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if all(len(m.group()) % 2 == 0 for m in _HIGH_RUN.finditer(raw)):
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            pass
    return text


def _clean(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).replace("\x00", " ").strip()
    return text or None


def _add(out: dict[str, list[str]], key: str, values: Iterable[Any]) -> None:
    for value in values:
        text = _clean(value)
        if text is not None and text not in out.setdefault(key, []):
            out[key].append(text)


# --------------------------------------------------------------------------------------
# Per-family readers: each fills ``out`` with canonical key -> list of strings.
# --------------------------------------------------------------------------------------


def _read_id3(tags: mutagen.id3.ID3, out: dict[str, list[str]]) -> bool:
    has_cover = False
    for frame in tags.values():
        fid = frame.FrameID
        if fid in _ID3_TEXT:
            texts = [str(t) for t in frame.text]
            if getattr(frame, "encoding", None) == mutagen.id3.Encoding.LATIN1:
                texts = [_fix_latin1(t) for t in texts]
            _add(out, _ID3_TEXT[fid], texts)
        elif fid == "TCON":
            genres = frame.genres  # resolves ID3v1 numbers, "(17)" and "(17)Rock" forms
            if frame.encoding == mutagen.id3.Encoding.LATIN1:
                genres = [_fix_latin1(g) for g in genres]
            _add(out, "genre", genres)
        elif fid in ("TYER", "TDAT") and "date" not in out:
            _add(out, "date", frame.text)
        elif fid == "TXXX":
            key = _ID3_TXXX.get(frame.desc.lower())
            if key:
                _add(out, key, frame.text)
        elif fid == "UFID" and frame.owner == "http://musicbrainz.org":
            _add(out, "mb_track_id", [frame.data])
        elif fid == "COMM":
            # iTunes stores machine data (iTunNORM, CDDB ids) in described comments.
            if not frame.desc or frame.desc.lower() in ("comment", "description"):
                _add(out, "comment", frame.text)
        elif fid == "USLT":
            _add(out, "lyrics", [frame.text])
        elif fid == "APIC":
            has_cover = True
        elif fid == "POPM":
            if frame.rating:
                _add(out, "popm_rating", [frame.rating])
            count = getattr(frame, "count", None)
            if count:
                _add(out, "playcount", [count])
    return has_cover


def _read_vorbis_like(items: Iterable[tuple[str, Any]], out: dict[str, list[str]]) -> bool:
    has_cover = False
    for raw_key, value in items:
        key = raw_key.lower()
        if key in _COVER_KEYS:
            has_cover = True
            continue
        canon = _VORBIS.get(key)
        if canon is None:
            continue
        if isinstance(value, mutagen.apev2._APEValue):
            if value.kind != mutagen.apev2.TEXT:
                continue
            values: list[Any] = list(value)
        elif isinstance(value, list):
            values = value
        else:
            values = [value]
        _add(out, canon, values)
    return has_cover


def _read_mp4(tags: mutagen.mp4.MP4Tags, out: dict[str, list[str]]) -> bool:
    for key, values in tags.items():
        if key in _MP4:
            _add(out, _MP4[key], values)
        elif key == "gnre":
            _add(out, "genre", (_id3v1_genre(v - 1) for v in values))
        elif key == "trkn" and values:
            number, total = values[0]
            _add(out, "tracknumber", [number] if number else [])
            _add(out, "tracktotal", [total] if total else [])
        elif key == "disk" and values:
            number, total = values[0]
            _add(out, "discnumber", [number] if number else [])
            _add(out, "disctotal", [total] if total else [])
        elif key.startswith("----:"):
            name = key.split(":", 2)[-1].lower()
            if name in _MP4_FREEFORM:
                _add(out, _MP4_FREEFORM[name], (bytes(v) for v in values))
    return "covr" in tags


def _read_asf(tags: mutagen.asf.ASFTags, out: dict[str, list[str]]) -> bool:
    has_cover = False
    for key, values in tags.items():
        low = key.lower()
        if low == "wm/picture":
            has_cover = True
        elif low in _ASF:
            _add(out, _ASF[low], (v.value for v in values))
    return has_cover


def _read_riff_info(path: str, out: dict[str, list[str]]) -> None:
    """Tags from a WAV file's LIST/INFO chunk, which many rippers write."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(12)
            if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
                return
            for _ in range(64):  # a WAV has a handful of chunks; never loop on garbage
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return
                cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"LIST" and size >= 4 and size < 1 << 20:
                    body = fh.read(size)
                    if body[:4] == b"INFO":
                        _parse_info_list(body[4:], out)
                    return
                fh.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return


def _parse_info_list(body: bytes, out: dict[str, list[str]]) -> None:
    pos = 0
    while pos + 8 <= len(body):
        cid, size = body[pos : pos + 4], struct.unpack("<I", body[pos + 4 : pos + 8])[0]
        data = body[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
        key = _RIFF_INFO.get(cid)
        if key and key not in out:
            text = data.split(b"\x00", 1)[0]
            try:
                decoded = text.decode("utf-8")
            except UnicodeDecodeError:
                decoded = text.decode("latin-1")
            _add(out, key, [decoded])


# --------------------------------------------------------------------------------------
# Normalisation of canonical values into columns.
# --------------------------------------------------------------------------------------

_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_EIGHT_DIGITS = re.compile(r"^(\d{4})\d{4}$")
_NUMBER_OF = re.compile(r"^\s*(\d+)\s*(?:(?:/|of)\s*(\d+))?")
_DB_VALUE = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_LEADING_TRACK_NO = re.compile(r"^\d{1,3}(?:\s*[-._]\s*|\s+)(?=\S)")


def _id3v1_genre(index: int) -> str:
    genres = mutagen.id3.TCON.GENRES
    return genres[index] if 0 <= index < len(genres) else ""


def parse_year(values: Iterable[str]) -> int | None:
    """The year from any date string: 2004, 2004-05-06, 06/05/2004, May 2004, 20040506."""
    for value in values:
        text = value.strip()
        match = _EIGHT_DIGITS.match(text) or _YEAR.search(text)
        if match:
            year = int(match.group(1))
            if 1000 <= year <= 2999:
                return year
    return None


def parse_number_pair(values: Iterable[str]) -> tuple[int | None, int | None]:
    """ "3/12" -> (3, 12); "3" -> (3, None); "03 of 12" -> (3, 12)."""
    for value in values:
        match = _NUMBER_OF.match(value)
        if match:
            number = int(match.group(1))
            total = int(match.group(2)) if match.group(2) else None
            return (number if number > 0 else None), (total if total else None)
    return None, None


def _first_int(values: Iterable[str]) -> int | None:
    for value in values:
        match = _NUMBER_OF.match(value)
        if match:
            return int(match.group(1))
    return None


def _gain(values: Iterable[str]) -> float | None:
    for value in values:
        match = _DB_VALUE.search(value)
        if match:
            try:
                return float(match.group().replace(",", "."))
            except ValueError:
                continue
    return None


def normalise_genre(raw: str) -> str:
    """ID3v1 numbers written into other formats' genre fields become names."""
    text = raw.strip()
    if text.isdigit():
        return _id3v1_genre(int(text)) or text
    match = re.fullmatch(r"\((\d+)\)", text)
    if match:
        return _id3v1_genre(int(match.group(1))) or text
    return text


def _split_multi(values: list[str]) -> list[str]:
    """Multi-value fields: separate values, or one value with ';' or NUL separators."""
    out: list[str] = []
    for value in values:
        for part in re.split(r"\s*;\s*|\x00", value):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def _rating(out: dict[str, list[str]]) -> float | None:
    """A 0..1 rating from POPM (0..255), FMPS_Rating (0..1) or RATING (0..5 or 0..100)."""
    if "fmps_rating" in out:
        value = _gain(out["fmps_rating"])
        if value is not None and 0 <= value <= 1:
            return value
    if "popm_rating" in out:
        value = _gain(out["popm_rating"])
        if value is not None and 0 < value <= 255:
            return value / 255.0
    if "rating" in out:
        value = _gain(out["rating"])
        if value is not None and value > 0:
            return min(value / 5.0, 1.0) if value <= 5 else min(value / 100.0, 1.0)
    return None


def names_from_filename(path: str) -> tuple[str | None, str]:
    """(artist, title) guessed from an untagged file's name: "03 - Morning_Light" gives
    (None, "Morning Light"), "Artist - Title" gives both."""
    stem = os.path.splitext(os.path.basename(path))[0]
    stem = os.fsencode(stem).decode("utf-8", errors="replace").replace("_", " ")
    stem = " ".join(stem.split())
    without_number = _LEADING_TRACK_NO.sub("", stem) or stem or os.path.basename(path)
    artist, sep, title = without_number.partition(" - ")
    if sep and artist.strip() and title.strip() and not artist.strip().isdigit():
        return artist.strip(), title.strip()
    return None, without_number


def title_from_filename(path: str) -> str:
    return names_from_filename(path)[1]


def tag_columns(path: str, out: dict[str, list[str]], has_cover: bool) -> dict[str, Any]:
    """Turn canonical key -> values into the ``tracks`` tag columns."""

    def joined(key: str) -> str | None:
        values = _split_multi(out.get(key, []))
        return "; ".join(values) if values else None

    def first(key: str) -> str | None:
        values = out.get(key)
        return values[0] if values else None

    track_number, track_total = parse_number_pair(out.get("tracknumber", []))
    disc_number, disc_total = parse_number_pair(out.get("discnumber", []))
    genres = [normalise_genre(g) for g in _split_multi(out.get("genre", []))]
    genres = [g for i, g in enumerate(genres) if g and g not in genres[:i]]

    rg_track_gain = _gain(out.get("rg_track_gain", []))
    rg_album_gain = _gain(out.get("rg_album_gain", []))
    # Opus R128 gains are Q7.8 dB relative to -23 LUFS; ReplayGain's reference is -18.
    if rg_track_gain is None and "r128_track_gain" in out:
        r128 = _first_int(out["r128_track_gain"])
        rg_track_gain = None if r128 is None else r128 / 256.0 + 5.0
    if rg_album_gain is None and "r128_album_gain" in out:
        r128 = _first_int(out["r128_album_gain"])
        rg_album_gain = None if r128 is None else r128 / 256.0 + 5.0

    title_values = out.get("title", [])
    guessed_artist, guessed_title = names_from_filename(path)
    return {
        "title": title_values[0] if title_values else guessed_title,
        "artist": joined("artist") or (None if title_values else guessed_artist),
        "album": first("album"),
        "albumartist": joined("albumartist"),
        "genre": "; ".join(genres) if genres else None,
        "year": parse_year(out.get("date", []) + out.get("originaldate", [])),
        "track_number": track_number,
        "track_total": track_total or _first_int(out.get("tracktotal", [])),
        "disc_number": disc_number,
        "disc_total": disc_total or _first_int(out.get("disctotal", [])),
        "composer": joined("composer"),
        "comment": first("comment"),
        "lyrics": first("lyrics"),
        "rg_track_gain": rg_track_gain,
        "rg_track_peak": _gain(out.get("rg_track_peak", [])),
        "rg_album_gain": rg_album_gain,
        "rg_album_peak": _gain(out.get("rg_album_peak", [])),
        "mb_track_id": first("mb_track_id"),
        "mb_album_id": first("mb_album_id"),
        "mb_artist_id": first("mb_artist_id"),
        "mb_albumartist_id": first("mb_albumartist_id"),
        "has_cover": int(has_cover),
        "tag_playcount": _first_int(out.get("playcount", [])),
        "tag_rating": _rating(out),
    }


# --------------------------------------------------------------------------------------
# The entry point.
# --------------------------------------------------------------------------------------


def _stream_info(audio: Any) -> dict[str, Any]:
    info = audio.info
    length = float(getattr(info, "length", 0) or 0)
    bitrate = getattr(info, "bitrate", None)
    codec = getattr(info, "codec", None) or getattr(info, "codec_name", None)
    return {
        "duration": length if length > 0 else None,
        "bitrate": int(bitrate) if isinstance(bitrate, int | float) and bitrate > 0 else None,
        "sample_rate": int(getattr(info, "sample_rate", 0) or 0) or None,
        "channels": int(getattr(info, "channels", 0) or 0) or None,
        "codec": str(codec) if codec else None,
    }


def _read_tags(audio: Any, path: str, out: dict[str, list[str]]) -> bool:
    tags = audio.tags
    if tags is None:
        return False
    if isinstance(tags, mutagen.id3.ID3):
        return _read_id3(tags, out)
    if isinstance(tags, mutagen.mp4.MP4Tags):
        return _read_mp4(tags, out)
    if isinstance(tags, mutagen.asf.ASFTags):
        return _read_asf(tags, out)
    if isinstance(tags, mutagen.apev2.APEv2):
        return _read_vorbis_like(tags.items(), out)
    # Vorbis comments (FLAC, Ogg Vorbis/Opus/FLAC/Speex): a list of (key, value) pairs.
    has_cover = _read_vorbis_like(list(tags), out)
    pictures = getattr(audio, "pictures", None)
    return has_cover or bool(pictures)


def _standalone_tags(path: str, out: dict[str, list[str]]) -> bool:
    """Tags from a file whose audio stream mutagen could not parse (ID3, then APEv2)."""
    for loader in (mutagen.id3.ID3, mutagen.apev2.APEv2):
        try:
            tags = loader(path)
        except Exception:
            continue
        if isinstance(tags, mutagen.id3.ID3):
            return _read_id3(tags, out)
        return _read_vorbis_like(tags.items(), out)
    return False


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def read_track(path: str, size: int, mtime: float) -> TrackRecord:
    """Parse one file. Raises :class:`UnreadableFile` when it holds nothing to index."""
    if size == 0:
        raise UnreadableFile("empty", "empty file (0 bytes)")
    try:
        fp = fingerprint(path, size)
    except OSError as exc:
        raise UnreadableFile("unreadable", f"cannot read: {exc.strerror or exc}") from None

    record = TrackRecord(path=path, size=size, mtime=mtime, fingerprint=fp)
    out: dict[str, list[str]] = {}
    has_cover = False
    problem: str | None = None
    audio: Any = None
    try:
        audio = mutagen.File(path, options=_AUDIO_TYPES)
    except PermissionError as exc:
        raise UnreadableFile("unreadable", f"cannot read: {exc.strerror}") from None
    except Exception as exc:  # mutagen raises many types on malformed files
        problem = _describe(exc)

    if audio is not None:
        record.format = _FORMAT_NAMES.get(type(audio).__name__, type(audio).__name__.lower())
        for key, value in _stream_info(audio).items():
            setattr(record, key, value)
        try:
            has_cover = _read_tags(audio, path, out)
        except Exception as exc:
            problem = f"tags unreadable ({_describe(exc)})"
        if record.format == "wav" and not out:
            _read_riff_info(path, out)

    if record.duration is not None and record.size / record.duration < _MIN_BYTES_PER_SECOND:
        # A header claiming hours of audio in a few kilobytes: ask the decoder instead.
        record.duration = None
    if record.duration is None:
        # mutagen found no stream (or a zero-length one). Ask a real decoder whether the
        # file holds audio: MPEG-1 layer I, mislabelled or odd files are common.
        from player.scanner.probe import probe_audio

        probed = probe_audio(path)
        if probed is not None:
            record.format = record.format or probed.format
            record.duration = probed.duration
            record.sample_rate = record.sample_rate or probed.sample_rate
            record.channels = record.channels or probed.channels
            record.bitrate = record.bitrate or probed.bitrate
            record.codec = record.codec or probed.codec
        else:
            if audio is None:
                has_cover = _standalone_tags(path, out) or has_cover
            if not out:
                if problem:
                    raise UnreadableFile("corrupt", f"not readable as audio ({problem})")
                if audio is not None:
                    raise UnreadableFile("no_audio", "the file holds no audio (length 0)")
                raise UnreadableFile("not_audio", "not an audio file (no known audio format)")
            # Tags but no playable audio: index it so its tags show, and say why it
            # will not play.
            record.has_audio = False
            if record.format is None:
                record.format = os.path.splitext(path)[1].lstrip(".").lower() or None
            record.warning = (
                "no_audio",
                "tags read, but the file holds no playable audio"
                + (f" ({problem})" if problem else ""),
            )
    elif problem:
        record.warning = ("bad_tags", problem)

    record.tags = tag_columns(path, out, has_cover)
    return record
