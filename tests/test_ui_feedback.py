"""What the app tells the user and how it draws it (pytest-qt, offscreen, real widgets and
the real session): results in one line, counted with the right words, text that fits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from tests.test_ui import App, _isolated, _open, app, library_db, music  # noqa: F401


def test_exporting_a_playlist_says_how_it_went_in_one_line(
    qtbot: Any,
    app: App,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtWidgets import QInputDialog

    from player.ui import filedialogs

    window = app.window
    ids = [app.model.track_id(r) for r in (3, 4, 5)]
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Road trip", True))
    window.add_to_playlist(ids)
    window.select_view("playlist:user:Road trip")
    page = window.playlist_page
    qtbot.waitUntil(lambda: page.ids() == ids, timeout=20000)

    unwritable = tmp_path / "no such folder" / "Road trip.m3u8"
    monkeypatch.setattr(filedialogs, "save_file", lambda *a, **k: str(unwritable))
    page.export_button.click()
    qtbot.waitUntil(lambda: "Could not export" in window.message.text())
    assert window.message.text() == (
        f"Could not export 'Road trip' to {unwritable}: No such file or directory"
    )

    target = tmp_path / "Road trip.m3u8"
    monkeypatch.setattr(filedialogs, "save_file", lambda *a, **k: str(target))
    page.export_button.click()
    qtbot.waitUntil(lambda: "Exported" in window.message.text())
    assert window.message.text() == f"Exported 'Road trip' (3 songs) to {target}"
    assert target.read_text().count(".flac") == 3
