from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mt_aug.batching import hybrid_order, pack
from mt_aug.reassemble import PairText
from mt_aug.schema import QAPair
from mt_aug.verify import check_batch
from mt_aug.views import assign_views

LANGS = ["en", "de", "pt"]


def _pairs(n_pairs: int, n_passages: int) -> list[QAPair]:
    return [QAPair("s", f"q{i}", f"question {i}", "t", f"passage {i % n_passages}", (), f"s:q{i}", f"p{i % n_passages}")
            for i in range(n_pairs)]


def _texts(pairs: list[QAPair], missing: set[tuple[str, int]]) -> dict[str, dict[str, PairText]]:
    out: dict[str, dict[str, PairText]] = {}
    for lang in LANGS:
        out[lang] = {p.pair_id: PairText(f"{lang} {p.question}", "t", f"{lang} {p.passage}")
                     for i, p in enumerate(pairs) if lang == "en" or (lang, i) not in missing}
    return out


def _rows(batch) -> dict[str, list]:  # type: ignore[no-untyped-def]
    return {
        "batch_id": [batch.batch_id] * len(batch.rows),
        "query_lang": [v.query_lang for v in batch.rows],
        "passage_lang": [v.passage_lang for v in batch.rows],
        "pair_id": [v.pair.pair_id for v in batch.rows],
        "passage_id": [v.pair.passage_id for v in batch.rows],
    }


@settings(max_examples=60, deadline=None)
@given(
    n_pairs=st.integers(1, 120),
    n_passages=st.integers(1, 40),
    batch_size=st.integers(2, 8),
    seed=st.integers(0, 3),
    missing=st.sets(st.tuples(st.sampled_from(["de", "pt"]), st.integers(0, 119)), max_size=30),
)
def test_every_batch_is_valid_and_nothing_is_lost(n_pairs: int, n_passages: int, batch_size: int, seed: int,
                                                  missing: set[tuple[str, int]]) -> None:
    pairs = _pairs(n_pairs, n_passages)
    texts = _texts(pairs, missing)
    views, stats = assign_views(pairs, texts, LANGS, mono_per_pair=1, cross_per_pair=1, seed=seed)
    assert sum(stats.mono.values()) == n_pairs  # English is always there
    packed = pack(views, batch_size, seed)
    placed = 0
    for (kind, group), batches in packed.batches.items():
        for b in batches:
            check_batch(_rows(b), kind, batch_size, b.batch_id)  # raises on any broken rule
            assert b.group == group
            placed += len(b.rows)
    assert placed + sum(len(v) for v in packed.leftovers.values()) == len(views)
    # deterministic
    views2, _ = assign_views(list(reversed(pairs)), texts, LANGS, mono_per_pair=1, cross_per_pair=1, seed=seed)
    packed2 = pack(views2, batch_size, seed)
    ids = {k: [[v.pair.pair_id for v in b.rows] for b in bs] for k, bs in packed.batches.items()}
    ids2 = {k: [[v.pair.pair_id for v in b.rows] for b in bs] for k, bs in packed2.batches.items()}
    assert ids == ids2


def test_views_are_balanced_when_every_language_is_there() -> None:
    pairs = _pairs(300, 300)
    views, stats = assign_views(pairs, _texts(pairs, set()), LANGS, mono_per_pair=1, cross_per_pair=1, seed=1)
    assert max(stats.mono.values()) - min(stats.mono.values()) <= 1
    assert len(stats.cross) == 6 and max(stats.cross.values()) - min(stats.cross.values()) <= 1


def test_hybrid_order_interleaves_at_the_ratio() -> None:
    pairs = _pairs(400, 400)
    views, _ = assign_views(pairs, _texts(pairs, set()), LANGS, mono_per_pair=1, cross_per_pair=1, seed=0)
    packed = pack(views, 4, 0)
    order = hybrid_order(packed.batches, 0.5)
    assert len(order) == sum(len(b) for b in packed.batches.values())
    kinds = [b.kind for b in order]
    assert kinds[:6] == ["mono", "cross"] * 3
    first_mono = [b.group for b in order if b.kind == "mono"][:3]
    assert sorted(first_mono) == ["de", "en", "pt"]  # languages spread out, not blocked
