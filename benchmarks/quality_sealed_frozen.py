"""The frozen quality gate (main bd71541, `quality:` defaults) measured on sealed part A (issue 22).

    .venv/bin/python benchmarks/quality_sealed_frozen.py [--part a]

Reads tests/data/quality/sealed/part_<p>.jsonl (every segment with the frozen gate's verdict),
part_<p>_labels.jsonl (the labelled rows: every drop and a seeded random sample of the kept,
labelled blind to the verdict) and part_<p>_labels.strata.json (the strata sizes), and prints
`name: value` lines. No model runs.

The estimator is the library's, `mt_aug.quality.estimate.stratified` (the one `mt-aug audit` and
`benchmarks/quality.py` use): two strata, `drop` (the gate's drops) and `kept`, each weighted by
its size N over its labelled rows n; precision, recall and bad among kept are ratios of the
stratum-weighted means, each with Wilson's 95% interval on the design's effective sample size
(Korn and Graubard). Precision (every drop labelled: one stratum) and bad among kept are plain
Wilson intervals, as before; recall's interval is the library's (until issue 22's round 2 it was
recall at the ends of the kept stratum's Wilson interval, which is narrower). Per genre the same,
with each genre's own stratum sizes (the kept sample is a simple random sample of all kept
segments, so each genre's labelled kept rows are a random sample of that genre's kept:
post-stratification). Misses by class are scaled to the kept stratum (N/n).
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEALED = ROOT / "tests" / "data" / "quality" / "sealed"
GENRES = ("wiki", "question", "query")


def stratified(drop_labels: list[bool], kept_labels: list[bool], n_drop: int, n_kept: int) -> dict[str, float]:
    """Labels are True for bad. n_drop, n_kept: the strata sizes (N). The figures of the gate that
    made the strata (it drops exactly the `drop` stratum), by mt_aug.quality.estimate."""
    from mt_aug.quality.estimate import Labelled
    from mt_aug.quality.estimate import stratified as estimate

    rows = [Labelled("drop", True, b) for b in drop_labels] + [Labelled("kept", False, b) for b in kept_labels]
    e = estimate(rows, {"drop": max(n_drop, 1), "kept": max(n_kept, 1)})
    nan = float("nan")
    nd, nk = len(drop_labels), len(kept_labels)
    p_drop = sum(drop_labels) / nd if nd else nan
    p_kept = sum(kept_labels) / nk if nk else nan
    out = {"drop": n_drop, "kept": n_kept, "drop_labelled": nd, "kept_labelled": nk,
           "est_bad_dropped": n_drop * p_drop if nd else 0.0, "est_bad_kept": n_kept * p_kept if nk else nan}
    for key, x in (("precision", e.precision), ("bad_among_kept", e.bad_among_kept), ("recall", e.recall)):
        if x is not None:
            out[key], out[f"{key}_lo"], out[f"{key}_hi"] = x.value, x.lo, x.hi
        elif key != "recall":
            out[key] = out[f"{key}_lo"] = out[f"{key}_hi"] = nan
    if nd and nk:
        out["bad_rate"] = (n_drop * p_drop + n_kept * p_kept) / (n_drop + n_kept)
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
