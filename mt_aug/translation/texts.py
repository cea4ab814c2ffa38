"""Segmentation and reassembly over columns: the pairs table's questions, titles and passages
as segments (each distinct title and passage segmented once), and per target language the
translated texts rebuilt from translated segments that passed the quality gate.

Titles and passages stay dictionary-encoded from collect to the shards: a passage asked five
questions of is segmented, judged, joined and stored once per language."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mt_aug.quality.verdict import Verdict
from mt_aug.readers.collect import row_labels
from mt_aug.schema import TEXT_DICT, TEXTS_SCHEMA, Drop
from mt_aug.translation.base import Translation
from mt_aug.translation.segment import DEFAULT_MAX_WORDS, join_segments, segment_text

MISSING = "missing translation"


def compact(table: pa.Table, columns: tuple[str, ...] = ("passage_title", "passage")) -> pa.Table:
    """Re-encode dictionary columns so their dictionaries hold only values some row uses (after
    a filter), keeping the values' order."""
    for name in columns:
        arr = table.column(name).combine_chunks()
        codes = np.asarray(arr.indices, dtype=np.int64)
        used = np.unique(codes)
        if len(used) == len(arr.dictionary):
            continue
        remapped = pa.array(np.searchsorted(used, codes).astype(np.int32), pa.int32())
        new = pa.DictionaryArray.from_arrays(remapped, arr.dictionary.take(pa.array(used)))
        table = table.set_column(table.schema.get_field_index(name), table.schema.field(name), new)
    return table


