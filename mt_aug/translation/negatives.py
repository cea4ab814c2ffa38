"""Hard negatives through the translation path (`hard_negatives: {translate: K}`).

DPR-format sources carry BM25 hard negatives per pair, English (title, text) passages in the
pairs table's `hard_negatives` column. This module

- removes English negatives that overlap an English eval text (every build: a negative is
  training text too), counted per eval set, each with its evidence;
- segments the first K negatives of each pair as passages are segmented (each distinct
  negative once: BM25 negatives repeat across questions), so their segments join the unique
  segments the one translation path translates through the cache;
- per target language, rebuilds each negative from its translated segments where every one
  passed the quality gate, removes the translations that overlap the language's eval texts,
  and gives each pair the list of its negatives kept in that language, in order.

A negative that fails is dropped from that language (counted per reason, with a drop record
of stage `hard-negatives`), never the pair or its view.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mt_aug.decontamination.matcher import EvalIndex, Match
from mt_aug.quality.verdict import Verdict
from mt_aug.readers.collect import row_labels
from mt_aug.schema import NEGATIVE_DROP_STAGE, NEGATIVE_TYPE, SOURCE_LANG, Drop
from mt_aug.translation.base import Translation
from mt_aug.translation.segment import DEFAULT_MAX_WORDS, join_segments, segment_text
from mt_aug.translation.texts import MISSING, _first_bad

STAGE = NEGATIVE_DROP_STAGE  # the `stage` of every drop of a negative (drops.jsonl); never a pair's or a view's
_SEGMENTS = pa.list_(pa.string())
_NEG_STRUCT = NEGATIVE_TYPE.value_type


def _flat(pairs: pa.Table) -> tuple[np.ndarray, list[str], list[str]]:
    """(offsets per pair row, every negative's title, every negative's text) of `hard_negatives`."""
    col = pairs.column("hard_negatives").combine_chunks()
    offsets = np.asarray(col.offsets, dtype=np.int64)
    values = col.values.slice(offsets[0], offsets[-1] - offsets[0]) if len(col) else col.values
    return offsets - offsets[0], values.field("title").to_pylist(), values.field("text").to_pylist()


def _negatives_column(offsets: np.ndarray, titles: list[str], texts: list[str]) -> pa.Array:
    values = pa.StructArray.from_arrays([pa.array(titles, pa.string()), pa.array(texts, pa.string())],
                                        fields=list(_NEG_STRUCT))
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values, type=NEGATIVE_TYPE)


def _drop(pairs: pa.Table, rows: list[int], slots: list[int], reasons: list[str], lang: str,
          details: list[dict[str, Any]]) -> list[Drop]:
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
    drops = _drop(pairs, row_of[gone].tolist(), (gone - offsets[row_of[gone]]).tolist(),
                  [f"contaminated:{m.eval_set}" for m in matches], SOURCE_LANG, [m.detail() for m in matches])
    kept_per_row = np.bincount(row_of[keep], minlength=pairs.num_rows)
    new_offsets = np.concatenate([[0], np.cumsum(kept_per_row)])
    col = _negatives_column(new_offsets, [t for t, k in zip(titles, keep, strict=True) if k],
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


# --- a target language (the quality-<lang> stage) ---------------------------------------------

@dataclass
class LanguageNegatives:
    column: pa.Array  # hard_negatives per pair row, in the language (NEGATIVE_TYPE)
    drops: list[Drop]
    stats: dict[str, Any]  # asked, kept, dropped {reason: n}


def translate_negatives(neg: SegmentedNegatives, pairs: pa.Table, translations: Mapping[str, Translation],
                        verdicts: Mapping[str, Verdict], lang: str, index: EvalIndex | None) -> LanguageNegatives:
    """Each pair's negatives in `lang`: a negative is kept where every segment of its title and
    text was translated and passed the gate, and its translated text overlaps no eval text of
    the language; the others are dropped from this language, counted by reason."""
    reasons: dict[str, str | None] = {}
    for s in neg.unique():
        reasons[s] = MISSING if s not in translations else verdicts[s].reason
    n = neg.distinct.num_rows
    out_title: list[str] = [""] * n
    out_text: list[str] = [""] * n
    why: list[tuple[str, dict[str, Any]] | None] = [None] * n
    for i, (tsegs, xsegs) in enumerate(zip(neg.title_segments(), neg.text_segments(), strict=True)):
        bad = _first_bad(tuple(tsegs), reasons) or _first_bad(tuple(xsegs), reasons)
        if bad is not None:
            reason, seg = bad
            detail: dict[str, Any] = {"segment": seg[:200],
                                      "output": translations[seg].text[:200] if seg in translations else ""}
            v = verdicts.get(seg)
            if v is not None and v.evidence:
                detail["evidence"] = v.evidence
            why[i] = (f"quality:{reason}", detail)
            continue
        out_title[i] = join_segments([translations[s].text for s in tsegs], lang)
        out_text[i] = join_segments([translations[s].text for s in xsegs], lang)
    if index is not None:
        ok = [i for i in range(n) if why[i] is None]
        matches: list[Match | None] = index.match_many([out_text[i] for i in ok], "passage") if ok else []
        for i, m in zip(ok, matches, strict=True):
            if m is not None:
                why[i] = (f"contaminated:{m.eval_set}", m.detail())
    codes = np.asarray(neg.codes.values, dtype=np.int64)
    offsets = np.asarray(neg.codes.offsets, dtype=np.int64)
    keep = np.fromiter((why[c] is None for c in codes.tolist()), dtype=bool, count=len(codes))
    row_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    gone = np.flatnonzero(~keep)
    lost = [why[c] for c in codes[gone].tolist()]
    drops = _drop(pairs, row_of[gone].tolist(), (gone - offsets[row_of[gone]]).tolist(),
                  [w[0] for w in lost if w], lang, [w[1] for w in lost if w])
    kept_codes = codes[keep]
    kept_per_row = np.bincount(row_of[keep], minlength=len(offsets) - 1)
    new_offsets = np.concatenate([[0], np.cumsum(kept_per_row)])
    column = _negatives_column(new_offsets, [out_title[c] for c in kept_codes.tolist()],
                               [out_text[c] for c in kept_codes.tolist()])
    dropped = Counter(d.reason for d in drops)
    stats = {"asked": len(codes), "kept": int(keep.sum()), "dropped": dict(sorted(dropped.items()))}
    return LanguageNegatives(column, drops, stats)


__all__ = ["MISSING", "STAGE", "LanguageNegatives", "SegmentedNegatives", "decontaminate_english",
           "segment_negatives", "translate_negatives"]
