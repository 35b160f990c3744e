"""`segue doctor` tells what works and what does not."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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


def _scanned_with_one_missing(tmp_path: Path, files: int) -> Path:
    """A library of ``files`` scanned tracks, one of them deleted and rescanned."""
    music = tmp_path / "music"
    paths = [write_audio(music / f"{i}.wav", seconds=0.5) for i in range(files)]
    db_path = tmp_path / "lib.db"
    with open_library(db_path) as db:
        scan(db, music)
    paths[0].unlink()
    with open_library(db_path) as db:
        scan(db)
    return db_path


def test_doctor_reports_vlc_db_analysis_and_missing_files(tmp_path: Path) -> None:
    db_path = _scanned_with_one_missing(tmp_path, 3)
    code, checks = doctor(db_path)
    assert checks["libVLC"]["ok"] and "libVLC" in str(checks["libVLC"]["detail"])
    assert checks["library DB"]["ok"] and "integrity ok" in str(checks["library DB"]["detail"])
    assert not checks["files"]["ok"] and "2 tracks (1 missing)" in str(checks["files"]["detail"])
    assert "0 of 2 tracks analysed" in str(checks["audio analysis"]["detail"])
    assert code == 1


def test_doctor_on_a_damaged_db(tmp_path: Path) -> None:
    bad = tmp_path / "lib.db"
    bad.write_bytes(b"not a database" * 100)
    code, checks = doctor(bad)
    assert code == 1
    assert not checks["library DB"]["ok"]
    assert "damaged" in str(checks["library DB"]["detail"])


def _segue_text(db: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "player", "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout


def test_library_and_doctor_count_tracks_the_same_way(tmp_path: Path) -> None:
    """Issue 14: `segue library` said "4 tracks (1 missing)", `segue doctor` "5 tracks, 1
    missing". One definition now: tracks are the files found, missing ones are apart."""
    db_path = _scanned_with_one_missing(tmp_path, 5)
    library_line = _segue_text(db_path, "library").splitlines()[0]
    assert library_line.startswith("4 tracks (1 missing), ")
    _, checks = doctor(db_path)
    assert str(checks["files"]["detail"]) == "4 tracks (1 missing)"


def _unprivileged(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` as a user that file modes apply to. As root (CI, this machine) chmod
    000 does not stop reads, so a forked child drops to 'nobody' (no exec: the interpreter
    may sit where 'nobody' cannot read) and sends its findings back through a pipe."""
    if os.geteuid() != 0:
        return work()
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no 'nobody' user to drop privileges to")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            payload = json.dumps(work()).encode()
            code = 0
        except BaseException as exc:  # reported to the parent as the failure
            payload = json.dumps({"error": repr(exc)}).encode()
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(data)
    assert "error" not in result, result["error"]
    return result


def test_an_unreadable_music_folder_is_permission_denied_not_offline(
    tmp_path: Path,
) -> None:
    import contextlib
    import io

    from player.cli import main
    from player.scanner import Scanner
    from player.scanner.walk import folder_state

    # A folder 'nobody' may traverse (pytest's own tmp folder is root's alone).
    base = Path(tempfile.mkdtemp(prefix="segue-denied-"))
    try:
        base.chmod(0o755)
        music = base / "music"
        for i in range(2):
            write_audio(music / f"{i}.wav", seconds=0.5)
        db_path = base / "lib.db"
        with open_library(db_path) as db:
            scan(db, music)
        gone = base / "unplugged"
        gone.mkdir()
        with open_library(db_path) as db:
            scan(db, gone)
        gone.rmdir()

        def run_cli(*args: str) -> str:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                main(["--db", str(db_path), *args])
            return out.getvalue()

        run_cli("library")  # imports every module before any privilege is dropped
        run_cli("doctor")
        for path in [base, *base.rglob("*")]:
            os.chown(path, pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else -1, -1)
        music.chmod(0)

        def look() -> dict[str, Any]:
            with open_library(db_path) as db:
                summary = Scanner(db, workers=1).scan()
            return {
                "state": folder_state(str(music)),
                "denied": summary.denied,
                "offline": summary.offline,
                "missing": summary.missing,
                "library": run_cli("library"),
                "doctor": run_cli("doctor"),
            }

        seen = _unprivileged(look)
    finally:
        if (base / "music").exists():
            (base / "music").chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)
    assert seen["state"] == "permission denied"
    assert seen["denied"] == [str(music)] and seen["offline"] == [str(gone)]
    assert seen["missing"] == 0  # its tracks are kept, as for an unplugged drive
    assert f"folder: {music}  (permission denied)" in seen["library"]
    assert f"folder: {gone}  (offline)" in seen["library"]
    assert f"permission denied: {music}" in seen["doctor"]
    assert f"offline: {gone}" in seen["doctor"]


def _network_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stdout.splitlines() if "music network:" in line]
    assert len(lines) == 1, result.stdout
    return lines[0]


def test_doctor_tells_whether_analysis_runs_the_network_at_full_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """onnxruntime (installed here) runs the music network at full speed; without it (no
    wheel for the platform: here an onnxruntime that fails to import, first on the
    path) or when the user forces numpy, doctor says numpy runs it, and why. Neither
    fallback is a failure: analysis works, only slower."""
    from tests.clihelp import segue

    db = tmp_path / "lib.db"
    line = _network_line(segue("doctor", db=db))
    assert line.startswith("ok  music network: onnxruntime ") and "full speed" in line

    fake = tmp_path / "no-wheel"
    (fake / "onnxruntime").mkdir(parents=True)
    (fake / "onnxruntime" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'onnxruntime'\", name='onnxruntime')\n"
    )
    with monkeypatch.context() as m:
        m.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(fake), os.getenv("PYTHONPATH")])))
        missing = segue("doctor", "--json", db=db)
    check = {c["name"]: c for c in json.loads(missing.stdout)["checks"]}["music network"]
    assert check["ok"]
    assert check["detail"].startswith("numpy fallback")
    assert check["detail"].endswith("onnxruntime is not installed")

    monkeypatch.setenv("SEGUE_MUSICNN_BACKEND", "numpy")
    line = _network_line(segue("doctor", db=db))
    assert line.startswith("ok  music network: numpy fallback")
    assert line.endswith("SEGUE_MUSICNN_BACKEND=numpy asks for it")
