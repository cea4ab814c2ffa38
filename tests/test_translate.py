from __future__ import annotations

from pathlib import Path

from mt_aug.config import ModelSpec, QualityConfig
from mt_aug.quality.filters import check, repeat_fraction
from mt_aug.translation.segment import join_segments, split_sentences
from mt_aug.translation.base import Translation
from mt_aug.translation.bergamot import BergamotBackend
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import translate_unique


def test_sentence_splitter_knows_abbreviations_decimals_quotes() -> None:
    text = ('Dr. Smith paid $3.50 for the U.S. edition in 1998. He said "It is fine." '
            "Then he left at 3 p.m. on Jan. 5. The end.")
    assert split_sentences(text) == [
        "Dr. Smith paid $3.50 for the U.S. edition in 1998.",
        'He said "It is fine."',
        "Then he left at 3 p.m. on Jan. 5.",
        "The end.",
    ]


def test_long_sentence_split_not_truncated() -> None:
    words = [f"word{i}" for i in range(250)]
    sentence = " ".join(words[:120]) + ", " + " ".join(words[120:]) + "."
    segs = split_sentences(sentence, max_words=80)
    assert all(len(s.split()) <= 80 for s in segs)
    assert " ".join(segs).replace(",", "").replace(".", "").split() == words


def test_join_segments_by_script() -> None:
    assert join_segments(["A.", "B."], "pt") == "A. B."
    assert join_segments(["甲。", "乙。"], "zh") == "甲。乙。"


def test_bergamot_translates_real_portuguese() -> None:
    b = BergamotBackend("en", "pt", threads=2)
    try:
        out = b.translate(["The children were playing happily in the garden.", "The river flows into the sea."],
                          "en", "pt")
    finally:
        b.close()
    assert "crianças" in out[0].text and "jardim" in out[0].text and "no jardim" in out[0].text
    assert "rio" in out[1].text and "mar" in out[1].text
    assert not any(o.hit_length_limit for o in out)


def test_long_passage_comes_back_whole(tmp_path: Path) -> None:
    """A 600-word passage, split into sentences, every sentence translated."""
    sentences = [f"The committee met in the city hall on day {i} to discuss the new bridge over the river."
                 for i in range(1, 37)]
    passage = " ".join(sentences)
    assert len(passage.split()) >= 600
    segs = split_sentences(passage)
    assert len(segs) == 36
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        out, _ = translate_unique(segs, spec=ModelSpec(), src="en", tgt="pt", cache=cache)
    pt = join_segments([out[s].text for s in segs], "pt")
    for i in (1, 18, 36):
        assert str(i) in pt
    assert pt.count("ponte") == 36


def test_cache_hits_and_misses_across_runs(tmp_path: Path) -> None:
    segs = ["The cat sleeps.", "The dog runs.", "The cat sleeps."]
    spec = ModelSpec(batch_size=2)
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        first, s1 = translate_unique(segs, spec=spec, src="en", tgt="pt", cache=cache)
    assert (s1.unique, s1.cached, s1.translated) == (2, 0, 2)
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        calls = []

        def never():  # type: ignore[no-untyped-def]
            calls.append(1)
            raise AssertionError("no model needed")

        second, s2 = translate_unique(segs, spec=spec, src="en", tgt="pt", cache=cache, backend_factory=never)
        assert (s2.cached, s2.translated, s2.model_calls) == (2, 0, 0) and not calls
        assert second == first
        _, s3 = translate_unique(segs + ["A new sentence."], spec=spec, src="en", tgt="pt", cache=cache)
        assert (s3.cached, s3.translated) == (2, 1)
        # other decoding parameters are another cache entry
        _, s4 = translate_unique(segs, spec=ModelSpec(beam_size=2), src="en", tgt="pt", cache=cache)
        assert s4.translated == 2


Q = QualityConfig()
C = ("en", "pt")


def test_quality_filters_fire_on_crafted_cases() -> None:
    src = "The committee met in the city hall to discuss the new bridge."
    good = Translation("O comitê se reuniu na prefeitura para discutir a nova ponte.")
    assert check(src, good, "pt", Q, C) is None
    assert check(src, Translation("  "), "pt", Q, C) == "empty output"
    assert check(src, Translation(good.text, hit_length_limit=True), "pt", Q, C) == "hit length limit"
    assert check(src, Translation("a ponte " * 20), "pt", Q, C) == "degenerate repetition"
    assert check(src, Translation("Ponte."), "pt", Q, C) == "length ratio"
    assert check(src, Translation(src), "pt", Q, C) == "untranslated"
    # short text with names is ambiguous: not dropped
    assert check("Which river reaches the sea at Port Hallam?",
                 Translation("Qual rio atinge o mar em Port Hallam?"), "pt", Q, C) is None


def test_repeat_fraction() -> None:
    assert repeat_fraction("one two three four five six seven eight nine", "en") == 0.0
    assert repeat_fraction("la la la la la la la la la la", "en") > 0.5
