"""Walk a music folder: every file once, symlink loops and unreadable folders survived."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

# Files that always live beside music and are not music: counted, never opened.
COMPANION_EXTENSIONS = frozenset(
    (
        "jpg jpeg png gif bmp webp tif tiff heic svg ico txt nfo log cue md rst pdf doc docx "
        "rtf html htm url m3u m3u8 pls xspf wpl sfv md5 sha1 sha256 ffp st5 accurip par2 "
        "ini db lnk zip rar 7z gz tar lrc srt json xml yaml yml"
    ).split()
)
# Video containers: a music library may hold music videos; Segue does not play them.
VIDEO_EXTENSIONS = frozenset("mkv avi mov webm ogv wmv flv m4v mpg mpeg ts m2ts vob".split())


ONLINE, OFFLINE, DENIED = "online", "offline", "permission denied"


def folder_state(path: str) -> str:
    """Whether a music folder can be read now: ``online``; ``offline`` (gone, unplugged,
    not a folder); or ``permission denied`` (there, but this user may not list it). Asked
    by listing it, as the scan would, so what it says is what a scan would meet."""
    try:
        with os.scandir(path) as entries:
            next(entries, None)
    except PermissionError:
        return DENIED
    except OSError:
        return OFFLINE
    return ONLINE


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    mtime: float


@dataclass(frozen=True)
class WalkProblem:
    path: str
    kind: str
    message: str
    denied: bool = False  # a folder this user may not read (its tracks are kept)


@dataclass
class WalkCounts:
    ignored: int = 0


def extension(path: str) -> str:
    return os.path.splitext(path)[1][1:].lower()


def walk(root: str, counts: WalkCounts) -> Iterator[FileEntry | WalkProblem]:
    """Yield every candidate file below ``root``, and every problem met on the way.

    Hidden entries (dot files, AppleDouble ``._*`` files, ``.Trash``) are skipped.
    Directories are identified by (device, inode), so a symlink loop or two links to one
    folder are walked once.
    """
    try:
        top = os.stat(root)
    except OSError as exc:
        yield WalkProblem(root, "unreadable_folder", f"cannot open folder: {exc.strerror}")
        return
    seen_dirs = {(top.st_dev, top.st_ino)}
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            yield WalkProblem(
                folder,
                "unreadable_folder",
                f"cannot open folder: {exc.strerror}",
                denied=isinstance(exc, PermissionError),
            )
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    st = entry.stat()
                    key = (st.st_dev, st.st_ino)
                    if key not in seen_dirs:
                        seen_dirs.add(key)
                        stack.append(entry.path)
                    continue
                if not entry.is_file():
                    if entry.is_symlink():
                        yield WalkProblem(entry.path, "broken_link", "broken symbolic link")
                    continue
                ext = extension(entry.name)
                if ext in COMPANION_EXTENSIONS:
                    counts.ignored += 1
                    continue
                if ext in VIDEO_EXTENSIONS:
                    yield WalkProblem(entry.path, "video", "video file; Segue plays audio only")
                    continue
                st = entry.stat()
                yield FileEntry(entry.path, st.st_size, st.st_mtime)
            except OSError as exc:
                yield WalkProblem(entry.path, "unreadable", f"cannot read: {exc.strerror}")
