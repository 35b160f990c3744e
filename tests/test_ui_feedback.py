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


def test_taste_map_region_labels_fit_the_map_and_keep_off_the_dots(qtbot: Any) -> None:
    """A long region name at the map's right edge is shortened with "…" and stays left
    of the legend and inside the map; a label whose region sits on a dot moves to a free
    spot beside it; no two labels overlap."""
    from PySide6.QtGui import QFontMetricsF

    from player.ui.charts import MapPoint, TasteMap

    taste = TasteMap()
    qtbot.addWidget(taste)
    taste.resize(640, 420)
    points = [MapPoint(i, f"Song {i}", "Someone", "Jazz", 0) for i in range(5)]
    xy = [(0.0, 0.0), (-0.5, -0.5), (0.5, -0.5), (-0.5, 0.5), (0.95, 0.9)]
    long_name = "Indie Rock & Experimental Electronica & Post-Everything"
    regions = [("Jazz", (0.0, 0.0)), (long_name, (1.0, 0.0)), ("Folk", (0.02, 0.0))]
    taste.set_data(points, xy, regions)
    taste.show()
    qtbot.waitExposed(taste)
    taste.grab()  # paints

    boxes = taste.label_boxes()
    shown_long, long_box = boxes[1]
    assert [shown for shown, _ in boxes] == ["Jazz", shown_long, "Folk"]
    assert shown_long.endswith("…") and shown_long[:-1] in long_name
    assert shown_long.startswith("Indie Rock")
    fm = QFontMetricsF(taste.label_font())
    assert fm.horizontalAdvance(shown_long) <= long_box.width()
    area = taste.rect()
    legend_left = taste.width() - min(150, int(taste.width() * 0.26))
    dots = [taste._pos(i) for i in range(len(points))]
    for _, box in boxes:
        assert area.contains(box.toAlignedRect())
        assert box.right() < legend_left  # never under the legend
        assert not any(box.contains(d) for d in dots)  # free spots were near
    for i, (_, a) in enumerate(boxes):
        assert not any(a.intersects(b) for _, b in boxes[i + 1 :])


def test_top_artists_and_tracks_show_their_labels_whole_when_there_is_room(
    qtbot: Any,
) -> None:
    """The label column is as wide as the labels need (the bars get the rest); a name
    too long for it is shortened with "…" and keeps its detail."""
    from player.library.listening_stats import Ranked
    from player.ui.charts import RankBars

    bars = RankBars()
    qtbot.addWidget(bars)
    bars.resize(340, 200)  # half of the stats page in a 1280 px window
    long_name = "The Extraordinarily Long-Named Philharmonic Orchestra of Somewhere"
    bars.set_items([Ranked("Kevin MacLeod", "1 track", 4), Ranked(long_name, "12 tracks", 2)])
    bars.show()
    qtbot.waitExposed(bars)
    bars.grab()  # paints
    whole, shortened = bars.labels()
    assert whole == "Kevin MacLeod  ·  1 track"
    assert shortened.endswith("…  ·  12 tracks")
    assert shortened.split("…")[0] in long_name
    room = bars.label_width() - 8
    assert bars.fontMetrics().horizontalAdvance(shortened) <= room
    assert bars.width() - bars.label_width() >= 48 + bars.BAR_ROOM  # the bars keep room


LONG_ALBUM = "The Extraordinarily Long Album Title That Goes On And On Forever"
LONG_ARTIST = "The Extraordinarily Long-Named Philharmonic Orchestra"


@pytest.fixture
def long_names_db(tmp_path: Path) -> Path:
    from player.library import open_library
    from tests.audiogen import tag, write_audio
    from tests.scanhelp import scan

    folder = tmp_path / "long"
    for i in range(3):
        path = write_audio(folder / f"{i + 1:02} Part {i + 1}.flac", seconds=0.5, freq=300 + 50 * i)
        tag(path, title=f"Part {i + 1}", artist=LONG_ARTIST, album=LONG_ALBUM, genre="Classical")
    db_path = tmp_path / "long.db"
    with open_library(db_path) as db:
        scan(db, folder)
    return db_path


