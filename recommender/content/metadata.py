"""Metadata and tag similarity: the first rung of the cold-start ladder.

Every track has tags long before it has an audio vector or any listening history, so
this index is what lets a freshly scanned library recommend anything at all.

Similarity between two items mixes, on a [0, 1] scale:

- TF-IDF cosine over tag words: normalised genres (``"Hip-Hop"``, ``"hip hop"`` and
  ``"HipHop"`` are one genre), and the words of tags, comments and lyrics;
- shared artists (multi-valued artists are joined with ``"; "`` by the caller);
- the same album (keyed by album title *and* artist, so two "Greatest Hits" differ);
- year proximity, which scales the rest: it never makes unrelated tracks similar.

Input is plain per-item lists indexed by dense item id; there is no database here.
A row of similarities is a few sparse products, so ``similar(item, k)`` stays fast on a
100,000-track library without ever building the full item-item matrix.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.preprocessing import normalize

from recommender.api import FloatArray, IntArray

# Spellings that the punctuation and case rules below cannot reconcile, keyed by the
# compact form (lowercase, "&" -> "and", no spaces or punctuation).
_GENRE_ALIASES: dict[str, str] = {
    "hiphop": "hip hop",
    "dnb": "drum and bass",
    "dandb": "drum and bass",
    "drumnbass": "drum and bass",
    "drumandbass": "drum and bass",
    "drumbass": "drum and bass",
    "rnb": "r&b",
    "randb": "r&b",
    "rhythmandblues": "r&b",
    "rocknroll": "rock and roll",
    "rockandroll": "rock and roll",
    "rockroll": "rock and roll",
    "lofi": "lo-fi",
    "synthpop": "synthpop",
    "electropop": "electropop",
    "triphop": "trip hop",
    "altrock": "alternative rock",
    "alternativerock": "alternative rock",
    "edm": "electronic dance music",
    "electronicdancemusic": "electronic dance music",
    "ukgarage": "uk garage",
    "kpop": "k-pop",
    "jpop": "j-pop",
    "soundtrack": "soundtrack",
    "ost": "soundtrack",
    "originalsoundtrack": "soundtrack",
    "scifi": "sci-fi",
}
# Canonical genres that are one idea: their words alone ("r", "b", "hip") mean nothing.
_ATOMIC_GENRES = frozenset(_GENRE_ALIASES.values())

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_AND_FORMS = re.compile(r"\s*(?:&|\+|\bn\b|'n'|'n|n')\s*")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[a-z]{3,}")  # tag/comment/lyrics words; drops ids, hex and numbers
_FEATURING = re.compile(r"\s+(?:feat\.?|ft\.?|featuring)\s+", re.IGNORECASE)
_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS)
# What rippers, encoders and download sites leave in comments: it says nothing about the
# music, and would make "tagged like X: processed, sox" reasons.
_URL = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+\.\S+", re.IGNORECASE)
_TAGGING_NOISE = frozenset(
    (
        "processed sox encoded encoder encoding lavf lavc lame ffmpeg itunes itunnorm ripped "
        "rip eac exact copy flac mp3 ogg kbps vbr cbr url http https www com org net "
        "comments comment curator copyright creative commons attribution license licence "
        "licensed rights reserved free download downloaded visit website site archive "
        "freemusicarchive jamendo bandcamp soundcloud track tracks album version"
    ).split()
)


def _fold(text: str) -> str:
    """Unicode-compatibility fold and accent strip ("Électro" -> "Electro")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_genre(raw: str) -> str:
    """One spelling per genre: ``"Hip-Hop"``, ``"hip hop"``, ``"HipHop"`` -> ``"hip hop"``;
    ``"Drum & Bass"``, ``"drum and bass"``, ``"DnB"`` -> ``"drum and bass"``;
    ``"R&B"``, ``"RnB"`` -> ``"r&b"``. Returns ``""`` for a blank genre."""
    text = _CAMEL.sub(" ", _fold(raw).strip()).lower()
    text = _AND_FORMS.sub(" and ", text)
    words = _NON_WORD.sub(" ", text).split()
    if not words:
        return ""
    compact = "".join(words)
    alias = _GENRE_ALIASES.get(compact)
    if alias is not None:
        return alias
    # "r and b" style leftovers of a compact alias written with spaces
    return " ".join(words)


