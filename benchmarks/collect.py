"""The collect stage (read + PairsBuilder) on a generated SQuAD-shaped file: time and peak RSS.

    .venv/bin/python benchmarks/collect.py            # 1M questions (a ~240 MB JSON file)
    .venv/bin/python benchmarks/collect.py --quick    # 100k questions
    .venv/bin/python benchmarks/collect.py --path squad.json   # an existing SQuAD file

The input is generated with benchmarks/readers.py's gen_squad (random words, 5 questions per
passage) into a temporary folder. collect() runs in a child process after its imports, so
`collect_peak_rss_mb` is that process's own peak (imports included, given apart as
`imports_rss_mb`). Ends with `name: value` lines.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _measure(path: Path) -> None:
    from mt_aug.config import BuildConfig
    from mt_aug.readers.collect import collect

    cfg = BuildConfig.model_validate({
        "name": "bench", "output_dir": str(path.parent / "out"), "languages": ["en", "pt"],
        "sources": [{"name": "s", "format": "squad", "path": str(path), "license": "cc0-1.0"}]})
    imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t, c = time.perf_counter(), time.process_time()
    got = collect(cfg)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    n = got.pairs.num_rows
    print(f"pairs: {n}")
    print(f"collect_s: {wall:.1f}")
    print(f"collect_cpu_s: {cpu:.1f}")
    print(f"collect_pairs_per_s: {n / wall:.0f}")
    print(f"collect_peak_rss_mb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    print(f"imports_rss_mb: {imports:.0f}")
    print(f"pairs_table_mb: {got.pairs.nbytes / 2**20:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100k questions instead of 1M")
    ap.add_argument("--path", type=Path, help="an existing SQuAD file instead of a generated one")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    args = ap.parse_args()
    if args.measure:
        _measure(args.measure)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path
        if path is None:
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from readers import gen_squad

            path = Path(tmp) / "squad.json"
            gen_squad(path, 100_000 if args.quick else 1_000_000)
        print(f"file_mb: {path.stat().st_size / 2**20:.0f}")
        sys.stdout.flush()
        subprocess.run([sys.executable, __file__, "--measure", str(path)], check=True)


if __name__ == "__main__":
    main()
