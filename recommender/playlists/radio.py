"""Seed radio: tracks that go with a track, an artist or an album.

The seed's tracks are averaged into one point of the joint embedding; every track scores
its cosine to that point, plus a share for the seed's own artists. The reason names the
block that brought the track closest: how it sounds, how often it is played alongside, or
its genre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recommender.api import FloatArray, IntArray
from recommender.playlists.base import Playlist, top
from recommender.playlists.embedding import JointEmbedding

_BLOCK_REASON = {
    "content": "sounds like {seed}",
    "cf": "often played alongside {seed}",
    "meta": "same style as {seed}",
}


@dataclass(frozen=True)
class RadioConfig:
    length: int = 50
    artist_share: float = 0.15  # bonus for the seed's own artists, on the cosine scale


def radio(
    seeds: IntArray,
    seed_label: str,
    key: str,
    embedding: JointEmbedding,
    artist_ids: IntArray,
    allowed: npt.NDArray[np.bool_],
    config: RadioConfig | None = None,
    include_seeds: bool = False,
) -> Playlist:
    """``include_seeds``: an artist's or album's radio plays the seed's own tracks too;
    a track's radio starts with the track and does not repeat it."""
    cfg = config or RadioConfig()
    seeds = np.asarray(seeds, dtype=np.int64)
    vectors = embedding.vectors
    centre = vectors[seeds].mean(axis=0)
    scores: FloatArray = (vectors @ centre).astype(np.float32)
    seed_artists = np.unique(artist_ids[seeds])
    seed_artists = seed_artists[seed_artists >= 0]
    same_artist = (
        np.isin(artist_ids, seed_artists)
        if seed_artists.size
        else np.zeros(scores.size, dtype=bool)
    )
    scores += np.float32(cfg.artist_share) * same_artist
    usable = allowed.copy()
    if not include_seeds:
        usable[seeds] = False
    picked = top(scores, usable, cfg.length)
    reasons = _reasons(picked, centre, embedding, same_artist, seed_label, seeds, include_seeds)
    return Playlist(
        key=key,
        name=f"Radio: {seed_label}",
        kind="radio",
        how=f"tracks that go with {seed_label}",
        items=picked,
        reasons=reasons,
        scores=scores[picked],
    )


def _reasons(
    picked: IntArray,
    centre: FloatArray,
    embedding: JointEmbedding,
    same_artist: npt.NDArray[np.bool_],
    seed_label: str,
    seeds: IntArray,
    include_seeds: bool,
) -> list[str]:
    parts = {}
    for name, sl in embedding.blocks.items():
        if sl.stop > sl.start:
            # Each block's share of the joint cosine: what brought the track close.
            parts[name] = embedding.vectors[picked, sl] @ centre[sl]
    seed_set = set(seeds.tolist())
    reasons = []
    for row, item in enumerate(picked.tolist()):
        if include_seeds and item in seed_set:
            reasons.append(f"from {seed_label}")
            continue
        if same_artist[item]:
            reasons.append(f"same artist as {seed_label}")
            continue
        best, value = "", 0.0
        for name, part in parts.items():
            if part[row] > value:
                best, value = name, float(part[row])
        template = _BLOCK_REASON.get(best, "close to {seed}")
        reasons.append(template.format(seed=seed_label))
    return reasons
