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


# --- language bias (multilingual pool) ---------------------------------------------------------

def _count_above(scores: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Per row, how many scores are strictly above the row's threshold [n, 1]. On the CPU
    numpy's count_nonzero (4x faster there than torch's sum of a bool tensor)."""
    if scores.device.type == "cpu":
        a, t = scores.detach().numpy(), threshold.detach().numpy()
        return torch.from_numpy(np.count_nonzero(a > t, axis=1).astype(np.int64))
    return (scores > threshold).sum(1)


def language_bias_rows(scores: torch.Tensor, relevant: torch.Tensor,
                       own: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per question of a chunk: rank_distance, same_language_first and the number of relevant
    candidates. ``scores`` [n, m] over the multilingual pool; ``relevant`` [n, r] pool indices
    of the question's answer sentence in every language holding it (PAD for none); ``own`` [n]
    the pool index of its answer in the question's own language (one of ``relevant``).

    The rank of a candidate is 1 + the number of candidates scoring strictly higher (ties share
    a rank), over the whole pool, not cut at k. max(ranks) - min(ranks) is the rank of the
    lowest-scored relevant candidate minus that of the highest-scored one: two counts per
    question, whatever the number of languages. The own-language answer ranks above every other
    relevant candidate exactly when it scores strictly higher than each (a tie is not first),
    which needs no count at all."""
    valid = relevant >= 0
    s = scores.gather(1, relevant.clamp(min=0))
    inf = torch.tensor(float("inf"), dtype=s.dtype, device=s.device)
    best = torch.where(valid, s, -inf).amax(1, keepdim=True)
    worst = torch.where(valid, s, inf).amin(1, keepdim=True)
    distance = _count_above(scores, worst) - _count_above(scores, best)
    s_own = scores.gather(1, own[:, None])
    others = valid & (relevant != own[:, None])
    first = ~(others & (s >= s_own)).any(1)
    return distance, first, valid.sum(1)


# --- exact ranks over a corpus scored block by block (passage retrieval) -----------------------

def blocked_relevant_ranks(n_docs: int, score_block, relevant: torch.Tensor, k: int,  # type: ignore[no-untyped-def]
                           block: int) -> torch.Tensor:
    """:func:`relevant_ranks` over a corpus too large for one score row: ``score_block(start,
    stop, rows)`` gives the scores [len(rows), stop - start] of documents start..stop for the
    queries ``rows`` (a LongTensor; None: all). Memory holds one block and a running top k.

    One pass keeps each query's top k (values and document indices) and its relevant
    documents' own scores (read from their block); a relevant score above the final k-th best
    has every higher or tied competitor in the kept top k, one below it ranks past k. Rows
    whose relevant score equals the k-th best (ties beyond the kept set: BM25's zero scores)
    are counted again over every block. Ties: lower document index first, as in
    :func:`relevant_ranks`. Returns [n, r] int64 ranks, exact up to k, k + 1 beyond, 0 where PAD."""
    n, r = relevant.shape
    ranks = torch.zeros((n, r), dtype=torch.int64)
    if n == 0 or r == 0 or n_docs == 0:
        return ranks
    valid = relevant >= 0
    rel_scores = torch.full((n, r), float("nan"))
    top_v = torch.empty((n, 0))
    top_i = torch.empty((n, 0), dtype=torch.int64)
    for start in range(0, n_docs, block):
        stop = min(n_docs, start + block)
        sc = score_block(start, stop, None).float().cpu()
        inside = valid & (relevant >= start) & (relevant < stop)
        if bool(inside.any()):
            got = sc.gather(1, (relevant - start).clamp(0, stop - start - 1))
            rel_scores = torch.where(inside, got, rel_scores)
        v, i = torch.topk(sc, min(k, stop - start), dim=1)
        cat_v, cat_i = torch.cat([top_v, v], 1), torch.cat([top_i, i + start], 1)
        top_v, sel = torch.topk(cat_v, min(k, cat_v.shape[1]), dim=1)
        top_i = cat_i.gather(1, sel)
    idx = relevant.clamp(min=0)
    s = torch.where(valid, rel_scores, torch.zeros_like(rel_scores))
    rank = ((top_v[:, None, :] > s[:, :, None]).sum(-1)
            + ((top_v[:, None, :] == s[:, :, None]) & (top_i[:, None, :] < idx[:, :, None])).sum(-1) + 1)
    if n_docs > k:
        kth = top_v[:, -1:]
        rank = torch.where(s < kth, torch.full_like(rank, k + 1), rank)
        boundary = ((s == kth) & valid).any(1).nonzero().squeeze(1)
        if boundary.numel():
            exact = torch.ones((boundary.numel(), r), dtype=torch.int64)
            bs, bi = s[boundary], idx[boundary]
            for start in range(0, n_docs, block):
                stop = min(n_docs, start + block)
                sc = score_block(start, stop, boundary).float().cpu()
                col = torch.arange(start, stop)[None, :]
                for t in range(r):  # one [rows, block] comparison at a time
                    st, it = bs[:, t:t + 1], bi[:, t:t + 1]
                    exact[:, t] += ((sc > st) | ((sc == st) & (col < it))).sum(1)
            rank[boundary] = torch.where(bs == kth[boundary], exact, rank[boundary])
    rank = rank.clamp(max=k + 1)
    return torch.where(valid, rank, ranks)


def passage_metrics(ranks: np.ndarray, gains: np.ndarray, *, ndcg_k: int = 10, recall_k: int = 100,
                    mrr_k: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query nDCG@ndcg_k, recall@recall_k and MRR@mrr_k (the BEIR / MIRACL figures, as
    trec_eval computes them) from the ranks [n, r] of its relevant documents (0 = padding) and
    their graded relevance [n, r] (> 0; 0 = padding):

        nDCG@k = sum_{d: rank(d) <= k} gain(d) / log2(rank(d) + 1)
                 / sum_{i <= min(k, r)} g_i / log2(i + 1)      (g: the gains sorted, largest first)
        recall@k = |{d: rank(d) <= k}| / r
        MRR@k = 1 / the best rank if it is <= k, else 0."""
    ranks = np.asarray(ranks, dtype=np.int64)
    gains = np.asarray(gains, dtype=np.float64)
    real = ranks > 0
    n_rel = real.sum(1)
    if (n_rel == 0).any():
        raise ValueError("every query needs at least one relevant document")
    safe = np.where(real, ranks, 1)
    dcg = np.where(real & (ranks <= ndcg_k), gains / np.log2(safe + 1.0), 0.0).sum(1)
    ideal_gains = -np.sort(-np.where(real, gains, 0.0), axis=1)[:, :ndcg_k]
    ideal = (ideal_gains / np.log2(np.arange(2, ideal_gains.shape[1] + 2))[None, :]).sum(1)
    ndcg = dcg / ideal
    recall = (real & (ranks <= recall_k)).sum(1) / n_rel
    best = np.where(real, ranks, np.iinfo(np.int64).max).min(1)
    mrr = np.where(best <= mrr_k, 1.0 / np.minimum(best, np.iinfo(np.int32).max), 0.0)
    return ndcg, recall, mrr
