"""Prequential replay: each play after the first of its session is predicted from everything
before it, scored (HR@10, MRR@10, catalogue coverage), then learned by every strategy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from recommender.evaluation.log import ListeningLog
from recommender.evaluation.strategies import (
    ArtistPopularity,
    Catalogue,
    ImplicitFactors,
    ItemKNN,
    Popularity,
    Segue,
    SessionKNN,
    Strategy,
    implicit_available,
    top_k,
)

K = 10
MODES = ("stream", "per-user")
Factory = Callable[[Catalogue], Strategy]


@dataclass
class _Tally:
    hits: int = 0
    reciprocal: float = 0.0
    shown: set[int] = field(default_factory=set)


@dataclass
class EvalResult:
    mode: str
    predictions: int
    strategies: dict[str, dict[str, float]]
    notes: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "predictions": self.predictions,
            "strategies": self.strategies,
            "notes": self.notes,
        }


def default_factories(mode: str) -> tuple[list[tuple[str, Factory]], list[str]]:
    """The strategies of a standard run, and notes on any that cannot run."""
    factories: list[tuple[str, Factory]] = [
        ("segue", Segue),
        ("popularity", Popularity),
        ("artist_popularity", ArtistPopularity),
        ("item_knn", ItemKNN),
        ("session_knn", SessionKNN),
    ]
    notes: list[str] = []
    if not implicit_available():
        notes.append("als and bpr skipped: install the 'bench' extra (implicit) to run them")
    elif mode == "per-user":
        notes.append(
            "als and bpr skipped in per-user mode: one factor model per listener is "
            "too little data to fit"
        )
    else:
        factories.append(("als", lambda c: ImplicitFactors("als", c)))
        factories.append(("bpr", lambda c: ImplicitFactors("bpr", c)))
    return factories, notes


def evaluate(
    log: ListeningLog,
    mode: str = "stream",
    factories: Sequence[tuple[str, Factory]] | None = None,
    k: int = K,
) -> EvalResult:
    """Replay ``log`` in time order for every strategy and return their metrics at ``k``."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    notes: list[str] = []
    if factories is None:
        factories, notes = default_factories(mode)
    catalogue = Catalogue(log.item_artist, log.n_artists)
    tallies = {name: _Tally() for name, _ in factories}
    if mode == "stream":
        groups = [np.arange(len(log))]
    else:
        order = np.argsort(log.user, kind="stable")  # each user's rows stay in time order
        bounds = np.flatnonzero(np.diff(log.user[order])) + 1
        groups = np.split(order, bounds)
    predictions = 0
    # One thread for BLAS: the replay is sequential, and small matrix products on a threaded
    # BLAS spend more time synchronising than computing (and fight other processes).
    with threadpool_limits(1, "blas"):
        for rows in groups:
            strategies = [(name, make(catalogue)) for name, make in factories]
            predictions += _replay(log.subset(rows), strategies, tallies, k)
    n = max(predictions, 1)
    results = {
        name: {
            f"hr@{k}": t.hits / n,
            f"mrr@{k}": t.reciprocal / n,
            "coverage": len(t.shown) / max(log.n_items, 1),
        }
        for name, t in tallies.items()
    }
    return EvalResult(mode, predictions, results, notes)


def _replay(
    log: ListeningLog, strategies: list[tuple[str, Strategy]], tallies: dict[str, _Tally], k: int
) -> int:
    sessions: dict[int, list[int]] = {}
    predictions = 0
    for item, key, ts in zip(log.item.tolist(), log.session.tolist(), log.ts.tolist(), strict=True):
        so_far = sessions.setdefault(key, [])
        if so_far:
            predictions += 1
            for name, strategy in strategies:
                top = top_k(strategy.scores(so_far, key, ts), k)
                tally = tallies[name]
                tally.shown.update(top.tolist())
                hit = np.flatnonzero(top == item)
                if hit.size:
                    tally.hits += 1
                    tally.reciprocal += 1.0 / (int(hit[0]) + 1)
        for _, strategy in strategies:
            strategy.learn(item, key, ts)
        so_far.append(item)
    return predictions
