"""The paper's batch recipe (issue 24). Prints `name: value` lines at the end.

    .venv/bin/python benchmarks/batch_recipe.py [--quick]

1. Batches of one source sampled by dataset size (`batching.group_by: [source]`): a synthetic
   corpus of three sources of 100k, 30k and 10k pairs (--quick: 20k / 6k / 2k) in 12 languages
   (SQuAD-shaped: 5 questions per passage), one mono and one cross view per pair, batches of 32
   (benchmarks/shards.py's setup). Packed as today (sources mixed) and with group_by: [source],
   in one process, alternating, best of 3: `pack_seconds_*` is pack + ratio/source balance +
   the hybrid schedule (view assignment is the same for both and counted apart). Then each
   source's share of the schedule's batches of each kind against its share of the pairs
   (`share_error_pp_*`: the largest difference, in percentage points), the largest drift of a
   source from its share over every prefix of the schedule (in batches: how long a block can
   be), the leftovers per source, and the same shares in the sampler's epoch 1 on 1 and 8
   processes (the grouped build written as shards and opened with HybridBatchSampler).
2. Translated hard negatives: a DPR-shaped sample (--quick: 600 pairs; else 2,000: NQ-shaped,
   one question per 100-word passage, 5 BM25-style hard negatives per pair drawn from a pool of
   other passages, so popular ones repeat) built with hard_negatives.translate K = 0, 1, 3 through
   the real pipeline (in process) with a synthetic translation backend (benchmarks/_scale_data.py:
   no model, every quality signal that judges a real translation off). Per K: the unique
   segments the negatives add per pair as `plan` says before the build and as the build's
   manifest shows (unique segments of K minus those of K = 0), and the translation cache's hit
   rate on the builds that follow (K = 3 after K = 1 in the same cache, then K = 3 again).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from shards import LANGS  # noqa: E402  (benchmarks/shards.py: the same 12 languages)

BATCH = 32


# --- 1. single-source batches -----------------------------------------------------------------

def three_source_corpus(sizes: dict[str, int]):  # type: ignore[no-untyped-def]
    import numpy as np
    import pyarrow as pa

    from mt_aug.packing.corpus import Corpus

    ids, passages, sources = [], [], []
    for name, n in sizes.items():
        ids += [f"{name}:{i:08d}" for i in range(n)]
        passages += [f"{name}-p{i // 5:08d}" for i in range(n)]  # about 5 questions per passage
        sources += [name] * n
    pairs = pa.table({"pair_id": pa.array(ids), "passage_id": pa.array(passages), "source": pa.array(sources)})
    n_pairs = len(ids)
    texts = {lang: pa.table({"query": pa.array([f"{lang} question {i}?" for i in range(n_pairs)]),
                             "title": pa.array([f"{lang} title" for _ in range(n_pairs)]),
                             "passage": pa.array([f"{lang} {p} lorem ipsum dolor sit amet" for p in passages])})
             for lang in LANGS}
    codes = np.asarray(pa.array(passages).dictionary_encode().indices, dtype=np.int64)
    order = np.argsort(np.asarray(ids))  # the canonical order (corpus_from_tables sorts by pair_id)
    pairs = pairs.take(pa.array(order))
    texts = {lang: t.take(pa.array(order)) for lang, t in texts.items()}
    return Corpus(list(LANGS), pairs, texts, codes[order])


def pack_once(corpus, views, grouped: bool):  # type: ignore[no-untyped-def]
    from mt_aug.packing.batching import balance_ratio, balance_sources, hybrid_order, pack

    t0 = time.perf_counter()
    packed = pack(views, corpus.passage_codes, BATCH, 1, sources=corpus.source_codes() if grouped else None)
    if grouped:
        balance_sources(packed, 0.5, "size")
    else:
        balance_ratio(packed, 0.5)
    order = hybrid_order(packed.batches, 0.5)
    return time.perf_counter() - t0, packed, order


def shares(order_sources: dict[str, list[str]], sizes: dict[str, int]) -> tuple[float, float]:
    """(largest |batch share - pair share| in points, largest prefix drift in batches) over both kinds."""
    from mt_aug.packing.batching import prefix_drift

    total = sum(sizes.values())
    err = drift = 0.0
    for srcs in order_sources.values():
        got = Counter(srcs)
        for name, n in sizes.items():
            err = max(err, abs(100 * got[name] / len(srcs) - 100 * n / total))
        drift = max(drift, prefix_drift(srcs, {name: got[name] / len(srcs) for name in sizes}))
    return err, drift


def write_grouped(root: Path, corpus, packed, order) -> Path:  # type: ignore[no-untyped-def]
    """The grouped build as shards + schedule + a minimal manifest (what HybridBatchSampler reads)."""
    from mt_aug.packing.shards import write_group, write_schedule

    files = []
    for (kind, group), batches in packed.batches.items():
        for source in dict.fromkeys(b.source for b in batches):
            files += write_group(root, corpus, kind, group, packed.views[(kind, group)],
                                 [b for b in batches if b.source == source], BATCH, 10_000, source)
    write_schedule(root, order, files)
    (root / "manifest.json").write_text(json.dumps({"batch_size": BATCH, "mono_ratio": 0.5, "seed": 1,
                                                    "files": [f.to_dict() for f in files]}))
    return root


def sampler_shares(build: Path, sizes: dict[str, int], world: int) -> tuple[float, float, bool]:
    """Epoch 1 of HybridBatchSampler on `world` processes: share error, drift, and whether every
    step has one kind and one source on all ranks."""
    import pyarrow as pa

    from mt_aug.training import HybridBatchSampler

    s = HybridBatchSampler(build, world_size=world, verify="fast")
    order = s.plan(1).order
    lay = s.layout
    src = [lay.sources[c] for c in lay.source[order].tolist()]
    mono = lay.is_mono[order].tolist()
    one = all(len(set(src[i:i + world])) == 1 and len(set(mono[i:i + world])) == 1
              for i in range(0, len(src), world))
    del pa
    per_kind = {"mono": [s for s, m in zip(src, mono, strict=True) if m],
                "cross": [s for s, m in zip(src, mono, strict=True) if not m]}
    err, drift = shares(per_kind, sizes)
    return err, drift, one


def part1(quick: bool, tmp: Path) -> list[tuple[str, Any]]:
    from mt_aug.packing.views import assign_views

    sizes = {"large": 20_000, "medium": 6_000, "small": 2_000} if quick else \
        {"large": 100_000, "medium": 30_000, "small": 10_000}
    corpus = three_source_corpus(sizes)
    times: dict[bool, list[float]] = {False: [], True: []}
    t_views: dict[bool, float] = {}
    got: dict[bool, Any] = {}
    for _ in range(3):
        for grouped in (False, True):
            t0 = time.perf_counter()
            views, _ = assign_views(corpus.available(), LANGS, mono_per_pair=1, cross_per_pair=1, seed=1,
                                    sources=corpus.source_codes() if grouped else None, batch_size=BATCH,
                                    passages=corpus.passage_codes)
            t_views[grouped] = min(t_views.get(grouped, 1e9), time.perf_counter() - t0)
            t, packed, order = pack_once(corpus, views, grouped)
            times[grouped].append(t_views[grouped] + t)
            got[grouped] = (packed, order)
    packed, order = got[True]
    per_kind = {k: [b.source for b in order if b.kind == k] for k in ("mono", "cross")}
    err, drift = shares(per_kind, sizes)
    counts = packed.source_counts()
    rows = sum(len(v) for v in packed.views.values())
    default_left = sum(packed_d.leftover_count(k) for packed_d in [got[False][0]] for k in packed_d.views)
    print(f"# {sum(sizes.values())} pairs in 3 sources ({', '.join(f'{k} {v}' for k, v in sizes.items())}), "
          f"{len(LANGS)} languages, {rows} views, batches of {BATCH}; view assignment today {t_views[False]:.2f}s, "
          f"by source {t_views[True]:.2f}s")
    print(f"# views + pack + balance + schedule: today {min(times[False]):.2f}s, group_by source {min(times[True]):.2f}s "
          f"(runs: {', '.join(f'{a:.2f}/{b:.2f}' for a, b in zip(times[False], times[True], strict=True))})")
    for name, c in counts.items():
        for kind in ("mono", "cross"):
            print(f"#   {name} {kind}: {c[kind]} batches, {100 * c[kind] / len(per_kind[kind]):.2f}% of {kind} "
                  f"(pairs: {100 * sizes[name] / sum(sizes.values()):.2f}%)")
        print(f"#   {name}: {c['leftover_rows']} leftover rows ({100 * c['leftover_rows'] / (2 * sizes[name]):.2f}% "
              "of its views)")
    print(f"# leftovers today (sources mixed): {default_left} rows")
    build = write_grouped(tmp / "grouped", corpus, packed, order)
    out: list[tuple[str, Any]] = [
        ("pack_seconds_today", round(min(times[False]), 3)),
        ("pack_seconds_group_by_source", round(min(times[True]), 3)),
        ("pack_group_by_source_vs_today", round(min(times[True]) / min(times[False]), 3)),
        ("schedule_share_error_pp", round(err, 3)),
        ("schedule_max_prefix_drift_batches", round(drift, 2)),
    ]
    out += [(f"leftover_rows_{name}", c["leftover_rows"]) for name, c in counts.items()]
    out.append(("leftover_rows_today", default_left))
    for world in (1, 8):
        e, d, one = sampler_shares(build, sizes, world)
        out += [(f"sampler_epoch1_world{world}_share_error_pp", round(e, 3)),
                (f"sampler_epoch1_world{world}_max_prefix_drift_batches", round(d, 2)),
                (f"sampler_epoch1_world{world}_one_kind_and_source_per_step", one)]
    return out


# --- 2. translated hard negatives -------------------------------------------------------------

def gen_dpr(path: Path, n: int, negatives: int = 5, seed: int = 3) -> None:
    """NQ-shaped DPR JSON: a 100-word passage (sentences of 8-20 words) per question, the
    hard negatives drawn from a pool of 3n other passages (popular ones repeat, as BM25's do)."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(20_000)]

    def passage() -> str:
        words, out = 0, []
        while words < 100:
            k = rng.randint(8, 20)
            s = " ".join(rng.choices(vocab, k=k))
            out.append(s[0].upper() + s[1:] + ".")
            words += k
        return " ".join(out)

    pool = [(" ".join(rng.choices(vocab, k=2)).title(), passage()) for _ in range(3 * n)]
    weights = [1.0 / (1 + i) ** 0.5 for i in range(len(pool))]  # a few passages are everybody's negatives
    recs = []
    for i in range(n):
        q = " ".join(rng.choices(vocab, k=rng.randint(6, 12)))
        negs = rng.choices(pool, weights=weights, k=negatives)
        recs.append({"id": f"q{i}", "question": q[0].upper() + q[1:] + "?", "answers": ["x"],
                     "positive_ctxs": [{"title": " ".join(rng.choices(vocab, k=2)).title(), "text": passage()}],
                     "hard_negative_ctxs": [{"title": t, "text": x} for t, x in negs]})
    path.write_text(json.dumps(recs), encoding="utf-8")


def negatives_config(tmp: Path, k: int, dpr: Path) -> Path:
    from _scale_data import SYNTHETIC_MODEL, quality_section

    from mt_aug.config import QualityConfig

    off = {key: False for key in ("garbled", "coverage", "added_content", "entities_accents", "entities_lowercase")
           if key in QualityConfig.model_fields}
    cfg = {"name": f"negs-k{k}", "output_dir": str(tmp / f"out-k{k}"), "cache_dir": str(tmp / "cache"), "seed": 1,
           "languages": ["en", "de"], "sources": [{"name": "dpr", "format": "dpr", "path": str(dpr),
                                                   "license": "cc0-1.0"}],
           "translator": {"backend": "transformers", "model": SYNTHETIC_MODEL, "batch_size": 256, "unit_size": 4096},
           "batching": {"batch_size": 32}, "quality": quality_section() | off, "hard_negatives": {"translate": k},
           "guards": {"max_quality_drop_fraction": 1.0}, "keep_builds": 1}
    path = tmp / f"negs-k{k}.json"
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return path


def part2(quick: bool, tmp: Path) -> list[tuple[str, Any]]:
    from _scale_data import install_synthetic_backend

    from mt_aug.config import load_config
    from mt_aug.pipeline import build
    from mt_aug.pipeline.plan import plan

    install_synthetic_backend()
    n = 600 if quick else 2_000
    dpr = tmp / "dpr.json"
    gen_dpr(dpr, n)
    out: list[tuple[str, Any]] = []
    unique: dict[int, int] = {}
    runs = [(0, "first"), (1, "first"), (3, "after K=1"), (3, "again")]
    for k, when in runs:
        cfg = load_config(negatives_config(tmp, k, dpr))
        report = plan(cfg)
        t0 = time.perf_counter()
        b = build(cfg)
        seconds = time.perf_counter() - t0
        m = json.loads((b / "manifest.json").read_text())
        t = m["translation"]["de"]
        pairs = m["counts"]["kept_pairs"]
        hit = t["cached"] / t["unique"]
        hn = m.get("hard_negatives") or {}
        print(f"# K={k} ({when}): {pairs} pairs, {t['unique']} unique segments ({t['cached']} cached, "
              f"{t['translated']} translated, hit rate {hit:.3f}) in {seconds:.1f}s; plan said "
              f"{report['segments']['de']['to_translate']} to translate; negatives kept "
              f"{(hn.get('languages') or {}).get('de', {}).get('kept', '-')} of {hn.get('asked', '-')}")
        if when == "first":
            unique[k] = t["unique"]
        if k and when == "first":
            planned = report["hard_negatives"]["added_per_pair"]
            built = (t["unique"] - unique[0]) / pairs
            out += [(f"negatives_k{k}_added_segments_per_pair_plan", round(planned, 3)),
                    (f"negatives_k{k}_added_segments_per_pair_build", round(built, 3)),
                    (f"negatives_k{k}_segments_per_pair", round(report["hard_negatives"]["segments"] / pairs, 3))]
        if k == 3 and when != "first":
            tag = "after_k1" if when == "after K=1" else "rebuild"
            out += [(f"negatives_k3_{tag}_cache_hit_rate", round(hit, 4)),
                    (f"negatives_k3_{tag}_plan_to_translate", report["segments"]["de"]["to_translate"]),
                    (f"negatives_k3_{tag}_build_translated", t["translated"])]
        if k == 3 and when == "after K=1":
            unique[3] = t["unique"]
            planned = report["hard_negatives"]["added_per_pair"]
            out += [("negatives_k3_added_segments_per_pair_plan", round(planned, 3)),
                    ("negatives_k3_added_segments_per_pair_build", round((t["unique"] - unique[0]) / pairs, 3)),
                    ("negatives_k3_segments_per_pair", round(report["hard_negatives"]["segments"] / pairs, 3))]
    return out


def main() -> None:
    import logging

    logging.getLogger("mt_aug").setLevel(logging.ERROR)  # the builds' progress and "no eval_sets" lines
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--part", choices=["1", "2", "both"], default="both")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mt-aug-bench-recipe-"))
    try:
        lines = []
        if args.part in ("1", "both"):
            lines += part1(args.quick, tmp)
        if args.part in ("2", "both"):
            lines += part2(args.quick, tmp)
        for name, value in lines:
            print(f"{name}: {value}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
