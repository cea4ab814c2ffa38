from __future__ import annotations

import difflib
import gzip
import json
import logging
from pathlib import Path

import pytest
from conftest import DEMO_DATA, ROOT

from mt_aug.config import BuildConfig, EvalSetConfig, SourceConfig
from mt_aug.decontamination.apply import find_contamination
from mt_aug.decontamination.matcher import EvalIndex, EvalText, Match, build_index, match_tokens
from mt_aug.normalize import normalize_text
from mt_aug.pairs import pairs_of
from mt_aug.pipeline.builder import run_source_side
from mt_aug.pipeline.executor import LocalExecutor
from mt_aug.readers import SourceError
from mt_aug.readers.collect import collect

DEMO_EVAL = DEMO_DATA / "demo_eval_en.json"
EVAL_FIX = ROOT / "tests" / "fixtures" / "eval"
MIRACL = EVAL_FIX / "miracl"
BEIR = EVAL_FIX / "beir"


def test_normalization() -> None:
    assert normalize_text("  What  IS the Négative electrode, usually? ") == "what is the negative electrode usually"
    assert normalize_text("Ελληνικά!", "el") == "ελληνικα"
    assert normalize_text("हिन्दी", "hi") == "हिन्दी"  # vowel signs kept


def _cfg(tmp_path: Path) -> BuildConfig:
    return BuildConfig(
        name="t", output_dir=tmp_path, languages=["en", "pt"],
        sources=[SourceConfig(name="demo", format="squad", path=DEMO_DATA / "demo_squad.json")],
        eval_sets=[EvalSetConfig(name="demo-eval", format="squad", paths={"en": DEMO_EVAL})],
    )


