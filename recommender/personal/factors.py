"""Latent factors of one listener's sessions: track embeddings from the truncated SVD of
the positive pointwise mutual information of tracks sharing a session (the matrix
factorisation of the design). Refitted now and then from the co-occurrence counts; used as
a similarity to what is playing, which also reaches tracks that co-occur rarely."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from recommender.personal.sequence import CountRows

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def ppmi_embeddings(
    rows: CountRows | tuple[IntArray, IntArray, npt.NDArray[np.float64]],
    n_items: int,
    dim: int = 32,
) -> FloatArray | None:
    """Unit-length track embeddings (zero rows for tracks never seen with another), from
    the counts or their (row, column, count) entries."""
    r, c, v = rows.coo() if isinstance(rows, CountRows) else rows
    if np.unique(r).size < 3:
        return None
    # Only the tracks seen with another take part (a listener hears a fraction of a large
    # library): the SVD runs over those alone, ~8x less memory and time at 100,000 tracks
    # with 12,000 heard, and the others keep zero rows.
    used, position = np.unique(np.concatenate([r, c]), return_inverse=True)
    size = used.size
    r, c = position[: r.size], position[r.size :]
    matrix = sp.csr_matrix((v, (r, c)), shape=(size, size))
    total = float(v.sum())
    row_sum = np.asarray(matrix.sum(axis=1)).ravel()
    col_sum = np.asarray(matrix.sum(axis=0)).ravel() ** 0.75  # context smoothing
    col_sum *= row_sum.sum() / max(col_sum.sum(), 1e-12)
    pmi = np.log(v * total / (row_sum[r] * col_sum[c]))
    keep = pmi > 0
    ppmi = sp.csr_matrix((pmi[keep], (r[keep], c[keep])), shape=(size, size))
    k = min(dim, n_items - 1, max(int(ppmi.nnz**0.5) // 2, 1))
    if k < 2 or ppmi.nnz < 10:
        return None
    if k >= size:  # a handful of tracks: svds needs k below the matrix's size
        entries = ppmi.tocoo()
        rows_of = used[entries.row], used[entries.col]
        ppmi = sp.csr_matrix((entries.data, rows_of), shape=(n_items, n_items))
        used = np.arange(n_items)
    u, s, _ = svds(ppmi, k=k, random_state=0)
    emb = (u * np.sqrt(s)[None, :]).astype(np.float32)
    norm = np.linalg.norm(emb, axis=1, keepdims=True)
    result: FloatArray = np.zeros((n_items, k), dtype=np.float32)
    result[used] = np.divide(emb, norm, out=np.zeros_like(emb), where=norm > 0)
    return result
