"""``segue doctor``: check the set-up and say what is wrong, in plain words."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from player import __version__


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_playback() -> Check:
    from player.playback.vlc_backend import VlcBackend, VlcUnavailable

    try:
        backend = VlcBackend(["--aout=dummy", "--no-video", "--quiet"])
    except VlcUnavailable as exc:
        return Check("libVLC", False, f"not usable: {exc}; install VLC 3 to hear music")
    name = backend.name
    backend.close()
    return Check("libVLC", True, name)


def check_audio_output() -> Check:
    from player.playback.outputs import audio_output_problem

    problem = audio_output_problem()
    if problem:
        return Check("audio output", False, problem)
    return Check("audio output", True, "a sound card or a sound server is there")


def check_database(path: Path) -> list[Check]:
    from player.errors import SegueError
    from player.library.db import Database
    from player.library.events import count as count_events
    from player.library.migrations import LATEST_VERSION
    from player.library.stats import counts_text, overview
    from player.scanner.walk import DENIED, OFFLINE, ONLINE, folder_state

    if not path.exists():
        return [Check("library DB", True, f"{path} (not created yet: run 'segue scan DIR')")]
    try:
        db = Database(path, migrate=False)
    except SegueError as exc:
        return [Check("library DB", False, str(exc))]
    with db:
        checks = []
        try:
            version = db.schema_version()
            healthy = db.integrity_ok()
        except SegueError as exc:
            return [Check("library DB", False, str(exc))]
        if version > LATEST_VERSION:
            checks.append(
                Check("library DB", False, f"{path}: written by a newer Segue (schema {version})")
            )
            return checks
        upgrade = "" if version == LATEST_VERSION else f", will upgrade to {LATEST_VERSION}"
        checks.append(
            Check(
                "library DB",
                healthy,
                f"{path} (schema {version}{upgrade}, integrity "
                f"{'ok' if healthy else 'FAILED: restore a backup'})",
            )
        )
        if version < LATEST_VERSION:
            return checks
        library = overview(db, errors=0)
        states = [(path, folder_state(path)) for path, _ in library.roots]
        unreachable = [(path, state) for path, state in states if state != ONLINE]
        detail = counts_text(library.tracks, library.missing)
        for state in (OFFLINE, DENIED):
            folders = [path for path, s in unreachable if s == state]
            if folders:
                detail += f"; {state}: {', '.join(folders)}"
        checks.append(Check("files", library.missing == 0 and not unreachable, detail))
        checks.append(_analysis(db))
        checks.append(Check("listening log", True, f"{count_events(db)} events"))
        return checks


def _analysis(db: object) -> Check:
    from player.library.db import Database
    from player.library.features import FeatureStore
    from recommender.audio.features import LACKING, current_version

    assert isinstance(db, Database)
    version, problem = current_version()
    model = f"; {problem}: {LACKING[version]}" if problem else ""
    status = FeatureStore(db).status(version)
    failed = sum(status.failed.values())
    detail = (
        f"feature version {version}: {status.current} of {status.tracks} tracks "
        f"analysed, {status.older} on an older version, {failed} failed, "
        f"{status.pending} waiting{model}"
    )
    return Check("audio analysis", status.pending == 0 and not model, detail)


def check_music_network() -> Check:
    """What analysis runs the music network on: onnxruntime at full speed, or numpy (the
    same numbers, slower) and why."""
    from recommender.audio.musicnn import ModelError, network_backend

    try:
        backend, why = network_backend()
    except ModelError as exc:
        return Check("music network", False, f"{exc}: analysis runs without it")
    if why is None:
        return Check("music network", True, f"{backend} (analysis at full speed)")
    return Check("music network", True, f"numpy fallback (same results, slower analysis): {why}")


def run_checks(db_path: Path) -> list[Check]:
    checks = [Check("segue", True, f"version {__version__}")]
    checks.append(check_playback())
    checks.append(check_audio_output())
    checks.extend(check_database(db_path))
    checks.append(check_music_network())
    data_dir = db_path.parent
    writable = os.access(data_dir, os.W_OK) if data_dir.exists() else True
    checks.append(
        Check("data folder", writable, f"{data_dir}{'' if writable else ' is not writable'}")
    )
    return checks
