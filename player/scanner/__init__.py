"""Finds music files, reads their tags with mutagen and keeps the library in step."""

from player.scanner.scan import Scanner, ScanSummary

__all__ = ["ScanSummary", "Scanner"]
