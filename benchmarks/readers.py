"""Throughput of every source reader, and the memory of streaming an MS MARCO-sized collection.

    .venv/bin/python benchmarks/readers.py            # 1M records per reader, 1M-passage collection
    .venv/bin/python benchmarks/readers.py --quick    # 100k records, 600k passages (> 200 MB), < 3 min

Inputs are generated (random words, nothing real) into a temporary folder: squad, dpr, jsonl
and csv hold the same records, 5 questions per passage in a row as SQuAD asks them (DPR
records also carry one hard negative); msmarco is a collection of unique passages with one
relevant passage for every 10th, as MS MARCO's qrels cover about 6% of its collection.
`msmarco_records_per_s` counts collection lines streamed. The msmarco read runs in a child
process, so its peak RSS (getrusage(RUSAGE_CHILDREN).ru_maxrss) is its own.

Ends with `name: value` lines.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS_PER_PASSAGE = 5
PASSAGE_WORDS = 60
MARCO_QRELS_EVERY = 10


def _words(rng: random.Random, vocab: list[str], n: int) -> str:
    return " ".join(rng.choices(vocab, k=n))


def _vocab(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choices(letters, k=rng.randint(2, 9))) for _ in range(20_000)]


def _records(n: int, seed: int = 1):  # type: ignore[no-untyped-def]
    """(index, passage index, title, passage, question, answer) for n records."""
    rng = random.Random(seed)
    vocab = _vocab(rng)
    passage = title = ""
    for i in range(n):
        if i % QUESTIONS_PER_PASSAGE == 0:
            words = _words(rng, vocab, PASSAGE_WORDS)
            passage = words[0].upper() + words[1:] + "."
            title = _words(rng, vocab, 2).title()
        q = _words(rng, vocab, rng.randint(6, 12))
        yield i, i // QUESTIONS_PER_PASSAGE, title, passage, q[0].upper() + q[1:] + "?", passage.split()[3]


def gen_squad(path: Path, n: int) -> None:
    data: list[dict] = []
    para: dict | None = None
    for i, p, title, passage, q, a in _records(n):
        if para is None or i % QUESTIONS_PER_PASSAGE == 0:
            para = {"context": passage, "qas": []}
            data.append({"title": title, "paragraphs": [para]})
        para["qas"].append({"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": 0}]})
    path.write_text(json.dumps({"version": "1.1", "data": data}), encoding="utf-8")


def gen_dpr(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n")
        prev = ("", "")
        for i, p, title, passage, q, a in _records(n):
            rec = {"dataset": "bench", "question": q, "answers": [a],
                   "positive_ctxs": [{"title": title, "text": passage, "score": 1, "title_score": 0, "passage_id": str(p)}],
                   "negative_ctxs": [],
                   "hard_negative_ctxs": [{"title": prev[0], "text": prev[1], "score": 0, "title_score": 0,
                                           "passage_id": str(p - 1)}] if prev[1] else []}
            if i % QUESTIONS_PER_PASSAGE == QUESTIONS_PER_PASSAGE - 1:
                prev = (title, passage)
            f.write(("" if i == 0 else ",\n") + json.dumps(rec))
        f.write("\n]\n")


def gen_jsonl(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i, _p, title, passage, q, a in _records(n):
            f.write(json.dumps({"id": f"q{i}", "question": q, "context": passage, "title": title, "answer": a}) + "\n")


def gen_csv(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "question", "context", "title", "answer"])
        for i, _p, title, passage, q, a in _records(n):
            w.writerow([f"q{i}", q, passage, title, a])


def gen_msmarco(folder: Path, passages: int) -> None:
    rng = random.Random(7)
    vocab = _vocab(rng)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "collection.tsv", "w", encoding="utf-8") as coll:
        for pid in range(passages):
            coll.write(f"{pid}\t{_words(rng, vocab, PASSAGE_WORDS)}.\n")
    qids = list(range(0, passages, MARCO_QRELS_EVERY))
    with open(folder / "queries.tsv", "w", encoding="utf-8") as qf, open(folder / "qrels.tsv", "w") as rf:
        for qid in qids:
            qf.write(f"{qid}\t{_words(rng, vocab, 7)}\n")
            rf.write(f"{qid}\t0\t{rng.randrange(passages)}\t1\n")


FIELDS = {"question": "question", "passage": "context", "title": "title", "id": "id", "answers": "answer"}


def _source(fmt: str, work: Path):  # type: ignore[no-untyped-def]
    from mt_aug.config import SourceConfig

    if fmt == "msmarco":
        d = work / "msmarco"
        return SourceConfig(name="bench", format="msmarco", queries=d / "queries.tsv", collection=d / "collection.tsv",
                            qrels=d / "qrels.tsv")
    ext = {"squad": "json", "dpr": "json", "jsonl": "jsonl", "csv": "csv"}[fmt]
    fields = FIELDS if fmt in ("jsonl", "csv") else {}
    return SourceConfig(name="bench", format=fmt, path=work / f"{fmt}.{ext}", fields=fields)


def time_reader(fmt: str, work: Path) -> tuple[int, int, float]:
    """(records read, pairs yielded, seconds); pairs are counted, not kept."""
    from mt_aug.accounting import Ledger
    from mt_aug.readers.collect import get_reader

    source = _source(fmt, work)
    ledger = Ledger()
    t0 = time.perf_counter()
    pairs = 0
    for _ in get_reader(fmt)(source, ledger):
        pairs += 1
    dt = time.perf_counter() - t0
    ledger.check()
    return ledger.read_total, pairs, dt


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def msmarco_child(work: Path) -> None:
    """Run in a subprocess: stream the collection, print JSON stats on stdout."""
    import mt_aug.readers.msmarco  # noqa: F401 - imports count in the baseline, not in the read

    baseline = _rss_mb()
    lines = sum(1 for _ in open(work / "msmarco" / "collection.tsv", "rb"))
    _, pairs, dt = time_reader("msmarco", work)
    print(json.dumps({"lines": lines, "pairs": pairs, "seconds": dt, "baseline_rss_mb": baseline}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k records, 600k-passage collection (> 200 MB)")
    ap.add_argument("--records", type=int, help="records per reader (default 1M, quick 100k)")
    ap.add_argument("--passages", type=int, help="MS MARCO collection passages (default 1M, quick 600k)")
    ap.add_argument("--workdir", type=Path, help="where to generate inputs (default: a temporary folder, removed)")
    ap.add_argument("--msmarco-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    if args.msmarco_child:
        msmarco_child(args.msmarco_child)
        return
    n = args.records or (100_000 if args.quick else 1_000_000)
    passages = args.passages or (600_000 if args.quick else 1_000_000)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mt-aug-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    results: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        gen_msmarco(work / "msmarco", passages)
        collection_mb = (work / "msmarco" / "collection.tsv").stat().st_size / 2**20
        print(f"generated msmarco ({passages} passages, {collection_mb:.0f} MB) in {time.perf_counter() - t0:.0f}s",
              flush=True)
        out = subprocess.run([sys.executable, __file__, "--msmarco-child", str(work)], check=True,
                             capture_output=True, text=True).stdout
        child = json.loads(out.strip().splitlines()[-1])
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
        results["msmarco_records_per_s"] = child["lines"] / child["seconds"]
        print(f"msmarco: {child['lines']} collection lines, {child['pairs']} pairs in {child['seconds']:.1f}s; "
              f"peak RSS {peak_mb:.0f} MB (after imports {child['baseline_rss_mb']:.0f} MB)", flush=True)
        shutil.rmtree(work / "msmarco")

        for fmt, gen, name in (("squad", gen_squad, "squad.json"), ("dpr", gen_dpr, "dpr.json"),
                               ("jsonl", gen_jsonl, "jsonl.jsonl"), ("csv", gen_csv, "csv.csv")):
            t0 = time.perf_counter()
            gen(work / name, n)
            size = (work / name).stat().st_size / 2**20
            print(f"generated {fmt} ({n} records, {size:.0f} MB) in {time.perf_counter() - t0:.0f}s", flush=True)
            read, pairs, dt = time_reader(fmt, work)
            results[f"{fmt}_records_per_s"] = read / dt
            print(f"{fmt}: {read} records, {pairs} pairs in {dt:.1f}s", flush=True)
            (work / name).unlink()
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"total {time.perf_counter() - t_start:.0f}s")
    for fmt in ("squad", "dpr", "msmarco", "jsonl", "csv"):
        print(f"{fmt}_records_per_s: {results[f'{fmt}_records_per_s']:.0f}")
    print(f"msmarco_pairs: {child['pairs']}")
    print(f"msmarco_peak_rss_mb: {peak_mb:.0f}")
    print(f"msmarco_file_mb: {collection_mb:.0f}")


if __name__ == "__main__":
    main()
