"""Segue never opens a network connection: no telemetry, update checks or online metadata."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.audiogen import tag, write_audio

ROOT = Path(__file__).resolve().parent.parent

# Run the real CLI with every inet socket connection turned into a crash.
GUARD = """
import socket, sys
_real = socket.socket.connect
def _guard(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        sys.stderr.write("NETWORK ATTEMPT %r\\n" % (address,))
        raise SystemExit(99)
    return _real(self, address)
socket.socket.connect = _guard
socket.create_connection = lambda *a, **k: _guard(socket.socket(), a[0])
from player.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _segue(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", GUARD, "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_cli_workflow_opens_no_connection(tmp_path: Path) -> None:
    music = tmp_path / "music"
    for i, ext in enumerate(("mp3", "flac", "ogg")):
        tag(write_audio(music / f"t{i}.{ext}", seconds=0.5), title=f"T{i}", artist="A")
    db = tmp_path / "lib.db"
    for args in (("scan", str(music)), ("scan",), ("library",), ("--version",)):
        result = _segue(*args, db=db)
        assert "NETWORK ATTEMPT" not in result.stderr
        assert result.returncode == 0, result.stderr


def test_source_has_no_network_client_code() -> None:
    # Local IPC (AF_UNIX sockets, QLocalServer for the single instance) is allowed; the
    # runtime guard in conftest.py blocks every inet connection whatever the code.
    pattern = re.compile(
        r"^\s*(import|from)\s+(requests|httpx|aiohttp|urllib\.request|http\.client)\b|"
        r"\burlopen\(|socket\.create_connection|AF_INET|"
        r"\b(QNetworkAccessManager|QTcpSocket|QTcpServer|QUdpSocket|QSslSocket)\b"
    )
    hits = []
    for package in ("player", "recommender"):
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line) and not line.lstrip().startswith("#"):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not hits, "\n".join(hits)
