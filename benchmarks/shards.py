"""Packing and shard-writing benchmark (issue 6). Prints `name: value` lines at the end.

    .venv/bin/python benchmarks/shards.py [--quick]

A synthetic corpus in 12 languages (every pair available in each), views assigned to give
1M rows (--quick: 200k) over 12 mono languages and 132 cross pairs, packed into batches of
32 and written as Arrow IPC streams of 10,000 rows per file. Compared with writing the very
same tables with a bare `pyarrow.ipc.new_stream` loop. Peak RSS is measured in a subprocess:
after building the corpus (the input) and at the end (input + packing + writing).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LANGS = ["en", "ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_corpus(n_pairs: int):  # type: ignore[no-untyped-def]
    import numpy as np
    import pyarrow as pa

    from mt_aug.packing.corpus import Corpus

    ids = [f"s:{i:08d}" for i in range(n_pairs)]
    n_passages = max(1, n_pairs // 5)  # SQuAD-shaped: about 5 questions per passage
    pairs = pa.table({
        "pair_id": pa.array(ids),
        "passage_id": pa.array([f"p{i % n_passages:08d}" for i in range(n_pairs)]),
        "source": pa.array(["synthetic"] * n_pairs),
    })
    texts = {}
    filler = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " * 2
    for lang in LANGS:
        texts[lang] = pa.table({
            "query": pa.array([f"{lang} question {i} about something?" for i in range(n_pairs)]),
            "title": pa.array([f"{lang} title {i % n_passages}" for i in range(n_pairs)]),
            "passage": pa.array([f"{lang} passage {i % n_passages} {filler}" for i in range(n_pairs)]),
        })
    codes = np.arange(n_pairs, dtype=np.int64) % n_passages
    return Corpus(list(LANGS), pairs, texts, codes)


def child(rows: int, out: str) -> None:
    from mt_aug.packing.batching import balance_ratio, hybrid_order, pack
    from mt_aug.packing.shards import write_group, write_schedule
    from mt_aug.packing.views import assign_views

    mono_per, cross_per = 1, 1  # the paper's setup: one mono and one cross view per pair
    corpus = synthetic_corpus(rows // (mono_per + cross_per))
    base = rss_mb()
    t0 = time.perf_counter()
    views, _ = assign_views(corpus.available(), LANGS, mono_per_pair=mono_per, cross_per_pair=cross_per, seed=1)
    t_views = time.perf_counter() - t0
    packed = pack(views, corpus.passage_codes, 32, 1)
    balance_ratio(packed, 0.5)
    t_pack = time.perf_counter() - t0 - t_views
    build = Path(out)
    files = []
    for (kind, group), batches in packed.batches.items():
        files += write_group(build, corpus, kind, group, views[(kind, group)], batches, 32, 10_000)
    write_schedule(build, hybrid_order(packed.batches, 0.5), files)
    total = time.perf_counter() - t0
    n = sum(f.rows for f in files)
    print(json.dumps({"rows": n, "files": len(files), "seconds": total, "views_s": t_views, "pack_s": t_pack,
                      "write_s": total - t_views - t_pack, "base_rss_mb": base, "peak_rss_mb": rss_mb(),
                      "groups": len(packed.batches)}))


def raw_write(build: Path, dst: Path) -> float:
    """The same tables, written with a bare new_stream loop (tables read before timing)."""
    import pyarrow as pa

    tables = []
    for f in sorted(build.glob("*/*/*.arrow")):
        with pa.memory_map(str(f)) as src:
            tables.append((f.relative_to(build), pa.ipc.open_stream(src).read_all()))
    t0 = time.perf_counter()
    for rel, table in tables:
        path = dst / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table, max_chunksize=32)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.out)
        return
    rows = 200_000 if args.quick else 1_000_000
    tmp = Path(tempfile.mkdtemp(prefix="mt-aug-bench-shards-"))
    try:
        r = subprocess.run([sys.executable, __file__, "--child", str(rows), "--out", str(tmp / "build")],
                           capture_output=True, text=True, check=True)
        res = json.loads(r.stdout.strip().splitlines()[-1])
        raw_s = raw_write(tmp / "build", tmp / "raw")
        size_mb = sum(f.stat().st_size for f in (tmp / "build").rglob("*.arrow")) / 1e6
        print(f"# {res['rows']} rows in {res['files']} files over {res['groups']} groups ({size_mb:.0f} MB): "
              f"views {res['views_s']:.1f}s, pack {res['pack_s']:.1f}s, write {res['write_s']:.1f}s; "
              f"bare pyarrow write {raw_s:.1f}s")
        print(f"# RSS: {res['base_rss_mb']:.0f} MB with the input corpus in memory, peak {res['peak_rss_mb']:.0f} MB")
        print(f"rows_per_s: {res['rows'] / res['seconds']:.0f}")
        print(f"write_vs_raw_pyarrow: {(res['rows'] / res['seconds']) / (res['rows'] / raw_s):.3f}")
        print(f"write_only_vs_raw_pyarrow: {raw_s / res['write_s']:.3f}")
        print(f"peak_rss_mb: {res['peak_rss_mb']:.0f}")
        print(f"rss_growth_mb: {res['peak_rss_mb'] - res['base_rss_mb']:.0f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
