"""Passage-level evaluation on BEIR-layout folders (MIRACL converted by `mt-aug convert-eval`,
BEIR sets, a build's ``dev/beir/{lang}``): nDCG@10, Recall@100 and MRR@10 per language.

One folder per language::

    corpus.jsonl      {"_id": ..., "title": ..., "text": ...} per line (title optional)
    queries.jsonl     {"_id": ..., "text": ...} per line
    qrels/test.tsv    query-id<TAB>corpus-id<TAB>score, a header line ``query-id corpus-id score``
                      (optional; TREC ``qid Q0 docid rel`` lines are read too)

The files are parsed by the decontamination readers (mt_aug.decontamination.eval_sets), so
one definition of each format serves both. Scores are graded: a judgment's score is its gain
in nDCG; a document is relevant when its score is > 0 (Recall, MRR). Only queries with at least
one relevant document are scored, as BEIR and MIRACL do; the others are counted
(``unscored``). A passage is encoded as ``title + " " + text`` (BEIR's convention; the text
alone where there is no title).

Retrieval is exact and bounded in memory: the corpus is scored block by block against a chunk
of queries, keeping each query's running top 100 (mt_aug.evaluation.metrics.
blocked_relevant_ranks); dense corpus embeddings go through the embedding cache (keyed by the
model's weights and the sha256 of corpus.jsonl) and are memory-mapped when large. Ties: lower
corpus line first.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from mt_aug.core.files import sha256_file
from mt_aug.decontamination.eval_sets import iter_corpus, iter_jsonl, iter_qrels, str_field
from mt_aug.evaluation.bm25 import BM25Index
from mt_aug.evaluation.encode import EmbeddingCache, Encoder
from mt_aug.evaluation.lareqa import EvalDataError, expand_paths, lone_surrogate
from mt_aug.evaluation.metrics import PAD, blocked_relevant_ranks, passage_metrics
from mt_aug.evaluation.report import BEIR_FIGURES
from mt_aug.evaluation.scoring import BM25, Timings
from mt_aug.readers import SourceError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from mt_aug.evaluation.encode import EmbeddingCache

CORPUS, QUERIES, QRELS = "corpus.jsonl", "queries.jsonl", "qrels/test.tsv"
NDCG_K, RECALL_K, MRR_K = 10, 100, 10
FIGURES = BEIR_FIGURES
assert FIGURES == (f"ndcg@{NDCG_K}", f"recall@{RECALL_K}", f"mrr@{MRR_K}")
QUERY_CHUNK = 4096  # queries scored together against each corpus block
SCORE_BLOCK_ELEMENTS = 1 << 25  # scores of one block (float32: 128 MB)


@dataclass(frozen=True)
class BeirSet:
    """One language folder, as arrays ready for scoring."""

    lang: str
    path: Path
    doc_ids: list[str]
    docs: list[str]  # what is encoded: title + " " + text
    query_ids: list[str]  # scored queries only (at least one relevant document)
    queries: list[str]
    relevant: np.ndarray  # int64 [n_queries, r]: corpus indices of relevant documents, PAD for none
    gains: np.ndarray  # float64 [n_queries, r]: their scores (> 0), 0 for PAD
    sha256: dict[str, str]  # corpus, queries, qrels
    unscored: dict[str, int] = field(default_factory=dict)  # reason -> queries


def _text(path: Path, lineno: int, key: str, value: str) -> str:
    if lone_surrogate(value):
        raise EvalDataError(f"{path}:{lineno}: {key!r} holds a lone UTF-16 surrogate (\\u escape D800-DFFF "
                            "without its pair): not text")
    return value


def read_beir(folder: Path, lang: str) -> BeirSet:
    """Read one BEIR folder; EvalDataError naming the file and line for anything wrong."""
    folder = Path(folder)
    missing = [name for name in (CORPUS, QUERIES, QRELS) if not (folder / name).is_file()]
    if missing:
        raise EvalDataError(f"{folder}: not a BEIR folder: {', '.join(missing)} missing (a BEIR folder holds "
                            f"{CORPUS}, {QUERIES} and {QRELS})")
    corpus_p, queries_p, qrels_p = folder / CORPUS, folder / QUERIES, folder / QRELS
    try:
        doc_index: dict[str, int] = {}
        doc_line: list[int] = []
        docs: list[str] = []
        for lineno, docid, title, text in iter_corpus(corpus_p, "_id"):
            if docid in doc_index:
                raise EvalDataError(f"{corpus_p}:{lineno}: _id {docid!r} appears twice "
                                    f"(first on line {doc_line[doc_index[docid]]})")
            doc_index[docid] = len(docs)
            doc_line.append(lineno)
            title, text = _text(corpus_p, lineno, "title", title), _text(corpus_p, lineno, "text", text)
            docs.append(f"{title} {text}" if title.strip() else text)
        query_text: dict[str, str] = {}
        for lineno, rec in iter_jsonl(queries_p):
            qid = str_field(queries_p, lineno, rec, "_id")
            if qid in query_text:
                raise EvalDataError(f"{queries_p}:{lineno}: _id {qid!r} appears twice")
            query_text[qid] = _text(queries_p, lineno, "text", str_field(queries_p, lineno, rec, "text"))
        if not query_text:
            raise EvalDataError(f"{queries_p}: holds no queries")
        judged: dict[str, dict[int, float]] = {}
        for lineno, qid, docid, score in iter_qrels(qrels_p):
            if qid not in query_text:
                raise EvalDataError(f"{qrels_p}:{lineno}: query id {qid!r} is not in {QUERIES}")
            if docid not in doc_index:
                raise EvalDataError(f"{qrels_p}:{lineno}: corpus id {docid!r} is not in {CORPUS}")
            per = judged.setdefault(qid, {})
            if doc_index[docid] in per:
                raise EvalDataError(f"{qrels_p}:{lineno}: query {qid!r} judges corpus id {docid!r} twice")
            per[doc_index[docid]] = score
    except SourceError as exc:
        raise EvalDataError(str(exc)) from None
    qids = [q for q in query_text if any(v > 0 for v in judged.get(q, {}).values())]
    unscored = {"not in qrels": sum(q not in judged for q in query_text),
                "no relevant passage": sum(q in judged for q in query_text) - len(qids)}
    if not qids:
        raise EvalDataError(f"{qrels_p}: no query has a relevant passage (a judgment with score > 0)")
    width = max(sum(v > 0 for v in judged[q].values()) for q in qids)
    relevant = np.full((len(qids), width), PAD, dtype=np.int64)
    gains = np.zeros((len(qids), width), dtype=np.float64)
    for i, q in enumerate(qids):
        pos = sorted((d, g) for d, g in judged[q].items() if g > 0)
        relevant[i, :len(pos)] = [d for d, _ in pos]
        gains[i, :len(pos)] = [g for _, g in pos]
    return BeirSet(lang=lang, path=folder, doc_ids=list(doc_index), docs=docs, query_ids=qids,
                   queries=[query_text[q] for q in qids], relevant=relevant, gains=gains,
                   sha256={"corpus": sha256_file(corpus_p), "queries": sha256_file(queries_p),
                           "qrels": sha256_file(qrels_p)},
                   unscored=unscored)


def read_beir_sets(pattern: str, languages: list[str] | None = None) -> list[BeirSet]:
    """Every language folder of ``pattern`` (``'dir/{lang}'``)."""
    return [read_beir(p, lang) for lang, p in expand_paths(pattern, languages, folders=True).items()]


def _ranks(n_docs: int, n_queries: int, score: Callable[[slice, int, int, np.ndarray | None], torch.Tensor],
           relevant: np.ndarray) -> np.ndarray:
    """Exact ranks (to RECALL_K) of every query's relevant documents, chunk of queries by
    chunk, each chunk against the corpus block by block."""
    out = []
    for i in range(0, n_queries, QUERY_CHUNK):
        rows = slice(i, min(n_queries, i + QUERY_CHUNK))
        n = rows.stop - rows.start
        block = max(256, SCORE_BLOCK_ELEMENTS // max(1, n))

        def score_block(start: int, stop: int, sub: torch.Tensor | None, rows: slice = rows) -> torch.Tensor:
            return score(rows, start, stop, None if sub is None else sub.numpy())

        rel = torch.from_numpy(np.ascontiguousarray(relevant[rows]))
        out.append(blocked_relevant_ranks(n_docs, score_block, rel, RECALL_K, block).numpy())
    return np.concatenate(out) if out else np.zeros((0, relevant.shape[1]), dtype=np.int64)


def _dense_score(queries: np.ndarray, corpus: np.ndarray, device: str):  # type: ignore[no-untyped-def]
    q_all = torch.from_numpy(np.array(queries, dtype=np.float32)).to(device)  # a copy: the cache's may be read-only

    def score(rows: slice, start: int, stop: int, sub: np.ndarray | None) -> torch.Tensor:
        q = q_all[rows]
        if sub is not None:
            q = q[torch.from_numpy(sub).to(device)]
        block = torch.from_numpy(np.array(corpus[start:stop], dtype=np.float32)).to(device)  # one block in memory
        return q @ block.T

    return score


def _bm25_score(s: BeirSet):  # type: ignore[no-untyped-def]

    index = BM25Index.build(s.docs, s.lang)
    q_all = index.queries(s.queries, s.lang)

    def score(rows: slice, start: int, stop: int, sub: np.ndarray | None) -> torch.Tensor:
        q = q_all[rows]
        if sub is not None:
            q = q[sub]
        return index.scores(q, start, stop)

    return score


def evaluate_beir(model: SentenceTransformer | Literal["bm25"], sets: Sequence[BeirSet], *, batch_size: int = 64,
                  cache: EmbeddingCache | None = None, show_progress: bool = False, model_hash: str = "",
                  log: Callable[[str], None] | None = None) -> tuple[dict[str, Any], Timings]:
    """The passage-level part of a report, and timings (encode_s, score_s, texts)."""
    timings = Timings()
    encoder = None
    if not isinstance(model, str):
        encoder = Encoder(model, batch_size=batch_size, cache=cache or EmbeddingCache(None),
                          show_progress=show_progress, model_hash=model_hash)
    elif model != BM25:
        raise ValueError(f"model {model!r}: a SentenceTransformer or {BM25!r}")
    figures: dict[str, dict[str, float]] = {name: {} for name in FIGURES}
    for s in sets:
        if log:
            log(f"{s.lang}: {len(s.query_ids)} queries, {len(s.docs)} passages ({s.path})")
        t0 = time.perf_counter()
        if encoder is None:
            score = _bm25_score(s)
        else:
            corpus = encoder.encode(s.docs, file_sha=s.sha256["corpus"], kind="beir-corpus", label=s.lang)
            qkey = hashlib.sha256((s.sha256["queries"] + s.sha256["qrels"]).encode()).hexdigest()
            queries = encoder.encode(s.queries, file_sha=qkey, kind="beir-queries", label=s.lang)
            score = _dense_score(queries, corpus, str(model.device))  # type: ignore[union-attr]
        timings.encode_s += time.perf_counter() - t0
        timings.texts += len(s.docs) + len(s.queries)
        t0 = time.perf_counter()
        ranks = _ranks(len(s.docs), len(s.query_ids), score, s.relevant)
        ndcg, recall, mrr = passage_metrics(ranks, s.gains, ndcg_k=NDCG_K, recall_k=RECALL_K, mrr_k=MRR_K)
        timings.score_s += time.perf_counter() - t0
        for name, values in zip(FIGURES, (ndcg, recall, mrr), strict=True):
            figures[name][s.lang] = float(values.mean())
    for values in figures.values():
        values["mean"] = float(np.mean(list(values.values()))) if values else float("nan")
    if encoder is not None:
        timings.details = list(encoder.cache.events)
    report: dict[str, Any] = {
        "beir": {"paths": {s.lang: str(s.path) for s in sets},
                 "files_sha256": {s.lang: dict(s.sha256) for s in sets},
                 "queries": {s.lang: len(s.query_ids) for s in sets},
                 "corpus": {s.lang: len(s.docs) for s in sets},
                 "relevant": {s.lang: int((s.relevant >= 0).sum()) for s in sets},
                 "unscored": {s.lang: dict(s.unscored) for s in sets}},
        **figures,
    }
    return report, timings
