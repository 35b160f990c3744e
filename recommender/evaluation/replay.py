"""Prequential replay: each play after the first of its session is predicted from everything
before it, scored (HR@10, MRR@10, catalogue coverage), then learned by every strategy.

Where the log says which plays were skipped, each strategy's rank of the played track
(before learning it) also gives a skip-awareness AUC: the chance that a completed play was
ranked above a skipped one (0.5: blind to skips)."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata
from threadpoolctl import threadpool_limits

from recommender.evaluation.log import ListeningLog
from recommender.evaluation.strategies import (
    BLL,
    BLLKNN,
    ArtistPopularity,
    Catalogue,
    ImplicitFactors,
    ItemKNN,
    Popularity,
    Segue,
    SessionItemKNN,
    SessionKNN,
    Strategy,
    implicit_available,
    top_k,
)
from recommender.processes import end_with_parent

K = 10
_FORK_MIN_PLAYS = 2000  # below this, a second process costs more than it saves
MODES = ("stream", "per-user")
Factory = Callable[[Catalogue], Strategy]


@dataclass
class _Tally:
    hits: int = 0
    reciprocal: float = 0.0
    shown: set[int] = field(default_factory=set)
    ranks: list[float] = field(default_factory=list)  # of the played track, labelled plays
    skipped: list[float] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class EvalResult:
    mode: str
    predictions: int
    strategies: dict[str, dict[str, float]]
    notes: list[str]
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "predictions": self.predictions,
            "strategies": self.strategies,
            "notes": self.notes,
            "seconds": self.seconds,
        }

    def best_baseline(self) -> str | None:
        """The baseline with the highest hit rate (every strategy but Segue)."""
        key = next((k for m in self.strategies.values() for k in m if k.startswith("hr@")), None)
        others = [n for n in self.strategies if n != "segue"]
        if key is None or not others:
            return None
        return max(others, key=lambda n: self.strategies[n][key])


def default_factories(mode: str) -> tuple[list[tuple[str, Factory]], list[str]]:
    """The strategies of a standard run, and notes on any that cannot run."""
    factories: list[tuple[str, Factory]] = [
        ("segue", Segue),
        ("popularity", Popularity),
        ("artist_popularity", ArtistPopularity),
        ("item_knn", ItemKNN),
        ("session_knn", SessionKNN),
    ]
    # bll_knn sums the very bll and session_item_knn of the same replay (each learns once
    # and scores once per moment); made in this order for each replayed group.
    parts: list[Any] = [None, None]

    def knn(catalogue: Catalogue) -> Strategy:
        parts[1] = SessionItemKNN(catalogue)
        return parts[1]  # type: ignore[no-any-return]

    def bll(catalogue: Catalogue) -> Strategy:
        parts[0] = BLL(catalogue)
        return parts[0]  # type: ignore[no-any-return]

    factories += [
        ("session_item_knn", knn),
        ("bll", bll),
        ("bll_knn", lambda catalogue: BLLKNN(catalogue, parts[0], parts[1])),
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
    workers: int = 1,
) -> EvalResult:
    """Replay ``log`` in time order for every strategy and return their metrics at ``k``.

    ``workers=2`` replays the first strategy (Segue, the costliest) in this process and the
    others in a forked one at the same time (where fork exists): the same numbers, in about
    the first strategy's time on two cores."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    notes: list[str] = []
    if factories is None:
        factories, notes = default_factories(mode)
    factories = list(factories)
    catalogue = Catalogue(log.item_artist, log.n_artists)
    if mode == "stream":
        groups = [np.arange(len(log))]
    else:
        order = np.argsort(log.user, kind="stable")  # each user's rows stay in time order
        bounds = np.flatnonzero(np.diff(log.user[order])) + 1
        groups = np.split(order, bounds)
    # One thread for BLAS: the replay is sequential, and small matrix products on a threaded
    # BLAS spend more time synchronising than computing (and fight other processes).
    with threadpool_limits(1, "blas"):
        if (
            workers > 1
            and len(factories) > 1
            and len(log) >= _FORK_MIN_PLAYS
            # Fork only where it is safe with a BLAS already loaded (not macOS).
            and sys.platform.startswith("linux")
        ):
            mine, theirs = factories[:1], factories[1:]
            child = _Forked(lambda: _replay_all(log, groups, theirs, catalogue, k))
            try:
                predictions, tallies = _replay_all(log, groups, mine, catalogue, k)
                tallies.update(child.result()[1])
            finally:
                child.stop()
            tallies = {name: tallies[name] for name, _ in factories}
        else:
            predictions, tallies = _replay_all(log, groups, factories, catalogue, k)
    n = max(predictions, 1)
    results: dict[str, dict[str, float]] = {}
    for name, t in tallies.items():
        results[name] = {
            f"hr@{k}": t.hits / n,
            f"mrr@{k}": t.reciprocal / n,
            "coverage": len(t.shown) / max(log.n_items, 1),
        }
        auc = skip_auc(t.ranks, t.skipped)
        if auc is not None:
            results[name]["skip_auc"] = auc
    seconds = {name: round(t.seconds, 2) for name, t in tallies.items()}
    return EvalResult(mode, predictions, results, notes, seconds)


