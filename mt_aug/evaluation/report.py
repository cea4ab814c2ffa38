"""Evaluation reports: the JSON written by `mt-aug evaluate` (written atomically), its table, and
the side-by-side view of any number of reports (`mt-aug evaluate --compare A.json B.json ...`).

A report holds LAReQA figures (``map``, ``recall``, ``language_bias``, optionally
``bitext_mining`` and ``passage_ndcg@10``), BEIR figures (``ndcg@10``, ``recall@100``,
``mrr@10``) or both. :func:`load_report` checks the shape of every figure it will show, so a
hand-edited or foreign file is one clear error naming the file and the key.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

LAREQA_KEYS = ("questions", "candidates", "map", "recall", "k", "model")
BEIR_FIGURES = ("ndcg@10", "recall@100", "mrr@10")  # passage-level figures (mt_aug.evaluation.beir)


class ReportError(ValueError):
    """A report file that cannot be read or is not an `mt-aug evaluate` report."""


# --- reading and checking ------------------------------------------------------------------------

def _type(x: Any) -> str:
    return "null" if x is None else type(x).__name__


def _is_num(x: Any) -> bool:
    return x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))


class _Check:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, what: str) -> None:
        raise ReportError(f"{self.path}: {key}: {what}")

    def obj(self, doc: Any, key: str, *, required: bool = True) -> dict[str, Any] | None:
        parent, _, name = key.rpartition(".")
        node = self.at(doc, parent) if parent else doc
        if name not in node:
            if required:
                self.fail(key, "missing")
            return None
        if not isinstance(node[name], dict):
            self.fail(key, f"expected an object, got {_type(node[name])}")
        return node[name]

    @staticmethod
    def at(doc: Any, key: str) -> Any:
        for part in key.split("."):
            doc = doc[part]
        return doc

    def num(self, node: dict[str, Any], key: str, name: str, *, required: bool = True) -> None:
        if name not in node:
            if required:
                self.fail(f"{key}.{name}", "missing")
            return
        if not _is_num(node[name]):
            self.fail(f"{key}.{name}", f"expected a number or null, got {_type(node[name])}")

    def nums(self, node: dict[str, Any], key: str) -> None:
        for name in node:
            self.num(node, key, name)


def load_report(path: Path) -> dict[str, Any]:
    """A report, its figures' types checked; ReportError naming the file and key otherwise."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not valid JSON: {exc}") from None
    except RecursionError:
        raise ReportError(f"{path}: not valid JSON: nested too deep to read") from None
    if not isinstance(doc, dict):
        raise ReportError(f"{path}: not an `mt-aug evaluate` report (a JSON object, not {_type(doc)})")
    beir = [f for f in BEIR_FIGURES if f in doc]
    if "map" not in doc and not beir:
        missing = [k for k in LAREQA_KEYS if k not in doc]
        raise ReportError(f"{path}: not an `mt-aug evaluate` report (missing {', '.join(missing)})")
    c = _Check(path)
    if not isinstance(doc.get("model"), str):
        c.fail("model", "missing" if "model" not in doc else f"expected a string, got {_type(doc['model'])}")
    if "map" in doc:
        missing = [k for k in LAREQA_KEYS if k not in doc]
        if missing:
            raise ReportError(f"{path}: not an `mt-aug evaluate` report (missing {', '.join(missing)})")
        if not isinstance(doc["k"], int) or isinstance(doc["k"], bool):
            c.fail("k", f"expected an integer, got {_type(doc['k'])}")
        for key in ("questions", "candidates"):
            node = c.obj(doc, key)
            assert node is not None
            for lang, v in node.items():
                if not isinstance(v, int) or isinstance(v, bool):
                    c.fail(f"{key}.{lang}", f"expected an integer, got {_type(v)}")
        for kind in ("map", "recall"):
            node = c.obj(doc, kind)
            assert node is not None
            c.num(node, kind, "multilingual")
            c.num(node, kind, "mono_mean")
            c.num(node, kind, "cross_mean", required=False)
            for sub in ("mono", "cross"):
                part = c.obj(doc, f"{kind}.{sub}", required=sub == "mono")
                if part is not None:
                    c.nums(part, f"{kind}.{sub}")
    if c.obj(doc, "language_bias", required=False) is not None:
        for part, extra in (("rank_distance", ()), ("same_language_first", ("chance",))):
            node = c.obj(doc, f"language_bias.{part}")
            assert node is not None
            for name in ("mean", *extra):
                c.num(node, f"language_bias.{part}", name)
            by = c.obj(doc, f"language_bias.{part}.by_language")
            assert by is not None
            c.nums(by, f"language_bias.{part}.by_language")
    if c.obj(doc, "bitext_mining", required=False) is not None:
        c.num(doc["bitext_mining"], "bitext_mining", "mean")
        acc = c.obj(doc, "bitext_mining.accuracy")
        assert acc is not None
        c.nums(acc, "bitext_mining.accuracy")
    for f in beir:
        node = c.obj(doc, f)
        assert node is not None
        c.nums(node, f)
    return doc


