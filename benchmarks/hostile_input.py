"""Hostile input through the translator (issue 20): a long run of characters without a space.

    .venv/bin/python benchmarks/hostile_input.py           # 5,000 and 20,000 characters, and uncut baselines
    .venv/bin/python benchmarks/hostile_input.py --quick   # 5,000 characters; uncut 1,000

With the bundled Bergamot en->pt model, a line made of one random lower-case "word" is
translated the way `mt-aug translate` and a build do (mt_aug.translation.segment cuts a word
longer than MAX_WORD_CHARS, 64, into pieces, each its own segment; then the engine's
length-sorted batches). The model is loaded once before timing. For comparison, the same kind
of token sent whole (`uncut_...`: what the segmenter did before: the model's time grows with
the square of its length). Target: a 5,000-character token under 20 s on the 2-core machine.
Ends with `name: value` lines.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mt_aug.config import ModelSpec  # noqa: E402
from mt_aug.translation.engine import make_backend  # noqa: E402
from mt_aug.translation.segment import split_sentences  # noqa: E402


def token(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5,000 characters cut; 1,000 uncut")
    args = ap.parse_args()
    spec = ModelSpec()
    backend = make_backend(spec, "en", "pt")
    backend.translate(["Warm up the model."], "en", "pt")
    cut_sizes = [5_000] if args.quick else [5_000, 20_000]
    uncut_sizes = [1_000] if args.quick else [1_000, 3_000]
    for n in cut_sizes:
        cut = [0]
        segs = split_sentences(f"See {token(n, n)} here.", cut=cut)
        t0 = time.perf_counter()
        for i in range(0, len(segs), spec.batch_size):
            backend.translate(segs[i : i + spec.batch_size], "en", "pt")
        dt = time.perf_counter() - t0
        print(f"token_{n}_chars_cut_segments: {len(segs)}")
        print(f"token_{n}_chars_cut_seconds: {dt:.2f}")
    for n in uncut_sizes:
        t0 = time.perf_counter()
        backend.translate([token(n, n)], "en", "pt")
        print(f"token_{n}_chars_uncut_seconds: {time.perf_counter() - t0:.2f}")
    backend.close()


if __name__ == "__main__":
    main()
