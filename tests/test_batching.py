from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mt_aug.packing.batching import MAX_OPEN, balance_ratio, hybrid_order, pack, pack_group
from mt_aug.packing.corpus import PairText, corpus_from_pairs
from mt_aug.packing.shards import rows_table
from mt_aug.packing.views import MONO_MIXED, Views, assign_views
from mt_aug.release.verify import check_batch
from mt_aug.schema import QAPair

LANGS = ["en", "de", "pt"]


def _corpus(n_pairs: int, n_passages: int, missing: set[tuple[str, int]] = frozenset()):  # type: ignore[no-untyped-def,assignment]
    pairs = [QAPair("s", f"q{i:04d}", f"question {i}", "t", f"passage {i % n_passages}", (), f"s:q{i:04d}",
                    f"p{i % n_passages}") for i in range(n_pairs)]
    texts = {lang: {p.pair_id: PairText(f"{lang} {p.question}", f"{lang} t", f"{lang} {p.passage}")
                    for i, p in enumerate(pairs) if lang == "en" or (lang, i) not in missing} for lang in LANGS}
    return corpus_from_pairs(pairs, texts, LANGS)


def _build(corpus, batch_size: int, seed: int, mixing: str = "batch", mono: int = 1, cross: int = 1):  # type: ignore[no-untyped-def]
    views, stats = assign_views(corpus.available(), LANGS, mono_per_pair=mono, cross_per_pair=cross, seed=seed,
                                mono_mixing=mixing)
    return views, stats, pack(views, corpus.passage_codes, batch_size, seed)


@settings(max_examples=60, deadline=None)
@given(
    n_pairs=st.integers(1, 120),
    n_passages=st.integers(1, 40),
    batch_size=st.integers(2, 8),
    seed=st.integers(0, 3),
    mixing=st.sampled_from(["batch", "example"]),
    missing=st.sets(st.tuples(st.sampled_from(["de", "pt"]), st.integers(0, 119)), max_size=30),
)
def test_every_batch_is_valid_and_nothing_is_lost(n_pairs: int, n_passages: int, batch_size: int, seed: int,
                                                  mixing: str, missing: set[tuple[str, int]]) -> None:
    corpus = _corpus(n_pairs, n_passages, missing)
    views, stats, packed = _build(corpus, batch_size, seed, mixing)
    assert sum(stats.mono.values()) == n_pairs  # English is always there
    placed = 0
    for (kind, group), batches in packed.batches.items():
        if not batches:
            continue
        table = rows_table(corpus, views[(kind, group)], batches).to_pydict()
        for i, b in enumerate(batches):
            rows = {k: v[i * batch_size:(i + 1) * batch_size] for k, v in table.items()}
            check_batch(rows, kind, batch_size, b.batch_id, mixed=group == MONO_MIXED)  # raises on a broken rule
            assert set(rows["batch_id"]) == {b.batch_id}
            for q, text in zip(rows["query_lang"], rows["query"], strict=True):
                assert text.startswith(q + " ")  # the query really is in its language
            for p, text in zip(rows["passage_lang"], rows["passage"], strict=True):
                assert text.startswith(p + " ")
            placed += len(b.rows)
    assert placed + sum(len(v) for v in packed.leftovers.values()) == sum(len(v) for v in views.values())
    # deterministic
    _, _, packed2 = _build(corpus, batch_size, seed, mixing)
    assert {k: [b.rows.tolist() for b in bs] for k, bs in packed.batches.items()} == \
           {k: [b.rows.tolist() for b in bs] for k, bs in packed2.batches.items()}


def test_views_are_balanced() -> None:
    corpus = _corpus(301, 301, {("de", i) for i in range(0, 301, 7)})
    _, stats, _ = _build(corpus, 4, 1)
    assert max(stats.mono.values()) - min(stats.mono.values()) <= 1
    assert len(stats.cross) == 6 and max(stats.cross.values()) - min(stats.cross.values()) <= 1


def test_several_views_per_pair_are_distinct() -> None:
    corpus = _corpus(50, 50)
    views, stats, _ = _build(corpus, 4, 0, mono=2, cross=3)
    assert sum(stats.mono.values()) == 100 and sum(stats.cross.values()) == 150
    per_pair: dict[int, set] = {}
    for (kind, group), v in views.items():
        for p in v.pair.tolist():
            per_pair.setdefault(p, set()).add((kind, group))
    assert all(len(s) == 5 for s in per_pair.values())


def test_order_of_input_does_not_matter() -> None:
    a = _corpus(80, 20)
    pairs = [QAPair("s", f"q{i:04d}", f"question {i}", "t", f"passage {i % 20}", (), f"s:q{i:04d}", f"p{i % 20}")
             for i in reversed(range(80))]
    texts = {lang: {p.pair_id: PairText(f"{lang} {p.question}", f"{lang} t", f"{lang} {p.passage}") for p in pairs}
             for lang in LANGS}
    b = corpus_from_pairs(pairs, texts, LANGS)
    ta = [rows_table(a, _build(a, 4, 3)[0][k], bs) for k, bs in _build(a, 4, 3)[2].batches.items()]
    tb = [rows_table(b, _build(b, 4, 3)[0][k], bs) for k, bs in _build(b, 4, 3)[2].batches.items()]
    assert all(x.equals(y) for x, y in zip(ta, tb, strict=True))


def test_hybrid_order_interleaves_at_the_ratio() -> None:
    corpus = _corpus(400, 400)
    _, _, packed = _build(corpus, 4, 0)
    balance_ratio(packed, 0.5)
    order = hybrid_order(packed.batches, 0.5)
    assert len(order) == sum(len(b) for b in packed.batches.values())
    kinds = [b.kind for b in order]
    assert kinds[:6] == ["mono", "cross"] * 3
    assert abs(kinds.count("mono") - len(kinds) / 2) <= 1
    first_mono = [b.group for b in order if b.kind == "mono"][:3]
    assert sorted(first_mono) == ["de", "en", "pt"]  # languages spread out, not blocked


def test_balance_ratio_moves_surplus_to_leftovers() -> None:
    corpus = _corpus(400, 400)
    _, _, packed = _build(corpus, 4, 0)
    before = {k: len(b) for k, b in packed.batches.items()}
    balance_ratio(packed, 0.25)
    mono = sum(len(b) for (k, _), b in packed.batches.items() if k == "mono")
    cross = sum(len(b) for (k, _), b in packed.batches.items() if k == "cross")
    assert abs(mono - 0.25 * (mono + cross)) <= 1
    moved = sum(before[k] - len(b) for k, b in packed.batches.items())
    assert sum(packed.trimmed.values()) == moved * 4
    langs = [len(packed.batches[("mono", lang)]) for lang in LANGS]
    assert max(langs) - min(langs) <= 1


def test_too_few_passages_are_leftovers_not_short_batches() -> None:
    views = Views(np.arange(10), np.zeros(10, np.int16), np.zeros(10, np.int16))
    batches, left = pack_group("mono", "en", views, np.zeros(10, np.int64), 4, 0)  # one passage
    assert batches == [] and len(left) == 10
    assert MAX_OPEN >= 1
