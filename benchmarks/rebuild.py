"""Rebuild benchmark (issue 8). Prints `name: value` lines at the end.

    .venv/bin/python benchmarks/rebuild.py [--quick]

- full_build_seconds / nochange_rebuild_seconds: the demo config through the build-corpus flow,
  first with an empty translation cache, then again with nothing changed (Prefect's API is
  started once beforehand, so neither figure includes its start-up).
- one_percent_segments_translated: a SQuAD-shaped source (5 questions per paragraph),
  built once, then rebuilt with 1% more pairs (new paragraphs): the share of the rebuild's
  unique segments that went to the model.
- dask_vs_local_overhead: the same SQuAD-shaped build with a fresh cache through a Dask
  LocalCluster (2 workers) over the local runner (wall time ratio).
All translation is real: Bergamot en->pt on this machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for k, v in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
             "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180", "PREFECT_LOGGING_LEVEL": "WARNING"}.items():
    os.environ.setdefault(k, v)

NOUNS = ("river city bridge teacher farmer museum king army treaty island harbour mountain station church engine "
         "library village forest castle market school garden festival railway").split()
VERBS = "built crossed visited described founded painted opened studied defended moved".split()


def squad_doc(n_paragraphs: int, seed: int, prefix: str) -> dict:
    rng = random.Random(seed)
    articles = []
    for a in range(0, n_paragraphs, 4):
        paras = []
        for p in range(a, min(a + 4, n_paragraphs)):
            sents = [f"The {rng.choice(NOUNS)} {rng.choice(VERBS)} the {rng.choice(NOUNS)} near the "
                     f"{rng.choice(NOUNS)} in {rng.randint(1100, 2020)}." for _ in range(5)]
            context = " ".join(sents)
            qas = [{"id": f"{prefix}{p}-{q}", "question": f"Who {rng.choice(VERBS)} the {rng.choice(NOUNS)} {p}-{q}?",
                    "answers": [{"text": sents[0].split()[1], "answer_start": 4}]} for q in range(5)]
            paras.append({"context": context, "qas": qas})
        articles.append({"title": f"{prefix.title()} article {a // 4}", "paragraphs": paras})
    return {"version": "1.1", "data": articles}


def write_config(tmp: Path, name: str, sources: list[Path], out: Path, cache: Path) -> Path:
    srcs = "".join(f"  - name: s{i}\n    format: squad\n    path: {p}\n    license: cc0-1.0\n" for i, p in enumerate(sources))
    text = (f"name: {name}\noutput_dir: {out}\nseed: 1\nlanguages: [en, pt]\nsources:\n{srcs}"
            f"translator:\n  backend: bergamot\n  batch_size: 32\n  unit_size: 256\n"
            f"batching:\n  batch_size: 8\ncache_dir: {cache}\n")
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return path


def timed(flow, *args) -> tuple[float, dict]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    build = Path(flow(*[str(a) for a in args]))
    return time.perf_counter() - t0, json.loads((build / "manifest.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    from prefect import flow

    from flows.build_corpus import build_corpus
    from flows.runners import make_task_runner

    tmp = Path(tempfile.mkdtemp(prefix="mt-aug-bench-rebuild-"))
    os.environ.setdefault("PREFECT_HOME", str(tmp / "prefect"))
    figures: dict[str, float] = {}
    try:
        @flow
        def warm() -> int:
            return 1

        t0 = time.perf_counter()
        warm()
        print(f"# Prefect API start-up: {time.perf_counter() - t0:.1f}s (excluded below)", flush=True)

        demo = ROOT / "configs" / "demo.yaml"
        full, m1 = timed(build_corpus, demo, tmp / "demo-out", tmp / "demo-cache")
        again, m2 = timed(build_corpus, demo, tmp / "demo-out", tmp / "demo-cache")
        print(f"# demo: full {full:.1f}s ({m1['translation']['pt']['translated']} segments translated), "
              f"no-change rebuild {again:.1f}s ({m2['translation']['pt']['translated']} translated)", flush=True)
        figures["full_build_seconds"] = full
        figures["nochange_rebuild_seconds"] = again

        n = 40 if args.quick else 200
        base = tmp / "base.json"
        base.write_text(json.dumps(squad_doc(n, 1, "b")))
        extra = tmp / "extra.json"
        extra.write_text(json.dumps(squad_doc(max(1, n // 100), 2, "x")))
        cfg1 = write_config(tmp, "squadlike", [base], tmp / "sq-out", tmp / "sq-cache")
        t_local, m = timed(build_corpus, cfg1)
        cfg2 = write_config(tmp, "squadlike-plus", [base, extra], tmp / "sq-out2", tmp / "sq-cache")
        _, m_plus = timed(build_corpus, cfg2)
        t = m_plus["translation"]["pt"]
        print(f"# SQuAD-shaped: {m['counts']['kept_pairs']} pairs, {m['translation']['pt']['unique']} unique segments "
              f"in {t_local:.1f}s; +{m_plus['counts']['kept_pairs'] - m['counts']['kept_pairs']} pairs: "
              f"{t['translated']} of {t['unique']} segments translated", flush=True)
        figures["one_percent_segments_translated"] = t["translated"] / t["unique"]

        cfg3 = write_config(tmp, "squadlike-dask", [base], tmp / "sq-out3", tmp / "sq-cache-dask")
        dask_flow = build_corpus.with_options(task_runner=make_task_runner("dask", workers=2))
        t_dask, m_dask = timed(dask_flow, cfg3)
        same = [f["sha256"] for f in m_dask["files"]] == [f["sha256"] for f in m["files"]]
        print(f"# Dask LocalCluster (2 workers): {t_dask:.1f}s vs local {t_local:.1f}s; identical shards: {same}",
              flush=True)
        figures["dask_vs_local_overhead"] = t_dask / t_local
        for k, v in figures.items():
            print(f"{k}: {v:.3f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
