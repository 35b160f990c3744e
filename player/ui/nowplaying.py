"""The now-playing bar: cover, title and artist, like/dislike, transport, seek, volume,
shuffle, repeat and the "familiar <-> discover" slider."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QPainter, QPainterPath, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from player.ui.icons import icon, pixmap
from player.ui.models import fmt_time

LIKED = "#e0457b"
# How long a knob change sent to a busy session may take to show in its state before
# the state is trusted again.
DISCOVER_PENDING_S = 10.0
_REPEAT_NEXT = {"off": "all", "all": "one", "one": "off"}


def rounded_cover(pm: QPixmap | None, size: int) -> QPixmap:
    """The cover with rounded corners, or a quiet placeholder tile with a note."""
    ratio = pm.devicePixelRatio() if pm is not None else 2.0
    out = QPixmap(int(size * ratio), int(size * ratio))
    out.setDevicePixelRatio(ratio)
    out.fill(Qt.GlobalColor.transparent)
    p = QPainter(out)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    path = QPainterPath()
    path.addRoundedRect(QRectF(0, 0, size, size), 6, 6)
    p.setClipPath(path)
    if pm is not None and not pm.isNull():
        p.drawPixmap(QRectF(0, 0, size, size), pm, QRectF(pm.rect()))
    else:
        pal = QGuiApplication.palette()
        p.fillPath(path, pal.color(QPalette.ColorRole.Mid).lighter(125))
        note = pixmap("song", size // 2, pal.color(QPalette.ColorRole.Base), ratio)
        p.drawPixmap(QRectF(size / 4, size / 4, size / 2, size / 2), note, QRectF(note.rect()))
    p.end()
    return out


class SeekSlider(QSlider):
    """A slider that jumps to where it is clicked (then drags as usual)."""

    jumped = Signal(int)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.maximum() > 0:
            opt = QStyleOptionSlider()
            self.initStyleOption(opt)
            handle = self.style().subControlRect(
                QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self
            )
            if not handle.contains(event.position().toPoint()):
                span = max(1, self.width() - handle.width())
                x = int(event.position().x() - handle.width() / 2)
                value = QStyle.sliderValueFromPosition(
                    self.minimum(), self.maximum(), max(0, x), span
                )
                self.setValue(value)
                self.jumped.emit(value)
        super().mousePressEvent(event)


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when it does not fit."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._full = text
        self.setMinimumWidth(40)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def text(self) -> str:  # the full text, as set
        return self._full

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(
            self._full, Qt.TextElideMode.ElideRight, max(10, self.width())
        )
        QLabel.setText(self, shown)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()


def _button(name: str, tip: str, size: int = 20, checkable: bool = False) -> QToolButton:
    b = QToolButton()
    b.setIcon(icon(name))
    b.setIconSize(QSize(size, size))
    b.setToolTip(tip)
    b.setAutoRaise(True)
    b.setCheckable(checkable)
    b.setObjectName(name)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return b


def now_playing(state: Any) -> Any:
    return getattr(state, "now_playing", None) if state is not None else None


def track_id_of(track: Any) -> int | None:
    return getattr(track, "id", None) if track is not None else None


class NowPlayingBar(QFrame):
    cover_wanted = Signal(str)

    def __init__(self, bridge, covers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge, self.covers = bridge, covers
        self.setObjectName("NowPlayingBar")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._seeking = False
        self._path: str | None = None

        self.cover = QLabel()
        self.cover.setFixedSize(64, 64)
        self.cover.setObjectName("Cover")
        self.cover.setScaledContents(True)
        self.title = ElidedLabel("Nothing playing")
        self.title.setObjectName("NowTitle")
        self.artist = ElidedLabel("Pick a song, and good music keeps coming")
        self.artist.setObjectName("NowArtist")
        self.like = _button("like", "Like (Ctrl+L)", 18, checkable=True)
        self.dislike = _button(
            "dislike", "Dislike: never pick this again, and skip it", 18, checkable=True
        )
        self.note = QLabel()
        self.note.setObjectName("PlaybackNote")
        self.note.setWordWrap(True)
        self.note.hide()

        info = QVBoxLayout()
        info.setSpacing(2)
        info.addStretch(1)
        info.addWidget(self.title)
        info.addWidget(self.artist)
        info.addWidget(self.note)
        info.addStretch(1)
        left = QHBoxLayout()
        left.setSpacing(12)
        left.addWidget(self.cover)
        left.addLayout(info, 1)
        left.addWidget(self.like)
        left.addWidget(self.dislike)

        self.shuffle = _button("shuffle", "Shuffle what you queued", 18, checkable=True)
        self.previous = _button("previous", "Previous (Ctrl+Left)", 22)
        self.play = _button("play", "Play / pause (Space)", 30)
        self.play.setObjectName("PlayButton")
        self.next = _button("next", "Next (Ctrl+Right)", 22)
        self.repeat = _button("repeat", "Repeat: off", 18, checkable=True)
        self._repeat_mode = "off"
        transport = QHBoxLayout()
        transport.setSpacing(10)
        transport.addStretch(1)
        for w in (self.shuffle, self.previous, self.play, self.next, self.repeat):
            transport.addWidget(w)
        transport.addStretch(1)
        self.elapsed = QLabel("0:00")
        self.remaining = QLabel("0:00")
        for label in (self.elapsed, self.remaining):
            label.setObjectName("Time")
            label.setMinimumWidth(40)
        self.elapsed.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.seek = SeekSlider(Qt.Orientation.Horizontal)
        self.seek.setObjectName("Seek")
        self.seek.setRange(0, 0)
        self.seek.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        seekrow = QHBoxLayout()
        seekrow.addWidget(self.elapsed)
        seekrow.addWidget(self.seek, 1)
        seekrow.addWidget(self.remaining)
        centre = QVBoxLayout()
        centre.setSpacing(2)
        centre.addLayout(transport)
        centre.addLayout(seekrow)

        self.mute = _button("volume", "Mute", 18, checkable=True)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(100)
        self.volume.setFixedWidth(96)
        self.volume.setToolTip("Volume")
        self.volume.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.discover = QSlider(Qt.Orientation.Horizontal)
        self.discover.setRange(0, 100)
        self.discover.setFixedWidth(120)
        self.discover.setToolTip("How adventurous Up Next is: familiar favourites or discoveries")
        self.discover.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        familiar, disc = QLabel("Familiar"), QLabel("Discover")
        for label in (familiar, disc):
            label.setObjectName("Small")
        right = QVBoxLayout()
        right.setSpacing(6)
        vol = QHBoxLayout()
        vol.addStretch(1)
        vol.addWidget(self.mute)
        vol.addWidget(self.volume)
        mix = QHBoxLayout()
        mix.addStretch(1)
        mix.addWidget(familiar)
        mix.addWidget(self.discover)
        mix.addWidget(disc)
        right.addLayout(vol)
        right.addLayout(mix)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 16, 10)
        layout.setSpacing(18)
        # The volume and the knob keep their fixed size: what is left goes to the song's
        # title (so a narrow window still shows it) and the seek bar.
        layout.addLayout(left, 5)
        layout.addLayout(centre, 4)
        layout.addLayout(right, 0)

        s = bridge.session
        self.play.clicked.connect(s.toggle_pause)
        self.next.clicked.connect(s.next)
        self.previous.clicked.connect(s.previous)
        self.like.clicked.connect(self._like_clicked)
        self.dislike.clicked.connect(self._dislike_clicked)
        self.shuffle.toggled.connect(lambda on: s.set_shuffle(bool(on)))
        self.repeat.clicked.connect(self._cycle_repeat)
        self.mute.toggled.connect(lambda on: s.set_muted(bool(on)))
        self.volume.valueChanged.connect(lambda v: s.set_volume(v / 100.0))
        self.discover.valueChanged.connect(self._discover_moved)
        self.seek.sliderPressed.connect(lambda: setattr(self, "_seeking", True))
        self.seek.sliderReleased.connect(self._seek_released)
        self.seek.jumped.connect(lambda v: s.seek(v / 10.0))
        self.seek.sliderMoved.connect(lambda v: self.elapsed.setText(fmt_time(v / 10.0)))
        self._discover_timer = QTimer(self, singleShot=True, interval=150)
        self._discover_timer.timeout.connect(self._send_discover)
        self.discover.sliderReleased.connect(self._discover_timer.start)
        bridge.changed.connect(self.show_state)
        covers.ready.connect(self._cover_ready)
        self.tick = QTimer(self, interval=500)
        self.tick.timeout.connect(bridge.refresh)
        self.show_state("init", bridge.state)

    def _track_id(self) -> int | None:
        np = now_playing(self.bridge.state)
        return track_id_of(np)

    def _like_clicked(self) -> None:
        # The button shows the state; the session decides (like, or take the like back).
        liked = bool(getattr(self.bridge.state, "liked", False))
        track_id = self._track_id()
        if liked:
            self.bridge.session.unlike(track_id)
        else:
            self.bridge.session.like(track_id)
        self.like.setChecked(liked)

    def _dislike_clicked(self) -> None:
        # Playing a banned song on purpose shows the ban; a click here lifts it.
        disliked = bool(getattr(self.bridge.state, "disliked", False))
        track_id = self._track_id()
        if disliked:
            self.bridge.session.undislike(track_id)
        else:
            self.bridge.session.dislike(track_id)
        self.dislike.setChecked(disliked)

    def _discover_moved(self, _value: int) -> None:
        if not self._updating:
            self._discover_timer.start()

    def _send_discover(self) -> None:
        value = self.discover.value()
        self._discover_sent = (value, time.monotonic())
        self.bridge.session.set_discover(value / 100.0)

    def _show_discover(self, value: int) -> None:
        """The session's knob, unless the user is moving it or a change is on its way:
        the 500 ms ticks must not pull the handle back from under the mouse (nor may the
        debounce then send the value a tick put back)."""
        sent = self._discover_sent
        if sent is not None and (
            value == sent[0] or time.monotonic() - sent[1] > DISCOVER_PENDING_S
        ):
            self._discover_sent = sent = None  # the session has it (or never will)
        if self.discover.isSliderDown() or self._discover_timer.isActive() or sent is not None:
            return
        self.discover.setValue(value)

    def _cycle_repeat(self) -> None:
        mode = _REPEAT_NEXT.get(self._repeat_mode, "off")
        self.bridge.session.set_repeat(mode)
        self._show_repeat(mode)

    def _show_repeat(self, mode: str) -> None:
        self._repeat_mode = mode
        self.repeat.setChecked(mode != "off")
        self.repeat.setIcon(icon("repeat-one" if mode == "one" else "repeat"))
        self.repeat.setToolTip(f"Repeat: {mode}")

    def _seek_released(self) -> None:
        self._seeking = False
        self.bridge.session.seek(self.seek.value() / 10.0)

    def _cover_ready(self, path: str) -> None:
        if path == self._path:
            self._show_cover()

    def _show_cover(self) -> None:
        pm = self.covers.get(self._path) if self._path else None
        self.cover.setPixmap(rounded_cover(pm, 64))

    _updating = False
    _discover_sent: tuple[int, float] | None = None  # (value, when) not yet in the state

    def show_state(self, kind: str, state: Any) -> None:
        self._updating = True
        try:
            self._show(state)
        finally:
            self._updating = False

    def _show(self, state: Any) -> None:
        np = now_playing(state)
        playing = getattr(state, "play_state", "stopped") == "playing"
        self.play.setIcon(icon("pause" if playing else "play"))
        self.play.setToolTip("Pause (Space)" if playing else "Play (Space)")
        if playing and not self.tick.isActive():
            self.tick.start()
        elif not playing and self.tick.isActive():
            self.tick.stop()
        if np is None:
            self.title.setText("Nothing playing")
            self.artist.setText("Double-click a song: Up Next fills itself from there")
            self._path = None
        else:
            self.title.setText(getattr(np, "title", "") or "Untitled")
            bits = [getattr(np, "artist", ""), getattr(np, "album", "")]
            self.artist.setText(" — ".join(b for b in bits if b))
            path = getattr(np, "path", None)
            if path != self._path:
                self._path = path
        self._show_cover()
        liked = bool(getattr(state, "liked", False)) and np is not None
        self.like.setChecked(liked)
        self.like.setIcon(icon("liked", LIKED) if liked else icon("like"))
        disliked = bool(getattr(state, "disliked", False)) and np is not None
        self.dislike.setChecked(disliked)
        self.dislike.setToolTip(
            "Banned from automatic picks: click to lift the ban"
            if disliked
            else "Dislike: never pick this again, and skip it"
        )
        for w in (self.like, self.dislike):
            w.setEnabled(np is not None)
        duration = getattr(state, "duration", None) or getattr(np, "duration", None) or 0.0
        position = float(getattr(state, "position", 0.0) or 0.0)
        if not self._seeking:
            self.seek.setRange(0, int(duration * 10))
            self.seek.setValue(int(position * 10))
        self.elapsed.setText(fmt_time(position))
        self.remaining.setText(fmt_time(duration) if duration else "0:00")
        self._show_discover(round(float(getattr(state, "discover", 0.3)) * 100))
        if hasattr(state, "volume"):
            self.volume.blockSignals(True)
            self.volume.setValue(round(state.volume * 100))
            self.volume.blockSignals(False)
        muted = bool(getattr(state, "muted", False))
        self.mute.blockSignals(True)
        self.mute.setChecked(muted)
        self.mute.blockSignals(False)
        self.mute.setIcon(icon("muted" if muted else "volume"))
        self.shuffle.blockSignals(True)
        self.shuffle.setChecked(bool(getattr(state, "shuffle", False)))
        self.shuffle.blockSignals(False)
        self._show_repeat(str(getattr(state, "repeat", self._repeat_mode)))
        note = (
            getattr(state, "playback_note", None)
            or getattr(state, "last_error", None)
            or getattr(state, "history_note", None)
        )
        self.note.setVisible(bool(note))
        self.note.setText(note or "")
