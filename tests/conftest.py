"""Shared fixtures. Every test runs with outgoing network connections forbidden."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()


class NetworkAccessError(AssertionError):
    pass


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Segue never opens a network connection: any attempt in any test fails it."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkAccessError(f"network connection attempted to {address!r}")
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "library.db"


@pytest.fixture
def segue_env(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every `segue` call of the test at a fresh DB."""
    monkeypatch.setenv("SEGUE_DB", str(db_path))
    return db_path


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def library(db_path: Path) -> Iterator[object]:
    from player.library import open_library

    db = open_library(db_path)
    yield db
    db.close()
