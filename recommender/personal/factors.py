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
    matrix = sp.csr_matrix((v, (r, c)), shape=(n_items, n_items))
    total = float(v.sum())
    row_sum = np.asarray(matrix.sum(axis=1)).ravel()
    col_sum = np.asarray(matrix.sum(axis=0)).ravel() ** 0.75  # context smoothing
    col_sum *= row_sum.sum() / max(col_sum.sum(), 1e-12)
    pmi = np.log(v * total / (row_sum[r] * col_sum[c]))
    keep = pmi > 0
    ppmi = sp.csr_matrix((pmi[keep], (r[keep], c[keep])), shape=(n_items, n_items))
    k = min(dim, min(ppmi.shape) - 1, max(int(ppmi.nnz**0.5) // 2, 1))
    if k < 2 or ppmi.nnz < 10:
        return None
    u, s, _ = svds(ppmi, k=k, random_state=0)
    emb = (u * np.sqrt(s)[None, :]).astype(np.float32)
    norm = np.linalg.norm(emb, axis=1, keepdims=True)
    result: FloatArray = np.divide(emb, norm, out=np.zeros_like(emb), where=norm > 0)
    return result
