"""How many tracks still lack current audio features: what keeps the app's analysis going.

Light on purpose (no numpy-heavy pipeline, no librosa): the GUI process asks this.
"""

from __future__ import annotations

from player.library.db import Database
from player.library.features import FeatureStore


def backlog(db: Database) -> int:
    """Tracks present in the library without a vector of the current feature version (new,
    changed, or analysed by an older Segue), less those that failed at this version."""
    from recommender.audio.features import current_version

    return FeatureStore(db).pending_count(current_version()[0])
