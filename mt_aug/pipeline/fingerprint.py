"""Explicit content hashes that key the cached results of build stages: the stage's code,
its config section and the fingerprints of its input files. Nothing is keyed on pickled
inputs."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from mt_aug.config import BuildConfig

PACKAGE = Path(__file__).resolve().parent

# The modules whose code decides each stage's result.
STAGE_CODE: dict[str, tuple[str, ...]] = {
    "eval-index": ("decontaminate.py", "eval_sets.py", "normalize.py", "languages.py", "readers/squad.py"),
    "collect": ("collect.py", "readers", "normalize.py", "schema.py", "accounting.py"),
    "decontaminate": ("decontaminate.py", "normalize.py", "collect.py", "stages.py"),
    "segment": ("segment.py", "reassemble.py"),
}


@lru_cache(maxsize=None)
def code_hash(stage: str) -> str:
    h = hashlib.sha256()
    for rel in STAGE_CODE[stage]:
        path = PACKAGE / rel
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []
        for f in files:
            h.update(f.relative_to(PACKAGE).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Path, size and modification time (what make and rsync trust): cheap on 8 GB inputs."""
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _key(stage: str, **parts: Any) -> str:
    blob = json.dumps({"stage": stage, "code": code_hash(stage), **parts}, sort_keys=True, default=str)
    return f"mt-aug-{stage}-" + hashlib.sha256(blob.encode()).hexdigest()


def eval_index_key(cfg: BuildConfig) -> str:
    files = sorted({str(p) for es in cfg.eval_sets for lang in cfg.languages
                    for p in es.files(lang) + es.qrels_files(lang) + es.corpus_files(lang)})
    return _key("eval-index", eval_sets=[es.model_dump(mode="json") for es in cfg.eval_sets],
                decontamination=cfg.decontamination.model_dump(mode="json"), languages=cfg.languages,
                files=[file_fingerprint(Path(f)) for f in files])


def collect_key(cfg: BuildConfig) -> str:
    # Hugging Face datasets are keyed by name, subset and split (their revision is the Hub's).
    return _key("collect", sources=[s.model_dump(mode="json") for s in cfg.sources],
                files=[file_fingerprint(p) for s in cfg.sources for _, p in s.input_files()])


def decontaminate_key(cfg: BuildConfig) -> str:
    return _key("decontaminate", collect=collect_key(cfg), eval_index=eval_index_key(cfg))


def segment_key(cfg: BuildConfig) -> str:
    return _key("segment", decontaminate=decontaminate_key(cfg))
