"""``segue analyze``: describe how every track sounds, in a pool of worker processes.

- Work list: every present track lacking a current-version vector for its current file
  (``FeatureStore.pending``): recently played or queued tracks first, then new tracks,
  then upgrades of older-version vectors (which keep serving until replaced).
- Workers are our own processes, one pipe each, rather than a ProcessPoolExecutor: a
  worker stuck on a file (a hung network mount, a decoder loop) past the per-file
  timeout is killed and replaced, and a worker that dies (a decoder crash) costs one
  file, recorded with its reason, never the run or a hung pool.
- Results are written in small transactions as they arrive, so an interrupted run keeps
  what it finished and the next run resumes with the rest.
- Memory: a worker holds one file's excerpt at a time (decoding reads only the windows
  it needs); the parent keeps only a small batch of results.
- Playback: with ``low_priority`` the workers run at the lowest CPU priority, and while
  ``playing()`` says music plays only one of them gets work.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

import numpy as np

from player.errors import SegueError
from player.library.db import Database
from player.library.features import Failure, FeatureStore, PendingTrack, StoredFeatures

FILE_TIMEOUT_S = 60.0
STARTUP_TIMEOUT_S = 120.0  # import + warm-up of a fresh worker on a busy machine
BATCH_ROWS = 32
BATCH_SECONDS = 1.0
MAX_STARTUP_FAILURES = 3
# The loop wakes at least every 0.5 s; a longer gap means the process was stopped.
PAUSE_GAP_S = 5.0

ProgressCallback = Callable[[int, int], None]
TRANSIENT = frozenset({"missing"})

# Single-threaded numeric libraries in each worker: the pool is the parallelism, and
# threads competing for the same cores only add overhead.
_WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


def default_workers() -> int:
    return max(1, (os.cpu_count() or 1) - 1)


@dataclass
class AnalyzeSummary:
    analysed: int = 0
    failed: int = 0
    pending: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    workers: int = 0
    seconds: float = 0.0
    cpu_seconds_per_track: float = 0.0
    peak_worker_rss_mb: float = 0.0
    interrupted: bool = False
    model_problem: str | None = None  # why the music network was not used
    network_fallback: str | None = None  # why numpy, not onnxruntime, ran the network

    @property
    def tracks_per_second(self) -> float:
        done = self.analysed + self.failed
        return done / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "analysed": self.analysed,
            "failed": self.failed,
            "failures": dict(sorted(self.failures.items())),
            "pending": self.pending,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "tracks_per_second": round(self.tracks_per_second, 3),
            "cpu_seconds_per_track": round(self.cpu_seconds_per_track, 4),
            "peak_worker_rss_mb": round(self.peak_worker_rss_mb, 1),
            "interrupted": self.interrupted,
            "model_problem": self.model_problem,
            "network_fallback": self.network_fallback,
        }


class _Worker:
    def __init__(self, ctx: Any, low_priority: bool, deep: bool, mtt: bool = False) -> None:
        from player.analysis import worker

        self.conn, child = ctx.Pipe(duplex=True)
        saved = {k: os.environ.get(k) for k in _WORKER_ENV}
        os.environ.update(_WORKER_ENV)
        try:
            self.proc: BaseProcess = ctx.Process(
                target=worker.main, args=(child, low_priority, deep, mtt), daemon=True
            )
            self.proc.start()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        child.close()
        self.ready = False
        self.started = time.monotonic()
        self.job: PendingTrack | None = None
        self.job_started = 0.0

    def give(self, job: PendingTrack) -> None:
        self.job = job
        self.job_started = time.monotonic()
        self.conn.send((job.id, job.path))

    def stop(self, *, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except OSError:
                kill = True
            self.proc.join(timeout=2.0)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5.0)
        self.conn.close()


class Analyzer:
    """Analyse the tracks that need it. One instance per run; not thread-safe itself,
    but ``playing`` may be any thread-safe callable (the app's "music is playing")."""

    def __init__(
        self,
        db: Database,
        *,
        workers: int | None = None,
        timeout: float = FILE_TIMEOUT_S,
        low_priority: bool = False,
        playing: Callable[[], bool] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        from recommender.audio.features import (
            DEEP_FEATURE_VERSION,
            LACKING,
            MTT_FEATURE_VERSION,
            current_version,
        )

        if workers is not None and workers < 1:
            raise SegueError("--workers must be at least 1")
        self.db = db
        self.store = FeatureStore(db)
        # The music network when its weights load; else the signal-processing features
        # alone (version 1), and ``model_problem`` says why in one line.
        self.version, problem = current_version()
        self.deep = self.version >= DEEP_FEATURE_VERSION
        self.mtt = self.version >= MTT_FEATURE_VERSION
        self.model_problem = (
            f"{problem}; analysing without it ({LACKING[self.version]})" if problem else None
        )
        self.workers = workers or default_workers()
        self.timeout = timeout
        self.low_priority = low_priority
        self.playing = playing
        self.progress = progress

    def run(
        self,
        limit: int | None = None,
        *,
        wait: bool = False,
        on_wait: Callable[[], None] | None = None,
    ) -> AnalyzeSummary:
        """Analyse what is pending (at most ``limit`` tracks). One analysis runs per
        library at a time: with ``wait`` this one waits for another process's to end
        (``on_wait`` is told when it starts waiting; the backlog is read afterwards),
        else it refuses in one line."""
        from player.analysis.lock import analysis_lock

        with analysis_lock(self.db.path, wait=wait, on_wait=on_wait):
            return self._run(limit)

    def _run(self, limit: int | None) -> AnalyzeSummary:
        start = time.monotonic()
        summary = AnalyzeSummary(model_problem=self.model_problem)
        pending = self.store.pending(self.version)
        if limit is not None:
            pending = pending[:limit]
        total = len(pending)
        results: list[StoredFeatures] = []
        failures: list[Failure] = []
        kinds: Counter[str] = Counter()
        cpu_total = 0.0
        last_flush = time.monotonic()

        def flush(force: bool = False) -> None:
            nonlocal last_flush
            if (
                force
                or len(results) + len(failures) >= BATCH_ROWS
                or (time.monotonic() - last_flush >= BATCH_SECONDS)
            ):
                self.store.save(self.version, results, failures)
                results.clear()
                failures.clear()
                last_flush = time.monotonic()

        def fail(job: PendingTrack, kind: str, message: str) -> None:
            # A file gone since the scan is not recorded: the next scan decides whether
            # it moved or vanished, and the next run analyses it wherever it is.
            if kind not in TRANSIENT:
                failures.append(Failure(job.id, job.fingerprint, kind, message))
            kinds[kind] += 1
            summary.failed += 1

        jobs: deque[PendingTrack] = deque()
        for job in pending:
            if job.has_audio:
                jobs.append(job)
            else:
                fail(job, "no_audio", "the scanner found no playable audio in this file")
        done = summary.failed
        if self.progress is not None:
            self.progress(done, total)

        pool: list[_Worker] = []
        ctx = multiprocessing.get_context("spawn")
        startup_failures = 0
        last_tick = time.monotonic()
        summary.workers = min(self.workers, len(jobs)) if jobs else 0
        try:
            pool = [
                _Worker(ctx, self.low_priority, self.deep, self.mtt) for _ in range(summary.workers)
            ]
            while jobs or any(w.job is not None for w in pool):
                self._dispatch(pool, jobs)
                waitables: list[Any] = [w.conn for w in pool] + [w.proc.sentinel for w in pool]
                wait(waitables, timeout=0.5)
                now = time.monotonic()
                if now - last_tick > PAUSE_GAP_S:
                    # The whole run was stopped (the app pauses analysis with SIGSTOP
                    # while music plays, a laptop slept): that time is nobody's timeout.
                    for w in pool:
                        w.job_started += now - last_tick
                        w.started += now - last_tick
                last_tick = now
                for i, w in enumerate(pool):
                    replace = False
                    message: Any = None
                    try:
                        if w.conn.poll():
                            message = w.conn.recv()
                    except (EOFError, OSError):
                        message = None
                    if message is not None and message[0] == "ready":
                        w.ready = True
                        startup_failures = 0
                        summary.network_fallback = summary.network_fallback or message[1]
                    elif message is not None:
                        track_id, ok, payload, cpu, rss = message
                        current = w.job
                        w.job = None
                        summary.peak_worker_rss_mb = max(summary.peak_worker_rss_mb, rss)
                        cpu_total += cpu
                        if current is not None and current.id == track_id:
                            done += 1
                            if ok:
                                vector, scalars = payload
                                results.append(_stored(current, vector, scalars, cpu))
                                summary.analysed += 1
                            else:
                                fail(current, *payload)
                    elif not w.proc.is_alive():
                        replace = True
                        if w.job is not None:
                            code = w.proc.exitcode
                            fail(w.job, "crash", f"the decoder crashed (exit code {code})")
                            done += 1
                        elif not w.ready:
                            startup_failures += 1
                    elif w.job is not None and now - w.job_started > self.timeout:
                        replace = True
                        fail(
                            w.job,
                            "timeout",
                            f"analysis took longer than {self.timeout:g} s; skipped",
                        )
                        done += 1
                    elif not w.ready and now - w.started > STARTUP_TIMEOUT_S:
                        replace = True
                        startup_failures += 1
                    if replace:
                        w.job = None
                        w.stop(kill=True)
                        if startup_failures >= MAX_STARTUP_FAILURES:
                            raise SegueError("the analysis workers cannot start")
                        pool[i] = _Worker(ctx, self.low_priority, self.deep, self.mtt)
                flush()
                if self.progress is not None:
                    self.progress(done, total)
        except KeyboardInterrupt:
            summary.interrupted = True
            raise
        finally:
            for w in pool:
                w.stop(kill=summary.interrupted or w.job is not None)
            flush(force=True)
            summary.failures = dict(kinds)
            summary.pending = len(self.store.pending(self.version))
            summary.seconds = time.monotonic() - start
            if summary.analysed:
                summary.cpu_seconds_per_track = cpu_total / summary.analysed
        return summary

    def _dispatch(self, pool: list[_Worker], jobs: deque[PendingTrack]) -> None:
        busy = sum(1 for w in pool if w.job is not None)
        allowed = 1 if self.playing is not None and self.playing() else len(pool)
        for w in pool:
            if not jobs or busy >= allowed:
                return
            if w.ready and w.job is None and w.proc.is_alive():
                job = jobs.popleft()
                try:
                    w.give(job)
                except OSError:
                    w.job = None
                    jobs.appendleft(job)  # the worker just died; the loop replaces it
                    continue
                busy += 1


def _stored(
    job: PendingTrack, vector: np.ndarray[Any, Any], scalars: dict[str, Any], cpu: float
) -> StoredFeatures:
    from recommender.audio.features import stored_heard_text

    heard = stored_heard_text(vector)
    return StoredFeatures(
        track_id=job.id,
        fingerprint=job.fingerprint,
        vector=np.asarray(vector, dtype=np.float32),
        bpm=float(scalars["bpm"]),
        bpm_confidence=float(scalars["bpm_confidence"]),
        key=int(scalars["key"]),
        mode=int(scalars["mode"]),
        key_strength=float(scalars["key_strength"]),
        energy=float(scalars["energy"]),
        brightness=float(scalars["brightness"]),
        pulse_strength=float(scalars["pulse_strength"]),
        acousticness=float(scalars["acousticness"]),
        loudness_db=float(scalars["loudness_db"]),
        cpu_seconds=cpu,
        heard_tags=heard,
    )
