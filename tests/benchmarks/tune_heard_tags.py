"""The measurements behind recommender/audio/tags.py's heard tags, on the 409 labelled
2-3 s snippets of ../shared/data/genre_snippets (10 GTZAN genres, file names
``genre.NNNNN.flac``), heard as ``segue analyze`` hears them (a file this short is heard
whole: one repeat-padded patch, through both networks).

    python tests/benchmarks/tune_heard_tags.py [--typical]

Prints, for each network, its typical probabilities (the mean output over the snippets;
the labels are not used: ``tags.TYPICAL`` and ``tags.MTT_TYPICAL``, with ``--typical``
as code), and for every tag the clips where it is heard (p >= 0.1 and >= 3x typical) by
genre, with precision / recall against the genres the tag stands for (``FITTING``), then
the same for the merged heard tags (``tags.heard_tags``) as the song list shows them.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SNIPPETS = ROOT.parent / "shared" / "data" / "genre_snippets"
CACHE = ROOT / ".cache" / "bench-data" / "genre_snippets_tags_v1.npz"

# The genres where a word fits (instruments: where the instrument is the usual sound).
FITTING: dict[str, set[str]] = {
    "classical": {"classical"},
    "strings": {"classical"},
    "violin": {"classical", "country"},  # the fiddle
    "cello": {"classical"},
    "harp": {"classical"},
    "harpsichord": {"classical"},
    "flute": {"classical", "jazz"},
    "choir": {"classical"},
    "choral": {"classical"},
    "opera": {"classical"},
    "piano": {"classical", "jazz", "blues", "country", "pop", "rock"},
    "sitar": set(),  # no Indian music among the snippets: any hit is wrong
    "synth": {"disco", "pop", "hiphop", "reggae"},
    "drums": {"blues", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"},
    "techno": {"disco", "pop", "hiphop"},
    "rock": {"rock", "metal"},
    "metal": {"metal"},
    "pop": {"pop"},
    "country": {"country"},
    "dance": {"disco", "pop", "hiphop"},
    "jazz": {"jazz"},
}


def probabilities() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Genres and both networks' tag probabilities of every snippet (cached)."""
    files = sorted(SNIPPETS.glob("*.*"))
    files = [f for f in files if f.suffix in (".flac", ".ogg", ".wav", ".mp3")]
    genres = [f.name.split(".")[0] for f in files]
    if CACHE.exists():
        with np.load(CACHE) as data:
            if [str(g) for g in data["genres"]] == genres:
                return genres, data["msd"], data["mtt"]
    from recommender.audio.analyze import WINDOW_COUNT, WINDOW_SECONDS, _whole, deep_features
    from recommender.audio.decode import load_excerpt
    from recommender.audio.musicnn import MTT, shipped

    msd_net, mtt_net = shipped(), shipped(MTT)
    msd, mtt = [], []
    for f in files:
        excerpt = load_excerpt(str(f), WINDOW_COUNT, WINDOW_SECONDS, min_seconds=1.0)
        deep = deep_features(msd_net, excerpt.windows, whole=_whole(excerpt), mtt=mtt_net)
        assert deep.mtt_tags is not None
        msd.append(deep.tags)
        mtt.append(deep.mtt_tags)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, genres=np.array(genres), msd=np.array(msd), mtt=np.array(mtt))
    return genres, np.array(msd), np.array(mtt)


def main(argv: list[str]) -> int:
    from recommender.audio import tags
    from recommender.audio.musicnn import MSD_LABELS, MTT_LABELS

    if not SNIPPETS.is_dir():
        print("../shared/data/genre_snippets is not present", file=sys.stderr)
        return 1
    genres, msd, mtt = probabilities()
    g = np.array(genres)
    print(f"{len(genres)} snippets: {dict(Counter(genres))}")
    for name, labels, p in (("MSD", MSD_LABELS, msd), ("MTT", MTT_LABELS, mtt)):
        typical = p.mean(axis=0)
        if "--typical" in argv:
            print(f"{name} typical:")
            print(", ".join(f'"{lab}": {t:.4f}' for lab, t in zip(labels, typical, strict=True)))
        print(f"\n{name}: tag, typical, hits, precision / recall where FITTING names it")
        heard = (p >= tags.HEARD_MIN) & (p >= tags.LIKELY_LIFT * typical)
        for j, label in enumerate(labels):
            hits = Counter(g[heard[:, j]])
            line = f"  {label:18s} {typical[j]:.4f} {heard[:, j].sum():4d} {dict(hits)}"
            fitting = FITTING.get(label.lower())
            if fitting is not None and heard[:, j].any():
                good = sum(n for genre, n in hits.items() if genre in fitting)
                total = sum(1 for x in g if x in fitting)
                recall = f"{good / total:.2f}" if total else "-"
                line += f"  P {good / heard[:, j].sum():.2f} R {recall}"
            print(line)
    # The merged heard tags, as stored and shown.
    print("\nmerged heard tags: word, clips, precision / recall (FITTING)")
    words: Counter[str] = Counter()
    by_word: dict[str, Counter[str]] = {}
    for i in range(len(genres)):
        for word, _ in tags.heard_tags(msd[i], mtt[i]):
            words[word] += 1
            by_word.setdefault(word, Counter())[genres[i]] += 1
    for word, n in words.most_common():
        fitting = FITTING.get(word)
        line = f"  {word:18s} {n:4d} {dict(by_word[word])}"
        if fitting:
            good = sum(by_word[word][x] for x in fitting)
            total = sum(1 for x in g if x in fitting)
            line += f"  P {good / n:.2f} R {good / total:.2f}"
        print(line)
    classical = [i for i, x in enumerate(genres) if x == "classical"]
    jazz_on_classical = sum(
        "jazz" in [w for w, _ in tags.heard_tags(msd[i], mtt[i])] for i in classical
    )
    print(f"classical clips heard as jazz: {jazz_on_classical} of {len(classical)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
