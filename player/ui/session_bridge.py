"""The Qt side of the listening session.

The session runs on its own thread and calls its listeners there. :class:`SessionBridge`
re-emits each update as a queued signal, so the widgets only ever see the session's state
on the GUI thread. Commands go straight to the session: they are thread-safe and return at
once.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot


class SessionBridge(QObject):
    # (kind, state): emitted on the GUI thread only.
    changed = Signal(str, object)
    _incoming = Signal(str, object)

    def __init__(self, session: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._incoming.connect(self._apply, Qt.ConnectionType.QueuedConnection)
        # Subscribe first: an update published while the snapshot is taken (the restored
        # track, say) then arrives after it instead of being missed.
        self._remove = session.add_listener(self._on_update)
        self.state: Any = session.snapshot()

    # Runs on the session's thread.
    def _on_update(self, update: Any, state: Any = None) -> None:
        kind = getattr(update, "kind", update)
        state = getattr(update, "state", state)
        self._incoming.emit(str(getattr(kind, "value", kind)), state)

    @Slot(str, object)
    def _apply(self, kind: str, state: Any) -> None:
        if state is not None:
            self.state = state
        self.changed.emit(kind, self.state)

    def refresh(self) -> Any:
        """Ask for a fresh snapshot (position ticks) and announce it."""
        self.state = self.session.snapshot()
        self.changed.emit("tick", self.state)
        return self.state

    def close(self) -> None:
        if callable(self._remove):
            self._remove()
        self.session.close()
