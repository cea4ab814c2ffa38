"""Benchmark of decontamination: index build time and memory, matching throughput.

    .venv/bin/python benchmarks/decontaminate.py            # 100k synthetic eval passages, 100k to match
    .venv/bin/python benchmarks/decontaminate.py --quick    # 20k / 20k, well under 3 minutes
    .venv/bin/python benchmarks/decontaminate.py --million  # also match 1M synthetic passages

Measures, in one process (peak RSS is read right after the indexes are built, before any
training text is generated):

1. index build: the 12 XQuAD languages (../shared/data/xquad/xquad.*.json; skipped with a
   note where absent) plus a synthetic BEIR eval set (queries.jsonl + corpus.jsonl written to
   a temporary folder, read back by the real reader) added to the English index;
2. matching throughput on synthetic passages of 120 words and questions of 8 to 16 words, a
   few of them planted copies / near copies of eval texts (found and missed are printed);
3. SQuAD v1.1 dev (10570 questions, 2067 passages) against every XQuAD language: building
   the 12 indexes and matching the whole of SQuAD dev against each.

Synthetic text: pseudo-words drawn from a Zipf-like distribution over a 30k vocabulary (fixed
seed), so common words are as common as in real text and rare ones as rare.

Ends with `name: value` lines: squad_dev_vs_xquad_seconds, index_build_seconds, passages_per_s,
questions_per_s, index_peak_rss_mb (and a few more).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mt_aug.config import EvalSetConfig  # noqa: E402
from mt_aug.decontamination.apply import find_contamination  # noqa: E402
from mt_aug.decontamination.matcher import EvalIndex, build_index  # noqa: E402
from mt_aug.normalize import normalize_text  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
XQUAD_LANGS = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Synth:
    """Deterministic pseudo-text with a Zipf-like word distribution."""

    def __init__(self, seed: int = 13, vocab: int = 30_000) -> None:
        self.rng = np.random.default_rng(seed)  # the texts; the vocabulary is the same for every seed
        vrng = np.random.default_rng(0)
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        lengths = vrng.integers(2, 11, size=vocab)
        words = {"".join(vrng.choice(letters, size=n)) for n in lengths}
        self.words = np.array(sorted(words))
        p = 1.0 / np.arange(1, len(self.words) + 1) ** 1.05
        self.p = p / p.sum()

    def texts(self, count: int, lo: int, hi: int) -> list[str]:
        lens = self.rng.integers(lo, hi + 1, size=count)
        ids = self.rng.choice(len(self.words), size=int(lens.sum()), p=self.p)
        words = self.words[ids].tolist()
        out, pos = [], 0
        for n in lens.tolist():
            out.append(" ".join(words[pos : pos + n]))
            pos += n
        return out

    def passages(self, count: int, words: int = 120) -> list[str]:
        """Passages of `words` words in sentences of about 15 words."""
        out = []
        for t in self.texts(count, words, words):
            w = t.split()
            sentences = [" ".join(w[i : i + 15]) for i in range(0, len(w), 15)]
            out.append(" ".join(s[:1].upper() + s[1:] + "." for s in sentences))
        return out

    def edit(self, text: str) -> str:
        """One word replaced in the middle (a near copy)."""
        w = text.split()
        i = len(w) // 2
        w[i] = "zzq" + w[i]
        return " ".join(w)


def write_beir(folder: Path, n_passages: int, n_queries: int) -> None:
    """The synthetic eval set as BEIR files, plus sample.json (queries and 1% of the passages,
    to plant copies from). Run in a child process, so that the text generated here does not
    count in the peak RSS of the index build."""
    synth = Synth(seed=7)
    folder.mkdir(parents=True, exist_ok=True)
    queries = synth.texts(n_queries, 8, 16)
    corpus_texts: list[str] = []
    q_path, c_path = folder / "queries.jsonl", folder / "corpus.jsonl"
    with open(q_path, "w", encoding="utf-8") as f:
        for i, q in enumerate(queries):
            f.write(json.dumps({"_id": f"q{i}", "text": q + "?"}) + "\n")
    with open(c_path, "w", encoding="utf-8") as f:
        done = 0
        while done < n_passages:
            batch = synth.passages(min(20_000, n_passages - done))
            for p in batch:
                f.write(json.dumps({"_id": f"d{done}", "title": "", "text": p}) + "\n")
                if done % 100 == 0:
                    corpus_texts.append(p)  # a sample to plant copies from
                done += 1
    (folder / "sample.json").write_text(json.dumps({"queries": queries, "passages": corpus_texts}))


def squad_items() -> list[tuple[str, str, str]] | None:
    path = SHARED / "squad" / "dev-v1.1.json"
    if not path.is_file():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [(qa["id"], qa["question"], p["context"]) for a in doc["data"] for p in a["paragraphs"] for qa in p["qas"]]


def xquad_sets() -> list[EvalSetConfig]:
    if not (SHARED / "xquad" / "xquad.en.json").is_file():
        return []
    return [EvalSetConfig(name="xquad", format="squad", paths=str(SHARED / "xquad" / "xquad.{lang}.json"))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="20k synthetic eval passages and 20k to match")
    ap.add_argument("--million", action="store_true", help="also match 1M synthetic passages of 120 words")
    ap.add_argument("--ngram", type=int, default=13)
    ap.add_argument("--similarity", type=float, default=0.9)
    ap.add_argument("--write-synthetic", nargs=3, metavar=("DIR", "PASSAGES", "QUERIES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write_synthetic:
        folder, n_p, n_q = args.write_synthetic
        write_beir(Path(folder), int(n_p), int(n_q))
        return
    logging.basicConfig(level=logging.ERROR)  # the synthetic corpus has no qrels: its warning is expected
    n_eval = 20_000 if args.quick else 100_000
    n_match = 20_000 if args.quick else 100_000
    n_eval_queries = 5_000 if args.quick else 20_000
    figures: dict[str, float] = {}
    synth = Synth()
    print(f"synthetic vocabulary: {len(synth.words)} words; eval corpus {n_eval} passages of 120 words, "
          f"{n_eval_queries} queries; matching {n_match} passages and {n_match} questions")

    with tempfile.TemporaryDirectory(prefix="mt-aug-bench-") as tmp:
        t0 = time.perf_counter()
        folder = Path(tmp) / "synthetic"
        subprocess.run([sys.executable, __file__, "--write-synthetic", str(folder), str(n_eval), str(n_eval_queries)],
                       check=True)
        q_path, c_path = folder / "queries.jsonl", folder / "corpus.jsonl"
        sample = json.loads((folder / "sample.json").read_text())
        eval_queries, eval_sample = sample["queries"], sample["passages"]
        del sample
        print(f"wrote synthetic BEIR eval set in {time.perf_counter() - t0:.1f}s "
              f"({c_path.stat().st_size / 1e6:.0f} MB corpus.jsonl)")
        base_rss = rss_mb()

        # 1. index build: 12 XQuAD languages + the synthetic eval set in English
        xq = xquad_sets()
        synthetic = EvalSetConfig(name="synthetic", format="beir", paths={"en": q_path}, corpus={"en": c_path})
        t0 = time.perf_counter()
        indexes: dict[str, EvalIndex] = {}
        for lang in XQUAD_LANGS:
            idx = build_index(xq + [synthetic], lang, args.ngram, args.similarity)
            if idx is not None:
                indexes[lang] = idx
        build_s = time.perf_counter() - t0
        peak = rss_mb()
        en = indexes["en"]
        array_mb = (en._gram_hash.nbytes + en._gram_pos.nbytes + en._tokens.nbytes) / 2**20
        print(f"index build: {len(indexes)} languages in {build_s:.1f}s "
              f"(en with synthetic set: {en.build_seconds:.1f}s, {en.stats()}, n-gram arrays {array_mb:.0f} MiB)")
        print(f"RSS: {base_rss:.0f} MB before the build, peak {peak:.0f} MB after it")
        if not xq:
            print(f"note: no XQuAD under {SHARED / 'xquad'}: only the synthetic set was indexed")
        figures["index_build_seconds"] = build_s
        figures["index_peak_rss_mb"] = peak
        figures["index_rss_growth_mb"] = peak - base_rss

    # 2. throughput on synthetic passages and questions (1% planted near copies)
    passages = synth.passages(n_match)
    plant = min(len(eval_sample), n_match // 100)
    for i in range(plant):
        passages[i * 100] = "An inserted opening sentence, for the record. " + synth.edit(eval_sample[i])
    t0 = time.perf_counter()
    hits = en.match_many(passages, "passage")
    p_s = time.perf_counter() - t0
    planted_found = sum(hits[i * 100] is not None for i in range(plant))
    other = sum(m is not None for i, m in enumerate(hits) if not (i % 100 == 0 and i // 100 < plant))
    print(f"passages: {n_match} in {p_s:.1f}s = {n_match / p_s:.0f}/s; planted near copies found "
          f"{planted_found}/{plant}; other hits {other}")
    figures["passages_per_s"] = n_match / p_s

    questions = synth.texts(n_match, 8, 16)
    long_queries = [q for q in eval_queries if len(q.split()) >= 10]
    plant_q = min(len(long_queries), n_match // 100)
    for i in range(plant_q):
        questions[i * 100] = synth.edit(long_queries[i]) + "?"
    t0 = time.perf_counter()
    qhits = en.match_many(questions, "question")
    q_s = time.perf_counter() - t0
    q_found = sum(qhits[i * 100] is not None and qhits[i * 100].method == "similarity" for i in range(plant_q))
    q_other = sum(m is not None for i, m in enumerate(qhits) if not (i % 100 == 0 and i // 100 < plant_q))
    print(f"questions: {n_match} in {q_s:.1f}s = {n_match / q_s:.0f}/s; planted one-word edits found by "
          f"similarity {q_found}/{plant_q}; other hits {q_other}")
    figures["questions_per_s"] = n_match / q_s
    del passages, questions, hits, qhits

    if args.million:
        total, t0, found = 1_000_000, time.perf_counter(), 0
        for _ in range(0, total, 50_000):
            found += sum(m is not None for m in en.match_many(synth.passages(50_000), "passage"))
        m_s = time.perf_counter() - t0
        print(f"1M passages (generation included) in {m_s:.0f}s; hits {found}")
        figures["million_passages_seconds"] = m_s
    else:
        figures["projected_million_passages_seconds"] = 1e6 / figures["passages_per_s"]
    del indexes, en

    # 3. SQuAD v1.1 dev against every XQuAD language
    items = squad_items()
    if items is None or not xq:
        print(f"note: SQuAD dev or XQuAD missing under {SHARED}: squad_dev_vs_xquad_seconds not measured")
    else:
        t0 = time.perf_counter()
        xq_indexes = {lang: build_index(xq, lang, args.ngram, args.similarity) for lang in XQUAD_LANGS}
        t_build = time.perf_counter() - t0
        dropped = {}
        for lang, idx in xq_indexes.items():
            assert idx is not None
            dropped[lang] = len(find_contamination(items, idx, {}))
        total = time.perf_counter() - t0
        print(f"SQuAD dev ({len(items)} pairs, {len({p for _, _, p in items})} passages) vs XQuAD x12: "
              f"{total:.1f}s ({t_build:.1f}s building the 12 indexes); pairs matched per language: {dropped}")
        figures["squad_dev_vs_xquad_seconds"] = total
        # where the time goes: normalize.normalize_text alone, on the same texts (once per language)
        texts = list(dict.fromkeys(p for _, _, p in items)) + [q for _, q, _ in items]
        t0 = time.perf_counter()
        for lang in XQUAD_LANGS:
            for t in texts:
                normalize_text(t, lang)
        norm_s = time.perf_counter() - t0
        print(f"  of which normalize.normalize_text of the SQuAD dev texts, once per language: {norm_s:.1f}s")
        figures["squad_dev_normalize_seconds"] = norm_s

    print()
    for name in ("squad_dev_vs_xquad_seconds", "squad_dev_normalize_seconds", "index_build_seconds", "passages_per_s", "questions_per_s",
                 "index_peak_rss_mb", "index_rss_growth_mb", "million_passages_seconds",
                 "projected_million_passages_seconds"):
        if name in figures:
            print(f"{name}: {figures[name]:.1f}")


if __name__ == "__main__":
    main()
