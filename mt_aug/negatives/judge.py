"""Hard negatives in one target language (the quality-<lang> stage, `hard_negatives:
{translate: K}`): each negative rebuilt from its translated segments where every one passed the
quality gate, the translations that overlap the language's eval texts removed, and each pair
given the list of its negatives kept in that language, in order.

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

from mt_aug.decontamination.matcher import EvalIndex, Match
from mt_aug.negatives.english import SegmentedNegatives, negative_drops, negatives_column
from mt_aug.quality.reassemble import MISSING, _first_bad
from mt_aug.quality.verdict import Verdict
from mt_aug.schema import Drop
from mt_aug.translation.base import Translation
from mt_aug.translation.segment import join_segments


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
    drops = negative_drops(pairs, row_of[gone].tolist(), (gone - offsets[row_of[gone]]).tolist(),
                           [w[0] for w in lost if w], lang, [w[1] for w in lost if w])
    kept_codes = codes[keep]
    kept_per_row = np.bincount(row_of[keep], minlength=len(offsets) - 1)
    new_offsets = np.concatenate([[0], np.cumsum(kept_per_row)])
    column = negatives_column(new_offsets, [out_title[c] for c in kept_codes.tolist()],
                              [out_text[c] for c in kept_codes.tolist()])
    dropped = Counter(d.reason for d in drops)
    stats = {"asked": len(codes), "kept": int(keep.sum()), "dropped": dict(sorted(dropped.items()))}
    return LanguageNegatives(column, drops, stats)


__all__ = ["MISSING", "LanguageNegatives", "translate_negatives"]
