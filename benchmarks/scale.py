"""Scale benchmark (issue 12): `plan` and a fully cached build at 100k, 300k and 1M pairs.

    .venv/bin/python benchmarks/scale.py            # 100k, 300k and 1M pairs
    .venv/bin/python benchmarks/scale.py --quick    # 100k and 300k; 1M projected linearly
    .venv/bin/python benchmarks/scale.py --sizes 10000 --langs 2   # a smoke run

Inputs: SQuAD-shaped generated JSON (benchmarks/readers.py's `gen_squad`: random words, unique
questions, 5 per passage) and the 12 XQuAD languages as the eval set (../shared/data/xquad,
when present: source- and target-side decontamination run as in a real build).

Per size, each measurement runs in a fresh child process: its peak RSS is its own (VmHWM of
/proc/self/status at its end; not ru_maxrss, which Linux carries over from the parent through
vfork+exec), and so is its CPU time (`..._process_cpu_seconds`: user + system from os.wait4,
imports included; on a shared machine the wall-clock `..._seconds` also count the time other
processes held the cores, CPU time does not). Inputs are generated in a child too.

1. `plan` (mt_aug.pipeline.plan.plan) of the 6-language config before any translation
   exists (`plan_empty_cache_<n>_...`).
2. For 6 and 2 target languages: a *fill* build with a synthetic translation backend
   (benchmarks/_scale_data.py: a deterministic per-language character map of the source;
   every quality signal that judges a real translation switched off, so the gate keeps it):
   it puts every translation (and, where the gate caches them, every quality verdict) in the
   cache; timed as `fill_build_<k>lang_<n>_seconds`. Then the measured *cached build*, in a
   fresh process with the real backend untouched and fresh stage-result storage: it must
   translate nothing (asserted from the manifest: translation.<lang>.translated == 0) and
   judge nothing again (quality.verdicts_cached == unique), so it costs everything a build
   does except the model.
3. `plan` again with the cache full (`plan_<n>_...`: every segment looked up in the cache,
   the heavier case, as on a scheduled rebuild).

The build is `mt_aug.pipeline.build` (in-process, no Prefect) when the library has it, else
the Prefect `build-corpus` flow (said in the output). Targets (issue 12, on 2 cores): 1M pairs
`plan` <= 300 s and 1.5 GB; the cached 6-language build of 1M pairs <= 900 s and 8 GB; cost
linear in pairs. Ends with `name: value` lines.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from _scale_data import TARGETS, gen_squad, install_synthetic_backend, write_config  # noqa: E402

for _k, _v in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1",
               "HF_DATASETS_OFFLINE": "1", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
               "PREFECT_LOGGING_LEVEL": "WARNING"}.items():
    os.environ.setdefault(_k, _v)

PLAN_TARGET_S, PLAN_TARGET_MB = 300.0, 1536.0
BUILD_TARGET_S, BUILD_TARGET_MB = 900.0, 8192.0


def label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


# --- child side -----------------------------------------------------------------------------

def _self_peak_mb() -> float:
    """This process's own peak RSS: VmHWM, the high-water mark of its address space. Not
    ru_maxrss: Linux carries the parent's RSS over a vfork+exec into the child's ru_maxrss."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB or bytes


def _build_function():  # type: ignore[no-untyped-def]
    """The in-process build (`mt_aug.pipeline.build`) if the library has it, else None."""
    import mt_aug.pipeline as pipeline

    b = getattr(pipeline, "build", None)
    if b is not None and not callable(b):  # a module named build
        b = getattr(b, "build", None)
    return b if callable(b) else None


def _run_build(cfg_path: Path) -> tuple[Path, str]:
    from mt_aug.config import load_config

    build = _build_function()
    if build is not None:
        return Path(build(cfg_path)), "mt_aug.pipeline.build"
    from flows.build_corpus import build_corpus

    return Path(build_corpus(str(cfg_path))), "prefect build-corpus flow"


def _prefect_warm() -> float:
    """Start Prefect's ephemeral API before the clock starts (the flow fallback only)."""
    if _build_function() is not None:
        return 0.0
    from prefect import flow

    @flow
    def warm() -> int:
        return 1

    t0 = time.perf_counter()
    warm()
    return time.perf_counter() - t0


