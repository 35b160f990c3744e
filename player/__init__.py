"""Segue, the application: library, scanner, analysis, playback, session, CLI and UI."""

__version__ = "0.1.0"
