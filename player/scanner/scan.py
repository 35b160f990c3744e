"""Incremental library scan.

1. Walk every online root (cheap: one ``stat`` per file, nothing opened).
2. Compare with the DB: files whose (size, mtime) are unchanged are not opened again.
3. Parse the new and changed files with mutagen in a process pool, fingerprint included.
4. Write results in small transactions as they arrive, so an interrupted scan (Ctrl-C,
   kill -9, a crash) leaves a consistent DB and the next scan resumes where it stopped.
5. Files gone from their path are matched to new files by fingerprint (a move keeps its
   id and history) or marked missing. A new file is also matched against tracks anywhere
   else in the library whose file is gone (a move out of a folder this scan did not walk:
   ``segue scan B`` after a move from A to B). A root that cannot be reached is reported
   offline and left as it was. A music folder inside another is walked once, as part of
   the outer one.
6. A missing track whose fingerprint only one other, present, history-less track has (a
   move an older version added as a new track) is joined to it: one track, the history
   kept.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from typing import Any

from player.config import OwnFiles
from player.errors import SegueError
from player.library.db import Database
from player.library.scanstore import Candidate, KnownTrack, Root, ScanError, ScanStore
from player.scanner.tags import TrackRecord, UnreadableFile, read_track
from player.scanner.walk import (
    DENIED,
    ONLINE,
    FileEntry,
    WalkCounts,
    WalkProblem,
    folder_state,
    walk,
)
from recommender.processes import end_with_parent

# Below this many files, starting worker processes costs more than it saves.
INLINE_LIMIT = 64
CHUNK_SIZE = 48
BATCH_ROWS = 400
BATCH_SECONDS = 1.0

ProgressCallback = Callable[[int, int], None]


@dataclass
class ScanSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    moved: int = 0
    errors: int = 0
    ignored: int = 0
    offline: list[str] = field(default_factory=list)
    # Music folders, or folders inside them, there but not readable by this user (their
    # tracks are kept).
    denied: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


@dataclass(frozen=True)
class _Job:
    path: str
    size: int
    mtime: float
    root_id: int
    known: KnownTrack | None


ParseResult = TrackRecord | ScanError


def parse_one(path: str, size: int, mtime: float) -> ParseResult:
    """Parse a file, turning every failure into a ScanError: never raises."""
    try:
        return read_track(path, size, mtime)
    except UnreadableFile as exc:
        return ScanError(path, exc.kind, str(exc), size, mtime)
    except Exception as exc:  # a bug or an exotic failure must not end the scan
        return ScanError(path, "crash", f"reader failed: {type(exc).__name__}: {exc}", size, mtime)


def _parse_chunk(items: Sequence[tuple[str, int, float]]) -> list[ParseResult]:
    return [parse_one(*item) for item in items]


def _worker_init(scan_pid: int, start_method: str) -> None:
    # Ctrl-C is handled once, by the parent, which then shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(5)
    _end_with_the_scan(scan_pid, start_method)


def _end_with_the_scan(scan_pid: int, start_method: str) -> None:
    """A killed scan (kill -9, a crash) must not leave its workers waiting forever on a
    pipe they hold both ends of: each is ended when the process that started it dies.

    Started by multiprocessing's fork server (Linux), a worker is that server's child,
    and the server ends when the scan's process does, once no child of its keeps the
    "client alive" pipe open: the worker closes its copy (it starts no processes) and is
    ended with the server."""
    if start_method != "forkserver":
        end_with_parent(scan_pid)
        return
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if server is not None and fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
        server._forkserver_alive_fd = None
    end_with_parent(os.getppid())
    try:
        os.kill(scan_pid, 0)  # the scan already gone before the server noticed
    except ProcessLookupError:
        os._exit(1)
    except OSError:
        pass


def default_workers() -> int:
    return max(1, (os.cpu_count() or 1))


def _chunks(jobs: Sequence[_Job], size: int) -> Iterator[list[_Job]]:
    for start in range(0, len(jobs), size):
        yield list(jobs[start : start + size])


def _submit_more(
    pool: ProcessPoolExecutor,
    pending: deque[list[_Job]],
    in_flight: deque[tuple[list[_Job], Future[list[ParseResult]]]],
    limit: int,
) -> None:
    while pending and len(in_flight) < limit:
        chunk = pending.popleft()
        items = [(j.path, j.size, j.mtime) for j in chunk]
        in_flight.append((chunk, pool.submit(_parse_chunk, items)))


def _parse_parallel(jobs: Sequence[_Job], workers: int) -> Iterator[tuple[_Job, ParseResult]]:
    """Parse in a process pool, yielding results in order as chunks finish.

    Only a few chunks per worker are in flight, so memory stays flat however large the
    library. If a file crashes a worker (a native decoder fault), the unfinished chunks
    are retried one file at a time and the culprit is reported instead of taking the
    scan down.
    """
    pending: deque[list[_Job]] = deque(_chunks(jobs, CHUNK_SIZE))
    context = multiprocessing.get_context("spawn" if sys.platform != "linux" else "forkserver")
    in_flight_limit = workers * 3
    while pending:
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_worker_init,
            initargs=(os.getpid(), context.get_start_method()),
        ) as pool:
            in_flight: deque[tuple[list[_Job], Future[list[ParseResult]]]] = deque()
            try:
                _submit_more(pool, pending, in_flight, in_flight_limit)
                while in_flight:
                    chunk, future = in_flight.popleft()
                    try:
                        results = future.result()
                    except BrokenProcessPool:
                        if len(chunk) == 1:
                            job = chunk[0]
                            yield (
                                job,
                                ScanError(
                                    job.path,
                                    "crash",
                                    "the file crashed the tag reader",
                                    job.size,
                                    job.mtime,
                                ),
                            )
                        else:
                            pending.extendleft([job] for job in reversed(chunk))
                        retry = [[job] for later, _ in in_flight for job in later]
                        pending.extendleft(reversed(retry))
                        in_flight.clear()
                        break  # a new pool is started for what is left
                    _submit_more(pool, pending, in_flight, in_flight_limit)
                    yield from zip(chunk, results, strict=True)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise


def _parse_inline(jobs: Sequence[_Job]) -> Iterator[tuple[_Job, ParseResult]]:
    for job in jobs:
        yield job, parse_one(job.path, job.size, job.mtime)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _outermost(roots: Sequence[Root]) -> list[Root]:
    """Drop roots nested inside another root: their files are walked once, by the outer."""
    result: list[Root] = []
    for root in sorted(roots, key=lambda r: len(r.path)):
        if not any(_under(root.path, outer.path) for outer in result):
            result.append(root)
    return result


def _innermost(path: str, roots: Sequence[Root], default: int) -> int:
    """The id of the innermost of ``roots`` holding ``path`` (``default`` if none)."""
    best: Root | None = None
    for root in roots:
        if _under(path, root.path) and (best is None or len(root.path) > len(best.path)):
            best = root
    return best.id if best is not None else default


class MovedAway:
    """Finds where a file new at its path came from: a track elsewhere in the library
    with its fingerprint whose file is gone (already marked missing, or no longer at its
    path while its music folder is there). Only the few tracks sharing a new file's
    fingerprint are looked at, so this costs one indexed query per batch and a ``stat``
    per candidate. A track is handed out once."""

    def __init__(self, store: ScanStore, roots: Sequence[Root], exclude: Iterable[int] = ()):
        self.store = store
        self.roots = {r.id: r.path for r in roots}
        self.taken: set[int] = set(exclude)
        self._root_online: dict[int, bool] = {}
        self._present: set[int] = set()  # files found in place: not asked again

    def claim(self, fingerprints: Sequence[str]) -> list[int | None]:
        """For each fingerprint, in order, the id of the track that file moved from."""
        if not fingerprints:
            return []
        found = self.store.by_fingerprint(fingerprints)
        # One pass over each fingerprint's candidates, however many new files share it
        # (a folder of identical files must not cost a stat per pair).
        left: dict[str, Iterator[Candidate]] = {}
        result: list[int | None] = []
        for fp in fingerprints:
            moved: int | None = None
            for candidate in left.setdefault(fp, iter(found.get(fp, ()))):
                if candidate.id not in self.taken and self.is_gone(candidate):
                    moved = candidate.id
                    self.taken.add(moved)
                    break
            result.append(moved)
        return result

    def is_gone(self, candidate: Candidate) -> bool:
        if candidate.missing:
            return True
        if candidate.id in self._present:
            return False
        if not self._gone(candidate):
            self._present.add(candidate.id)
            return False
        return True

    def _gone(self, candidate: Candidate) -> bool:
        root = candidate.root_id
        if root is not None:
            if root not in self._root_online:
                path = self.roots.get(root)
                self._root_online[root] = path is not None and folder_state(path) == ONLINE
            if not self._root_online[root]:  # unplugged or unreadable: says nothing
                return False
        return file_gone(candidate.path)


def file_gone(path: str) -> bool:
    """Whether nothing is at ``path`` (a file that cannot be checked is not gone)."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


