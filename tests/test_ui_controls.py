"""The now-playing bar and Up Next under the user's hands (pytest-qt, offscreen, real
widgets and the real session): what the user moves or selects stays put while the session
keeps publishing updates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt

from tests.test_ui import _isolated, _open, library_db, music  # noqa: F401


def _handle_centre(slider: Any) -> QPoint:
    from PySide6.QtWidgets import QStyle, QStyleOptionSlider

    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    rect = slider.style().subControlRect(
        QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, slider
    )
    return rect.center()


def test_the_discover_knob_stays_where_the_user_puts_it_while_updates_tick(
    qtbot: Any,
    library_db: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Music playing: the bar re-reads the session every 500 ms. A drag, a click on the
    groove and a change the busy session has not applied yet all survive those ticks, and
    the value sent is the one the user chose; a change from elsewhere still shows."""
    app = _open(qtbot, library_db)
    bar = app.window.nowbar
    knob = bar.discover
    session = app.window.bridge.session
    try:
        assert knob.value() == 30
        bar.tick.start()  # as while music plays
        # A drag: pressed on the handle, moved right, held across several ticks.
        start = _handle_centre(knob)
        qtbot.mousePress(knob, Qt.MouseButton.LeftButton, pos=start)
        assert knob.isSliderDown()
        qtbot.mouseMove(knob, QPoint(knob.width() - 4, start.y()))
        dragged = knob.value()
        assert dragged > 80
        app.window.bridge.refresh()  # a tick before the 150 ms debounce sends it
        assert knob.value() == dragged
        qtbot.wait(1300)  # two or three more ticks under the held mouse
        assert knob.value() == dragged
        qtbot.mouseRelease(knob, Qt.MouseButton.LeftButton, pos=QPoint(knob.width() - 4, start.y()))
        qtbot.waitUntil(lambda: round(app.state().discover * 100) == dragged, timeout=10_000)
        qtbot.wait(1100)
        assert knob.value() == dragged

        # A busy session: the change is sent but not applied for a while.
        held: list[float] = []
        apply = session.set_discover
        monkeypatch.setattr(session, "set_discover", held.append)
        knob.setValue(10)  # as a click on the groove or a wheel step does
        qtbot.waitUntil(lambda: held == [0.1])
        qtbot.wait(1100)  # ticks read the old value meanwhile
        assert round(app.state().discover * 100) == dragged
        assert knob.value() == 10
        apply(held[0])
        qtbot.waitUntil(lambda: round(app.state().discover * 100) == 10, timeout=10_000)
        qtbot.wait(600)
        assert knob.value() == 10 and held == [0.1]

        # Nobody touching it: a change from elsewhere shows.
        apply(0.55)
        qtbot.waitUntil(lambda: knob.value() == 55, timeout=10_000)
    finally:
        bar.tick.stop()
        app.window.shutdown()
        app.window.bridge.close()


def _upnext_ids(app: Any) -> list[int]:
    return [e.track.id for e in app.state().upnext]


def _click_row(qtbot: Any, panel: Any, row: int) -> None:
    rect = panel.list.visualItemRect(panel.list.item(row))
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _highlighted(panel: Any) -> int | None:
    item = panel.list.currentItem()
    return None if item is None else item.data(Qt.ItemDataRole.UserRole + 10).track.id


def test_up_next_keeps_the_highlight_on_the_song_and_acts_on_that_song(
    qtbot: Any,
    library_db: Path,  # noqa: F811
) -> None:
    """The list changes under the highlight (a re-rank, another view's command): the
    highlight follows the song, and Remove / Less like this act on it, not on whatever
    now sits at that row; once the song left the list nothing is highlighted and the
    buttons do nothing."""
    app = _open(qtbot, library_db)
    panel = app.window.upnext
    session = app.session
    try:
        a, b, c, d = (app.model.track_id(r) for r in range(4))
        session.set_autofill(False)
        for track_id in (a, b, c, d):
            session.enqueue(track_id)
        qtbot.waitUntil(lambda: _upnext_ids(app) == [a, b, c, d])
        _click_row(qtbot, panel, 1)
        assert _highlighted(panel) == b

        session.move(d, 0)  # the list changes under the highlight
        qtbot.waitUntil(lambda: _upnext_ids(app) == [d, a, b, c])
        assert panel.list.currentRow() == 2 and _highlighted(panel) == b
        steered: list[int] = []
        less = session.less_like_this
        session.less_like_this = steered.append  # type: ignore[method-assign]
        try:
            qtbot.mouseClick(panel.less, Qt.MouseButton.LeftButton)
        finally:
            session.less_like_this = less  # type: ignore[method-assign]
        assert steered == [b]
        qtbot.mouseClick(panel.remove, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: _upnext_ids(app) == [d, a, c])
        assert _highlighted(panel) is None  # the song left: nothing highlighted

        _click_row(qtbot, panel, 2)
        assert _highlighted(panel) == c
        session.remove(c)  # gone by another way (it played, another view removed it)
        qtbot.waitUntil(lambda: _upnext_ids(app) == [d, a])
        assert _highlighted(panel) is None
        qtbot.mouseClick(panel.remove, Qt.MouseButton.LeftButton)
        session.remove(c)  # a command for a track no longer up next: nothing happens
        session.move(c, 0)
        session.wait_idle()
        assert _upnext_ids(app) == [d, a]
    finally:
        app.window.shutdown()
        app.window.bridge.close()


