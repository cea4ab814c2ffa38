"""What keying stages by content costs (issue 20): the sha256 of a 1M-pair source, next to
reading it.

    .venv/bin/python benchmarks/fingerprint.py            # 1M pairs (SQuAD-shaped, ~0.5 GB)
    .venv/bin/python benchmarks/fingerprint.py --quick    # 100k pairs

The source is benchmarks/readers.py's generated SQuAD JSON (random words, 5 questions per
passage). Measured: the first `mt_aug.fingerprint.content_sha256` of the file (streamed, 1 MiB
reads: what a build's stage keys and its manifest cost together, once per process), the second
call (memoized on the file's state: what every later look-up in the same process costs), and
for scale, reading the same file through the SQuAD reader (what `collect` does with it anyway).
The stage keys of a build used size and mtime before: free, and wrong after `cp -p`.
Ends with `name: value` lines.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from readers import gen_squad, time_reader  # noqa: E402

from mt_aug import fingerprint  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k pairs")
    ap.add_argument("--pairs", type=int, help="pairs in the generated source (default 1M, quick 100k)")
    args = ap.parse_args()
    n = args.pairs or (100_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="mt-aug-fingerprint-") as tmp:
        src = Path(tmp) / "squad.json"  # the name benchmarks/readers.py's time_reader reads
        gen_squad(src, n)
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
        _, pairs, read_s = time_reader("squad", Path(tmp))
    print(f"source_pairs: {pairs}")
    print(f"source_mb: {size_mb:.1f}")
    print(f"sha256_first_seconds: {first:.2f}")
    print(f"sha256_mb_per_s: {size_mb / first:.0f}")
    print(f"sha256_memoized_ms: {again * 1e3:.3f}")
    print(f"squad_read_seconds: {read_s:.2f}")
    print(f"sha256_share_of_read: {first / read_s:.3f}")


if __name__ == "__main__":
    main()
