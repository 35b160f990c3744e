"""The personal model as the engine's score source ``personal``: it learns from every play
and skip, rebuilds from the log in the background, and explains its picks.

Its state (the blender's weights, the chosen decay) saves as arrays the player keeps beside
the DB; everything else is counts, rebuilt from the log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from recommender import api
from recommender.collab.signals import (
    DEFAULT_SESSION_GAP_S,
    KIND_CODES,
    SIGNAL_CODES,
    EventLog,
    Signal,
    SignalConfig,
    weigh,
    weigh_log,
)
from recommender.personal.model import PersonalConfig, PersonalModel
from recommender.ranking.reasons import Describe, artist_title

FloatArray = api.FloatArray
HISTORY_CAP = 60_000  # plays replayed at start-up: the most recent ones
TRAIN_LAST = 24_000  # at start-up, the blender learns from the most recent plays ...
TRAIN_EVERY = 3  # ... every third of them (the rest only counts)
# The version of the blender's ``extra`` input (the session hybrid, ``engine.SessionInput``)
# a saved state was learnt with; a state without it is learnt again from the log.
SESSION_INPUT = 1.0
_PLAY, _SKIP = KIND_CODES[api.PLAY], KIND_CODES[api.SKIP]


class ReplayInput(Protocol):
    """The session hybrid's scores as a replay of the log goes (``engine.ReplayInput``)."""

    def __call__(self, context: api.Context) -> FloatArray: ...

    def observe(self, row: int) -> None: ...


