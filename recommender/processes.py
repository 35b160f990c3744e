"""Helper processes that must not outlive the process they work for."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def end_with_parent(parent: int) -> None:
    """Called first thing in a child process: it is ended (SIGTERM) when its parent
    ``parent`` dies, killed included (Linux's parent-death signal; elsewhere nothing), and
    ends at once if that parent is already gone."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(1)
