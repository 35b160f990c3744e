"""Run the ``segue`` command line as a user does: a fresh interpreter, one library DB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def segue(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    """``segue --db DB ARGS...`` from the repository root, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "player", "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
