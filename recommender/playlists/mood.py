"""Energy and mood: a calm (0) to energetic (1) score per track, and the two playlists.

With analysis scalars the score is the mean percentile of energy, tempo and
non-acousticness over the analysed library (percentiles, because the raw scalars have no
common scale), joined by the moods the music network heard in the track (or the file's
genre field names): "mellow", "chill", "easy listening", "sad" read calm; "party",
"catchy", "happy", "hard rock", "metal" read energetic (``MOOD_ENERGY``; they weigh
``MOOD_WEIGHT`` of the three scalars' parts, so a "mellow" track with a loud master still
reads calm-ish, and two tracks that measure alike are told apart by what they sound like).
Without scalars it falls back to the genre's words: "ambient", "classical", "acoustic"
read calm; "metal", "punk", "drum and bass" read energetic. Unknown stays NaN, and such
tracks are in neither playlist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

from recommender.api import FloatArray, IntArray
from recommender.audio.tags import MOODS, phrase
from recommender.playlists.base import Playlist, top
from recommender.playlists.embedding import genre_words

# Genre words -> energy on the 0..1 scale (the fallback when no analysis exists).
GENRE_ENERGY: dict[str, float] = {
    "ambient": 0.1,
    "classical": 0.15,
    "new age": 0.1,
    "acoustic": 0.25,
    "folk": 0.3,
    "jazz": 0.35,
    "blues": 0.35,
    "soul": 0.4,
    "lounge": 0.2,
    "chillout": 0.2,
    "downtempo": 0.25,
    "trip hop": 0.3,
    "lo-fi": 0.25,
    "singer songwriter": 0.3,
    "easy listening": 0.2,
    "soundtrack": 0.35,
    "country": 0.45,
    "reggae": 0.45,
    "r&b": 0.5,
    "pop": 0.6,
    "disco": 0.7,
    "funk": 0.65,
    "hip hop": 0.65,
    "rock": 0.7,
    "electronic": 0.65,
    "house": 0.75,
    "dance": 0.8,
    "techno": 0.85,
    "trance": 0.8,
    "punk": 0.9,
    "metal": 0.9,
    "hard rock": 0.85,
    "drum and bass": 0.9,
    "hardcore": 0.95,
    "dubstep": 0.85,
    "electronic dance music": 0.85,
    "grindcore": 0.95,
    "ska": 0.75,
}


# Moods (and mood-laden styles) among the music network's tags (recommender/audio/tags.py;
# the library adds the heard ones to each track's genre words) -> energy on the 0..1
# scale. Only words that say how calm or lively a track is: "beautiful" and "sad" lean
# calm, "happy" and "catchy" lively; "sexy", or a decade, say neither.
MOOD_ENERGY: dict[str, float] = {
    "mellow": 0.1,
    "chill": 0.15,
    "chillout": 0.15,
    "easy listening": 0.15,
    "ambient": 0.1,
    "acoustic": 0.25,
    "beautiful": 0.25,
    "sad": 0.2,
    "party": 0.9,
    "catchy": 0.75,
    "happy": 0.75,
    "dance": 0.8,
    "house": 0.8,
    "electro": 0.8,
    "punk": 0.9,
    "hard rock": 0.85,
    "metal": 0.9,
    "heavy metal": 0.95,
}
# The heard moods' share beside the scalars' three parts (energy, tempo, acousticness):
# 1.5 makes them a third of an analysed track's score.
MOOD_WEIGHT = 1.5


def _percentile(values: FloatArray) -> FloatArray:
    out = np.full(values.size, np.nan, dtype=np.float32)
    known = np.isfinite(values)
    if known.sum() > 1:
        out[known] = (rankdata(values[known]) - 1) / (known.sum() - 1)
    elif known.any():
        out[known] = 0.5
    return out


def _distinct(genres: Sequence[str | None]) -> tuple[list[str], IntArray]:
    """The distinct genre texts ("" for none) and each track's index among them: a
    library has few, so what depends on the text alone is worked out once per text.

    ``np.unique`` of the texts' hashes, not of the texts: sorting 100,000 strings costs
    ~45 ms, sorting their hashes ~5. Should two texts share a hash, the check sees it and
    the texts themselves are sorted."""
    texts = np.asarray([g or "" for g in genres], dtype=object).reshape(-1)
    keys = np.fromiter(map(hash, texts), np.int64, texts.size)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    distinct = texts[first]
    if not np.array_equal(distinct[inverse.reshape(-1)], texts):
        distinct, inverse = np.unique(texts, return_inverse=True)
    return [str(g) for g in distinct.tolist()], inverse.reshape(-1).astype(np.int64)


def _genre_energy(raw: str) -> float:
    values = []
    for genre in genre_words(raw):
        value = GENRE_ENERGY.get(genre)
        if value is None:
            words = [GENRE_ENERGY[w] for w in genre.split() if w in GENRE_ENERGY]
            value = float(np.mean(words)) if words else None
        if value is not None:
            values.append(value)
    return float(np.mean(values)) if values else float("nan")


def _mood_energy(raw: str) -> float:
    values = [MOOD_ENERGY[g] for g in genre_words(raw) if g in MOOD_ENERGY]
    return float(np.mean(values)) if values else float("nan")


def _per_track(
    distinct: list[str], inverse: IntArray, of_text: Callable[[str], float]
) -> FloatArray:
    per_text = np.fromiter(map(of_text, distinct), np.float32, len(distinct))
    result: FloatArray = per_text[inverse]
    return result


def genre_energy(genres: Sequence[str | None]) -> FloatArray:
    """Energy from genre words alone: the mean of the known genres' values (NaN if none);
    a compound genre ("progressive metal") falls back to its words."""
    return _per_track(*_distinct(genres), _genre_energy)


def mood_energy(genres: Sequence[str | None]) -> FloatArray:
    """Energy from the mood words among a track's genre words (heard or written): their
    mean ``MOOD_ENERGY``, NaN where none is there."""
    return _per_track(*_distinct(genres), _mood_energy)


def energy_scores(
    genres: Sequence[str | None],
    energy: FloatArray | None = None,
    bpm: FloatArray | None = None,
    acousticness: FloatArray | None = None,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Calm (0) .. energetic (1) per track: analysis where it exists (the scalars'
    percentiles with the moods heard in it, see the module docstring), genre otherwise;
    and which tracks' values come from their sound."""
    parts = []
    if energy is not None:
        parts.append(_percentile(np.asarray(energy, np.float32)))
    if bpm is not None:
        parts.append(_percentile(np.asarray(bpm, np.float32)))
    if acousticness is not None:
        parts.append(1.0 - _percentile(np.asarray(acousticness, np.float32)))
    texts = _distinct(genres)  # once for both
    fallback = _per_track(*texts, _genre_energy)
    if not parts:
        return fallback, np.zeros(len(genres), dtype=bool)
    stacked = np.vstack(parts)
    counted = np.isfinite(stacked).sum(axis=0)
    total = np.nansum(stacked, axis=0)
    moods = _per_track(*texts, _mood_energy)
    heard = np.isfinite(moods) & (counted > 0)  # a mood joins scalars, never stands alone
    total = np.where(heard, total + MOOD_WEIGHT * np.nan_to_num(moods), total)
    weight = np.where(heard, counted + MOOD_WEIGHT, counted)
    analysed = np.divide(total, weight, out=np.full(len(genres), np.nan), where=counted > 0).astype(
        np.float32
    )
    result: FloatArray = np.where(np.isfinite(analysed), analysed, fallback).astype(np.float32)
    return result, np.isfinite(analysed)