class Scanner:
    def __init__(
        self,
        db: Database,
        *,
        workers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.db = db
        self.store = ScanStore(db)
        self.workers = workers or default_workers()
        self.progress = progress

    def add_roots(self, paths: Iterable[str]) -> list[str]:
        resolved = []
        for raw in paths:
            path = os.path.abspath(os.path.expanduser(raw))
            if not os.path.isdir(path):
                reason = "does not exist" if not os.path.exists(path) else "is not a folder"
                raise SegueError(f"cannot scan {raw}: it {reason}")
            resolved.append(path)
        self.store.add_roots(resolved)
        # Naming a folder is the user adding its music again: tracks under it that were
        # removed from the library come back (files they don't name stay removed).
        self.store.unremove_under(resolved)
        return resolved

    def scan(self, only: Sequence[str] | None = None) -> ScanSummary:
        started = time.perf_counter()
        summary = ScanSummary()
        all_roots = self.store.roots()
        roots = all_roots
        if only is not None:
            wanted = set(only)
            roots = [r for r in roots if r.path in wanted]
        online: list[Root] = []
        for root in roots:
            state = folder_state(root.path)
            if state == ONLINE:
                online.append(root)
                continue
            # Either way its tracks are kept as they were (never marked missing).
            (summary.denied if state == DENIED else summary.offline).append(root.path)
            self.store.mark_root(root.id, online=False)
        walked = _outermost(online)
        gone: list[int] = []
        if walked:
            # Music folders inside the walked ones are walked with them; one that cannot
            # be read now keeps its tracks, as if it were walked on its own.
            inside = [
                r
                for r in all_roots
                if r not in walked and any(_under(r.path, w.path) for w in walked)
            ]
            held = [r.path for r in inside if r not in online and folder_state(r.path) != ONLINE]
            gone = self._scan_roots(walked, all_roots, held, summary)
            for root in walked + [r for r in inside if r.path not in held]:
                self.store.mark_root(root.id, online=True)
        self._join_twins(all_roots, gone, summary)
        summary.seconds = time.perf_counter() - started
        return summary

    def _join_twins(self, roots: Sequence[Root], gone: Sequence[int], summary: ScanSummary) -> None:
        """Join each missing track to the one present, history-less track with its
        fingerprint (see ScanStore.missing_twins), when its file is really gone."""
        twins = self.store.missing_twins()
        if not twins:
            return
        finder = MovedAway(self.store, roots)
        just_gone = set(gone)
        for old, new in twins:
            # Marked missing, but only joined if its file is still not there while its
            # music folder is (a forgotten folder's files, say, are still in place).
            if not finder.is_gone(Candidate(old.id, old.path, False, old.root_id)):
                continue
            if self.store.join_twin(old.id, new):
                summary.moved += 1
                if old.id in just_gone:
                    summary.missing -= 1

    def _scan_roots(
        self,
        roots: Sequence[Root],
        all_roots: Sequence[Root],
        held: Sequence[str],
        summary: ScanSummary,
    ) -> list[int]:
        """Walk ``roots`` (none inside another) and bring their tracks up to date; the
        ids of the tracks marked missing. ``held``: music folders inside them that cannot
        be read now (their tracks are kept)."""
        known = self.store.known_under([r.path for r in roots])
        known_errors = self.store.known_errors()
        counts = WalkCounts()
        jobs: list[_Job] = []
        seen: set[str] = set()
        walk_errors: list[ScanError] = []
        restore: list[int] = []
        unlisted: list[str] = list(held)  # folders not listed: their tracks are kept
        own_files = OwnFiles(self.db.path)
        for root in roots:
            nested = [r for r in all_roots if r.id != root.id and _under(r.path, root.path)]
            for item in walk(root.path, counts):
                if isinstance(item, WalkProblem):
                    walk_errors.append(ScanError(item.path, item.kind, item.message))
                    if item.kind == "unreadable_folder":
                        unlisted.append(item.path)
                        if item.denied:
                            summary.denied.append(item.path)
                    continue
                if own_files.contains(item.path):  # never opened: see player/config.py
                    counts.ignored += 1
                    continue
                seen.add(item.path)
                if self._unchanged(item, known, known_errors, summary, restore):
                    continue
                root_id = _innermost(item.path, nested, root.id) if nested else root.id
                jobs.append(_Job(item.path, item.size, item.mtime, root_id, known.get(item.path)))
        summary.ignored = counts.ignored

        # Paths found under a root but filed under another root (roots added later).
        strays = [j.path for j in jobs if j.known is None]
        if strays:
            elsewhere = self.store.known_track_by_path(strays)
            if elsewhere:
                jobs = [
                    _Job(j.path, j.size, j.mtime, j.root_id, elsewhere.get(j.path, j.known))
                    for j in jobs
                ]

        # Tracks that were under these roots and are no longer where they were: each is
        # either moved (a new file has its fingerprint) or missing.
        # A folder that could not be listed (permission denied inside a readable root)
        # says nothing about its files: they are neither missing nor fixed.
        def unknown(path: str) -> bool:
            return any(_under(path, folder) for folder in unlisted)

        vanished: dict[str, list[int]] = {}
        for path, k in known.items():
            if path not in seen and not k.missing and not unknown(path):
                vanished.setdefault(k.fingerprint, []).append(k.id)
        missing_before = self.store.missing_by_fingerprint()
        stale_errors = [
            p
            for p in known_errors
            if p not in seen and any(_under(p, r.path) for r in roots) and not unknown(p)
        ]
        self.store.write_batch(errors=walk_errors, clear_errors=stale_errors, restore=restore)
        summary.errors += len(walk_errors)

        # A new file no vanished or missing track claims may come from a folder this
        # scan did not walk (or one walked first by a partial scan).
        handled = [k.id for k in known.values()]
        handled += [tid for ids in missing_before.values() for tid in ids]
        moved_away = MovedAway(self.store, all_roots, exclude=handled)
        self._parse_and_store(jobs, vanished, missing_before, moved_away, summary)

        gone = [tid for ids in vanished.values() for tid in ids]
        self.store.write_batch(mark_missing=gone)
        summary.missing += len(gone)
        return gone

    def _unchanged(
        self,
        item: FileEntry,
        known: dict[str, KnownTrack],
        known_errors: dict[str, Any],
        summary: ScanSummary,
        restore: list[int],
    ) -> bool:
        track = known.get(item.path)
        if track is not None and track.size == item.size and track.mtime == item.mtime:
            summary.unchanged += 1
            if track.missing:  # back again, e.g. a drive plugged in again
                restore.append(track.id)
            return True
        error = known_errors.get(item.path)
        if (
            track is None
            and error is not None
            and error.size == item.size
            and error.mtime == item.mtime
        ):
            summary.errors += 1
            return True
        return False

    def _parse_and_store(
        self,
        jobs: Sequence[_Job],
        vanished: dict[str, list[int]],
        missing_before: dict[str, list[int]],
        moved_away: MovedAway,
        summary: ScanSummary,
    ) -> None:
        total = len(jobs)
        if not total:
            return
        results = (
            _parse_inline(jobs)
            if total <= INLINE_LIMIT or self.workers <= 1
            else _parse_parallel(jobs, self.workers)
        )
        inserts: list[tuple[str, dict[str, Any]]] = []
        fresh: list[tuple[str, dict[str, Any]]] = []  # new here: moved from elsewhere?
        updates: list[tuple[int, str, dict[str, Any]]] = []
        errors: list[ScanError] = []
        clear: list[str] = []
        lost: list[int] = []
        last_flush = time.monotonic()
        done = 0

        def flush() -> None:
            claimed = moved_away.claim([values["fingerprint"] for _, values in fresh])
            for (path, values), moved_from in zip(fresh, claimed, strict=True):
                if moved_from is not None:
                    updates.append((moved_from, path, values))
                    summary.moved += 1
                else:
                    inserts.append((path, values))
                    summary.added += 1
            fresh.clear()
            self.store.write_batch(
                inserts=inserts,
                updates=updates,
                errors=errors,
                clear_errors=clear,
                mark_missing=lost,
            )
            for pending in (inserts, updates, errors, clear, lost):
                pending.clear()

        try:
            for job, result in results:
                done += 1
                if isinstance(result, ScanError):
                    errors.append(result)
                    summary.errors += 1
                    if job.known is not None and not job.known.missing:
                        lost.append(job.known.id)
                        summary.missing += 1
                else:
                    values = track_values(result, job.root_id)
                    if result.warning is None:
                        clear.append(job.path)
                    else:
                        kind, message = result.warning
                        errors.append(ScanError(job.path, kind, message, job.size, job.mtime))
                    if job.known is not None:
                        updates.append((job.known.id, job.path, values))
                        summary.updated += 1
                    else:
                        moved_id = _take(vanished, result.fingerprint) or _take(
                            missing_before, result.fingerprint
                        )
                        if moved_id is not None:
                            updates.append((moved_id, job.path, values))
                            summary.moved += 1
                        else:
                            fresh.append((job.path, values))
                if self.progress is not None:
                    self.progress(done, total)
                if (
                    len(fresh) + len(updates) + len(errors) >= BATCH_ROWS
                    or time.monotonic() - last_flush > BATCH_SECONDS
                ):
                    flush()
                    last_flush = time.monotonic()
        finally:
            # Whatever happens (Ctrl-C included), what was parsed is kept.
            flush()


def _take(index: dict[str, list[int]], fp: str) -> int | None:
    ids = index.get(fp)
    if ids:
        return ids.pop(0)
    return None


def track_values(record: TrackRecord, root_id: int) -> dict[str, Any]:
    values: dict[str, Any] = dict(record.tags)
    values.update(
        root_id=root_id,
        size=record.size,
        mtime=record.mtime,
        fingerprint=record.fingerprint,
        format=record.format,
        codec=record.codec,
        duration=record.duration,
        bitrate=record.bitrate,
        sample_rate=record.sample_rate,
        channels=record.channels,
        has_audio=int(record.has_audio),
    )
    return values
