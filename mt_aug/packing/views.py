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


def _assign(full: np.ndarray, partial: np.ndarray, partial_avail: np.ndarray, n_opts: int, k: int,
            rng: np.random.Generator) -> list[np.ndarray]:
    """k distinct options per pair. `full[i]`: pair i may take any option; otherwise pair
    partial[j] may take the options where partial_avail[j] is true. Returns, per round, the
    option chosen for each pair (-1: none left)."""
    n = len(full)
    counts = np.zeros(n_opts, dtype=np.int64)
    chosen = [np.full(n, -1, dtype=np.int64) for _ in range(k)]
    if n == 0 or n_opts == 0 or k == 0:
        return chosen
    order = rng.permutation(n)
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[partial] = np.arange(len(partial))
    all_opts = np.arange(n_opts)
    greedy = order if k > 1 else order[~full[order]]
    taken = np.zeros(n_opts, dtype=bool)
    for t, i in enumerate(greedy.tolist()):
        opts = all_opts if full[i] else np.flatnonzero(partial_avail[row_of[i]])
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


def _by_option(chosen: list[np.ndarray], n_opts: int) -> list[np.ndarray]:
    """For each option, the sorted pair indices that chose it (one sort, not one pass per option)."""
    pairs = np.concatenate([np.flatnonzero(c >= 0) for c in chosen]) if chosen else np.zeros(0, np.int64)
    opts = np.concatenate([c[c >= 0] for c in chosen]) if chosen else np.zeros(0, np.int64)
    order = np.lexsort((pairs, opts))
    sorted_pairs = pairs[order]
    bounds = np.searchsorted(opts[order], np.arange(n_opts + 1))
    return [sorted_pairs[bounds[o] : bounds[o + 1]] for o in range(n_opts)]


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

    full = available.all(axis=1)  # the common case: every language, so every option
    partial = np.flatnonzero(~full)
    part = available[partial]
    mono = _assign(full, partial, part, n_langs, mono_per_pair, rng_for("views", seed, "mono"))
    stats.short["mono"] = int(sum((c < 0).sum() for c in mono))
    mono_by_lang = _by_option(mono, n_langs)
    for li, lang in enumerate(languages):
        stats.mono[lang] = len(mono_by_lang[li])
    if mono_mixing == "example":
        p = np.concatenate(mono_by_lang)
        ls = np.concatenate([np.full(len(x), li, np.int16) for li, x in enumerate(mono_by_lang)])
        order = np.lexsort((ls, p))
        groups[("mono", MONO_MIXED)] = Views(p[order], ls[order], ls[order])
    else:
        for li, lang in enumerate(languages):
            p = mono_by_lang[li]
            groups[("mono", lang)] = Views(p, np.full(len(p), li, np.int16), np.full(len(p), li, np.int16))

    options = list(permutations(lang_idx.tolist(), 2))
    cross_part = (np.stack([part[:, q] & part[:, p] for q, p in options], axis=1)
                  if options else np.zeros((len(partial), 0), dtype=bool))
    cross = _assign(full & (n_langs >= 2), partial, cross_part, len(options), cross_per_pair,
                    rng_for("views", seed, "cross"))
    stats.short["cross"] = int(sum((c < 0).sum() for c in cross))
    cross_by_opt = _by_option(cross, len(options))
    for oi, (q, p) in enumerate(options):
        pairs = cross_by_opt[oi]
        name = f"{languages[q]}-{languages[p]}"
        stats.cross[name] = len(pairs)
        groups[("cross", name)] = Views(pairs, np.full(len(pairs), q, np.int16), np.full(len(pairs), p, np.int16))
    stats.short = Counter({k: v for k, v in stats.short.items() if v})
    return {k: v for k, v in groups.items() if len(v)}, stats
