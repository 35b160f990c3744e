"""Song info says why a song has no sound description: not analysed yet, or could not be."""

from __future__ import annotations

from pathlib import Path

from player.library import track_info
from player.library.db import Database
from player.library.features import Failure, FeatureStore
from player.ui.trackinfo import info_rows
from tests.audiogen import write_audio
from tests.scanhelp import scan


def test_song_info_tells_a_failed_analysis_from_one_not_done_yet(
    library: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "music"
    for name in ("waiting", "broken"):
        write_audio(folder / f"{name}.wav", seconds=2.0)
    scan(library, folder)
    ids = {Path(r["path"]).stem: r["id"] for r in library.query("SELECT id, path FROM tracks")}
    fingerprint = library.query("SELECT fingerprint FROM tracks WHERE id = ?", (ids["broken"],))
    FeatureStore(library).save(
        3, [], [Failure(ids["broken"], fingerprint[0][0], "decode", "the audio stream ends early")]
    )

    def analysis(track_id: int) -> str:
        details = track_info.details(library, track_id)
        assert details is not None
        return dict(dict(info_rows(details))["How it sounds"])["Analysis"]

    assert analysis(ids["waiting"]) == "not analysed yet (File › Analyse now)"
    assert analysis(ids["broken"]) == "could not be analysed: the audio stream ends early"
