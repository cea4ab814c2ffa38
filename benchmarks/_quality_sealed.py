"""Produce the sealed quality split's outputs and the frozen gate's verdicts (issue 22).

    .venv/bin/python benchmarks/_quality_sealed.py translate [--part a|b|all] [--cache-dir DIR] [--out-dir DIR]
    .venv/bin/python benchmarks/_quality_sealed.py sheet --part a [--out FILE]   # the blind labelling list

`translate`: reads tests/data/quality/sealed/part_<p>_source.jsonl and, as a build does,
segments each line (`wiki` as a passage, `segment_text(split=True)`; `question` and `query` as
questions, `split=False`), translates the unique segments with the bundled Bergamot en->pt
model through mt-aug's engine and translation cache (`translate_unique`, the build's default
`ModelSpec`), translates each segment's output back pt->en the same way, and judges every
segment with the gate at its `quality:` defaults through `judge_with_roundtrip` (the name
look-ups and the model's lexicon through the same engine and cache, as `judge_language` does).
A line is dropped when any of its segments is (a build drops the view); its reason is the
first dropped segment's. Writes part_<p>.jsonl: {"id", "genre", "source", "output", "back",
"frozen_verdict": "kept" | "drop", "frozen_reason"}; outputs and back-translations are the
segments joined as a build reassembles them (`join_segments`).

The verdicts are those of the gate FROZEN at main's bd71541: with any other mt_aug/ code the
script refuses to write into the sealed folder (give --out-dir to write elsewhere).

`sheet`: the rows to label for part <p>, blind: every frozen drop plus a seeded random 250 of
the kept (random.Random(2222).sample over the kept ids in id order), in a seeded shuffled order
(random.Random(22022)), with id, source and output only (no verdict, no reason). Also writes
the strata file beside the labels (part_<p>_labels.strata.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEALED = ROOT / "tests" / "data" / "quality" / "sealed"
FROZEN_COMMIT = "bd71541"
FROZEN_GATE = f"main {FROZEN_COMMIT}, quality defaults"
KEPT_SAMPLE_SEED = 2222
KEPT_SAMPLED = 250
SHEET_SEED = 22022
FIELDS = ("id", "genre", "source", "output", "back", "frozen_verdict", "frozen_reason")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp, path)


def gate_is_frozen() -> bool:
    """mt_aug/ is byte for byte main's bd71541 (committed and working tree)."""
    r = subprocess.run(["git", "diff", "--quiet", FROZEN_COMMIT, "--", "mt_aug"], cwd=ROOT)
    return r.returncode == 0


def translate_part(part: str, cache_dir: Path, out_dir: Path) -> None:
    from mt_aug.config import ModelSpec, QualityConfig
    from mt_aug.quality.gate import Gate, judge_with_roundtrip
    from mt_aug.translation.cache import TranslationCache
    from mt_aug.translation.engine import Translator, translate_unique
    from mt_aug.translation.segment import join_segments, segment_text

    rows = read_jsonl(SEALED / f"part_{part}_source.jsonl")
    segs_of = {r["id"]: segment_text(r["source"], split=r["genre"] == "wiki").segments for r in rows}
    unique = list(dict.fromkeys(s for r in rows for s in segs_of[r["id"]]))
    spec = ModelSpec()  # the build's default translator: bundled Bergamot
    cache_dir.mkdir(parents=True, exist_ok=True)
    with TranslationCache(cache_dir / "translations.sqlite") as cache:
        fw, _ = translate_unique(unique, spec=spec, src="en", tgt="pt", cache=cache)
        outs = [fw[s] for s in unique]
        bw, _ = translate_unique(sorted({o.text for o in outs}), spec=spec, src="pt", tgt="en", cache=cache)
        gate = Gate(QualityConfig(), "en", "pt", ("pt",))  # a build's gate: cfg.quality, SOURCE_LANG, cfg.languages
        verdicts, stats = judge_with_roundtrip(gate, unique, outs, spec=spec, translate=Translator(cache))
    verdict = dict(zip(unique, verdicts, strict=True))
    out: list[dict] = []
    for r in rows:
        segs = segs_of[r["id"]]
        reasons = [verdict[s].reason for s in segs if verdict[s].reason is not None]
        out.append({
            "id": r["id"], "genre": r["genre"], "source": r["source"],
            "output": join_segments([fw[s].text for s in segs], "pt"),
            "back": join_segments([bw[fw[s].text].text for s in segs], "en"),
            "frozen_verdict": "drop" if reasons else "kept",
            "frozen_reason": reasons[0] if reasons else None,
        })
    write_jsonl(out_dir / f"part_{part}.jsonl", out)
    split = sum(1 for r in rows if len(segs_of[r["id"]]) > 1)
    print(f"part_{part}.segments: {len(rows)} lines, {len(unique)} unique segments, {split} lines split")
    print(f"part_{part}.name_spans_translated: {stats.spans_translated} (cached {stats.spans_cached})")
    print(f"part_{part}.dropped: {sum(x['frozen_verdict'] == 'drop' for x in out)}")
    if stats.notes:
        print(f"part_{part}.notes: {stats.notes}")


def sheet(part: str, out: Path | None) -> None:
    rows = read_jsonl(SEALED / f"part_{part}.jsonl")
    drop = [r["id"] for r in rows if r["frozen_verdict"] == "drop"]
    kept = [r["id"] for r in rows if r["frozen_verdict"] == "kept"]
    sample = random.Random(KEPT_SAMPLE_SEED).sample(kept, KEPT_SAMPLED)
    chosen = drop + sorted(sample)
    random.Random(SHEET_SEED).shuffle(chosen)
    by_id = {r["id"]: r for r in rows}
    lines = [{"id": i, "source": by_id[i]["source"], "output": by_id[i]["output"]} for i in chosen]
    text = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
    strata = {"drop": len(drop), "kept": len(kept), "frozen_gate": FROZEN_GATE,
              "kept_sample_seed": KEPT_SAMPLE_SEED, "kept_sampled": KEPT_SAMPLED}
    path = SEALED / f"part_{part}_labels.strata.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(strata, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    print(f"sheet.part_{part}.rows: {len(lines)}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("translate")
    t.add_argument("--part", choices=("a", "b", "all"), default="all")
    t.add_argument("--cache-dir", type=Path, default=ROOT / ".cache" / "bench-quality-sealed")
    t.add_argument("--out-dir", type=Path, default=None)
    s = sub.add_parser("sheet")
    s.add_argument("--part", choices=("a", "b"), required=True)
    s.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.cmd == "sheet":
        sheet(args.part, args.out)
        return
    out_dir = args.out_dir or SEALED
    if args.out_dir is None and not gate_is_frozen():
        raise SystemExit(f"_quality_sealed: error: mt_aug/ differs from {FROZEN_COMMIT}: the sealed verdicts are "
                         "the frozen gate's; give --out-dir to write this gate's verdicts elsewhere")
    out_dir.mkdir(parents=True, exist_ok=True)
    for part in (("a", "b") if args.part == "all" else (args.part,)):
        translate_part(part, args.cache_dir, out_dir)


if __name__ == "__main__":
    main()
