"""Scan benchmark (issue 2): 20,000 generated, tagged, short mp3/flac/ogg files.

Targets on the 2-core reference machine: first scan >= 2,500 files/s (DB writes and
fingerprints included), rescan with nothing changed <= 0.5 s, peak RSS <= 150 MB.
The corpus is generated once into a cache folder and reused by later runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mutagen

from tests.audiogen import write_audio
from tests.benchmarks.common import TreeMemorySampler, median, report

N_FILES = int(os.environ.get("SEGUE_BENCH_SCAN_FILES", "20000"))
CORPUS = Path(tempfile.gettempdir()) / f"segue-bench-scan-{N_FILES}-v1"
ROOT = Path(__file__).resolve().parent.parent.parent


def build_corpus() -> Path:
    done = CORPUS / ".complete"
    if done.exists():
        return CORPUS
    shutil.rmtree(CORPUS, ignore_errors=True)
    bases = {}
    work = Path(tempfile.mkdtemp())
    for ext in ("mp3", "flac", "ogg"):
        bases[ext] = [
            write_audio(work / f"b{i}.{ext}", seconds=0.4, freq=200.0 + 30 * i).read_bytes()
            for i in range(8)
        ]
    for i in range(N_FILES):
        ext = ("mp3", "flac", "ogg")[i % 3]
        artist, album = f"Artist {i // 200:03}", f"Album {i // 12:04}"
        path = CORPUS / artist / album / f"{i % 12 + 1:02} - Song {i}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bases[ext][i % 8])
        audio = mutagen.File(str(path), easy=True)
        if audio.tags is None:
            audio.add_tags()
        audio["title"] = f"Song {i}"
        audio["artist"] = artist
        audio["album"] = album
        audio["tracknumber"] = f"{i % 12 + 1}/12"
        audio["genre"] = ("Jazz", "Rock", "Electronic", "Folk")[i % 4]
        audio["date"] = str(1960 + i % 60)
        audio.save()
    shutil.rmtree(work)
    done.touch()
    return CORPUS


def run_scan(db: Path, *args: str) -> tuple[dict[str, object], float, TreeMemorySampler]:
    cmd = [sys.executable, "-m", "player", "--db", str(db), "scan", *args, "--json"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    with TreeMemorySampler(proc.pid) as sampler:
        out, _ = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"scan failed: {proc.returncode}")
    return json.loads(out), wall, sampler


def main() -> None:
    t0 = time.perf_counter()
    corpus = build_corpus()
    generated_s = time.perf_counter() - t0
    work = Path(tempfile.mkdtemp())
    first_rates, first_secs, rss_root, rss_tree, pss_tree = [], [], [], [], []
    for run in range(3):
        db = work / f"first{run}.db"
        summary, wall, mem = run_scan(db, str(corpus))
        assert summary["added"] == N_FILES, summary
        first_secs.append(wall)
        first_rates.append(N_FILES / wall)
        rss_root.append(mem.peak_root_rss_mb)
        rss_tree.append(mem.peak_tree_rss_mb)
        pss_tree.append(mem.peak_tree_pss_mb)
    rescans = []
    for _ in range(5):
        summary, wall, _mem = run_scan(work / "first2.db")
        assert summary["unchanged"] == N_FILES, summary
        rescans.append(float(summary["seconds"]))  # type: ignore[arg-type]
    rescan_wall = [run_scan(work / "first2.db")[1] for _ in range(3)]
    shutil.rmtree(work)
    report(
        "scan_first",
        files=N_FILES,
        median_seconds=round(median(first_secs), 3),
        median_files_per_s=round(median(first_rates), 1),
        target_files_per_s=2500,
        ok=median(first_rates) >= 2500,
        note="wall time of `segue scan DIR` in a fresh process, start-up included",
        corpus_generation_s=round(generated_s, 1),
    )
    report(
        "scan_rescan_unchanged",
        files=N_FILES,
        median_seconds=round(median(rescans), 3),
        median_process_wall_seconds=round(median(rescan_wall), 3),
        target_seconds=0.5,
        ok=median(rescans) <= 0.5,
        note="median_seconds is the scan itself; process wall includes Python start-up",
    )
    report(
        "scan_peak_memory",
        median_peak_rss_main_mb=round(median(rss_root), 1),
        median_peak_rss_tree_mb=round(median(rss_tree), 1),
        median_peak_pss_tree_mb=round(median(pss_tree), 1),
        target_mb=150,
        ok=median(pss_tree) <= 150 and median(rss_root) <= 150,
        note="tree = main process + worker processes; PSS shares common pages fairly",
    )


if __name__ == "__main__":
    main()
