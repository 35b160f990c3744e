"""The Up Next panel: what plays after this song, and why.

Pinned entries (placed by the user) carry a pin; automatic entries (chosen by the
recommender) show their reason under the title. Drag to reorder; remove, "more like
this" and "less like this" from the buttons, the context menu or the keyboard.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from player.ui.icons import icon, muted_text, pixmap

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 10


def entries(state: Any) -> list[Any]:
    return list(getattr(state, "upnext", ()) or ()) if state is not None else []


class _Delegate(QStyledItemDelegate):
    def sizeHint(self, option, index) -> QSize:
        entry = index.data(ENTRY_ROLE)
        if entry is None:
            return QSize(200, 10 + option.fontMetrics.height())
        lines = 1 + bool(entry.track.artist) + bool(not entry.pinned and entry.reason)
        return QSize(200, 10 + lines * option.fontMetrics.height())

    def paint(self, painter, option, index: QModelIndex) -> None:
        entry = index.data(ENTRY_ROLE)
        self.initStyleOption(option, index)
        option.text = ""
        style = option.widget.style() if option.widget else None
        if style:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        if entry is None:
            return
        pal = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        text_color = pal.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        dim = muted_text(pal)
        if selected:
            dim = text_color
        r = option.rect.adjusted(10, 5, -10, -5)
        pinned = bool(getattr(entry, "pinned", False))
        fm = option.fontMetrics
        h = fm.height()
        badge = QRect(r.left(), r.top() + 2, 16, 16)
        if pinned:
            painter.drawPixmap(badge, pixmap("pin", 16, dim))
        else:
            painter.drawPixmap(
                badge, pixmap("sparkle", 16, pal.color(QPalette.ColorRole.Highlight))
            )
        x = r.left() + 24
        width = r.right() - x
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.save()
        painter.setFont(bold)
        bfm = QFontMetrics(bold)
        painter.setPen(text_color)
        title = entry.track.title or "Untitled"
        painter.drawText(
            QRect(x, r.top(), width, h),
            Qt.AlignmentFlag.AlignLeft,
            bfm.elidedText(title, Qt.TextElideMode.ElideRight, width),
        )
        painter.setFont(option.font)
        painter.setPen(dim)
        painter.drawText(
            QRect(x, r.top() + h, width, h),
            Qt.AlignmentFlag.AlignLeft,
            fm.elidedText(entry.track.artist or "", Qt.TextElideMode.ElideRight, width),
        )
        reason = None if pinned else entry.reason
        if reason:
            italic = QFont(option.font)
            italic.setItalic(True)
            painter.setFont(italic)
            painter.setPen(text_color if selected else pal.color(QPalette.ColorRole.Highlight))
            painter.drawText(
                QRect(x, r.top() + (2 if entry.track.artist else 1) * h, width, h),
                Qt.AlignmentFlag.AlignLeft,
                QFontMetrics(italic).elidedText(str(reason), Qt.TextElideMode.ElideRight, width),
            )
        painter.restore()


class _List(QListWidget):
    def __init__(self, panel: UpNextPanel) -> None:
        super().__init__()
        self.panel = panel

    def dropEvent(self, event) -> None:
        # The session owns the order: ask it to move the entry, and redraw from its update.
        src = self.currentRow()
        dst = self.drop_row(src, event.position().toPoint())
        event.setDropAction(Qt.DropAction.IgnoreAction)
        event.accept()
        if src >= 0 and dst >= 0 and src != dst:
            self.panel.move_entry(src, dst)

    def drop_row(self, src: int, pos: QPoint) -> int:
        """The row the entry at ``src`` ends up at when dropped at ``pos``: above the
        entry under the mouse in its upper half, below it in its lower half (where Qt
        draws the drop line), last below the list."""
        index = self.indexAt(pos)
        if index.isValid():
            rect = self.visualRect(index)
            gap = index.row() + (pos.y() >= rect.center().y())
        else:
            gap = self.count()
        return gap - 1 if src < gap else gap


class UpNextPanel(QWidget):
    def __init__(self, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Set by the window: adds the track actions (Song info, ...) to the menu.
        self.track_actions: Any = None
        self.bridge = bridge
        self.session = bridge.session
        self.setObjectName("UpNext")
        title = QLabel("Up Next")
        title.setObjectName("PanelTitle")
        self.summary = QLabel()
        self.summary.setObjectName("Small")
        self.list = _List(self)
        self.list.setObjectName("UpNextList")
        self.list.setItemDelegate(_Delegate(self.list))
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemDoubleClicked.connect(self._play)
        self._selected_key: tuple[int, int] | None = None  # (track id, uid) highlighted
        self._rebuilding = False
        self.list.currentItemChanged.connect(self._current_changed)
        self.empty = QLabel(
            "Play a song and Segue lines up what fits next, with the reason for each pick."
        )
        self.empty.setWordWrap(True)
        self.empty.setObjectName("Empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        def btn(name: str, tip: str, slot) -> QToolButton:
            b = QToolButton()
            b.setIcon(icon(name))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.setObjectName(f"upnext-{name}")
            b.clicked.connect(slot)
            return b

        self.more = btn("more-like", "More like this", lambda: self._act("more"))
        self.less = btn("less-like", "Less like this", lambda: self._act("less"))
        self.remove = btn("remove", "Remove from Up Next (Delete)", lambda: self._act("remove"))
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        for b in (self.more, self.less, self.remove):
            head.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty, 1)
        bridge.changed.connect(self.show_state)
        self.show_state("init", bridge.state)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self._act("remove")
        else:
            super().keyPressEvent(event)

    def show_state(self, kind: str, state: Any) -> None:
        if kind == "tick":
            return
        items = entries(state)
        current = [self.list.item(i).data(ENTRY_ROLE) for i in range(self.list.count())]
        if current != items:
            # The highlight stays on the same song wherever the re-rank put it (cleared
            # when it left the list): the buttons act on what the user picked.
            row = self._row_of(items, self._selected_key)
            self._rebuilding = True
            try:
                self.list.clear()
                for entry in items:
                    item = QListWidgetItem()
                    item.setData(ENTRY_ROLE, entry)
                    reason = getattr(entry, "reason", None)
                    pinned = getattr(entry, "pinned", False)
                    item.setToolTip(
                        "You placed this" if pinned else f"Picked for you: {reason or 'similar'}"
                    )
                    self.list.addItem(item)
                self.list.setCurrentRow(-1 if row is None else row)
            finally:
                self._rebuilding = False
            if row is None:
                self._selected_key = None
        self.list.setVisible(bool(items))
        self.empty.setVisible(not items)
        pinned = sum(1 for e in items if getattr(e, "pinned", False))
        auto = len(items) - pinned
        self.summary.setText(f"{pinned} queued by you · {auto} picked for you" if items else "")
        for b in (self.more, self.less, self.remove):
            b.setEnabled(bool(items))

    @staticmethod
    def _row_of(items: list[Any], key: tuple[int, int] | None) -> int | None:
        """The row of the entry ``key`` (track id, uid) names: that very entry if it is
        still there, else the first entry of the same track, else None."""
        if key is None:
            return None
        track_id, uid = key
        rows = [r for r, e in enumerate(items) if e.track.id == track_id]
        return next((r for r in rows if items[r].uid == uid), rows[0] if rows else None)

    def _current_changed(self, item: QListWidgetItem | None, _previous: Any) -> None:
        if self._rebuilding:
            return
        entry = item.data(ENTRY_ROLE) if item is not None else None
        self._selected_key = None if entry is None else (entry.track.id, entry.uid)

    def move_entry(self, src: int, dst: int) -> None:
        """Move the entry shown at row ``src`` to row ``dst``; the highlight goes with it."""
        item = self.list.item(src)
        entry = item.data(ENTRY_ROLE) if item is not None else None
        if entry is None:
            return
        self.list.setCurrentItem(item)
        self._selected_key = (entry.track.id, entry.uid)
        self.session.move(entry.track.id, dst, entry.uid)

    def _selected(self) -> Any:
        item = self.list.currentItem()
        return item.data(ENTRY_ROLE) if item is not None else None

    def _act(self, what: str, entry: Any = None) -> None:
        """Remove, "more" or "less" for ``entry`` (a menu's), else the highlighted one."""
        entry = entry if entry is not None else self._selected()
        if entry is None:
            return
        if what == "remove":
            self.session.remove(entry.track.id, entry.uid)
        elif what == "more":
            self.session.more_like_this(entry.track.id)
        elif what == "less":
            self.session.less_like_this(entry.track.id)

    def _play(self, item: QListWidgetItem) -> None:
        entry = item.data(ENTRY_ROLE)
        if entry is not None:
            self.session.play_track(entry.track.id)

    def _menu(self, pos) -> None:
        menu = self.menu_for(pos)
        if menu is not None:
            menu.exec(self.list.viewport().mapToGlobal(pos))

    def menu_for(self, pos) -> QMenu | None:
        """The context menu of the entry at ``pos`` (None: no entry there)."""
        item = self.list.itemAt(pos)
        if item is None:
            return None
        entry = item.data(ENTRY_ROLE)
        if entry is None:
            return None
        self.list.setCurrentItem(item)
        # The actions are for this song, whatever the list shows by the time one is
        # picked (a re-rank while the menu is open moves rows, not the menu's song).
        menu = QMenu(self)
        menu.addAction("Play now", lambda: self.session.play_track(entry.track.id))
        menu.addAction(icon("more-like"), "More like this", lambda: self._act("more", entry))
        menu.addAction(icon("less-like"), "Less like this", lambda: self._act("less", entry))
        menu.addSeparator()
        menu.addAction(icon("remove"), "Remove", lambda: self._act("remove", entry))
        if self.track_actions is not None:
            self.track_actions(menu, entry.track.id)  # Song info, Show in folder, Go to …
        return menu
