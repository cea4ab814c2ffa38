"""`mt-aug audit`: a person's labels of a build's translations, and what they say about the
quality gate (its precision, its recall, the bad translations left among the kept ones).

    rows = sheet_rows(build_dir, "pt", n=100, seed=0)      # every drop (or n of them) + n kept
    write_sheet(Path("pt.tsv"), rows)                      # a person fills in `label`
    # mt_aug.release.audit.apply_labels(build_dir, Path("pt.tsv")): the figures into the manifest and card

The unit is the gate's: one unique translated segment of a target language. Two frames:
- `drop`: the segments the gate dropped, as drops.jsonl names them (each dropped view names its
  first failing segment; its source and output are cut at 200 characters there);
- `kept`: the kept segments found in the shards: each kept view's English question, title
  and passage (from the English rows of the same pair) segmented as the build segments them,
  beside the view's translation of the same text; a passage whose translation does not split
  back into as many sentences as its English is left out of the frame (counted as
  `kept_unaligned`).
Which views a pair has is drawn from the seed, whatever its translation, so the frames are
random subsets of what the gate dropped and kept; the strata's populations of the stratified
estimate (`mt_aug.quality.estimate`) are the gate's own counts of the language (the
manifest's `translation.<lang>.quality`: segments judged and dropped). A row's id names the build, the language, the stratum and a
hash of its source and translation, so a sheet of another build, or a row edited into another
segment, is refused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from mt_aug.quality.estimate import Labelled, stratified
from mt_aug.quality.inspect import dropped
from mt_aug.schema import SOURCE_LANG

COLUMNS = ("id", "stratum", "reason", "source", "translation", "label", "note")
LABELS = ("good", "bad")
SHEET_FILE = "audit/labels.tsv"  # the labels as applied, inside the build (listed in the manifest's checksums)
METHOD = ("stratified (strata: the gate's drop / kept frames of the build, each weighted by its size); "
          "95% Wilson intervals with the design's effective sample size (mt_aug.quality.estimate)")
# Cells a spreadsheet would read as a formula: neutralized with a leading apostrophe.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class AuditError(ValueError):
    """A sheet, option or build that cannot be audited, phrased as `where: what`."""


@dataclass(frozen=True, slots=True)
class Segment:
    stratum: str  # drop | kept
    source: str
    translation: str
    reason: str | None = None
    note: str = ""

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.source}\x1f{self.translation}".encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Frames:
    drop: list[Segment]
    kept: list[Segment]
    kept_unaligned: int  # kept texts left out: their translation does not split as their English


@dataclass(frozen=True, slots=True)
class SheetRow:
    id: str
    segment: Segment
    label: str = ""
    note: str = ""


def load_manifest(build_dir: Path) -> dict[str, Any]:
    path = build_dir / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuditError(f"{build_dir}: no manifest.json (not a build directory)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise AuditError(f"{path}: cannot read: {exc}") from None


def _check_lang(manifest: dict[str, Any], lang: str, where: str = "--lang") -> None:
    if lang == SOURCE_LANG or lang not in manifest.get("languages", []):
        targets = ", ".join(x for x in manifest.get("languages", []) if x != SOURCE_LANG)
        raise AuditError(f"{where}: {lang!r} is not a target language of this build (it has {targets})")


def _texts(build_dir: Path, manifest: dict[str, Any], lang: str) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """pair_id -> {question, title, passage} in `lang` (its kept views) and in English."""
    target: dict[str, dict[str, str]] = {}
    english: dict[str, dict[str, str]] = {}
    for f in manifest.get("files", []):
        group = str(f.get("group", ""))
        if lang not in group.split("-") and SOURCE_LANG not in group.split("-"):
            continue
        with pa.memory_map(str(build_dir / f["path"])) as src:
            table = pa.ipc.open_stream(src).read_all()
        cols = table.select(["query", "query_lang", "passage", "passage_title", "passage_lang", "pair_id"]).to_pydict()
        for q, ql, p, t, pl, pid in zip(cols["query"], cols["query_lang"], cols["passage"], cols["passage_title"],
                                        cols["passage_lang"], cols["pair_id"], strict=True):
            for which, side in ((lang, target), (SOURCE_LANG, english)):
                if ql == which:
                    side.setdefault(pid, {})["question"] = q
                if pl == which:
                    side.setdefault(pid, {}).update({"title": t, "passage": p})
    return target, english


def frames(build_dir: Path, lang: str, manifest: dict[str, Any] | None = None) -> Frames:
    """The build's drop and kept frames of `lang` (module docstring), in a fixed order."""
    from mt_aug.translation.segment import _text_to_sentences, segment_text
    from mt_aug.quality.reassemble import MISSING

    manifest = manifest if manifest is not None else load_manifest(build_dir)
    _check_lang(manifest, lang)
    drops = [Segment("drop", s.source, s.translation, s.reason, s.note)
             for s in dropped(build_dir, lang) if s.reason != MISSING]
    target, english = _texts(build_dir, manifest, lang)
    kept: dict[str, Segment] = {}
    unaligned = 0
    for pid in sorted(target):
        for field, split in (("question", False), ("title", False), ("passage", True)):
            tr, en = target[pid].get(field), english.get(pid, {}).get(field)
            if not tr or not en:
                continue
            segs = segment_text(en, split=split).segments
            if len(segs) == 1:
                parts = [tr]
            else:
                parts = [x.strip() for x in _text_to_sentences(tr).split("\n") if x.strip()]
                if len(parts) != len(segs):
                    unaligned += 1
                    continue
            for s, t in zip(segs, parts, strict=True):
                kept.setdefault(s, Segment("kept", s, t))
    return Frames(drops, [kept[s] for s in sorted(kept)], unaligned)