def fast_fill(cfg) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Fill the caches without a build: the source side (collect .. segment), then per target
    language the synthetic translation of every unique segment into the translation cache and
    the quality gate's verdicts into the verdict cache, as the build's own look-ups key them
    (the measured build checks it: nothing translated, every verdict reused)."""
    from _scale_data import SyntheticBackend

    from mt_aug.pipeline.builder import run_source_side
    from mt_aug.pipeline.executor import LocalExecutor
    from mt_aug.quality.gate import Gate, judge_with_roundtrip
    from mt_aug.quality.verdict_cache import VerdictCache
    from mt_aug.schema import SOURCE_LANG
    from mt_aug.translation.cache import TranslationCache
    from mt_aug.translation.engine import Translator, cache_scope

    side = run_source_side(cfg, LocalExecutor())
    segs = list(side.unique)
    path = cfg.cache_dir / "translations.sqlite"
    for lang in cfg.target_languages:
        spec = cfg.translator.for_language(lang)
        outs = SyntheticBackend(SOURCE_LANG, lang).translate(segs, SOURCE_LANG, lang)
        with TranslationCache(path) as cache, VerdictCache.beside(path) as vcache:
            scope = cache_scope(spec, SOURCE_LANG, lang)
            have = len(cache.present(scope, segs))
            if have < len(segs):  # a re-fill after a gate change only judges again
                cache.put_many(scope, zip(segs, outs, strict=True))
            judge_with_roundtrip(Gate(cfg.quality, SOURCE_LANG, lang, tuple(cfg.languages)), segs, outs, spec=spec,
                                 translate=Translator(cache), verdict_cache=vcache)
    return {"how": "direct cache fill (no build)", "kept_pairs": side.pairs.num_rows,
            "translation": {lang: {"translated": len(segs)} for lang in cfg.target_languages}}


def child(mode: str, cfg_path: Path) -> None:
    """Run one measurement and print one JSON line (the last line of stdout)."""
    t_imports = time.perf_counter()
    import mt_aug.pipeline.plan  # noqa: F401  imports are not part of the figure
    import mt_aug.pipeline.stages  # noqa: F401
    from mt_aug.config import load_config

    result: dict[str, Any] = {"mode": mode}
    if mode in ("fill", "build"):
        result["prefect_startup_s"] = _prefect_warm()
    if mode in ("fill", "fastfill"):
        install_synthetic_backend()
    result["imports_s"] = time.perf_counter() - t_imports
    result["baseline_rss_mb"] = _self_peak_mb()
    prof_path = os.environ.get("SCALE_PROFILE")
    prof = None
    if prof_path:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    if mode == "fastfill":
        result.update(fast_fill(load_config(cfg_path)))
        result["seconds"] = time.perf_counter() - t0
    elif mode == "plan":
        from mt_aug.pipeline.plan import plan

        report = plan(load_config(cfg_path))
        result["seconds"] = time.perf_counter() - t0
        result["kept_pairs"] = report["kept_pairs"]
        result["segments"] = {lang: {k: s[k] for k in ("unique", "cached", "to_translate")}
                              for lang, s in report["segments"].items()}
    else:
        build_dir, how = _run_build(cfg_path)
        result["seconds"] = time.perf_counter() - t0
        result["how"] = how
        m = json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
        result["kept_pairs"] = m["counts"]["kept_pairs"]
        result["translation"] = {
            lang: {k: v for k, v in t.items() if k in ("unique", "cached", "translated", "views", "filtered",
                                                          "model_calls", "verdicts_cached", "verdicts_judged")}
            | ({"quality": {k: v for k, v in t["quality"].items() if "cache" in k or "judged" in k}}
               if isinstance(t.get("quality"), dict) else {})
            for lang, t in m["translation"].items()}
        result["rows"] = sum(f.get("rows", 0) for f in m["files"])
        result["build_dir_mb"] = sum(p.stat().st_size for p in build_dir.rglob("*") if p.is_file()) / 2**20
    if prof is not None:
        prof.disable()
        prof.dump_stats(prof_path)
    result["peak_rss_mb"] = _self_peak_mb()
    print(json.dumps(result), flush=True)


# --- parent side ----------------------------------------------------------------------------

def run_child(mode: str, cfg_path: Path, log: Path, profile: Path | None = None) -> dict[str, Any]:
    """A fresh process for one measurement; its peak RSS from wait4 (itself and what it waited for)."""
    env = dict(os.environ)
    env.pop("SCALE_PROFILE", None)
    if profile is not None:
        env["SCALE_PROFILE"] = str(profile)
    env.setdefault("PREFECT_HOME", str(cfg_path.parent / "prefect"))
    t0 = time.perf_counter()
    with open(log, "ab") as err, tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, __file__, "--child", mode, str(cfg_path)], stdout=out, stderr=err,
                                env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"scale: child {mode} {cfg_path} failed (exit {proc.returncode}):\n{tail}")
    res = json.loads(text.strip().splitlines()[-1])
    res["process_maxrss_mb"] = usage.ru_maxrss / 1024  # at least the parent's RSS (see _self_peak_mb)
    res["process_cpu_s"] = usage.ru_utime + usage.ru_stime  # imports included; the machine is shared
    res["process_wall_s"] = time.perf_counter() - t0
    return res


def check_cached(res: dict[str, Any], what: str) -> None:
    """The measured build must not have translated anything."""
    bad = {lang: t.get("translated") for lang, t in res["translation"].items() if t.get("translated") != 0}
    if bad:
        raise SystemExit(f"scale: {what}: the cached build translated segments: {bad}")
    # where the gate caches its verdicts (manifest translation.<lang>.quality.verdicts_cached), all reused
    judged = {lang: (t["quality"]["verdicts_cached"], t["unique"]) for lang, t in res["translation"].items()
              if "verdicts_cached" in t.get("quality", {}) and t["quality"]["verdicts_cached"] != t["unique"]}
    if judged:
        raise SystemExit(f"scale: {what}: quality verdicts judged again (cached, unique): {judged}")


def profile_top(path: Path, n: int = 25) -> str:
    import io
    import pstats

    buf = io.StringIO()
    st = pstats.Stats(str(path), stream=buf)
    st.sort_stats("tottime").print_stats(n)
    st.sort_stats("cumulative").print_stats(n)
    return buf.getvalue()


def _linear(points: dict[int, float], at: int) -> float:
    """The line through the two largest measured sizes, at `at` pairs."""
    (n1, y1), (n2, y2) = sorted(points.items())[-2:]
    return y2 + (y2 - y1) * (at - n2) / (n2 - n1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k and 300k pairs; 1M projected linearly")
    ap.add_argument("--sizes", help="comma-separated pair counts (default 100000,300000,1000000)")
    ap.add_argument("--langs", default="6,2",
                    help="target-language counts of the cached builds (6,2); '' for no builds (plan only)")
    ap.add_argument("--no-eval", action="store_true", help="no eval set (no decontamination work)")
    ap.add_argument("--fast-fill", action="store_true",
                    help="fill the caches directly (source side, synthetic translations, gate verdicts) instead of "
                         "a fill build: faster at 1M pairs; the measured build is the same")
    ap.add_argument("--profile", action="store_true",
                    help="also cProfile the cached 6-language build at the smallest size (top functions printed)")
    ap.add_argument("--workdir", type=Path, help="where inputs, caches and builds go (default: a temp folder, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "CONFIG"), help=argparse.SUPPRESS)
    ap.add_argument("--gen", nargs=2, metavar=("PAIRS", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.gen:
        gen_squad(Path(args.gen[1]), int(args.gen[0]))
        return
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return

    sizes = ([int(x) for x in args.sizes.split(",")] if args.sizes else
             [100_000, 300_000] if args.quick else [100_000, 300_000, 1_000_000])
    langs = [int(x) for x in args.langs.split(",") if x.strip()]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mt-aug-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "children.log"
    print(f"# work folder {work}; children's stderr in {log}", flush=True)
    print(f"# eval set: {'none (--no-eval): no decontamination' if args.no_eval else 'XQuAD, 12 languages: source- and target-side decontamination'}", flush=True)
    fig: dict[str, float] = {}
    series: dict[str, dict[int, float]] = {}

    def record(name: str, n: int, value: float, metric: str = "seconds") -> None:
        fig[f"{name}_{label(n)}_{metric}"] = value
        series.setdefault(f"{name}:{metric}", {})[n] = value

    try:
        for n in sizes:
            d = work / label(n)
            d.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            squad = d / "squad.json"
            subprocess.run([sys.executable, __file__, "--gen", str(n), str(squad)], check=True, cwd=ROOT)
            print(f"# {label(n)}: generated {n} pairs ({squad.stat().st_size / 2**20:.0f} MB) in "
                  f"{time.perf_counter() - t0:.0f}s", flush=True)
            cache = d / "cache"

            def cfg(tag: str, k: int, fresh_results: bool = True) -> Path:
                return write_config(d / f"{tag}.yaml", name=f"scale-{label(n)}-{k}lang", squad=squad,
                                    targets=TARGETS[k], out=d / f"out-{k}", cache=cache,
                                    results=d / f"results-{tag}" if fresh_results else None,
                                    eval_sets=not args.no_eval)

            r = run_child("plan", cfg("plan", 6), log)
            print(f"# {label(n)}: plan (empty cache) {r['seconds']:.1f}s, peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"(after imports {r['baseline_rss_mb']:.0f} MB); {r['kept_pairs']} pairs, "
                  f"{next(iter(r['segments'].values()))['unique']} unique segments", flush=True)
            record("plan_empty_cache", n, r["seconds"])
            record("plan_empty_cache", n, r["process_cpu_s"], "process_cpu_seconds")
            record("plan_empty_cache", n, r["peak_rss_mb"], "peak_rss_mb")

            for k in langs:
                f = run_child("fastfill" if args.fast_fill else "fill", cfg(f"fill-{k}", k), log)
                print(f"# {label(n)} {k} languages: fill build (synthetic backend, {f['how']}) {f['seconds']:.1f}s, "
                      f"peak RSS {f['peak_rss_mb']:.0f} MB; translated "
                      f"{sum(t['translated'] for t in f['translation'].values())} segments", flush=True)
                record(f"fill_build_{k}lang", n, f["seconds"])
                prof = work / f"profile-{k}lang-{label(n)}.pstats" if args.profile and n == sizes[0] and k == 6 \
                    else None
                b = run_child("build", cfg(f"build-{k}", k), log)
                check_cached(b, f"{label(n)} {k} languages")
                print(f"# {label(n)} {k} languages: cached build ({b['how']}) {b['seconds']:.1f}s, peak RSS "
                      f"{b['peak_rss_mb']:.0f} MB (after imports {b['baseline_rss_mb']:.0f} MB); "
                      f"{b['kept_pairs']} pairs, {b['rows']} rows, {b['build_dir_mb']:.0f} MB of build; "
                      f"translation: {json.dumps(b['translation'], sort_keys=True)}", flush=True)
                record(f"cached_build_{k}lang", n, b["seconds"])
                record(f"cached_build_{k}lang", n, b["process_cpu_s"], "process_cpu_seconds")
                record(f"cached_build_{k}lang", n, b["peak_rss_mb"], "peak_rss_mb")
                if prof is not None:
                    run_child("build", cfg(f"profile-{k}", k), log, profile=prof)
                    print(f"# cProfile of the cached {k}-language build at {label(n)} (profiled run):\n"
                          + "\n".join("#   " + line for line in profile_top(prof).splitlines()), flush=True)
                shutil.rmtree(d / f"out-{k}", ignore_errors=True)

            if not langs:  # nothing filled the cache: the plan above is the only one
                shutil.rmtree(d, ignore_errors=True)
                continue
            r = run_child("plan", cfg("plan-cached", 6), log)
            print(f"# {label(n)}: plan (cache full) {r['seconds']:.1f}s, peak RSS {r['peak_rss_mb']:.0f} MB",
                  flush=True)
            record("plan", n, r["seconds"])
            record("plan", n, r["process_cpu_s"], "process_cpu_seconds")
            record("plan", n, r["peak_rss_mb"], "peak_rss_mb")
            if not args.keep:
                shutil.rmtree(d, ignore_errors=True)  # the next size needs the disk

        # linearity: seconds per 100k pairs at each size
        names = (*(("plan",) if langs else ()), "plan_empty_cache", *(f"cached_build_{k}lang" for k in langs))
        for name in names:
            pts = series[f"{name}:seconds"]
            for n, sec in sorted(pts.items()):
                fig[f"{name}_seconds_per_100k_at_{label(n)}"] = sec / n * 100_000
            lo, hi = min(pts), max(pts)
            if hi > lo:
                # 1.0: linear; above 1: the cost per pair grows with size
                fig[f"{name}_linearity"] = (pts[hi] / hi) / (pts[lo] / lo)

        projected = 1_000_000 not in sizes and len(sizes) >= 2
        out: dict[str, float] = {}
        for name in names:
            for metric in ("seconds", "peak_rss_mb", "process_cpu_seconds"):
                pts = series[f"{name}:{metric}"]
                if 1_000_000 in pts:
                    out[f"{name}_1m_{metric}"] = pts[1_000_000]
                elif projected:
                    out[f"{name}_1m_{metric}"] = _linear(pts, 1_000_000)
        print(f"projected: {'true' if projected else 'false'}"
              + (" (1M figures: the line through the two largest measured sizes)" if projected else ""))
        for k, v in fig.items():
            print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")
        if not (1_000_000 in sizes):
            for k, v in out.items():
                print(f"{k}: {v:.1f}")
        checks = [("plan_1m_seconds", PLAN_TARGET_S), ("plan_1m_peak_rss_mb", PLAN_TARGET_MB),
                  ("plan_empty_cache_1m_seconds", PLAN_TARGET_S), ("plan_empty_cache_1m_peak_rss_mb", PLAN_TARGET_MB),
                  ("cached_build_6lang_1m_seconds", BUILD_TARGET_S), ("cached_build_6lang_1m_peak_rss_mb", BUILD_TARGET_MB)]
        for k, target in checks:
            if k in out:
                print(f"{k.removesuffix('_seconds').removesuffix('_peak_rss_mb')}_"
                      f"{'seconds' if k.endswith('seconds') else 'rss'}_within_target: "
                      f"{'true' if out[k] <= target else 'false'} (target {target:.0f})")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
