"""Assign views: which language each pair appears in as a mono view (question and passage in
one language) and which ordered language pair as a cross view (question in x, passage in y).

Deterministic from the seed and balanced: counts per language (and per language pair) end
as equal as the data allows. Pairs that lack some language are placed first, each on its
least-used option; pairs available in every language then fill the options up evenly
(water-filling), so the common case costs a few numpy operations, not a loop."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from itertools import permutations

import numpy as np

MONO_MIXED = "mixed"  # the group of mono batches whose rows may differ in language


def rng_for(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass
class Views:
    """The views of one group, as parallel arrays (indices into the corpus and its languages)."""

    pair: np.ndarray  # int64 pair index
    qlang: np.ndarray  # int16 language index of the query
    plang: np.ndarray  # int16 language index of the passage

    def __len__(self) -> int:
        return len(self.pair)

    def take(self, idx: np.ndarray) -> Views:
        return Views(self.pair[idx], self.qlang[idx], self.plang[idx])


@dataclass
class ViewStats:
    mono: Counter[str] = field(default_factory=Counter)  # language -> views
    cross: Counter[str] = field(default_factory=Counter)  # "q-p" -> views
    short: Counter[str] = field(default_factory=Counter)  # kind -> views asked for but impossible


def _water_fill(counts: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """How many of n new items each option gets so that counts end as even as possible."""
    if n == 0:
        return np.zeros_like(counts)
    lo, hi = int(counts.min()), int(counts.max()) + n
    while lo < hi:  # the highest level h with sum(max(0, h - c)) <= n
        mid = (lo + hi + 1) // 2
        if np.maximum(0, mid - counts).sum() <= n:
            lo = mid
        else:
            hi = mid - 1
    quota = np.maximum(0, lo - counts)
    rest = n - int(quota.sum())
    if rest:
        at_level = np.flatnonzero(counts + quota == lo)
        quota[rng.permutation(at_level)[:rest]] += 1
    return quota


def _assign(avail: np.ndarray, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    """k distinct options per pair among those available (avail: bool[n, O]); returns, per
    round, the option chosen for each pair (-1: none left)."""
    n, n_opts = avail.shape
    counts = np.zeros(n_opts, dtype=np.int64)
    chosen = [np.full(n, -1, dtype=np.int64) for _ in range(k)]
    if n == 0 or n_opts == 0 or k == 0:
        return chosen
    order = rng.permutation(n)
    full = avail.all(axis=1)
    greedy = order if k > 1 else order[~full[order]]
    taken = np.zeros(n_opts, dtype=bool)
    for t, i in enumerate(greedy):
        opts = np.flatnonzero(avail[i])
        taken[:] = False
        for r in range(min(k, len(opts))):
            free = opts[~taken[opts]]
            key = counts[free] * n_opts + (free - t) % n_opts  # least used; rotating tie-break
            o = free[np.argmin(key)]
            chosen[r][i] = o
            taken[o] = True
            counts[o] += 1
    if k == 1:
        fulls = order[full[order]]
        labels = np.repeat(np.arange(n_opts), _water_fill(counts, len(fulls), rng))
        chosen[0][fulls] = rng.permutation(labels)
    return chosen


def assign_views(
    available: np.ndarray,
    languages: list[str],
    *,
    mono_per_pair: int,
    cross_per_pair: int,
    seed: int,
    mono_mixing: str = "batch",
) -> tuple[dict[tuple[str, str], Views], ViewStats]:
    """`available[i, l]`: pair i has a valid text in languages[l]. Returns views per
    (kind, group): group is the language (mono), `q-p` (cross), or `mixed` (mono rows of
    different languages, with mono_mixing: example)."""
    n, n_langs = available.shape
    stats = ViewStats()
    groups: dict[tuple[str, str], Views] = {}
    lang_idx = np.arange(n_langs, dtype=np.int16)

    mono = _assign(available, mono_per_pair, rng_for("views", seed, "mono"))
    mono_pairs = np.concatenate([np.flatnonzero(c >= 0) for c in mono]) if mono else np.zeros(0, np.int64)
    mono_langs = np.concatenate([c[c >= 0] for c in mono]).astype(np.int16) if mono else np.zeros(0, np.int16)
    stats.short["mono"] = int(sum((c < 0).sum() for c in mono))
    for li, lang in enumerate(languages):
        stats.mono[lang] = int((mono_langs == li).sum())
    if mono_mixing == "example":
        order = np.lexsort((mono_langs, mono_pairs))
        groups[("mono", MONO_MIXED)] = Views(mono_pairs[order], mono_langs[order], mono_langs[order])
    else:
        for li, lang in enumerate(languages):
            sel = mono_langs == li
            p = np.sort(mono_pairs[sel])
            groups[("mono", lang)] = Views(p, np.full(len(p), li, np.int16), np.full(len(p), li, np.int16))

    options = list(permutations(lang_idx.tolist(), 2))
    cross_avail = (np.stack([available[:, q] & available[:, p] for q, p in options], axis=1)
                   if options else np.zeros((n, 0), dtype=bool))
    cross = _assign(cross_avail, cross_per_pair, rng_for("views", seed, "cross"))
    stats.short["cross"] = int(sum((c < 0).sum() for c in cross))
    for oi, (q, p) in enumerate(options):
        pairs = np.sort(np.concatenate([np.flatnonzero(c == oi) for c in cross])) if cross else np.zeros(0, np.int64)
        name = f"{languages[q]}-{languages[p]}"
        stats.cross[name] = len(pairs)
        groups[("cross", name)] = Views(pairs, np.full(len(pairs), q, np.int16), np.full(len(pairs), p, np.int16))
    stats.short = Counter({k: v for k, v in stats.short.items() if v})
    return {k: v for k, v in groups.items() if len(v)}, stats
