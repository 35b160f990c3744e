"""Audio analysis: decode a representative excerpt and describe how it sounds.

Pure functions: a path in, a float32 feature vector (see ``features``) and a few
interpretable scalars out. No database, no Qt; the player stores the results.
"""

from recommender.audio.analyze import (
    MIN_SECONDS,
    WINDOW_COUNT,
    WINDOW_SECONDS,
    AnalysisError,
    analyze_file,
    warm_up,
)
from recommender.audio.features import (
    FEATURE_GROUPS,
    FEATURE_NAMES,
    FEATURE_VERSION,
    GTZAN_COLUMNS,
    KEY_NAMES,
    N_FEATURES,
    Features,
    Scalars,
    extract,
)

__all__ = [
    "FEATURE_GROUPS",
    "FEATURE_NAMES",
    "FEATURE_VERSION",
    "GTZAN_COLUMNS",
    "KEY_NAMES",
    "MIN_SECONDS",
    "N_FEATURES",
    "WINDOW_COUNT",
    "WINDOW_SECONDS",
    "AnalysisError",
    "Features",
    "Scalars",
    "analyze_file",
    "extract",
    "warm_up",
]
