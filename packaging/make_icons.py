"""Builds the Windows .ico and the macOS .icns from the app icon's PNGs in resources/app
(PNG-compressed entries, which Windows Vista+ and macOS 10.7+ read). Run it again after
the icon changes: python packaging/make_icons.py"""

from __future__ import annotations

import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE.parent / "resources" / "app"


def png(size: int) -> bytes:
    return (APP / f"segue-{size}.png").read_bytes()


def ico(sizes: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256)) -> bytes:
    images = [png(s) for s in sizes]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries = b""
    for size, data in zip(sizes, images, strict=True):
        side = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return header + entries + b"".join(images)


def icns() -> bytes:
    kinds = {"icp4": 16, "icp5": 32, "icp6": 64, "ic07": 128, "ic08": 256, "ic09": 512}
    body = b""
    for kind, size in kinds.items():
        data = png(size)
        body += kind.encode() + struct.pack(">I", len(data) + 8) + data
    return b"icns" + struct.pack(">I", len(body) + 8) + body


if __name__ == "__main__":
    (HERE / "windows").mkdir(exist_ok=True)
    (HERE / "macos").mkdir(exist_ok=True)
    (HERE / "windows" / "segue.ico").write_bytes(ico())
    (HERE / "macos" / "segue.icns").write_bytes(icns())
