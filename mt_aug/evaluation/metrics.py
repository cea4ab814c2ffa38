"""mAP@k, recall@k and nDCG@k from similarity scores, as matrix operations.

For one question with relevant set R and candidates ranked by score (descending; equal
scores ranked by candidate index, so results are deterministic):

    AP@k = (1/|R|) * sum_{i <= k} P@i * rel(i)          (P@i: precision of the top i)
    recall@k = |R within top k| / |R|
    nDCG@k = sum_{i <= k} rel(i)/log2(i+1) / sum_{i <= min(|R|, k)} 1/log2(i+1)

Only the ranks of the relevant candidates matter: if the relevant candidates sit at ranks
r_1 < r_2 < ... then P@r_j = j / r_j, so AP@k = (1/|R|) * sum_{j: r_j <= k} j / r_j. The
rank of a candidate c for question q is 1 + #{c' : s(q,c') > s(q,c)} + #{c' < c : s(q,c') = s(q,c)},
computed with comparisons over the whole score row (a few vectorized passes), so no sort or
top-k selection is needed and ties are resolved exactly.
"""

from __future__ import annotations

import numpy as np
import torch

PAD = -1  # padding in relevant-index matrices


def relevant_ranks(scores: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """1-based ranks of the relevant candidates. ``scores`` [n, m] (float), ``relevant`` [n, r]
    (int64 candidate indices, PAD for none) -> [n, r] int64 ranks, 0 where PAD."""
    n, m = scores.shape
    ranks = torch.zeros(relevant.shape, dtype=torch.int64, device=scores.device)
    if n == 0:
        return ranks
    col = torch.arange(m, device=scores.device)
    for j in range(relevant.shape[1]):
        idx = relevant[:, j]
        valid = idx >= 0
        s = scores.gather(1, idx.clamp(min=0)[:, None])  # [n, 1]
        higher = (scores > s).sum(1)
        tied_before = ((scores == s) & (col[None, :] < idx[:, None])).sum(1)
        ranks[:, j] = torch.where(valid, higher + tied_before + 1, torch.zeros_like(higher))
    return ranks


def ap_recall_ndcg(ranks: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-question AP@k, recall@k and nDCG@k from relevant ranks [n, r] (0 = padding)."""
    ranks = np.asarray(ranks, dtype=np.int64)
    n_rel = (ranks > 0).sum(1)
    if (n_rel == 0).any():
        raise ValueError("every question needs at least one relevant candidate")
    # Sort each row's real ranks ascending; padding (0) goes last.
    r = np.where(ranks > 0, ranks, np.iinfo(np.int64).max)
    r = np.sort(r, axis=1)
    hit = r <= k
    j = np.arange(1, r.shape[1] + 1)[None, :]  # position of each relevant item among the relevant
    precision_at_r = np.where(hit, j / np.where(hit, r, 1), 0.0)
    ap = precision_at_r.sum(1) / n_rel
    recall = hit.sum(1) / n_rel
    gains = np.where(hit, 1.0 / np.log2(np.where(hit, r, 1) + 1.0), 0.0).sum(1)
    ideal_disc = 1.0 / np.log2(np.arange(2, k + 2))  # positions 1..k
    ideal = np.cumsum(ideal_disc)[np.minimum(n_rel, k) - 1]
    ndcg = gains / ideal
    return ap, recall, ndcg


def score_ranks(queries: torch.Tensor, candidates: torch.Tensor, relevant: torch.Tensor,
                chunk: int = 1024) -> np.ndarray:
    """Cosine scores of normalized ``queries`` [n, d] against ``candidates`` [m, d], in chunks of
    queries, reduced at once to the relevant candidates' ranks [n, r] (numpy int64)."""
    out = []
    for i in range(0, queries.shape[0], chunk):
        scores = queries[i:i + chunk] @ candidates.T
        out.append(relevant_ranks(scores, relevant[i:i + chunk]).cpu().numpy())
    if not out:
        return np.zeros((0, relevant.shape[1]), dtype=np.int64)
    return np.concatenate(out)


def normalize(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x.float(), p=2, dim=1)
