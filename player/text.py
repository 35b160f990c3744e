"""Small wording helpers shared by the CLI and the app."""

from __future__ import annotations


def plural(count: int, word: str, words: str | None = None) -> str:
    """ "1 track", "2 tracks", "1,204 tracks" (``words``: an irregular plural)."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"