class PersonalSource:
    """Score source ``personal``: the blended personal model, scaled to (0, 1]."""

    name = "personal"

    def __init__(
        self,
        n_items: int,
        config: PersonalConfig | None = None,
        signals: SignalConfig | None = None,
    ) -> None:
        self.n_items = n_items
        # What counts as a skip: the user's threshold (Engine.configure keeps it current).
        self.signals = signals or SignalConfig()
        # Time of day on the listener's clock (the log is in UTC).
        self.config = config or PersonalConfig(
            background=True, utc_offset_s=float(time.localtime().tm_gmtoff)
        )
        self.model = PersonalModel(n_items, self.config)
        self.ready = threading.Event()
        self.ready.set()
        self._lock = threading.Lock()
        self._pending: list[api.Event] = []
        self._session_at: tuple[object, float] = (None, -np.inf)
        self._gap_session = 0
        self._cancelled = threading.Event()
        self.on_ready: Callable[[], None] | None = None
        # The session hybrid's scores for a context (``engine.SessionInput``): one of the
        # blender's inputs, as it learns and as it ranks.
        self.extra: Callable[[api.Context], FloatArray] | None = None
        # The same input over a replay of the log (``engine.ReplayInput``): made for the
        # log and the first play the blender learns from, fed every play from there on.
        self.replay_input: Callable[[EventLog, int], ReplayInput] | None = None
        # The session the next ranking is for, when the caller knows it (``segue eval``
        # replays many listeners' interleaved sessions); None: the last event's.
        self.session: object = None

    # -- learning ------------------------------------------------------------------------

    def _session_key(self, session: object, ts: float) -> object:
        """The player's session id, or (for events without one) a 30-minute-gap session."""
        if session is not None and session != -1 and session != "":
            return session
        last_key, last_ts = self._session_at
        if isinstance(last_key, tuple) and ts - last_ts <= DEFAULT_SESSION_GAP_S:
            return last_key
        self._gap_session += 1
        return ("gap", self._gap_session)

    def observe(self, event: api.Event) -> None:
        signal = weigh(event, self.signals).signal
        if signal not in (Signal.PLAY, Signal.SKIP):
            return
        with self._lock:
            if not self.ready.is_set():
                self._pending.append(event)
                return
            self._learn(event, signal is Signal.SKIP)

    def _learn(self, event: api.Event, skipped: bool, train: bool = True) -> None:
        key = self._session_key(event.session, event.ts)
        self._session_at = (key, event.ts)
        self.model.observe(event.item, event.ts, key, skipped=skipped, train=train)

    def rebuild(
        self,
        log: EventLog,
        state: dict[str, npt.NDArray[np.float64]] | None = None,
        background: bool = True,
    ) -> None:
        """Learn the log's plays and skips (the most recent ``HISTORY_CAP``); with a saved
        ``state`` the blender starts from it and only the counts are replayed. In the
        background (a thread) unless told otherwise; events meanwhile wait their turn."""
        self.ready.clear()
        if state is not None and state.get("session_input", np.zeros(1))[0] != SESSION_INPUT:
            state = None  # learnt without the session hybrid as its input: learn again
        # The replay keeps only the rows it learns from: the whole log (a million events,
        # ~70 MB) would otherwise stay alive until it is done, and its peak with it.
        log = log.take(np.flatnonzero((log.kind == _PLAY) | (log.kind == _SKIP))[-HISTORY_CAP:])
        if background:
            threading.Thread(
                target=self._rebuild, args=(log, state), name="segue-personal", daemon=True
            ).start()
        else:
            self._rebuild(log, state)

    def _rebuild(self, log: EventLog, state: dict[str, npt.NDArray[np.float64]] | None) -> None:
        # One factor fit at the end, not one every ``refit_every`` plays of the replay.
        model = PersonalModel(self.n_items, replace(self.config, refit_every=1 << 62))
        restored = state is not None and model.load_state(state)
        plays = np.flatnonzero((log.kind == _PLAY) | (log.kind == _SKIP))[-HISTORY_CAP:]
        skipped = self._skipped(log, plays)
        source = PersonalSource.__new__(PersonalSource)
        source.model, source._session_at, source._gap_session = model, (None, -np.inf), 0
        items, stamps, sessions = log.item[plays], log.ts[plays], log.session[plays]
        first = max(plays.size - TRAIN_LAST, 0)  # the first play the blender learns from
        # The session hybrid as it was at each play the blender learns from.
        replay = (
            self.replay_input(log.take(plays), first)
            if self.replay_input is not None and not restored
            else None
        )
        previous: list[int] = []
        previous_key: object = None
        for n, (item, ts, session, skip) in enumerate(
            zip(items.tolist(), stamps.tolist(), sessions.tolist(), skipped.tolist(), strict=True)
        ):
            if self._cancelled.is_set():
                return  # superseded by a newer engine's model: stop using the CPU
            key = source._session_key(session, ts)
            source._session_at = (key, ts)
            if key != previous_key:
                previous, previous_key = [], key
            train = not restored and n >= first and n % TRAIN_EVERY == 0 and bool(previous)
            if train:
                extra = None
                if replay is not None:
                    context = api.Context(
                        current=previous[-1], session=tuple(previous[-20:]), now=ts
                    )
                    extra = replay(context)
                model.featurise(previous[-20:], key, ts, extra)
            model.observe(item, ts, key, skipped=bool(skip), train=train)
            if replay is not None and n >= first:
                replay.observe(n)
            previous.append(item)
        model.refit_factors_now()
        model.config = self.config
        with self._lock:
            self.model = model
            self._session_at, self._gap_session = source._session_at, source._gap_session
            for event in self._pending:
                self._learn(event, weigh(event, self.signals).signal is Signal.SKIP)
            self._pending = []
            self.ready.set()
        if self.on_ready is not None:
            self.on_ready()

    def cancel(self) -> None:
        """Stop a replay still running (this source's engine was replaced); the source
        then never becomes ready."""
        self._cancelled.set()

    def _skipped(self, log: EventLog, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which of these rows are skips, by the same rule as every other source."""
        signal, _ = weigh_log(log, self.signals)
        result: npt.NDArray[np.bool_] = signal[rows] == SIGNAL_CODES[Signal.SKIP]
        return result

    def state(self) -> dict[str, npt.NDArray[np.float64]]:
        """A copy of what the model learned, taken between two events: the host saves it
        from the replay thread while the session thread may be learning."""
        with self._lock:
            out = self.model.state()
        out["session_input"] = np.array([SESSION_INPUT], dtype=np.float64)
        return out

    # -- ranking -------------------------------------------------------------------------

    def scores(self, context: api.Context) -> FloatArray:
        out = np.zeros(self.n_items, dtype=np.float32)
        ids, values = self.sparse_scores(context)
        out[ids] = values
        return out

    def sparse_scores(self, context: api.Context) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The candidates (distinct ids) and their scores; every other track scores 0."""
        if not self.ready.is_set() or context.current is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        session = list(context.session)
        if not session or session[-1] != context.current:
            session.append(context.current)
        # The next play continues the session being heard: the caller's (a replay of
        # interleaved sessions knows it), else the last event's.
        key = self.session if self.session is not None else self._session_at[0]
        extra = self.extra(context) if self.extra is not None else None
        if extra is not None and extra.size != self.model.n_items:
            extra = np.resize(extra, self.model.n_items) if extra.size else None
        f = self.model.featurise(session[-20:], key, context.now, extra)
        top = float(f.scores.max()) if f.scores.size else 0.0
        # exp(score - best): the best candidate 1, the others in (0, 1); non-candidates 0.
        values = np.exp(np.maximum(f.scores - top, -30.0)).astype(np.float32)
        return f.candidates, values

    def reason(self, item: int, context: api.Context, describe: Describe) -> str:
        if not self.ready.is_set():
            return ""
        session = list(context.session)
        if context.current is not None and (not session or session[-1] != context.current):
            session.append(context.current)
        return self.model.reason(item, session, context.now, lambda i: artist_title(describe(i)))
