"""MPRIS2 on the session bus (Linux), so desktop media controls, media keys and
playerctl drive Segue. Skipped quietly when there is no session bus."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import ClassInfo, Property, QObject, Slot
from PySide6.QtDBus import QDBusAbstractAdaptor, QDBusConnection, QDBusMessage

from player.ui.nowplaying import now_playing

SERVICE = "org.mpris.MediaPlayer2.segue"
PATH = "/org/mpris/MediaPlayer2"


@ClassInfo({"D-Bus Interface": "org.mpris.MediaPlayer2"})
class _Root(QDBusAbstractAdaptor):
    def __init__(self, holder: QObject, window: Any) -> None:
        super().__init__(holder)
        self.window = window

    @Slot()
    def Raise(self) -> None:
        self.window.showNormal()
        self.window.raise_()

    @Slot()
    def Quit(self) -> None:
        self.window.quit()

    def _true(self) -> bool:
        return True

    def _false(self) -> bool:
        return False

    def _identity(self) -> str:
        return "Segue"

    def _desktop(self) -> str:
        return "segue"

    CanQuit = Property(bool, _true)
    CanRaise = Property(bool, _true)
    HasTrackList = Property(bool, _false)
    Identity = Property(str, _identity)
    DesktopEntry = Property(str, _desktop)


@ClassInfo({"D-Bus Interface": "org.mpris.MediaPlayer2.Player"})
class _Player(QDBusAbstractAdaptor):
    def __init__(self, holder: QObject, window: Any) -> None:
        super().__init__(holder)
        self.window = window
        self.session = window.session

    @Slot()
    def PlayPause(self) -> None:
        self.session.toggle_pause()

    @Slot()
    def Play(self) -> None:
        if self._status() != "Playing":
            self.session.toggle_pause()

    @Slot()
    def Pause(self) -> None:
        if self._status() == "Playing":
            self.session.toggle_pause()

    @Slot()
    def Stop(self) -> None:
        self.Pause()

    @Slot()
    def Next(self) -> None:
        self.session.next()

    @Slot()
    def Previous(self) -> None:
        self.session.previous()

    def _status(self) -> str:
        state = getattr(self.window.bridge.state, "play_state", "stopped")
        return {"playing": "Playing", "paused": "Paused"}.get(state, "Stopped")

    def _metadata(self) -> dict[str, Any]:
        np = now_playing(self.window.bridge.state)
        if np is None:
            return {}
        meta: dict[str, Any] = {
            "mpris:trackid": f"/org/segue/track/{np.id}",
            "xesam:title": np.title or "",
            "xesam:artist": [np.artist or ""],
            "xesam:album": getattr(np, "album", "") or "",
        }
        duration = getattr(np, "duration", None)
        if duration:
            meta["mpris:length"] = int(duration * 1_000_000)
        return meta

    def _true(self) -> bool:
        return True

    def _volume(self) -> float:
        return float(getattr(self.window.bridge.state, "volume", 1.0))

    def _position(self) -> int:
        return int(float(getattr(self.window.bridge.state, "position", 0.0)) * 1_000_000)

    PlaybackStatus = Property(str, _status)
    Metadata = Property("QVariantMap", _metadata)
    Volume = Property(float, _volume)
    Position = Property("qlonglong", _position)
    CanPlay = Property(bool, _true)
    CanPause = Property(bool, _true)
    CanGoNext = Property(bool, _true)
    CanGoPrevious = Property(bool, _true)
    CanControl = Property(bool, _true)
    CanSeek = Property(bool, _true)


class Mpris:
    def __init__(self, window: Any, bus: QDBusConnection) -> None:
        self.bus = bus
        self.holder = QObject()
        self.root = _Root(self.holder, window)
        self.player = _Player(self.holder, window)
        self._last: tuple[Any, ...] = ()
        window.bridge.changed.connect(self._changed)

    @classmethod
    def register(cls, window: Any, bus: QDBusConnection | None = None) -> Mpris | None:
        """Publish Segue on the session bus (or ``bus``); None when there is none."""
        if bus is None:
            bus = QDBusConnection.sessionBus()
        if not bus.isConnected():
            return None
        self = cls(window, bus)
        ok = bus.registerObject(PATH, self.holder, QDBusConnection.RegisterOption.ExportAdaptors)
        if not ok or not bus.registerService(SERVICE):
            return None
        return self

    def _changed(self, kind: str, state: Any) -> None:
        np = now_playing(state)
        key = (getattr(np, "id", None), self.player._status())
        if key == self._last:
            return
        self._last = key
        msg = QDBusMessage.createSignal(
            PATH, "org.freedesktop.DBus.Properties", "PropertiesChanged"
        )
        msg.setArguments(
            [
                "org.mpris.MediaPlayer2.Player",
                {"PlaybackStatus": self.player._status(), "Metadata": self.player._metadata()},
                [],
            ]
        )
        self.bus.send(msg)