def _replay_all(
    log: ListeningLog,
    groups: list[npt.NDArray[np.int64]],
    factories: Sequence[tuple[str, Factory]],
    catalogue: Catalogue,
    k: int,
) -> tuple[int, dict[str, _Tally]]:
    tallies = {name: _Tally() for name, _ in factories}
    predictions = 0
    for rows in groups:
        strategies = [(name, make(catalogue)) for name, make in factories]
        predictions += _replay(log.subset(rows), strategies, tallies, k)
    return predictions, tallies


class ReplayError(RuntimeError):
    """The baselines' process failed; the message is one line."""


class _Forked:
    """``work()`` run in a forked child process; :meth:`result` waits for what it returned
    (or raises what went wrong there)."""

    def __init__(self, work: Callable[[], tuple[int, dict[str, _Tally]]]) -> None:
        ctx = mp.get_context("fork")
        self._conn, theirs = ctx.Pipe(duplex=False)

        parent = os.getpid()

        def run() -> None:
            # A killed or timed-out `segue eval` must not leave it replaying on a core.
            end_with_parent(parent)
            try:
                outcome: tuple[str, Any] = ("ok", work())
            except BaseException as exc:  # reported to the parent, which raises it
                where = traceback.extract_tb(exc.__traceback__)[-1:]
                at = f" ({where[0].filename}:{where[0].lineno})" if where else ""
                outcome = ("error", f"{type(exc).__name__}: {exc}{at}")
            with contextlib.suppress(OSError):  # the parent is gone: nobody to tell
                theirs.send(outcome)
                theirs.close()

        self._process = ctx.Process(target=run, name="segue-eval-baselines", daemon=True)
        self._process.start()
        theirs.close()

    def stop(self) -> None:
        """End the child if it is still running (this process failed first)."""
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()

    def result(self) -> tuple[int, dict[str, _Tally]]:
        try:
            status, value = self._conn.recv()
        except EOFError:
            status, value = "error", "the baselines' process ended without a result"
        finally:
            self._conn.close()
            self._process.join()
        if status != "ok":
            raise ReplayError(f"replaying the baselines failed: {value}")
        result: tuple[int, dict[str, _Tally]] = value
        return result


def skip_auc(ranks: Sequence[float], skipped: Sequence[float]) -> float | None:
    """P(a completed play's rank is better than a skipped play's); ties count half. None
    without both kinds of play."""
    r = np.asarray(ranks, dtype=np.float64)
    s = np.asarray(skipped, dtype=bool)
    n_skip, n_done = int(s.sum()), int((~s).sum())
    if n_skip == 0 or n_done == 0:
        return None
    # Mann-Whitney: rank the plays by how badly they were ranked.
    order = rankdata(r)
    return float((order[s].sum() - n_skip * (n_skip + 1) / 2) / (n_skip * n_done))


def _replay(
    log: ListeningLog, strategies: list[tuple[str, Strategy]], tallies: dict[str, _Tally], k: int
) -> int:
    sessions: dict[int, list[int]] = {}
    predictions = 0
    clock = time.perf_counter
    rows = zip(
        log.item.tolist(),
        log.session.tolist(),
        log.ts.tolist(),
        log.ms_played.tolist(),
        log.skipped.tolist(),
        strict=True,
    )
    learners = [
        (name, getattr(strategy, "learn_play", None), strategy) for name, strategy in strategies
    ]
    for item, key, ts, played, skipped in rows:
        so_far = sessions.setdefault(key, [])
        labelled = skipped == skipped  # not NaN
        if so_far:
            predictions += 1
            for name, strategy in strategies:
                tally = tallies[name]
                start = clock()
                scores = strategy.scores(so_far, key, ts)
                top = top_k(scores, k)
                tally.seconds += clock() - start
                shown = top.tolist()
                tally.shown.update(shown)
                if item in shown:
                    tally.hits += 1
                    tally.reciprocal += 1.0 / (shown.index(item) + 1)
                if labelled:
                    # Ties share the middle rank: a constant score says nothing of skips.
                    above = np.count_nonzero(scores > scores[item])
                    level = np.count_nonzero(scores == scores[item])
                    tally.ranks.append(above + (level + 1) / 2.0)
                    tally.skipped.append(skipped)
        for name, learn_play, strategy in learners:
            start = clock()
            if learn_play is not None:
                learn_play(item, key, ts, played, skipped)
            else:
                strategy.learn(item, key, ts)
            tallies[name].seconds += clock() - start
        so_far.append(item)
    return predictions
