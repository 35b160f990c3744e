"""What every playlist rule returns, and the helpers they share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from recommender.api import FloatArray, IntArray
from recommender.ranking.reasons import TrackLabel

MONTH_S = 30 * 86400.0


@dataclass
class Playlist:
    """A generated (or user) playlist: items in listening order, each with a reason.

    ``key`` is stable ("discover", "mix:2", "radio:track:17"); ``how`` says in a few words
    how the playlist was made."""

    key: str
    name: str
    kind: str  # "auto" (Discover, mixes, ...), "radio", "smart" or "user"
    how: str
    items: IntArray
    reasons: list[str] = field(default_factory=list)
    scores: FloatArray = field(default_factory=lambda: np.zeros(0, np.float32))

    def __len__(self) -> int:
        return int(self.items.size)


def top(scores: FloatArray, allowed: npt.NDArray[np.bool_], k: int) -> IntArray:
    """The ``k`` best allowed items with a positive score, best first (ties by id), via
    ``argpartition``: O(n), never a sort of the library."""
    masked = np.where(allowed & (scores > 0), scores, -np.inf).astype(np.float32)
    finite = int(np.isfinite(masked).sum())
    k = min(k, finite)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    picked = np.argpartition(-masked, k - 1)[:k] if k < masked.size else np.arange(masked.size)
    picked = picked[np.isfinite(masked[picked])]
    order = np.lexsort((picked, -masked[picked]))
    result: IntArray = picked[order].astype(np.int64)
    return result


def label_text(label: TrackLabel) -> str:
    return f"{label.title} by {label.artist}" if label.artist else label.title


def months_ago(seconds: float) -> str:
    months = int(seconds // MONTH_S)
    if months >= 24:
        return f"{months // 12} years ago"
    if months >= 2:
        return f"{months} months ago"
    days = int(seconds // 86400)
    return f"{days} days ago" if days != 1 else "1 day ago"
