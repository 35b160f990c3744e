"""Recommender engine speed: rebuild from the events log, scoring after an event, memory.

A library of 100,000 tracks (10,000 artists, 20,000 albums) and 1,000,000 logged events,
generated with real listening structure: sessions split by gaps, about half of consecutive
plays by the same artist, popular artists heard far more often (Zipf), some skips, likes and
partial plays. Targets (issue 4, section 7): rebuild >= 200,000 events/s, engine RSS <= 400 MB;
the time of ``HybridScorer.score`` after an event is reported (median and p99).
"""

from __future__ import annotations

import time

import numpy as np

from recommender import api
from recommender.collab.cf import SessionCF
from recommender.collab.hybrid import ArtistSource, CFSource, HybridScorer
from recommender.collab.signals import KIND_CODES, EventLog
from tests.benchmarks.common import median, peak_rss_mb, report

N_ITEMS = 100_000
N_ARTISTS = 10_000
N_ALBUMS = 20_000
N_EVENTS = 1_000_000
WARM_EVENTS = 20_000  # observed one by one after the rebuild, before timing the scorer
REBUILD_TARGET = 200_000.0  # events/s
RSS_TARGET_MB = 400.0


def synthetic_log(seed: int = 0) -> EventLog:
    rng = np.random.default_rng(seed)
    n = N_EVENTS
    session_start = rng.random(n) < 1 / 15  # sessions of about 15 events
    session_start[0] = True
    # Zipf-like artist popularity; half the plays stay with the previous artist.
    artist_weights = 1.0 / np.arange(1, N_ARTISTS + 1) ** 0.9
    artist_weights /= artist_weights.sum()
    fresh = rng.choice(N_ARTISTS, size=n, p=artist_weights)
    stay = (rng.random(n) < 0.5) & ~session_start
    last_fresh = np.maximum.accumulate(np.where(stay, 0, np.arange(n)))
    artist = fresh[last_fresh]
    tracks_per_artist = N_ITEMS // N_ARTISTS
    item = artist * tracks_per_artist + rng.integers(0, tracks_per_artist, n)
    album = item // (N_ITEMS // N_ALBUMS)
    gaps = np.where(session_start, rng.uniform(3600, 86400, n), rng.uniform(120, 300, n))
    ts = 1.6e9 + np.cumsum(gaps)
    kind = np.full(n, KIND_CODES[api.PLAY], dtype=np.int8)
    r = rng.random(n)
    kind[r < 0.10] = KIND_CODES[api.SKIP]
    kind[(r >= 0.10) & (r < 0.12)] = KIND_CODES[api.LIKE]
    kind[(r >= 0.12) & (r < 0.125)] = KIND_CODES[api.DISLIKE]
    duration = rng.uniform(120, 400, n)
    position = np.where(rng.random(n) < 0.3, rng.uniform(0, 1, n) * duration, np.nan)
    return EventLog(
        item=item.astype(np.int64),
        ts=ts,
        kind=kind,
        session=np.full(n, -1, dtype=np.int64),
        position_s=position,
        duration_s=duration,
        artist=artist.astype(np.int64),
        album=album.astype(np.int64),
    )


def main() -> None:
    log = synthetic_log()
    rss_before = peak_rss_mb()
    rebuild_s = []
    model: SessionCF | None = None
    for _ in range(3):
        model = None  # let the previous model go before building the next
        start = time.perf_counter()
        model = SessionCF.rebuild(log, N_ITEMS, N_ARTISTS, N_ALBUMS)
        rebuild_s.append(time.perf_counter() - start)
    assert model is not None
    events_per_s = N_EVENTS / median(rebuild_s)
    pairs_stored = int(model.items.base.nnz)

    scorer = HybridScorer(N_ITEMS, [CFSource(model), ArtistSource(model)])
    rng = np.random.default_rng(1)
    now = float(log.ts[-1])
    # Steady state: incremental events since the rebuild sit in the append buffer.
    for k, item in enumerate(rng.integers(0, N_ITEMS, WARM_EVENTS).tolist()):
        now += 200.0 if k % 15 else 7200.0
        scorer.observe(api.Event(item, now, api.PLAY, artist=item // 10, album=item // 5))
    session: list[int] = []
    observe_s, score_s = [], []
    for k in range(400):
        now += 200.0
        item = int(rng.integers(0, N_ITEMS)) if not session or k % 2 else session[-1] + 1
        item = min(item, N_ITEMS - 1)
        event = api.Event(item, now, api.PLAY, artist=item // 10, album=item // 5)
        start = time.perf_counter()
        scorer.observe(event)
        observe_s.append(time.perf_counter() - start)
        session = [*session[-9:], item]
        context = api.Context(current=item, session=tuple(session), now=now)
        start = time.perf_counter()
        scorer.score(context)
        score_s.append(time.perf_counter() - start)
    score_ms = np.asarray(score_s[20:]) * 1000  # the first calls warm caches
    rss = peak_rss_mb()
    report(
        "recommender_rebuild",
        items=N_ITEMS,
        events=N_EVENTS,
        pairs_stored=pairs_stored,
        median_s=round(median(rebuild_s), 3),
        events_per_s=round(events_per_s),
        target_events_per_s=REBUILD_TARGET,
        met=events_per_s >= REBUILD_TARGET,
    )
    report(
        "recommender_score_after_event",
        items=N_ITEMS,
        sources=list(scorer.sources),
        incremental_events_before=WARM_EVENTS,
        observe_median_ms=round(float(np.median(observe_s[20:])) * 1000, 3),
        score_median_ms=round(float(np.median(score_ms)), 3),
        score_p99_ms=round(float(np.percentile(score_ms, 99)), 3),
        note="HybridScorer.score only; the up-next re-rank on top is benchmarked in bench_upnext",
    )
    report(
        "recommender_memory",
        peak_rss_mb=round(rss, 1),
        rss_before_model_mb=round(rss_before, 1),
        target_mb=RSS_TARGET_MB,
        met=rss <= RSS_TARGET_MB,
        note="peak RSS of the whole process, including the 1M-event log arrays",
    )


if __name__ == "__main__":
    main()
