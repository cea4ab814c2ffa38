"""The dev pairs in one language, after the same quality gate and target-side decontamination
as the training pairs: which questions, titles and passages survive, as sentences."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from mt_aug.quality.reassemble import reassemble_table
from mt_aug.quality.verdict import Verdict
from mt_aug.schema import Drop
from mt_aug.translation.base import Translation
from mt_aug.translation.segment import join_segments
from mt_aug.translation.texts import Segmented

DEV_STAGE_PREFIX = "dev-"  # a dev view drop's stage: dev-quality, dev-target-decontaminate


@dataclass
class DevLanguage:
    """One language's dev texts. Per dev pair row: its question (None: dropped in this language);
    per distinct title / passage (the segmented codes): its text / sentences (None: failed)."""

    lang: str
    questions: list[str | None]
    titles: list[str | None]
    passages: list[tuple[str, ...] | None]
    drops: list[Drop]  # one per dev question lost in this language, with the reason and evidence


def english(pairs: pa.Table, segmented: Segmented) -> DevLanguage:
    """The English side: the questions and titles as read, the passages as the build's sentences."""
    return DevLanguage("en", pairs.column("question").to_pylist(),
                       pairs.column("passage_title").combine_chunks().dictionary.to_pylist(),
                       [tuple(p) for p in segmented.passages], [])


# The target-side decontamination of a texts table aligned with the pairs: (rows to drop, their
# drops); mt_aug.decontamination.apply.contaminated against the language's eval index.
Decontaminate = Callable[[pa.Table], tuple[np.ndarray, list[Drop]]]


def judge_dev(lang: str, pairs: pa.Table, segmented: Segmented, translations: Mapping[str, Translation],
              verdicts: Mapping[str, Verdict], decontaminate: Decontaminate) -> DevLanguage:
    """The dev pairs in `lang` from the translations and the gate's verdicts of their segments
    (judged with the training segments), then target-side decontamination (a passage that
    matches an eval text is lost with every question of it). Drops are staged `dev-quality` /
    `dev-target-decontaminate`, never counted as training views."""
    segs = sorted({s for group in (segmented.questions, segmented.titles, segmented.passages)
                   for segs in group for s in segs})
    re = reassemble_table(pairs, segmented, segs, translations, verdicts, lang)

    def ok(parts: tuple[str, ...]) -> bool:
        return all(s in translations and verdicts[s].reason is None for s in parts)

    titles = [join_segments([translations[s].text for s in t], lang) if ok(t) else None for t in segmented.titles]
    passages = [tuple(translations[s].text for s in p) if ok(p) else None for p in segmented.passages]
    drop, tdrops = decontaminate(re.texts)
    kept = np.asarray(re.texts.column("query").is_valid(), dtype=bool) & ~drop
    questions = [q if k else None for q, k in zip(re.texts.column("query").to_pylist(), kept.tolist(), strict=True)]
    codes = segmented.passage_codes.tolist()
    for row, d in zip(np.flatnonzero(drop).tolist(), tdrops, strict=True):
        if d.detail.get("field") == "passage":
            passages[codes[row]] = None
    drops = [dataclasses.replace(d, stage=DEV_STAGE_PREFIX + d.stage) for d in [*re.drops, *tdrops]]
    return DevLanguage(lang, questions, titles, passages, drops)
