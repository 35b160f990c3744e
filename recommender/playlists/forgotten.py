"""Forgotten favourites: tracks the listener loved once and has not played for a long time.

Loved means liked, or completed at least ``min_plays`` times. A track qualifies only after
``idle_days`` without a play; the longer forgotten and the more loved, the higher it ranks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recommender.playlists.base import Playlist, months_ago, top
from recommender.playlists.profile import DAY_S, ListeningProfile


@dataclass(frozen=True)
class ForgottenConfig:
    length: int = 50
    idle_days: float = 90.0
    min_plays: int = 5


def forgotten_favourites(
    profile: ListeningProfile,
    allowed: npt.NDArray[np.bool_],
    config: ForgottenConfig | None = None,
) -> Playlist:
    cfg = config or ForgottenConfig()
    loved = profile.liked | (profile.completed >= cfg.min_plays)
    # The last time the user heard it or said they liked it.
    last = np.maximum(profile.last_played, profile.last_loved)
    idle = profile.now - last
    eligible = allowed & loved & ~profile.banned & (idle >= cfg.idle_days * DAY_S)
    strength = profile.completed + 5.0 * profile.liked
    scores = np.where(
        eligible, strength * np.log1p(np.where(eligible, idle, 0.0) / (cfg.idle_days * DAY_S)), 0
    ).astype(np.float32)
    items = top(scores, eligible, cfg.length)
    reasons = []
    for item in items.tolist():
        when = (
            f"last played {months_ago(profile.now - profile.last_played[item])}"
            if np.isfinite(profile.last_played[item])
            else f"liked {months_ago(profile.now - profile.last_loved[item])}"
        )
        what = (
            "you liked this"
            if profile.liked[item]
            else f"you played this {int(profile.completed[item])} times"
        )
        reasons.append(f"{what}; {when}")
    return Playlist(
        key="forgotten",
        name="Forgotten Favourites",
        kind="auto",
        how=f"tracks you loved but have not played for over {int(cfg.idle_days)} days",
        items=items,
        reasons=reasons,
        scores=scores[items],
    )
