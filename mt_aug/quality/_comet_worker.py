"""COMET-Kiwi scores, run by `mt_aug.quality.qe.CometKiwiScorer` in the Python environment that
has unbabel-comet (it cannot share mt-aug's: see qe.py). Standalone: it imports comet, never
mt_aug.

    python _comet_worker.py --model Unbabel/wmt22-cometkiwi-da --identity
        -> {"sha256": "<checkpoint sha256>", "checkpoint": "<path>"}
    python _comet_worker.py --model M --batch-size 32 --gpus 0 < {"src": ..., "mt": ...} lines
        -> {"scores": [...]}

`--model`: a Hub id (comet.download_model, into the Hugging Face cache) or a checkpoint file
(`model.ckpt`, its `hparams.yaml` beside it or one folder up, as COMET lays them out).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path


def _checkpoint(model: str) -> Path:
    p = Path(model)
    if p.is_file():
        return p
    if p.is_dir():
        found = sorted(p.glob("checkpoints/*.ckpt")) or sorted(p.glob("*.ckpt"))
        if found:
            return found[0]
        raise SystemExit(f"{model}: no .ckpt checkpoint in this folder")
    from comet import download_model

    return Path(download_model(model))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--identity", action="store_true")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--gpus", type=int, default=0, help="0: CPU, 1: a GPU, -1: a GPU where there is one")
    args = ap.parse_args()
    ckpt = _checkpoint(args.model)
    if args.identity:
        print(json.dumps({"sha256": _sha256(ckpt), "checkpoint": str(ckpt)}))
        return
    from comet import load_from_checkpoint

    data = [json.loads(line) for line in sys.stdin if line.strip()]
    gpus = args.gpus
    if gpus < 0:  # auto: a GPU where this environment's torch sees one
        import torch

        gpus = 1 if torch.cuda.is_available() else 0
    model = load_from_checkpoint(str(ckpt))
    out = model.predict(data, batch_size=args.batch_size, gpus=gpus, progress_bar=False)
    print(json.dumps({"scores": [float(s) for s in out.scores]}))


if __name__ == "__main__":
    main()
