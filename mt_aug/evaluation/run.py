"""What `mt-aug evaluate` runs, as library calls: read the sets, load the model (or take BM25),
encode through the cache, score, and assemble the report dict (model fields included).

The command line checks its arguments and the report path first (nothing here runs before
that), then calls :func:`evaluate_paths`; a build's dev split is evaluated the same way on its
``dev/lareqa/{lang}.json`` and ``dev/beir/{lang}`` paths.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mt_aug.evaluation import bm25 as bm25_mod
from mt_aug.evaluation.beir import evaluate_beir, read_beir_sets
from mt_aug.evaluation.encode import EmbeddingCache
from mt_aug.evaluation.evaluator import evaluate
from mt_aug.evaluation.lareqa import EvalDataError, read_sets
from mt_aug.evaluation.scoring import BM25, Timings
from mt_aug.sentence_models import check_device, load_model, weights_hash

FORMATS = ("lareqa", "beir")


def _say(note: Callable[[str], None] | None, msg: str) -> None:
    if note is not None:
        note(msg)


def evaluate_paths(model: str, fmt: str, paths: str, languages: list[str] | None = None, *, k: int = 20,
                   batch_size: int = 64, device: str | None = None, with_context: bool = False,
                   passage_ndcg: bool = False, bitext: bool | None = None, strict: bool = False,
                   cache_dir: Path | None = None, show_progress: bool = False,
                   note: Callable[[str], None] | None = None,
                   on_timings: Callable[[str, Timings], None] | None = None) -> dict[str, Any]:
    """The report of ``model`` (a sentence-transformers folder or Hub id, or ``"bm25"``) on the
    ``fmt`` files of ``paths`` (``{lang}`` in it). Raises EvalDataError / ModelError (one
    line each) for bad input. ``note`` receives warnings and a closing summary line;
    ``on_timings(fmt, timings)`` the encode, score and language-bias seconds (for benchmarks:
    the report itself holds no timing, so that it is the same on every run)."""
    if fmt not in FORMATS:
        raise EvalDataError(f"--format {fmt!r}: must be lareqa (XQuAD-R, MLQA-R) or beir (corpus, queries, qrels)")
    bm25 = model == BM25
    if fmt == "lareqa":
        sets: list[Any] = read_sets(paths, languages, strict=strict)
        for s in sets:
            if s.unscorable:
                first = ", ".join(f"{qid!r} ({why})" for qid, why in list(s.unscorable.items())[:3])
                _say(note, f"warning: {s.path}: {len(s.unscorable)} question(s) cannot be scored, e.g. {first}")
    else:
        sets = read_beir_sets(paths, languages)
    loaded: Any = BM25
    model_hash: str | None = None
    if not bm25:
        check_device(device)
        loaded = load_model(model, device)
        model_hash = weights_hash(loaded)
    cache = EmbeddingCache(None if bm25 else cache_dir)
    common = {"batch_size": batch_size, "cache": cache, "show_progress": show_progress,
              "model_hash": model_hash or "", "log": note}
    if fmt == "lareqa":
        result, timings = evaluate(loaded, sets, k=k, with_context=with_context, passages=passage_ndcg,
                                   bitext=bitext, **common)
        head: dict[str, Any] = {"paths": {s.lang: str(s.path) for s in sets},
                                "files_sha256": {s.lang: s.sha256 for s in sets}}
    else:
        result, timings = evaluate_beir(loaded, sets, **common)
        head = {"languages": [s.lang for s in sets]}
    out: dict[str, Any] = {"model": model, "model_sha256": model_hash, "format": fmt, **head, **result}
    if bm25:
        out["bm25"] = {"k1": bm25_mod.K1, "b": bm25_mod.B, "method": bm25_mod.METHOD,
                       "tokenizer": bm25_mod.TOKENIZER, "library": "bm25s"}
    if on_timings is not None:
        on_timings(fmt, timings)
    total = timings.encode_s + timings.score_s
    share = ""
    if total and fmt == "lareqa":
        share = f", language bias {timings.bias_s:.2f} s ({100 * timings.bias_s / total:.1f}%)"
    if bm25:
        _say(note, f"bm25: indexed in {timings.encode_s:.1f} s; score {timings.score_s:.2f} s{share}")
    else:
        _say(note, f"embeddings: {cache.hits} cached, {cache.misses} encoded"
             + (f" (cache {cache_dir})" if cache_dir is not None else " (no cache)")
             + f"; encode {timings.encode_s:.1f} s, score {timings.score_s:.2f} s{share}")
    return out


def evaluate_build(model: str, build_dir: str | Path, languages: list[str] | None = None,
                   **kw: Any) -> dict[str, Any]:
    """The report of ``model`` on a build's dev split (``mt-aug evaluate --build``): the LAReQA
    part (mAP, language bias, bitext mining: sentences aligned across languages) where the
    split has one, and the BEIR part (nDCG@10, Recall@100, MRR@10 over passages), in one report
    (their keys do not overlap). ``kw``: as `evaluate_paths`."""
    from mt_aug.evaluation.dev import dev_paths

    dev = dev_paths(build_dir)
    out: dict[str, Any] = {}
    for fmt, files, pattern in (("lareqa", dev.lareqa, dev.lareqa_pattern), ("beir", dev.beir, dev.beir_pattern)):
        langs = [lang for lang in (languages or dev.languages) if lang in files]
        if not langs:
            continue
        opts = dict(kw)
        if fmt == "beir":  # the sentence options are the LAReQA part's
            for key in ("k", "with_context", "passage_ndcg", "bitext", "strict"):
                opts.pop(key, None)
        part = evaluate_paths(model, fmt, pattern, langs, **opts)
        out.update({key: value for key, value in part.items() if key not in out})
    out["format"] = "dev-split"
    out["build"] = str(build_dir)
    return out


def compare_labels(reports: list[dict[str, Any]], files: list[Path], names: list[str] | None) -> list[str]:
    """What names each report in the chart: ``names``, else its model, else (two reports of
    one model) its file name."""
    if names:
        return names
    models = [str(r["model"]) for r in reports]
    if len(set(models)) == len(models):
        return models
    return [f.name for f in files]
