"""The analysis worker process: warm up once, then analyse one file per request.

Runs in a fresh (spawned) interpreter, never a fork of the app: the parent holds a
SQLite connection and maybe Qt, neither of which survives a fork. It talks to the
parent over one pipe: ``("ready", fallback)`` after warm-up (why numpy, not onnxruntime,
runs the network, or None), then for each ``(track_id, path)`` one reply ``(track_id,
ok, payload, cpu_seconds, peak_rss_mb)``. With ``deep`` it loads the music network once
and every vector carries what the network hears (version 2); with ``mtt`` too, the MTT
training's tags as well (version 3).
"""

from __future__ import annotations

import os
import resource
import signal
import time
import warnings
from multiprocessing.connection import Connection
from typing import Any

LOW_PRIORITY_NICE = 19


def _peak_rss_mb() -> float:
    """This worker's own peak RSS. On Linux, VmHWM: ru_maxrss would also count the
    parent's footprint, which a spawned child inherits across exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def analyse(path: str, net: Any = None, mtt: Any = None) -> tuple[bool, Any]:
    """(True, (stored vector, scalars as dict)) or (False, (kind, message)); never
    raises. ``net``, ``mtt``: the music networks (``recommender.audio.musicnn.Musicnn``,
    MSD and MTT) or None."""
    from dataclasses import asdict

    from recommender.audio import AnalysisError, analyze_file

    try:
        features = analyze_file(path, net, mtt)
    except AnalysisError as exc:
        return False, (exc.kind, str(exc))
    except MemoryError:
        return False, ("failed", "ran out of memory while analysing")
    except Exception as exc:  # a decoder or library bug must cost one file, not the run
        return False, ("failed", f"analysis failed: {type(exc).__name__}: {exc}"[:300])
    return True, (features.stored_vector, asdict(features.scalars))


def main(conn: Connection, low_priority: bool, deep: bool = False, mtt: bool = False) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the run and its workers;
    # a worker dying of it mid-file would be mistaken for a decoder crash.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if low_priority:
        os.nice(LOW_PRIORITY_NICE - os.nice(0))
    # Decoders (libmpg123, FFmpeg) report every damaged frame on stderr, which would
    # scribble over the progress bar; each failure is recorded with its reason instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    warnings.simplefilter("ignore")
    from recommender.audio import warm_up
    from recommender.audio.musicnn import MTT, shipped

    # The parent checked the weights before starting us: if they fail here, the worker
    # cannot start, and the run says so rather than store vectors of the wrong version.
    net = shipped() if deep else None
    mtt_net = shipped(MTT) if deep and mtt else None
    warm_up(net, mtt_net)
    # Why numpy runs the network, if it does (this process's stderr is closed: the parent
    # says it, once per run). The MTT network runs on the same backend for the same reason.
    conn.send(("ready", net.fallback if net is not None else None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        track_id, path = job
        start = time.process_time()
        ok, payload = analyse(path, net, mtt_net)
        conn.send((track_id, ok, payload, time.process_time() - start, _peak_rss_mb()))