def genre_tokens(raw: str) -> list[str]:
    """TF-IDF tokens for one (possibly multi-valued, ``"; "``-joined) genre field: the
    whole canonical genre as one token, plus its words for compound genres, so that
    "progressive rock" shares "rock" with "rock" but "hip hop" does not share "hip"."""
    tokens: list[str] = []
    for part in re.split(r"[;,/|]", raw):
        genre = normalise_genre(part)
        if not genre:
            continue
        tokens.append("g:" + genre.replace(" ", "_"))
        if genre not in _ATOMIC_GENRES:
            words = [w for w in _NON_WORD.sub(" ", genre).split() if w not in _STOP_WORDS]
            if len(words) > 1:
                tokens.extend("gw:" + w for w in words)
    return tokens


def text_words(raw: str) -> list[str]:
    """Content words of free text (tags, comments, lyrics), without stop words, links
    and the boilerplate taggers and download sites leave behind."""
    text = _URL.sub(" ", _fold(raw)).lower()
    return [w for w in _WORD.findall(text) if w not in _STOP_WORDS and w not in _TAGGING_NOISE]


def split_artists(raw: str) -> list[str]:
    """Artist names of a ``"; "``-joined field, casefolded, "feat." guests included."""
    names: list[str] = []
    for part in re.split(r"\s*;\s*", raw):
        for name in _FEATURING.split(part):
            key = " ".join(_NON_WORD.sub(" ", _fold(name).lower()).split())
            key = key.removeprefix("the ")
            if key and key not in names:
                names.append(key)
    return names


@dataclass(frozen=True)
class MetadataWeights:
    """How much each kind of agreement counts. The first three sum to 1; ``year`` is
    the share of the result that year proximity can take away."""

    text: float = 0.5
    artist: float = 0.3
    album: float = 0.2
    year: float = 0.3
    year_scale: float = 4.0  # years apart at which year agreement falls to 1/e
    genre_share: float = 0.7  # of the text vector: genres vs. tags/comment/lyrics words


_DENSE_TERMS = 512  # pairwise(): at most this many distinct terms -> dense product


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _tfidf(
    docs: list[list[str]],
) -> tuple[sp.csr_matrix, npt.NDArray[np.str_], npt.NDArray[np.float64]]:
    """Row-normalised TF-IDF of pre-tokenised documents (all-zero rows where no tokens),
    with each column's term and IDF."""
    if not any(docs):
        return sp.csr_matrix((len(docs), 0), dtype=np.float32), np.array([], str), np.zeros(0)
    vectoriser = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, norm="l2", dtype=np.float32)
    matrix = sp.csr_matrix(vectoriser.fit_transform(docs), dtype=np.float32)
    return matrix, vectoriser.get_feature_names_out(), np.asarray(vectoriser.idf_)


def _memoised(parse: Callable[[str], list[str]], values: list[str]) -> list[list[str]]:
    """``[parse(v) for v in values]``, parsing each distinct value once (results shared:
    callers must not mutate them)."""
    seen: dict[str, list[str]] = {}
    return [seen[v] if v in seen else seen.setdefault(v, parse(v)) for v in values]


def _optional(values: Sequence[str | None] | None, n: int) -> list[str]:
    if values is None:
        return [""] * n
    if len(values) != n:
        raise ValueError(f"expected {n} values per item, got {len(values)}")
    return [v or "" for v in values]