def _drawn_texts(delegate: Any, view: Any, width: int) -> list[tuple[str, int, int]]:
    """Paint the first row of ``view`` with ``delegate`` into ``width`` px; each text as
    (text, its width in the font it was drawn in, the width of its box)."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QFontMetrics, QPainter, QPixmap
    from PySide6.QtWidgets import QStyleOptionViewItem

    drawn: list[tuple[str, int, int]] = []

    class Recorder(QPainter):
        def drawText(self, *args: Any) -> None:  # type: ignore[override]
            if len(args) == 3 and isinstance(args[2], str):
                box, _, text = args
                drawn.append((text, QFontMetrics(self.font()).horizontalAdvance(text), box.width()))
            super().drawText(*args)

    index = view.model().index(0, 0)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.font = view.font()
    option.fontMetrics = view.fontMetrics()
    height = delegate.sizeHint(option, index).height()
    option.rect = QRect(0, 0, width, height)
    target = QPixmap(width, height)
    painter = Recorder(target)
    delegate.paint(painter, option, index)
    painter.end()
    return drawn


def test_album_and_artist_names_too_long_end_in_an_ellipsis_that_fits(
    qtbot: Any,
    long_names_db: Path,
) -> None:
    """Album titles are drawn bold: shortened by the bold font's measure, so they end in
    "…" instead of being cut mid-letter; the artists' counts line is shortened too."""
    opened = _open(qtbot, long_names_db)
    window = opened.window
    try:
        window.select_view("albums")
        qtbot.waitUntil(lambda: window.albums_model.rowCount() == 1)
        texts = _drawn_texts(window.albums.itemDelegate(), window.albums, 176)
        title, by = texts  # the title (bold), then artist and year
        assert title[0].startswith("The Extraordinarily") and title[0].endswith("…")
        assert title[1] <= title[2]  # the bold text fits its box
        assert by[0].endswith("…") and by[1] <= by[2]

        window.select_view("artists")
        qtbot.waitUntil(lambda: window.artists_model.rowCount() == 1)
        texts = _drawn_texts(window.artists.itemDelegate(), window.artists, 150)
        assert len(texts) == 3  # initials, name, counts
        for text, width, room in texts[1:]:
            assert text.endswith("…") and width <= room
    finally:
        window.shutdown()
        window.bridge.close()


