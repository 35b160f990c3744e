"""The contracts between the engine's parts, and between the engine and the player.

Everything is keyed by dense integer item ids ``0..n_items-1``; the caller (the player)
owns the mapping to tracks. Scores are float32 arrays over all items, higher is better.

- A *score source* (collaborative filtering, content similarity, metadata similarity,
  the user's likes and skips, recency) turns a listening context into one score array.
- The hybrid scorer weights the sources into a total and keeps each part, so that the
  up-next builder can explain every pick ("often played after ...", "sounds like ...")
  and adapt each source's weight online from the user's feedback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

# Event kinds the engine understands (the player's ``events.kind`` values).
PLAY = "play"  # a listen; position_ms / duration_ms say how much was heard
SKIP = "skip"
LIKE = "like"
DISLIKE = "dislike"  # also a ban: never picked automatically again
UNLIKE = "unlike"


@dataclass(frozen=True)
class Event:
    """One listening event, as the engine sees it."""

    item: int
    ts: float  # Unix seconds
    kind: str
    session: str | int | None = None
    position_s: float | None = None  # where playback stopped (skip/play)
    duration_s: float | None = None  # the track's length
    artist: int | None = None  # dense artist id, when known
    album: int | None = None  # dense album id, when known


@dataclass(frozen=True)
class Context:
    """What the user is doing now: the basis of every ranking."""

    current: int | None
    session: tuple[int, ...] = ()  # items heard in this session, oldest first
    queue: tuple[int, ...] = ()  # items already queued (never picked again)
    now: float = 0.0


@dataclass
class ScoreBreakdown:
    """A hybrid score: the weighted total and each source's (unweighted) part."""

    total: FloatArray
    parts: dict[str, FloatArray] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)


class ScoreSource(Protocol):
    """One signal of the hybrid. ``name`` keys its weight and its reasons."""

    name: str

    def scores(self, context: Context) -> FloatArray: ...


@dataclass(frozen=True)
class Pick:
    """One up-next entry: an item, its score, the source that chose it, and why."""

    item: int
    score: float
    source: str
    reason: str
