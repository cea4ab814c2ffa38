"""A mono:cross ratio sweep on one build: one model per mono ratio, each trained the same way
and evaluated on the build's dev split, with the untrained model as the first row
(arXiv 2408.10536's X-Y only, hybrid and X-X only trainings, and the mixes between).

    .venv/bin/python examples/ratio_sweep.py out/sweep-build/current --ratios 0,0.25,0.5,0.75,1 \\
        --steps 200 --output out/sweep [--eval-paths 'xquad-r/{lang}.json'] [--seed 13]

For every ratio r: `HybridBatchSampler(build, mono_ratio=r)` and the standard
`SentenceTransformerTrainer` of examples/train_sentence_transformers.py (`build_trainer`), the
same seed, exactly `--steps` optimizer steps (`max_steps`: epochs past the first are reshuffled
by the sampler), the same learning-rate schedule (warmup, then linear decay over the steps).
Then `mt_aug.evaluation.run.evaluate_build` on the build's dev split (LAReQA mAP@k, language bias,
bitext mining, BEIR nDCG@10 / Recall@100 / MRR@10) and, with `--eval-paths`, the LAReQA-format
sets there. Writes under `--output`:

    reports/untrained.json, reports/ratio-<r>.json   one dev-split report each (`model`: its name)
    reports/eval/...                                  the same on --eval-paths
    compare.txt, compare.png                          the table and chart of `mt-aug evaluate --compare`
    compare-eval.txt, compare-eval.png                the same on --eval-paths
    models/ratio-<r>/                                 the trained models
    sweep.json                                        settings, steps per epoch, losses, timings

The reports, models and tables are the same for the same build, model, arguments and seed (on
one machine: CPU and GPU kernels differ); only the timings in sweep.json change. Bad input is
one line on stderr and exit status 2, before any training.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if __name__ == "__main__":  # progress is shown per ratio and step: no tqdm bars of the libraries
    os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the training example beside this file

from train_sentence_transformers import build_trainer, default_model  # noqa: E402

log = logging.getLogger("ratio_sweep")
UNTRAINED = "untrained"


class SweepError(ValueError):
    """Bad input: one line for the user."""


def parse_ratios(text: str) -> list[float]:
    """`0,0.25,0.5` as floats, each in [0, 1], none twice."""
    ratios: list[float] = []
    for part in text.split(","):
        try:
            r = float(part)
        except ValueError:
            raise SweepError(f"--ratios: {part.strip()!r} is not a number (give e.g. 0,0.5,1)") from None
        if not 0 <= r <= 1:  # NaN fails this too
            raise SweepError(f"--ratios: {part.strip()} is outside [0, 1] (0: cross batches only, 1: mono only)")
        if any(abs(r - x) < 1e-9 for x in ratios):
            raise SweepError(f"--ratios: {part.strip()} is given twice")
        ratios.append(r)
    return ratios


def ratio_name(r: float) -> str:
    """`ratio-0`, `ratio-0.25`, `ratio-1`: a report's `model` and its file name."""
    return f"ratio-{r:g}"


@dataclass
class Plan:
    """What the sweep will do, every input checked (nothing trained yet)."""
    build: Path
    ratios: list[float]
    steps: int
    seed: int
    batch_size: int  # the build's: one packed batch per step
    epochs: dict[float, dict[str, int]] = field(default_factory=dict)  # per ratio: steps, mono, cross, dropped


