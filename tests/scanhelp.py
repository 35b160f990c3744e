"""Helpers for scanner tests: run a scan and read back what the library holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from player.library.db import Database
from player.library.paths import from_db
from player.scanner import Scanner, ScanSummary


def scan(db: Database, *folders: Path, workers: int = 1) -> ScanSummary:
    scanner = Scanner(db, workers=workers)
    only = scanner.add_roots([str(f) for f in folders]) if folders else None
    return scanner.scan(only)


def tracks(db: Database) -> dict[str, dict[str, Any]]:
    return {from_db(r["path"]): dict(r) for r in db.query("SELECT * FROM tracks")}


def errors(db: Database) -> dict[str, dict[str, Any]]:
    return {from_db(r["path"]): dict(r) for r in db.query("SELECT * FROM scan_errors")}
