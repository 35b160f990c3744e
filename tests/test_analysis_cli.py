"""`segue analyze` as a user runs it: the real corpus, JSON summary, failure listing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.audiogen import write_audio
from tests.test_cli import assert_one_line_error, segue


def test_analyze_the_real_corpus_accounts_for_every_file(tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "lib.db"
    scanned = segue("scan", "--json", str(shared_data / "audio"), str(shared_data / "tags"), db=db)
    assert scanned.returncode == 0, scanned.stderr
    result = segue("analyze", "--json", "--workers", "2", db=db)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    tracks = json.loads(scanned.stdout)["added"]
    assert summary["analysed"] + summary["failed"] == tracks
    assert summary["pending"] == 0
    # All eight real recordings get a vector.
    with sqlite3.connect(db) as conn:
        analysed = {
            Path(p).name
            for (p,) in conn.execute(
                "SELECT t.path FROM track_features f JOIN tracks t ON t.id = f.track_id"
            )
        }
        reasons = conn.execute("SELECT kind, message FROM analysis_failures").fetchall()
    real = {p.name for p in (shared_data / "audio").glob("*.ogg")}
    assert real <= analysed
    assert all(kind and message for kind, message in reasons)
    assert {kind for kind, _ in reasons} <= {
        "no_audio", "silent", "too_short", "truncated", "unreadable", "failed", "missing",
    }  # fmt: skip
    # The failures are listed, one line each, with their reason.
    listed = segue("analyze", "--failures", db=db)
    assert listed.returncode == 0
    assert len(listed.stdout.strip().splitlines()) == len(reasons)


def test_analyze_text_summary_and_bad_options(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    music = tmp_path / "music"
    write_audio(music / "a.flac", seconds=3.0)
    write_audio(music / "b.wav", seconds=0.4)
    assert segue("scan", str(music), db=db).returncode == 0
    result = segue("analyze", "--workers", "1", db=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 analysed, 1 could not be analysed, 0 pending")
    assert "1 too_short" in result.stdout
    listed = segue("analyze", "--failures", "--json", db=db)
    row = json.loads(listed.stdout)
    assert row["kind"] == "too_short" and row["path"].endswith("b.wav")
    assert_one_line_error(segue("analyze", "--workers", "0", db=db), "--workers")
    assert_one_line_error(segue("analyze", "--timeout", "-1", db=db), "--timeout")
