"""The trainer side (issue 11). Prints `name: value` lines.

    .venv/bin/python benchmarks/training.py [--rows 1000000] [--quick]

A synthetic build is written directly with pyarrow (batches of 32, 10,000 rows per file,
3 mono languages and 4 cross pairs, mono share 0.5, SQuAD-sized texts), then, each in a
fresh child process:

- per batch: one training batch as Python lists of texts through `train_dataset` +
  `HybridBatchSampler` (`ds[indices]`, what a DataLoader does) against the same batch read
  from the memory-mapped shard with pyarrow (`record_batch.to_pydict()`), over the batches
  of epoch 1 in order (target: at most 2x);
- time to first batch: from nothing to the first batch of epoch 0, of epoch 1, and of
  epoch 0 on 8 processes (that one reads the pair and passage ids of every row); and the time
  a DataLoader worker (`num_workers > 0`) takes to unpickle the dataset and read a batch;
- what opening a build checks costs (`open_verify_seconds_per_gb`: the default, every shard's
  sha256 and the checks of `mt_aug.training.checks`; `open_verify_fast_seconds_per_gb`:
  `verify="fast"`), per GB of shards, page cache warm, best of three;
- anonymous (non-file-backed) RSS after reading batches, on the full build and on one tenth
  of it: memory-mapped shards stay in the page cache, not in the process.

--quick: 200,000 rows. --per-batch-chunks: also the same builds with one Arrow record batch
per training batch, as builds before manifest format 3 wrote them (what the anonymous memory
grew with), instead of one per file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BATCH = 32
ROWS_PER_FILE = 10_000
MONO = ["en", "pt", "de"]
CROSS = ["en-pt", "pt-en", "en-de", "de-en"]


def write_build(root: Path, rows: int, per_batch_chunks: bool = False) -> Path:
    """A build of `rows` rows (rounded to whole batches), half of the batches mono. Shards as
    the build writes them (one Arrow record batch per file), or with `per_batch_chunks` one
    record batch per training batch (the layout before manifest format 3)."""
    import numpy as np
    import pyarrow as pa

    from mt_aug.packing.batching import Batch, hybrid_order
    from mt_aug.packing.shards import ShardFile, write_schedule, write_stream
    from mt_aug.schema import SHARD_SCHEMA

    rng = np.random.default_rng(0)
    n_batches = rows // BATCH
    per_kind = {"mono": n_batches // 2, "cross": n_batches - n_batches // 2}
    words = np.array("the of and to in is was for on as with by at from his that an are were which this".split())
    files, batches = [], {}
    pair = 0
    for kind, groups in (("mono", MONO), ("cross", CROSS)):
        for gi, group in enumerate(groups):
            n = per_kind[kind] // len(groups) + (1 if gi < per_kind[kind] % len(groups) else 0)
            ql, pl = (group, group) if kind == "mono" else group.split("-")
            bs_list = [Batch(kind, group, i, np.arange(BATCH)) for i in range(n)]
            batches[(kind, group)] = bs_list
            per_file = ROWS_PER_FILE // BATCH
            for part, start in enumerate(range(0, n, per_file)):
                nb = min(per_file, n - start)
                r = nb * BATCH
                ids = np.arange(pair, pair + r)
                pair += r
                q = [" ".join(rng.choice(words, 10)) + "?" for _ in range(64)]
                p = [" ".join(rng.choice(words, 110)) + "." for _ in range(64)]  # ~600 characters
                # each passage asked 5 questions, in 5 batches (never twice in one, as the packer keeps it)
                table = pa.table({
                    "batch_id": np.repeat([f"{kind}-{group}-{start + i:06d}" for i in range(nb)], BATCH),
                    "query": [f"{q[i % 64]} {i}" for i in ids], "query_lang": [ql] * r,
                    "passage": [f"{p[i % 64]} {i}" for i in ids], "passage_title": [f"title {i // 5}" for i in ids],
                    "passage_lang": [pl] * r, "pair_id": [f"s:{i:08d}" for i in ids],
                    "passage_id": [f"p{(i // (5 * BATCH)) * BATCH + i % BATCH:08x}" for i in ids], "source": ["synthetic"] * r,
                }, schema=SHARD_SCHEMA)
                rel = f"{kind}/{group}/part-{part:05d}.arrow"
                digest = write_stream(root / rel, table, BATCH if per_batch_chunks else None)
                files.append(ShardFile(rel, kind, group, r, nb, digest,
                                       tuple(b.batch_id for b in bs_list[start : start + nb]), (root / rel).stat().st_size))
    schedule = write_schedule(root, hybrid_order(batches, 0.5), files)
    manifest = {"format_version": 2 if per_batch_chunks else 4, "batch_size": BATCH, "mono_ratio": 0.5, "seed": 0,
                "languages": sorted(set(MONO) | {x for c in CROSS for x in c.split("-")}),
                "columns": SHARD_SCHEMA.names, "files": [f.to_dict() for f in files],
                "schedule": schedule.schedule_dict()}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def anon_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(build: str, mode: str, n: int) -> dict[str, float]:
    t0 = time.perf_counter()
    from mt_aug.training import HybridBatchSampler, train_dataset

    out: dict[str, float] = {}
    if mode == "verify":  # opening checks: sha256 of every shard (full) or the small columns only (fast)
        from mt_aug.core.files import sha256_file
        from mt_aug.training.layout import forget_checked, load_layout

        lay = load_layout(build, "fast")
        paths = [lay.build_dir / f for f in lay.files]
        gb = sum(p.stat().st_size for p in paths) / 1e9
        for p in paths:  # the page cache warm, as for a build just written or read
            sha256_file(p)
        out["shards_gb"] = gb
        for label, verify in (("open_verify", "full"), ("open_verify_fast", "fast")):
            best = float("inf")
            for _ in range(3):
                forget_checked()
                t = time.perf_counter()
                load_layout(build, verify)  # type: ignore[arg-type]
                best = min(best, time.perf_counter() - t)
            out[f"{label}_seconds_per_gb"] = best / gb
            out[f"{label}_seconds_per_million_rows"] = best / (lay.num_rows / 1e6)
        t = time.perf_counter()
        for p in paths:
            sha256_file(p)
        out["sha256_alone_seconds_per_gb"] = (time.perf_counter() - t) / gb
        return out
    if mode == "first":  # the first includes importing mt_aug.training, datasets and torch
        for label, epoch, world in (("epoch0_with_imports", 0, 1), ("epoch0", 0, 1), ("epoch1", 1, 1),
                                    ("epoch0_8procs", 0, 8)):
            t = t0 if label.endswith("imports") else time.perf_counter()
            ds = train_dataset(build)
            s = HybridBatchSampler(build, world_size=world)
            s.set_epoch(epoch)
            batch = ds[next(iter(s))]
            assert len(batch["query"]) == BATCH
            out[f"first_batch_{label}_s"] = time.perf_counter() - t
        import pickle

        t = time.perf_counter()  # what a DataLoader worker does (num_workers > 0): unpickle, re-open
        worker_ds = pickle.loads(pickle.dumps(train_dataset(build)))
        assert len(worker_ds[next(iter(s))]["query"]) == BATCH
        out["dataloader_worker_reopen_s"] = time.perf_counter() - t
        return out
    import pyarrow as pa

    ds = train_dataset(build)
    s = HybridBatchSampler(build)
    s.set_epoch(1)
    order = [idx for _, idx in zip(range(n), s, strict=False)]
    lay = s.layout
    # where each batch lies in the shards, for the pyarrow reader
    starts, files = [], []
    off = 0
    for f in lay.files:
        rows = sum(rb.num_rows for rb in pa.ipc.open_stream(pa.memory_map(str(lay.build_dir / f))))
        starts.append((off, f))
        off += rows
    import bisect

    keys = [o for o, _ in starts]
    mapped: dict[str, pa.Table] = {}

    def arrow_batch(first: int, cols: list[str] | None) -> dict:
        i = bisect.bisect_right(keys, first) - 1
        o, f = starts[i]
        if f not in mapped:
            mapped[f] = pa.ipc.open_stream(pa.memory_map(str(lay.build_dir / f))).read_all()
        rows = mapped[f].slice(first - o, BATCH)  # a training batch: a row slice of its file
        return (rows.select(cols) if cols else rows).to_pydict()

    if mode == "rss":
        for idx in order:
            b = ds[idx]
        out["anon_rss_mb"] = anon_rss_mb()
        return out
    for label, cols in (("texts", ["query", "passage"]), ("all_columns", None)):
        view = ds.select_columns(cols) if cols else ds
        for idx in order:  # warm the page cache for both readers
            b, a = view[idx], arrow_batch(idx[0], cols)
            assert a == b and len(b["query"]) == BATCH
        best = {"datasets": float("inf"), "pyarrow": float("inf")}
        for _ in range(3):  # alternating rounds, the best of each (the machine is shared)
            t = time.perf_counter()
            for idx in order:
                view[idx]
            best["datasets"] = min(best["datasets"], time.perf_counter() - t)
            t = time.perf_counter()
            for idx in order:
                arrow_batch(idx[0], cols)
            best["pyarrow"] = min(best["pyarrow"], time.perf_counter() - t)
        for reader, secs in best.items():
            out[f"{reader}_{label}_ms_per_batch"] = secs / len(order) * 1e3
    return out


def run_child(build: Path, mode: str, n: int) -> dict[str, float]:
    res = subprocess.run([sys.executable, __file__, "--child", mode, str(build), "--n", str(n)],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=2000, help="batches read per measurement")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "BUILD"))
    ap.add_argument("--only-verify", action="store_true", help="only the open_verify figures")
    ap.add_argument("--keep", type=Path, default=None, help="write the builds here and keep them")
    ap.add_argument("--per-batch-chunks", action="store_true",
                    help="also measure shards written as one Arrow record batch per training batch (before format 3)")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[1], args.child[0], args.n)))
        return
    rows = 200_000 if args.quick else args.rows
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="mt-aug-train-bench-"))
    try:
        big, small = tmp / f"rows{rows}", tmp / f"rows{rows // 10}"
        for b, r in ((big, rows), (small, rows // 10)):
            if not (b / "manifest.json").is_file():
                t = time.perf_counter()
                write_build(b, r)
                print(f"write_build_{r}_rows_s: {time.perf_counter() - t:.1f}", flush=True)
        if args.only_verify:
            for k, v in run_child(big, "verify", args.n).items():
                print(f"{k}: {v:.3f}")
            return
        speed = run_child(big, "speed", args.n)
        for k, v in speed.items():
            print(f"{k}: {v:.3f}")
        for label in ("texts", "all_columns"):
            ratio = speed[f"datasets_{label}_ms_per_batch"] / speed[f"pyarrow_{label}_ms_per_batch"]
            print(f"datasets_over_pyarrow_{label}: {ratio:.2f}")
        for k, v in run_child(big, "first", args.n).items():
            print(f"{k}: {v:.3f}")
        for k, v in run_child(big, "verify", args.n).items():
            print(f"{k}: {v:.3f}")
        for b, r in ((small, rows // 10), (big, rows)):
            print(f"anon_rss_mb_{r}_rows: {run_child(b, 'rss', args.n)['anon_rss_mb']:.1f}")
        if args.per_batch_chunks:  # the layout before format 3: Arrow's objects per record batch
            for r in (rows // 10, rows):
                b = tmp / f"rows{r}-per-batch-chunks"
                if not (b / "manifest.json").is_file():
                    write_build(b, r, per_batch_chunks=True)
                print(f"anon_rss_mb_{r}_rows_per_batch_chunks: {run_child(b, 'rss', args.n)['anon_rss_mb']:.1f}")
                if r == rows:
                    for k, v in run_child(b, "first", args.n).items():
                        print(f"{k}_per_batch_chunks: {v:.3f}")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
