"""Applying an eval index to training texts: which rows of a pairs (or translated texts) table
overlap an eval text, each distinct passage and question matched once, and what each eval set
removed (`EvalSummary`); per build, one index per language (`eval_indexes`), the languages no
eval set covers (`coverage_warnings`) and the drops of a table's rows (`contaminated`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from mt_aug import progress
from mt_aug.config import BuildConfig
from mt_aug.decontamination.matcher import EvalIndex, Match, build_index
from mt_aug.pairs import row_labels
from mt_aug.schema import SOURCE_LANG, Drop


@dataclass
class EvalSummary:
    """Per eval set: what it removed."""

    pairs_dropped: int = 0
    passages_matched: int = 0
    questions_matched: int = 0
    methods: dict[str, int] = field(default_factory=dict)

    def add(self, m: Match) -> None:
        if m.field == "passage":
            self.passages_matched += 1
        else:
            self.questions_matched += 1
        self.methods[m.method] = self.methods.get(m.method, 0) + 1

    def to_dict(self) -> dict[str, object]:
        return {
            "pairs_dropped": self.pairs_dropped,
            "passages_matched": self.passages_matched,
            "questions_matched": self.questions_matched,
            "methods": dict(sorted(self.methods.items())),
        }


def _dictionary(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str | None]]:
    """(codes per row, -1 for null; the distinct values) of a dictionary or plain string column."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if not pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_encode()
    codes = np.asarray(arr.indices.fill_null(-1), dtype=np.int64)
    return codes, arr.dictionary.to_pylist()


_CHUNK = 16_384  # texts matched between two progress updates


def _match(index: EvalIndex, texts: list[str], field_name: str, bar: progress.Task) -> list[Match | None]:
    """`index.match_many` in chunks (each text is matched on its own), advancing a progress bar."""
    out: list[Match | None] = []
    for i in range(0, len(texts), _CHUNK):
        chunk = texts[i : i + _CHUNK]
        out += index.match_many(chunk, field_name)
        bar.advance(len(chunk))
    return out


def find_contamination_columns(
    questions: pa.ChunkedArray | pa.Array,
    passages: pa.ChunkedArray | pa.Array,
    index: EvalIndex,
    summary: dict[str, EvalSummary],
) -> dict[int, Match]:
    """Row -> the match that condemns it: its passage's if the passage overlaps an eval text (a
    contaminated passage condemns every row that uses it), else its question's. Null rows
    (no text in this language) are skipped. `summary` counts passages once per distinct
    text, questions and pairs once per row (as `matcher.find_contamination` does)."""
    pcodes, pvalues = _dictionary(passages)
    order = np.unique(pcodes[pcodes >= 0]).tolist()  # each distinct passage once (matches are per text)
    texts = [pvalues[c] for c in order]
    qlist = (questions.combine_chunks() if isinstance(questions, pa.ChunkedArray) else questions)
    if pa.types.is_dictionary(qlist.type):
        qlist = qlist.cast(pa.string())
    qs = qlist.to_pylist()
    pc_list = pcodes.tolist()
    with progress.task(f"decontaminate ({index.lang} eval texts)", total=len(texts), unit="texts") as bar:
        hits = dict(zip(order, _match(index, texts, "passage", bar), strict=True))  # type: ignore[arg-type]
        pending = list(dict.fromkeys(q for q, c in zip(qs, pc_list, strict=True)
                                     if c >= 0 and q is not None and hits[c] is None))
        bar.update(total=len(texts) + len(pending))
        qhits = dict(zip(pending, _match(index, pending, "question", bar), strict=True))
    for m in hits.values():
        if m is not None:
            summary.setdefault(m.eval_set, EvalSummary()).add(m)
    out: dict[int, Match] = {}
    for row, (q, c) in enumerate(zip(qs, pc_list, strict=True)):
        if c < 0 or q is None:
            continue
        m = hits[c]
        if m is None:
            m = qhits[q]
            if m is not None:
                summary.setdefault(m.eval_set, EvalSummary()).add(m)
        if m is not None:
            out[row] = m
            summary.setdefault(m.eval_set, EvalSummary()).pairs_dropped += 1
    return out


def find_contamination(
    items: Iterable[tuple[str, str, str]], index: EvalIndex, summary: dict[str, EvalSummary]
) -> dict[str, Match]:
    """`find_contamination_columns` over (key, question, passage) items: key -> the match
    that condemns it."""
    items = list(items)
    hits = find_contamination_columns(pa.array([q for _, q, _ in items], pa.string()),
                                      pa.array([p for _, _, p in items], pa.string()), index, summary)
    return {items[row][0]: m for row, m in hits.items()}


def eval_indexes(cfg: BuildConfig) -> tuple[dict[str, EvalIndex], list[str]]:
    """One index per language that has eval files, and the warnings reading them raised."""
    out, warnings = {}, []
    for lang in cfg.languages:
        idx = build_index(cfg.eval_sets, lang, cfg.decontamination.ngram, cfg.decontamination.question_similarity)
        if idx is not None:
            out[lang] = idx
            warnings += [f"eval index {lang}: {w}" for w in idx.warnings]
    return out, warnings


def coverage_warnings(cfg: BuildConfig) -> list[str]:
    """Languages of the build that no eval set covers: said out loud, never a silent zero."""
    if not cfg.eval_sets:
        return ["no eval_sets configured: nothing was decontaminated"]
    covered = {lang for es in cfg.eval_sets for lang in cfg.languages if es.files(lang)}
    out = [f"no eval file for language {lang!r}: its {'source' if lang == SOURCE_LANG else 'translated'} "
           "texts were not checked" for lang in cfg.languages if lang not in covered]
    for es in cfg.eval_sets:
        for lang in cfg.languages:
            extra = es.qrels_files(lang) + es.corpus_files(lang)
            if extra and not es.files(lang):
                out.append(f"eval set {es.name!r}: qrels/corpus for language {lang!r} but no queries file in "
                           "`paths`: not used")
            elif es.files(lang) and es.corpus_files(lang) and not es.qrels_files(lang):
                out.append(f"eval set {es.name!r} ({lang}): corpus without qrels: every corpus passage was indexed "
                           "(for a whole-Wikipedia corpus such as MIRACL's this drops most Wikipedia-based passages)")
    return out


def contaminated(questions: pa.ChunkedArray, passages: pa.ChunkedArray, pairs: pa.Table, index: EvalIndex | None,
                 stage: str, lang: str) -> tuple[np.ndarray, list[Drop], dict[str, Any]]:
    """(rows to drop, their drops, summary per eval set) of texts (row i of pair i of `pairs`)
    against one language's index."""
    drop = np.zeros(len(questions), dtype=bool)
    if index is None:
        return drop, [], {}
    summary: dict[str, EvalSummary] = {}
    hits = find_contamination_columns(questions, passages, index, summary)
    rows = sorted(hits)
    drop[rows] = True
    drops = [Drop(stage, source, rid, f"contaminated:{hits[row].eval_set}", lang=lang, detail=hits[row].detail())
             for row, source, rid in zip(rows, *row_labels(pairs, rows), strict=True)]
    return drop, drops, {k: v.to_dict() for k, v in sorted(summary.items())}
