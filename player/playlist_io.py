"""Playlist files: M3U8 and XSPF export, M3U / M3U8 / XSPF import.

Export writes paths absolute, or relative to the folder the playlist file will live in
(``relative_to``), so VLC, mpv and Strawberry open it from there. M3U8 is UTF-8 with
``#EXTINF`` lines (a file name that is not valid UTF-8 is written as a percent-encoded
``file://`` URI, or a percent-encoded relative one, as M3U readers accept); XSPF is XML
in the ``http://xspf.org/ns/0/`` namespace with percent-encoded ``file://`` (or relative)
locations. Either way any file name survives, undecodable bytes included.

Import reads every entry and matches it to a library track: by path (relative entries are
resolved against the playlist's folder), then by real path, then by artist and title (from
``#EXTINF`` or XSPF ``creator``/``title``). Entries that match nothing are returned with a
reason: the caller reports them, nothing is dropped silently.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes, urlsplit

from player.errors import SegueError
from player.library.paths import display

XSPF_NS = "http://xspf.org/ns/0/"
FORMATS = ("m3u8", "xspf")


@dataclass(frozen=True)
class ExportEntry:
    path: str
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    duration: float | None = None


def _relative(path: str, relative_to: Path | None) -> str:
    if relative_to is None:
        return path
    try:
        return os.path.relpath(path, os.path.abspath(relative_to))
    except ValueError:  # another drive on Windows: only an absolute path can reach it
        return path


def _is_text(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, held as lone surrogates
        return False
    return True


def export_m3u8(name: str, entries: list[ExportEntry], relative_to: Path | None = None) -> str:
    lines = ["#EXTM3U", f"#PLAYLIST:{name}"]
    for e in entries:
        seconds = round(e.duration) if e.duration else -1
        label = f"{e.artist} - {e.title}" if e.artist and e.title else (e.title or "")
        lines.append(f"#EXTINF:{seconds},{label}")
        target = _relative(e.path, relative_to)
        # M3U8 is UTF-8: a name that is not is written as a URI, its bytes percent-encoded.
        lines.append(target if _is_text(target) else _location(e.path, relative_to))
    return "\n".join(lines) + "\n"


def _location(path: str, relative_to: Path | None) -> str:
    target = _relative(path, relative_to)
    # Percent-encode the file system's bytes: non-ASCII and undecodable names survive.
    encoded = quote(os.fsencode(target.replace(os.sep, "/")), safe="/")
    if os.path.isabs(target):
        return "file://" + (encoded if encoded.startswith("/") else "/" + encoded)
    return encoded


def export_xspf(name: str, entries: list[ExportEntry], relative_to: Path | None = None) -> str:
    ET.register_namespace("", XSPF_NS)
    root = ET.Element(f"{{{XSPF_NS}}}playlist", version="1")
    ET.SubElement(root, f"{{{XSPF_NS}}}title").text = name
    tracks = ET.SubElement(root, f"{{{XSPF_NS}}}trackList")
    for e in entries:
        track = ET.SubElement(tracks, f"{{{XSPF_NS}}}track")
        ET.SubElement(track, f"{{{XSPF_NS}}}location").text = _location(e.path, relative_to)
        for tag, value in (("title", e.title), ("creator", e.artist), ("album", e.album)):
            if value:
                ET.SubElement(track, f"{{{XSPF_NS}}}{tag}").text = value
        if e.duration:
            ET.SubElement(track, f"{{{XSPF_NS}}}duration").text = str(int(e.duration * 1000))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def export(fmt: str, name: str, entries: list[ExportEntry], relative_to: Path | None = None) -> str:
    if fmt == "m3u8":
        return export_m3u8(name, entries, relative_to)
    if fmt == "xspf":
        return export_xspf(name, entries, relative_to)
    raise SegueError(f"unknown playlist format '{fmt}' (use m3u8 or xspf)")


# -- import ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileEntry:
    """One entry as the file has it: a location (path or URI) and the tags it names."""

    location: str
    title: str | None = None
    artist: str | None = None


@dataclass
class ParsedPlaylist:
    name: str  # text, whatever the file's name holds (it names the imported playlist)
    entries: list[FileEntry] = field(default_factory=list)
    source: str = ""  # the file's name, as text: where an imported playlist came from


def _label(name: str) -> str:
    """A file name as text (undecodable bytes shown as U+FFFD): it is stored and printed."""
    return display(name)


def _decode_text(data: bytes, path: Path) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if path.suffix.lower() == ".m3u8":
            name = _label(path.name)
            raise SegueError(f"{name} is not valid UTF-8, which M3U8 must be") from None
        return data.decode("cp1252", errors="replace")  # legacy M3U: Windows' code page


def parse_m3u(path: Path, data: bytes) -> ParsedPlaylist:
    text = _decode_text(data, path)
    playlist = ParsedPlaylist(_label(path.stem))
    title: str | None = None
    artist: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#PLAYLIST:"):
            playlist.name = line.removeprefix("#PLAYLIST:").strip() or playlist.name
        elif line.startswith("#EXTINF:"):
            _, _, label = line.partition(",")
            artist, sep, title = label.partition(" - ")
            if not sep:
                artist, title = None, label or None
        elif not line.startswith("#"):
            playlist.entries.append(FileEntry(line, title or None, artist or None))
            title = artist = None
    return playlist


def parse_xspf(path: Path, data: bytes) -> ParsedPlaylist:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SegueError(f"{_label(path.name)} is not valid XSPF: {exc}") from None
    ns = {"x": XSPF_NS}
    if root.tag != f"{{{XSPF_NS}}}playlist":
        raise SegueError(
            f"{_label(path.name)} is not an XSPF playlist (no {XSPF_NS} playlist element)"
        )
    title = root.findtext("x:title", None, ns) or _label(path.stem)
    playlist = ParsedPlaylist(title.strip())
    for track in root.iterfind("x:trackList/x:track", ns):
        location = (track.findtext("x:location", "", ns) or "").strip()
        playlist.entries.append(
            FileEntry(
                location, track.findtext("x:title", None, ns), track.findtext("x:creator", None, ns)
            )
        )
    return playlist


def read_playlist(path: Path) -> ParsedPlaylist:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SegueError(f"cannot read {_label(str(path))}: {exc.strerror}") from None
    suffix = path.suffix.lower()
    if suffix == ".xspf" or data.lstrip()[:5] == b"<?xml":
        parsed = parse_xspf(path, data)
    elif suffix in (".m3u", ".m3u8") or data.lstrip().startswith(b"#EXTM3U"):
        parsed = parse_m3u(path, data)
    else:
        raise SegueError(f"{_label(path.name)}: not an M3U, M3U8 or XSPF playlist")
    parsed.source = _label(path.name)
    return parsed


def entry_path(location: str, base: Path) -> str | None:
    """The local file an entry points at (absolute), or None for a remote URL."""
    if location.startswith("file:"):
        parts = urlsplit(location)
        local = os.fsdecode(unquote_to_bytes(parts.path))
        if os.name == "nt" and local.startswith("/") and local[2:3] == ":":
            local = local[1:]
        return os.path.normpath(local)
    if "://" in location:
        return None
    if os.sep == "/" and "\\" in location and not os.path.exists(os.path.join(base, location)):
        # A playlist written on Windows ("Music\\a.mp3"): its separators, unless a file
        # really has a backslash in its name.
        location = location.replace("\\", "/")
    if location.startswith(("/", "\\")) or os.path.isabs(location):
        return os.path.normpath(location)
    # A relative entry: relative to the playlist's folder. XSPF relative locations are
    # percent-encoded URIs; M3U ones are plain paths.
    decoded = location
    if "%" in location:
        try:
            decoded = os.fsdecode(unquote_to_bytes(location))
        except ValueError:
            decoded = location
    return os.path.normpath(os.path.join(os.path.abspath(base), decoded))


@dataclass
class ImportOutcome:
    name: str
    matched: list[int]  # track ids in the file's order
    unmatched: list[tuple[str, str]]  # (the entry as written, why it matched nothing)


def match_entries(
    parsed: ParsedPlaylist,
    base: Path,
    library_paths: dict[str, int],
    by_tags: object | None = None,
) -> ImportOutcome:
    """Match each entry to a track id. ``by_tags`` is a ``tracks.TrackMatcher`` (or
    anything with ``match(mbid, artist, title)``)."""
    outcome = ImportOutcome(parsed.name, [], [])
    for entry in parsed.entries:
        if not entry.location:
            outcome.unmatched.append(("(empty location)", "the entry names no file"))
            continue
        local = entry_path(entry.location, base)
        found: int | None = None
        if local is not None:
            found = library_paths.get(local)
            if found is None and os.path.exists(local):
                found = library_paths.get(os.path.realpath(local))
        if found is None and by_tags is not None and entry.title:
            found = by_tags.match(None, entry.artist, entry.title)  # type: ignore[attr-defined]
        if found is None:
            if local is None:
                why = "a remote URL, not a file"
            elif os.path.exists(local):
                why = "the file is not in the library (run 'segue scan' on its folder)"
            else:
                why = "no such file, and no library track with its artist and title"
            outcome.unmatched.append((entry.location, why))
            continue
        outcome.matched.append(found)
    return outcome
