"""`segue analyze` as a user runs it: the real corpus, JSON summary, failure listing."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

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
    assert "numpy" not in result.stderr  # onnxruntime, installed here, ran the network
    assert "1 too_short" in result.stdout
    listed = segue("analyze", "--failures", "--json", db=db)
    row = json.loads(listed.stdout)
    assert row["kind"] == "too_short" and row["path"].endswith("b.wav")
    assert_one_line_error(segue("analyze", "--workers", "0", db=db), "--workers")
    assert_one_line_error(segue("analyze", "--timeout", "-1", db=db), "--timeout")


def test_interrupted_run_keeps_its_work_and_the_next_run_resumes(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) in the middle of
    a run: exit 130 with one line, finished tracks saved, nothing recorded as failed."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.test_cli import ROOT

    music = tmp_path / "music"
    for i in range(3):
        write_audio(music / f"song{i}.flac", seconds=3.0, freq=220.0 * (i + 1))
    write_audio(music / "zz_last.flac", seconds=3.0)
    db = tmp_path / "lib.db"
    assert segue("scan", str(music), db=db).returncode == 0
    # The last file becomes a FIFO nobody writes to: the run cannot finish by itself.
    (music / "zz_last.flac").unlink()
    os.mkfifo(music / "zz_last.flac")
    proc = subprocess.Popen(
        [sys.executable, "-m", "player", "--db", str(db), "analyze", "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 90
        done = 0
        while time.time() < deadline and done < 3:
            time.sleep(0.3)
            with sqlite3.connect(db) as conn:
                done = conn.execute("SELECT COUNT(*) FROM track_features").fetchone()[0]
        assert done == 3, "the run never got through the three real files"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["segue: interrupted; everything finished so far is saved"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM track_features").fetchone()[0] == 3
        assert conn.execute("SELECT COUNT(*) FROM analysis_failures").fetchone()[0] == 0
    # Put a real file back: the next run analyses only what is left.
    (music / "zz_last.flac").unlink()
    write_audio(music / "zz_last.flac", seconds=3.0)
    assert segue("scan", str(music), db=db).returncode == 0
    resumed = json.loads(segue("analyze", "--json", "--background", db=db).stdout)
    assert (resumed["analysed"], resumed["failed"], resumed["pending"]) == (1, 0, 0)
    assert resumed["workers"] == 1


def test_a_paused_run_does_not_time_out_its_files(tmp_path: Path) -> None:
    """The app pauses analysis while music plays by stopping its process group (SIGSTOP).
    Time spent stopped must not count against the per-file timeout."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.test_cli import ROOT

    music = tmp_path / "music"
    for i in range(16):
        write_audio(music / f"song{i:02}.flac", seconds=8.0, freq=110.0 * (1 + i % 7))
    db = tmp_path / "lib.db"
    assert segue("scan", str(music), db=db).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "player", "--db", str(db), "analyze", "--json",
         "--workers", "2", "--timeout", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 90
        done = 0
        while time.time() < deadline and done == 0:
            time.sleep(0.05)
            with sqlite3.connect(db) as conn:
                done = conn.execute("SELECT COUNT(*) FROM track_features").fetchone()[0]
        assert done, "the run never started analysing"
        os.killpg(proc.pid, signal.SIGSTOP)  # workers are mid-file now
        time.sleep(7.0)
        os.killpg(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["failures"] == {}
    assert summary["analysed"] == 16  # every file, none timed out


def test_one_analysis_at_a_time_across_processes(tmp_path: Path) -> None:
    """While another Segue process analyses (here: holds the lock), `segue analyze`
    refuses in one line and analyses nothing; the app's runner (wait=True) waits, then
    analyses what is still pending. The lock is a file of its own, not the DB's."""
    import threading

    from player.analysis import Analyzer
    from player.analysis.lock import BUSY, analysis_lock, lock_path
    from player.library.db import Database

    db = tmp_path / "lib.db"
    music = tmp_path / "music"
    write_audio(music / "a.flac", seconds=3.0)
    assert segue("scan", str(music), db=db).returncode == 0
    with analysis_lock(db):
        refused = segue("analyze", "--workers", "1", db=db)
        assert_one_line_error(refused, BUSY)
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM track_features").fetchone()[0] == 0
        waited: list[int] = []
        told: list[int] = []  # the app's runner says it waits, once

        def app_runner() -> None:
            with Database(db) as lib:
                run = Analyzer(lib, workers=1).run(wait=True, on_wait=lambda: told.append(1))
                waited.append(run.analysed)

        thread = threading.Thread(target=app_runner)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive() and not waited  # waiting for the other analysis
        assert told == [1]
    thread.join(timeout=120)
    assert waited == [1]
    assert lock_path(db).name == "lib.db.analysis.lock" and lock_path(db).exists()


def test_analyze_says_once_when_numpy_runs_the_network_for_want_of_onnxruntime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where onnxruntime has no wheel it is not installed: analysis still runs (numpy,
    the same numbers), and says so in one line. The workers' own warnings go nowhere
    (their stderr is closed against decoder noise), so the run says it, once."""
    db = tmp_path / "lib.db"
    music = tmp_path / "music"
    for name in ("a.flac", "b.flac"):
        write_audio(music / name, seconds=3.0)
    assert segue("scan", str(music), db=db).returncode == 0
    fake = tmp_path / "no-wheel"
    (fake / "onnxruntime").mkdir(parents=True)
    (fake / "onnxruntime" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'onnxruntime'\", name='onnxruntime')\n"
    )
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(fake), os.getenv("PYTHONPATH")]))
    )
    result = segue("analyze", "--json", "--workers", "2", db=db)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (
        summary["analysed"] == 2 and summary["network_fallback"] == "onnxruntime is not installed"
    )
    said = [line for line in result.stderr.splitlines() if "numpy" in line]
    assert said == [
        "segue: the music network ran on numpy, slower than with onnxruntime: "
        "onnxruntime is not installed"
    ]
