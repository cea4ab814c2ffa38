"""The corpus between translation and shards, in columns: one row per English pair, and per
language the pair's texts (null where the pair has no valid view in that language)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mt_aug.readers.collect import PairsBuilder
from mt_aug.schema import QAPair


@dataclass(frozen=True, slots=True)
class PairText:
    """A pair's texts in one language (the input of `corpus_from_pairs`)."""

    question: str
    title: str
    passage: str


@dataclass
class Corpus:
    languages: list[str]
    pairs: pa.Table  # pair_id, passage_id, source[, hard_negatives]; row i is pair i
    texts: dict[str, pa.Table]  # lang -> query, title, passage (null: no view in that language)
    passage_codes: np.ndarray  # int64 per pair: passage_id factorized (same passage -> same code)

    @property
    def n_pairs(self) -> int:
        return self.pairs.num_rows

    def available(self) -> np.ndarray:
        """bool[n_pairs, n_languages]: where the pair has a valid view."""
        cols = [np.asarray(self.texts[lang].column("query").is_valid()) for lang in self.languages]
        return np.stack(cols, axis=1) if cols else np.zeros((self.n_pairs, 0), dtype=bool)

    @property
    def has_negatives(self) -> bool:
        return "hard_negatives" in self.pairs.column_names

    @property
    def translated_negatives(self) -> bool:
        """Every language's texts carry the pairs' hard negatives in it (hard_negatives.translate > 0)."""
        return self.has_negatives and all("hard_negatives" in t.column_names for t in self.texts.values())

    def source_codes(self) -> tuple[np.ndarray, list[str]]:
        """(each pair's source as an index into the names, the source names sorted)."""
        col = self.pairs.column("source").combine_chunks().dictionary_encode()
        names = col.dictionary.to_pylist()
        order = np.argsort(np.asarray(names, dtype=object), kind="stable") if names else np.zeros(0, np.int64)
        rank = np.empty(len(names), np.int64)
        rank[order] = np.arange(len(names))
        return rank[np.asarray(col.indices, dtype=np.int64)], [names[i] for i in order]


def corpus_from_pairs(pairs: list[QAPair], texts: dict[str, dict[str, PairText]], languages: list[str]) -> Corpus:
    """The corpus from QAPairs and per-language texts by pair_id (tests and small inputs; the
    pipeline passes tables to `corpus_from_tables`)."""
    b = PairsBuilder()
    for p in pairs:
        b.add(p)
    table = b.finish()
    tables = {}
    for lang in languages:
        got = texts.get(lang, {})
        rows = [got.get(p.pair_id) for p in pairs]
        tables[lang] = pa.table({
            "query": pa.array([r.question if r else None for r in rows], pa.string()),
            "title": pa.array([r.title if r else None for r in rows], pa.string()),
            "passage": pa.array([r.passage if r else None for r in rows], pa.string()),
        })
    return corpus_from_tables(table, tables, languages)


def corpus_from_tables(pairs: pa.Table, texts: dict[str, pa.Table], languages: list[str]) -> Corpus:
    """The corpus from the pipeline's columns: a pairs table (PAIRS_SCHEMA) and per language a
    texts table (TEXTS_SCHEMA) aligned with it. Rows are put in the canonical order (sorted by
    pair_id), so nothing downstream depends on the order sources or translations arrived in."""
    order = pc.sort_indices(pairs.column("pair_id"))
    keep = ["pair_id", "passage_id", "source"] + (["hard_negatives"] if "hard_negatives" in pairs.column_names else [])
    table = pairs.select(keep).take(order)
    table = pa.table({k: table.column(k).combine_chunks() for k in keep})
    codes = np.asarray(table.column("passage_id").dictionary_encode().combine_chunks().indices, dtype=np.int64)
    by_lang = {}
    for lang in languages:
        tl = texts[lang].take(order)
        cols = ["query", "title", "passage"] + (["hard_negatives"] if "hard_negatives" in tl.column_names else [])
        by_lang[lang] = pa.table({k: tl.column(k) for k in cols})
    return Corpus(list(languages), table, by_lang, codes)
