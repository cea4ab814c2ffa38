"""The frozen quality gate (main bd71541, `quality:` defaults) measured on sealed part A (issue 22).

    .venv/bin/python benchmarks/quality_sealed_frozen.py [--part a]

Reads tests/data/quality/sealed/part_<p>.jsonl (every segment with the frozen gate's verdict),
part_<p>_labels.jsonl (the labelled rows: every drop and a seeded random sample of the kept,
labelled blind to the verdict) and part_<p>_labels.strata.json (the strata sizes), and prints
`name: value` lines. No model runs.

The stratified estimator: two strata, `drop` (the gate's drops) and `kept`, each weighted by its
size N over its labelled rows n. With b bad among the labelled rows of a stratum, the stratum
holds an estimated N*b/n bad segments.
- precision = bad among drops / drops = b_drop/n_drop; Wilson 95% interval on (b_drop, n_drop).
- bad among kept = b_kept/n_kept; Wilson 95% interval on (b_kept, n_kept).
- recall = B_drop / (B_drop + B_kept), B = N*b/n. Recall falls as the kept stratum's bad rate
  rises and rises with the drop stratum's, so its interval is recall at the ends of the two
  Wilson intervals (with every drop labelled, the drop stratum is a census and only the kept
  stratum's interval counts).
Per genre the same, with each genre's own stratum sizes (the kept sample is a simple random
sample of all kept segments, so each genre's labelled kept rows are a random sample of that
genre's kept: post-stratification). Misses by class are scaled to the kept stratum (N/n).

Kept self-contained on purpose (the lead will move the estimator into the library).
"""

from __future__ import annotations

import argparse
import json
import math
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEALED = ROOT / "tests" / "data" / "quality" / "sealed"
GENRES = ("wiki", "question", "query")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def recall(n_drop: int, p_drop: float, n_kept: int, p_kept: float) -> float:
    caught, missed = n_drop * p_drop, n_kept * p_kept
    return caught / (caught + missed) if caught + missed else float("nan")


def stratified(drop_labels: list[bool], kept_labels: list[bool], n_drop: int, n_kept: int) -> dict[str, float]:
    """Labels are True for bad. n_drop, n_kept: the strata sizes (N)."""
    bd, nd = sum(drop_labels), len(drop_labels)
    bk, nk = sum(kept_labels), len(kept_labels)
    p_drop = bd / nd if nd else float("nan")
    p_kept = bk / nk if nk else float("nan")
    pd_lo, pd_hi = wilson(bd, nd) if nd < n_drop else (p_drop, p_drop)  # a census has no sampling error
    pk_lo, pk_hi = wilson(bk, nk)
    out = {
        "drop": n_drop, "kept": n_kept, "drop_labelled": nd, "kept_labelled": nk,
        "precision": p_drop, "precision_lo": wilson(bd, nd)[0], "precision_hi": wilson(bd, nd)[1],
        "bad_among_kept": p_kept, "bad_among_kept_lo": pk_lo, "bad_among_kept_hi": pk_hi,
        "est_bad_dropped": n_drop * p_drop if nd else 0.0, "est_bad_kept": n_kept * p_kept if nk else float("nan"),
    }
    if nd and nk:
        out["recall"] = recall(n_drop, p_drop, n_kept, p_kept)
        out["recall_lo"] = recall(n_drop, pd_lo, n_kept, pk_hi)
        out["recall_hi"] = recall(n_drop, pd_hi, n_kept, pk_lo)
        total = n_drop + n_kept
        out["bad_rate"] = (n_drop * p_drop + n_kept * p_kept) / total
    return out


def fmt(x: float) -> str:
    return "nan" if x != x else f"{x:.3f}"


def report(prefix: str, m: dict[str, float], drop_bad: int) -> None:
    print(f"{prefix}segments: {m['drop'] + m['kept']} (drop {m['drop']}, kept {m['kept']}; labelled "
          f"{m['drop_labelled']} + {m['kept_labelled']})")
    if m["drop_labelled"]:
        print(f"{prefix}precision: {fmt(m['precision'])} [{fmt(m['precision_lo'])}, {fmt(m['precision_hi'])}] "
              f"({drop_bad} of {m['drop_labelled']} drops bad)")
    else:
        print(f"{prefix}precision: nan (no drops)")
    if "recall" in m:
        print(f"{prefix}recall: {fmt(m['recall'])} [{fmt(m['recall_lo'])}, {fmt(m['recall_hi'])}]")
    print(f"{prefix}bad_among_kept: {fmt(m['bad_among_kept'])} [{fmt(m['bad_among_kept_lo'])}, "
          f"{fmt(m['bad_among_kept_hi'])}]")
    print(f"{prefix}est_bad_kept: {m['est_bad_kept']:.0f}")
    if "bad_rate" in m:
        print(f"{prefix}bad_rate_before_gate: {fmt(m['bad_rate'])}")


