"""Evaluation reports: the JSON written by `mt-aug evaluate`, its table, and the side-by-side
view of two reports (`mt-aug evaluate --compare A.json B.json`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

REQUIRED_KEYS = ("questions", "candidates", "map", "recall", "k", "model")


class ReportError(ValueError):
    """A report file that cannot be read or is not an `mt-aug evaluate` report."""


def load_report(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not valid JSON: {exc}") from None
    missing = [k for k in REQUIRED_KEYS if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise ReportError(f"{path}: not an `mt-aug evaluate` report (missing {', '.join(missing)})")
    return doc


def _no_nan(x: Any) -> Any:
    """NaN (a setting with no scorable question) is written as null: strict JSON."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _no_nan(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_no_nan(v) for v in x]
    return x


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_no_nan(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                    encoding="utf-8")


def _f(x: float | None, width: int = 6) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-".rjust(width)
    return f"{100 * x:{width}.1f}"


def _d(x: float | None, width: int = 6) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-".rjust(width)
    return f"{100 * x:+{width}.1f}"


def _matrix(langs: list[str], cell: Any, title: str) -> list[str]:
    """Rows: question language; columns: candidate language (diagonal = mono)."""
    lines = [title, "q\\c  " + "".join(f"{lang:>7}" for lang in langs)]
    for x in langs:
        lines.append(f"{x:<5}" + "".join(" " + cell(x, y) for y in langs))
    return lines


def render(report: dict[str, Any]) -> str:
    """The report as a readable table (figures in %, as in the paper)."""
    k, langs = report["k"], list(report["questions"])
    m, r = report["map"], report["recall"]
    lines = [f"model: {report['model']}", f"k: {k}   candidates: {report.get('candidate_text', 'sentence')}",
             "language   questions  candidates  unscorable"]
    for lang in langs:
        uns = report.get("unscorable", {}).get(lang, {}).get("count", 0)
        lines.append(f"{lang:<10} {report['questions'][lang]:>9}  {report['candidates'][lang]:>10}  {uns:>10}")
    lines += ["", f"{'setting':<14}{'mAP@' + str(k):>8}{'R@' + str(k):>8}",
              f"{'multilingual':<14}{_f(m['multilingual'], 8)}{_f(r['multilingual'], 8)}",
              f"{'mono mean':<14}{_f(m['mono_mean'], 8)}{_f(r['mono_mean'], 8)}"]
    if len(langs) > 1:
        lines.append(f"{'cross mean':<14}{_f(m['cross_mean'], 8)}{_f(r['cross_mean'], 8)}")
        lines.append("")

        def cell(x: str, y: str) -> str:
            return _f(m["mono"].get(x) if x == y else m["cross"].get(f"{x}-{y}"))

        lines += _matrix(langs, cell, f"mAP@{k} by language pair (row: question, column: candidates)")
        pairs = report.get("pairs", {})
        partial = {p: v for p, v in pairs.items() if v.get("skipped")}
        if partial:
            lines += ["", "pairs scored on shared question ids only: " + ", ".join(
                f"{p} {v['questions']}" for p, v in sorted(partial.items()))]
    nd = next((key for key in report if key.startswith("passage_ndcg@")), None)
    if nd:
        lines += ["", f"{nd} (MTEB-style, paragraphs of one language): "
                  + "  ".join(f"{lang} {_f(v).strip()}" for lang, v in report[nd].items())]
    return "\n".join(lines)


def compare(a: dict[str, Any], b: dict[str, Any], name_a: str = "A", name_b: str = "B") -> str:
    """Both reports per setting, and B - A (in points of %)."""
    notes = []
    if a["k"] != b["k"]:
        notes.append(f"note: different k ({a['k']} vs {b['k']}): differences mix two metrics")
    if a["questions"] != b["questions"] or a["candidates"] != b["candidates"]:
        notes.append("note: the reports count different questions or candidates (not the same data)")
    la, lb = list(a["questions"]), list(b["questions"])
    langs = [x for x in la if x in lb]
    ma, mb = a["map"], b["map"]
    k = a["k"]
    lines = [f"A: {name_a}  (model {a['model']})", f"B: {name_b}  (model {b['model']})", *notes, "",
             f"{'mAP@' + str(k):<16}{'A':>8}{'B':>8}{'B-A':>8}"]

    def row(label: str, x: float | None, y: float | None) -> str:
        diff = None if x is None or y is None else y - x
        return f"{label:<16}{_f(x, 8)}{_f(y, 8)}{_d(diff, 8)}"

    lines.append(row("multilingual", ma["multilingual"], mb["multilingual"]))
    lines.append(row("mono mean", ma["mono_mean"], mb["mono_mean"]))
    lines.append(row("cross mean", ma.get("cross_mean"), mb.get("cross_mean")))
    for lang in langs:
        lines.append(row(f"mono {lang}", ma["mono"].get(lang), mb["mono"].get(lang)))
    ra, rb = a["recall"], b["recall"]
    lines.append(row(f"R@{k} multiling.", ra["multilingual"], rb["multilingual"]))
    if len(langs) > 1:
        def cell(x: str, y: str) -> str:
            key = f"{x}-{y}"
            va = ma["mono"].get(x) if x == y else ma["cross"].get(key)
            vb = mb["mono"].get(x) if x == y else mb["cross"].get(key)
            return _d(None if va is None or vb is None else vb - va)

        lines += ["", *_matrix(langs, cell, f"B-A, mAP@{k} by language pair (row: question, column: candidates)")]
    only = sorted(set(la) ^ set(lb))
    if only:
        lines.append(f"languages in one report only: {' '.join(only)}")
    return "\n".join(lines)
