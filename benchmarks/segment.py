"""Benchmark of the pre-translation hot paths: segmentation (Moses punctuation normalization,
sentence splitting) and normalization for matching, before and after their fast versions, and
`mt-aug plan` at scale.

    .venv/bin/python benchmarks/segment.py                    # everything, plan at 100k pairs
    .venv/bin/python benchmarks/segment.py --plan-pairs 0     # without the plan runs
    .venv/bin/python benchmarks/segment.py --plan-pairs 20000 --plan-runs 1

Needs ../shared/data (SQuAD v1.1 dev and XQuAD); exits with a note where absent.

1. identity, on every text of SQuAD dev and XQuAD en (titles, passages, questions, answers):
   split_sentences / segment_text / normalize_segment against the previous definitions
   (sacremoses' MosesPunctNormalizer, blingfire's own wrapper, regex whitespace), and
   normalize.normalize_text against its previous definition; also every XQuAD language with
   its own Moses rules and its normalize_text, and every Unicode code point for the whitespace
   and normalize_text equivalences. Any difference fails the run (exit 1).
2. speed, same process, best of 3, on SQuAD dev: segments/s of normalize_segment (sentences,
   questions, titles), passages/s of split_sentences, texts/s of normalize_text.
3. `plan` at N generated SQuAD-shaped pairs (benchmarks/readers.py gen_squad, XQuAD en as the
   eval set), in subprocesses, alternating: this tree, and the same tree with the files this
   work changed taken from --before-rev (default: the commit before it), best of --plan-runs.

Ends with `name: value` lines.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import blingfire  # noqa: E402
from sacremoses import MosesPunctNormalizer  # noqa: E402

from mt_aug import languages  # noqa: E402
from mt_aug.normalize import normalize_text  # noqa: E402
from mt_aug.translation import segment  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
XQUAD_LANGS = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]
# The files this work changed; `plan` "before" takes them from --before-rev.
CHANGED = ["mt_aug/translation/segment.py", "mt_aug/normalize.py", "mt_aug/decontamination/matcher.py"]
NEW = ["mt_aug/translation/punct.py"]
BEFORE_REV = "1908132"

# --- the previous definitions ------------------------------------------------------------------

_WS = re.compile(r"\s+")
_MOSES: dict[str, MosesPunctNormalizer] = {}


def old_normalize_segment(text: str, lang: str = "en") -> str:
    if lang not in _MOSES:
        _MOSES[lang] = MosesPunctNormalizer(lang=lang, pre_replace_unicode_punct=True)
    return _WS.sub(" ", _MOSES[lang].normalize(text)).strip()


def old_split_sentences(text: str, max_words: int = segment.DEFAULT_MAX_WORDS, lang: str = "en") -> list[str]:
    text = segment._CONTROL.sub(" ", text).strip()
    if not text:
        return []
    out: list[str] = []
    for sentence in blingfire.text_to_sentences(text).split("\n"):
        sentence = old_normalize_segment(sentence, lang)
        if sentence:
            out.extend(segment._split_long(sentence, max_words))
    return out


def old_segment_question(text: str) -> tuple[str, ...]:
    norm = old_normalize_segment(text)
    return tuple(segment._split_long(norm, segment.DEFAULT_MAX_WORDS)) if norm else ()


_OLD_TABLES: tuple[dict[int, str], dict[int, None]] | None = None
_KEEP_MARKS = {"Deva", "Beng", "Telu", "Thai", "Arab", "Hang", "Jpan", "Hans"}


def old_tables() -> tuple[dict[int, str], dict[int, None]]:
    global _OLD_TABLES
    if _OLD_TABLES is None:
        punct: dict[int, str] = {}
        marks: dict[int, None] = {}
        for cp in range(sys.maxunicode + 1):
            cat = unicodedata.category(chr(cp))
            if cat[0] in ("P", "S"):
                punct[cp] = " "
            elif cat == "Mn":
                marks[cp] = None
        _OLD_TABLES = (punct, marks)
    return _OLD_TABLES


def old_normalize_text(text: str, lang: str = "en") -> str:
    punct, marks = old_tables()
    text = unicodedata.normalize("NFKC", text).casefold().translate(punct)
    info = languages.LANGUAGES.get(lang)
    if info is None or info.script not in _KEEP_MARKS:
        text = unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).translate(marks))
    return _WS.sub(" ", text).strip()


# --- data --------------------------------------------------------------------------------------

def squad_texts(path: Path) -> tuple[list[str], list[str], list[str]]:
    """(titles, passages, other texts: questions and answers), each distinct, in file order."""
    titles: dict[str, None] = {}
    passages: dict[str, None] = {}
    other: dict[str, None] = {}
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        titles[article["title"]] = None
        for para in article["paragraphs"]:
            passages[para["context"]] = None
            for qa in para["qas"]:
                other[qa["question"]] = None
                for a in qa["answers"]:
                    other[a["text"]] = None
    return list(titles), list(passages), list(other)


def best_of(n: int, f: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def count_equal(pairs: Iterable[tuple[object, object]]) -> tuple[int, int]:
    same = total = 0
    for a, b in pairs:
        total += 1
        same += a == b
    return same, total


# --- plan at scale -----------------------------------------------------------------------------

_PLAN_CHILD = r"""
import sys, time, json
sys.path.insert(0, sys.argv[1])
from mt_aug.config import load_config
from mt_aug.pipeline.plan import plan
import mt_aug
assert mt_aug.__file__.startswith(sys.argv[1]), mt_aug.__file__
cfg = load_config(sys.argv[2])
t0 = time.perf_counter()
report = plan(cfg)
print(json.dumps({"seconds": time.perf_counter() - t0, "segments": report.get("segments")}, default=str))
"""


def before_tree(dest: Path, rev: str) -> Path:
    """A copy of this tree's mt_aug with the changed files as they were at `rev`."""
    shutil.copytree(ROOT / "mt_aug", dest / "mt_aug", ignore=shutil.ignore_patterns("__pycache__"))
    for rel in CHANGED:
        text = subprocess.run(["git", "show", f"{rev}:{rel}"], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout
        (dest / rel).write_text(text, encoding="utf-8")
    for rel in NEW:
        (dest / rel).unlink(missing_ok=True)
    return dest


def run_plan(tree: Path, cfg: Path) -> dict[str, object]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", _PLAN_CHILD, str(tree), str(cfg)], check=True,
                         capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def plan_benchmark(pairs: int, runs: int, rev: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import readers  # benchmarks/readers.py

    with tempfile.TemporaryDirectory(prefix="mt-aug-segbench-") as tmp:
        work = Path(tmp)
        data = work / f"squad_{pairs}.json"
        readers.gen_squad(data, pairs)
        cfg = work / "cfg.yaml"
        cfg.write_text(f"""name: segbench
output_dir: {work / 'out'}
languages: [en, pt]
sources: [{{name: s, format: squad, path: {data}, license: cc0-1.0}}]
eval_sets: [{{name: x, format: squad, paths: {{en: {DATA / 'xquad' / 'xquad.en.json'}}}}}]
cache_dir: {work / 'cache'}
""", encoding="utf-8")
        before = before_tree(work / "before", rev)
        times: dict[str, list[float]] = {"before": [], "after": []}
        segs: dict[str, object] = {}
        for _ in range(runs):
            for name, tree in (("before", before), ("after", ROOT)):
                r = run_plan(tree, cfg)
                times[name].append(float(r["seconds"]))  # type: ignore[arg-type]
                segs[name] = r["segments"]
                print(f"  plan {name}: {r['seconds']:.1f}s", flush=True)
        if segs["before"] != segs["after"]:
            raise SystemExit(f"plan reports differ: {segs['before']} != {segs['after']}")
        return {"before": min(times["before"]), "after": min(times["after"])}


# --- main --------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plan-pairs", type=int, default=100_000, help="pairs for the plan runs (0: skip them)")
    ap.add_argument("--plan-runs", type=int, default=2, help="plan runs per tree (best is reported)")
    ap.add_argument("--before-rev", default=BEFORE_REV, help="git revision of the 'before' files")
    args = ap.parse_args()
    squad = DATA / "squad" / "dev-v1.1.json"
    if not squad.is_file():
        raise SystemExit(f"SQuAD dev not found at {squad}: nothing to measure")
    results: list[tuple[str, object]] = []
    failures = 0
    t_tables = best_of(1, old_tables)  # the previous normalize_text's first call

    # 1. identity
    titles, passages, other = squad_texts(squad)
    xq_titles, xq_passages, xq_other = squad_texts(DATA / "xquad" / "xquad.en.json")
    all_passages = passages + xq_passages
    all_short = titles + other + xq_titles + xq_other
    same_p, n_p = count_equal((segment.split_sentences(p), old_split_sentences(p)) for p in all_passages)
    same_q, n_q = count_equal((segment.segment_text(t, split=False).segments, old_segment_question(t))
                              for t in all_short)
    same_b, n_b = count_equal((segment._text_to_sentences(t), blingfire.text_to_sentences(t))
                              for t in all_passages + all_short)
    same_n, n_n = count_equal((normalize_text(t), old_normalize_text(t)) for t in all_passages + all_short)
    results += [("identity_squad_xquad_en_passages_split", f"{same_p}/{n_p}"),
                ("identity_squad_xquad_en_short_texts_segmented", f"{same_q}/{n_q}"),
                ("identity_squad_xquad_en_blingfire_calls", f"{same_b}/{n_b}"),
                ("identity_squad_xquad_en_normalize_text", f"{same_n}/{n_n}")]
    failures += (n_p - same_p) + (n_q - same_q) + (n_b - same_b) + (n_n - same_n)
    same_l = n_l = 0
    for lang in XQUAD_LANGS:
        path = DATA / "xquad" / f"xquad.{lang}.json"
        if not path.is_file():
            continue
        t, p, o = squad_texts(path)
        for a, b in [(segment.split_sentences(x, lang=lang), old_split_sentences(x, lang=lang)) for x in p] + \
                    [(segment.normalize_segment(x, lang), old_normalize_segment(x, lang)) for x in t + o] + \
                    [(normalize_text(x, lang), old_normalize_text(x, lang)) for x in t + p + o]:
            n_l += 1
            same_l += a == b
    results.append(("identity_xquad_12_languages_own_rules", f"{same_l}/{n_l}"))
    failures += n_l - same_l
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    spaced = "a".join(every)
    ws_ok = " ".join(spaced.split()) == _WS.sub(" ", spaced).strip()
    nt_ok = all(normalize_text(every, lang) == old_normalize_text(every, lang) for lang in ("en", "hi"))
    results += [("identity_every_code_point_whitespace", ws_ok), ("identity_every_code_point_normalize_text", nt_ok)]
    failures += (not ws_ok) + (not nt_ok)

    # 2. speed on SQuAD dev
    sentences = [s for p in passages for s in blingfire.text_to_sentences(p).split("\n")]
    segs = sentences + [q for q in other] + titles
    t_old = best_of(3, lambda: [old_normalize_segment(s) for s in segs])
    t_new = best_of(3, lambda: [segment.normalize_segment(s) for s in segs])
    results += [("normalize_segment_segments", len(segs)),
                ("normalize_segment_segments_per_s_before_sacremoses", round(len(segs) / t_old)),
                ("normalize_segment_segments_per_s_after", round(len(segs) / t_new)),
                ("normalize_segment_speedup", round(t_old / t_new, 1))]
    t_old = best_of(3, lambda: [old_split_sentences(p) for p in passages])
    t_new = best_of(3, lambda: [segment.split_sentences(p) for p in passages])
    n_out = sum(len(segment.split_sentences(p)) for p in passages)
    results += [("split_sentences_passages", len(passages)),
                ("split_sentences_segments_per_s_before", round(n_out / t_old)),
                ("split_sentences_segments_per_s_after", round(n_out / t_new)),
                ("split_sentences_speedup", round(t_old / t_new, 1))]
    texts = passages + other
    t_old = best_of(3, lambda: [old_normalize_text(t) for t in texts])
    t_new = best_of(3, lambda: [normalize_text(t) for t in texts])
    results += [("normalize_text_texts_per_s_before", round(len(texts) / t_old)),
                ("normalize_text_texts_per_s_after", round(len(texts) / t_new)),
                ("normalize_text_speedup", round(t_old / t_new, 1)),
                ("normalize_text_table_build_seconds_before", round(t_tables, 2))]

    # 3. plan at scale
    if args.plan_pairs > 0:
        plan = plan_benchmark(args.plan_pairs, args.plan_runs, args.before_rev)
        results += [("plan_pairs", args.plan_pairs),
                    ("plan_seconds_before", round(plan["before"], 1)),
                    ("plan_seconds_after", round(plan["after"], 1)),
                    ("plan_speedup", round(plan["before"] / plan["after"], 2))]

    for name, value in results:
        print(f"{name}: {value}")
    if failures:
        print(f"identity_failures: {failures}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