def check_inputs(build: Path, ratios: list[float], steps: int, output: Path, *, seed: int | None = None,
                 eval_paths: str | None = None, eval_languages: list[str] | None = None) -> Plan:
    """Every check that can fail on the user's input, before anything slow: S >= 1, the output
    folder writable, the build opens and has a dev split, every ratio can be served by it, the
    --eval-paths sets read. Raises SweepError (or the library's one-line errors)."""
    from mt_aug.errors import check_writable_dir
    from mt_aug.evaluation.dev import dev_paths
    from mt_aug.training import BuildLayoutError, HybridBatchSampler

    if steps < 1:
        raise SweepError(f"--steps {steps}: must be at least 1")
    check_writable_dir(output, "--output")
    if not build.is_dir():
        raise SweepError(f"{build}: no such build folder")
    dev_paths(build)  # EvalDataError: no manifest, no dev split, a listed file missing
    plan: Plan | None = None
    for r in ratios:
        try:
            sampler = HybridBatchSampler(build, mono_ratio=r, seed=seed, world_size=1,
                                         verify="full" if plan is None else "fast")
        except BuildLayoutError as exc:
            raise SweepError(str(exc).splitlines()[0]) from None
        if plan is None:
            plan = Plan(build, ratios, steps, sampler.seed, sampler.batch_size)
        e0 = sampler.plan(0)
        plan.epochs[r] = {"steps_per_epoch": len(e0.order), "mono_batches": e0.mono_steps,
                          "cross_batches": e0.cross_steps, "dropped": e0.dropped,
                          "epochs": math.ceil(steps / len(e0.order))}
    if plan is None:
        raise SweepError("--ratios: give at least one ratio")
    if eval_paths:
        from mt_aug.evaluation import EvalDataError, read_sets

        try:
            read_sets(eval_paths, eval_languages)  # naming the file and record
        except EvalDataError as exc:
            raise SweepError(str(exc).splitlines()[0].replace("--paths ", "--eval-paths ")) from None
    return plan