def test_first_run_lists_a_music_folder_once_however_it_is_added_again(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """~/Music is suggested (shown as "~/Music"); choosing it again in the folder dialog,
    even with a trailing slash, checks it instead of listing it twice."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    from player.ui import filedialogs
    from player.ui.onboarding import OnboardingPage

    home = tmp_path / "home"
    (home / "Music").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    page = OnboardingPage()
    qtbot.addWidget(page)
    assert [page.folders.item(i).text() for i in range(page.folders.count())] == ["~/Music"]
    page.folders.item(0).setCheckState(Qt.CheckState.Unchecked)
    add = next(b for b in page.findChildren(QPushButton) if b.text() == "Add a folder…")
    for chosen in (str(home / "Music"), str(home / "Music") + "/"):
        monkeypatch.setattr(filedialogs, "choose_folder", lambda *a, c=chosen, **k: c)
        add.click()
    assert page.folders.count() == 1
    assert page.chosen() == [str(home / "Music")]  # checked again
    other = tmp_path / "more music"
    other.mkdir()
    monkeypatch.setattr(filedialogs, "choose_folder", lambda *a, **k: str(other))
    add.click()
    assert page.chosen() == [str(home / "Music"), str(other)]


def test_messages_count_songs_in_words_and_say_where_failed_analyses_are_listed(
    qtbot: Any,
    app: App,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtWidgets import QInputDialog

    window = app.window
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Evening mix", True))
    window.add_to_playlist([app.model.track_id(0)])
    qtbot.waitUntil(lambda: window.message.text() == "Added 1 song to 'Evening mix'")
    window.add_to_playlist([app.model.track_id(1), app.model.track_id(2)], "Evening mix")
    qtbot.waitUntil(lambda: window.message.text() == "Added 2 songs to 'Evening mix'")

    # As the analysis job reports when it is done:
    window._analysis_finished({"analysed": 1, "failed": 0}, None)
    assert window.message.text() == "Analysis finished: 1 song analysed"
    window._analysis_finished({"analysed": 12, "failed": 2}, None)
    text = window.message.text()
    assert text.startswith("Analysis finished: 12 songs analysed; 2 songs could not be analysed")
    assert "segue analyze --failures" in text
    assert "\n" not in text


@pytest.mark.parametrize("up_next", [240, 310])
def test_song_titles_keep_their_room_in_a_narrow_window(
    qtbot: Any,
    library_db: Path,  # noqa: F811
    up_next: int,
) -> None:
    """820 px wide, with Up Next as narrow as it goes or as wide as the reviewer had it
    (a table of about 330 px): every title shows whole (artist and album make room,
    the album column goes when there is none) and every column shown is on screen."""
    app = _open(qtbot, library_db, size=(820, 560))  # noqa: F811
    window = app.window
    try:
        window.upnext.setMinimumWidth(up_next)
        qtbot.waitUntil(lambda: window.width() == 820 and window.splitter.sizes()[2] == up_next)
        table, hh = window.table, window.table.horizontalHeader()
        fm = table.fontMetrics()
        for row in range(app.model.rowCount()):
            title = app.model.index(row, 1).data()
            assert fm.horizontalAdvance(title) + 12 <= hh.sectionSize(1), title
        shown = [c for c in range(hh.count()) if not table.isColumnHidden(c)]
        assert 2 in shown and all(hh.sectionSize(c) >= 60 for c in shown if c != 0)
        right = max(hh.sectionViewportPosition(c) + hh.sectionSize(c) for c in shown)
        assert right <= table.viewport().width() + 1
    finally:
        window.shutdown()
        window.bridge.close()


def test_taste_map_places_its_labels_once_until_the_data_or_size_changes(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The map repaints on every hover change: the region labels are placed once per data
    change or resize, not on every paint; crowded regions still get labels that do not
    overlap; hovering finds the dot under the mouse at the current size."""
    import random

    from PySide6.QtCore import QPointF

    from player.ui.charts import MapPoint, TasteMap

    taste = TasteMap()
    qtbot.addWidget(taste)
    taste.resize(640, 420)
    rng = random.Random(7)
    points = [MapPoint(i, f"Song {i}", "Someone", "Jazz", 0) for i in range(600)]
    xy = [(rng.uniform(-1, 1), rng.uniform(-1, 1)) for _ in points]
    xy[0] = (-0.8, 0.8)  # a dot in a corner, to hover
    # Twelve regions, most of them crowded into the middle of the map.
    regions = [(f"Region {k}", (rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3))) for k in range(12)]
    taste.set_data(points, xy, regions)
    placed = 0
    place = taste._place_labels

    def counting(font: Any) -> Any:
        nonlocal placed
        placed += 1
        return place(font)

    monkeypatch.setattr(taste, "_place_labels", counting)
    taste.show()
    qtbot.waitExposed(taste)

    def check_labels(least: int = 6) -> list[Any]:
        boxes = taste.label_boxes()
        assert len(boxes) >= least  # the crowd is labelled, not left bare
        inside = taste.rect()
        legend_left = taste.width() - min(150, int(taste.width() * 0.26))
        for i, (_, a) in enumerate(boxes):
            assert inside.contains(a.toAlignedRect()) and a.right() < legend_left
            assert not any(a.intersects(b) for _, b in boxes[i + 1 :])
        return boxes

    first = check_labels()
    for _ in range(3):
        taste.grab()
    corner = taste._pos(0)
    qtbot.mouseMove(taste, corner.toPoint())
    qtbot.waitUntil(lambda: taste.hover == 0)
    taste.grab()  # repaints with the hovered dot
    qtbot.mouseMove(taste, (corner + QPointF(200, 150)).toPoint())
    qtbot.waitUntil(lambda: taste.hover != 0)
    taste.grab()
    assert placed == 1
    assert [(s, b.getRect()) for s, b in taste.label_boxes()] == [
        (s, b.getRect()) for s, b in first
    ]

    taste.resize(900, 600)
    taste.grab()
    check_labels()
    taste.grab()
    assert placed == 2
    moved = taste._pos(0)
    assert moved != corner  # the dot moved with the resize, and hovering follows it
    qtbot.mouseMove(taste, moved.toPoint())
    qtbot.waitUntil(lambda: taste.hover == 0)

    taste.set_data(points[:300], xy[:300], regions[:4])
    taste.grab()
    taste.grab()
    assert placed == 3
    assert [s for s, _ in check_labels(4)] == [name for name, _ in regions[:4]]
