"""The heap that big, short-lived work freed (an engine build, a replay of the log) goes
back to the system, so the app does not carry it while music plays."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# ~195 MB of small arrays (malloc's heap, not their own mappings), one in 64 kept alive so
# the freed heap is in holes that glibc does not hand back by itself.
CHURN = """
import os
import numpy as np
from recommender.memory import release_freed_memory

def rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

chunks = [np.ones(4096, np.uint8) for _ in range(50_000)]
kept = chunks[::64]
del chunks
before = rss_mb()
release_freed_memory()
print(before, rss_mb())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_heap_goes_back_to_the_system() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHURN], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    before, after = map(float, result.stdout.split())
    assert before - after > 120, (before, after)