def populations(manifest: dict[str, Any], lang: str, fr: Frames) -> dict[str, int]:
    """The strata's sizes: the segments the gate judged and dropped in this language, as the
    manifest counts them (`translation.<lang>.quality`); the frames' sizes where it has none."""
    q = ((manifest.get("translation") or {}).get(lang) or {}).get("quality") or {}
    if "judged" in q and "dropped" in q:
        drop = sum(int(v) for v in q["dropped"].values())
        return {"drop": max(drop, len(fr.drop)), "kept": max(int(q["judged"]) - drop, len(fr.kept))}
    return {"drop": len(fr.drop), "kept": len(fr.kept)}


def sheet_rows(build_dir: Path, lang: str, n: int, seed: int = 0) -> list[SheetRow]:
    """Every drop of `lang` (a seeded sample of n when there are more) and a seeded random
    sample of n kept segments, shuffled together (seeded), each with its id."""
    manifest = load_manifest(build_dir)
    fr = frames(build_dir, lang, manifest)
    rng = random.Random(seed)
    drops = fr.drop if len(fr.drop) <= n else rng.sample(fr.drop, n)
    kept = fr.kept if len(fr.kept) <= n else rng.sample(fr.kept, n)
    rows = [SheetRow(f"{manifest['build_id']}/{lang}/{s.stratum}/{s.key}", s) for s in drops + kept]
    rng.shuffle(rows)
    return rows


