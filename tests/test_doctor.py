"""`segue doctor` tells what works and what does not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from player.library.db import open_library
from tests.audiogen import write_audio
from tests.scanhelp import scan

ROOT = Path(__file__).resolve().parent.parent


def doctor(db: Path) -> tuple[int, dict[str, dict[str, object]]]:
    result = subprocess.run(
        [sys.executable, "-m", "player", "--db", str(db), "doctor", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    data = json.loads(result.stdout)
    return result.returncode, {c["name"]: c for c in data["checks"]}


def test_doctor_reports_vlc_db_analysis_and_missing_files(tmp_path: Path) -> None:
    music = tmp_path / "music"
    paths = [write_audio(music / f"{i}.wav", seconds=0.5) for i in range(3)]
    db_path = tmp_path / "lib.db"
    with open_library(db_path) as db:
        scan(db, music)
    paths[0].unlink()
    with open_library(db_path) as db:
        scan(db)
    code, checks = doctor(db_path)
    assert checks["libVLC"]["ok"] and "libVLC" in str(checks["libVLC"]["detail"])
    assert checks["library DB"]["ok"] and "integrity ok" in str(checks["library DB"]["detail"])
    assert not checks["files"]["ok"] and "1 missing file" in str(checks["files"]["detail"])
    assert "0 of 2 tracks analysed" in str(checks["audio analysis"]["detail"])
    assert code == 1


def test_doctor_on_a_damaged_db(tmp_path: Path) -> None:
    bad = tmp_path / "lib.db"
    bad.write_bytes(b"not a database" * 100)
    code, checks = doctor(bad)
    assert code == 1
    assert not checks["library DB"]["ok"]
    assert "damaged" in str(checks["library DB"]["detail"])
