"""The gate's signals added after calibration (gate 4): names looked up as the model translates
them alone, and garbled output (a phrase said twice, words no word list knows). Outputs are
real Bergamot en->pt output of sentences written for these tests, stored, except where a test
says the text is hand-made. Language ID is off where it decides nothing (its models take ~2 s
to load)."""

from __future__ import annotations

from pathlib import Path

from mt_aug.config import ModelSpec, QualityConfig
from mt_aug.quality import Gate, VerdictCache, judge_with_roundtrip
from mt_aug.quality.entities import _capitalized_runs
from mt_aug.quality.garbled import repeated_phrase, unknown_words
from mt_aug.quality.text import names
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import Translator, cache_scope

Q = QualityConfig()
SEA = "The Sea Peoples attacked Egypt around 1177 BC."
SEA_PT = "Os povos do mar atacaram o Egito por volta de 1177 a.C.."  # Bergamot en->pt, stored
SEA_SPANS = {"Sea Peoples": "povos do mar", "Egypt": "Egito", "BC": "BC"}  # each span alone, Bergamot


def gate(**sections: dict[str, object]) -> Gate:
    return Gate(Q.updated(langid={"enabled": False}, **sections), "en", "pt", ("en", "pt"))


def test_names_end_at_punctuation_and_keep_their_source_span() -> None:
    got = [n.span for n in names("He wrote to the Lebanon, New Hampshire council and to St. Mary's Church.")]
    assert got == ["Lebanon", "New Hampshire", "St. Mary's Church"]
    # a sentence starts after [.!?:;] and spaces, an opening quote or parenthesis between (entities)
    text = 'We saw it in Paris. "The Louvre was closed," said Anne Marie.'
    assert [n.span for n in names(text)] == ["Paris", "Louvre", "Anne Marie"]
    assert _capitalized_runs(text) == [["Paris"], ["Louvre"], ["Anne", "Marie"]]
    assert _capitalized_runs('Es ist spät. "Wer kommt?" Niemand.') == []  # each capital opens a sentence


def test_a_name_translated_as_the_model_translates_it_alone_is_kept() -> None:
    """"Sea Peoples" -> "povos do mar" (lowercase, no word in common) was a false "entity lost";
    the name's own translation shows it kept. A name whose own translation is absent too is lost."""
    assert gate().judge([SEA], [Translation(SEA_PT)])[0].reason == "entity lost"  # no look-up: lost
    assert gate().judge([SEA], [Translation(SEA_PT)], spans=SEA_SPANS)[0].reason is None
    assert gate(entities={"translate": False}).judge([SEA], [Translation(SEA_PT)], spans=SEA_SPANS)[0].reason \
        == "entity lost"
    lost = gate().judge([SEA], [Translation("Os invasores atacaram o Egito por volta de 1177 a.C..")],
                        spans=SEA_SPANS)[0]  # hand-made
    assert lost.reason == "entity lost" and "Sea Peoples" in lost.evidence
    # months are written in lowercase, but their own translation shows whether they are there
    fest = "Which festival is held in October in Newcastle?"
    spans = {"October": "Outubro", "Newcastle": "Newcastle"}
    kept = "Qual festival é realizado em outubro em Newcastle?"  # Bergamot, stored
    assert gate().judge([fest], [Translation(kept)], spans=spans)[0].reason is None
    assert gate().judge([fest], [Translation("Qual festival é realizado em Newcastle?")],  # hand-made
                        spans=spans)[0].reason == "entity lost"
    assert gate().judge([fest], [Translation("Qual festival é realizado em Newcastle?")])[0].reason is None  # no look-up
    # a copied non-name word ("Who") stands for no translated name: "Doctor" is lost (hand-made output)
    v = gate().judge(["Which Doctor Who actor won an award?"], [Translation("Qual ator Who ganhou um prêmio?")],
                     spans={"Doctor": "Doutor"})[0]
    assert v.reason == "entity lost" and "Doctor" in v.evidence


def test_garbled_output_hand_made() -> None:
    """Hand-made outputs shaped like the garbled Bergamot output found in SQuAD (not stored)."""
    src = "The families of noble descent moved to the city in 1685."
    assert repeated_phrase(src, "As famílias de nobreza e descida e descida e descida mudaram-se.") == "e descida"
    # one word between the two (the shape of "o crescimento da farmácia será o crescimento da farmácia")
    assert repeated_phrase(src, "O relatório do conselho será o relatório do conselho?") == "o relatorio do conselho"
    assert repeated_phrase(src, "O relatório do conselho e a carta do conselho.") is None  # two words between
    assert repeated_phrase("Bye bye, said the porter.", "Adeus adeus, disse o porteiro.") is None  # one word
    assert repeated_phrase("A step by step plan, step by step.", "Um plano passo a passo, passo a passo.") is None
    assert unknown_words(src, "As famílias huguenotenot mudaram-se para a cidade em 1685.", "pt", 0.5) \
        == ["huguenotenot"]  # a word that stutters inside
    assert unknown_words("Sizeable minorities exist.", "Minorias tamanhoizáveis existem.", "pt", 0.5) \
        == ["tamanhoizáveis"]  # resembles no source word
    # a rare technical word adapted from the source is no garbage
    assert unknown_words("Thylakoids are stacked.", "Os tilacoidez estão empilhados.", "pt", 0.5) == []
    v = gate().judge([src], [Translation("As famílias de nobreza e descida e descida e descida mudaram-se para a "
                                         "cidade em 1685.")], spans={})[0]
    assert v.reason == "garbled" and "descida" in v.evidence
    stutter = "As famílias de nobreza e descida e descida e descida mudaram-se para a cidade em 1685."
    assert gate(garbled={"enabled": False}).judge([src], [Translation(stutter)], spans={})[0].reason is None


def test_names_are_translated_through_the_cache_and_key_the_verdicts(tmp_path: Path) -> None:
    """judge_with_roundtrip translates the names alone with the forward model (Bergamot en->pt)
    through the translation cache; the verdicts' key holds the forward model and the setting."""
    with TranslationCache(tmp_path / "translations.sqlite") as cache, \
            VerdictCache.beside(tmp_path / "translations.sqlite") as vc:
        vs, st = judge_with_roundtrip(gate(), [SEA], [Translation(SEA_PT)], spec=ModelSpec(),
                                      translate=Translator(cache), verdict_cache=vc)
        assert vs[0].reason is None and st.spans_translated == 3 and st.spans_cached == 0
        got = cache.get_many(cache_scope(ModelSpec(), "en", "pt"), list(SEA_SPANS))
        assert {k: v.text for k, v in got.items()} == SEA_SPANS  # cached like any translation
        vs2, st2 = judge_with_roundtrip(gate(), [SEA], [Translation(SEA_PT)], spec=ModelSpec(),
                                        translate=Translator(cache), verdict_cache=vc)
        assert st2.cached == 1 and st2.spans_translated == 0 and vs2 == vs
        off = gate(entities={"translate": False})
        vs3, st3 = judge_with_roundtrip(off, [SEA], [Translation(SEA_PT)], spec=ModelSpec(),
                                        translate=Translator(cache), verdict_cache=vc)
        assert st3.cached == 0 and vs3[0].reason == "entity lost"
