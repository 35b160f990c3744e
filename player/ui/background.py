"""Background jobs: library scans on a worker thread, audio analysis in a process.

Both report progress through queued signals; the status bar shows it with a cancel
button. Nothing here blocks the GUI thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QThread, Signal


class ScanCancelled(Exception):
    pass


class ScanJob(QThread):
    """Scans the library's folders (plus ``add`` folders) with its own DB connection."""

    progress = Signal(int, int)  # done, total
    finished_scan = Signal(object, object)  # summary or None, error message or None

    def __init__(
        self,
        db_path: str,
        add: list[str] | None = None,
        workers: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.db_path, self.add, self.workers = db_path, list(add or []), workers
        self._cancel = False
        self._last = 0.0

    def cancel(self) -> None:
        self._cancel = True

    def _progress(self, done: int, total: int) -> None:
        if self._cancel:
            raise ScanCancelled()
        now = time.monotonic()
        if now - self._last >= 0.1 or done == total:
            self._last = now
            self.progress.emit(done, total)

    def run(self) -> None:
        from player.errors import SegueError
        from player.library.db import Database
        from player.scanner import Scanner

        summary, error = None, None
        try:
            with Database(self.db_path) as db:
                scanner = Scanner(db, workers=self.workers, progress=self._progress)
                only = scanner.add_roots(self.add) if self.add else None
                summary = scanner.scan(only)
        except ScanCancelled:
            error = "cancelled"
        except SegueError as exc:
            error = str(exc)
        except Exception as exc:  # shown in the status bar, never a crash
            error = f"scan failed: {type(exc).__name__}: {exc}"
        self.finished_scan.emit(summary, error)


class AnalysisJob(QObject):
    """Runs ``player.ui.analysis_runner`` in a subprocess and relays its progress."""

    progress = Signal(int, int)
    waiting = Signal()  # another Segue process (e.g. `segue analyze`) is analysing
    finished_analysis = Signal(object, object)  # summary dict or None, message or None

    def __init__(self, db_path: str, workers: int = 1, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.proc = QProcess(self)
        self.proc.setProgram(sys.executable)
        root = str(Path(__file__).resolve().parent.parent.parent)
        env = self.proc.processEnvironment()
        from PySide6.QtCore import QProcessEnvironment

        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (root, env.value("PYTHONPATH")) if p))
        self.proc.setProcessEnvironment(env)
        self.proc.setArguments(
            [
                "-m",
                "player.ui.analysis_runner",
                "--db",
                db_path,
                "--workers",
                str(workers),
                "--background",
                "--follow-playing",
            ]
        )
        self.proc.readyReadStandardOutput.connect(self._read)
        self.proc.finished.connect(self._finished)
        self._summary: dict | None = None
        self._error: str | None = None
        self._paused = False
        self._playing = False
        self._buffer = b""

    def start(self) -> None:
        self.proc.start()

    def running(self) -> bool:
        return self.proc.state() != QProcess.ProcessState.NotRunning

    def _group(self, sig: int) -> None:
        pid = self.proc.processId()
        if pid and hasattr(os, "killpg"):
            with contextlib.suppress(OSError):
                os.killpg(pid, sig)

    def pause(self, paused: bool) -> None:
        if paused == self._paused or not self.running() or not hasattr(signal, "SIGSTOP"):
            return
        self._paused = paused
        self._group(signal.SIGSTOP if paused else signal.SIGCONT)

    def set_playing(self, playing: bool) -> None:
        """Tell the analysis that music plays (one low-priority worker) or not (all)."""
        if playing != self._playing and self.running():
            self._playing = playing
            self.proc.write(b"playing\n" if playing else b"idle\n")

    def cancel(self) -> None:
        if not self.running():
            return
        self._error = "cancelled"
        if self._paused:
            self.pause(False)
        self._group(signal.SIGTERM)
        self.proc.terminate()
        if not self.proc.waitForFinished(3000):
            self._group(signal.SIGKILL)
            self.proc.kill()

    def _read(self) -> None:
        self._buffer += bytes(self.proc.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            event = msg.get("event")
            if event == "progress":
                self.progress.emit(int(msg["done"]), int(msg["total"]))
            elif event == "waiting":
                self.waiting.emit()
            elif event == "done":
                self._summary = msg
            elif event == "error":
                self._error = msg.get("message", "analysis failed")

    def _finished(self, code: int, _status) -> None:
        self._read()
        if self._summary is None and self._error is None and code != 0:
            err = bytes(self.proc.readAllStandardError()).decode(errors="replace").strip()
            self._error = (err.splitlines() or [f"analysis stopped (exit {code})"])[-1]
        self.finished_analysis.emit(self._summary, self._error)