# --- writing ---------------------------------------------------------------------------------------

def _no_nan(x: Any) -> Any:
    """NaN (a setting with no scorable question) is written as null: strict JSON."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _no_nan(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_no_nan(v) for v in x]
    return x


def write_atomic(path: Path, data: bytes | Callable[[Path], None]) -> None:
    """``path`` gets ``data`` (or whatever ``data(tmp)`` writes to a temporary path) as a whole
    or not at all: a temporary file in the same folder, then os.replace. A failure at any
    point (a full disk, a kill) leaves an existing file as it was, and no temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if callable(data):
            os.close(fd)
            data(Path(tmp))
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_report(report: dict[str, Any], path: Path) -> None:
    """The report as strict JSON (NaN as null), written atomically."""
    text = json.dumps(_no_nan(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    write_atomic(path, text.encode("utf-8"))


# --- one report --------------------------------------------------------------------------------------

def _f(x: float | None, width: int = 6) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-".rjust(width)
    return f"{100 * x:{width}.1f}"


def _d(x: float | None, width: int = 6) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-".rjust(width)
    return f"{100 * x:+{width}.1f}"


def _r(x: float | None, width: int = 6, sign: bool = False) -> str:
    """A rank distance (ranks, not %)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-".rjust(width)
    return f"{x:+{width}.2f}" if sign else f"{x:{width}.2f}"


def _matrix(langs: list[str], cell: Any, title: str) -> list[str]:
    """Rows: question language; columns: candidate language (diagonal = mono)."""
    lines = [title, "q\\c  " + "".join(f"{lang:>7}" for lang in langs)]
    for x in langs:
        lines.append(f"{x:<5}" + "".join(" " + cell(x, y) for y in langs))
    return lines


def _render_lareqa(report: dict[str, Any]) -> list[str]:
    k, langs = report["k"], list(report["questions"])
    m, r = report["map"], report["recall"]
    lines = [f"k: {k}   candidates: {report.get('candidate_text', 'sentence')}",
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
    bias = report.get("language_bias")
    if bias:
        rd, sf = bias["rank_distance"], bias["same_language_first"]
        lines += ["", "language bias (multilingual pool; rank distance in ranks, same-language first in %)",
                  f"{'question lang':<14}{'rank dist':>10}{'same first':>11}",
                  f"{'all':<14}{_r(rd['mean'], 10)}{_f(sf['mean'], 11)}   (chance {_f(sf['chance']).strip()})"]
        for lang in langs:
            lines.append(f"{lang:<14}{_r(rd['by_language'].get(lang), 10)}{_f(sf['by_language'].get(lang), 11)}")
    bitext = report.get("bitext_mining")
    if bitext:
        lines += ["", f"bitext mining accuracy (sentence -> its translation), mean {_f(bitext['mean']).strip()}: "
                  + "  ".join(f"{p} {_f(v).strip()}" for p, v in bitext["accuracy"].items())]
        skipped = {p: v for p, v in bitext.get("pairs", {}).items() if v.get("unmatched") or v.get("unequal_sentences")}
        if skipped:
            lines.append("paragraphs left out (no partner / other sentence count): " + ", ".join(
                f"{p} {v.get('unmatched', 0)}/{v.get('unequal_sentences', 0)}" for p, v in skipped.items()))
    nd = next((key for key in report if key.startswith("passage_ndcg@")), None)
    if nd:
        lines += ["", f"{nd} (MTEB-style, paragraphs of one language): "
                  + "  ".join(f"{lang} {_f(v).strip()}" for lang, v in report[nd].items())]
    return lines


def _render_beir(report: dict[str, Any]) -> list[str]:
    meta = report.get("beir", {})
    langs = [x for x in report[BEIR_FIGURES[0]] if x != "mean"]
    lines = ["passage retrieval (BEIR layout)",
             "language     queries     corpus   " + "".join(f"{f:>11}" for f in BEIR_FIGURES)]
    for lang in [*langs, "mean"]:
        q = meta.get("queries", {}).get(lang, "")
        n = meta.get("corpus", {}).get(lang, "")
        lines.append(f"{lang:<10}{q:>10} {n:>10}   " + "".join(f"{_f(report[f].get(lang), 11)}" for f in BEIR_FIGURES))
    unscored = {lang: v for lang, v in meta.get("unscored", {}).items() if any(v.values())}
    if unscored:
        lines.append("queries not scored: " + "; ".join(
            f"{lang}: " + ", ".join(f"{n} {why}" for why, n in v.items() if n) for lang, v in unscored.items()))
    return lines


def render(report: dict[str, Any]) -> str:
    """The report as a readable table (figures in %, as in the paper)."""
    lines = [f"model: {report['model']}"]
    if "map" in report:
        lines += _render_lareqa(report)
    if BEIR_FIGURES[0] in report:
        lines += ([""] if "map" in report else []) + _render_beir(report)
    return "\n".join(lines)


# --- many reports ----------------------------------------------------------------------------------

def figure_value(doc: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc if _is_num(doc) else None  # type: ignore[return-value]


# (row label, how to read it, kind): kind "%" (a share, shown in %) or "rank" (a rank distance)
Row = tuple[str, Callable[[dict[str, Any]], float | None], str]


def figure_rows(reports: Sequence[dict[str, Any]]) -> list[Row]:
    """Every figure any of the reports holds, in a fixed order: LAReQA mAP (multilingual, the
    means, per language, per pair), recall, language bias, bitext mining, BEIR."""
    langs: list[str] = []
    pairs: list[str] = []
    beir_langs: list[str] = []
    bitext_pairs: list[str] = []
    for r in reports:
        for lang in r.get("questions", {}):
            if lang not in langs:
                langs.append(lang)
        for p in r.get("map", {}).get("cross", {}):
            if p not in pairs:
                pairs.append(p)
        for p in (r.get("bitext_mining") or {}).get("accuracy", {}):
            if p not in bitext_pairs:
                bitext_pairs.append(p)
        for f in BEIR_FIGURES:
            for lang in r.get(f, {}):
                if lang != "mean" and lang not in beir_langs:
                    beir_langs.append(lang)
    k = next((r["k"] for r in reports if "k" in r), 20)
    rows: list[Row] = [
        ("multilingual", lambda r: figure_value(r, "map", "multilingual"), "%"),
        ("mono mean", lambda r: figure_value(r, "map", "mono_mean"), "%"),
        ("cross mean", lambda r: figure_value(r, "map", "cross_mean"), "%"),
        ("rank distance", lambda r: figure_value(r, "language_bias", "rank_distance", "mean"), "rank"),
        ("same-lang first", lambda r: figure_value(r, "language_bias", "same_language_first", "mean"), "%"),
        ("  (chance)", lambda r: figure_value(r, "language_bias", "same_language_first", "chance"), "%"),
    ]
    rows += [(f"mono {x}", lambda r, x=x: figure_value(r, "map", "mono", x), "%") for x in langs]
    rows += [(f"cross {p}", lambda r, p=p: figure_value(r, "map", "cross", p), "%") for p in pairs]
    rows += [(f"R@{k} multiling.", lambda r: figure_value(r, "recall", "multilingual"), "%")]
    bias = ("language_bias", "rank_distance", "by_language")
    first = ("language_bias", "same_language_first", "by_language")
    rows += [(f"rank dist. {x}", lambda r, x=x: figure_value(r, *bias, x), "rank") for x in langs]
    rows += [(f"same first {x}", lambda r, x=x: figure_value(r, *first, x), "%") for x in langs]
    if bitext_pairs:
        rows += [("bitext mean", lambda r: figure_value(r, "bitext_mining", "mean"), "%")]
        rows += [(f"bitext {p}", lambda r, p=p: figure_value(r, "bitext_mining", "accuracy", p), "%")
                 for p in bitext_pairs]
    for f in BEIR_FIGURES:
        rows += [(f"{f} mean", lambda r, f=f: figure_value(r, f, "mean"), "%")]
        rows += [(f"{f} {x}", lambda r, f=f, x=x: figure_value(r, f, x), "%") for x in beir_langs]
    return [row for row in rows if any(row[1](r) is not None for r in reports)]


def compare(a: dict[str, Any], b: dict[str, Any], name_a: str = "A", name_b: str = "B") -> str:
    """Two reports side by side, and B - A (in points of %)."""
    return compare_many([a, b], [name_a, name_b])


def compare_many(reports: Sequence[dict[str, Any]], names: Sequence[str],
                 labels: Sequence[str] | None = None) -> str:
    """Every figure of every report, one column per report (``labels``: the column headers;
    default A, B, C, ...), ``-`` where a report lacks it; with two reports, B - A too."""
    n = len(reports)
    labels = list(labels) if labels else [_letter(i) for i in range(n)]
    width = max(8, *(len(x) + 2 for x in labels))
    notes = []
    ks = {r["k"] for r in reports if "k" in r}
    if len(ks) > 1:
        notes.append(f"note: different k ({', '.join(str(k) for k in sorted(ks))}): the mAP rows mix metrics")
    data = {json.dumps([r.get("questions"), r.get("candidates")], sort_keys=True) for r in reports if "map" in r}
    beir_data = {json.dumps((r.get("beir") or {}).get("files_sha256"), sort_keys=True) for r in reports
                 if BEIR_FIGURES[0] in r}
    if len(data) > 1 or len(beir_data) > 1:
        notes.append("note: the reports count different questions or candidates (not the same data)")
    lines = [f"{label}: {name}  (model {r['model']})" for label, name, r in zip(labels, names, reports, strict=True)]
    lines += [*notes, ""]
    diff = n == 2
    lines.append(f"{'figure (%; rank distance in ranks)':<24}" + "".join(f"{x:>{width}}" for x in labels)
                 + (f"{labels[1] + '-' + labels[0]:>{width}}" if diff else ""))
    for label, get, kind in figure_rows(reports):
        values = [get(r) for r in reports]
        fmt = _r if kind == "rank" else _f
        line = f"{label:<24}" + "".join(fmt(v, width) for v in values)
        if diff:
            d = None if values[0] is None or values[1] is None else values[1] - values[0]
            line += _r(d, width, sign=True) if kind == "rank" else _d(d, width)
        lines.append(line)
    if diff and all("map" in r for r in reports):
        a, b = reports
        la, lb = list(a["questions"]), list(b["questions"])
        langs = [x for x in la if x in lb]
        if len(langs) > 1:
            ma, mb = a["map"], b["map"]

            def cell(x: str, y: str) -> str:
                key = f"{x}-{y}"
                va = ma["mono"].get(x) if x == y else ma.get("cross", {}).get(key)
                vb = mb["mono"].get(x) if x == y else mb.get("cross", {}).get(key)
                return _d(None if va is None or vb is None else vb - va)

            lines += ["", *_matrix(langs, cell, f"{labels[1]}-{labels[0]}, mAP@{a['k']} by language pair "
                                               "(row: question, column: candidates)")]
        only = sorted(set(la) ^ set(lb))
        if only:
            lines.append(f"languages in one report only: {' '.join(only)}")
    return "\n".join(lines)


def _letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s
