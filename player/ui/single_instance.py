"""One Segue per user and library: a second launch hands its files to the running app.

The first ``segue`` listens on a local socket (QLocalServer). A later ``segue FILE...``
(or "Open with Segue") connects, sends the files as one JSON line, waits for ``ok`` and
exits; the running app scans those files in if needed, plays the first and queues the
rest. ``segue`` with no files just brings the window to the front.

The socket is private to the user: on Unix it sits in a 0700 folder of the user's
runtime directory (``$XDG_RUNTIME_DIR/segue``, else ``/tmp/segue-<uid>``), its name holds
the user id, the socket itself is user-only, and the server checks every connection's
peer credentials (SO_PEERCRED) and drops one from any other user. On Windows the pipe
is restricted to the user by Qt (UserAccessOption). A socket file left by a crash is
removed when nothing answers on it.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import socket
import stat
import struct
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from player.errors import SegueError

MAX_MESSAGE = 1 << 20  # bytes: a few thousand paths
CONNECT_MS = 1000
REPLY_MS = 5000


def _uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None


def runtime_dir() -> Path:
    """The user's private folder for the socket, created 0700 and checked to be ours."""
    uid = _uid()
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(xdg) / "segue" if xdg and os.path.isdir(xdg) else None
    if base is None:
        base = Path(tempfile.gettempdir()) / f"segue-{uid if uid is not None else 'user'}"
    with contextlib.suppress(FileExistsError):
        base.mkdir(mode=0o700, parents=False)
    info = os.lstat(base)
    if not stat.S_ISDIR(info.st_mode) or (uid is not None and info.st_uid != uid):
        raise SegueError(f"{base} is not a folder of yours; remove it and start Segue again")
    if uid is not None and info.st_mode & 0o077:
        os.chmod(base, 0o700)
    return base


def server_name(db_path: str) -> str:
    """The socket for this user and library (one running Segue per library)."""
    digest = hashlib.sha256(os.path.abspath(db_path).encode("utf-8", "surrogateescape"))
    uid = _uid()
    who = str(uid) if uid is not None else getpass.getuser()
    name = f"segue-{who}-{digest.hexdigest()[:12]}"
    if sys.platform == "win32":
        return name  # a named pipe, user-only through UserAccessOption
    return str(runtime_dir() / f"{name}.sock")


def peer_uid(fd: int) -> int | None:
    """The user id of the process at the other end of the Unix socket ``fd``."""
    if fd < 0 or not hasattr(socket, "AF_UNIX"):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, fileno=os.dup(fd))
    try:
        if hasattr(socket, "SO_PEERCRED"):  # Linux: struct ucred {pid, uid, gid}
            raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            return int(struct.unpack("3i", raw)[1])
        if sys.platform == "darwin":  # LOCAL_PEERCRED: struct xucred (untested here)
            raw = sock.getsockopt(0, 0x001, struct.calcsize("IIh16I"))
            return int(struct.unpack_from("II", raw)[1])
    except OSError:
        return None
    finally:
        sock.close()
    return None


def peer_allowed(fd: int, uid: int | None = None) -> bool:
    """Whether the peer on ``fd`` is the user ``uid`` (this process's user by default)."""
    own = _uid() if uid is None else uid
    if own is None:  # Windows: the pipe's ACL already admits only this user
        return True
    return peer_uid(fd) == own


