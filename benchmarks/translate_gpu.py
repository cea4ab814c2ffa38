"""Translation on a GPU through mt-aug's own path (CTranslate2). Prints `name: value` lines.

    PYTHONPATH=. python benchmarks/translate_gpu.py [--quick] [--n 2000] [--cpu-n 256]

For two random-weight models at real sizes, built with tests/fixtures/random_models.py and
converted with mt_aug.translation.hf.convert (float16 weights on disk):
- nllb600m: NLLB-200-distilled-600M's shape (M2M100: d_model 1024, 12+12 layers, 16 heads,
  ffn 4096, vocabulary 256206 = 615M parameters; the tokenizer is build_nllb's tiny one, the
  rest of the vocabulary is padding CTranslate2 names madeupwordN);
- marian74m: opus-mt base (d_model 512, 6+6 layers, 8 heads, ffn 2048, vocabulary 58101).
Each model translates the same generated English segments (4-30 words) through
`mt_aug.translation.engine.translate_unique` with a fresh TranslationCache and
ModelSpec(backend="ctranslate2", device=..., compute_type=..., batch_size=...): on the GPU in
float16 at batch 32/64/128 and in int8_float16 at batch 128; on the CPU in int8 with all cores
at batch 32 (fewer segments: --cpu-n). Model load and a warm-up batch are not timed.
Output tokens are counted at the CTranslate2 call (a counting proxy around the backend's
Translator). Random weights rarely emit EOS, so most outputs run to --max-length: per-token
figures travel to real models better than per-segment ones.
Skips (exit 0, with the reason) where ctranslate2 is missing or sees no CUDA device.

ctranslate2 4.8.5's wheel loads libcublas.so.12 (CUDA 12). On a CUDA 13-only machine (the H100
this was measured on) point it at cuBLAS 13, which has the nine functions it calls:
    mkdir -p /tmp/cu12 && ln -sf /usr/local/cuda-13.0/targets/x86_64-linux/lib/libcublas.so.13 \
        /tmp/cu12/libcublas.so.12 && export LD_LIBRARY_PATH=/tmp/cu12:$LD_LIBRARY_PATH
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from translate import sentences  # noqa: E402  (benchmarks/translate.py's generator)

NLLB_600M = {"d_model": 1024, "layers": 12, "heads": 16, "ffn": 4096, "vocab_size": 256206}


def build_nllb_sized(folder: Path, *, d_model: int, layers: int, heads: int, ffn: int, vocab_size: int) -> Path:
    """build_nllb's tokenizer and language codes with a model of the given size (the fixture
    builds d_model 64 only); init_std 0.02 as the real config, so float16 does not overflow."""
    import torch
    from transformers import AutoTokenizer, M2M100Config, M2M100ForConditionalGeneration

    from tests.fixtures.random_models import build_nllb

    build_nllb(folder)
    tok = AutoTokenizer.from_pretrained(str(folder))
    config = M2M100Config(vocab_size=max(vocab_size, len(tok)), d_model=d_model, encoder_layers=layers,
                          decoder_layers=layers, encoder_attention_heads=heads, decoder_attention_heads=heads,
                          encoder_ffn_dim=ffn, decoder_ffn_dim=ffn, max_position_embeddings=1024,
                          pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                          bos_token_id=tok.bos_token_id, decoder_start_token_id=tok.eos_token_id,
                          init_std=0.02, scale_embedding=True)
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = M2M100ForConditionalGeneration(config)
    model.to("cpu").save_pretrained(str(folder))
    return folder


def build(root: Path, quick: bool) -> dict[str, tuple[Path, int]]:
    """{name: (CTranslate2 folder, parameter count)}."""
    from tests.fixtures.random_models import build_marian
    from mt_aug.translation.hf import convert

    if quick:  # a smoke test of this script: tiny shapes
        nllb = {"d_model": 64, "layers": 2, "heads": 2, "ffn": 128, "vocab_size": 1000}
        marian = {"d_model": 64, "layers": 2, "heads": 2, "ffn": 128, "vocab_size": 1000}
    else:
        nllb = NLLB_600M
        marian = {"d_model": 512, "layers": 6, "heads": 8, "ffn": 2048, "vocab_size": 58101}
    out = {}
    for name, size in (("nllb600m", nllb), ("marian74m", marian)):
        hf, ct2 = root / name, root / f"{name}-ct2-float16"
        t0 = time.perf_counter()
        if name.startswith("nllb"):
            build_nllb_sized(hf, **size)
        else:
            build_marian(hf, sentences=sentences(3000, seed=99), spm_vocab=150, **size)
        convert(str(hf), str(ct2), quantization="float16")
        out[name] = (ct2, n_params(size))
        print(f"{name}.build_convert_s: {time.perf_counter() - t0:.1f}", flush=True)
    return out


def n_params(s: dict[str, int]) -> int:
    """Encoder-decoder transformer with a shared (tied) embedding, biases and layer norms."""
    d, f, n = s["d_model"], s["ffn"], s["layers"]
    attn = 4 * d * d + 4 * d
    ffn = 2 * d * f + d + f
    enc = n * (attn + ffn + 4 * d) + 2 * d
    dec = n * (2 * attn + ffn + 6 * d) + 2 * d
    return s["vocab_size"] * d + enc + dec


class CountingTranslator:
    """Stands in for a ctranslate2.Translator: counts the tokens it returns."""

    def __init__(self, inner: object) -> None:
        self.inner, self.tokens, self.hyps = inner, 0, 0

    def translate_batch(self, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        results = self.inner.translate_batch(*args, **kwargs)  # type: ignore[attr-defined]
        self.tokens += sum(len(r.hypotheses[0]) for r in results)
        self.hyps += len(results)
        return results


def measure(name: str, ct2: Path, segs: list[str], *, device: str, compute_type: str, batch: int,
            threads: int, max_length: int, tmp: Path) -> None:
    from mt_aug.config import ModelSpec
    from mt_aug.translation.cache import TranslationCache
    from mt_aug.translation.engine import _BACKENDS, shared_backend, translate_unique

    tag = f"{name}.{device}.{compute_type}.bs{batch}"
    spec = ModelSpec(backend="ctranslate2", model=str(ct2), device=device, compute_type=compute_type,
                     batch_size=batch, threads=threads, max_length=max_length)
    t0 = time.perf_counter()
    try:
        backend = shared_backend(spec, "en", "pt")  # the engine's own backend, loaded before timing
        backend.translate(segs[:batch], "en", "pt")  # warm-up (CUDA kernels, allocator)
    except Exception as exc:  # report where the path breaks, go on with the next setting
        print(f"{tag}.error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", flush=True)
        return
    load_s = time.perf_counter() - t0
    counter = CountingTranslator(backend.translator)  # type: ignore[attr-defined]
    backend.translator = counter  # type: ignore[attr-defined]
    cache_path = tmp / f"{tag}.sqlite"
    with TranslationCache(cache_path) as cache:
        t0 = time.perf_counter()
        got, st = translate_unique(segs, spec=spec, src="en", tgt="pt", cache=cache)
        dt = time.perf_counter() - t0
    hit = sum(t.hit_length_limit for t in got.values())
    print(f"{tag}.segments: {len(segs)}", flush=True)
    print(f"{tag}.load_and_warmup_s: {load_s:.1f}")
    print(f"{tag}.seconds: {dt:.2f}")
    print(f"{tag}.segments_per_s: {len(segs) / dt:.1f}")
    print(f"{tag}.output_tokens_per_s: {counter.tokens / dt:.0f}")
    print(f"{tag}.mean_output_tokens: {counter.tokens / max(counter.hyps, 1):.1f}")
    print(f"{tag}.hit_length_limit_fraction: {hit / len(got):.3f}")
    print(f"{tag}.model_calls: {st.model_calls}")
    print(f"{tag}.distinct_outputs: {len({t.text for t in got.values()})}", flush=True)
    backend.close()
    _BACKENDS.clear()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="tiny models, few segments (smoke test)")
    ap.add_argument("--n", type=int, default=2000, help="segments on the GPU")
    ap.add_argument("--cpu-n", type=int, default=256, help="segments on the CPU")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--batches", default="32,64,128")
    ap.add_argument("--models", default="nllb600m,marian74m")
    ap.add_argument("--root", type=Path, default=None, help="where to build the models (default: a temp dir)")
    args = ap.parse_args()
    try:
        import ctranslate2
    except ImportError:
        print("skipped: ctranslate2 is not installed")
        return
    gpu = ctranslate2.get_cuda_device_count() > 0
    if not gpu and not args.quick:  # --quick without a GPU: the CPU rows alone (a smoke test)
        print("skipped: ctranslate2 sees no CUDA device")
        return
    import torch

    if torch.cuda.is_available():
        print(f"device: {torch.cuda.get_device_name(0)}")
    print(f"cpu_cores: {os.cpu_count()}")
    print(f"ctranslate2: {ctranslate2.__version__}")
    if gpu:
        print(f"ct2_cuda_compute_types: {','.join(sorted(ctranslate2.get_supported_compute_types('cuda')))}")
    n, cpu_n = (64, 16) if args.quick else (args.n, args.cpu_n)
    segs = sentences(n, seed=7)
    print(f"segments: {n}")
    print(f"mean_source_words: {sum(len(s.split()) for s in segs) / n:.1f}")
    print(f"max_length: {args.max_length}", flush=True)
    batches = [int(b) for b in args.batches.split(",")]
    with tempfile.TemporaryDirectory() as d:
        root = args.root or Path(d)
        tmp = Path(d)
        models = build(root, args.quick)
        for name in args.models.split(","):
            ct2, params = models[name]
            print(f"{name}.params_m: {params / 1e6:.0f}")
            for b in batches if gpu else []:
                measure(name, ct2, segs, device="cuda", compute_type="float16", batch=b, threads=1,
                        max_length=args.max_length, tmp=tmp)
            if gpu:
                measure(name, ct2, segs, device="cuda", compute_type="int8_float16", batch=max(batches), threads=1,
                        max_length=args.max_length, tmp=tmp)
            measure(name, ct2, segs[:cpu_n], device="cpu", compute_type="int8", batch=32,
                    threads=os.cpu_count() or 1, max_length=args.max_length, tmp=tmp)


if __name__ == "__main__":
    main()