@dataclass(frozen=True)
class MoodConfig:
    length: int = 50
    calm_below: float = 0.3
    energetic_above: float = 0.7
    filter_band: float = 0.4  # a mood filter keeps this end of the 0..1 scale


def _leaning_moods(raw: str | None, calm: bool, limit: int = 2) -> list[str]:
    """The moods heard in a track (``MOODS``, the network's mood tags, among its genre
    words) that lean its way on the scale: "mellow" or "sad" for a calm track, "party" or
    "happy" for an energetic one. A mood that says neither ("sexy"), or the other way,
    is not named."""
    found = []
    for word in genre_words(raw):
        value = MOOD_ENERGY.get(word)
        if word in MOODS and value is not None and (value < 0.5 if calm else value > 0.5):
            found.append(word)
    return found[:limit]


def _mood_reason(words: str, from_sound: bool, moods: list[str], favourite: bool) -> str:
    """ "calm by its sound: mellow and sad, one of your favourites"."""
    reason = f"{words} by its {'sound' if from_sound else 'genre'}"
    if moods:
        reason += ": " + " and ".join(phrase([m]) for m in moods)
    return reason + (", one of your favourites" if favourite else "")


def mood_playlists(
    energy: FloatArray,
    from_sound: npt.NDArray[np.bool_],
    affinity: FloatArray,
    allowed: npt.NDArray[np.bool_],
    config: MoodConfig | None = None,
    genres: Sequence[str | None] | None = None,
) -> list[Playlist]:
    """ "Calm" and "Energetic": tracks at the ends of the scale, the listener's favourites
    among them first (then the most extreme). With the tracks' ``genres`` (heard tags
    included), a pick whose sound was read with the moods heard in it names those moods
    that lean its way ("calm by its sound: mellow")."""
    cfg = config or MoodConfig()
    known = np.isfinite(energy) & allowed
    value = np.nan_to_num(energy, nan=0.5)
    liking = affinity / (float(affinity.max(initial=0.0)) or 1.0)
    out = []
    for key, name, inside, extremity in (
        ("calm", "Calm", known & (value <= cfg.calm_below), 1.0 - value),
        ("energetic", "Energetic", known & (value >= cfg.energetic_above), value),
    ):
        scores = (liking + 0.5 * extremity + 1e-3).astype(np.float32)
        items = top(scores, inside, cfg.length)
        words = "calm" if key == "calm" else "energetic"
        reasons = [
            _mood_reason(
                words,
                bool(from_sound[i]),
                # Moods join the sound only (a genre-only reading never counts them).
                _leaning_moods(genres[i], key == "calm") if genres and from_sound[i] else [],
                bool(affinity[i] > 0),
            )
            for i in items.tolist()
        ]
        out.append(
            Playlist(
                key=key,
                name=name,
                kind="auto",
                how=f"the most {words} tracks, by sound (or by genre where not analysed)",
                items=items,
                reasons=reasons,
                scores=scores[items],
            )
        )
    return out
