"""The word-lost signal (gate 5): a rare content word of the source with no translation in the
output by the model's own bilingual lexicon (the lexical shortlist Bergamot models ship).
Outputs are real Bergamot en->pt output of sentences written for these tests, stored, except
where a test says the output is hand-made."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mt_aug.config import ModelSpec, QualityConfig
from mt_aug.quality import Gate, judge_with_roundtrip
from mt_aug.quality.lexicon import Lexicon, LexiconError, folder_lexicon
from mt_aug.quality.lexicon import model_lexicon as spec_lexicon
from mt_aug.translation import bergamot
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import Translator

# Bergamot en->pt, stored
KEEPER = ("The lighthouse keeper wrote a diary about storms.", "O farol escreveu um diário sobre tempestades.")
GOOD = [
    ("The beekeeper sold honey at the harbour market.", "O apicultor vendeu mel no mercado portuário."),
    ("Why did the parents choose home schooling for their children?",
     "Por que os pais escolheram a escola em casa para seus filhos?"),
    ("How many thylakoids are in each granum?", "Quantos tilakoids estão em cada granum?"),  # copied, adapted
    ("The farmers take their cattle to the valley in spring.", "Os agricultores levam seu gado ao vale na primavera."),
]


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    lex = spec_lexicon(ModelSpec(), "en", "pt")
    assert lex is not None
    return lex


def test_the_bundled_model_ships_a_lexicon_read_from_its_shortlist(lexicon: Lexicon) -> None:
    assert lexicon.path.parent == bergamot.model_dir("en", "pt") and lexicon.best == 50
    assert lexicon.candidates("beekeeper") and lexicon.candidates("Warsaw")


def test_a_word_the_model_dropped_is_lost_and_good_translations_keep_theirs(lexicon: Lexicon) -> None:
    """"lighthouse keeper" -> "farol" (the lighthouse wrote the diary): the keeper is gone."""
    assert lexicon.lost_words(*KEEPER, "en", 4.5) == ["keeper"]
    for src, out in GOOD:
        assert lexicon.lost_words(src, out, "en", 4.5) == [], src
    # hand-made: the honey removed
    assert lexicon.lost_words(GOOD[0][0], "O apicultor vendeu no mercado portuário.", "en", 4.5) == ["honey"]
    # common words (Zipf above the limit: "take", "spring") are not checked; rarer ones are
    farmers = GOOD[3][0]
    assert lexicon.lost_words(farmers, "Os agricultores vão ao vale.", "en", 4.5) == ["cattle"]  # hand-made
    assert lexicon.lost_words(farmers, "Os agricultores vão ao vale.", "en", 8.0) == ["take", "cattle", "spring"]


def test_the_gate_drops_with_evidence_keys_verdicts_and_can_be_switched_off(lexicon: Lexicon) -> None:
    q = QualityConfig().updated(langid={"enabled": False}, coverage={"max_zipf": 4.5})
    gate = Gate(q, "en", "pt", ("en", "pt"), lexicon=lexicon)
    v = gate.judge([KEEPER[0]], [Translation(KEEPER[1])])[0]
    assert v.reason == "word lost" and "keeper" in v.evidence
    # the default checks rarer words only (Zipf 3.5: "keeper" is 4.0, "beekeeper" 2.5)
    default = Gate(QualityConfig().updated(langid={"enabled": False}), "en", "pt", ("en", "pt"), lexicon=lexicon)
    assert default.judge([KEEPER[0]], [Translation(KEEPER[1])])[0].reason is None
    assert "word lost" in default.judge([GOOD[0][0]], [Translation("O vendedor vendeu mel no porto.")])[0].failed  # hand-made
    assert [x.reason for x in gate.judge([s for s, _ in GOOD], [Translation(o) for _, o in GOOD])] == [None] * 4
    assert Gate(q, "en", "pt", ("en", "pt")).judge([KEEPER[0]], [Translation(KEEPER[1])])[0].reason is None
    off = Gate(q.updated(coverage={"enabled": False}), "en", "pt", ("en", "pt"), lexicon=lexicon)
    assert off.judge([KEEPER[0]], [Translation(KEEPER[1])])[0].reason is None  # the lexicon still serves added content
    both = Gate(q.updated(coverage={"enabled": False}, added_content={"enabled": False}), "en", "pt", ("en", "pt"),
                lexicon=lexicon)
    assert both.lexicon is None
    # with and without the lexicon the verdicts differ, so their cache key does too
    assert gate.settings_hash != Gate(q, "en", "pt", ("en", "pt")).settings_hash


def test_judge_with_roundtrip_takes_the_lexicon_from_the_model(tmp_path: Path) -> None:
    with TranslationCache(tmp_path / "translations.sqlite") as cache:
        q = QualityConfig().updated(langid={"enabled": False}, coverage={"max_zipf": 4.5})
        vs, st = judge_with_roundtrip(Gate(q, "en", "pt", ("en", "pt")), [KEEPER[0]], [Translation(KEEPER[1])],
                                      spec=ModelSpec(), translate=Translator(cache))
    assert vs[0].reason == "word lost" and st.notes == []


def test_models_without_a_lexicon_say_so(tmp_path: Path) -> None:
    """A transformers model id or folder without a shortlist has no lexicon: the signal does not
    run, and the gate's stats say why (the manifest's quality notes)."""
    spec = ModelSpec(backend="transformers", model=str(tmp_path))
    assert spec_lexicon(spec, "en", "pt") is None and folder_lexicon(tmp_path) is None
    assert spec_lexicon(ModelSpec(backend="transformers", model="Helsinki-NLP/opus-mt-en-de"), "en", "de") is None
    q = QualityConfig().updated(langid={"enabled": False}, entities={"translate": False})
    with TranslationCache(tmp_path / "translations.sqlite") as cache:
        vs, st = judge_with_roundtrip(Gate(q, "en", "pt", ("en", "pt")), [KEEPER[0]], [Translation(KEEPER[1])],
                                      spec=spec, translate=Translator(cache))
    assert vs[0].reason is None
    # one note per signal that needs the lexicon, in the gate's order
    assert [n.split(":")[0] for n in st.notes] == ["added content", "word lost"]
    assert all("ships no bilingual lexicon" in n and n.endswith("the signal did not run") for n in st.notes)


def test_a_broken_shortlist_is_named(tmp_path: Path) -> None:
    src = bergamot.model_dir("en", "pt")
    lex = next(src.glob("lex*.s2t.bin"))
    vocab = next(src.glob("*.spm"))
    bad = tmp_path / lex.name
    bad.write_bytes(lex.read_bytes()[:1000])
    with pytest.raises(LexiconError, match=str(bad)):
        Lexicon(bad, vocab)
    other = tmp_path / "vocab.other.spm"
    shutil.copy(vocab, other)
    (tmp_path / "short.bin").write_bytes(b"\0" * 10)
    with pytest.raises(LexiconError, match="too short"):
        Lexicon(tmp_path / "short.bin", other)


def test_fragments_are_no_translation_and_capitals_do_not_hide_one(lexicon: Lexicon) -> None:
    """Hand-made: "vende|u" has a piece "u" that the shortlist lists for "cattle"; a capitalized
    output ("MEL") is the same word as "mel"."""
    assert lexicon.lost_words("The farmers take their cattle to the valley.", "Os agricultores vendeu tudo no vale.",
                              "en", 4.5) == ["cattle"]
    assert lexicon.lost_words("The beekeeper sold honey.", "O APICULTOR VENDEU MEL.", "en", 4.5) == []


def test_the_reverse_direction_has_its_own_lexicon() -> None:
    pt = spec_lexicon(ModelSpec(), "pt", "en")
    assert pt is not None and pt.path.parent == bergamot.model_dir("pt", "en")
    src = "O ferreiro bateu o ferro na bigorna."
    assert pt.lost_words(src, "The blacksmith beat the iron in the anvil.", "pt", 3.5) == []  # Bergamot, stored
    assert pt.lost_words(src, "The man hit the iron.", "pt", 3.5) == ["ferreiro", "bigorna"]  # hand-made


def test_more_than_max_lost_words_are_needed_to_drop(lexicon: Lexicon) -> None:
    src, two_gone = "The blacksmith beat the iron on the anvil.", "O homem bateu o ferro."  # hand-made
    assert lexicon.lost_words(src, two_gone, "en", 3.5) == ["blacksmith", "anvil"]
    q = QualityConfig().updated(langid={"enabled": False}, length_loss={"enabled": False})

    def judge(max_lost: int = 0) -> str | None:
        g = Gate(q.updated(coverage={"max_lost": max_lost}), "en", "pt", ("en", "pt"), lexicon=lexicon)
        return g.judge([src], [Translation(two_gone)])[0].reason

    assert judge() == "word lost" and judge(1) == "word lost" and judge(2) is None


def test_the_manifests_settings_are_the_key_the_verdicts_are_cached_under(tmp_path: Path) -> None:
    from mt_aug.quality import VerdictCache

    q = QualityConfig().updated(langid={"enabled": False}, coverage={"max_zipf": 4.5})
    gate = Gate(q, "en", "pt", ("en", "pt"))
    with TranslationCache(tmp_path / "translations.sqlite") as cache, \
            VerdictCache.beside(tmp_path / "translations.sqlite") as vc:
        vs, st = judge_with_roundtrip(gate, [KEEPER[0]], [Translation(KEEPER[1])], spec=ModelSpec(),
                                      translate=Translator(cache), verdict_cache=vc)
        assert st.settings is not None and st.settings != gate.settings_hash  # the model and lexicon are in it
        assert vc.get_many(st.settings, [KEEPER]) == {KEEPER: vs[0]}


def test_a_shortlist_for_another_vocabulary_is_named(tmp_path: Path) -> None:
    import struct

    import numpy as np

    vocab = next(bergamot.model_dir("en", "pt").glob("*.spm"))
    small = tmp_path / "lex.small.s2t.bin"
    offsets, lists = np.arange(11, dtype="<u8"), np.arange(10, dtype="<u4")
    small.write_bytes(struct.pack("<6Q", 0xF11A48D5013417F5, 0, 5, 1, 11, 10) + offsets.tobytes() + lists.tobytes())
    with pytest.raises(LexiconError, match=r"made for a vocabulary of 10 pieces, .*vocab.enpt.spm has 32000"):
        Lexicon(small, vocab)
    bad = tmp_path / "lex.bad.s2t.bin"
    offsets[3] = 50  # beyond the 10 entries
    bad.write_bytes(struct.pack("<6Q", 0xF11A48D5013417F5, 0, 5, 1, 11, 10) + offsets.tobytes() + lists.tobytes())
    with pytest.raises(LexiconError, match="offsets out of order or range"):
        Lexicon(bad, vocab)
