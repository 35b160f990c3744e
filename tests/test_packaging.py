"""Packaging: the Linux desktop files (always checked) and the PyInstaller bundle (built
and run when SEGUE_PACKAGE_TEST=1: `make package`, then the bundle's own `segue`)."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import statistics
import struct
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINUX = ROOT / "resources" / "linux"
DESKTOP = LINUX / "segue.desktop"
METAINFO = LINUX / "io.github.segue.Segue.metainfo.xml"
BUNDLE = ROOT / "dist" / "segue" / "segue"
AUDIO = ROOT.parent / "shared" / "data" / "audio"


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_opens_audio_files_with_segue() -> None:
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "segue %F"  # files go to `segue FILE...`
    assert entry["Icon"] == "segue"
    mime = [m for m in entry["MimeType"].split(";") if m]
    for wanted in ("audio/mpeg", "audio/flac", "audio/ogg", "audio/x-vorbis+ogg", "audio/mp4"):
        assert wanted in mime
    assert all(m.startswith("audio/") for m in mime)
    if shutil.which("desktop-file-validate"):
        out = subprocess.run(
            ["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stdout + out.stderr


def test_appstream_metainfo_validates_offline() -> None:
    if not shutil.which("appstreamcli"):
        pytest.skip("appstreamcli is not installed (apt-get install appstream)")
    out = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert '<launchable type="desktop-id">segue.desktop</launchable>' in METAINFO.read_text()


def test_icons_at_the_standard_sizes_and_scalable() -> None:
    hicolor = LINUX / "icons" / "hicolor"
    for size in (16, 22, 24, 32, 48, 64, 128, 256, 512):
        png = (hicolor / f"{size}x{size}" / "apps" / "segue.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (size, size)
    svg = (hicolor / "scalable" / "apps" / "segue.svg").read_text()
    assert svg.lstrip().startswith("<svg") and "viewBox" in svg


def test_flatpak_manifest_is_accepted_by_flatpak_builder(tmp_path: Path) -> None:
    if not shutil.which("flatpak-builder"):
        pytest.skip("flatpak-builder is not installed")
    manifest = ROOT / "packaging" / "flatpak" / "io.github.segue.Segue.yml"
    out = subprocess.run(
        ["flatpak-builder", "--show-manifest", str(manifest)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # its state folder (.flatpak-builder) goes there
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["runtime"] == "org.freedesktop.Platform"
    modules = {m["name"]: m for m in data["modules"] if isinstance(m, dict)}
    assert "vlc" in modules and "segue" in modules
    assert "--share=network" not in data["finish-args"]  # Segue never goes online
    wheels = modules["python3-deps"]["sources"]
    assert all(w["url"].startswith("https://") and len(w["sha256"]) == 64 for w in wheels)


def _run(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUNDLE), *args], capture_output=True, text=True, env=env, timeout=timeout, cwd="/"
    )


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("SEGUE_PACKAGE_TEST") != "1", reason="set SEGUE_PACKAGE_TEST=1 to build"
)
def test_the_bundle_builds_and_runs(tmp_path: Path) -> None:
    if not AUDIO.is_dir():
        pytest.skip("../shared/data/audio is not present")
    build = subprocess.run(["make", "package"], cwd=ROOT, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert BUNDLE.is_file()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "SEGUE_DB": str(tmp_path / "library.db"),
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }

    def timed(*args: str) -> float:
        started = time.perf_counter()
        out = _run(*args, env=env)
        assert out.returncode == 0, out.stderr
        return time.perf_counter() - started

    version = _run("--version", env=env)
    assert version.returncode == 0 and version.stdout.strip().startswith("segue ")

    scan = _run("scan", str(AUDIO), "--json", env=env)
    assert scan.returncode == 0, scan.stderr
    assert json.loads(scan.stdout)["added"] == 8

    # The app's analysis, as the window starts it (`segue -m player.ui.analysis_runner`):
    # librosa and numba inside the bundle, in worker processes.
    runner = _run(
        "-m", "player.ui.analysis_runner", "--workers", "2", "--db", env["SEGUE_DB"], env=env
    )
    assert runner.returncode == 0, runner.stdout + runner.stderr
    done = json.loads(runner.stdout.strip().splitlines()[-1])
    assert done["event"] == "done" and done["analysed"] == 8 and done["workers"] == 2

    shot = tmp_path / "shot.png"
    gui = _run("gui", "--screenshot", str(shot), env=env, timeout=120)
    assert gui.returncode == 0, gui.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    doctor = _run("doctor", env=env)
    assert "8 of 8 tracks analysed" in doctor.stdout
    if Path("/usr/lib/x86_64-linux-gnu/libvlc.so.5").exists():
        assert "ok  libVLC" in doctor.stdout  # the system's libVLC, found from the bundle

    # Start-up time, median of 3 (reported, not asserted: see packaging/README.md).
    report = {
        "version_s": statistics.median(timed("--version") for _ in range(3)),
        "screenshot_s": statistics.median(
            timed("gui", "--screenshot", str(shot)) for _ in range(3)
        ),
    }
    print("bundle start-up:", json.dumps({k: round(v, 2) for k, v in report.items()}))