def test_demo_overlap_is_removed(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    side = run_source_side(cfg, LocalExecutor())
    dropped = {d.id for d in side.drops}
    # paragraphs 3 (verbatim) and 11 (case + extra space) drop all their questions,
    # three more questions are asked verbatim, re-cased without '?', and with extra comma/space
    expected = {f"demo-q{i:03d}" for i in [9, 10, 11, 12, 41, 42, 43, 44, 21, 33, 53]}
    assert dropped == expected
    assert side.pairs.num_rows == 53
    s = side.source_summary["demo-eval"]
    assert (s["pairs_dropped"], s["passages_matched"], s["questions_matched"]) == (11, 2, 3)
    by_id = {d.id: d for d in side.drops}
    assert by_id["demo-q041"].detail["field"] == "passage"
    assert by_id["demo-q033"].detail == {**by_id["demo-q033"].detail, "field": "question", "method": "exact",
                                         "eval_id": "eval-005", "eval_set": "demo-eval"}
    c = side.sources["demo"]
    assert c["read"] == c["kept"] + sum(c["dropped"].values()) == 64


def test_ngram_catches_edited_passage_but_not_common_phrase() -> None:
    eval_passage = " ".join(f"w{i}" for i in range(40))
    idx = EvalIndex(lang="en", n=13)
    idx.add(EvalText("e", "p1", "passage", eval_passage))
    edited = "An inserted sentence here. " + eval_passage.replace("w20", "w20,")
    m = idx.match(edited, "passage")
    assert m is not None and m.method == "ngram" and m.eval_id == "p1"
    assert idx.match("w1 w2 w3 w4 w5 in a completely different text about other things entirely", "passage") is None


def test_missing_eval_language_is_a_warning(tmp_path: Path) -> None:
    from mt_aug.decontamination.apply import coverage_warnings

    assert coverage_warnings(_cfg(tmp_path)) == ["no eval file for language 'pt': its translated texts were not checked"]


def test_eval_file_with_no_questions_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "empty.json"
    p.write_text(json.dumps({"data": []}))
    with pytest.raises(SourceError, match="empty.json: eval file holds no questions"):
        build_index([EvalSetConfig(name="e", format="squad", paths={"en": p})], "en", 13)


def test_xquad_is_inside_squad_dev(shared_data: Path, tmp_path: Path) -> None:
    """SQuAD v1.1 dev vs XQuAD: every pair on the 240 XQuAD paragraphs goes, nothing else by passage."""
    cfg = BuildConfig(
        name="t", output_dir=tmp_path, languages=["en", "pt"],
        sources=[SourceConfig(name="squad", format="squad", path=shared_data / "squad" / "dev-v1.1.json")],
        eval_sets=[EvalSetConfig(name="xquad", format="squad", paths={"en": shared_data / "xquad" / "xquad.en.json"})],
    )
    got = pairs_of(collect(cfg).pairs)
    xq = json.loads((shared_data / "xquad" / "xquad.en.json").read_text())
    xq_ids = {qa["id"] for a in xq["data"] for p in a["paragraphs"] for qa in p["qas"]}
    xq_contexts = {p["context"] for a in xq["data"] for p in a["paragraphs"]}
    side = run_source_side(cfg, LocalExecutor())
    drops = [d for d in side.drops if d.stage == "decontaminate"]
    dropped_ids = {d.id for d in drops}
    assert xq_ids <= dropped_ids
    on_xquad = {p.id for p in got if p.passage in xq_contexts}
    by_passage = {d.id: d for d in drops if d.detail["field"] == "passage"}
    assert on_xquad <= set(by_passage)
    # Other SQuAD dev paragraphs also overlap XQuAD: the same text with other spacing or
    # punctuation (exact after normalization), or a shared 13-gram. None is byte-identical.
    xq_norm = {normalize_text(c) for c in xq_contexts}
    by_pid = {p.id: p for p in got}
    for pid in set(by_passage) - on_xquad:
        d, passage = by_passage[pid], by_pid[pid].passage
        assert passage not in xq_contexts
        assert d.detail["method"] == "ngram" or normalize_text(passage) in xq_norm
    assert side.source_summary["xquad"]["passages_matched"] >= 240
    assert not any(p.passage in xq_contexts for p in pairs_of(side.pairs))
    c = side.sources["squad"]
    assert c["read"] == c["kept"] + sum(c["dropped"].values())


# --- matcher on invented text ------------------------------------------------------------------


def _index(*texts: tuple[str, str, str], lang: str = "en", n: int = 13, similarity: float = 0.9) -> EvalIndex:
    idx = EvalIndex(lang=lang, n=n, similarity=similarity)
    for eval_id, field_name, text in texts:
        idx.add(EvalText("e", eval_id, field_name, text))
    return idx


EVAL_PASSAGE = (
    "The harbour of Sarnwick is sheltered by a granite breakwater, built in 1884 after a winter storm sank "
    "eleven fishing boats at their moorings. Each autumn the fishermen paint the breakwater white, so that "
    "boats returning late can find the harbour entrance in fog."
)


def test_passage_with_inserted_sentence_and_new_punctuation_is_caught_by_ngram() -> None:
    idx = _index(("p1", "passage", EVAL_PASSAGE))
    inserted = ("Local historians still argue about whether the harbour master of that year, a retired naval "
                "officer from the southern islands, had warned the town council in time. ")
    edited = EVAL_PASSAGE.replace("moorings. ", "moorings! " + inserted).replace(", so that", "; so that")
    a, b = match_tokens(normalize_text(EVAL_PASSAGE), "en"), match_tokens(normalize_text(edited), "en")
    assert difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() < 0.8
    m = idx.match(edited, "passage")
    assert m is not None and (m.method, m.eval_id, m.field) == ("ngram", "p1", "passage")
    assert len(m.evidence.split()) == 13 and m.evidence in " ".join(a)
    assert m.detail()["matched"] == m.evidence and "score" not in m.detail()


def test_question_differing_in_case_punctuation_and_spacing_is_exact() -> None:
    idx = _index(("q1", "question", "How many moons does the planet Zorbax have?"))
    for variant in ["how many MOONS does the planet zorbax have", "How many moons, does the planet Zorbax have ?? ",
                    "  How  many moons does the plánet Zorbax have?"]:
        m = idx.match(variant, "question")
        assert m is not None and (m.method, m.eval_id) == ("exact", "q1"), variant


def test_near_duplicate_question_is_caught_by_similarity_with_a_score() -> None:
    q = "In which year did the old harbour master of Sarnwick order the breakwater painted white"
    assert len(q.split()) == 15
    idx = _index(("q1", "question", q + "?"))
    changed = q.replace("master", "keeper")  # one word in the middle: no 13-gram survives
    m = idx.match(changed + "?", "question")
    assert m is not None and (m.method, m.eval_id, m.field) == ("similarity", "q1", "question")
    assert m.score == pytest.approx(14 / 15)
    assert m.detail() == {"eval_set": "e", "eval_id": "q1", "field": "question", "method": "similarity",
                          "matched": normalize_text(q), "score": round(14 / 15, 4)}
    # an inserted word, or one word changed in a 10-word question, is still a near duplicate
    assert idx.match(q.replace("old", "old grumpy"), "question") is not None
    idx10 = _index(("q2", "question", "Which river flows through the old town of Valdoria today?"))
    assert idx10.match("Which river flows through the new town of Valdoria today?", "question").method == "similarity"
    # a short question with one word changed is a different question
    idx6 = _index(("q3", "question", "What is the capital of Valdoria?"))
    assert idx6.match("What is the capital of Sarnwick?", "question") is None
    # two words changed in 15 is below 0.9
    assert idx.match(changed.replace("white", "blue"), "question") is None


def test_similarity_in_a_character_language() -> None:
    q = "瓦尔多利亚古城的河流每年春天会淹没哪一个市场"
    idx = _index(("q1", "question", q + "？"), lang="zh")
    m = idx.match(q.replace("春天", "夏天") + "?", "question")
    assert m is not None and m.method == "similarity" and m.score == pytest.approx(1 - 1 / len(q))
    assert idx.match("瓦尔多利亚古城的河流", "question") is None


def test_short_common_phrase_drops_nothing_else() -> None:
    idx = _index(("q1", "question", "What is the capital of France?"),
                 ("p1", "passage", "The United States of America"),
                 ("p2", "passage", EVAL_PASSAGE))
    unrelated = ("In the United States of America, pupils often ask what is the capital of France, and the "
                 "teacher answers with a story about a river, a bridge and a king who never learned to swim.")
    assert idx.match(unrelated, "passage") is None
    assert idx.match("What is the capital of Spain?", "question") is None
    assert idx.match("the united states of america", "passage").method == "exact"
    items = [("a", "What is the capital of France?", unrelated), ("b", "Who taught the king to swim?", unrelated)]
    summary: dict = {}
    hits = find_contamination(items, idx, summary)
    assert set(hits) == {"a"} and hits["a"].field == "question"
    assert summary["e"].to_dict() == {"pairs_dropped": 1, "passages_matched": 0, "questions_matched": 1,
                                      "methods": {"exact": 1}}


def test_contaminated_passage_drops_every_pair_that_uses_it() -> None:
    idx = _index(("p1", "passage", EVAL_PASSAGE))
    items = [(f"k{i}", f"Question number {i}?", EVAL_PASSAGE) for i in range(3)] + [("k9", "Another?", "Fresh text.")]
    summary: dict = {}
    hits = find_contamination(items, idx, summary)
    assert set(hits) == {"k0", "k1", "k2"} and all(m.method == "exact" for m in hits.values())
    assert summary["e"].to_dict() == {"pairs_dropped": 3, "passages_matched": 1, "questions_matched": 0,
                                      "methods": {"exact": 1}}


def test_adding_after_matching_rebuilds_the_index() -> None:
    idx = _index(("p1", "passage", EVAL_PASSAGE))
    other = " ".join(f"word{i}" for i in range(30))
    assert idx.match(other, "passage") is None
    idx.add(EvalText("e", "p2", "passage", other))
    assert idx.match("prefix " + other, "passage").eval_id == "p2"
    assert idx.match(EVAL_PASSAGE, "passage").eval_id == "p1"


def test_index_built_in_slices_matches_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    import mt_aug.decontamination.matcher as dec

    texts = [" ".join(f"w{i}x{j}" for j in range(20 + i % 7)) for i in range(40)]
    monkeypatch.setattr(dec, "HASH_SLICE", 50)  # many slices, some smaller than one text
    idx = _index(*[(f"p{i}", "passage", t) for i, t in enumerate(texts)])
    for i, t in enumerate(texts):
        words = t.split()
        m = idx.match("new words " + " ".join(words[3:16]) + " more", "passage")
        assert m is not None and (m.eval_id, m.method) == (f"p{i}", "ngram")
    assert idx.stats()["ngrams"] == sum(len(t.split()) - 12 for t in texts)


def test_char_languages_tokenize_latin_runs_as_words() -> None:
    assert match_tokens("超级碗50 super bowl", "zh") == ["超", "级", "碗", "50", "super", "bowl"]
    assert match_tokens("a b", "en") == ["a", "b"]


# --- eval-set readers -------------------------------------------------------------------------

def _miracl(**kw: object) -> EvalSetConfig:
    base: dict = {
        "name": "miracl", "format": "miracl",
        "paths": {"en": [MIRACL / "topics.miracl-v1.0-en-train.tsv", MIRACL / "topics.miracl-v1.0-en-dev.tsv"]},
        "qrels": {"en": [MIRACL / "qrels.miracl-v1.0-en-train.tsv", MIRACL / "qrels.miracl-v1.0-en-dev.tsv"]},
        "corpus": {"en": [MIRACL / "docs-0.jsonl.gz", MIRACL / "docs-1.jsonl"]},
    }
    base.update(kw)
    return EvalSetConfig(**base)


def _corpus_text(docid: str) -> str:
    for name in ("docs-0.jsonl.gz", "docs-1.jsonl"):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(MIRACL / name, "rt", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if rec["docid"] == docid:
                    return rec["text"]
    raise KeyError(docid)


def test_miracl_topics_of_all_splits_and_only_judged_passages() -> None:
    idx = build_index([_miracl()], "en", 13)
    assert idx is not None
    assert idx.counts == {"miracl": 5 + 5}  # 5 topics (train + dev), 5 judged passages of 7
    m = idx.match("how tall is the clock tower of brennick", "question")
    assert (m.eval_id, m.method) == ("201", "exact")
    assert idx.match("Which river flows through the invented city of Valdoria", "question").eval_id == "101"
    for docid in ("9001#0", "9001#1", "9002#0", "9003#2", "9004#0"):  # gz and plain shards; relevance 0 too
        m = idx.match("Some words before. " + _corpus_text(docid), "passage")
        assert m is not None and (m.eval_id, m.method) == (docid, "ngram"), docid
    for docid in ("9005#0", "9006#0"):  # in the corpus but judged by no qrels: not indexed
        assert idx.match(_corpus_text(docid), "passage") is None
    assert idx.warnings == []


def test_miracl_pattern_paths_and_topics_only() -> None:
    cfg = EvalSetConfig(name="m", format="miracl", paths=str(MIRACL / "topics.miracl-v1.0-{lang}-dev.tsv"))
    idx = build_index([cfg], "en", 13)
    assert idx is not None and idx.counts == {"m": 2}
    assert build_index([cfg], "th", 13) is None


def test_miracl_corpus_without_qrels_indexes_everything_and_warns(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    from mt_aug.decontamination.apply import coverage_warnings

    es = _miracl(qrels=None)
    with caplog.at_level(logging.WARNING):
        idx = build_index([es], "en", 13)
    assert idx is not None and idx.counts == {"miracl": 5 + 7}
    assert idx.match(_corpus_text("9006#0"), "passage").eval_id == "9006#0"
    assert any("corpus given without qrels" in w for w in idx.warnings)
    assert "corpus given without qrels" in caplog.text
    cfg = BuildConfig(name="t", output_dir=tmp_path, languages=["en", "pt"],
                      sources=[SourceConfig(name="demo", format="squad", path=DEMO_DATA / "demo_squad.json")],
                      eval_sets=[es])
    warnings = coverage_warnings(cfg)
    assert warnings[0] == "no eval file for language 'pt': its translated texts were not checked"
    assert any("'miracl' (en): corpus without qrels" in w for w in warnings)


def test_miracl_qrels_that_judge_nothing_in_the_corpus(tmp_path: Path) -> None:
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("101 Q0 777#0 1\n")
    with pytest.raises(SourceError, match=r"none of the 1 passages judged .* is in the corpus"):
        build_index([_miracl(qrels={"en": qrels})], "en", 13)
    qrels.write_text("101 Q0 777#0 1\n101 Q0 9001#0 1\n")
    idx = build_index([_miracl(qrels={"en": qrels})], "en", 13)
    assert any("1 of 2 judged passages are not in the corpus" in w for w in idx.warnings)


def test_beir_queries_corpus_and_qrels() -> None:
    es = EvalSetConfig(name="beir", format="beir", paths={"en": BEIR / "queries.jsonl"},
                       qrels={"en": BEIR / "qrels" / "test.tsv"}, corpus={"en": BEIR / "corpus.jsonl"})
    idx = build_index([es], "en", 13)
    assert idx is not None and idx.counts == {"beir": 2 + 2}
    recs = [json.loads(line) for line in (BEIR / "corpus.jsonl").read_text().splitlines()]
    corpus = {r["_id"]: r["text"] for r in recs}
    assert idx.match(corpus["d1"].upper(), "passage").eval_id == "d1"
    assert idx.match(corpus["d3"], "passage") is None  # not judged
    m = idx.match("Why did the weavers of Tamsin move all their looms to the hill villages?", "question")
    assert (m.eval_id, m.method) == ("q2", "similarity")
    whole = build_index([es.model_copy(update={"qrels": None})], "en", 13)
    assert whole.match(corpus["d3"], "passage").eval_id == "d3"


def test_xquad_r_sentences_are_indexed() -> None:
    es = EvalSetConfig(name="xquad-r", format="squad", paths={"en": EVAL_FIX / "xquad_r_en.json"})
    idx = build_index([es], "en", 13)
    assert idx is not None and idx.counts == {"xquad-r": 2 + 5 + 3}  # contexts, sentences, questions
    m = idx.match("Pelling is a canal town", "passage")
    assert (m.eval_id, m.method) == ("xr-003#sentence0", "exact")
    m = idx.match("Shepherds have grazed them since the Bronze Age!", "passage")
    assert m.eval_id == "xr-001#sentence1"
    assert idx.match("How high is Garrow Knap", "question").eval_id == "xr-001"
    # XQuAD and XQuAD-R configured together: the second adds only texts the first has, no error
    both = build_index([es, es.model_copy(update={"name": "again"})], "en", 13)
    assert both.counts == {"xquad-r": 10, "again": 10}


# --- bad input --------------------------------------------------------------------------------

def _bad(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_tsv_line_without_a_tab_names_file_and_line() -> None:
    es = EvalSetConfig(name="m", format="miracl", paths={"en": MIRACL / "topics.bad.tsv"})
    with pytest.raises(SourceError, match=r"topics\.bad\.tsv:3: expected qid<TAB>query, found no tab"):
        build_index([es], "en", 13)


@pytest.mark.parametrize(
    ("fmt", "name", "content", "key", "error"),
    [
        ("miracl", "topics.tsv", json.dumps({"data": []}, indent=1), "paths", r"topics\.tsv:1: expected qid<TAB>query"),
        ("miracl", "topics.tsv", "\n\n", "paths", r"topics\.tsv: topics file holds no queries"),
        ("miracl", "topics.tsv", "1\t  \n", "paths", r"topics\.tsv:1: query '1' is empty"),
        ("squad", "xquad.json", "1\tWhat?\n", "paths", r"xquad\.json: invalid JSON at line 1"),
        ("squad", "xquad.json", json.dumps({"version": 1}), "paths", r"xquad\.json: not SQuAD JSON"),
        ("beir", "queries.jsonl", '{"_id": "q1", "text": "Fine?"}\n{"text": "no id"}\n', "paths",
         r"queries\.jsonl:2: missing or non-string key '_id'"),
        ("beir", "queries.jsonl", '{"_id": "q1", "text": "Fine?"}\n{broken\n', "paths", r"queries\.jsonl:2: invalid JSON"),
        ("beir", "queries.jsonl", "", "paths", r"queries\.jsonl: queries file holds no queries"),
        ("miracl", "qrels.tsv", "101 Q0 9001#0\n", "qrels", r"qrels\.tsv:1: relevance '9001#0' is not a number"),
        ("miracl", "qrels.tsv", "101 Q0 9001#0 1\n101 Q0 9001#1 1 extra\n", "qrels",
         r"qrels\.tsv:2: expected 'qid Q0 docid relevance' \(TREC\)"),
        ("miracl", "qrels.tsv", "101 Q0 9001#0 yes\n", "qrels", r"qrels\.tsv:1: relevance 'yes' is not a number"),
        ("miracl", "docs.jsonl", '{"docid": "9001#0", "title": "t"}\n', "corpus",
         r"docs\.jsonl:1: missing or non-string key 'text'"),
        ("miracl", "docs.jsonl.gz", gzip.compress(b'{"docid": "9001#0", "text": "x"}\nnot json\n', mtime=0), "corpus",
         r"docs\.jsonl\.gz:2: invalid JSON"),
        ("miracl", "docs.jsonl", b"\xff\xfe\x00bad", "corpus", r"docs\.jsonl:1: not UTF-8"),
    ],
)
def test_malformed_eval_files_name_file_and_line(tmp_path: Path, fmt: str, name: str, content: str | bytes,
                                                 key: str, error: str) -> None:
    p = _bad(tmp_path, name, content)
    if fmt == "miracl":
        es = _miracl(**{key: {"en": p}}) if key != "paths" else _miracl(paths={"en": p})
    else:
        es = EvalSetConfig(name="e", format=fmt, paths={"en": p})
    with pytest.raises(SourceError, match=error):
        build_index([es], "en", 13)


def test_bad_sentence_breaks_and_squad_with_corpus(tmp_path: Path) -> None:
    doc = json.loads((EVAL_FIX / "xquad_r_en.json").read_text())
    doc["data"][1]["paragraphs"][0]["sentence_breaks"] = [[0, 24]]
    p = _bad(tmp_path, "xr.json", json.dumps(doc))
    with pytest.raises(SourceError, match=r"xr\.json: data\[1\]\.paragraphs\[0\]: 2 'sentences' but 1 'sentence_breaks'"):
        build_index([EvalSetConfig(name="x", format="squad", paths={"en": p})], "en", 13)
    es = EvalSetConfig(name="x", format="squad", paths={"en": EVAL_FIX / "xquad_r_en.json"},
                       corpus={"en": BEIR / "corpus.jsonl"})
    with pytest.raises(SourceError, match="format squad takes no `corpus`"):
        build_index([es], "en", 13)


def test_sentence_breaks_without_sentences_cut_the_context(tmp_path: Path) -> None:
    doc = json.loads((EVAL_FIX / "xquad_r_en.json").read_text())
    para = doc["data"][1]["paragraphs"][0]
    del para["sentences"]
    p = _bad(tmp_path, "xr.json", json.dumps(doc))
    idx = build_index([EvalSetConfig(name="x", format="squad", paths={"en": p})], "en", 13)
    assert idx.match("Pelling is a canal town.", "passage").eval_id == "xr-003#sentence0"
    para["sentence_breaks"][1] = [25, 9999]
    p = _bad(tmp_path, "xr.json", json.dumps(doc))
    with pytest.raises(SourceError, match=r"sentence_breaks\[1\] = \[25, 9999\] is outside the context"):
        build_index([EvalSetConfig(name="x", format="squad", paths={"en": p})], "en", 13)


def test_eval_set_whose_texts_all_normalize_away_is_an_error(tmp_path: Path) -> None:
    p = _bad(tmp_path, "topics.tsv", "1\t???\n2\t!!\n")
    with pytest.raises(SourceError, match=r"topics\.tsv: eval set 'm' \(en\) added no texts"):
        build_index([EvalSetConfig(name="m", format="miracl", paths={"en": p})], "en", 13)


# --- real XQuAD: target side, character tokens ---------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "th"])
def test_squad_dev_views_copied_from_xquad_are_dropped_on_the_target_side(shared_data: Path, lang: str) -> None:
    """Translated views that are verbatim XQuAD-zh/th text are caught by the lang index (character
    tokens); the other SQuAD dev pairs (English text in the view) are not."""
    from mt_aug.packing.corpus import PairText

    squad = json.loads((shared_data / "squad" / "dev-v1.1.json").read_text())
    xq = json.loads((shared_data / "xquad" / f"xquad.{lang}.json").read_text())
    xq_by_id = {qa["id"]: (qa["question"], p["context"]) for a in xq["data"] for p in a["paragraphs"] for qa in p["qas"]}
    assert len(xq_by_id) == 1190
    views = {}
    for a in squad["data"]:
        for p in a["paragraphs"]:
            for qa in p["qas"]:
                q, c = xq_by_id.get(qa["id"], (qa["question"], p["context"]))
                views[qa["id"]] = PairText(q, a["title"], c)
    idx = build_index([EvalSetConfig(name="xquad", format="squad",
                                     paths={lang: shared_data / "xquad" / f"xquad.{lang}.json"})], lang, 13)
    assert idx is not None and idx.window > 13  # characters: about as many as 13 words take
    summary: dict = {}
    hits = find_contamination(((pid, t.question, t.passage) for pid, t in views.items()), idx, summary)
    assert set(hits) == set(xq_by_id)
    assert all(m.field == "passage" and m.method == "exact" for m in hits.values())
    assert summary["xquad"].pairs_dropped == 1190 and summary["xquad"].passages_matched == 240


@pytest.mark.parametrize("lang", ["en", "zh", "th"])
def test_xquad_articles_do_not_match_each_other(shared_data: Path, lang: str) -> None:
    """No false positives: paragraphs and questions of one half of XQuAD's articles match
    nothing in an index of the other half (13 Thai characters would match 233 of 240)."""
    xq = json.loads((shared_data / "xquad" / f"xquad.{lang}.json").read_text())
    half = len(xq["data"]) // 2
    idx = EvalIndex(lang=lang)
    for a in xq["data"][:half]:
        for p in a["paragraphs"]:
            idx.add(EvalText("x", "c", "passage", p["context"]))
            for qa in p["qas"]:
                idx.add(EvalText("x", qa["id"], "question", qa["question"]))
    rest = [p for a in xq["data"][half:] for p in a["paragraphs"]]
    assert not any(idx.match_many([p["context"] for p in rest], "passage"))
    assert not any(idx.match_many([qa["question"] for p in rest for qa in p["qas"]], "question"))


def test_match_detail_is_the_audit_record() -> None:
    m = Match("xquad", "id1", "passage", "ngram", "a b c")
    assert m.detail() == {"eval_set": "xquad", "eval_id": "id1", "field": "passage", "method": "ngram", "matched": "a b c"}


def test_eval_indexes_take_ngram_and_similarity_from_the_config(tmp_path: Path) -> None:
    from mt_aug.config import DecontaminationConfig
    from mt_aug.decontamination.apply import eval_indexes

    cfg = _cfg(tmp_path).model_copy(update={
        "decontamination": DecontaminationConfig(ngram=8, question_similarity=0.95),
        "eval_sets": [_miracl(paths={"en": MIRACL / "topics.miracl-v1.0-en-train.tsv"})],
    })
    idx, _ = eval_indexes(cfg)
    assert set(idx) == {"en"} and (idx["en"].n, idx["en"].similarity) == (8, 0.95)