def test_an_up_next_menu_acts_on_its_song_when_the_list_changes_while_it_is_open(
    qtbot: Any,
    library_db: Path,  # noqa: F811
) -> None:
    app = _open(qtbot, library_db)
    panel = app.window.upnext
    session = app.session
    try:
        a, b, c = (app.model.track_id(r) for r in range(3))
        session.set_autofill(False)
        for track_id in (a, b, c):
            session.enqueue(track_id)
        qtbot.waitUntil(lambda: _upnext_ids(app) == [a, b, c])
        menu = panel.menu_for(panel.list.visualItemRect(panel.list.item(1)).center())
        actions = {action.text(): action for action in menu.actions()}
        session.move(c, 0)  # a re-rank while the menu is open
        qtbot.waitUntil(lambda: _upnext_ids(app) == [c, a, b])
        actions["Remove"].trigger()
        qtbot.waitUntil(lambda: _upnext_ids(app) == [c, a])
        actions["Play now"].trigger()  # the menu's song, though it left Up Next
        qtbot.waitUntil(
            lambda: app.state().now_playing is not None and app.state().now_playing.id == b
        )
        assert _upnext_ids(app) == [c, a]
    finally:
        app.window.shutdown()
        app.window.bridge.close()


def _drop(panel: Any, pos: QPoint) -> None:
    """Drop the dragged entry at ``pos``. The offscreen platform's QDrag ends at once
    (no drag session, and a drop event sent without one never reaches the view), so
    the drop, as Qt builds it, is handed to the list's handler itself."""
    from PySide6.QtGui import QDropEvent

    event = QDropEvent(
        QPointF(pos),
        Qt.DropAction.MoveAction,
        panel.list.mimeData([panel.list.currentItem()]),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    panel.list.dropEvent(event)


def test_dragging_a_pick_down_up_next_puts_it_where_it_was_dropped(
    qtbot: Any,
    library_db: Path,  # noqa: F811
) -> None:
    """The first automatic pick dragged down to the line between the fourth and fifth
    rows (the upper half of the fifth, where Qt draws the drop line): it plays fourth,
    pinned there with the picks it passed, and the highlight stays on it."""
    pytest.importorskip("player.recommend")
    app = _open(qtbot, library_db)
    panel = app.window.upnext
    try:
        app.session.play_track(app.model.track_id(0))
        qtbot.waitUntil(lambda: len(app.state().upnext) >= 5, timeout=20_000)
        app.session.wait_idle()
        qtbot.waitUntil(lambda: _upnext_ids(app) == _panel_ids(panel))
        before = _upnext_ids(app)
        assert not any(e.pinned for e in app.state().upnext)
        _click_row(qtbot, panel, 0)
        rect = panel.list.visualItemRect(panel.list.item(4))
        _drop(panel, QPoint(rect.center().x(), rect.top() + 2))
        expected = [*before[1:4], before[0]]
        qtbot.waitUntil(lambda: _upnext_ids(app)[:4] == expected, timeout=10_000)
        assert [e.pinned for e in app.state().upnext[:4]] == [True] * 4
        assert _highlighted(panel) == before[0] and panel.list.currentRow() == 3

        # Back up: dropped on the upper half of the first row, it plays first again.
        rect = panel.list.visualItemRect(panel.list.item(0))
        _drop(panel, QPoint(rect.center().x(), rect.top() + 2))
        qtbot.waitUntil(lambda: _upnext_ids(app)[:4] == [before[0], *before[1:4]])
        assert _highlighted(panel) == before[0] and panel.list.currentRow() == 0
    finally:
        app.window.shutdown()
        app.window.bridge.close()


def _panel_ids(panel: Any) -> list[int]:
    return [
        panel.list.item(r).data(Qt.ItemDataRole.UserRole + 10).track.id
        for r in range(panel.list.count())
    ]
