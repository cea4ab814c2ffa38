"""Translation engine benchmark (issue 4). Prints `name: value` lines at the end.

    .venv/bin/python benchmarks/translate.py [--quick]

Figures:
- pipeline_vs_raw_ct2: mt-aug's engine (cache lookup, length-sorted batches, cache writes)
  over a bare loop of tokenize + ctranslate2.Translator.translate_batch + detokenize, same
  batch size, same segments, on a random-weight model of opus-mt base size (CT2 int8).
- ct2_vs_transformers: the pipeline with the CT2 int8 backend over a plain transformers
  `generate` loop at batch 16, fp32.
- rerun_model_calls / one_percent_rerun_fraction: a SQuAD-shaped corpus (5 questions per
  passage, repeated titles) through segment_pairs + the engine, rerun, then 1% new pairs.
- bergamot_threads_speedup: the Bergamot backend's 2-thread pool over a 1-thread loop.
- peak_rss_mb_200k: peak RSS translating 200k unique segments (tiny random model; the
  figure is the working set, not the model) in a subprocess.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = ("river city bridge teacher farmer museum king army treaty island harbour mountain station church "
         "engine library village forest castle market school garden battle empire railway festival").split()
VERBS = "built crossed visited described founded destroyed painted opened studied defended".split()


def sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        k = rng.randint(4, 30)
        words = [rng.choice(WORDS) if i % 3 else rng.choice(VERBS) for i in range(k)]
        out.add(f"The {' '.join(words)} in {rng.randint(1000, 2024)}.")
    return sorted(out)


def build_models(root: Path) -> dict[str, Path]:
    import torch

    from mt_aug.translation.hf import convert
    from tests.fixtures.random_models import build_marian

    torch.set_flush_denormal(True)
    hf = root / "opus-mt-base-random"
    if not (hf / "config.json").exists():
        build_marian(hf, d_model=512, layers=6, heads=8, ffn=2048, vocab_size=58101,
                     sentences=sentences(3000, seed=99), spm_vocab=150)
    ct2 = root / "opus-mt-base-random-ct2-int8"
    if not (ct2 / "model.bin").exists():
        convert(str(hf), str(ct2), quantization="int8")
    return {"hf": hf, "ct2": ct2}


def n_params(hf: Path) -> int:
    from transformers import AutoModelForSeq2SeqLM

    return sum(p.numel() for p in AutoModelForSeq2SeqLM.from_pretrained(str(hf)).parameters())


def raw_ct2(ct2: Path, segs: list[str], batch: int, max_len: int) -> float:
    import ctranslate2
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(ct2))
    tr = ctranslate2.Translator(str(ct2), device="cpu", compute_type="int8", inter_threads=1, intra_threads=2)
    t0 = time.perf_counter()
    for i in range(0, len(segs), batch):
        chunk = segs[i : i + batch]
        toks = [tok.convert_ids_to_tokens(x) for x in tok(chunk)["input_ids"]]
        res = tr.translate_batch(toks, beam_size=1, max_decoding_length=max_len - 1, max_batch_size=batch)
        [tok.decode(tok.convert_tokens_to_ids(r.hypotheses[0]), skip_special_tokens=True) for r in res]
    return len(segs) / (time.perf_counter() - t0)


def pipeline(spec, segs: list[str], cache_path: Path) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    from mt_aug.translation.cache import TranslationCache
    from mt_aug.translation.engine import translate_unique

    if cache_path.exists():
        cache_path.unlink()
    with TranslationCache(cache_path) as cache:
        t0 = time.perf_counter()
        _, st = translate_unique(segs, spec=spec, src="en", tgt="de", cache=cache)
        dt = time.perf_counter() - t0
    return len(segs) / dt, st


def transformers_loop(hf: Path, segs: list[str], max_len: int) -> float:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(str(hf))
    model = AutoModelForSeq2SeqLM.from_pretrained(str(hf)).eval()
    model.generation_config.max_length = None
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(segs), 16):
            enc = tok(segs[i : i + 16], return_tensors="pt", padding=True)
            out = model.generate(**enc, num_beams=1, do_sample=False, max_new_tokens=max_len)
            tok.batch_decode(out, skip_special_tokens=True)
    return len(segs) / (time.perf_counter() - t0)


def squad_shaped(ct2: Path, root: Path, n_passages: int) -> tuple[int, int, int, float]:
    """(model calls for unique segments == unique?, unique, rerun model segs, 1% fraction)."""
    from mt_aug.config import ModelSpec
    from mt_aug.readers.collect import PairsBuilder
    from mt_aug.schema import QAPair
    from mt_aug.translation.cache import TranslationCache
    from mt_aug.translation.engine import translate_unique
    from mt_aug.translation.texts import segment_table

    def segmented(ps: list[QAPair]):  # type: ignore[no-untyped-def]
        b = PairsBuilder()
        for x in ps:
            b.add(x)
        return segment_table(b.finish())

    rng = random.Random(1)
    pool = sentences(n_passages * 6, seed=5)
    titles = [f"Title {i // 4}" for i in range(n_passages)]  # titles repeat across paragraphs
    pairs = []
    for p in range(n_passages):
        passage = " ".join(pool[p * 5 : p * 5 + 5])
        for q in range(5):
            pairs.append(QAPair("s", f"{p}-{q}", f"What {rng.choice(VERBS)} the {rng.choice(WORDS)} {p} {q}?",
                                titles[p], passage, (), f"s:{p}-{q}", f"p{p}"))
    spec = ModelSpec(backend="ctranslate2", model=str(ct2), max_length=32, batch_size=32)
    cache_path = root / "squad-cache.sqlite"
    if cache_path.exists():
        cache_path.unlink()

    def run(ps: list[QAPair]) -> tuple[int, int]:
        segs = segmented(ps).unique()
        with TranslationCache(cache_path) as cache:
            _, st = translate_unique(segs, spec=spec, src="en", tgt="de", cache=cache)
        return st.translated, st.unique

    translated, unique = run(pairs)
    occurrences = segmented(pairs).occurrences()
    assert translated == unique, (translated, unique)
    rerun, _ = run(pairs)
    # 1% new pairs, shaped like the rest: new paragraphs with 5 questions each
    extra_pool = sentences(n_passages * 6, seed=77)
    extra = []
    for p in range(max(1, n_passages // 100)):
        passage = " ".join(extra_pool[p * 5 : p * 5 + 5])
        extra += [QAPair("s", f"n{p}-{q}", f"Which new {rng.choice(WORDS)} {p} {q}?", f"New title {p}", passage,
                         (), f"s:n{p}-{q}", f"pn{p}") for q in range(5)]
    after, unique_after = run(pairs + extra)
    print(f"# squad-shaped: {len(pairs)} pairs, {occurrences} segment occurrences, {unique} unique; "
          f"+{len(extra)} pairs -> {after} new of {unique_after}", flush=True)
    return translated, unique, rerun, after / unique_after


def bergamot_speedup(n: int) -> float:
    from concurrent.futures import ThreadPoolExecutor

    from mt_aug.translation.bergamot import BergamotBackend

    segs = sentences(n, seed=3)
    b = BergamotBackend("en", "pt", threads=2)
    b.translate(segs[:8], "en", "pt")  # load
    t0 = time.perf_counter()
    for s in segs:
        b._engine.translate(s)
    single = time.perf_counter() - t0
    t0 = time.perf_counter()
    b.translate(segs, "en", "pt")
    pooled = time.perf_counter() - t0
    b.close()
    del ThreadPoolExecutor
    return single / pooled


def rss_child(n: int, root: str) -> None:
    """Run in a subprocess: translate n unique segments with a tiny CT2 model built by the
    parent (so torch is never imported here), print RSS after loading and at peak."""
    from mt_aug.config import ModelSpec
    from mt_aug.translation.cache import TranslationCache
    from mt_aug.translation.engine import make_backend, translate_unique

    r = Path(root)
    spec = ModelSpec(backend="ctranslate2", model=str(r / "tiny-ct2"), max_length=12, batch_size=64)
    backend = make_backend(spec, "en", "de")
    segs = sentences(n, seed=11)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with TranslationCache(r / "rss.sqlite") as cache:
        translate_unique(segs, spec=spec, src="en", tgt="de", cache=cache, backend_factory=lambda: backend)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{base:.1f} {peak:.1f} {'torch' in sys.modules}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "mt-aug-bench-translate"))
    ap.add_argument("--rss-child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.workdir)
        return
    import torch

    from mt_aug.config import ModelSpec

    torch.set_flush_denormal(True)
    root = Path(args.workdir)
    root.mkdir(parents=True, exist_ok=True)
    n = 300 if args.quick else 2000
    n_hf = 96 if args.quick else 400
    max_len = 48
    figures: dict[str, float] = {}
    t0 = time.perf_counter()
    models = build_models(root)
    print(f"# random opus-mt-base-size model: {n_params(models['hf']) / 1e6:.1f}M parameters "
          f"(built in {time.perf_counter() - t0:.0f}s)", flush=True)
    segs = sentences(n)
    spec = ModelSpec(backend="ctranslate2", model=str(models["ct2"]), compute_type="int8", batch_size=32,
                     max_length=max_len, threads=2)
    raw = raw_ct2(models["ct2"], segs, 32, max_len)
    pipe, st = pipeline(spec, segs, root / "bench-cache.sqlite")
    print(f"# {n} segments: raw CT2 loop {raw:.1f} seg/s, pipeline {pipe:.1f} seg/s "
          f"({st.model_calls} model calls)", flush=True)
    figures["pipeline_vs_raw_ct2"] = pipe / raw
    hf_rate = transformers_loop(models["hf"], segs[:n_hf], max_len)
    pipe_sub, _ = pipeline(spec, segs[:n_hf], root / "bench-cache2.sqlite")
    print(f"# {n_hf} segments: transformers generate fp32 b16 {hf_rate:.1f} seg/s, "
          f"pipeline CT2 int8 {pipe_sub:.1f} seg/s", flush=True)
    figures["ct2_vs_transformers"] = pipe_sub / hf_rate
    _, _, rerun, frac = squad_shaped(models["ct2"], root, 100 if args.quick else 400)
    figures["rerun_model_calls"] = rerun
    figures["one_percent_rerun_fraction"] = frac
    figures["bergamot_threads_speedup"] = bergamot_speedup(100 if args.quick else 400)
    n_rss = 20_000 if args.quick else 200_000
    from mt_aug.translation.hf import convert
    from tests.fixtures.random_models import build_marian

    if not (root / "tiny-ct2" / "model.bin").exists():
        convert(str(build_marian(root / "tiny")), str(root / "tiny-ct2"), quantization="int8")
    (root / "rss.sqlite").unlink(missing_ok=True)
    out = subprocess.run([sys.executable, __file__, "--rss-child", str(n_rss), "--workdir", str(root)],
                         capture_output=True, text=True, check=True).stdout.split()
    print(f"# {n_rss} segments: RSS after model load {out[0]} MB, peak {out[1]} MB (torch imported: {out[2]})",
          flush=True)
    figures["rss_growth_mb_200k" if not args.quick else "rss_growth_mb_20k"] = float(out[1]) - float(out[0])
    figures["peak_rss_mb_200k" if not args.quick else "peak_rss_mb_20k"] = float(out[1])
    for k, v in figures.items():
        print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")


if __name__ == "__main__":
    main()