def _escape(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ (or tab, CR) gets an apostrophe."""
    return "'" + cell if cell.startswith(_FORMULA) else cell


def _unescape(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA) else cell


def sheet_delimiter(path: Path, where: str = "--output") -> str:
    """The delimiter of a sheet by its name (.tsv: tab, .csv: comma); AuditError otherwise."""
    return _dialect(path, where)


def _dialect(path: Path, where: str) -> str:
    ext = path.suffix.lower()
    if ext not in (".tsv", ".csv"):
        raise AuditError(f"{where}: {path}: the sheet's name must end in .tsv or .csv (got {path.name!r})")
    return "\t" if ext == ".tsv" else ","


def sheet_text(rows: Iterable[SheetRow], delimiter: str = "\t") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(COLUMNS)
    for r in rows:
        s = r.segment
        w.writerow([_escape(x) for x in (r.id, s.stratum, s.reason or "", s.source, s.translation, r.label, r.note)])
    return buf.getvalue()


def write_atomic(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_sheet(path: Path, rows: list[SheetRow]) -> Path:
    """The labelling sheet: TSV or CSV by the name's extension, UTF-8 with a byte-order mark
    (spreadsheets then read it as UTF-8), CRLF rows, formula-like cells neutralized."""
    delimiter = _dialect(path, "--output")
    write_atomic(path, sheet_text(rows, delimiter), "utf-8-sig")
    return path


@dataclass(frozen=True, slots=True)
class Label:
    id: str
    label: str  # good | bad
    note: str
    line: int


def read_labels(path: Path, where: str = "--labels") -> list[Label]:
    """The labelled rows of a sheet (rows with an empty label are not labelled yet and are
    left out). Raises AuditError naming the file and line on a sheet that is not one."""
    delimiter = _dialect(path, where)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AuditError(f"{where}: {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(f"{where}: {path}: cannot read as UTF-8 text ({exc})") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in ("id", "label") if c not in header]
    if missing:
        raise AuditError(f"{path}: line 1: no {missing[0]!r} column (a sheet of `mt-aug audit --output` has "
                         f"{', '.join(COLUMNS)})")
    at = {c: header.index(c) for c in header}
    out: list[Label] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        if not any(x.strip() for x in row):
            continue
        cell = {c: _unescape(row[i]).strip() if i < len(row) else "" for c, i in at.items()}
        label = cell["label"].lower()
        if not label:
            continue
        if label not in LABELS:
            raise AuditError(f"{path}: line {line}: label {cell['label']!r} is not one of good, bad")
        if cell["id"] in seen:
            raise AuditError(f"{path}: line {line}: id {cell['id']!r} again (first on line {seen[cell['id']]})")
        seen[cell["id"]] = line
        out.append(Label(cell["id"], label, cell.get("note", ""), line))
    return out


@dataclass(frozen=True, slots=True)
class LanguageAudit:
    lang: str
    estimates: dict[str, Any]
    labelled: int
    kept_unaligned: int


def _parse_id(label: Label, build_id: str, path: Path) -> tuple[str, str, str]:
    parts = label.id.split("/")
    if len(parts) != 4 or parts[2] not in ("drop", "kept"):
        raise AuditError(f"{path}: line {label.line}: unknown id {label.id!r} (not an id of `mt-aug audit --output`)")
    if parts[0] != build_id:
        raise AuditError(f"{path}: line {label.line}: a row of build {parts[0]}, not of this build ({build_id}): "
                         "a sheet of another build")
    return parts[1], parts[2], parts[3]


def evaluate(build_dir: Path, labels: list[Label], path: Path, manifest: dict[str, Any] | None = None
             ) -> list[LanguageAudit]:
    """The stratified estimates per language of the labelled rows (ids checked against the
    build's frames)."""
    manifest = manifest if manifest is not None else load_manifest(build_dir)
    if not labels:
        raise AuditError(f"{path}: no labelled row (fill in the label column with good or bad)")
    by_lang: dict[str, list[tuple[Label, str, str]]] = {}
    for lab in labels:
        lang, stratum, key = _parse_id(lab, manifest["build_id"], path)
        _check_lang(manifest, lang, f"{path}: line {lab.line}")
        by_lang.setdefault(lang, []).append((lab, stratum, key))
    out = []
    for lang, items in sorted(by_lang.items()):
        fr = frames(build_dir, lang, manifest)
        keys = {"drop": {s.key for s in fr.drop}, "kept": {s.key for s in fr.kept}}
        rows = []
        for lab, stratum, key in items:
            if key not in keys[stratum]:
                raise AuditError(f"{path}: line {lab.line}: unknown id {lab.id!r}: no {stratum} segment of this "
                                 "build has it")
            rows.append(Labelled(stratum, stratum == "drop", lab.label == "bad"))
        est = stratified(rows, populations(manifest, lang, fr))
        out.append(LanguageAudit(lang, est.as_dict(), len(rows), fr.kept_unaligned))
    return out


def canonical(labels: list[Label]) -> str:
    """The labels as the build keeps them (audit/labels.tsv): id, label, note, sorted by id."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(("id", "label", "note"))
    for lab in sorted(labels, key=lambda x: x.id):
        w.writerow([_escape(lab.id), lab.label, _escape(lab.note)])
    return buf.getvalue()


def manifest_entry(audits: list[LanguageAudit], sheet_sha256: str) -> dict[str, Any]:
    return {"sheet": SHEET_FILE, "sha256": sheet_sha256, "method": METHOD,
            "languages": {a.lang: {"labelled": a.labelled, "kept_unaligned": a.kept_unaligned, **a.estimates}
                          for a in audits}}


def check(build_dir: Path, manifest: dict[str, Any]) -> str | None:
    """What is wrong with a build's `audit` (for `verify`): the figures recomputed from the kept
    labels and the build's frames must be those stated. None when they agree (or no audit)."""
    audit = manifest.get("audit")
    if not audit:
        return None
    path = build_dir / str(audit.get("sheet", SHEET_FILE))
    if not path.is_file():
        return f"audit: {audit.get('sheet')}: missing"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if (manifest.get("checksums") or {}).get(SHEET_FILE) != digest or audit.get("sha256") != digest:
        return f"audit: {SHEET_FILE}: sha256 {digest[:16]}... differs from audit.sha256 or checksums"
    try:
        labels = read_labels(path, "audit")
        got = manifest_entry(evaluate(build_dir, labels, path, manifest), str(audit.get("sha256")))
    except AuditError as exc:
        return f"audit: {exc}"
    for lang in sorted(set(got["languages"]) | set(audit.get("languages") or {})):
        a, b = (audit.get("languages") or {}).get(lang), got["languages"].get(lang)
        if a != b:
            for key in sorted(set(a or {}) | set(b or {})):
                if (a or {}).get(key) != (b or {}).get(key):
                    return (f"audit.languages.{lang}.{key} is {(a or {}).get(key)}, the labels in {SHEET_FILE} and the "
                            f"build give {(b or {}).get(key)}")
    if {k: v for k, v in audit.items() if k != "languages"} != {k: v for k, v in got.items() if k != "languages"}:
        return f"audit: method or sheet differ from what mt-aug writes ({got['method']!r}, {got['sheet']!r})"
    return None