class MetadataIndex:
    """Tag, artist, album and year similarity over a library of ``n`` items."""

    def __init__(
        self,
        *,
        artists: Sequence[str | None],
        albums: Sequence[str | None] | None = None,
        genres: Sequence[str | None] | None = None,
        years: Sequence[int | float | None] | None = None,
        comments: Sequence[str | None] | None = None,
        lyrics: Sequence[str | None] | None = None,
        tags: Sequence[str | None] | None = None,
        weights: MetadataWeights | None = None,
        cache_rows: int = 16,
    ) -> None:
        n = len(artists)
        self.n_items = n
        self.weights = weights or MetadataWeights()
        artist_texts = _optional(artists, n)
        album_texts = _optional(albums, n)
        genre_texts = _optional(genres, n)
        word_texts = [
            " ".join(parts)
            for parts in zip(
                _optional(tags, n), _optional(comments, n), _optional(lyrics, n), strict=True
            )
        ]

        # Libraries repeat a few hundred genre and a few thousand artist spellings across
        # many tracks: normalise each distinct spelling once.
        genre_matrix, genre_terms, genre_idf = _tfidf(_memoised(genre_tokens, genre_texts))
        word_matrix, word_terms, word_idf = _tfidf([text_words(raw) for raw in word_texts])
        # Column -> term and IDF, for explanations ("both hip hop", "shared tags: ...").
        self._n_genre_terms = genre_terms.size
        self._terms = np.concatenate([genre_terms.astype(object), word_terms.astype(object)])
        self._idf = np.concatenate([genre_idf, word_idf])
        share = self.weights.genre_share
        text = sp.hstack(
            [
                genre_matrix * np.float32(np.sqrt(share)),
                word_matrix * np.float32(np.sqrt(1 - share)),
            ],
            format="csr",
            dtype=np.float32,
        )
        if text.shape[1] == 0:
            # No genre, tag or comment anywhere (an untagged library): one empty column
            # keeps every product well-formed; artists, albums and years still count.
            text = sp.csr_matrix((n, 1), dtype=np.float32)
            self._terms = np.array([""], dtype=object)
            self._idf = np.zeros(1)
        self._text = _l2_rows(text)
        self._text_by_term = sp.csr_matrix(self._text.T, dtype=np.float32)

        # Artists: binary item x artist membership, rows normalised -> cosine overlap.
        artist_names = _memoised(split_artists, artist_texts)
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for item, names in enumerate(artist_names):
            for name in names:
                rows.append(item)
                cols.append(vocab.setdefault(name, len(vocab)))
        membership = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(n, max(len(vocab), 1)),
        )
        self._artists = _l2_rows(membership)
        self._artists_by_artist = sp.csr_matrix(self._artists.T, dtype=np.float32)
        # The primary artist as a dense id (-1 unknown), for callers' spacing rules.
        self.artist_ids: IntArray = np.array(
            [vocab[names[0]] if names else -1 for names in artist_names], dtype=np.int64
        )

        # Albums: dense id per (album title, primary artist); -1 when there is no album.
        album_keys: dict[tuple[str, str], int] = {}
        album_ids = np.full(n, -1, dtype=np.int64)
        for item, (title, names) in enumerate(zip(album_texts, artist_names, strict=True)):
            key = " ".join(_NON_WORD.sub(" ", _fold(title).lower()).split())
            if key:
                album_ids[item] = album_keys.setdefault(
                    (key, names[0] if names else ""), len(album_keys)
                )
        self.album_ids: IntArray = album_ids

        year_values = [np.nan if y is None else float(y) for y in (years or [None] * n)]
        if len(year_values) != n:
            raise ValueError(f"expected {n} years, got {len(year_values)}")
        year_array = np.asarray(year_values, dtype=np.float32)
        year_array[year_array <= 0] = np.nan  # tags write 0 for "unknown"
        self.years: FloatArray = year_array
        self._unknown_year = np.flatnonzero(np.isnan(year_array))

        self._rows: OrderedDict[int, FloatArray] = OrderedDict()
        self._cache_rows = cache_rows

    # -- one row -------------------------------------------------------------------

    def clear_cache(self) -> None:
        self._rows.clear()

    def similarities(self, item: int) -> FloatArray:
        """Similarity of ``item`` to every item, float32 in [0, 1] (itself included).
        The last few rows are cached: up-next asks for the same anchors repeatedly (the
        current track, two before it, the likely next one). A row is 400 KB at 100,000
        tracks: 16 of them cover a session's anchors, 64 held 25 MB for nothing."""
        cached = self._rows.get(item)
        if cached is not None:
            self._rows.move_to_end(item)
            return cached
        row = self._compute_row(item)
        row.setflags(write=False)
        self._rows[item] = row
        if len(self._rows) > self._cache_rows:
            self._rows.popitem(last=False)
        return row

    def _compute_row(self, item: int) -> FloatArray:
        w = self.weights
        total = np.zeros(self.n_items, dtype=np.float32)
        text_row = self._text[item]
        if text_row.nnz:
            # Only the items sharing a term with ``item`` are touched.
            terms = self._text_by_term[text_row.indices]
            total += w.text * np.asarray(terms.T @ text_row.data, dtype=np.float32)
        artist_row = self._artists[item]
        if artist_row.nnz:
            by_artist = self._artists_by_artist[artist_row.indices]
            total += w.artist * np.asarray(by_artist.T @ artist_row.data, dtype=np.float32)
        album = self.album_ids[item]
        if album >= 0:
            total[self.album_ids == album] += w.album
        return self._apply_year(total, self.years[item], self.years)

    def _apply_year(self, base: FloatArray, year: float, years: FloatArray) -> FloatArray:
        w = self.weights
        if w.year <= 0:
            return base
        # An unknown year on either side gives the neutral 0.5, so the row is symmetric.
        if np.isnan(year):
            closeness = np.full(years.size, 0.5, dtype=np.float32)
        else:
            closeness = np.exp(np.abs(years - np.float32(year)) * np.float32(-1 / w.year_scale))
            if years is self.years:
                closeness[self._unknown_year] = 0.5
            else:
                closeness[np.isnan(closeness)] = 0.5
        closeness *= np.float32(w.year)
        closeness += np.float32(1 - w.year)
        base *= closeness
        np.minimum(base, np.float32(1.0), out=base)
        return base

    # -- neighbours ----------------------------------------------------------------

    def similar(self, item: int, k: int = 10) -> tuple[IntArray, FloatArray]:
        """The ``k`` most similar other items (ids, similarities), best first; only
        items with a positive similarity are returned."""
        return self.similar_to([item], k)

    def similar_to(
        self, items: Sequence[int], k: int = 10, weights: Sequence[float] | None = None
    ) -> tuple[IntArray, FloatArray]:
        """The ``k`` items most similar to a set of items (their weighted mean
        similarity), excluding the set itself."""
        seeds = np.asarray(items, dtype=np.int64)
        if seeds.size == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        seed_weights = np.ones(seeds.size) if weights is None else np.asarray(weights, float)
        combined = np.zeros(self.n_items, dtype=np.float32)
        for seed, weight in zip(seeds, seed_weights / seed_weights.sum(), strict=True):
            combined += np.float32(weight) * self.similarities(int(seed))
        combined[seeds] = 0.0
        return top_k(combined, k)

    def pairwise(self, items: Sequence[int] | IntArray) -> FloatArray:
        """Dense similarity matrix among a few hundred items (for diversity re-ranking).
        The rows are gathered straight from the CSR arrays: scipy's fancy indexing costs
        more than the products at up-next's pool size (~200 items)."""
        ids = np.asarray(items, dtype=np.int64)
        w = self.weights
        rows, used, columns, values = _gather(self._text, ids)
        if used.size <= _DENSE_TERMS:
            # A pool of similar tracks shares most terms: a small dense product beats a
            # sparse one whose result is dense anyway.
            dense = np.zeros((ids.size, used.size), dtype=np.float32)
            dense[rows, columns] = values
            result: FloatArray = dense @ dense.T
        else:
            text = self._text[ids]
            result = np.asarray((text @ text.T).toarray(), dtype=np.float32)
        result *= np.float32(w.text)
        self._add_artists(result, ids, np.float32(w.artist))
        albums = self.album_ids[ids]
        same_album = (albums[:, None] == albums[None, :]) & (albums >= 0)[:, None]
        np.add(result, np.float32(w.album), out=result, where=same_album)
        if w.year > 0:
            years = self.years[ids]
            closeness = np.exp(
                np.abs(years[:, None] - years[None, :]) * np.float32(-1 / w.year_scale)
            )
            unknown = np.isnan(years)
            closeness[unknown, :] = 0.5
            closeness[:, unknown] = 0.5
            closeness *= np.float32(w.year)
            closeness += np.float32(1 - w.year)
            result *= closeness
        np.minimum(result, np.float32(1.0), out=result)
        return result

    def _add_artists(self, result: FloatArray, ids: IntArray, weight: np.float32) -> None:
        """``result += weight x`` the cosine overlap of the items' artist sets (``artists @
        artists.T``). With at most one artist per item (the usual case) each entry is a
        single product, so an equality test gives exactly what the sparse product would;
        a lone artist's entry is 1, and 1 x 1 needs no product at all."""
        indptr = self._artists.indptr
        counts = indptr[ids + 1] - indptr[ids]
        if counts.size and int(counts.max()) > 1:
            artists = self._artists[ids]
            result += weight * (artists @ artists.T).toarray()
            return
        has = counts > 0
        if not has.any():  # no artist known (also: an index without any artist)
            return
        first = np.where(has, indptr[ids], 0)
        column = np.where(has, self._artists.indices[first], -1)
        same = (column[:, None] == column[None, :]) & has[:, None]
        value = np.where(has, self._artists.data[first], np.float32(0.0))
        if bool(np.all(value[has] == 1.0)):
            np.add(result, weight, out=result, where=same)
            return
        product = value[:, None] * value[None, :]
        np.add(result, weight * product, out=result, where=same)

    def similarity_to(self, item: int, items: Sequence[int] | IntArray) -> FloatArray:
        """Similarity of ``item`` to a few items only: O(len(items)), no full row."""
        ids = np.asarray(items, dtype=np.int64)
        cached = self._rows.get(item)
        if cached is not None:
            gathered: FloatArray = cached[ids]
            return gathered
        w = self.weights
        text = np.asarray((self._text[ids] @ self._text[item].T).todense(), np.float32).ravel()
        artists = self._artists[ids] @ self._artists[item].T
        result = w.text * text + w.artist * np.asarray(artists.todense(), np.float32).ravel()
        album = self.album_ids[item]
        if album >= 0:
            result += w.album * (self.album_ids[ids] == album)
        return self._apply_year(result.astype(np.float32), self.years[item], self.years[ids])

    # -- explanations --------------------------------------------------------------

    def explain(self, a: int, b: int) -> str:
        """What ``a`` and ``b`` share, in a few words: "same album", "same artist",
        "both drum and bass", "shared tags: piano, ragtime". Empty if nothing."""
        if self.album_ids[a] >= 0 and self.album_ids[a] == self.album_ids[b]:
            return "same album"
        if np.intersect1d(self._artists[a].indices, self._artists[b].indices).size:
            return "same artist"
        shared = np.intersect1d(self._text[a].indices, self._text[b].indices)
        genres = [
            str(term)[2:].replace("_", " ")
            for term in self._terms[shared[shared < self._n_genre_terms]]
            if str(term).startswith("g:")
        ]
        if genres:
            return "both " + " and ".join(genres[:2])
        words = shared[shared >= self._n_genre_terms]
        if words.size:
            # The rarest shared words say the most.
            ranked = sorted((-self._idf[w], str(self._terms[w])) for w in words)
            return "shared tags: " + ", ".join(term for _, term in ranked[:3])
        return ""

    def has_metadata(self) -> npt.NDArray[np.bool_]:
        """Items with any tag text or artist: those this index can relate to others."""
        has_text = np.diff(self._text.indptr) > 0
        has_artist = np.diff(self._artists.indptr) > 0
        result: npt.NDArray[np.bool_] = has_text | has_artist | (self.album_ids >= 0)
        return result


