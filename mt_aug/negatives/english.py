"""Hard negatives, the English side: decontamination (every build) and segmentation (the
segment stage, `hard_negatives: {translate: K}`).

DPR-format sources carry BM25 hard negatives per pair, English (title, text) passages in the
pairs table's `hard_negatives` column. This module

- removes English negatives that overlap an English eval text (every build: a negative is
  training text too), counted per eval set, each with its evidence;
- segments the first K negatives of each pair as passages are segmented (each distinct
  negative once: BM25 negatives repeat across questions), so their segments join the unique
  segments the one translation path translates through the cache.

mt_aug.negatives.judge rebuilds them per target language after the quality gate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mt_aug.decontamination.matcher import EvalIndex
from mt_aug.pairs import row_labels
from mt_aug.schema import NEGATIVE_DROP_STAGE, NEGATIVE_TYPE, SOURCE_LANG, Drop
from mt_aug.translation.segment import DEFAULT_MAX_WORDS, segment_text

STAGE = NEGATIVE_DROP_STAGE  # the `stage` of every drop of a negative (drops.jsonl); never a pair's or a view's
_SEGMENTS = pa.list_(pa.string())
_NEG_STRUCT = NEGATIVE_TYPE.value_type


def _flat(pairs: pa.Table) -> tuple[np.ndarray, list[str], list[str]]:
    """(offsets per pair row, every negative's title, every negative's text) of `hard_negatives`."""
    col = pairs.column("hard_negatives").combine_chunks()
    offsets = np.asarray(col.offsets, dtype=np.int64)
    values = col.values.slice(offsets[0], offsets[-1] - offsets[0]) if len(col) else col.values
    return offsets - offsets[0], values.field("title").to_pylist(), values.field("text").to_pylist()


def negatives_column(offsets: np.ndarray, titles: list[str], texts: list[str]) -> pa.Array:
    """A `hard_negatives` column (NEGATIVE_TYPE): row i holds the negatives offsets[i]:offsets[i+1]."""
    values = pa.StructArray.from_arrays([pa.array(titles, pa.string()), pa.array(texts, pa.string())],
                                        fields=list(_NEG_STRUCT))
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values, type=NEGATIVE_TYPE)


def negative_drops(pairs: pa.Table, rows: list[int], slots: list[int], reasons: list[str], lang: str,
                   details: list[dict[str, Any]]) -> list[Drop]:
    """One drop of stage `hard-negatives` per negative lost: its pair (row), its slot among the
    pair's negatives, the reason and the evidence."""
    sources, ids = row_labels(pairs, rows) if rows else ([], [])
    return [Drop(STAGE, source, rid, reason, lang=lang, detail={"negative": slot, **detail})
            for source, rid, slot, reason, detail in zip(sources, ids, slots, reasons, details, strict=True)]


# --- the English side: decontamination (every build) -----------------------------------------

def decontaminate_english(pairs: pa.Table, index: EvalIndex | None) -> tuple[pa.Table, list[Drop], dict[str, int]]:
    """`pairs` without the English negatives that overlap an English eval text (matched as
    passages are, each distinct text once); the drops (one per pair and negative) and the count
    per eval set."""
    if index is None or "hard_negatives" not in pairs.column_names or not pairs.num_rows:
        return pairs, [], {}
    offsets, titles, texts = _flat(pairs)
    distinct = list(dict.fromkeys(texts))
    hits = {t: m for t, m in zip(distinct, index.match_many(distinct, "passage"), strict=True) if m is not None}
    if not hits:
        return pairs, [], {}
    keep = np.fromiter((t not in hits for t in texts), dtype=bool, count=len(texts))
    row_of = np.repeat(np.arange(pairs.num_rows), np.diff(offsets))
    gone = np.flatnonzero(~keep)
    matches = [hits[texts[i]] for i in gone.tolist()]
    drops = negative_drops(pairs, row_of[gone].tolist(), (gone - offsets[row_of[gone]]).tolist(),
                           [f"contaminated:{m.eval_set}" for m in matches], SOURCE_LANG, [m.detail() for m in matches])
    kept_per_row = np.bincount(row_of[keep], minlength=pairs.num_rows)
    new_offsets = np.concatenate([[0], np.cumsum(kept_per_row)])
    col = negatives_column(new_offsets, [t for t, k in zip(titles, keep, strict=True) if k],
                           [t for t, k in zip(texts, keep, strict=True) if k])
    i = pairs.schema.get_field_index("hard_negatives")
    return pairs.set_column(i, pairs.schema.field(i), col), drops, dict(Counter(m.eval_set for m in matches))


