"""Audio analysis of the library: a process pool around ``recommender.audio``.

The app runs ``Analyzer(db, low_priority=True, playing=<is music playing?>).run()`` in a
background thread, so analysis never starves playback; ``segue analyze`` runs it in the
foreground with every spare core.
"""

from player.analysis.pipeline import (
    FILE_TIMEOUT_S,
    Analyzer,
    AnalyzeSummary,
    default_workers,
)

__all__ = ["FILE_TIMEOUT_S", "AnalyzeSummary", "Analyzer", "default_workers"]
