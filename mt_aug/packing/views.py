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
from itertools import chain, permutations

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


def _fill_level(counts: np.ndarray, n: int) -> tuple[int, np.ndarray]:
    """The highest level h with sum(max(0, h - counts)) <= n, and what each option takes to reach it."""
    lo, hi = int(counts.min()), int(counts.max()) + n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if np.maximum(0, mid - counts).sum() <= n:
            lo = mid
        else:
            hi = mid - 1
    return lo, np.maximum(0, lo - counts)


def _water_fill(counts: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """How many of n new items each option gets so that counts end as even as possible."""
    if n == 0:
        return np.zeros_like(counts)
    lo, quota = _fill_level(counts, n)
    rest = n - int(quota.sum())
    if rest:
        at_level = np.flatnonzero(counts + quota == lo)
        quota[rng.permutation(at_level)[:rest]] += 1
    return quota


def _unit_fill(counts: np.ndarray, own: np.ndarray, n: int, unit: int, rng: np.random.Generator) -> np.ndarray:
    """How many of n new items (one source's) each option gets so that every option's `own`
    count ends on a multiple of `unit` (a batch) but at most one's: options whose own count is
    part of a batch are topped up first, then whole batches are spread as evenly as they go
    over the options by their own counts (a small source is not heaped on a few options, where
    its few passages would repeat in a batch), the odd ones to the options the least used
    overall (`counts`: the other sources' views too), then the remainder to the least used."""
    quota = np.zeros_like(counts)
    level = counts.astype(np.int64).copy()
    rank = rng.permutation(len(counts))  # which option goes first when levels tie
    short = (-own.astype(np.int64)) % unit
    for o in np.lexsort((rank, level)).tolist():
        if n <= 0:
            break
        add = min(int(short[o]), n)
        quota[o] += add
        level[o] += add
        n -= add
    units, rest = divmod(n, unit)
    if units:
        mine = (own.astype(np.int64) + quota) // unit
        lo, got = _fill_level(mine, units)
        odd = units - int(got.sum())
        if odd:
            at_level = np.flatnonzero(mine + got == lo)
            got[at_level[np.lexsort((rank[at_level], level[at_level]))[:odd]]] += 1
        quota += got * unit
        level += got * unit
    if rest:
        quota[int(np.lexsort((rank, level))[0])] += rest
    return quota


def _spread_labels(quota: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Labels (option i `quota[i]` times) for items of `groups` (e.g. their passage), in the
    order of the items: each option's labels spread evenly over the sequence, and items sorted by
    group (groups in a seeded order), so the items of one group take different options (the
    questions of one passage land in different batches' groups, where they cannot conflict)."""
    keys = np.concatenate([(np.arange(q) + 0.5) / q for q in quota.tolist() if q]) if quota.sum() else np.zeros(0)
    opts = np.repeat(np.arange(len(quota)), quota)
    seq = opts[np.argsort(keys, kind="stable")]
    _, inverse = np.unique(groups, return_inverse=True)
    rank = rng.permutation(int(inverse.max()) + 1 if len(inverse) else 0)
    order = np.lexsort((np.arange(len(groups)), rank[inverse]))
    _separate(seq, inverse[order], len(quota))
    out = np.empty(len(groups), dtype=np.int64)
    out[order] = seq
    return out


def _separate(seq: np.ndarray, grp: np.ndarray, n_opts: int, rounds: int = 8) -> None:
    """Swap labels of `seq` (in place; each label's count unchanged) so that no run of equal
    `grp` holds a label twice where it can be avoided: where two options' spreads cross, the
    even spread puts one option twice in a few consecutive places."""
    n = len(seq)
    if n < 2:
        return
    starts = np.flatnonzero(np.concatenate([[True], grp[1:] != grp[:-1]]))
    ends = np.append(starts[1:], n)
    run_of = np.repeat(np.arange(len(starts)), ends - starts)
    span = int(min((ends - starts).max(), n_opts))
    for _ in range(rounds):
        bad = np.zeros(n, dtype=bool)
        for d in range(1, span):
            bad[d:] |= (grp[d:] == grp[:-d]) & (seq[d:] == seq[:-d])
        if not bad.any():
            return
        for i in np.flatnonzero(bad).tolist():
            r = run_of[i]
            lo, hi = int(starts[r]), int(ends[r])
            if hi - lo > n_opts:
                continue  # more questions than options: some must share one
            held = set(seq[lo:hi].tolist())
            for j in chain(range(hi, n), range(0, lo)):  # lazily: a free label is usually near
                if int(seq[j]) not in held:
                    seq[i], seq[j] = seq[j], seq[i]
                    break


def _assign(full: np.ndarray, partial: np.ndarray, partial_avail: np.ndarray, n_opts: int, k: int,
            rng: np.random.Generator, unit: int = 1, counts: np.ndarray | None = None,
            groups: np.ndarray | None = None) -> list[np.ndarray]:
    """k distinct options per pair. `full[i]`: pair i may take any option; otherwise pair
    partial[j] may take the options where partial_avail[j] is true. Returns, per round, the
    option chosen for each pair (-1: none left). `unit` > 1 (with k = 1): the pairs that may
    take any option fill options in whole batches of `unit` (`_unit_fill`), the pairs of one
    of `groups` (their passage) on different options where they can (`_spread_labels`).
    `counts`: views each option holds already (updated in place: assignments of several
    sources balance together)."""
    n = len(full)
    counts = np.zeros(n_opts, dtype=np.int64) if counts is None else counts
    before = counts.copy()
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
        if unit <= 1:
            quota = _water_fill(counts, len(fulls), rng)
            chosen[0][fulls] = rng.permutation(np.repeat(np.arange(n_opts), quota))
        else:
            quota = _unit_fill(counts, counts - before, len(fulls), unit, rng)
            spread_by = groups[fulls] if groups is not None else np.arange(len(fulls))
            chosen[0][fulls] = _spread_labels(quota, spread_by, rng)
        counts += quota
    return chosen


def _by_option(chosen: list[np.ndarray], n_opts: int) -> list[np.ndarray]:
    """For each option, the sorted pair indices that chose it (one sort, not one pass per option)."""
    pairs = np.concatenate([np.flatnonzero(c >= 0) for c in chosen]) if chosen else np.zeros(0, np.int64)
    opts = np.concatenate([c[c >= 0] for c in chosen]) if chosen else np.zeros(0, np.int64)
    order = np.lexsort((pairs, opts))
    sorted_pairs = pairs[order]
    bounds = np.searchsorted(opts[order], np.arange(n_opts + 1))
    return [sorted_pairs[bounds[o] : bounds[o + 1]] for o in range(n_opts)]


def _cross_available(part: np.ndarray, options: list[tuple[int, int]]) -> np.ndarray:
    return (np.stack([part[:, q] & part[:, p] for q, p in options], axis=1)
            if options else np.zeros((len(part), 0), dtype=bool))


def _by_source(available: np.ndarray, full: np.ndarray, options: list[tuple[int, int]], k: tuple[int, int],
               seed: int, sources: tuple[np.ndarray, list[str]], unit: int,
               passages: np.ndarray | None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The mono and cross choices of `assign_views`, made source by source (group_by: [source]):
    each source's pairs fill the options in whole batches of `unit` where they may take any (so
    a source leaves at most part of one batch per kind unpacked, not part of one per language
    and pair), the questions of one passage on different options, every source balanced on the
    views the others already hold."""
    codes, names = sources
    n, n_langs = available.shape
    mono = [np.full(n, -1, dtype=np.int64) for _ in range(k[0])]
    cross = [np.full(n, -1, dtype=np.int64) for _ in range(k[1])]
    held = (np.zeros(n_langs, dtype=np.int64), np.zeros(len(options), dtype=np.int64))
    for code, name in enumerate(names):
        sel = np.flatnonzero(codes == code)
        if not len(sel):
            continue
        f = full[sel]
        partial = np.flatnonzero(~f)
        part = available[sel][partial]
        groups = passages[sel] if passages is not None else None
        got = _assign(f, partial, part, n_langs, k[0], rng_for("views", seed, "mono", name), unit, held[0], groups)
        for r, c in enumerate(got):
            mono[r][sel] = c
        got = _assign(f & (n_langs >= 2), partial, _cross_available(part, options), len(options), k[1],
                      rng_for("views", seed, "cross", name), unit, held[1], groups)
        for r, c in enumerate(got):
            cross[r][sel] = c
    return mono, cross


def assign_views(
    available: np.ndarray,
    languages: list[str],
    *,
    mono_per_pair: int,
    cross_per_pair: int,
    seed: int,
    mono_mixing: str = "batch",
    sources: tuple[np.ndarray, list[str]] | None = None,
    batch_size: int = 1,
    passages: np.ndarray | None = None,
) -> tuple[dict[tuple[str, str], Views], ViewStats]:
    """`available[i, l]`: pair i has a valid text in languages[l]. Returns views per
    (kind, group): group is the language (mono), `q-p` (cross), or `mixed` (mono rows of
    different languages, with mono_mixing: example). `sources` (each pair's source code, the
    names; group_by: [source]): views are assigned source by source, in whole batches of
    `batch_size` where a pair may take any option, the questions of one of `passages` (each
    pair's passage code) on different options (`_by_source`)."""
    n, n_langs = available.shape
    stats = ViewStats()
    groups: dict[tuple[str, str], Views] = {}
    lang_idx = np.arange(n_langs, dtype=np.int16)

    full = available.all(axis=1)  # the common case: every language, so every option
    partial = np.flatnonzero(~full)
    part = available[partial]
    options = list(permutations(lang_idx.tolist(), 2))
    if sources is not None:
        mono, cross = _by_source(available, full, options, (mono_per_pair, cross_per_pair), seed, sources,
                                 batch_size, passages)
    else:
        mono = _assign(full, partial, part, n_langs, mono_per_pair, rng_for("views", seed, "mono"))
        cross = _assign(full & (n_langs >= 2), partial, _cross_available(part, options), len(options),
                        cross_per_pair, rng_for("views", seed, "cross"))
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

    stats.short["cross"] = int(sum((c < 0).sum() for c in cross))
    cross_by_opt = _by_option(cross, len(options))
    for oi, (q, p) in enumerate(options):
        pairs = cross_by_opt[oi]
        name = f"{languages[q]}-{languages[p]}"
        stats.cross[name] = len(pairs)
        groups[("cross", name)] = Views(pairs, np.full(len(pairs), q, np.int16), np.full(len(pairs), p, np.int16))
    stats.short = Counter({k: v for k, v in stats.short.items() if v})
    return {k: v for k, v in groups.items() if len(v)}, stats