def codes_and_values(col: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    arr = col.combine_chunks()
    return np.asarray(arr.indices, dtype=np.int64), arr.dictionary.to_pylist()


@dataclass
class Segmented:
    """The segments of every text of a (compacted) pairs table."""

    questions: list[tuple[str, ...]]  # per pair row
    titles: list[tuple[str, ...]]  # per distinct title (the title dictionary's order)
    passages: list[tuple[str, ...]]  # per distinct passage
    title_codes: np.ndarray  # per pair row
    passage_codes: np.ndarray
    words_cut: int = 0  # words longer than segment.MAX_WORD_CHARS, cut into pieces (each distinct text once)

    def unique(self) -> list[str]:
        """Every distinct segment, sorted (the order translation units are cut from)."""
        return sorted({s for group in (self.questions, self.titles, self.passages) for segs in group for s in segs})

    def occurrences(self) -> int:
        """Segments over all pairs, counting shared titles and passages once per pair."""
        t = np.fromiter((len(s) for s in self.titles), dtype=np.int64, count=len(self.titles))
        p = np.fromiter((len(s) for s in self.passages), dtype=np.int64, count=len(self.passages))
        return int(sum(len(q) for q in self.questions) + t[self.title_codes].sum() + p[self.passage_codes].sum())


def segment_table(pairs: pa.Table, max_words: int = DEFAULT_MAX_WORDS) -> Segmented:
    """Passages are split into sentences, questions and titles are one segment unless too long."""
    tcodes, titles = codes_and_values(pairs.column("passage_title"))
    pcodes, passages = codes_and_values(pairs.column("passage"))
    cut = [0]
    return Segmented(
        questions=[segment_text(q, split=False, max_words=max_words, cut=cut).segments
                   for q in pairs.column("question").to_pylist()],
        titles=[segment_text(t, split=False, max_words=max_words, cut=cut).segments for t in titles],
        passages=[segment_text(p, split=True, max_words=max_words, cut=cut).segments for p in passages],
        title_codes=tcodes,
        passage_codes=pcodes,
        words_cut=cut[0],
    )


@dataclass
class Reassembled:
    texts: pa.Table  # TEXTS_SCHEMA, row i for pair row i; null where the view was dropped
    drops: list[Drop]  # views dropped in this language, with the reason
    filtered_segments: Counter[str] = field(default_factory=Counter)  # reason -> distinct segments

    @property
    def views(self) -> int:
        return self.texts.num_rows - self.texts.column("query").null_count


def _first_bad(segs: tuple[str, ...], reasons: Mapping[str, str | None]) -> tuple[str, str] | None:
    for s in segs:
        r = reasons[s]
        if r is not None:
            return r, s
    return None


def reassemble_table(
    pairs: pa.Table,
    segmented: Segmented,
    unique: Sequence[str],
    translations: Mapping[str, Translation],
    verdicts: Mapping[str, Verdict],
    lang: str,
) -> Reassembled:
    """Rebuild every pair's question, title and passage in `lang`. A pair with a segment that
    failed the gate (or has no translation) loses its view in `lang`; the drop names the
    reason (of its first bad segment: question, then title, then passage), the segment and
    the evidence. `unique`: the segmented texts' distinct segments (`Segmented.unique()`)."""
    reasons: dict[str, str | None] = {}
    filtered: Counter[str] = Counter()
    for s in unique:
        r = MISSING if s not in translations else verdicts[s].reason
        reasons[s] = r
        if r is not None:
            filtered[r] += 1

    def build(group: list[tuple[str, ...]]) -> tuple[list[str], list[tuple[str, str] | None]]:
        texts, bad = [], []
        for segs in group:
            b = _first_bad(segs, reasons)
            bad.append(b)
            texts.append("" if b else join_segments([translations[s].text for s in segs], lang))
        return texts, bad

    title_text, title_bad = build(segmented.titles)
    passage_text, passage_bad = build(segmented.passages)
    question_text, question_bad = build(segmented.questions)
    keep = np.ones(pairs.num_rows, dtype=bool)
    bad_rows: list[tuple[int, tuple[str, str]]] = []
    for i, (tcode, pcode) in enumerate(zip(segmented.title_codes.tolist(), segmented.passage_codes.tolist(),
                                            strict=True)):
        bad = question_bad[i] or title_bad[tcode] or passage_bad[pcode]
        if bad is not None:
            keep[i] = False
            bad_rows.append((i, bad))
    drops: list[Drop] = []
    for (i, (reason, seg)), source, rid in zip(bad_rows, *row_labels(pairs, [i for i, _ in bad_rows]), strict=True):
        v = verdicts.get(seg)
        detail: dict[str, Any] = {"segment": seg[:200],
                                  "output": translations[seg].text[:200] if seg in translations else ""}
        if v is not None and v.evidence:
            detail["evidence"] = v.evidence
        if v is not None and v.chrf is not None:
            detail["chrf"] = v.chrf
        drops.append(Drop("quality", source, rid, f"quality:{reason}", lang=lang, detail=detail))
    return Reassembled(texts_table(question_text, title_text, passage_text, segmented, keep), drops, filtered)


def texts_table(questions: list[str], titles: list[str], passages: list[str], segmented: Segmented,
                keep: np.ndarray) -> pa.Table:
    """A TEXTS_SCHEMA table: questions per row, titles and passages per distinct value (indexed
    by the segmented texts' codes); rows where `keep` is False are null."""
    mask = ~keep

    def dict_col(codes: np.ndarray, values: list[str]) -> pa.DictionaryArray:
        idx = pa.array(codes.astype(np.int32), pa.int32(), mask=mask)
        return pa.DictionaryArray.from_arrays(idx, pa.array(values, pa.string()))

    q = _null_where(pa.array(questions, pa.string()), mask)
    return pa.table({"query": q, "title": dict_col(segmented.title_codes, titles),
                     "passage": dict_col(segmented.passage_codes, passages)}, schema=TEXTS_SCHEMA)


def english_texts(pairs: pa.Table) -> pa.Table:
    """The English side: the pairs' own question, title and passage."""
    return pa.table({"query": pairs.column("question"), "title": pairs.column("passage_title"),
                     "passage": pairs.column("passage")}, schema=TEXTS_SCHEMA)


def null_rows(texts: pa.Table, drop: np.ndarray) -> pa.Table:
    """`texts` with the rows where `drop` is True set to null (a view removed)."""
    if not drop.any():
        return texts
    cols = {name: _null_where(texts.column(name).combine_chunks(), drop) for name in TEXTS_SCHEMA.names}
    return pa.table(cols, schema=TEXTS_SCHEMA)


def _null_where(arr: pa.Array, drop: np.ndarray) -> pa.Array:
    """`arr` with the rows where `drop` is True null (strings or dictionary-encoded strings)."""
    if pa.types.is_dictionary(arr.type):
        valid = np.asarray(arr.is_valid(), dtype=bool) & ~drop
        idx = np.asarray(arr.indices.fill_null(0), dtype=np.int32)
        return pa.DictionaryArray.from_arrays(pa.array(idx, pa.int32(), mask=~valid), arr.dictionary)
    return pc.if_else(pa.array(drop), pa.scalar(None, arr.type), arr)


__all__ = ["TEXT_DICT", "Reassembled", "Segmented", "compact", "english_texts", "null_rows", "reassemble_table",
           "segment_table", "texts_table"]
