"""Assign views: which language each pair appears in as a mono view, and which ordered
language pair as a cross view. Deterministic from the seed and balanced: each view goes to
the least-used language (or language pair) among those the pair has a valid text in."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from itertools import permutations

from mt_aug.reassemble import PairText
from mt_aug.schema import QAPair, View


@dataclass
class ViewStats:
    mono: Counter[str] = field(default_factory=Counter)
    cross: Counter[str] = field(default_factory=Counter)
    # pairs that could not get the views asked for (e.g. only English survived filtering)
    short: Counter[str] = field(default_factory=Counter)


def _pick(options: list[str], counts: Counter[str], k: int, rng: random.Random) -> list[str]:
    """The k least-used options; ties broken by a seeded shuffle."""
    order = options[:]
    rng.shuffle(order)
    order.sort(key=lambda o: counts[o])  # stable: the shuffle decides among equals
    return order[:k]


def assign_views(
    pairs: list[QAPair],
    texts: dict[str, dict[str, PairText]],
    languages: list[str],
    *,
    mono_per_pair: int,
    cross_per_pair: int,
    seed: int,
) -> tuple[list[View], ViewStats]:
    """`texts[lang][pair_id]` holds the pair in each language it survived in (English always)."""
    rng = random.Random(f"views:{seed}")
    order = sorted(pairs, key=lambda p: p.pair_id)
    rng.shuffle(order)
    stats = ViewStats()
    views: list[View] = []
    for p in order:
        avail = [lang for lang in languages if p.pair_id in texts.get(lang, {})]
        mono = _pick(avail, stats.mono, mono_per_pair, rng)
        for lang in mono:
            t = texts[lang][p.pair_id]
            views.append(View(p, t.question, lang, t.passage, t.title, lang))
            stats.mono[lang] += 1
        cross_opts = [f"{q}-{d}" for q, d in permutations(avail, 2)]
        cross = _pick(cross_opts, stats.cross, cross_per_pair, rng)
        for key in cross:
            q, d = key.split("-")
            tq, tp = texts[q][p.pair_id], texts[d][p.pair_id]
            views.append(View(p, tq.question, q, tp.passage, tp.title, d))
            stats.cross[key] += 1
        if len(mono) < mono_per_pair:
            stats.short["mono"] += mono_per_pair - len(mono)
        if len(cross) < cross_per_pair:
            stats.short["cross"] += cross_per_pair - len(cross)
    return views, stats
