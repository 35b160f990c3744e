"""Album covers: embedded art (mutagen), else folder.jpg / cover.jpg beside the file.

Thumbnails are made off the GUI thread and cached on disk in the platform's cache
folder, so the album grid opens instantly the second time. Nothing is ever fetched from
the network.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

from player.config import cache_dir

THUMB = 256
_FOLDER_NAMES = ("cover", "folder", "front", "album", "albumart")
_EXTS = (".jpg", ".jpeg", ".png", ".webp")


def embedded_art(path: str) -> bytes | None:
    try:
        import mutagen

        audio = mutagen.File(path)
    except Exception:
        return None
    if audio is None:
        return None
    pictures = getattr(audio, "pictures", None)  # FLAC
    if pictures:
        return bytes(pictures[0].data)
    tags = getattr(audio, "tags", None)
    if tags is None:
        return None
    try:
        if hasattr(tags, "getall"):  # ID3
            apic = tags.getall("APIC")
            if apic:
                return bytes(apic[0].data)
        if "covr" in tags:  # MP4
            return bytes(tags["covr"][0])
        blocks = tags.get("metadata_block_picture") if hasattr(tags, "get") else None
        if blocks:  # Ogg Vorbis / Opus
            from mutagen.flac import Picture

            return bytes(Picture(base64.b64decode(blocks[0])).data)
        for key in ("WM/Picture",):
            if key in tags:
                value = tags[key][0].value
                return bytes(value[value.find(b"\xff\xd8") :]) if b"\xff\xd8" in value else None
    except Exception:
        return None
    return None


def folder_art(path: str) -> str | None:
    folder = os.path.dirname(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    by_lower = {n.lower(): n for n in names}
    for stem in _FOLDER_NAMES:
        for ext in _EXTS:
            if stem + ext in by_lower:
                return os.path.join(folder, by_lower[stem + ext])
    return None


def _key(path: str) -> str:
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        stamp = 0
    return hashlib.sha1(f"{path}\0{stamp}\0{THUMB}".encode("utf-8", "surrogatepass")).hexdigest()


def thumbnail(path: str, folder: Path | None = None) -> QImage | None:
    """The cover thumbnail of the track at ``path`` (runs on a worker thread)."""
    folder = folder or (cache_dir() / "covers")
    key = _key(path)
    cached, none = folder / f"{key}.png", folder / f"{key}.none"
    if cached.exists():
        img = QImage(str(cached))
        if not img.isNull():
            return img
    if none.exists():
        return None
    img = QImage()
    data = embedded_art(path)
    if data is None or not img.loadFromData(data):
        art = folder_art(path)
        img = QImage(art) if art else QImage()
    folder.mkdir(parents=True, exist_ok=True)
    if img.isNull():
        none.touch()
        return None
    img = img.scaled(
        THUMB,
        THUMB,
        Qt.AspectRatioMode.KeepAspectRatioByExpanding,
        Qt.TransformationMode.SmoothTransformation,
    )
    if img.width() != img.height():
        side = min(img.width(), img.height())
        img = img.copy((img.width() - side) // 2, (img.height() - side) // 2, side, side)
    img.save(str(cached), "PNG")
    return img


class CoverCache(QObject):
    """Pixmaps by track path, loaded through the task pool; ``ready`` when one arrives."""

    ready = Signal(str)

    def __init__(self, pool, folder: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.folder = folder
        self._pixmaps: dict[str, QPixmap | None] = {}
        self._pending: set[str] = set()

    def get(self, path: str) -> QPixmap | None:
        """The cover if loaded; otherwise None, and the load starts in the background."""
        if path in self._pixmaps:
            return self._pixmaps[path]
        if path not in self._pending:
            self._pending.add(path)
            folder = self.folder

            def done(img: QImage | None, path: str = path) -> None:
                self._pending.discard(path)
                self._pixmaps[path] = QPixmap.fromImage(img) if img is not None else None
                self.ready.emit(path)

            self.pool.run_task(lambda: thumbnail(path, folder), done)
        return None

    def known(self, path: str) -> bool:
        return path in self._pixmaps