def steps_callback(task: Any) -> Any:
    """A TrainerCallback that advances an `mt_aug.progress` task to the trainer's step (a bar
    on a terminal, a plain line every 10 s otherwise)."""
    from transformers import TrainerCallback

    class _Steps(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            task.update(completed=state.global_step)

    return _Steps()


def _headline(report: dict[str, Any]) -> str:
    from mt_aug.evaluation.report import figure_value

    def pct(*keys: str) -> str:
        v = figure_value(report, *keys)
        return "-" if v is None else f"{100 * v:.1f}"

    rd = figure_value(report, "language_bias", "rank_distance", "mean")
    return (f"mAP@{report.get('k', 20)} multilingual {pct('map', 'multilingual')}, mono {pct('map', 'mono_mean')}, "
            f"cross {pct('map', 'cross_mean')}; rank distance {'-' if rd is None else f'{rd:.1f}'}, same-language "
            f"first {pct('language_bias', 'same_language_first', 'mean')}% (chance "
            f"{pct('language_bias', 'same_language_first', 'chance')}%); nDCG@10 {pct('ndcg@10', 'mean')}")


def _note(msg: str) -> None:
    (log.warning if msg.startswith("warning:") else log.info)("%s", msg.removeprefix("warning: "))


def run_sweep(build: str | Path, ratios: Sequence[float], steps: int, output: str | Path, *,
              model: str | None = None, seed: int | None = None, lr: float = 2e-5, warmup: float = 0.1,
              max_seq_length: int | None = None, eval_paths: str | None = None,
              eval_languages: list[str] | None = None, k: int = 20, eval_batch_size: int = 64,
              cache_dir: str | Path | None = None, note: Callable[[str], None] = _note,
              on_timings: Callable[[str, str, Any], None] | None = None) -> dict[str, Any]:
    """Train and evaluate one model per ratio (see the module docstring); returns what
    sweep.json holds. ``on_timings(name, fmt, timings)`` receives each evaluation part's
    `mt_aug.evaluation.scoring.Timings` (encode, score and language-bias seconds)."""
    from mt_aug import progress
    from mt_aug.evaluation.plot import plot_reports
    from mt_aug.evaluation.report import compare_many, write_atomic, write_report
    from mt_aug.evaluation.run import evaluate_build, evaluate_paths

    build, output = Path(build), Path(output)
    plan = check_inputs(build, list(ratios), steps, output, seed=seed, eval_paths=eval_paths,
                        eval_languages=eval_languages)
    base = model or default_model()
    cache = Path(cache_dir) if cache_dir is not None else output / "cache"
    settings = {"build": str(build), "build_id": build.resolve().name, "base_model": base, "steps": steps,
                "seed": plan.seed, "learning_rate": lr, "warmup": warmup, "lr_schedule": "linear",
                "max_seq_length": max_seq_length, "batch_size": plan.batch_size, "k": k}
    rows = [(UNTRAINED, None), *((ratio_name(r), r) for r in plan.ratios)]
    reports: dict[str, list[dict[str, Any]]] = {"dev": [], "eval": []}
    runs: list[dict[str, Any]] = []
    t_all = time.perf_counter()
    for i, (name, r) in enumerate(rows, 1):
        tag = f"[{i}/{len(rows)}] {name}"
        run: dict[str, Any] = {"name": name, "mono_ratio": r}
        model_path = base
        if r is not None:
            e = plan.epochs[r]
            run.update(e)
            model_path = str(output / "models" / name)
            log.info("%s: %d steps of %d rows (%d per epoch: %d mono, %d cross batches; %d left out), lr %g, "
                     "warmup %g, seed %d", tag, steps, plan.batch_size, e["steps_per_epoch"], e["mono_batches"],
                     e["cross_batches"], e["dropped"], lr, warmup, plan.seed)
            t0 = time.perf_counter()
            with progress.task(f"{name}: train", total=steps, unit="steps") as task:
                trainer = build_trainer(build, model_path, model_path=base, mono_ratio=r, seed=plan.seed, lr=lr,
                                        warmup=warmup, save_steps=None, max_steps=steps,
                                        max_seq_length=max_seq_length, callbacks=[steps_callback(task)],
                                        quiet=True)
                result = trainer.train()
            trainer.save_model(model_path)
            run["train_seconds"] = round(time.perf_counter() - t0, 2)
            logged = [h for h in trainer.state.log_history if "loss" in h]
            losses = [h["loss"] for h in logged]
            run.update(trained_steps=result.global_step, first_loss=losses[0] if losses else None,
                       last_loss=losses[-1] if losses else None, losses=losses,
                       learning_rates=[h["learning_rate"] for h in logged])
            log.info("%s: trained %d steps in %.0f s, loss %.4f -> %.4f", tag, result.global_step,
                     run["train_seconds"], losses[0], losses[-1])
        sweep = {**settings, "name": name, "mono_ratio": r, "model_path": model_path,
                 **{key: run[key] for key in ("steps_per_epoch", "mono_batches", "cross_batches", "dropped",
                                              "epochs", "first_loss", "last_loss") if key in run}}
        if r is None:
            sweep["steps"] = 0
        for part in ("dev", "eval"):
            if part == "eval" and not eval_paths:
                continue
            log.info("%s: evaluating on %s", tag, "the build's dev split" if part == "dev" else eval_paths)
            t0 = time.perf_counter()
            timed = None if on_timings is None else (lambda fmt, t, name=name: on_timings(name, fmt, t))
            opts: dict[str, Any] = {"k": k, "batch_size": eval_batch_size, "cache_dir": cache, "note": note,
                                    "on_timings": timed}
            rep = (evaluate_build(model_path, build, **opts) if part == "dev"
                   else evaluate_paths(model_path, "lareqa", eval_paths, eval_languages, **opts))
            run[f"{part}_eval_seconds"] = round(time.perf_counter() - t0, 2)
            rep["model"] = name  # the row's name in --compare; the folder is sweep.model_path
            rep["sweep"] = sweep
            path = output / "reports" / ("" if part == "dev" else "eval") / f"{name}.json"
            write_report(rep, path)
            reports[part].append(rep)
            run[f"{part}_report"] = str(path.relative_to(output))
            log.info("%s: %s (%.0f s) -> %s", tag, _headline(rep), run[f"{part}_eval_seconds"], path)
        runs.append(run)
    names = [name for name, _ in rows]
    tables = {}
    for part, suffix in (("dev", ""), ("eval", "-eval")):
        if not reports[part]:
            continue
        files = [run[f"{part}_report"] for run in runs]
        table = compare_many(reports[part], files, names)
        write_atomic(output / f"compare{suffix}.txt", (table + "\n").encode("utf-8"))
        plot_reports(reports[part], names, output / f"compare{suffix}.png")
        tables[part] = table
    summary = {**settings, "ratios": plan.ratios, "eval_paths": eval_paths, "runs": runs,
               "seconds": round(time.perf_counter() - t_all, 2)}
    write_atomic(output / "sweep.json", (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    summary["tables"] = tables
    return summary


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (`ratio_sweep: error: ...`, exit 2)."""

    def error(self, message: str) -> NoReturn:
        fail(message)


def fail(msg: str) -> NoReturn:
    print(f"ratio_sweep: error: {msg}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    ap = _Parser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", type=Path, help="a build with a dev split (`dev_split:` in its config), e.g. out/sweep-build/current")
    ap.add_argument("--ratios", default="0,0.25,0.5,0.75,1",
                    help="comma-separated mono shares, each in [0, 1] (0: cross batches only, the X-Y baseline; "
                         "1: mono only, X-X); default 0,0.25,0.5,0.75,1")
    ap.add_argument("--steps", type=int, required=True, help="optimizer steps per ratio, the same for all")
    ap.add_argument("--output", type=Path, required=True, help="reports, tables, chart, models")
    ap.add_argument("--model", default=None, help="sentence-transformers model folder or Hub id "
                                                  "(default: the bundled all-MiniLM-L6-v2)")
    ap.add_argument("--seed", type=int, default=None, help="the sampler's order and the trainer's seed, the same "
                                                           "for every ratio (default: the build's seed)")
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--warmup", type=float, default=0.1, help="warmup steps, or a share of --steps if < 1")
    ap.add_argument("--max-seq-length", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=64,
                    help="encoding batch size of the evaluation (training batches are the build's packed batches)")
    ap.add_argument("--k", type=int, default=20, help="mAP@k, recall@k")
    ap.add_argument("--eval-paths", default=None, help="LAReQA-format sets too, e.g. 'xquad-r/{lang}.json'")
    ap.add_argument("--eval-languages", default=None, help="comma-separated (default: every file the pattern matches)")
    ap.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default: OUTPUT/cache)")
    args = ap.parse_args(argv)

    from mt_aug import progress
    from mt_aug.errors import user_error_message
    from mt_aug.sentence_models import ModelError
    from mt_aug.evaluation.lareqa import EvalDataError
    from mt_aug.evaluation.report import ReportError

    progress.setup_logging("INFO")
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    if not 1 <= args.k <= 1_000_000 or not 1 <= args.batch_size <= 1_000_000:
        fail(f"{'--k' if not 1 <= args.k <= 1_000_000 else '--batch-size'}: must be from 1 to 1,000,000")
    if not args.lr > 0 or not args.warmup >= 0:
        fail(f"{'--lr' if not args.lr > 0 else '--warmup'}: must be {'> 0' if not args.lr > 0 else '>= 0'}")
    try:
        ratios = parse_ratios(args.ratios)
        summary = run_sweep(args.build, ratios, args.steps, args.output, model=args.model, seed=args.seed,
                            lr=args.lr, warmup=args.warmup, max_seq_length=args.max_seq_length,
                            eval_paths=args.eval_paths, k=args.k, eval_batch_size=args.batch_size,
                            eval_languages=args.eval_languages.split(",") if args.eval_languages else None,
                            cache_dir=args.cache_dir)
    except (SweepError, EvalDataError, ModelError, ReportError) as exc:
        fail(str(exc).splitlines()[0])
    except Exception as exc:  # noqa: BLE001 - the library's one-line errors; a bug stays a traceback
        msg = user_error_message(exc)
        if msg is None:
            raise
        fail(msg)
    print(summary["tables"]["dev"])
    print(f"\nreports: {args.output / 'reports'}; table: {args.output / 'compare.txt'}; "
          f"chart: {args.output / 'compare.png'}")


if __name__ == "__main__":
    main()
