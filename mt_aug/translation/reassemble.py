"""Between segmentation and views: the segments of every pair, and the translated pair texts
rebuilt from translated segments after quality filtering."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mt_aug.config import QualityConfig
from mt_aug.quality.gate import Gate, summary
from mt_aug.quality.verdict import Verdict
from mt_aug.schema import SOURCE_LANG, Drop, QAPair
from mt_aug.translation.base import Translation
from mt_aug.translation.segment import DEFAULT_MAX_WORDS, join_segments, segment_text


@dataclass(frozen=True, slots=True)
class PairSegments:
    question: tuple[str, ...]
    title: tuple[str, ...]
    passage: tuple[str, ...]

    def all(self) -> tuple[str, ...]:
        return self.question + self.title + self.passage


@dataclass(frozen=True, slots=True)
class PairText:
    """A pair's texts in one language."""

    question: str
    title: str
    passage: str


def segment_pairs(pairs: list[QAPair], max_words: int = DEFAULT_MAX_WORDS) -> dict[str, PairSegments]:
    """Segments per pair. Passages and titles are segmented once however many pairs share them."""
    passages: dict[str, tuple[str, ...]] = {}
    titles: dict[str, tuple[str, ...]] = {}
    out: dict[str, PairSegments] = {}
    for p in pairs:
        if p.passage not in passages:
            passages[p.passage] = segment_text(p.passage, split=True, max_words=max_words).segments
        if p.passage_title not in titles:
            titles[p.passage_title] = segment_text(p.passage_title, split=False, max_words=max_words).segments
        q = segment_text(p.question, split=False, max_words=max_words).segments
        out[p.pair_id] = PairSegments(q, titles[p.passage_title], passages[p.passage])
    return out


def unique_segments(segmented: dict[str, PairSegments]) -> list[str]:
    return sorted({s for ps in segmented.values() for s in ps.all()})


@dataclass
class Reassembled:
    texts: dict[str, PairText]  # pair_id -> texts in the language, for views that passed
    drops: list[Drop]  # views dropped in this language, with the reason
    filtered_segments: Counter[str] = field(default_factory=Counter)  # reason -> distinct segments
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # segment -> the gate's verdict
    quality: dict[str, Any] = field(default_factory=dict)  # the manifest's translation.<lang>.quality


def reassemble(
    pairs: list[QAPair],
    segmented: dict[str, PairSegments],
    translations: dict[str, Translation],
    lang: str,
    qcfg: QualityConfig,
    candidates: tuple[str, ...],
    *,
    verdicts: Mapping[str, Verdict] | None = None,
    src: str = SOURCE_LANG,
) -> Reassembled:
    """Rebuild every pair's question, title and passage in `lang`. A pair whose segments
    include one that failed the quality gate (or was not translated) loses its view in
    `lang`; the drop names the reason, the segment and the evidence.

    `verdicts`: the gate's verdicts per segment, when the caller judged already (e.g. with
    round-trip, `mt_aug.quality.judge_with_roundtrip`); segments without one are judged here
    without round-trip."""
    gate = Gate(qcfg, src, lang, candidates)
    judged: dict[str, Verdict] = dict(verdicts or {})
    every = {s for ps in segmented.values() for s in ps.all()}
    todo = sorted(s for s in every if s not in judged and s in translations)
    judged.update(zip(todo, gate.judge(todo, [translations[s] for s in todo]), strict=True))
    result = Reassembled({}, [])
    counted: set[str] = set()
    for p in pairs:
        ps = segmented[p.pair_id]
        bad: tuple[str, str] | None = None
        for seg in ps.all():
            reason = "missing translation" if seg not in translations else judged[seg].reason
            if reason is not None:
                if seg not in counted:
                    counted.add(seg)
                    result.filtered_segments[reason] += 1
                bad = (reason, seg)
                break
        if bad is not None:
            v = judged.get(bad[1])
            detail: dict[str, Any] = {"segment": bad[1][:200],
                                      "output": translations[bad[1]].text[:200] if bad[1] in translations else ""}
            if v is not None and v.evidence:
                detail["evidence"] = v.evidence
            if v is not None and v.chrf is not None:
                detail["chrf"] = v.chrf
            result.drops.append(Drop("quality", p.source, p.id, f"quality:{bad[0]}", lang=lang, detail=detail))
            continue
        result.texts[p.pair_id] = PairText(
            question=join_segments([translations[s].text for s in ps.question], lang),
            title=join_segments([translations[s].text for s in ps.title], lang),
            passage=join_segments([translations[s].text for s in ps.passage], lang),
        )
    used = sorted(s for s in every if s in judged and s in translations)
    result.verdicts = {s: judged[s] for s in used}
    result.quality = summary(used, [translations[s] for s in used], [judged[s] for s in used], gate)
    return result