def non_latin(text: str) -> bool:
    """Letters of a script other than Latin (a native-script gloss such as 京都 or Երևան)."""
    return any(c.isalpha() and not unicodedata.name(c, "").startswith("LATIN") for c in text)


def gloss_only(row: dict) -> bool:
    """Labelled good while the source's non-Latin letters are all gone from the output: the
    labelling rule of this set counts a lost native-script gloss whose romanized name survives
    as good; the tuning set's rule (tests/data/quality/README.md) counts a non-Latin-script
    name dropped as bad. Used for the sensitivity figures only."""
    return row["label"] == "good" and non_latin(row["source"]) and not non_latin(row["output"])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="a", choices=("a",), help="Only part A: part B stays sealed.")
    args = ap.parse_args()
    rows = {r["id"]: r for r in read_jsonl(SEALED / f"part_{args.part}.jsonl")}
    labels = read_jsonl(SEALED / f"part_{args.part}_labels.jsonl")
    strata = json.loads((SEALED / f"part_{args.part}_labels.strata.json").read_text(encoding="utf-8"))
    n_drop = sum(r["frozen_verdict"] == "drop" for r in rows.values())
    if (strata["drop"], strata["kept"]) != (n_drop, len(rows) - n_drop):
        raise SystemExit(f"strata file {strata} disagrees with part_{args.part}.jsonl ({n_drop} drops)")
    for lab in labels:
        if lab["stratum"] != ("drop" if rows[lab["id"]]["frozen_verdict"] == "drop" else "kept"):
            raise SystemExit(f"{lab['id']}: stratum {lab['stratum']} disagrees with the frozen verdict")
    print(f"gate: {strata['frozen_gate']}")
    print(f"part: {args.part.upper()} ({len(rows)} segments; kept sample seed {strata['kept_sample_seed']})")

    def labelled(stratum: str, genre: str | None = None) -> list[dict]:
        return [x for x in labels if x["stratum"] == stratum and (genre is None or x["genre"] == genre)]

    d, k = labelled("drop"), labelled("kept")
    m = stratified([x["label"] == "bad" for x in d], [x["label"] == "bad" for x in k], strata["drop"], strata["kept"])
    report("sealed.", m, sum(x["label"] == "bad" for x in d))
    for g in GENRES:
        gd, gk = labelled("drop", g), labelled("kept", g)
        nd = sum(1 for r in rows.values() if r["genre"] == g and r["frozen_verdict"] == "drop")
        nk = sum(1 for r in rows.values() if r["genre"] == g and r["frozen_verdict"] == "kept")
        gm = stratified([x["label"] == "bad" for x in gd], [x["label"] == "bad" for x in gk], nd, nk)
        report(f"sealed.{g}.", gm, sum(x["label"] == "bad" for x in gd))
    reasons = Counter(rows[x["id"]]["frozen_reason"] for x in d)
    for reason in sorted(reasons):
        bad = sum(1 for x in d if rows[x["id"]]["frozen_reason"] == reason and x["label"] == "bad")
        print(f"sealed.drops.{reason.replace(' ', '_')}: {reasons[reason]} ({bad} bad, {reasons[reason] - bad} false)")
    false = Counter(rows[x["id"]]["frozen_reason"] for x in d if x["label"] == "good")
    for reason, c in sorted(false.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"sealed.false_drops.{reason.replace(' ', '_')}: {c}")
    scale = strata["kept"] / len(k)
    misses = Counter(x["reason"] for x in k if x["label"] == "bad")
    for cls, c in sorted(misses.items(), key=lambda kv: (-kv[1], kv[0])):
        by_genre = ", ".join(f"{g} {sum(1 for x in k if x['label'] == 'bad' and x['reason'] == cls and x['genre'] == g)}"
                             for g in GENRES)
        print(f"sealed.misses.{cls}: {c} of {len(k)} kept labelled (est. {c * scale:.0f} in the kept; {by_genre})")
    caught = Counter(x["reason"] for x in d if x["label"] == "bad")
    for cls, c in sorted(caught.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"sealed.caught.{cls}: {c}")
    # Sensitivity to one labelling rule: a lost native-script gloss counted bad (the tuning set's rule).
    gd, gk = [x for x in d if gloss_only(x)], [x for x in k if gloss_only(x)]
    print(f"sensitivity.gloss_only_good: {len(gd)} drops, {len(gk)} kept labelled")
    sm = stratified([x["label"] == "bad" or gloss_only(x) for x in d],
                    [x["label"] == "bad" or gloss_only(x) for x in k], strata["drop"], strata["kept"])
    report("sensitivity.gloss_lost_as_bad.", sm, sum(x["label"] == "bad" or gloss_only(x) for x in d))


if __name__ == "__main__":
    main()