def top_k(scores: FloatArray, k: int) -> tuple[IntArray, FloatArray]:
    """The ``k`` best positive entries of ``scores`` (ids, values), best first, via
    ``argpartition``: O(n) instead of a full sort."""
    k = min(k, scores.size)
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    candidates = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    order = order[scores[order] > 0]
    return order.astype(np.int64), scores[order].astype(np.float32)


def _gather(
    matrix: sp.csr_matrix, ids: IntArray
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """The entries of rows ``ids`` of a CSR matrix: each entry's position in ``ids``, the
    distinct columns used (sorted), each entry's index into them, and its value."""
    indptr = matrix.indptr
    starts = indptr[ids].astype(np.int64)
    sizes = indptr[ids + 1].astype(np.int64) - starts
    total = int(sizes.sum())
    offsets = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(total)
    rows = np.repeat(np.arange(ids.size), sizes)
    used, columns = np.unique(matrix.indices[offsets], return_inverse=True)
    values: FloatArray = matrix.data[offsets]
    return rows, used.astype(np.int64), columns.astype(np.int64), values


def _l2_rows(matrix: sp.spmatrix) -> sp.csr_matrix:
    """Rows scaled to unit length (empty rows stay empty); an empty library has no rows,
    which scikit-learn's ``normalize`` refuses."""
    if matrix.shape[0] == 0:
        return sp.csr_matrix(matrix.shape, dtype=np.float32)
    return sp.csr_matrix(normalize(matrix, norm="l2"), dtype=np.float32)
