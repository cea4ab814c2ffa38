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


def relevant_ranks(scores: torch.Tensor, relevant: torch.Tensor, k: int) -> torch.Tensor:
    """1-based ranks of the relevant candidates, exact up to ``k`` and ``k + 1`` beyond (all
    that AP@k, recall@k and nDCG@k need). ``scores`` [n, m] (float), ``relevant`` [n, r] (int64
    candidate indices, PAD for none) -> [n, r] int64 ranks, 0 where PAD.

    One top-k pass per row: a relevant score below the k-th best is past k; one above it has
    every higher or tied competitor inside the top k, so its rank is counted there. A score
    equal to the k-th best may tie with candidates left out of the top k: those rows (rare:
    exact ties) are counted over the whole row."""
    n, m = scores.shape
    ranks = torch.zeros(relevant.shape, dtype=torch.int64, device=scores.device)
    if n == 0 or relevant.shape[1] == 0:
        return ranks
    valid = relevant >= 0
    idx = relevant.clamp(min=0)
    s = scores.gather(1, idx)  # [n, r]
    top_v, top_i = torch.topk(scores, min(k, m), dim=1)  # [n, k], best first
    kth = top_v[:, -1:]
    rank = ((top_v[:, None, :] > s[:, :, None]).sum(-1)
            + ((top_v[:, None, :] == s[:, :, None]) & (top_i[:, None, :] < idx[:, :, None])).sum(-1) + 1)
    rank = torch.where(s < kth, torch.full_like(rank, k + 1), rank)
    boundary = ((s == kth) & valid).any(1).nonzero().squeeze(1)
    if boundary.numel():
        rows, ridx, rs = scores[boundary], idx[boundary], s[boundary]
        col = torch.arange(m, device=scores.device)
        exact = ((rows[:, None, :] > rs[:, :, None]).sum(-1)
                 + ((rows[:, None, :] == rs[:, :, None]) & (col[None, None, :] < ridx[:, :, None])).sum(-1) + 1)
        rank[boundary] = torch.where(rs == kth[boundary], exact, rank[boundary])
    rank = rank.clamp(max=k + 1)
    return torch.where(valid, rank, ranks)


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


def score_ranks(queries: torch.Tensor, candidates: torch.Tensor, relevant: torch.Tensor, k: int,
                chunk: int = 1024) -> np.ndarray:
    """Cosine scores of normalized ``queries`` [n, d] against ``candidates`` [m, d], in chunks of
    queries, reduced at once to the relevant candidates' ranks [n, r] (numpy int64; exact up to
    k, k + 1 beyond)."""
    out = []
    for i in range(0, queries.shape[0], chunk):
        scores = queries[i:i + chunk] @ candidates.T
        out.append(relevant_ranks(scores, relevant[i:i + chunk], k).cpu().numpy())
    if not out:
        return np.zeros((0, relevant.shape[1]), dtype=np.int64)
    return np.concatenate(out)


def normalize(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x.float(), p=2, dim=1)
