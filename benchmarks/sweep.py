"""Benchmark of the ratio sweep (examples/ratio_sweep.py, issue 21): the paper's loop on one build.

    # the build (SQuAD v1.1 dev into en + pt, decontaminated against XQuAD, 100 dev passages):
    .venv/bin/mt-aug build benchmarks/configs/squad_dev_ptdev.yaml --executor local \\
        --output /work/wt/runs/sweep-build --cache-dir /work/wt/runs/cache
    # how long a step takes here, to choose --steps (trains a few steps at ratio 0.5, no evaluation):
    .venv/bin/python benchmarks/sweep.py /work/wt/runs/sweep-build/current --time-steps 8 --output /tmp/steps
    # the sweep:
    .venv/bin/python benchmarks/sweep.py /work/wt/runs/sweep-build/current --ratios 0,0.5,1 --steps S \\
        --output /work/wt/runs/sweep/run

Runs `ratio_sweep.run_sweep` (the untrained model, then one model per ratio: the same seed,
steps and learning-rate schedule) with a fresh embedding cache, and prints `name: value`
lines: the machine and its load, training seconds and seconds per step, evaluation seconds,
the table's figures per row (mono en / pt, cross en-pt / pt-en, multilingual mAP@20, rank
distance, same-language first and its chance, BEIR nDCG@10 mean, bitext mining mean), and the
cost of language bias: its seconds, its share of the LAReQA part's encoding + scoring (what
`mt-aug evaluate` prints) and its share of the whole dev-split evaluation (target < 5%).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TQDM_DISABLE", "1")


def _example() -> Any:
    spec = importlib.util.spec_from_file_location("ratio_sweep", ROOT / "examples" / "ratio_sweep.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["ratio_sweep"] = mod
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _say(name: str, value: Any) -> None:
    print(f"{name}: {value}", flush=True)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def time_steps(sweep: Any, build: Path, output: Path, steps: int, ratio: float, max_seq_length: int | None) -> None:
    """Train `steps` steps at `ratio` and print the seconds per step (the first step, which
    includes the trainer's warm-up, apart)."""
    from transformers import TrainerCallback

    marks: list[float] = []

    class _Mark(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            marks.append(time.perf_counter())

    t0 = time.perf_counter()
    trainer = sweep.build_trainer(build, output, mono_ratio=ratio, save_steps=None, max_steps=steps,
                                  max_seq_length=max_seq_length, callbacks=[_Mark()], quiet=True)
    start = time.perf_counter()
    trainer.train()
    _say("trainer_setup_seconds", round(start - t0, 2))
    _say("first_step_seconds", round(marks[0] - start, 2))
    per = (marks[-1] - marks[0]) / max(len(marks) - 1, 1)
    _say("seconds_per_step", round(per, 3))
    _say("steps_in_600_seconds", int(600 / per))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", type=Path)
    ap.add_argument("--output", type=Path, required=True)
    ap.add_argument("--ratios", default="0,0.5,1")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--max-seq-length", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--time-steps", type=int, default=None, metavar="K",
                    help="only time K training steps at ratio 0.5 (to choose --steps)")
    args = ap.parse_args()
    import torch

    from mt_aug import progress

    progress.setup_logging("INFO")
    if args.threads:
        torch.set_num_threads(args.threads)
    sweep = _example()
    _say("cpu_count", os.cpu_count())
    _say("torch_threads", torch.get_num_threads())
    _say("load_average_start", _load())
    if args.time_steps:
        time_steps(sweep, args.build, args.output, args.time_steps, 0.5, args.max_seq_length)
        _say("load_average_end", _load())
        return
    if args.steps is None:
        ap.error("--steps (or --time-steps)")
    parts: dict[str, dict[str, Any]] = {}

    def on_timings(name: str, fmt: str, t: Any) -> None:
        parts.setdefault(name, {})[fmt] = t

    summary = sweep.run_sweep(args.build, sweep.parse_ratios(args.ratios), args.steps, args.output,
                              model=args.model, seed=args.seed, max_seq_length=args.max_seq_length,
                              cache_dir=args.output / f"cache-{time.time_ns()}", on_timings=on_timings)
    _say("load_average_end", _load())
    _say("steps", summary["steps"])
    _say("seed", summary["seed"])
    _say("batch_size", summary["batch_size"])
    _say("sweep_seconds", summary["seconds"])
    from mt_aug.evaluation.report import figure_value, load_report

    figures = [("map_mono_en", ("map", "mono", "en")), ("map_mono_pt", ("map", "mono", "pt")),
               ("map_cross_en_pt", ("map", "cross", "en-pt")), ("map_cross_pt_en", ("map", "cross", "pt-en")),
               ("map_multilingual", ("map", "multilingual")),
               ("rank_distance", ("language_bias", "rank_distance", "mean")),
               ("same_language_first", ("language_bias", "same_language_first", "mean")),
               ("same_language_first_chance", ("language_bias", "same_language_first", "chance")),
               ("ndcg10_mean", ("ndcg@10", "mean")), ("bitext_mean", ("bitext_mining", "mean"))]
    for run in summary["runs"]:
        name = run["name"]
        if "train_seconds" in run:
            _say(f"{name}_train_seconds", run["train_seconds"])
            _say(f"{name}_seconds_per_step", round(run["train_seconds"] / run["trained_steps"], 3))
            _say(f"{name}_epochs", f"{run['epochs']} ({run['steps_per_epoch']} steps each: "
                                   f"{run['mono_batches']} mono, {run['cross_batches']} cross)")
            _say(f"{name}_loss_first_last", f"{run['first_loss']:.4f} {run['last_loss']:.4f}")
        _say(f"{name}_eval_seconds", run["dev_eval_seconds"])
        rep = load_report(args.output / run["dev_report"])
        for label, keys in figures:
            v = figure_value(rep, *keys)
            _say(f"{name}_{label}", "-" if v is None else round(v, 4))
        t = parts[name]["lareqa"]
        bias = t.bias_s
        _say(f"{name}_language_bias_seconds", round(bias, 3))
        _say(f"{name}_language_bias_share_of_lareqa", round(bias / (t.encode_s + t.score_s), 5))
        _say(f"{name}_language_bias_share_of_evaluation", round(bias / run["dev_eval_seconds"], 5))
        _say(f"{name}_lareqa_encode_score_seconds", f"{t.encode_s:.1f} {t.score_s:.2f}")
    print()
    print(summary["tables"]["dev"])


if __name__ == "__main__":
    main()
