"""Handing the heap that big, short-lived work freed back to the system."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import sys
from typing import Any


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or None where the C library is another (musl, macOS,
    Windows), which has none and nothing to do."""
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL("libc.so.6").malloc_trim
    return None


def release_freed_memory() -> None:
    """Hand the heap freed by an engine build (catalogue rows, log chunks: ~150 MB) or a
    replay of the log (millions of small allocations: ~130 MB after 60,000 plays over
    100,000 tracks) back to the system: glibc keeps freed heap mapped unless asked."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
