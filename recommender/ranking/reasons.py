"""Words for up-next reasons. The engine knows ids only; the caller hands in a
``Describe`` callable (or arrays, via ``labels_from_arrays``) that names an id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from recommender.api import Context


@dataclass(frozen=True)
class TrackLabel:
    title: str
    artist: str = ""
    album: str = ""


Describe = Callable[[int], TrackLabel]


class Explains(Protocol):
    """A score source that can say why it scored an item (``""`` if it cannot)."""

    name: str

    def reason(self, item: int, context: Context, describe: Describe) -> str: ...


def labels_from_arrays(
    titles: Sequence[str | None],
    artists: Sequence[str | None] | None = None,
    albums: Sequence[str | None] | None = None,
) -> Describe:
    """A ``Describe`` over per-item lists; a missing title reads "track N"."""

    def describe(item: int) -> TrackLabel:
        return TrackLabel(
            title=titles[item] or f"track {item}",
            artist=(artists[item] or "") if artists is not None else "",
            album=(albums[item] or "") if albums is not None else "",
        )

    return describe


def artist_title(label: TrackLabel) -> str:
    """ "Artist – Title", or the title alone when the artist is unknown."""
    return f"{label.artist} – {label.title}" if label.artist else label.title


def followed_reason(anchor: int | None, describe: Describe) -> str:
    """The collaborative-filtering reason: the user's sessions pair these two."""
    if anchor is None:
        return "often played in your sessions"
    return f"often played after {artist_title(describe(anchor))}"


# Fallback wording per source name, for sources that do not explain themselves.
GENERIC: dict[str, str] = {
    "cf": "often played in your sessions",
    "content": "sounds like what you are playing",
    "metadata": "similar tags to what you are playing",
    "taste": "close to your favourites",
    "recency": "you have not heard this in a while",
    "popularity": "one of your most played",
    "habit": "one of your most played",
    "artist": "by an artist you often play next",
}
DEFAULT_REASON = "from your library"
NEW_REASON = "new to you"
