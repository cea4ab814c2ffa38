"""Segmentation over columns: the pairs table's questions, titles and passages as segments
(each distinct title and passage segmented once), and the texts tables (TEXTS_SCHEMA) that
hold a language's questions, titles and passages aligned with the pairs (built from the
translated segments that passed the gate by mt_aug.quality.reassemble).

Titles and passages stay dictionary-encoded from collect to the shards: a passage asked five
questions of is segmented, judged, joined and stored once per language."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mt_aug.schema import TEXT_DICT, TEXTS_SCHEMA
from mt_aug.translation.segment import DEFAULT_MAX_WORDS, segment_text

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


__all__ = ["TEXT_DICT", "Segmented", "english_texts", "null_rows", "segment_table", "texts_table"]