class SingleInstance(QObject):
    """The running app's end: receives file lists from later launches."""

    files_received = Signal(list)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.refused = 0
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        """Listen, replacing a socket file that nothing answers on (left by a crash)."""
        if self.server.listen(self.name):
            return True
        if self.server.serverError() == QLocalSocket.LocalSocketError.AddressInUseError:
            if send(self.name, None, probe=True):
                return False  # another Segue got there first
            QLocalServer.removeServer(self.name)
            return self.server.listen(self.name)
        return False

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            conn = self.server.nextPendingConnection()
            if conn is None:
                return
            conn.disconnected.connect(conn.deleteLater)
            if not peer_allowed(int(conn.socketDescriptor())):
                self.refused += 1
                conn.abort()
                continue
            conn.readyRead.connect(self._read)
            if conn.bytesAvailable():
                self._read(conn)

    def _read(self, conn: QLocalSocket | None = None) -> None:
        conn = conn or self.sender()
        if not isinstance(conn, QLocalSocket):
            return
        if not conn.canReadLine():
            if conn.bytesAvailable() > MAX_MESSAGE:
                conn.abort()
            return
        line = bytes(conn.readLine(MAX_MESSAGE).data())
        try:
            message = json.loads(line)
            files = message.get("files")
            if files is not None and not (
                isinstance(files, list) and all(isinstance(f, str) for f in files)
            ):
                raise ValueError("files must be a list of paths")
        except (ValueError, AttributeError):
            conn.abort()
            return
        conn.write(b"ok\n")
        conn.flush()
        conn.disconnectFromServer()
        if files is not None:
            self.files_received.emit(list(files))


def send(name: str, files: Sequence[str] | None, *, probe: bool = False) -> bool:
    """Hand ``files`` to the Segue listening on ``name``; False if none is running.

    ``probe`` only checks that someone answers. A Segue that accepts the connection but
    does not reply is an error rather than a reason to start a second one.
    """
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(CONNECT_MS):
        return False
    if probe:
        sock.abort()
        return True
    sock.write(json.dumps({"files": list(files or [])}).encode() + b"\n")
    sock.flush()
    reply = b""
    while b"\n" not in reply and sock.waitForReadyRead(REPLY_MS):
        reply += bytes(sock.readAll().data())
    sock.abort()
    if not reply.startswith(b"ok"):
        raise SegueError("Segue is already running but does not answer; close it and try again")
    return True


def open_files(window: Any, paths: Sequence[str]) -> None:
    """Play ``paths`` in the app: scan in the files it lacks, play the first, queue the
    rest right after it, and bring the window to the front."""
    window.showNormal()
    window.raise_()
    window.activateWindow()
    if not paths:
        return
    from player.scanner.files import OpenedFiles, add_files
    from player.ui.tasks import thread_db

    db_path = window.db_path
    wanted = [os.path.abspath(p) for p in paths]

    def work() -> OpenedFiles:
        return add_files(thread_db(db_path), wanted)

    def done(result: OpenedFiles) -> None:
        session = window.session
        ids = result.track_ids
        if ids:
            session.play_track(ids[0])
            for track_id in reversed(ids[1:]):
                session.play_next(track_id)
        if result.added:
            window.library_changed()
            window.keep_analysing()  # the new files are analysed in the background
        if result.problems:
            extra = f" (and {len(result.problems) - 1} more)" if len(result.problems) > 1 else ""
            window.message.setText(f"Cannot play {result.problems[0]}{extra}")

    window.pool.run_task(work, done)


class Launch:
    """What ``segue gui`` needs from this module: ``attach`` as the window's on_loaded."""

    def __init__(self, files: Sequence[str], instance: SingleInstance | None) -> None:
        self.files = list(files)
        self.instance = instance

    def attach(self, window: Any) -> None:
        if self.instance is not None:
            self.instance.setParent(window)
            self.instance.files_received.connect(lambda files: open_files(window, files))
        if self.files:
            open_files(window, self.files)


def start(db_path: str, files: Sequence[str], *, single: bool = True) -> Launch | None:
    """Hand ``files`` to a running Segue (None: done, exit) or prepare this one to run.

    Creates the QApplication first, so that the socket belongs to its event loop.
    """
    from player.ui.app import make_app

    make_app()
    files = [os.path.abspath(f) for f in files]
    if not single:
        return Launch(files, None)
    name = server_name(db_path)
    if send(name, files):
        return None
    instance = SingleInstance(name)
    if not instance.listen():
        if send(name, files):  # lost a race with a Segue starting at the same time
            return None
        instance = None  # cannot listen (odd file system): run without hand-off
    return Launch(files, instance)


__all__: list[str] = [
    "Launch",
    "SingleInstance",
    "open_files",
    "peer_allowed",
    "peer_uid",
    "runtime_dir",
    "send",
    "server_name",
    "start",
]
