"""One Segue per user: a second launch hands its files to the running app over a private
local socket, a socket left by a crash does not block start-up, and another user's
connection is refused."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from player.errors import SegueError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return folder


def _listening(db: Path) -> Any:
    from player.ui.app import make_app
    from player.ui.single_instance import SingleInstance, server_name

    make_app()
    instance = SingleInstance(server_name(str(db)))
    assert instance.listen()
    return instance


def _segue(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "player", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_launch_hands_its_files_to_the_running_segue(
    qtbot: Any, runtime: Path, tmp_path: Path
) -> None:
    db = tmp_path / "library.db"
    song = tmp_path / "a song.flac"
    song.write_bytes(b"not decoded here")
    instance = _listening(db)
    with qtbot.waitSignal(instance.files_received, timeout=60000) as got:
        second = _segue("--db", str(db), str(song))
    _out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert got.args == [[str(song)]]

    # Plain `segue` again: no files, the running window is just brought forward.
    with qtbot.waitSignal(instance.files_received, timeout=60000) as got:
        again = _segue("--db", str(db))
    again.communicate(timeout=60)
    assert again.returncode == 0
    assert got.args == [[]]
    instance.close()


def test_the_socket_is_per_user_and_private(runtime: Path, tmp_path: Path) -> None:
    from player.ui.single_instance import runtime_dir, server_name

    name = server_name(str(tmp_path / "library.db"))
    assert f"segue-{os.getuid()}-" in Path(name).name
    folder = runtime_dir()
    assert Path(name).parent == folder
    info = os.lstat(folder)
    assert info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == 0o700
    # Another library gets its own socket (one running Segue per library).
    assert server_name(str(tmp_path / "other.db")) != name

    os.chmod(folder, 0o755)  # loosened by someone: tightened again before use
    runtime_dir()
    assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700


def test_a_runtime_folder_owned_by_another_user_is_not_used(runtime: Path, tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to create a folder owned by another user")
    from player.ui.single_instance import runtime_dir

    (runtime / "segue").mkdir(mode=0o700)
    os.chown(runtime / "segue", 65534, 65534)
    with pytest.raises(SegueError, match="not a folder of yours"):
        runtime_dir()


def test_a_stale_socket_left_by_a_crash_does_not_block_start_up(
    qtbot: Any, runtime: Path, tmp_path: Path
) -> None:
    from player.ui.single_instance import server_name, start

    db = tmp_path / "library.db"
    name = server_name(str(db))
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(name)  # a crashed Segue: the file stays, nobody listens
    dead.close()
    assert Path(name).exists()

    launch = start(str(db), [])
    assert launch is not None and launch.instance is not None  # this one is the app now
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(name)
    with qtbot.waitSignal(launch.instance.files_received, timeout=10000) as got:
        client.sendall(json.dumps({"files": ["/music/x.ogg"]}).encode() + b"\n")
    assert got.args == [["/music/x.ogg"]]
    client.close()
    launch.instance.close()


def test_peer_credentials_identify_the_connecting_user() -> None:
    from player.ui.single_instance import peer_allowed, peer_uid

    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        assert peer_uid(a.fileno()) == os.getuid()
        assert peer_allowed(a.fileno())
        assert not peer_allowed(a.fileno(), uid=os.getuid() + 1)
    finally:
        a.close()
        b.close()


CLIENT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'{"files": ["/tmp/evil.mp3"]}\\n')
s.settimeout(20)
try:
    print(repr(s.recv(100)))
except OSError as exc:
    print("error", exc)
"""


def test_a_connection_from_another_user_is_refused(qtbot: Any, runtime: Path) -> None:
    """Even with the folder and socket opened up, another uid's message is dropped."""
    if os.getuid() != 0 or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root (to run a client as another user) and /usr/bin/python3")
    from player.ui.app import make_app
    from player.ui.single_instance import SingleInstance

    make_app()
    folder = Path(tempfile.mkdtemp(prefix="segue-test-", dir="/tmp"))
    try:
        os.chmod(folder, 0o755)
        name = str(folder / "open.sock")
        instance = SingleInstance(name)
        assert instance.listen()
        os.chmod(name, 0o777)
        received: list[Any] = []
        instance.files_received.connect(received.append)
        client = subprocess.Popen(
            ["/usr/bin/python3", "-c", CLIENT, name],
            user=65534,
            group=65534,
            stdout=subprocess.PIPE,
            text=True,
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
        )
        qtbot.waitUntil(lambda: instance.refused == 1, timeout=20000)
        out, _ = client.communicate(timeout=30)
        assert "ok" not in out  # never acknowledged
        qtbot.wait(200)
        assert received == []
        instance.close()
    finally:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
