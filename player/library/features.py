"""The SQL for audio features: what needs analysing, the stored vectors, the failures.

A vector is stored raw as a float32 blob with its feature version and the file
fingerprint it was computed from. Re-analysis replaces the row in place, so a vector of
an older version keeps serving until its replacement is written.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from player.library.db import Database
from player.library.paths import from_db, to_db


@dataclass(frozen=True)
class PendingTrack:
    id: int
    path: str
    fingerprint: str
    has_audio: bool
    upgrade: bool  # holds an older-version vector that keeps serving meanwhile


@dataclass(frozen=True)
class StoredFeatures:
    """One analysed track: the vector and the interpretable scalars."""

    track_id: int
    fingerprint: str
    vector: npt.NDArray[np.float32]
    bpm: float
    bpm_confidence: float
    key: int
    mode: int
    key_strength: float
    energy: float
    brightness: float
    pulse_strength: float
    acousticness: float
    loudness_db: float
    cpu_seconds: float = 0.0
    heard_tags: str | None = None  # recommender.audio.tags.format_heard, or None


@dataclass(frozen=True)
class Failure:
    track_id: int
    fingerprint: str
    kind: str
    message: str


@dataclass(frozen=True)
class ServingVectors:
    """The vectors an index is built from: all of one layout (vector length)."""

    track_ids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]
    versions: npt.NDArray[np.int64]


@dataclass
class FeatureStatus:
    tracks: int = 0
    current: int = 0
    older: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    pending: int = 0


_SCALARS = (
    "bpm",
    "bpm_confidence",
    "musical_key",
    "mode",
    "key_strength",
    "energy",
    "brightness",
    "pulse_strength",
    "acousticness",
    "loudness_db",
)


# What "needs analysing at version :v" means, shared by pending() and pending_count()
# (tracks t, track_features f and analysis_failures a joined on the track). A vector of
# :v or NEWER for the current file is done: when the music network's weights fail to
# load, current_version() falls back to 1, and a version-2 vector must never be
# replaced by a version-1 one. A track removed from the library is not analysed.
_PENDING = """t.missing = 0 AND t.removed = 0
    AND NOT COALESCE(f.version >= :v AND f.fingerprint = t.fingerprint, 0)
    AND NOT COALESCE(a.version = :v AND a.fingerprint = t.fingerprint, 0)"""


class FeatureStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- what to analyse ------------------------------------------------------------

    def pending(self, version: int) -> list[PendingTrack]:
        """Tracks without a current vector for their current file, in analysis order.

        Order: tracks with listening events (plays, queueing, skips...), most recent
        first; then tracks with no vector at all; then upgrades of older-version
        vectors, which keep serving meanwhile. Files that failed at this version are
        not tried again until they change.
        """
        rows = self.db.query(
            f"""SELECT t.id, t.path, t.fingerprint, t.has_audio,
                      f.track_id IS NOT NULL AS upgrade, e.last_ts
               FROM tracks t
               LEFT JOIN track_features f ON f.track_id = t.id
               LEFT JOIN analysis_failures a ON a.track_id = t.id
               LEFT JOIN (SELECT track_id, MAX(ts) AS last_ts FROM events
                          WHERE track_id IS NOT NULL GROUP BY track_id) e
                      ON e.track_id = t.id
               WHERE {_PENDING}
               ORDER BY e.last_ts IS NULL, e.last_ts DESC, upgrade, t.id""",
            {"v": version},
        )
        return [
            PendingTrack(
                id=int(r["id"]),
                path=from_db(r["path"]),
                fingerprint=str(r["fingerprint"]),
                has_audio=bool(r["has_audio"]),
                upgrade=bool(r["upgrade"]),
            )
            for r in rows
        ]

    def pending_count(self, version: int) -> int:
        """How many tracks :meth:`pending` would return, counted without reading them (the
        app asks this every half-minute to know whether analysis should run)."""
        return int(
            self.db.scalar(
                f"""SELECT COUNT(*) FROM tracks t
                   LEFT JOIN track_features f ON f.track_id = t.id
                   LEFT JOIN analysis_failures a ON a.track_id = t.id
                   WHERE {_PENDING}""",
                {"v": version},
            )
        )

    # -- writes ---------------------------------------------------------------------

    def save(
        self, version: int, results: Sequence[StoredFeatures], failures: Sequence[Failure]
    ) -> None:
        """Store a batch in one transaction. A failure leaves an older vector in place."""
        if not results and not failures:
            return
        now = time.time()
        with self.db.transaction() as conn:
            conn.executemany(
                f"""INSERT OR REPLACE INTO track_features
                    (track_id, version, fingerprint, dims, vector, {", ".join(_SCALARS)},
                     analysed_at, cpu_seconds, heard_tags)
                    VALUES (?, ?, ?, ?, ?, {", ".join("?" for _ in _SCALARS)}, ?, ?, ?)""",
                [
                    (
                        r.track_id,
                        version,
                        r.fingerprint,
                        int(r.vector.shape[0]),
                        np.ascontiguousarray(r.vector, dtype="<f4").tobytes(),
                        r.bpm,
                        r.bpm_confidence,
                        r.key,
                        r.mode,
                        r.key_strength,
                        r.energy,
                        r.brightness,
                        r.pulse_strength,
                        r.acousticness,
                        r.loudness_db,
                        now,
                        r.cpu_seconds,
                        r.heard_tags,
                    )
                    for r in results
                ],
            )
            conn.executemany(
                "DELETE FROM analysis_failures WHERE track_id = ?",
                [(r.track_id,) for r in results],
            )
            conn.executemany(
                """INSERT OR REPLACE INTO analysis_failures
                   (track_id, version, fingerprint, kind, message, time)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [(f.track_id, version, f.fingerprint, f.kind, f.message, now) for f in failures],
            )

    # -- reads ----------------------------------------------------------------------

    def serving(self, dims: int) -> ServingVectors:
        """Every stored vector, whatever its version, in one layout of at most ``dims``
        columns.

        Layouts only ever grow by appending columns (version 2 = version 1's columns,
        then the music network's), so an old vector is a prefix of a new one. The wider
        layout serves once at least half the vectors have it, the old vectors padded
        with NaN (the index treats a missing value as the library's median); until then
        the old layout serves, new vectors cut to it. Either way no analysed track stops
        serving while the background re-analysis upgrades the library.
        """
        counts = {
            int(r["dims"]): int(r["n"])
            for r in self.db.query("SELECT dims, COUNT(*) AS n FROM track_features GROUP BY dims")
        }
        total = sum(counts.values())
        if not total:
            return ServingVectors(
                np.zeros(0, np.int64), np.zeros((0, dims), np.float32), np.zeros(0, np.int64)
            )
        # The widest layout (up to ``dims``) that at least half the vectors reach.
        widths = sorted({min(d, dims) for d in counts}, reverse=True)
        chosen = next(w for w in widths if 2 * sum(n for d, n in counts.items() if d >= w) >= total)
        rows = self.db.query(
            "SELECT track_id, version, dims, vector FROM track_features ORDER BY track_id"
        )
        ids = np.array([r["track_id"] for r in rows], dtype=np.int64)
        versions = np.array([r["version"] for r in rows], dtype=np.int64)
        vectors = np.full((len(rows), chosen), np.nan, dtype=np.float32)
        for width in {int(r["dims"]) for r in rows}:
            which = [i for i, r in enumerate(rows) if int(r["dims"]) == width]
            blob = b"".join(rows[i]["vector"] for i in which)
            block = np.frombuffer(blob, dtype="<f4").reshape(len(which), width)
            take = min(width, chosen)
            vectors[which, :take] = block[:, :take]
        return ServingVectors(ids, vectors, versions)

    def scalars(self, track_id: int) -> dict[str, float] | None:
        rows = self.db.query(
            f"SELECT version, {', '.join(_SCALARS)} FROM track_features WHERE track_id = ?",
            (track_id,),
        )
        return {k: rows[0][k] for k in rows[0].keys()} if rows else None  # noqa: SIM118

    def heard_tags(self, track_ids: Sequence[int]) -> dict[int, str]:
        """Stored heard tags (``format_heard`` text) of those tracks that have any."""
        out: dict[int, str] = {}
        ids = list(track_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for r in self.db.query(
                "SELECT track_id, heard_tags FROM track_features "
                f"WHERE heard_tags <> '' AND track_id IN ({marks})",
                chunk,
            ):
                out[int(r["track_id"])] = str(r["heard_tags"])
        return out

    def failure(self, track_id: int) -> Failure | None:
        rows = self.db.query(
            "SELECT track_id, fingerprint, kind, message FROM analysis_failures WHERE track_id = ?",
            (track_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return Failure(int(r["track_id"]), str(r["fingerprint"]), r["kind"], r["message"])

    def failures(self) -> list[tuple[str, Failure]]:
        """Every recorded failure with its track's path."""
        rows = self.db.query(
            "SELECT a.track_id, a.fingerprint, a.kind, a.message, t.path "
            "FROM analysis_failures a JOIN tracks t ON t.id = a.track_id ORDER BY t.path"
        )
        return [
            (
                from_db(r["path"]),
                Failure(int(r["track_id"]), r["fingerprint"], r["kind"], r["message"]),
            )
            for r in rows
        ]

    def status(self, version: int) -> FeatureStatus:
        status = FeatureStatus()
        status.tracks = int(self.db.scalar("SELECT COUNT(*) FROM tracks WHERE missing = 0"))
        status.current = int(
            self.db.scalar(
                "SELECT COUNT(*) FROM track_features f JOIN tracks t ON t.id = f.track_id "
                "WHERE t.missing = 0 AND f.version = ?",
                (version,),
            )
        )
        status.older = int(
            self.db.scalar(
                "SELECT COUNT(*) FROM track_features f JOIN tracks t ON t.id = f.track_id "
                "WHERE t.missing = 0 AND f.version <> ?",
                (version,),
            )
        )
        kinds = Counter[str]()
        for r in self.db.query(
            "SELECT a.kind, COUNT(*) AS n FROM analysis_failures a "
            "JOIN tracks t ON t.id = a.track_id WHERE t.missing = 0 AND a.version = ? "
            "GROUP BY a.kind",
            (version,),
        ):
            kinds[r["kind"]] = int(r["n"])
        status.failed = dict(kinds)
        status.pending = self.pending_count(version)
        return status

    # -- tracks, for the commands that name them --------------------------------------

    def track_by_id(self, track_id: int) -> tuple[int, str] | None:
        rows = self.db.query("SELECT id, path FROM tracks WHERE id = ?", (track_id,))
        return (int(rows[0]["id"]), from_db(rows[0]["path"])) if rows else None

    def track_by_path(self, path: str) -> tuple[int, str] | None:
        rows = self.db.query("SELECT id, path FROM tracks WHERE path = ?", (to_db(path),))
        return (int(rows[0]["id"]), from_db(rows[0]["path"])) if rows else None

    def paths(self, track_ids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        ids = list(track_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for r in self.db.query(f"SELECT id, path FROM tracks WHERE id IN ({marks})", chunk):
                out[int(r["id"])] = from_db(r["path"])
        return out
