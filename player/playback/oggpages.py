"""Where a time lies in an Ogg Vorbis or Opus file, found from its pages' granule positions.

For the Ogg file whose length libVLC cannot tell (it looks for the last page in the last
64 KB, so something else appended after the audio hides it): libVLC then takes a seek
position as a fraction of the file's bytes, and this module tells which fraction holds
the asked time. A bisection over the file reads about 20 page headers.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

_PAGE = struct.Struct("<4sBBqIIIB")  # capture, version, type, granule, serial, seq, crc, segments
_SCAN = 65536 + _PAGE.size  # a page is at most 65,307 bytes: one is found in this much


def _page_at(file: BinaryIO, offset: int) -> tuple[int, int, int] | None:
    """The first page header at or after ``offset``: (its offset, granule, serial)."""
    file.seek(offset)
    data = file.read(_SCAN)
    at = data.find(b"OggS")
    while 0 <= at <= len(data) - _PAGE.size:
        _capture, version, _kind, granule, serial, _seq, _crc, _segments = _PAGE.unpack_from(
            data, at
        )
        if version == 0:
            return offset + at, granule, serial
        at = data.find(b"OggS", at + 1)
    return None


def _granule_rate(head: bytes) -> tuple[int, int, int] | None:
    """(serial, granules per second, granule of time zero) from the file's first page."""
    if len(head) < _PAGE.size or head[:4] != b"OggS":
        return None
    serial, segments = _PAGE.unpack_from(head)[4], head[26]
    packet = head[_PAGE.size + segments :]
    if packet[:7] == b"\x01vorbis" and len(packet) >= 16:
        rate = int.from_bytes(packet[12:16], "little")
        return (serial, rate, 0) if rate > 0 else None
    if packet[:8] == b"OpusHead" and len(packet) >= 12:
        return serial, 48000, int.from_bytes(packet[10:12], "little")  # pre-skip
    return None


def byte_fraction(path: str, seconds: float) -> float | None:
    """The fraction of the file's bytes where the page holding ``seconds`` begins (so
    playback from there starts at most one page early), or ``None`` when the file is not
    Ogg Vorbis or Opus, or cannot be read."""
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            stream = _granule_rate(file.read(_SCAN))
            if stream is None or size <= 0:
                return None
            serial, rate, zero = stream
            goal = zero + max(0.0, seconds) * rate
            # ``low`` starts a page whose granule is at most the goal; past ``high`` every
            # page ends after it, or there is no page of this stream at all.
            low, high = 0, size
            while high - low > 4096:
                middle = (low + high) // 2
                page = _page_at(file, middle)
                if page is None or page[2] != serial or page[0] >= high:
                    high = middle
                elif 0 <= page[1] <= goal:
                    low = page[0]
                elif page[1] > goal:
                    high = middle
                else:  # no packet ends in this page (granule -1): judge by the next one
                    nxt = _page_at(file, page[0] + 1)
                    if nxt is not None and nxt[2] == serial and 0 <= nxt[1] <= goal:
                        low = nxt[0]
                    else:
                        high = middle
            # The goal is in the first page that ends after it: libVLC plays from there.
            page = _page_at(file, low)
            for _ in range(64):
                if page is None or page[2] != serial:
                    break
                if page[1] > goal:
                    return page[0] / size
                page = _page_at(file, page[0] + 1)
            return low / size
    except OSError:
        return None
