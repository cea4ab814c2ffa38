"""Between segmentation and views: the segments of every pair, and the translated pair texts
rebuilt from translated segments after quality filtering."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mt_aug.quality import filters as quality
from mt_aug.config import QualityConfig
from mt_aug.schema import Drop, QAPair
from mt_aug.translation.segment import DEFAULT_MAX_WORDS, join_segments, segment_text
from mt_aug.translation.base import Translation


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


def reassemble(
    pairs: list[QAPair],
    segmented: dict[str, PairSegments],
    translations: dict[str, Translation],
    lang: str,
    qcfg: QualityConfig,
    candidates: tuple[str, ...],
) -> Reassembled:
    """Rebuild every pair's question, title and passage in `lang`. A pair whose segments
    include one that failed a quality filter (or was not translated) loses its view in
    `lang`; the drop names the reason and the segment."""
    verdicts: dict[str, str | None] = {}
    result = Reassembled({}, [])
    for p in pairs:
        ps = segmented[p.pair_id]
        bad: tuple[str, str] | None = None
        for seg in ps.all():
            if seg not in verdicts:
                out = translations.get(seg)
                verdicts[seg] = "untranslated" if out is None else quality.check(seg, out, lang, qcfg, candidates)
                if verdicts[seg] is not None:
                    result.filtered_segments[str(verdicts[seg])] += 1
            if verdicts[seg] is not None:
                bad = (str(verdicts[seg]), seg)
                break
        if bad is not None:
            result.drops.append(
                Drop("quality", p.source, p.id, f"quality:{bad[0]}", lang=lang,
                     detail={"segment": bad[1][:200], "output": translations[bad[1]].text[:200] if bad[1] in translations else ""})
            )
            continue
        result.texts[p.pair_id] = PairText(
            question=join_segments([translations[s].text for s in ps.question], lang),
            title=join_segments([translations[s].text for s in ps.title], lang),
            passage=join_segments([translations[s].text for s in ps.passage], lang),
        )
    return result
