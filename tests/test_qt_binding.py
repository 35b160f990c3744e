"""The Qt binding itself must not crash a long listening session."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from PySide6.QtWidgets import QApplication, QLabel, QSlider
app = QApplication([])
label, slider = QLabel(), QSlider()
before = sys.getrefcount(None)
for i in range(20_000):  # what an hour of now-playing updates adds up to
    label.setText("0:01")
    slider.setValue(i % 100)
    label.setEnabled(True)
print(before - sys.getrefcount(None))
"""


def test_qt_calls_do_not_leak_references_to_none() -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to None on every call that
    returns nothing; once None's count reaches zero the interpreter aborts ("Fatal
    Python error: none_dealloc"), taking the app and the music with it."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-400:]
    assert abs(int(result.stdout.strip())) < 100
