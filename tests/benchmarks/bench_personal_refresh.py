"""The personal model's background refresh of its latent factors (issue 12, section 3),
on the biggest dev export (60,000 plays; synthetic when absent, see bench_personal):

- what one refresh costs its thread (wall and CPU seconds, at the full history): the
  factors' refit, and the blender's retraining pass over its last steps;
- what starting it (the snapshot of the counts) and swapping it in cost the session thread;
- the session's ranking and learning per play with a refit running on its thread vs none.

    python tests/benchmarks/run.py personal_refresh
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace

import numpy as np
from threadpoolctl import threadpool_limits

from recommender import api
from recommender.personal.refresh import CountsSnapshot, _copy, retrain
from recommender.personal.source import PersonalSource
from tests.benchmarks.bench_personal import history
from tests.benchmarks.common import median, report

PLAYS_MEASURED = 300


def _session_steps(
    source: PersonalSource, log_items: np.ndarray, first: int, now: float
) -> tuple[list[float], list[float], float]:
    """``PLAYS_MEASURED`` plays, each ranked first: per-play rank and learn milliseconds."""
    rng = np.random.default_rng(first)
    rank_ms: list[float] = []
    learn_ms: list[float] = []
    session = [int(log_items[-1])]
    for step in range(PLAYS_MEASURED):
        now += 200.0
        begin = time.perf_counter()
        source.scores(api.Context(current=session[-1], session=tuple(session[-10:]), now=now))
        rank_ms.append((time.perf_counter() - begin) * 1000.0)
        item = int(log_items[rng.integers(log_items.size)])
        begin = time.perf_counter()
        source.observe(api.Event(item, now, api.PLAY, session=first + step // 10))
        learn_ms.append((time.perf_counter() - begin) * 1000.0)
        session = [*session[-20:], item] if step % 10 else [item]
    return rank_ms, learn_ms, now


def main() -> None:
    log, n_items, name = history()
    with threadpool_limits(limits=1):
        source = PersonalSource(n_items)
        source.rebuild(log, None, background=False)
        model = source.model
        model.config = replace(model.config, refit_every=1 << 62)  # refits only when told
        refresh = model.refresh
        now = float(log.ts[-1]) + 86400.0
        # The session thread's share: the snapshot (at start) and the swap.
        begin = time.perf_counter()
        snapshot = CountsSnapshot.of(model.together_rows())
        snapshot_ms = (time.perf_counter() - begin) * 1000.0
        # One refit at the full history, inline, in wall and CPU time.
        begin, cpu = time.perf_counter(), time.process_time()
        fitted = refresh.fit(snapshot, model.n_items, refresh.dim)
        fit_s, fit_cpu_s = time.perf_counter() - begin, time.process_time() - cpu
        assert fitted is not None
        # The blender's retraining pass over its kept steps, on a copy.
        kept = list(model.blender.memory or [])
        begin, cpu = time.perf_counter(), time.process_time()
        retrain(_copy(model.blender), kept, 0)
        retrain_s, retrain_cpu_s = time.perf_counter() - begin, time.process_time() - cpu
        # The session with no refit running, then with one running on its thread the whole
        # time (restarted as soon as one ends).
        idle_rank, idle_learn, now = _session_steps(source, log.item, 20_000_000, now)
        stop = threading.Event()
        refits = [0]

        def keep_refitting() -> None:
            while not stop.is_set():
                refresh.fit(CountsSnapshot.of(model.together_rows()), model.n_items, refresh.dim)
                refits[0] += 1

        busy = threading.Thread(target=keep_refitting, daemon=True)
        busy.start()
        busy_rank, busy_learn, now = _session_steps(source, log.item, 30_000_000, now)
        stop.set()
        busy.join()
        # Through the policy: start (snapshot + thread) and swap, as the app does them.
        begin = time.perf_counter()
        refresh.start(model)
        start_ms = (time.perf_counter() - begin) * 1000.0
        refresh.wait()
        begin = time.perf_counter()
        refresh.swap(model)
        swap_ms = (time.perf_counter() - begin) * 1000.0
    report(
        "personal_refresh",
        history=name,
        plays=len(log),
        n_items=n_items,
        refit_s=round(fit_s, 2),
        refit_cpu_s=round(fit_cpu_s, 2),
        retrain_steps=len(kept),
        retrain_s=round(retrain_s, 2),
        retrain_cpu_s=round(retrain_cpu_s, 2),
        snapshot_ms=round(snapshot_ms, 2),
        start_ms=round(start_ms, 2),
        swap_ms=round(swap_ms, 3),
        rank_median_ms_idle=round(median(idle_rank), 3),
        rank_median_ms_while_refitting=round(median(busy_rank), 3),
        learn_median_ms_idle=round(median(idle_learn), 3),
        learn_median_ms_while_refitting=round(median(busy_learn), 3),
        refits_during_session=refits[0],
        loadavg=os.getloadavg()[0],
        note="shared 2-core machine under load from other jobs: pessimistic",
    )


if __name__ == "__main__":
    main()
