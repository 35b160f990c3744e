"""Heard tags: the words the music network's 50 tag probabilities stand for.

A tag is *heard* in a track when the network gives it a probability of at least 0.1 and
``LIKELY_LIFT`` (3) times its typical probability (the network says "jazz" 0.13 on
average, so a classical piece at 0.37 is not jazz), or, for the tags it is shy of (moods
such as "happy", "sad", "mellow" rarely pass 0.02 even where they fit), at least ``LIFT``
times its typical probability and 0.01. Typical: the network's mean output over 409 real
clips of 10 genres (../shared/data/genre_snippets; the labels were not used). At most
``MAX_HEARD`` per track, likeliest first.

The network has no "classical" tag, and says "jazz" (0.25-0.50) of orchestral and solo
instrumental music; real jazz gets 0.6-0.99. Measured on the 409 labelled snippets, the
precision / recall of a genre tag heard against the clip's genre, likely lift 2 -> 3:
jazz 0.61/0.88 -> 0.86/0.88, country 0.71/0.71 -> 0.85/0.68, pop 0.53/0.85 -> 0.74/0.71,
blues 0.59/0.73 -> 0.75/0.59, hip-hop 0.75/0.80 -> 0.83/0.71, metal 0.81/0.61 ->
0.80/0.59; a rock-family tag (rock, classic/hard/indie rock, alternative, punk, metal ...)
on rock clips 0.88 -> 0.80, on clips of neither rock nor metal 0.20 -> 0.12. A wrong word
in the song list costs a listener more than a missing one. Lift 4 loses most rock and
half the pop (recall 0.05, 0.49).

Stored as text in the library (``format_heard``: ``"jazz=0.71;mellow=0.05"``, re-derived
by migration 7 when this rule changed), searched with ``tag:`` and ``mood:``, added to
the genre words of the metadata source and the mix names, and named in "sounds like"
reasons (``phrase``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from recommender.audio.musicnn import MSD_LABELS

HEARD_MIN = 0.1
LIKELY_LIFT = 3.0
LIFT = 4.0
LIFT_FLOOR = 0.01
MAX_HEARD = 5

# Labels as a listener reads them (lower case; "female vocalist" is "female vocalists").
NAMES: tuple[str, ...] = tuple(
    "female vocalists" if label == "female vocalist" else label.lower() for label in MSD_LABELS
)

TYPICAL: dict[str, float] = {
    "rock": 0.1101, "pop": 0.1168, "alternative": 0.0382, "indie": 0.0537,
    "electronic": 0.0644, "female vocalists": 0.0762, "dance": 0.0467, "00s": 0.0120,
    "alternative rock": 0.0137, "jazz": 0.1271, "beautiful": 0.0117, "metal": 0.0376,
    "chillout": 0.0234, "male vocalists": 0.0106, "classic rock": 0.0300, "soul": 0.0616,
    "indie rock": 0.0176, "Mellow": 0.0112, "electronica": 0.0180, "80s": 0.0418,
    "folk": 0.0392, "90s": 0.0182, "chill": 0.0096, "instrumental": 0.0458, "punk": 0.0374,
    "oldies": 0.0303, "blues": 0.0666, "hard rock": 0.0206, "ambient": 0.0208,
    "acoustic": 0.0184, "experimental": 0.0218, "female vocalist": 0.0102, "guitar": 0.0146,
    "Hip-Hop": 0.0573, "70s": 0.0208, "party": 0.0056, "country": 0.0454,
    "easy listening": 0.0112, "sexy": 0.0071, "catchy": 0.0049, "funk": 0.0316,
    "electro": 0.0112, "heavy metal": 0.0193, "Progressive rock": 0.0156, "60s": 0.0198,
    "rnb": 0.0318, "indie pop": 0.0094, "sad": 0.0038, "House": 0.0092, "happy": 0.0032,
}  # fmt: skip
_TYPICAL = np.array([TYPICAL[label] for label in MSD_LABELS], dtype=np.float64)

# The heard tags that are moods (``mood:happy``), and the words ``mood:`` accepts.
MOODS: frozenset[str] = frozenset(
    {"mellow", "chill", "chillout", "happy", "sad", "beautiful", "sexy", "party", "catchy",
     "easy listening"}
)  # fmt: skip

# How a tag reads in a reason ("mellow, jazzy, with female vocals").
_PHRASES = {
    "jazz": "jazzy",
    "blues": "bluesy",
    "funk": "funky",
    "soul": "soulful",
    "folk": "folky",
    "chill": "chilled",
    "guitar": "with guitar",
    "female vocalists": "with female vocals",
    "male vocalists": "with male vocals",
    "hip-hop": "hip-hop",
    "rnb": "R&B",
    "party": "party music",
    "80s": "80s-sounding",
    "70s": "70s-sounding",
    "60s": "60s-sounding",
    "90s": "90s-sounding",
    "00s": "00s-sounding",
}


def heard_tags(probs: npt.ArrayLike) -> list[tuple[str, float]]:
    """(name, probability) of the tags heard in a track, likeliest first."""
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != (len(MSD_LABELS),) or not np.isfinite(p).all():
        return []
    lift = p / _TYPICAL
    heard = ((p >= HEARD_MIN) & (lift >= LIKELY_LIFT)) | ((lift >= LIFT) & (p >= LIFT_FLOOR))
    order = [int(i) for i in np.argsort(-p, kind="stable") if heard[i]]
    out: list[tuple[str, float]] = []
    for i in order:
        if NAMES[i] not in (name for name, _ in out):
            out.append((NAMES[i], float(p[i])))
    return out[:MAX_HEARD]


def heard_text(probs: npt.ArrayLike) -> str:
    """The stored text of the tags heard in a track's 50 tag probabilities."""
    return format_heard(heard_tags(probs))


def format_heard(tags: Sequence[tuple[str, float]]) -> str:
    """The stored text: ``"jazz=0.71;mellow=0.05"`` (no tag holds ``=`` or ``;``)."""
    return ";".join(f"{name}={p:.2f}" for name, p in tags)


def parse_heard(text: str | None) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for part in (text or "").split(";"):
        name, _, p = part.partition("=")
        if name:
            try:
                out.append((name, float(p)))
            except ValueError:
                out.append((name, 0.0))
    return out


def heard_words(text: str | None) -> list[str]:
    """Just the tag names of a stored text."""
    return [name for name, _ in parse_heard(text)]


def with_heard(genre: str | None, heard: str | None) -> str | None:
    """A track's genre text with its heard tags after it, for what reads genres as words
    (the metadata source, mix names): an untagged track gets words at all, a tagged one
    more of them."""
    words = heard_words(heard)
    if not words:
        return genre
    return "; ".join([genre, *words] if genre else words)


def phrase(tags: Sequence[str], limit: int = 3) -> str:
    """ "mellow, jazzy, with female vocals": how heard tags read in a reason (moods
    first, as adjectives come first)."""
    chosen = sorted(list(tags)[:limit], key=lambda t: t not in MOODS)
    return ", ".join(_PHRASES.get(t, t) for t in chosen)