# --- segmentation (the segment stage) ---------------------------------------------------------

@dataclass(frozen=True)
class SegmentedNegatives:
    """The first K negatives of every pair as segments: each distinct (title, text) once.

    Stored in a stage result as two Arrow tables (`to_output` / `from_output`): `distinct`
    (title, text, title_segments, text_segments) and `codes` (per pair row, its negatives'
    rows in `distinct`, in order)."""

    distinct: pa.Table
    codes: pa.ListArray

    @property
    def slots(self) -> int:
        """Negatives asked for: sum over pairs of min(K, the pair's negatives)."""
        return len(self.codes.values)

    def title_segments(self) -> list[list[str]]:
        return self.distinct.column("title_segments").to_pylist()  # type: ignore[no-any-return]

    def text_segments(self) -> list[list[str]]:
        return self.distinct.column("text_segments").to_pylist()  # type: ignore[no-any-return]

    def unique(self) -> set[str]:
        return {s for group in (self.title_segments(), self.text_segments()) for segs in group for s in segs}

    def occurrences(self) -> int:
        """Segments over all pairs (a negative shared by several pairs counted for each)."""
        per = (pc.list_value_length(self.distinct.column("title_segments")).to_numpy(zero_copy_only=False)
               + pc.list_value_length(self.distinct.column("text_segments")).to_numpy(zero_copy_only=False))
        codes = np.asarray(self.codes.values, dtype=np.int64)
        return int(per[codes].sum()) if len(codes) else 0

    def to_output(self) -> dict[str, pa.Table]:
        return {"distinct": self.distinct, "codes": pa.table({"codes": self.codes})}

    @classmethod
    def from_output(cls, value: Mapping[str, pa.Table] | None) -> SegmentedNegatives | None:
        if value is None:
            return None
        return cls(value["distinct"].combine_chunks(), value["codes"].column("codes").combine_chunks())


def segment_negatives(pairs: pa.Table, k: int, max_words: int = DEFAULT_MAX_WORDS,
                      cut: list[int] | None = None) -> SegmentedNegatives | None:
    """The first `k` negatives of each pair, segmented as passages are (titles one segment,
    texts split into sentences); None without negatives or with k = 0."""
    if k <= 0 or "hard_negatives" not in pairs.column_names:
        return None
    offsets, titles, texts = _flat(pairs)
    index: dict[tuple[str, str], int] = {}
    codes: list[int] = []
    lengths = np.minimum(np.diff(offsets), k)
    for start, n in zip(offsets[:-1].tolist(), lengths.tolist(), strict=True):
        for i in range(start, start + n):
            codes.append(index.setdefault((titles[i], texts[i]), len(index)))
    keys = list(index)
    title_segs = [list(segment_text(t, split=False, max_words=max_words, cut=cut).segments) for t, _ in keys]
    text_segs = [list(segment_text(x, split=True, max_words=max_words, cut=cut).segments) for _, x in keys]
    distinct = pa.table({"title": pa.array([t for t, _ in keys], pa.string()),
                         "text": pa.array([x for _, x in keys], pa.string()),
                         "title_segments": pa.array(title_segs, _SEGMENTS),
                         "text_segments": pa.array(text_segs, _SEGMENTS)})
    list_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return SegmentedNegatives(distinct, pa.ListArray.from_arrays(pa.array(list_offsets),
                                                                 pa.array(codes, pa.int32())))


__all__ = ["STAGE", "SegmentedNegatives", "decontaminate_english", "negative_drops", "negatives_column",
           "segment_negatives"]
