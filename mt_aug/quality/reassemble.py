"""Reassembly after the gate: per target language, each pair's question, title and passage
rebuilt from its translated segments (mt_aug.translation.texts), and the view of a pair with
a segment the quality gate dropped (or that has no translation) removed, with a drop that
names the reason, the segment and the evidence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from mt_aug.pairs import row_labels
from mt_aug.quality.verdict import Verdict
from mt_aug.schema import Drop
from mt_aug.translation.base import Translation
from mt_aug.translation.segment import join_segments
from mt_aug.translation.texts import Segmented, texts_table

MISSING = "missing translation"


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
