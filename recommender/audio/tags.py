"""Heard tags: the words the music networks' tag probabilities stand for.

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

A second training of the same network, MTT_musicnn (MagnaTagATune's tags), names what
MSD's vocabulary lacks: "classical" and instruments. Its words (``MTT_WORDS``) are heard
by the likely rule alone (p >= 0.1 and 3x its typical probability, ``MTT_TYPICAL``,
measured the same way; its rare tags, typical 0.002-0.005, pass the lift rule on anything:
"opera" 15 times, 1 on classical). Measured on the 409 snippets
(tests/benchmarks/tune_heard_tags.py), hits and precision against the genres where the
word fits: classical 39, P 0.95 / R 0.93; strings 40, 0.90 (36 classical, 3 jazz, 1
blues); piano 23 (jazz 10, classical 6, rock 3, country 2), flute 13 (classical 7, jazz
6), harpsichord 2 (classical), drums 14 (reggae 7, metal 4): each where the instrument
belongs; "choir"/"choral" never fired (kept: no false alarm either). Left out:
violin 0.79 (9 jazz clips; "strings" says it better), cello 0.67 (a jazz double bass),
synth 0.74 (4 classical clips), sitar (5 hits, no Indian music among the clips), opera
(1 of 2), harp (1 hit, blues); MTT's genres rock/pop/country/techno (MSD names those
better), its voices (MSD's "female vocalists" says it: never both) and vague words
(vocal, voice, singing, beat, weird, classic, solo, fast, slow, loud, quiet, soft). Where
"classical" is heard, MSD's "jazz" needs ``JAZZ_OVER_CLASSICAL`` (0.6): classical clips
heard as jazz 3 of 40 -> 0, jazz precision 0.86 -> 0.92 at the same recall 0.88. Both
networks' words are merged likeliest first (by probability: the same network and output
layer trained on two tag sets; none of the MTT words measured above was cut by
``MAX_HEARD``), so a track analysed before the MTT network ran keeps exactly its MSD words.

Stored as text in the library (``format_heard``: ``"jazz=0.71;mellow=0.05"``, re-derived
by migration 7 when this rule changed), searched with ``tag:`` and ``mood:``, added to
the genre words of the metadata source and the mix names, and named in "sounds like"
reasons (``phrase``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from recommender.audio.musicnn import MSD_LABELS, MTT_LABELS

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

# MTT_musicnn's mean output over the same 409 clips (labels unused), as TYPICAL: heard as
# the analysis hears them, one repeat-padded patch each (tests/benchmarks/
# tune_heard_tags.py --typical; the same run gives MSD's TYPICAL back within 5e-5).
MTT_TYPICAL: dict[str, float] = {
    "guitar": 0.2212, "classical": 0.0604, "slow": 0.0541, "techno": 0.1071,
    "strings": 0.0593, "drums": 0.1259, "electronic": 0.0721, "rock": 0.1657, "fast": 0.1332,
    "piano": 0.0419, "ambient": 0.0144, "beat": 0.0719, "violin": 0.0537, "vocal": 0.1154,
    "synth": 0.0396, "female": 0.0999, "indian": 0.0461, "opera": 0.0044, "male": 0.0780,
    "singing": 0.0830, "vocals": 0.0842, "no vocals": 0.0333, "harpsichord": 0.0052,
    "loud": 0.0688, "quiet": 0.0036, "flute": 0.0150, "woman": 0.0765, "male vocal": 0.0773,
    "no vocal": 0.0285, "pop": 0.1123, "soft": 0.0095, "sitar": 0.0114, "solo": 0.0116,
    "man": 0.0571, "classic": 0.0106, "choir": 0.0021, "voice": 0.0484, "new age": 0.0092,
    "dance": 0.0213, "male voice": 0.0475, "female vocal": 0.0537, "beats": 0.0200,
    "harp": 0.0021, "cello": 0.0075, "no voice": 0.0156, "weird": 0.0155, "country": 0.0504,
    "metal": 0.0302, "female voice": 0.0376, "choral": 0.0014,
}  # fmt: skip
_MTT_TYPICAL = np.array([MTT_TYPICAL[label] for label in MTT_LABELS], dtype=np.float64)

# The MTT tags taken, as the word shown: what MSD's vocabulary lacks and measured well (see
# the module docstring; "choir" and "choral" read as one word).
MTT_WORDS: dict[str, str] = {
    "classical": "classical",
    "strings": "strings",
    "piano": "piano",
    "flute": "flute",
    "harpsichord": "harpsichord",
    "drums": "drums",
    "choir": "choir",
    "choral": "choir",
}
# Where MTT hears "classical", MSD's "jazz" is heard only from this probability on: the MSD
# network says "jazz" 0.25-0.55 of orchestral music, 0.6-0.99 of real jazz.
JAZZ_OVER_CLASSICAL = 0.6
_MTT_TAKEN = np.array([label in MTT_WORDS for label in MTT_LABELS])

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
    "strings": "with strings",
    "piano": "with piano",
    "flute": "with flute",
    "harpsichord": "with harpsichord",
    "drums": "with drums",
    "choir": "with a choir",
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


def _heard(p: npt.NDArray[np.float64], typical: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    lift = p / typical
    return ((p >= HEARD_MIN) & (lift >= LIKELY_LIFT)) | ((lift >= LIFT) & (p >= LIFT_FLOOR))


def heard_tags(
    probs: npt.ArrayLike, mtt_probs: npt.ArrayLike | None = None
) -> list[tuple[str, float]]:
    """(name, probability) of the tags heard in a track, likeliest first: from MSD_musicnn's
    50 probabilities, and with ``mtt_probs`` (MTT_musicnn's 50, or None for a track
    analysed before it ran) the words of ``MTT_WORDS`` heard by the same rule."""
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != (len(MSD_LABELS),) or not np.isfinite(p).all():
        return []
    found = [(NAMES[i], float(p[i])) for i in np.flatnonzero(_heard(p, _TYPICAL))]
    if mtt_probs is not None:
        q = np.asarray(mtt_probs, dtype=np.float64)
        if q.shape == (len(MTT_LABELS),) and np.isfinite(q).all():
            # The likely rule alone: the lift rule's shy tags are MSD's moods, and rare
            # MTT tags (typical 0.002-0.005) pass 4x at 0.01-0.02 on anything.
            heard = (q >= HEARD_MIN) & (q >= LIKELY_LIFT * _MTT_TYPICAL) & _MTT_TAKEN
            words = [(MTT_WORDS[MTT_LABELS[i]], float(q[i])) for i in np.flatnonzero(heard)]
            if any(w == "classical" for w, _ in words):
                found = [(n, x) for n, x in found if n != "jazz" or x >= JAZZ_OVER_CLASSICAL]
            found += words
    found.sort(key=lambda t: -t[1])  # stable: MSD first on a tie
    out: list[tuple[str, float]] = []
    for name, prob in found:
        if name not in (n for n, _ in out):
            out.append((name, prob))
    return out[:MAX_HEARD]


def heard_text(probs: npt.ArrayLike, mtt_probs: npt.ArrayLike | None = None) -> str:
    """The stored text of the tags heard in a track's tag probabilities (see
    ``heard_tags``)."""
    return format_heard(heard_tags(probs, mtt_probs))


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
    first, as adjectives come first; what it is "with" last, in one clause: "classical,
    with strings and piano")."""
    chosen = sorted(list(tags)[:limit], key=lambda t: t not in MOODS)
    words = [_PHRASES.get(t, t) for t in chosen]
    plain = [w for w in words if not w.startswith("with ")]
    withs = [w.removeprefix("with ") for w in words if w.startswith("with ")]
    if withs:
        plain.append("with " + " and ".join(withs))
    return ", ".join(plain)
