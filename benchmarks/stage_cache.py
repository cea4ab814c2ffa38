"""The stage cache at 1M pairs (issue 20): keying stages by content, and cached stage results
as data next to the pickles they replace.

    .venv/bin/python benchmarks/stage_cache.py            # 1M pairs (SQuAD-shaped, ~240 MB)
    .venv/bin/python benchmarks/stage_cache.py --quick    # 100k pairs

The source is benchmarks/readers.py's generated SQuAD JSON (random words, 5 questions per
passage). Content keys: the first `mt_aug.core.fingerprint.content_sha256` of the file (streamed,
1 MiB reads: what a build's stage keys and its manifest cost together, once per process), a
later call (memoized on the file's state), and for scale, the SQuAD reader on the same file
(what `collect` does with it anyway). Stage results: the collect and segment stages run on
it, and the eval-index stage on the 12 XQuAD languages (../shared/data/xquad, when present).
For each result: seconds to write it with
`mt_aug.pipeline.results.write_result` (zip of JSON + Arrow IPC) and read it back with
`read_result`, its size, and the same for `pickle` (what `<cache_dir>/results/<key>.pkl` held
before; loading a pickle can run code, which is why it went). Ends with `name: value` lines.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from readers import gen_squad, time_reader  # noqa: E402

from mt_aug.core import fingerprint  # noqa: E402

XQUAD = ROOT.parent / "shared" / "data" / "xquad"
LANGS = ["en", "ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]


def _time(label: str, result, folder: Path) -> None:  # type: ignore[no-untyped-def]
    from mt_aug.pipeline.results import read_result, write_result

    data, pkl = folder / f"{label}.zip", folder / f"{label}.pkl"
    t0 = time.perf_counter()
    with open(data, "wb") as f:
        write_result(f, result)
    t1 = time.perf_counter()
    with open(data, "rb") as f:
        read_result(f)
    t2 = time.perf_counter()
    with open(pkl, "wb") as f:
        pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
    t3 = time.perf_counter()
    with open(pkl, "rb") as f:
        pickle.load(f)  # noqa: S301 - our own file, for the comparison
    t4 = time.perf_counter()
    print(f"{label}_write_seconds: {t1 - t0:.2f}")
    print(f"{label}_read_seconds: {t2 - t1:.2f}")
    print(f"{label}_mb: {data.stat().st_size / 1e6:.1f}")
    print(f"{label}_pickle_write_seconds: {t3 - t2:.2f}")
    print(f"{label}_pickle_read_seconds: {t4 - t3:.2f}")
    print(f"{label}_pickle_mb: {pkl.stat().st_size / 1e6:.1f}")


def content_keys(src: Path, work: Path) -> None:
    size_mb = src.stat().st_size / 1e6
    src.read_bytes()  # in the page cache, as a file just written or read by collect is
    fingerprint.clear()
    t0 = time.perf_counter()
    fingerprint.content_sha256(src)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(100):
        fingerprint.content_sha256(src)
    again = (time.perf_counter() - t0) / 100
    _, _, read_s = time_reader("squad", work)
    print(f"source_mb: {size_mb:.1f}")
    print(f"sha256_first_seconds: {first:.2f}")
    print(f"sha256_mb_per_s: {size_mb / first:.0f}")
    print(f"sha256_memoized_ms: {again * 1e3:.3f}")
    print(f"squad_read_seconds: {read_s:.2f}")
    print(f"sha256_share_of_read: {first / read_s:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k pairs")
    ap.add_argument("--pairs", type=int, help="pairs (default 1M, quick 100k)")
    args = ap.parse_args()
    n = args.pairs or (100_000 if args.quick else 1_000_000)
    from mt_aug.config import BuildConfig
    from mt_aug.pipeline.executor import LocalExecutor
    from mt_aug.pipeline.stage import StageContext
    from mt_aug.pipeline.stages import CollectStage, EvalIndexStage, SegmentStage

    with tempfile.TemporaryDirectory(prefix="mt-aug-stage-cache-") as tmp:
        work = Path(tmp)
        src = work / "squad.json"  # the name benchmarks/readers.py's time_reader reads
        gen_squad(src, n)
        content_keys(src, work)
        evals = ([{"name": "xquad", "format": "squad", "paths": {lang: str(XQUAD / f"xquad.{lang}.json")
                                                                for lang in LANGS}}]
                 if (XQUAD / "xquad.en.json").is_file() else [])
        cfg = BuildConfig.model_validate({
            "name": "bench", "output_dir": str(work / "out"), "languages": LANGS if evals else ["en", "pt"],
            "sources": [{"name": "gen", "format": "squad", "path": str(src)}], "eval_sets": evals})
        ctx = StageContext(LocalExecutor())
        collected = CollectStage().execute(ctx, cfg, {})
        print(f"pairs: {collected['pairs'].num_rows}")
        _time("collect", collected, work)
        segmented = SegmentStage().execute(ctx, cfg, {"pairs": collected["pairs"],
                                                      "dev_pairs": collected["pairs"].slice(0, 0)})
        print(f"unique_segments: {len(segmented['unique'])}")
        _time("segment", segmented, work)
        if evals:
            _time("eval_index", EvalIndexStage().execute(ctx, cfg, {}), work)


if __name__ == "__main__":
    main()
